#!/usr/bin/env bash
# The S3 API driven by aws-cli (Debian's /usr/bin/aws) as users drive it:
# `aws s3 mb/cp/ls/sync/rm/presign`, then `aws s3api` for each operation of
# DESIGN.md "S3 API". Objects are files named bucket/key for ppctl and REST.
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

# --- listings ---
for k in a/1 a/2 a/b/3 c/4 "d e/5" plus+key; do
	printf '%s' "$k" >"$T/k"
	s3_aws s3api put-object --bucket docs --key "$k" --body "$T/k" >/dev/null || fail "put $k"
done
s3_aws s3api list-objects-v2 --bucket docs --delimiter / >"$T/l.json"
assert_eq "$(j -c '[.CommonPrefixes[].Prefix]' "$T/l.json")" '["a/","c/","d e/"]' "v2 common prefixes"
assert_eq "$(j -c '[.Contents[].Key]' "$T/l.json")" '["big.bin","plus+key","report.txt","report2.txt"]' "v2 top-level keys"
s3_aws s3api list-objects-v2 --bucket docs --prefix a/ >"$T/l.json"
assert_eq "$(j -c '[.Contents[].Key]' "$T/l.json")" '["a/1","a/2","a/b/3"]' "v2 prefix"
s3_aws s3api list-objects-v2 --bucket docs --start-after c/4 >"$T/l.json"
assert_eq "$(j -c '[.Contents[].Key]' "$T/l.json")" '["d e/5","plus+key","report.txt","report2.txt"]' "v2 start-after"
# Pages of 2 (continuation tokens) give every key once, in order.
s3_aws s3api list-objects-v2 --bucket docs --page-size 2 >"$T/l.json"
assert_eq "$(j '.Contents | length' "$T/l.json")" 9 "v2 paginated count"
s3_aws s3api list-objects-v2 --bucket docs --max-items 3 >"$T/l.json"
[ "$(j .NextToken "$T/l.json")" != null ] || fail "max-items gives a NextToken"
s3_aws s3api list-objects-v2 --bucket docs --encoding-type url --prefix 'd e/' >"$T/l.json"
# Asked for explicitly, the encoded form reaches the user (botocore decodes
# only the encoding it asked for itself, which every other listing here uses).
assert_eq "$(j '.Contents[0].Key' "$T/l.json")" 'd%20e/5' "encoding-type=url"
s3_aws s3api list-objects --bucket docs --delimiter / --page-size 2 >"$T/l.json"
assert_eq "$(j -c '[.CommonPrefixes[].Prefix]' "$T/l.json")" '["a/","c/","d e/"]' "v1 paginated prefixes"
s3_aws s3api list-objects --bucket docs --marker report.txt >"$T/l.json"
assert_eq "$(j -c '[.Contents[].Key]' "$T/l.json")" '["report2.txt"]' "v1 marker"
s3_aws s3api list-objects-v2 --bucket nothere 2>"$T/err" && fail "listing a missing bucket"
grep -q NoSuchBucket "$T/err" || fail "NoSuchBucket: $(cat "$T/err")"

# --- deletes ---
s3_aws s3api delete-object --bucket docs --key a/1 || fail "delete-object"
s3_aws s3api delete-object --bucket docs --key a/1 || fail "deleting a missing key is not an error"
cat >"$T/del.json" <<EOF
{"Objects": [{"Key": "a/2"}, {"Key": "a/b/3"}, {"Key": "never-there"}], "Quiet": false}
EOF
s3_aws s3api delete-objects --bucket docs --delete "file://$T/del.json" >"$T/d.json" || fail "delete-objects"
assert_eq "$(j '.Deleted | length' "$T/d.json")" 3 "delete-objects reports each key"
[ -z "$(s3_aws s3api list-objects-v2 --bucket docs --prefix a/ | j '.Contents // empty')" ] || fail "a/ emptied"
s3_aws s3api delete-bucket --bucket docs 2>"$T/err" && fail "deleting a non-empty bucket"
grep -q BucketNotEmpty "$T/err" || fail "BucketNotEmpty: $(cat "$T/err")"
s3_aws s3 rm s3://docs --recursive >/dev/null
s3_aws s3api delete-bucket --bucket docs || fail "delete-bucket"
s3_aws s3api head-bucket --bucket docs 2>/dev/null && fail "deleted bucket still there"

# --- multipart by hand: create, upload-part, upload-part-copy, list, complete, abort ---
pp_make_file "$T/p1" $((5 * 1024 * 1024 + 17))
pp_make_file "$T/p3" 1234
pp_make_file "$T/src6m" $((6 * 1024 * 1024))
s3_aws s3 cp "$T/src6m" s3://photos/src6m.bin >/dev/null || fail "put src6m"
id=$(s3_aws s3api create-multipart-upload --bucket photos --key mp/obj --content-type app/x-mp \
	--metadata kind=multi | j .UploadId) || fail "create-multipart-upload"
e1=$(s3_aws s3api upload-part --bucket photos --key mp/obj --upload-id "$id" --part-number 1 --body "$T/p1" | j .ETag)
e2=$(s3_aws s3api upload-part-copy --bucket photos --key mp/obj --upload-id "$id" --part-number 2 \
	--copy-source photos/src6m.bin --copy-source-range bytes=0-5242879 | j .CopyPartResult.ETag)
e3=$(s3_aws s3api upload-part --bucket photos --key mp/obj --upload-id "$id" --part-number 3 --body "$T/p3" | j .ETag)
s3_aws s3api list-parts --bucket photos --key mp/obj --upload-id "$id" >"$T/parts.json" || fail "list-parts"
assert_eq "$(j -c '[.Parts[].PartNumber]' "$T/parts.json")" '[1,2,3]' "list-parts"
assert_eq "$(s3_aws s3api list-multipart-uploads --bucket photos | j '.Uploads[].UploadId')" "$id" "list-multipart-uploads"
# Parts are nowhere in the file listings while the upload is open.
[ "$(ppctl --json ls | jq '[.files[] | select(.name | test("s3-uploads"))] | length')" = 0 ] || fail "ppctl ls shows parts"
[ "$(curl -fsS "$GATEWAY_URL/api/v1/files?q=uploads" | jq .total)" = 0 ] || fail "REST lists parts"
cat >"$T/mp.json" <<EOF
{"Parts": [{"PartNumber": 1, "ETag": $e1}, {"PartNumber": 2, "ETag": $e2}, {"PartNumber": 3, "ETag": $e3}]}
EOF
s3_aws s3api complete-multipart-upload --bucket photos --key mp/obj --upload-id "$id" \
	--multipart-upload "file://$T/mp.json" >"$T/done.json" || fail "complete-multipart-upload"
[[ $(j .ETag "$T/done.json") == *'-3"' ]] || fail "multipart ETag: $(j .ETag "$T/done.json")"
{ cat "$T/p1"; head -c 5242880 "$T/src6m"; cat "$T/p3"; } >"$T/mp.want"
s3_aws s3 cp s3://photos/mp/obj "$T/mp.got" >/dev/null || fail "get multipart object"
cmp "$T/mp.want" "$T/mp.got" || fail "multipart object differs"
ppctl get photos/mp/obj -o "$T/mp.ppctl" >/dev/null || fail "ppctl get of a multipart object (SHA-256 checked)"
cmp "$T/mp.want" "$T/mp.ppctl" || fail "ppctl reads the multipart object differently"
# A range across the parts' boundaries (chunks of different sizes).
s3_aws s3api get-object --bucket photos --key mp/obj --range bytes=5242000-5243000 "$T/rng" >/dev/null
cmp "$T/rng" <(tail -c +5242001 "$T/mp.want" | head -c 1001) || fail "range across parts"
assert_eq "$(s3_aws s3api head-object --bucket photos --key mp/obj | j .Metadata.kind)" multi "multipart metadata"
id2=$(s3_aws s3api create-multipart-upload --bucket photos --key mp/gone | j .UploadId)
s3_aws s3api upload-part --bucket photos --key mp/gone --upload-id "$id2" --part-number 1 --body "$T/p3" >/dev/null
s3_aws s3api abort-multipart-upload --bucket photos --key mp/gone --upload-id "$id2" || fail "abort"
s3_aws s3api list-parts --bucket photos --key mp/gone --upload-id "$id2" 2>"$T/err" && fail "parts of an aborted upload"
grep -q NoSuchUpload "$T/err" || fail "NoSuchUpload: $(cat "$T/err")"
pp_done
