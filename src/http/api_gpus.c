/* The GPU telemetry API (/api/v1): the shape of the DCGM pipelines Gantry
 * replaces. GPUs come from the workers' hellos; samples from
 * gantry:gpu:<uuid>, whose entry ids are the sample times. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "core/parse.h"
#include "core/timefmt.h"
#include "router.h"
#include "views.h"

static const char *gpu_status(const struct worker *w)
{
    return w->state == WS_ACTIVE ? "active" : w->state == WS_INACTIVE ? "inactive" : "offline";
}

static json_t *gpu_entry(const struct worker_gpu *g)
{
    return json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:I}", "id", g->info.index, "uuid", g->info.uuid,
                     "hostname", g->w->hostname, "name", g->info.model, "device", g->info.device,
                     "status", gpu_status(g->w), "memory_mib", (json_int_t)g->info.memory_mib);
}

static int by_host_then_index(const void *a, const void *b)
{
    const struct worker_gpu *x = *(const struct worker_gpu *const *)a;
    const struct worker_gpu *y = *(const struct worker_gpu *const *)b;
    int c = strcmp(x->w->hostname, y->w->hostname);
    return c ? c : x->info.index - y->info.index;
}

/* Every GPU (of one host when hostname is set), sorted by host and index.
 * The caller frees the array. */
static const struct worker_gpu **collect(const char *hostname, size_t *n)
{
    size_t cap = 64, len = 0;
    const struct worker_gpu **v = malloc(cap * sizeof(*v));
    struct list_node *pos;
    list_for_each(pos, &api_env->cl->worker_list) {
        const struct worker *w = container_of(pos, struct worker, all);
        if (hostname && strcmp(w->hostname, hostname) != 0)
            continue;
        for (int i = 0; v && i < w->ngpus; i++) {
            if (len == cap) {
                const struct worker_gpu **nv = realloc(v, (cap *= 2) * sizeof(*v));
                if (!nv) {
                    free(v);
                    return NULL;
                }
                v = nv;
            }
            v[len++] = &w->gpus[i];
        }
    }
    if (v)
        qsort(v, len, sizeof(*v), by_host_then_index);
    *n = len;
    return v;
}

static int query_int(struct http_req *req, const char *name, long def, long max, long *out)
{
    char v[32], err[64];
    int rc = http_query_param(req, name, v, sizeof(v));
    *out = def;
    if (rc == 0)
        return 0;
    if (rc < 0 || parse_long(v, out, err, sizeof(err)) < 0 || *out < 0 || *out > max) {
        http_reply_error(req, 400, "INVALID_PARAMETER", "%s must be a whole number from 0 to %ld",
                         name, max);
        return -1;
    }
    return 0;
}

/* GET /api/v1/gpus?limit=&offset=&hostname= */
static int get_gpus(struct http_req *req)
{
    long limit, offset;
    char host[128];
    int has_host = http_query_param(req, "hostname", host, sizeof(host)) == 1;
    if (query_int(req, "limit", 100, 10000, &limit) < 0 ||
        query_int(req, "offset", 0, 100000000, &offset) < 0)
        return 0;
    size_t n;
    const struct worker_gpu **v = collect(has_host ? host : NULL, &n);
    if (!v)
        return http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
    json_t *data = json_array();
    for (size_t i = (size_t)offset; i < n && (long)json_array_size(data) < limit; i++)
        json_array_append_new(data, gpu_entry(v[i]));
    free(v);
    return http_reply_json(req, 200, json_pack("{s:b,s:I,s:I,s:o}", "success", 1, "count",
                                               (json_int_t)json_array_size(data), "total",
                                               (json_int_t)n, "data", data));
}

static json_t *latest(const struct worker_gpu *g)
{
    json_t *s = view_gpu_sample(&g->last, 1);
    json_object_set_new(s, "timestamp", view_time(g->last_ts));
    json_object_set_new(s, "gpu_id", json_integer(g->info.index));
    json_object_set_new(s, "uuid", json_string(g->info.uuid));
    json_object_set_new(s, "device", json_string(g->info.device));
    json_object_set_new(s, "model_name", json_string(g->info.model));
    json_object_set_new(s, "hostname", json_string(g->w->hostname));
    return s;
}

static struct worker_gpu *find_gpu(struct http_req *req)
{
    struct worker_gpu *g = cluster_gpu(api_env->cl, req->params[0]);
    if (!g)
        http_reply_error(req, 404, "GPU_NOT_FOUND", "no GPU %s", req->params[0]);
    return g;
}

/* GET /api/v1/gpus/{uuid}: the GPU with its latest sample. */
static int get_gpu(struct http_req *req)
{
    struct worker_gpu *g = find_gpu(req);
    if (!g)
        return 0;
    json_t *d = gpu_entry(g);
    json_object_set_new(d, "latest", g->last.present ? latest(g) : json_null());
    return http_reply_json(req, 200, json_pack("{s:b,s:o}", "success", 1, "data", d));
}

static void telemetry_reply(int ok, const struct store_entry *e, size_t n, uint64_t conn_id,
                            uint64_t seq)
{
    struct http_req *req = http_req_find(conn_id, seq);
    if (!req)
        return;
    struct worker_gpu *g = cluster_gpu(api_env->cl, req->params[0]);
    if (!ok || !g) {
        http_reply_error(req, 503, "REDIS_UNAVAILABLE", "could not read samples from redis");
        return;
    }
    json_t *data = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_pack("{s:o,s:i,s:s,s:s,s:s,s:s}", "timestamp",
                              view_time(e[i].ms / 1000.0), "gpu_id", g->info.index, "uuid",
                              g->info.uuid, "device", g->info.device, "model_name", g->info.model,
                              "hostname", g->w->hostname);
        for (size_t k = 0; k < e[i].nfields; k++) {
            int m = gpu_metric_by_dcgm(e[i].fields[k].name);
            if (m >= 0)
                json_object_set_new(s, gpu_metric_names[m].api,
                                    view_number(strtod(e[i].fields[k].value, NULL)));
        }
        json_array_append_new(data, s);
    }
    http_reply_json(req, 200, json_pack("{s:b,s:I,s:o}", "success", 1, "count",
                                        (json_int_t)json_array_size(data), "data", data));
}

static int time_bound(struct http_req *req, const char *name, int64_t *ms)
{
    char v[64];
    double t;
    int rc = http_query_param(req, name, v, sizeof(v));
    if (rc == 0)
        return 0;
    if (rc < 0 || time_parse(v, &t) < 0) {
        http_reply_error(req, 400, "INVALID_TIME_RANGE",
                         "%s must be an RFC 3339 time like 2025-07-18T20:42:34Z", name);
        return -1;
    }
    *ms = time_ms(t);
    return 1;
}

/* GET /api/v1/gpus/{uuid}/telemetry?start_time=&end_time=&limit= :
 * samples in time order, bounds inclusive; a metric a sample did not
 * report is left out. */
static int get_gpu_telemetry(struct http_req *req)
{
    int64_t start = 0, end = 0;
    int hs, he;
    long limit;
    if ((hs = time_bound(req, "start_time", &start)) < 0 ||
        (he = time_bound(req, "end_time", &end)) < 0 || query_int(req, "limit", 1000, 100000, &limit) < 0)
        return 0;
    if (hs && he && end < start)
        return http_reply_error(req, 400, "INVALID_TIME_RANGE", "end_time is before start_time");
    if (!find_gpu(req))
        return 0;
    char from[32], to[32];
    snprintf(from, sizeof(from), "%lld", (long long)start);
    snprintf(to, sizeof(to), "%lld", (long long)end);
    struct store_range r = {hs ? from : NULL, he ? to : NULL, 0, limit ? limit : 1, 0};
    if (store_read_range(STREAM_GPU, req->params[0], &r, telemetry_reply, req->conn_id,
                         req->seq) < 0)
        return http_reply_error(req, 503, "REDIS_UNAVAILABLE",
                                "samples live in redis, which is not connected");
    return HTTP_ASYNC;
}

/* GET /api/v1/hosts: hosts with their GPU counts. */
static int get_hosts(struct http_req *req)
{
    json_t *data = json_array();
    struct list_node *pos;
    list_for_each(pos, &api_env->cl->worker_list) {
        const struct worker *w = container_of(pos, struct worker, all);
        if (w->ngpus)
            json_array_append_new(data, json_pack("{s:s,s:s,s:i,s:s}", "hostname", w->hostname,
                                                  "worker_id", w->id, "gpu_count", w->ngpus,
                                                  "status", gpu_status(w)));
    }
    return http_reply_json(req, 200, json_pack("{s:b,s:I,s:o}", "success", 1, "count",
                                               (json_int_t)json_array_size(data), "data", data));
}

/* GET /api/v1/hosts/{hostname}/gpus */
static int get_host_gpus(struct http_req *req)
{
    size_t n;
    const struct worker_gpu **v = collect(req->params[0], &n);
    if (!v)
        return http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
    if (n == 0) {
        free(v);
        return http_reply_error(req, 404, "HOST_NOT_FOUND", "no GPUs on host %s", req->params[0]);
    }
    json_t *data = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(data, gpu_entry(v[i]));
    free(v);
    return http_reply_json(req, 200, json_pack("{s:b,s:s,s:I,s:o}", "success", 1, "hostname",
                                               req->params[0], "count", (json_int_t)n, "data", data));
}

/* GET /api/v1/telemetry/latest: the latest sample of every GPU. */
static int get_latest(struct http_req *req)
{
    size_t n;
    const struct worker_gpu **v = collect(NULL, &n);
    if (!v)
        return http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
    json_t *data = json_array();
    for (size_t i = 0; i < n; i++)
        if (v[i]->last.present)
            json_array_append_new(data, latest(v[i]));
    free(v);
    return http_reply_json(req, 200, json_pack("{s:b,s:I,s:o}", "success", 1, "count",
                                               (json_int_t)json_array_size(data), "data", data));
}

static const struct http_route gpu_routes[] = {
    {"GET", "/api/v1/gpus", get_gpus, ROUTE_READ, "GPUs, by host and index"},
    {"GET", "/api/v1/gpus/{uuid}", get_gpu, ROUTE_READ, "One GPU with its latest sample"},
    {"GET", "/api/v1/gpus/{uuid}/telemetry", get_gpu_telemetry, ROUTE_READ,
     "A GPU's samples in a time window"},
    {"GET", "/api/v1/hosts", get_hosts, ROUTE_READ, "Hosts with their GPU counts"},
    {"GET", "/api/v1/hosts/{hostname}/gpus", get_host_gpus, ROUTE_READ, "One host's GPUs"},
    {"GET", "/api/v1/telemetry/latest", get_latest, ROUTE_READ, "Latest sample of every GPU"},
};

/* Adds the GPU routes. Returns 0 or -1. */
int api_gpus_register(void)
{
    return router_add(gpu_routes, sizeof(gpu_routes) / sizeof(gpu_routes[0]));
}
