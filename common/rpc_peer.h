/* Client side of RPC transport, codec-free: REQ sockets dialed to one address
 * each, shared by every thread (each call opens its own nng context).
 *
 * Callers pass framed messages (frame.h) and get framed replies; the codec
 * (protobuf-c in services, nanopb in the client library) stays above this.
 * When a peer's connection drops, its calls in flight fail at once with
 * PP_EUNAVAIL instead of waiting for their timeout, so readers fail over to
 * the next replica quickly. */
#ifndef PP_COMMON_RPC_PEER_H
#define PP_COMMON_RPC_PEER_H

#include <nng/nng.h>

#define RPC_TIMEOUT_SHORT_MS 5000  /* metadata calls */
#define RPC_TIMEOUT_DATA_MS 30000  /* chunk transfers */
#define RPC_PEERS_MAX 1024

struct rpc_peer;
struct rpc_peers;

int rpc_peer_open(const char *address, struct rpc_peer **out);
void rpc_peer_close(struct rpc_peer *p);
const char *rpc_peer_address(const struct rpc_peer *p);
/* Sends req (ownership taken, also on failure) and waits for the reply.
 * Returns PP_OK with *reply owned by the caller, or PP_EUNAVAIL. */
int rpc_peer_call(struct rpc_peer *p, nng_msg *req, nng_msg **reply, int timeout_ms);

/* A cache of peers by address, for processes that talk to many workers. */
int rpc_peers_new(struct rpc_peers **out);
void rpc_peers_free(struct rpc_peers *ps);
int rpc_peers_call(struct rpc_peers *ps, const char *address, nng_msg *req, nng_msg **reply,
		   int timeout_ms);
/* A service stopping: calls waiting for replies fail now (PP_EUNAVAIL) and
 * new calls fail at once, so no background thread sits out a 30 s data
 * timeout while the process shuts down. Peers stay valid until freed. */
void rpc_peers_shutdown(struct rpc_peers *ps);
/* Dials every address (cached peers stay) and waits up to wait_ms for any
 * of them to connect; the lowest index connected, or -1. A process given
 * several trackers starts with one that answers instead of waiting out a
 * dead first address on every run. */
#define RPC_PICK_MAX 16
int rpc_peers_pick(struct rpc_peers *ps, char *const *addresses, size_t n, int wait_ms);

#endif
