#!/usr/bin/env bash
# deploy/local/ppcluster as `make up` uses it: up (foreground) brings a
# tracker, three workers and the gateway on 127.0.0.1 with the web UI and
# the S3 API (whose aws-cli line it prints, and which works as printed);
# status, kill-worker, start-worker and down act on it; Ctrl-C stops all.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pc=$PP_SOURCE_DIR/deploy/local/ppcluster
# The cluster lives in the test dir so its logs are printed on failure.
dir=$PP_TMP
base=$(( (RANDOM % 200) * 100 + 10000 ))
http=$(pp_free_port)
s3=$(pp_free_port)
# Job control gives `up` its own process group so it receives SIGINT as it
# would from a terminal (background jobs of a script otherwise ignore it).
set -m
"$pc" up --workers 3 --base-port "$base" --http-port "$http" --s3-port "$s3" --dir "$dir" --bin-dir "$PP_BIN_DIR" \
	>"$PP_TMP/logs/ppcluster.log" 2>&1 &
up_pid=$!
set +m
PP_PIDS+=("$up_pid")
TRACKER_ADDR=tcp://127.0.0.1:$base
pp_wait_for "ppcluster printed its banner" 20 grep -q "Peer Pressure is up" "$PP_TMP/logs/ppcluster.log"
grep -q "http://127.0.0.1:$http/" "$PP_TMP/logs/ppcluster.log" || fail "no web UI address printed"
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3
page=$(curl -fsS "http://127.0.0.1:$http/") || fail "GET / failed"
[[ ${page,,} == *"<html"* ]] || fail "the web UI is not served at /"
# Metrics are on by default: tracker BASE+90, gateway BASE+91, worker K BASE+190+K.
m=$(curl -fsS "http://127.0.0.1:$((base + 90))/metrics") || fail "no tracker metrics at BASE+90"
grep -q '^pp_cluster_nodes{state="up"} 3$' <<<"$m" || fail "tracker metrics at BASE+90"
m=$(curl -fsS "http://127.0.0.1:$((base + 91))/metrics") || fail "no gateway metrics at BASE+91"
grep -q '^pp_tracker_reachable 1$' <<<"$m" || fail "gateway metrics at BASE+91"
m=$(curl -fsS "http://127.0.0.1:$((base + 193))/metrics") || fail "no worker 3 metrics at BASE+193"
grep -q '^pp_worker_info{node="w3"' <<<"$m" || fail "worker 3 metrics at BASE+193"
grep -q -- "aws --endpoint-url http://127.0.0.1:$s3 s3" "$PP_TMP/logs/ppcluster.log" || fail "no aws-cli line printed"
[ "$(stat -c %a "$dir/s3.credentials")" = 600 ] || fail "the S3 credentials are readable by others"
if [ -x /usr/bin/aws ]; then
	# The printed line, as a user would paste it.
	exports=$(sed -n 's/^ *S3: *export //p' "$PP_TMP/logs/ppcluster.log")
	env -u AWS_CA_BUNDLE -u AWS_PROFILE AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		$exports /usr/bin/aws --endpoint-url "http://127.0.0.1:$s3" s3 mb s3://fromcluster >/dev/null ||
		fail "the printed aws-cli line does not work"
	env -u AWS_CA_BUNDLE AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		/usr/bin/aws --endpoint-url "http://127.0.0.1:$s3" --no-sign-request s3 ls 2>/dev/null &&
		fail "the S3 endpoint of make up accepts unsigned requests"
fi

pp_make_file "$PP_TMP/f.bin" 100000
ppctl put "$PP_TMP/f.bin" --name f.bin >/dev/null
status=$("$pc" status --dir "$dir")
grep -q "w2 running" <<<"$status" || fail "status does not show w2: $status"
"$pc" kill-worker 2 --dir "$dir" >/dev/null
pp_wait_for "w2 dead" 10 bash -c "[ \"\$($PP_BIN_DIR/ppctl --tracker $TRACKER_ADDR --json nodes | jq -r '.nodes[] | select(.id==\"w2\") | .state')\" = dead ]"
"$pc" start-worker 2 --dir "$dir" >/dev/null
pp_wait_for "w2 back up" 10 pp_nodes_up_is 3
ppctl get f.bin -o "$PP_TMP/f.out" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/f.out")" "$(pp_sha "$PP_TMP/f.bin")" "content"

# Ctrl-C on `up` stops every process it started, including restarted ones.
pids=$(cat "$dir"/pids/*)
kill -INT "$up_pid"
wait "$up_pid" 2>/dev/null || true
for pid in $pids; do
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "process $pid survived Ctrl-C"
done
pp_done
