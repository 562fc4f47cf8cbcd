#include "pubsub.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "router.h"
#include "store/store.h"
#include "views.h"

enum topic { TOPIC_TELEMETRY, TOPIC_GPUS, TOPIC_EVENTS, TOPIC_LOGS, NTOPICS };
static const char *const topic_names[NTOPICS] = {"telemetry", "gpus", "events", "logs"};

#define KEY_MAX 72
#define HELD_MAX (1u << 20)       /* live messages held during a catch-up */

struct bucket {
    struct dict_node node;
    char key[KEY_MAX + 4];        /* "<topic>:<key>" */
    struct list_node subs;
};

struct client;

struct sub {
    struct list_node by_client, by_key;
    struct client *cl;
    struct bucket *bucket;        /* NULL: every key of the topic */
    enum topic topic;
    uint32_t id;
    uint16_t metrics;             /* gpus: metric bits wanted, 0 = all */
    int close_at_end;             /* /ws/tasks/{id}/logs closes after "end" */
    int catching_up;              /* history on its way: hold live messages */
    struct buf held;              /* [ms][seq][len][bytes] */
    char key[KEY_MAX];
};

struct client {
    struct ws_client *ws;
    struct list_node subs;
    uint32_t next_id;
};

static struct {
    struct cluster *cl;
    struct list_node all[NTOPICS];
    struct dict buckets;
} PS;

static int bucket_match(const struct dict_node *n, const void *key, size_t len)
{
    const struct bucket *b = container_of(n, struct bucket, node);
    return strlen(b->key) == len && memcmp(b->key, key, len) == 0;
}

static struct bucket *bucket_get(enum topic t, const char *key, int create)
{
    char k[KEY_MAX + 4];
    int n = snprintf(k, sizeof(k), "%d:%s", t, key);
    struct dict_node *d = dict_find(&PS.buckets, k, (size_t)n);
    if (d || !create)
        return d ? container_of(d, struct bucket, node) : NULL;
    struct bucket *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    memcpy(b->key, k, (size_t)n + 1);
    list_init(&b->subs);
    if (dict_insert(&PS.buckets, &b->node, b->key, (size_t)n) < 0) {
        free(b);
        return NULL;
    }
    return b;
}

static void sub_free(struct sub *s)
{
    list_unlink(&s->by_client);
    list_unlink(&s->by_key);
    if (s->bucket && list_empty(&s->bucket->subs)) {
        dict_remove(&PS.buckets, &s->bucket->node);
        free(s->bucket);
    }
    buf_free(&s->held);
    free(s);
}

static struct sub *sub_new(struct client *cl, enum topic t, const char *key)
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
        list_insert_tail(&PS.all[t], &s->by_key);
    }
    list_insert_tail(&cl->subs, &s->by_client);
    return s;
}

/* Sends text to s now, or holds it (ordered by ms-seq) during a catch-up. */
static void deliver(struct sub *s, const char *text, size_t len, uint64_t ms, uint64_t seq)
{
    if (!s->catching_up) {
        ws_send(s->cl->ws, text, len);
        return;
    }
    uint32_t n = (uint32_t)len;
    if (s->held.len + len > HELD_MAX)
        return;
    buf_append(&s->held, &ms, sizeof(ms));
    buf_append(&s->held, &seq, sizeof(seq));
    buf_append(&s->held, &n, sizeof(n));
    buf_append(&s->held, text, len);
}

typedef void (*visit_fn)(struct sub *s, void *ud);

/* Visits the subscribers of topic t for key: those of every key, then
 * those of this key. Safe against a visit removing its own sub. */
static void visit(enum topic t, const char *key, visit_fn fn, void *ud)
{
    struct list_node *pos, *tmp;
    list_for_each_safe(pos, tmp, &PS.all[t])
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

struct text {
    const char *p;
    size_t len;
    uint64_t ms, seq;
};

static void send_text(struct sub *s, void *ud)
{
    const struct text *t = ud;
    deliver(s, t->p, t->len, t->ms, t->seq);
}

/* Whether anyone listens to topic t for key: what to send is built only
 * then, so updates nobody watches cost nothing. */
static int listened(enum topic t, const char *key)
{
    return !list_empty(&PS.all[t]) || (key && bucket_get(t, key, 0));
}

static void publish(enum topic t, const char *key, json_t *j, uint64_t ms, uint64_t seq)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(j);
    if (!s)
        return;
    struct text txt = {s, strlen(s), ms, seq};
    visit(t, key, send_text, &txt);
    free(s);
}

static json_t *telemetry_msg(const struct worker *w)
{
    return json_pack("{s:s,s:s,s:o}", "type", "telemetry", "worker_id", w->id, "data",
                     view_worker_telemetry(PS.cl, w, VIEW_RFC3339));
}

struct gpu_update {
    const struct worker *w;
    const struct worker_gpu *g;
    const struct gpu_sample *sample;
    double ts;
};

static json_t *gpu_msg(const struct worker *w, const struct gpu_info *info, double ts,
                       json_t *metrics)
{
    return json_pack("{s:s,s:s,s:s,s:i,s:s,s:o,s:o}", "type", "gpu", "uuid", info->uuid,
                     "hostname", w->hostname, "gpu_id", info->index, "model_name", info->model,
                     "timestamp", view_time(ts), "metrics", metrics);
}

static void send_gpu(struct sub *s, void *ud)
{
    const struct gpu_update *u = ud;
    struct gpu_sample only = *u->sample;
    if (s->metrics)
        only.present &= s->metrics;
    if (!only.present)
        return;
    json_t *j = gpu_msg(u->w, &u->g->info, u->ts, view_gpu_sample(&only, 1));
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(j);
    if (text)
        deliver(s, text, strlen(text), (uint64_t)time_ms(u->ts), 0);
    free(text);
}

static void on_heartbeat(const struct cluster_event *ev)
{
    const struct worker *w = ev->w;
    if (listened(TOPIC_TELEMETRY, w->id))
        publish(TOPIC_TELEMETRY, w->id, telemetry_msg(w), (uint64_t)time_ms(ev->now), 0);
    for (int i = 0; i < ev->hb->ngpus; i++) {
        const struct hb_gpu *g = &ev->hb->gpus[i];
        int slot = worker_gpu_index(w, g->uuid, g->index);
        if (slot < 0 || !listened(TOPIC_GPUS, w->gpus[slot].info.uuid))
            continue;
        struct gpu_update u = {w, &w->gpus[slot], &g->sample,
                               g->sample.ts > 0 ? g->sample.ts : ev->now};
        visit(TOPIC_GPUS, w->gpus[slot].info.uuid, send_gpu, &u);
    }
}

static void end_sub(struct sub *s, void *ud)
{
    const char *text = ud;
    deliver(s, text, strlen(text), UINT64_MAX, 0);
    if (s->close_at_end && !s->catching_up)
        ws_close(s->cl->ws, 1000, "task finished");
}

static json_t *end_msg(const char *task_id, const char *status, json_t *exit_code, json_t *reason)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o}", "type", "end", "task_id", task_id, "status",
                     status, "exit_code", exit_code, "reason", reason);
}

static void on_task_end(const struct task *t)
{
    json_t *j = end_msg(t->id, task_status_name(t->status),
                        t->has_exit_code ? json_integer(t->exit_code) : json_null(),
                        t->reason ? json_string(t->reason) : json_null());
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (s)
        visit(TOPIC_LOGS, t->id, end_sub, s);
    free(s);
}

static void on_log(const struct cluster_event *ev)
{
    char id[48];
    if (!listened(TOPIC_LOGS, ev->t->id))
        return;
    snprintf(id, sizeof(id), "%llu-%llu", (unsigned long long)ev->log_ms,
             (unsigned long long)ev->log_seq);
    publish(TOPIC_LOGS, ev->t->id,
            json_pack("{s:s,s:s,s:s,s:s,s:s%,s:o}", "type", "log", "task_id", ev->t->id, "id", id,
                      "stream", ev->stream, "data", ev->data, ev->len, "ts", view_time(ev->now)),
            ev->log_ms, ev->log_seq);
}

static void on_cluster_event(void *ud, const struct cluster_event *ev)
{
    (void)ud;
    if (ev->type == CE_HEARTBEAT) {
        on_heartbeat(ev);
        return;
    }
    if (ev->type == CE_TASK_LOG) {
        on_log(ev);
        return;
    }
    if (ev->eid_ms && listened(TOPIC_EVENTS, NULL)) {
        char id[48];
        snprintf(id, sizeof(id), "%llu-%llu", (unsigned long long)ev->eid_ms,
                 (unsigned long long)ev->eid_seq);
        publish(TOPIC_EVENTS, NULL, json_pack("{s:s,s:s,s:o}", "type", "event", "id", id,
                                              "event", view_event(ev)),
                ev->eid_ms, ev->eid_seq);
    }
    if ((ev->type == CE_WORKER_STATE || ev->type == CE_WORKER_JOINED) &&
        listened(TOPIC_TELEMETRY, ev->w->id))
        publish(TOPIC_TELEMETRY, ev->w->id, telemetry_msg(ev->w), (uint64_t)time_ms(ev->now), 0);
    if (ev->type == CE_TASK_STATE && task_status_terminal(ev->t->status) &&
        listened(TOPIC_LOGS, ev->t->id))
        on_task_end(ev->t);
}

/* ---- history: entries from Redis, then what was held meanwhile ---- */

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

/* One stream entry as the message its topic's live stream would send. */
static json_t *history_msg(const struct sub *s, const struct store_entry *e)
{
    const char *id = e->id;
    json_t *fields = json_object();
    for (size_t k = 0; k < e->nfields; k++)
        json_object_set_new(fields, e->fields[k].name,
                            json_stringn(e->fields[k].value, e->fields[k].len));
    double ts = e->ms / 1000.0;
    switch (s->topic) {
    case TOPIC_EVENTS:
        return json_pack("{s:s,s:s,s:o}", "type", "event", "id", id, "event", fields);
    case TOPIC_LOGS:
        json_object_set_new(fields, "type", json_string("log"));
        json_object_set_new(fields, "task_id", json_string(s->key));
        json_object_set_new(fields, "id", json_string(id));
        return fields;
    case TOPIC_TELEMETRY: {
        const char *k;
        json_t *v;
        json_object_foreach(fields, k, v)
            json_object_set_new(fields, k, view_number(strtod(json_string_value(v), NULL)));
        json_object_set_new(fields, "timestamp", view_time(ts));
        return json_pack("{s:s,s:s,s:s,s:o}", "type", "telemetry", "worker_id", s->key, "id",
                         id, "data", fields);
    }
    default: {
        json_t *m = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(fields, k, v) {
            int metric = gpu_metric_by_dcgm(k);
            if (metric >= 0 && (!s->metrics || (s->metrics >> metric) & 1))
                json_object_set_new(m, gpu_metric_names[metric].api,
                                    view_number(strtod(json_string_value(v), NULL)));
        }
        json_decref(fields);
        return json_pack("{s:s,s:s,s:s,s:o,s:o}", "type", "gpu", "uuid", s->key, "id", id,
                         "timestamp", view_time(ts), "metrics", m);
    }
    }
}

static struct sub *find_sub(uint64_t client_id, uint64_t sub_id);

static void on_history(int ok, const struct store_entry *e, size_t n, uint64_t client_id,
                       uint64_t sub_id)
{
    struct sub *s = find_sub(client_id, sub_id);
    if (!s)
        return;
    (void)ok;
    uint64_t last_ms = 0, last_seq = 0;
    for (size_t i = 0; i < n; i++) {
        last_ms = e[i].ms;
        last_seq = e[i].seq;
        ws_send_json(s->cl->ws, history_msg(s, &e[i]));
    }
    release_held(s, last_ms, last_seq);
}

static const enum store_stream topic_stream[] = {
    [TOPIC_TELEMETRY] = STREAM_WORKER_TELEMETRY,
    [TOPIC_GPUS] = STREAM_GPU,
    [TOPIC_EVENTS] = STREAM_EVENTS,
    [TOPIC_LOGS] = STREAM_TASK_LOGS,
};

/* Starts a catch-up from `from` ("earliest" or an entry id). Returns 0, or
 * -1 when Redis cannot be read (live only then). */
static int start_history(struct sub *s, const char *from)
{
    int earliest = strcmp(from, "earliest") == 0;
    struct store_range r = {earliest ? NULL : from, NULL, !earliest, 10000, 0};
    s->catching_up = 1;
    if (store_read_range(topic_stream[s->topic], s->key, &r, on_history, ws_id(s->cl->ws),
                         s->id) < 0) {
        s->catching_up = 0;
        return -1;
    }
    return 0;
}

/* ---- clients ---- */

static struct sub *find_sub(uint64_t client_id, uint64_t sub_id)
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

static int send_error(struct client *cl, const char *code, const char *msg)
{
    return ws_send_json(cl->ws, json_pack("{s:s,s:s,s:s}", "type", "error", "code", code,
                                          "message", msg));
}

static void snapshot(struct client *cl, const char *worker_id)
{
    if (worker_id && *worker_id) {
        struct worker *w = cluster_worker(PS.cl, worker_id);
        if (w)
            ws_send_json(cl->ws, json_pack("{s:s,s:s,s:o}", "type", "snapshot", "worker_id",
                                           w->id, "data", view_worker_telemetry(PS.cl, w, VIEW_RFC3339)));
        return;
    }
    json_t *m = json_object();
    struct list_node *pos;
    list_for_each(pos, &PS.cl->worker_list) {
        const struct worker *w = container_of(pos, struct worker, all);
        json_object_set_new(m, w->id, view_worker_telemetry(PS.cl, w, VIEW_RFC3339));
    }
    ws_send_json(cl->ws, json_pack("{s:s,s:o}", "type", "snapshot", "workers", m));
}

static uint16_t metrics_mask(json_t *list, int *bad)
{
    uint16_t mask = 0;
    size_t i;
    json_t *m;
    *bad = 0;
    json_array_foreach(list, i, m) {
        const char *name = json_string_value(m);
        int found = -1;
        for (int k = 0; name && k < GM_COUNT; k++)
            if (strcmp(name, gpu_metric_names[k].api) == 0 || strcmp(name, gpu_metric_names[k].dcgm) == 0)
                found = k;
        if (found < 0)
            *bad = 1;
        else
            mask = (uint16_t)(mask | (1u << found));
    }
    return mask;
}

static int topic_of(const char *name)
{
    for (int t = 0; name && t < NTOPICS; t++)
        if (strcmp(name, topic_names[t]) == 0)
            return t;
    return -1;
}

/* The subscription's key: worker_id (telemetry), gpu_uuid (gpus),
 * task_id (logs, required). Returns 0 or -1 after telling the client. */
static int sub_key(struct client *cl, int t, json_t *filters, const char **key)
{
    static const char *const names[NTOPICS] = {"worker_id", "gpu_uuid", NULL, "task_id"};
    *key = names[t] ? json_string_value(json_object_get(filters, names[t])) : NULL;
    if (*key && strlen(*key) >= KEY_MAX) {
        send_error(cl, "BAD_SUBSCRIPTION", "filter value too long");
        return -1;
    }
    if (t == TOPIC_LOGS && !*key) {
        send_error(cl, "BAD_SUBSCRIPTION", "the logs topic needs filters.task_id");
        return -1;
    }
    return 0;
}

/* {"type":"subscribe","topic":...,"filters":{...},"from":"latest|earliest|<id>"} */
static int on_subscribe(struct client *cl, json_t *j)
{
    int t = topic_of(json_string_value(json_object_get(j, "topic")));
    json_t *filters = json_object_get(j, "filters");
    const char *from = json_string_value(json_object_get(j, "from"));
    const char *key;
    int bad;
    char fromid[48];
    if (t < 0)
        return send_error(cl, "BAD_SUBSCRIPTION", "topic must be telemetry, gpus, events or logs");
    if (sub_key(cl, t, filters, &key) < 0)
        return -1;
    uint16_t mask = metrics_mask(json_object_get(filters, "metrics"), &bad);
    if (bad)
        return send_error(cl, "BAD_SUBSCRIPTION", "unknown metric in filters.metrics");
    if (from && strcmp(from, "latest") && strcmp(from, "earliest") &&
        api_parse_stream_id(from, fromid, sizeof(fromid)) < 0)
        return send_error(cl, "BAD_SUBSCRIPTION", "from must be latest, earliest or a stream id");
    struct sub *s = sub_new(cl, (enum topic)t, key);
    if (!s)
        return send_error(cl, "UNAVAILABLE", "out of memory");
    s->metrics = mask;
    ws_send_json(cl->ws, json_pack("{s:s,s:i,s:s}", "type", "subscribed", "id", (int)s->id,
                                   "topic", topic_names[t]));
    int history = from && strcmp(from, "latest") != 0 && (key || t == TOPIC_EVENTS);
    if (history && start_history(s, from) < 0)
        send_error(cl, "HISTORY_UNAVAILABLE", "history needs redis; streaming live only");
    else if (!history && t == TOPIC_TELEMETRY)
        snapshot(cl, key);
    return 0;
}

static void on_text(struct ws_client *ws, const char *msg, size_t len)
{
    struct client *cl = ws_owner(ws);
    json_t *j = json_loadb(msg, len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type) {
        send_error(cl, "BAD_MESSAGE", "send {\"type\":\"subscribe\",...}");
    } else if (strcmp(type, "subscribe") == 0) {
        on_subscribe(cl, j);
    } else if (strcmp(type, "unsubscribe") == 0) {
        struct sub *s = find_sub(ws_id(ws), (uint64_t)json_integer_value(json_object_get(j, "id")));
        if (s)
            sub_free(s);
    } else {
        send_error(cl, "BAD_MESSAGE", "unknown message type");
    }
    json_decref(j);
}

static void on_close(struct ws_client *ws)
{
    struct client *cl = ws_owner(ws);
    while (!list_empty(&cl->subs))
        sub_free(container_of(list_first(&cl->subs), struct sub, by_client));
    free(cl);
}

static struct client *accept_client(struct http_req *req)
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

/* ---- routes ---- */

static int ws_root(struct http_req *req)
{
    return accept_client(req) ? HTTP_UPGRADED : 0;
}

static int ws_telemetry(struct http_req *req)
{
    const char *id = req->nparams ? req->params[0] : NULL;
    if (id && !cluster_worker(PS.cl, id))
        return http_reply_error(req, 404, "WORKER_NOT_FOUND", "no worker %s", id);
    char key[KEY_MAX] = "";
    if (id)
        snprintf(key, sizeof(key), "%s", id);
    struct client *cl = accept_client(req);
    if (!cl)
        return 0;
    if (sub_new(cl, TOPIC_TELEMETRY, key))
        snapshot(cl, key);
    return HTTP_UPGRADED;
}

static int ws_events(struct http_req *req)
{
    char from[48] = "latest";
    if (http_query_param(req, "from", from, sizeof(from)) < 0)
        return http_reply_error(req, 400, "INVALID_PARAMETER", "from is malformed");
    struct client *cl = accept_client(req);
    if (!cl)
        return 0;
    struct sub *s = sub_new(cl, TOPIC_EVENTS, NULL);
    if (s && strcmp(from, "latest") != 0 && start_history(s, from) < 0)
        send_error(cl, "HISTORY_UNAVAILABLE", "history needs redis; streaming live only");
    return HTTP_UPGRADED;
}

static void send_memory_logs(struct sub *s, const struct task *t)
{
    size_t pos = 0;
    struct task_log_entry e;
    while (task_log_next(t, &pos, &e)) {
        char id[48];
        snprintf(id, sizeof(id), "%llu-%llu", (unsigned long long)e.ms, (unsigned long long)e.seq);
        ws_send_json(s->cl->ws, json_pack("{s:s,s:s,s:s,s:s,s:s%,s:o}", "type", "log", "task_id",
                                          t->id, "id", id, "stream",
                                          e.stream == 2 ? "stderr" : "stdout", "data", e.data,
                                          (size_t)e.len, "ts", view_time(e.ts)));
    }
}

static void stored_end(int ok, json_t *rec, uint64_t client_id, uint64_t sub_id)
{
    struct sub *s = find_sub(client_id, sub_id);
    if (!s)
        return;
    (void)ok;
    const char *st = json_string_value(json_object_get(rec, "status"));
    json_t *code = json_object_get(rec, "exit_code");
    json_t *reason = json_object_get(rec, "reason");
    ws_send_json(s->cl->ws, end_msg(s->key, st ? st : "unknown",
                                    json_is_integer(code) ? json_incref(code) : json_null(),
                                    json_is_string(reason) ? json_incref(reason) : json_null()));
    ws_close(s->cl->ws, 1000, "task finished");
}

/* /ws/tasks/{id}/logs: past lines, then live ones, then {"type":"end"}. */
static int ws_task_logs(struct http_req *req)
{
    const char *id = req->params[0];
    struct task *t = cluster_task(PS.cl, id);
    if ((!t && !store_up()) || strlen(id) >= KEY_MAX)
        return http_reply_error(req, 404, "TASK_NOT_FOUND", "no task %s", id);
    char task_id[KEY_MAX];
    snprintf(task_id, sizeof(task_id), "%s", id);
    struct client *cl = accept_client(req);
    if (!cl)
        return 0;
    id = task_id;                 /* req is gone once upgraded */
    struct sub *s = sub_new(cl, TOPIC_LOGS, id);
    if (!s)
        return HTTP_UPGRADED;
    s->close_at_end = 1;
    int history = start_history(s, "earliest") == 0;
    if (!history && t)
        send_memory_logs(s, t);
    if (t && task_status_terminal(t->status)) {
        on_task_end(t);
    } else if (!t) {
        /* Finished before this gantryd knew it: its end is in Redis. */
        store_read_task(id, stored_end, ws_id(cl->ws), s->id);
    }
    return HTTP_UPGRADED;
}

static const struct http_route ws_routes[] = {
    {"GET", "/ws", ws_root, ROUTE_READ, "WebSocket: subscribe to topics", ""},
    {"GET", "/ws/telemetry", ws_telemetry, ROUTE_READ, "WebSocket: every worker's telemetry", ""},
    {"GET", "/ws/telemetry/{worker_id}", ws_telemetry, ROUTE_READ,
     "WebSocket: one worker's telemetry", ""},
    {"GET", "/ws/tasks/{id}/logs", ws_task_logs, ROUTE_READ, "WebSocket: a task's output", ""},
    {"GET", "/ws/events", ws_events, ROUTE_READ, "WebSocket: cluster events", "from"},
};

/* Adds the WebSocket routes. Returns 0 or -1. */
int pubsub_register(void)
{
    return router_add(ws_routes, sizeof(ws_routes) / sizeof(ws_routes[0]));
}

/* Starts streaming cl's changes to subscribers. Returns 0 or -1. */
int pubsub_init(struct cluster *cl, const struct ws_limits *lim)
{
    static const struct ws_handlers h = {on_text, on_close};
    PS.cl = cl;
    for (int t = 0; t < NTOPICS; t++)
        list_init(&PS.all[t]);
    dict_init(&PS.buckets, bucket_match);
    ws_init(lim, &h);
    return cluster_observe(cl, on_cluster_event, NULL);
}

/* Frees the index (every client is gone by now). */
void pubsub_shutdown(void)
{
    ws_shutdown();
    dict_free(&PS.buckets);
}
