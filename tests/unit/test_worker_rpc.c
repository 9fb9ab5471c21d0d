/* Tests of real pp-worker processes over their RPCs, against a stand-in
 * tracker served in this process (ping, replicas_added, inventory,
 * chunk_corrupt, locate, list) and a SUB socket on its bus: heartbeats,
 * start-up inventory, pipelined put with forwarding, ranged get, whole
 * chunks served unhashed and ranges verified, a reader's verify_chunk
 * quarantining only a copy that really is bad, pull for repair, direct
 * access pulling a missing chunk as an extra copy (registered after the
 * reply) that a pull then claims, has and gen-conditional delete, and the
 * tracker proxy.
 * Workers are started with posix_spawn before this process uses nng. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errors.h"
#include "frame.h"
#include "hash.h"
#include "pp/v1/bus.pb-c.h"
#include "rpc_client.h"
#include "rpc_server.h"
#include "timeutil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <nng/protocol/pubsub0/sub.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char tmpdir[] = "/tmp/pp-unit-wrpc-XXXXXX";
static char tracker_addr[64], bus_addr[64], w_addr[2][64], w_dir[2][128], dead_addr[64];
static pid_t w_pid[2];

/* What the stand-in tracker saw; `lock` guards all of it. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char added_node[64][16];
static char added_id[64][65];
static uint64_t added_gen[64];
static bool added_extra[64];
static int n_added;
static int inventories_done[2];
static char corrupt_id[65];
static char corrupt_ids[16][65];
static int n_corrupt;

static int node_index(const char *node) { return strcmp(node, "w1") == 0 ? 0 : 1; }

static void t_ping(void *svc, struct rpc_call *call)
{
	(void)svc;
	Pp__V1__PingResponse *p = rpc_call_alloc(call, sizeof(*p));
	pp__v1__ping_response__init(p);
	p->node_id = "tracker";
	p->role = "tracker";
	call->resp.body_case = PP__V1__RESPONSE__BODY_PING;
	call->resp.ping = p;
}

static void t_replicas_added(void *svc, struct rpc_call *call)
{
	(void)svc;
	const Pp__V1__ReplicasAddedRequest *r = call->req->replicas_added;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < r->n_chunks && n_added < 64; i++) {
		snprintf(added_node[n_added], 16, "%s", r->node_id);
		snprintf(added_id[n_added], 65, "%s", r->chunks[i]->id);
		added_gen[n_added] = r->chunks[i]->gen;
		added_extra[n_added] = r->chunks[i]->extra;
		n_added++;
	}
	pthread_mutex_unlock(&lock);
}

static void t_inventory(void *svc, struct rpc_call *call)
{
	(void)svc;
	const Pp__V1__InventoryRequest *r = call->req->inventory;
	pthread_mutex_lock(&lock);
	if (r->last)
		inventories_done[node_index(r->node_id)]++;
	pthread_mutex_unlock(&lock);
}

static void t_chunk_corrupt(void *svc, struct rpc_call *call)
{
	(void)svc;
	pthread_mutex_lock(&lock);
	snprintf(corrupt_id, sizeof(corrupt_id), "%s", call->req->chunk_corrupt->chunk_id);
	if (n_corrupt < 16)
		snprintf(corrupt_ids[n_corrupt], 65, "%s", call->req->chunk_corrupt->chunk_id);
	n_corrupt++;
	pthread_mutex_unlock(&lock);
}

/* Every registered holder of the chunk, as an ok replica. */
static void t_locate(void *svc, struct rpc_call *call)
{
	(void)svc;
	const Pp__V1__LocateRequest *r = call->req->locate;
	Pp__V1__LocateResponse *lr = rpc_call_alloc(call, sizeof(*lr));
	pp__v1__locate_response__init(lr);
	lr->chunks = rpc_call_alloc(call, (r->n_chunk_ids + 1) * sizeof(*lr->chunks));
	pthread_mutex_lock(&lock);
	for (size_t c = 0; c < r->n_chunk_ids; c++) {
		Pp__V1__ChunkLocation *cl = rpc_call_alloc(call, sizeof(*cl));
		pp__v1__chunk_location__init(cl);
		cl->id = rpc_call_strdup(call, r->chunk_ids[c]);
		cl->replicas = rpc_call_alloc(call, 65 * sizeof(*cl->replicas));
		for (int i = 0; i < n_added; i++) {
			if (strcmp(added_id[i], r->chunk_ids[c]) != 0)
				continue;
			Pp__V1__Replica *rep = rpc_call_alloc(call, sizeof(*rep));
			pp__v1__replica__init(rep);
			rep->node = rpc_call_strdup(call, added_node[i]);
			rep->address = w_addr[node_index(added_node[i])];
			cl->replicas[cl->n_replicas++] = rep;
		}
		lr->chunks[lr->n_chunks++] = cl;
	}
	pthread_mutex_unlock(&lock);
	call->resp.body_case = PP__V1__RESPONSE__BODY_LOCATE;
	call->resp.locate = lr;
}

static void t_list(void *svc, struct rpc_call *call)
{
	(void)svc;
	Pp__V1__ListResponse *l = rpc_call_alloc(call, sizeof(*l));
	pp__v1__list_response__init(l);
	l->total = 42;
	call->resp.body_case = PP__V1__RESPONSE__BODY_LIST;
	call->resp.list = l;
}

static const struct rpc_route tracker_routes[] = {
	{PP__V1__REQUEST__BODY_PING, t_ping, "ping"},
	{PP__V1__REQUEST__BODY_REPLICAS_ADDED, t_replicas_added, "replicas_added"},
	{PP__V1__REQUEST__BODY_INVENTORY, t_inventory, "inventory"},
	{PP__V1__REQUEST__BODY_CHUNK_CORRUPT, t_chunk_corrupt, "chunk_corrupt"},
	{PP__V1__REQUEST__BODY_LOCATE, t_locate, "locate"},
	{PP__V1__REQUEST__BODY_LIST, t_list, "list"},
};

static struct rpc_server *tracker;
static struct rpc_peers *peers;
static struct auth open_auth;
static nng_socket bus;

/* A port nothing listens on: the kernel's pick for a socket bound to port
 * 0, released at once (the spawned process takes it moments later). */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void spawn_worker(int i)
{
	const char *bin = getenv("PP_BIN_DIR");
	char path[512], id[16];
	snprintf(path, sizeof(path), "%s/pp-worker", bin ? bin : ".");
	snprintf(id, sizeof(id), "w%d", i + 1);
	char *argv[] = {path, "--id", id, "--listen", w_addr[i], "--tracker", tracker_addr,
			"--bus", bus_addr, "--data", w_dir[i], "--heartbeat-ms", "100", NULL};
	setenv("PP_INVENTORY_INTERVAL_S", "30", 1);
	setenv("PP_SCRUB_INTERVAL_S", "1", 1);
	char logpath[256];
	snprintf(logpath, sizeof(logpath), "%s/w%d.log", tmpdir, i + 1);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
	assert_int_equal(posix_spawn(&w_pid[i], path, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	snprintf(tracker_addr, sizeof(tracker_addr), "tcp://127.0.0.1:%d", free_port());
	snprintf(bus_addr, sizeof(bus_addr), "tcp://127.0.0.1:%d", free_port());
	snprintf(dead_addr, sizeof(dead_addr), "tcp://127.0.0.1:%d", free_port()); /* nobody */
	for (int i = 0; i < 2; i++) {
		snprintf(w_addr[i], sizeof(w_addr[i]), "tcp://127.0.0.1:%d", free_port());
		snprintf(w_dir[i], sizeof(w_dir[i]), "%s/w%d", tmpdir, i + 1);
		spawn_worker(i); /* before any nng use in this process */
	}
	auth_init_open(&open_auth);
	struct rpc_server_config cfg = {
		.listen_url = tracker_addr,
		.component = "fake-tracker",
		.auth = &open_auth,
		.routes = tracker_routes,
		.route_count = sizeof(tracker_routes) / sizeof(tracker_routes[0]),
		.contexts = 8,
		.threads = 4,
		.max_msg_bytes = FRAME_MAX_BYTES,
	};
	assert_int_equal(rpc_server_start(&cfg, &tracker), PP_OK);
	assert_int_equal(nng_sub0_open(&bus), 0);
	nng_socket_set_size(bus, NNG_OPT_RECVMAXSZ, 65536);
	nng_socket_set(bus, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	nng_socket_set_ms(bus, NNG_OPT_RECVTIMEO, 3000);
	assert_int_equal(nng_listen(bus, bus_addr, NULL, 0), 0);
	assert_int_equal(rpc_peers_new(&peers), PP_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++) {
		if (w_pid[i] > 0) {
			kill(w_pid[i], SIGKILL);
			waitpid(w_pid[i], NULL, 0);
		}
	}
	rpc_peers_free(peers);
	nng_close(bus);
	rpc_server_stop(tracker);
	if (getenv("PP_KEEP_TMP") == NULL) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			return 0;
	}
	return 0;
}

static int call(int worker, Pp__V1__Request *req, const void *payload, size_t len,
		struct rpc_reply *reply)
{
	return rpc_call(peers, w_addr[worker], &open_auth, req, payload, len, 20000, reply);
}

static bool wait_until(bool (*cond)(void), int timeout_ms)
{
	int64_t deadline = time_mono_ms() + timeout_ms;
	while (time_mono_ms() < deadline) {
		if (cond())
			return true;
		time_sleep_ms(50);
	}
	return cond();
}

static bool inventories_in(void)
{
	pthread_mutex_lock(&lock);
	bool ok = inventories_done[0] > 0 && inventories_done[1] > 0;
	pthread_mutex_unlock(&lock);
	return ok;
}

static bool corrupt_reported(void)
{
	pthread_mutex_lock(&lock);
	bool ok = n_corrupt > 0;
	pthread_mutex_unlock(&lock);
	return ok;
}

static char *scrub_target;
/* The pulled copy of the first chunk went bad again: its second report. */
static bool id_reported_twice(void)
{
	int n = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < n_corrupt && i < 16; i++)
		n += strcmp(corrupt_ids[i], scrub_target) == 0;
	pthread_mutex_unlock(&lock);
	return n >= 2;
}

/* A worker reported chunk id corrupt to the tracker (waits up to 5 s). */
static bool wait_reported(const char *id)
{
	int64_t deadline = time_mono_ms() + 5000;
	for (;;) {
		bool seen = false;
		pthread_mutex_lock(&lock);
		for (int i = 0; i < n_corrupt && i < 16; i++)
			seen |= strcmp(corrupt_ids[i], id) == 0;
		pthread_mutex_unlock(&lock);
		if (seen || time_mono_ms() >= deadline)
			return seen;
		time_sleep_ms(20);
	}
}

static int count_added(const char *node, const char *id)
{
	int n = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < n_added; i++)
		n += strcmp(added_node[i], node) == 0 && strcmp(added_id[i], id) == 0;
	pthread_mutex_unlock(&lock);
	return n;
}

static void make_chunk(uint8_t *buf, size_t len, unsigned seed, char id[65])
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 131 + i * 13 + (i >> 9));
	sha256_hex(buf, len, id);
}

static int put(int worker, const char *id, const uint8_t *data, size_t len, char **forward,
	       size_t n_forward, struct rpc_reply *reply)
{
	Pp__V1__PutChunkRequest p = PP__V1__PUT_CHUNK_REQUEST__INIT;
	p.chunk_id = (char *)id;
	p.forward = forward;
	p.n_forward = n_forward;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_PUT_CHUNK;
	req.put_chunk = &p;
	return call(worker, &req, data, len, reply);
}

static int get(int worker, const char *id, uint32_t offset, uint32_t length, bool fetch,
	       struct rpc_reply *reply)
{
	Pp__V1__GetChunkRequest g = PP__V1__GET_CHUNK_REQUEST__INIT;
	g.chunk_id = (char *)id;
	g.offset = offset;
	g.length = length;
	g.fetch_missing = fetch;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_GET_CHUNK;
	req.get_chunk = &g;
	return call(worker, &req, NULL, 0, reply);
}

/* A reader's report: the worker re-verifies its own copy. */
static int verify(int worker, const char *id, struct rpc_reply *reply)
{
	Pp__V1__VerifyChunkRequest v = PP__V1__VERIFY_CHUNK_REQUEST__INIT;
	v.chunk_id = (char *)id;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_VERIFY_CHUNK;
	req.verify_chunk = &v;
	return call(worker, &req, NULL, 0, reply);
}

/* Registrations after a direct get arrive once the copy is durable, which
 * is after the reply: wait for them. */
static bool wait_added(const char *node, const char *id, int n)
{
	int64_t deadline = time_mono_ms() + 5000;
	while (count_added(node, id) < n && time_mono_ms() < deadline)
		time_sleep_ms(20);
	return count_added(node, id) == n;
}

static void chunk_path(int worker, const char *sub, const char *id, char *out, size_t len)
{
	if (sub)
		snprintf(out, len, "%s/%s/%s", w_dir[worker], sub, id);
	else
		snprintf(out, len, "%s/chunks/%.2s/%.2s/%s", w_dir[worker], id, id + 2, id);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* The latest registration of chunk id by node: its gen, and whether extra. */
static uint64_t last_added(const char *node, const char *id, bool *extra)
{
	uint64_t gen = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < n_added; i++) {
		if (strcmp(added_node[i], node) == 0 && strcmp(added_id[i], id) == 0) {
			gen = added_gen[i];
			if (extra)
				*extra = added_extra[i];
		}
	}
	pthread_mutex_unlock(&lock);
	return gen;
}

static void test_worker_serves_the_chunk_protocol(void **state)
{
	(void)state;
	struct rpc_reply r;
	/* Liveness: both workers publish heartbeats describing themselves. */
	bool seen[2] = {false, false};
	for (int k = 0; k < 100 && !(seen[0] && seen[1]); k++) {
		nng_msg *m;
		assert_int_equal(nng_recvmsg(bus, &m, 0), 0);
		struct frame_view v;
		const char *why;
		assert_int_equal(frame_open(m, &open_auth, false, &v, &why), PP_OK);
		Pp__V1__Heartbeat *hb = pp__v1__heartbeat__unpack(NULL, v.pb_len, v.pb);
		assert_non_null(hb);
		int i = node_index(hb->node_id);
		assert_string_equal(hb->address, w_addr[i]);
		assert_string_equal(hb->zone, "default");
		assert_true(hb->capacity > 0);
		assert_true(hb->started_at_ms > 0);
		seen[i] = true;
		pp__v1__heartbeat__free_unpacked(hb, NULL);
		nng_msg_free(m);
	}
	assert_true(seen[0] && seen[1]);
	assert_true(wait_until(inventories_in, 10000));

	/* ping answers as the worker itself. */
	Pp__V1__PingRequest ping = PP__V1__PING_REQUEST__INIT;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	assert_int_equal(call(0, &req, NULL, 0, &r), PP_OK);
	assert_string_equal(r.resp->ping->node_id, "w1");
	assert_string_equal(r.resp->ping->role, "worker");
	rpc_reply_free(&r);

	/* Pipelined put: w1 stores and forwards to w2; both are registered. */
	static uint8_t data[300000];
	char id[65], path[512];
	make_chunk(data, sizeof(data), 1, id);
	char *fwd[] = {w_addr[1]};
	assert_int_equal(put(0, id, data, sizeof(data), fwd, 1, &r), PP_OK);
	assert_int_equal(r.resp->put_chunk->n_stored_on, 2);
	assert_string_equal(r.resp->put_chunk->stored_on[0], "w1");
	assert_string_equal(r.resp->put_chunk->stored_on[1], "w2");
	rpc_reply_free(&r);
	assert_int_equal(count_added("w1", id), 1);
	assert_int_equal(count_added("w2", id), 1);
	chunk_path(0, NULL, id, path, sizeof(path));
	assert_true(exists(path));
	chunk_path(1, NULL, id, path, sizeof(path));
	assert_true(exists(path));

	/* Bytes that do not hash to the id are refused and not forwarded. */
	char other[65];
	make_chunk(data, sizeof(data), 2, other);
	assert_int_equal(put(0, id, data, sizeof(data), fwd, 1, &r), PP_EINTEGRITY);
	rpc_reply_free(&r);
	chunk_path(1, NULL, other, path, sizeof(path));
	assert_false(exists(path));
	make_chunk(data, sizeof(data), 1, id);

	/* A forward to a dead node still stores here and says so. */
	char *dead[] = {dead_addr};
	assert_int_equal(put(1, id, data, sizeof(data), dead, 1, &r), PP_OK);
	assert_int_equal(r.resp->put_chunk->n_stored_on, 1);
	assert_string_equal(r.resp->put_chunk->stored_on[0], "w2");
	rpc_reply_free(&r);

	/* Ranged reads. */
	assert_int_equal(get(1, id, 1000, 500, false, &r), PP_OK);
	assert_int_equal(r.resp->get_chunk->size, sizeof(data));
	assert_int_equal(r.payload_len, 500);
	assert_memory_equal(r.payload, data + 1000, 500);
	rpc_reply_free(&r);
	assert_int_equal(get(1, id, 299990, 0, false, &r), PP_OK);
	assert_int_equal(r.payload_len, 10);
	assert_memory_equal(r.payload, data + 299990, 10);
	rpc_reply_free(&r);
	assert_int_equal(get(1, id, sizeof(data) + 1, 0, false, &r), PP_EINVAL);
	rpc_reply_free(&r);
	assert_int_equal(get(1, "../../etc/passwd", 0, 0, false, &r), PP_EINVAL);
	rpc_reply_free(&r);

	/* A flipped byte on w1. A whole chunk goes out as stored (one hash per
	 * byte: its reader checks it against the id)... */
	chunk_path(0, NULL, id, path, sizeof(path));
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, 12345), 1);
	b ^= 0x80;
	assert_int_equal(pwrite(fd, &b, 1, 12345), 1);
	close(fd);
	assert_int_equal(get(0, id, 0, 0, false, &r), PP_OK);
	assert_int_equal(r.payload_len, sizeof(data));
	assert_true(memcmp(r.payload, data, sizeof(data)) != 0);
	rpc_reply_free(&r);
	assert_true(exists(path));
	/* ...and a reader's report is checked, not trusted: w2's copy is good
	 * and stays. */
	assert_int_equal(verify(1, id, &r), PP_OK);
	assert_true(r.resp->verify_chunk->held);
	assert_false(r.resp->verify_chunk->corrupt);
	rpc_reply_free(&r);
	char path2[512];
	chunk_path(1, NULL, id, path2, sizeof(path2));
	assert_true(exists(path2));
	/* A range cannot be checked by its reader, so w1 hashes it: never
	 * served, quarantined, reported. */
	assert_int_equal(get(0, id, 1000, 500, false, &r), PP_EINTEGRITY);
	assert_int_equal(r.payload_len, 0);
	rpc_reply_free(&r);
	assert_false(exists(path));
	chunk_path(0, "quarantine", id, path, sizeof(path));
	assert_true(exists(path));
	assert_true(wait_until(corrupt_reported, 5000));
	assert_string_equal(corrupt_id, id);
	assert_int_equal(verify(0, id, &r), PP_OK);
	assert_false(r.resp->verify_chunk->held);
	rpc_reply_free(&r);

	/* Repair: pull from w2, verified, registered again. */
	Pp__V1__PullChunkRequest pull = PP__V1__PULL_CHUNK_REQUEST__INIT;
	pull.chunk_id = id;
	char *sources[] = {dead_addr, w_addr[1]};
	pull.sources = sources;
	pull.n_sources = 2;
	pull.size = sizeof(data);
	req.body_case = PP__V1__REQUEST__BODY_PULL_CHUNK;
	req.pull_chunk = &pull;
	assert_int_equal(call(0, &req, NULL, 0, &r), PP_OK);
	rpc_reply_free(&r);
	assert_int_equal(count_added("w1", id), 2);
	assert_int_equal(get(0, id, 0, 0, false, &r), PP_OK);
	assert_int_equal(r.payload_len, sizeof(data));
	assert_memory_equal(r.payload, data, sizeof(data));
	rpc_reply_free(&r);
	/* Pulling what is held is immediate. */
	assert_int_equal(call(0, &req, NULL, 0, &r), PP_OK);
	rpc_reply_free(&r);

	/* Direct access: w1 lacks a chunk that only w2 holds. */
	static uint8_t solo[70000];
	char solo_id[65];
	make_chunk(solo, sizeof(solo), 3, solo_id);
	assert_int_equal(put(1, solo_id, solo, sizeof(solo), NULL, 0, &r), PP_OK);
	rpc_reply_free(&r);
	assert_int_equal(get(0, solo_id, 0, 0, false, &r), PP_ENOTFOUND);
	rpc_reply_free(&r);
	assert_int_equal(get(0, solo_id, 100, 50, true, &r), PP_OK);
	assert_true(r.resp->get_chunk->fetched);
	assert_int_equal(r.resp->get_chunk->size, sizeof(solo));
	assert_int_equal(r.payload_len, 50);
	assert_memory_equal(r.payload, solo + 100, 50);
	rpc_reply_free(&r);
	assert_true(wait_added("w1", solo_id, 1));
	bool extra = false;
	uint64_t extra_gen = last_added("w1", solo_id, &extra);
	assert_true(extra && extra_gen > 0);
	chunk_path(0, "extra", solo_id, path, sizeof(path));
	assert_true(exists(path));
	/* A pull of a chunk held as an extra copy claims it: a regular copy
	 * under a new gen, registered as such, with no transfer. */
	pull.chunk_id = solo_id;
	pull.sources = NULL;
	pull.n_sources = 0;
	assert_int_equal(call(0, &req, NULL, 0, &r), PP_OK);
	rpc_reply_free(&r);
	uint64_t claimed_gen = last_added("w1", solo_id, &extra);
	assert_false(extra);
	assert_true(claimed_gen > extra_gen);
	assert_false(exists(path));
	/* Direct access to a corrupt copy: the bytes go out as stored, the
	 * reader's verify_chunk makes w1 check and quarantine its copy, and the
	 * reader asking again gets a fresh one pulled from w2. */
	chunk_path(0, NULL, solo_id, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 0), 1);
	close(fd);
	assert_int_equal(get(0, solo_id, 0, 0, true, &r), PP_OK);
	assert_false(r.resp->get_chunk->fetched);
	assert_true(memcmp(r.payload, solo, sizeof(solo)) != 0);
	rpc_reply_free(&r);
	assert_int_equal(verify(0, solo_id, &r), PP_OK);
	assert_true(r.resp->verify_chunk->held);
	assert_true(r.resp->verify_chunk->corrupt);
	rpc_reply_free(&r);
	chunk_path(0, "quarantine", solo_id, path, sizeof(path));
	assert_true(exists(path));
	assert_int_equal(get(0, solo_id, 0, 0, true, &r), PP_OK);
	assert_true(r.resp->get_chunk->fetched);
	assert_int_equal(r.payload_len, sizeof(solo));
	assert_memory_equal(r.payload, solo, sizeof(solo));
	rpc_reply_free(&r);
	assert_true(wait_added("w1", solo_id, 3));

	/* has / delete. */
	char *ids[] = {solo_id, other};
	Pp__V1__HasChunksRequest has = PP__V1__HAS_CHUNKS_REQUEST__INIT;
	has.chunk_ids = ids;
	has.n_chunk_ids = 2;
	req.body_case = PP__V1__REQUEST__BODY_HAS_CHUNKS;
	req.has_chunks = &has;
	assert_int_equal(call(0, &req, NULL, 0, &r), PP_OK);
	assert_int_equal(r.resp->has_chunks->n_present, 2);
	assert_true(r.resp->has_chunks->present[0]);
	assert_false(r.resp->has_chunks->present[1]);
	rpc_reply_free(&r);
	/* A delete names the copy: without gens it is refused, an older gen
	 * (a copy written again since) leaves the copy, the right one goes. */
	Pp__V1__DeleteChunksRequest del = PP__V1__DELETE_CHUNKS_REQUEST__INIT;
	uint64_t gens[1] = {claimed_gen};
	del.chunk_ids = ids;
	del.n_chunk_ids = 1;
	req.body_case = PP__V1__REQUEST__BODY_DELETE_CHUNKS;
	req.delete_chunks = &del;
	assert_int_equal(call(0, &req, NULL, 0, &r), PP_EINVAL);
	rpc_reply_free(&r);
	chunk_path(0, NULL, solo_id, path, sizeof(path));
	assert_true(exists(path));
	uint64_t current_gen = last_added("w1", solo_id, NULL); /* the corrupt copy's refetch */
	assert_true(current_gen > claimed_gen);
	del.gens = gens;
	del.n_gens = 1;
	assert_int_equal(call(0, &req, NULL, 0, &r), PP_OK);
	assert_int_equal(r.resp->delete_chunks->n_gone, 1);
	assert_true(r.resp->delete_chunks->gone[0]);
	rpc_reply_free(&r);
	assert_true(exists(path));
	gens[0] = current_gen;
	assert_int_equal(call(0, &req, NULL, 0, &r), PP_OK);
	assert_true(r.resp->delete_chunks->gone[0]);
	rpc_reply_free(&r);
	assert_false(exists(path));

	/* The scrubber finds a bad copy nobody reads. */
	scrub_target = id;
	chunk_path(0, NULL, id, path, sizeof(path));
	assert_true(exists(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\x01\x02", 2, 777), 2);
	close(fd);
	assert_true(wait_until(id_reported_twice, 10000));
	assert_false(exists(path));
	chunk_path(0, "quarantine", id, path, sizeof(path));
	assert_true(exists(path));

	/* A corrupt source is caught by its receiver: w1 pulls a chunk only w2
	 * holds (a direct get), the bytes fail w1's check, w1 asks w2 to verify
	 * and w2 quarantines its copy and reports it. Nothing reaches the reader. */
	static uint8_t bad_src[50000];
	char bad_id[65];
	make_chunk(bad_src, sizeof(bad_src), 4, bad_id);
	assert_int_equal(put(1, bad_id, bad_src, sizeof(bad_src), NULL, 0, &r), PP_OK);
	rpc_reply_free(&r);
	chunk_path(1, NULL, bad_id, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "Y", 1, 4242), 1);
	close(fd);
	assert_int_not_equal(get(0, bad_id, 0, 0, true, &r), PP_OK);
	assert_int_equal(r.payload_len, 0);
	rpc_reply_free(&r);
	assert_false(exists(path));
	chunk_path(1, "quarantine", bad_id, path, sizeof(path));
	assert_true(exists(path));
	chunk_path(0, NULL, bad_id, path, sizeof(path));
	assert_false(exists(path));
	assert_true(wait_reported(bad_id));

	/* put_chunks: three chunks in one frame down a pipeline of two, each
	 * stored on both and registered; a chunk that does not match its id
	 * stops the batch before it travels; sizes must describe the payload. */
	{
		static uint8_t three[3 * 5000];
		char tid[3][65];
		Pp__V1__ChunkRef refs[3], *refp[3];
		for (int i = 0; i < 3; i++) {
			make_chunk(three + i * 5000, 5000, 20 + (unsigned)i, tid[i]);
			pp__v1__chunk_ref__init(&refs[i]);
			refs[i].id = tid[i];
			refs[i].size = 5000;
			refp[i] = &refs[i];
		}
		Pp__V1__PutChunksRequest pc = PP__V1__PUT_CHUNKS_REQUEST__INIT;
		pc.chunks = refp;
		pc.n_chunks = 3;
		char *fwd2[] = {w_addr[1]};
		pc.forward = fwd2;
		pc.n_forward = 1;
		req.body_case = PP__V1__REQUEST__BODY_PUT_CHUNKS;
		req.put_chunks = &pc;
		assert_int_equal(call(0, &req, three, sizeof(three), &r), PP_OK);
		assert_int_equal(r.resp->put_chunks->n_stored, 3);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(r.resp->put_chunks->stored[i], 2);
			assert_int_equal(count_added("w1", tid[i]), 1);
			assert_int_equal(count_added("w2", tid[i]), 1);
			chunk_path(1, NULL, tid[i], path, sizeof(path));
			assert_true(exists(path));
		}
		rpc_reply_free(&r);
		three[7000] ^= 1; /* chunk 1 */
		assert_int_equal(call(0, &req, three, sizeof(three), &r), PP_EINTEGRITY);
		rpc_reply_free(&r);
		three[7000] ^= 1;
		assert_int_equal(call(0, &req, three, sizeof(three) - 1, &r), PP_EINVAL);
		rpc_reply_free(&r);
	}

	/* Tracker queries pass through a worker unchanged. */
	Pp__V1__ListRequest list = PP__V1__LIST_REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_LIST;
	req.list = &list;
	assert_int_equal(call(1, &req, NULL, 0, &r), PP_OK);
	assert_int_equal(r.resp->body_case, PP__V1__RESPONSE__BODY_LIST);
	assert_int_equal(r.resp->list->total, 42);
	rpc_reply_free(&r);

	/* SIGTERM stops a worker cleanly. */
	kill(w_pid[1], SIGTERM);
	int status = 0;
	assert_int_equal(waitpid(w_pid[1], &status, 0), w_pid[1]);
	w_pid[1] = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_worker_serves_the_chunk_protocol, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
