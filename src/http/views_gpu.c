/* Encoders of the GPU telemetry pipelines' objects (see views_gpu.h). */
#include "views_gpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "views.h"

/* "active", "inactive" or "offline": the state of the GPU's worker. */
const char *view_gpu_status(const struct worker *w)
{
    return w->state == WS_ACTIVE ? "active" : w->state == WS_INACTIVE ? "inactive" : "offline";
}

/* Copies g's identity into ref. */
void view_gpu_ref(const struct worker_gpu *g, struct view_gpu_ref *ref)
{
    ref->info = g->info;
    snprintf(ref->hostname, sizeof(ref->hostname), "%s", fleet_hostname(g->w));
}

/* A GPU as the lists show it: {id, uuid, hostname, name, device, status,
 * memory_mib} (id: its index on the host; name: its model). */
json_t *view_gpu(const struct worker_gpu *g)
{
    return json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:I}", "id", g->info.index, "uuid", g->info.uuid,
                     "hostname", fleet_hostname(g->w), "name", g->info.model, "device",
                     g->info.device, "status", view_gpu_status(g->w), "memory_mib",
                     (json_int_t)g->info.memory_mib);
}

/* One sample: {timestamp, gpu_id, uuid, device, model_name, hostname,
 * <metrics>}, with only the metrics the sample has and mask keeps (0: all);
 * a metric not reported is left out, never 0. */
json_t *view_gpu_point(const struct view_gpu_ref *ref, double ts, const struct gpu_sample *s,
                       uint16_t mask)
{
    struct gpu_sample only = *s;
    if (mask)
        only.present &= mask;
    json_t *j = json_pack("{s:o,s:i,s:s,s:s,s:s,s:s}", "timestamp", view_time(ts), "gpu_id",
                          ref->info.index, "uuid", ref->info.uuid, "device", ref->info.device,
                          "model_name", ref->info.model, "hostname", ref->hostname);
    json_object_update_new(j, view_gpu_sample(&only, 1));
    return j;
}

/* g's latest sample (as view_gpu_point), or null when it has none. */
json_t *view_gpu_latest(const struct worker_gpu *g, uint16_t mask)
{
    if (!g->last.present)
        return json_null();
    struct view_gpu_ref ref;
    view_gpu_ref(g, &ref);
    return view_gpu_point(&ref, g->last_ts, &g->last, mask);
}

/* Reads a gantry:gpu:<uuid> entry (DCGM-named fields; its id's
 * milliseconds are the sample time) into s. */
void view_sample_from_entry(const struct store_entry *e, struct gpu_sample *s)
{
    memset(s, 0, sizeof(*s));
    s->ts = e->ms / 1000.0;
    for (size_t k = 0; k < e->nfields; k++) {
        int m = gpu_metric_by_dcgm(e->fields[k].name);
        if (m >= 0)
            gpu_sample_set(s, (enum gpu_metric)m, strtod(e->fields[k].value, NULL));
    }
}

/* A host: {host_id, hostname, cluster_id, worker_id, gpu_count, status,
 * last_update}. */
json_t *view_host(const struct fleet_host *h)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:i,s:s,s:o}", "host_id", h->hostname, "hostname",
                     h->hostname, "cluster_id", h->cluster, "worker_id", h->worker->id,
                     "gpu_count", (json_int_t)h->ngpus, "worker_count", h->nworkers, "status",
                     view_gpu_status(h->worker), "last_update",
                     view_time(h->worker->last_heartbeat));
}

/* A cluster: {cluster_id, name, host_count, gpu_count}. */
json_t *view_cluster(const struct fleet_cluster *c)
{
    return json_pack("{s:s,s:s,s:I,s:I}", "cluster_id", c->name, "name", c->name, "host_count",
                     (json_int_t)c->nhosts, "gpu_count", (json_int_t)c->ngpus);
}

struct sums {
    double v[GM_COUNT], max[GM_COUNT];
    long n[GM_COUNT];
};

static json_t *mean(const struct sums *s, enum gpu_metric m)
{
    return s->n[m] ? view_number(round(s->v[m] / s->n[m] * 100) / 100) : json_null();
}

static json_t *total(const struct sums *s, enum gpu_metric m)
{
    return s->n[m] ? view_number(round(s->v[m] * 100) / 100) : json_null();
}

/* A cluster's figures from its GPUs' latest samples: counts, models, and
 * means (utilizations, temperature) or sums (memory, power) of the GPUs
 * that reported each metric. */
json_t *view_cluster_stats(const struct fleet *f, const struct fleet_cluster *c)
{
    struct sums s;
    long active = 0, sampled = 0, hosts_active = 0;
    json_t *models = json_object();
    memset(&s, 0, sizeof(s));
    for (size_t i = c->first_host; i < c->first_host + c->nhosts; i++)
        hosts_active += f->hosts[i].worker->state == WS_ACTIVE;
    for (size_t i = c->first_gpu; i < c->first_gpu + c->ngpus; i++) {
        const struct worker_gpu *g = f->gpus[i];
        json_t *n = json_object_get(models, g->info.model);
        json_object_set_new(models, g->info.model, json_integer(n ? json_integer_value(n) + 1 : 1));
        active += g->w->state == WS_ACTIVE;
        sampled += g->last.present != 0;
        for (int m = 0; m < GM_COUNT; m++) {
            if (!gpu_sample_has(&g->last, m))
                continue;
            s.v[m] += g->last.v[m];
            s.max[m] = s.n[m]++ ? fmax(s.max[m], g->last.v[m]) : g->last.v[m];
        }
    }
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "cluster_id",
                     c->name, "host_count", (json_int_t)c->nhosts, "active_host_count",
                     (json_int_t)hosts_active, "gpu_count", (json_int_t)c->ngpus,
                     "active_gpu_count", (json_int_t)active, "sampled_gpu_count",
                     (json_int_t)sampled, "gpu_models", models, "avg_gpu_utilization",
                     mean(&s, GM_UTIL), "avg_memory_utilization", mean(&s, GM_MEM_UTIL),
                     "memory_used_mb", total(&s, GM_MEM_USED), "memory_free_mb",
                     total(&s, GM_MEM_FREE), "avg_temperature", mean(&s, GM_TEMP),
                     "max_temperature", s.n[GM_TEMP] ? view_number(s.max[GM_TEMP]) : json_null(),
                     "total_power_draw", total(&s, GM_POWER));
}
