/* pp_wire_probe: speaks the real wire protocol (common/frame.h) to one
 * service and tries one attack, for tests/integration/test_security_*.sh.
 *
 * Exit codes say what the peer did, so a shell test can assert on them:
 *   0 the peer behaved as required (answered a ping; refused the attack with
 *     AUTH_REFUSED; dropped an oversized frame and kept answering; ignored a
 *     forged heartbeat), 1 usage or local setup error, 2 the peer ACCEPTED
 *     the attack, 3 the peer did not answer at all, 4 an unexpected answer. */
#define _GNU_SOURCE
#include "auth.h"
#include "errors.h"
#include "frame.h"
#include "log.h"
#include "pp/v1/bus.pb-c.h"
#include "pp/v1/rpc.pb-c.h"
#include "rpc_client.h"
#include "rpc_peer.h"
#include "timeutil.h"

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum probe_exit { X_OK = 0, X_USAGE = 1, X_ACCEPTED = 2, X_NO_ANSWER = 3, X_UNEXPECTED = 4 };

#define PROBE_TIMEOUT_MS 5000
#define STALE_AGE_MS (10 * 60 * 1000)

struct probe {
	const char *address; /* RPC address (tracker or worker) */
	const char *bus;     /* tracker bus, for heartbeat modes */
	const char *node_id; /* node id a forged heartbeat claims */
	size_t oversize_bytes;
	struct auth auth; /* the cluster key (or open) */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: pp_wire_probe [--key-file PATH] [--bus ADDR] [--node-id ID] [--bytes N]\n"
		"                     ADDRESS MODE\n"
		"modes: ping, replay, stale, unsigned, oversize, heartbeat-forge, heartbeat\n"
		"  ping             signed ping; 0 when answered OK\n"
		"  replay           a signed ping, then its exact bytes on a fresh connection;\n"
		"                   0 when the copy is refused with AUTH_REFUSED\n"
		"  stale            a correctly signed ping 10 minutes old; 0 when refused\n"
		"  unsigned         a ping without a MAC; 0 when refused\n"
		"  oversize         a frame of --bytes bytes (default: the largest frame + 1);\n"
		"                   0 when it gets no answer and a ping afterwards does\n"
		"  heartbeat-forge  heartbeats signed with a random wrong key to --bus for\n"
		"                   --node-id; 0 when ADDRESS (the tracker) never lists it\n"
		"  heartbeat        the same with the right key (the control); 0 when listed\n"
		"exit: 0 as required, 1 usage, 2 attack accepted, 3 no answer, 4 unexpected\n");
}

/* A framed PingRequest: signed with `a` (NULL: unsigned). */
static int ping_frame(struct auth *a, nng_msg **out)
{
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	Pp__V1__PingRequest ping = PP__V1__PING_REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	return pbc_frame(a, &req.base, NULL, 0, out);
}

/* Sends m (ownership taken) on a fresh connection and returns the reply's
 * wire status in *status, or PP_EUNAVAIL when nothing came back. The reply's
 * signature is checked only when `a` is keyed and the reply is signed:
 * refusals come back unsigned by design (DESIGN.md, "Wire"). */
static int send_raw(const char *address, struct auth *a, nng_msg *m, int *status)
{
	struct rpc_peer *peer = NULL;
	nng_msg *reply = NULL;
	int rc = rpc_peer_open(address, &peer);
	if (rc != PP_OK) {
		nng_msg_free(m);
		return rc;
	}
	rc = rpc_peer_call(peer, m, &reply, PROBE_TIMEOUT_MS);
	if (rc != PP_OK)
		goto out;
	struct frame_view v = {0};
	const char *why = NULL;
	rc = frame_open(reply, a, false, &v, &why);
	if (rc == PP_EAUTH && !v.is_signed)
		rc = PP_OK; /* an unsigned refusal: read its status below */
	if (rc != PP_OK) {
		fprintf(stderr, "probe: reply refused: %s\n", why ? why : "?");
		rc = PP_EINVAL;
		goto out;
	}
	Pp__V1__Response *resp = pp__v1__response__unpack(NULL, v.pb_len, v.pb);
	if (resp == NULL) {
		fprintf(stderr, "probe: reply is not a Response\n");
		rc = PP_EINVAL;
		goto out;
	}
	*status = (int)resp->status;
	if (resp->status != PP__V1__STATUS__STATUS_OK)
		fprintf(stderr, "probe: peer answered status %d: %s\n", (int)resp->status,
			resp->error ? resp->error : "");
	else if (v.is_signed != (a != NULL && a->enabled)) {
		fprintf(stderr, "probe: an OK reply %s signed\n", v.is_signed ? "was" : "was not");
		*status = -1;
	}
	pp__v1__response__free_unpacked(resp, NULL);
out:
	if (reply)
		nng_msg_free(reply);
	rpc_peer_close(peer);
	return rc;
}

/* Maps the status an attack frame got to an exit code. */
static int refused_exit(int rc, int status)
{
	if (rc == PP_EUNAVAIL)
		return X_NO_ANSWER;
	if (rc != PP_OK)
		return X_UNEXPECTED;
	if (status == PP__V1__STATUS__STATUS_AUTH_REFUSED) {
		printf("refused\n");
		return X_OK;
	}
	if (status == PP__V1__STATUS__STATUS_OK) {
		printf("ACCEPTED\n");
		return X_ACCEPTED;
	}
	return X_UNEXPECTED;
}

static int mode_ping(struct probe *p)
{
	nng_msg *m;
	int status = -1;
	if (ping_frame(&p->auth, &m) != PP_OK)
		return X_USAGE;
	int rc = send_raw(p->address, &p->auth, m, &status);
	if (rc == PP_EUNAVAIL)
		return X_NO_ANSWER;
	if (rc != PP_OK || status != PP__V1__STATUS__STATUS_OK)
		return X_UNEXPECTED;
	printf("pong\n");
	return X_OK;
}

static int mode_replay(struct probe *p)
{
	nng_msg *m, *copy;
	int status = -1;
	if (!p->auth.enabled) {
		fprintf(stderr, "probe: replay needs --key-file (open clusters accept anything)\n");
		return X_USAGE;
	}
	if (ping_frame(&p->auth, &m) != PP_OK || nng_msg_dup(&copy, m) != 0)
		return X_USAGE;
	int rc = send_raw(p->address, &p->auth, m, &status);
	if (rc != PP_OK || status != PP__V1__STATUS__STATUS_OK) {
		fprintf(stderr, "probe: the original signed ping was not answered OK\n");
		nng_msg_free(copy);
		return rc == PP_EUNAVAIL ? X_NO_ANSWER : X_UNEXPECTED;
	}
	status = -1;
	rc = send_raw(p->address, &p->auth, copy, &status);
	return refused_exit(rc, status);
}

/* A ping frame signed with the right key but carrying a timestamp
 * STALE_AGE_MS in the past: built unsigned, then the header is rewritten
 * and the mac appended exactly as frame_seal would. */
static int mode_stale(struct probe *p)
{
	nng_msg *m;
	int status = -1;
	if (!p->auth.enabled) {
		fprintf(stderr, "probe: stale needs --key-file\n");
		return X_USAGE;
	}
	if (ping_frame(NULL, &m) != PP_OK)
		return X_USAGE;
	uint8_t *h = nng_msg_body(m);
	uint64_t ts = (uint64_t)(time_wall_ms() - STALE_AGE_MS);
	h[3] = FRAME_FLAG_SIGNED;
	for (int i = 0; i < 8; i++)
		h[12 + i] = (uint8_t)(ts >> (56 - 8 * i));
	uint8_t mac[AUTH_MAC_BYTES];
	auth_mac(&p->auth, nng_msg_body(m), nng_msg_len(m), mac);
	if (nng_msg_append(m, mac, sizeof(mac)) != 0) {
		nng_msg_free(m);
		return X_USAGE;
	}
	/* Our own checker must call it well formed and stale, not malformed. */
	struct frame_view v;
	const char *why = NULL;
	if (frame_open(m, &p->auth, false, &v, &why) != PP_EAUTH || strcmp(why, "stale timestamp") != 0) {
		fprintf(stderr, "probe: built a wrong stale frame (%s)\n", why ? why : "accepted");
		nng_msg_free(m);
		return X_USAGE;
	}
	int rc = send_raw(p->address, &p->auth, m, &status);
	return refused_exit(rc, status);
}

static int mode_unsigned(struct probe *p)
{
	nng_msg *m;
	int status = -1;
	if (ping_frame(NULL, &m) != PP_OK)
		return X_USAGE;
	int rc = send_raw(p->address, &p->auth, m, &status);
	return refused_exit(rc, status);
}

/* A well-formed signed ping whose payload makes the message larger than the
 * receiver's NNG_OPT_RECVMAXSZ: nng closes that connection without handing
 * the message up, so no reply comes back. frame_start refuses payloads over
 * PP_CHUNK_SIZE_MAX, so the header is built by hand here. */
static int mode_oversize(struct probe *p)
{
	size_t total = p->oversize_bytes ? p->oversize_bytes : FRAME_MAX_BYTES + 1;
	nng_msg *pb_only, *m;
	if (total < FRAME_HEADER_BYTES + 64 || ping_frame(NULL, &pb_only) != PP_OK)
		return X_USAGE;
	size_t pb_len = nng_msg_len(pb_only) - FRAME_HEADER_BYTES;
	size_t mac_len = p->auth.enabled ? AUTH_MAC_BYTES : 0;
	if (total < FRAME_HEADER_BYTES + pb_len + mac_len || nng_msg_alloc(&m, total - mac_len) != 0) {
		nng_msg_free(pb_only);
		return X_USAGE;
	}
	uint8_t *h = nng_msg_body(m);
	size_t payload_len = total - mac_len - FRAME_HEADER_BYTES - pb_len;
	memcpy(h, nng_msg_body(pb_only), FRAME_HEADER_BYTES);
	memset(h + FRAME_HEADER_BYTES, 'x', payload_len);
	memcpy(h + FRAME_HEADER_BYTES + payload_len, (uint8_t *)nng_msg_body(pb_only) + FRAME_HEADER_BYTES,
	       pb_len);
	nng_msg_free(pb_only);
	h[8] = (uint8_t)(payload_len >> 24);
	h[9] = (uint8_t)(payload_len >> 16);
	h[10] = (uint8_t)(payload_len >> 8);
	h[11] = (uint8_t)payload_len;
	if (p->auth.enabled) {
		h[3] = FRAME_FLAG_SIGNED;
		uint8_t mac[AUTH_MAC_BYTES];
		auth_mac(&p->auth, h, nng_msg_len(m), mac);
		if (nng_msg_append(m, mac, sizeof(mac)) != 0) {
			nng_msg_free(m);
			return X_USAGE;
		}
	}
	int status = -1;
	int rc = send_raw(p->address, &p->auth, m, &status);
	if (rc == PP_OK) {
		/* Any answer means the peer read all of it into memory. */
		fprintf(stderr, "probe: a %zu-byte frame was answered (status %d)\n", total, status);
		printf("ACCEPTED\n");
		return X_ACCEPTED;
	}
	printf("dropped %zu bytes\n", total);
	return mode_ping(p);
}

/* Lists the tracker's nodes with the right key; *found tells whether id is
 * among them. */
static int tracker_lists(struct probe *p, const char *id, bool *found)
{
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	Pp__V1__NodesRequest nodes = PP__V1__NODES_REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_NODES;
	req.nodes = &nodes;
	struct rpc_peer *peer;
	struct rpc_reply r;
	if (rpc_peer_open(p->address, &peer) != PP_OK)
		return PP_EUNAVAIL;
	int rc = rpc_call_peer(peer, &p->auth, &req, NULL, 0, PROBE_TIMEOUT_MS, &r);
	if (rc == PP_OK && r.resp->body_case != PP__V1__RESPONSE__BODY_NODES)
		rc = PP_EINVAL;
	*found = false;
	if (rc == PP_OK)
		for (size_t i = 0; i < r.resp->nodes->n_nodes; i++)
			if (strcmp(r.resp->nodes->nodes[i]->id, id) == 0)
				*found = true;
	rpc_reply_free(&r);
	rpc_peer_close(peer);
	return rc;
}

/* Publishes heartbeats for node_id on the bus for ~3 s, signed with the
 * cluster key (forge == false) or a random key (forge == true), then asks
 * the tracker whether the node is listed. */
static int mode_heartbeat(struct probe *p, bool forge)
{
	if (p->bus == NULL) {
		fprintf(stderr, "probe: heartbeat modes need --bus\n");
		return X_USAGE;
	}
	struct auth wrong;
	struct auth *signer = &p->auth;
	if (forge) {
		auth_init_open(&wrong);
		auth_random(wrong.key, 32);
		wrong.key_len = 32;
		wrong.enabled = true;
		signer = &wrong;
	}
	nng_socket pub;
	int exit_code = X_USAGE;
	if (nng_pub0_open(&pub) != 0)
		return X_USAGE;
	nng_socket_set_size(pub, NNG_OPT_RECVMAXSZ, 4096);
	if (nng_dial(pub, p->bus, NULL, NNG_FLAG_NONBLOCK) != 0) {
		fprintf(stderr, "probe: cannot dial %s\n", p->bus);
		goto out;
	}
	Pp__V1__Heartbeat hb = PP__V1__HEARTBEAT__INIT;
	hb.node_id = (char *)p->node_id;
	hb.address = "tcp://127.0.0.1:9";
	hb.zone = "";
	hb.capacity = 1ull << 40;
	hb.started_at_ms = time_wall_ms();
	bool listed = false;
	for (int i = 0; i < 30 && !listed; i++) {
		nng_msg *m;
		if (pbc_frame(signer, &hb.base, NULL, 0, &m) != PP_OK)
			goto out;
		if (nng_sendmsg(pub, m, 0) != 0)
			nng_msg_free(m);
		time_sleep_ms(100);
		if (i % 5 == 4) {
			int rc = tracker_lists(p, p->node_id, &listed);
			if (rc != PP_OK) {
				fprintf(stderr, "probe: the tracker did not list nodes: %s\n", pp_strerror(rc));
				exit_code = rc == PP_EUNAVAIL ? X_NO_ANSWER : X_UNEXPECTED;
				goto out;
			}
		}
	}
	printf("%s %s\n", p->node_id, listed ? "listed" : "not listed");
	if (forge)
		exit_code = listed ? X_ACCEPTED : X_OK;
	else
		exit_code = listed ? X_OK : X_UNEXPECTED;
out:
	nng_close(pub);
	if (forge)
		auth_free(&wrong);
	return exit_code;
}

int main(int argc, char **argv)
{
	struct probe p = {.node_id = "forged-node"};
	const char *key_file = NULL;
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--help") == 0) {
			usage();
			return X_OK;
		}
		if (i + 1 >= argc) {
			usage();
			return X_USAGE;
		}
		if (strcmp(argv[i], "--key-file") == 0)
			key_file = argv[i + 1];
		else if (strcmp(argv[i], "--bus") == 0)
			p.bus = argv[i + 1];
		else if (strcmp(argv[i], "--node-id") == 0)
			p.node_id = argv[i + 1];
		else if (strcmp(argv[i], "--bytes") == 0)
			p.oversize_bytes = strtoull(argv[i + 1], NULL, 10);
		else {
			fprintf(stderr, "probe: unknown flag %s\n", argv[i]);
			usage();
			return X_USAGE;
		}
	}
	if (argc - i != 2) {
		usage();
		return X_USAGE;
	}
	p.address = argv[i];
	const char *mode = argv[i + 1];
	log_init("probe");
	log_set_level(LOG_ERROR);
	if (key_file) {
		char err[512];
		if (auth_init_key_file(&p.auth, key_file, err, sizeof(err)) != PP_OK) {
			fprintf(stderr, "probe: %s\n", err);
			return X_USAGE;
		}
	} else {
		auth_init_open(&p.auth);
	}
	int rc;
	if (strcmp(mode, "ping") == 0)
		rc = mode_ping(&p);
	else if (strcmp(mode, "replay") == 0)
		rc = mode_replay(&p);
	else if (strcmp(mode, "stale") == 0)
		rc = mode_stale(&p);
	else if (strcmp(mode, "unsigned") == 0)
		rc = mode_unsigned(&p);
	else if (strcmp(mode, "oversize") == 0)
		rc = mode_oversize(&p);
	else if (strcmp(mode, "heartbeat-forge") == 0)
		rc = mode_heartbeat(&p, true);
	else if (strcmp(mode, "heartbeat") == 0)
		rc = mode_heartbeat(&p, false);
	else {
		fprintf(stderr, "probe: unknown mode %s\n", mode);
		usage();
		rc = X_USAGE;
	}
	auth_free(&p.auth);
	return rc;
}
