#!/usr/bin/env bash
# Request bodies the S3 endpoint must decode and check before anything is
# stored, sent by hand (tests/lib/s3client.py) because clients only send
# them right: aws-chunked with a CRC32 (zlib) or CRC32C (ISA-L) trailer,
# signed chunks, and wrong trailers, chunk signatures, Content-MD5,
# x-amz-checksum-* headers and payload SHA-256s, each refused with S3's
# code and nothing stored.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
. "$PP_SOURCE_DIR/tests/lib/s3.sh"
pp_need /usr/bin/python3
pp_cluster 3
pp_start_s3
s3_py - <<'EOF' || fail "crafted bodies"
import base64, hashlib, os, sys
import s3client as c

def check(what, got, status, code=None):
    st, hdrs, body = got
    if st != status or (code and ("<Code>%s</Code>" % code).encode() not in body):
        sys.exit("%s: want %s %s, got %s %s" % (what, status, code or "", st, body[:300]))
    return hdrs

def stored(key):
    st, _, _ = c.request("HEAD", "/chk/" + key)
    return st == 200

check("bucket", c.request("PUT", "/chk"), 200)
data = os.urandom(300001)

def unsigned(key, name, value, extra=None):
    body = c.unsigned_trailer_body(data, name, value)
    h = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
         "x-amz-trailer": name, "x-amz-sdk-checksum-algorithm": name.split("-")[-1].upper()}
    h.update(extra or {})
    return c.request("PUT", "/chk/" + key, headers=h, body=body, payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER")

# A CRC32 trailer, right: stored, framing gone, checksum echoed.
h = check("crc32 trailer", unsigned("good", "x-amz-checksum-crc32", c.crc32_b64(data)), 200)
assert h["x-amz-checksum-crc32"] == c.crc32_b64(data), h
st, _, body = c.request("GET", "/chk/good")
assert st == 200 and body == data, "stored bytes differ from the decoded body"
assert h["etag"] == '"%s"' % hashlib.md5(data).hexdigest()
# And wrong: 400 BadDigest, nothing stored.
wrong = base64.b64encode(b"\x00\x00\x00\x00").decode()
check("wrong crc32 trailer", unsigned("bad", "x-amz-checksum-crc32", wrong), 400, "BadDigest")
assert not stored("bad"), "a body with a wrong trailer was stored"
# A replaced object keeps its old version when the new body is refused.
check("wrong trailer over good", unsigned("good", "x-amz-checksum-crc32", wrong), 400, "BadDigest")
assert c.request("GET", "/chk/good")[2] == data, "a refused body replaced the object"

# CRC32C (ISA-L): RFC 3720's test vector, then a trailer.
v = base64.b64encode(bytes.fromhex("e3069283")).decode()
body = c.unsigned_trailer_body(b"123456789", "x-amz-checksum-crc32c", v)
check("crc32c trailer", c.request("PUT", "/chk/c9", headers={"content-encoding": "aws-chunked",
      "x-amz-decoded-content-length": "9", "x-amz-trailer": "x-amz-checksum-crc32c"}, body=body,
      payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER"), 200)
body = c.unsigned_trailer_body(b"123456780", "x-amz-checksum-crc32c", v)
check("wrong crc32c", c.request("PUT", "/chk/c9bad", headers={"content-encoding": "aws-chunked",
      "x-amz-decoded-content-length": "9", "x-amz-trailer": "x-amz-checksum-crc32c"}, body=body,
      payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER"), 400, "BadDigest")
assert not stored("c9bad")

# Signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), right and tampered.
def signed(key, corrupt):
    url, k, s = c.env()
    import urllib.parse
    host = urllib.parse.urlparse(url).netloc
    hdrs = {"host": host, "content-encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(len(data))}
    seed, amz, scope, skey = c.sign("PUT", "/chk/" + key, [], hdrs, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", k, s)
    body = c.signed_chunked_body(data, skey, amz, scope, seed, corrupt=corrupt)
    import http.client
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("PUT", "/chk/" + key, body=body, headers=hdrs)
    r = conn.getresponse()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()

check("signed chunks", signed("signed", False), 200)
assert c.request("GET", "/chk/signed")[2] == data
check("tampered chunk", signed("tampered", True), 403, "SignatureDoesNotMatch")
assert not stored("tampered"), "a body with a bad chunk signature was stored"

# Plain bodies: Content-MD5, x-amz-checksum-* headers, the signed payload hash.
small = b"checked body"
md5 = base64.b64encode(hashlib.md5(small).digest()).decode()
check("content-md5", c.request("PUT", "/chk/m", headers={"content-md5": md5}, body=small), 200)
check("wrong content-md5", c.request("PUT", "/chk/m2", headers={"content-md5": base64.b64encode(b"x" * 16).decode()},
      body=small), 400, "BadDigest")
check("malformed content-md5", c.request("PUT", "/chk/m3", headers={"content-md5": "nope"}, body=small),
      400, "InvalidDigest")
sha = base64.b64encode(hashlib.sha256(small).digest()).decode()
check("sha256 header", c.request("PUT", "/chk/s", headers={"x-amz-checksum-sha256": sha}, body=small), 200)
check("wrong sha256 header", c.request("PUT", "/chk/s2", headers={"x-amz-checksum-sha256": base64.b64encode(b"y" * 32).decode()},
      body=small), 400, "BadDigest")
check("payload hash mismatch", c.request("PUT", "/chk/p", body=small, payload=hashlib.sha256(b"other").hexdigest()),
      400, "XAmzContentSHA256Mismatch")
for k in ["m2", "m3", "s2", "p"]:
    assert not stored(k), k + " was stored"
print("crafted bodies ok")
EOF
# No refused body left a file behind.
[ "$(ppctl --json ls | jq '[.files[] | select(.name | test("chk/(bad|tampered|c9bad|m2|m3|s2|p)$"))] | length')" = 0 ] ||
	fail "a refused body is listed"
pp_done
