#!/usr/bin/env bash
# Replace on commit (issue 3): putting an existing name bumps its version and
# swaps the content atomically; while the new upload is still streaming,
# readers get the old content in full; a failed replacement leaves the old
# version untouched.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 1MiB
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3

pp_make_file "$PP_TMP/v1" 3000000
pp_make_file "$PP_TMP/v2" 2500000
v1=$(ppctl --json put "$PP_TMP/v1" --name doc | jq -r .version)

# Stream v2 slowly through a pipe: until it commits, doc is still v1.
fifo=$PP_TMP/fifo
mkfifo "$fifo"
"$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" --json put - --name doc <"$fifo" >"$PP_TMP/put2.json" 2>"$PP_TMP/put2.err" &
putpid=$!
exec 7>"$fifo"
head -c 1500000 "$PP_TMP/v2" >&7
sleep 1
ppctl get doc -o "$PP_TMP/during"
cmp "$PP_TMP/v1" "$PP_TMP/during" || fail "old content not served whole while the new upload runs"
assert_eq "$(ppctl --json stat doc | jq -r .version)" "$v1" "version before commit"
tail -c +1500001 "$PP_TMP/v2" >&7
exec 7>&-
wait "$putpid" || fail "second put failed: $(cat "$PP_TMP/put2.err")"
v2=$(jq -r .version "$PP_TMP/put2.json")
[ "$v2" -gt "$v1" ] || fail "version did not increase ($v1 -> $v2)"
ppctl get doc -o "$PP_TMP/after"
cmp "$PP_TMP/v2" "$PP_TMP/after" || fail "new content not served after commit"
assert_eq "$(ppctl --json ls doc | jq '[.files[] | select(.name == "doc")] | length')" 1 "one file named doc"

# A replacement that fails (ppctl killed mid-stream) changes nothing.
"$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" put - --name doc <"$fifo" >/dev/null 2>&1 &
putpid=$!
exec 7>"$fifo"
head -c 1200000 /dev/urandom >&7
sleep 0.5
kill -KILL "$putpid"
wait "$putpid" 2>/dev/null || true
exec 7>&-
assert_eq "$(ppctl --json stat doc | jq -r .version)" "$v2" "version after an aborted replacement"
ppctl get doc -o "$PP_TMP/final"
cmp "$PP_TMP/v2" "$PP_TMP/final" || fail "content changed by an aborted replacement"
pp_done
