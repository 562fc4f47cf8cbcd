/* Routes about the server itself: /metrics (Prometheus text format 0.0.4)
 * and /openapi.json (openapi.c). */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "reactor/tls.h"
#include "proto/session.h"
#include "reactor/reactor.h"
#include "openapi.h"
#include "router.h"
#include "ws.h"

static void help(struct buf *b, const char *name, const char *type, const char *text)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* A label value with \, " and newline escaped. */
static void label(struct buf *b, const char *k, const char *v, int first)
{
    buf_printf(b, "%s%s=\"", first ? "" : ",", k);
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            buf_append_str(b, "\\n");
        else
            buf_append(b, p, 1);
    }
    buf_append_str(b, "\"");
}

static void cluster_metrics(struct buf *b, const struct cluster *cl)
{
    unsigned long by_state[4] = {0};
    struct list_node *pos;
    list_for_each(pos, &cl->worker_list) {
        const struct worker *w = container_of(pos, struct worker, all);
        by_state[w->state == WS_ACTIVE && w->draining ? 3 : w->state]++;
    }
    static const char *const states[] = {"active", "inactive", "offline", "draining"};
    help(b, "gantry_workers", "gauge", "Workers by state.");
    for (int i = 0; i < 4; i++)
        buf_printf(b, "gantry_workers{state=\"%s\"} %lu\n", states[i], by_state[i]);
    help(b, "gantry_heartbeats_total", "counter", "Heartbeats received.");
    buf_printf(b, "gantry_heartbeats_total %llu\n", (unsigned long long)cl->stats.heartbeats);
    help(b, "gantry_tasks", "gauge",
         "Tasks in memory now, by status (finished ones: the last tasks.keep_finished).");
    for (int s = 0; s <= TS_CANCELLED; s++)
        buf_printf(b, "gantry_tasks{status=\"%s\"} %lu\n", task_status_name(s), cl->by_status[s]);
    help(b, "gantry_tasks_finished_total", "counter", "Tasks that ended since start, by status.");
    for (int s = TS_COMPLETED; s <= TS_CANCELLED; s++)
        buf_printf(b, "gantry_tasks_finished_total{status=\"%s\"} %llu\n", task_status_name(s),
                   (unsigned long long)cl->stats.finished[s]);
    help(b, "gantry_tasks_submitted_total", "counter", "Tasks submitted.");
    buf_printf(b, "gantry_tasks_submitted_total %llu\n", (unsigned long long)cl->stats.submitted);
    help(b, "gantry_tasks_requeued_total", "counter", "Tasks requeued after their worker was lost.");
    buf_printf(b, "gantry_tasks_requeued_total %llu\n", (unsigned long long)cl->stats.requeued);
    help(b, "gantry_scheduler_placements_total", "counter", "Tasks placed on workers.");
    buf_printf(b, "gantry_scheduler_placements_total %llu\n", (unsigned long long)cl->stats.placed);
    help(b, "gantry_scheduler_passes_total", "counter", "Scheduler runs.");
    buf_printf(b, "gantry_scheduler_passes_total %llu\n", (unsigned long long)cl->stats.passes);
    help(b, "gantry_scheduler_yields_total", "counter",
         "Scheduler runs cut at scheduler.slice to let the loop serve others.");
    buf_printf(b, "gantry_scheduler_yields_total %llu\n", (unsigned long long)cl->stats.yields);
    help(b, "gantry_scheduler_max_run_seconds", "gauge", "The longest scheduler run so far.");
    buf_printf(b, "gantry_scheduler_max_run_seconds %.6f\n", cl->stats.max_slice);
    help(b, "gantry_scheduler_fragmentation", "gauge",
         "GPU fragmentation of the cluster for its task mix (FGD's measure, milli-GPUs).");
    buf_printf(b, "gantry_scheduler_fragmentation %.3f\n",
               sched_fragmentation((struct sched_cluster *)&cl->sched));
    help(b, "gantry_queue_depth", "gauge", "Tasks waiting in the queue.");
    buf_printf(b, "gantry_queue_depth %lu\n", cl->by_status[TS_QUEUED]);
}

static void worker_metrics(struct buf *b, const struct cluster *cl)
{
    static const char *const names[] = {"gantry_worker_cpu_usage", "gantry_worker_memory_usage",
                                        "gantry_worker_gpu_usage", "gantry_worker_storage_usage"};
    static const char *const helps[] = {"CPU usage of the worker (percent).",
                                        "Memory usage of the worker (percent).",
                                        "Mean GPU utilization of the worker (percent).",
                                        "Storage usage of the worker's work directory (percent)."};
    for (int m = 0; m < 4; m++) {
        help(b, names[m], "gauge", helps[m]);
        struct list_node *pos;
        list_for_each(pos, &cl->worker_list) {
            const struct worker *w = container_of(pos, struct worker, all);
            double v = m == 0 ? w->cpu_usage : m == 1 ? w->memory_usage
                     : m == 2 ? w->gpu_usage : w->storage_usage;
            buf_printf(b, "%s{", names[m]);
            label(b, "worker_id", w->id, 1);
            buf_printf(b, "} %.2f\n", v);
        }
    }
}

/* One gauge per DCGM field, one series per GPU that reported it. */
static void gpu_metrics(struct buf *b, const struct cluster *cl)
{
    for (int m = 0; m < GM_COUNT; m++) {
        char name[64];
        snprintf(name, sizeof(name), "DCGM_FI_DEV_%s", gpu_metric_names[m].dcgm);
        help(b, name, "gauge", gpu_metric_names[m].help);
        struct list_node *pos;
        list_for_each(pos, &cl->worker_list) {
            const struct worker *w = container_of(pos, struct worker, all);
            for (int i = 0; i < w->ngpus; i++) {
                const struct worker_gpu *g = &w->gpus[i];
                if (!gpu_sample_has(&g->last, m))
                    continue;
                char idx[16];
                snprintf(idx, sizeof(idx), "%d", g->info.index);
                buf_printf(b, "%s{", name);
                label(b, "gpu", idx, 1);
                label(b, "UUID", g->info.uuid, 0);
                label(b, "device", g->info.device, 0);
                label(b, "modelName", g->info.model, 0);
                label(b, "Hostname", w->hostname, 0);
                buf_printf(b, "} %.15g\n", g->last.v[m]);
            }
        }
    }
}

/* Requests by route pattern and method, as a latency histogram. */
static void route_metrics(struct buf *b)
{
    const struct http_route_stat *st;
    size_t n = http_route_stats(&st);
    help(b, "gantry_http_request_duration_seconds", "histogram",
         "HTTP requests by route and method: time from arrival to answer (a WebSocket: to its 101).");
    for (size_t i = 0; i < n; i++) {
        char lbl[512];
        struct buf l = {0};
        label(&l, "method", st[i].method, 1);
        label(&l, "route", st[i].route, 0);
        snprintf(lbl, sizeof(lbl), "%.*s", (int)l.len, l.len ? buf_start(&l) : "");
        buf_free(&l);
        for (int k = 0; k < HTTP_LATENCY_BUCKETS; k++)
            buf_printf(b, "gantry_http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n", lbl,
                       http_latency_bounds[k], (unsigned long long)st[i].le[k]);
        buf_printf(b, "gantry_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n", lbl,
                   (unsigned long long)st[i].count);
        buf_printf(b, "gantry_http_request_duration_seconds_sum{%s} %.6f\n", lbl, st[i].sum);
        buf_printf(b, "gantry_http_request_duration_seconds_count{%s} %llu\n", lbl,
                   (unsigned long long)st[i].count);
    }
}

/* Who leads (docs/ha.md): this gantryd's role, and the lease's epoch. */
static void ha_metrics(struct buf *b)
{
    struct store_leader l;
    store_leader(&l);
    help(b, "gantry_leader", "gauge", "1 while this gantryd holds the lease and leads.");
    buf_printf(b, "gantry_leader %d\n", l.known && l.self);
    help(b, "gantry_leader_epoch", "gauge", "The epoch of the lease as last known (0: none).");
    buf_printf(b, "gantry_leader_epoch %lld\n", l.known ? l.epoch : 0LL);
}

/* TLS handshakes on each port that speaks TLS (docs/tls.md). */
static void tls_metrics(struct buf *b)
{
    const struct listener *ls[2] = {api_env->http_ls, api_env->agent_ls};
    const char *port[2] = {"http", "agents"};
    int any = 0;
    for (int i = 0; i < 2; i++) {
        if (!ls[i] || !ls[i]->tls)
            continue;
        if (!any++)
            help(b, "gantry_tls_handshakes_total", "counter",
                 "TLS handshakes by port and outcome: completed, failed (refused or broken), "
                 "timeout, plain (a client that spoke plain text), crowded (dropped past "
                 "tls_max_handshakes).");
        struct tls_stats st;
        tls_side_stats(ls[i]->tls, &st);
        const unsigned long v[5] = {st.handshakes, st.failed, st.timeouts, st.plain, st.crowded};
        const char *what[5] = {"completed", "failed", "timeout", "plain", "crowded"};
        for (int k = 0; k < 5; k++)
            buf_printf(b, "gantry_tls_handshakes_total{port=\"%s\",outcome=\"%s\"} %lu\n",
                       port[i], what[k], v[k]);
    }
}

static void server_metrics(struct buf *b)
{
    struct store_stats st;
    store_stats(&st);
    help(b, "gantry_redis_up", "gauge", "1 while the Redis connection is up.");
    buf_printf(b, "gantry_redis_up %d\n", st.state == STORE_UP);
    help(b, "gantry_redis_backlog_bytes", "gauge", "Writes waiting for Redis.");
    buf_printf(b, "gantry_redis_backlog_bytes %zu\n", st.backlog_bytes);
    help(b, "gantry_redis_telemetry_dropped_total", "counter",
         "Telemetry writes dropped because the backlog was full.");
    buf_printf(b, "gantry_redis_telemetry_dropped_total %lu\n", st.telemetry_dropped);
    help(b, "gantry_redis_logs_dropped_total", "counter",
         "Task log writes dropped because the backlog was full.");
    buf_printf(b, "gantry_redis_logs_dropped_total %lu\n", st.logs_dropped);
    help(b, "gantry_redis_gpu_samples_stale_total", "counter",
         "GPU samples older than their stream's newest, not written.");
    buf_printf(b, "gantry_redis_gpu_samples_stale_total %lu\n", st.gpu_stale);
    help(b, "gantry_redis_errors_total", "counter", "Error replies from Redis.");
    buf_printf(b, "gantry_redis_errors_total %lu\n", st.errors);
    struct http_status_count sc[32];
    int n = http_status_counts(sc, 32);
    help(b, "gantry_http_requests_total", "counter", "HTTP requests answered, by status code.");
    for (int i = 0; i < n; i++)
        buf_printf(b, "gantry_http_requests_total{code=\"%d\"} %lu\n", sc[i].status, sc[i].count);
    route_metrics(b);
    struct session_stats ss;
    session_stats(&ss);
    help(b, "gantry_agent_protocol_errors_total", "counter", "Agent frames refused, by error code.");
    for (int i = 0; session_error_code_name(i); i++)
        buf_printf(b, "gantry_agent_protocol_errors_total{code=\"%s\"} %lu\n",
                   session_error_code_name(i), ss.errors_by_code[i]);
    struct ws_stats ws;
    ws_stats(&ws);
    help(b, "gantry_websocket_clients", "gauge", "WebSocket clients connected.");
    buf_printf(b, "gantry_websocket_clients %lu\n", ws.clients);
    help(b, "gantry_websocket_dropped_total", "counter", "Messages dropped for slow clients.");
    buf_printf(b, "gantry_websocket_dropped_total %lu\n", ws.dropped);
    help(b, "gantry_websocket_lagged_closes_total", "counter",
         "Clients closed (1008) for staying too far behind.");
    buf_printf(b, "gantry_websocket_lagged_closes_total %lu\n", ws.lagged_closes);
    help(b, "gantry_websocket_queued_bytes", "gauge",
         "Bytes waiting to be read by WebSocket clients (ours and the kernel's).");
    buf_printf(b, "gantry_websocket_queued_bytes %zu\n", ws.queued);
    help(b, "gantry_websocket_max_client_queued_bytes", "gauge",
         "The most bytes waiting for any one WebSocket client.");
    buf_printf(b, "gantry_websocket_max_client_queued_bytes %zu\n", ws.max_queued);
    struct reactor_stats rs;
    reactor_stats(&rs);
    help(b, "gantry_loop_turn_seconds", "histogram",
         "Event-loop turns: work done between two polls, while every other client waited.");
    for (int i = 0; i < REACTOR_TURN_BUCKETS; i++)
        buf_printf(b, "gantry_loop_turn_seconds_bucket{le=\"%g\"} %llu\n", reactor_turn_bounds[i],
                   (unsigned long long)rs.turn_le[i]);
    buf_printf(b, "gantry_loop_turn_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)rs.turns);
    buf_printf(b, "gantry_loop_turn_seconds_sum %.6f\n", rs.turn_sum);
    buf_printf(b, "gantry_loop_turn_seconds_count %llu\n", (unsigned long long)rs.turns);
    help(b, "gantry_output_queued_bytes", "gauge",
         "Output queued for every connection together (bounded by http.output_budget).");
    buf_printf(b, "gantry_output_queued_bytes %zu\n", rs.out_bytes);
    help(b, "gantry_output_cuts_total", "counter",
         "Slow readers cut (closed, or not served until they read): at their own bound, "
         "or at the budget across all connections.");
    buf_printf(b, "gantry_output_cuts_total{bound=\"connection\"} %lu\n", rs.cut_conn);
    buf_printf(b, "gantry_output_cuts_total{bound=\"budget\"} %lu\n", rs.cut_budget);
    help(b, "gantry_loop_turn_max_seconds", "gauge", "The longest event-loop turn since start.");
    buf_printf(b, "gantry_loop_turn_max_seconds %.6f\n", rs.turn_max);
    help(b, "gantry_uptime_seconds", "gauge", "Seconds since gantryd started.");
    buf_printf(b, "gantry_uptime_seconds %.3f\n", api_now() - api_env->started);
    ha_metrics(b);
    tls_metrics(b);
}

/* GET /metrics */
static int get_metrics(struct http_req *req)
{
    static struct buf b;
    buf_reset(&b);
    cluster_metrics(&b, api_env->cl);
    worker_metrics(&b, api_env->cl);
    gpu_metrics(&b, api_env->cl);
    server_metrics(&b);
    int rc = http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf_start(&b), b.len);
    buf_shrink(&b, 1 << 20);
    return rc;
}

/* GET /openapi.json: every route the router knows. */
static int get_openapi(struct http_req *req)
{
    size_t len;
    const char *text = openapi_text(0, &len);
    if (!text)
        return http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
    return http_reply(req, 200, "application/json", text, len);
}

static const struct http_route meta_routes[] = {
    {"GET", "/metrics", get_metrics, ROUTE_READ, "Prometheus metrics", ""},
    {"GET", "/openapi.json", get_openapi, ROUTE_PUBLIC, "This API as an OpenAPI 3 document", ""},
};

/* Adds /metrics and /openapi.json. Returns 0 or -1. */
int api_meta_register(void)
{
    return router_add(meta_routes, sizeof(meta_routes) / sizeof(meta_routes[0]));
}
