#!/usr/bin/env bash
# A 5 GiB PutObject (S3's largest single PUT; PP_S3_LARGE_BYTES to change)
# streamed through the S3 endpoint with a presigned URL and curl (chunked
# transfer, no length announced), then a GetObject of it, with the
# gateway's peak RSS (VmHWM) checked under 64 MiB: the body never sits in
# memory. Release build only (label release): sanitizers inflate RSS.
export PP_HEARTBEAT_MS=${PP_HEARTBEAT_MS:-500} PP_SUSPECT_MS=${PP_SUSPECT_MS:-5000} PP_DEAD_MS=${PP_DEAD_MS:-10000}
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
. "$PP_SOURCE_DIR/tests/lib/s3.sh"
pp_need /usr/bin/python3 curl openssl
/usr/bin/python3 -c 'import boto3' 2>/dev/null || { echo "SKIP: python3-boto3 is not installed"; exit 77; }

size=${PP_S3_LARGE_BYTES:-5368709120}
limit_kib=$((64 * 1024))
T=$PP_TMP
[ "$(df --output=avail -B1 "$T" | tail -1)" -gt $((size * 3)) ] ||
	{ echo "SKIP: not enough disk for $size bytes x 2 replicas"; exit 77; }
sanitized=0
if grep -qa '__asan_init\|__ubsan_handle' "$PP_BIN_DIR/pp-gateway"; then sanitized=1; fi
pp_cluster 3
pp_start_s3
s3_aws s3 mb s3://large >/dev/null || fail "mb"
presign() {
	s3_py - "$1" <<-'EOF'
		import os, sys, boto3, botocore.config
		s3 = boto3.client("s3", endpoint_url=os.environ["S3_URL"], region_name="us-east-1",
		                  aws_access_key_id=os.environ["S3_KEY"], aws_secret_access_key=os.environ["S3_SECRET"],
		                  config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}))
		print(s3.generate_presigned_url(sys.argv[1], Params={"Bucket": "large", "Key": "big.bin"}, ExpiresIn=3600))
	EOF
}
put_url=$(presign put_object) && get_url=$(presign get_object) || fail "presign"

# The same seed gives the same bytes for the upload and the checks.
gen() { { openssl enc -aes-128-ctr -nosalt -pass pass:pp-s3-large -pbkdf2 -in /dev/zero 2>/dev/null || true; } | head -c "$size"; }
want=$(gen | sha256sum | cut -d' ' -f1)
t0=$(date +%s.%N)
gen | curl -fsS -T - "$put_url" -D "$T/put.hdr" -o "$T/put.out" || fail "PutObject of $size bytes: $(cat "$T/put.out")"
t1=$(date +%s.%N)
assert_eq "$(ppctl --json stat large/big.bin | jq -r .sha256)" "$want" "stored SHA-256"
got=$(curl -fsS "$get_url" | sha256sum | cut -d' ' -f1)
t2=$(date +%s.%N)
assert_eq "$got" "$want" "GetObject SHA-256"
hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$GATEWAY_PID/status")
up=$(awk -v s="$size" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", s/(b-a)/1e6}')
down=$(awk -v s="$size" -v a="$t1" -v b="$t2" 'BEGIN{printf "%.0f", s/(b-a)/1e6}')
pp_log "S3: $size bytes PutObject ${up} MB/s, GetObject ${down} MB/s, gateway peak RSS ${hwm} KiB"
if [ "$sanitized" = 1 ]; then
	pp_log "RSS not asserted: this build uses sanitizers, which inflate RSS (run the release build)"
else
	[ "$hwm" -lt "$limit_kib" ] || fail "gateway peak RSS ${hwm} KiB >= ${limit_kib} KiB"
fi
pp_done
