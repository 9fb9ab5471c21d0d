/* Sealed metadata records; see meta_record.h. */
#include "meta_record.h"
#include "errors.h"

#include <stdlib.h>
#include <string.h>

#define META_RECORD_VERSION 1
#define META_FLAG_SIGNED 0x01

int meta_record_seal(const struct auth *a, const void *pb, size_t pb_len, uint8_t **out,
		     size_t *out_len)
{
	size_t mac = a->enabled ? AUTH_MAC_BYTES : 0;
	size_t len = META_RECORD_HEADER_BYTES + pb_len + mac;
	if (len > META_RECORD_MAX)
		return PP_ETOOLARGE;
	uint8_t *b = malloc(len);
	if (b == NULL)
		return PP_EINTERNAL;
	memcpy(b, "PPMR", 4);
	b[4] = META_RECORD_VERSION;
	b[5] = a->enabled ? META_FLAG_SIGNED : 0;
	b[6] = b[7] = 0;
	memcpy(b + META_RECORD_HEADER_BYTES, pb, pb_len);
	if (a->enabled)
		auth_mac(a, b, META_RECORD_HEADER_BYTES + pb_len, b + META_RECORD_HEADER_BYTES + pb_len);
	*out = b;
	*out_len = len;
	return PP_OK;
}

int meta_record_open(const struct auth *a, const uint8_t *blob, size_t len, const uint8_t **pb,
		     size_t *pb_len, const char **why)
{
	if (len < META_RECORD_HEADER_BYTES || len > META_RECORD_MAX || memcmp(blob, "PPMR", 4) != 0 ||
	    blob[4] != META_RECORD_VERSION) {
		*why = "not a metadata record";
		return PP_EINVAL;
	}
	bool is_signed = (blob[5] & META_FLAG_SIGNED) != 0;
	size_t body = len - META_RECORD_HEADER_BYTES;
	if (is_signed) {
		if (body < AUTH_MAC_BYTES) {
			*why = "truncated signature";
			return PP_EINVAL;
		}
		body -= AUTH_MAC_BYTES;
	}
	if (a->enabled) {
		uint8_t mac[AUTH_MAC_BYTES];
		if (!is_signed) {
			*why = "unsigned record under a cluster key";
			return PP_EAUTH;
		}
		auth_mac(a, blob, META_RECORD_HEADER_BYTES + body, mac);
		if (!auth_mac_equal(mac, blob + META_RECORD_HEADER_BYTES + body)) {
			*why = "record signature does not match";
			return PP_EAUTH;
		}
	}
	*pb = blob + META_RECORD_HEADER_BYTES;
	*pb_len = body;
	return PP_OK;
}
