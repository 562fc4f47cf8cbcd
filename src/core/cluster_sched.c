/* The queue and the scheduler. Queued tasks sit in a heap ordered by
 * priority with aging: a task's key is priority * aging - created_at, so a
 * task gains one priority level per `aging` seconds of waiting, and the
 * order never needs re-sorting. A task that fits nowhere waits in the
 * blocked list (in the order it failed) until capacity may have grown (a
 * task ended, a worker joined or came back); then the list is walked once,
 * oldest first. So a long queue that cannot run costs nothing per pass.
 * Everything runs in time slices: a walk or a pass cut at scheduler.slice
 * goes on from where it stopped. */
#include <stdio.h>
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

/* Puts t in the queue at its rank: priority with aging; under the
 * predictive policy a second of expected runtime also counts as a second
 * less of waiting, so short tasks go first. */
void cluster_enqueue(struct cluster *cl, struct task *t)
{
    t->rank = t->priority * cl->cfg.aging - t->created_at;
    if (cl->cfg.policy && strcmp(sched_policy_name(cl->cfg.policy), "predictive") == 0)
        t->rank -= t->req.est_runtime;
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
        if (cl->retry_pos == &t->blocked)
            cl->retry_pos = t->blocked.next;
        list_unlink(&t->blocked);
        cl->nblocked--;
    }
}

/* Returns non-zero while some queued task may be placeable now. */
int cluster_pending(const struct cluster *cl)
{
    return cl->queue.len > 0 || cl->retry_pos ||
           (cl->nblocked > 0 && cl->blocked_gen != cl->capacity_gen);
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Why a task pinned to one worker waits: that worker is away, takes no
 * new tasks, or lacks what the task needs. Returns 0, or -1 if it fits. */
static int explain_pinned(struct cluster *cl, const struct task *t, char *out, size_t outlen)
{
    const char *id = t->pinned_worker;
    struct worker *w = cluster_worker(cl, id);
    char why[160];
    if (!w || !w->session || w->node < 0)
        snprintf(out, outlen, "worker %s is not connected", id);
    else if (w->draining)
        snprintf(out, outlen, "waiting for worker %s: it is draining", id);
    else if (w->state != WS_ACTIVE)
        snprintf(out, outlen, "waiting for worker %s: it is %s", id, worker_state_name(w));
    else if (sched_explain_node(&cl->sched, w->node, &t->req, t->gpu_model, why, sizeof(why)) == 0)
        snprintf(out, outlen, "waiting for worker %s: %s", id, why);
    else
        return -1;
    return 0;
}

static void note_reason(struct cluster *cl, struct task *t, int *explained)
{
    if (!t->pending_reason || t->blocked_gen != cl->capacity_gen) {
        if (*explained < EXPLAIN_PER_PASS) {
            char why[240];
            int waits = t->pinned_worker
                            ? explain_pinned(cl, t, why, sizeof(why))
                            : sched_explain(&cl->sched, &t->req, t->gpu_model, why, sizeof(why));
            if (waits == 0) {
                free(t->pending_reason);
                t->pending_reason = strdup(why);
            }
            (*explained)++;
        }
    }
    t->blocked_gen = cl->capacity_gen;
}

static void block(struct cluster *cl, struct task *t, int *explained)
{
    note_reason(cl, t, explained);
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

static int try_place(struct cluster *cl, struct task *t, double now)
{
    struct sched_choice ch;
    t->req.models = sched_model_mask(&cl->sched, t->gpu_model);
    if (t->pinned_worker) {
        /* The worker's node now: it changes when the worker leaves and
         * comes back. */
        struct worker *w = cluster_worker(cl, t->pinned_worker);
        if (!w || w->node < 0)
            return -1;
        t->req.pin = w->node + 1;
    }
    if (sched_place(&cl->sched, cl->cfg.policy, &t->req, &ch) < 0)
        return -1;
    assign(cl, t, &ch, now);
    return 0;
}

struct slice {
    double start, budget;
    int n, explained;
};

static int out_of_time(struct slice *sl)
{
    return ++sl->n % 16 == 0 && mono() - sl->start > sl->budget;
}

/* Walks the blocked list (capacity may have grown), from where the last
 * slice stopped. Returns 1 when the slice ran out first. */
static int retry_blocked(struct cluster *cl, double now, struct slice *sl)
{
    if (!cl->retry_pos) {
        if (cl->nblocked == 0 || cl->blocked_gen == cl->capacity_gen)
            return 0;
        cl->retry_pos = cl->blocked.next;
        cl->retry_gen = cl->capacity_gen;
    }
    while (cl->retry_pos != &cl->blocked) {
        struct task *t = container_of(cl->retry_pos, struct task, blocked);
        cl->retry_pos = cl->retry_pos->next;
        list_unlink(&t->blocked);
        cl->nblocked--;
        if (try_place(cl, t, now) < 0) {
            /* Back where it was: just before the cursor. */
            list_insert_tail(cl->retry_pos, &t->blocked);
            cl->nblocked++;
            note_reason(cl, t, &sl->explained);
        }
        if (out_of_time(sl))
            return 1;
    }
    cl->retry_pos = NULL;
    cl->blocked_gen = cl->retry_gen;
    return 0;
}

/* Places queued tasks, best first, for at most budget seconds: first the
 * blocked ones when capacity may have grown, then new ones. Assignments
 * reach observers as CE_TASK_ASSIGN. Returns 1 when work is left for
 * another slice, else 0. */
int cluster_schedule(struct cluster *cl, double now, double budget)
{
    struct slice sl = {mono(), budget, 0, 0};
    int more = 0;
    cl->sched.now = now;
    cl->stats.passes++;
    if (retry_blocked(cl, now, &sl)) {
        more = 1;
    } else {
        /* Every blocked task failed at the current generation, so far. */
        int current = cl->nblocked == 0 || cl->blocked_gen == cl->capacity_gen;
        struct task *t;
        while ((t = heap_pop(&cl->queue))) {
            if (try_place(cl, t, now) < 0)
                block(cl, t, &sl.explained);
            if (out_of_time(&sl)) {
                more = cluster_pending(cl);
                break;
            }
        }
        if (!more && current)
            cl->blocked_gen = cl->capacity_gen;
    }
    cl->stats.yields += more;
    double took = mono() - sl.start;
    if (took > cl->stats.max_slice)
        cl->stats.max_slice = took;
    return more;
}
