#!/usr/bin/env bash
# aws-cli `aws s3api` (Debian's /usr/bin/aws), continued from
# test_s3_awscli.sh: ListObjects v1/v2 (delimiter, prefix, start-after,
# markers, continuation, encoding), DeleteObject(s), DeleteBucket, and a
# multipart upload by hand (create, upload-part, upload-part-copy, list,
# complete, abort).
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
. "$PP_SOURCE_DIR/tests/lib/s3.sh"
pp_need /usr/bin/aws jq
pp_cluster 3
pp_start_s3
T=$PP_TMP
j() { jq -r "$@"; }

s3_aws s3 mb s3://photos >/dev/null || fail "mb photos"
s3_aws s3 mb s3://docs >/dev/null || fail "mb docs"
# One sync puts the keys the listings expect (spaces, '+', nested folders).
mkdir -p "$T/docs/a/b" "$T/docs/c" "$T/docs/d e"
for k in a/1 a/2 a/b/3 c/4 "d e/5" plus+key report.txt report2.txt; do printf '%s' "$k" >"$T/docs/$k"; done
pp_make_file "$T/docs/big.bin" 300000
s3_aws s3 sync "$T/docs" s3://docs >/dev/null || fail "sync the keys up"

# --- listings ---
# put-object of a key with a space (sync above sent it too; this overwrites it).
s3_aws s3api put-object --bucket docs --key "d e/5" --body "$T/docs/d e/5" >/dev/null || fail "put-object 'd e/5'"
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
