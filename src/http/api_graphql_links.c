/* Fields that lead from one object to others (Host.gpus, GPU.host,
 * Worker.gpus, Task.worker, ...) or to history in Redis (GPU.telemetry,
 * Worker.metrics, Task.logs): the parent is found again by its id, in the
 * cluster or in this pass's fleet index, and history is asked for with a
 * fetch the driver performs between passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_graphql.h"
#include "views_gpu.h"
#include "views.h"

static const char *parent_str(struct gql_call *c, const char *member)
{
    return json_string_value(json_object_get(gql_call_parent_json(c), member));
}

/* Answers a list of GPUs (their REST JSON). */
enum gql_status api_gql_gpu_list(struct gql_call *c, const struct worker_gpu *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, view_gpu(v[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    return a ? gql_return_json(c, a) : gql_fail(c, "out of memory");
}

/* A worker as GET /api/workers/{id} shows it, less the lists GraphQL
 * resolves on demand (gpus, running tasks). */
json_t *api_gql_worker_view(const struct worker *w)
{
    return view_worker_one(api_env->cl, w);
}

/* Answers the worker called id, or null. */
enum gql_status api_gql_worker_json(struct gql_call *c, const char *id)
{
    const struct worker *w = id ? cluster_worker(api_env->cl, id) : NULL;
    return gql_return_json(c, w ? api_gql_worker_view(w) : NULL);
}

/* Answers the task called id: from memory, else (a task finished long
 * ago, or from before a restart) its record in Redis, fetched; null when
 * neither has it. */
enum gql_status api_gql_task_json(struct gql_call *c, const char *id)
{
    char key[64];
    json_t *v;
    const struct task *t = id ? cluster_task(api_env->cl, id) : NULL;
    if (t)
        return gql_return_json(c, task_to_json(t));
    if (!id || strlen(id) >= TASK_ID_MAX)
        return gql_return_json(c, NULL);
    snprintf(key, sizeof(key), "%s:%s", API_GQL_TASK, id);
    enum gql_status st = gql_fetch(c, key, json_pack("{s:s}", "id", id), &v);
    return st == GQL_OK ? gql_return_json(c, json_incref(v)) : st;
}

/* Asks for a stream range of id: the fetch's key names everything that
 * shapes the answer, so equal fields share one read. */
enum gql_status api_gql_fetch_range(struct gql_call *c, const char *kind, const char *id,
                                    json_t *range)
{
    json_t *v;
    if (!id) {                          /* a parent without its id: nothing to read */
        json_decref(range);
        return gql_return_json(c, NULL);
    }
    if (!range || json_object_set_new(range, "id", json_string(id)) < 0) {
        json_decref(range);
        return gql_fail(c, "out of memory");
    }
    char *text = json_dumps(range, JSON_COMPACT | JSON_SORT_KEYS);
    size_t len = text ? strlen(kind) + strlen(text) + 2 : 0;
    char *key = text ? malloc(len) : NULL;
    if (!key) {
        free(text);
        json_decref(range);
        return gql_fail(c, "out of memory");
    }
    snprintf(key, len, "%s:%s", kind, text);
    enum gql_status st = gql_fetch(c, key, range, &v);
    free(key);
    free(text);
    return st == GQL_OK ? gql_return_json(c, json_incref(v)) : st;
}

/* GPU.telemetry(startTime, endTime, limit, order) */
static enum gql_status gpu_telemetry(struct gql_call *c)
{
    struct api_gql_window w;
    if (api_gql_window(c, API_GQL_MAX_SERIES, &w) != GQL_OK)
        return GQL_ERROR;
    return api_gql_fetch_range(c, API_GQL_GPU_SAMPLES, parent_str(c, "uuid"),
                               api_gql_window_args(&w));
}

static const struct worker_gpu *parent_gpu(struct gql_call *c)
{
    const char *uuid = parent_str(c, "uuid");
    return uuid ? cluster_gpu(api_env->cl, uuid) : NULL;
}

/* GPU.latest, GPU.host and GPU.worker. */
static enum gql_status gpu_link(struct gql_call *c)
{
    const struct worker_gpu *g = parent_gpu(c);
    const char *f = gql_call_field(c);
    if (!g)
        return gql_return_json(c, NULL);
    if (strcmp(f, "latest") == 0)
        return gql_return_json(c, view_gpu_latest(g, 0));
    if (strcmp(f, "worker") == 0)
        return api_gql_worker_json(c, g->w->id);
    const struct fleet *fl = api_gql_fleet(c);
    if (!fl)
        return gql_fail(c, "out of memory");
    const char *name = fleet_worker_cluster(g->w, api_env->cluster_name);
    const struct fleet_cluster *cl = fleet_find_cluster(fl, name);
    const struct fleet_host *h = cl ? fleet_find_host(fl, cl, fleet_hostname(g->w)) : NULL;
    return gql_return_json(c, h ? view_host(h) : NULL);
}

/* Adds GPU's links. */
void api_gql_links_gpu(struct gql_type *t)
{
    gql_type_field(t, "latest", "GPUSample", gpu_link, "Its latest sample, from memory.");
    struct gql_field *f = gql_type_field(t, "telemetry", "[GPUSample!]", gpu_telemetry,
                                         "Its samples from Redis, in time order (GET "
                                         "/api/v1/gpus/{uuid}/telemetry). Costs `limit` points.");
    gql_field_arg(f, "startTime", "String", NULL, "RFC 3339; inclusive.");
    gql_field_arg(f, "endTime", "String", NULL, "RFC 3339; inclusive.");
    gql_field_arg(f, "limit", "Int", "100", "At most this many (1 to 100000).");
    gql_field_arg(f, "order", "Order", "ASC", "DESC with limit N: the latest N.");
    gql_type_field(t, "host", "Host", gpu_link, NULL);
    gql_type_field(t, "worker", "Worker", gpu_link, NULL);
}

/* Host.gpus and Host.cluster; Cluster.hosts and Cluster.gpus. */
static enum gql_status fleet_link(struct gql_call *c)
{
    const struct fleet *fl = api_gql_fleet(c);
    const char *f = gql_call_field(c);
    const char *hostname = parent_str(c, "host_id"), *name = parent_str(c, "cluster_id");
    if (!fl)
        return gql_fail(c, "out of memory");
    const struct fleet_cluster *cl = name ? fleet_find_cluster(fl, name) : NULL;
    const struct fleet_host *h = cl && hostname ? fleet_find_host(fl, cl, hostname) : NULL;
    if (!cl || (hostname && !h))
        return gql_return_json(c, strcmp(f, "cluster") == 0 ? NULL : json_array());
    if (strcmp(f, "cluster") == 0)
        return gql_return_json(c, view_cluster(cl));
    int gpus = strcmp(f, "gpus") == 0;
    size_t first = h ? h->first_gpu : gpus ? cl->first_gpu : cl->first_host;
    struct fleet_page p;
    if (api_gql_page(c, h ? h->ngpus : gpus ? cl->ngpus : cl->nhosts, &p) < 0)
        return GQL_ERROR;
    if (gpus)
        return api_gql_gpu_list(c, fl->gpus + first + p.first, p.count);
    json_t *a = json_array();
    for (size_t i = first + p.first; a && i < first + p.first + p.count; i++)
        json_array_append_new(a, view_host(&fl->hosts[i]));
    return gql_return_json(c, a);
}

/* Adds Host's links. */
void api_gql_links_host(struct gql_type *t)
{
    api_gql_page_args(gql_type_field(t, "gpus", "[GPU!]!", fleet_link, "Its GPUs, by index."));
    gql_type_field(t, "cluster", "Cluster", fleet_link, NULL);
}

/* Adds Cluster's links. */
void api_gql_links_cluster(struct gql_type *t)
{
    api_gql_page_args(gql_type_field(t, "hosts", "[Host!]!", fleet_link,
                                     "Its hosts, by hostname."));
    api_gql_page_args(gql_type_field(t, "gpus", "[GPU!]!", fleet_link,
                                     "Its GPUs, by host and index."));
}
