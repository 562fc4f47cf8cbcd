/* The event-driven run behind replay and synthetic: tasks arrive at their
 * times and leave after their runtimes. An arriving task is placed at once
 * if the policy finds a node, else it waits in a FIFO queue; when a task
 * leaves, the waiting tasks that now fit on its node are placed, oldest
 * first (FIFO with backfilling). The predictive policy's estimates are
 * learned from the tasks that finish. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct heap {
    int *v;
    int n;
    const struct sim_task *tasks;
};

static int heap_less(const struct heap *h, int a, int b)
{
    return h->tasks[h->v[a]].end < h->tasks[h->v[b]].end;
}

static void heap_swap(struct heap *h, int a, int b)
{
    int x = h->v[a];
    h->v[a] = h->v[b];
    h->v[b] = x;
}

static void heap_push(struct heap *h, int task)
{
    int i = h->n++;
    h->v[i] = task;
    while (i > 0 && heap_less(h, i, (i - 1) / 2)) {
        heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static int heap_pop(struct heap *h)
{
    int top = h->v[0];
    h->v[0] = h->v[--h->n];
    for (int i = 0;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && heap_less(h, l, m))
            m = l;
        if (r < h->n && heap_less(h, r, m))
            m = r;
        if (m == i)
            break;
        heap_swap(h, i, m);
        i = m;
    }
    return top;
}

/* Running totals of what is allocated, integrated over time. */
struct usage {
    double cpu, gpu, mem;         /* allocated now */
    double gpu_peak;
    double area[3];               /* allocated x seconds */
    double last;
};

static void usage_advance(struct usage *u, double now)
{
    double dt = now - u->last;
    u->area[0] += u->cpu * dt;
    u->area[1] += u->gpu * dt;
    u->area[2] += u->mem * dt;
    u->last = now;
}

static void usage_add(struct usage *u, const struct sched_req *r, double sign)
{
    u->cpu += sign * (double)r->cpu;
    u->mem += sign * (double)r->mem;
    u->gpu += sign * (r->gpus > 0 ? 1000.0 * r->gpus : r->gpu_milli);
    u->gpu_peak = u->gpu > u->gpu_peak ? u->gpu : u->gpu_peak;
}

struct run {
    struct sched_cluster *c;
    const struct sched_policy *p;
    struct sim_task *tasks;
    struct heap deps;
    int *queue, nqueue;
    struct usage use;
    struct sim_run *out;
};

static int try_place(struct run *run, int i, double now)
{
    struct sim_task *t = &run->tasks[i];
    double t0 = sim_now();
    int rc = sched_place(run->c, run->p, &t->req, &t->where);
    if (rc == 0)
        sched_commit(run->c, &t->req, &t->where);
    run->out->seconds += sim_now() - t0;
    run->out->decisions++;
    if (rc < 0)
        return -1;
    t->placed = 1;
    t->start = now;
    t->end = now + t->runtime;
    usage_add(&run->use, &t->req, 1);
    heap_push(&run->deps, i);
    return 0;
}

static void arrive(struct run *run, int i)
{
    struct sim_task *t = &run->tasks[i];
    run->c->now = t->arrive;
    t->req.est_runtime = sched_runtime_estimate(run->c, t->key);
    if (try_place(run, i, t->arrive) < 0)
        run->queue[run->nqueue++] = i;
}

/* A task leaves: its node is the only one that gained room, so only the
 * waiting tasks that fit there now can be placed. */
static void depart(struct run *run)
{
    int i = heap_pop(&run->deps);
    struct sim_task *t = &run->tasks[i];
    double now = t->end;
    run->c->now = now;
    sched_release(run->c, &t->req, &t->where);
    usage_add(&run->use, &t->req, -1);
    sched_runtime_learn(run->c, t->key, t->runtime);
    const struct sched_node *n = &run->c->nodes[t->where.node];
    int k = 0;
    for (int q = 0; q < run->nqueue; q++) {
        int j = run->queue[q];
        if (!sched_fits(run->c, n, &run->tasks[j].req) || try_place(run, j, now) < 0)
            run->queue[k++] = j;
    }
    run->nqueue = k;
}

static void run_stats(struct run *run, int ntasks, double first, double last)
{
    struct sim_run *o = run->out;
    double *wait = malloc((size_t)(ntasks ? ntasks : 1) * sizeof(*wait));
    int nw = 0;
    for (int i = 0; i < ntasks; i++)
        if (run->tasks[i].placed && wait)
            wait[nw++] = run->tasks[i].start - run->tasks[i].arrive;
    o->tasks = ntasks;
    o->placed = nw;
    o->never = ntasks - nw;
    o->makespan = last - first;
    o->wait_mean = wait ? sim_mean(wait, nw) : 0;
    o->wait_p50 = wait ? sim_percentile(wait, nw, 50) : 0;
    o->wait_p99 = wait ? sim_percentile(wait, nw, 99) : 0;
    free(wait);
}

static void run_util(struct run *run, double span)
{
    double cap[3] = {0, 0, 0};
    for (int i = 0; i < run->c->nnodes; i++) {
        const struct sched_node *n = &run->c->nodes[i];
        cap[0] += (double)n->cpu_total;
        cap[1] += 1000.0 * n->ngpus;
        cap[2] += (double)n->mem_total;
    }
    double *u[3] = {&run->out->util_cpu, &run->out->util_gpu, &run->out->util_mem};
    for (int d = 0; d < 3; d++)
        *u[d] = cap[d] > 0 && span > 0 ? 100.0 * run->use.area[d] / (cap[d] * span) : 0;
    run->out->gpu_peak = cap[1] > 0 ? 100.0 * run->use.gpu_peak / cap[1] : 0;
}

/* Runs tasks (sorted by arrival) through policy p on cluster c and fills
 * out. Returns 0, or -1 when out of memory. */
int sim_events(struct sched_cluster *c, const struct sched_policy *p,
               struct sim_task *tasks, int ntasks, struct sim_run *out)
{
    struct run run = {.c = c, .p = p, .tasks = tasks, .out = out};
    memset(out, 0, sizeof(*out));
    run.queue = malloc((size_t)(ntasks ? ntasks : 1) * sizeof(int));
    run.deps.v = malloc((size_t)(ntasks ? ntasks : 1) * sizeof(int));
    run.deps.tasks = tasks;
    if (!run.queue || !run.deps.v) {
        free(run.queue);
        free(run.deps.v);
        return -1;
    }
    double first = ntasks ? tasks[0].arrive : 0, last = first;
    run.use.last = first;
    for (int i = 0; i < ntasks || run.deps.n > 0;) {
        int dep = run.deps.n > 0 &&
                  (i == ntasks || tasks[run.deps.v[0]].end <= tasks[i].arrive);
        double now = dep ? tasks[run.deps.v[0]].end : tasks[i].arrive;
        usage_advance(&run.use, now);
        last = fmax(last, now);
        if (dep)
            depart(&run);
        else
            arrive(&run, i++);
    }
    run_stats(&run, ntasks, first, last);
    run_util(&run, last - first);
    free(run.queue);
    free(run.deps.v);
    return 0;
}
