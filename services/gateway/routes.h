/* The REST router (DESIGN.md, "REST API"): MHD's access handler and
 * completion callback, token checks, name decoding, and the small JSON
 * endpoints (list, chunk map, nodes, health, metrics, probes).
 *
 * Paths arrive undecoded (main installs a no-op unescaper): names are
 * percent-decoded here as a whole remainder, so `%2F` and `/` both become
 * `/` and `%00` is caught instead of silently truncating the name. */
#ifndef PP_GATEWAY_ROUTES_H
#define PP_GATEWAY_ROUTES_H

#include "gateway.h"

#include <stddef.h>

enum MHD_Result routes_handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls);
void routes_completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe);
/* MHD_OPTION_UNESCAPE_CALLBACK: leaves text as it is. */
size_t routes_no_unescape(void *cls, struct MHD_Connection *c, char *s);

/* Percent-decodes in[0..len) into a new string; plus_space for query values.
 * PP_EINVAL for a bad escape; *out_len excludes the NUL (a decoded %00 shows
 * as out_len != strlen). */
int pct_decode(const char *in, size_t len, bool plus_space, char **out, size_t *out_len);

#endif
