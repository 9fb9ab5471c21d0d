/* HMAC-SHA256 cluster key handling and replay cache; see auth.h. */
#define _GNU_SOURCE
#include "auth.h"
#include "errors.h"
#include "log.h"
#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void auth_init_open(struct auth *a)
{
	memset(a, 0, sizeof(*a));
	a->window_ms = AUTH_WINDOW_MS_DEFAULT;
	pthread_mutex_init(&a->nonce_lock, NULL);
}

int auth_init_key_file(struct auth *a, const char *path, char *err, size_t err_len)
{
	auth_init_open(a);
	int rc = PP_EINVAL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, err_len, "cannot open key file %s: %s", path, strerror(errno));
		return rc;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "key file %s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & S_IROTH) {
		snprintf(err, err_len,
			 "key file %s is world-readable (mode %03o); run: chmod o-r %s", path,
			 (unsigned)(st.st_mode & 0777), path);
		goto out;
	}
	ssize_t n = read(fd, a->key, sizeof(a->key));
	if (n < 0) {
		snprintf(err, err_len, "cannot read key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (n == (ssize_t)sizeof(a->key)) {
		snprintf(err, err_len, "key file %s is larger than %d bytes", path, AUTH_KEY_MAX - 1);
		goto out;
	}
	while (n > 0 && isspace(a->key[n - 1]))
		n--;
	if (n < AUTH_KEY_MIN) {
		snprintf(err, err_len, "key in %s is shorter than %d bytes", path, AUTH_KEY_MIN);
		goto out;
	}
	a->key_len = (size_t)n;
	a->nonces = calloc(AUTH_NONCE_CACHE, sizeof(*a->nonces));
	if (a->nonces == NULL) {
		snprintf(err, err_len, "out of memory");
		goto out;
	}
	a->enabled = true;
	rc = PP_OK;
out:
	close(fd);
	if (rc != PP_OK)
		OPENSSL_cleanse(a->key, sizeof(a->key));
	return rc;
}

int auth_setup(struct auth *a, const char *key_file)
{
	if (key_file == NULL || key_file[0] == '\0') {
		auth_init_open(a);
		log_warn("auth_open", "detail=\"no --key-file: messages are not authenticated\"");
		return PP_OK;
	}
	char err[512];
	int rc = auth_init_key_file(a, key_file, err, sizeof(err));
	if (rc != PP_OK) {
		log_error("auth_key_refused", "file=%s err=%s", log_q(key_file), log_q(err));
		fprintf(stderr, "error: %s\n", err);
		return rc;
	}
	log_info("auth_keyed", "file=%s", log_q(key_file));
	return PP_OK;
}

void auth_free(struct auth *a)
{
	OPENSSL_cleanse(a->key, sizeof(a->key));
	free(a->nonces);
	a->nonces = NULL;
	pthread_mutex_destroy(&a->nonce_lock);
}

void auth_mac(const struct auth *a, const void *data, size_t len, uint8_t mac[AUTH_MAC_BYTES])
{
	unsigned int mac_len = AUTH_MAC_BYTES;
	HMAC(EVP_sha256(), a->key, (int)a->key_len, data, len, mac, &mac_len);
}

bool auth_mac_equal(const uint8_t *x, const uint8_t *y)
{
	return CRYPTO_memcmp(x, y, AUTH_MAC_BYTES) == 0;
}

/* The kernel's CSPRNG: nonces and ids need unpredictable bytes, and
 * getrandom(2) spares every process OpenSSL's DRBG set-up (~9 M
 * instructions, most of a short ppctl's CPU). */
void auth_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Only without a usable entropy source (pre-3.17 kernel). */
			log_error("rand_failed", "detail=\"getrandom: %s\"", strerror(errno));
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
}

bool auth_nonce_fresh(struct auth *a, const uint8_t nonce[AUTH_NONCE_BYTES], int64_t ts_ms)
{
	if (a->nonces == NULL)
		return true;
	uint64_t h;
	memcpy(&h, nonce, sizeof(h));
	int64_t now = time_wall_ms();
	bool fresh = true;
	pthread_mutex_lock(&a->nonce_lock);
	if (ts_ms <= a->nonce_floor_ms) {
		fresh = false; /* its nonce may have been evicted: cannot tell */
		goto out;
	}
	/* Linear probing over a few slots. An entry expires when its message's
	 * own timestamp leaves the window: from then on frame_open refuses that
	 * message as stale, so forgetting its nonce opens no replay. */
	size_t free_slot = SIZE_MAX, victim = SIZE_MAX;
	for (size_t i = 0; i < 16; i++) {
		size_t at = (h + i) % AUTH_NONCE_CACHE;
		struct auth_nonce_slot *s = &a->nonces[at];
		bool expired = s->ts_ms == 0 || now - s->ts_ms > a->window_ms;
		if (!expired && memcmp(s->nonce, nonce, AUTH_NONCE_BYTES) == 0) {
			fresh = false;
			goto out;
		}
		if (expired && free_slot == SIZE_MAX)
			free_slot = at;
		if (!expired && (victim == SIZE_MAX || s->ts_ms < a->nonces[victim].ts_ms))
			victim = at;
	}
	if (free_slot == SIZE_MAX) {
		/* Every probed slot is live: evict the oldest and raise the floor to
		 * its timestamp, so its message is refused if it comes again. The
		 * cache stays bounded; under extreme load only messages older than
		 * the evicted ones are refused. */
		free_slot = victim;
		if (a->nonces[victim].ts_ms > a->nonce_floor_ms)
			a->nonce_floor_ms = a->nonces[victim].ts_ms;
		if (now - a->nonce_evict_log_ms >= 1000) {
			a->nonce_evict_log_ms = now;
			log_warn("replay_cache_full",
				 "detail=\"messages signed before the floor are refused\" floor_age_ms=%lld",
				 (long long)(now - a->nonce_floor_ms));
		}
	}
	memcpy(a->nonces[free_slot].nonce, nonce, AUTH_NONCE_BYTES);
	a->nonces[free_slot].ts_ms = ts_ms;
out:
	pthread_mutex_unlock(&a->nonce_lock);
	return fresh;
}
