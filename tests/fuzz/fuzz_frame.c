/* Fuzz target: the frame checker every service runs on every message it
 * receives (common/frame.h), keyed and open. Must never crash, read out of
 * bounds or accept a frame whose lengths do not add up. */
#include "auth.h"
#include "errors.h"
#include "frame.h"

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
	return 0;
}
