#!/usr/bin/env bash
# Gateway edge cases: bad names (400 JSON), single ranges (206 byte-exact,
# 416, malformed ignored), HEAD, ETag/If-None-Match (304), --max-upload
# (413 up front and mid-stream) and a truncated upload that leaves nothing.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_cluster 3
pp_start_gateway --max-upload 5MiB
G=$GATEWAY_URL
T=$PP_TMP

status() {
	local m=$1 u=$2
	shift 2
	rm -f "$T/body" # curl does not create the file for an empty body
	curl -sS -o "$T/body" -w '%{http_code}' -X "$m" "$@" "$u"
}
assert_400_json() {
	assert_eq "$1" 400 "$2"
	jq -e '.code=="invalid" and (.error|test("name"))' "$T/body" >/dev/null ||
		fail "$2: not a 400 JSON error about the name: $(head -c 300 "$T/body")"
}

# --- bad names ---
printf 'x' >"$T/one"
assert_400_json "$(status PUT "$G/api/v1/files/" --data-binary @"$T/one")" "empty name"
assert_400_json "$(status GET "$G/api/v1/files/")" "empty name GET"
long=$(head -c 1025 /dev/zero | tr '\0' 'a')
assert_400_json "$(status PUT "$G/api/v1/files/$long" --data-binary @"$T/one")" "1025-byte name"
ok1024=$(head -c 1024 /dev/zero | tr '\0' 'b')
assert_eq "$(status PUT "$G/api/v1/files/$ok1024" --data-binary @"$T/one")" 201 "1024-byte name"
assert_400_json "$(status PUT "$G/api/v1/files/a%00b" --data-binary @"$T/one")" "NUL"
assert_400_json "$(status PUT "$G/api/v1/files/a%0Ab" --data-binary @"$T/one")" "newline"
assert_400_json "$(status PUT "$G/api/v1/files/a%1Fb" --data-binary @"$T/one")" "control character"
assert_400_json "$(status PUT "$G/api/v1/files/a%7Fb" --data-binary @"$T/one")" "DEL"
assert_400_json "$(status PUT "$G/api/v1/files/bad%FFutf8" --data-binary @"$T/one")" "invalid UTF-8"
assert_400_json "$(status PUT "$G/api/v1/files/bad%C3" --data-binary @"$T/one")" "truncated UTF-8"
assert_400_json "$(status PUT "$G/api/v1/files/over%C0%AFlong" --data-binary @"$T/one")" "overlong UTF-8"
assert_400_json "$(status PUT "$G/api/v1/files/bad%zzescape" --data-binary @"$T/one")" "bad escape"
assert_400_json "$(status DELETE "$G/api/v1/files/a%00b")" "NUL on DELETE"
assert_400_json "$(status GET "$G/api/v1/chunkmap/a%01b")" "control char on chunkmap"
assert_eq "$(ppctl --json ls | jq .total)" 1 "no file stored from a bad name"
assert_eq "$(status PUT "$G/api/v1/files/caf%C3%A9/%E2%9C%93.txt" --data-binary @"$T/one")" 201 "UTF-8 name"
assert_eq "$(jq -r .name "$T/body")" "café/✓.txt" "decoded UTF-8 name"

# --- ranges: 10 000 bytes over several chunks would be slow; use 3 MiB ---
pp_make_file "$T/f" 3000000
assert_eq "$(status PUT "$G/api/v1/files/r.bin" --data-binary @"$T/f")" 201 "PUT r.bin"
etag="\"$(pp_sha "$T/f")\""
range() { # range SPEC EXPECTED_FIRST EXPECTED_LAST
	local code
	code=$(curl -sS -o "$T/part" -D "$T/h" -w '%{http_code}' -H "Range: bytes=$1" "$G/api/v1/files/r.bin")
	assert_eq "$code" 206 "Range $1"
	local len=$(($3 - $2 + 1))
	grep -qi "^content-range: bytes $2-$3/3000000" "$T/h" || fail "Range $1: $(grep -i content-range "$T/h")"
	grep -qi "^content-length: $len" "$T/h" || fail "Range $1: Content-Length"
	dd if="$T/f" of="$T/want" bs=64K iflag=skip_bytes,count_bytes skip="$2" count="$len" status=none
	cmp -s "$T/part" "$T/want" || fail "Range $1: bytes differ"
}
range 0-0 0 0
range 0-99 0 99
range 1000-2999999 1000 2999999
range 2999990- 2999990 2999999
range -10 2999990 2999999
range 100-99999999 100 2999999
range -5000000 0 2999999
range 1048570-1048580 1048570 1048580 # across a chunk boundary when chunks are 1 MiB
code=$(curl -sS -o "$T/body" -D "$T/h" -w '%{http_code}' -H "Range: bytes=3000000-" "$G/api/v1/files/r.bin")
assert_eq "$code" 416 "range past the end"
grep -qi '^content-range: bytes \*/3000000' "$T/h" || fail "416 without Content-Range: bytes */SIZE"
jq -e '.code and .error' "$T/body" >/dev/null || fail "416 body is not JSON"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Range: bytes=-0' "$G/api/v1/files/r.bin")" 416 "empty suffix"
for bad in 'bytes=abc' 'bytes=5-1' 'pages=0-1' 'bytes=' 'bytes=1-2,5-6' 'bytes=--1'; do
	code=$(curl -sS -o "$T/part" -w '%{http_code}' -H "Range: $bad" "$G/api/v1/files/r.bin")
	assert_eq "$code" 200 "malformed Range '$bad' is ignored"
	cmp -s "$T/part" "$T/f" || fail "malformed Range '$bad': body is not the whole file"
done
code=$(curl -sS -o "$T/part" -w '%{http_code}' -H 'Range: bytes=0-9' -H 'If-Range: "other"' "$G/api/v1/files/r.bin")
assert_eq "$code" 200 "If-Range with another ETag sends the whole file"

# --- HEAD and ETag ---
curl -sS -I "$G/api/v1/files/r.bin" >"$T/h"
grep -qi "^content-length: 3000000" "$T/h" || fail "HEAD Content-Length"
grep -qi "^etag: $etag" "$T/h" || fail "HEAD ETag"
rm -f "$T/body"
assert_eq "$(curl -sS -o "$T/body" -w '%{http_code}' -H "If-None-Match: $etag" "$G/api/v1/files/r.bin")" 304 "If-None-Match"
[ ! -s "$T/body" ] || fail "304 with a body"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: \"x\", $etag" "$G/api/v1/files/r.bin")" 304 "If-None-Match list"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: "nope"' "$G/api/v1/files/r.bin")" 200 "stale If-None-Match"

# --- --max-upload 5 MiB ---
pp_make_file "$T/big" 6000000
assert_eq "$(status PUT "$G/api/v1/files/big.bin" --data-binary @"$T/big")" 413 "Content-Length over the limit"
assert_eq "$(jq -r .code "$T/body")" too_large "413 code"
assert_eq "$(status PUT "$G/api/v1/files/big.bin" -H 'Transfer-Encoding: chunked' --data-binary @"$T/big")" 413 "chunked body over the limit"
jq -e '.code=="too_large"' "$T/body" >/dev/null || fail "mid-stream 413 body: $(cat "$T/body")"
assert_eq "$(status GET "$G/api/v1/files/big.bin")" 404 "nothing stored over the limit"
pp_make_file "$T/fits" 5242880
assert_eq "$(status PUT "$G/api/v1/files/fits.bin" -H 'Transfer-Encoding: chunked' --data-binary @"$T/fits")" 201 "exactly the limit"

# --- a truncated upload leaves nothing: the client dies mid-body ---
before=$(ppctl --json health | jq .chunks)
pp_make_file "$T/cut" 4000000
# Announce 4 MB, send 2.5 MB, then close the connection.
python3 - "$GATEWAY_PORT" "$T/cut" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
data = open(sys.argv[2], "rb").read()
s.sendall(b"PUT /api/v1/files/cut.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n")
s.sendall(data[:2500000])
s.close()
PY
pp_wait_for "gateway logs the aborted upload" 10 grep -q 'upload_aborted name="cut.bin"' "$PP_TMP/logs/gateway.log"
assert_eq "$(status GET "$G/api/v1/files/cut.bin")" 404 "truncated upload is not visible"
assert_eq "$(ppctl --json ls cut | jq .total)" 0 "truncated upload not listed"
# A replaced file keeps its old version when the new upload is cut off.
python3 - "$GATEWAY_PORT" "$T/cut" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
data = open(sys.argv[2], "rb").read()
s.sendall(b"PUT /api/v1/files/r.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n")
s.sendall(data[:1000000])
s.close()
PY
pp_wait_for "second abort logged" 10 grep -q 'upload_aborted name="r.bin"' "$PP_TMP/logs/gateway.log"
assert_eq "$(status GET "$G/api/v1/files/r.bin")" 200 "old version still there"
cmp -s "$T/body" "$T/f" || fail "old version changed by a cut-off upload"
assert_eq "$(grep -cF 'msg=http_request method="PUT" path="/api/v1/files/cut.bin" status=499' "$PP_TMP/logs/gateway.log")" 1 "cut-off request logged as 499"
[ "$(ppctl --json health | jq .chunks)" -ge "$before" ] || fail "health went backwards"
pp_done
