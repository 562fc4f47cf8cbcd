/* libFuzzer: agent protocol frames through both decoders. Whatever the
 * fast heartbeat decoder accepts, the jansson decoder must read the same
 * way; neither may crash on anything. */
#include <stdint.h>
#include <stdlib.h>

#include "proto/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    if (msg_check_heartbeat(p, size) < 0)
        abort();
    struct msg_error err;
    json_t *j = msg_parse(p, size, &err);
    if (!j)
        return 0;
    struct hello h;
    static struct heartbeat hb;
    const char *tok, *id, *reason, *stream, *d;
    enum task_status st;
    int ack, has, code;
    size_t len;
    switch (msg_type_of(j)) {
    case MSG_HELLO: msg_decode_hello(j, &h, &tok, &err); break;
    case MSG_HEARTBEAT: msg_decode_heartbeat(j, &hb, &ack, &err); break;
    case MSG_TASK_FINISHED: msg_decode_finished(j, &id, &st, &has, &code, &reason, &err); break;
    case MSG_LOG: msg_decode_log(j, &id, &stream, &d, &len, &err); break;
    default: break;
    }
    json_decref(j);
    return 0;
}
