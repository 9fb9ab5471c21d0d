/* The file endpoints: streamed upload (PUT), streamed download with single
 * ranges and ETags (GET, HEAD) and DELETE, on /api/v1/files/{name}.
 *
 * Bodies are never held whole: PUT feeds each piece MHD hands over straight
 * into pp_upload_write, GET reads pp_download_read into MHD's send buffer. */
#ifndef PP_GATEWAY_FILES_API_H
#define PP_GATEWAY_FILES_API_H

#include "gateway.h"

/* Called for every access-handler call of a PUT; `first` on the headers-only
 * call. r->name is the decoded, checked name. */
enum MHD_Result files_put(struct request *r, struct MHD_Connection *c, bool first,
			  const char *data, size_t *data_size);
enum MHD_Result files_get(struct request *r, struct MHD_Connection *c, bool head);
enum MHD_Result files_delete(struct request *r, struct MHD_Connection *c);
/* From the completion callback: aborts an upload that did not commit. */
void files_request_done(struct request *r, enum MHD_RequestTerminationCode toe);

/* Range parsing, exposed for the unit tests. Returns RANGE_NONE for an absent
 * or malformed header (serve the whole file), RANGE_OK with [*first, *last]
 * inclusive, or RANGE_UNSATISFIABLE. */
enum range_result { RANGE_NONE, RANGE_OK, RANGE_UNSATISFIABLE };
enum range_result range_parse(const char *header, uint64_t size, uint64_t *first, uint64_t *last);
/* Whether an If-None-Match header matches the quoted etag. */
bool etag_matches(const char *if_none_match, const char *etag);

#endif
