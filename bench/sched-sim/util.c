/* Helpers shared by the simulator's modes: a seeded random generator,
 * the clock, statistics, and building a sched_cluster from the trace. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

/* splitmix64: returns the next 64 random bits of the stream in *state. */
uint64_t sim_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Returns a uniform integer in [0, n). */
int sim_rng_below(uint64_t *state, int n)
{
    return (int)(sim_rng_next(state) % (uint64_t)n);
}

/* Returns a monotonic clock in seconds. */
double sim_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v and returns its p-th percentile (0..100, nearest rank); 0 when
 * n is 0. */
double sim_percentile(double *v, int n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof(*v), dbl_cmp);
    int k = (int)(p / 100.0 * n + 0.5);
    k = k < 1 ? 1 : k > n ? n : k;
    return v[k - 1];
}

/* Returns the median of v, leaving v as it was (n at most SIM_MAX_SEEDS). */
double sim_median(const double *v, int n)
{
    double tmp[SIM_MAX_SEEDS];
    if (n <= 0 || n > SIM_MAX_SEEDS)
        return 0;
    memcpy(tmp, v, (size_t)n * sizeof(*v));
    qsort(tmp, (size_t)n, sizeof(*tmp), dbl_cmp);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* Returns the mean of v (0 when n is 0). */
double sim_mean(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return n ? s / n : 0;
}

static int node_from_trace(struct sched_cluster *c, const struct sim_node *t)
{
    int idx = sched_node_add(c);
    if (idx < 0)
        return -1;
    struct sched_node *n = &c->nodes[idx];
    n->cpu_total = n->cpu_free = t->cpu;
    n->mem_total = n->mem_free = t->mem;
    n->ngpus = (uint8_t)t->gpus;
    n->model = t->gpus > 0 ? (uint8_t)sched_model_id(c, t->model) : SCHED_NO_MODEL;
    n->executors = SCHED_EXEC_PROCESS | SCHED_EXEC_DOCKER;
    n->usable = 1;
    for (int g = 0; g < t->gpus; g++)
        n->gpu_free[g] = 1000;
    sched_node_changed(c, idx);
    return 0;
}

/* Fills an initialised cluster with the trace's nodes (only those with
 * GPUs if gpu_nodes_only), in the order of perm (indexes into t->nodes,
 * NULL for the file's order). Returns 0 or -1. */
int sim_cluster_build(struct sched_cluster *c, const struct sim_trace *t,
                      int gpu_nodes_only, int *perm)
{
    for (int k = 0; k < t->nnodes; k++) {
        const struct sim_node *n = &t->nodes[perm ? perm[k] : k];
        if (gpu_nodes_only && n->gpus == 0)
            continue;
        if (node_from_trace(c, n) < 0)
            return -1;
    }
    return 0;
}

/* Turns a trace pod into a request: num_gpu whole GPUs when gpu_milli is
 * 1000 (or num_gpu > 1, as every such pod in the trace wants whole GPUs),
 * else a gpu_milli share of one GPU. */
void sim_pod_req(const struct sched_cluster *c, const struct sim_pod *p,
                 struct sched_req *r)
{
    memset(r, 0, sizeof(*r));
    r->cpu = p->cpu;
    r->mem = p->mem;
    if (p->num_gpu > 1 || (p->num_gpu == 1 && p->gpu_milli >= 1000))
        r->gpus = p->num_gpu;
    else if (p->num_gpu == 1 && p->gpu_milli > 0)
        r->gpu_milli = p->gpu_milli;
    r->models = sched_model_mask(c, p->spec);
}
