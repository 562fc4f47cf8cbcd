/* The task life cycle in the cluster: submit, assign bookkeeping, start,
 * finish, cancel, requeue, logs, and eviction of old finished tasks. */
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cluster_int.h"
#include "timefmt.h"

/* Returns the task with this id, or NULL (also when evicted from memory). */
struct task *cluster_task(const struct cluster *cl, const char *id)
{
    struct dict_node *n = dict_find(&cl->tasks, id, strlen(id));
    return n ? container_of(n, struct task, by_id) : NULL;
}

static int placement_fits(const struct sched_node *n, const struct task *t)
{
    for (int i = 0; i < t->placement.ngpu; i++) {
        int g = t->placement.gpu[i];
        if (g >= n->ngpus || n->gpu_free[g] < t->placement.milli)
            return 0;
    }
    return 1;
}

/* Takes the task's placement from its worker's free resources. A task
 * taken back after a restart may not fit a worker that changed meanwhile:
 * then its GPUs are taken as far as they go. */
void cluster_take(struct cluster *cl, struct task *t)
{
    struct worker *w = t->worker;
    if (t->placed || !w || w->node < 0)
        return;
    struct sched_node *n = &cl->sched.nodes[w->node];
    t->placement.node = w->node;
    if (placement_fits(n, t)) {
        sched_commit(&cl->sched, &t->req, &t->placement);
    } else {
        struct sched_choice ch = t->placement;
        ch.ngpu = 0;
        sched_commit(&cl->sched, &t->req, &ch);
        for (int i = 0; i < t->placement.ngpu; i++) {
            int g = t->placement.gpu[i];
            if (g < n->ngpus)
                n->gpu_free[g] = (uint16_t)(n->gpu_free[g] > t->placement.milli
                                                ? n->gpu_free[g] - t->placement.milli : 0);
        }
        sched_node_changed(&cl->sched, w->node);
    }
    t->placed = 1;
}

/* Gives the task's placement back to its worker (never past its totals). */
void cluster_release(struct cluster *cl, struct task *t)
{
    struct worker *w = t->worker;
    if (!t->placed || !w || w->node < 0)
        return;
    struct sched_node *n = &cl->sched.nodes[w->node];
    t->placement.node = w->node;
    sched_release(&cl->sched, &t->req, &t->placement);
    int clamped = 0;
    for (int g = 0; g < n->ngpus; g++) {
        if (n->gpu_free[g] > 1000) {
            n->gpu_free[g] = 1000;
            clamped = 1;
        }
    }
    if (clamped)
        sched_node_changed(&cl->sched, w->node);
    t->placed = 0;
    cl->capacity_gen++;
}

/* Puts t on w's task list and takes its resources there. */
void cluster_attach(struct cluster *cl, struct task *t, struct worker *w,
                    double now)
{
    (void)now;
    if (t->worker == w)
        return;
    t->worker = w;
    snprintf(t->worker_id, sizeof(t->worker_id), "%s", w->id);
    list_insert_tail(&w->tasks, &t->on_worker);
    w->ntasks++;
    cluster_worker_changed(cl, w);
    cluster_take(cl, t);
}

static void detach(struct cluster *cl, struct task *t)
{
    if (!t->worker)
        return;
    cluster_release(cl, t);
    list_unlink(&t->on_worker);
    t->worker->ntasks--;
    cluster_worker_changed(cl, t->worker);
    t->worker = NULL;
}

static const char *const event_names[] = {
    "task.queued", "task.assigned", "task.running",
    "task.completed", "task.failed", "task.cancelled",
};

/* Moves t to status st, stamps the time, and tells observers. */
void cluster_set_status(struct cluster *cl, struct task *t,
                        enum task_status st, double now)
{
    cl->by_status[t->status]--;
    cl->by_status[st]++;
    if (task_status_terminal(st) && !task_status_terminal(t->status))
        cl->stats.finished[st]++;
    t->status = st;
    if (t->worker)
        cluster_worker_changed(cl, t->worker);
    if (st == TS_ASSIGNED)
        t->assigned_at = now;
    else if (st == TS_RUNNING && !t->started_at)
        t->started_at = now;
    else if (task_status_terminal(st))
        t->finished_at = now;
    struct cluster_event ev = {.type = CE_TASK_STATE, .t = t, .w = t->worker,
                               .name = event_names[st], .now = now};
    cluster_emit(cl, &ev);
}

static void evict_old(struct cluster *cl, double now)
{
    while ((long)cl->nfinished > cl->cfg.keep_finished) {
        struct task *t = container_of(list_first(&cl->finished), struct task, blocked);
        struct cluster_event ev = {.type = CE_TASK_EVICTED, .t = t, .now = now};
        cluster_emit(cl, &ev);
        list_unlink(&t->blocked);
        list_unlink(&t->all);
        dict_remove(&cl->tasks, &t->by_id);
        cl->nfinished--;
        cl->by_status[t->status]--;
        task_free(t);
    }
}

static void log_marker(struct cluster *cl, struct task *t, int final, double now);

static void finish(struct cluster *cl, struct task *t, enum task_status st,
                   int has_exit, int exit_code, const char *reason, double now)
{
    log_marker(cl, t, 1, now);
    if (t->status == TS_QUEUED)
        cluster_dequeue(cl, t);
    if (st == TS_COMPLETED && t->started_at > 0 && now > t->started_at) {
        char key[256];
        sched_runtime_learn(&cl->sched, task_runtime_key(t, key, sizeof(key)),
                            now - t->started_at);
    }
    detach(cl, t);
    t->has_exit_code = has_exit;
    t->exit_code = exit_code;
    task_set_reason(t, reason);
    free(t->pending_reason);
    t->pending_reason = NULL;
    cluster_set_status(cl, t, st, now);
    list_insert_tail(&cl->finished, &t->blocked);
    cl->nfinished++;
    evict_old(cl, now);
}

/* Takes t off its worker and queues it again; past max_attempts it fails
 * with why as its reason instead. */
void cluster_requeue(struct cluster *cl, struct task *t, const char *why,
                     double now)
{
    if (t->attempts >= t->max_attempts) {
        finish(cl, t, TS_FAILED, 0, 0, why, now);
        return;
    }
    detach(cl, t);
    cl->stats.requeued++;
    t->cancel_requested = 0;
    task_set_reason(t, NULL);
    cluster_enqueue(cl, t);
    cluster_set_status(cl, t, TS_QUEUED, now);
}

/* Requeues every task assigned to w (it is lost or removed). */
void cluster_requeue_worker_tasks(struct cluster *cl, struct worker *w,
                                  const char *why, double now)
{
    while (!list_empty(&w->tasks)) {
        struct task *t = container_of(list_first(&w->tasks), struct task, on_worker);
        if (t->cancel_requested)
            finish(cl, t, TS_CANCELLED, 0, 0, "cancelled", now);
        else
            cluster_requeue(cl, t, why, now);
    }
}

/* Indexes a task that has its id and status (no queueing, no worker).
 * Returns 0, or -1 on no memory. */
int cluster_insert_task(struct cluster *cl, struct task *t)
{
    if (dict_insert(&cl->tasks, &t->by_id, t->id, strlen(t->id)) < 0)
        return -1;
    list_insert_tail(&cl->task_list, &t->all);
    t->seq = ++cl->seq;
    cl->by_status[t->status]++;
    return 0;
}

/* Accepts a validated task: gives it an id, queues it. Returns 0 or -1. */
int cluster_submit(struct cluster *cl, struct task *t, double now)
{
    do
        task_make_id(t->id, sizeof(t->id), now, cl->id_counter++);
    while (cluster_task(cl, t->id));
    t->created_at = now;
    t->status = TS_QUEUED;
    if (cluster_insert_task(cl, t) < 0)
        return -1;
    cl->stats.submitted++;
    char key[256];
    t->req.est_runtime = sched_runtime_estimate(&cl->sched,
                                                task_runtime_key(t, key, sizeof(key)));
    sched_workload_observe(&cl->sched, &t->req);
    cluster_enqueue(cl, t);
    struct cluster_event ev = {.type = CE_TASK_SUBMITTED, .t = t,
                               .name = "task.queued", .now = now};
    cluster_emit(cl, &ev);
    return 0;
}

/* Takes in a task that already has an id and a status (restored from
 * Redis, or described by an agent's hello). An assigned or running task
 * goes back on its worker; if that worker is unknown an offline record is
 * made for it, so it is requeued if the worker never returns. */
int cluster_adopt_task(struct cluster *cl, struct task *t, double now)
{
    if (cluster_task(cl, t->id) || cluster_insert_task(cl, t) < 0)
        return -1;
    if (t->status == TS_QUEUED) {
        cluster_enqueue(cl, t);
    } else if (task_status_terminal(t->status)) {
        list_insert_tail(&cl->finished, &t->blocked);
        cl->nfinished++;
        evict_old(cl, now);
    } else if (t->worker_id[0]) {
        struct worker *w = cluster_worker(cl, t->worker_id);
        if (!w && worker_id_valid(t->worker_id) &&
            (w = worker_create(cl, t->worker_id, now)))
            idle_touch(&cl->lost_list, &w->idle, now);
        if (w && w->session) {
            /* Connected already, and its hello did not list this task. */
            cluster_requeue(cl, t, "worker_restarted", now);
        } else if (w) {
            cluster_attach(cl, t, w, now);
        } else {
            cluster_requeue(cl, t, "worker_lost", now);
        }
    } else {
        t->status = TS_QUEUED;
        cluster_enqueue(cl, t);
    }
    return 0;
}

/* Cancels t: a queued task at once; a placed one by asking its agent (the
 * agent reports it cancelled), or at once when the agent is away. Returns
 * 0, or 1 when t has finished already. */
int cluster_cancel(struct cluster *cl, struct task *t, double grace, double now)
{
    if (task_status_terminal(t->status))
        return 1;
    if (t->worker && t->worker->session) {
        t->cancel_requested = 1;
        struct cluster_event ev = {.type = CE_TASK_CANCEL, .t = t, .w = t->worker,
                                   .name = "task.cancel_requested", .grace = grace, .now = now};
        cluster_emit(cl, &ev);
        return 0;
    }
    finish(cl, t, TS_CANCELLED, 0, 0, "cancelled", now);
    return 0;
}

/* Takes back a task that was requeued from w (w was lost) and has not been
 * placed since: w still runs the copy of that assignment, so it keeps it
 * rather than the task running twice. */
static void retake(struct cluster *cl, struct task *t, struct worker *w, int running,
                   double now)
{
    cluster_dequeue(cl, t);
    cluster_attach(cl, t, w, now);
    cluster_set_status(cl, t, running ? TS_RUNNING : TS_ASSIGNED, now);
}

/* Resolves what w says about task id in assignment `attempt` (-1: not
 * said): the task when w holds it in that assignment, or held it last and
 * nobody has it since (then it is taken back; running: the copy runs).
 * Otherwise NULL with *rc TASK_UNKNOWN or TASK_NOT_HELD; a finished task
 * comes back with *rc TASK_IGNORED. An agent's word never moves a task
 * that another worker or another assignment holds. */
struct task *cluster_held_task(struct cluster *cl, struct worker *w, const char *id,
                               int attempt, int running, double now, int *rc)
{
    struct task *t = cluster_task(cl, id);
    *rc = TASK_APPLIED;
    if (!t) {
        *rc = TASK_UNKNOWN;
        return NULL;
    }
    if (task_status_terminal(t->status)) {
        *rc = TASK_IGNORED;
        return t;
    }
    int same = attempt < 0 || attempt == t->attempts;
    if (t->worker == w && same)
        return t;
    if (!t->worker && t->status == TS_QUEUED && same && t->attempts > 0 &&
        strcmp(t->worker_id, w->id) == 0) {
        retake(cl, t, w, running, now);
        return t;
    }
    *rc = TASK_NOT_HELD;
    return NULL;
}

/* The agent stopped t because the agent itself is stopping: t goes back to
 * the queue at once. Returns 0, or -1 when t is not w's. */
int cluster_task_stopped(struct cluster *cl, struct worker *w, const char *id,
                         double now)
{
    struct task *t = cluster_task(cl, id);
    if (!t || t->worker != w || task_status_terminal(t->status))
        return -1;
    cluster_requeue(cl, t, "agent_stopped", now);
    return 0;
}

/* The agent started t. Returns an enum cluster_task_rc. */
int cluster_task_started(struct cluster *cl, struct worker *w, const char *id,
                         int attempt, double now)
{
    int rc;
    struct task *t = cluster_held_task(cl, w, id, attempt, 1, now, &rc);
    if (t && rc == TASK_APPLIED && t->status == TS_ASSIGNED)
        cluster_set_status(cl, t, TS_RUNNING, now);
    return rc;
}

/* The agent dropped `bytes` of t's output over the log limits (its own
 * marker lines told the reader): counted in t's log_dropped_bytes. Only
 * from the worker that holds t. */
void cluster_task_log_cut(struct cluster *cl, struct worker *w, const char *id, int attempt,
                          uint64_t bytes, double now)
{
    int rc;
    struct task *t = cluster_held_task(cl, w, id, attempt, 1, now, &rc);
    if (!t || rc != TASK_APPLIED || bytes > (1ULL << 50))
        return;
    t->log_limit.cut += bytes;
    t->log_limit.told += bytes;
}

/* The agent reports t's end. Applied once, and only from the worker and
 * assignment that hold it: a result for a task already finished is
 * TASK_IGNORED (the agent resent it), one for a task it does not hold is
 * TASK_NOT_HELD and changes nothing. Returns an enum cluster_task_rc. */
int cluster_task_finished(struct cluster *cl, struct worker *w, const char *id,
                          int attempt, enum task_status status, int has_exit,
                          int exit_code, const char *reason, double now)
{
    int rc;
    struct task *t = cluster_held_task(cl, w, id, attempt, 1, now, &rc);
    if (!t || rc != TASK_APPLIED)
        return rc;
    if (!task_status_terminal(status))
        status = TS_FAILED;
    finish(cl, t, status, has_exit, exit_code, reason, now);
    return TASK_APPLIED;
}

/* Log records: [seq][ms][ts][stream][len][data]. The id (ms, seq) grows
 * strictly, also across restarts (ms never goes back), so it works as a
 * Redis stream id and as the API's cursor. */
#define LOG_HEADER (2 * sizeof(uint64_t) + sizeof(double) + 1 + sizeof(uint32_t))

static void log_append(struct cluster *cl, struct task *t, int stream,
                       const char *data, uint32_t len, double now)
{
    struct buf *b = &t->logs;
    size_t cap = cl->cfg.log_buffer;
    uint64_t seq = ++t->log_seq;
    uint64_t ms = (uint64_t)time_ms(now);
    if (ms < t->log_ms)
        ms = t->log_ms;
    t->log_ms = ms;
    if (LOG_HEADER + len > cap || buf_reserve(b, LOG_HEADER + len) < 0)
        return;
    unsigned char s = (unsigned char)stream;
    buf_append(b, &seq, sizeof(seq));
    buf_append(b, &ms, sizeof(ms));
    buf_append(b, &now, sizeof(now));
    buf_append(b, &s, 1);
    buf_append(b, &len, sizeof(len));
    buf_append(b, data, len);
    while (b->len > cap) {
        uint32_t first;
        memcpy(&first, buf_start(b) + LOG_HEADER - sizeof(uint32_t), sizeof(first));
        buf_consume(b, LOG_HEADER + first);
        t->log_dropped++;
    }
}

static void emit_log(struct cluster *cl, struct task *t, int stream, const char *data,
                     size_t len, double now)
{
    log_append(cl, t, stream, data, (uint32_t)len, now);
    struct cluster_event ev = {.type = CE_TASK_LOG, .t = t, .w = t->worker,
                               .stream = stream == 2 ? "stderr" : "stdout",
                               .data = data, .len = len, .log_seq = t->log_seq,
                               .log_ms = t->log_ms, .now = now};
    cluster_emit(cl, &ev);
}

/* Tells the log's reader what was cut since the last telling: a line on
 * stderr, at most one a second (or final, at the task's end). */
static void log_marker(struct cluster *cl, struct task *t, int final, double now)
{
    char line[200];
    int n = log_limit_marker(&t->log_limit, cl->cfg.log_rate + cl->cfg.log_rate / 8 + 1024,
                             cl->cfg.log_max + cl->cfg.log_max / 8, final, line, sizeof(line));
    if (n > 0)
        emit_log(cl, t, 2, line, (size_t)n, now);
}

/* Output from t's process on its agent, within the task's log limits.
 * Kept in t's bounded memory buffer and handed to observers. Only the
 * worker that holds t may write into its log (a finished task takes the
 * lines its end left in flight). Returns an enum cluster_task_rc. */
int cluster_task_log(struct cluster *cl, struct worker *w, const char *id,
                     int attempt, const char *stream, const char *data,
                     size_t len, double now)
{
    int rc;
    struct task *t = cluster_held_task(cl, w, id, attempt, 1, now, &rc);
    if (t && rc == TASK_IGNORED && strcmp(t->worker_id, w->id) != 0)
        rc = TASK_NOT_HELD;
    if (!t || rc == TASK_NOT_HELD)
        return rc;
    int s = strcmp(stream, "stderr") == 0 ? 2 : 1;
    /* The agent keeps to the limits before sending; the slack here covers
     * its marker lines and clocks a little apart, never a flood. */
    size_t rate = cl->cfg.log_rate ? cl->cfg.log_rate + cl->cfg.log_rate / 8 + 1024 : 0;
    size_t keep = log_limit_admit(&t->log_limit, rate, cl->cfg.log_max + cl->cfg.log_max / 8,
                                  len, now);
    if (keep)
        emit_log(cl, t, s, data, keep, now);
    log_marker(cl, t, 0, now);
    return TASK_APPLIED;
}

/* Iterates t's buffered log records from *pos (start at 0). Returns 1 with
 * e filled, 0 at the end. */
int task_log_next(const struct task *t, size_t *pos, struct task_log_entry *e)
{
    const struct buf *b = &t->logs;
    if (*pos + LOG_HEADER > b->len)
        return 0;
    const char *p = buf_start(b) + *pos;
    unsigned char s;
    memcpy(&e->seq, p, sizeof(e->seq));
    memcpy(&e->ms, p + 8, sizeof(e->ms));
    memcpy(&e->ts, p + 16, sizeof(e->ts));
    memcpy(&s, p + 24, 1);
    memcpy(&e->len, p + 25, sizeof(e->len));
    e->stream = s;
    e->data = p + LOG_HEADER;
    *pos += LOG_HEADER + e->len;
    return 1;
}
