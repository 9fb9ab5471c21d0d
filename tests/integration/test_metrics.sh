#!/usr/bin/env bash
# Prometheus metrics of every service (DESIGN.md, "Binaries": --metrics):
# a tracker, two workers and a gateway serve /metrics on their --metrics
# port, each passes `promtool check metrics`, exposes what the monitoring
# expects (per-RPC counts and latency, cluster gauges on the tracker only,
# store and scrub figures, process_*, pp_build_info), and every metric that
# deploy/monitoring's rules and dashboard query is among those exported.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
command -v promtool >/dev/null || fail "promtool not found (scripts/install-deps.sh installs prometheus)"

TM=$(pp_free_port) W1M=$(pp_free_port) W2M=$(pp_free_port) GM=$(pp_free_port)
pp_start_tracker --metrics "127.0.0.1:$TM"
PP_SCRUB_INTERVAL_S=1 pp_start_worker w1 --metrics "127.0.0.1:$W1M"
pp_start_worker w2 --metrics "[::1]:$W2M"
pp_wait_for "2 workers up" 15 pp_nodes_up_is 2
pp_start_gateway --metrics "127.0.0.1:$GM"

pp_make_file "$PP_TMP/f.bin" 300000
ppctl put "$PP_TMP/f.bin" --name m/f.bin >/dev/null
ppctl get m/f.bin -o "$PP_TMP/f.out" >/dev/null
curl -fsS -o /dev/null "$GATEWAY_URL/api/v1/files/m/f.bin"
assert_exit 2 ppctl stat no-such-file

scrape() { curl -fsS "$2" >"$PP_TMP/$1.prom" || fail "no /metrics at $2"; }
has() { grep -q "$2" "$PP_TMP/$1.prom" || fail "$1 /metrics lacks $2: $(grep -c . "$PP_TMP/$1.prom") lines"; }
# A pass may have run over the empty store before the put: wait for one
# that checked the file's chunks (w1 holds them all, R=2 on two workers).
scrubbed() {
	curl -fsS "http://127.0.0.1:$W1M/metrics" >"$PP_TMP/w1.wait.prom" &&
		grep -q '^pp_scrub_checked_chunks_total [1-9]' "$PP_TMP/w1.wait.prom"
}
pp_wait_for "w1 scrubbed the file's chunks" 20 scrubbed
scrape tracker "http://127.0.0.1:$TM/metrics"
scrape w1 "http://127.0.0.1:$W1M/metrics"
scrape w2 "http://[::1]:$W2M/metrics"
scrape gateway_http "$GATEWAY_URL/metrics"
scrape gateway "http://127.0.0.1:$GM/metrics"

for s in tracker w1 w2 gateway gateway_http; do
	[ -s "$PP_TMP/$s.prom" ] || fail "$s: empty /metrics"
	if ! promtool check metrics <"$PP_TMP/$s.prom" >"$PP_TMP/$s.lint" 2>&1; then
		fail "$s: promtool check metrics: $(cat "$PP_TMP/$s.lint")"
	fi
	has "$s" '^process_resident_memory_bytes [1-9]'
	has "$s" '^process_cpu_seconds_total '
	has "$s" '^process_open_fds [1-9]'
	has "$s" '^process_start_time_seconds [1-9]'
	has "$s" '^pp_build_info{version="[0-9][0-9.]*",component="[a-z]*"} 1$'
done

# Tracker: RPC counts and latency per method and code, cluster gauges, nodes.
has tracker '^pp_rpc_requests_total{method="commit",code="ok"} [1-9]'
has tracker '^pp_rpc_requests_total{method="manifest",code="not_found"} [1-9]'
has tracker '^pp_rpc_request_duration_seconds_bucket{method="place",le="+Inf"} [1-9]'
has tracker '^pp_cluster_nodes{state="up"} 2$'
has tracker '^pp_cluster_nodes{state="dead"} 0$'
has tracker '^pp_cluster_files 1$'
has tracker '^pp_cluster_under_replicated_chunks 0$'
has tracker '^pp_cluster_lost_chunks 0$'
has tracker '^pp_cluster_stored_bytes 600000$'
has tracker '^pp_node_state{node="w1",state="up"} 1$'
has tracker '^pp_node_heartbeat_age_seconds{node="w2"} '
has tracker '^pp_repair_queued_copies 0$'
has tracker '^pp_db_transaction_duration_seconds_count{result="commit"} [1-9]'
# Workers: store, transfers, scrub; their own RPCs.
has w1 '^pp_worker_info{node="w1",zone="default"} 1$'
has w1 '^pp_store_chunks 1$'
has w1 '^pp_store_used_bytes 300000$'
has w1 '^pp_store_free_bytes [1-9]'
has w1 '^pp_store_filesystem_free_bytes [1-9]'
has w1 '^pp_store_quarantined_chunks 0$'
has w1 '^pp_scrub_checked_chunks_total [1-9]'
has w1 '^pp_scrub_corrupt_chunks_total 0$'
has w1 '^pp_rpc_requests_total{method="put_chunk",code="ok"} [1-9]'
has w1 '^pp_rpc_received_bytes_total{method="put_chunk"} [1-9]'
has w2 '^pp_transfers_in_flight 0$'
# Cluster-wide gauges come from the tracker only.
for s in w1 w2 gateway; do
	! grep -q '^pp_cluster_' "$PP_TMP/$s.prom" || fail "$s exports cluster gauges"
done
has gateway '^pp_http_requests_total{method="GET",route="file_get",code="200"} 1$'
has gateway '^pp_tracker_reachable 1$'
# The same registry on both ports: the scrape through --http was counted.
has gateway '^pp_http_requests_total{method="GET",route="metrics",code="200"} 1$'

# The metrics port serves only /metrics, read-only.
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TM/")" 404 "GET / on --metrics"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$TM/metrics")" 405 "POST /metrics"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$TM/metrics")" 200 "HEAD /metrics"

# A --metrics address that is taken or malformed stops the service with a message.
assert_exit 1 "$PP_BIN_DIR/pp-worker" --id w9 --listen "tcp://127.0.0.1:$(pp_free_port)" \
	--tracker "$TRACKER_ADDR" --bus "$BUS_ADDR" --data "$PP_TMP/w9" --metrics "127.0.0.1:$TM"
grep -q -- "--metrics" "$PP_TMP/last.err" || fail "no message for a taken --metrics port: $(cat "$PP_TMP/last.err")"
assert_exit 1 "$PP_BIN_DIR/pp-tracker" --listen "tcp://127.0.0.1:$(pp_free_port)" \
	--bus "tcp://127.0.0.1:$(pp_free_port)" --events "tcp://127.0.0.1:$(pp_free_port)" \
	--db "$PP_TMP/t2.db" --metrics "no-port-here"

# Every metric deploy/monitoring queries is exported by some service.
cat "$PP_TMP"/*.prom | grep -v '^#' | sed 's/[{ ].*//' | sort -u >"$PP_TMP/exported.txt"
bash "$PP_SOURCE_DIR/tests/ops/check-monitoring.sh" "$PP_SOURCE_DIR/deploy/monitoring" "$PP_TMP/exported.txt"
pp_done
