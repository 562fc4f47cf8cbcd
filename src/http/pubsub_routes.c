/* /ws, where a client subscribes to topics (Gantry's telemetry, gpus,
 * events, logs, and the GPU pipeline's telemetry subscription), and the
 * streams with routes of their own: /ws/events and /ws/tasks/{id}/logs. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "pubsub_int.h"
#include "router.h"
#include "store/store.h"
#include "views.h"

static const char *const topic_names[NSUBSCRIBABLE] = {"telemetry", "gpus", "events", "logs"};

static void snapshot(struct client *cl, const char *worker_id)
{
    if (worker_id && *worker_id) {
        struct worker *w = cluster_worker(pubsub.cl, worker_id);
        if (w)
            ws_send_json(cl->ws, json_pack("{s:s,s:s,s:o}", "type", "snapshot", "worker_id", w->id,
                                           "data", view_worker_telemetry(pubsub.cl, w, VIEW_RFC3339)));
        return;
    }
    json_t *m = json_object();
    struct list_node *pos;
    list_for_each(pos, &pubsub.cl->worker_list) {
        const struct worker *w = container_of(pos, struct worker, all);
        json_object_set_new(m, w->id, view_worker_telemetry(pubsub.cl, w, VIEW_RFC3339));
    }
    ws_send_json(cl->ws, json_pack("{s:s,s:o}", "type", "snapshot", "workers", m));
}

static enum metric_form form_of(const char *name, int m)
{
    if (strcmp(name, gpu_metric_names[m].api) == 0)
        return FORM_API;
    if (strcmp(name, gpu_metric_names[m].proto) == 0)
        return FORM_PROTO;
    return strncmp(name, "DCGM_FI_DEV_", 12) == 0 ? FORM_DCGM_FULL : FORM_DCGM;
}

/* Reads filters.metrics into s (the bits wanted, and the names they were
 * asked by). Returns 0, or -1 for a name that is no metric. */
static int want_metrics(struct sub *s, json_t *list)
{
    size_t i;
    json_t *v;
    if (list && !json_is_array(list))
        return -1;
    json_array_foreach(list, i, v) {
        const char *name = json_string_value(v);
        int m = name ? gpu_metric_by_name(name) : -1;
        if (m < 0)
            return -1;
        s->metrics = (uint16_t)(s->metrics | (1u << m));
        s->forms[m] = (uint8_t)form_of(name, m);
    }
    return 0;
}

static int topic_of(const char *name)
{
    for (int t = 0; name && t < NSUBSCRIBABLE; t++)
        if (strcmp(name, topic_names[t]) == 0)
            return t;
    return -1;
}

/* The topic a subscription really reads: the telemetry topic with a
 * gpu_uuid (or metrics) filter and no worker_id is the GPU pipeline's
 * subscription, served from the gpus topic. */
static int is_pipeline(int t, json_t *filters)
{
    return t == TOPIC_TELEMETRY && !json_object_get(filters, "worker_id") &&
           (json_object_get(filters, "gpu_uuid") || json_object_get(filters, "metrics"));
}

/* The subscription's key: worker_id (telemetry), gpu_uuid (gpus), task_id
 * (logs, required). Returns 0, or -1 after telling the client. */
static int sub_key(struct client *cl, enum topic t, json_t *filters, const char **key)
{
    static const char *const names[NSUBSCRIBABLE] = {"worker_id", "gpu_uuid", NULL, "task_id"};
    *key = names[t] ? json_string_value(json_object_get(filters, names[t])) : NULL;
    if (*key && strlen(*key) >= KEY_MAX)
        return pubsub_error(cl, "BAD_SUBSCRIPTION", "filter value too long");
    if (t == TOPIC_LOGS && !*key)
        return pubsub_error(cl, "BAD_SUBSCRIPTION", "the logs topic needs filters.task_id");
    return 0;
}

/* {"type":"subscribe","topic":...,"filters":{...},"from":"latest|earliest|<id>"} */
static int on_subscribe(struct client *cl, json_t *j)
{
    const char *topic = json_string_value(json_object_get(j, "topic"));
    json_t *filters = json_object_get(j, "filters");
    const char *from = json_string_value(json_object_get(j, "from"));
    const char *key;
    char fromid[48];
    int asked = topic_of(topic), pipeline = is_pipeline(asked, filters);
    enum topic t = pipeline ? TOPIC_GPUS : (enum topic)asked;
    if (asked < 0)
        return pubsub_error(cl, "BAD_SUBSCRIPTION", "topic must be telemetry, gpus, events or logs");
    if (sub_key(cl, t, filters, &key) < 0)
        return -1;
    if (from && strcmp(from, "latest") && strcmp(from, "earliest") &&
        api_parse_stream_id(from, fromid, sizeof(fromid)) < 0)
        return pubsub_error(cl, "BAD_SUBSCRIPTION", "from must be latest, earliest or a stream id");
    struct sub *s = pubsub_sub_new(cl, t, key);
    if (!s)
        return pubsub_error(cl, "UNAVAILABLE", "out of memory");
    if (want_metrics(s, json_object_get(filters, "metrics")) < 0) {
        pubsub_sub_free(s);
        return pubsub_error(cl, "BAD_SUBSCRIPTION", "unknown metric in filters.metrics");
    }
    s->style = pipeline ? STYLE_PIPELINE : STYLE_GANTRY;
    ws_send_json(cl->ws, json_pack("{s:s,s:i,s:s}", "type", "subscribed", "id", (int)s->id,
                                   "topic", topic));
    int history = from && strcmp(from, "latest") != 0 && (key || t == TOPIC_EVENTS);
    if (history && pubsub_history(s, from) < 0)
        pubsub_error(cl, "HISTORY_UNAVAILABLE", "history needs redis; streaming live only");
    else if (!history && t == TOPIC_TELEMETRY)
        snapshot(cl, key);
    return 0;
}

/* {"type":"unsubscribe","id":N} -> {"type":"unsubscribed","id":N}. */
static void on_unsubscribe(struct client *cl, json_t *j)
{
    json_t *id = json_object_get(j, "id");
    struct sub *s = json_is_integer(id) ? pubsub_sub_find(ws_id(cl->ws),
                                                          (uint64_t)json_integer_value(id))
                                        : NULL;
    if (!s || s->topic == TOPIC_SEED) {
        pubsub_error(cl, "UNKNOWN_SUBSCRIPTION", "no subscription with this id on this connection");
        return;
    }
    pubsub_sub_free(s);
    ws_send_json(cl->ws, json_pack("{s:s,s:O}", "type", "unsubscribed", "id", id));
}

/* A text message from a client: subscribe or unsubscribe. */
void pubsub_on_text(struct ws_client *ws, const char *msg, size_t len)
{
    struct client *cl = ws_owner(ws);
    json_t *j = json_loadb(msg, len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!type)
        pubsub_error(cl, "BAD_MESSAGE", "send {\"type\":\"subscribe\",...}");
    else if (strcmp(type, "subscribe") == 0)
        on_subscribe(cl, j);
    else if (strcmp(type, "unsubscribe") == 0)
        on_unsubscribe(cl, j);
    else
        pubsub_error(cl, "BAD_MESSAGE", "unknown message type");
    json_decref(j);
}

static void end_sub(struct sub *s, void *ud)
{
    const char *text = ud;
    pubsub_deliver(s, text, strlen(text), UINT64_MAX, 0);
    if (s->close_at_end && !s->catching_up)
        ws_close(s->cl->ws, 1000, "task finished");
}

/* Sends {"type":"end"} of the finished task t to its logs subscribers. */
void pubsub_task_end(const struct task *t)
{
    char *s = pubsub_msg_text(pubsub_msg_end(t->id, task_status_name(t->status),
                                             t->has_exit_code ? json_integer(t->exit_code)
                                                              : json_null(),
                                             t->reason ? json_string(t->reason) : json_null()));
    if (s)
        pubsub_visit(TOPIC_LOGS, t->id, end_sub, s);
    free(s);
}

static int ws_root(struct http_req *req)
{
    return pubsub_accept(req) ? HTTP_UPGRADED : 0;
}

static int ws_events(struct http_req *req)
{
    char from[48] = "latest";
    if (http_query_param(req, "from", from, sizeof(from)) < 0 ||
        (strcmp(from, "latest") && strcmp(from, "earliest") &&
         api_parse_stream_id(from, from, sizeof(from)) < 0))
        return http_reply_error(req, 400, "INVALID_PARAMETER",
                                "from must be latest, earliest or an event id");
    struct client *cl = pubsub_accept(req);
    if (!cl)
        return 0;
    struct sub *s = pubsub_sub_new(cl, TOPIC_EVENTS, NULL);
    if (s && strcmp(from, "latest") != 0 && pubsub_history(s, from) < 0)
        pubsub_error(cl, "HISTORY_UNAVAILABLE", "history needs redis; streaming live only");
    return HTTP_UPGRADED;
}

static void send_memory_logs(struct sub *s, const struct task *t)
{
    size_t pos = 0;
    struct task_log_entry e;
    while (task_log_next(t, &pos, &e)) {
        char id[48];
        snprintf(id, sizeof(id), "%llu-%llu", (unsigned long long)e.ms, (unsigned long long)e.seq);
        ws_send_json(s->cl->ws, pubsub_msg_log(t->id, id, e.stream == 2 ? "stderr" : "stdout",
                                               e.data, e.len, view_time(e.ts)));
    }
}

/* Upgrades req and streams the logs of task id: past lines (Redis, else
 * memory), live ones while t runs, then its end (from t, or from its
 * stored record rec when it finished before this gantryd knew it). */
static int stream_logs(struct http_req *req, const struct task *t, json_t *rec)
{
    char id[KEY_MAX];
    snprintf(id, sizeof(id), "%s", req->params[0]);
    struct client *cl = pubsub_accept(req);
    struct sub *s = cl ? pubsub_sub_new(cl, TOPIC_LOGS, id) : NULL;
    if (!s)
        return cl ? HTTP_UPGRADED : 0;
    s->close_at_end = 1;
    if (pubsub_history(s, "earliest") < 0 && t)
        send_memory_logs(s, t);
    if (t && task_status_terminal(t->status)) {
        pubsub_task_end(t);
    } else if (!t) {
        const char *st = json_string_value(json_object_get(rec, "status"));
        json_t *code = json_object_get(rec, "exit_code"), *why = json_object_get(rec, "reason");
        char *text = pubsub_msg_text(pubsub_msg_end(id, st ? st : "unknown",
                                                    json_is_integer(code) ? json_incref(code) : json_null(),
                                                    json_is_string(why) ? json_incref(why) : json_null()));
        if (text)
            end_sub(s, text);
        free(text);
    }
    return HTTP_UPGRADED;
}

static void stored_task(int ok, json_t *rec, uint64_t conn_id, uint64_t seq)
{
    struct http_req *req = http_req_find(conn_id, seq);
    if (!req)
        return;
    if (!ok)
        http_reply_error(req, 503, "REDIS_UNAVAILABLE", "could not read the task from redis");
    else if (!rec)
        http_reply_error(req, 404, "TASK_NOT_FOUND", "no task %s", req->params[0]);
    else
        stream_logs(req, cluster_task(pubsub.cl, req->params[0]), rec);
}

/* /ws/tasks/{id}/logs: past lines, then live ones, then {"type":"end"};
 * 404 TASK_NOT_FOUND for a task neither memory nor Redis holds. */
static int ws_task_logs(struct http_req *req)
{
    const char *id = req->params[0];
    struct task *t = cluster_task(pubsub.cl, id);
    if (t)
        return stream_logs(req, t, NULL);
    if (strlen(id) < KEY_MAX && store_read_task(id, stored_task, req->conn_id, req->seq) == 0)
        return HTTP_ASYNC;
    return http_reply_error(req, 404, "TASK_NOT_FOUND", "no task %s", id);
}

static const struct http_route ws_routes[] = {
    {"GET", "/ws", ws_root, ROUTE_READ, "WebSocket: subscribe to topics", ""},
    {"GET", "/ws/tasks/{id}/logs", ws_task_logs, ROUTE_READ, "WebSocket: a task's output", ""},
    {"GET", "/ws/events", ws_events, ROUTE_READ, "WebSocket: cluster events", "from"},
};

/* Adds /ws, /ws/events and /ws/tasks/{id}/logs. Returns 0 or -1. */
int pubsub_routes_register(void)
{
    return router_add(ws_routes, sizeof(ws_routes) / sizeof(ws_routes[0]));
}
