/* The scheduler's model of a cluster and its placement policies. Pure C: no
 * I/O. gantryd keeps one sched_node per worker in a sched_cluster and asks a
 * policy where a task goes; bench/sched-sim drives the same code over the
 * Alibaba trace. Units: CPU in milli-cores, memory and storage in MiB, GPU
 * in milli-GPUs (1000 = one whole GPU). docs/scheduling.md gives each
 * policy's formula.
 *
 * Whoever edits a node's fields directly (capacity, free amounts, usable,
 * model) must call sched_node_changed afterwards: the policies scale
 * scores by the largest node's capacity, kept between placements.
 * sched_commit and sched_release need no call. (fgd's cached
 * fragmentation checks the node's state itself.) */
#ifndef GANTRY_SCHED_H
#define GANTRY_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "dict.h"

#define SCHED_MAX_GPUS 16
#define SCHED_MAX_MODELS 64
#define SCHED_NO_MODEL 0xFF
#define SCHED_ANY_MODEL (~(uint64_t)0)

/* Runtime assumed for a key never seen, when nothing at all was learned. */
#define SCHED_RUNTIME_DEFAULT 600.0
/* Weight of the newest observation in the runtime moving average. */
#define SCHED_RUNTIME_ALPHA 0.3
/* fgd's typical task classes cover this share of the observed tasks. */
#define SCHED_TYPICAL_SHARE 0.95

enum sched_executor {
    SCHED_EXEC_PROCESS = 1,
    SCHED_EXEC_DOCKER = 2,
};

struct sched_node {
    int64_t cpu_total, cpu_free;
    int64_t mem_total, mem_free;
    int64_t disk_total, disk_free;
    uint8_t ngpus;
    uint8_t model;            /* id from sched_model_id, or SCHED_NO_MODEL */
    uint8_t executors;        /* enum sched_executor bits */
    uint8_t usable;           /* 0: slot free, worker inactive or draining */
    uint32_t ntasks;          /* tasks placed here */
    uint16_t gpu_free[SCHED_MAX_GPUS]; /* free milli-GPUs of each GPU */
    void *owner;              /* the caller's object (gantryd: its worker) */
    /* Kept by the scheduler; callers leave them alone. */
    double end_sum;           /* sum of the expected end times placed here */
    struct {                  /* fgd: fragmentation of the state below */
        double value;
        uint32_t epoch;       /* c->frag_epoch it was computed for; 0: none */
        int64_t cpu;
        uint8_t model, ngpus;
        uint16_t gpu[SCHED_MAX_GPUS];
    } frag;
};

struct sched_req {
    int64_t cpu, mem, disk;
    int gpus;                 /* whole GPUs wanted; 0 when a share or none */
    int gpu_milli;            /* 1..999: a share of one GPU; else 0 */
    uint64_t models;          /* bit i: model id i is acceptable; SCHED_ANY_MODEL */
    uint8_t executor;         /* the executor bit the task needs */
    const void *labels;       /* opaque; checked with cluster->label_fit */
    int pin;                  /* 1 + the only node allowed; 0 = any node */
    double est_runtime;       /* seconds (sched_runtime_estimate); 0 = unknown */
};

struct sched_choice {
    int node;                 /* index into cluster->nodes */
    int ngpu;
    uint8_t gpu[SCHED_MAX_GPUS];
    int milli;                /* milli-GPUs taken on each chosen GPU */
    double est_end;           /* c->now + est_runtime at placement */
};

/* One kind of task, for fgd: what it needs and how often it was seen. */
struct sched_class {
    int64_t cpu;
    int gpus;                 /* GPUs it needs (1 for a share) */
    int milli;                /* milli-GPUs on each of them (1000: whole) */
    uint64_t models;
    double count;             /* observations */
    double weight;            /* share among the typical classes, or 0 */
};

struct sched_policy;

struct sched_cluster {
    struct sched_node *nodes;
    int nnodes, cap;          /* slots in use (some may be free), allocated */
    int *free_slots;
    int nfree;
    char *models[SCHED_MAX_MODELS];
    int nmodels;
    int rr_cursor;            /* round-robin's next node */
    double scale_cpu, scale_gpu; /* largest node capacities, for scoring */
    int scale_stale;          /* recompute them before the next placement */
    double now;               /* the caller's clock, seconds; set before placing */
    /* Extra constraint for requests with labels; NULL = no labels used. */
    int (*label_fit)(const struct sched_node *n, const void *labels);
    /* Workload seen by sched_workload_observe, and fgd's typical classes
     * derived from it: those needing GPUs (largest share first) and the
     * weight of those needing none. Rebuilt when typical_dirty is set. */
    struct sched_class *classes;
    int nclasses, classes_cap;
    struct sched_class *typical;
    int ntypical;
    double typical_cpu;
    int typical_dirty;
    uint32_t frag_epoch;      /* bumped when the typical classes change */
    /* Runtime estimates, by image/command key. */
    struct dict runtimes;
    double runtime_all;       /* average over every observation */
    uint64_t runtime_count;
};

const struct sched_policy *sched_policy_find(const char *name);
const char *sched_policy_list(void);
const char *sched_policy_name(const struct sched_policy *p);
const struct sched_policy *sched_policy_at(int i);

void sched_cluster_init(struct sched_cluster *c);
void sched_cluster_free(struct sched_cluster *c);
int sched_node_add(struct sched_cluster *c);
void sched_node_remove(struct sched_cluster *c, int idx);
void sched_node_changed(struct sched_cluster *c, int idx);
int sched_model_id(struct sched_cluster *c, const char *name);
uint64_t sched_model_mask(const struct sched_cluster *c, const char *spec);
int sched_model_matches(const char *model, const char *token, size_t toklen);

int sched_fits(const struct sched_cluster *c, const struct sched_node *n,
               const struct sched_req *r);
int sched_place(struct sched_cluster *c, const struct sched_policy *p,
                const struct sched_req *r, struct sched_choice *out);
void sched_commit(struct sched_cluster *c, const struct sched_req *r,
                  const struct sched_choice *ch);
void sched_release(struct sched_cluster *c, const struct sched_req *r,
                   const struct sched_choice *ch);
int sched_explain(const struct sched_cluster *c, const struct sched_req *r,
                  const char *model_spec, char *out, size_t outlen);
int sched_explain_node(const struct sched_cluster *c, int idx, const struct sched_req *r,
                       const char *model_spec, char *out, size_t outlen);

int sched_workload_observe(struct sched_cluster *c, const struct sched_req *r);
double sched_fragmentation(struct sched_cluster *c);

int sched_runtime_learn(struct sched_cluster *c, const char *key,
                        double seconds);
double sched_runtime_estimate(const struct sched_cluster *c, const char *key);

#endif
