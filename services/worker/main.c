/* pp-worker: flags, wiring and signals only (DESIGN.md, "Binaries").
 *
 * SIGINT/SIGTERM are blocked before any thread exists (nng's included) and
 * taken with sigwait here, so a stop always runs the same orderly shutdown:
 * server first (no new requests), then the background threads, then the
 * store. */
#define _GNU_SOURCE
#include "errors.h"
#include "flags.h"
#include "frame.h"
#include "handlers.h"
#include "hash.h"
#include "heartbeat.h"
#include "inventory.h"
#include "keeper.h"
#include "log.h"
#include "meta_log.h"
#include "metrics.h"
#include "process.h"
#include "prom_http.h"
#include "prom_process.h"
#include "rpc_server.h"
#include "scrub.h"
#include "store.h"
#include "trackers.h"
#include "timeutil.h"
#include "worker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void on_corrupt(void *arg, const char *chunk_id, uint64_t gen)
{
	struct worker *w = arg;
	worker_metrics_chunk_corrupt();
	trackers_report_corrupt(w, chunk_id, gen);
}

/* An evicted copy is reported by the next inventory (the tracker drops the
 * replica it no longer finds). */
static void on_evict(void *arg, const char *chunk_id)
{
	(void)chunk_id;
	struct worker *w = arg;
	trackers_inventory_request(w);
}

static bool tcp_address(const char *a) { return a && strncmp(a, "tcp://", 6) == 0 && a[6]; }

/* --tracker and --bus: matching comma-separated lists of tcp:// addresses. */
static int split_trackers(struct worker *w)
{
	const char *why = NULL;
	if (flags_split_list(w->cfg.tracker, WORKER_TRACKERS_MAX, &w->trackers, &w->n_trackers) !=
		    PP_OK ||
	    flags_split_list(w->cfg.bus, WORKER_TRACKERS_MAX, &w->buses, &w->n_buses) != PP_OK)
		why = "--tracker and --bus must be lists of at most 4 addresses, no empty ones";
	else if (w->n_trackers != w->n_buses)
		why = "--tracker and --bus must name as many addresses (paired by position)";
	for (size_t i = 0; why == NULL && i < w->n_trackers; i++)
		if (!tcp_address(w->trackers[i]) || !tcp_address(w->buses[i]))
			why = "--tracker and --bus must be tcp://HOST:PORT addresses";
	if (why != NULL) {
		fprintf(stderr, "pp-worker: %s\n", why);
		return PP_EINVAL;
	}
	return PP_OK;
}

static int parse_flags(int argc, char **argv, struct worker_config *cfg, const char **key_file,
		       const char **metrics_addr)
{
	static const struct flags_program prog = {
		.name = "pp-worker",
		.usage = "--id NAME --listen tcp://HOST:PORT --tracker tcp://HOST:PORT --bus tcp://HOST:PORT --data DIR [flags]",
		.summary = "Peer Pressure storage node: keeps chunks on disk, verified on every read, "
			   "and copies them to and from its peers as the tracker directs.",
	};
	uint64_t inventory_s = 60, scrub_pass_s = 60;
	const char *env = getenv("PP_INVENTORY_INTERVAL_S");
	if (env && *env)
		inventory_s = strtoull(env, NULL, 10);
	env = getenv("PP_SCRUB_INTERVAL_S");
	if (env && *env)
		scrub_pass_s = strtoull(env, NULL, 10);
	const struct flag_spec specs[] = {
		{"id", "PP_ID", FLAG_STRING, &cfg->id, "node id, unique in the cluster", true, 0},
		{"listen", "PP_LISTEN", FLAG_STRING, &cfg->listen, "RPC address to listen on", true, 0},
		{"advertise", "PP_ADVERTISE", FLAG_STRING, &cfg->advertise,
		 "RPC address peers dial (default: --listen)", false, 0},
		{"tracker", "PP_TRACKER", FLAG_STRING, &cfg->tracker, "tracker RPC address; a comma-separated list for a primary and standbys", true, 0},
		{"bus", "PP_BUS", FLAG_STRING, &cfg->bus, "tracker heartbeat bus address, one per --tracker", true, 0},
		{"data", "PP_DATA", FLAG_STRING, &cfg->data_dir, "data directory", true, 0},
		{"capacity", "PP_CAPACITY", FLAG_BYTES, &cfg->capacity_bytes,
		 "bytes this node may store (default: the disk's free space)", false, 0},
		{"zone", "PP_ZONE", FLAG_STRING, &cfg->zone, "failure zone (default \"default\")",
		 false, 0},
		{"key-file", "PP_KEY_FILE", FLAG_STRING, key_file, "cluster key file", false, 0},
		{"scrub-rate", "PP_SCRUB_RATE", FLAG_BYTES, &cfg->scrub_rate_bps,
		 "background verification rate in bytes/s (default 64MiB, 0 = off)", false, 0},
		{"heartbeat-ms", "PP_HEARTBEAT_MS", FLAG_UINT, &cfg->heartbeat_ms,
		 "heartbeat period (default 1000)", false, 0},
		{"metrics", "PP_METRICS", FLAG_STRING, metrics_addr,
		 "serve Prometheus metrics at http://HOST:PORT/metrics (default: off)", false, 0},
		{0},
	};
	int next = 0;
	int rc = flags_parse(&prog, specs, argc, argv, 1, &next);
	if (rc != FLAGS_CONTINUE)
		return rc;
	if (next < argc) {
		fprintf(stderr, "pp-worker: unexpected argument '%s' (see --help)\n", argv[next]);
		return FLAGS_ERROR;
	}
	const char *why = NULL;
	if (node_id_check(cfg->id) != NULL)
		why = "--id must be 1-64 characters of [A-Za-z0-9._-]";
	else if (!tcp_address(cfg->listen) || (cfg->advertise && !tcp_address(cfg->advertise)))
		why = "--listen and --advertise must be tcp://HOST:PORT addresses";
	else if (cfg->heartbeat_ms == 0 || cfg->heartbeat_ms > 600000)
		why = "--heartbeat-ms must be between 1 and 600000";
	else if (inventory_s == 0 || scrub_pass_s == 0)
		why = "PP_INVENTORY_INTERVAL_S and PP_SCRUB_INTERVAL_S must be positive numbers";
	if (why) {
		fprintf(stderr, "pp-worker: %s\n", why);
		return FLAGS_ERROR;
	}
	if (cfg->advertise == NULL || cfg->advertise[0] == '\0')
		cfg->advertise = cfg->listen;
	if (cfg->zone == NULL || cfg->zone[0] == '\0')
		cfg->zone = "default";
	cfg->inventory_interval_s = inventory_s;
	cfg->scrub_pass_interval_s = scrub_pass_s;
	return FLAGS_CONTINUE;
}

int main(int argc, char **argv)
{
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	process_setup("worker");

	static struct worker w;
	w.cfg.scrub_rate_bps = 64ull << 20;
	w.cfg.heartbeat_ms = 1000;
	const char *key_file = NULL;
	const char *metrics_addr = NULL;
	int rc = parse_flags(argc, argv, &w.cfg, &key_file, &metrics_addr);
	if (rc != FLAGS_CONTINUE)
		return rc == FLAGS_EXIT_OK ? 0 : 1;

	int exit_code = 1;
	struct rpc_server *server = NULL;
	struct heartbeat *hb = NULL;
	struct scrub *scrub = NULL;
	struct prom_registry *reg = NULL;
	struct prom_http *metrics_http = NULL;
	if (auth_setup(&w.auth, key_file) != PP_OK)
		return 1;
	w.started_at_ms = time_wall_ms();
	worker_slots_init(&w);
	if (prom_registry_new(&reg) != PP_OK || prom_process_register(reg, "worker") != PP_OK ||
	    worker_metrics_register(&w, &scrub, reg) != PP_OK)
		goto out;
	char err[512];
	if (split_trackers(&w) != PP_OK)
		goto out;
	pthread_mutex_init(&w.term_lock, NULL);
	struct store_config sc = {
		.data_dir = w.cfg.data_dir,
		.capacity_bytes = w.cfg.capacity_bytes,
		.on_corrupt = on_corrupt,
		.on_evict = on_evict,
		.cb_arg = &w,
	};
	if (store_open(&sc, &w.store, err, sizeof(err)) != PP_OK) {
		log_error("store_unusable", "dir=%s err=%s", log_q(w.cfg.data_dir), log_q(err));
		fprintf(stderr, "pp-worker: %s\n", err);
		goto out;
	}
	if (trackers_term_load(&w, err, sizeof(err)) != PP_OK) {
		fprintf(stderr, "pp-worker: %s\n", err);
		goto out;
	}
	if (meta_log_open(w.cfg.data_dir, &w.auth, NULL, &w.meta, err, sizeof(err)) != PP_OK) {
		log_error("meta_log_unusable", "dir=%s err=%s", log_q(w.cfg.data_dir), log_q(err));
		fprintf(stderr, "pp-worker: %s\n", err);
		goto out;
	}
	if (rpc_peers_new(&w.peers) != PP_OK || keeper_start(&w, &w.keeper) != PP_OK)
		goto out;
	struct rpc_server_config srv_cfg = {
		.listen_url = w.cfg.listen,
		.component = "worker",
		.auth = &w.auth,
		.routes = worker_routes,
		.route_count = worker_route_count,
		.service = &w,
		.contexts = WORKER_RPC_CONTEXTS,
		.threads = WORKER_RPC_THREADS,
		.max_msg_bytes = FRAME_MAX_BYTES,
		.metrics = reg,
	};
	if (rpc_server_start(&srv_cfg, &server) != PP_OK) {
		fprintf(stderr, "pp-worker: cannot listen on %s\n", w.cfg.listen);
		goto out;
	}
	for (size_t i = 0; i < w.n_trackers; i++) {
		if (inventory_start(&w, w.trackers[i], &w.inventories[i]) != PP_OK) {
			fprintf(stderr, "pp-worker: cannot start background threads (see log)\n");
			goto out;
		}
	}
	if (heartbeat_start(&w, &hb) != PP_OK || scrub_start(&w, &scrub) != PP_OK) {
		fprintf(stderr, "pp-worker: cannot start background threads (see log)\n");
		goto out;
	}
	if (metrics_addr != NULL && prom_http_start(metrics_addr, reg, &metrics_http) != PP_OK) {
		fprintf(stderr, "pp-worker: cannot serve --metrics on %s\n", metrics_addr);
		goto out;
	}
	log_info("worker_started", "id=%s listen=%s advertise=%s zone=%s tracker=%s bus=%s",
		 w.cfg.id, log_q(w.cfg.listen), log_q(w.cfg.advertise), w.cfg.zone, log_q(w.cfg.tracker), log_q(w.cfg.bus));
	int sig = 0;
	sigwait(&stop_signals, &sig);
	log_info("worker_stopping", "signal=%d", sig);
	exit_code = 0;
out:
	prom_http_stop(metrics_http); /* scrapes read the modules stopped below */
	rpc_server_stop(server); /* requests in progress finish first */
	rpc_peers_shutdown(w.peers);
	keeper_stop(w.keeper);
	scrub_stop(scrub);
	heartbeat_stop(hb);
	for (size_t i = 0; i < WORKER_TRACKERS_MAX; i++) {
		inventory_stop(w.inventories[i]);
		w.inventories[i] = NULL;
	}
	rpc_peers_free(w.peers);
	flags_list_free(w.trackers, w.n_trackers);
	flags_list_free(w.buses, w.n_buses);
	meta_log_close(w.meta);
	store_close(w.store);
	worker_slots_destroy(&w);
	prom_registry_free(reg);
	auth_free(&w.auth);
	if (exit_code == 0)
		log_info("worker_stopped", "id=%s", w.cfg.id);
	return exit_code;
}
