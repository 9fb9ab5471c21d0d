/* Weighted rendezvous hashing with zone spread; see placement.h.
 *
 * Each (chunk, node) pair gets a uniform u from a 64-bit hash; the score
 * -w/ln(u) makes P(node wins) = w / sum(w) (the exponential-race trick), and
 * a node's score for a chunk never changes while its weight does not, so
 * placements are stable when other nodes come and go. */
#include "placement.h"
#include "errors.h"
#include "policy.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t hash_pair(const char *a, const char *b)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then a finalizer */
	for (const char *s = a; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL;
	for (const char *s = b; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return mix64(h);
}

double placement_score(const char *chunk_id, const char *node_id, uint64_t weight)
{
	/* u in (0,1): 53 random bits, offset by half a step so it is never 0 or 1 */
	double u = ((double)(hash_pair(chunk_id, node_id) >> 11) + 0.5) / 9007199254740992.0;
	double w = weight > 0 ? (double)weight : 1.0;
	return -w / log(u);
}

struct scored {
	size_t idx;
	double score;
};

static int by_score_desc(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;
	return x->score < y->score ? 1 : x->score > y->score ? -1 : 0;
}

static bool zone_in(const char *zone, const char *const *zones, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(zones[i], zone) == 0)
			return true;
	return false;
}

int placement_pick(const char *chunk_id, const struct placement_node *cand, size_t n,
		   const char *const *held_zones, size_t n_held, size_t want, size_t *out_idx)
{
	if (want == 0)
		return PP_OK;
	if (n < want)
		return PP_EUNAVAIL;
	struct scored *s = calloc(n, sizeof(*s));
	const char **zones = calloc(n_held + want, sizeof(*zones));
	bool *taken = calloc(n, sizeof(*taken));
	int rc = PP_OK;
	if (s == NULL || zones == NULL || taken == NULL) {
		rc = PP_EINTERNAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		s[i].idx = i;
		s[i].score = placement_score(chunk_id, cand[i].id, cand[i].free_bytes);
	}
	qsort(s, n, sizeof(*s), by_score_desc);
	size_t nz = n_held, got = 0;
	for (size_t i = 0; i < n_held; i++)
		zones[i] = held_zones[i];
	/* First pass: best-scored node of each zone not yet used; then the
	 * rest by score, allowing zones to repeat. */
	for (size_t i = 0; i < n && got < want; i++) {
		const char *z = cand[s[i].idx].zone;
		if (zone_in(z, zones, nz))
			continue;
		zones[nz++] = z;
		taken[i] = true;
		out_idx[got++] = s[i].idx;
	}
	for (size_t i = 0; i < n && got < want; i++) {
		if (taken[i])
			continue;
		taken[i] = true;
		out_idx[got++] = s[i].idx;
	}
out:
	free(s);
	free(zones);
	free(taken);
	return rc;
}

int placement_choose(const char *chunk_id, uint32_t size, const struct node_rec *nodes,
		     size_t n, const char *const *exclude, size_t n_exclude,
		     const char *const *held_zones, size_t n_held, const bool *skip, size_t want,
		     size_t *out_idx)
{
	struct placement_node *cand = calloc(n ? n : 1, sizeof(*cand));
	size_t *map = calloc(n ? n : 1, sizeof(*map));
	size_t nc = 0;
	int rc = PP_OK;
	if (cand == NULL || map == NULL) {
		rc = PP_EINTERNAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct node_rec *r = &nodes[i];
		if (!(r->roles & ROLE_TARGET) || (skip && skip[i]))
			continue;
		/* capacity 0 = the worker did not say: no room check, least weight */
		uint64_t free_bytes = r->capacity > r->used ? r->capacity - r->used : 0;
		if (r->capacity != 0 && free_bytes < size)
			continue;
		bool excluded = false;
		for (size_t k = 0; k < n_exclude && !excluded; k++)
			excluded = strcmp(exclude[k], r->id) == 0;
		if (excluded)
			continue;
		cand[nc].id = r->id;
		cand[nc].zone = r->zone;
		cand[nc].free_bytes = r->capacity ? free_bytes : 1;
		map[nc++] = i;
	}
	rc = placement_pick(chunk_id, cand, nc, held_zones, n_held, want, out_idx);
	if (rc == PP_OK)
		for (size_t k = 0; k < want; k++)
			out_idx[k] = map[out_idx[k]];
out:
	free(cand);
	free(map);
	return rc;
}
