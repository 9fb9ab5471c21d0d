#define _GNU_SOURCE
/* The tracker's store (services/tracker/db*.c): replace-on-commit,
 * refcounts across dedup and delete, index-backed search, upload sessions
 * surviving a reopen, and the durability rules (DESIGN.md): copies named by
 * gen, tombstones, inventory snapshots, retirement only while the factor is
 * kept, extra and unheard copies counting for nothing, and the policy's SQL
 * agreeing with its C. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"
#include "db_impl.h"
#include "errors.h"
#include "policy.h"

#include <sqlite3.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pp-dbtest.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void id_of(int i, char *out)
{
	snprintf(out, 65, "%064x", i);
}

/* Saves node `id` as liveness says it is: state, heard, draining,
 * maintenance, with the roles the policy gives it. */
static void node_set(struct db *db, const char *id, int liveness, bool heard, bool draining,
		     int64_t maintenance_until)
{
	struct node_rec r;
	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.address, sizeof(r.address), "tcp://%s", id);
	snprintf(r.zone, sizeof(r.zone), "z");
	r.liveness = liveness;
	r.heard = heard;
	r.draining = draining;
	r.maintenance_until_ms = maintenance_until;
	r.roles = policy_node_roles(&r, 1000);
	assert_int_equal(db_node_save(db, &r, 1), PP_OK);
}

/* An up node whose metadata records the tracker has read (so the collector
 * may take what it holds). */
static void node_up(struct db *db, const char *id)
{
	node_set(db, id, LIVE_UP, true, false, 0);
	assert_int_equal(db_scan_done(db, id), PP_OK);
}

static uint64_t next_gen = 100;

/* Node `node` reports holding a copy of chunk i (10 bytes); returns its gen. */
static uint64_t copy_on(struct db *db, const char *node, int i, bool extra)
{
	struct copy_ref ref = {.size = 10, .gen = ++next_gen, .extra = extra};
	id_of(i, ref.id);
	assert_int_equal(db_replica_added(db, node, &ref, 1000, 2000), PP_OK);
	return ref.gen;
}

/* Uploads `name` with chunks ids[0..n) (each 10 bytes), stored on a and b;
 * chunks of a replaced version are collectable from 5000. */
static int put(struct db *db, const char *name, const int *ids, int n, struct file_rec *f)
{
	int64_t up;
	char err[256] = "";
	assert_int_equal(db_upload_begin(db, name, 2, 1024, 0, 1000, &up), PP_OK);
	for (int i = 0; i < n; i++) {
		char id[65];
		id_of(ids[i], id);
		assert_int_equal(db_upload_place(db, up, (uint64_t)i, id, 10, 1000, 2000), PP_OK);
		copy_on(db, "a", ids[i], false);
		copy_on(db, "b", ids[i], false);
	}
	return db_upload_commit(db, up, (uint64_t)n * 10,
				"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				(uint64_t)n, 5000, 5000, f, err, sizeof(err));
}

/* Tombstones whose delete is due now, as (chunk, node, gen). */
static size_t deletes_due(struct db *db, struct chunk_node **p)
{
	size_t n = 0;
	assert_int_equal(db_deletes_due(db, 50000, 40000, 100, p, &n), PP_OK);
	return n;
}

static int collect(struct db *db, int64_t now)
{
	int retired = 0, dropped = 0;
	assert_int_equal(db_gc_collect(db, now, 100, &retired, &dropped), PP_OK);
	return retired;
}

static void test_put_replaces_old_version_only_at_commit(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	struct file_rec f, g;
	int v1[] = {1, 2};
	assert_int_equal(put(db, "doc.txt", v1, 2, &f), PP_OK);
	assert_int_equal(f.version, 1);

	/* a second upload of the same name, placed but not committed */
	int64_t up;
	char err[256] = "", id[65];
	assert_int_equal(db_upload_begin(db, "doc.txt", 2, 1024, 0, 6000, &up), PP_OK);
	id_of(3, id);
	assert_int_equal(db_upload_place(db, up, 0, id, 10, 6000, 7000), PP_OK);
	assert_int_equal(db_file_get(db, "doc.txt", &g), PP_OK);
	assert_int_equal(g.version, 1);
	assert_int_equal(g.chunk_count, 2);
	/* not enough replicas yet: refused, the old version stays */
	assert_int_equal(db_upload_commit(db, up, 10, f.sha256, 1, 7000, 9000, &g, err,
					  sizeof(err)),
			 PP_EUNAVAIL);
	assert_int_equal(db_file_get(db, "doc.txt", &g), PP_OK);
	assert_int_equal(g.version, 1);
	copy_on(db, "a", 3, false);
	copy_on(db, "b", 3, false);
	/* wrong size is refused too */
	assert_int_equal(db_upload_commit(db, up, 11, f.sha256, 1, 7000, 9000, &g, err,
					  sizeof(err)),
			 PP_EINVAL);
	assert_int_equal(db_upload_commit(db, up, 10, f.sha256, 1, 7000, 9000, &g, err,
					  sizeof(err)),
			 PP_OK);
	assert_int_equal(g.version, 2);
	assert_int_equal(db_file_get(db, "doc.txt", &g), PP_OK);
	assert_int_equal(g.chunk_count, 1);
	/* the old version's chunks outlive downloads already streaming them:
	 * collectable only after the grace (9000), and the new one's never */
	assert_int_equal(collect(db, 8999), 0);
	assert_int_equal(collect(db, 9000), 4); /* chunks 1 and 2, on a and b */
	struct chunk_node *p;
	size_t n = deletes_due(db, &p);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(p[i].chunk_id, id);
	free(p);
	db_close(db);
}

static void test_refcounts_across_dedup_and_delete(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	struct file_rec f;
	int ids[] = {10, 11, 10};
	int other[] = {11, 12};
	assert_int_equal(put(db, "one", ids, 3, &f), PP_OK);
	assert_int_equal(put(db, "two", other, 2, &f), PP_OK);
	struct chunk_node *p;
	size_t n;
	struct health_counts h;
	assert_int_equal(db_health(db, &h), PP_OK);
	assert_int_equal(h.chunks, 3); /* stored once each */
	assert_int_equal(h.under_replicated, 0);
	assert_int_equal(db_file_delete(db, "one", 9000, 9000, &f), PP_OK);
	assert_int_equal(collect(db, 9000), 2); /* only chunk 10 (on a and b); 11 is in "two" */
	n = deletes_due(db, &p);
	assert_int_equal(n, 2);
	char id10[65];
	id_of(10, id10);
	assert_string_equal(p[0].chunk_id, id10);
	free(p);
	assert_int_equal(db_file_delete(db, "two", 9000, 9000, &f), PP_OK);
	assert_int_equal(collect(db, 9000), 4);
	n = deletes_due(db, &p);
	assert_int_equal(n, 4);
	free(p);
	assert_int_equal(db_file_delete(db, "two", 9000, 9000, &f), PP_ENOTFOUND);
	db_close(db);
}

/* True when a plan step is a full scan of the files table ("SCAN f" or
 * "SCAN f USING INDEX ..."): scanning the FTS or gram index is fine. */
static bool scans_files(const char *plan)
{
	for (const char *line = plan; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "SCAN f\n", 7) == 0 || strncmp(line, "SCAN f ", 7) == 0 ||
		    strncmp(line, "SCAN files\n", 11) == 0 || strncmp(line, "SCAN files ", 11) == 0) {
			print_message("full scan in plan:\n%s", plan);
			return true;
		}
	}
	return false;
}

static void test_search_uses_the_index(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	struct file_rec f;
	const char *names[] = {"reports/2024/q1.pdf", "Photos/cat.JPG", "notes.txt", "x"};
	for (int i = 0; i < 4; i++) {
		int ids[] = {100 + i};
		assert_int_equal(put(db, names[i], ids, 1, &f), PP_OK);
	}
	struct file_rec *out;
	size_t n;
	uint64_t total;
	assert_int_equal(db_list(db, "cat", 10, 0, &out, &n, &total), PP_OK);
	assert_int_equal(total, 1);
	assert_string_equal(out[0].name, "Photos/cat.JPG");
	free(out);
	assert_int_equal(db_list(db, "jpg", 10, 0, &out, &n, &total), PP_OK); /* case-insensitive */
	assert_int_equal(total, 1);
	free(out);
	assert_int_equal(db_list(db, "t", 10, 0, &out, &n, &total), PP_OK);
	assert_int_equal(total, 3); /* reports, cat, notes */
	free(out);
	assert_int_equal(db_list(db, "x", 10, 0, &out, &n, &total), PP_OK);
	assert_int_equal(total, 2); /* notes.txt, x */
	assert_string_equal(out[0].name, "x"); /* newest first */
	free(out);
	assert_int_equal(db_list(db, "", 2, 1, &out, &n, &total), PP_OK);
	assert_int_equal(total, 4);
	assert_int_equal(n, 2);
	free(out);
	const char *queries[] = {"cat", "ab", "q", "\"quoted\""};
	for (int i = 0; i < 4; i++) {
		char plan[2048];
		assert_int_equal(db_list_plan(db, queries[i], plan, sizeof(plan)), PP_OK);
		assert_false(scans_files(plan));
		assert_true(strstr(plan, "VIRTUAL TABLE") != NULL || strstr(plan, "SEARCH g USING PRIMARY KEY") != NULL);
	}
	db_close(db);
}

static void test_upload_sessions_survive_reopen(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	int64_t up;
	char id[65], err[256] = "";
	id_of(77, id);
	assert_int_equal(db_upload_begin(db, "later", 2, 1024, 0, 1000, &up), PP_OK);
	assert_int_equal(db_upload_place(db, up, 0, id, 10, 1000, 2000), PP_OK);
	db_close(db);
	assert_int_equal(db_open(path, &db), PP_OK);
	struct upload_rec u;
	assert_int_equal(db_upload_get(db, up, &u), PP_OK);
	assert_string_equal(u.name, "later");
	copy_on(db, "a", 77, false);
	copy_on(db, "b", 77, false);
	/* an open upload keeps its chunk from the collector */
	assert_int_equal(collect(db, 99999), 0);
	/* a slow client keeps its session open by touching it */
	assert_int_equal(db_upload_touch(db, up, 2500), PP_OK);
	int expired;
	assert_int_equal(db_uploads_expire(db, 2000, &expired), PP_OK);
	assert_int_equal(expired, 0);
	struct file_rec f;
	assert_int_equal(db_upload_commit(db, up, 10,
					  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
					  1, 3000, 3000, &f, err, sizeof(err)),
			 PP_OK);
	assert_int_equal(db_upload_touch(db, up, 3000), PP_ENOTFOUND);
	/* an expired session disappears and its chunks become garbage */
	assert_int_equal(db_upload_begin(db, "abandoned", 2, 1024, 0, 1000, &up), PP_OK);
	id_of(78, id);
	assert_int_equal(db_upload_place(db, up, 0, id, 10, 1000, 2000), PP_OK);
	assert_int_equal(db_uploads_expire(db, 1500, &expired), PP_OK);
	assert_int_equal(expired, 1);
	assert_int_equal(collect(db, 1999), 0);
	assert_int_equal(collect(db, 2000), 0); /* no copies: the chunk row just goes */
	assert_int_equal(db_chunk_get(db, id, &(struct chunk_rec){0}), PP_ENOTFOUND);
	db_close(db);
}

/* State of node's row for chunk i: -1 when there is none. */
static int row_state(struct db *db, const char *node, int i, uint64_t *gen)
{
	char id[65];
	id_of(i, id);
	struct replica_rec *reps;
	size_t n;
	int state = -1;
	assert_int_equal(db_chunk_replicas(db, id, &reps, &n), PP_OK);
	for (size_t k = 0; k < n; k++) {
		if (strcmp(reps[k].node_id, node) == 0) {
			state = reps[k].state;
			if (gen)
				*gen = reps[k].gen;
		}
	}
	free(reps);
	return state;
}

static struct copy_ref ref_of(int i, uint64_t gen)
{
	struct copy_ref r = {.size = 10, .gen = gen};
	id_of(i, r.id);
	return r;
}

/* Regression: a report forgot replicas registered while it was being taken
 * (the tracker used the time it handled page 0). Copies with a gen above the
 * report's snapshot were stored since, and stay. */
static void test_inventory_keeps_copies_stored_after_its_snapshot(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	struct copy_ref x = ref_of(1, 5), y = ref_of(2, 12), z = ref_of(3, 8);
	assert_int_equal(db_replica_added(db, "a", &x, 1000, 2000), PP_OK);
	assert_int_equal(db_replica_added(db, "a", &z, 1000, 2000), PP_OK);
	assert_int_equal(db_replica_added(db, "a", &y, 1000, 2000), PP_OK); /* after the snapshot */
	int removed = -1;
	assert_int_equal(db_inventory_reconcile(db, "a", &x, 1, 10, 3000, 4000, &removed), PP_OK);
	assert_int_equal(removed, 1);                       /* z was gone at the snapshot */
	assert_int_equal(row_state(db, "a", 1, NULL), REPLICA_ST_OK);
	assert_int_equal(row_state(db, "a", 2, NULL), REPLICA_ST_OK); /* y: stored since */
	assert_int_equal(row_state(db, "a", 3, NULL), -1);
	/* An older report arriving late changes nothing. */
	assert_int_equal(db_inventory_reconcile(db, "a", NULL, 0, 9, 3000, 4000, &removed),
			 PP_ECONFLICT);
	assert_int_equal(row_state(db, "a", 1, NULL), REPLICA_ST_OK);
	db_close(db);
}

/* Regression: a report taken before a delete brought the deleted copy back
 * (so a trim could then delete a second, live copy). The tombstone stays
 * until a report no longer lists that copy. */
static void test_stale_report_cannot_bring_back_a_deleted_copy(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	node_up(db, "c");
	struct file_rec f;
	int ids[] = {40};
	assert_int_equal(put(db, "f", ids, 1, &f), PP_OK);
	uint64_t gen_c = copy_on(db, "c", 40, false); /* a surplus copy */
	assert_int_equal(db_replica_retire(db, "c", (char[65]){0}), PP_ENOTFOUND);
	char id[65];
	id_of(40, id);
	assert_int_equal(db_replica_retire(db, "c", id), PP_OK);
	assert_int_equal(row_state(db, "c", 40, NULL), REPLICA_ST_DELETING);
	struct chunk_node *p;
	assert_int_equal(deletes_due(db, &p), 1);
	assert_int_equal(p[0].gen, gen_c);
	free(p);
	assert_int_equal(db_delete_acked(db, "c", id, gen_c), PP_OK);
	assert_int_equal(row_state(db, "c", 40, NULL), REPLICA_ST_GONE);
	/* A report whose snapshot predates the delete still lists the copy. */
	struct copy_ref old = ref_of(40, gen_c);
	int removed;
	assert_int_equal(db_inventory_reconcile(db, "c", &old, 1, gen_c + 1, 3000, 4000, &removed),
			 PP_OK);
	assert_int_equal(row_state(db, "c", 40, NULL), REPLICA_ST_GONE);
	struct health_counts h;
	assert_int_equal(db_health(db, &h), PP_OK);
	assert_int_equal(h.under_replicated, 0);
	/* a and b may not be trimmed now: c's copy counts for nothing */
	assert_int_equal(db_replica_retire(db, "a", id), PP_ECONFLICT);
	/* A report taken after it does not list it: the tombstone is resolved. */
	assert_int_equal(db_inventory_reconcile(db, "c", NULL, 0, gen_c + 50, 3000, 4000, &removed),
			 PP_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(row_state(db, "c", 40, NULL), -1);
	db_close(db);
}

/* Regression: GC removed a chunk's rows, the same content was uploaded
 * again while the deletes were on their way, and the late delete removed
 * the new copy. The tombstone names the old copy's gen; the new copy has a
 * higher one, so neither the tracker's rows nor the worker's delete touch
 * it. */
static void test_reupload_during_collection_keeps_the_new_copies(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	struct file_rec f;
	int ids[] = {50};
	assert_int_equal(put(db, "g", ids, 1, &f), PP_OK);
	char id[65];
	id_of(50, id);
	uint64_t old_a = 0;
	row_state(db, "a", 50, &old_a);
	assert_int_equal(db_file_delete(db, "g", 6000, 6000, &f), PP_OK);
	assert_int_equal(collect(db, 6000), 2);
	assert_int_equal(row_state(db, "a", 50, NULL), REPLICA_ST_DELETING);
	/* Uploaded again before the deletes went out. */
	assert_int_equal(put(db, "g2", ids, 1, &f), PP_OK);
	uint64_t new_a = 0;
	assert_int_equal(row_state(db, "a", 50, &new_a), REPLICA_ST_OK);
	assert_true(new_a > old_a);
	/* The late acknowledgement of the old copy's delete changes nothing. */
	assert_int_equal(db_delete_acked(db, "a", id, old_a), PP_OK);
	assert_int_equal(row_state(db, "a", 50, NULL), REPLICA_ST_OK);
	struct chunk_node *p;
	assert_int_equal(deletes_due(db, &p), 0); /* nothing left to delete */
	free(p);
	struct health_counts h;
	assert_int_equal(db_health(db, &h), PP_OK);
	assert_int_equal(h.chunks, 1);
	assert_int_equal(h.under_replicated, 0);
	assert_int_equal(collect(db, 99999), 0); /* referenced again */
	db_close(db);
}

/* Nodes in maintenance or draining keep nothing: a copy elsewhere is not
 * retired on their account. */
static void test_maintenance_and_draining_nodes_are_not_keepers(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	node_up(db, "c");
	node_up(db, "d");
	struct file_rec f;
	int ids[] = {60};
	assert_int_equal(put(db, "m", ids, 1, &f), PP_OK); /* on a and b */
	copy_on(db, "c", 60, false);
	copy_on(db, "d", 60, false);
	node_set(db, "c", LIVE_UP, true, false, 99999); /* maintenance */
	node_set(db, "d", LIVE_UP, true, true, 0);      /* draining */
	char id[65];
	id_of(60, id);
	struct chunk_node *p;
	size_t n;
	assert_int_equal(db_surplus_chunks(db, 100, &p, &n), PP_OK);
	assert_int_equal(n, 0); /* two keepers only: a and b */
	free(p);
	assert_int_equal(db_replica_retire(db, "a", id), PP_ECONFLICT);
	assert_int_equal(db_replica_retire(db, "b", id), PP_ECONFLICT);
	/* The draining node's copy may go: a and b keep the factor. */
	assert_int_equal(db_drained_replicas(db, 100, &p, &n), PP_OK);
	assert_int_equal(n, 1);
	assert_string_equal(p[0].node_id, "d");
	free(p);
	assert_int_equal(db_replica_retire(db, "d", id), PP_OK);
	/* With b draining too, d's tombstone and c's maintenance: a alone keeps
	 * it, so nothing else may go and repair needs one copy. */
	node_set(db, "b", LIVE_UP, true, true, 0);
	assert_int_equal(db_drained_replicas(db, 100, &p, &n), PP_OK);
	assert_int_equal(n, 0);
	free(p);
	db_close(db);
}

/* Extra copies (evictable by their worker) and copies on nodes that have
 * not heart-beaten to this tracker count for nothing. */
static void test_extra_and_unheard_copies_do_not_count(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	node_up(db, "c");
	int64_t up;
	char id[65], err[256] = "";
	id_of(70, id);
	assert_int_equal(db_upload_begin(db, "e", 2, 1024, 0, 1000, &up), PP_OK);
	assert_int_equal(db_upload_place(db, up, 0, id, 10, 1000, 2000), PP_OK);
	copy_on(db, "a", 70, false);
	copy_on(db, "b", 70, true); /* extra */
	struct file_rec f;
	assert_int_equal(db_upload_commit(db, up, 10, f.sha256, 1, 3000, 3000, &f, err, sizeof(err)),
			 PP_EUNAVAIL);
	/* a node loaded from before a restart: up in the store, never heard */
	node_set(db, "c", LIVE_UP, false, false, 0);
	copy_on(db, "c", 70, false);
	assert_int_equal(db_upload_commit(db, up, 10, f.sha256, 1, 3000, 3000, &f, err, sizeof(err)),
			 PP_EUNAVAIL);
	node_up(db, "c"); /* it heart-beats */
	assert_int_equal(db_upload_commit(db, up, 10,
					  "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
					  1, 3000, 3000, &f, err, sizeof(err)),
			 PP_OK);
	struct repair_need *needs;
	size_t n;
	uint64_t copies, bytes;
	assert_int_equal(db_repair_needs(db, 10, &needs, &n, &copies, &bytes), PP_OK);
	assert_int_equal(n, 0);
	free(needs);
	/* c unheard again (tracker restart): a alone holds it */
	node_set(db, "c", LIVE_SUSPECT, false, false, 0);
	assert_int_equal(db_repair_needs(db, 10, &needs, &n, &copies, &bytes), PP_OK);
	assert_int_equal(n, 1);
	assert_int_equal(needs[0].live, 1);
	free(needs);
	assert_int_equal(db_replica_retire(db, "a", id), PP_ECONFLICT);
	struct health_counts h;
	assert_int_equal(db_health(db, &h), PP_OK);
	assert_int_equal(h.under_replicated, 1);
	assert_int_equal(h.lost, 0);
	db_close(db);
}

/* The policy's SQL fragments and its C functions agree on every
 * combination of replica state, extra flag and node roles. */
static void test_policy_sql_agrees_with_c(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	db_close(db);
	sqlite3 *conn;
	assert_int_equal(sqlite3_open(path, &conn), SQLITE_OK);
	const int states[] = {REPLICA_ST_OK, REPLICA_ST_CORRUPT, REPLICA_ST_PENDING,
			      REPLICA_ST_DELETING, REPLICA_ST_GONE};
	char sql[512];
	for (unsigned roles = 0; roles < 64; roles++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO nodes(id, address, zone, capacity, used, chunks, state,"
			 " last_heartbeat, roles) VALUES ('n%u', 'x', 'z', 0, 0, 0, 0, 0, %u)",
			 roles, roles);
		assert_int_equal(sqlite3_exec(conn, sql, NULL, NULL, NULL), SQLITE_OK);
		for (size_t si = 0; si < 5; si++)
			for (int extra = 0; extra < 2; extra++) {
				snprintf(sql, sizeof(sql),
					 "INSERT INTO replicas(chunk_id, node_id, state, extra,"
					 " updated_ms, gen) VALUES ('c%zu%d', 'n%u', %d, %d, 0, 1)",
					 si, extra, roles, states[si], extra);
				assert_int_equal(sqlite3_exec(conn, sql, NULL, NULL, NULL), SQLITE_OK);
			}
	}
	const char *fragments[] = {POLICY_SQL_READABLE, POLICY_SQL_HOLDS, POLICY_SQL_KEEPS,
				   POLICY_SQL_DURABLE, POLICY_SQL_ALIVE};
	for (size_t fi = 0; fi < 5; fi++) {
		snprintf(sql, sizeof(sql),
			 "SELECT r.state, r.extra, n.roles, %s FROM replicas r"
			 " JOIN nodes n ON n.id = r.node_id",
			 fragments[fi]);
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(conn, sql, -1, &st, NULL), SQLITE_OK);
		int rows = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			int rs = sqlite3_column_int(st, 0);
			bool extra = sqlite3_column_int(st, 1) != 0;
			unsigned roles = (unsigned)sqlite3_column_int(st, 2);
			bool in_sql = sqlite3_column_int(st, 3) != 0;
			bool in_c = fi == 0   ? policy_copy_readable(rs, roles)
				    : fi == 1 ? policy_copy_holds(rs, extra, roles)
				    : fi == 2 ? policy_copy_keeps(rs, extra, roles)
				    : fi == 3 ? policy_copy_durable(rs, extra, roles)
					      : policy_copy_alive(rs, roles);
			if (in_sql != in_c)
				fail_msg("%s: state %d extra %d roles %u: sql %d c %d", fragments[fi], rs,
					 extra, roles, in_sql, in_c);
			rows++;
		}
		sqlite3_finalize(st);
		assert_int_equal(rows, 64 * 5 * 2);
	}
	sqlite3_close(conn);
}

/* Records (DESIGN.md, "Metadata recovery"): commits and deletes get
 * increasing seqs and stay pending until durable; merging read-back records
 * restores, replaces and deletes by seq alone, whatever the order. */
static void test_records_pending_and_merged_by_seq(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	bool empty = false;
	assert_int_equal(db_is_empty(db, &empty), PP_OK);
	assert_true(empty);
	struct file_rec f, g;
	int ids[] = {80, 81};
	assert_int_equal(put(db, "r/one", ids, 2, &f), PP_OK);
	assert_int_equal(put(db, "r/one", ids, 1, &g), PP_OK);
	assert_true(g.seq > f.seq);
	assert_int_equal(db_is_empty(db, &empty), PP_OK);
	assert_false(empty);
	char(*names)[PP_NAME_MAX + 1];
	size_t n;
	assert_int_equal(db_records_pending(db, 10, &names, &n), PP_OK);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "r/one");
	free(names);
	assert_int_equal(db_record_durable(db, "r/one", f.seq), PP_OK); /* an older seq: no */
	assert_int_equal(db_records_pending(db, 10, &names, &n), PP_OK);
	assert_int_equal(n, 1);
	free(names);
	assert_int_equal(db_record_durable(db, "r/one", g.seq), PP_OK);
	assert_int_equal(db_records_pending(db, 10, &names, &n), PP_OK);
	assert_int_equal(n, 0);
	free(names);
	struct file_rec d;
	assert_int_equal(db_file_delete(db, "r/one", 9000, 9000, &d), PP_OK);
	assert_true(d.seq > g.seq);
	struct record_head h;
	assert_int_equal(db_record_state(db, "r/one", &h), PP_OK);
	assert_true(h.tombstone && !h.durable && h.seq == d.seq);

	/* Merging: a record newer than the tombstone brings the file back. */
	struct copy_ref chunks[2] = {{.size = 10}, {.size = 10}};
	id_of(90, chunks[0].id);
	id_of(91, chunks[1].id);
	struct merge_record m = {.seq = d.seq + 5, .version = 7, .size = 20, .chunk_count = 2,
				 .replication = 2, .chunk_size = 1024, .created_at_ms = 1,
				 .chunks = chunks, .n_chunks = 2};
	snprintf(m.name, sizeof(m.name), "r/one");
	snprintf(m.sha256, sizeof(m.sha256), "%064d", 0);
	enum merge_outcome out;
	assert_int_equal(db_merge_record(db, &m, 9000, &out), PP_OK);
	assert_int_equal(out, MERGE_RESTORED);
	assert_int_equal(db_merge_record(db, &m, 9000, &out), PP_OK);
	assert_int_equal(out, MERGE_OLDER); /* idempotent */
	assert_int_equal(db_file_get(db, "r/one", &g), PP_OK);
	assert_int_equal(g.version, 7);
	assert_int_equal(g.seq, m.seq);
	struct chunk_rec c;
	assert_int_equal(db_chunk_get(db, chunks[1].id, &c), PP_OK);
	/* An older record changes nothing; a newer tombstone deletes. */
	struct merge_record old = m;
	old.seq = m.seq - 1;
	old.version = 6;
	assert_int_equal(db_merge_record(db, &old, 9000, &out), PP_OK);
	assert_int_equal(out, MERGE_OLDER);
	struct merge_record tomb = {.seq = m.seq + 1, .tombstone = true};
	snprintf(tomb.name, sizeof(tomb.name), "r/one");
	assert_int_equal(db_merge_record(db, &tomb, 9000, &out), PP_OK);
	assert_int_equal(out, MERGE_DELETED);
	assert_int_equal(db_file_get(db, "r/one", &g), PP_ENOTFOUND);
	assert_int_equal(db_merge_record(db, &m, 9000, &out), PP_OK);
	assert_int_equal(out, MERGE_OLDER);
	/* The next commit is numbered above every merged record. */
	uint64_t seq;
	assert_int_equal(db_commit_seq(db, &seq), PP_OK);
	assert_true(seq >= tomb.seq);
	assert_int_equal(put(db, "r/two", ids, 1, &g), PP_OK);
	assert_true(g.seq > tomb.seq);
	db_close(db);
}

/* A chunk no file references is not collected while a node holding it has
 * not had its records read (one of them may reference it). */
static void test_unread_holder_keeps_garbage(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_set(db, "late", LIVE_UP, true, false, 0); /* its records not read yet */
	copy_on(db, "a", 95, false);
	copy_on(db, "late", 95, false);
	copy_on(db, "a", 96, false);
	assert_int_equal(collect(db, 99999), 1); /* chunk 96, on a only */
	assert_int_equal(db_scan_done(db, "late"), PP_OK);
	assert_int_equal(collect(db, 99999), 2); /* now chunk 95, on a and late */
	db_close(db);
}

/* The health counters agree with counting every chunk by the policy, as
 * nodes die, go unheard, drain and come back, and as copies turn extra,
 * corrupt or go away; and the queries behind health, repair, surplus and
 * collection never scan every chunk. */
static void brute_health(struct db *db, uint64_t *under, uint64_t *lost)
{
	sqlite3 *conn;
	assert_int_equal(sqlite3_open(path, &conn), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(conn,
					    "SELECT coalesce(sum(live < replication), 0),"
					    " coalesce(sum(alive = 0), 0) FROM (SELECT c.replication,"
					    " (SELECT count(*) FROM replicas r JOIN nodes n ON n.id = r.node_id"
					    "  WHERE r.chunk_id = c.id AND " POLICY_SQL_HOLDS ") AS live,"
					    " (SELECT count(*) FROM replicas r JOIN nodes n ON n.id = r.node_id"
					    "  WHERE r.chunk_id = c.id AND " POLICY_SQL_ALIVE ") AS alive"
					    " FROM chunks c WHERE c.refcount > 0)",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*under = (uint64_t)sqlite3_column_int64(st, 0);
	*lost = (uint64_t)sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	sqlite3_close(conn);
	(void)db;
}

static void check_health(struct db *db, uint64_t want_under, uint64_t want_lost)
{
	struct health_counts h;
	uint64_t under, lost;
	assert_int_equal(db_health(db, &h), PP_OK);
	brute_health(db, &under, &lost);
	assert_int_equal(h.under_replicated, under);
	assert_int_equal(h.lost, lost);
	assert_int_equal(h.under_replicated, want_under);
	assert_int_equal(h.lost, want_lost);
}

static void test_health_counters_follow_the_policy(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	node_up(db, "c");
	struct file_rec f;
	int ids[] = {200, 201, 202};
	assert_int_equal(put(db, "h1", ids, 3, &f), PP_OK); /* on a and b */
	copy_on(db, "c", 202, false);                        /* 202: three copies */
	check_health(db, 0, 0);
	struct health_counts h;
	assert_int_equal(db_health(db, &h), PP_OK);
	assert_int_equal(h.files, 1);
	assert_int_equal(h.chunks, 3);
	assert_int_equal(h.bytes_stored, 70);
	node_set(db, "a", LIVE_DEAD, true, false, 0);
	check_health(db, 2, 0); /* 200 and 201; 202 keeps b and c */
	node_set(db, "b", LIVE_SUSPECT, false, false, 0); /* unheard after a restart */
	check_health(db, 3, 0); /* suspect copies are alive, not holders */
	node_set(db, "b", LIVE_DEAD, false, false, 0);
	check_health(db, 3, 2); /* 200 and 201 have no live copy */
	node_up(db, "a");
	node_up(db, "b");
	check_health(db, 0, 0);
	node_set(db, "c", LIVE_UP, true, true, 0); /* draining: 202 still held by a, b */
	check_health(db, 0, 0);
	char id[65];
	id_of(200, id);
	assert_int_equal(db_replica_corrupt(db, "a", id, 0), PP_OK);
	check_health(db, 1, 0);
	struct copy_ref extra = {.size = 10, .gen = ++next_gen, .extra = true};
	id_of(200, extra.id);
	assert_int_equal(db_replica_added(db, "c", &extra, 1000, 2000), PP_OK);
	check_health(db, 1, 0); /* an extra copy does not hold */
	assert_int_equal(db_inventory_reconcile(db, "b", NULL, 0, UINT64_MAX >> 1, 3000, 4000,
						&(int){0}),
			 PP_OK); /* b lost everything */
	check_health(db, 3, 0);
	/* Every plan uses a key, an index or a partial index (which holds only
	 * the chunks concerned): none scans all chunks or all replicas. Scanning
	 * the nodes table is fine. */
	const char *queries[] = {DB_SQL_DEGRADED_SHORT, DB_SQL_DEGRADED_LOST, DB_SQL_REPAIR_NEEDS,
				 DB_SQL_SURPLUS, DB_SQL_GARBAGE};
	static const char *const partial[] = {"chunks_short", "chunks_surplus", "chunks_garbage"};
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		char plan[4096];
		assert_int_equal(db_plan(db, queries[i], plan, sizeof(plan)), PP_OK);
		for (char *line = strtok(plan, "\n"); line; line = strtok(NULL, "\n")) {
			if (strncmp(line, "SCAN ", 5) != 0 || strcmp(line, "SCAN n") == 0)
				continue;
			bool ok = false;
			for (size_t k = 0; k < 3; k++)
				ok = ok || strstr(line, partial[k]) != NULL;
			if (!ok)
				fail_msg("query %zu scans a whole table: %s", i, line);
		}
	}
	db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_replaces_old_version_only_at_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refcounts_across_dedup_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search_uses_the_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_sessions_survive_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inventory_keeps_copies_stored_after_its_snapshot,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_report_cannot_bring_back_a_deleted_copy,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reupload_during_collection_keeps_the_new_copies,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_maintenance_and_draining_nodes_are_not_keepers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_extra_and_unheard_copies_do_not_count, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_policy_sql_agrees_with_c, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_pending_and_merged_by_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unread_holder_keeps_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_counters_follow_the_policy, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
