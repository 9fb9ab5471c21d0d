/* Frame layout, signing and checking; see frame.h for the format. */
#include "frame.h"
#include "errors.h"
#include "timeutil.h"

#include <string.h>

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)(v >> 32));
	put_u32(p + 4, (uint32_t)v);
}

static uint64_t get_u64(const uint8_t *p)
{
	return ((uint64_t)get_u32(p) << 32) | get_u32(p + 4);
}

int frame_start(nng_msg **out, size_t payload_len, uint8_t **payload)
{
	if (payload_len > PP_CHUNK_SIZE_MAX)
		return PP_ETOOLARGE;
	nng_msg *m;
	/* Room for a typical protobuf part and the mac from the start: growing
	 * a 4 MiB message afterwards makes nng allocate (and zero) a new
	 * buffer and copy the old one, ~1-3 ms per chunk. */
	size_t len = FRAME_HEADER_BYTES + payload_len;
	if (nng_msg_alloc(&m, 0) != 0)
		return PP_EINTERNAL;
	if (nng_msg_reserve(m, len + 4096 + AUTH_MAC_BYTES) != 0 || nng_msg_realloc(m, len) != 0) {
		nng_msg_free(m);
		return PP_EINTERNAL;
	}
	uint8_t *h = nng_msg_body(m);
	memset(h, 0, FRAME_HEADER_BYTES);
	put_u32(h + 8, (uint32_t)payload_len);
	if (payload)
		*payload = payload_len ? h + FRAME_HEADER_BYTES : NULL;
	*out = m;
	return PP_OK;
}

int frame_truncate_payload(nng_msg *m, size_t new_len)
{
	uint8_t *h = nng_msg_body(m);
	size_t cur = get_u32(h + 8);
	if (new_len > cur || nng_msg_len(m) != FRAME_HEADER_BYTES + cur)
		return PP_EINVAL;
	put_u32(h + 8, (uint32_t)new_len);
	return nng_msg_chop(m, cur - new_len) == 0 ? PP_OK : PP_EINTERNAL;
}

int frame_keep_payload(nng_msg *m)
{
	if (nng_msg_len(m) < FRAME_HEADER_BYTES)
		return PP_EINVAL;
	uint8_t *h = nng_msg_body(m);
	size_t keep = FRAME_HEADER_BYTES + (size_t)get_u32(h + 8);
	if (keep > nng_msg_len(m))
		return PP_EINVAL;
	/* No reserve: what is chopped (the old protobuf part and mac) leaves
	 * room for a reply's, and growing a 4 MiB message copies it. */
	return nng_msg_chop(m, nng_msg_len(m) - keep) == 0 ? PP_OK : PP_EINTERNAL;
}

int frame_reserve_pb(nng_msg *m, size_t pb_len, uint8_t **pb_dst)
{
	if (pb_len > FRAME_PB_MAX)
		return PP_ETOOLARGE;
	size_t at = nng_msg_len(m);
	if (nng_msg_realloc(m, at + pb_len) != 0)
		return PP_EINTERNAL;
	*pb_dst = (uint8_t *)nng_msg_body(m) + at;
	return PP_OK;
}

int frame_seal(nng_msg *m, struct auth *a)
{
	uint8_t *h = nng_msg_body(m);
	size_t payload_len = get_u32(h + 8);
	size_t pb_len = nng_msg_len(m) - FRAME_HEADER_BYTES - payload_len;
	h[0] = 'P';
	h[1] = 'P';
	h[2] = FRAME_VERSION;
	h[3] = a != NULL && a->enabled ? FRAME_FLAG_SIGNED : 0;
	put_u32(h + 4, (uint32_t)pb_len);
	put_u64(h + 12, (uint64_t)time_wall_ms());
	auth_random(h + 20, AUTH_NONCE_BYTES);
	if (a == NULL || !a->enabled)
		return PP_OK;
	uint8_t mac[AUTH_MAC_BYTES];
	auth_mac(a, nng_msg_body(m), nng_msg_len(m), mac);
	return nng_msg_append(m, mac, sizeof(mac)) == 0 ? PP_OK : PP_EINTERNAL;
}

int frame_finish(nng_msg *m, struct auth *a, const void *pb, size_t pb_len)
{
	uint8_t *dst;
	int rc = frame_reserve_pb(m, pb_len, &dst);
	if (rc != PP_OK)
		return rc;
	if (pb_len)
		memcpy(dst, pb, pb_len);
	return frame_seal(m, a);
}

int frame_build(nng_msg **out, struct auth *a, const void *pb, size_t pb_len, const void *payload,
		size_t payload_len)
{
	uint8_t *dst;
	int rc = frame_start(out, payload_len, &dst);
	if (rc != PP_OK)
		return rc;
	if (payload_len)
		memcpy(dst, payload, payload_len);
	rc = frame_finish(*out, a, pb, pb_len);
	if (rc != PP_OK) {
		nng_msg_free(*out);
		*out = NULL;
	}
	return rc;
}

int frame_open(nng_msg *m, struct auth *a, bool check_replay, struct frame_view *v,
	       const char **why)
{
	const uint8_t *h = nng_msg_body(m);
	size_t len = nng_msg_len(m);
	const char *reason = NULL;
	int rc = PP_EINVAL;
	if (len < FRAME_HEADER_BYTES || h[0] != 'P' || h[1] != 'P') {
		reason = "not a Peer Pressure frame";
		goto out;
	}
	if (h[2] != FRAME_VERSION) {
		reason = "unsupported frame version";
		goto out;
	}
	bool is_signed = (h[3] & FRAME_FLAG_SIGNED) != 0;
	size_t pb_len = get_u32(h + 4);
	size_t payload_len = get_u32(h + 8);
	size_t want = FRAME_HEADER_BYTES + (uint64_t)pb_len + payload_len +
		      (is_signed ? AUTH_MAC_BYTES : 0);
	if (want != len || pb_len > FRAME_PB_MAX || payload_len > PP_CHUNK_SIZE_MAX) {
		reason = "frame lengths do not add up";
		goto out;
	}
	v->ts_ms = (int64_t)get_u64(h + 12);
	v->payload = h + FRAME_HEADER_BYTES;
	v->payload_len = payload_len;
	v->pb = v->payload + payload_len;
	v->pb_len = pb_len;
	v->is_signed = is_signed;
	if (a != NULL && a->enabled) {
		rc = PP_EAUTH;
		if (!is_signed) {
			reason = "unsigned message";
			goto out;
		}
		uint8_t mac[AUTH_MAC_BYTES];
		auth_mac(a, h, len - AUTH_MAC_BYTES, mac);
		if (!auth_mac_equal(mac, h + len - AUTH_MAC_BYTES)) {
			reason = "bad signature";
			goto out;
		}
		/* Compared without subtracting from the signed timestamp: any
		 * u64 may arrive, and now - INT64_MIN would overflow. */
		int64_t now = time_wall_ms();
		if (v->ts_ms < now - a->window_ms || v->ts_ms > now + a->window_ms) {
			reason = "stale timestamp";
			goto out;
		}
		if (check_replay && !auth_nonce_fresh(a, h + 20, v->ts_ms)) {
			reason = "replayed message";
			goto out;
		}
	}
	rc = PP_OK;
out:
	if (why)
		*why = reason;
	return rc;
}
