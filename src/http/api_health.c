#include <math.h>

#include "api.h"
#include "core/timefmt.h"
#include "router.h"

static struct api_env *env;

/* Keeps the environment the handlers read. */
void api_init(struct api_env *e)
{
    env = e;
}

/* GET /health: liveness and a summary a load balancer or a person can read. */
static int get_health(struct http_req *req)
{
    char now[40];
    double t = time_wall();
    time_format(t, now, sizeof(now));
    json_t *j = json_pack("{s:s,s:s,s:f,s:s,s:i,s:i,s:I}",
                          "status", "ok", "time", now,
                          "uptime_s", floor((t - env->started) * 1000) / 1000,
                          "redis", "down",
                          "workers", 0, "active_workers", 0,
                          "active_clients", (json_int_t)env->http_ls->nconns);
    return http_reply_json(req, 200, j);
}

static const struct http_route health_routes[] = {
    {"GET", "/health", get_health, ROUTE_PUBLIC, "Liveness and a cluster summary"},
};

/* Adds every API route to the router. Returns 0 or -1. */
int api_register(void)
{
    return router_add(health_routes, sizeof(health_routes) / sizeof(health_routes[0]));
}
