#!/usr/bin/env bash
# HEAD, Range and If-None-Match on a file of 600 chunks (1 KiB chunks) answer
# correctly and cost a few small manifest calls, never the whole chunk map
# (issue 15): the tracker's pp_rpc_requests_total / pp_rpc_sent_bytes_total
# for method "manifest" show how many calls and how many bytes they took,
# next to what one whole-map read (ppctl stat) costs.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

T=$PP_TMP
TM=$(pp_free_port)
pp_start_tracker --chunk-size 1KiB --metrics "127.0.0.1:$TM"
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3
pp_start_gateway
G=$GATEWAY_URL

SIZE=614400
pp_make_file "$T/f" "$SIZE"
SHA=$(pp_sha "$T/f")
curl -fsS -X PUT --data-binary @"$T/f" "$G/api/v1/files/many.bin" >"$T/put.json" || fail "upload"
assert_eq "$(jq -r .chunk_count "$T/put.json")" 600 "chunk count"

# manifest_stat FIELD: the tracker's figure for method="manifest", summed
# over result codes (requests) or alone (sent bytes).
manifest_stat() {
	curl -fsS "http://127.0.0.1:$TM/metrics" >"$T/m.prom" || fail "no tracker /metrics"
	awk -v f="$1" '$1 ~ "^"f"\\{" && $1 ~ /method="manifest"/ {s += $2} END {printf "%.0f\n", s}' "$T/m.prom"
}
calls0=$(manifest_stat pp_rpc_requests_total)
bytes0=$(manifest_stat pp_rpc_sent_bytes_total)

curl -fsS -I "$G/api/v1/files/many.bin" -o /dev/null -D "$T/head.hdr" || fail "HEAD"
grep -qi "^content-length: $SIZE" "$T/head.hdr" || fail "HEAD Content-Length: $(cat "$T/head.hdr")"
grep -qi "^etag: \"$SHA\"" "$T/head.hdr" || fail "HEAD ETag: $(cat "$T/head.hdr")"

code=$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: \"$SHA\"" "$G/api/v1/files/many.bin")
assert_eq "$code" 304 "GET with a matching If-None-Match"

curl -fsS -r 300000-300099 -D "$T/range.hdr" -o "$T/range" "$G/api/v1/files/many.bin" || fail "Range"
grep -qi "^content-range: bytes 300000-300099/$SIZE" "$T/range.hdr" || fail "Content-Range: $(cat "$T/range.hdr")"
cmp -s "$T/range" <(tail -c +300001 "$T/f" | head -c 100) || fail "Range bytes differ"

# A range across three chunks near the end, and a suffix range.
curl -fsS -r 611000-613500 -o "$T/range2" "$G/api/v1/files/many.bin" || fail "Range 2"
cmp -s "$T/range2" <(tail -c +611001 "$T/f" | head -c 2501) || fail "Range 2 bytes differ"
curl -fsS -H 'Range: bytes=-10' -o "$T/suffix" "$G/api/v1/files/many.bin" || fail "suffix Range"
cmp -s "$T/suffix" <(tail -c 10 "$T/f") || fail "suffix Range bytes differ"

calls=$(($(manifest_stat pp_rpc_requests_total) - calls0))
bytes=$(($(manifest_stat pp_rpc_sent_bytes_total) - bytes0))
ppctl stat many.bin >/dev/null || fail "ppctl stat"
whole=$(($(manifest_stat pp_rpc_sent_bytes_total) - bytes0 - bytes))
pp_log "HEAD + If-None-Match + 3 ranges: $calls manifest calls, $bytes bytes (a whole-map read: $whole bytes)"
# HEAD 1, If-None-Match 1, each range at most 4 (info, open, start page, end page).
[ "$calls" -le 14 ] || fail "$calls manifest calls for HEAD, If-None-Match and 3 ranges"
# Each call carries the file's info and at most a few chunk locations.
[ "$bytes" -le $((calls * 2048)) ] || fail "$bytes manifest bytes for $calls calls: more than small pages"
[ "$whole" -gt $((bytes * 5)) ] || fail "a whole-map read ($whole bytes) is not much larger than $bytes: the test proves nothing"
pp_done
