"""Hand-made S3 requests for the tests: an independent SigV4 signer (any
date, so skew can be tested), aws-chunked bodies (signed chunks, unsigned
chunks with a checksum trailer, deliberately wrong trailers) and raw HTTP.

The real clients (aws-cli, s3cmd, rclone, boto3) are driven as users drive
them; this module is for what they will not send on purpose.
"""
import base64
import datetime
import hashlib
import hmac
import http.client
import os
import urllib.parse
import zlib

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def env():
    return os.environ["S3_URL"], os.environ["S3_KEY"], os.environ["S3_SECRET"]


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret, date, region="us-east-1"):
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, "s3")
    return _hmac(k, "aws4_request")


def _enc(s):
    return urllib.parse.quote(s, safe="-_.~")


def sign(method, path, query, headers, payload, key, secret, when=None, region="us-east-1"):
    """Adds x-amz-date, x-amz-content-sha256 and Authorization to headers
    (a dict with lowercase names, host included). Returns the signature,
    the seed of chunk signatures, and the scope."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz = when.strftime("%Y%m%dT%H%M%SZ")
    date = amz[:8]
    headers["x-amz-date"] = amz
    headers["x-amz-content-sha256"] = payload
    names = sorted(headers)
    canon_h = "".join("%s:%s\n" % (n, " ".join(str(headers[n]).split())) for n in names)
    canon_q = "&".join("%s=%s" % (_enc(k), _enc(v)) for k, v in sorted(query))
    canonical = "\n".join([method, path, canon_q, canon_h, ";".join(names), payload])
    scope = "%s/%s/s3/aws4_request" % (date, region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    sig = hmac.new(signing_key(secret, date, region), sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        key, scope, ";".join(names), sig)
    return sig, amz, scope, signing_key(secret, date, region)


def chunk_sig(skey, amz, scope, prev, data):
    sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz, scope, prev, EMPTY_SHA256,
                     hashlib.sha256(data).hexdigest()])
    return hmac.new(skey, sts.encode(), hashlib.sha256).hexdigest()


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def unsigned_trailer_body(data, trailer_name, trailer_value, chunk=65536):
    out = b""
    for i in range(0, len(data), chunk):
        piece = data[i:i + chunk]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    out += b"0\r\n" + ("%s:%s\r\n" % (trailer_name, trailer_value)).encode() + b"\r\n"
    return out


def signed_chunked_body(data, skey, amz, scope, seed, chunk=65536, corrupt=False):
    out, prev = b"", seed
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for n, piece in enumerate(pieces):
        sig = chunk_sig(skey, amz, scope, prev, piece)
        prev = sig
        if corrupt and n == 0 and piece:
            piece = bytes([piece[0] ^ 1]) + piece[1:]
        out += b"%x;chunk-signature=%s\r\n" % (len(piece), sig.encode()) + piece + b"\r\n"
    return out


def request(method, path, query=(), headers=None, body=b"", sign_with=None, when=None,
            payload=None):
    """Sends one request; returns (status, headers dict, body bytes)."""
    url, key, secret = env()
    u = urllib.parse.urlparse(url)
    headers = dict(headers or {})
    headers["host"] = u.netloc
    if sign_with is not False:
        k, s = sign_with or (key, secret)
        sign(method, path, list(query), headers,
             payload or hashlib.sha256(body).hexdigest(), k, s, when)
    qs = "&".join("%s=%s" % (_enc(k), _enc(v)) if v != "" else _enc(k) for k, v in query)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request(method, path + ("?" + qs if qs else ""), body=body, headers=headers)
    r = conn.getresponse()
    out = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    return r.status, hdrs, out
