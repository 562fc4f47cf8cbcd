/* What Redis holds (SPEC section 5), written as the cluster changes:
 *   gantry:workers, gantry:worker:<id>, gantry:gpus          hashes
 *   gantry:telemetry:<id>, gantry:gpu:<uuid>                 telemetry streams
 *   gantry:task:<id>, gantry:tasks (group "gantry")          task state, the queue
 *   gantry:task:<id>:logs, gantry:events                     logs, cluster events
 * Heartbeats cost one XADD per worker plus one per GPU sample; the worker's
 * latest-state hash is refreshed once a second for those that changed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timefmt.h"
#include "reactor/reactor.h"
#include "store_int.h"
#include "store/keys.h"

#define WORKER_HASH_PERIOD 1.0
#define TRIM_PERIOD 10.0

static struct {
    struct cluster *cl;
    struct store_config cfg;
    int deliver;                  /* new queue entries to hand to the group */
    int resync;                   /* a state write was lost: write everything */
    double trimmed_at;
} P;

#define key key_arg

/* Queues a task-state write; one that cannot be queued asks for a full
 * rewrite of the state in memory, so nothing stays lost. */
static void send_state(enum store_kind kind)
{
    if (store_send(kind) == 0 && (kind == STORE_STATE || kind == STORE_REWRITE))
        P.resync = 1;
}

static void time_arg(struct resp_cmd *c, double t)
{
    char s[40];
    if (t > 0 && time_format(t, s, sizeof(s)) > 0)
        resp_str(c, s);
    else
        resp_str(c, "");
}

/* Trim arguments for a telemetry stream whose newest entry is at ms. */
static void trim(struct resp_cmd *c, int64_t ms)
{
    if (P.cfg.retention_len > 0) {
        resp_str(c, "MAXLEN");
        resp_int(c, P.cfg.retention_len);
    } else if (P.cfg.retention_age > 0) {
        int64_t min = ms - (int64_t)(P.cfg.retention_age * 1000);
        resp_str(c, "MINID");
        resp_int(c, min > 0 ? min : 0);
    }
}

static void json_arg(struct resp_cmd *c, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    resp_str(c, s ? s : "");
    free(s);
}

/* One field of the task record, as redis-cli shows it: strings as they
 * are, numbers as text, objects and arrays as JSON, null as "". The
 * command is JSON whatever it is (a string or an argv array), so reading
 * it back cannot mistake one for the other. */
static void field(struct resp_cmd *c, const char *k, json_t *v)
{
    resp_str(c, k);
    if (json_is_string(v) && strcmp(k, "command") == 0)
        json_arg(c, v);
    else if (json_is_string(v))
        resp_arg(c, json_string_value(v), json_string_length(v));
    else if (json_is_number(v))
        resp_num(c, json_number_value(v));
    else if (json_is_null(v) || !v)
        resp_str(c, "");
    else if (json_is_boolean(v))
        resp_str(c, json_is_true(v) ? "true" : "false");
    else
        json_arg(c, v);
}

static void write_task(const struct task *t, enum store_kind kind)
{
    struct resp_cmd *c = store_cmd();
    resp_str(c, "HSET");
    key(c, KEY_TASK, t->id, "");
    json_t *j = task_to_json(t);
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
        field(c, k, v);
    json_decref(j);
    send_state(kind);
}

static void event(const struct cluster_event *ev, const struct worker *w, const struct task *t)
{
    const char *name = ev->name;
    double now = ev->now;
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XADD");
    resp_str(c, KEY_EVENTS);
    resp_str(c, "MAXLEN");
    resp_str(c, "~");
    resp_fmt(c, "%ld", P.cfg.events_maxlen);
    resp_fmt(c, "%llu-%llu", (unsigned long long)ev->eid_ms, (unsigned long long)ev->eid_seq);
    resp_str(c, "type");
    resp_str(c, name);
    if (w) {
        resp_str(c, "worker_id");
        resp_str(c, w->id);
    }
    if (t) {
        resp_str(c, "task_id");
        resp_str(c, t->id);
        resp_str(c, "status");
        resp_str(c, task_status_name(t->status));
        if (t->worker_id[0] && !w) {
            resp_str(c, "worker_id");
            resp_str(c, t->worker_id);
        }
        resp_str(c, "attempts");
        resp_fmt(c, "%d", t->attempts);
        if (t->has_exit_code) {
            resp_str(c, "exit_code");
            resp_fmt(c, "%d", t->exit_code);
        }
        if (t->reason) {
            resp_str(c, "reason");
            resp_str(c, t->reason);
        }
    }
    resp_str(c, "time");
    time_arg(c, now);
    send_state(STORE_STATE);
}

/* "t-<11 hex ms><5 hex counter>" -> the queue entry id "<ms>-<counter>",
 * so the entry can be acknowledged without remembering a reply. */
static int queue_id(const struct task *t, char *out, size_t outlen)
{
    unsigned long long ms;
    unsigned counter;
    if (strlen(t->id) != 18 || sscanf(t->id, "t-%11llx%5x", &ms, &counter) != 2)
        return -1;
    snprintf(out, outlen, "%llu-%u", ms, counter);
    return 0;
}

static void enqueue(const struct task *t, enum store_kind kind)
{
    char id[48];
    if (queue_id(t, id, sizeof(id)) < 0)
        return;
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XADD");
    resp_str(c, KEY_TASKS);
    resp_str(c, id);
    resp_str(c, "task_id");
    resp_str(c, t->id);
    resp_str(c, "priority");
    resp_fmt(c, "%d", t->priority);
    send_state(kind);
    P.deliver = 1;
}

static void ack(const struct task *t)
{
    char id[48];
    if (queue_id(t, id, sizeof(id)) < 0)
        return;
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XACK");
    resp_str(c, KEY_TASKS);
    resp_str(c, QUEUE_GROUP);
    resp_str(c, id);
    send_state(STORE_STATE);
}

static void deliver(enum store_kind kind)
{
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XREADGROUP");
    resp_str(c, "GROUP");
    resp_str(c, QUEUE_GROUP);
    resp_str(c, P.cfg.consumer);
    resp_str(c, "COUNT");
    resp_str(c, "100000");
    resp_str(c, "STREAMS");
    resp_str(c, KEY_TASKS);
    resp_str(c, ">");
    send_state(kind);
}

/* Hands new queue entries to this gantryd's consumer in the group, so
 * XPENDING lists every task not yet finished (recovery reads it there). */
void store_deliver_queue(void)
{
    deliver(STORE_STATE);
}

static json_t *registration(const struct worker *w)
{
    json_t *gpus = json_array();
    for (int i = 0; i < w->ngpus; i++)
        json_array_append_new(gpus, json_pack("{s:i,s:s,s:s,s:s,s:I}", "index", w->gpus[i].info.index,
                                              "uuid", w->gpus[i].info.uuid, "model",
                                              w->gpus[i].info.model, "device", w->gpus[i].info.device,
                                              "memory_mib", (json_int_t)w->gpus[i].info.memory_mib));
    char t[40] = "";
    time_format(w->registered_at, t, sizeof(t));
    return json_pack("{s:s,s:s,s:{s:f,s:I,s:I,s:o},s:O,s:b,s:s,s:i}", "worker_id", w->id,
                     "hostname", w->hostname, "capacity", "cpu", w->cpu_cores, "memory_mib",
                     (json_int_t)w->memory_mib, "storage_mib", (json_int_t)w->storage_mib,
                     "gpus", gpus, "labels", w->labels ? w->labels : json_null(),
                     "registered", w->registered, "registered_at", t, "executors", w->executors);
}

static void write_registration(const struct worker *w, enum store_kind kind)
{
    struct resp_cmd *c = store_cmd();
    resp_str(c, "HSET");
    resp_str(c, KEY_WORKERS);
    resp_str(c, w->id);
    json_t *j = registration(w);
    json_arg(c, j);
    json_decref(j);
    send_state(kind);
    for (int i = 0; i < w->ngpus; i++) {
        c = store_cmd();
        resp_str(c, "HSET");
        resp_str(c, KEY_GPUS);
        resp_str(c, w->gpus[i].info.uuid);
        j = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:I}", "uuid", w->gpus[i].info.uuid, "hostname",
                      w->hostname, "worker_id", w->id, "index", w->gpus[i].info.index, "device",
                      w->gpus[i].info.device, "model", w->gpus[i].info.model, "memory_mib",
                      (json_int_t)w->gpus[i].info.memory_mib);
        json_arg(c, j);
        json_decref(j);
        send_state(kind);
    }
}

static void write_worker_state(struct worker *w, enum store_kind kind)
{
    struct resp_cmd *c = store_cmd();
    resp_str(c, "HSET");
    key(c, KEY_WORKER, w->id, "");
    resp_str(c, "state");
    resp_str(c, worker_state_name(w));
    resp_str(c, "address");
    resp_str(c, w->address);
    resp_str(c, "hostname");
    resp_str(c, w->hostname);
    resp_str(c, "last_heartbeat");
    time_arg(c, w->last_heartbeat);
    resp_str(c, "cpu_usage");
    resp_fixed2(c, w->cpu_usage);
    resp_str(c, "memory_usage");
    resp_fixed2(c, w->memory_usage);
    resp_str(c, "gpu_usage");
    resp_fixed2(c, w->gpu_usage);
    resp_str(c, "storage_usage");
    resp_fixed2(c, w->storage_usage);
    resp_str(c, "running_tasks");
    resp_int(c, w->ntasks);
    send_state(kind);
    w->stored_at = ev_now(reactor_loop());
}

static void write_heartbeat(struct worker *w, const struct heartbeat *hb, double now)
{
    int64_t ms = time_ms(now);
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XADD");
    key(c, KEY_TELEMETRY, w->id, "");
    trim(c, ms);
    resp_str(c, "*");
    resp_str(c, "cpu_usage");
    resp_fixed2(c, w->cpu_usage);
    resp_str(c, "memory_usage");
    resp_fixed2(c, w->memory_usage);
    resp_str(c, "storage_usage");
    resp_fixed2(c, w->storage_usage);
    resp_str(c, "gpu_usage");
    resp_fixed2(c, w->gpu_usage);
    resp_str(c, "running_tasks");
    resp_int(c, w->ntasks);
    resp_str(c, "seq");
    resp_int(c, (long long)hb->seq);
    store_send(STORE_TELEMETRY);
}

static void write_gpu_sample(struct worker *w, const struct hb_gpu *g, double ts)
{
    int slot = worker_gpu_index(w, g->uuid, g->index);
    if (slot < 0 || !g->sample.present)
        return;
    struct worker_gpu *wg = &w->gpus[slot];
    int64_t ms = time_ms(g->sample.ts > 0 ? g->sample.ts : ts);
    if (ms < wg->stored_ms) {
        store_count_stale();
        return;
    }
    wg->stored_ms = ms;
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XADD");
    key(c, KEY_GPU, wg->info.uuid, "");
    trim(c, ms);
    resp_fmt(c, "%lld-*", (long long)ms);
    for (int m = 0; m < GM_COUNT; m++) {
        if (!gpu_sample_has(&g->sample, m))
            continue;
        resp_str(c, gpu_metric_names[m].dcgm);
        resp_num(c, g->sample.v[m]);
    }
    store_send(STORE_GPU);
}

static void write_log(const struct cluster_event *ev)
{
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XADD");
    key(c, KEY_TASK, ev->t->id, KEY_LOGS_SUFFIX);
    resp_str(c, "MAXLEN");
    resp_str(c, "~");
    resp_fmt(c, "%ld", P.cfg.logs_maxlen);
    resp_fmt(c, "%llu-%llu", (unsigned long long)ev->log_ms, (unsigned long long)ev->log_seq);
    resp_str(c, "stream");
    resp_str(c, ev->stream);
    resp_str(c, "data");
    resp_arg(c, ev->data, ev->len);
    resp_str(c, "ts");
    time_arg(c, ev->now);
    send_state(STORE_LOG);
}

static void remove_worker(const struct worker *w)
{
    struct resp_cmd *c = store_cmd();
    resp_str(c, "HDEL");
    resp_str(c, KEY_WORKERS);
    resp_str(c, w->id);
    send_state(STORE_STATE);
    c = store_cmd();
    resp_str(c, "DEL");
    key(c, KEY_WORKER, w->id, "");
    send_state(STORE_STATE);
}

static void on_task_event(const struct cluster_event *ev)
{
    switch (ev->type) {
    case CE_TASK_SUBMITTED:
        write_task(ev->t, STORE_STATE);
        enqueue(ev->t, STORE_STATE);
        event(ev, NULL, ev->t);
        break;
    case CE_TASK_STATE:
        write_task(ev->t, STORE_STATE);
        event(ev, NULL, ev->t);
        if (task_status_terminal(ev->t->status))
            ack(ev->t);
        break;
    case CE_TASK_LOG:
        write_log(ev);
        break;
    case CE_TASK_CANCEL:
        event(ev, NULL, ev->t);
        break;
    default:
        break;
    }
}

static void on_event(void *ud, const struct cluster_event *ev)
{
    (void)ud;
    switch (ev->type) {
    case CE_HEARTBEAT:
        write_heartbeat(ev->w, ev->hb, ev->now);
        /* gantry:worker:<id> at most once a period, from the heartbeat that
         * finds it due: O(1), never a walk of every worker in one turn (a
         * worker that falls silent gets its last figures with its state) */
        if (ev_now(reactor_loop()) - ev->w->stored_at >= WORKER_HASH_PERIOD)
            write_worker_state(ev->w, STORE_TELEMETRY);
        for (int i = 0; i < ev->hb->ngpus; i++)
            write_gpu_sample(ev->w, &ev->hb->gpus[i], ev->now);
        break;
    case CE_WORKER_JOINED:
    case CE_WORKER_REGISTERED:
        write_registration(ev->w, STORE_STATE);
        event(ev, ev->w, NULL);
        break;
    case CE_WORKER_STATE:
        write_worker_state(ev->w, STORE_STATE);
        event(ev, ev->w, NULL);
        break;
    case CE_WORKER_LOST:
        event(ev, ev->w, NULL);
        break;
    case CE_WORKER_REMOVED:
        remove_worker(ev->w);
        event(ev, ev->w, NULL);
        break;
    default:
        on_task_event(ev);
    }
}

static int by_queue_id(const void *pa, const void *pb)
{
    const struct task *a = *(struct task *const *)pa, *b = *(struct task *const *)pb;
    return strcmp(a->id, b->id);      /* fixed-width hex: sorts as the ids */
}

static unsigned long rewrite_tasks(void)
{
    struct cluster *cl = P.cl;
    size_t n = 0, cap = cl->by_status[TS_QUEUED] + cl->by_status[TS_ASSIGNED] +
                        cl->by_status[TS_RUNNING] + 1;
    struct task **open = malloc(cap * sizeof(*open));
    unsigned long written = 0;
    struct list_node *pos;
    list_for_each(pos, &cl->task_list) {
        struct task *t = container_of(pos, struct task, all);
        write_task(t, STORE_REWRITE);
        written++;
        if (open && !task_status_terminal(t->status) && n < cap)
            open[n++] = t;
    }
    if (!open) {
        log_error("redis: no memory to sort the queue for the write-back");
        P.resync = 1;
        return written;
    }
    /* Stream ids only grow: the queue entries go in id order. */
    qsort(open, n, sizeof(*open), by_queue_id);
    for (size_t i = 0; i < n; i++)
        enqueue(open[i], STORE_REWRITE);
    free(open);
    deliver(STORE_REWRITE);
    return written;
}

/* Redis came back without our data (or a write could not be queued):
 * writes everything held in memory (the queue's group, every task record,
 * the queue entries of unfinished tasks, workers and their GPUs) ahead of
 * any other write, then mark as the data set's marker. Returns how many
 * tasks were written. */
unsigned long store_persist_rewrite(const char *marker)
{
    struct resp_cmd *c = key_group_create(store_cmd());
    send_state(STORE_REWRITE);
    P.resync = 0;
    unsigned long tasks = rewrite_tasks();
    struct list_node *pos;
    list_for_each(pos, &P.cl->worker_list) {
        struct worker *w = container_of(pos, struct worker, all);
        if (w->registered || w->joined)
            write_registration(w, STORE_REWRITE);
        write_worker_state(w, STORE_REWRITE);
    }
    c = store_cmd();
    resp_str(c, "SET");
    resp_str(c, KEY_INSTANCE);
    resp_str(c, marker);
    send_state(STORE_REWRITE);
    return tasks;
}

/* The oldest queue entry still needed: that of the oldest unfinished
 * task, or of the tasks_history-th newest one if older. */
static int trim_point(char *out, size_t outlen)
{
    const struct task *oldest = NULL, *nth = NULL;
    long seen = 0;
    struct list_node *pos;
    for (pos = P.cl->task_list.prev; pos != &P.cl->task_list; pos = pos->prev) {
        const struct task *t = container_of(pos, struct task, all);
        if (++seen <= P.cfg.tasks_history && (!nth || strcmp(t->id, nth->id) < 0))
            nth = t;
        if (!task_status_terminal(t->status) && (!oldest || strcmp(t->id, oldest->id) < 0))
            oldest = t;
    }
    if (nth && (!oldest || strcmp(nth->id, oldest->id) < 0))
        oldest = nth;
    return oldest ? queue_id(oldest, out, outlen) : -1;
}

/* gantry:tasks keeps the entries of unfinished tasks and the last
 * tasks.history ones: everything older is acknowledged history. */
static void trim_queue(void)
{
    char minid[48];
    double now = ev_now(reactor_loop());
    if (now - P.trimmed_at < TRIM_PERIOD || !store_up())
        return;
    P.trimmed_at = now;
    if (trim_point(minid, sizeof(minid)) < 0)
        return;
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XTRIM");
    resp_str(c, KEY_TASKS);
    resp_str(c, "MINID");
    resp_str(c, "~");
    resp_str(c, minid);
    send_state(STORE_STATE);
}

/* Before the loop sleeps: hand new queue entries to the group, redo the
 * state if a write was lost, trim the queue's history now and then. */
static void persist_hook(void *ud)
{
    (void)ud;
    if (P.deliver) {
        P.deliver = 0;
        store_deliver_queue();
    }
    if (P.resync && store_up() && !store_rewriting()) {
        log_warn("redis: a task-state write was lost; writing the whole state again");
        store_rewrite_all();
    }
    trim_queue();
}

/* Starts writing cl's changes. */
void store_persist_init(struct cluster *cl, const struct store_config *cfg)
{
    P.cl = cl;
    P.cfg = *cfg;
    cluster_observe(cl, on_event, NULL);
    reactor_add_hook(persist_hook, NULL);
}

/* Applies reloadable settings (retention, stream lengths). */
void store_persist_configure(const struct store_config *cfg)
{
    P.cfg.retention_age = cfg->retention_age;
    P.cfg.retention_len = cfg->retention_len;
    P.cfg.logs_maxlen = cfg->logs_maxlen;
    P.cfg.events_maxlen = cfg->events_maxlen;
    P.cfg.tasks_history = cfg->tasks_history;
}
