#!/usr/bin/env bash
# A download manager that splits the file into ranges (aria2c -x4 -s4) gets
# the exact bytes through the gateway.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

if ! command -v aria2c >/dev/null; then
	echo "SKIP: aria2c is not installed (apt-get install aria2)"
	exit 77
fi
pp_cluster 3
pp_start_gateway
T=$PP_TMP
size=${PP_ARIA2_BYTES:-25000000}
pp_make_file "$T/f" "$size"
curl -fsS -X PUT --data-binary @"$T/f" "$GATEWAY_URL/api/v1/files/seg%20ments.bin" >/dev/null
mkdir -p "$T/dl"
aria2c -q -x4 -s4 -k1M --allow-overwrite=true --auto-file-renaming=false -d "$T/dl" -o out.bin \
	"$GATEWAY_URL/api/v1/files/seg%20ments.bin" || fail "aria2c failed"
cmp "$T/dl/out.bin" "$T/f" || fail "aria2c got different bytes"
n=$(grep -cF 'msg=http_request method="GET" path="/api/v1/files/seg%20ments.bin" status=206' "$PP_TMP/logs/gateway.log" || true)
[ "$n" -ge 2 ] || fail "aria2c did not use several ranges ($n 206 answers)"
pp_log "aria2c fetched $size bytes in $n ranges"
pp_done
