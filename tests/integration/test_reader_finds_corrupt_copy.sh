#!/usr/bin/env bash
# Verification on the receiving side (issue 18): workers send whole chunks
# without hashing them and every receiver checks them against the chunk id.
# Bad bytes are never delivered; the reader asks the worker that sent them
# to verify its copy, that worker quarantines it (and tells the tracker)
# only when its own check fails, and the reader fails over.
#  - ppctl get through the tracker while one holder's copies are corrupt;
#  - a direct get through the worker holding corrupt copies (it re-checks,
#    quarantines and pulls good ones);
#  - a direct get through an empty worker pulling from a corrupt source: the
#    receiving worker catches it, the source quarantines, the pull fails over;
#  - then repair restores two good copies of everything.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
command -v jq >/dev/null || { echo "skip: jq missing"; exit 77; }

PPCTL=$PP_BIN_DIR/ppctl
pp_start_tracker --chunk-size 256KiB
for i in 1 2; do pp_start_worker "w$i"; done
pp_wait_for "2 workers up" 15 pp_nodes_up_is 2

# flip WORKER: one byte changed in every chunk file the worker holds (its
# bits inverted: writing a fixed value would leave 1 in 256 copies intact).
flip() {
	local f n=0 b
	for f in $(find "${WORKER_DIR[$1]}/chunks" -type f); do
		b=$(dd if="$f" bs=1 skip=1000 count=1 status=none | od -An -tu1 | tr -d ' ')
		printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$f" bs=1 seek=1000 conv=notrunc status=none
		n=$((n + 1))
	done
	echo "$n"
}
quarantined() { find "${WORKER_DIR[$1]}/quarantine" -type f | wc -l; }

pp_make_file "$PP_TMP/f" $((6 * 1024 * 1024))
ppctl put "$PP_TMP/f" --name f >/dev/null
sum=$(pp_sha "$PP_TMP/f")
nchunks=$(ppctl --json stat f | jq '.chunks | length')
[ "$nchunks" = 24 ] || fail "expected 24 chunks, got $nchunks"

# --- through the tracker: exact bytes, bad copies checked and quarantined --
bad=$(flip w1)
[ "$bad" = 24 ] || fail "w1 should hold every chunk (R=2 on 2 workers), holds $bad"
for i in 1 2; do
	ppctl get f -o "$PP_TMP/out$i" >/dev/null || fail "get $i failed with corrupt copies on w1"
	assert_eq "$(pp_sha "$PP_TMP/out$i")" "$sum" "get $i"
done
grep -q "chunk_verify_asked .*result=corrupt" "$PP_TMP/logs/w1.log" ||
	fail "no reader asked w1 to verify a bad copy"
# A reader's report is checked, never trusted: w2 was never told its
# copies are bad, and none of them went.
[ "$(quarantined w2)" = 0 ] || fail "w2 quarantined good copies"

# --- direct get through the worker with the bad copies ---------------------
env -u PP_TRACKER "$PPCTL" --node "${WORKER_ADDR[w1]}" get f -o "$PP_TMP/direct1" >/dev/null ||
	fail "direct get through w1 failed"
assert_eq "$(pp_sha "$PP_TMP/direct1")" "$sum" "direct get through w1"
assert_eq "$(quarantined w1)" 24 "copies w1 quarantined"
pp_wait_for "w1 reported its bad copies" 10 grep -q "corrupt_reported" "$PP_TMP/logs/w1.log"
for f in $(find "${WORKER_DIR[w1]}/chunks" -type f); do
	assert_eq "$(sha256sum "$f" | cut -d' ' -f1)" "$(basename "$f")" "copy $f on w1 after the direct get"
done

# --- a corrupt source caught by the receiving worker -----------------------
pp_wait_for "two ok copies again" 30 pp_fully_replicated
bad=$(flip w2)
pp_start_worker w3
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3
env -u PP_TRACKER "$PPCTL" --node "${WORKER_ADDR[w3]}" get f -o "$PP_TMP/direct3" >/dev/null ||
	fail "direct get through w3 failed"
assert_eq "$(pp_sha "$PP_TMP/direct3")" "$sum" "direct get through w3"
grep -q "bad_source_reported .*source=\"${WORKER_ADDR[w2]}\" .*quarantined=1" "$PP_TMP/logs/w3.log" ||
	fail "w3 did not catch and report the bad source w2"
[ "$(quarantined w2)" -ge 1 ] || fail "w2 quarantined nothing"
# Nothing bad was kept on w3.
pp_wait_for "w3 kept every chunk" 30 test "$(pp_worker_chunks w3 | wc -l)" = 24
for f in $(find "${WORKER_DIR[w3]}/chunks" -type f); do
	assert_eq "$(sha256sum "$f" | cut -d' ' -f1)" "$(basename "$f")" "copy $f on w3"
done
pp_done
