#!/usr/bin/env bash
# put/get through ppctl are byte-exact at the chunk boundaries (empty, 1 byte,
# exactly one chunk, one chunk + 1 byte) and for a multi-chunk file, and every
# chunk is stored on two distinct workers (issue 3). The tracker runs with
# 1 MiB chunks so boundaries are cheap to hit. Also: get's default output
# (basename in the current directory), `-o -`, and `--json` shapes.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

CS=1048576
pp_start_tracker --chunk-size 1MiB
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3

check_file() { # NAME BYTES
	local name=$1 bytes=$2 src=$PP_TMP/src.$1
	pp_make_file "$src" "$bytes"
	ppctl --json put "$src" --name "$name" >"$PP_TMP/put.json" || fail "put $name ($bytes bytes)"
	assert_eq "$(jq -r .size "$PP_TMP/put.json")" "$bytes" "$name: size in put's JSON"
	assert_eq "$(jq -r .sha256 "$PP_TMP/put.json")" "$(pp_sha "$src")" "$name: sha256 in put's JSON"
	assert_eq "$(jq -r .chunk_count "$PP_TMP/put.json")" "$(((bytes + CS - 1) / CS))" "$name: chunk_count"
	jq -e '.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")' "$PP_TMP/put.json" >/dev/null ||
		fail "$name: created_at is not RFC 3339: $(cat "$PP_TMP/put.json")"
	ppctl get "$name" -o "$PP_TMP/out.$name" || fail "get $name"
	cmp "$src" "$PP_TMP/out.$name" || fail "$name: downloaded bytes differ"
	ppctl get "$name" -o - >"$PP_TMP/stdout.$name" || fail "get $name -o -"
	cmp "$src" "$PP_TMP/stdout.$name" || fail "$name: bytes on stdout differ"
	# Every chunk on at least two distinct workers, all ok.
	ppctl --json stat "$name" >"$PP_TMP/stat.json" || fail "stat $name"
	assert_eq "$(jq '.chunks | length' "$PP_TMP/stat.json")" "$(((bytes + CS - 1) / CS))" "$name: chunks in stat"
	local bad
	bad=$(jq '[.chunks[] | select(([.replicas[] | select(.state == "ok") | .node] | unique | length) < 2)] | length' "$PP_TMP/stat.json")
	assert_eq "$bad" 0 "$name: chunks with fewer than two distinct ok replicas"
	jq -e '[.chunks[] | .size] | add // 0' "$PP_TMP/stat.json" >/dev/null
	assert_eq "$(jq '[.chunks[].size] | add // 0' "$PP_TMP/stat.json")" "$bytes" "$name: chunk sizes add up"
}

check_file empty 0
check_file one 1
check_file chunk $CS
check_file chunkplus1 $((CS + 1))
check_file large $((24 * CS + 12345))

# Default output: the basename of NAME in the current directory.
ppctl put "$PP_TMP/src.one" --name "dir/sub/base.bin" >/dev/null
(cd "$PP_TMP" && ppctl get "dir/sub/base.bin") || fail "get with default output"
cmp "$PP_TMP/src.one" "$PP_TMP/base.bin" || fail "default output differs"

# Human output is a table with human sizes.
ppctl ls >"$PP_TMP/ls.txt"
grep -q "^NAME" "$PP_TMP/ls.txt" || fail "ls has no header: $(cat "$PP_TMP/ls.txt")"
grep -q "24.0 MiB" "$PP_TMP/ls.txt" || fail "ls shows no human size: $(cat "$PP_TMP/ls.txt")"
pp_done
