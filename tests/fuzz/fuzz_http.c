/* Fuzz target: the gateway's edge parsers (services/gateway) — percent-
 * decoding of names and query values (pct_decode, then the name check the
 * router applies) and Range header parsing (range_parse) against several
 * file sizes. Must never crash or read out of bounds; a decoded string never
 * grows and is NUL-terminated; an accepted range always lies inside the file
 * (first <= last < size), so a download can never be asked for bytes that
 * do not exist. */
#include "errors.h"
#include "files_api.h"
#include "hash.h"
#include "routes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_decode(const char *in, size_t len, bool plus_space)
{
	char *out = NULL;
	size_t out_len = 0;
	if (pct_decode(in, len, plus_space, &out, &out_len) != PP_OK)
		return;
	if (out == NULL || out_len > len || out[out_len] != '\0')
		abort();
	/* The router refuses a decoded NUL, then applies the name check. */
	if (!plus_space && strlen(out) == out_len && name_check(out, out_len) == NULL) {
		if (out_len == 0 || out_len > PP_NAME_MAX)
			abort();
		for (size_t i = 0; i < out_len; i++)
			if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
				abort();
	}
	free(out);
}

static void check_range(const char *header, uint64_t size)
{
	uint64_t first = UINT64_MAX, last = 0;
	enum range_result rr = range_parse(header, size, &first, &last);
	if (rr == RANGE_OK && (size == 0 || first > last || last >= size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_decode((const char *)data, size, false);
	check_decode((const char *)data, size, true);

	/* range_parse reads a header value: a NUL-terminated string. */
	char *h = malloc(size + 1);
	if (h == NULL)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	static const uint64_t sizes[] = {0, 1, 2, 100, 4u << 20, UINT64_MAX / 2, UINT64_MAX};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_range(h, sizes[i]);
	/* And a size taken from the input's first bytes, to reach the edges. */
	if (size >= 8) {
		uint64_t s = 0;
		memcpy(&s, data, 8);
		check_range(h + 8, s);
	}
	free(h);
	return 0;
}
