/* Requests answered, by route pattern and method, each with a histogram of
 * the time from the request's arrival to its answer (a WebSocket: to its
 * 101). The labels are route patterns, never paths, so the series stay as
 * few as the routes. */
#include <string.h>

#include "http.h"

#define MAX_STATS 160

const double http_latency_bounds[HTTP_LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5,
};

static struct http_route_stat stats[MAX_STATS];
static size_t nstats;

static struct http_route_stat *slot(const char *route, const char *method)
{
    for (size_t i = 0; i < nstats; i++)
        if (strcmp(stats[i].route, route) == 0 && strcmp(stats[i].method, method) == 0)
            return &stats[i];
    if (nstats == MAX_STATS)
        return NULL;
    stats[nstats] = (struct http_route_stat){.route = route, .method = method};
    return &stats[nstats++];
}

/* Counts req's answer under its route (or "unmatched") and method, with
 * the seconds it took. Called once per answered request. */
void http_stats_observe(const struct http_req *req, double seconds)
{
    struct http_route_stat *s = slot(req->route ? req->route : "unmatched",
                                     req->route && req->method_name ? req->method_name : "-");
    if (!s)
        return;
    s->count++;
    s->sum += seconds > 0 ? seconds : 0;
    for (int b = 0; b < HTTP_LATENCY_BUCKETS; b++)
        s->le[b] += seconds <= http_latency_bounds[b];
}

/* Points *out at the table of routes seen so far; returns its length. */
size_t http_route_stats(const struct http_route_stat **out)
{
    *out = stats;
    return nstats;
}
