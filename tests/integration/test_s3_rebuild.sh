#!/usr/bin/env bash
# S3 objects survive the loss of the tracker's database (DESIGN.md,
# "Metadata recovery"): their S3 metadata (ETag, content headers, user
# metadata) rides in the workers' metadata records, so a tracker rebuilt
# from them serves the same objects, with the same headers, in the same
# buckets, including a multipart object (chunks of different sizes).
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
. "$PP_SOURCE_DIR/tests/lib/s3.sh"
pp_need /usr/bin/aws jq
pp_cluster 3
pp_start_s3
T=$PP_TMP
j() { jq -r "$@"; }
s3_aws s3 mb s3://keep >/dev/null || fail "mb"
pp_make_file "$T/small" 50000
pp_make_file "$T/big" $((11 * 1024 * 1024)) # two 8 MiB parts with aws-cli's settings here
s3_aws s3api put-object --bucket keep --key docs/a.txt --body "$T/small" --content-type text/x-keep \
	--metadata owner=carol >/dev/null || fail "put"
s3_aws s3 cp "$T/big" s3://keep/big.bin >/dev/null || fail "multipart put"
head_small=$(s3_aws s3api head-object --bucket keep --key docs/a.txt | jq -c '{ETag, ContentType, Metadata}')
head_big=$(s3_aws s3api head-object --bucket keep --key big.bin | jq -c '{ETag, ContentLength}')
[[ $head_big == *'-2\"'* ]] || fail "expected a 2-part object: $head_big"

# Lose the tracker's disk; a fresh tracker rebuilds from the workers.
kill -KILL "$TRACKER_PID"
wait "$TRACKER_PID" 2>/dev/null || true
rm -f "$TRACKER_DB" "$TRACKER_DB-wal" "$TRACKER_DB-shm"
pp_launch_tracker
restored() { [ "$(ppctl --json ls | jq .total)" = 2 ]; }
pp_wait_for "both objects restored from the workers' records" 30 restored
assert_eq "$(s3_aws s3api list-buckets | j -c '[.Buckets[].Name]')" '["keep"]' "the bucket is back"
assert_eq "$(s3_aws s3api head-object --bucket keep --key docs/a.txt | jq -c '{ETag, ContentType, Metadata}')" \
	"$head_small" "metadata after the rebuild"
assert_eq "$(s3_aws s3api head-object --bucket keep --key big.bin | jq -c '{ETag, ContentLength}')" \
	"$head_big" "multipart ETag after the rebuild"
s3_aws s3 cp s3://keep/big.bin "$T/big.back" >/dev/null || fail "get after the rebuild"
cmp "$T/big" "$T/big.back" || fail "multipart object differs after the rebuild"
pp_done
