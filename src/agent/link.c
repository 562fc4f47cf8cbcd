/* The agent's side of the protocol: hello, heartbeats, frames in and out,
 * on the shared client connection (proto/client.c: dialled on the
 * reactor, reconnected with backoff and jitter); frames that matter (logs,
 * task starts) wait in a bounded buffer while the master is away; task
 * pipes wait while the master reads slower than tasks write. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "proto/client.h"
#include "proto/msg.h"

#define MAX_FRAME (4u * 1024 * 1024)
#define MAX_OUTPUT (64u * 1024 * 1024)
/* Output queued for the master past which task pipes wait (back-pressure:
 * a chatty task slows itself, and the agent's memory stays bounded). */
#define CONGESTED (1u * 1024 * 1024)
#define LOG_RATE_DEFAULT (1u << 20)
#define LOG_MAX_DEFAULT (64u << 20)

static struct {
    struct listener grp;
    struct nd_client nc;
} L;

static void heartbeat_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* Sends a frame now if joined. Otherwise, with keep_offline, it waits in
 * the pending buffer (bounded: past it, dropped and counted); without, it
 * is dropped (heartbeats: stale by the time we are back). Takes frame. */
void link_send(json_t *frame, int keep_offline)
{
    if (A.joined) {
        nd_client_send(&L.nc, frame);
        return;
    }
    if (!keep_offline) {
        json_decref(frame);
        return;
    }
    size_t before = A.pending.len;
    if (msg_frame(&A.pending, frame) < 0 || A.pending.len > A.set.buffer_max) {
        A.pending.len = before;
        if (A.dropped++ % 1000 == 0)
            log_warn("master away: output buffer full, dropping frames (%llu so far)",
                     (unsigned long long)A.dropped);
    }
}

/* Returns non-zero while the master has welcomed us. */
int link_joined(void)
{
    return A.joined;
}

/* Returns non-zero while the master reads slower than tasks write: task
 * pipes wait until the output drains (runner_resume_output). */
int link_congested(void)
{
    if (!A.joined || !nd_client_congested(&L.nc, CONGESTED))
        return 0;
    nd_client_want_drain(&L.nc);
    return 1;
}

static json_t *capacity_json(void)
{
    json_t *gpus = json_array();
    for (int i = 0; i < A.ngpus; i++)
        json_array_append_new(gpus, json_pack("{s:i,s:s,s:s,s:s,s:I}", "index", A.gpus[i].index,
                                              "uuid", A.gpus[i].uuid, "model", A.gpus[i].model,
                                              "device", A.gpus[i].device, "memory_mib",
                                              (json_int_t)A.gpus[i].memory_mib));
    return json_pack("{s:f,s:I,s:I,s:o}", "cpu", A.cap.cpu_cores, "memory_mib",
                     (json_int_t)A.cap.memory_mib, "storage_mib",
                     (json_int_t)A.cap.storage_mib, "gpus", gpus);
}

static void send_hello(struct nd_client *nc)
{
    (void)nc;
    json_t *ex = json_array();
    if (A.executors & SCHED_EXEC_PROCESS)
        json_array_append_new(ex, json_string("process"));
    if (A.executors & SCHED_EXEC_DOCKER)
        json_array_append_new(ex, json_string("docker"));
    nd_client_send(&L.nc, json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:o,s:o,s:O?,s:o}", "type", "hello",
                          "version", PROTO_VERSION, "worker_id", A.set.id, "token", A.set.token,
                          "hostname", A.cap.hostname, "agent_version", GANTRY_VERSION,
                          "capacity", capacity_json(), "executors", ex, "labels",
                          A.set.labels, "tasks", runner_hello_tasks()));
}

static json_t *gpu_samples(double *mean, int *have_mean)
{
    struct gpu_sample s[HB_MAX_GPUS];
    int n = gpu_source_latest(A.gpu, s, HB_MAX_GPUS);
    json_t *a = json_array();
    double sum = 0;
    int cnt = 0;
    for (int i = 0; i < n && i < A.ngpus; i++) {
        json_t *g = json_pack("{s:i,s:s}", "index", A.gpus[i].index, "uuid", A.gpus[i].uuid);
        for (int m = 0; m < GM_COUNT; m++)
            if (gpu_sample_has(&s[i], m))
                json_object_set_new(g, gpu_metric_names[m].proto, json_real(s[i].v[m]));
        if (gpu_sample_has(&s[i], GM_UTIL)) {
            sum += s[i].v[GM_UTIL];
            cnt++;
        }
        json_array_append_new(a, g);
    }
    *have_mean = cnt > 0;
    *mean = cnt ? sum / cnt : 0;
    gpu_source_refresh(A.gpu);
    return a;
}

static void send_heartbeat(void)
{
    double cpu = 0, mem = 0, disk = 0, gpu;
    int have_gpu;
    sysinfo_cpu_usage(&A.cpu, "/proc", &cpu);
    sysinfo_memory_usage("/proc", &mem);
    sysinfo_storage_usage(A.set.workdir, &disk);
    json_t *gpus = gpu_samples(&gpu, &have_gpu);
    json_t *hb = json_pack("{s:s,s:I,s:f,s:f,s:f,s:f,s:o,s:o}", "type", "heartbeat", "seq",
                           (json_int_t)++A.seq, "timestamp", time_wall(), "cpu_usage", cpu,
                           "memory_usage", mem, "storage_usage", disk, "gpus", gpus,
                           "tasks", runner_usage());
    if (have_gpu)
        json_object_set_new(hb, "gpu_usage", json_real(gpu));
    link_send(hb, 0);
}

static void heartbeat_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    send_heartbeat();
}

static void on_welcome(json_t *j)
{
    double suggested = json_number_value(json_object_get(j, "heartbeat_interval"));
    json_t *rate = json_object_get(j, "log_rate"), *max = json_object_get(j, "log_max");
    A.log_rate = json_is_integer(rate) && json_integer_value(rate) > 0
                     ? (size_t)json_integer_value(rate) : LOG_RATE_DEFAULT;
    A.log_max = json_is_integer(max) && json_integer_value(max) > 0
                    ? (size_t)json_integer_value(max) : LOG_MAX_DEFAULT;
    A.hb_interval = A.set.interval;
    if (suggested > 0 && suggested < A.hb_interval)
        A.hb_interval = suggested;
    A.joined = 1;
    nd_client_backoff_reset(&L.nc);
    log_info("joined %s as %s (heartbeat every %.3gs, %zu tasks re-adopted)",
             json_string_value(json_object_get(j, "master_id")), A.set.id, A.hb_interval,
             json_array_size(json_object_get(j, "adopted")));
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(j, "cancel"), i, id)
        runner_cancel(json_string_value(id), 0, "cancelled");
    /* What waited while the master was away, then the results not yet
     * acknowledged, in that order: logs come before their task's end. */
    struct buf *out = nd_client_out(&L.nc);
    if (A.pending.len && out) {
        buf_append(out, buf_start(&A.pending), A.pending.len);
        buf_free(&A.pending);
        nd_client_flush_soon(&L.nc);
    }
    runner_resend_results();
    send_heartbeat();
    ev_timer_set(&A.hb, A.hb_interval, A.hb_interval);
    ev_timer_start(A.loop, &A.hb);
}

static void on_frame(struct nd_client *nc, const char *p, size_t n)
{
    (void)nc;
    struct msg_error err;
    json_t *j = msg_parse(p, n, &err);
    if (!j) {
        log_warn("bad frame from the master: %s", err.message);
        return;
    }
    switch (msg_type_of(j)) {
    case MSG_WELCOME:
        on_welcome(j);
        break;
    case MSG_ASSIGN:
        runner_assign(json_object_get(j, "task"));
        break;
    case MSG_CANCEL:
        runner_cancel(json_string_value(json_object_get(j, "task_id")),
                      json_number_value(json_object_get(j, "grace")), "cancelled");
        break;
    case MSG_RESULT_ACK:
        runner_result_acked(json_string_value(json_object_get(j, "task_id")));
        break;
    case MSG_PING:
        nd_client_send(&L.nc, json_pack("{s:s,s:O?}", "type", "pong", "seq",
                                        json_object_get(j, "seq")));
        break;
    case MSG_ERROR:
        log_error("master says %s: %s", json_string_value(json_object_get(j, "code")),
                  json_string_value(json_object_get(j, "message")));
        break;
    default:
        break;
    }
    json_decref(j);
}

static void on_down(struct nd_client *nc, const char *why, int was_up)
{
    (void)nc;
    (void)was_up;
    ev_timer_stop(A.loop, &A.hb);
    if (A.joined && !A.stopping)
        log_warn("lost the master (%s); tasks keep running, reconnecting", why);
    else
        log_debug("connect to %s: %s", A.set.master, why);
    A.joined = 0;
    runner_resume_output();   /* away: frames wait in the pending buffer */
}

static void on_drain(struct nd_client *nc)
{
    (void)nc;
    runner_resume_output();
}

static const struct nd_client_ops link_ops = {
    .on_up = send_hello,
    .on_frame = on_frame,
    .on_down = on_down,
    .on_drain = on_drain,
};

/* Connects to the master now, and keeps reconnecting. */
void link_start(void)
{
    A.log_rate = LOG_RATE_DEFAULT;
    A.log_max = LOG_MAX_DEFAULT;
    ev_init(&A.hb, heartbeat_cb);
    srandom((unsigned)(getpid() ^ (unsigned)time_ms(time_wall())));
    nd_client_group_init(&L.grp, "master", MAX_FRAME, MAX_OUTPUT);
    nd_client_init(&L.nc, &L.grp, A.set.master, &link_ops, NULL);
    nd_client_start(&L.nc, 0);
}

/* Sends bye (a frame listing the tasks stopped or left running; taken),
 * writes what is queued as far as the socket takes it (briefly waiting:
 * the agent is exiting), and closes. */
void link_stop(json_t *bye)
{
    ev_timer_stop(A.loop, &A.hb);
    if (A.joined && nd_client_send(&L.nc, bye) == 0)
        nd_client_flush_wait(&L.nc, 0.1);
    else
        json_decref(bye);
    A.stopping = 1;
    nd_client_stop(&L.nc, 0);
    A.joined = 0;
    buf_free(&A.pending);
}
