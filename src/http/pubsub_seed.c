/* The master/worker system's telemetry WebSockets: /ws/telemetry sends the
 * map worker_id -> telemetry (the objects of GET /telemetry), first whole,
 * then maps of only the workers that changed; /ws/telemetry/{id} sends
 * that worker's object. Changes are gathered during a loop turn and sent
 * once before the loop sleeps: however many heartbeats arrived, a client
 * gets one message per turn, and every client gets the same bytes. A
 * worker unregistered meanwhile is sent as null (delete it from the map).
 * A client that fell behind (a map dropped) gets the whole map as soon as
 * it has read what it owed (or with the next change). */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "pubsub_int.h"
#include "router.h"
#include "views.h"

struct dirty {
    struct dict_node node;
    struct list_node link;
    char id[WORKER_ID_MAX];
};

static struct {
    struct dict index;            /* worker id -> struct dirty */
    struct list_node list;        /* in the order they changed */
    struct list_node resync;      /* subs that caught up after losing a message */
    struct buf delta, whole;      /* the maps of this turn */
} seed;

static int dirty_match(const struct dict_node *n, const void *key, size_t len)
{
    const struct dirty *d = container_of(n, struct dirty, node);
    return strlen(d->id) == len && memcmp(d->id, key, len) == 0;
}

static void mark(const char *id)
{
    size_t n = strlen(id);
    if (dict_find(&seed.index, id, n))
        return;
    struct dirty *d = calloc(1, sizeof(*d));
    if (!d)
        return;
    snprintf(d->id, sizeof(d->id), "%s", id);
    if (dict_insert(&seed.index, &d->node, d->id, n) < 0) {
        free(d);
        return;
    }
    list_insert_tail(&seed.list, &d->link);
}

/* Whether an event of this type changes what GET /telemetry shows of its
 * worker (logs, cancels and the like do not). */
static int shows(enum cluster_event_type type)
{
    switch (type) {
    case CE_WORKER_JOINED: case CE_WORKER_STATE: case CE_WORKER_LOST: case CE_WORKER_REGISTERED:
    case CE_WORKER_REMOVED: case CE_HEARTBEAT: case CE_TASK_STATE:
        return 1;
    default:
        return 0;
    }
}

/* Notes the worker a cluster change touched, when a map stream (of all
 * workers, or of that one) is open. O(1). */
void pubsub_seed_changed(const struct cluster_event *ev)
{
    const struct worker *w = ev->w;
    if (!shows(ev->type))
        return;
    if (!w && ev->t && ev->t->worker_id[0])
        w = cluster_worker(pubsub.cl, ev->t->worker_id);
    if (w && pubsub_listened(TOPIC_SEED, w->id))
        mark(w->id);
}

/* Appends "id":<object or null> to b, opening or continuing the map. */
static void add_entry(struct buf *b, const char *id, const char *text, size_t len)
{
    buf_append_str(b, b->len ? "," : "{");
    buf_append_str(b, "\"");
    buf_append_str(b, id);      /* worker ids need no JSON escaping */
    buf_append_str(b, "\":");
    if (text)
        buf_append(b, text, len);
    else
        buf_append_str(b, "null");
}

static const char *object_of(const char *id, size_t *len)
{
    struct worker *w = cluster_worker(pubsub.cl, id);
    return w ? view_worker_telemetry_text(pubsub.cl, w, len) : NULL;
}

/* The whole map, made at most once a turn. */
static const struct buf *whole_map(void)
{
    if (seed.whole.len)
        return &seed.whole;
    struct list_node *pos;
    list_for_each(pos, &pubsub.cl->worker_list) {
        struct worker *w = container_of(pos, struct worker, all);
        size_t len;
        const char *text = view_worker_telemetry_text(pubsub.cl, w, &len);
        if (text)
            add_entry(&seed.whole, w->id, text, len);
    }
    buf_append_str(&seed.whole, seed.whole.len ? "}" : "{}");
    return &seed.whole;
}

/* Sends msg to s, or notes that s must get the whole map next. */
static void send_shared(struct sub *s, struct rbuf *msg)
{
    s->resync = !msg || ws_send_shared(s->cl->ws, msg) == 1;
}

/* Sends a map client the map of this turn's changes (ud: that message,
 * shared by every client), or the whole map when it fell behind. */
static void send_map(struct sub *s, void *ud)
{
    if (!s->resync) {
        send_shared(s, ud);
        return;
    }
    const struct buf *b = whole_map();
    struct rbuf *msg = ws_message(buf_start(b), b->len);
    send_shared(s, msg);
    rbuf_unref(msg);
}

static void send_one(struct sub *s, void *ud)
{
    const struct dirty *d = ud;
    size_t len;
    if (!s->bucket)
        return;                 /* a map client: it had the whole map */
    const char *text = object_of(d->id, &len);
    if (text)
        s->resync = ws_send(s->cl->ws, text, len) == 1;
}

/* A client caught up on what it owed: one that lost a map (or an object)
 * meanwhile gets the whole map (or the object) before the loop sleeps. */
void pubsub_seed_drained(struct sub *s)
{
    if (s->topic == TOPIC_SEED && s->resync && !list_linked(&s->resync_link))
        list_insert_tail(&seed.resync, &s->resync_link);
}

/* Sends what the clients that caught up lost. */
static void resend(void)
{
    while (!list_empty(&seed.resync)) {
        struct sub *s = container_of(list_first(&seed.resync), struct sub, resync_link);
        struct dirty one;
        list_unlink(&s->resync_link);
        snprintf(one.id, sizeof(one.id), "%s", s->key);
        if (s->bucket)
            send_one(s, &one);
        else
            send_map(s, NULL);
    }
}

/* Before the loop sleeps: one map of this turn's changes to every map
 * client, each changed worker's object to its own clients. */
static void flush(void *ud)
{
    (void)ud;
    resend();
    if (list_empty(&seed.list)) {
        buf_reset(&seed.whole);
        return;
    }
    struct list_node *pos;
    list_for_each(pos, &seed.list) {
        const struct dirty *d = container_of(pos, struct dirty, link);
        size_t len = 0;
        const char *text = object_of(d->id, &len);
        add_entry(&seed.delta, d->id, text, len);
    }
    buf_append_str(&seed.delta, "}");
    struct rbuf *delta = ws_message(buf_start(&seed.delta), seed.delta.len);
    pubsub_visit(TOPIC_SEED, NULL, send_map, delta);
    rbuf_unref(delta);
    while (!list_empty(&seed.list)) {
        struct dirty *d = container_of(list_first(&seed.list), struct dirty, link);
        pubsub_visit(TOPIC_SEED, d->id, send_one, d);
        list_unlink(&d->link);
        dict_remove(&seed.index, &d->node);
        free(d);
    }
    buf_reset(&seed.delta);
    buf_reset(&seed.whole);
}

/* GET /ws/telemetry, /ws/telemetry/{worker_id} */
static int ws_telemetry(struct http_req *req)
{
    const char *id = req->nparams ? req->params[0] : NULL;
    struct worker *w = id ? cluster_worker(pubsub.cl, id) : NULL;
    if (id && !w)
        return http_reply_error(req, 404, "WORKER_NOT_FOUND", "no worker %s", id);
    char key[KEY_MAX] = "";
    if (w)
        snprintf(key, sizeof(key), "%s", w->id);
    struct client *cl = pubsub_accept(req);
    struct sub *s = cl ? pubsub_sub_new(cl, TOPIC_SEED, key) : NULL;
    if (!s)
        return cl ? HTTP_UPGRADED : 0;
    ws_quiet_lag(cl->ws);       /* a notice would be merged into the map */
    s->resync = 1;
    struct dirty one;
    snprintf(one.id, sizeof(one.id), "%s", key);
    if (*key)
        send_one(s, &one);
    else
        send_map(s, NULL);
    buf_reset(&seed.whole);     /* workers may change before the next send */
    return HTTP_UPGRADED;
}

static const struct http_route seed_routes[] = {
    {"GET", "/ws/telemetry", ws_telemetry, ROUTE_READ,
     "WebSocket: the map worker_id -> telemetry, whole, then the workers that changed", ""},
    {"GET", "/ws/telemetry/{worker_id}", ws_telemetry, ROUTE_READ,
     "WebSocket: one worker's telemetry object at each change", ""},
};

/* Adds /ws/telemetry and /ws/telemetry/{worker_id}. Returns 0 or -1. */
int pubsub_seed_register(void)
{
    return router_add(seed_routes, sizeof(seed_routes) / sizeof(seed_routes[0]));
}

/* Sets up the change set and its before-sleep flush. Returns 0 or -1. */
int pubsub_seed_init(void)
{
    dict_init(&seed.index, dirty_match);
    list_init(&seed.list);
    list_init(&seed.resync);
    return reactor_add_hook(flush, NULL);
}

/* Frees what the change set holds. */
void pubsub_seed_shutdown(void)
{
    while (!list_empty(&seed.list)) {
        struct dirty *d = container_of(list_first(&seed.list), struct dirty, link);
        list_unlink(&d->link);
        free(d);
    }
    dict_free(&seed.index);
    buf_free(&seed.delta);
    buf_free(&seed.whole);
}
