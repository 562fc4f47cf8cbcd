/* What agents tell the cluster: hello (join, re-adopt running tasks) and
 * heartbeats (telemetry, liveness). */
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cluster_int.h"

/* Sets the scheduler node's capacity from the hello; free = total minus
 * what the worker's tasks hold. */
static int set_capacity(struct cluster *cl, struct worker *w, const struct hello *h)
{
    if (w->node < 0 && (w->node = sched_node_add(&cl->sched)) < 0)
        return -1;
    struct sched_node *n = &cl->sched.nodes[w->node];
    n->owner = w;
    n->cpu_total = n->cpu_free = (int64_t)(h->cpu * 1000);
    n->mem_total = n->mem_free = h->memory_mib;
    n->disk_total = n->disk_free = h->storage_mib;
    n->executors = h->executors;
    n->ngpus = (uint8_t)(h->ngpus < SCHED_MAX_GPUS ? h->ngpus : SCHED_MAX_GPUS);
    n->model = h->ngpus ? (uint8_t)sched_model_id(&cl->sched, h->gpus[0].model)
                        : SCHED_NO_MODEL;
    for (int g = 0; g < n->ngpus; g++)
        n->gpu_free[g] = 1000;
    n->ntasks = 0;
    w->cpu_cores = h->cpu;
    w->memory_mib = h->memory_mib;
    w->storage_mib = h->storage_mib;
    n->end_sum = 0;
    sched_node_changed(&cl->sched, w->node);
    struct list_node *pos;
    list_for_each(pos, &w->tasks) {
        struct task *t = container_of(pos, struct task, on_worker);
        t->placed = 0;            /* the node was reset: take it again */
        cluster_take(cl, t);
    }
    cl->capacity_gen++;
    return 0;
}

/* The assignment an entry of the hello's task list runs: "attempt", or
 * the "attempts" of the record the agent was given; -1 when unsaid. */
static int entry_attempt(json_t *entry)
{
    json_t *a = json_object_get(entry, "attempt");
    if (!json_is_integer(a))
        a = json_object_get(json_object_get(entry, "task"), "attempts");
    return json_is_integer(a) && json_integer_value(a) >= 0 &&
           json_integer_value(a) < 1000000 ? (int)json_integer_value(a) : -1;
}

/* One entry of the hello's task list: adopt it when w holds it (or held it
 * last and nobody has it since), else tell the agent to stop its copy. A
 * task the cluster does not know is never taken from the agent's word. */
static void adopt_one(struct cluster *cl, struct worker *w, json_t *entry,
                      double now, json_t *adopt, json_t *cancel)
{
    const char *id = json_string_value(json_object_get(entry, "task_id"));
    const char *state = json_string_value(json_object_get(entry, "state"));
    int running = !state || strcmp(state, "running") == 0;
    if (!id)
        return;
    int rc;
    struct task *t = cluster_held_task(cl, w, id, entry_attempt(entry), running, now, &rc);
    if (!t || rc != TASK_APPLIED) {
        if (running)
            json_array_append_new(cancel, json_string(id));
        return;
    }
    t->adopted = 1;
    if (t->status != TS_RUNNING && running)
        cluster_set_status(cl, t, TS_RUNNING, now);
    json_array_append_new(adopt, json_string(id));
}

static void adopt_tasks(struct cluster *cl, struct worker *w, const struct hello *h,
                        double now, json_t *adopt, json_t *cancel)
{
    struct list_node *pos, *tmp;
    list_for_each(pos, &w->tasks)
        container_of(pos, struct task, on_worker)->adopted = 0;
    size_t i;
    json_t *entry;
    json_array_foreach(h->running, i, entry)
        adopt_one(cl, w, entry, now, adopt, cancel);
    /* Assigned here, but the agent does not have them: run them again. */
    list_for_each_safe(pos, tmp, &w->tasks) {
        struct task *t = container_of(pos, struct task, on_worker);
        if (!t->adopted)
            cluster_requeue(cl, t, "worker_restarted", now);
    }
}

static int apply_hello(struct cluster *cl, struct worker *w, const struct hello *h,
                       uint64_t session, const char *address)
{
    snprintf(w->hostname, sizeof(w->hostname), "%.63s", h->hostname ? h->hostname : w->id);
    snprintf(w->address, sizeof(w->address), "%s", address);
    if (h->labels) {
        json_decref(w->labels);
        w->labels = json_incref(h->labels);
    }
    w->executors = h->executors;
    w->session = session;
    w->joined = 1;
    cluster_worker_changed(cl, w);
    w->lost = 0;
    if (cluster_set_gpus(cl, w, h->gpus, h->ngpus) < 0 || set_capacity(cl, w, h) < 0)
        return -1;
    return 0;
}

/* An agent said hello on connection session. Creates or updates the
 * worker, re-adopts the tasks it still runs (*adopt gets their ids) and
 * lists in *cancel those it must stop (the caller owns both arrays). */
enum cluster_hello_error cluster_hello(struct cluster *cl, const struct hello *h,
                                       uint64_t session, const char *address,
                                       double now, json_t **adopt, json_t **cancel)
{
    *adopt = *cancel = NULL;
    struct worker *w = cluster_worker(cl, h->worker_id);
    if (w && w->session && w->state == WS_ACTIVE)
        return HELLO_DUPLICATE;
    if (cl->cfg.require_registration && (!w || !w->registered))
        return HELLO_UNREGISTERED;
    if (!w && !(w = worker_create(cl, h->worker_id, now)))
        return HELLO_NOMEM;
    if (apply_hello(cl, w, h, session, address) < 0)
        return HELLO_NOMEM;
    *adopt = json_array();
    *cancel = json_array();
    idle_remove(&cl->lost_list, &w->idle);
    idle_touch(&cl->hb_list, &w->idle, now);
    w->last_heartbeat = now;
    struct cluster_event ev = {.type = CE_WORKER_JOINED, .w = w,
                               .name = "worker.joined", .now = now};
    cluster_emit(cl, &ev);
    cluster_set_worker_state(cl, w, WS_ACTIVE, now);
    cluster_update_usable(cl, w);
    adopt_tasks(cl, w, h, now, *adopt, *cancel);
    return HELLO_OK;
}

static void merge_gpu(struct worker *w, const struct hb_gpu *g, double ts)
{
    int slot = worker_gpu_index(w, g->uuid, g->index);
    if (slot < 0)
        return;
    struct worker_gpu *wg = &w->gpus[slot];
    for (int m = 0; m < GM_COUNT; m++)
        if (gpu_sample_has(&g->sample, m))
            gpu_sample_set(&wg->last, m, g->sample.v[m]);
    if (g->sample.ts > 0)
        ts = g->sample.ts;
    if (ts > wg->last_ts)
        wg->last_ts = ts;
}

/* A task w says it runs: its usage when w holds it; otherwise (requeued
 * and placed elsewhere while w was away, cancelled meanwhile, unknown)
 * w is told to stop that copy, so a resumed worker never finishes a task
 * a second time. */
static void heartbeat_task(struct cluster *cl, struct worker *w, const struct hb_task *h,
                           double now)
{
    int rc;
    struct task *t = cluster_held_task(cl, w, h->task_id, h->attempt, 1, now, &rc);
    if (t && rc == TASK_APPLIED) {
        t->usage_cpu = h->cpu_usage;
        t->usage_mem_mib = h->memory_mib;
        return;
    }
    struct cluster_event ev = {.type = CE_TASK_DISOWN, .w = w, .data = h->task_id,
                               .len = strlen(h->task_id), .now = now};
    cluster_emit(cl, &ev);
}

/* A heartbeat from w's agent: O(1) in the cluster's size. Updates the
 * telemetry, moves w to the tail of the heartbeat list, and makes it active
 * again if it was not. */
void cluster_heartbeat(struct cluster *cl, struct worker *w,
                       const struct heartbeat *hb, double now)
{
    w->hb_seq = hb->seq;
    w->heartbeats++;
    w->last_heartbeat = now;
    cl->stats.heartbeats++;
    if (hb->has_cpu)
        w->cpu_usage = hb->cpu_usage;
    if (hb->has_memory)
        w->memory_usage = hb->memory_usage;
    if (hb->has_storage)
        w->storage_usage = hb->storage_usage;
    double util = 0;
    int nutil = 0;
    for (int i = 0; i < hb->ngpus; i++) {
        merge_gpu(w, &hb->gpus[i], hb->timestamp > 0 ? hb->timestamp : now);
        if (gpu_sample_has(&hb->gpus[i].sample, GM_UTIL)) {
            util += hb->gpus[i].sample.v[GM_UTIL];
            nutil++;
        }
    }
    for (int i = 0; i < hb->ntasks; i++)
        heartbeat_task(cl, w, &hb->tasks[i], now);
    if (hb->has_gpu)
        w->gpu_usage = hb->gpu_usage;
    else if (nutil)
        w->gpu_usage = util / nutil;
    if (w->state != WS_ACTIVE) {
        idle_remove(&cl->lost_list, &w->idle);
        w->lost = 0;
    }
    idle_touch(&cl->hb_list, &w->idle, now);
    cluster_worker_changed(cl, w);
    struct cluster_event ev = {.type = CE_HEARTBEAT, .w = w, .hb = hb,
                               .name = "worker.heartbeat", .now = now};
    cluster_emit(cl, &ev);
    if (w->state != WS_ACTIVE)
        cluster_set_worker_state(cl, w, WS_ACTIVE, now);
}
