/* Folder listings for the web UI (GET /api/v1/files?prefix=P): the files
 * directly under a prefix and its sub-"folders" up to the next "/", in name
 * order, with S3 buckets shown as folders at the top even when empty. The
 * search listing (?q=) is routes.c's; this is its browsing counterpart,
 * served by the tracker's name-ordered listing (rpc.proto ObjectList). */
#ifndef PP_GATEWAY_FOLDERS_API_H
#define PP_GATEWAY_FOLDERS_API_H

#include "gateway.h"

/* ?prefix=P&delimiter=/&after=NAME&limit=N (delimiter "/" by default). */
enum MHD_Result folders_list(struct request *r, struct MHD_Connection *c);

#endif
