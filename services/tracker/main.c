/* pp-tracker: metadata, placement, failure detection and repair for a Peer
 * Pressure cluster (DESIGN.md, "Binaries"). This file only parses flags,
 * wires the modules together and stops them cleanly on SIGINT/SIGTERM; the
 * signals are blocked in every thread and taken by sigwait here. */
#define _GNU_SOURCE
#include "backup.h"
#include "balance.h"
#include "db.h"
#include "errors.h"
#include "events.h"
#include "flags.h"
#include "frame.h"
#include "gc.h"
#include "handlers.h"
#include "inventory.h"
#include "liveness.h"
#include "log.h"
#include "metrics.h"
#include "process.h"
#include "records.h"
#include "prom_http.h"
#include "prom_process.h"
#include "repair.h"
#include "rpc_server.h"
#include "timeutil.h"
#include "tracker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RPC_CONTEXTS 64
#define RPC_THREADS 32

static int check_config(struct tracker_config *c, const char *spread)
{
	char *end = NULL;
	c->balance_spread = strtod(spread, &end);
	if (end == spread || *end != '\0' || c->balance_spread < 0 || c->balance_spread > 1) {
		fprintf(stderr, "pp-tracker: --balance-spread must be a fraction in 0..1, got \"%s\"\n",
			spread);
		return PP_EINVAL;
	}
	if (c->chunk_size < 1024 || c->chunk_size > PP_CHUNK_SIZE_MAX) {
		fprintf(stderr, "pp-tracker: --chunk-size must be in 1KiB..%uMiB\n",
			PP_CHUNK_SIZE_MAX >> 20);
		return PP_EINVAL;
	}
	if (c->replication < TRACKER_REPLICATION_MIN || c->replication > TRACKER_REPLICATION_MAX) {
		fprintf(stderr, "pp-tracker: --replication must be in %d..%d\n",
			TRACKER_REPLICATION_MIN, TRACKER_REPLICATION_MAX);
		return PP_EINVAL;
	}
	if (c->heartbeat_ms == 0 || c->suspect_ms <= c->heartbeat_ms ||
	    c->dead_ms <= c->suspect_ms) {
		fprintf(stderr, "pp-tracker: need 0 < --heartbeat-ms < --suspect-ms < --dead-ms\n");
		return PP_EINVAL;
	}
	if (c->repair_per_node == 0 || c->repair_per_node > 64) {
		fprintf(stderr, "pp-tracker: --repair-per-node must be in 1..64\n");
		return PP_EINVAL;
	}
	return PP_OK;
}

int main(int argc, char **argv)
{
	struct tracker t = {0};
	struct tracker_config *c = &t.cfg;
	const char *spread = "0.10";
	const char *metrics_addr = NULL;
	c->chunk_size = PP_CHUNK_SIZE_DEFAULT;
	c->replication = 2;
	c->heartbeat_ms = 1000;
	c->suspect_ms = 3000;
	c->dead_ms = 5000;
	c->dead_grace_ms = 1000;
	c->repair_per_node = 8;
	c->gc_grace_s = 60;
	c->maintenance_timeout_s = 600;
	const struct flag_spec specs[] = {
		{"listen", "PP_LISTEN", FLAG_STRING, &c->listen_url, "RPC address, tcp://HOST:PORT", true, 0},
		{"bus", "PP_BUS", FLAG_STRING, &c->bus_url, "heartbeat bus address (SUB, listens)", true, 0},
		{"events", "PP_EVENTS", FLAG_STRING, &c->events_url, "cluster events address (PUB, listens)", true, 0},
		{"db", "PP_DB", FLAG_STRING, &c->db_path, "SQLite database file", true, 0},
		{"chunk-size", "PP_CHUNK_SIZE", FLAG_BYTES, &c->chunk_size, "chunk size (default 4MiB)", false, 0},
		{"replication", "PP_REPLICATION", FLAG_UINT, &c->replication, "default replication factor (2..16, default 2)", false, 0},
		{"heartbeat-ms", "PP_HEARTBEAT_MS", FLAG_UINT, &c->heartbeat_ms, "expected heartbeat interval (default 1000)", false, 0},
		{"suspect-ms", "PP_SUSPECT_MS", FLAG_UINT, &c->suspect_ms, "silence before suspect (default 3000)", false, 0},
		{"dead-ms", "PP_DEAD_MS", FLAG_UINT, &c->dead_ms, "silence before dead (default 5000)", false, 0},
		{"dead-grace-ms", "PP_DEAD_GRACE_MS", FLAG_UINT, &c->dead_grace_ms, "bus connection dropped: dead after this (default 1000)", false, 0},
		{"repair-per-node", "PP_REPAIR_PER_NODE", FLAG_UINT, &c->repair_per_node, "concurrent repair transfers per worker (default 8)", false, 0},
		{"gc-grace-s", "PP_GC_GRACE_S", FLAG_UINT, &c->gc_grace_s, "unknown chunks and idle uploads are collected after (default 60)", false, 0},
		{"maintenance-timeout-s", "PP_MAINTENANCE_TIMEOUT_S", FLAG_UINT, &c->maintenance_timeout_s, "default maintenance window (default 600)", false, 0},
		{"balance-spread", "PP_BALANCE_SPREAD", FLAG_STRING, &spread, "allowed usage spread between workers, a fraction (default 0.10)", false, 0},
		{"key-file", "PP_KEY_FILE", FLAG_STRING, &c->key_file, "cluster key file", false, 0},
		{"follow", "PP_FOLLOW", FLAG_STRING, &c->follow_url, "run as a read-only standby of the tracker at this address (tcp://HOST:PORT); `ppctl promote` makes it the primary", false, 0},
		{"rebuild", "PP_REBUILD", FLAG_BOOL, &c->rebuild, "merge every metadata record the workers hold into the database (an empty database does this by itself)", false, 0},
		{"metrics", "PP_METRICS", FLAG_STRING, &metrics_addr, "serve Prometheus metrics at http://HOST:PORT/metrics (default: off)", false, 0},
		{0},
	};
	const struct flags_program prog = {
		"pp-tracker", "[flags]",
		"The Peer Pressure tracker: file metadata, replica placement, failure detection and "
		"repair."};
	int next = 0;
	int fr = flags_parse(&prog, specs, argc, argv, 1, &next);
	if (fr == FLAGS_EXIT_OK)
		return 0;
	if (fr != FLAGS_CONTINUE)
		return 1;
	if (next < argc) {
		fprintf(stderr, "pp-tracker: unexpected argument \"%s\" (see --help)\n", argv[next]);
		return 1;
	}
	if (check_config(c, spread) != PP_OK)
		return 1;
	process_setup("tracker");

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	int rc = 1;
	struct rpc_server *srv = NULL;
	struct prom_registry *reg = NULL;
	struct prom_http *metrics_http = NULL;
	t.started_mono_ms = time_mono_ms();
	if (auth_setup(&t.auth, c->key_file) != PP_OK)
		return 1;
	if (db_open(c->db_path, &t.db) != PP_OK) {
		fprintf(stderr, "pp-tracker: cannot open database %s\n", c->db_path);
		goto out;
	}
	if (rpc_peers_new(&t.peers) != PP_OK)
		goto out;
	uint64_t term = 0;
	if (db_kv_get(t.db, "term", &term) != PP_OK)
		goto out;
	atomic_store(&t.term, term ? term : 1);
	atomic_store(&t.standby, c->follow_url != NULL);
	if (events_open(c->events_url, &t.auth, &t.events) != PP_OK) {
		fprintf(stderr, "pp-tracker: cannot listen on --events %s\n", c->events_url);
		goto out;
	}
	/* Liveness opens first (the others read its table) and runs last (it
	 * wakes them); repair before collection and balance, which ask it. */
	if (liveness_open(&t, &t.live) != PP_OK) {
		fprintf(stderr, "pp-tracker: cannot listen on --bus %s\n", c->bus_url);
		goto out;
	}
	/* Records before collection: no node's chunks are garbage until its
	 * metadata records were read. */
	if (repair_start(&t, &t.repair) != PP_OK || records_start(&t, c->rebuild, &t.records) != PP_OK ||
	    gc_start(&t, &t.gc) != PP_OK ||
	    balance_start(&t, &t.balance) != PP_OK || liveness_run(t.live) != PP_OK)
		goto out;
	if (prom_registry_new(&reg) != PP_OK || prom_process_register(reg, "tracker") != PP_OK ||
	    tracker_metrics_register(&t, reg) != PP_OK)
		goto out;
	struct rpc_server_config sc = {
		.listen_url = c->listen_url,
		.component = "tracker",
		.auth = &t.auth,
		.routes = tracker_routes,
		.route_count = tracker_route_count,
		.service = &t,
		.contexts = RPC_CONTEXTS,
		.threads = RPC_THREADS,
		.max_msg_bytes = FRAME_PB_MAX + FRAME_HEADER_BYTES + AUTH_MAC_BYTES,
		.metrics = reg,
	};
	if (rpc_server_start(&sc, &srv) != PP_OK) {
		fprintf(stderr, "pp-tracker: cannot listen on --listen %s\n", c->listen_url);
		goto out;
	}
	if (metrics_addr != NULL && prom_http_start(metrics_addr, reg, &metrics_http) != PP_OK) {
		fprintf(stderr, "pp-tracker: cannot serve --metrics on %s\n", metrics_addr);
		goto out;
	}
	log_info("tracker_started", "listen=%s bus=%s events=%s db=%s chunk_size=%llu replication=%llu"
		 " role=%s follow=%s term=%llu",
		 log_q(c->listen_url), log_q(c->bus_url), log_q(c->events_url), log_q(c->db_path),
		 (unsigned long long)c->chunk_size, (unsigned long long)c->replication,
		 c->follow_url ? "standby" : "primary", log_q(c->follow_url ? c->follow_url : "-"),
		 (unsigned long long)atomic_load(&t.term));
	int sig = 0;
	sigwait(&sigs, &sig);
	log_info("tracker_stopping", "signal=%d", sig);
	rc = 0;
out:
	prom_http_stop(metrics_http); /* scrapes read the modules stopped below */
	/* Every thread stops before anything is freed: loops call each other
	 * (liveness wakes repair and collection, which read its table). Calls
	 * to workers in flight are cut short first, so no transfer holds the
	 * stop for its 30 s timeout, and repair stops before liveness, whose
	 * closing bus would otherwise make every node suspect and plan copies
	 * on the way out. */
	rpc_server_stop(srv);
	rpc_peers_shutdown(t.peers);
	repair_stop(t.repair);
	balance_stop(t.balance);
	gc_stop(t.gc);
	records_stop(t.records);
	liveness_stop(t.live);
	balance_free(t.balance);
	gc_free(t.gc);
	records_free(t.records);
	repair_free(t.repair);
	liveness_free(t.live);
	events_close(t.events);
	if (t.peers)
		rpc_peers_free(t.peers);
	db_close(t.db);
	prom_registry_free(reg);
	inventory_cleanup();
	backup_cleanup();
	auth_free(&t.auth);
	return rc;
}
