/* Fuzz target: the edge checks on file names and chunk ids. A name that
 * passes must be valid UTF-8 of 1..PP_NAME_MAX (1088) bytes without control characters; an
 * id that passes must be exactly 64 lowercase hex digits. */
#include "hash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (name_check((const char *)data, size) == NULL) {
		if (size == 0 || size > PP_NAME_MAX)
			abort();
		for (size_t i = 0; i < size; i++)
			if (data[i] < 0x20 || data[i] == 0x7f)
				abort();
	}
	char id[128];
	size_t n = size < sizeof(id) - 1 ? size : sizeof(id) - 1;
	memcpy(id, data, n);
	id[n] = '\0';
	if (chunk_id_valid(id)) {
		if (strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64)
			abort();
	}
	return 0;
}
