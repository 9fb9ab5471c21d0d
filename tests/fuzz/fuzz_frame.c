/* Fuzz target: the frame checker every service runs on every message it
 * receives (common/frame.h), keyed and open. Must never crash, read out of
 * bounds or accept a frame whose lengths do not add up. The input is also
 * re-signed with the right key (lengths fixed up, mac appended) so the
 * checks behind the signature — clock window on any u64 timestamp, nonce
 * cache — see fuzzer-chosen values too, as they would from a key holder. */
#include "auth.h"
#include "errors.h"
#include "frame.h"
#include "timeutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct auth keyed_auth, open_auth;
static int initialized;

static void init_auth(void)
{
	auth_init_open(&open_auth);
	auth_init_open(&keyed_auth);
	memcpy(keyed_auth.key, "fuzzing-cluster-key-0123456789", 30);
	keyed_auth.key_len = 30;
	keyed_auth.enabled = 1;
	keyed_auth.nonces = calloc(AUTH_NONCE_CACHE, sizeof(*keyed_auth.nonces));
	initialized = 1;
}

static void put_u32(uint8_t *p, uint32_t x)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(x >> (24 - 8 * i));
}

/* The input as a correctly signed frame. Header flag bit 7 (unused by the
 * format) asks for a timestamp near now, offset by the low byte of the
 * input's timestamp field, so the nonce cache is reached as well. A frame
 * with a fresh nonce must be accepted; the same bytes again must not. */
static void open_signed(const uint8_t *data, size_t size, struct frame_view *v)
{
	nng_msg *m;
	if (nng_msg_alloc(&m, size) != 0)
		return;
	uint8_t *h = nng_msg_body(m);
	memcpy(h, data, size);
	bool near_now = (h[3] & 0x80) != 0;
	h[0] = 'P';
	h[1] = 'P';
	h[2] = FRAME_VERSION;
	h[3] = FRAME_FLAG_SIGNED;
	size_t rest = size - FRAME_HEADER_BYTES;
	uint32_t payload_len = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11];
	if (payload_len > rest)
		payload_len = (uint32_t)rest;
	put_u32(h + 8, payload_len);
	put_u32(h + 4, (uint32_t)(rest - payload_len));
	if (near_now) {
		uint64_t ts = (uint64_t)(time_wall_ms() + (int8_t)h[19] * 1000);
		put_u32(h + 12, (uint32_t)(ts >> 32));
		put_u32(h + 16, (uint32_t)ts);
	}
	uint8_t mac[AUTH_MAC_BYTES];
	auth_mac(&keyed_auth, h, size, mac);
	if (nng_msg_append(m, mac, sizeof(mac)) != 0) {
		nng_msg_free(m);
		return;
	}
	const char *why = NULL;
	int rc = frame_open(m, &keyed_auth, 1, v, &why);
	if (rc == PP_OK) {
		if (!v->is_signed || v->pb_len != rest - payload_len || v->payload_len != payload_len)
			abort();
		/* The exact same bytes again are a replay. */
		if (frame_open(m, &keyed_auth, 1, v, &why) != PP_EAUTH)
			abort();
	} else if (rc != PP_EAUTH) {
		abort(); /* lengths were made to add up: only auth may refuse */
	}
	nng_msg_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!initialized)
		init_auth();
	nng_msg *m;
	if (nng_msg_alloc(&m, size) != 0)
		return 0;
	if (size)
		memcpy(nng_msg_body(m), data, size);
	struct frame_view v;
	const char *why;
	if (frame_open(m, &open_auth, 1, &v, &why) == PP_OK) {
		if (v.pb + v.pb_len > (const uint8_t *)nng_msg_body(m) + size ||
		    v.payload + v.payload_len > v.pb)
			abort();
	}
	(void)frame_open(m, &keyed_auth, 1, &v, &why);
	nng_msg_free(m);
	if (size >= FRAME_HEADER_BYTES)
		open_signed(data, size, &v);
	return 0;
}
