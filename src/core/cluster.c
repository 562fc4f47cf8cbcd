#include "cluster.h"

#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"
#include "timefmt.h"
#include "sched_policy.h"

static int worker_match(const struct dict_node *n, const void *key, size_t len)
{
    const struct worker *w = container_of(n, struct worker, by_id);
    return strlen(w->id) == len && memcmp(w->id, key, len) == 0;
}

static int gpu_match(const struct dict_node *n, const void *key, size_t len)
{
    const struct worker_gpu *g = container_of(n, struct worker_gpu, by_uuid);
    return strlen(g->info.uuid) == len && memcmp(g->info.uuid, key, len) == 0;
}

static int task_match(const struct dict_node *n, const void *key, size_t len)
{
    const struct task *t = container_of(n, struct task, by_id);
    return strlen(t->id) == len && memcmp(t->id, key, len) == 0;
}

/* Every required label of the task has the same value on the worker. */
static int label_fit(const struct sched_node *n, const void *labels)
{
    const struct worker *w = n->owner;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)labels, k, v) {
        json_t *have = w->labels ? json_object_get(w->labels, k) : NULL;
        if (!have || !json_equal(have, v))
            return 0;
    }
    return 1;
}

/* Prepares an empty cluster. Returns 0 or -1. */
int cluster_init(struct cluster *cl, const struct cluster_config *cfg)
{
    memset(cl, 0, sizeof(*cl));
    cl->cfg = *cfg;
    dict_init(&cl->workers, worker_match);
    dict_init(&cl->tasks, task_match);
    dict_init(&cl->gpus, gpu_match);
    list_init(&cl->worker_list);
    list_init(&cl->task_list);
    list_init(&cl->finished);
    list_init(&cl->blocked);
    idle_list_init(&cl->hb_list, cfg->heartbeat_timeout);
    idle_list_init(&cl->lost_list, cfg->lost_after);
    sched_cluster_init(&cl->sched);
    cl->sched.label_fit = label_fit;
    cl->capacity_gen = 1;
    return cluster_queue_init(cl);
}

static void worker_free(struct worker *w)
{
    free(w->view);
    json_decref(w->labels);
    free(w->gpus);
    free(w);
}

/* Frees every worker and task. */
void cluster_free(struct cluster *cl)
{
    struct list_node *pos, *tmp;
    list_for_each_safe(pos, tmp, &cl->task_list)
        task_free(container_of(pos, struct task, all));
    list_for_each_safe(pos, tmp, &cl->worker_list)
        worker_free(container_of(pos, struct worker, all));
    dict_free(&cl->workers);
    dict_free(&cl->tasks);
    dict_free(&cl->gpus);
    heap_free(&cl->queue);
    sched_cluster_free(&cl->sched);
}

/* Empties cl, freeing every worker and task, and keeps its settings, its
 * observers and its counters (event and task ids keep growing, and cached
 * views of the workers see a new version): a
 * gantryd that stops leading, or starts to, begins again from nothing.
 * Returns 0 or -1 (no memory). */
int cluster_reset(struct cluster *cl)
{
    char observers[sizeof(cl->obs)];
    int nobs = cl->nobs;
    struct cluster_config cfg = cl->cfg;
    uint64_t event_ms = cl->event_ms, event_seq = cl->event_seq, seq = cl->seq;
    uint64_t workers_version = cl->workers_version;
    uint32_t id_counter = cl->id_counter;
    memcpy(observers, cl->obs, sizeof(observers));
    cluster_free(cl);
    int rc = cluster_init(cl, &cfg);
    memcpy(cl->obs, observers, sizeof(observers));
    cl->nobs = nobs;
    cl->event_ms = event_ms;
    cl->event_seq = event_seq;
    cl->seq = seq;
    cl->id_counter = id_counter;
    cl->workers_version = workers_version + 1;    /* views of the old set are stale */
    return rc;
}

/* Applies new settings (a reload); lists keep their members. */
void cluster_configure(struct cluster *cl, const struct cluster_config *cfg)
{
    cl->cfg = *cfg;
    cl->hb_list.timeout = cfg->heartbeat_timeout;
    cl->lost_list.timeout = cfg->lost_after;
}

/* Adds an observer: fn(ud, event) for every change. Returns 0 or -1. */
int cluster_observe(struct cluster *cl, cluster_observer_fn fn, void *ud)
{
    if (cl->nobs == CLUSTER_MAX_OBSERVERS)
        return -1;
    cl->obs[cl->nobs].fn = fn;
    cl->obs[cl->nobs].ud = ud;
    cl->nobs++;
    return 0;
}

/* Returns non-zero for the event types that belong in gantry:events. */
int cluster_event_recorded(enum cluster_event_type type)
{
    return type != CE_HEARTBEAT && type != CE_TASK_LOG && type != CE_TASK_ASSIGN &&
           type != CE_TASK_EVICTED;
}

/* Hands ev to every observer, in the order they were added; a recorded
 * event gets its id first. */
void cluster_emit(struct cluster *cl, struct cluster_event *ev)
{
    if (ev->name && cluster_event_recorded(ev->type)) {
        uint64_t ms = (uint64_t)time_ms(ev->now);
        if (ms > cl->event_ms) {
            cl->event_ms = ms;
            cl->event_seq = 0;
        } else {
            cl->event_seq++;
        }
        ev->eid_ms = cl->event_ms;
        ev->eid_seq = cl->event_seq;
    }
    for (int i = 0; i < cl->nobs; i++)
        cl->obs[i].fn(cl->obs[i].ud, ev);
}

static void emit_worker(struct cluster *cl, enum cluster_event_type type,
                        struct worker *w, const char *name, double now)
{
    struct cluster_event ev = {.type = type, .w = w, .name = name, .now = now};
    cluster_emit(cl, &ev);
}

/* Returns the GPU with this uuid, or NULL. */
struct worker_gpu *cluster_gpu(const struct cluster *cl, const char *uuid)
{
    struct dict_node *n = dict_find(&cl->gpus, uuid, strlen(uuid));
    return n ? container_of(n, struct worker_gpu, by_uuid) : NULL;
}

static void unindex_gpus(struct cluster *cl, struct worker *w)
{
    for (int i = 0; i < w->ngpus; i++)
        if (w->gpus[i].indexed)
            dict_remove(&cl->gpus, &w->gpus[i].by_uuid);
}

/* Sets w's GPUs (keeping the samples of those it had) and indexes them by
 * uuid; a uuid another worker has already stays that worker's. Returns 0,
 * or -1 on no memory (w unchanged). */
int cluster_set_gpus(struct cluster *cl, struct worker *w, const struct gpu_info *gpus, int n)
{
    struct worker_gpu *g = n ? calloc((size_t)n, sizeof(*g)) : NULL;
    if (n && !g)
        return -1;
    for (int i = 0; i < n; i++) {
        g[i].info = gpus[i];
        g[i].w = w;
        for (int k = 0; k < w->ngpus; k++) {
            if (strcmp(w->gpus[k].info.uuid, gpus[i].uuid) == 0) {
                g[i].last = w->gpus[k].last;
                g[i].last_ts = w->gpus[k].last_ts;
                g[i].stored_ms = w->gpus[k].stored_ms;
            }
        }
    }
    unindex_gpus(cl, w);
    free(w->gpus);
    w->gpus = g;
    w->ngpus = n;
    cluster_worker_changed(cl, w);
    for (int i = 0; i < n; i++) {
        if (!cluster_gpu(cl, g[i].info.uuid) &&
            dict_insert(&cl->gpus, &g[i].by_uuid, g[i].info.uuid, strlen(g[i].info.uuid)) == 0)
            g[i].indexed = 1;
    }
    return 0;
}

/* Returns the worker with this id, or NULL. */
struct worker *cluster_worker(const struct cluster *cl, const char *id)
{
    struct dict_node *n = dict_find(&cl->workers, id, strlen(id));
    return n ? container_of(n, struct worker, by_id) : NULL;
}

/* Adds an offline worker record for id. Returns NULL on no memory. */
struct worker *worker_create(struct cluster *cl, const char *id, double now)
{
    struct worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    snprintf(w->id, sizeof(w->id), "%s", id);
    w->state = WS_OFFLINE;
    w->node = -1;
    w->registered_at = now;
    w->state_since = now;
    idle_node_init(&w->idle);
    list_init(&w->tasks);
    if (dict_insert(&cl->workers, &w->by_id, w->id, strlen(w->id)) < 0) {
        free(w);
        return NULL;
    }
    list_insert_tail(&cl->worker_list, &w->all);
    cl->nworkers++;
    cl->workers_version++;
    return w;
}

/* Whether new tasks may go to w; capacity may grow when it becomes so. */
void cluster_update_usable(struct cluster *cl, struct worker *w)
{
    if (w->node < 0)
        return;
    struct sched_node *n = &cl->sched.nodes[w->node];
    uint8_t usable = w->state == WS_ACTIVE && !w->draining && w->session;
    /* Called on changes of w's state or draining only: capacity may have
     * grown, and a task pinned to w may wait for another reason now. */
    cl->capacity_gen++;
    if (n->usable != usable) {
        n->usable = usable;
        sched_node_changed(&cl->sched, w->node);
    }
}

/* Moves w to state st and tells observers. */
void cluster_set_worker_state(struct cluster *cl, struct worker *w,
                              enum worker_state st, double now)
{
    if (w->state == st)
        return;
    w->state = st;
    w->state_since = now;
    cluster_worker_changed(cl, w);
    cluster_update_usable(cl, w);
    static const char *const names[] = {"worker.active", "worker.inactive",
                                        "worker.offline"};
    emit_worker(cl, CE_WORKER_STATE, w, names[st], now);
}

/* Pre-registers id (POST /api/workers), or marks a worker that joined
 * unregistered as registered. Returns 0, 1 when it is registered already,
 * -1 on no memory. labels is borrowed. */
int cluster_register(struct cluster *cl, const char *id, json_t *labels,
                     double now, struct worker **out)
{
    struct worker *w = cluster_worker(cl, id);
    *out = w;
    if (w && w->registered)
        return 1;
    if (!w && !(*out = w = worker_create(cl, id, now)))
        return -1;
    w->registered = 1;
    if (labels) {
        json_decref(w->labels);
        w->labels = json_incref(labels);
    }
    emit_worker(cl, CE_WORKER_REGISTERED, w, "worker.registered", now);
    return 0;
}

static void restore_gpus(struct cluster *cl, struct worker *w, json_t *list)
{
    struct gpu_info gpus[SCHED_MAX_GPUS];
    int n = 0;
    size_t i;
    json_t *g;
    json_array_foreach(list, i, g) {
        const char *uuid = json_string_value(json_object_get(g, "uuid"));
        if (!uuid || n == SCHED_MAX_GPUS)
            continue;
        struct gpu_info *gi = &gpus[n++];
        memset(gi, 0, sizeof(*gi));
        gi->index = (int)json_integer_value(json_object_get(g, "index"));
        snprintf(gi->uuid, sizeof(gi->uuid), "%s", uuid);
        const char *model = json_string_value(json_object_get(g, "model"));
        const char *dev = json_string_value(json_object_get(g, "device"));
        snprintf(gi->model, sizeof(gi->model), "%s", model ? model : "unknown");
        snprintf(gi->device, sizeof(gi->device), "%.15s", dev ? dev : "");
        gi->memory_mib = (int64_t)json_integer_value(json_object_get(g, "memory_mib"));
    }
    cluster_set_gpus(cl, w, gpus, n);
}

/* Recreates an offline worker from its stored registration (at start),
 * unless it is known already. It is lost after lost_after unless its agent
 * comes back. Returns the worker, or NULL. */
struct worker *cluster_restore_worker(struct cluster *cl, json_t *reg, double now)
{
    const char *id = json_string_value(json_object_get(reg, "worker_id"));
    if (!id || !worker_id_valid(id))
        return NULL;
    struct worker *w = cluster_worker(cl, id);
    if (w)
        return w;
    if (!(w = worker_create(cl, id, now)))
        return NULL;
    json_t *cap = json_object_get(reg, "capacity");
    w->cpu_cores = json_number_value(json_object_get(cap, "cpu"));
    w->memory_mib = (int64_t)json_number_value(json_object_get(cap, "memory_mib"));
    w->storage_mib = (int64_t)json_number_value(json_object_get(cap, "storage_mib"));
    w->registered = json_is_true(json_object_get(reg, "registered"));
    const char *host = json_string_value(json_object_get(reg, "hostname"));
    snprintf(w->hostname, sizeof(w->hostname), "%.63s", host ? host : id);
    json_t *labels = json_object_get(reg, "labels");
    if (json_is_object(labels))
        w->labels = json_incref(labels);
    restore_gpus(cl, w, json_object_get(cap, "gpus"));
    w->joined = json_array_size(json_object_get(cap, "gpus")) > 0 || w->cpu_cores > 0;
    if (w->joined)
        idle_touch(&cl->lost_list, &w->idle, now);
    return w;
}

/* Forgets w (DELETE /api/workers/{id}): its tasks go back to the queue.
 * Observers see CE_WORKER_REMOVED before w is freed. Returns 0. */
int cluster_unregister(struct cluster *cl, struct worker *w, double now)
{
    cluster_requeue_worker_tasks(cl, w, "worker_removed", now);
    emit_worker(cl, CE_WORKER_REMOVED, w, "worker.removed", now);
    idle_remove(&cl->hb_list, &w->idle);
    idle_remove(&cl->lost_list, &w->idle);
    if (w->node >= 0)
        sched_node_remove(&cl->sched, w->node);
    unindex_gpus(cl, w);
    dict_remove(&cl->workers, &w->by_id);
    list_unlink(&w->all);
    cl->nworkers--;
    cl->workers_version++;
    worker_free(w);
    return 0;
}

/* Starts (drain = 1) or ends draining: a draining worker finishes its tasks
 * and gets no new ones. Returns 0. */
int cluster_drain(struct cluster *cl, struct worker *w, int drain, double now)
{
    if (w->draining == drain)
        return 0;
    w->draining = drain;
    cluster_worker_changed(cl, w);
    cluster_update_usable(cl, w);
    emit_worker(cl, CE_WORKER_STATE, w, drain ? "worker.draining" : "worker.active", now);
    return 0;
}

/* The agent's connection closed: w is offline, and lost if it does not
 * come back within lost_after. */
void cluster_disconnect(struct cluster *cl, struct worker *w, double now)
{
    w->session = 0;
    idle_remove(&cl->hb_list, &w->idle);
    if (!w->lost)
        idle_touch(&cl->lost_list, &w->idle, now);
    cluster_set_worker_state(cl, w, WS_OFFLINE, now);
    cluster_update_usable(cl, w);
}

/* Moves expired workers along: active -> inactive after heartbeat_timeout
 * without a heartbeat; inactive or offline -> lost after lost_after (their
 * tasks are requeued). Returns when to call again (absolute time). */
double cluster_expire(struct cluster *cl, double now)
{
    struct idle_node *n;
    while ((n = idle_pop_expired(&cl->hb_list, now))) {
        struct worker *w = container_of(n, struct worker, idle);
        idle_touch(&cl->lost_list, &w->idle, now);
        cluster_set_worker_state(cl, w, WS_INACTIVE, now);
    }
    while ((n = idle_pop_expired(&cl->lost_list, now))) {
        struct worker *w = container_of(n, struct worker, idle);
        w->lost = 1;
        cl->stats.lost_workers++;
        cluster_requeue_worker_tasks(cl, w, "worker_lost", now);
        emit_worker(cl, CE_WORKER_LOST, w, "worker.lost", now);
    }
    double next = now + 1.0, d;
    if (idle_next_deadline(&cl->hb_list, &d) == 0 && d < next)
        next = d;
    if (idle_next_deadline(&cl->lost_list, &d) == 0 && d < next)
        next = d;
    return next;
}
