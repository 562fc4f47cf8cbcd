/* Shared between the cluster's source files; not for callers. */
#ifndef GANTRY_CLUSTER_INT_H
#define GANTRY_CLUSTER_INT_H

#include "cluster.h"

struct worker *worker_create(struct cluster *cl, const char *id, double now);
void cluster_set_worker_state(struct cluster *cl, struct worker *w,
                              enum worker_state st, double now);
void cluster_update_usable(struct cluster *cl, struct worker *w);
void cluster_take(struct cluster *cl, struct task *t);
void cluster_release(struct cluster *cl, struct task *t);
void cluster_attach(struct cluster *cl, struct task *t, struct worker *w,
                    double now);
void cluster_set_status(struct cluster *cl, struct task *t,
                        enum task_status st, double now);
void cluster_requeue_worker_tasks(struct cluster *cl, struct worker *w,
                                  const char *why, double now);
void cluster_enqueue(struct cluster *cl, struct task *t);
void cluster_dequeue(struct cluster *cl, struct task *t);
int cluster_queue_init(struct cluster *cl);
int cluster_insert_task(struct cluster *cl, struct task *t);
struct task *cluster_held_task(struct cluster *cl, struct worker *w, const char *id,
                               int attempt, int running, double now, int *rc);

#endif
