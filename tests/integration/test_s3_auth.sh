#!/usr/bin/env bash
# S3 authentication and errors: SigV4 refusals with S3's codes (wrong
# secret -> SignatureDoesNotMatch, expired presigned URL -> AccessDenied,
# clock skew over 15 min -> RequestTimeTooSkewed, unknown key, read-only
# key, anonymous request), S3 XML errors carrying a RequestId that matches
# x-amz-request-id, and an open endpoint without --s3-credentials, which
# says so once in the log.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
. "$PP_SOURCE_DIR/tests/lib/s3.sh"
pp_need /usr/bin/aws /usr/bin/python3 curl
pp_cluster 3
pp_start_s3
T=$PP_TMP
s3_aws s3 mb s3://auth >/dev/null || fail "mb"
printf 'secret data' >"$T/f"
s3_aws s3 cp "$T/f" s3://auth/f >/dev/null || fail "cp"

s3_py - <<'EOF' || fail "refusals"
import datetime, re, sys
import s3client as c

def refused(what, got, status, code):
    st, hdrs, body = got
    if st != status or ("<Code>%s</Code>" % code).encode() not in body:
        sys.exit("%s: want %s %s, got %s %s" % (what, status, code, st, body[:300]))
    rid = re.search(rb"<RequestId>([^<]+)</RequestId>", body)
    assert rid and rid.group(1).decode() == hdrs.get("x-amz-request-id"), (what, body, hdrs)
    assert hdrs.get("content-type") == "application/xml", hdrs

url, key, secret = c.env()
assert c.request("GET", "/auth/f")[0] == 200
refused("wrong secret", c.request("GET", "/auth/f", sign_with=(key, secret + "x")), 403, "SignatureDoesNotMatch")
refused("unknown key", c.request("GET", "/auth/f", sign_with=("AKIANOBODY", secret)), 403, "InvalidAccessKeyId")
past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
refused("skew", c.request("GET", "/auth/f", when=past), 403, "RequestTimeTooSkewed")
future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=16)
refused("future skew", c.request("GET", "/auth/f", when=future), 403, "RequestTimeTooSkewed")
near = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
assert c.request("GET", "/auth/f", when=near)[0] == 200, "10 minutes of skew is allowed"
refused("anonymous", c.request("GET", "/auth/f", sign_with=False), 403, "AccessDenied")
import os
ro = (os.environ["S3_RO_KEY"], os.environ["S3_RO_SECRET"])
assert c.request("GET", "/auth/f", sign_with=ro)[0] == 200, "a read key reads"
refused("read key writes", c.request("PUT", "/auth/g", body=b"x", sign_with=ro), 403, "AccessDenied")
refused("read key deletes", c.request("DELETE", "/auth/f", sign_with=ro), 403, "AccessDenied")
# Errors of S3's kinds, as XML.
refused("no key", c.request("GET", "/auth/none"), 404, "NoSuchKey")
refused("no bucket", c.request("GET", "/nobucket/x"), 404, "NoSuchBucket")
refused("bad bucket", c.request("GET", "/a_b/x"), 400, "InvalidBucketName")
refused("range", c.request("GET", "/auth/f", headers={"range": "bytes=100-"}), 416, "InvalidRange")
refused("bad delete body", c.request("POST", "/auth", query=[("delete", "")], body=b"<Delete><Object>"),
        400, "MalformedXML")
refused("bad complete body", c.request("POST", "/auth/k", query=[("uploadId", "0" * 32)],
        body=b"<CompleteMultipartUpload/>"), 400, "MalformedXML")
refused("no upload", c.request("PUT", "/auth/k", query=[("partNumber", "1"), ("uploadId", "0" * 32)], body=b"x"),
        404, "NoSuchUpload")
refused("long key", c.request("PUT", "/auth/" + "k" * 1025, body=b"x"), 400, "KeyTooLongError")
refused("not implemented", c.request("PUT", "/auth/f", query=[("tagging", "")], body=b"<Tagging/>"),
        501, "NotImplemented")
refused("method", c.request("PATCH", "/auth/f"), 405, "MethodNotAllowed")
print("refusals ok")
EOF

# An expired presigned URL: AccessDenied.
url=$(s3_aws s3 presign s3://auth/f --expires-in 1)
curl -fsS "$url" >/dev/null 2>&1 || true # may still be valid for a moment
sleep 2
code=$(curl -sS -o "$T/expired.xml" -w '%{http_code}' "$url")
assert_eq "$code" 403 "expired presigned URL status"
assert_eq "$(s3_error_code "$T/expired.xml")" AccessDenied "expired presigned URL code"
grep -q 'Request has expired' "$T/expired.xml" || fail "expired message: $(cat "$T/expired.xml")"
code=$(curl -sS -o "$T/tampered.xml" -w '%{http_code}' "${url/auth\/f/auth\/g}")
assert_eq "$(s3_error_code "$T/tampered.xml")" AccessDenied "a presigned URL for another key"

# Without --s3-credentials: open, logged once, unsigned requests work;
# with --s3-domain, BUCKET.DOMAIN names the bucket (virtual-hosted).
pp_stop_gateway
S3_OPEN=1 pp_start_s3 --s3-domain s3.test
assert_eq "$(grep -c 's3_open' "$T/logs/gateway.log")" 1 "the open endpoint is logged once per start"
curl -fsS -X PUT "$S3_URL/auth/open.txt" --data-binary 'open' || fail "unsigned PUT on an open endpoint"
assert_eq "$(curl -fsS "$S3_URL/auth/open.txt")" open "unsigned GET on an open endpoint"
assert_eq "$(curl -fsS -H "Host: auth.s3.test:$S3_PORT" "$S3_URL/open.txt")" open "virtual-hosted GET"
listing=$(curl -fsS -H "Host: auth.s3.test:$S3_PORT" "$S3_URL/?list-type=2") || fail "virtual-hosted ListObjectsV2"
[[ $listing == *"<Key>open.txt</Key>"* ]] || fail "virtual-hosted ListObjectsV2: $listing"
listing=$(s3_aws s3 ls s3://auth/) || fail "signed ls on an open endpoint"
[[ $listing == *open.txt* ]] || fail "signed requests work on an open endpoint too"
pp_done
