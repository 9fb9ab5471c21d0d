/* S3 XML over libxml2; see s3_xml.h. */
#define _GNU_SOURCE
#include "s3_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct s3x {
	xmlBufferPtr buf;
	xmlTextWriterPtr w;
	bool bad;
};

struct s3x *s3x_begin(const char *root, bool ns)
{
	struct s3x *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->buf = xmlBufferCreate();
	x->w = x->buf ? xmlNewTextWriterMemory(x->buf, 0) : NULL;
	if (x->w == NULL || xmlTextWriterStartDocument(x->w, "1.0", "UTF-8", NULL) < 0 ||
	    xmlTextWriterStartElement(x->w, BAD_CAST root) < 0 ||
	    (ns && xmlTextWriterWriteAttribute(x->w, BAD_CAST "xmlns", BAD_CAST S3_XML_NS) < 0)) {
		s3x_free(x);
		return NULL;
	}
	return x;
}

void s3x_open(struct s3x *x, const char *name)
{
	if (xmlTextWriterStartElement(x->w, BAD_CAST name) < 0)
		x->bad = true;
}

void s3x_attr(struct s3x *x, const char *name, const char *value)
{
	if (xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value) < 0)
		x->bad = true;
}

void s3x_close(struct s3x *x)
{
	if (xmlTextWriterEndElement(x->w) < 0)
		x->bad = true;
}

void s3x_text(struct s3x *x, const char *name, const char *text)
{
	if (xmlTextWriterWriteElement(x->w, BAD_CAST name, BAD_CAST(text ? text : "")) < 0)
		x->bad = true;
}

void s3x_textf(struct s3x *x, const char *name, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s3x_text(x, name, buf);
}

char *s3x_finish(struct s3x *x, size_t *len)
{
	char *out = NULL;
	if (xmlTextWriterEndDocument(x->w) >= 0 && !x->bad) {
		xmlFreeTextWriter(x->w); /* flushes into buf */
		x->w = NULL;
		size_t n = (size_t)xmlBufferLength(x->buf);
		out = malloc(n + 1);
		if (out != NULL) {
			memcpy(out, xmlBufferContent(x->buf), n);
			out[n] = '\0';
			*len = n;
		}
	}
	s3x_free(x);
	return out;
}

void s3x_free(struct s3x *x)
{
	if (x == NULL)
		return;
	if (x->w)
		xmlFreeTextWriter(x->w);
	if (x->buf)
		xmlBufferFree(x->buf);
	free(x);
}

/* ---- reading ---- */

static xmlDocPtr parse(const char *body, size_t len)
{
	if (len == 0 || len > S3_XML_BODY_MAX)
		return NULL;
	xmlDocPtr doc = xmlReadMemory(body, (int)len, "body.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
					      XML_PARSE_NOBLANKS | XML_PARSE_NOCDATA);
	if (doc != NULL && doc->intSubset != NULL) { /* no DTDs, no entities */
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

static bool named(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* The element's text (malloc'd), or NULL when it has child elements. */
static char *text_of(xmlNodePtr n)
{
	for (xmlNodePtr c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return NULL;
	xmlChar *t = xmlNodeGetContent(n);
	char *s = strdup(t ? (const char *)t : "");
	xmlFree(t);
	return s;
}

bool s3_xml_parse_delete(const char *body, size_t len, struct s3_delete_req *out)
{
	memset(out, 0, sizeof(*out));
	xmlDocPtr doc = parse(body, len);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	bool ok = root != NULL && named(root, "Delete");
	if (ok)
		out->keys = calloc(S3_DELETE_MAX, sizeof(char *));
	ok = ok && out->keys != NULL;
	for (xmlNodePtr n = ok ? root->children : NULL; ok && n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (named(n, "Quiet")) {
			char *t = text_of(n);
			ok = t != NULL && (strcmp(t, "true") == 0 || strcmp(t, "false") == 0);
			out->quiet = ok && strcmp(t, "true") == 0;
			free(t);
		} else if (named(n, "Object")) {
			char *key = NULL;
			for (xmlNodePtr k = n->children; k; k = k->next)
				if (named(k, "Key") && key == NULL)
					key = text_of(k);
			ok = key != NULL && key[0] != '\0' && out->n < S3_DELETE_MAX;
			if (ok)
				out->keys[out->n++] = key;
			else
				free(key);
		}
	}
	ok = ok && out->n > 0;
	xmlFreeDoc(doc);
	if (!ok)
		s3_delete_req_free(out);
	return ok;
}

void s3_delete_req_free(struct s3_delete_req *r)
{
	for (size_t i = 0; r->keys && i < r->n; i++)
		free(r->keys[i]);
	free(r->keys);
	memset(r, 0, sizeof(*r));
}

/* "\"hex\"" or "hex" into etag without quotes. */
static bool etag_text(const char *t, char *etag, size_t len)
{
	size_t n = strlen(t);
	if (n >= 2 && t[0] == '"' && t[n - 1] == '"') {
		t++;
		n -= 2;
	}
	if (n == 0 || n >= len)
		return false;
	memcpy(etag, t, n);
	etag[n] = '\0';
	return true;
}

bool s3_xml_parse_complete(const char *body, size_t len, struct s3_complete_req *out)
{
	memset(out, 0, sizeof(*out));
	xmlDocPtr doc = parse(body, len);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	bool ok = root != NULL && named(root, "CompleteMultipartUpload");
	size_t cap = 0;
	for (xmlNodePtr n = ok ? root->children : NULL; ok && n; n = n->next) {
		if (!named(n, "Part"))
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct s3_complete_part *g = cap <= 10000 ? realloc(out->parts, cap * sizeof(*g)) : NULL;
			if (g == NULL) {
				ok = false;
				break;
			}
			out->parts = g;
		}
		struct s3_complete_part *p = &out->parts[out->n];
		memset(p, 0, sizeof(*p));
		bool have_n = false, have_e = false;
		for (xmlNodePtr k = n->children; ok && k; k = k->next) {
			char *t = (named(k, "PartNumber") || named(k, "ETag")) ? text_of(k) : NULL;
			if (t == NULL)
				continue;
			if (named(k, "PartNumber")) {
				char *end = NULL;
				long v = strtol(t, &end, 10);
				have_n = *t && *end == '\0' && v >= 1 && v <= 10000;
				p->number = (unsigned)v;
			} else {
				have_e = etag_text(t, p->etag, sizeof(p->etag));
			}
			free(t);
		}
		ok = have_n && have_e;
		out->n++;
	}
	ok = ok && out->n > 0;
	xmlFreeDoc(doc);
	if (!ok)
		s3_complete_req_free(out);
	return ok;
}

void s3_complete_req_free(struct s3_complete_req *r)
{
	free(r->parts);
	memset(r, 0, sizeof(*r));
}

bool s3_xml_parse_create_bucket(const char *body, size_t len, char *location, size_t loc_len)
{
	location[0] = '\0';
	if (len == 0)
		return true;
	xmlDocPtr doc = parse(body, len);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	bool ok = root != NULL && named(root, "CreateBucketConfiguration");
	for (xmlNodePtr n = ok ? root->children : NULL; n; n = n->next) {
		if (named(n, "LocationConstraint")) {
			char *t = text_of(n);
			if (t != NULL)
				snprintf(location, loc_len, "%s", t);
			free(t);
		}
	}
	xmlFreeDoc(doc);
	return ok;
}
