#!/usr/bin/env bash
# Logs are logfmt (issue 17): a file name with quotes, backslashes, `=` and
# spaces goes through ppctl and the gateway, and every line the tracker,
# workers and gateway wrote still parses (the check runs on every
# integration test's logs at cleanup; this one feeds it the hard names).
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
check="$PP_SOURCE_DIR/tests/lib/logfmt_check.py"

# The checker itself refuses what it must refuse.
printf 'ts=2026-12-01T00:00:00.000Z level=info component=t msg=x name="a"b"\n' >"$PP_TMP/bad1"
printf '2026-12-01T00:00:00.000Z info tracker file_committed name="x"\n' >"$PP_TMP/bad2"
printf 'ts=1 level=info component=t msg=x msg=y\n' >"$PP_TMP/bad3"
for b in bad1 bad2 bad3; do
	if python3 "$check" "$PP_TMP/$b" 2>/dev/null; then fail "logfmt_check accepted $b"; fi
done
printf 'ts=1 level=warn component=t msg=x name="a \\"b\\" \\\\ c" n=3 e=\nusage: not an event\n' >"$PP_TMP/good"
python3 "$check" "$PP_TMP/good" || fail "logfmt_check refused a good line"

pp_start_tracker
for i in 1 2; do pp_start_worker "w$i"; done
pp_wait_for "2 workers up" 15 pp_nodes_up_is 2
pp_start_gateway

name='odd/a "quoted" name\with\back=slash and spaces'
printf 'hostile name\n' >"$PP_TMP/f"
ppctl put "$PP_TMP/f" --name "$name" >/dev/null
assert_eq "$(ppctl get "$name" -o -)" "hostile name" "read back"
enc=$(jq -rn --arg n "$name" '$n | @uri')
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$PP_TMP/f" \
	"$GATEWAY_URL/api/v1/files/$enc")
assert_eq "$code" 201 "gateway put"
ppctl rm "$name" >/dev/null
# The tracker wrote the name escaped, inside one quoted value.
grep -qF 'name="odd/a \"quoted\" name\\with\\back=slash and spaces"' "$PP_TMP/logs/tracker.log" ||
	fail "the tracker did not log the name escaped: $(grep -F 'odd/a' "$PP_TMP/logs/tracker.log" | head -3)"
pp_done
