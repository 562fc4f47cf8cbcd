/* Workers as gantryd knows them: identity, capacity (in the scheduler's
 * node), state, latest telemetry with per-GPU samples, and the tasks placed
 * on them. */
#ifndef GANTRY_WORKER_H
#define GANTRY_WORKER_H

#include <jansson.h>
#include <stdint.h>

#include "dict.h"
#include "gpumetric.h"
#include "idle.h"
#include "list.h"

#define WORKER_ID_MAX 72

enum worker_state {
    WS_ACTIVE,                    /* heartbeats arriving */
    WS_INACTIVE,                  /* connected, silent past heartbeat_timeout */
    WS_OFFLINE,                   /* not connected */
};

struct worker;

struct worker_gpu {
    struct gpu_info info;
    struct dict_node by_uuid;     /* in the cluster's GPU index */
    struct worker *w;
    int indexed;
    struct gpu_sample last;       /* latest sample (present bits say what) */
    double last_ts;               /* its time */
    int64_t stored_ms;            /* the store's mark: newest sample written */
};

struct worker {
    char id[WORKER_ID_MAX];
    struct dict_node by_id;
    struct list_node all;
    struct idle_node idle;        /* heartbeat list when active, else lost list */
    enum worker_state state;
    int draining;
    int registered;               /* pre-registered (POST /api/workers) */
    int joined;                   /* has said hello at least once */
    int lost;                     /* lost_after passed; its tasks went back */
    uint64_t session;             /* the agent connection's id, 0 if none */
    char address[48];
    char hostname[64];
    json_t *labels;               /* object or NULL */
    uint8_t executors;
    int node;                     /* scheduler node index, or -1 */
    double cpu_cores;
    int64_t memory_mib, storage_mib;
    int ngpus;
    struct worker_gpu *gpus;
    double cpu_usage, memory_usage, storage_usage, gpu_usage;
    double last_heartbeat;        /* wall clock of the last heartbeat */
    double registered_at, state_since;
    uint64_t hb_seq, heartbeats;
    struct list_node tasks;       /* assigned and running tasks */
    int ntasks;
    double stored_at;             /* the store's mark: when its hash was written */
    uint64_t version;             /* bumped on every change the API shows */
    char *view;                   /* the API's cached JSON of it (free()d here) */
    size_t view_len;
    uint64_t view_version;        /* the version the cache was made at */
};

/* Marks w changed: cached views of it are stale. */
static inline void worker_changed(struct worker *w)
{
    w->version++;
}

const char *worker_state_name(const struct worker *w);
int worker_id_valid(const char *id);
int worker_gpu_index(const struct worker *w, const char *uuid, int index);

#endif
