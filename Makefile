# Thin wrapper over CMake (DESIGN.md, "Parts and layout").
#   make up     install deps, build (release), run a local cluster + web UI
#   make test   install deps, build (sanitizers + release), run every test
#   make bench  install deps, build (release), run the benchmarks (ARGS=--quick)
# Build and installer output goes to stderr, so `make bench` prints only the
# benchmark's JSON document on stdout (tests/ops/check-bench-stdout.sh).
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory
TEST_DIR := build/test
REL_DIR := build/release

.PHONY: up test bench deps build-test build-release fuzz clean

deps:
	@bash scripts/install-deps.sh

build-test: deps
	@echo "+ cmake --build $(TEST_DIR) (sanitizers)" >&2
	@cmake -S . -B $(TEST_DIR) -DPP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(TEST_DIR) -j $(JOBS) >&2

build-release: deps
	@echo "+ cmake --build $(REL_DIR) (release)" >&2
	@cmake -S . -B $(REL_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(REL_DIR) -j $(JOBS) >&2

up: build-release
	deploy/local/ppcluster up --bin-dir $(REL_DIR)/bin $(ARGS)

# Sanitizer build runs everything; the release build runs the tests whose
# figures (peak RSS) only mean something without sanitizers.
test: build-test build-release
	cd $(TEST_DIR) && ctest --output-on-failure -j 2 -LE release --timeout 900
	cd $(REL_DIR) && ctest --output-on-failure -L release --timeout 900
	bench/run --quick --bin-dir $(REL_DIR)/bin >$(REL_DIR)/bench-quick.json
	@echo "bench --quick: $(REL_DIR)/bench-quick.json"

bench: build-release
	@echo "+ bench/run --bin-dir $(REL_DIR)/bin $(ARGS)" >&2
	@bench/run --bin-dir $(REL_DIR)/bin $(ARGS)

clean:
	rm -rf build

# Longer fuzzing than the bounded run in `make test` (SECONDS per target).
fuzz: deps
	bash tests/fuzz/run.sh --seconds $(or $(SECONDS),120) --build-dir build/fuzz-clang
