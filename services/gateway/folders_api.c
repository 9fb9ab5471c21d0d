/* Folder listings; see folders_api.h. JSON: {"files": [file...], "folders":
 * ["a/b/"...], "buckets": ["a"...] (at the top only), "prefix", "truncated",
 * "next" (pass as ?after= for the next page, null at the end), "total"
 * (rows of this page). Files are the REST file shape with their health. */
#define _GNU_SOURCE
#include "folders_api.h"

#include "errors.h"
#include "routes.h"
#include "s3_rpc.h"
#include "shapes.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define FOLDER_LIMIT_DEFAULT 100
#define FOLDER_LIMIT_MAX 1000

/* A decoded query value ("" when absent); false on a malformed one. */
static bool arg(struct MHD_Connection *c, const char *key, const char *dflt, char **out)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	size_t n = 0;
	*out = NULL;
	if (v == NULL)
		return (*out = strdup(dflt)) != NULL;
	if (pct_decode(v, strlen(v), true, out, &n) != PP_OK || n != strlen(*out)) {
		free(*out);
		*out = NULL;
		return false;
	}
	return true;
}

static json_t *entry_json(const struct s3_entry *e)
{
	struct pp_file f;
	memset(&f, 0, sizeof(f));
	snprintf(f.name, sizeof(f.name), "%s", e->name);
	snprintf(f.sha256, sizeof(f.sha256), "%s", e->sha256);
	f.size = e->size;
	f.replication = e->replication;
	f.chunk_size = e->chunk_size;
	f.chunk_count = e->chunk_count;
	f.created_at_ms = e->created_ms;
	f.version = e->version;
	f.health = e->health;
	return shape_file(&f);
}

/* Buckets as folders of the top level, merged into the listing's own:
 * those that sort within this page (after `after`, up to `next`). */
static void add_buckets(struct request *r, json_t *folders, json_t *buckets, const char *after,
			const char *next)
{
	struct s3_buckets b = {0};
	struct pp_error err = {0};
	if (s3_rpc_bucket(r->gw->client, pp_v1_BucketRequest_Op_LIST, "", &b, &err) != PP_OK) {
		free(b.items);
		return;
	}
	for (size_t i = 0; i < b.n; i++) {
		char name[80];
		snprintf(name, sizeof(name), "%s/", b.items[i].name);
		json_array_append_new(buckets, json_string(b.items[i].name));
		if ((after[0] && strcmp(name, after) <= 0) || (next != NULL && strcmp(name, next) > 0))
			continue;
		bool seen = false;
		size_t k;
		json_t *v;
		json_array_foreach(folders, k, v) seen |= strcmp(json_string_value(v), name) == 0;
		if (!seen)
			json_array_append_new(folders, json_string(name));
	}
	free(b.items);
	/* Keep the folders in name order. */
	size_t n = json_array_size(folders);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(json_string_value(json_array_get(folders, j - 1)),
						   json_string_value(json_array_get(folders, j))) > 0; j--) {
			json_t *a = json_incref(json_array_get(folders, j - 1));
			json_array_set(folders, j - 1, json_array_get(folders, j));
			json_array_set_new(folders, j, a);
		}
}

enum MHD_Result folders_list(struct request *r, struct MHD_Connection *c)
{
	char *prefix = NULL, *delim = NULL, *after = NULL, *limit_s = NULL;
	enum MHD_Result res;
	if (!arg(c, "prefix", "", &prefix) || !arg(c, "delimiter", "/", &delim) ||
	    !arg(c, "after", "", &after) || !arg(c, "limit", "", &limit_s) || strlen(prefix) > PP_NAME_MAX ||
	    strlen(delim) > 128 || (after[0] && name_check(after, strlen(after)) != NULL) ||
	    (prefix[0] && name_check(prefix, strlen(prefix)) != NULL)) {
		res = reply_error(r, c, MHD_HTTP_BAD_REQUEST, "invalid", "prefix, delimiter or after is not valid");
		goto out;
	}
	char *end = NULL;
	long limit = limit_s[0] ? strtol(limit_s, &end, 10) : FOLDER_LIMIT_DEFAULT;
	if ((limit_s[0] && *end != '\0') || limit < 1 || limit > FOLDER_LIMIT_MAX) {
		res = reply_error(r, c, MHD_HTTP_BAD_REQUEST, "invalid", "limit must be 1..%d", FOLDER_LIMIT_MAX);
		goto out;
	}
	struct s3_listing l;
	struct pp_error err = {0};
	if (s3_rpc_list(r->gw->client, "", prefix, delim, after, (uint32_t)limit, true, &l, &err) != PP_OK) {
		s3_listing_clear(&l);
		res = reply_pp_error(r, c, &err);
		goto out;
	}
	json_t *j = json_object(), *files = json_array(), *folders = json_array(), *buckets = json_array();
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(files, entry_json(&l.entries[i]));
	for (size_t i = 0; i < l.np; i++)
		json_array_append_new(folders, json_string(l.prefixes[i]));
	if (prefix[0] == '\0' && strcmp(delim, "/") == 0)
		add_buckets(r, folders, buckets, after, l.truncated ? l.next_after : NULL);
	json_object_set_new(j, "total", json_integer((json_int_t)(json_array_size(files) + json_array_size(folders))));
	json_object_set_new(j, "files", files);
	json_object_set_new(j, "folders", folders);
	json_object_set_new(j, "buckets", buckets);
	json_object_set_new(j, "prefix", json_string(prefix));
	json_object_set_new(j, "truncated", json_boolean(l.truncated));
	json_object_set_new(j, "next", l.truncated && l.next_after[0] ? json_string(l.next_after) : json_null());
	s3_listing_clear(&l);
	res = reply_json(r, c, MHD_HTTP_OK, j);
out:
	free(prefix);
	free(delim);
	free(after);
	free(limit_s);
	return res;
}
