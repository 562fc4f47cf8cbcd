/* The policy table behind sched_place. Each policy returns the index of the
 * node it chooses for r, or -1; it may fill ch's GPUs (ngpu > 0), else
 * sched_place picks them. */
#ifndef GANTRY_SCHED_POLICY_H
#define GANTRY_SCHED_POLICY_H

#include "sched.h"

struct sched_policy {
    const char *name;
    int (*place)(struct sched_cluster *c, const struct sched_req *r,
                 struct sched_choice *ch);
};

void sched_pick_gpus(const struct sched_node *n, const struct sched_req *r,
                     struct sched_choice *ch);

#endif
