#!/usr/bin/env bash
# Cluster key (issue "Security and hostile input"): with --key-file everywhere
# the cluster works; a worker with a wrong key or none is never listed or
# given chunks; ppctl without the key or with a wrong one exits 5; a
# world-readable key file is refused at start with a clear message; stored
# files are unchanged by every refused attempt.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

key=$PP_TMP/cluster.key
openssl rand -base64 32 >"$key"
chmod 600 "$key"
PP_KEY_FILE_ARG=$key

pp_cluster 2
pp_make_file "$PP_TMP/a.bin" 300000
ppctl put "$PP_TMP/a.bin" --name a.bin >/dev/null
sum=$(pp_sha "$PP_TMP/a.bin")

# ppctl without the key, and with a wrong key.
assert_exit 5 "$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" ls
wrong=$PP_TMP/wrong.key
openssl rand -base64 32 >"$wrong"
chmod 600 "$wrong"
assert_exit 5 "$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" --key-file "$wrong" ls
assert_exit 5 "$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" --key-file "$wrong" rm a.bin

# A world-readable key is refused with a clear message.
loose=$PP_TMP/loose.key
cp "$key" "$loose"
chmod 644 "$loose"
assert_exit 1 "$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" --key-file "$loose" ls
grep -q "world-readable" "$PP_TMP/last.err" || fail "no world-readable message: $(cat "$PP_TMP/last.err")"
rc=0
timeout 10 "$PP_BIN_DIR/pp-tracker" --listen "tcp://127.0.0.1:$(pp_free_port)" \
	--bus "tcp://127.0.0.1:$(pp_free_port)" --events "tcp://127.0.0.1:$(pp_free_port)" \
	--db "$PP_TMP/other.db" --key-file "$loose" 2>"$PP_TMP/tracker-loose.err" || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "tracker accepted a world-readable key (rc=$rc)"
grep -q "world-readable" "$PP_TMP/tracker-loose.err" || fail "tracker gave no clear message"

# Workers without the key, or with the wrong one, are never listed.
PP_KEY_FILE_ARG= pp_start_worker intruder-open
PP_KEY_FILE_ARG=$wrong pp_start_worker intruder-wrong
sleep 2
ppctl --json nodes >"$PP_TMP/nodes.json"
if jq -e '.nodes[] | select(.id | startswith("intruder"))' "$PP_TMP/nodes.json" >/dev/null; then
	fail "an unkeyed worker was listed: $(cat "$PP_TMP/nodes.json")"
fi
grep -q "refused" "$PP_TMP/logs/tracker.log" || fail "tracker did not log the refused messages"

# A new upload never lands on them.
pp_make_file "$PP_TMP/b.bin" 200000
ppctl put "$PP_TMP/b.bin" --name b.bin >/dev/null
[ -z "$(pp_worker_chunks intruder-open)$(pp_worker_chunks intruder-wrong)" ] || fail "intruders got chunks"

# Nothing stored changed.
ppctl get a.bin -o "$PP_TMP/a.out" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/a.out")" "$sum" "a.bin content"
pp_done
