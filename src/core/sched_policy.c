#include <stdio.h>
#include <string.h>

#include "sched_policy.h"

/* first-fit: the lowest-numbered node that fits. */
static int place_first_fit(struct sched_cluster *c, const struct sched_req *r,
                           struct sched_choice *ch)
{
    (void)ch;
    for (int i = 0; i < c->nnodes; i++)
        if (sched_fits(c, &c->nodes[i], r))
            return i;
    return -1;
}

/* best-fit: the node left with the least free capacity after placement,
 * CPU, memory and GPU shares weighed as fractions of the node's total. */
static double best_fit_left(const struct sched_node *n,
                            const struct sched_req *r)
{
    double left = 0;
    if (n->cpu_total > 0)
        left += (double)(n->cpu_free - r->cpu) / (double)n->cpu_total;
    if (n->mem_total > 0)
        left += (double)(n->mem_free - r->mem) / (double)n->mem_total;
    if (n->ngpus > 0) {
        int free = 0;
        for (int g = 0; g < n->ngpus; g++)
            free += n->gpu_free[g];
        int take = r->gpus > 0 ? r->gpus * 1000 : r->gpu_milli;
        left += (double)(free - take) / (1000.0 * n->ngpus);
    }
    return left;
}

static int place_best_fit(struct sched_cluster *c, const struct sched_req *r,
                          struct sched_choice *ch)
{
    (void)ch;
    int best = -1;
    double best_left = 0;
    for (int i = 0; i < c->nnodes; i++) {
        if (!sched_fits(c, &c->nodes[i], r))
            continue;
        double left = best_fit_left(&c->nodes[i], r);
        if (best < 0 || left < best_left) {
            best = i;
            best_left = left;
        }
    }
    return best;
}

static const struct sched_policy policies[] = {
    {"first-fit", place_first_fit},
    {"best-fit", place_best_fit},
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

/* Returns the policy's name. */
const char *sched_policy_name(const struct sched_policy *p)
{
    return p->name;
}
