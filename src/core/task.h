/* Tasks: what a user submits (validated here, field by field), their state
 * machine (queued -> assigned -> running -> completed | failed | cancelled,
 * back to queued when the worker is lost), and their JSON form, which is the
 * same in the API and in Redis. */
#ifndef GANTRY_TASK_H
#define GANTRY_TASK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dict.h"
#include "list.h"
#include "loglimit.h"
#include "sched.h"

enum task_status {
    TS_QUEUED,
    TS_ASSIGNED,
    TS_RUNNING,
    TS_COMPLETED,
    TS_FAILED,
    TS_CANCELLED,
};

#define TASK_ID_MAX 40

struct worker;

struct task {
    char id[TASK_ID_MAX];
    struct dict_node by_id;
    struct list_node all;         /* every task, in submission order */
    struct list_node on_worker;   /* the worker's assigned/running tasks */
    struct list_node blocked;     /* waiting for capacity to free up */
    size_t heap_pos;              /* position in the queue, or (size_t)-1 */
    uint64_t seq;                 /* submission order, ties in the queue */
    double rank;                  /* queue key: higher goes first */

    /* What was asked. */
    char *docker_image;
    json_t *command;              /* array of strings, or a string */
    json_t *env;                  /* object or NULL */
    json_t *labels;               /* object or NULL: required worker labels */
    char *gpu_model;
    char *user_id;
    char *tag;
    char *pinned_worker;          /* the only worker it may run on, or NULL */
    double cpu, gpu;              /* cores, GPUs (a fraction < 1 = a share) */
    int64_t memory_mib, storage_mib;
    int priority;
    int max_attempts;
    double timeout;               /* seconds; 0 = none */
    struct sched_req req;

    /* What happened. */
    enum task_status status;
    char worker_id[72];
    struct worker *worker;        /* while assigned or running */
    struct sched_choice placement;
    int placed;                   /* resources taken on worker */
    int attempts;
    int exit_code;
    int has_exit_code;
    char *reason;
    double created_at, assigned_at, started_at, finished_at;
    int cancel_requested;
    int adopted;                  /* seen in the worker's hello */
    double usage_cpu;             /* percent of one core, last heartbeat */
    int64_t usage_mem_mib;
    char *pending_reason;         /* why it waits ("no worker with ...") */
    uint64_t blocked_gen;         /* capacity generation it failed at */
    struct buf logs;              /* recent log lines, bounded */
    uint64_t log_seq;
    uint64_t log_ms;
    uint64_t log_dropped;         /* records evicted from the memory buffer */
    struct log_limit log_limit;   /* output over the rate or the size: cut */
};

struct task_error {
    char field[64];
    char message[256];
};

struct task_defaults {
    int max_attempts;
};

const char *task_status_name(enum task_status s);
int task_status_parse(const char *s, enum task_status *out);
int task_status_terminal(enum task_status s);

struct task *task_from_json(json_t *body, const struct task_defaults *def,
                            struct task_error *err);
struct task *task_restore(json_t *record, struct task_error *err);
void task_free(struct task *t);
json_t *task_to_json(const struct task *t);
void task_set_reason(struct task *t, const char *reason);
void task_make_id(char *out, size_t outlen, double now, uint32_t counter);
const char *task_runtime_key(const struct task *t, char *out, size_t outlen);
int task_image_valid(const char *ref);

#endif
