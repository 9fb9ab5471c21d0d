/* libppclient's internal extensions for the gateway's S3 API (not part of
 * the shared library's API: ppclient.map does not export them, only
 * ppclient_static users see them).
 *
 * They speak the wire messages of proto/pp/v1/rpc.proto ("S3") directly, so
 * the gateway can carry S3 metadata without the public API growing a copy of
 * every S3 field. */
#ifndef PP_CLIENT_EXT_H
#define PP_CLIENT_EXT_H

#include "ppclient.h"
#include "pp/v1/rpc.pb.h"

/* pp_upload_commit, storing `meta` (may be NULL) with the new version; with
 * a non-empty bucket the commit is refused (PP_ENOTFOUND) unless that S3
 * bucket exists. Frees u whatever happens. */
int pp_upload_commit_meta(pp_upload *u, const pp_v1_FileMeta *meta, const char *bucket,
			  struct pp_file *out, struct pp_error *err);

/* The SHA-256 (lowercase hex) of everything written to u; no write may
 * follow. Lets the gateway check a signed payload's hash without hashing
 * the body a second time. */
int pp_upload_sha256(pp_upload *u, char hex[65]);

/* One metadata RPC to the tracker with the client's key and timeout; resp's
 * callbacks are set by the caller. Non-OK statuses come back as PP_E* codes
 * with the tracker's sentence in err. */
int pp_meta_call(pp_client *c, const pp_v1_Request *req, pp_v1_Response *resp,
		 struct pp_error *err);

/* The file's info (size, sha256, version...) from one manifest call of at
 * most one chunk location, whatever the file's size: what HEAD, Range and
 * If-None-Match need, where pp_stat would page the whole chunk map. */
int pp_file_info(pp_client *c, const char *name, struct pp_file *out, struct pp_error *err);

/* Downloads of c take their chunk buffers from budget (common/mem_budget.h;
 * the caller owns it and frees it after closing c). Call before c is used
 * by other threads. A download that cannot get budget in the budget's wait
 * fails with PP_EUNAVAIL. */
struct mem_budget;
void pp_client_set_budget(pp_client *c, struct mem_budget *budget);

/* Waits until the first bytes of d are ready (or fails), without consuming
 * them: lets a server answer with an error status before its headers. */
int pp_download_wait_first(pp_download *d, struct pp_error *err);

/* A wire FileInfo as the public struct. */
void pp_file_from_wire(const pp_v1_FileInfo *in, struct pp_file *out);

#endif
