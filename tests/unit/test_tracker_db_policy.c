#define _GNU_SOURCE
/* The tracker's store, continued: the replica policy's SQL agreeing with
 * its C, metadata records (pending, merged by seq, batches), garbage kept
 * while a holder's records are unread, and the health counters the
 * triggers keep, checked against a brute-force count. */
#include "tracker_db_fixture.h"

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
	/* A batch merges in one transaction, in order: a later record of the
	 * same name in the batch replaces the earlier one. */
	struct merge_record batch[3] = {m, m, m};
	snprintf(batch[0].name, sizeof(batch[0].name), "r/batch-a");
	snprintf(batch[1].name, sizeof(batch[1].name), "r/batch-b");
	snprintf(batch[2].name, sizeof(batch[2].name), "r/batch-a");
	batch[2].seq = m.seq + 10;
	batch[2].version = 8;
	enum merge_outcome outs[3];
	assert_int_equal(db_merge_records(db, batch, 3, 9000, outs), PP_OK);
	assert_int_equal(outs[0], MERGE_RESTORED);
	assert_int_equal(outs[1], MERGE_RESTORED);
	assert_int_equal(outs[2], MERGE_REPLACED);
	assert_int_equal(db_file_get(db, "r/batch-a", &g), PP_OK);
	assert_int_equal(g.version, 8);
	assert_int_equal(db_file_get(db, "r/batch-b", &g), PP_OK);
	assert_int_equal(g.version, 7);
	/* The next commit is numbered above every merged record. */
	uint64_t seq;
	assert_int_equal(db_commit_seq(db, &seq), PP_OK);
	assert_true(seq >= batch[2].seq);
	assert_int_equal(put(db, "r/two", ids, 1, &g), PP_OK);
	assert_true(g.seq > batch[2].seq);
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
		cmocka_unit_test_setup_teardown(test_policy_sql_agrees_with_c, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_pending_and_merged_by_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unread_holder_keeps_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_counters_follow_the_policy, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
