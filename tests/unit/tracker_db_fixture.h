/* Fixture for the tracker store's unit tests: a temp database path, nodes
 * in a given liveness, copies reported by gen, uploads committed on nodes
 * a and b, and the collector's steps. */
#ifndef PP_TESTS_TRACKER_DB_FIXTURE_H
#define PP_TESTS_TRACKER_DB_FIXTURE_H

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

static inline int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pp-dbtest.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	return 0;
}

static inline int teardown(void **state)
{
	(void)state;
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static inline void id_of(int i, char *out)
{
	snprintf(out, 65, "%064x", i);
}

/* Saves node `id` as liveness says it is: state, heard, draining,
 * maintenance, with the roles the policy gives it. */
static inline void node_set(struct db *db, const char *id, int liveness, bool heard, bool draining,
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
static inline void node_up(struct db *db, const char *id)
{
	node_set(db, id, LIVE_UP, true, false, 0);
	assert_int_equal(db_scan_done(db, id), PP_OK);
}

static uint64_t next_gen = 100;

/* Node `node` reports holding a copy of chunk i (10 bytes); returns its gen. */
static inline uint64_t copy_on(struct db *db, const char *node, int i, bool extra)
{
	struct copy_ref ref = {.size = 10, .gen = ++next_gen, .extra = extra};
	id_of(i, ref.id);
	assert_int_equal(db_replica_added(db, node, &ref, 1000, 2000), PP_OK);
	return ref.gen;
}

/* Uploads `name` with chunks ids[0..n) (each 10 bytes), stored on a and b;
 * chunks of a replaced version are collectable from 5000. */
static inline int put(struct db *db, const char *name, const int *ids, int n, struct file_rec *f)
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
static inline size_t deletes_due(struct db *db, struct chunk_node **p)
{
	size_t n = 0;
	assert_int_equal(db_deletes_due(db, 50000, 40000, 100, p, &n), PP_OK);
	return n;
}

static inline int collect(struct db *db, int64_t now)
{
	int retired = 0, dropped = 0;
	assert_int_equal(db_gc_collect(db, now, 100, &retired, &dropped), PP_OK);
	return retired;
}


#endif
