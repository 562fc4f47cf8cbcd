/* History read from Redis: a worker's heartbeats, and the cluster's events. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "router.h"
#include "views.h"

static void metrics_reply(int ok, const struct store_entry *e, size_t n, uint64_t conn_id,
                          uint64_t seq)
{
    struct http_req *req = http_req_find(conn_id, seq);
    if (!req)
        return;
    if (!ok) {
        http_reply_error(req, 503, "REDIS_UNAVAILABLE", "could not read history from redis");
        return;
    }
    json_t *entries = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(entries, view_heartbeat_entry(&e[i]));
    http_reply_json(req, 200, json_pack("{s:s,s:I,s:o}", "worker_id", req->params[0], "count",
                                        (json_int_t)json_array_size(entries), "metrics", entries));
}

/* GET /api/workers/{id}/metrics?start_time=&end_time=&window=&limit=&order=
 * : the worker's heartbeats from gantry:telemetry:<id>, oldest first (or
 * newest first). */
static int get_worker_metrics(struct http_req *req)
{
    struct api_window w;
    int limit, desc;
    if (api_query_window(req, &w) < 0 || api_query_order(req, &desc) < 0 ||
        api_query_limit(req, 1000, 100000, &limit) < 0)
        return 0;
    if (!cluster_worker(api_env->cl, req->params[0]))
        return http_reply_error(req, 404, "WORKER_NOT_FOUND", "no worker %s", req->params[0]);
    char from[32], to[32];
    snprintf(from, sizeof(from), "%lld", (long long)w.start_ms);
    snprintf(to, sizeof(to), "%lld", (long long)w.end_ms);
    struct store_range r = {w.has_start ? from : NULL, w.has_end ? to : NULL, 0, limit, desc};
    if (store_read_range(STREAM_WORKER_TELEMETRY, req->params[0], &r, metrics_reply,
                         req->conn_id, req->seq) < 0)
        return http_reply_error(req, 503, "REDIS_UNAVAILABLE",
                                "history lives in redis, which is not connected");
    return HTTP_ASYNC;
}

static void events_reply(int ok, const struct store_entry *e, size_t n, uint64_t conn_id,
                         uint64_t seq)
{
    struct http_req *req = http_req_find(conn_id, seq);
    if (!req)
        return;
    if (!ok) {
        http_reply_error(req, 503, "REDIS_UNAVAILABLE", "could not read events from redis");
        return;
    }
    char since[48] = "";
    int limit;
    http_query_param(req, "since", since, sizeof(since));
    api_query_limit(req, 100, 10000, &limit);
    json_t *events = json_array();
    const char *last = NULL;
    for (size_t i = 0; i < n && (int)json_array_size(events) < limit; i++) {
        if (strcmp(e[i].id, since) == 0)
            continue;       /* newest first: the cursor itself came back */
        json_t *ev = view_event_entry(&e[i]);
        json_object_set_new(ev, "id", json_string(e[i].id));
        json_array_append_new(events, ev);
        last = e[i].id;
    }
    http_reply_json(req, 200, json_pack("{s:o,s:s?}", "events", events, "next",
                                        last ? last : since[0] ? since : NULL));
}

/* GET /api/events?since=&limit=&order= : gantry:events oldest first (or
 * newest first), after the cursor since (an entry id, exclusive: older
 * than it when newest first); next is the cursor for the following call. */
static int get_events(struct http_req *req)
{
    char since[48];
    int limit, desc;
    if (api_query_since(req, since, sizeof(since), "since must be an event id like 1752871354000-0") < 0 ||
        api_query_limit(req, 100, 10000, &limit) < 0 || api_query_order(req, &desc) < 0)
        return 0;
    const char *cursor = since[0] ? since : NULL;
    struct store_range r = {desc ? NULL : cursor, desc ? cursor : NULL, !desc, limit + desc, desc};
    if (store_read_range(STREAM_EVENTS, "", &r, events_reply, req->conn_id, req->seq) < 0)
        return http_reply_error(req, 503, "REDIS_UNAVAILABLE",
                                "events live in redis, which is not connected");
    return HTTP_ASYNC;
}

static const struct http_route history_routes[] = {
    {"GET", "/api/workers/{id}/metrics", get_worker_metrics, ROUTE_READ,
     "A worker's heartbeat history from Redis, oldest first",
     "start_time end_time window limit order"},
    {"GET", "/api/events", get_events, ROUTE_READ, "Cluster events, oldest first", "since limit order"},
};

/* Adds the history routes. Returns 0 or -1. */
int api_history_register(void)
{
    return router_add(history_routes, sizeof(history_routes) / sizeof(history_routes[0]));
}
