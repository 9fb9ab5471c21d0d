#!/usr/bin/env bash
# The S3 API driven by aws-cli (Debian's /usr/bin/aws) as users drive it:
# `aws s3 mb/cp/ls/sync/rm/presign`, then `aws s3api` for the bucket and
# object operations of DESIGN.md "S3 API" (listings, deletes and multipart
# by hand are in test_s3_awscli_more.sh). Objects are files named bucket/key
# for ppctl and REST.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
. "$PP_SOURCE_DIR/tests/lib/s3.sh"
pp_need /usr/bin/aws jq
pp_cluster 3
pp_start_s3
T=$PP_TMP
j() { jq -r "$@"; }

# --- aws s3: mb, cp, ls, sync, rm, presign ---
s3_aws s3 mb s3://photos >/dev/null || fail "mb"
out=$(s3_aws s3 ls) && [[ $out == *" photos"* ]] || fail "ls shows the bucket"
pp_make_file "$T/a.bin" 300000
printf 'hello s3\n' >"$T/hello.txt"
s3_aws s3 cp "$T/a.bin" s3://photos/2024/a.bin >/dev/null || fail "cp up"
s3_aws s3 cp "$T/hello.txt" "s3://photos/notes/hello world.txt" >/dev/null || fail "cp up (space in key)"
s3_aws s3 cp s3://photos/2024/a.bin "$T/a.back" >/dev/null || fail "cp down"
cmp "$T/a.bin" "$T/a.back" || fail "round trip differs"
s3_aws s3 ls s3://photos/ >"$T/ls1"
grep -q 'PRE 2024/' "$T/ls1" && grep -q 'PRE notes/' "$T/ls1" || fail "ls folders: $(cat "$T/ls1")"
out=$(s3_aws s3 ls --recursive s3://photos/) && [[ $out == *"notes/hello world.txt"* ]] || fail "ls --recursive"
# The same objects are files.
ppctl stat photos/2024/a.bin >/dev/null || fail "ppctl sees photos/2024/a.bin"
curl -fsS "$GATEWAY_URL/api/v1/files/photos%2Fnotes%2Fhello%20world.txt" | cmp - "$T/hello.txt" ||
	fail "REST reads the object"
mkdir -p "$T/tree/sub" "$T/down"
for i in 1 2 3; do pp_make_file "$T/tree/f$i" $((i * 1000)); done
pp_make_file "$T/tree/sub/deep" 5000
s3_aws s3 sync "$T/tree" s3://photos/tree >/dev/null || fail "sync up"
s3_aws s3 sync s3://photos/tree "$T/down" >/dev/null || fail "sync down"
diff -r "$T/tree" "$T/down" || fail "sync round trip differs"
[ -z "$(s3_aws s3 sync "$T/tree" s3://photos/tree)" ] || fail "a second sync copies again"
rm "$T/tree/f2"
s3_aws s3 sync --delete "$T/tree" s3://photos/tree >/dev/null || fail "sync --delete"
! ppctl stat photos/tree/f2 >/dev/null 2>&1 || fail "sync --delete left photos/tree/f2"
url=$(s3_aws s3 presign s3://photos/2024/a.bin --expires-in 300) || fail "presign"
curl -fsS "$url" -o "$T/presigned" || fail "presigned GET with curl"
cmp "$T/a.bin" "$T/presigned" || fail "presigned download differs"
s3_aws s3 rm s3://photos/tree --recursive >/dev/null || fail "rm --recursive"
[ -z "$(s3_aws s3 ls s3://photos/tree/)" ] || fail "rm --recursive left objects"

# --- s3api: buckets ---
s3_aws s3api create-bucket --bucket docs >/dev/null || fail "create-bucket"
s3_aws s3api create-bucket --bucket docs 2>"$T/err" && fail "creating a bucket twice"
grep -q BucketAlreadyOwnedByYou "$T/err" || fail "twice: $(cat "$T/err")"
s3_aws s3api create-bucket --bucket Bad_Name 2>"$T/err" && fail "bad bucket name accepted"
grep -q InvalidBucketName "$T/err" || fail "bad name: $(cat "$T/err")"
s3_aws s3api head-bucket --bucket docs || fail "head-bucket"
s3_aws s3api head-bucket --bucket nothere 2>/dev/null && fail "head-bucket of a missing bucket"
[ "$(s3_aws s3api get-bucket-location --bucket docs | j .LocationConstraint)" = null ] || fail "location"
assert_eq "$(s3_aws s3api list-buckets | j -c '[.Buckets[].Name]')" '["docs","photos"]' "list-buckets"

# --- s3api: objects, metadata, conditions, ranges ---
s3_aws s3api put-object --bucket docs --key report.txt --body "$T/hello.txt" \
	--content-type text/plain --content-disposition 'attachment; filename="r.txt"' \
	--cache-control max-age=60 --metadata author=alice,dept=ops >"$T/put.json" || fail "put-object"
etag=$(j .ETag "$T/put.json")
assert_eq "$etag" "\"$(md5sum "$T/hello.txt" | cut -d' ' -f1)\"" "ETag is the MD5"
s3_aws s3api head-object --bucket docs --key report.txt >"$T/head.json" || fail "head-object"
assert_eq "$(j .ContentType "$T/head.json")" text/plain "Content-Type"
assert_eq "$(j .ContentDisposition "$T/head.json")" 'attachment; filename="r.txt"' "Content-Disposition"
assert_eq "$(j .CacheControl "$T/head.json")" max-age=60 "Cache-Control"
assert_eq "$(j .Metadata.author "$T/head.json")" alice "x-amz-meta-author"
assert_eq "$(j .Metadata.dept "$T/head.json")" ops "x-amz-meta-dept"
assert_eq "$(j .ContentLength "$T/head.json")" 9 "ContentLength"
s3_aws s3api get-object --bucket docs --key report.txt --range bytes=6-7 "$T/part" >"$T/get.json"
assert_eq "$(cat "$T/part")" s3 "range bytes=6-7"
assert_eq "$(j .ContentRange "$T/get.json")" "bytes 6-7/9" "Content-Range"
s3_aws s3api get-object --bucket docs --key report.txt --if-match "$etag" "$T/o" >/dev/null || fail "If-Match"
s3_aws s3api get-object --bucket docs --key report.txt --if-match '"0000"' "$T/o" 2>"$T/err" && fail "If-Match mismatch"
grep -q PreconditionFailed "$T/err" || fail "If-Match: $(cat "$T/err")"
s3_aws s3api get-object --bucket docs --key report.txt --if-none-match "$etag" "$T/o" 2>"$T/err" && fail "If-None-Match"
grep -q 304 "$T/err" || fail "If-None-Match: $(cat "$T/err")"
s3_aws s3api get-object --bucket docs --key report.txt --if-modified-since 2100-01-01 "$T/o" 2>"$T/err" && fail "If-Modified-Since"
grep -q 304 "$T/err" || fail "If-Modified-Since: $(cat "$T/err")"
s3_aws s3api get-object --bucket docs --key report.txt --if-unmodified-since 2000-01-01 "$T/o" 2>"$T/err" && fail "If-Unmodified-Since"
grep -q PreconditionFailed "$T/err" || fail "If-Unmodified-Since: $(cat "$T/err")"
s3_aws s3api get-object --bucket docs --key report.txt --response-content-type application/x-test \
	--response-content-disposition inline "$T/o" >"$T/get.json" || fail "response-* overrides"
assert_eq "$(j .ContentType "$T/get.json")" application/x-test "response-content-type"
assert_eq "$(j .ContentDisposition "$T/get.json")" inline "response-content-disposition"
s3_aws s3api get-object --bucket docs --key nothere "$T/o" 2>"$T/err" && fail "missing key"
grep -q NoSuchKey "$T/err" || fail "NoSuchKey: $(cat "$T/err")"

# CopyObject: metadata-only (same chunks), COPY keeps and REPLACE replaces metadata.
s3_aws s3api put-object --bucket docs --key big.bin --body "$T/a.bin" >/dev/null || fail "put big.bin"
s3_aws s3api copy-object --bucket photos --key copy.bin --copy-source docs/big.bin >"$T/cp.json" || fail "copy-object"
assert_eq "$(j .CopyObjectResult.ETag "$T/cp.json")" "\"$(md5sum "$T/a.bin" | cut -d' ' -f1)\"" "copy ETag"
assert_eq "$(ppctl --json stat photos/copy.bin | jq -c '[.chunks[].id]')" \
	"$(ppctl --json stat docs/big.bin | jq -c '[.chunks[].id]')" "the copy shares the source's chunks"
s3_aws s3api copy-object --bucket docs --key report2.txt --copy-source docs/report.txt >/dev/null
assert_eq "$(s3_aws s3api head-object --bucket docs --key report2.txt | j .Metadata.author)" alice "COPY keeps metadata"
s3_aws s3api copy-object --bucket docs --key report2.txt --copy-source docs/report.txt \
	--metadata-directive REPLACE --metadata author=bob --content-type text/x-new >/dev/null || fail "REPLACE"
s3_aws s3api head-object --bucket docs --key report2.txt >"$T/head.json"
assert_eq "$(j .Metadata.author "$T/head.json")" bob "REPLACE metadata"
assert_eq "$(j .ContentType "$T/head.json")" text/x-new "REPLACE content type"
assert_eq "$(j .ETag "$T/head.json")" "$etag" "a copy keeps the ETag"
s3_aws s3api copy-object --bucket docs --key report.txt --copy-source docs/report.txt 2>"$T/err" &&
	fail "copy onto itself without REPLACE"
grep -q InvalidRequest "$T/err" || fail "self copy: $(cat "$T/err")"

pp_done
