/* A subscription's history: entries read from its Redis stream, then the
 * live messages held meanwhile that came after the last of them, so the
 * client sees no gap and no repeat. */
#include <string.h>

#include "pubsub_int.h"
#include "store/store.h"

#define HISTORY_MAX 10000         /* entries replayed at most */

static void release_held(struct sub *s, uint64_t last_ms, uint64_t last_seq)
{
    size_t pos = 0;
    const char *p = buf_start(&s->held);
    s->catching_up = 0;
    while (pos + 20 <= s->held.len) {
        uint64_t ms, seq;
        uint32_t n;
        memcpy(&ms, p + pos, 8);
        memcpy(&seq, p + pos + 8, 8);
        memcpy(&n, p + pos + 16, 4);
        if (ms > last_ms || (ms == last_ms && seq > last_seq))
            ws_send(s->cl->ws, p + pos + 20, n);
        if (ms == UINT64_MAX && s->close_at_end)
            ws_close(s->cl->ws, 1000, "task finished");
        pos += 20 + n;
    }
    buf_free(&s->held);
}

static void on_history(int ok, const struct store_entry *e, size_t n, uint64_t client_id,
                       uint64_t sub_id)
{
    struct sub *s = pubsub_sub_find(client_id, sub_id);
    if (!s)
        return;
    (void)ok;
    uint64_t last_ms = 0, last_seq = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *j = pubsub_msg_history(s, &e[i]);
        last_ms = e[i].ms;
        last_seq = e[i].seq;
        if (j)
            ws_send_json(s->cl->ws, j);
    }
    release_held(s, last_ms, last_seq);
}

static const enum store_stream topic_stream[] = {
    [TOPIC_TELEMETRY] = STREAM_WORKER_TELEMETRY,
    [TOPIC_GPUS] = STREAM_GPU,
    [TOPIC_EVENTS] = STREAM_EVENTS,
    [TOPIC_LOGS] = STREAM_TASK_LOGS,
};

/* Starts s's catch-up from `from` ("earliest" or an entry id, exclusive):
 * live messages are held until the history is sent. Returns 0, or -1 when
 * Redis cannot be read (live only then). */
int pubsub_history(struct sub *s, const char *from)
{
    int earliest = strcmp(from, "earliest") == 0;
    struct store_range r = {earliest ? NULL : from, NULL, !earliest, HISTORY_MAX, 0};
    s->catching_up = 1;
    if (store_read_range(topic_stream[s->topic], s->key, &r, on_history, ws_id(s->cl->ws),
                         s->id) < 0) {
        s->catching_up = 0;
        return -1;
    }
    return 0;
}
