#!/usr/bin/env bash
# Every shared library the built binaries load must come from a package the
# image's final stage installs (or one of their dependencies, or the
# required-priority packages every debian:*-slim has), and every runtime
# library package the Dockerfile installs must be used by some binary. Runs
# on the release build (no sanitizer runtimes), where the host is the same
# Debian release as the image.
# Usage: check-runtime-libs.sh SOURCE_DIR BIN_DIR   (exit 77: nothing built)
set -euo pipefail
src=${1:?usage: check-runtime-libs.sh SOURCE_DIR BIN_DIR}
bin=${2:?usage: check-runtime-libs.sh SOURCE_DIR BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)
bins=(pp-tracker pp-worker pp-gateway ppctl)

for b in "${bins[@]}"; do
	if [ ! -x "$bin/$b" ]; then
		echo "SKIP: $bin/$b is not built yet"
		exit 77
	fi
done
libs=$(ldd "$bin/pp-tracker")
if [[ $libs == *libasan* || $libs == *libubsan* ]]; then
	echo "SKIP: $bin holds a sanitizer build; the image is a release build"
	exit 77
fi
for t in apt-cache dpkg-query ldd; do
	command -v "$t" >/dev/null || { echo "FAIL: $t not found" >&2; exit 1; }
done

mapfile -t listed < <(bash "$here/run-node.sh" lint-dockerfile.mjs --runtime-packages "$src/deploy/docker/Dockerfile")
[ "${#listed[@]}" -gt 0 ] || { echo "FAIL: no runtime packages found in the Dockerfile" >&2; exit 1; }
# Packages the image has: the listed ones and their dependencies, and the
# required-priority packages of a minimal Debian (what -slim is built from)
# with theirs.
declare -A ok
while read -r p; do ok[$p]=1; done < <(
	{
		printf '%s\n' "${listed[@]}"
		dpkg-query -W -f='${Package} ${Priority}\n' | awk '$2 == "required" { print $1 }'
	} | xargs apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances 2>/dev/null | grep -v '^[ <]' | sed 's/:.*//'
)
for p in "${listed[@]}"; do
	[ -n "${ok[$p]:-}" ] || { echo "FAIL: apt does not know $p (run apt-get update?)" >&2; exit 1; }
done

# Which binary loads which library file.
declare -A loads
for b in "${bins[@]}"; do
	while read -r lib; do loads[$lib]+="$b "; done < <(ldd "$bin/$b" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }')
done
# The package shipping each file, asked once for all of them and for their
# merged-/usr twins (/lib/x/... is /usr/lib/x/... on bookworm).
declare -A owner
paths=()
for lib in "${!loads[@]}"; do
	case $lib in /usr/*) alt=${lib#/usr} ;; *) alt=/usr$lib ;; esac
	paths+=("$lib" "$alt" "$(readlink -f "$lib")")
done
while IFS= read -r line; do
	pkg=${line%%: /*}
	pkg=${pkg%%,*}
	pkg=${pkg%%:*}
	owner[${line#*: }]=$pkg
done < <(dpkg-query -S "${paths[@]}" 2>/dev/null || true)

errors=0
declare -A used
for lib in "${!loads[@]}"; do
	case $lib in /usr/*) alt=${lib#/usr} ;; *) alt=/usr$lib ;; esac
	p=${owner[$lib]:-${owner[$alt]:-${owner[$(readlink -f "$lib")]:-}}}
	if [ -z "$p" ]; then
		echo "FAIL: ${loads[$lib]}load $lib, which no Debian package ships" >&2
		errors=$((errors + 1))
		continue
	fi
	used[$p]=1
	if [ -z "${ok[$p]:-}" ]; then
		echo "FAIL: ${loads[$lib]}load $lib from $p, which the image's final stage does not install" >&2
		errors=$((errors + 1))
	fi
done
for p in "${listed[@]}"; do
	case $p in lib*) ;; *) continue ;; esac
	if [ -z "${used[$p]:-}" ]; then
		echo "FAIL: the image installs $p but no binary loads it" >&2
		errors=$((errors + 1))
	fi
done
[ "$errors" = 0 ] || exit 1
echo "runtime libraries of ${bins[*]} all come from: ${listed[*]} (+ dependencies, + base image)"
