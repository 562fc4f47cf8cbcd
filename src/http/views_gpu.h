/* JSON of the GPU telemetry pipelines' objects: clusters, hosts, GPUs and
 * samples, one encoder per object whatever the source (memory, a Redis
 * stream), shared by the REST routes, the WebSocket streams and GraphQL.
 * Every function returns a new reference (NULL only on no memory). */
#ifndef GANTRY_VIEWS_GPU_H
#define GANTRY_VIEWS_GPU_H

#include <jansson.h>

#include "core/fleet.h"
#include "store/reads.h"

/* Who a sample is of: copied out of the worker so that a sample read later
 * from Redis needs no pointer into the cluster. */
struct view_gpu_ref {
    struct gpu_info info;
    char hostname[64];
};

const char *view_gpu_status(const struct worker *w);
void view_gpu_ref(const struct worker_gpu *g, struct view_gpu_ref *ref);
json_t *view_gpu(const struct worker_gpu *g);
json_t *view_gpu_point(const struct view_gpu_ref *ref, double ts, const struct gpu_sample *s,
                       uint16_t mask);
json_t *view_gpu_latest(const struct worker_gpu *g, uint16_t mask);
void view_sample_from_entry(const struct store_entry *e, struct gpu_sample *s);
json_t *view_host(const struct fleet_host *h);
json_t *view_cluster(const struct fleet_cluster *c);
json_t *view_cluster_stats(const struct fleet *f, const struct fleet_cluster *c);

#endif
