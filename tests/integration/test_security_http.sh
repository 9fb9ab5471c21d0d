#!/usr/bin/env bash
# Hostile HTTP clients against the gateway (issue "Security and hostile
# input"), the parts test_gateway_errors.sh and test_gateway_tokens.sh do not
# cover: clients that trickle their headers a byte a second (slowloris) or
# their upload body are dropped — headers within the header deadline, far
# below the 60 s idle timeout a byte a second would never trip — and their
# sockets are released, while normal requests keep working; names that only
# a C-string truncation or a lax decoder would map onto a stored file
# ("a.bin%00", "a.bin%0A", invalid UTF-8) get 400 JSON on PUT and DELETE;
# refused writes (no token 401, read token 403, query token 401) and
# unsatisfiable or overflowing ranges change nothing. Every step checks that
# the file stored first is byte-for-byte the same.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

command -v python3 >/dev/null || { echo "SKIP: python3 is needed for the raw-socket clients"; exit 77; }
# The interpreter itself, not a version-manager shim that takes seconds to start.
PY=$(python3 -c 'import sys; print(sys.executable)')
HEADER_DEADLINE_S=10 # GW_HEADER_DEADLINE_S in services/gateway/main.c
UPLOAD_GRACE_S=30    # GW_UPLOAD_RATE_GRACE_MS in services/gateway/gateway.h
T=$PP_TMP

pp_cluster 2
cat >"$T/tokens" <<'TOK'
reader-token-1234 read
writer-token-5678 write
TOK
pp_start_gateway --token-file "$T/tokens"
G=$GATEWAY_URL
R=(-H "Authorization: Bearer reader-token-1234")
W=(-H "Authorization: Bearer writer-token-5678")

req() { # req METHOD URL [curl args...]: prints the status, body in $T/body
	local m=$1 u=$2
	shift 2
	rm -f "$T/body"
	curl -sS -o "$T/body" -D "$T/h" -w '%{http_code}' -X "$m" "$@" "$u"
}
json_error() { # json_error CODE_FIELD WHAT
	jq -e --arg c "$1" '.code == $c and (.error | length > 0)' "$T/body" >/dev/null ||
		fail "$2: not a JSON error with code $1: $(head -c 300 "$T/body" 2>/dev/null)"
}

pp_make_file "$T/a.bin" 1500000
assert_eq "$(req PUT "$G/api/v1/files/a.bin" "${W[@]}" --data-binary @"$T/a.bin")" 201 "PUT a.bin"
sum=$(pp_sha "$T/a.bin")
unchanged() { # the stored a.bin is still the original, and the only file
	assert_eq "$(req GET "$G/api/v1/files/a.bin" "${R[@]}")" 200 "GET a.bin ($1)"
	assert_eq "$(pp_sha "$T/body")" "$sum" "a.bin content after $1"
	assert_eq "$(ppctl --json ls | jq -r '[.files[].name] | join(",")')" a.bin "files stored after $1"
}

# --- names a sloppy decoder would turn into "a.bin" ---
printf 'x' >"$T/x"
long=$(head -c 1089 /dev/zero | tr '\0' 'n')
for name in "" "a.bin%00" "a.bin%00.evil" "a.bin%0A" "a.bin%0D%0A" "a.bin%7F" "a.bin%C0%80" \
	"a.bin%FF" "a.bin%ED%A0%80" "%C3" "a.bin%2" "a.bin%G0" "$long"; do
	assert_eq "$(req DELETE "$G/api/v1/files/$name" "${W[@]}")" 400 "DELETE '${name:0:40}'"
	json_error invalid "DELETE '${name:0:40}'"
	assert_eq "$(req PUT "$G/api/v1/files/$name" "${W[@]}" --data-binary @"$T/x")" 400 "PUT '${name:0:40}'"
	json_error invalid "PUT '${name:0:40}'"
done
unchanged "bad names"

# --- refused writes ---
assert_eq "$(req DELETE "$G/api/v1/files/a.bin")" 401 "DELETE without a token"
json_error unauthorized "DELETE without a token"
assert_eq "$(req PUT "$G/api/v1/files/a.bin" --data-binary @"$T/x")" 401 "PUT without a token"
assert_eq "$(req PUT "$G/api/v1/files/a.bin?access_token=writer-token-5678" --data-binary @"$T/x")" 401 \
	"PUT with the token in the query"
assert_eq "$(req DELETE "$G/api/v1/files/a.bin" -H 'Authorization: Bearer writer-token-567')" 401 "DELETE with a token prefix"
assert_eq "$(req PUT "$G/api/v1/files/a.bin" "${R[@]}" --data-binary @"$T/x")" 403 "PUT over a.bin with a read token"
json_error forbidden "PUT with a read token"
assert_eq "$(req DELETE "$G/api/v1/files/a.bin" "${R[@]}")" 403 "DELETE with a read token"
json_error forbidden "DELETE with a read token"
unchanged "refused writes"

# --- ranges: unsatisfiable 416 with JSON; numbers past 64 bits are either
# ignored as malformed (200, whole file) or unsatisfiable (416), never a
# wrapped-around partial answer ---
for spec in "bytes=1500000-" "bytes=1500000-1500001" "bytes=-0"; do
	assert_eq "$(req GET "$G/api/v1/files/a.bin" "${R[@]}" -H "Range: $spec")" 416 "Range $spec"
	json_error range_not_satisfiable "Range $spec"
	grep -qi '^content-range: bytes \*/1500000' "$T/h" || fail "416 for $spec without Content-Range"
done
for spec in "bytes=18446744073709551615-" "bytes=18446744073709551616-" "bytes=99999999999999999999999-" \
	"bytes=0-99999999999999999999999" "bytes=-99999999999999999999999" "bytes=1-18446744073709551616"; do
	code=$(req GET "$G/api/v1/files/a.bin" "${R[@]}" -H "Range: $spec")
	case "$code" in
	200) assert_eq "$(pp_sha "$T/body")" "$sum" "whole file for $spec" ;;
	416) json_error range_not_satisfiable "Range $spec" ;;
	*) fail "Range $spec: status $code (want 200 whole file or 416)" ;;
	esac
done
unchanged "ranges"

# --- slow clients ---
# trickle.py MODE PORT SECONDS: MODE header sends a request line and headers
# one byte a second and never finishes them; MODE body sends complete PUT
# headers for an existing name, then the body one byte a second. Prints the
# seconds until the gateway dropped the connection, or "held" after SECONDS.
cat >"$T/trickle.py" <<'PY'
import select, socket, sys, time
mode, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
start = time.monotonic()
if mode == "header":
    data = b"GET /api/v1/files/a.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer reader-token-1234\r\n" * 4
else:
    s.sendall(b"PUT /api/v1/files/a.bin HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: Bearer writer-token-5678\r\nContent-Length: 100000\r\n\r\n")
    data = b"z" * 100000
i = 0
while time.monotonic() - start < limit:
    try:
        s.send(data[i:i + 1])
        i += 1
        r, _, _ = select.select([s], [], [], 1.0)
        if r and s.recv(4096) == b"":
            break
    except OSError:
        break
else:
    print("held")
    sys.exit(0)
print("%.1f" % (time.monotonic() - start))
PY
fds() { find "/proc/$GATEWAY_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
fds_at_least() { [ "$(fds)" -ge "$1" ]; }
fds_at_most() { [ "$(fds)" -le "$1" ]; }
fds_before=$(fds)
for i in 1 2 3 4; do
	"$PY" "$T/trickle.py" header "$GATEWAY_PORT" 40 >"$T/trickle.$i" 2>&1 &
done
"$PY" "$T/trickle.py" body "$GATEWAY_PORT" 70 >"$T/trickle.body" 2>&1 &
body_pid=$!
pp_wait_for "the slow clients hold connections" 15 fds_at_least $((fds_before + 5))
# Normal requests keep working while the slow clients hold their connections.
for _ in 1 2 3; do
	unchanged "a request during the slow clients"
	sleep 1
done
for i in 1 2 3 4; do
	pp_wait_for "header trickler $i finished" 45 test -s "$T/trickle.$i"
	t=$(cat "$T/trickle.$i")
	[ "$t" != held ] || fail "a client trickling its headers held its connection for 40 s"
	awk -v t="$t" -v d="$HEADER_DEADLINE_S" 'BEGIN { exit !(t + 0 <= d + 5) }' ||
		fail "header trickler $i dropped only after ${t}s (deadline ${HEADER_DEADLINE_S}s): $t"
done
wait "$body_pid" || true
t=$(cat "$T/trickle.body")
[ "$t" != held ] || fail "a client trickling its upload body held its connection for 70 s"
awk -v t="$t" -v g="$UPLOAD_GRACE_S" 'BEGIN { exit !(t + 0 <= g + 10) }' ||
	fail "body trickler dropped only after ${t}s (grace ${UPLOAD_GRACE_S}s)"
grep -q 'upload_too_slow name="a.bin"' "$PP_TMP/logs/gateway.log" || fail "the slow upload was not logged"
pp_wait_for "the gateway released the slow clients' sockets" 10 fds_at_most $((fds_before + 2))
unchanged "slow clients"
kill -0 "$GATEWAY_PID" || fail "the gateway died"
pp_done
