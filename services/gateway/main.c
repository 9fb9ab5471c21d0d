/* pp-gateway: flags, wiring and signals only (DESIGN.md, "Binaries").
 *
 * SIGINT/SIGTERM are blocked before any thread starts and taken with
 * sigwait, so a stop always runs in order: end the event streams (their
 * readers sleep on their connections' threads, which MHD joins), stop MHD,
 * then the relay and the client library. */
#define _GNU_SOURCE
#include "auth.h"
#include "auth_tokens.h"
#include "errors.h"
#include "flags.h"
#include "gateway.h"
#include "header_guard.h"
#include "log.h"
#include "mem_budget.h"
#include "metrics.h"
#include "ppclient_ext.h"
#include "process.h"
#include "prom_http.h"
#include "routes.h"
#include "s3.h"
#include "sse.h"
#include "webui.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define GW_CONNECTION_LIMIT 512
#define GW_CONNECTION_TIMEOUT_S 60
#define GW_HEADER_DEADLINE_S 10 /* request line + headers, see header_guard.h */
#define GW_CONNECTION_MEMORY (1u << 20) /* MHD hands uploads in ~half of this (STACK.md 9) */
#define GW_PROBE_TIMEOUT_MS 1500
/* How long a download waits for memory budget before its 503: long enough
 * to ride out a burst, short enough that a client is not left hanging. */
#define GW_MEMORY_WAIT_MS 10000

struct gw_flags {
	const char *http, *tracker, *events, *web_root, *token_file, *key_file, *metrics;
	const char *s3, *s3_credentials, *s3_domain;
	uint64_t max_upload, max_memory;
};

static int parse_flags(int argc, char **argv, struct gw_flags *f)
{
	f->http = "127.0.0.1:8080";
	const struct flag_spec specs[] = {
		{"http", "PP_HTTP", FLAG_STRING, &f->http, "HOST:PORT to serve HTTP on (default 127.0.0.1:8080)", false, 0},
		{"tracker", "PP_TRACKER", FLAG_STRING, &f->tracker, "tracker RPC address, tcp://HOST:PORT; a comma-separated list for a primary and standbys", true, 0},
		{"events", "PP_EVENTS", FLAG_STRING, &f->events, "tracker events address, tcp://HOST:PORT (a list, paired with --tracker)", true, 0},
		{"web-root", "PP_WEB_ROOT", FLAG_STRING, &f->web_root, "serve the web UI from this directory instead of the built-in copy", false, 0},
		{"token-file", "PP_TOKEN_FILE", FLAG_STRING, &f->token_file, "file of `TOKEN read|write` lines; when set the API needs Authorization: Bearer", false, 0},
		{"key-file", "PP_KEY_FILE", FLAG_STRING, &f->key_file, "cluster key file (HMAC of every message)", false, 0},
		{"max-upload", "PP_MAX_UPLOAD", FLAG_BYTES, &f->max_upload, "largest accepted upload, e.g. 10GiB (default: no limit)", false, 0},
		{"max-memory", "PP_MAX_MEMORY", FLAG_BYTES, &f->max_memory, "bytes that downloads may hold in chunk and send buffers at once, e.g. 512MiB; a download that cannot get its share waits up to 10 s, then gets 503 (default: half the container's memory limit, else 256MiB)", false, 0},
		{"s3", "PP_S3", FLAG_STRING, &f->s3, "HOST:PORT to serve the S3 API on (default: off)", false, 0},
		{"s3-credentials", "PP_S3_CREDENTIALS", FLAG_STRING, &f->s3_credentials, "file of `ACCESS_KEY SECRET read|write` lines; without it the S3 API is open", false, 0},
		{"s3-domain", "PP_S3_DOMAIN", FLAG_STRING, &f->s3_domain, "domain for virtual-hosted buckets (BUCKET.DOMAIN)", false, 0},
		{"metrics", "PP_METRICS", FLAG_STRING, &f->metrics, "also serve Prometheus metrics, without tokens, at http://HOST:PORT/metrics (default: off; always on --http)", false, 0},
		{0},
	};
	const struct flags_program prog = {
		"pp-gateway", "[flags]",
		"HTTP gateway of Peer Pressure: REST API, web UI, event stream and metrics."};
	int next = 0;
	int rc = flags_parse(&prog, specs, argc, argv, 1, &next);
	if (rc == FLAGS_CONTINUE && next < argc) {
		fprintf(stderr, "pp-gateway: unexpected argument '%s' (try --help)\n", argv[next]);
		return FLAGS_ERROR;
	}
	if (rc == FLAGS_CONTINUE && f->max_memory == 0)
		f->max_memory = mem_budget_default();
	if (rc == FLAGS_CONTINUE && f->max_memory < MEM_BUDGET_MIN_BYTES) {
		fprintf(stderr, "pp-gateway: --max-memory must be at least 1MiB\n");
		return FLAGS_ERROR;
	}
	return rc;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	for (char *p = msg; *p; p++)
		if (*p == '"')
			*p = '\'';
	log_warn("mhd", "detail=%s", log_q(msg));
}

static int open_client(const char *tracker, const char *key_file, int timeout_ms, pp_client **out)
{
	struct pp_client_options o = {.tracker = tracker, .key_file = key_file, .timeout_ms = timeout_ms};
	struct pp_error err = {0};
	int rc = pp_client_open(&o, out, &err);
	if (rc != PP_OK)
		log_error("client_open_failed", "tracker=%s err=%s", log_q(tracker), log_q(err.message));
	return rc;
}

int main(int argc, char **argv)
{
	process_setup("gateway"); /* logging, SIGPIPE, malloc tuned for chunk buffers */
	struct gw_flags f = {0};
	int rc = parse_flags(argc, argv, &f);
	if (rc == FLAGS_EXIT_OK)
		return 0;
	if (rc != FLAGS_CONTINUE)
		return 1;

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	int exit_code = 1;
	struct gateway gw = {.max_upload = f.max_upload};
	struct auth events_auth;
	bool auth_ready = false;
	struct MHD_Daemon *d = NULL;
	struct prom_http *metrics_http = NULL;
	struct s3_server *s3 = NULL;
	struct sockaddr_storage ss, s3_ss;

	if (prom_http_resolve(f.http, &ss) != PP_OK) {
		fprintf(stderr, "pp-gateway: --http '%s' is not a usable HOST:PORT\n", f.http);
		goto out;
	}
	if (f.s3 != NULL && prom_http_resolve(f.s3, &s3_ss) != PP_OK) {
		fprintf(stderr, "pp-gateway: --s3 '%s' is not a usable HOST:PORT\n", f.s3);
		goto out;
	}
	if (f.s3 == NULL && (f.s3_credentials != NULL || f.s3_domain != NULL)) {
		fprintf(stderr, "pp-gateway: --s3-credentials and --s3-domain need --s3\n");
		goto out;
	}
	if (f.token_file != NULL) {
		char why[256];
		if (token_table_load(f.token_file, &gw.tokens, why, sizeof(why)) != PP_OK) {
			fprintf(stderr, "pp-gateway: --token-file: %s\n", why);
			goto out;
		}
		log_info("tokens_loaded", "count=%zu", token_table_count(gw.tokens));
	}
	if (auth_setup(&events_auth, f.key_file) != PP_OK) {
		fprintf(stderr, "pp-gateway: --key-file %s is not usable (see the log)\n", f.key_file);
		goto out;
	}
	auth_ready = true;
	if (webui_new(f.web_root, &gw.ui) != PP_OK) {
		fprintf(stderr, "pp-gateway: --web-root %s is not a directory\n", f.web_root);
		goto out;
	}
	if (mem_budget_new(f.max_memory, GW_MEMORY_WAIT_MS, &gw.budget) != PP_OK)
		goto out;
	if (metrics_new(&gw, &gw.metrics) != PP_OK)
		goto out;
	if (open_client(f.tracker, f.key_file, 0, &gw.client) != PP_OK ||
	    open_client(f.tracker, f.key_file, GW_PROBE_TIMEOUT_MS, &gw.probe) != PP_OK) {
		fprintf(stderr, "pp-gateway: cannot use --tracker %s (see the log)\n", f.tracker);
		goto out;
	}
	pp_client_set_budget(gw.client, gw.budget);
	if (header_guard_start(GW_CONNECTION_LIMIT, GW_HEADER_DEADLINE_S, &gw.guard) != PP_OK)
		goto out;
	if (sse_hub_start(f.events, &events_auth, &gw.sse) != PP_OK) {
		fprintf(stderr, "pp-gateway: cannot use --events %s\n", f.events);
		goto out;
	}
	/* One thread per connection, at most GW_CONNECTION_LIMIT of them: every
	 * handler calls libppclient, whose calls block (a manifest, a chunk from a
	 * worker that may be frozen for RPC_TIMEOUT_DATA_MS), so a shared pool of
	 * poll threads let a few stuck downloads stall /healthz, /metrics and
	 * every other client (issue 15). Suspend/resume with fetches on other
	 * threads would need a fetch pool as large as the connection cap anyway
	 * (a frozen worker holds every thread it is given) and an async client
	 * API we do not have; a thread that blocks only its own connection is the
	 * same trade the S3 server makes. The cap bounds threads; their stacks
	 * are mostly untouched virtual memory.
	 *
	 * poll, not epoll (which thread-per-connection excludes anyway):
	 * libmicrohttpd 0.9.75's epoll mode misses a client's EOF in the middle
	 * of a request body (checked: the connection sat until its timeout), so
	 * a cut-off upload was aborted a minute late; with poll it is at once. */
	d = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
		0, NULL, NULL, routes_handle, &gw, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)GW_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)GW_CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)GW_CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, routes_completed, &gw,
		MHD_OPTION_NOTIFY_CONNECTION, header_guard_notify, gw.guard,
		MHD_OPTION_UNESCAPE_CALLBACK, routes_no_unescape, NULL, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "pp-gateway: cannot listen on %s\n", f.http);
		log_error("listen_failed", "http=%s", log_q(f.http));
		goto out;
	}
	if (f.metrics != NULL &&
	    prom_http_start(f.metrics, metrics_registry(gw.metrics), &metrics_http) != PP_OK) {
		fprintf(stderr, "pp-gateway: cannot serve --metrics on %s\n", f.metrics);
		goto out;
	}
	if (f.s3 != NULL) {
		struct s3_config sc = {f.s3, &s3_ss, f.s3_credentials, f.s3_domain};
		if (s3_server_start(&gw, &sc, &s3) != PP_OK)
			goto out;
	}
	log_info("gateway_started", "http=%s s3=%s tracker=%s events=%s web=%s tokens=%s max_upload=%llu max_memory=%llu",
		 log_q(f.http), log_q(f.s3 ? f.s3 : "off"), log_q(f.tracker), log_q(f.events),
		 log_q(f.web_root ? f.web_root : "embedded"),
		 gw.tokens ? "on" : "off", (unsigned long long)f.max_upload,
		 (unsigned long long)f.max_memory);

	int sig = 0;
	sigwait(&sigs, &sig);
	log_info("gateway_stopping", "signal=%d", sig);
	exit_code = 0;
out:
	s3_server_stop(s3);
	prom_http_stop(metrics_http); /* its scrapes read the relay and the probe */
	if (d != NULL) {
		sse_hub_close_streams(gw.sse);
		MHD_stop_daemon(d);
	}
	sse_hub_stop(gw.sse);
	header_guard_stop(gw.guard);
	pp_client_close(gw.probe);
	pp_client_close(gw.client);
	metrics_free(gw.metrics);
	mem_budget_free(gw.budget);
	webui_free(gw.ui);
	token_table_free(gw.tokens);
	if (auth_ready)
		auth_free(&events_auth);
	return exit_code;
}
