/* GPU, sample, host and cluster JSON for GraphQL (see
 * api_graphql_views.h: to be folded into views_gpu.c). */
#include "api_graphql_views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "views.h"

/* "active", "inactive" or "offline": the state of the GPU's worker. */
const char *api_gql_gpu_status(const struct worker *w)
{
    return w->state == WS_ACTIVE ? "active" : w->state == WS_INACTIVE ? "inactive" : "offline";
}

/* Copies g's identity into ref. */
void api_gql_gpu_ref(const struct worker_gpu *g, struct api_gql_gpu_ref *ref)
{
    ref->info = g->info;
    snprintf(ref->hostname, sizeof(ref->hostname), "%s", fleet_hostname(g->w));
}

/* A GPU as the lists show it: {id, uuid, hostname, name, device, status,
 * memory_mib} (id: its index on the host; name: its model). */
json_t *api_gql_view_gpu(const struct worker_gpu *g)
{
    return json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:I}", "id", g->info.index, "uuid", g->info.uuid,
                     "hostname", fleet_hostname(g->w), "name", g->info.model, "device",
                     g->info.device, "status", api_gql_gpu_status(g->w), "memory_mib",
                     (json_int_t)g->info.memory_mib);
}

/* One sample: {timestamp, gpu_id, uuid, device, model_name, hostname,
 * <metrics it has>}; a metric not reported is left out, never 0. */
json_t *api_gql_view_point(const struct api_gql_gpu_ref *ref, double ts,
                           const struct gpu_sample *s)
{
    json_t *j = json_pack("{s:o,s:i,s:s,s:s,s:s,s:s}", "timestamp", view_time(ts), "gpu_id",
                          ref->info.index, "uuid", ref->info.uuid, "device", ref->info.device,
                          "model_name", ref->info.model, "hostname", ref->hostname);
    if (j)
        json_object_update_new(j, view_gpu_sample(s, 1));
    return j;
}

/* g's latest sample (as api_gql_view_point), or null when it has none. */
json_t *api_gql_view_latest(const struct worker_gpu *g)
{
    if (!g->last.present)
        return json_null();
    struct api_gql_gpu_ref ref;
    api_gql_gpu_ref(g, &ref);
    return api_gql_view_point(&ref, g->last_ts, &g->last);
}

/* Reads a GPU stream entry (DCGM-named fields; its id's milliseconds are
 * the sample time) into s. */
void api_gql_sample_from_entry(const struct store_entry *e, struct gpu_sample *s)
{
    memset(s, 0, sizeof(*s));
    s->ts = e->ms / 1000.0;
    for (size_t k = 0; k < e->nfields; k++) {
        int m = gpu_metric_by_dcgm(e->fields[k].name);
        if (m >= 0)
            gpu_sample_set(s, (enum gpu_metric)m, strtod(e->fields[k].value, NULL));
    }
}

/* A host: {host_id, hostname, cluster_id, worker_id, gpu_count,
 * worker_count, status, last_update}. */
json_t *api_gql_view_host(const struct fleet_host *h)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:i,s:s,s:o}", "host_id", h->hostname, "hostname",
                     h->hostname, "cluster_id", h->cluster, "worker_id", h->worker->id,
                     "gpu_count", (json_int_t)h->ngpus, "worker_count", h->nworkers, "status",
                     api_gql_gpu_status(h->worker), "last_update",
                     view_time(h->worker->last_heartbeat));
}

/* A cluster: {cluster_id, name, host_count, gpu_count}. */
json_t *api_gql_view_cluster(const struct fleet_cluster *c)
{
    return json_pack("{s:s,s:s,s:I,s:I}", "cluster_id", c->name, "name", c->name, "host_count",
                     (json_int_t)c->nhosts, "gpu_count", (json_int_t)c->ngpus);
}
