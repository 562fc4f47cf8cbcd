/* Worker and telemetry routes of the cluster API. */
#include <string.h>

#include "api.h"
#include "router.h"
#include "views.h"

static struct worker *find_worker(struct http_req *req)
{
    struct worker *w = cluster_worker(api_env->cl, req->params[0]);
    if (!w)
        http_reply_error(req, 404, "WORKER_NOT_FOUND", "no worker %s", req->params[0]);
    return w;
}

/* GET /workers: worker_id -> summary. */
static int get_workers_map(struct http_req *req)
{
    json_t *m = json_object();
    struct list_node *pos;
    list_for_each(pos, &api_env->cl->worker_list) {
        const struct worker *w = container_of(pos, struct worker, all);
        json_object_set_new(m, w->id, view_worker_summary(w));
    }
    return http_reply_json(req, 200, m);
}

/* GET /telemetry: worker_id -> latest telemetry. */
static int get_telemetry(struct http_req *req)
{
    json_t *m = json_object();
    struct list_node *pos;
    list_for_each(pos, &api_env->cl->worker_list) {
        const struct worker *w = container_of(pos, struct worker, all);
        json_object_set_new(m, w->id, view_worker_telemetry(api_env->cl, w));
    }
    return http_reply_json(req, 200, m);
}

/* GET /telemetry/{worker_id} */
static int get_worker_telemetry(struct http_req *req)
{
    struct worker *w = find_worker(req);
    return w ? http_reply_json(req, 200, view_worker_telemetry(api_env->cl, w)) : 0;
}

static const struct http_route worker_routes[] = {
    {"GET", "/workers", get_workers_map, ROUTE_READ, "Workers by id: state and task count"},
    {"GET", "/telemetry", get_telemetry, ROUTE_READ, "Latest telemetry of every worker"},
    {"GET", "/telemetry/{worker_id}", get_worker_telemetry, ROUTE_READ,
     "Latest telemetry of one worker"},
};

/* Adds the worker routes. Returns 0 or -1. */
int api_workers_register(void)
{
    return router_add(worker_routes, sizeof(worker_routes) / sizeof(worker_routes[0]));
}
