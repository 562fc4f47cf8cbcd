/* The subscription index: subscriptions by topic and key (a bucket per
 * key, a list for "every key"), delivery that holds live messages while a
 * subscription catches up on history, and the cluster's changes turned
 * into messages for those who listen. */
#include "pubsub.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "core/timefmt.h"
#include "pubsub_int.h"
#include "views.h"

#define HELD_MAX (1u << 20)       /* live messages held during a catch-up */

struct pubsub_state pubsub;

static int bucket_match(const struct dict_node *n, const void *key, size_t len)
{
    const struct bucket *b = container_of(n, struct bucket, node);
    return strlen(b->key) == len && memcmp(b->key, key, len) == 0;
}

static struct bucket *bucket_get(enum topic t, const char *key, int create)
{
    char k[KEY_MAX + 4];
    int n = snprintf(k, sizeof(k), "%d:%s", t, key);
    struct dict_node *d = dict_find(&pubsub.buckets, k, (size_t)n);
    if (d || !create)
        return d ? container_of(d, struct bucket, node) : NULL;
    struct bucket *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    memcpy(b->key, k, (size_t)n + 1);
    list_init(&b->subs);
    if (dict_insert(&pubsub.buckets, &b->node, b->key, (size_t)n) < 0) {
        free(b);
        return NULL;
    }
    return b;
}

/* Ends subscription s. */
void pubsub_sub_free(struct sub *s)
{
    list_unlink(&s->by_client);
    list_unlink(&s->by_key);
    list_unlink(&s->resync_link);
    if (s->bucket && list_empty(&s->bucket->subs)) {
        dict_remove(&pubsub.buckets, &s->bucket->node);
        free(s->bucket);
    }
    buf_free(&s->held);
    free(s);
}

/* Subscribes cl to topic t for key (NULL or "": every key). Returns the
 * subscription, or NULL on no memory. */
struct sub *pubsub_sub_new(struct client *cl, enum topic t, const char *key)
{
    struct sub *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cl = cl;
    s->topic = t;
    s->id = ++cl->next_id;
    snprintf(s->key, sizeof(s->key), "%s", key ? key : "");
    if (key && *key) {
        if (!(s->bucket = bucket_get(t, key, 1))) {
            free(s);
            return NULL;
        }
        list_insert_tail(&s->bucket->subs, &s->by_key);
    } else {
        list_insert_tail(&pubsub.all[t], &s->by_key);
    }
    list_insert_tail(&cl->subs, &s->by_client);
    return s;
}

static void hold(struct sub *s, const char *text, size_t len, uint64_t ms, uint64_t seq)
{
    uint32_t n = (uint32_t)len;
    if (s->held.len + len > HELD_MAX)
        return;
    buf_append(&s->held, &ms, sizeof(ms));
    buf_append(&s->held, &seq, sizeof(seq));
    buf_append(&s->held, &n, sizeof(n));
    buf_append(&s->held, text, len);
}

/* Sends text to s now, or holds it (ordered by ms-seq) during a catch-up. */
void pubsub_deliver(struct sub *s, const char *text, size_t len, uint64_t ms, uint64_t seq)
{
    if (!s->catching_up)
        s->resync |= ws_send(s->cl->ws, text, len) == 1;
    else
        hold(s, text, len, ms, seq);
}

/* The same for a message many subscribers share: s gets a reference to
 * its bytes, not a copy. */
static void deliver_shared(struct sub *s, struct rbuf *msg, uint64_t ms, uint64_t seq)
{
    if (!s->catching_up)
        s->resync |= ws_send_shared(s->cl->ws, msg) == 1;
    else
        hold(s, msg->data, msg->len, ms, seq);
}

/* Visits the subscribers of topic t for key: those of every key, then
 * those of this key. Safe against a visit removing its own sub. */
void pubsub_visit(enum topic t, const char *key, visit_fn fn, void *ud)
{
    struct list_node *pos, *tmp;
    list_for_each_safe(pos, tmp, &pubsub.all[t])
        fn(container_of(pos, struct sub, by_key), ud);
    struct bucket *b = key ? bucket_get(t, key, 0) : NULL;
    if (b) {
        list_for_each_safe(pos, tmp, &b->subs) {
            int last = tmp == &b->subs;
            fn(container_of(pos, struct sub, by_key), ud);
            if (last)
                break;    /* the bucket may be gone with its last sub */
        }
    }
}

/* Whether anyone listens to topic t for key: what to send is built only
 * then, so updates nobody watches cost nothing. */
int pubsub_listened(enum topic t, const char *key)
{
    return !list_empty(&pubsub.all[t]) || (key && bucket_get(t, key, 0));
}

struct shared_msg {
    struct rbuf *msg;
    uint64_t ms, seq;
};

static void send_shared(struct sub *s, void *ud)
{
    const struct shared_msg *m = ud;
    deliver_shared(s, m->msg, m->ms, m->seq);
}

/* Sends j (freed here) to every subscriber of t for key: serialised once,
 * and the bytes shared by every subscriber (each adds its frame header). */
static void publish(enum topic t, const char *key, json_t *j, uint64_t ms, uint64_t seq)
{
    char *s = pubsub_msg_text(j);
    struct rbuf *msg = s ? ws_message(s, strlen(s)) : NULL;
    free(s);
    if (!msg)
        return;
    struct shared_msg m = {msg, ms, seq};
    pubsub_visit(t, key, send_shared, &m);
    rbuf_unref(msg);
}

struct gpu_update {
    struct view_gpu_ref ref;
    struct gpu_sample sample;     /* with its time: the heartbeat's when it had none */
    char id[32];
    uint64_t ms;
};

static void send_gpu(struct sub *s, void *ud)
{
    const struct gpu_update *u = ud;
    char *text = pubsub_msg_text(pubsub_msg_gpu(s, &u->ref, u->id, &u->sample));
    if (text)
        pubsub_deliver(s, text, strlen(text), u->ms, 0);
    free(text);
}

static void on_heartbeat(const struct cluster_event *ev)
{
    const struct worker *w = ev->w;
    if (pubsub_listened(TOPIC_TELEMETRY, w->id))
        publish(TOPIC_TELEMETRY, w->id, pubsub_msg_telemetry(w), (uint64_t)time_ms(ev->now), 0);
    for (int i = 0; i < ev->hb->ngpus; i++) {
        const struct hb_gpu *g = &ev->hb->gpus[i];
        int slot = worker_gpu_index(w, g->uuid, g->index);
        if (slot < 0 || !pubsub_listened(TOPIC_GPUS, w->gpus[slot].info.uuid))
            continue;
        struct gpu_update u = {.sample = g->sample};
        view_gpu_ref(&w->gpus[slot], &u.ref);
        if (u.sample.ts <= 0)
            u.sample.ts = ev->now;
        u.ms = (uint64_t)time_ms(u.sample.ts);
        snprintf(u.id, sizeof(u.id), "%llu-0", (unsigned long long)u.ms);
        pubsub_visit(TOPIC_GPUS, u.ref.info.uuid, send_gpu, &u);
    }
}

static void on_log(const struct cluster_event *ev)
{
    char id[48];
    if (!pubsub_listened(TOPIC_LOGS, ev->t->id))
        return;
    snprintf(id, sizeof(id), "%llu-%llu", (unsigned long long)ev->log_ms,
             (unsigned long long)ev->log_seq);
    publish(TOPIC_LOGS, ev->t->id,
            pubsub_msg_log(ev->t->id, id, ev->stream, ev->data, ev->len, view_time(ev->now)),
            ev->log_ms, ev->log_seq);
}

static void on_cluster_event(void *ud, const struct cluster_event *ev)
{
    (void)ud;
    pubsub_seed_changed(ev);
    if (ev->type == CE_HEARTBEAT) {
        on_heartbeat(ev);
        return;
    }
    if (ev->type == CE_TASK_LOG) {
        on_log(ev);
        return;
    }
    if (ev->eid_ms && pubsub_listened(TOPIC_EVENTS, NULL)) {
        char id[48];
        snprintf(id, sizeof(id), "%llu-%llu", (unsigned long long)ev->eid_ms,
                 (unsigned long long)ev->eid_seq);
        publish(TOPIC_EVENTS, NULL, pubsub_msg_event(id, view_event(ev)), ev->eid_ms, ev->eid_seq);
    }
    if ((ev->type == CE_WORKER_STATE || ev->type == CE_WORKER_JOINED) &&
        pubsub_listened(TOPIC_TELEMETRY, ev->w->id))
        publish(TOPIC_TELEMETRY, ev->w->id, pubsub_msg_telemetry(ev->w),
                (uint64_t)time_ms(ev->now), 0);
    if (ev->type == CE_TASK_STATE && task_status_terminal(ev->t->status) &&
        pubsub_listened(TOPIC_LOGS, ev->t->id))
        pubsub_task_end(ev->t);
}

/* Returns subscription sub_id of the WebSocket client client_id, or NULL
 * when either is gone. */
struct sub *pubsub_sub_find(uint64_t client_id, uint64_t sub_id)
{
    struct conn *c = conn_find(client_id);
    if (!c || strcmp(c->proto->name, "websocket") != 0)
        return NULL;
    struct client *cl = ws_owner(c->ud);
    struct list_node *pos;
    list_for_each(pos, &cl->subs) {
        struct sub *s = container_of(pos, struct sub, by_client);
        if (s->id == sub_id)
            return s;
    }
    return NULL;
}

/* Tells cl {"type":"error","code","message"}. Returns -1. */
int pubsub_error(struct client *cl, const char *code, const char *msg)
{
    ws_send_json(cl->ws, json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", msg));
    return -1;
}

static void on_drain(struct ws_client *ws)
{
    struct client *cl = ws_owner(ws);
    struct list_node *pos;
    list_for_each(pos, &cl->subs)
        pubsub_seed_drained(container_of(pos, struct sub, by_client));
}

static void on_close(struct ws_client *ws)
{
    struct client *cl = ws_owner(ws);
    while (!list_empty(&cl->subs))
        pubsub_sub_free(container_of(list_first(&cl->subs), struct sub, by_client));
    free(cl);
}

/* Upgrades req to a WebSocket client of pubsub. Returns it, or NULL after
 * replying an error (426, 503). */
struct client *pubsub_accept(struct http_req *req)
{
    struct client *cl = calloc(1, sizeof(*cl));
    if (!cl) {
        http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
        return NULL;
    }
    list_init(&cl->subs);
    if (!(cl->ws = ws_accept(req, cl))) {
        free(cl);
        return NULL;
    }
    return cl;
}

/* Adds the WebSocket routes. Returns 0 or -1. */
int pubsub_register(void)
{
    return pubsub_routes_register() < 0 || pubsub_seed_register() < 0 ? -1 : 0;
}

/* Starts streaming cl's changes to subscribers. Returns 0 or -1. */
int pubsub_init(struct cluster *cl, const struct ws_limits *lim)
{
    static const struct ws_handlers h = {.on_text = pubsub_on_text, .on_close = on_close,
                                         .on_drain = on_drain};
    pubsub.cl = cl;
    for (int t = 0; t < NTOPICS; t++)
        list_init(&pubsub.all[t]);
    dict_init(&pubsub.buckets, bucket_match);
    ws_init(lim, &h);
    if (pubsub_seed_init() < 0)
        return -1;
    return cluster_observe(cl, on_cluster_event, NULL);
}

/* Frees the index (every client is gone by now). */
void pubsub_shutdown(void)
{
    ws_shutdown();
    pubsub_seed_shutdown();
    dict_free(&pubsub.buckets);
}
