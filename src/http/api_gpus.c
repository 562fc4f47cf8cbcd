/* The GPU telemetry API (/api/v1): the shape of the DCGM pipelines Gantry
 * replaces. GPUs come from the workers' hellos, in the fleet's order
 * (core/fleet.h); samples from gantry:gpu:<uuid>, whose entry ids are the
 * sample times. Lists page with limit/offset and say their total. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_scan.h"
#include "router.h"
#include "views_gpu.h"

/* Builds the fleet for a handler. Returns 0, or -1 after replying 503. */
int api_fleet(struct http_req *req, struct fleet *f)
{
    if (fleet_build(f, api_env->cl, api_env->cluster_name, FLEET_GPU_HOSTS) == 0)
        return 0;
    http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
    return -1;
}

/* Replies the page [offset, offset + limit) of the n items of f from
 * first on, item() making each. */
int api_reply_items(struct http_req *req, const struct fleet *f, api_item_fn item, size_t first,
                    size_t n, long limit, long offset)
{
    struct fleet_page p = fleet_page(n, (size_t)offset, (size_t)limit);
    json_t *data = json_array();
    for (size_t i = p.first; i < p.first + p.count; i++)
        json_array_append_new(data, item(f, first + i));
    return api_reply_list(req, data, p.total, (size_t)offset);
}

/* Items of the fleet's lists, for api_reply_items. */
json_t *api_item_gpu(const struct fleet *f, size_t i)
{
    return view_gpu(f->gpus[i]);
}

/* See api_item_gpu. */
json_t *api_item_host(const struct fleet *f, size_t i)
{
    return view_host(&f->hosts[i]);
}

/* See api_item_gpu. */
json_t *api_item_cluster(const struct fleet *f, size_t i)
{
    return view_cluster(&f->clusters[i]);
}

/* GET /api/v1/gpus?limit=&offset=&hostname= : every GPU by default (up to
 * API_GPU_PAGE a page), by cluster, host and index. */
static int get_gpus(struct http_req *req)
{
    long limit, offset;
    char host[128];
    struct fleet f;
    int has_host = http_query_param(req, "hostname", host, sizeof(host));
    if (has_host < 0)
        return http_reply_error(req, 400, "INVALID_PARAMETER", "hostname is malformed");
    if (api_query_page(req, API_GPU_PAGE, API_GPU_PAGE, &limit, &offset) < 0 || api_fleet(req, &f) < 0)
        return 0;
    const struct fleet_host *h = has_host ? fleet_find_host(&f, NULL, host) : NULL;
    int rc = api_reply_items(req, &f, api_item_gpu, h ? h->first_gpu : 0,
                             h ? h->ngpus : has_host ? 0 : f.ngpus, limit, offset);
    fleet_free(&f);
    return rc;
}

static struct worker_gpu *find_gpu(struct http_req *req)
{
    struct worker_gpu *g = cluster_gpu(api_env->cl, req->params[0]);
    if (!g)
        http_reply_error(req, 404, "GPU_NOT_FOUND", "no GPU %s", req->params[0]);
    return g;
}

/* One GPU with its latest sample (metrics cut to mask), as data. */
int api_reply_gpu(struct http_req *req, const struct worker_gpu *g, uint16_t mask)
{
    json_t *d = view_gpu(g);
    json_object_set_new(d, "latest", view_gpu_latest(g, mask));
    return http_reply_json(req, 200, json_pack("{s:b,s:o}", "success", 1, "data", d));
}

/* GET /api/v1/gpus/{uuid}?metric= : the GPU with its latest sample. */
static int get_gpu(struct http_req *req)
{
    uint16_t mask;
    if (api_query_metrics(req, &mask) < 0)
        return 0;
    struct worker_gpu *g = find_gpu(req);
    return g ? api_reply_gpu(req, g, mask) : 0;
}

/* GET /api/v1/gpus/{uuid}/telemetry : the GPU's samples in a window. */
static int get_gpu_telemetry(struct http_req *req)
{
    struct api_scan_args a;
    struct view_gpu_ref ref;
    if (api_scan_query(req, 1000, API_SCAN_MAX_LIMIT, &a) < 0)
        return 0;
    struct worker_gpu *g = find_gpu(req);
    if (!g)
        return 0;
    view_gpu_ref(g, &ref);
    return api_scan_gpus(req, &ref, 1, &a);
}

/* GET /api/v1/hosts?limit=&offset= : hosts with their GPU counts. */
static int get_hosts(struct http_req *req)
{
    long limit, offset;
    struct fleet f;
    if (api_query_page(req, API_GPU_PAGE, API_GPU_PAGE, &limit, &offset) < 0 || api_fleet(req, &f) < 0)
        return 0;
    int rc = api_reply_items(req, &f, api_item_host, 0, f.nhosts, limit, offset);
    fleet_free(&f);
    return rc;
}

/* GET /api/v1/hosts/{hostname}/gpus?limit=&offset= */
static int get_host_gpus(struct http_req *req)
{
    long limit, offset;
    struct fleet f;
    if (api_query_page(req, API_GPU_PAGE, API_GPU_PAGE, &limit, &offset) < 0 || api_fleet(req, &f) < 0)
        return 0;
    const struct fleet_host *h = fleet_find_host(&f, NULL, req->params[0]);
    int rc = h ? api_reply_items(req, &f, api_item_gpu, h->first_gpu, h->ngpus, limit, offset)
               : http_reply_error(req, 404, "HOST_NOT_FOUND", "no GPUs on host %s", req->params[0]);
    fleet_free(&f);
    return rc;
}

/* The GPUs ?hostname= names (all without it) as refs for a scan, or NULL
 * after replying (404 HOST_NOT_FOUND, 503). *n gets their count. */
static struct view_gpu_ref *selected_gpus(struct http_req *req, size_t *n)
{
    char host[128];
    struct fleet f;
    int has_host = http_query_param(req, "hostname", host, sizeof(host));
    if (has_host < 0 || api_fleet(req, &f) < 0) {
        if (has_host < 0)
            http_reply_error(req, 400, "INVALID_PARAMETER", "hostname is malformed");
        return NULL;
    }
    const struct fleet_host *h = has_host ? fleet_find_host(&f, NULL, host) : NULL;
    size_t first = h ? h->first_gpu : 0;
    *n = h ? h->ngpus : has_host ? 0 : f.ngpus;
    struct view_gpu_ref *refs = has_host && !h ? NULL : malloc((*n + 1) * sizeof(*refs));
    for (size_t i = 0; refs && i < *n; i++)
        view_gpu_ref(f.gpus[first + i], &refs[i]);
    fleet_free(&f);
    if (has_host && !h)
        http_reply_error(req, 404, "HOST_NOT_FOUND", "no GPUs on host %s", host);
    else if (!refs)
        http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
    return refs;
}

/* GET /api/v1/telemetry : every GPU's samples in a window, as one series. */
static int get_telemetry(struct http_req *req)
{
    struct api_scan_args a;
    size_t n;
    if (api_scan_query(req, 1000, API_SCAN_MAX_LIMIT, &a) < 0)
        return 0;
    struct view_gpu_ref *refs = selected_gpus(req, &n);
    if (!refs)
        return 0;
    int rc = api_scan_gpus(req, refs, n, &a);
    free(refs);
    return rc;
}

/* GET /api/v1/telemetry/latest : the latest sample of every GPU that has
 * one (of one host with ?hostname=), metrics cut with ?metric=. */
static int get_latest(struct http_req *req)
{
    long limit, offset;
    uint16_t mask;
    size_t n;
    if (api_query_metrics(req, &mask) < 0 ||
        api_query_page(req, API_GPU_PAGE, API_GPU_PAGE, &limit, &offset) < 0)
        return 0;
    struct view_gpu_ref *refs = selected_gpus(req, &n);
    if (!refs)
        return 0;
    json_t *all = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct worker_gpu *g = cluster_gpu(api_env->cl, refs[i].info.uuid);
        if (g && (mask ? g->last.present & mask : g->last.present))
            json_array_append_new(all, view_gpu_latest(g, mask));
    }
    free(refs);
    struct fleet_page p = fleet_page(json_array_size(all), (size_t)offset, (size_t)limit);
    json_t *data = json_array();
    for (size_t i = p.first; i < p.first + p.count; i++)
        json_array_append(data, json_array_get(all, i));
    json_decref(all);
    return api_reply_list(req, data, p.total, (size_t)offset);
}

#define SERIES_QUERY "start_time end_time window limit offset order metric metric_name"

static const struct http_route gpu_routes[] = {
    {"GET", "/api/v1/gpus", get_gpus, ROUTE_READ, "GPUs, by cluster, host and index",
     "limit offset hostname"},
    {"GET", "/api/v1/gpus/{uuid}", get_gpu, ROUTE_READ, "One GPU with its latest sample",
     "metric metric_name"},
    {"GET", "/api/v1/gpus/{uuid}/telemetry", get_gpu_telemetry, ROUTE_READ,
     "A GPU's samples in a time window", SERIES_QUERY},
    {"GET", "/api/v1/hosts", get_hosts, ROUTE_READ, "Hosts with their GPU counts", "limit offset"},
    {"GET", "/api/v1/hosts/{hostname}/gpus", get_host_gpus, ROUTE_READ, "One host's GPUs",
     "limit offset"},
    {"GET", "/api/v1/telemetry", get_telemetry, ROUTE_READ,
     "Samples of every GPU in a time window, as one series", SERIES_QUERY " hostname"},
    {"GET", "/api/v1/telemetry/latest", get_latest, ROUTE_READ, "Latest sample of every GPU",
     "limit offset hostname metric metric_name"},
};

/* Adds the GPU routes. Returns 0 or -1. */
int api_gpus_register(void)
{
    return router_add(gpu_routes, sizeof(gpu_routes) / sizeof(gpu_routes[0]));
}
