/* Replica placement: weighted rendezvous hashing on free space, never two
 * replicas on one node, spread across zones first (DESIGN.md, "Flows").
 *
 * Pure functions over a candidate list the caller has already filtered
 * (live, not draining, not in maintenance, not disk-full, room for the chunk,
 * not already holding it), so they are easy to test. */
#ifndef PP_TRACKER_PLACEMENT_H
#define PP_TRACKER_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

struct placement_node {
	const char *id;
	const char *zone;
	uint64_t free_bytes; /* the weight */
};

/* Score of a node for a chunk: -w / ln(u) with u = hash(chunk, node) in (0,1).
 * The highest score wins; a node's share of wins is proportional to w. */
double placement_score(const char *chunk_id, const char *node_id, uint64_t weight);

/* Picks `want` distinct candidates for chunk_id, in preference order, into
 * out_idx (indices into cand). Zones in held_zones (already holding a
 * replica) and zones picked earlier are avoided while other zones remain.
 * PP_EUNAVAIL when fewer than `want` candidates exist. */
int placement_pick(const char *chunk_id, const struct placement_node *cand, size_t n,
		   const char *const *held_zones, size_t n_held, size_t want, size_t *out_idx);


/* --- over tracker node records --- */
#include "db.h"
#include <stdbool.h>

/* Picks `want` targets among nodes for a chunk of `size` bytes: nodes with
 * the TARGET role (policy.h) and room, not named in exclude, not flagged in
 * skip (may be NULL). held_zones: zones already holding a copy. out_idx:
 * indices into nodes. */
int placement_choose(const char *chunk_id, uint32_t size, const struct node_rec *nodes,
		     size_t n, const char *const *exclude, size_t n_exclude,
		     const char *const *held_zones, size_t n_held, const bool *skip, size_t want,
		     size_t *out_idx);

#endif
