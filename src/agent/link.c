/* The agent's connection to the master: connect without blocking, hello,
 * heartbeats, frames in and out; reconnect with exponential backoff and
 * jitter; frames that matter (logs, task starts) wait in a bounded buffer
 * while the master is away. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/timefmt.h"
#include "proto/msg.h"

#define BACKOFF_MIN 0.2
#define BACKOFF_MAX 10.0
#define MAX_FRAME (4u * 1024 * 1024)

static void schedule_retry(void);
static void heartbeat_cb(struct ev_loop *loop, ev_timer *w, int revents);

static void disconnect(const char *why)
{
    if (A.fd < 0)
        return;
    if (A.joined && !A.stopping)
        log_warn("lost the master (%s); tasks keep running, reconnecting", why);
    ev_io_stop(A.loop, &A.rio);
    ev_io_stop(A.loop, &A.wio);
    ev_timer_stop(A.loop, &A.hb);
    close(A.fd);
    A.fd = -1;
    A.joined = 0;
    A.connecting = 0;
    buf_free(&A.in);
    buf_free(&A.out);
    if (!A.stopping)
        schedule_retry();
}

static void flush_out(void)
{
    while (A.out.len) {
        ssize_t n = write(A.fd, buf_start(&A.out), A.out.len);
        if (n > 0) {
            buf_consume(&A.out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_io_start(A.loop, &A.wio);
            return;
        }
        disconnect(strerror(errno));
        return;
    }
    ev_io_stop(A.loop, &A.wio);
    buf_shrink(&A.out, 64 * 1024);
}

static void write_frame(json_t *frame)
{
    if (msg_frame(&A.out, frame) == 0)
        flush_out();
}

/* Sends a frame now if joined. Otherwise, with keep_offline, it waits in
 * the pending buffer (bounded: past it, dropped and counted); without, it
 * is dropped (heartbeats: stale by the time we are back). Takes frame. */
void link_send(json_t *frame, int keep_offline)
{
    if (A.joined) {
        write_frame(frame);
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

static void send_hello(void)
{
    json_t *ex = json_array();
    if (A.executors & SCHED_EXEC_PROCESS)
        json_array_append_new(ex, json_string("process"));
    if (A.executors & SCHED_EXEC_DOCKER)
        json_array_append_new(ex, json_string("docker"));
    write_frame(json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:o,s:o,s:O?,s:o}", "type", "hello",
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
    A.hb_interval = A.set.interval;
    if (suggested > 0 && suggested < A.hb_interval)
        A.hb_interval = suggested;
    A.joined = 1;
    masters_joined(&A.cursor);
    log_info("joined %s as %s (heartbeat every %.3gs, %zu tasks re-adopted)",
             json_string_value(json_object_get(j, "master_id")), A.set.id, A.hb_interval,
             json_array_size(json_object_get(j, "adopted")));
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(j, "cancel"), i, id)
        runner_cancel(json_string_value(id), 0, "cancelled");
    /* What waited while the master was away, then the results not yet
     * acknowledged, in that order: logs come before their task's end. */
    if (A.pending.len) {
        buf_append(&A.out, buf_start(&A.pending), A.pending.len);
        buf_free(&A.pending);
    }
    runner_resend_results();
    flush_out();
    send_heartbeat();
    ev_timer_set(&A.hb, A.hb_interval, A.hb_interval);
    ev_timer_start(A.loop, &A.hb);
}

static void on_frame(const char *p, size_t n)
{
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
        write_frame(json_pack("{s:s,s:O?}", "type", "pong", "seq", json_object_get(j, "seq")));
        break;
    case MSG_ERROR:
        if (!masters_on_error(&A.masters, &A.cursor, json_string_value(json_object_get(j, "code")),
                              json_string_value(json_object_get(j, "leader")),
                              (double)random() / RAND_MAX))
            log_error("master says %s: %s", json_string_value(json_object_get(j, "code")),
                      json_string_value(json_object_get(j, "message")));
        break;
    default:
        break;
    }
    json_decref(j);
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    if (buf_reserve(&A.in, 64 * 1024) < 0) {
        disconnect("out of memory");
        return;
    }
    ssize_t n = read(A.fd, buf_end(&A.in), A.in.cap - A.in.off - A.in.len);
    if (n == 0) {
        disconnect("the master closed the connection");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            disconnect(strerror(errno));
        return;
    }
    A.in.len += (size_t)n;
    char *nl;
    while (A.fd >= 0 && (nl = memchr(buf_start(&A.in), '\n', A.in.len))) {
        size_t len = (size_t)(nl - buf_start(&A.in));
        on_frame(buf_start(&A.in), len);
        if (A.fd >= 0)
            buf_consume(&A.in, len + 1);
    }
    if (A.fd >= 0 && A.in.len > MAX_FRAME)
        disconnect("frame too long");
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    if (A.connecting) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(A.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            log_debug("connect to %s: %s", masters_pick(&A.masters, &A.cursor)->text,
                      strerror(err));
            disconnect(strerror(err));
            return;
        }
        A.connecting = 0;
        ev_io_stop(A.loop, &A.wio);
        ev_io_start(A.loop, &A.rio);
        send_hello();
        return;
    }
    flush_out();
}

static int open_socket(void)
{
    const struct masters_addr *to = masters_pick(&A.masters, &A.cursor);
    int fd = socket(to->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (const struct sockaddr *)&to->sa, to->len) < 0 &&
        errno != EINPROGRESS) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    A.fd = open_socket();
    if (A.fd < 0) {
        schedule_retry();
        return;
    }
    A.connects++;
    A.connecting = 1;
    ev_io_set(&A.rio, A.fd, EV_READ);
    ev_io_set(&A.wio, A.fd, EV_WRITE);
    ev_io_start(A.loop, &A.wio);
}

/* The next master of the list (or the leader a standby named), with
 * exponential backoff and jitter between rounds: the wait grows 0.2 s,
 * 0.4 s, ... up to 10 s (0.5 s in a group), each drawn between half and all
 * of it, so many agents do not come back in lockstep (proto/masters.c). */
static void schedule_retry(void)
{
    double wait = masters_failed(&A.masters, &A.cursor, (double)random() / RAND_MAX);
    ev_timer_set(&A.retry, wait, 0.);
    ev_timer_start(A.loop, &A.retry);
}

/* Connects to the master now, and keeps reconnecting. */
void link_start(void)
{
    A.fd = -1;
    masters_cursor_init(&A.cursor, BACKOFF_MIN, BACKOFF_MAX);
    ev_init(&A.rio, read_cb);
    ev_init(&A.wio, write_cb);
    ev_init(&A.retry, retry_cb);
    ev_init(&A.hb, heartbeat_cb);
    srandom((unsigned)(getpid() ^ (unsigned)time_ms(time_wall())));
    ev_timer_set(&A.retry, 0., 0.);
    ev_timer_start(A.loop, &A.retry);
}

/* Sends bye (a frame listing the tasks stopped or left running; taken),
 * writes what is queued as far as the socket takes it (briefly waiting:
 * the agent is exiting), and closes. */
void link_stop(json_t *bye)
{
    ev_timer_stop(A.loop, &A.retry);
    ev_timer_stop(A.loop, &A.hb);
    if (A.fd >= 0 && A.joined) {
        write_frame(bye);
        bye = NULL;
        for (int i = 0; i < 100 && A.out.len && A.fd >= 0; i++) {
            ssize_t n = write(A.fd, buf_start(&A.out), A.out.len);
            if (n > 0)
                buf_consume(&A.out, (size_t)n);
            else
                usleep(1000);
        }
    }
    json_decref(bye);
    A.stopping = 1;
    disconnect("stopping");
    buf_free(&A.pending);
}
