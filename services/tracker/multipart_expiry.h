/* Collects abandoned S3 multipart uploads (DESIGN.md, "S3 API"): an open
 * upload with no part committed for --s3-upload-expiry-s is aborted and its
 * parts deleted; completed uploads whose parts outlived a crash are
 * finished; part files whose upload is gone are deleted. Their chunks then
 * go the way of any deleted file's (gc.c). */
#ifndef PP_TRACKER_MULTIPART_EXPIRY_H
#define PP_TRACKER_MULTIPART_EXPIRY_H

#include "tracker.h"

struct multipart_expiry;

int multipart_expiry_start(struct tracker *t, struct multipart_expiry **out);
void multipart_expiry_stop(struct multipart_expiry *x); /* NULL-safe */

#endif
