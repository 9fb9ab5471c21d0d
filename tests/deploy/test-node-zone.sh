#!/usr/bin/env bash
# pp-node-zone (the worker pod's init container) against a stub curl: it asks
# the API server for its node with the service account token and CA, writes
# the node's topology.kubernetes.io/zone label, writes an empty zone when
# there is none, fails (writing nothing) when the API cannot be asked, and
# refuses a node name that is not a DNS name. No network is used.
# Usage: test-node-zone.sh PATH/TO/pp-node-zone
set -euo pipefail
script=${1:?usage: test-node-zone.sh PATH/TO/pp-node-zone}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ppzone.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL $*" >&2
	exit 1
}

mkdir -p "$tmp/stub" "$tmp/sa"
echo "token-123" >"$tmp/sa/token"
echo "ca" >"$tmp/sa/ca.crt"
# The stub records its arguments and prints $STUB_BODY, or fails like curl -f.
cat >"$tmp/stub/curl" <<'STUB'
#!/bin/sh
printf '%s\n' "$@" >"$STUB_ARGS"
[ -n "${STUB_FAIL:-}" ] && { echo "curl: (22) The requested URL returned error: 403" >&2; exit 22; }
printf '%s' "$STUB_BODY"
STUB
chmod +x "$tmp/stub/curl"

run() { # run NODE OUT -> exit code
	local rc=0
	env PATH="$tmp/stub:$PATH" PP_NODE_ZONE_SA_DIR="$tmp/sa" STUB_ARGS="$tmp/args" \
		KUBERNETES_SERVICE_HOST="${HOST:-198.18.0.1}" KUBERNETES_SERVICE_PORT=6443 \
		sh "$script" "$@" 2>"$tmp/err" || rc=$?
	return "$rc"
}

compact='{"kind":"Node","metadata":{"name":"node-a","labels":{"kubernetes.io/hostname":"node-a","topology.kubernetes.io/region":"eu-1","topology.kubernetes.io/zone":"eu-1b"}}}'
pretty='{
  "kind": "Node",
  "metadata": {
    "labels": {
      "topology.kubernetes.io/zone" : "zone_C.2",
      "x": "y"
    }
  }
}'
nolabel='{"kind":"Node","metadata":{"name":"node-a","labels":{"kubernetes.io/hostname":"node-a"}}}'

STUB_BODY=$compact run node-a "$tmp/zone" || fail "compact JSON: exit $?: $(cat "$tmp/err")"
[ "$(cat "$tmp/zone")" = eu-1b ] || fail "compact JSON: zone '$(cat "$tmp/zone")', want eu-1b"
grep -qx "https://198.18.0.1:6443/api/v1/nodes/node-a" "$tmp/args" || fail "wrong URL: $(cat "$tmp/args")"
grep -qx "Authorization: Bearer token-123" "$tmp/args" || fail "token not sent"
grep -qx "$tmp/sa/ca.crt" "$tmp/args" || fail "CA not used"

STUB_BODY=$pretty HOST=2001:db8::1 run node-b.example "$tmp/zone2" || fail "pretty JSON: $(cat "$tmp/err")"
[ "$(cat "$tmp/zone2")" = zone_C.2 ] || fail "pretty JSON: zone '$(cat "$tmp/zone2")'"
grep -qx "https://\[2001:db8::1\]:6443/api/v1/nodes/node-b.example" "$tmp/args" || fail "IPv6 host not bracketed: $(cat "$tmp/args")"

STUB_BODY=$nolabel run node-a "$tmp/zone3" || fail "no label: exit $?"
{ [ -f "$tmp/zone3" ] && [ -z "$(cat "$tmp/zone3")" ]; } || fail "no label: want an empty zone file"
grep -q "no topology.kubernetes.io/zone label" "$tmp/err" || fail "no label: not logged"

rc=0
STUB_FAIL=1 run node-a "$tmp/zone4" || rc=$?
[ "$rc" != 0 ] || fail "API refused but pp-node-zone exited 0"
[ ! -e "$tmp/zone4" ] || fail "API refused but a zone file was written"
grep -q "cannot read node" "$tmp/err" || fail "API refusal not explained"

rc=0
STUB_BODY=$compact run '../../etc' "$tmp/zone5" || rc=$?
{ [ "$rc" = 1 ] && [ ! -e "$tmp/zone5" ]; } || fail "bad node name accepted (exit $rc)"

rc=0
env -u KUBERNETES_SERVICE_HOST PATH="$tmp/stub:$PATH" PP_NODE_ZONE_SA_DIR="$tmp/sa" sh "$script" node-a "$tmp/zone6" 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "ran outside a pod without complaint"
echo "pp-node-zone: 6 cases pass"
