/* The GPU pipelines' hierarchy: /api/v1/clusters/{cluster_id}/hosts/
 * {host_id}/gpus/{gpu_id}/metrics and the levels above it. A cluster is
 * cluster.name or an agent's `cluster` label, a host a hostname in it, a
 * GPU its index on the host or its uuid (core/fleet.h). */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_scan.h"
#include "router.h"
#include "views_gpu.h"

/* Where a request's path points: the fleet and the objects it names,
 * found down to the depth the route asks for. */
struct place {
    struct fleet f;
    const struct fleet_cluster *c;
    const struct fleet_host *h;
    const struct worker_gpu *g;
};

/* Resolves the first depth path parameters (1: cluster, 2: host, 3: GPU).
 * Returns 0 with p filled (fleet_free it), or -1 after replying 404/503. */
static int resolve(struct http_req *req, int depth, struct place *p)
{
    memset(p, 0, sizeof(*p));
    if (api_fleet(req, &p->f) < 0)
        return -1;
    const char *const *id = req->params;
    if (!(p->c = fleet_find_cluster(&p->f, id[0])))
        http_reply_error(req, 404, "CLUSTER_NOT_FOUND", "no cluster %s", id[0]);
    else if (depth > 1 && !(p->h = fleet_find_host(&p->f, p->c, id[1])))
        http_reply_error(req, 404, "HOST_NOT_FOUND", "no host %s in cluster %s", id[1], id[0]);
    else if (depth > 2 && !(p->g = fleet_find_gpu(&p->f, p->h, id[2])))
        http_reply_error(req, 404, "GPU_NOT_FOUND", "no GPU %s on host %s", id[2], id[1]);
    else
        return 0;
    fleet_free(&p->f);
    return -1;
}

static int reply_data(struct http_req *req, json_t *data)
{
    return http_reply_json(req, 200, json_pack("{s:b,s:o}", "success", 1, "data", data));
}

/* GET /api/v1/clusters?limit=&offset= */
static int get_clusters(struct http_req *req)
{
    long limit, offset;
    struct fleet f;
    if (api_query_page(req, API_GPU_PAGE, API_GPU_PAGE, &limit, &offset) < 0 || api_fleet(req, &f) < 0)
        return 0;
    int rc = api_reply_items(req, &f, api_item_cluster, 0, f.nclusters, limit, offset);
    fleet_free(&f);
    return rc;
}

/* GET /api/v1/clusters/{cluster_id} */
static int get_cluster(struct http_req *req)
{
    struct place p;
    if (resolve(req, 1, &p) < 0)
        return 0;
    int rc = reply_data(req, view_cluster(p.c));
    fleet_free(&p.f);
    return rc;
}

/* GET /api/v1/clusters/{cluster_id}/stats */
static int get_cluster_stats(struct http_req *req)
{
    struct place p;
    if (resolve(req, 1, &p) < 0)
        return 0;
    int rc = reply_data(req, view_cluster_stats(&p.f, p.c));
    fleet_free(&p.f);
    return rc;
}

/* GET /api/v1/clusters/{cluster_id}/hosts?limit=&offset= */
static int get_cluster_hosts(struct http_req *req)
{
    long limit, offset;
    struct place p;
    if (api_query_page(req, API_GPU_PAGE, API_GPU_PAGE, &limit, &offset) < 0 || resolve(req, 1, &p) < 0)
        return 0;
    int rc = api_reply_items(req, &p.f, api_item_host, p.c->first_host, p.c->nhosts, limit, offset);
    fleet_free(&p.f);
    return rc;
}

/* GET /api/v1/clusters/{cluster_id}/hosts/{host_id}: the host and its GPUs. */
static int get_cluster_host(struct http_req *req)
{
    struct place p;
    if (resolve(req, 2, &p) < 0)
        return 0;
    json_t *gpus = json_array();
    for (size_t i = 0; i < p.h->ngpus; i++)
        json_array_append_new(gpus, view_gpu(p.f.gpus[p.h->first_gpu + i]));
    json_t *host = view_host(p.h);
    json_object_set_new(host, "gpus", gpus);
    fleet_free(&p.f);
    return reply_data(req, host);
}

/* GET /api/v1/clusters/{cluster_id}/hosts/{host_id}/gpus?limit=&offset= */
static int get_cluster_host_gpus(struct http_req *req)
{
    long limit, offset;
    struct place p;
    if (api_query_page(req, API_GPU_PAGE, API_GPU_PAGE, &limit, &offset) < 0 || resolve(req, 2, &p) < 0)
        return 0;
    int rc = api_reply_items(req, &p.f, api_item_gpu, p.h->first_gpu, p.h->ngpus, limit, offset);
    fleet_free(&p.f);
    return rc;
}

/* GET .../hosts/{host_id}/gpus/{gpu_id}?metric= : the GPU with its latest
 * sample. */
static int get_cluster_gpu(struct http_req *req)
{
    uint16_t mask;
    struct place p;
    if (api_query_metrics(req, &mask) < 0 || resolve(req, 3, &p) < 0)
        return 0;
    int rc = api_reply_gpu(req, p.g, mask);
    fleet_free(&p.f);
    return rc;
}

/* GET .../hosts/{host_id}/gpus/{gpu_id}/metrics : the GPU's samples in a
 * window, like /api/v1/gpus/{uuid}/telemetry. */
static int get_cluster_gpu_metrics(struct http_req *req)
{
    struct api_scan_args a;
    struct view_gpu_ref ref;
    struct place p;
    if (api_scan_query(req, 1000, API_SCAN_MAX_LIMIT, &a) < 0 || resolve(req, 3, &p) < 0)
        return 0;
    view_gpu_ref(p.g, &ref);
    fleet_free(&p.f);
    return api_scan_gpus(req, &ref, 1, &a);
}

#define C "/api/v1/clusters/{cluster_id}"
#define H C "/hosts/{host_id}"
#define SERIES_QUERY "start_time end_time window limit offset order metric metric_name"

static const struct http_route cluster_routes[] = {
    {"GET", "/api/v1/clusters", get_clusters, ROUTE_READ, "Clusters with their host and GPU counts",
     "limit offset"},
    {"GET", C, get_cluster, ROUTE_READ, "One cluster", ""},
    {"GET", C "/stats", get_cluster_stats, ROUTE_READ,
     "A cluster's figures from its GPUs' latest samples", ""},
    {"GET", C "/hosts", get_cluster_hosts, ROUTE_READ, "A cluster's hosts", "limit offset"},
    {"GET", H, get_cluster_host, ROUTE_READ, "One host with its GPUs", ""},
    {"GET", H "/gpus", get_cluster_host_gpus, ROUTE_READ, "A host's GPUs", "limit offset"},
    {"GET", H "/gpus/{gpu_id}", get_cluster_gpu, ROUTE_READ,
     "One GPU (index on the host, or uuid) with its latest sample", "metric metric_name"},
    {"GET", H "/gpus/{gpu_id}/metrics", get_cluster_gpu_metrics, ROUTE_READ,
     "A GPU's samples in a time window", SERIES_QUERY},
};

/* Adds the cluster hierarchy's routes. Returns 0 or -1. */
int api_clusters_register(void)
{
    return router_add(cluster_routes, sizeof(cluster_routes) / sizeof(cluster_routes[0]));
}
