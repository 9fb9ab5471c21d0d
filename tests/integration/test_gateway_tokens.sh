#!/usr/bin/env bash
# --token-file: API requests need `Authorization: Bearer TOKEN`; 401 (with
# WWW-Authenticate) without one, 403 when a read token writes; probes and the
# UI stay open; the event stream accepts ?access_token=.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_cluster 2
T=$PP_TMP
cat >"$T/tokens" <<'TOK'
# tokens for the test
reader-token-1234 read
writer-token-5678 write   # may also read

TOK
pp_start_gateway --token-file "$T/tokens"
G=$GATEWAY_URL
R=(-H "Authorization: Bearer reader-token-1234")
W=(-H "Authorization: Bearer writer-token-5678")

code() { curl -sS -o "$T/body" -D "$T/h" -w '%{http_code}' "$@"; }
printf 'secret bytes' >"$T/f"

assert_eq "$(code "$G/api/v1/files")" 401 "list without a token"
grep -qi '^www-authenticate: Bearer' "$T/h" || fail "401 without WWW-Authenticate"
jq -e '.code=="unauthorized" and (.error|length>0)' "$T/body" >/dev/null || fail "401 body: $(cat "$T/body")"
assert_eq "$(code -H 'Authorization: Bearer wrong-token-0000' "$G/api/v1/files")" 401 "wrong token"
assert_eq "$(code -H 'Authorization: Basic cmVhZGVyOng=' "$G/api/v1/files")" 401 "not a bearer token"
assert_eq "$(code -X PUT --data-binary @"$T/f" "$G/api/v1/files/a")" 401 "PUT without a token"
assert_eq "$(code "$G/api/v1/nodes")" 401 "nodes without a token"
assert_eq "$(code "$G/metrics")" 401 "metrics without a token"
assert_eq "$(code "$G/api/v1/events")" 401 "events without a token"

assert_eq "$(code "${R[@]}" -X PUT --data-binary @"$T/f" "$G/api/v1/files/a")" 403 "PUT with a read token"
jq -e '.code=="forbidden"' "$T/body" >/dev/null || fail "403 body: $(cat "$T/body")"
assert_eq "$(code "${W[@]}" -X PUT --data-binary @"$T/f" "$G/api/v1/files/a")" 201 "PUT with a write token"
assert_eq "$(code "${R[@]}" "$G/api/v1/files/a")" 200 "GET with a read token"
cmp -s "$T/body" "$T/f" || fail "read token got other bytes"
assert_eq "$(code "${R[@]}" "$G/api/v1/files")" 200 "list with a read token"
assert_eq "$(code "${R[@]}" -X DELETE "$G/api/v1/files/a")" 403 "DELETE with a read token"
assert_eq "$(code "${W[@]}" "$G/api/v1/health")" 200 "write token reads"
assert_eq "$(code "${R[@]}" "$G/metrics")" 200 "metrics with a read token"
assert_eq "$(code "${W[@]}" -X DELETE "$G/api/v1/files/a")" 204 "DELETE with a write token"

# Open without a token: probes and the UI.
assert_eq "$(code "$G/healthz")" 200 "healthz open"
assert_eq "$(code "$G/readyz")" 200 "readyz open"
c=$(code "$G/")
[ "$c" = 200 ] || [ "$c" = 404 ] || fail "/ should be open (200, or 404 without a UI), got $c"

# EventSource cannot send headers: the token may come in the query.
curl -sS -N -m 2 -o "$T/sse" -w '%{http_code}' "$G/api/v1/events?access_token=reader-token-1234" >"$T/code" || true
assert_eq "$(cat "$T/code")" 200 "events with ?access_token="
grep -q '^: connected' "$T/sse" || fail "event stream did not start"
assert_eq "$(code "$G/api/v1/events?access_token=nope-nope-nope")" 401 "events with a wrong access_token"
# access_token is only for the event stream.
assert_eq "$(code "$G/api/v1/files?access_token=reader-token-1234")" 401 "access_token elsewhere"

# A malformed token file stops the gateway with a clear message.
printf 'short read\n' >"$T/bad"
assert_exit 1 "$PP_BIN_DIR/pp-gateway" --http 127.0.0.1:0 --tracker "$TRACKER_ADDR" --events "$EVENTS_ADDR" --token-file "$T/bad"
grep -q 'token' "$PP_TMP/last.err" || fail "no message for a bad token file: $(cat "$PP_TMP/last.err")"
printf 'abcdefghij admin\n' >"$T/bad"
assert_exit 1 "$PP_BIN_DIR/pp-gateway" --http 127.0.0.1:0 --tracker "$TRACKER_ADDR" --events "$EVENTS_ADDR" --token-file "$T/bad"
grep -q 'read or write' "$PP_TMP/last.err" || fail "no message for a bad scope"
pp_done
