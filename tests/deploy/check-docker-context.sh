#!/usr/bin/env bash
# The image's build context is what .dockerignore leaves of the repository.
# Rebuild that context in a temp dir (files git knows, filtered as Docker
# filters them) and run the Dockerfile's CMake configure step on it, so a
# pattern that drops a needed source, or a CMakeLists.txt that starts needing
# an excluded directory, fails here rather than in `docker build`.
# Usage: check-docker-context.sh SOURCE_DIR
set -euo pipefail
src=$(cd "${1:?usage: check-docker-context.sh SOURCE_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ppctx.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL $*" >&2
	exit 1
}

if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$src" ls-files --cached --others --exclude-standard >"$tmp/all"
else
	(cd "$src" && find . -type f ! -path './.git/*' | sed 's#^\./##') >"$tmp/all"
fi
bash "$here/run-node.sh" dockerignore.mjs "$src/.dockerignore" <"$tmp/all" >"$tmp/kept"
mkdir "$tmp/ctx"
while IFS= read -r f; do
	[ -e "$src/$f" ] && printf '%s\n' "$f"
done <"$tmp/kept" >"$tmp/exists"
tar -C "$src" -cf - -T "$tmp/exists" | tar -C "$tmp/ctx" -xf -
echo "context: $(wc -l <"$tmp/exists") of $(wc -l <"$tmp/all") files, $(du -sh "$tmp/ctx" | cut -f1)"

for need in CMakeLists.txt proto common deploy/docker/pp-node-zone deploy/docker/Dockerfile; do
	[ -e "$tmp/ctx/$need" ] || fail ".dockerignore drops $need, which the image build needs"
done
for never in .git build tests deploy/k8s; do
	[ ! -e "$tmp/ctx/$never" ] || fail ".dockerignore keeps $never in the build context"
done
if grep -q node_modules "$tmp/exists"; then fail ".dockerignore keeps node_modules"; fi

# The Dockerfile's configure line, on the context alone.
if ! cmake -S "$tmp/ctx" -B "$tmp/ctx/build" -DCMAKE_BUILD_TYPE=Release -DPP_BUILD_TESTS=OFF >"$tmp/cmake.log" 2>&1; then
	cat "$tmp/cmake.log" >&2
	fail "the build context does not configure (cmake -S . -B build -DPP_BUILD_TESTS=OFF)"
fi
echo "context configures with -DCMAKE_BUILD_TYPE=Release -DPP_BUILD_TESTS=OFF"
