/* Rebuilding gantryd's state from Redis, and making sure on every
 * connection that Redis still holds it.
 *
 * The data set carries a mark (gantry:instance, a random string set once).
 * Only the leader reads it (lease.c): when it takes the lease, and on
 * every connection after, before any write flows:
 *   - the first time: recovery. Registered workers (offline until their
 *     agents return), then every unfinished task, found in the queue's
 *     pending list (entries handed to the group and not acknowledged, so
 *     what recovery reads grows with the unfinished tasks, not with
 *     history), then the last tasks.history queue entries for the finished
 *     tasks people list. Only when every read has had a real answer is the
 *     store set up (writes flow, submissions are taken, agents let in); a
 *     connection lost on the way starts it again on the next one.
 *   - later: the same mark means Redis kept our data; a missing or other
 *     one means it came back empty (restarted without its files, a replica
 *     promoted, a FLUSHALL), so everything in memory is written back ahead
 *     of any other write.
 * A probe reads the mark every second while connected: it finds a flush
 * that happened under a live connection, and keeps a command in flight so
 * the reply timeout notices a Redis that stopped answering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timefmt.h"
#include "reactor/reactor.h"
#include "store_int.h"
#include "store/keys.h"

#define PAGE 1000
#define PROBE_PERIOD 1.0

static struct {
    struct cluster *cl;
    void (*done)(int workers, int tasks);
    const char *consumer;
    long history;
    int recovered;                /* done once */
    uint64_t gen;                 /* this connection's number: older replies are dropped */
    unsigned long waiting;        /* task reads not answered yet */
    void (*after_tasks)(uint64_t gen); /* what follows the reads in flight */
    char next[48];                /* the pending list's paging cursor */
    char marker[40];              /* the data set's mark, once known */
    ev_timer probe;
    int probing;                  /* a probe is in flight */
} V;

static const char *const json_fields[] = {
    "command", "env", "labels", "assignment", "result", NULL,
};
static const char *const number_fields[] = {
    "cpu_required", "memory_required", "gpu_required", "storage_required", "priority",
    "max_attempts", "timeout", "attempts", "exit_code", "log_dropped_bytes", NULL,
};

static int listed(const char *k, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(k, list[i]) == 0)
            return 1;
    return 0;
}

/* A JSON field of the record; a command written as a bare string (before
 * commands were always JSON) is taken as that string. */
static json_t *json_field(const char *k, const redisReply *v)
{
    json_t *val = json_loadb(v->str, v->len, JSON_DECODE_ANY, NULL);
    if (!val && strcmp(k, "command") == 0)
        val = json_stringn(v->str, v->len);
    return val;
}

/* Turns an HGETALL reply of gantry:task:<id> back into the task's JSON:
 * "" is null, JSON fields are parsed, numbers are numbers. Returns NULL
 * for an empty or malformed reply. */
json_t *store_task_json(const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2)
        return NULL;
    json_t *j = json_object();
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *k = r->element[i]->str;
        const redisReply *v = r->element[i + 1];
        if (!k || v->type != REDIS_REPLY_STRING)
            continue;
        json_t *val;
        if (v->len == 0)
            val = json_null();
        else if (listed(k, json_fields))
            val = json_field(k, v);
        else if (listed(k, number_fields))
            val = json_real(strtod(v->str, NULL));
        else
            val = json_stringn(v->str, v->len);
        if (val && json_is_real(val) && json_real_value(val) == (json_int_t)json_real_value(val)) {
            json_int_t n = (json_int_t)json_real_value(val);
            json_decref(val);
            val = json_integer(n);
        }
        json_object_set_new(j, k, val ? val : json_null());
    }
    return j;
}

/* Returns non-zero once the state has been rebuilt from Redis. */
int store_recovered(void)
{
    return V.recovered;
}

/* A real answer on this connection. An error (Redis still loading its
 * files, a replica that cannot serve) is not one: the connection is
 * dropped and the whole check (or recovery) starts again on the next. */
static int current(uint64_t gen, const redisReply *r)
{
    if (!r || gen != V.gen)
        return 0;
    if (r->type == REDIS_REPLY_ERROR && !strstr(r->str, "BUSYGROUP")) {
        char why[160];
        snprintf(why, sizeof(why), "redis answered '%.100s' while gantryd checked its data", r->str);
        store_drop(why);
        return 0;
    }
    return 1;
}

static void finish(uint64_t gen)
{
    (void)gen;
    V.recovered = 1;
    const unsigned long *n = V.cl->by_status;
    log_info("recovered from redis: %lu workers, %lu unfinished tasks", V.cl->nworkers,
             n[TS_QUEUED] + n[TS_ASSIGNED] + n[TS_RUNNING]);
    store_set_up();
    if (V.done)
        V.done((int)V.cl->nworkers, (int)(n[TS_QUEUED] + n[TS_ASSIGNED] + n[TS_RUNNING]));
}

static void ack_entry(const char *task_id)
{
    unsigned long long ms;
    unsigned counter;
    if (sscanf(task_id, "t-%11llx%5x", &ms, &counter) != 2)
        return;
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XACK");
    resp_str(c, KEY_TASKS);
    resp_str(c, QUEUE_GROUP);
    resp_fmt(c, "%llu-%u", ms, counter);
    store_send(STORE_STATE);
}

/* Queue entry id "<ms>-<counter>" -> task id "t-<11 hex><5 hex>". */
static int task_id_of(const char *entry, char *out, size_t outlen)
{
    unsigned long long ms, counter;
    if (sscanf(entry, "%llu-%llu", &ms, &counter) != 2 || counter > 0xfffff)
        return -1;
    snprintf(out, outlen, "t-%011llx%05llx", ms, counter);
    return 0;
}

static void task_read_done(void)
{
    if (V.waiting && --V.waiting == 0 && V.after_tasks)
        V.after_tasks(V.gen);
}

static void on_task(redisReply *r, uint64_t gen, uint64_t pending)
{
    if (!current(gen, r))
        return;
    json_t *j = store_task_json(r);
    struct task_error err;
    struct task *t = j ? task_restore(j, &err) : NULL;
    if (t && task_status_terminal(t->status) && pending)
        ack_entry(t->id);         /* finished, but its ack was lost */
    int keep = t && (!pending || !task_status_terminal(t->status));
    if (!keep || cluster_adopt_task(V.cl, t, ev_now(reactor_loop())) < 0)
        task_free(t);             /* known already, or a record that is not a task */
    json_decref(j);
    task_read_done();
}

/* Reads the record of the task behind queue entry `entry` unless it is in
 * memory already. pending: the entry is unacknowledged. */
static void read_task(const char *entry, int pending)
{
    char id[TASK_ID_MAX];
    if (task_id_of(entry, id, sizeof(id)) < 0 || cluster_task(V.cl, id))
        return;
    struct resp_cmd *c = store_cmd();
    resp_str(c, "HGETALL");
    key_arg(c, KEY_TASK, id, "");
    if (store_read(c, on_task, V.gen, (uint64_t)pending) == 0)
        V.waiting++;
}

/* Starts the reads in flight and calls next(gen) when all are answered. */
static void reads_then(void (*next)(uint64_t gen))
{
    V.after_tasks = next;
    V.waiting++;                  /* held while the reads go out */
    task_read_done();
}

static void on_history(redisReply *r, uint64_t gen, uint64_t b)
{
    (void)b;
    if (!current(gen, r))
        return;
    V.waiting = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 && e->element[0]->str)
            read_task(e->element[0]->str, 0);
    }
    reads_then(finish);
}

static void read_history(uint64_t gen)
{
    (void)gen;
    if (V.history <= 0) {
        finish(gen);
        return;
    }
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XREVRANGE");
    resp_str(c, KEY_TASKS);
    resp_str(c, "+");
    resp_str(c, "-");
    resp_str(c, "COUNT");
    resp_int(c, V.history);
    store_read(c, on_history, V.gen, 0);
}

static void read_pending_page(uint64_t gen);

/* XPENDING's extended form: [[id, consumer, idle, deliveries], ...]. */
static void on_pending(redisReply *r, uint64_t gen, uint64_t b)
{
    (void)b;
    if (!current(gen, r))
        return;
    V.waiting = 0;
    size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    for (size_t i = 0; i < n; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 || !e->element[0]->str)
            continue;
        read_task(e->element[0]->str, 1);
        snprintf(V.next, sizeof(V.next), "(%s", e->element[0]->str);
    }
    reads_then(n == PAGE ? read_pending_page : read_history);
}

static void read_pending_page(uint64_t gen)
{
    (void)gen;
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XPENDING");
    resp_str(c, KEY_TASKS);
    resp_str(c, QUEUE_GROUP);
    resp_str(c, V.next);
    resp_str(c, "+");
    resp_int(c, PAGE);
    store_read(c, on_pending, V.gen, 0);
}

static void deliver_new(void);

/* Entries added but never handed to the group (a crash between the two
 * writes) are handed over now, so the pending list has every task. */
static void on_delivered(redisReply *r, uint64_t gen, uint64_t b)
{
    (void)b;
    if (!current(gen, r))
        return;
    size_t got = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->elements == 2)
        got = r->element[0]->element[1]->elements;
    if (got == PAGE) {
        deliver_new();
        return;
    }
    snprintf(V.next, sizeof(V.next), "-");
    read_pending_page(gen);
}

static void deliver_new(void)
{
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XREADGROUP");
    resp_str(c, "GROUP");
    resp_str(c, QUEUE_GROUP);
    resp_str(c, V.consumer);
    resp_str(c, "COUNT");
    resp_int(c, PAGE);
    resp_str(c, "STREAMS");
    resp_str(c, KEY_TASKS);
    resp_str(c, ">");
    store_read(c, on_delivered, V.gen, 0);
}

static void on_workers(redisReply *r, uint64_t gen, uint64_t b)
{
    (void)b;
    if (!current(gen, r))
        return;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        json_t *reg = json_loadb(r->element[i + 1]->str, r->element[i + 1]->len, 0, NULL);
        if (reg)
            cluster_restore_worker(V.cl, reg, ev_now(reactor_loop()));
        json_decref(reg);
    }
    deliver_new();
}

static void on_group(redisReply *r, uint64_t gen, uint64_t b)
{
    (void)b;
    if (!current(gen, r))
        return;
    struct resp_cmd *c = store_cmd();
    resp_str(c, "HGETALL");
    resp_str(c, KEY_WORKERS);
    store_read(c, on_workers, V.gen, 0);
}

static void recover(void)
{
    store_read(key_group_create(store_cmd()), on_group, V.gen, 0);
}

/* Writes back everything in memory, marked with our mark. */
void store_rewrite_all(void)
{
    unsigned long n = store_persist_rewrite(V.marker);
    log_warn("redis: wrote back %lu workers and %lu tasks from memory", V.cl->nworkers, n);
}

static void new_marker(void)
{
    snprintf(V.marker, sizeof(V.marker), "%08lx%08lx%08lx", (unsigned long)random(),
             (unsigned long)(time_wall() * 1000) & 0xffffffffUL, (unsigned long)getpid());
}

static void on_marker_set(redisReply *r, uint64_t gen, uint64_t b);

/* Marks a data set that has no mark yet (first start, or data from
 * before marks), then reads it again: another gantryd may have won. */
static void mark_data_set(void)
{
    new_marker();
    struct resp_cmd *c = store_cmd();
    resp_str(c, "SET");
    resp_str(c, KEY_INSTANCE);
    resp_str(c, V.marker);
    resp_str(c, "NX");
    resp_str(c, "GET");
    store_read(c, on_marker_set, V.gen, 0);
}

static void on_marker_set(redisReply *r, uint64_t gen, uint64_t b)
{
    (void)b;
    if (!current(gen, r))
        return;
    if (r->type == REDIS_REPLY_STRING)   /* someone marked it first */
        snprintf(V.marker, sizeof(V.marker), "%.*s", (int)r->len, r->str);
    recover();
}

/* The mark read on a new connection, or by the probe. */
static void on_marker(redisReply *r, uint64_t gen, uint64_t probe)
{
    if (probe)
        V.probing = 0;
    if (!current(gen, r))
        return;
    int same = r->type == REDIS_REPLY_STRING && strcmp(r->str, V.marker) == 0;
    if (!V.recovered) {
        if (r->type == REDIS_REPLY_STRING) {
            snprintf(V.marker, sizeof(V.marker), "%.*s", (int)r->len, r->str);
            recover();
        } else {
            mark_data_set();
        }
        return;
    }
    if (!same && !(probe && store_rewriting())) {
        log_warn("redis: %s is %s%.*s%s, not ours (%s): redis lost gantry's data",
                 KEY_INSTANCE, r->type == REDIS_REPLY_STRING ? "'" : "missing",
                 r->type == REDIS_REPLY_STRING ? (int)r->len : 0,
                 r->type == REDIS_REPLY_STRING ? r->str : "",
                 r->type == REDIS_REPLY_STRING ? "'" : "", V.marker);
        new_marker();
        store_rewrite_all();
    }
    store_set_up();
}

static int read_marker(uint64_t probe)
{
    struct resp_cmd *c = store_cmd();
    resp_str(c, "GET");
    resp_str(c, KEY_INSTANCE);
    return store_read(c, on_marker, V.gen, probe);
}

/* Each (re)connection of the leader, once checked: the mark before any
 * write (and recovery, until it has completed). A standby reads nothing
 * here: it rebuilds its state only when it takes the lease. */
void store_recover_on_link(void)
{
    V.gen++;
    V.waiting = 0;
    V.probing = 0;
    if (read_marker(0) < 0)
        store_drop("the mark could not be read");
}

/* The lease is ours: rebuild the (emptied) state from Redis, from
 * scratch, on this connection if there is one (else on the next). */
void store_recover_restart(void)
{
    V.recovered = 0;
    if (store_linked())
        store_recover_on_link();
}

/* We stopped leading: replies to recovery's reads are dropped, and the
 * next lease starts recovery again. */
void store_recover_abandon(void)
{
    V.recovered = 0;
    V.gen++;
    V.waiting = 0;
    V.probing = 0;
}

static void probe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    if (store_up() && !V.probing && read_marker(1) == 0)
        V.probing = 1;
}

/* Sets up recovery of cl on the first connection and the checks of every
 * later one; done(workers, tasks) is called when recovery completes. */
void store_recover_init(struct cluster *cl, const struct store_config *cfg,
                        void (*done)(int workers, int tasks))
{
    V.cl = cl;
    V.done = done;
    V.consumer = cfg->consumer;
    V.history = cfg->tasks_history;
    ev_timer_init(&V.probe, probe_cb, PROBE_PERIOD, PROBE_PERIOD);
    ev_timer_start(reactor_loop(), &V.probe);
    ev_unref(reactor_loop());
}

/* Stops the probe (shutdown). */
void store_recover_stop(void)
{
    ev_ref(reactor_loop());
    ev_timer_stop(reactor_loop(), &V.probe);
}
