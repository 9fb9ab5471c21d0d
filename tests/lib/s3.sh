# S3 test helpers on top of cluster.sh: a gateway with the S3 endpoint on a
# free port and credentials, and the real clients from Debian packages
# (/usr/bin/aws, s3cmd, rclone, python3-boto3) pointed at it with config
# files of their own under $PP_TMP (nothing of the user's is read).
#
# Source after cluster.sh. S3_URL, S3_PORT, S3_KEY, S3_SECRET (write) and
# S3_RO_KEY, S3_RO_SECRET (read-only) are set by pp_start_s3.

S3_KEY=AKIAPPTESTWRITER00001
S3_SECRET=ppTestSecretWriter/0123456789abcdefghijKLM
S3_RO_KEY=AKIAPPTESTREADER00001
S3_RO_SECRET=ppTestSecretReader/0123456789abcdefghijKLM
export S3_KEY S3_SECRET S3_RO_KEY S3_RO_SECRET

pp_need() {
	for c in "$@"; do
		command -v "$c" >/dev/null || { echo "SKIP: $c is not installed (scripts/install-deps.sh installs it)"; exit 77; }
	done
}

# pp_start_s3 [gateway flags...]: the gateway with --s3 and credentials
# (S3_OPEN=1: without --s3-credentials). Re-running it restarts the gateway
# on the same ports.
pp_start_s3() {
	if [ -z "${S3_PORT:-}" ]; then
		S3_PORT=$(pp_free_port)
		GATEWAY_PORT=$(pp_free_port)
	fi
	S3_URL="http://127.0.0.1:$S3_PORT"
	GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT"
	export S3_URL S3_PORT
	printf '# test credentials\n%s %s write\n%s %s read\n' "$S3_KEY" "$S3_SECRET" "$S3_RO_KEY" "$S3_RO_SECRET" >"$PP_TMP/s3.creds"
	chmod 600 "$PP_TMP/s3.creds"
	local creds=(--s3-credentials "$PP_TMP/s3.creds")
	if [ "${S3_OPEN:-0}" = 1 ]; then creds=(); fi
	"$PP_BIN_DIR/pp-gateway" --http "127.0.0.1:$GATEWAY_PORT" --tracker "$TRACKER_ADDR" \
		--events "$EVENTS_ADDR" ${PP_KEY_FILE_ARG:+--key-file "$PP_KEY_FILE_ARG"} \
		--s3 "127.0.0.1:$S3_PORT" "${creds[@]}" "$@" >>"$PP_TMP/logs/gateway.log" 2>&1 &
	GATEWAY_PID=$!
	PP_PIDS+=("$GATEWAY_PID")
	pp_wait_for "gateway /readyz" 10 curl -fsS "$GATEWAY_URL/readyz"
	pp_wait_for "S3 endpoint" 10 curl -sS -o /dev/null "$S3_URL/"
	# aws-cli: region, multipart sizes; no user config, no instance metadata.
	cat >"$PP_TMP/aws.config" <<-EOF
		[default]
		region = us-east-1
		s3 =
		    multipart_threshold = 8MB
		    multipart_chunksize = 8MB
		    addressing_style = path
	EOF
	cat >"$PP_TMP/s3cfg" <<-EOF
		[default]
		access_key = $S3_KEY
		secret_key = $S3_SECRET
		host_base = 127.0.0.1:$S3_PORT
		host_bucket = 127.0.0.1:$S3_PORT
		use_https = False
		signature_v2 = False
		bucket_location = us-east-1
		check_ssl_certificate = False
		guess_mime_type = True
		multipart_chunk_size_mb = 15
	EOF
	cat >"$PP_TMP/rclone.conf" <<-EOF
		[pp]
		type = s3
		provider = Other
		access_key_id = $S3_KEY
		secret_access_key = $S3_SECRET
		endpoint = $S3_URL
		region = us-east-1
		force_path_style = true
	EOF
}

# Stops the gateway started by pp_start_s3 (by PID).
pp_stop_gateway() {
	kill -TERM "$GATEWAY_PID" 2>/dev/null || true
	wait "$GATEWAY_PID" 2>/dev/null || true
}

# The user's AWS settings stay out (a CA bundle or profile would change
# what the clients do; rclone refuses AWS_CA_BUNDLE over plain HTTP).
S3_UNSET=(-u AWS_CA_BUNDLE -u AWS_PROFILE -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3
	-u AWS_SESSION_TOKEN -u AWS_REGION -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY)

s3_env() {
	env "${S3_UNSET[@]}" AWS_ACCESS_KEY_ID="${AWS_KEY:-$S3_KEY}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET:-$S3_SECRET}" \
		AWS_CONFIG_FILE="$PP_TMP/aws.config" AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER= \
		HOME="$PP_TMP" "$@"
}

# aws-cli from Debian (/usr/bin/aws), not whatever is first on PATH.
s3_aws() { s3_env /usr/bin/aws --endpoint-url "$S3_URL" "$@"; }
s3_s3cmd() { env "${S3_UNSET[@]}" HOME="$PP_TMP" s3cmd -c "$PP_TMP/s3cfg" "$@"; }
s3_rclone() { env "${S3_UNSET[@]}" HOME="$PP_TMP" rclone --config "$PP_TMP/rclone.conf" "$@"; }
# Python with boto3 from Debian and the test helpers (tests/lib/s3client.py).
s3_py() {
	s3_env PYTHONPATH="$PP_SOURCE_DIR/tests/lib" S3_URL="$S3_URL" S3_KEY="$S3_KEY" \
		S3_SECRET="$S3_SECRET" /usr/bin/python3 "$@"
}

# s3_error_code FILE: the <Code> of an S3 XML error body.
s3_error_code() { sed -n 's:.*<Code>\([^<]*\)</Code>.*:\1:p' "$1" | head -1; }
