/* JSON views of the cluster's objects, as the API and WebSockets show them. */
#ifndef GANTRY_VIEWS_H
#define GANTRY_VIEWS_H

#include <jansson.h>

#include "core/cluster.h"
#include "store/reads.h"

/* How a view writes the time of a worker's last update: RFC 3339 (Gantry's
 * own routes and /ws topics) or whole Unix seconds (the master/worker
 * system's /workers, /telemetry and /ws/telemetry). */
enum view_clock { VIEW_RFC3339, VIEW_UNIX };

json_t *view_time(double t);
json_t *view_clock_time(double t, enum view_clock clock);
json_t *view_number(double v);
json_t *view_worker_summary(const struct worker *w);
json_t *view_worker_telemetry(const struct cluster *cl, const struct worker *w,
                              enum view_clock clock);
const char *view_worker_telemetry_text(const struct cluster *cl, struct worker *w, size_t *len);
json_t *view_worker_detail(const struct cluster *cl, const struct worker *w);
json_t *view_worker_one(const struct cluster *cl, const struct worker *w);
json_t *view_worker_gpus(const struct worker *w);
json_t *view_gpu_sample(const struct gpu_sample *s, int api_names);
json_t *view_running_tasks(const struct worker *w);
json_t *view_event(const struct cluster_event *ev);
json_t *view_event_entry(const struct store_entry *e);
json_t *view_log_entry(const struct store_entry *e);
json_t *view_heartbeat_entry(const struct store_entry *e);

#endif
