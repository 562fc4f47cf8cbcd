/* History read from Redis: a worker's heartbeats, and the cluster's events. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "core/timefmt.h"
#include "router.h"
#include "views.h"

static int parse_time_param(struct http_req *req, const char *name, double *out)
{
    char v[64];
    int rc = http_query_param(req, name, v, sizeof(v));
    if (rc == 0)
        return 0;
    if (rc < 0 || time_parse(v, out) < 0) {
        http_reply_error(req, 400, "INVALID_TIME_RANGE",
                         "%s must be an RFC 3339 time like 2025-07-18T20:42:34Z", name);
        return -1;
    }
    return 1;
}

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
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s,s:o}", "id", e[i].id, "timestamp", view_time(e[i].ms / 1000.0));
        for (size_t k = 0; k < e[i].nfields; k++)
            json_object_set_new(o, e[i].fields[k].name,
                                view_number(strtod(e[i].fields[k].value, NULL)));
        json_array_append_new(entries, o);
    }
    http_reply_json(req, 200, json_pack("{s:s,s:I,s:o}", "worker_id", req->params[0], "count",
                                        (json_int_t)json_array_size(entries), "metrics", entries));
}

/* GET /api/workers/{id}/metrics?start_time=&end_time=&limit= : the worker's
 * heartbeats from gantry:telemetry:<id>, oldest first. */
static int get_worker_metrics(struct http_req *req)
{
    double start = 0, end = 0;
    int limit, hs, he;
    if ((hs = parse_time_param(req, "start_time", &start)) < 0 ||
        (he = parse_time_param(req, "end_time", &end)) < 0 ||
        api_query_limit(req, 1000, 100000, &limit) < 0)
        return 0;
    if (hs && he && end < start)
        return http_reply_error(req, 400, "INVALID_TIME_RANGE", "end_time is before start_time");
    if (!cluster_worker(api_env->cl, req->params[0]))
        return http_reply_error(req, 404, "WORKER_NOT_FOUND", "no worker %s", req->params[0]);
    char from[32], to[32];
    snprintf(from, sizeof(from), "%lld", (long long)time_ms(start));
    snprintf(to, sizeof(to), "%lld", (long long)time_ms(end));
    struct store_range r = {hs ? from : NULL, he ? to : NULL, 0, limit, 0};
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
    http_query_param(req, "since", since, sizeof(since));
    json_t *events = api_entries_json(e, n);
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) {
        static const char *const ints[] = {"attempts", "exit_code"};
        for (int k = 0; k < 2; k++) {
            json_t *v = json_object_get(ev, ints[k]);
            if (v)
                json_object_set_new(ev, ints[k], json_integer(strtoll(json_string_value(v), NULL, 10)));
        }
    }
    http_reply_json(req, 200, json_pack("{s:o,s:s?}", "events", events, "next",
                                        n ? e[n - 1].id : since[0] ? since : NULL));
}

/* GET /api/events?since=&limit= : gantry:events oldest first, after the
 * cursor since (an entry id); next is the cursor for the following call. */
static int get_events(struct http_req *req)
{
    char since[48];
    int limit;
    if (api_query_since(req, since, sizeof(since), "since must be an event id like 1752871354000-0") < 0)
        return 0;
    if (api_query_limit(req, 100, 10000, &limit) < 0)
        return 0;
    struct store_range r = {since[0] ? since : NULL, NULL, 1, limit, 0};
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
