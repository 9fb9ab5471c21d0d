/* pp-bench-baseline: what this machine can do right now, without Peer
 * Pressure in the way — the same-run baselines every benchmark figure is
 * divided by (DESIGN.md, "Benchmarks"). One subcommand, one JSON object on
 * stdout (through jansson). Rates are MB/s with MB = 10^6 bytes; every
 * figure is measured in this run, nothing is assumed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK_BYTES (4u << 20) /* the default chunk size: same I/O unit as a worker */
#define TCP_IO_BYTES (256u << 10)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: pp-bench-baseline disk-write PATH BYTES\n"
		"       pp-bench-baseline disk-write-direct PATH BYTES\n"
		"       pp-bench-baseline disk-read PATH\n"
		"       pp-bench-baseline sha256 BYTES\n"
		"       pp-bench-baseline nng-reqrep BYTES MSG_BYTES\n"
		"       pp-bench-baseline tcp BYTES\n"
		"       pp-bench-baseline small-files DIR COUNT SIZE THREADS\n"
		"Prints one JSON object; rates in MB/s (10^6 bytes/s).\n");
	return 1;
}

static int parse_bytes(const char *s, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || v == 0)
		return -1;
	uint64_t mult = 1;
	if (*end == 'K' || *end == 'k')
		mult = 1ull << 10, end++;
	else if (*end == 'M' || *end == 'm')
		mult = 1ull << 20, end++;
	else if (*end == 'G' || *end == 'g')
		mult = 1ull << 30, end++;
	if (*end != '\0')
		return -1;
	*out = (uint64_t)v * mult;
	return 0;
}

static int emit(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}

static void *block_alloc(void)
{
	void *buf = NULL;
	if (posix_memalign(&buf, 4096, BLOCK_BYTES) != 0)
		return NULL;
	/* Incompressible, so no layer below can cheat. */
	FILE *r = fopen("/dev/urandom", "rb");
	if (!r || fread(buf, 1, BLOCK_BYTES, r) != BLOCK_BYTES) {
		if (r)
			fclose(r);
		free(buf);
		return NULL;
	}
	fclose(r);
	return buf;
}

/* Sequential write of BYTES in 4 MiB blocks, then fsync: what a worker storing
 * one replica stream could do at best. With `direct`, O_DIRECT (no page
 * cache), as the workers write chunks where the file system allows it. */
static int cmd_disk_write(const char *path, uint64_t bytes, bool direct)
{
	int rc = 1, fd = -1;
	void *buf = block_alloc();
	if (!buf) {
		fprintf(stderr, "disk-write: cannot allocate buffer\n");
		return 1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (direct ? O_DIRECT : 0), 0600);
	if (fd < 0) {
		fprintf(stderr, "disk-write: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (direct)
		bytes = (bytes + 4095) / 4096 * 4096;
	double t0 = now_s();
	uint64_t done = 0;
	while (done < bytes) {
		size_t n = bytes - done < BLOCK_BYTES ? (size_t)(bytes - done) : BLOCK_BYTES;
		/* Vary the block so identical blocks cannot be deduplicated below us. */
		((uint64_t *)buf)[0] = done;
		ssize_t w = write(fd, buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "disk-write: write: %s\n", strerror(errno));
			goto out;
		}
		done += (uint64_t)w;
	}
	if (fsync(fd) != 0) {
		fprintf(stderr, "disk-write: fsync: %s\n", strerror(errno));
		goto out;
	}
	double secs = now_s() - t0;
	json_t *o = json_pack("{s:s, s:s, s:I, s:f, s:f, s:s}", "test",
			      direct ? "disk-write-direct" : "disk-write", "path", path, "bytes",
			      (json_int_t)bytes, "seconds", secs, "mb_per_s", (double)bytes / 1e6 / secs,
			      "method", direct ? "O_DIRECT write 4 MiB blocks + fsync"
					       : "write 4 MiB blocks + fsync");
	rc = emit(o);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

/* Fraction of the file's pages resident in the page cache (mincore). */
static double resident_fraction(int fd, uint64_t size)
{
	if (size == 0)
		return 0.0;
	void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -1.0;
	long page = sysconf(_SC_PAGESIZE);
	size_t pages = (size + (uint64_t)page - 1) / (uint64_t)page;
	unsigned char *vec = malloc(pages);
	double frac = -1.0;
	if (vec && mincore(map, size, vec) == 0) {
		size_t in = 0;
		for (size_t i = 0; i < pages; i++)
			in += vec[i] & 1;
		frac = (double)in / (double)pages;
	}
	free(vec);
	munmap(map, size);
	return frac;
}

/* Sequential read, cold when the kernel lets us drop this file's pages. */
static int cmd_disk_read(const char *path)
{
	int rc = 1, fd = -1;
	void *buf = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "disk-read: %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size == 0) {
		fprintf(stderr, "disk-read: %s: empty or unreadable\n", path);
		goto out;
	}
	uint64_t size = (uint64_t)st.st_size;
	/* Dirty pages cannot be dropped: make them clean first. */
	(void)fdatasync(fd);
	int adv = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	double resident = resident_fraction(fd, size);
	bool cold = adv == 0 && resident >= 0.0 && resident < 0.01;
	if (posix_memalign(&buf, 4096, BLOCK_BYTES) != 0) {
		buf = NULL;
		goto out;
	}
	double t0 = now_s();
	uint64_t done = 0;
	for (;;) {
		ssize_t r = read(fd, buf, BLOCK_BYTES);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "disk-read: read: %s\n", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		done += (uint64_t)r;
	}
	double secs = now_s() - t0;
	json_t *o = json_pack("{s:s, s:s, s:I, s:f, s:f, s:b, s:f, s:s}", "test", "disk-read",
			      "path", path, "bytes", (json_int_t)done, "seconds", secs, "mb_per_s",
			      (double)done / 1e6 / secs, "cold", cold, "resident_before",
			      resident < 0 ? 0.0 : resident, "method",
			      "fsync + posix_fadvise(DONTNEED), read 4 MiB blocks");
	rc = emit(o);
out:
	free(buf);
	close(fd);
	return rc;
}

/* One core hashing 4 MiB buffers: the ceiling for a verified chunk stream. */
static int cmd_sha256(uint64_t bytes)
{
	void *buf = block_alloc();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = 1;
	if (!buf || !ctx)
		goto out;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	double t0 = now_s();
	uint64_t done = 0;
	while (done < bytes) {
		size_t n = bytes - done < BLOCK_BYTES ? (size_t)(bytes - done) : BLOCK_BYTES;
		if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, buf, n) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
			fprintf(stderr, "sha256: EVP failure\n");
			goto out;
		}
		done += n;
	}
	double secs = now_s() - t0;
	rc = emit(json_pack("{s:s, s:I, s:f, s:f, s:s}", "test", "sha256", "bytes",
			    (json_int_t)done, "seconds", secs, "mb_per_s", (double)done / 1e6 / secs,
			    "method", "OpenSSL EVP sha256, one core, 4 MiB buffers"));
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

struct rep_server {
	nng_socket sock;
	uint64_t msgs;
	int rc;
};

static void *rep_loop(void *arg)
{
	struct rep_server *s = arg;
	for (uint64_t i = 0; i < s->msgs; i++) {
		nng_msg *m = NULL;
		int r = nng_recvmsg(s->sock, &m, 0);
		if (r != 0) {
			s->rc = r;
			return NULL;
		}
		/* Answer with a few bytes, as a worker acknowledging a stored chunk. */
		nng_msg_clear(m);
		if ((r = nng_msg_append(m, "ok", 2)) != 0 || (r = nng_sendmsg(s->sock, m, 0)) != 0) {
			nng_msg_free(m);
			s->rc = r;
			return NULL;
		}
	}
	return NULL;
}

/* REQ/REP over tcp loopback with chunk-sized requests: the transport floor. */
static int cmd_nng_reqrep(uint64_t bytes, uint64_t msg_bytes)
{
	int rc = 1, r;
	nng_socket rep = NNG_SOCKET_INITIALIZER, req = NNG_SOCKET_INITIALIZER;
	nng_listener l;
	char url[128];
	pthread_t th;
	bool started = false;
	struct rep_server srv = {0};
	void *buf = NULL;
	uint64_t msgs = (bytes + msg_bytes - 1) / msg_bytes;

	if ((r = nng_rep0_open(&rep)) != 0 || (r = nng_req0_open(&req)) != 0)
		goto nngfail;
	if ((r = nng_socket_set_size(rep, NNG_OPT_RECVMAXSZ, (size_t)msg_bytes + 4096)) != 0 ||
	    (r = nng_socket_set_size(req, NNG_OPT_RECVMAXSZ, 4096)) != 0 ||
	    (r = nng_socket_set_ms(req, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)) != 0 ||
	    (r = nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 30000)) != 0 ||
	    (r = nng_socket_set_ms(rep, NNG_OPT_RECVTIMEO, 30000)) != 0)
		goto nngfail;
	/* Port 0: the kernel picks a free one; read it back for the dialer. */
	if ((r = nng_listen(rep, "tcp://127.0.0.1:0", &l, 0)) != 0)
		goto nngfail;
	nng_sockaddr sa;
	if ((r = nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa)) != 0)
		goto nngfail;
	snprintf(url, sizeof url, "tcp://127.0.0.1:%u", (unsigned)ntohs(sa.s_in.sa_port));
	if ((r = nng_dial(req, url, NULL, 0)) != 0)
		goto nngfail;
	if (!(buf = malloc(msg_bytes)))
		goto out;
	memset(buf, 0xa5, msg_bytes);
	srv.sock = rep;
	srv.msgs = msgs;
	if (pthread_create(&th, NULL, rep_loop, &srv) != 0)
		goto out;
	started = true;

	double t0 = now_s();
	uint64_t done = 0;
	for (uint64_t i = 0; i < msgs; i++) {
		size_t n = bytes - done < msg_bytes ? (size_t)(bytes - done) : (size_t)msg_bytes;
		nng_msg *m = NULL;
		if ((r = nng_msg_alloc(&m, n)) != 0)
			goto nngfail;
		memcpy(nng_msg_body(m), buf, n);
		if ((r = nng_sendmsg(req, m, 0)) != 0) {
			nng_msg_free(m);
			goto nngfail;
		}
		if ((r = nng_recvmsg(req, &m, 0)) != 0)
			goto nngfail;
		nng_msg_free(m);
		done += n;
	}
	double secs = now_s() - t0;
	pthread_join(th, NULL);
	started = false;
	if (srv.rc != 0) {
		r = srv.rc;
		goto nngfail;
	}
	rc = emit(json_pack("{s:s, s:I, s:I, s:I, s:f, s:f, s:s}", "test", "nng-reqrep", "bytes",
			    (json_int_t)done, "msg_bytes", (json_int_t)msg_bytes, "messages",
			    (json_int_t)msgs, "seconds", secs, "mb_per_s", (double)done / 1e6 / secs,
			    "method", "nng req0/rep0 over tcp://127.0.0.1, 2-byte replies"));
	goto out;
nngfail:
	fprintf(stderr, "nng-reqrep: %s\n", nng_strerror(r));
out:
	/* Closing the sockets unblocks the server thread if it is still waiting. */
	nng_close(req);
	nng_close(rep);
	if (started)
		pthread_join(th, NULL);
	free(buf);
	return rc;
}

struct tcp_sink {
	int lfd;
	uint64_t got;
	int err;
};

static void *tcp_sink_loop(void *arg)
{
	struct tcp_sink *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0) {
		s->err = errno;
		return NULL;
	}
	char *buf = malloc(TCP_IO_BYTES);
	if (!buf) {
		s->err = ENOMEM;
		close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, buf, TCP_IO_BYTES);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0)
				s->err = errno;
			break;
		}
		s->got += (uint64_t)r;
	}
	free(buf);
	close(fd);
	return NULL;
}

/* Plain loopback TCP: what any byte-moving protocol here is bounded by. */
static int cmd_tcp(uint64_t bytes)
{
	int rc = 1, cfd = -1;
	struct tcp_sink sink = {.lfd = -1};
	pthread_t th;
	bool started = false;
	char *buf = NULL;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t salen = sizeof sa;

	sink.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sink.lfd < 0 || bind(sink.lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(sink.lfd, 1) != 0 || getsockname(sink.lfd, (struct sockaddr *)&sa, &salen) != 0) {
		fprintf(stderr, "tcp: listen: %s\n", strerror(errno));
		goto out;
	}
	if (pthread_create(&th, NULL, tcp_sink_loop, &sink) != 0)
		goto out;
	started = true;
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		fprintf(stderr, "tcp: connect: %s\n", strerror(errno));
		goto out;
	}
	if (!(buf = malloc(TCP_IO_BYTES)))
		goto out;
	memset(buf, 0x5a, TCP_IO_BYTES);
	double t0 = now_s();
	uint64_t done = 0;
	while (done < bytes) {
		size_t n = bytes - done < TCP_IO_BYTES ? (size_t)(bytes - done) : TCP_IO_BYTES;
		ssize_t w = write(cfd, buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tcp: write: %s\n", strerror(errno));
			goto out;
		}
		done += (uint64_t)w;
	}
	close(cfd);
	cfd = -1;
	pthread_join(th, NULL); /* the sink has read everything when it sees EOF */
	started = false;
	double secs = now_s() - t0;
	if (sink.err != 0 || sink.got != bytes) {
		fprintf(stderr, "tcp: receiver got %llu of %llu bytes (%s)\n",
			(unsigned long long)sink.got, (unsigned long long)bytes, strerror(sink.err));
		goto out;
	}
	rc = emit(json_pack("{s:s, s:I, s:f, s:f, s:s}", "test", "tcp", "bytes", (json_int_t)done,
			    "seconds", secs, "mb_per_s", (double)done / 1e6 / secs, "method",
			    "one TCP stream over 127.0.0.1, 256 KiB writes"));
out:
	if (cfd >= 0)
		close(cfd);
	if (started) {
		shutdown(sink.lfd, SHUT_RDWR);
		pthread_join(th, NULL);
	}
	if (sink.lfd >= 0)
		close(sink.lfd);
	free(buf);
	return rc;
}

struct small_job {
	const char *dir;
	size_t first, count, size;
	bool read;
	int err;
};

/* One durable small file as a worker stores a chunk: temp file, fsync,
 * rename, directory fsync; or read it back whole. */
static void *small_loop(void *arg)
{
	struct small_job *j = arg;
	char tmp[4096], path[4096], *buf = malloc(j->size ? j->size : 1);
	if (!buf) {
		j->err = ENOMEM;
		return NULL;
	}
	memset(buf, 0x3c, j->size);
	int dfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = j->first; i < j->first + j->count && dfd >= 0; i++) {
		snprintf(path, sizeof path, "%s/f%zu", j->dir, i);
		if (j->read) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || read(fd, buf, j->size) != (ssize_t)j->size) {
				j->err = errno ? errno : EIO;
				if (fd >= 0)
					close(fd);
				break;
			}
			close(fd);
			continue;
		}
		snprintf(tmp, sizeof tmp, "%s/.tmp%zu", j->dir, i);
		memcpy(buf, &i, sizeof i < j->size ? sizeof i : j->size);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, buf, j->size) != (ssize_t)j->size || fsync(fd) != 0 ||
		    close(fd) != 0 || rename(tmp, path) != 0 || fsync(dfd) != 0) {
			j->err = errno ? errno : EIO;
			break;
		}
	}
	if (dfd < 0)
		j->err = errno;
	else
		close(dfd);
	free(buf);
	return NULL;
}

static int small_phase(const char *dir, size_t count, size_t size, int threads, bool rd,
		       double *secs)
{
	struct small_job jobs[64];
	pthread_t th[64];
	size_t per = count / (size_t)threads, first = 0;
	double t0 = now_s();
	int started = 0, err = 0;
	for (int t = 0; t < threads; t++) {
		size_t n = per + ((size_t)t < count % (size_t)threads ? 1 : 0);
		jobs[t] = (struct small_job){.dir = dir, .first = first, .count = n, .size = size,
					     .read = rd};
		first += n;
		if (pthread_create(&th[t], NULL, small_loop, &jobs[t]) != 0) {
			err = EAGAIN;
			break;
		}
		started++;
	}
	for (int t = 0; t < started; t++) {
		pthread_join(th[t], NULL);
		if (jobs[t].err)
			err = jobs[t].err;
	}
	*secs = now_s() - t0;
	return err;
}

/* COUNT durable files of SIZE bytes from THREADS threads, then read back
 * (warm): the local-filesystem rate a metadata-bound small-file workload
 * is measured against. Removes its files afterwards. */
static int cmd_small_files(const char *dir, uint64_t count, uint64_t size, uint64_t threads)
{
	double wsecs = 0, rsecs = 0;
	if (threads == 0 || threads > 64 || size > (64u << 20)) {
		fprintf(stderr, "small-files: THREADS must be 1..64, SIZE <= 64 MiB\n");
		return 1;
	}
	int err = small_phase(dir, count, size, (int)threads, false, &wsecs);
	if (!err)
		err = small_phase(dir, count, size, (int)threads, true, &rsecs);
	char path[4096];
	for (uint64_t i = 0; i < count; i++) {
		snprintf(path, sizeof path, "%s/f%llu", dir, (unsigned long long)i);
		unlink(path);
		snprintf(path, sizeof path, "%s/.tmp%llu", dir, (unsigned long long)i);
		unlink(path);
	}
	if (err) {
		fprintf(stderr, "small-files: %s: %s\n", dir, strerror(err));
		return 1;
	}
	return emit(json_pack("{s:s, s:I, s:I, s:I, s:f, s:f, s:s}", "test", "small-files",
			      "files", (json_int_t)count, "file_bytes", (json_int_t)size,
			      "threads", (json_int_t)threads, "write_files_per_s",
			      (double)count / wsecs, "read_files_per_s", (double)count / rsecs,
			      "method", "tmp + write + fsync + rename + dir fsync; warm read"));
}

int main(int argc, char **argv)
{
	uint64_t a = 0, b = 0;
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage();
		return 0;
	}
	if (!strcmp(cmd, "disk-write") && argc == 4 && parse_bytes(argv[3], &a) == 0)
		return cmd_disk_write(argv[2], a, false);
	if (!strcmp(cmd, "disk-write-direct") && argc == 4 && parse_bytes(argv[3], &a) == 0)
		return cmd_disk_write(argv[2], a, true);
	if (!strcmp(cmd, "disk-read") && argc == 3)
		return cmd_disk_read(argv[2]);
	if (!strcmp(cmd, "sha256") && argc == 3 && parse_bytes(argv[2], &a) == 0)
		return cmd_sha256(a);
	if (!strcmp(cmd, "nng-reqrep") && argc == 4 && parse_bytes(argv[2], &a) == 0 &&
	    parse_bytes(argv[3], &b) == 0 && b <= (256ull << 20))
		return cmd_nng_reqrep(a, b);
	if (!strcmp(cmd, "small-files") && argc == 6 && parse_bytes(argv[3], &a) == 0 &&
	    parse_bytes(argv[4], &b) == 0) {
		uint64_t t = 0;
		if (parse_bytes(argv[5], &t) != 0)
			return usage();
		return cmd_small_files(argv[2], a, b, t);
	}
	if (!strcmp(cmd, "tcp") && argc == 3 && parse_bytes(argv[2], &a) == 0)
		return cmd_tcp(a);
	return usage();
}
