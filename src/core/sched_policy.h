/* The scheduler's insides, shared by its files: the policy table behind
 * sched_place and the helpers the policies use. Each policy returns the
 * index of the node it chooses for r, or -1; it may fill ch's GPUs
 * (ngpu > 0), else sched_place picks them. */
#ifndef GANTRY_SCHED_POLICY_H
#define GANTRY_SCHED_POLICY_H

#include "sched.h"

struct sched_policy {
    const char *name;
    int (*place)(struct sched_cluster *c, const struct sched_req *r,
                 struct sched_choice *ch);
};

/* The largest capacity of any usable node, per dimension, for scaling. */
struct sched_scale {
    double cpu, gpu;
};

/* Whether n's GPUs can take r (model, whole GPUs or one share). */
static inline int sched_gpus_fit(const struct sched_node *n,
                                 const struct sched_req *r)
{
    if (r->gpus == 0 && r->gpu_milli == 0)
        return 1;
    if (n->ngpus == 0 || n->model >= SCHED_MAX_MODELS ||
        !((r->models >> n->model) & 1))
        return 0;
    if (r->gpus > 0) {
        int whole = 0;
        for (int g = 0; g < n->ngpus; g++)
            whole += n->gpu_free[g] == 1000;
        return whole >= r->gpus;
    }
    for (int g = 0; g < n->ngpus; g++)
        if (n->gpu_free[g] >= r->gpu_milli)
            return 1;
    return 0;
}

/* sched_fits, inlined into the policies' loops. */
static inline int sched_fits_inline(const struct sched_cluster *c,
                                    const struct sched_node *n,
                                    const struct sched_req *r)
{
    if (!n->usable || (r->executor && !(n->executors & r->executor)))
        return 0;
    if (r->pin && n != &c->nodes[r->pin - 1])
        return 0;
    if (n->cpu_free < r->cpu || n->mem_free < r->mem || n->disk_free < r->disk)
        return 0;
    if (!sched_gpus_fit(n, r))
        return 0;
    return !r->labels || !c->label_fit || c->label_fit(n, r->labels);
}

void sched_pick_gpus(const struct sched_node *n, const struct sched_req *r,
                     struct sched_choice *ch);
int sched_gpus_free(const struct sched_node *n);
void sched_scale_of(struct sched_cluster *c, struct sched_scale *s);
double sched_left_after(const struct sched_node *n, const struct sched_req *r,
                        const struct sched_scale *s);

int sched_place_fgd(struct sched_cluster *c, const struct sched_req *r,
                    struct sched_choice *ch);
int sched_place_fgd_plus(struct sched_cluster *c, const struct sched_req *r,
                         struct sched_choice *ch);

void sched_runtime_init(struct sched_cluster *c);
void sched_runtime_free(struct sched_cluster *c);

#endif
