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

/* Turns ms in an entry id into an RFC 3339 time. */
static json_t *id_time(const char *id)
{
    return view_time(strtoll(id, NULL, 10) / 1000.0);
}

static void metrics_reply(redisReply *r, uint64_t conn_id, uint64_t seq)
{
    struct http_req *req = http_req_find(conn_id, seq);
    if (!req)
        return;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        http_reply_error(req, 503, "REDIS_UNAVAILABLE", "could not read history from redis");
        return;
    }
    const char *last = NULL;
    json_t *entries = api_stream_entries(r, &last);
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(e, tmp, k, v) {
            if (strcmp(k, "id") != 0)
                json_object_set_new(e, k, view_number(strtod(json_string_value(v), NULL)));
        }
        json_object_set_new(e, "timestamp", id_time(json_string_value(json_object_get(e, "id"))));
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
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XRANGE");
    resp_fmt(c, "gantry:telemetry:%s", req->params[0]);
    if (hs)
        resp_fmt(c, "%lld", (long long)time_ms(start));
    else
        resp_str(c, "-");
    if (he)
        resp_fmt(c, "%lld", (long long)time_ms(end));
    else
        resp_str(c, "+");
    resp_str(c, "COUNT");
    resp_fmt(c, "%d", limit);
    if (store_read(c, metrics_reply, req->conn_id, req->seq) < 0)
        return http_reply_error(req, 503, "REDIS_UNAVAILABLE",
                                "history lives in redis, which is not connected");
    return HTTP_ASYNC;
}

static void events_reply(redisReply *r, uint64_t conn_id, uint64_t seq)
{
    struct http_req *req = http_req_find(conn_id, seq);
    if (!req)
        return;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        http_reply_error(req, 503, "REDIS_UNAVAILABLE", "could not read events from redis");
        return;
    }
    char since[48] = "";
    http_query_param(req, "since", since, sizeof(since));
    const char *last = NULL;
    json_t *events = api_stream_entries(r, &last);
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) {
        static const char *const ints[] = {"attempts", "exit_code"};
        for (int k = 0; k < 2; k++) {
            json_t *v = json_object_get(e, ints[k]);
            if (v)
                json_object_set_new(e, ints[k], json_integer(strtoll(json_string_value(v), NULL, 10)));
        }
    }
    http_reply_json(req, 200, json_pack("{s:o,s:s?}", "events", events, "next",
                                        last ? last : since[0] ? since : NULL));
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
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XRANGE");
    resp_str(c, "gantry:events");
    if (since[0])
        resp_fmt(c, "(%s", since);
    else
        resp_str(c, "-");
    resp_str(c, "+");
    resp_str(c, "COUNT");
    resp_fmt(c, "%d", limit);
    if (store_read(c, events_reply, req->conn_id, req->seq) < 0)
        return http_reply_error(req, 503, "REDIS_UNAVAILABLE",
                                "events live in redis, which is not connected");
    return HTTP_ASYNC;
}

static const struct http_route history_routes[] = {
    {"GET", "/api/workers/{id}/metrics", get_worker_metrics, ROUTE_READ,
     "A worker's heartbeat history from Redis, oldest first"},
    {"GET", "/api/events", get_events, ROUTE_READ, "Cluster events, oldest first"},
};

/* Adds the history routes. Returns 0 or -1. */
int api_history_register(void)
{
    return router_add(history_routes, sizeof(history_routes) / sizeof(history_routes[0]));
}
