/* Fuzz target: the services' request decoder — frame check then protobuf-c
 * unpack of pp.v1.Request (what rpc_server.c does with every request), and
 * the bus decoders (Heartbeat, Event). */
#include "errors.h"
#include "frame.h"
#include "pp/v1/bus.pb-c.h"
#include "pp/v1/rpc.pb-c.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Raw protobuf, as inside a frame. */
	Pp__V1__Request *req = pp__v1__request__unpack(NULL, size, data);
	if (req != NULL)
		pp__v1__request__free_unpacked(req, NULL);
	Pp__V1__Response *resp = pp__v1__response__unpack(NULL, size, data);
	if (resp != NULL)
		pp__v1__response__free_unpacked(resp, NULL);
	Pp__V1__Heartbeat *hb = pp__v1__heartbeat__unpack(NULL, size, data);
	if (hb != NULL)
		pp__v1__heartbeat__free_unpacked(hb, NULL);
	Pp__V1__Event *ev = pp__v1__event__unpack(NULL, size, data);
	if (ev != NULL)
		pp__v1__event__free_unpacked(ev, NULL);

	/* Whole frames. */
	nng_msg *m;
	if (nng_msg_alloc(&m, size) != 0)
		return 0;
	if (size)
		memcpy(nng_msg_body(m), data, size);
	struct frame_view v;
	if (frame_open(m, NULL, 0, &v, NULL) == PP_OK) {
		req = pp__v1__request__unpack(NULL, v.pb_len, v.pb);
		if (req != NULL)
			pp__v1__request__free_unpacked(req, NULL);
	}
	nng_msg_free(m);
	return 0;
}
