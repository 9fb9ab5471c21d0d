/* S3's XML, written and read with libxml2 (DESIGN.md, "S3 API").
 *
 * Writing: struct s3x wraps an xmlTextWriter on a memory buffer; every
 * document gets the S3 namespace on its root. Reading: the request bodies S3
 * takes (DeleteObjects, CompleteMultipartUpload, CreateBucketConfiguration)
 * are parsed from a bounded buffer with the network off, no entity
 * substitution, and any DTD refused; element names are matched without
 * their namespace. */
#ifndef PP_GATEWAY_S3_XML_H
#define PP_GATEWAY_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S3_XML_NS "http://s3.amazonaws.com/doc/2006-03-01/"
#define S3_XML_BODY_MAX (4u << 20) /* largest XML request body read */
#define S3_DELETE_MAX 1000         /* keys per DeleteObjects */

struct s3x; /* a document being written */

/* Starts a document with <root xmlns="S3_XML_NS"> (no namespace when ns is
 * false, as S3's <Error>); NULL on out of memory. */
struct s3x *s3x_begin(const char *root, bool ns);
void s3x_open(struct s3x *x, const char *name);
void s3x_close(struct s3x *x);
void s3x_attr(struct s3x *x, const char *name, const char *value);
void s3x_text(struct s3x *x, const char *name, const char *text);
void s3x_textf(struct s3x *x, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Ends the document; returns the malloc'd text (*len bytes) and frees x.
 * NULL when anything failed on the way. */
char *s3x_finish(struct s3x *x, size_t *len);
void s3x_free(struct s3x *x);

/* ---- request bodies ---- */
struct s3_delete_req {
	bool quiet;
	size_t n;
	char **keys; /* owned */
};
struct s3_complete_part {
	unsigned number;
	char etag[80]; /* without quotes */
};
struct s3_complete_req {
	size_t n;
	struct s3_complete_part *parts; /* owned */
};

/* false when the body is not the expected, well-formed document. */
bool s3_xml_parse_delete(const char *body, size_t len, struct s3_delete_req *out);
void s3_delete_req_free(struct s3_delete_req *r);
bool s3_xml_parse_complete(const char *body, size_t len, struct s3_complete_req *out);
void s3_complete_req_free(struct s3_complete_req *r);
/* CreateBucketConfiguration; an empty body is fine. location may be "". */
bool s3_xml_parse_create_bucket(const char *body, size_t len, char *location, size_t loc_len);

#endif
