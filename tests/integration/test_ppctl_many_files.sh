#!/usr/bin/env bash
# ppctl with many files in one process (issue 18; DESIGN.md "Binaries"):
# put FILE|DIR... (recursive, names relative to the DIR given, --prefix),
# get NAME... -o DIR and get --prefix P -o DIR (directories created) give
# back the same tree; names are checked before anything moves; a name that
# would leave the output directory is refused. And the output kinds: a
# regular file is replaced only once verified (a failed get leaves it
# alone), a symlink's target is replaced (the link stays), while a
# character device and a FIFO are written in place — `ppctl get x -o
# /dev/null` once replaced /dev/null with a regular file.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
command -v jq >/dev/null || { echo "skip: jq missing"; exit 77; }

pp_start_tracker --chunk-size 256KiB
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3

# --- a tree: small files, a multi-chunk one, an empty one, nested dirs ----
src=$PP_TMP/src
mkdir -p "$src/a/b" "$src/c" "$src/empty-dir"
for i in $(seq 1 40); do pp_make_file "$src/s$i" $((RANDOM % 5000 + 1)); done
pp_make_file "$src/a/big" $((1024 * 1024 + 77))
pp_make_file "$src/a/b/deep" 3000
: >"$src/c/zero"
ln -s s1 "$src/link-skipped"
ppctl put "$src" --prefix tree/ >"$PP_TMP/put.out" 2>"$PP_TMP/put.err" || fail "put DIR: $(cat "$PP_TMP/put.err")"
grep -q "stored 43 files" "$PP_TMP/put.out" || fail "put DIR said: $(cat "$PP_TMP/put.out")"
grep -q "skipped 1 entry" "$PP_TMP/put.err" || fail "the symlink was not reported as skipped"
for n in tree/s1 tree/a/big tree/a/b/deep tree/c/zero; do
	ppctl stat "$n" >/dev/null || fail "$n was not stored"
done

# Back with --prefix into a new directory: the same tree.
ppctl get --prefix tree/ -o "$PP_TMP/back" 2>"$PP_TMP/get.err" || fail "get --prefix: $(cat "$PP_TMP/get.err")"
rm "$src/link-skipped"
rmdir "$src/empty-dir"
diff -r "$src" "$PP_TMP/back" || fail "get --prefix gave back another tree"

# Several files and a --json listing; several names into a directory.
pp_make_file "$PP_TMP/x1" 100
pp_make_file "$PP_TMP/x2" 200
ppctl --json put "$PP_TMP/x1" "$PP_TMP/x2" --prefix two/ >"$PP_TMP/two.json"
assert_eq "$(jq -r '[.files[].name] | sort | join(",")' "$PP_TMP/two.json")" "two/x1,two/x2" "put --json names"
mkdir "$PP_TMP/two"
ppctl get two/x1 two/x2 -o "$PP_TMP/two" 2>/dev/null || fail "get NAME NAME -o DIR"
cmp "$PP_TMP/x1" "$PP_TMP/two/x1" && cmp "$PP_TMP/x2" "$PP_TMP/two/x2" || fail "get of two names differs"

# --- checks before anything moves -------------------------------------------
assert_exit 1 ppctl put "$PP_TMP/x1" "$PP_TMP/two/x1" --prefix dup/
ppctl stat dup/x1 >/dev/null 2>&1 && fail "a refused put stored something"
assert_exit 1 ppctl put "$src" --name one-name
assert_exit 1 ppctl get two/x1 two/x2 -o "$PP_TMP/not-a-dir"
assert_exit 1 ppctl get --prefix two/
# A stored name with '..' cannot write outside the output directory.
ppctl put "$PP_TMP/x1" --name "evil/../../escaped" >/dev/null
assert_exit 1 ppctl get --prefix evil/ -o "$PP_TMP/jail"
[ ! -e "$PP_TMP/escaped" ] || fail "a get --prefix wrote outside its directory"

# --- output kinds -------------------------------------------------------------
mkfifo "$PP_TMP/fifo"
cat "$PP_TMP/fifo" >"$PP_TMP/from-fifo" &
reader=$!
ppctl get tree/a/big -o "$PP_TMP/fifo" 2>/dev/null || fail "get into a FIFO"
wait "$reader"
cmp "$src/a/big" "$PP_TMP/from-fifo" || fail "the FIFO's reader got other bytes"
[ -p "$PP_TMP/fifo" ] || fail "the FIFO was replaced by a regular file"
if [ "$(id -u)" = 0 ]; then
	mknod "$PP_TMP/null" c 1 3
	ppctl get tree/a/big -o "$PP_TMP/null" 2>/dev/null || fail "get into a character device"
	[ -c "$PP_TMP/null" ] || fail "the character device was replaced by a regular file"
	[ "$(stat -c %t:%T "$PP_TMP/null")" = 1:3 ] || fail "the device node changed"
else
	# Never the real /dev/null: a regression would break the machine.
	pp_log "not root: no mknod, the character device case is skipped"
fi
# A symlink to a regular file: its target gets the bytes, the link stays.
echo old >"$PP_TMP/target"
ln -s target "$PP_TMP/link"
ppctl get tree/s2 -o "$PP_TMP/link" 2>/dev/null || fail "get through a symlink"
[ -L "$PP_TMP/link" ] || fail "the symlink was replaced"
cmp "$src/s2" "$PP_TMP/target" || fail "the symlink's target did not get the bytes"
# A failed get leaves an existing file as it was, and no temp file.
echo keep >"$PP_TMP/keep"
assert_exit 2 ppctl get no-such-file -o "$PP_TMP/keep"
assert_eq "$(cat "$PP_TMP/keep")" keep "file after a failed get"
[ -z "$(find "$PP_TMP" -maxdepth 1 -name '.keep.ppctl-*')" ] || fail "a temp file was left behind"
pp_done
