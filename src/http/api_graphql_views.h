/* JSON of the GPU telemetry pipelines' objects (GPUs, samples, hosts,
 * clusters) as GraphQL reads them, in the shape GET /api/v1/... shows.
 *
 * To fold: the seed-API branch brings the same encoders to views_gpu.h
 * (view_gpu, view_gpu_ref, view_gpu_point, view_gpu_latest,
 * view_sample_from_entry, view_host, view_cluster). Once both are merged,
 * this file goes and its callers use those: each function here has the
 * signature and output of its namesake there. */
#ifndef GANTRY_API_GRAPHQL_VIEWS_H
#define GANTRY_API_GRAPHQL_VIEWS_H

#include <jansson.h>

#include "core/fleet.h"
#include "store/reads.h"

/* Who a sample is of, copied out of the worker. */
struct api_gql_gpu_ref {
    struct gpu_info info;
    char hostname[64];
};

const char *api_gql_gpu_status(const struct worker *w);
void api_gql_gpu_ref(const struct worker_gpu *g, struct api_gql_gpu_ref *ref);
json_t *api_gql_view_gpu(const struct worker_gpu *g);
json_t *api_gql_view_point(const struct api_gql_gpu_ref *ref, double ts,
                           const struct gpu_sample *s);
json_t *api_gql_view_latest(const struct worker_gpu *g);
void api_gql_sample_from_entry(const struct store_entry *e, struct gpu_sample *s);
json_t *api_gql_view_host(const struct fleet_host *h);
json_t *api_gql_view_cluster(const struct fleet_cluster *c);

#endif
