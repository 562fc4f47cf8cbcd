/* JSON views of the cluster's objects, as the API and WebSockets show them. */
#ifndef GANTRY_VIEWS_H
#define GANTRY_VIEWS_H

#include <jansson.h>

#include "core/cluster.h"

json_t *view_time(double t);
json_t *view_number(double v);
json_t *view_worker_summary(const struct worker *w);
json_t *view_worker_telemetry(const struct cluster *cl, const struct worker *w);
const char *view_worker_telemetry_text(const struct cluster *cl, struct worker *w, size_t *len);
json_t *view_worker_detail(const struct cluster *cl, const struct worker *w);
json_t *view_worker_gpus(const struct worker *w);
json_t *view_gpu_sample(const struct gpu_sample *s, int api_names);
json_t *view_running_tasks(const struct worker *w);
json_t *view_event(const struct cluster_event *ev);

#endif
