/* The abandoned-multipart collector; see multipart_expiry.h. One pass every
 * EXPIRY_EVERY_MS (or a quarter of the expiry when that is shorter). */
#define _GNU_SOURCE
#include "multipart_expiry.h"
#include "db_multipart.h"
#include "errors.h"
#include "handlers_s3.h"
#include "log.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#define EXPIRY_EVERY_MS 10000
#define EXPIRY_BATCH 100
#define COMPLETED_KEEP_MS (3600 * 1000) /* completed uploads answer a retried completion */

struct multipart_expiry {
	struct tracker *t;
	pthread_t thread;
	pthread_mutex_t lock; /* guards stopping */
	pthread_cond_t cv;
	bool stopping;
};

static void expiry_pass(struct multipart_expiry *x)
{
	struct tracker *t = x->t;
	if (atomic_load(&t->standby))
		return; /* a standby changes nothing */
	int64_t now = time_wall_ms();
	int64_t cutoff = now - (int64_t)t->cfg.s3_upload_expiry_s * 1000;
	int64_t keep = (int64_t)t->cfg.s3_upload_expiry_s * 1000 < COMPLETED_KEEP_MS
			       ? (int64_t)t->cfg.s3_upload_expiry_s * 1000
			       : COMPLETED_KEEP_MS;
	char (*ids)[S3_UPLOAD_ID_LEN + 1] = NULL;
	size_t n = 0;
	if (db_mpu_collectable(t->db, cutoff, now - keep, EXPIRY_BATCH, &ids, &n) == PP_OK)
		for (size_t i = 0; i < n; i++)
			s3_multipart_drop(t, ids[i], false, "expired");
	free(ids);
	char **names = NULL;
	n = 0;
	if (db_mpu_orphan_parts(t->db, EXPIRY_BATCH, &names, &n) == PP_OK) {
		for (size_t i = 0; i < n; i++) {
			s3_delete_file(t, names[i], "orphan");
			log_info("multipart_orphan_part_deleted", "name=%s", log_q(names[i]));
		}
	}
	db_names_free(names, n);
}

static void *expiry_main(void *arg)
{
	struct multipart_expiry *x = arg;
	int64_t every = (int64_t)x->t->cfg.s3_upload_expiry_s * 1000 / 4;
	if (every > EXPIRY_EVERY_MS)
		every = EXPIRY_EVERY_MS;
	if (every < 200)
		every = 200;
	for (;;) {
		pthread_mutex_lock(&x->lock);
		if (!x->stopping)
			time_cond_wait_ms(&x->cv, &x->lock, every);
		bool stop = x->stopping;
		pthread_mutex_unlock(&x->lock);
		if (stop)
			return NULL;
		expiry_pass(x);
	}
}

int multipart_expiry_start(struct tracker *t, struct multipart_expiry **out)
{
	struct multipart_expiry *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return PP_EINTERNAL;
	x->t = t;
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->cv, NULL);
	if (pthread_create(&x->thread, NULL, expiry_main, x) != 0) {
		pthread_cond_destroy(&x->cv);
		pthread_mutex_destroy(&x->lock);
		free(x);
		return PP_EINTERNAL;
	}
	*out = x;
	return PP_OK;
}

void multipart_expiry_stop(struct multipart_expiry *x)
{
	if (x == NULL)
		return;
	pthread_mutex_lock(&x->lock);
	x->stopping = true;
	pthread_cond_signal(&x->cv);
	pthread_mutex_unlock(&x->lock);
	pthread_join(x->thread, NULL);
	pthread_cond_destroy(&x->cv);
	pthread_mutex_destroy(&x->lock);
	free(x);
}
