#!/usr/bin/env bash
# The S3 API with the other clients of Debian: s3cmd (mb, put incl.
# multipart, ls, get with MD5 check, info, sync, del), rclone (copy, sync,
# check) and python3-boto3 (objects, and presigned GET and PUT fetched with
# curl).
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
. "$PP_SOURCE_DIR/tests/lib/s3.sh"
pp_need s3cmd rclone /usr/bin/python3 curl
/usr/bin/python3 -c 'import boto3' 2>/dev/null || { echo "SKIP: python3-boto3 is not installed"; exit 77; }
pp_cluster 3
pp_start_s3
T=$PP_TMP

# --- s3cmd ---
s3_s3cmd mb s3://cmd >/dev/null || fail "s3cmd mb"
pp_make_file "$T/small" 123456
pp_make_file "$T/large" $((20 * 1024 * 1024 + 5)) # 2 parts of s3cmd's 15 MiB
s3_s3cmd put "$T/small" s3://cmd/small >/dev/null || fail "s3cmd put"
s3_s3cmd put "$T/large" s3://cmd/dir/large >/dev/null || fail "s3cmd put (multipart)"
grep -q 'op=CompleteMultipartUpload status=200' "$T/logs/gateway.log" || fail "s3cmd did not use multipart"
s3_s3cmd ls s3://cmd/ >"$T/ls" || fail "s3cmd ls"
grep -q 's3://cmd/small' "$T/ls" && grep -q 'DIR.*s3://cmd/dir/' "$T/ls" || fail "s3cmd ls: $(cat "$T/ls")"
s3_s3cmd get s3://cmd/small "$T/small.back" >/dev/null || fail "s3cmd get"
cmp "$T/small" "$T/small.back" || fail "s3cmd round trip"
s3_s3cmd get s3://cmd/dir/large "$T/large.back" >/dev/null || fail "s3cmd get (multipart object)"
cmp "$T/large" "$T/large.back" || fail "s3cmd multipart round trip"
s3_s3cmd info s3://cmd/small >"$T/info" || fail "s3cmd info"
grep -q "$(md5sum "$T/small" | cut -d' ' -f1)" "$T/info" || fail "s3cmd info MD5: $(cat "$T/info")"
mkdir -p "$T/tree/a"
for i in 1 2 3; do pp_make_file "$T/tree/a/f$i" $((i * 3000)); done
s3_s3cmd sync "$T/tree/" s3://cmd/tree/ >/dev/null || fail "s3cmd sync"
[ "$(s3_s3cmd ls -r s3://cmd/tree/ | wc -l)" = 3 ] || fail "s3cmd sync stored 3 files"
s3_s3cmd del s3://cmd/small >/dev/null || fail "s3cmd del"
! ppctl stat cmd/small >/dev/null 2>&1 || fail "s3cmd del left the file"

# --- rclone ---
mkdir -p "$T/src/x/y" "$T/dst"
for i in 1 2 3 4; do pp_make_file "$T/src/x/r$i" $((i * 7777)); done
pp_make_file "$T/src/x/y/deep" 100000
printf 'hello' >"$T/src/top.txt"
s3_rclone mkdir pp:rcl || fail "rclone mkdir"
s3_rclone copy "$T/src" pp:rcl/data || fail "rclone copy"
s3_rclone check "$T/src" pp:rcl/data || fail "rclone check after copy"
rm "$T/src/x/r2"
printf 'changed' >"$T/src/top.txt"
s3_rclone sync "$T/src" pp:rcl/data || fail "rclone sync"
s3_rclone check "$T/src" pp:rcl/data || fail "rclone check after sync"
! ppctl stat rcl/data/x/r2 >/dev/null 2>&1 || fail "rclone sync left a deleted file"
s3_rclone copy pp:rcl/data "$T/dst" || fail "rclone copy back"
diff -r "$T/src" "$T/dst" || fail "rclone round trip differs"

# --- boto3, and presigned URLs fetched with curl ---
pp_make_file "$T/boto.bin" 250000
s3_py - "$T" <<'EOF' || fail "boto3"
import sys, subprocess, boto3, botocore.config, os
T = sys.argv[1]
# SigV4 for presigned URLs too (boto3 1.26 presigns with SigV2 unless told).
s3 = boto3.client("s3", endpoint_url=os.environ["S3_URL"], region_name="us-east-1",
                  aws_access_key_id=os.environ["S3_KEY"], aws_secret_access_key=os.environ["S3_SECRET"],
                  config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}))
s3.create_bucket(Bucket="boto")
data = open(T + "/boto.bin", "rb").read()
s3.put_object(Bucket="boto", Key="k/obj.bin", Body=data, ContentType="application/x-boto",
              Metadata={"who": "boto3"})
got = s3.get_object(Bucket="boto", Key="k/obj.bin")
assert got["Body"].read() == data
assert got["ContentType"] == "application/x-boto" and got["Metadata"] == {"who": "boto3"}
url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "k/obj.bin"}, ExpiresIn=120)
out = subprocess.run(["curl", "-fsS", url], capture_output=True, check=True).stdout
assert out == data, "presigned GET"
put = s3.generate_presigned_url("put_object", Params={"Bucket": "boto", "Key": "k/presigned.bin"}, ExpiresIn=120)
subprocess.run(["curl", "-fsS", "-T", T + "/boto.bin", put], check=True)
assert s3.get_object(Bucket="boto", Key="k/presigned.bin")["Body"].read() == data, "presigned PUT"
bad = put.replace("X-Amz-Signature=", "X-Amz-Signature=0")[:len(put)]
r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T", T + "/boto.bin", bad],
                   capture_output=True, text=True)
assert r.stdout == "403", r.stdout
page = s3.get_paginator("list_objects_v2").paginate(Bucket="boto", PaginationConfig={"PageSize": 1})
assert [o["Key"] for p in page for o in p.get("Contents", [])] == ["k/obj.bin", "k/presigned.bin"]
s3.delete_objects(Bucket="boto", Delete={"Objects": [{"Key": "k/obj.bin"}, {"Key": "k/presigned.bin"}]})
# Keys that need escaping, and an empty object, round-trip and list as sent.
keys = ["empty", "sp ace", "\u00fc/\u00f1.txt", "q?x", "pct%41", "a+b", "a&b=c", "tilde~", "semi;colon", "dir/", "(x)!*'"]
for k in keys:
    s3.put_object(Bucket="boto", Key=k, Body=b"" if k in ("empty", "dir/") else k.encode())
listed = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="boto") for o in p.get("Contents", [])]
assert listed == sorted(keys, key=lambda k: k.encode()), listed
for k in keys:
    got = s3.get_object(Bucket="boto", Key=k)
    want = b"" if k in ("empty", "dir/") else k.encode()
    assert got["Body"].read() == want and got["ContentLength"] == len(want), k
assert s3.head_object(Bucket="boto", Key="empty")["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto", "Key": "\u00fc/\u00f1.txt"}, ExpiresIn=60)
assert subprocess.run(["curl", "-fsS", url], capture_output=True, check=True).stdout == "\u00fc/\u00f1.txt".encode()
s3.delete_objects(Bucket="boto", Delete={"Objects": [{"Key": k} for k in keys]})
s3.delete_bucket(Bucket="boto")
print("boto3 ok")
EOF
pp_done
