/* The placement policies that score one node at a time, and the policy
 * table. Every score here is "lower is better"; ties go to the lowest node
 * index. The formulas are in docs/scheduling.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sched_policy.h"

typedef double (*score_fn)(const struct sched_cluster *c,
                           const struct sched_node *n,
                           const struct sched_req *r,
                           const struct sched_scale *s);

/* Returns the free milli-GPUs of n, all GPUs together. */
int sched_gpus_free(const struct sched_node *n)
{
    int sum = 0;
    for (int g = 0; g < n->ngpus; g++)
        sum += n->gpu_free[g];
    return sum;
}

static int gpu_take(const struct sched_req *r)
{
    return r->gpus > 0 ? r->gpus * 1000 : r->gpu_milli;
}

/* Fills s with the largest CPU and GPU capacity of any usable node (at
 * least 1), so that amounts of different nodes compare on one scale. They
 * are recomputed only after nodes were added, removed or changed. */
void sched_scale_of(struct sched_cluster *c, struct sched_scale *s)
{
    if (c->scale_stale || c->scale_cpu <= 0) {
        c->scale_cpu = c->scale_gpu = 1;
        for (int i = 0; i < c->nnodes; i++) {
            const struct sched_node *n = &c->nodes[i];
            if (!n->usable)
                continue;
            c->scale_cpu = fmax(c->scale_cpu, (double)n->cpu_total);
            c->scale_gpu = fmax(c->scale_gpu, 1000.0 * n->ngpus);
        }
        c->scale_stale = 0;
    }
    s->cpu = c->scale_cpu;
    s->gpu = c->scale_gpu;
}

/* Returns what n would have left after r: its free CPU and GPU, each
 * scaled by the cluster's largest node, averaged. Memory and storage are
 * constraints (sched_fits), not part of the score, as in the BestFit of
 * Weng et al. (USENIX ATC'23). */
double sched_left_after(const struct sched_node *n, const struct sched_req *r,
                        const struct sched_scale *s)
{
    double cpu = (double)(n->cpu_free - r->cpu) / s->cpu;
    double gpu = (double)(sched_gpus_free(n) - gpu_take(r)) / s->gpu;
    return (cpu + gpu) / 2;
}

/* Used fractions of n after r: cpu, memory and, on a GPU node, GPU. Returns
 * how many were written. */
static int used_after(const struct sched_node *n, const struct sched_req *r,
                      double used[3])
{
    int k = 0;
    if (n->cpu_total > 0)
        used[k++] = 1 - (double)(n->cpu_free - r->cpu) / (double)n->cpu_total;
    if (n->mem_total > 0)
        used[k++] = 1 - (double)(n->mem_free - r->mem) / (double)n->mem_total;
    if (n->ngpus > 0)
        used[k++] = 1 - (double)(sched_gpus_free(n) - gpu_take(r)) /
                            (1000.0 * n->ngpus);
    return k;
}

static double mean_of(const double *v, int k)
{
    double sum = 0;
    for (int i = 0; i < k; i++)
        sum += v[i];
    return k ? sum / k : 0;
}

static int place_by_score(struct sched_cluster *c, const struct sched_req *r,
                          score_fn score)
{
    struct sched_scale s;
    sched_scale_of(c, &s);
    int best = -1;
    double best_score = 0;
    for (int i = 0; i < c->nnodes; i++) {
        if (!sched_fits_inline(c, &c->nodes[i], r))
            continue;
        double v = score(c, &c->nodes[i], r, &s);
        if (best < 0 || v < best_score) {
            best = i;
            best_score = v;
        }
    }
    return best;
}

/* first-fit: the lowest-numbered node that fits. */
static int place_first_fit(struct sched_cluster *c, const struct sched_req *r,
                           struct sched_choice *ch)
{
    for (int i = 0; i < c->nnodes; i++)
        if (sched_fits_inline(c, &c->nodes[i], r))
            return i;
    return -1;
}

/* round-robin: the first node that fits at or after the cursor, which then
 * moves past it. */
static int place_round_robin(struct sched_cluster *c, const struct sched_req *r,
                             struct sched_choice *ch)
{
    for (int k = 0; k < c->nnodes; k++) {
        int i = (c->rr_cursor + k) % c->nnodes;
        if (sched_fits_inline(c, &c->nodes[i], r)) {
            c->rr_cursor = (i + 1) % c->nnodes;
            return i;
        }
    }
    return -1;
}

/* least-loaded: the lowest mean used fraction after placement. */
static double score_least_loaded(const struct sched_cluster *c,
                                 const struct sched_node *n,
                                 const struct sched_req *r,
                                 const struct sched_scale *s)
{
    double used[3];
    return mean_of(used, used_after(n, r, used));
}

/* best-fit: the least left over after placement, on the cluster's scale. */
static double score_best_fit(const struct sched_cluster *c,
                             const struct sched_node *n,
                             const struct sched_req *r,
                             const struct sched_scale *s)
{
    return sched_left_after(n, r, s);
}

/* dot-product (Tetris): the free vector best aligned with the demand, both
 * as fractions of the node's capacity; negated so that lower is better. */
static double score_dot_product(const struct sched_cluster *c,
                                const struct sched_node *n,
                                const struct sched_req *r,
                                const struct sched_scale *s)
{
    double dot = 0;
    if (n->cpu_total > 0)
        dot += (double)r->cpu * (double)n->cpu_free /
               ((double)n->cpu_total * (double)n->cpu_total);
    if (n->mem_total > 0)
        dot += (double)r->mem * (double)n->mem_free /
               ((double)n->mem_total * (double)n->mem_total);
    if (n->ngpus > 0) {
        double cap = 1000.0 * n->ngpus;
        dot += gpu_take(r) * (double)sched_gpus_free(n) / (cap * cap);
    }
    return -dot;
}

/* Expected seconds until n's tasks are done, from their mean end time. */
static double busy_for(const struct sched_cluster *c, const struct sched_node *n)
{
    return n->ntasks ? fmax(0, n->end_sum / n->ntasks - c->now) : 0;
}

/* multi-objective: packing, balance and expected completion together. */
static double score_multi(const struct sched_cluster *c,
                          const struct sched_node *n,
                          const struct sched_req *r,
                          const struct sched_scale *s)
{
    double used[3];
    int k = used_after(n, r, used);
    double lo = 1, hi = 0;
    for (int i = 0; i < k; i++) {
        lo = fmin(lo, used[i]);
        hi = fmax(hi, used[i]);
    }
    double busy = busy_for(c, n);
    double wait = busy / (busy + fmax(r->est_runtime, 1));
    return 0.5 * (1 - mean_of(used, k)) + 0.3 * (k ? hi - lo : 0) + 0.2 * wait;
}

/* predictive: next to tasks expected to end when r ends, so that nodes
 * empty at once; best-fit decides between equals and without estimates. */
static double score_predictive(const struct sched_cluster *c,
                               const struct sched_node *n,
                               const struct sched_req *r,
                               const struct sched_scale *s)
{
    double left = sched_left_after(n, r, s);
    if (r->est_runtime <= 0)
        return left;
    double align = 1;
    if (n->ntasks > 0) {
        double d = fabs(n->end_sum / n->ntasks - (c->now + r->est_runtime)) /
                   fmax(r->est_runtime, 1);
        align = d / (1 + d);
    }
    return 0.7 * align + 0.3 * left;
}

#define SCORE_POLICY(fn, score) \
    static int fn(struct sched_cluster *c, const struct sched_req *r, \
                  struct sched_choice *ch) \
    { \
        (void)ch; \
        return place_by_score(c, r, score); \
    }

SCORE_POLICY(place_least_loaded, score_least_loaded)
SCORE_POLICY(place_best_fit, score_best_fit)
SCORE_POLICY(place_dot_product, score_dot_product)
SCORE_POLICY(place_multi, score_multi)
SCORE_POLICY(place_predictive, score_predictive)

static const struct sched_policy policies[] = {
    {"first-fit", place_first_fit},
    {"round-robin", place_round_robin},
    {"least-loaded", place_least_loaded},
    {"best-fit", place_best_fit},
    {"dot-product", place_dot_product},
    {"multi-objective", place_multi},
    {"predictive", place_predictive},
    {"fgd", sched_place_fgd},
    {"fgd-plus", sched_place_fgd_plus},
};

#define NPOLICIES (sizeof(policies) / sizeof(policies[0]))

/* Returns the policy called name, or NULL. */
const struct sched_policy *sched_policy_find(const char *name)
{
    for (size_t i = 0; i < NPOLICIES; i++)
        if (strcmp(policies[i].name, name) == 0)
            return &policies[i];
    return NULL;
}

/* Returns the policy names, comma-separated, for messages. */
const char *sched_policy_list(void)
{
    static char list[512];
    if (!list[0]) {
        size_t n = 0;
        for (size_t i = 0; i < NPOLICIES; i++)
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
                                  i ? ", " : "", policies[i].name);
    }
    return list;
}

/* Returns the i-th policy of the table (from 0), or NULL past its end. */
const struct sched_policy *sched_policy_at(int i)
{
    return i >= 0 && (size_t)i < NPOLICIES ? &policies[i] : NULL;
}

/* Returns the policy's name. */
const char *sched_policy_name(const struct sched_policy *p)
{
    return p->name;
}
