#!/usr/bin/env bash
# Durability (issue 12): replacing or deleting a file does not cut off a
# download already streaming the old version; its chunks are collected only
# after --gc-grace-s. Regression: the old version's chunks were deleted at
# once, so a slow reader of a replaced file failed mid-stream.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 256KiB --gc-grace-s 15
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3

for what in replace rm; do
	pp_make_file "$PP_TMP/old-$what" $((12 * 1024 * 1024))
	pp_make_file "$PP_TMP/new-$what" $((3 * 1024 * 1024))
	ppctl put "$PP_TMP/old-$what" --name "doc-$what" >/dev/null
	old_ids=$(ppctl --json stat "doc-$what" | jq -r '.chunks[].id')
	# A reader that stops after 1 MiB: the download blocks on the pipe
	# with most chunks still to fetch.
	fifo=$PP_TMP/fifo-$what
	mkfifo "$fifo"
	"$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" get "doc-$what" -o - >"$fifo" \
		2>"$PP_TMP/get-$what.err" &
	getpid=$!
	PP_PIDS+=("$getpid")
	exec 8<"$fifo"
	head -c $((1024 * 1024)) <&8 >"$PP_TMP/got-$what"
	if [ "$what" = replace ]; then
		ppctl put "$PP_TMP/new-$what" --name "doc-$what" >/dev/null
	else
		ppctl rm "doc-$what" >/dev/null
	fi
	# Several collection passes (every 0.5 s) run while the reader waits.
	sleep 3
	for id in $old_ids; do
		held=0
		for w in w1 w2 w3; do if pp_worker_has "$w" "$id"; then held=$((held + 1)); fi; done
		[ "$held" -ge 2 ] || fail "$what: chunk $id of the old version collected within the grace"
	done
	cat <&8 >>"$PP_TMP/got-$what"
	exec 8<&-
	rc=0
	wait "$getpid" || rc=$?
	[ "$rc" = 0 ] || fail "$what: the download of the old version failed: $(cat "$PP_TMP/get-$what.err")"
	cmp "$PP_TMP/old-$what" "$PP_TMP/got-$what" || fail "$what: the old version was not read whole"
done
ppctl get doc-replace -o "$PP_TMP/now"
cmp "$PP_TMP/new-replace" "$PP_TMP/now" || fail "the new version is not served after the replacement"
pp_done
