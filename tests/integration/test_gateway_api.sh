#!/usr/bin/env bash
# The gateway's REST API with curl: every endpoint of DESIGN.md's table and
# its error statuses with {"error","code"} JSON bodies.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_cluster 3
pp_start_gateway
G=$GATEWAY_URL
T=$PP_TMP

# status METHOD URL [curl args...]: prints the HTTP status, body in $T/body.
status() {
	local m=$1 u=$2
	shift 2
	rm -f "$T/body" # curl does not create the file for an empty body
	curl -sS -o "$T/body" -w '%{http_code}' -X "$m" "$@" "$u"
}
json_code() { jq -r .code "$T/body"; }
assert_error_body() { # every error is JSON with error and code
	jq -e '(.error|type=="string") and (.code|type=="string")' "$T/body" >/dev/null ||
		fail "error body is not {error,code} JSON: $(head -c 300 "$T/body")"
}

# --- probes ---
assert_eq "$(status GET "$G/healthz")" 200 "healthz"
assert_eq "$(status GET "$G/readyz")" 200 "readyz"

# --- upload: 201 with the file shape ---
pp_make_file "$T/a.bin" 9000000
assert_eq "$(status PUT "$G/api/v1/files/dir%2Fsub/a%20b.bin?replication=3" --data-binary @"$T/a.bin")" 201 "PUT"
jq -e '.name=="dir/sub/a b.bin" and .size==9000000 and .replication==3 and .chunk_count>=2 and (.sha256|length)==64 and (.created_at|test("Z$")) and .version>=1' "$T/body" >/dev/null ||
	fail "PUT answer is not the file shape: $(cat "$T/body")"
assert_eq "$(jq -r .sha256 "$T/body")" "$(pp_sha "$T/a.bin")" "sha256 of the upload"

# The same name written with a literal slash reaches the same file.
assert_eq "$(status GET "$G/api/v1/files/dir/sub/a%20b.bin")" 200 "GET with literal slashes"
assert_eq "$(pp_sha "$T/body")" "$(pp_sha "$T/a.bin")" "downloaded bytes"
ppctl get "dir/sub/a b.bin" -o "$T/via_ppctl" >/dev/null
cmp -s "$T/via_ppctl" "$T/a.bin" || fail "ppctl sees different bytes"

# --- download headers ---
curl -sS -D "$T/h" -o /dev/null "$G/api/v1/files/dir%2Fsub%2Fa%20b.bin"
grep -qi "^content-length: 9000000" "$T/h" || fail "no Content-Length: $(cat "$T/h")"
grep -qi "^etag: \"$(pp_sha "$T/a.bin")\"" "$T/h" || fail "ETag is not the quoted SHA-256"
grep -qi "^accept-ranges: bytes" "$T/h" || fail "no Accept-Ranges"
grep -qi '^content-disposition: attachment; filename="a b.bin"' "$T/h" || fail "Content-Disposition lacks the base name"

# --- HEAD ---
curl -sS -I "$G/api/v1/files/dir%2Fsub%2Fa%20b.bin" >"$T/h"
status=$(head -1 "$T/h")
[[ $status == *200* ]] || fail "HEAD status: $status"
grep -qi "^content-length: 9000000" "$T/h" || fail "HEAD lacks Content-Length"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -I "$G/api/v1/files/nope")" 404 "HEAD missing"

# --- list and search: newest first, health per file ---
printf 'hello' >"$T/small"
assert_eq "$(status PUT "$G/api/v1/files/notes.txt" --data-binary @"$T/small")" 201 "PUT small"
assert_eq "$(status PUT "$G/api/v1/files/empty" --data-binary '')" 201 "PUT empty"
assert_eq "$(jq -r .size "$T/body")" 0 "empty file size"
assert_eq "$(status GET "$G/api/v1/files/empty")" 200 "GET empty"
[ ! -s "$T/body" ] || fail "empty file has a body"
assert_eq "$(status GET "$G/api/v1/files")" 200 "list"
jq -e '.total==3 and (.files|length)==3 and .files[0].name=="empty" and ([.files[].health]|all(.=="ok"))' "$T/body" >/dev/null ||
	fail "list shape/order: $(cat "$T/body")"
assert_eq "$(status GET "$G/api/v1/files?q=note&limit=10&offset=0")" 200 "search"
jq -e '.total==1 and .files[0].name=="notes.txt"' "$T/body" >/dev/null || fail "search: $(cat "$T/body")"
assert_eq "$(status GET "$G/api/v1/files?q=a+b")" 200 "search with a space"
jq -e '.files[0].name=="dir/sub/a b.bin"' "$T/body" >/dev/null || fail "search 'a b': $(cat "$T/body")"
assert_eq "$(status GET "$G/api/v1/files?limit=1&offset=1")" 200 "paging"
jq -e '.total==3 and (.files|length)==1 and .files[0].name=="notes.txt"' "$T/body" >/dev/null || fail "paging: $(cat "$T/body")"
assert_eq "$(status GET "$G/api/v1/files?limit=abc")" 400 "bad limit"
assert_error_body

# --- chunk map ---
assert_eq "$(status GET "$G/api/v1/chunkmap/dir%2Fsub%2Fa%20b.bin")" 200 "chunkmap"
jq -e '.name=="dir/sub/a b.bin" and (.chunks|length)==.chunk_count and ([.chunks[].replicas|length]|all(.==3)) and (.chunks[0]|has("index") and has("id") and has("size")) and (.chunks[0].replicas[0]|has("node") and has("address") and .state=="ok")' "$T/body" >/dev/null ||
	fail "chunk map shape: $(head -c 600 "$T/body")"
assert_eq "$(status GET "$G/api/v1/chunkmap/missing")" 404 "chunkmap missing"
assert_error_body
assert_eq "$(json_code)" not_found "code of a 404"

# --- nodes and health ---
assert_eq "$(status GET "$G/api/v1/nodes")" 200 "nodes"
jq -e '(.nodes|length)==3 and ([.nodes[].state]|all(.=="up")) and (.nodes[0]|has("id") and has("address") and has("zone") and has("capacity") and has("used") and has("chunks") and has("last_heartbeat_ms"))' "$T/body" >/dev/null ||
	fail "nodes shape: $(cat "$T/body")"
assert_eq "$(status GET "$G/api/v1/health")" 200 "health"
jq -e '.nodes_up==3 and .nodes_down==0 and .chunks>=3 and .under_replicated==0 and .lost==0 and has("repairs_in_flight") and has("bytes_stored")' "$T/body" >/dev/null ||
	fail "health shape: $(cat "$T/body")"

# --- delete ---
assert_eq "$(status DELETE "$G/api/v1/files/notes.txt")" 204 "DELETE"
[ ! -s "$T/body" ] || fail "204 with a body"
assert_eq "$(status GET "$G/api/v1/files/notes.txt")" 404 "GET after DELETE"
assert_error_body
assert_eq "$(status DELETE "$G/api/v1/files/notes.txt")" 404 "DELETE missing"
assert_error_body

# --- bad requests ---
assert_eq "$(status PUT "$G/api/v1/files/x?replication=1" --data-binary @"$T/small")" 400 "replication 1"
assert_error_body
assert_eq "$(status PUT "$G/api/v1/files/x?replication=17" --data-binary @"$T/small")" 400 "replication 17"
assert_eq "$(status GET "$G/api/v1/files/x?replication=17")" 404 "replication ignored on GET"
assert_eq "$(status PUT "$G/api/v1/files/x?replication=4" --data-binary @"$T/small")" 503 "more replicas than workers"
assert_error_body
assert_eq "$(json_code)" unavailable "code of a 503"
assert_eq "$(status GET "$G/api/v1/files/x")" 404 "failed upload left nothing"
assert_eq "$(status POST "$G/api/v1/files/x" --data-binary @"$T/small")" 405 "POST"
assert_error_body
assert_eq "$(status GET "$G/api/v1/nothing")" 404 "unknown API path"
assert_error_body
assert_eq "$(status DELETE "$G/api/v1/nodes")" 405 "DELETE nodes"

# --- events endpoint answers with an event stream ---
curl -sS -N -m 2 -D "$T/h" -o "$T/sse" "$G/api/v1/events" || true
grep -qi "^content-type: text/event-stream" "$T/h" || fail "events content type: $(cat "$T/h")"
grep -q "^: connected" "$T/sse" || fail "events stream did not start"

# --- metrics: Prometheus text, every name pp_ (or the standard process_*) ---
assert_eq "$(status GET "$G/metrics")" 200 "metrics"
grep -q '^pp_http_requests_total{method="PUT",route="file_put",code="201"} [1-9]' "$T/body" || fail "no request counter: $(head -20 "$T/body")"
grep -q '^pp_http_request_duration_seconds_count{route="file_put"} [1-9]' "$T/body" || fail "no request histogram"
grep -q '^pp_upload_duration_seconds_bucket{le="+Inf"} [1-9]' "$T/body" || fail "no upload histogram"
grep -q '^pp_download_duration_seconds_count [1-9]' "$T/body" || fail "no download histogram"
grep -q '^pp_http_request_body_bytes_total [1-9]' "$T/body" || fail "no request body bytes"
grep -q '^pp_http_response_body_bytes_total [1-9]' "$T/body" || fail "no response body bytes"
grep -q '^pp_tracker_reachable 1$' "$T/body" || fail "no tracker-reachable gauge"
grep -q '^pp_build_info{version="[0-9.]*",component="gateway"} 1$' "$T/body" || fail "no build info"
grep -q '^process_resident_memory_bytes [1-9]' "$T/body" || fail "no process metrics"
# Cluster-wide gauges are the tracker's alone (two gateways must not double a sum()).
! grep -q '^pp_cluster_' "$T/body" || fail "the gateway exports cluster gauges: $(grep '^pp_cluster_' "$T/body" | head -3)"
bad=$(grep -v '^#' "$T/body" | grep -v '^pp_\|^process_' || true)
[ -z "$bad" ] || fail "metric names without pp_: $bad"
bad=$(grep '^# \(HELP\|TYPE\)' "$T/body" | awk '{print $3}' | grep -v '^pp_\|^process_' || true)
[ -z "$bad" ] || fail "metric metadata without pp_: $bad"

# --- the web UI is served at / ---
code=$(curl -sS -o "$T/body" -D "$T/h" -w '%{http_code}' "$G/")
if [ -n "$(ls "$PP_SOURCE_DIR/clients/web" 2>/dev/null)" ]; then
	assert_eq "$code" 200 "GET /"
	grep -qi '^content-type: text/html' "$T/h" || fail "/ is not HTML"
	grep -qi '^cache-control:' "$T/h" || fail "/ has no Cache-Control"
else
	assert_eq "$code" 404 "GET / without a UI"
fi
assert_eq "$(status GET "$G/..%2F..%2Fetc%2Fpasswd")" 404 "traversal"

# --- readyz follows the tracker ---
kill -STOP "$TRACKER_PID"
assert_eq "$(status GET "$G/readyz")" 503 "readyz with the tracker stopped"
assert_error_body
assert_eq "$(status GET "$G/healthz")" 200 "healthz with the tracker stopped"
kill -CONT "$TRACKER_PID"
pp_wait_for "readyz again" 10 curl -fsS "$G/readyz"

grep -qF 'msg=http_request method="PUT" path="/api/v1/files/dir%2Fsub/a%20b.bin"' "$PP_TMP/logs/gateway.log" ||
	fail "no request log line"
pp_done
