/* Cross-codec tests: every pp.v1 Request and Response body, Heartbeat and
 * Event, encoded by the client's codec (nanopb) is decoded by the services'
 * (protobuf-c) with every field known (no unknown fields, the right oneof
 * case), re-encoded by protobuf-c and decoded by nanopb back to the same
 * values — so each message type crosses both ways and the .proto files are
 * the only contract between the two. Repeated fields (callbacks in nanopb)
 * are compared element by element. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "wire.h"
#include "pp/v1/bus.pb.h"
#include "pp/v1/bus.pb-c.h"
#include "pp/v1/rpc.pb-c.h"

#define BUF_MAX 65536

/* ---- repeated-field helpers (nanopb callbacks) ---- */

struct strlist {
	int n;
	char s[8][300];
};

static bool dec_string(pb_istream_t *st, const pb_field_t *f, void **arg)
{
	(void)f;
	struct strlist *l = *arg;
	if (l->n == 8 || st->bytes_left >= 300)
		return false;
	size_t len = st->bytes_left;
	if (!pb_read(st, (pb_byte_t *)l->s[l->n], len))
		return false;
	l->s[l->n++][len] = '\0';
	return true;
}

/* Encodes a packed list of bools (proto3 default). arg: struct boollist. */
struct boollist {
	int n;
	bool v[8];
};

static bool enc_bools(pb_ostream_t *st, const pb_field_t *f, void *const *arg)
{
	const struct boollist *l = *arg;
	uint8_t b[8];
	for (int i = 0; i < l->n; i++)
		b[i] = l->v[i];
	return pb_encode_tag(st, PB_WT_STRING, f->tag) && pb_encode_string(st, b, (size_t)l->n);
}

static bool dec_bools(pb_istream_t *st, const pb_field_t *f, void **arg)
{
	(void)f;
	struct boollist *l = *arg;
	while (st->bytes_left) {
		uint64_t v;
		if (l->n == 8 || !pb_decode_varint(st, &v))
			return false;
		l->v[l->n++] = v != 0;
	}
	return true;
}

/* A list of submessages of one type, encoded from an array. */
struct msglist {
	const pb_msgdesc_t *fields;
	size_t elem;
	int n;
	void *items;
};

static bool enc_msgs(pb_ostream_t *st, const pb_field_t *f, void *const *arg)
{
	const struct msglist *l = *arg;
	for (int i = 0; i < l->n; i++)
		if (!pb_encode_tag_for_field(st, f) ||
		    !pb_encode_submessage(st, l->fields, (const char *)l->items + (size_t)i * l->elem))
			return false;
	return true;
}

static const pp_v1_Replica replicas3[3] = {
	{"w1", "tcp://127.0.0.1:7101", pp_v1_ReplicaState_REPLICA_OK, 3},
	{"w2", "tcp://127.0.0.1:7102", pp_v1_ReplicaState_REPLICA_SUSPECT, 0},
	{"w3", "tcp://127.0.0.1:7103", pp_v1_ReplicaState_REPLICA_PENDING, 9},
};
static struct msglist replica_list = {pp_v1_Replica_fields, sizeof(pp_v1_Replica), 3, (void *)replicas3};

static void check_replicas(const struct wire_vec *v)
{
	assert_int_equal(v->n, 3);
	const struct pp_replica *r = v->items;
	for (int i = 0; i < 3; i++) {
		assert_string_equal(r[i].node, replicas3[i].node);
		assert_string_equal(r[i].address, replicas3[i].address);
		assert_int_equal(r[i].state, (int)replicas3[i].state);
		assert_int_equal(r[i].load, replicas3[i].load);
	}
}

static const char *const ids[] = {
	"0000000000000000000000000000000000000000000000000000000000000000",
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", NULL};

static void check_ids(const struct strlist *l)
{
	assert_int_equal(l->n, 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(l->s[i], ids[i]);
}

static pp_v1_ChunkRef refs[2] = {{"", 4194304, (7ull << 32) | 9, false}, {"", 1, UINT64_MAX, true}};
static struct msglist ref_list = {pp_v1_ChunkRef_fields, sizeof(pp_v1_ChunkRef), 2, refs};

struct reflist {
	int n;
	pp_v1_ChunkRef r[4];
};
static bool dec_ref(pb_istream_t *st, const pb_field_t *f, void **arg)
{
	(void)f;
	struct reflist *l = *arg;
	return l->n < 4 && pb_decode(st, pp_v1_ChunkRef_fields, &l->r[l->n++]);
}

static void check_refs(const struct reflist *l)
{
	assert_int_equal(l->n, 2);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(l->r[i].id, refs[i].id);
		assert_int_equal(l->r[i].size, refs[i].size);
		assert_true(l->r[i].gen == refs[i].gen);
		assert_int_equal(l->r[i].extra, refs[i].extra);
	}
}

/* ChunkLocations, each with the three replicas. */
static bool enc_locations(pb_ostream_t *st, const pb_field_t *f, void *const *arg)
{
	(void)arg;
	for (int i = 0; i < 2; i++) {
		pp_v1_ChunkLocation cl = pp_v1_ChunkLocation_init_zero;
		cl.index = 7 + (uint64_t)i;
		snprintf(cl.id, sizeof(cl.id), "%s", ids[i + 1]);
		cl.size = 1000u + (uint32_t)i;
		cl.replicas.funcs.encode = enc_msgs;
		cl.replicas.arg = &replica_list;
		if (!pb_encode_tag_for_field(st, f) || !pb_encode_submessage(st, pp_v1_ChunkLocation_fields, &cl))
			return false;
	}
	return true;
}

static void check_locations(struct wire_vec *v)
{
	assert_int_equal(v->n, 2);
	struct pp_chunk *c = v->items;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(c[i].index, 7 + i);
		assert_string_equal(c[i].id, ids[i + 1]);
		assert_int_equal(c[i].size, 1000 + i);
		struct wire_vec reps = {.items = c[i].replicas, .n = c[i].replica_count};
		check_replicas(&reps);
	}
	wire_chunks_free(v->items, v->n);
	v->items = NULL;
}

static const pp_v1_FileInfo file1 = {
	"dir/naïve file.bin", 123456789012ULL,
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 3, 4194304, 29436,
	1764366412123LL, 42, pp_v1_FileHealth_FILE_HEALTH_UNDER_REPLICATED};
static const pp_v1_NodeInfo node1 = {"w7", "tcp://10.0.0.7:7100", "zone-b",
				     pp_v1_NodeState_NODE_DRAINING, 1ULL << 40, 123456789,
				     4242, 850, 5, 1764366400000LL, true, 17, 71303168};
static const pp_v1_Health health1 = {3, 1, 1000, 20, 2, 4, 987654321, 77, 16, 1234,
				     5555555, 4444444, 12.5, 1.5e8};

static void check_file(const struct pp_file *f)
{
	assert_string_equal(f->name, file1.name);
	assert_int_equal(f->size, file1.size);
	assert_string_equal(f->sha256, file1.sha256);
	assert_int_equal(f->replication, 3);
	assert_int_equal(f->chunk_size, 4194304);
	assert_int_equal(f->chunk_count, 29436);
	assert_int_equal(f->created_at_ms, file1.created_at_ms);
	assert_int_equal(f->version, 42);
	assert_int_equal(f->health, PP_FILE_UNDER_REPLICATED);
}

/* ---- the round trip ---- */

/* The protobuf-c body submessage for a oneof case number, checked to have no
 * unknown fields (protobuf-c would otherwise carry them silently). */
static void check_pbc_body(const ProtobufCMessage *m, unsigned tag)
{
	assert_int_equal(m->n_unknown_fields, 0);
	const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(m->descriptor, tag);
	assert_non_null(fd);
	const ProtobufCMessage *body = *(const ProtobufCMessage *const *)((const char *)m + fd->offset);
	assert_non_null(body);
	assert_int_equal(body->n_unknown_fields, 0);
}

/* nanopb -> bytes -> protobuf-c (checked) -> bytes -> nanopb. */
static void roundtrip(const pb_msgdesc_t *nfields, const void *in, void *out,
		      const ProtobufCMessageDescriptor *pdesc, unsigned body_tag, unsigned case_offset)
{
	static uint8_t a[BUF_MAX], b[BUF_MAX];
	pb_ostream_t os = pb_ostream_from_buffer(a, sizeof(a));
	assert_true(pb_encode(&os, nfields, in));
	ProtobufCMessage *m = protobuf_c_message_unpack(pdesc, NULL, os.bytes_written, a);
	assert_non_null(m);
	if (body_tag != 0) {
		assert_int_equal(*(const uint32_t *)((const char *)m + case_offset), body_tag);
		check_pbc_body(m, body_tag);
	} else {
		assert_int_equal(m->n_unknown_fields, 0);
	}
	size_t n = protobuf_c_message_get_packed_size(m);
	assert_true(n <= sizeof(b));
	assert_int_equal(protobuf_c_message_pack(m, b), n);
	protobuf_c_message_free_unpacked(m, NULL);
	pb_istream_t is = pb_istream_from_buffer(b, n);
	assert_true(pb_decode(&is, nfields, out));
}

#define REQ_CASE offsetof(Pp__V1__Request, body_case)
#define RESP_CASE offsetof(Pp__V1__Response, body_case)

static void req_rt(pp_v1_Request *in, pp_v1_Request *out, unsigned tag)
{
	roundtrip(pp_v1_Request_fields, in, out, &pp__v1__request__descriptor, tag, REQ_CASE);
}

static void resp_rt(pp_v1_Response *in, pp_v1_Response *out, unsigned tag)
{
	in->status = pp_v1_Status_STATUS_NO_SPACE;
	snprintf(in->error, sizeof(in->error), "disk full on w2 — naïve text");
	roundtrip(pp_v1_Response_fields, in, out, &pp__v1__response__descriptor, tag, RESP_CASE);
	assert_int_equal(out->status, pp_v1_Status_STATUS_NO_SPACE);
	assert_string_equal(out->error, in->error);
}

static pp_v1_Request rq_in, rq_out;
static pp_v1_Response rs_in, rs_out;

static int reset(void **state)
{
	(void)state;
	memset(&rq_in, 0, sizeof(rq_in));
	memset(&rq_out, 0, sizeof(rq_out));
	memset(&rs_in, 0, sizeof(rs_in));
	memset(&rs_out, 0, sizeof(rs_out));
	snprintf(refs[0].id, sizeof(refs[0].id), "%s", ids[1]);
	snprintf(refs[1].id, sizeof(refs[1].id), "%s", ids[2]);
	return 0;
}

#define SAME(field) assert_memory_equal(&rq_in.field, &rq_out.field, sizeof(rq_in.field))
#define RSAME(field) assert_memory_equal(&rs_in.field, &rs_out.field, sizeof(rs_in.field))

static void test_request_scalar_bodies(void **state)
{
	(void)state;
	rq_in.has_ping = true;
	req_rt(&rq_in, &rq_out, 1);
	assert_true(rq_out.has_ping);

	reset(NULL);
	rq_in.has_upload_begin = true;
	rq_in.upload_begin = (pp_v1_UploadBeginRequest){"a/b c.txt", 3, 314572800};
	req_rt(&rq_in, &rq_out, 2);
	SAME(upload_begin);

	reset(NULL);
	rq_in.has_place = true;
	rq_in.place = (pp_v1_PlaceRequest){UINT64_MAX, 75, "", 4194304};
	snprintf(rq_in.place.chunk_id, 65, "%s", ids[1]);
	req_rt(&rq_in, &rq_out, 3);
	SAME(place);

	reset(NULL);
	rq_in.has_commit = true;
	rq_in.commit = (pp_v1_CommitRequest){9, 0, "", 0};
	snprintf(rq_in.commit.sha256, 65, "%s", ids[1]);
	req_rt(&rq_in, &rq_out, 4);
	SAME(commit);

	reset(NULL);
	rq_in.has_upload_abort = true;
	rq_in.upload_abort.upload_id = 123456789;
	req_rt(&rq_in, &rq_out, 5);
	SAME(upload_abort);

	reset(NULL);
	rq_in.has_upload_touch = true;
	rq_in.upload_touch.upload_id = 987654321;
	req_rt(&rq_in, &rq_out, 35);
	SAME(upload_touch);

	reset(NULL);
	rq_in.has_manifest = true;
	rq_in.manifest = (pp_v1_ManifestRequest){"x", 1024, 256};
	memset(rq_in.manifest.name, 'n', 1024);
	rq_in.manifest.name[1024] = '\0';
	req_rt(&rq_in, &rq_out, 6);
	SAME(manifest);

	reset(NULL);
	rq_in.has_list = true;
	rq_in.list = (pp_v1_ListRequest){"report", 1000, 20};
	req_rt(&rq_in, &rq_out, 7);
	SAME(list);

	reset(NULL);
	rq_in.has_delete_file = true;
	snprintf(rq_in.delete_file.name, 1025, "%s", "old/file");
	req_rt(&rq_in, &rq_out, 8);
	SAME(delete_file);

	reset(NULL);
	rq_in.has_nodes = true;
	req_rt(&rq_in, &rq_out, 9);
	assert_true(rq_out.has_nodes);

	reset(NULL);
	rq_in.has_health = true;
	req_rt(&rq_in, &rq_out, 10);
	assert_true(rq_out.has_health);

	reset(NULL);
	rq_in.has_drain = true;
	snprintf(rq_in.drain.node_id, 129, "%s", "w3");
	req_rt(&rq_in, &rq_out, 11);
	SAME(drain);

	reset(NULL);
	rq_in.has_maintenance = true;
	rq_in.maintenance = (pp_v1_MaintenanceRequest){"w2", true, 600};
	req_rt(&rq_in, &rq_out, 12);
	SAME(maintenance);

	reset(NULL);
	rq_in.has_chunk_corrupt = true;
	rq_in.chunk_corrupt = (pp_v1_ChunkCorruptRequest){"w1", ""};
	snprintf(rq_in.chunk_corrupt.chunk_id, 65, "%s", ids[2]);
	req_rt(&rq_in, &rq_out, 22);
	SAME(chunk_corrupt);

	reset(NULL);
	rq_in.has_get_chunk = true;
	rq_in.get_chunk = (pp_v1_GetChunkRequest){"", 100, 4096, true};
	snprintf(rq_in.get_chunk.chunk_id, 65, "%s", ids[1]);
	req_rt(&rq_in, &rq_out, 31);
	SAME(get_chunk);
}

static void test_request_list_bodies(void **state)
{
	(void)state;
	struct reflist rl = {0};
	rq_in.has_replicas_added = true;
	snprintf(rq_in.replicas_added.node_id, 129, "%s", "w9");
	rq_in.replicas_added.chunks.funcs.encode = enc_msgs;
	rq_in.replicas_added.chunks.arg = &ref_list;
	rq_out.replicas_added.chunks.funcs.decode = dec_ref;
	rq_out.replicas_added.chunks.arg = &rl;
	req_rt(&rq_in, &rq_out, 20);
	assert_string_equal(rq_out.replicas_added.node_id, "w9");
	check_refs(&rl);

	reset(NULL);
	memset(&rl, 0, sizeof(rl));
	rq_in.has_inventory = true;
	rq_in.inventory = (pp_v1_InventoryRequest){"w4", 77, 3, true, {{NULL}, NULL}, 1ull << 40};
	rq_in.inventory.chunks.funcs.encode = enc_msgs;
	rq_in.inventory.chunks.arg = &ref_list;
	rq_out.inventory.chunks.funcs.decode = dec_ref;
	rq_out.inventory.chunks.arg = &rl;
	req_rt(&rq_in, &rq_out, 21);
	assert_string_equal(rq_out.inventory.node_id, "w4");
	assert_int_equal(rq_out.inventory.report_id, 77);
	assert_int_equal(rq_out.inventory.page, 3);
	assert_true(rq_out.inventory.last);
	assert_true(rq_out.inventory.snapshot_seq == 1ull << 40);
	check_refs(&rl);

	/* Every body whose only field is a list of chunk ids. */
	struct {
		bool *has_in, *has_out;
		pb_callback_t *in, *out;
		unsigned tag;
	} lists[] = {
		{&rq_in.has_locate, &rq_out.has_locate, &rq_in.locate.chunk_ids, &rq_out.locate.chunk_ids, 23},
		{&rq_in.has_has_chunks, &rq_out.has_has_chunks, &rq_in.has_chunks.chunk_ids, &rq_out.has_chunks.chunk_ids, 32},
		{&rq_in.has_delete_chunks, &rq_out.has_delete_chunks, &rq_in.delete_chunks.chunk_ids, &rq_out.delete_chunks.chunk_ids, 33},
	};
	for (size_t i = 0; i < 3; i++) {
		reset(NULL);
		struct strlist got = {0};
		*lists[i].has_in = true;
		lists[i].in->funcs.encode = wire_encode_strings;
		lists[i].in->arg = (void *)ids;
		lists[i].out->funcs.decode = dec_string;
		lists[i].out->arg = &got;
		req_rt(&rq_in, &rq_out, lists[i].tag);
		assert_true(*lists[i].has_out);
		check_ids(&got);
	}

	reset(NULL);
	struct strlist fw = {0};
	char *forward[] = {"tcp://127.0.0.1:7102", "tcp://127.0.0.1:7103", NULL};
	rq_in.has_put_chunk = true;
	snprintf(rq_in.put_chunk.chunk_id, 65, "%s", ids[1]);
	rq_in.put_chunk.forward.funcs.encode = wire_encode_strings;
	rq_in.put_chunk.forward.arg = forward;
	rq_out.put_chunk.forward.funcs.decode = dec_string;
	rq_out.put_chunk.forward.arg = &fw;
	req_rt(&rq_in, &rq_out, 30);
	assert_string_equal(rq_out.put_chunk.chunk_id, ids[1]);
	assert_int_equal(fw.n, 2);
	assert_string_equal(fw.s[0], forward[0]);
	assert_string_equal(fw.s[1], forward[1]);

	reset(NULL);
	memset(&fw, 0, sizeof(fw));
	rq_in.has_pull_chunk = true;
	snprintf(rq_in.pull_chunk.chunk_id, 65, "%s", ids[2]);
	rq_in.pull_chunk.size = 4194304;
	rq_in.pull_chunk.sources.funcs.encode = wire_encode_strings;
	rq_in.pull_chunk.sources.arg = forward;
	rq_out.pull_chunk.sources.funcs.decode = dec_string;
	rq_out.pull_chunk.sources.arg = &fw;
	req_rt(&rq_in, &rq_out, 34);
	assert_string_equal(rq_out.pull_chunk.chunk_id, ids[2]);
	assert_int_equal(rq_out.pull_chunk.size, 4194304);
	assert_int_equal(fw.n, 2);
	assert_string_equal(fw.s[1], forward[1]);
}

static void test_response_scalar_bodies(void **state)
{
	(void)state;
	rs_in.has_ping = true;
	rs_in.ping = (pp_v1_PingResponse){"tracker", "tracker", "0.1.0", 987654};
	resp_rt(&rs_in, &rs_out, 10);
	RSAME(ping);

	reset(NULL);
	rs_in.has_upload_begin = true;
	rs_in.upload_begin = (pp_v1_UploadBeginResponse){55, 1048576, 2, 60000};
	resp_rt(&rs_in, &rs_out, 11);
	RSAME(upload_begin);

	reset(NULL);
	rs_in.has_file = true;
	rs_in.file = file1;
	resp_rt(&rs_in, &rs_out, 13);
	struct pp_file f;
	wire_file_from_pb(&rs_out.file, &f);
	check_file(&f);

	reset(NULL);
	rs_in.has_health = true;
	rs_in.health = health1;
	resp_rt(&rs_in, &rs_out, 17);
	RSAME(health);

	reset(NULL);
	rs_in.has_drain = true;
	rs_in.drain = (pp_v1_DrainResponse){true, node1, 17, 71303168, 33.25};
	resp_rt(&rs_in, &rs_out, 18);
	RSAME(drain);

	reset(NULL);
	rs_in.has_node = true;
	rs_in.node = node1;
	resp_rt(&rs_in, &rs_out, 19);
	RSAME(node);

	reset(NULL);
	rs_in.has_get_chunk = true;
	rs_in.get_chunk = (pp_v1_GetChunkResponse){4194304, true};
	resp_rt(&rs_in, &rs_out, 21);
	RSAME(get_chunk);
}

static bool enc_files(pb_ostream_t *st, const pb_field_t *f, void *const *arg)
{
	(void)arg;
	for (int i = 0; i < 2; i++)
		if (!pb_encode_tag_for_field(st, f) || !pb_encode_submessage(st, pp_v1_FileInfo_fields, &file1))
			return false;
	return true;
}

static void test_response_list_bodies(void **state)
{
	(void)state;
	struct wire_vec v = {0};
	rs_in.has_place = true;
	rs_in.place.already_stored = true;
	rs_in.place.targets.funcs.encode = enc_msgs;
	rs_in.place.targets.arg = &replica_list;
	rs_out.place.targets.funcs.decode = wire_decode_replicas;
	rs_out.place.targets.arg = &v;
	resp_rt(&rs_in, &rs_out, 12);
	assert_true(rs_out.place.already_stored);
	check_replicas(&v);
	wire_vec_free(&v);

	reset(NULL);
	rs_in.has_manifest = true;
	rs_in.manifest.has_file = true;
	rs_in.manifest.file = file1;
	rs_in.manifest.chunks.funcs.encode = enc_locations;
	rs_out.manifest.chunks.funcs.decode = wire_decode_chunks;
	rs_out.manifest.chunks.arg = &v;
	resp_rt(&rs_in, &rs_out, 14);
	struct pp_file f;
	wire_file_from_pb(&rs_out.manifest.file, &f);
	check_file(&f);
	check_locations(&v);
	wire_vec_free(&v);

	reset(NULL);
	rs_in.has_locate = true;
	rs_in.locate.chunks.funcs.encode = enc_locations;
	rs_out.locate.chunks.funcs.decode = wire_decode_chunks;
	rs_out.locate.chunks.arg = &v;
	resp_rt(&rs_in, &rs_out, 23);
	check_locations(&v);
	wire_vec_free(&v);

	reset(NULL);
	rs_in.has_list = true;
	rs_in.list.total = 1234;
	rs_in.list.files.funcs.encode = enc_files;
	rs_out.list.files.funcs.decode = wire_decode_files;
	rs_out.list.files.arg = &v;
	resp_rt(&rs_in, &rs_out, 15);
	assert_int_equal(rs_out.list.total, 1234);
	assert_int_equal(v.n, 2);
	check_file(&((struct pp_file *)v.items)[1]);
	wire_vec_free(&v);

	reset(NULL);
	struct msglist nl = {pp_v1_NodeInfo_fields, sizeof(pp_v1_NodeInfo), 1, (void *)&node1};
	rs_in.has_nodes = true;
	rs_in.nodes.nodes.funcs.encode = enc_msgs;
	rs_in.nodes.nodes.arg = &nl;
	rs_out.nodes.nodes.funcs.decode = wire_decode_nodes;
	rs_out.nodes.nodes.arg = &v;
	resp_rt(&rs_in, &rs_out, 16);
	assert_int_equal(v.n, 1);
	struct pp_node *n = v.items;
	assert_string_equal(n->id, "w7");
	assert_string_equal(n->zone, "zone-b");
	assert_int_equal(n->state, PP_NODE_DRAINING);
	assert_int_equal(n->capacity, 1ULL << 40);
	assert_true(n->disk_full);
	assert_int_equal(n->drain_bytes_left, 71303168);
	wire_vec_free(&v);

	reset(NULL);
	struct strlist so = {0};
	char *stored[] = {"w1", "w2", "w3", NULL};
	rs_in.has_put_chunk = true;
	rs_in.put_chunk.stored_on.funcs.encode = wire_encode_strings;
	rs_in.put_chunk.stored_on.arg = stored;
	rs_out.put_chunk.stored_on.funcs.decode = dec_string;
	rs_out.put_chunk.stored_on.arg = &so;
	resp_rt(&rs_in, &rs_out, 20);
	assert_int_equal(so.n, 3);
	assert_string_equal(so.s[2], "w3");

	reset(NULL);
	struct boollist bin = {4, {true, false, false, true}}, bout = {0};
	rs_in.has_has_chunks = true;
	rs_in.has_chunks.present.funcs.encode = enc_bools;
	rs_in.has_chunks.present.arg = &bin;
	rs_out.has_chunks.present.funcs.decode = dec_bools;
	rs_out.has_chunks.present.arg = &bout;
	resp_rt(&rs_in, &rs_out, 22);
	assert_int_equal(bout.n, 4);
	assert_memory_equal(bout.v, bin.v, sizeof(bin.v));
}

static void test_bus_messages(void **state)
{
	(void)state;
	pp_v1_Heartbeat hin = {"w5", "tcp://127.0.0.1:7105", "z1", 1ULL << 36, 123456, 99, 4,
			       1764366400000LL, true};
	pp_v1_Heartbeat hout;
	memset(&hout, 0, sizeof(hout));
	roundtrip(pp_v1_Heartbeat_fields, &hin, &hout, &pp__v1__heartbeat__descriptor, 0, 0);
	assert_memory_equal(&hin, &hout, sizeof(hin));

	pp_v1_Event ein, eout;
	memset(&ein, 0, sizeof(ein));
	memset(&eout, 0, sizeof(eout));
	ein.ts_ms = 1764366412123LL;
	snprintf(ein.kind, sizeof(ein.kind), "repair_progress");
	snprintf(ein.node, sizeof(ein.node), "w2");
	snprintf(ein.state, sizeof(ein.state), "dead");
	snprintf(ein.file, sizeof(ein.file), "a/b");
	ein.size = 77;
	ein.has_health = true;
	ein.health = health1;
	snprintf(ein.detail, sizeof(ein.detail), "chunk quarantined");
	roundtrip(pp_v1_Event_fields, &ein, &eout, &pp__v1__event__descriptor, 0, 0);
	assert_memory_equal(&ein, &eout, sizeof(ein));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_request_scalar_bodies, reset),
		cmocka_unit_test_setup(test_request_list_bodies, reset),
		cmocka_unit_test_setup(test_response_scalar_bodies, reset),
		cmocka_unit_test_setup(test_response_list_bodies, reset),
		cmocka_unit_test_setup(test_bus_messages, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
