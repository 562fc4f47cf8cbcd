/* Rebuilding gantryd's state from Redis when it starts: registered workers
 * (offline until their agents return), then every task of the queue stream
 * that has not finished, with its full record. Runs on the first connection
 * (and on a later one if Redis was away at start); what is in memory
 * already is kept. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "reactor/reactor.h"
#include "store.h"

static struct {
    struct cluster *cl;
    void (*done)(int workers, int tasks);
    int recovered;                /* done once */
    int running;
    unsigned long waiting;        /* task reads not answered yet */
    int workers, tasks;
} V;

static const char *const json_fields[] = {
    "command", "env", "labels", "assignment", "result", NULL,
};
static const char *const number_fields[] = {
    "cpu_required", "memory_required", "gpu_required", "storage_required", "priority",
    "max_attempts", "timeout", "attempts", "exit_code", NULL,
};

static int listed(const char *k, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(k, list[i]) == 0)
            return 1;
    return 0;
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
            val = json_loadb(v->str, v->len, 0, NULL);
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

static void finish(void)
{
    V.running = 0;
    V.recovered = 1;
    log_info("recovered from redis: %d workers, %d unfinished tasks", V.workers, V.tasks);
    if (V.done)
        V.done(V.workers, V.tasks);
}

static void ack_entry(const char *task_id)
{
    unsigned long long ms;
    unsigned counter;
    if (sscanf(task_id, "t-%11llx%5x", &ms, &counter) != 2)
        return;
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XACK");
    resp_str(c, "gantry:tasks");
    resp_str(c, "gantry");
    resp_fmt(c, "%llu-%u", ms, counter);
    store_send(STORE_STATE);
}

static void on_task(redisReply *r, uint64_t a, uint64_t b)
{
    (void)a;
    (void)b;
    json_t *j = store_task_json(r);
    if (j) {
        struct task_error err;
        struct task *t = task_restore(j, &err);
        if (t && task_status_terminal(t->status)) {
            ack_entry(t->id);     /* finished but never acknowledged */
            task_free(t);
        } else if (t && cluster_adopt_task(V.cl, t, ev_now(reactor_loop())) == 0) {
            V.tasks++;
        } else {
            task_free(t);     /* known already (an agent brought it back) */
        }
        json_decref(j);
    }
    if (--V.waiting == 0)
        finish();
}

static void on_queue(redisReply *r, uint64_t a, uint64_t b)
{
    (void)a;
    (void)b;
    V.waiting = 1;                /* held while the reads go out */
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
            continue;
        const redisReply *f = e->element[1];
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (strcmp(f->element[k]->str, "task_id") != 0)
                continue;
            struct resp_cmd *c = store_cmd();
            resp_str(c, "HGETALL");
            resp_fmt(c, "gantry:task:%s", f->element[k + 1]->str);
            if (store_read(c, on_task, 0, 0) == 0)
                V.waiting++;
        }
    }
    if (--V.waiting == 0)
        finish();
}

static void on_workers(redisReply *r, uint64_t a, uint64_t b)
{
    (void)a;
    (void)b;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        json_t *reg = json_loadb(r->element[i + 1]->str, r->element[i + 1]->len, 0, NULL);
        if (reg && cluster_restore_worker(V.cl, reg, ev_now(reactor_loop())))
            V.workers++;
        json_decref(reg);
    }
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XRANGE");
    resp_str(c, "gantry:tasks");
    resp_str(c, "-");
    resp_str(c, "+");
    if (store_read(c, on_queue, 0, 0) < 0)
        V.running = 0;
}

static void on_group(redisReply *r, uint64_t a, uint64_t b)
{
    (void)a;
    (void)b;
    if (r && r->type == REDIS_REPLY_ERROR && !strstr(r->str, "BUSYGROUP"))
        log_warn("redis: XGROUP CREATE gantry:tasks gantry: %s", r->str);
}

/* Each (re)connection: make sure the queue's group exists; the first time,
 * rebuild the cluster. */
static void on_connect(void)
{
    struct resp_cmd *c = store_cmd();
    resp_str(c, "XGROUP");
    resp_str(c, "CREATE");
    resp_str(c, "gantry:tasks");
    resp_str(c, "gantry");
    resp_str(c, "0");
    resp_str(c, "MKSTREAM");
    store_read(c, on_group, 0, 0);
    if (V.recovered || V.running)
        return;
    V.running = 1;
    c = store_cmd();
    resp_str(c, "HGETALL");
    resp_str(c, "gantry:workers");
    if (store_read(c, on_workers, 0, 0) < 0)
        V.running = 0;
}

/* Sets up recovery of cl on the first connection; done(workers, tasks) is
 * called when it completes. */
void store_recover_init(struct cluster *cl, void (*done)(int workers, int tasks))
{
    V.cl = cl;
    V.done = done;
    store_on_connect(on_connect);
}
