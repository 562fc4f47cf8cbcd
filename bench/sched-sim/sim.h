/* sched-sim: drives Gantry's placement policies (src/core/sched.h) over the
 * Alibaba GPU trace (Weng et al., USENIX ATC'23) or a synthetic workload.
 * Modes: fill (the paper's protocol), replay (arrivals and departures in
 * trace time), synthetic (a small seeded cluster, every policy) and place
 * (a file's pods in order, printing where each went). */
#ifndef GANTRY_SCHED_SIM_H
#define GANTRY_SCHED_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "core/sched.h"

#define SIM_MODEL_MAX 32
#define SIM_SPEC_MAX 96
#define SIM_MAX_SEEDS 256

struct sim_node {
    char name[32];
    int64_t cpu, mem;
    int gpus;
    char model[SIM_MODEL_MAX];
};

struct sim_pod {
    char name[32];
    int64_t cpu, mem;
    int num_gpu, gpu_milli;
    char spec[SIM_SPEC_MAX];      /* "V100M16|V100M32", or "" for any */
    double created, deleted;      /* seconds */
};

struct sim_trace {
    struct sim_node *nodes;
    int nnodes;
    struct sim_pod *pods;
    int npods;
};

struct sim_opts {
    const char *nodes_path, *pods_path;
    const char *policy;           /* NULL in synthetic mode: every policy */
    const char *mode;             /* "fill", "replay", "synthetic" or "place" */
    double tune;
    int seeds[SIM_MAX_SEEDS];
    int nseeds;
    int gpu_nodes_only;
    int json;
};

/* A task as the simulator keeps it: the request and its bookkeeping. */
struct sim_task {
    struct sched_req req;
    struct sched_choice where;
    char key[160];                /* runtime-estimate key */
    double arrive, runtime, start, end;
    int placed;
};

/* The results of one event-driven run (replay and synthetic). */
struct sim_run {
    int tasks, placed, never;
    double makespan, wait_mean, wait_p50, wait_p99;
    double util_cpu, util_gpu, util_mem;  /* time averages, percent */
    double gpu_peak;              /* most GPU allocated at once, percent */
    double seconds;               /* wall time spent placing */
    long decisions;
};

int sim_trace_load(struct sim_trace *t, const char *nodes_path,
                   const char *pods_path, char *err, size_t errlen);
void sim_trace_free(struct sim_trace *t);

uint64_t sim_rng_next(uint64_t *state);
int sim_rng_below(uint64_t *state, int n);
double sim_now(void);
double sim_percentile(double *v, int n, double p);
double sim_mean(const double *v, int n);
double sim_median(const double *v, int n);

int sim_cluster_build(struct sched_cluster *c, const struct sim_trace *t,
                      int gpu_nodes_only, int *perm);
void sim_pod_req(const struct sched_cluster *c, const struct sim_pod *p,
                 struct sched_req *r);

int sim_fill(const struct sim_opts *o, const struct sim_trace *t,
             const struct sched_policy *p);
int sim_replay(const struct sim_opts *o, const struct sim_trace *t,
               const struct sched_policy *p);
int sim_synthetic(const struct sim_opts *o);
int sim_place(const struct sim_opts *o, const struct sim_trace *t,
              const struct sched_policy *p);
int sim_events(struct sched_cluster *c, const struct sched_policy *p,
               struct sim_task *tasks, int ntasks, struct sim_run *out);

#endif
