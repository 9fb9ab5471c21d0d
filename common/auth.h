/* Cluster key and message authentication (DESIGN.md, "Wire").
 *
 * With a key, every frame carries HMAC-SHA256(key, header || payload || pb)
 * and a timestamp and nonce inside the signed header; frames that are
 * unsigned, wrongly signed, outside the clock window or replayed (nonce seen
 * within the window) are refused. Without a key (`auth.enabled == false`)
 * frames go unsigned and anything is accepted: local development mode.
 * One struct auth per process; its nonce cache is guarded by its mutex. */
#ifndef PP_COMMON_AUTH_H
#define PP_COMMON_AUTH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_KEY_MIN 16
#define AUTH_KEY_MAX 1024
#define AUTH_MAC_BYTES 32
#define AUTH_NONCE_BYTES 16
#define AUTH_WINDOW_MS_DEFAULT 30000
#define AUTH_NONCE_CACHE 65536 /* slots; older nonces fall out by age */

struct auth_nonce_slot {
	uint8_t nonce[AUTH_NONCE_BYTES];
	int64_t ts_ms; /* the message's signed timestamp; 0 = empty */
};

struct auth {
	bool enabled;
	uint8_t key[AUTH_KEY_MAX];
	size_t key_len;
	int64_t window_ms;             /* accepted |now - ts| */
	pthread_mutex_t nonce_lock;    /* guards nonces, nonce_floor_ms */
	struct auth_nonce_slot *nonces; /* open-addressed table, owned */
	/* When the cache is full a live entry is evicted; its message could then
	 * be replayed, so every message signed at or before the newest evicted
	 * timestamp is refused from then on (a sliding floor under the window). */
	int64_t nonce_floor_ms;
	int64_t nonce_evict_log_ms; /* last replay_cache_full log, rate limit */
};

/* Open mode: no key. */
void auth_init_open(struct auth *a);
/* Reads a key file: text, trailing whitespace stripped, >= AUTH_KEY_MIN
 * bytes, not world-readable. On error writes a sentence into err. */
int auth_init_key_file(struct auth *a, const char *path, char *err, size_t err_len);
/* Either of the above from an optional path, logging the outcome once. */
int auth_setup(struct auth *a, const char *key_file_or_null);
void auth_free(struct auth *a);

void auth_mac(const struct auth *a, const void *data, size_t len, uint8_t mac[AUTH_MAC_BYTES]);
bool auth_mac_equal(const uint8_t *x, const uint8_t *y); /* constant time */
void auth_random(void *buf, size_t len);
/* True when the nonce was not seen within the window (and records it);
 * ts_ms is the message's signed timestamp, already checked to be within the
 * window. False for a replay and for a message at or below the eviction
 * floor (see nonce_floor_ms). */
bool auth_nonce_fresh(struct auth *a, const uint8_t nonce[AUTH_NONCE_BYTES], int64_t ts_ms);

#endif
