/* ppctl: the command-line client (DESIGN.md, "Binaries").
 *
 *   ppctl [--tracker ADDR | --node ADDR] [--key-file PATH] [--json] VERB ...
 *
 * Everything goes through libppclient; this file only parses arguments,
 * prints (tables for people, shapes.h JSON with --json) and maps errors to
 * the documented exit codes: 0 ok, 1 usage/invalid, 2 not found,
 * 3 unavailable, 4 integrity, 5 auth refused. Errors are one line on stderr,
 * "ppctl: error: ...". */
#define _GNU_SOURCE
#include "errors.h"
#include "flags.h"
#include "log.h"
#include "process.h"
#include "ppclient.h"
#include "ppctl.h"
#include "ppctl_output.h"
#include "shapes.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_TRACKER "tcp://127.0.0.1:7000"

static const struct flags_program ctl_prog = {
	"ppctl", "[--tracker ADDR | --node ADDR] [--key-file PATH] [--json] VERB ...",
	"Command-line client of Peer Pressure. Verbs:\n"
	"  put FILE|DIR... [--name NAME] [--prefix P] [--replication N]\n"
	"                                             upload files and directories ('-' reads stdin)\n"
	"  get NAME... [-o FILE|DIR|-]                download (default: basename of NAME here)\n"
	"  get --prefix P -o DIR                      download every file whose name starts with P\n"
	"  ls [TEXT] [--limit N]                      list files whose name contains TEXT, newest first\n"
	"  stat NAME                                  a file's chunks and where they live\n"
	"  rm NAME                                    delete a file\n"
	"  nodes | health | ping                      cluster state\n"
	"  drain NODE                                 move every chunk off a node\n"
	"  maintenance NODE on|off                    planned restart of a node\n"
	"  backup -o FILE                             consistent online copy of the tracker's database\n"
	"  promote                                    make the standby tracker the primary\n"
	"Exit codes: 0 ok, 1 usage or invalid, 2 not found, 3 unavailable, 4 integrity, 5 auth refused.\n"
	"Environment: PP_TRACKER, PP_NODE, PP_KEY_FILE (the flags win)."};

int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ppctl: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (see ppctl --help)\n", stderr);
	va_end(ap);
	return EXIT_USAGE;
}

int fail(const struct pp_error *e)
{
	fprintf(stderr, "ppctl: error: %s\n", e->message[0] ? e->message : pp_strerror(e->code));
	return pp_exit_code(e->code);
}

int print_json(json_t *j)
{
	if (j == NULL) {
		fprintf(stderr, "ppctl: error: out of memory building JSON\n");
		return 3;
	}
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (s == NULL)
		return 3;
	puts(s);
	free(s);
	return 0;
}

/* The flag parser prefixes its messages with the program name; parsing with
 * this name makes them the usual "ppctl: error: ..." line. */
static const struct flags_program err_prog = {"ppctl: error", "", ""};

static bool is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

int parse_verb(const struct flags_program *prog, const struct flag_spec *specs, int argc,
		      char **argv, const char **pos, int max_pos, int *npos)
{
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		if (is_help(argv[i])) {
			flags_print_help(prog, specs);
			return -2;
		}
	}
	int i = 0;
	while (i < argc) {
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			int next;
			int rc = flags_parse(&err_prog, specs, argc, argv, i, &next);
			if (rc == FLAGS_EXIT_OK)
				return -2;
			if (rc != FLAGS_CONTINUE)
				return -1;
			if (next == i)
				break;
			i = next;
			continue;
		}
		if (*npos == max_pos) {
			fprintf(stderr, "ppctl: error: unexpected argument '%s' (see ppctl --help)\n", argv[i]);
			return -1;
		}
		pos[(*npos)++] = argv[i++];
	}
	return 0;
}

/* A regular file (or a new one) is written to a temp name beside it and
 * renamed once complete; a device, FIFO or '-' is written in place, never
 * replaced. */
static int cmd_backup(struct ctl *x, int argc, char **argv)
{
	const char *out = NULL;
	const struct flag_spec specs[] = {
		{"output", NULL, FLAG_STRING, &out, "where to write the database ('-' for stdout)", false,
		 'o'},
		VERB_FLAGS_END};
	const struct flags_program prog = {
		"ppctl backup", "-o FILE",
		"Writes a consistent online copy of the tracker's database; a tracker started on it "
		"reconciles with the workers."};
	const char *pos[1];
	int npos, rc = parse_verb(&prog, specs, argc, argv, pos, 0, &npos);
	if (rc != 0)
		return rc == -2 ? 0 : EXIT_USAGE;
	if (out == NULL || out[0] == '\0')
		return usage_error("backup needs -o FILE");
	struct stat st;
	bool in_place = strcmp(out, "-") == 0 || (stat(out, &st) == 0 && !S_ISREG(st.st_mode));
	char *tmp = NULL;
	int fd = STDOUT_FILENO;
	if (strcmp(out, "-") != 0) {
		if (in_place) {
			fd = open(out, O_WRONLY | O_CLOEXEC);
		} else {
			char *dir_copy = strdup(out), *base_copy = strdup(out);
			if (asprintf(&tmp, "%s/.%s.ppctl-XXXXXX", dirname(dir_copy), basename(base_copy)) < 0)
				tmp = NULL;
			free(dir_copy);
			free(base_copy);
			fd = tmp ? mkstemp(tmp) : -1;
		}
		if (fd < 0) {
			fprintf(stderr, "ppctl: error: cannot write %s: %s\n", out, strerror(errno));
			free(tmp);
			return EXIT_USAGE;
		}
	}
	struct progress pr;
	progress_init(&pr, "backup");
	struct pp_backup_info info;
	struct pp_error err;
	rc = pp_backup_fd(x->c, fd, progress_update, &pr, &info, &err);
	progress_end(&pr);
	int exit_code = rc == PP_OK ? 0 : fail(&err);
	if (exit_code == 0 && tmp != NULL) {
		fchmod(fd, 0600); /* the cluster's metadata: owner only */
		if (fsync(fd) != 0 || rename(tmp, out) != 0) {
			fprintf(stderr, "ppctl: error: cannot write %s: %s\n", out, strerror(errno));
			exit_code = EXIT_USAGE;
		}
	}
	if (fd != STDOUT_FILENO)
		close(fd);
	if (exit_code != 0 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	if (exit_code == 0 && x->json) {
		json_t *j = json_object();
		json_object_set_new(j, "file", json_string(out));
		json_object_set_new(j, "bytes", json_integer((json_int_t)info.size));
		json_object_set_new(j, "commit_seq", json_integer((json_int_t)info.commit_seq));
		exit_code = print_json(j);
	} else if (exit_code == 0 && strcmp(out, "-") != 0) {
		char sz[16];
		out_size(info.size, sz, sizeof(sz));
		fprintf(stderr, "ppctl: wrote %s (%s, database up to commit %llu)\n", out, sz,
			(unsigned long long)info.commit_seq);
	}
	return exit_code;
}

static void fmt_time(int64_t ms, char *buf, size_t len)
{
	shape_time_rfc3339(ms, buf, len);
	char *dot = strchr(buf, '.');
	if (dot)
		strcpy(dot, "Z");
}

static int cmd_ls(struct ctl *x, int argc, char **argv)
{
	uint64_t limit = 100;
	const struct flag_spec specs[] = {
		{"limit", NULL, FLAG_UINT, &limit, "at most this many files (1..1000)", false, 0},
		VERB_FLAGS_END};
	const struct flags_program prog = {"ppctl ls", "[TEXT] [--limit N]",
					   "Lists files whose name contains TEXT, newest first."};
	const char *pos[1] = {NULL};
	int npos, rc = parse_verb(&prog, specs, argc, argv, pos, 1, &npos);
	if (rc != 0)
		return rc == -2 ? 0 : EXIT_USAGE;
	if (limit == 0 || limit > 1000)
		return usage_error("--limit must be 1..1000");
	struct pp_file_list *l;
	struct pp_error err;
	if (pp_list(x->c, pos[0], (uint32_t)limit, 0, &l, &err) != PP_OK)
		return fail(&err);
	if (x->json) {
		rc = print_json(shape_list(l));
		pp_file_list_free(l);
		return rc;
	}
	static const char *const hdr[] = {"NAME", "SIZE", "CHUNKS", "REPL", "HEALTH", "VERSION", "CREATED"};
	static const bool right[] = {false, true, true, true, false, true, false};
	struct table t;
	table_init(&t, 7, hdr, right);
	for (size_t i = 0; i < l->count; i++) {
		const struct pp_file *f = &l->files[i];
		char sz[16], ch[24], rp[12], ver[24], ts[40];
		out_size(f->size, sz, sizeof(sz));
		snprintf(ch, sizeof(ch), "%llu", (unsigned long long)f->chunk_count);
		snprintf(rp, sizeof(rp), "%u", f->replication);
		snprintf(ver, sizeof(ver), "%llu", (unsigned long long)f->version);
		fmt_time(f->created_at_ms, ts, sizeof(ts));
		const char *row[] = {f->name, sz, ch, rp, pp_file_health_name(f->health), ver, ts};
		table_row(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
	if (l->total > l->count)
		printf("(%zu of %llu shown; use --limit)\n", l->count, (unsigned long long)l->total);
	pp_file_list_free(l);
	return 0;
}

static int one_name(int argc, char **argv, const char *verb, const char **name)
{
	if (argc != 1)
		return usage_error("%s needs exactly one NAME", verb);
	const char *why = pp_name_check(argv[0]);
	if (why != NULL) {
		fprintf(stderr, "ppctl: error: invalid name: %s\n", why);
		return EXIT_USAGE;
	}
	*name = argv[0];
	return 0;
}

static int cmd_stat(struct ctl *x, int argc, char **argv)
{
	const char *name = NULL;
	int rc = one_name(argc, argv, "stat", &name);
	if (rc)
		return rc;
	struct pp_chunk_map *m;
	struct pp_error err;
	if (pp_stat(x->c, name, &m, &err) != PP_OK)
		return fail(&err);
	if (x->json) {
		rc = print_json(shape_chunk_map(m));
		pp_chunk_map_free(m);
		return rc;
	}
	const struct pp_file *f = &m->file;
	char sz[16], cs[16], ts[40];
	out_size(f->size, sz, sizeof(sz));
	out_size(f->chunk_size, cs, sizeof(cs));
	fmt_time(f->created_at_ms, ts, sizeof(ts));
	printf("name:        %s\nsize:        %s (%llu bytes)\nsha256:      %s\nversion:     %llu\n"
	       "created:     %s\nreplication: %u\nchunk size:  %s\nchunks:      %llu\nhealth:      %s\n\n",
	       f->name, sz, (unsigned long long)f->size, f->sha256, (unsigned long long)f->version, ts,
	       f->replication, cs, (unsigned long long)f->chunk_count, pp_file_health_name(f->health));
	static const char *const hdr[] = {"INDEX", "CHUNK", "SIZE", "REPLICAS"};
	static const bool right[] = {true, false, true, false};
	struct table t;
	table_init(&t, 4, hdr, right);
	for (size_t i = 0; i < m->chunk_count; i++) {
		const struct pp_chunk *c = &m->chunks[i];
		char idx[24], csz[16], reps[1024] = "";
		snprintf(idx, sizeof(idx), "%llu", (unsigned long long)c->index);
		out_size(c->size, csz, sizeof(csz));
		size_t off = 0;
		for (size_t j = 0; j < c->replica_count && off < sizeof(reps) - 1; j++)
			off += (size_t)snprintf(reps + off, sizeof(reps) - off, "%s%s(%s)", j ? " " : "",
						c->replicas[j].node,
						pp_replica_state_name(c->replicas[j].state));
		char shortid[20];
		snprintf(shortid, sizeof(shortid), "%.16s", c->id);
		const char *row[] = {idx, shortid, csz, reps};
		table_row(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
	pp_chunk_map_free(m);
	return 0;
}

static int cmd_rm(struct ctl *x, int argc, char **argv)
{
	const char *name = NULL;
	int rc = one_name(argc, argv, "rm", &name);
	if (rc)
		return rc;
	struct pp_error err;
	if (pp_delete(x->c, name, &err) != PP_OK)
		return fail(&err);
	if (x->json) {
		json_t *j = json_pack("{s:s, s:b}", "name", name, "deleted", 1);
		return print_json(j);
	}
	printf("removed %s\n", name);
	return 0;
}

static int cmd_nodes(struct ctl *x, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return usage_error("nodes takes no arguments");
	struct pp_node_list *l;
	struct pp_error err;
	if (pp_nodes(x->c, &l, &err) != PP_OK)
		return fail(&err);
	int rc = 0;
	if (x->json) {
		rc = print_json(shape_nodes(l));
		pp_node_list_free(l);
		return rc;
	}
	static const char *const hdr[] = {"ID", "ADDRESS", "ZONE", "STATE", "USED", "CAPACITY", "USE%", "CHUNKS", "INFLIGHT", "HEARTBEAT"};
	static const bool right[] = {false, false, false, false, true, true, true, true, true, true};
	struct table t;
	table_init(&t, 10, hdr, right);
	for (size_t i = 0; i < l->count; i++) {
		const struct pp_node *n = &l->nodes[i];
		char used[16], cap[16], pct[16], ch[24], inf[16], hb[32];
		out_size(n->used, used, sizeof(used));
		out_size(n->capacity, cap, sizeof(cap));
		snprintf(pct, sizeof(pct), "%.0f%%", n->capacity ? 100.0 * (double)n->used / (double)n->capacity : 0.0);
		snprintf(ch, sizeof(ch), "%llu", (unsigned long long)n->chunks);
		snprintf(inf, sizeof(inf), "%u", n->inflight);
		snprintf(hb, sizeof(hb), "%.1fs ago", (double)n->last_heartbeat_ms / 1000.0);
		const char *row[] = {n->id, n->address, n->zone, pp_node_state_name(n->state), used, cap, pct, ch, inf, hb};
		table_row(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
	pp_node_list_free(l);
	return rc;
}

static int cmd_health(struct ctl *x, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return usage_error("health takes no arguments");
	struct pp_health h;
	struct pp_error err;
	if (pp_health(x->c, &h, &err) != PP_OK)
		return fail(&err);
	if (x->json)
		return print_json(shape_health(&h));
	char stored[16], left[16], eta[32];
	out_size(h.bytes_stored, stored, sizeof(stored));
	out_size(h.repair_bytes_left, left, sizeof(left));
	out_duration(h.repair_eta_s, eta, sizeof(eta));
	bool ok = h.under_replicated == 0 && h.lost == 0;
	printf("status:            %s\nnodes up / down:   %u / %u\nfiles:             %llu\n"
	       "chunks:            %llu\nunder-replicated:  %llu\nlost:              %llu\n"
	       "repairs in flight: %u (queued %llu, done %llu)\nbytes stored:      %s\n",
	       h.lost ? "DATA LOST" : ok ? "healthy" : "repairing", h.nodes_up, h.nodes_down,
	       (unsigned long long)h.files, (unsigned long long)h.chunks,
	       (unsigned long long)h.under_replicated, (unsigned long long)h.lost,
	       h.repairs_in_flight, (unsigned long long)h.repairs_queued,
	       (unsigned long long)h.repairs_done, stored);
	if (h.repair_bytes_left)
		printf("repair left:       %s (ETA %s)\n", left, eta);
	return 0;
}

static int cmd_ping(struct ctl *x, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return usage_error("ping takes no arguments");
	struct pp_ping p;
	struct pp_error err;
	if (pp_ping(x->c, &p, &err) != PP_OK)
		return fail(&err);
	bool tracker = strcmp(p.role, "tracker") == 0;
	if (x->json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I}", "node_id", p.node_id, "role",
				      p.role, "version", p.version, "uptime_ms",
				      (json_int_t)p.uptime_ms, "rtt_us", (json_int_t)p.rtt_us);
		if (j != NULL && tracker) {
			json_object_set_new(j, "standby", json_boolean(p.standby));
			json_object_set_new(j, "term", json_integer((json_int_t)p.term));
		}
		return print_json(j);
	}
	char up[32], role[48];
	out_duration((double)p.uptime_ms / 1000.0, up, sizeof(up));
	snprintf(role, sizeof(role), "%s%s", p.standby ? "standby " : "", p.role);
	if (tracker)
		printf("pong from %s (%s %s, term %llu, up %s) in %.2f ms\n", p.node_id, role,
		       p.version, (unsigned long long)p.term, up, (double)p.rtt_us / 1000.0);
	else
		printf("pong from %s (%s %s, up %s) in %.2f ms\n", p.node_id, role, p.version, up,
		       (double)p.rtt_us / 1000.0);
	return 0;
}

static int cmd_drain(struct ctl *x, int argc, char **argv)
{
	if (argc != 1)
		return usage_error("drain needs a NODE");
	struct pp_drain_status d;
	struct pp_error err;
	if (pp_drain(x->c, argv[0], &d, &err) != PP_OK)
		return fail(&err);
	if (x->json) {
		json_t *j = shape_node(&d.node);
		if (j != NULL) {
			json_object_set_new(j, "chunks_left", json_integer((json_int_t)d.chunks_left));
			json_object_set_new(j, "bytes_left", json_integer((json_int_t)d.bytes_left));
			json_object_set_new(j, "eta_s", json_real(d.eta_s));
		}
		return print_json(j);
	}
	char left[16], eta[32];
	out_size(d.bytes_left, left, sizeof(left));
	out_duration(d.eta_s, eta, sizeof(eta));
	printf("draining %s: state %s, %llu chunks (%s) left, ETA %s\n", argv[0],
	       pp_node_state_name(d.node.state), (unsigned long long)d.chunks_left, left, eta);
	return 0;
}

static int cmd_maintenance(struct ctl *x, int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "on") != 0 && strcmp(argv[1], "off") != 0))
		return usage_error("maintenance needs NODE on|off");
	struct pp_node n;
	struct pp_error err;
	if (pp_maintenance(x->c, argv[0], strcmp(argv[1], "on") == 0, &n, &err) != PP_OK)
		return fail(&err);
	if (x->json)
		return print_json(shape_node(&n));
	printf("%s: maintenance %s (state %s)\n", argv[0], argv[1], pp_node_state_name(n.state));
	return 0;
}

static int cmd_promote(struct ctl *x, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return usage_error("promote takes no arguments (the standby is --tracker)");
	struct pp_promote_result r;
	struct pp_error err;
	if (pp_promote(x->c, &r, &err) != PP_OK)
		return fail(&err);
	if (x->json) {
		json_t *j = json_object();
		json_object_set_new(j, "term", json_integer((json_int_t)r.term));
		json_object_set_new(j, "commit_seq", json_integer((json_int_t)r.commit_seq));
		json_object_set_new(j, "merged", json_integer((json_int_t)r.merged));
		return print_json(j);
	}
	printf("promoted: term %llu, %llu records caught up\n", (unsigned long long)r.term,
	       (unsigned long long)r.merged);
	return 0;
}

struct verb {
	const char *name;
	int (*run)(struct ctl *x, int argc, char **argv);
};

static const struct verb verbs[] = {
	{"put", cmd_put},     {"get", cmd_get},       {"ls", cmd_ls},     {"stat", cmd_stat},
	{"rm", cmd_rm},       {"nodes", cmd_nodes},   {"health", cmd_health}, {"ping", cmd_ping},
	{"drain", cmd_drain}, {"maintenance", cmd_maintenance}, {"backup", cmd_backup},
	{"promote", cmd_promote},
};

int main(int argc, char **argv)
{
	process_setup("ppctl");
	if (getenv("PP_LOG_LEVEL") == NULL)
		log_set_level(LOG_ERROR); /* library chatter is not for the user */
	struct ctl x = {0};
	const struct flag_spec specs[] = {
		{"tracker", NULL, FLAG_STRING, &x.tracker, "tracker address (default " DEFAULT_TRACKER ", env PP_TRACKER)", false, 0},
		{"node", NULL, FLAG_STRING, &x.node, "talk to this worker directly (env PP_NODE)", false, 0},
		{"key-file", "PP_KEY_FILE", FLAG_STRING, &x.key_file, "cluster key file", false, 0},
		{"json", NULL, FLAG_BOOL, &x.json, "print JSON (DESIGN.md shapes)", false, 0},
		VERB_FLAGS_END};
	/* --help and --version before the verb; the rest is parsed with
	 * err_prog so that flag errors read "ppctl: error: ...". */
	for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (is_help(argv[i])) {
			flags_print_help(&ctl_prog, specs);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("ppctl %s\n", PP_VERSION);
			return 0;
		}
		if (!strchr(argv[i], '=') && (strcmp(argv[i], "--tracker") == 0 ||
					      strcmp(argv[i], "--node") == 0 ||
					      strcmp(argv[i], "--key-file") == 0))
			i++;
	}
	int next;
	int rc = flags_parse(&err_prog, specs, argc, argv, 1, &next);
	if (rc == FLAGS_EXIT_OK)
		return 0;
	if (rc != FLAGS_CONTINUE)
		return EXIT_USAGE;
	if (x.tracker != NULL && x.node != NULL)
		return usage_error("give --tracker or --node, not both");
	if (x.tracker == NULL && x.node == NULL) {
		const char *et = getenv("PP_TRACKER"), *en = getenv("PP_NODE");
		et = et && et[0] ? et : NULL;
		en = en && en[0] ? en : NULL;
		if (et && en)
			return usage_error("both PP_TRACKER and PP_NODE are set; unset one or pass a flag");
		x.tracker = et;
		x.node = en;
		if (!et && !en)
			x.tracker = DEFAULT_TRACKER;
	}
	if (next >= argc)
		return usage_error("no verb given");
	const char *verb = argv[next];
	const struct verb *v = NULL;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, verb) == 0)
			v = &verbs[i];
	if (v == NULL)
		return usage_error("unknown verb '%s'", verb);
	struct pp_client_options o = {.tracker = x.node ? NULL : x.tracker, .node = x.node,
				      .key_file = x.key_file};
	struct pp_error err;
	if (pp_client_open(&o, &x.c, &err) != PP_OK)
		return fail(&err);
	rc = v->run(&x, argc - next - 1, argv + next + 1);
	pp_client_close(x.c);
	return rc;
}
