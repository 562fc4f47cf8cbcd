/* The cluster: workers, tasks, the queue and the scheduler, as one pure
 * state machine. Callers (agent sessions, HTTP handlers, timers) call its
 * operations with the time; it reports every change through observers
 * (the store persists them, WebSockets stream them, agent sessions send
 * assignments and cancels). It never does I/O itself. */
#ifndef GANTRY_CLUSTER_H
#define GANTRY_CLUSTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "dict.h"
#include "gpumetric.h"
#include "heap.h"
#include "idle.h"
#include "list.h"
#include "sched.h"
#include "task.h"
#include "worker.h"

#define CLUSTER_MAX_OBSERVERS 8
#define HB_MAX_GPUS SCHED_MAX_GPUS
#define HB_MAX_TASKS 64

struct cluster_config {
    double heartbeat_timeout;
    double lost_after;
    double aging;                 /* seconds of waiting worth one priority level */
    double slice;                 /* longest scheduling run, seconds */
    int max_attempts;
    long keep_finished;
    size_t log_buffer;
    size_t log_rate;              /* log bytes a task may write per second */
    size_t log_max;               /* log bytes a task may write in all */
    int require_registration;
    const struct sched_policy *policy;
};

/* A parsed hello (pointers borrowed from the decoded frame). */
struct hello {
    int version;
    const char *worker_id;
    const char *hostname;
    double cpu;
    int64_t memory_mib, storage_mib;
    int ngpus;
    struct gpu_info gpus[HB_MAX_GPUS];
    uint8_t executors;
    json_t *labels;               /* object or NULL */
    json_t *running;              /* array of {task_id, status, ...} or NULL */
};

struct hb_gpu {
    int index;                    /* GPU index on the worker, or -1 */
    const char *uuid;             /* or NULL */
    struct gpu_sample sample;
};

struct hb_task {
    const char *task_id;
    int attempt;                  /* the assignment it runs, or -1 */
    double cpu_usage;
    int64_t memory_mib;
};

/* A parsed heartbeat. Usage fields are percents; has_* say what came. */
struct heartbeat {
    uint64_t seq;
    double timestamp;
    double cpu_usage, memory_usage, storage_usage, gpu_usage;
    unsigned has_cpu : 1, has_memory : 1, has_storage : 1, has_gpu : 1;
    int ngpus;
    struct hb_gpu gpus[HB_MAX_GPUS];
    int ntasks;
    struct hb_task tasks[HB_MAX_TASKS];
};

enum cluster_event_type {
    CE_WORKER_JOINED,             /* hello accepted */
    CE_WORKER_STATE,              /* active/inactive/offline/draining changed */
    CE_WORKER_LOST,               /* lost_after passed; tasks requeued */
    CE_WORKER_REGISTERED,         /* POST /api/workers */
    CE_WORKER_REMOVED,            /* DELETE /api/workers/{id}; w is freed after */
    CE_HEARTBEAT,                 /* telemetry updated (hb holds the samples) */
    CE_TASK_SUBMITTED,
    CE_TASK_STATE,                /* t->status changed (or requeued) */
    CE_TASK_ASSIGN,               /* send the assignment to t's worker */
    CE_TASK_CANCEL,               /* ask t's worker to stop it (grace) */
    CE_TASK_LOG,                  /* an output chunk of t */
    CE_TASK_EVICTED,              /* a finished t leaves memory; t freed after */
    CE_TASK_DISOWN,               /* w runs a copy of task `data` it does not hold */
};

struct cluster_event {
    enum cluster_event_type type;
    struct worker *w;
    struct task *t;
    const char *name;             /* "worker.active", "task.completed", ... */
    const struct heartbeat *hb;
    const char *stream;           /* log: "stdout" or "stderr" */
    const char *data;
    size_t len;
    uint64_t log_seq, log_ms;     /* log: the record's id, ms-seq */
    double grace;                 /* cancel: seconds before SIGKILL */
    double now;
    /* Events that go to gantry:events get an id "<ms>-<seq>" that grows
     * strictly; the store writes it and live streams show it. 0 = none. */
    uint64_t eid_ms, eid_seq;
};

typedef void (*cluster_observer_fn)(void *ud, const struct cluster_event *ev);

struct cluster {
    struct cluster_config cfg;
    struct dict workers;
    struct list_node worker_list;
    unsigned long nworkers;
    uint64_t workers_version;      /* bumped when any worker changes, joins or goes */
    struct dict tasks;
    struct dict gpus;              /* uuid -> struct worker_gpu */
    struct list_node task_list;    /* submission order */
    struct list_node finished;     /* terminal tasks, oldest first */
    unsigned long nfinished;
    unsigned long by_status[TS_CANCELLED + 1]; /* tasks in memory, by status */
    struct heap queue;
    struct list_node blocked;      /* queued tasks that fit nowhere */
    unsigned long nblocked;
    uint64_t capacity_gen;         /* bumped whenever capacity may have grown */
    uint64_t blocked_gen;          /* the generation blocked tasks failed at */
    struct list_node *retry_pos;   /* walking the blocked list: next to try */
    uint64_t retry_gen;            /* the generation that walk started at */
    struct idle_list hb_list;      /* active workers by last heartbeat */
    struct idle_list lost_list;    /* inactive/offline workers, since when */
    struct sched_cluster sched;
    uint32_t id_counter;
    uint64_t seq;
    uint64_t event_ms, event_seq; /* the last event id given */
    struct {
        cluster_observer_fn fn;
        void *ud;
    } obs[CLUSTER_MAX_OBSERVERS];
    int nobs;
    struct {
        uint64_t heartbeats, submitted, placed, requeued, lost_workers;
        uint64_t passes, yields;  /* scheduler runs; those cut at the slice */
        double max_slice;         /* longest run, seconds */
        uint64_t finished[TS_CANCELLED + 1]; /* tasks that ended, by status, since start */
    } stats;
};

/* Marks w changed: cached views of it, and of all workers, are stale. */
static inline void cluster_worker_changed(struct cluster *cl, struct worker *w)
{
    worker_changed(w);
    cl->workers_version++;
}

enum cluster_hello_error {
    HELLO_OK = 0,
    HELLO_DUPLICATE,              /* a live worker has this id */
    HELLO_UNREGISTERED,           /* require_registration and unknown id */
    HELLO_NOMEM,
};

int cluster_init(struct cluster *cl, const struct cluster_config *cfg);
void cluster_free(struct cluster *cl);
int cluster_reset(struct cluster *cl);
void cluster_configure(struct cluster *cl, const struct cluster_config *cfg);
int cluster_observe(struct cluster *cl, cluster_observer_fn fn, void *ud);

struct worker *cluster_worker(const struct cluster *cl, const char *id);
struct worker_gpu *cluster_gpu(const struct cluster *cl, const char *uuid);
int cluster_set_gpus(struct cluster *cl, struct worker *w, const struct gpu_info *gpus, int n);
enum cluster_hello_error cluster_hello(struct cluster *cl, const struct hello *h,
                                       uint64_t session, const char *address,
                                       double now, json_t **adopt, json_t **cancel);
void cluster_heartbeat(struct cluster *cl, struct worker *w,
                       const struct heartbeat *hb, double now);
void cluster_disconnect(struct cluster *cl, struct worker *w, double now);
int cluster_register(struct cluster *cl, const char *id, json_t *labels,
                     double now, struct worker **out);
int cluster_unregister(struct cluster *cl, struct worker *w, double now);
struct worker *cluster_restore_worker(struct cluster *cl, json_t *reg, double now);
int cluster_drain(struct cluster *cl, struct worker *w, int drain, double now);
double cluster_expire(struct cluster *cl, double now);

struct task *cluster_task(const struct cluster *cl, const char *id);
int cluster_submit(struct cluster *cl, struct task *t, double now);
int cluster_adopt_task(struct cluster *cl, struct task *t, double now);
int cluster_cancel(struct cluster *cl, struct task *t, double grace, double now);
/* What an agent's word about a task came to. */
enum cluster_task_rc {
    TASK_APPLIED = 0,
    TASK_IGNORED = 1,             /* already applied (a resent result) */
    TASK_UNKNOWN = -1,
    TASK_NOT_HELD = -2,           /* not this worker's, or not this attempt */
};
int cluster_task_started(struct cluster *cl, struct worker *w, const char *id,
                         int attempt, double now);
int cluster_task_finished(struct cluster *cl, struct worker *w, const char *id,
                          int attempt, enum task_status status, int has_exit,
                          int exit_code, const char *reason, double now);
int cluster_task_stopped(struct cluster *cl, struct worker *w, const char *id,
                         double now);
void cluster_task_log_cut(struct cluster *cl, struct worker *w, const char *id, int attempt,
                          uint64_t bytes, double now);
void cluster_requeue(struct cluster *cl, struct task *t, const char *why, double now);
int cluster_task_log(struct cluster *cl, struct worker *w, const char *id,
                     int attempt, const char *stream, const char *data,
                     size_t len, double now);
int cluster_schedule(struct cluster *cl, double now, double budget);
int cluster_pending(const struct cluster *cl);

void cluster_emit(struct cluster *cl, struct cluster_event *ev);
int cluster_event_recorded(enum cluster_event_type type);

/* Log records kept in a task's memory buffer. */
struct task_log_entry {
    uint64_t seq, ms;             /* the id: "<ms>-<seq>" */
    double ts;
    int stream;                   /* 1 stdout, 2 stderr */
    const char *data;
    uint32_t len;
};
int task_log_next(const struct task *t, size_t *pos, struct task_log_entry *e);

#endif
