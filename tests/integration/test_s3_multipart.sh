#!/usr/bin/env bash
# S3 multipart uploads: a 100 MiB file through `aws s3 cp` in 8 MiB parts
# (ETag = MD5 of the part MD5s, "-13"; the completion answer streams with
# keep-alive whitespace while the parts are hashed); completion joins the parts' chunks
# without moving data; parts are invisible to ppctl and REST; an upload
# survives a gateway restart (its state lives in the tracker); an abandoned
# upload is collected after --s3-upload-expiry-s.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
. "$PP_SOURCE_DIR/tests/lib/s3.sh"
pp_need /usr/bin/aws jq
pp_cluster 3
pp_start_s3
T=$PP_TMP
j() { jq -r "$@"; }
s3_aws s3 mb s3://big >/dev/null || fail "mb"

# --- 100 MiB in 8 MiB parts ---
pp_make_file "$T/100m" $((100 * 1024 * 1024))
s3_aws s3 cp "$T/100m" s3://big/100m.bin >/dev/null || fail "aws s3 cp 100 MiB"
assert_eq "$(grep -c 'op=UploadPart ' "$T/logs/gateway.log")" 13 "UploadPart requests"
want_etag=$(/usr/bin/python3 -c '
import hashlib, sys
d = b"".join(hashlib.md5(p).digest() for p in iter(lambda f=open(sys.argv[1], "rb"): f.read(8 << 20), b""))
print("%s-13" % hashlib.md5(d).hexdigest())' "$T/100m")
assert_eq "$(s3_aws s3api head-object --bucket big --key 100m.bin | j .ETag)" "\"$want_etag\"" "multipart ETag"
s3_aws s3 cp s3://big/100m.bin "$T/100m.back" >/dev/null || fail "download"
cmp "$T/100m" "$T/100m.back" || fail "100 MiB round trip differs"
assert_eq "$(ppctl --json stat big/100m.bin | jq -r .sha256)" "$(pp_sha "$T/100m")" "the file's SHA-256"
[ "$(ppctl --json ls | jq '[.files[] | select(.name | startswith(".s3-uploads"))] | length')" = 0 ] ||
	fail "completed upload left parts behind"

# --- completion moves no data; parts stay hidden ---
pp_make_file "$T/q1" $((6 * 1024 * 1024))
pp_make_file "$T/q2" $((5 * 1024 * 1024 + 3))
pp_make_file "$T/q3" 777
id=$(s3_aws s3api create-multipart-upload --bucket big --key joined | j .UploadId)
for n in 1 2 3; do
	s3_aws s3api upload-part --bucket big --key joined --upload-id "$id" --part-number $n \
		--body "$T/q$n" | j .ETag >"$T/e$n"
done
[ "$(ppctl --json ls | jq '[.files[] | select(.name | test("s3-uploads"))] | length')" = 0 ] || fail "ppctl ls shows parts"
[[ $(ppctl ls uploads) != *s3-uploads* ]] || fail "ppctl ls TEXT shows parts"
[ "$(curl -fsS "$GATEWAY_URL/api/v1/files?q=s3-up" | jq .total)" = 0 ] || fail "REST search shows parts"
part_chunks=$(for n in 1 2 3; do ppctl --json stat ".s3-uploads/$id/0000$n" | jq -r '.chunks[].id'; done | tr '\n' ' ')
chunks_before=$(pp_health_field chunks)
files_before=$(for w in w1 w2 w3; do pp_worker_chunks "$w"; done | wc -l)
cat >"$T/mp.json" <<EOF
{"Parts": [{"PartNumber": 1, "ETag": $(cat "$T/e1")}, {"PartNumber": 2, "ETag": $(cat "$T/e2")},
 {"PartNumber": 3, "ETag": $(cat "$T/e3")}]}
EOF
s3_aws s3api complete-multipart-upload --bucket big --key joined --upload-id "$id" \
	--multipart-upload "file://$T/mp.json" >/dev/null || fail "complete"
# A retried completion (the client missed the answer) gets the same object.
s3_aws s3api complete-multipart-upload --bucket big --key joined --upload-id "$id" \
	--multipart-upload "file://$T/mp.json" >"$T/again.json" || fail "retried complete"
assert_eq "$(jq -r .ETag "$T/again.json")" "$(s3_aws s3api head-object --bucket big --key joined | j .ETag)" \
	"a retried completion answers with the object"
obj_chunks=$(ppctl --json stat big/joined | jq -r '.chunks[].id' | tr '\n' ' ')
assert_eq "$obj_chunks" "$part_chunks" "the object is the parts' chunks, in order"
assert_eq "$(pp_health_field chunks)" "$chunks_before" "no chunk was added by completion"
assert_eq "$(for w in w1 w2 w3; do pp_worker_chunks "$w"; done | wc -l)" "$files_before" "no chunk file was written"
ppctl --json stat big/joined | jq -e '[.chunks[].size] | unique | length > 1' >/dev/null ||
	fail "expected chunks of different sizes"
cat "$T/q1" "$T/q2" "$T/q3" >"$T/joined"
ppctl get big/joined -o "$T/joined.back" >/dev/null || fail "ppctl get of the joined object"
cmp "$T/joined" "$T/joined.back" || fail "joined object differs"

# --- an upload survives a gateway restart ---
id=$(s3_aws s3api create-multipart-upload --bucket big --key restart | j .UploadId)
e1=$(s3_aws s3api upload-part --bucket big --key restart --upload-id "$id" --part-number 1 --body "$T/q1" | j .ETag)
pp_stop_gateway
pp_start_s3
assert_eq "$(s3_aws s3api list-multipart-uploads --bucket big | j '.Uploads[].UploadId')" "$id" \
	"the upload after a gateway restart"
e2=$(s3_aws s3api upload-part --bucket big --key restart --upload-id "$id" --part-number 2 --body "$T/q3" | j .ETag)
cat >"$T/mp.json" <<EOF
{"Parts": [{"PartNumber": 1, "ETag": $e1}, {"PartNumber": 2, "ETag": $e2}]}
EOF
s3_aws s3api complete-multipart-upload --bucket big --key restart --upload-id "$id" \
	--multipart-upload "file://$T/mp.json" >/dev/null || fail "complete after restart"
s3_aws s3 cp s3://big/restart - | cmp - <(cat "$T/q1" "$T/q3") || fail "object completed after restart differs"

# --- abandoned uploads are collected (tracker restarted with a short expiry) ---
id=$(s3_aws s3api create-multipart-upload --bucket big --key abandoned | j .UploadId)
s3_aws s3api upload-part --bucket big --key abandoned --upload-id "$id" --part-number 1 --body "$T/q2" >/dev/null
ppctl stat ".s3-uploads/$id/00001" >/dev/null || fail "the part is stored"
kill -TERM "$TRACKER_PID"
wait "$TRACKER_PID" 2>/dev/null || true
pp_launch_tracker --s3-upload-expiry-s 2
pp_wait_for "workers back" 15 pp_nodes_up_is 3
gone() { ! ppctl stat ".s3-uploads/$id/00001" >/dev/null 2>&1; }
pp_wait_for "the abandoned part is deleted" 20 gone
[ -z "$(s3_aws s3api list-multipart-uploads --bucket big | j '.Uploads // empty')" ] || fail "abandoned upload still listed"
grep -Eq "msg=multipart_dropped upload=\"?$id\"? parts=1 why=expired" "$T/logs/tracker.log" || fail "no expiry logged"
pp_done
