/* The API's entry points: its environment, /health, and the registry of
 * every route table. */
#include <math.h>

#include "api.h"
#include "api_graphql.h"
#include "core/timefmt.h"
#include "router.h"
#include "standby.h"
#include "store/store.h"
#include "ui.h"

/* Keeps the environment the handlers read. */
void api_init(struct api_env *e)
{
    api_env = e;
}

static unsigned long count_active(const struct cluster *cl)
{
    unsigned long n = 0;
    struct list_node *pos;
    list_for_each(pos, &cl->worker_list)
        n += container_of(pos, struct worker, all)->state == WS_ACTIVE;
    return n;
}

/* GET /health: liveness and a summary a load balancer or a person can read. */
static int get_health(struct http_req *req)
{
    double t = time_wall();
    const struct cluster *cl = api_env->cl;
    struct store_stats st;
    store_stats(&st);
    json_t *j = json_pack("{s:s,s:I,s:f,s:s,s:I,s:I,s:I,s:I,s:I,s:{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}}",
                          "status", st.state == STORE_UP ? "healthy" : "degraded",
                          "time", (json_int_t)floor(t),
                          "uptime_s", floor((t - api_env->started) * 1000) / 1000,
                          "redis", store_reachable() ? "up" : "down",
                          "workers", (json_int_t)cl->nworkers,
                          "active_workers", (json_int_t)count_active(cl),
                          "active_clients", (json_int_t)api_env->http_ls->nconns,
                          "queued_tasks", (json_int_t)cl->by_status[TS_QUEUED],
                          "running_tasks", (json_int_t)(cl->by_status[TS_RUNNING] +
                                                        cl->by_status[TS_ASSIGNED]),
                          "store", "state", store_state_name(),
                          "backlog_bytes", (json_int_t)st.backlog_bytes,
                          "task_state_bytes", (json_int_t)st.state_bytes,
                          "telemetry_dropped", (json_int_t)st.telemetry_dropped,
                          "logs_dropped", (json_int_t)st.logs_dropped,
                          "gpu_samples_stale", (json_int_t)st.gpu_stale,
                          "errors", (json_int_t)st.errors,
                          "reconnects", (json_int_t)st.reconnects);
    standby_health(j);
    return http_reply_json(req, 200, j);
}

static const struct http_route health_routes[] = {
    {"GET", "/health", get_health, ROUTE_PUBLIC, "Liveness and a cluster summary", ""},
};

/* Adds every API route to the router. Returns 0 or -1. */
int api_register(void)
{
    if (router_add(health_routes, sizeof(health_routes) / sizeof(health_routes[0])) < 0 ||
        api_workers_register() < 0 || api_tasks_register() < 0 || api_history_register() < 0 ||
        api_gpus_register() < 0 || api_clusters_register() < 0 ||
        api_meta_register() < 0 || ui_register() < 0 || swagger_register() < 0 ||
        api_graphql_register() < 0)
        return -1;
    return 0;
}
