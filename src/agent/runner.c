/* The agent's tasks: the process executor (fork/execve in its own process
 * group, output streamed as log frames) and the docker executor (the same,
 * around `docker run`); cancel with SIGTERM then SIGKILL after a grace;
 * timeouts; results kept until the master acknowledges them. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "core/utf8.h"

#define READ_CHUNK (16 * 1024)
#define DRAIN_AFTER_EXIT 1.0
#define MAX_ARGS 4096

static void finish(struct agent_task *t);

/* Prepares the empty task table. */
static int id_match(const struct dict_node *n, const void *key, size_t len)
{
    const struct agent_task *t = container_of(n, struct agent_task, by_id);
    return strlen(t->id) == len && memcmp(t->id, key, len) == 0;
}

void runner_init(void)
{
    list_init(&A.tasks);
    dict_init(&A.task_ids, id_match);
}

static struct agent_task *find(const char *id)
{
    struct dict_node *n = id ? dict_find(&A.task_ids, id, strlen(id)) : NULL;
    return n ? container_of(n, struct agent_task, by_id) : NULL;
}

static void atask_free(struct agent_task *t)
{
    ev_timer_stop(A.loop, &t->timeout);
    ev_timer_stop(A.loop, &t->kill_timer);
    ev_io_stop(A.loop, &t->out_io);
    ev_io_stop(A.loop, &t->err_io);
    ev_child_stop(A.loop, &t->child);
    if (t->out_fd >= 0)
        close(t->out_fd);
    if (t->err_fd >= 0)
        close(t->err_fd);
    list_unlink(&t->link);
    dict_remove(&A.task_ids, &t->by_id);
    A.ntasks--;
    json_decref(t->record);
    free(t);
}

static void send_log_text(struct agent_task *t, int stream, const char *p, size_t n)
{
    /* Carry an incomplete UTF-8 sequence over to the next read. */
    char joined[READ_CHUNK + 4];
    size_t len = t->ncarry[stream];
    memcpy(joined, t->carry[stream], len);
    memcpy(joined + len, p, n);
    len += n;
    size_t incomplete;
    utf8_valid_prefix(joined, len, &incomplete);
    if (incomplete > 3)
        incomplete = 0;
    t->ncarry[stream] = incomplete;
    memcpy(t->carry[stream], joined + len - incomplete, incomplete);
    len -= incomplete;
    if (len == 0)
        return;
    struct buf clean = BUF_INIT;
    if (utf8_sanitize(joined, len, &clean) == 0)
        link_send(json_pack("{s:s,s:s,s:i,s:s,s:s%,s:f}", "type", "log", "task_id", t->id,
                            "attempt", t->attempt, "stream", stream ? "stderr" : "stdout",
                            "data", buf_start(&clean), clean.len, "ts", time_wall()),
                  1);
    buf_free(&clean);
}

/* Output of the task within the master's limits; what is over them is
 * dropped here (not sent), and a marker line says so. */
static void send_log(struct agent_task *t, int stream, const char *p, size_t n)
{
    size_t keep = log_limit_admit(&t->limit, A.log_rate, A.log_max, n, ev_now(A.loop));
    if (keep)
        send_log_text(t, stream, p, keep);
    char line[200];
    int m = log_limit_marker(&t->limit, A.log_rate, A.log_max, 0, line, sizeof(line));
    if (m > 0)
        send_log_text(t, 1, line, (size_t)m);
}

static void maybe_finish(struct agent_task *t)
{
    if (t->exited && t->out_fd < 0 && t->err_fd < 0)
        finish(t);
}

static void close_stream(struct agent_task *t, int stream)
{
    int *fd = stream ? &t->err_fd : &t->out_fd;
    ev_io_stop(A.loop, stream ? &t->err_io : &t->out_io);
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void pipe_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct agent_task *t = w->data;
    int stream = w == &t->err_io;
    if (link_congested()) {
        /* The master reads slower than the task writes: the pipe fills
         * and the task waits on it, until the link drains. */
        ev_io_stop(A.loop, &t->out_io);
        ev_io_stop(A.loop, &t->err_io);
        t->held = 1;
        return;
    }
    char data[READ_CHUNK];
    ssize_t n = read(w->fd, data, sizeof(data));
    if (n > 0) {
        send_log(t, stream, data, (size_t)n);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    close_stream(t, stream);
    maybe_finish(t);
}

/* The main process has exited; output may still be draining. */
static void drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct agent_task *t = w->data;
    close_stream(t, 0);
    close_stream(t, 1);
    maybe_finish(t);
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    (void)revents;
    struct agent_task *t = w->data;
    ev_child_stop(loop, w);
    t->exited = 1;
    t->wait_status = w->rstatus;
    ev_timer_stop(loop, &t->timeout);
    ev_timer_stop(loop, &t->kill_timer);
    /* What the task left running in its process group does not outlive it
     * (its main process is gone: a clean-up it meant to do is done). */
    if (!t->docker)
        kill(-t->pid, SIGKILL);
    /* Children of the task may hold its pipes open: wait a little only. */
    ev_timer_init(&t->timeout, drain_cb, DRAIN_AFTER_EXIT, 0.);
    t->timeout.data = t;
    ev_timer_start(loop, &t->timeout);
    maybe_finish(t);
}

static void decide_result(struct agent_task *t)
{
    int st = t->wait_status;
    t->has_exit = 1;
    if (WIFEXITED(st)) {
        t->exit_code = WEXITSTATUS(st);
        t->result = t->exit_code == 0 ? TS_COMPLETED : TS_FAILED;
    } else {
        int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
        t->exit_code = 128 + sig;
        t->result = TS_FAILED;
        snprintf(t->reason, sizeof(t->reason), "killed by signal %d (%s)", sig, strsignal(sig));
    }
    if (t->timed_out) {
        t->result = TS_FAILED;
        snprintf(t->reason, sizeof(t->reason), "timeout after %gs",
                 json_number_value(json_object_get(t->record, "timeout")));
    } else if (t->cancel_requested) {
        t->result = TS_CANCELLED;
        snprintf(t->reason, sizeof(t->reason), "cancelled");
    }
}

static void send_result(struct agent_task *t)
{
    json_t *f = json_pack("{s:s,s:s,s:i,s:s,s:f}", "type", "task_finished", "task_id", t->id,
                          "attempt", t->attempt, "status", task_status_name(t->result),
                          "finished_at", time_wall());
    if (t->has_exit)
        json_object_set_new(f, "exit_code", json_integer(t->exit_code));
    if (t->reason[0])
        json_object_set_new(f, "reason", json_string(t->reason));
    if (t->limit.cut)
        json_object_set_new(f, "log_dropped_bytes", json_integer((json_int_t)t->limit.cut));
    link_send(f, 0);
}

static void finish(struct agent_task *t)
{
    ev_timer_stop(A.loop, &t->timeout);
    ev_timer_stop(A.loop, &t->kill_timer);
    if (t->shutdown) {
        atask_free(t);
        return;
    }
    char line[200];
    int m = log_limit_marker(&t->limit, A.log_rate, A.log_max, 1, line, sizeof(line));
    if (m > 0)
        send_log_text(t, 1, line, (size_t)m);
    decide_result(t);
    t->finished = 1;
    log_info("task %s %s (exit %d%s%s)", t->id, task_status_name(t->result), t->exit_code,
             t->reason[0] ? ", " : "", t->reason);
    send_result(t);
}

/* The grace is over: SIGKILL to the whole group, whatever its first
 * process did meanwhile (children that ignore SIGTERM go too). */
static void kill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct agent_task *t = w->data;
    if (t->pid > 0)
        kill(-t->pid, SIGKILL);
}

/* Stops t: SIGTERM to its process group (or `docker stop`), SIGKILL after
 * grace seconds. */
static void stop_task(struct agent_task *t, double grace)
{
    if (t->exited)
        return;
    if (t->docker) {
        char name[64], secs[16];
        snprintf(name, sizeof(name), "gantry-%s", t->id);
        snprintf(secs, sizeof(secs), "%d", (int)ceil(grace));
        pid_t p = fork();
        if (p == 0) {
            int null = open("/dev/null", O_RDWR);
            dup2(null, 1);
            dup2(null, 2);
            execlp(A.set.docker, A.set.docker, "stop", "-t", secs, name, (char *)NULL);
            _exit(127);
        }
        grace += 5; /* docker stop has the grace; SIGKILL the client later */
    } else {
        kill(-t->pid, grace > 0 ? SIGTERM : SIGKILL);
    }
    ev_timer_stop(A.loop, &t->kill_timer);
    ev_timer_set(&t->kill_timer, grace > 0 ? grace : 0.001, 0.);
    ev_timer_start(A.loop, &t->kill_timer);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct agent_task *t = w->data;
    t->timed_out = 1;
    log_info("task %s: timeout, stopping it", t->id);
    stop_task(t, 10);
}

/* Cancels task id: it ends as cancelled (reason), killed after grace. */
void runner_cancel(const char *id, double grace, const char *reason)
{
    struct agent_task *t = find(id);
    (void)reason;
    if (!t || t->finished || t->cancel_requested)
        return;
    t->cancel_requested = 1;
    log_info("task %s: cancel (grace %gs)", t->id, grace);
    stop_task(t, grace);
}

static void fail_at_once(struct agent_task *t, int exit_code, const char *why)
{
    t->exited = 1;
    t->finished = 1;
    t->result = TS_FAILED;
    t->has_exit = 1;
    t->exit_code = exit_code;
    snprintf(t->reason, sizeof(t->reason), "%.*s", (int)sizeof(t->reason) - 1, why);
    log_warn("task %s failed: %s", t->id, why);
    send_result(t);
}

static struct agent_task *task_new(const char *id, json_t *record)
{
    struct agent_task *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    snprintf(t->id, sizeof(t->id), "%s", id);
    if (dict_insert(&A.task_ids, &t->by_id, t->id, strlen(t->id)) < 0) {
        free(t);
        return NULL;
    }
    t->record = json_incref(record);
    json_t *attempts = json_object_get(record, "attempts");
    t->attempt = json_is_integer(attempts) ? (int)json_integer_value(attempts) : -1;
    t->out_fd = t->err_fd = -1;
    ev_io_init(&t->out_io, pipe_cb, 0, EV_READ);
    ev_io_init(&t->err_io, pipe_cb, 0, EV_READ);
    ev_init(&t->timeout, timeout_cb);
    ev_init(&t->kill_timer, kill_cb);
    t->out_io.data = t->err_io.data = t->timeout.data = t->kill_timer.data = t->child.data = t;
    list_insert_tail(&A.tasks, &t->link);
    A.ntasks++;
    return t;
}

/* The master assigned a task: start it (a repeated assign is ignored). */
void runner_assign(json_t *task)
{
    const char *id = json_string_value(json_object_get(task, "task_id"));
    if (!id || strlen(id) >= TASK_ID_MAX || find(id) || A.stopping)
        return;
    struct agent_task *t = task_new(id, task);
    if (!t)
        return;
    json_t *image = json_object_get(task, "docker_image");
    t->docker = json_is_string(image);
    if (t->docker && !(A.executors & SCHED_EXEC_DOCKER)) {
        fail_at_once(t, 127, "the docker executor is not available here");
        return;
    }
    char why[300];
    if (runner_launch(t, why, sizeof(why)) < 0) {
        char line[320];
        int n = snprintf(line, sizeof(line), "gantry-agent: %s\n", why);
        send_log(t, 1, line, n > 0 && (size_t)n < sizeof(line) ? (size_t)n : 0);
        fail_at_once(t, 127, why);
        return;
    }
    t->started = time_wall();
    /* The record a later hello carries says it runs, and since when. */
    char when[40];
    time_format(t->started, when, sizeof(when));
    json_object_set_new(t->record, "status", json_string("running"));
    json_object_set_new(t->record, "started_at", json_string(when));
    ev_io_set(&t->out_io, t->out_fd, EV_READ);
    ev_io_set(&t->err_io, t->err_fd, EV_READ);
    ev_io_start(A.loop, &t->out_io);
    ev_io_start(A.loop, &t->err_io);
    ev_child_init(&t->child, child_cb, t->pid, 0);
    t->child.data = t;
    ev_child_start(A.loop, &t->child);
    double timeout = json_number_value(json_object_get(task, "timeout"));
    if (timeout > 0) {
        ev_timer_set(&t->timeout, timeout, 0.);
        ev_timer_start(A.loop, &t->timeout);
    }
    log_info("task %s started (pid %d, %s)", t->id, (int)t->pid, t->docker ? "docker" : "process");
    link_send(json_pack("{s:s,s:s,s:i,s:i,s:f}", "type", "task_started", "task_id", t->id,
                        "attempt", t->attempt, "pid", (int)t->pid, "ts", t->started),
              1);
}

/* The master has the result of id: forget the task. */
void runner_result_acked(const char *id)
{
    struct agent_task *t = find(id);
    if (t && t->finished)
        atask_free(t);
}

/* Sends the results the master has not acknowledged (after a welcome). */
void runner_resend_results(void)
{
    struct list_node *pos;
    list_for_each(pos, &A.tasks) {
        struct agent_task *t = container_of(pos, struct agent_task, link);
        if (t->finished)
            send_result(t);
    }
}

/* The hello's task list: running tasks and unacknowledged results, each
 * with its full record so a master that lost it can take it back. */
json_t *runner_hello_tasks(void)
{
    json_t *a = json_array();
    struct list_node *pos;
    list_for_each(pos, &A.tasks) {
        struct agent_task *t = container_of(pos, struct agent_task, link);
        if (t->shutdown)
            continue;
        json_array_append_new(a, json_pack("{s:s,s:i,s:s,s:O}", "task_id", t->id, "attempt",
                                           t->attempt, "state",
                                           t->finished ? "finished" : "running", "task",
                                           t->record));
    }
    return a;
}

/* Running tasks with their CPU % and resident memory, for heartbeats. */
json_t *runner_usage(void)
{
    json_t *a = json_array();
    struct list_node *pos;
    list_for_each(pos, &A.tasks) {
        struct agent_task *t = container_of(pos, struct agent_task, link);
        double cpu = 0;
        int64_t rss = 0;
        if (t->exited || sysinfo_proc_usage(&t->meter, "/proc", t->pid, &cpu, &rss) < 0)
            continue;
        json_array_append_new(a, json_pack("{s:s,s:i,s:f,s:I}", "task_id", t->id, "attempt",
                                           t->attempt, "cpu_usage", cpu, "memory_mib",
                                           (json_int_t)rss));
    }
    return a;
}

/* Returns how many tasks still have a process running. */
int runner_active(void)
{
    int n = 0;
    struct list_node *pos;
    list_for_each(pos, &A.tasks)
        n += !container_of(pos, struct agent_task, link)->exited;
    return n;
}

/* The ids of the tasks still running (for bye). */
json_t *runner_task_ids(void)
{
    json_t *a = json_array();
    struct list_node *pos;
    list_for_each(pos, &A.tasks) {
        struct agent_task *t = container_of(pos, struct agent_task, link);
        if (!t->exited)
            json_array_append_new(a, json_string(t->id));
    }
    return a;
}

/* The agent is stopping: stop every running task (SIGKILL after grace),
 * without reporting them finished. Returns how many were running. */
int runner_stop_all(double grace)
{
    int n = 0;
    struct list_node *pos;
    list_for_each(pos, &A.tasks) {
        struct agent_task *t = container_of(pos, struct agent_task, link);
        if (t->exited)
            continue;
        t->shutdown = 1;
        stop_task(t, grace);
        n++;
    }
    return n;
}

/* The link drained: task pipes that waited are read again. */
void runner_resume_output(void)
{
    struct list_node *pos;
    list_for_each(pos, &A.tasks) {
        struct agent_task *t = container_of(pos, struct agent_task, link);
        if (!t->held)
            continue;
        t->held = 0;
        if (t->out_fd >= 0)
            ev_io_start(A.loop, &t->out_io);
        if (t->err_fd >= 0)
            ev_io_start(A.loop, &t->err_io);
    }
}

/* Frees the task table (at exit; processes are left alone). */
void runner_free(void)
{
    while (!list_empty(&A.tasks))
        atask_free(container_of(list_first(&A.tasks), struct agent_task, link));
    dict_free(&A.task_ids);
}
