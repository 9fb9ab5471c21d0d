#define _GNU_SOURCE
/* The tracker's store (services/tracker/db*.c): replace-on-commit,
 * refcounts across dedup and delete, index-backed search, upload sessions
 * surviving a reopen, and the durability rules (DESIGN.md): copies named by
 * gen, tombstones, inventory snapshots, retirement only while the factor is
 * kept, extra and unheard copies counting for nothing, concurrent commits
 * (one refused alone), batches of small files and listing by prefix. The
 * policy's SQL, records and health counters are in test_tracker_db_policy.c. */
#include "tracker_db_fixture.h"

#include <pthread.h>

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

/* Commits from many threads at once (one group fsync covers them): each one
 * lands whole, and one refused in the middle of a group (its chunk is not
 * replicated yet) takes nothing else down with it. */
struct committer {
	struct db *db;
	int64_t upload;
	int rc;
	char err[256];
	struct file_rec f;
};

static void *commit_thread(void *arg)
{
	struct committer *c = arg;
	c->rc = db_upload_commit(c->db, c->upload, 10,
				 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 1,
				 6000, 6000, &c->f, c->err, sizeof(c->err));
	return NULL;
}

static void test_concurrent_commits_are_grouped_and_fail_alone(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	enum { N = 24, REFUSED = 7 };
	struct committer c[N];
	pthread_t th[N];
	for (int i = 0; i < N; i++) {
		char name[32], id[65];
		snprintf(name, sizeof(name), "group/%02d", i);
		memset(&c[i], 0, sizeof(c[i]));
		c[i].db = db;
		assert_int_equal(db_upload_begin(db, name, 2, 1024, 0, 1000, &c[i].upload), PP_OK);
		id_of(500 + i, id);
		assert_int_equal(db_upload_place(db, c[i].upload, 0, id, 10, 1000, 2000), PP_OK);
		copy_on(db, "a", 500 + i, false);
		if (i != REFUSED)
			copy_on(db, "b", 500 + i, false); /* REFUSED has one copy only */
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&th[i], NULL, commit_thread, &c[i]), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "group/%02d", i);
		struct file_rec f;
		if (i == REFUSED) {
			assert_int_equal(c[i].rc, PP_EUNAVAIL);
			assert_non_null(strstr(c[i].err, "not yet stored"));
			assert_int_equal(db_file_get(db, name, &f), PP_ENOTFOUND);
			continue;
		}
		assert_int_equal(c[i].rc, PP_OK);
		assert_string_equal(c[i].f.name, name);
		assert_int_equal(db_file_get(db, name, &f), PP_OK);
		assert_int_equal(f.chunk_count, 1);
	}
	/* The refused one commits once its second copy is recorded. */
	copy_on(db, "b", 500 + REFUSED, false);
	commit_thread(&c[REFUSED]);
	assert_int_equal(c[REFUSED].rc, PP_OK);
	db_close(db);
	/* Every acknowledged commit is in the file after a reopen. */
	assert_int_equal(db_open(path, &db), PP_OK);
	struct health_counts h;
	assert_int_equal(db_health(db, &h), PP_OK);
	assert_int_equal(h.files, N);
	db_close(db);
}

/* Batches of one-chunk files: sessions and placements in one go (a bad
 * item fails alone), commits in one group, and listing by prefix in name
 * order with paging. */
static void test_batches_of_small_files_and_prefix_listing(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	enum { N = 10 };
	char names[N][32], ids[N][65];
	struct batch_upload ups[N];
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "dir/%c%02d", i % 2 ? 'b' : 'a', i);
		id_of(900 + i, ids[i]);
		ups[i] = (struct batch_upload){.name = names[i], .size = 10, .chunk_id = ids[i]};
	}
	ups[3].size = 0; /* an empty file: no chunk */
	ups[3].chunk_id = NULL;
	ups[5].name = names[4]; /* the same name twice is fine: two sessions */
	assert_int_equal(db_upload_begin_batch(db, ups, N, 2, 1024, 1000, 2000), PP_OK);
	for (int i = 0; i < N; i++) {
		assert_int_equal(ups[i].rc, PP_OK);
		assert_true(ups[i].upload_id > 0);
		if (ups[i].size > 0) {
			copy_on(db, "a", 900 + i, false);
			copy_on(db, "b", 900 + i, false);
		}
	}
	struct commit_one c[N];
	memset(c, 0, sizeof(c));
	for (int i = 0; i < N; i++) {
		c[i].upload_id = ups[i].upload_id;
		c[i].size = ups[i].size;
		c[i].sha256 = ups[i].size ? ids[i]
					  : "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
		c[i].chunk_count = ups[i].size ? 1 : 0;
	}
	c[7].size = 11; /* does not add up: refused, alone */
	db_upload_commit_many(db, c, N, 3000, 4000);
	for (int i = 0; i < N; i++)
		assert_int_equal(c[i].rc, i == 7 ? PP_EINVAL : PP_OK);
	assert_int_equal(c[5].out.version, 2); /* names[4] committed twice */
	struct file_rec f;
	assert_int_equal(db_file_get(db, names[3], &f), PP_OK);
	assert_int_equal(f.size, 0);
	assert_int_equal(db_file_get(db, names[7], &f), PP_ENOTFOUND);
	/* By prefix: name order, pages of 3, nothing outside the prefix. */
	int pages = 0;
	struct file_rec *files;
	size_t n;
	bool more;
	assert_int_equal(put(db, "dir", (int[]){950}, 1, &f), PP_OK);   /* not below "dir/" */
	assert_int_equal(put(db, "dis/x", (int[]){951}, 1, &f), PP_OK); /* after the range */
	char after[64] = "";
	char seen[16][32];
	int nseen = 0;
	do {
		assert_int_equal(db_files_by_prefix(db, "dir/", after, 3, &files, &n, &more), PP_OK);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(strncmp(files[i].name, "dir/", 4), 0);
			if (nseen > 0)
				assert_true(strcmp(seen[nseen - 1], files[i].name) < 0);
			snprintf(seen[nseen++], sizeof(seen[0]), "%.30s", files[i].name);
		}
		if (n > 0)
			snprintf(after, sizeof(after), "%.60s", files[n - 1].name);
		free(files);
		pages++;
	} while (more && pages < 10);
	assert_int_equal(nseen, N - 2); /* 10 names, one twice, one refused */
	assert_string_equal(seen[0], "dir/a00");
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
		cmocka_unit_test_setup_teardown(test_concurrent_commits_are_grouped_and_fail_alone,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches_of_small_files_and_prefix_listing, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
