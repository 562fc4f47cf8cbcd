/* The queue and the scheduler. Queued tasks sit in a heap ordered by
 * priority with aging: a task's key is priority * aging - created_at, so a
 * task gains one priority level per `aging` seconds of waiting, and the
 * order never needs re-sorting. A task that fits nowhere waits in the
 * blocked list until capacity may have grown (a task ended, a worker
 * joined or came back), so a long queue that cannot run costs nothing per
 * pass. Passes run in time slices. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "cluster_int.h"

#define EXPLAIN_PER_PASS 64

static int queue_before(const void *a, const void *b)
{
    const struct task *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank > y->rank;
    return x->seq < y->seq;
}

static void queue_moved(void *item, size_t pos)
{
    ((struct task *)item)->heap_pos = pos;
}

/* Prepares the empty queue. Returns 0. */
int cluster_queue_init(struct cluster *cl)
{
    heap_init(&cl->queue, queue_before, queue_moved);
    return 0;
}

/* Puts t in the queue at its rank. */
void cluster_enqueue(struct cluster *cl, struct task *t)
{
    t->rank = t->priority * cl->cfg.aging - t->created_at;
    if (heap_push(&cl->queue, t) < 0) {
        /* No memory for the heap: park it where it costs nothing. */
        list_insert_tail(&cl->blocked, &t->blocked);
        cl->nblocked++;
        t->blocked_gen = 0;
    }
}

/* Takes t out of the queue (heap or blocked list). */
void cluster_dequeue(struct cluster *cl, struct task *t)
{
    if (t->heap_pos != (size_t)-1) {
        heap_remove(&cl->queue, t->heap_pos);
    } else if (list_linked(&t->blocked)) {
        list_unlink(&t->blocked);
        cl->nblocked--;
    }
}

/* Returns non-zero while some queued task may be placeable now. */
int cluster_pending(const struct cluster *cl)
{
    return cl->queue.len > 0 ||
           (cl->nblocked > 0 && cl->blocked_gen != cl->capacity_gen);
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Capacity may have grown since the blocked tasks failed: let them try. */
static void unblock(struct cluster *cl)
{
    if (cl->nblocked == 0 || cl->blocked_gen == cl->capacity_gen)
        return;
    while (!list_empty(&cl->blocked)) {
        struct task *t = container_of(list_first(&cl->blocked), struct task, blocked);
        list_unlink(&t->blocked);
        cl->nblocked--;
        if (heap_push(&cl->queue, t) < 0) {
            list_insert_head(&cl->blocked, &t->blocked);
            cl->nblocked++;
            return;
        }
    }
}

static void block(struct cluster *cl, struct task *t, int *explained)
{
    if (!t->pending_reason || t->blocked_gen != cl->capacity_gen) {
        if (*explained < EXPLAIN_PER_PASS) {
            char why[200];
            if (sched_explain(&cl->sched, &t->req, t->gpu_model, why, sizeof(why)) == 0) {
                free(t->pending_reason);
                t->pending_reason = strdup(why);
            }
            (*explained)++;
        }
    }
    t->blocked_gen = cl->capacity_gen;
    list_insert_tail(&cl->blocked, &t->blocked);
    cl->nblocked++;
}

static void assign(struct cluster *cl, struct task *t,
                   const struct sched_choice *ch, double now)
{
    struct worker *w = cl->sched.nodes[ch->node].owner;
    t->placement = *ch;
    t->attempts++;
    free(t->pending_reason);
    t->pending_reason = NULL;
    cluster_attach(cl, t, w, now);
    cl->stats.placed++;
    cluster_set_status(cl, t, TS_ASSIGNED, now);
    struct cluster_event ev = {.type = CE_TASK_ASSIGN, .t = t, .w = w,
                               .name = "task.assign", .now = now};
    cluster_emit(cl, &ev);
}

/* Places queued tasks, best first, for at most budget seconds. Assignments
 * reach observers as CE_TASK_ASSIGN. Returns 1 when work is left for
 * another slice, else 0. */
int cluster_schedule(struct cluster *cl, double now, double budget)
{
    const struct sched_policy *p = cl->cfg.policy;
    double start = mono();
    int explained = 0, n = 0;
    unblock(cl);
    struct task *t;
    while ((t = heap_pop(&cl->queue))) {
        t->req.models = sched_model_mask(&cl->sched, t->gpu_model);
        struct sched_choice ch;
        if (sched_place(&cl->sched, p, &t->req, &ch) == 0)
            assign(cl, t, &ch, now);
        else
            block(cl, t, &explained);
        if (++n % 16 == 0 && mono() - start > budget)
            return cluster_pending(cl);
    }
    cl->blocked_gen = cl->capacity_gen;
    return 0;
}
