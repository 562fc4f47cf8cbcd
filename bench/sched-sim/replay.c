/* replay: the trace in its own time (creation_time arrives, the task runs
 * for deletion_time - creation_time once placed) on all the trace's nodes;
 * and synthetic: a small seeded cluster and workload, for every policy. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static int task_cmp(const void *a, const void *b)
{
    const struct sim_task *x = a, *y = b;
    return x->arrive < y->arrive ? -1 : x->arrive > y->arrive;
}

static void print_run(const char *policy, const struct sim_run *r)
{
    printf("%-16s %6d %6d %10.0f %10.1f %9.1f %10.1f %6.1f %6.1f %6.1f %6.1f %10.0f\n",
           policy, r->placed, r->never, r->makespan, r->wait_mean, r->wait_p50,
           r->wait_p99, r->util_cpu, r->util_gpu, r->util_mem, r->gpu_peak,
           r->seconds > 0 ? (double)r->decisions / r->seconds : 0);
}

static void print_head(void)
{
    printf("%-16s %6s %6s %10s %10s %9s %10s %6s %6s %6s %6s %10s\n", "policy",
           "placed", "never", "makespan_s", "wait_mean", "wait_p50", "wait_p99",
           "cpu%", "gpu%", "mem%", "gpu^%", "decisions/s");
}

static void print_json(const char *mode, const char *policy,
                       const struct sim_run *r)
{
    printf("{\"mode\":\"%s\",\"policy\":\"%s\",\"tasks\":%d,\"placed\":%d,"
           "\"never_placed\":%d,\"makespan\":%.0f,\"wait_mean\":%.2f,"
           "\"wait_p50\":%.2f,\"wait_p99\":%.2f,\"util_cpu\":%.2f,"
           "\"util_gpu\":%.2f,\"util_mem\":%.2f,\"gpu_peak\":%.2f,"
           "\"placements_per_s\":%.0f}\n",
           mode, policy, r->tasks, r->placed, r->never, r->makespan,
           r->wait_mean, r->wait_p50, r->wait_p99, r->util_cpu, r->util_gpu,
           r->util_mem, r->gpu_peak, r->seconds > 0 ? (double)r->decisions / r->seconds : 0);
}

static void trace_key(const struct sim_pod *p, char *key, size_t len)
{
    snprintf(key, len, "%lld/%d/%d/%s", (long long)p->cpu, p->num_gpu,
             p->gpu_milli, p->spec);
}

/* Replays the trace on all its nodes (or the GPU nodes only) with policy
 * p and prints the results. Returns 0 or -1. */
int sim_replay(const struct sim_opts *o, const struct sim_trace *t,
               const struct sched_policy *p)
{
    struct sched_cluster c;
    struct sim_run run;
    struct sim_task *tasks = calloc((size_t)t->npods + 1, sizeof(*tasks));
    int rc = -1;
    sched_cluster_init(&c);
    if (!tasks || sim_cluster_build(&c, t, o->gpu_nodes_only, NULL) < 0)
        goto out;
    for (int i = 0; i < t->npods; i++) {
        struct sim_task *k = &tasks[i];
        sim_pod_req(&c, &t->pods[i], &k->req);
        if (sched_workload_observe(&c, &k->req) < 0)
            goto out;
        k->arrive = t->pods[i].created;
        k->runtime = t->pods[i].deleted > k->arrive ? t->pods[i].deleted - k->arrive : 0;
        trace_key(&t->pods[i], k->key, sizeof(k->key));
    }
    qsort(tasks, (size_t)t->npods, sizeof(*tasks), task_cmp);
    if (sim_events(&c, p, tasks, t->npods, &run) < 0)
        goto out;
    printf("replay of %s on %d nodes\n", o->pods_path, c.nnodes);
    print_head();
    print_run(sched_policy_name(p), &run);
    if (o->json)
        print_json("replay", sched_policy_name(p), &run);
    rc = 0;
out:
    free(tasks);
    sched_cluster_free(&c);
    return rc;
}

/* The synthetic cluster: five workers of different sizes and GPU models. */
static const struct sim_node synthetic_nodes[] = {
    {"cpu-16", 16000, 65536, 0, ""},
    {"a100-2", 32000, 131072, 2, "NVIDIA A100 80GB"},
    {"h100-4", 64000, 262144, 4, "NVIDIA H100 80GB HBM3"},
    {"t4-8", 48000, 196608, 8, "Tesla T4"},
    {"a10-1", 8000, 32768, 1, "NVIDIA A10"},
};

#define SYNTH_TASKS 100

/* One synthetic task: CPU only (3 in 10), a GPU share (3 in 10), one GPU
 * (2 in 10), two or four GPUs (1 in 10 each); a fifth of the GPU tasks
 * tied to a model; runtimes 30 s to 30 min. */
static void synthetic_task(uint64_t *rng, struct sim_pod *p)
{
    static const char *const models[] = {"A100", "H100", "T4", "A10"};
    static const int gpus[] = {0, 0, 0, 1, 1, 1, 1, 1, 2, 4};
    memset(p, 0, sizeof(*p));
    int kind = sim_rng_below(rng, 10);
    p->cpu = 500 + 500 * sim_rng_below(rng, 16);
    p->mem = 1024 * (1 + sim_rng_below(rng, 32));
    p->num_gpu = gpus[kind];
    p->gpu_milli = p->num_gpu ? 1000 : 0;
    if (kind >= 3 && kind <= 5)
        p->gpu_milli = 100 * (1 + sim_rng_below(rng, 9));
    const char *model = "";
    if (p->num_gpu && sim_rng_below(rng, 5) == 0)
        model = models[sim_rng_below(rng, 4)];
    snprintf(p->spec, sizeof(p->spec), "%s", model);
    p->created = sim_rng_below(rng, 600);
    p->deleted = p->created + 30 + sim_rng_below(rng, 1770);
    snprintf(p->name, sizeof(p->name), "k%d-%d-%s", kind, p->gpu_milli, model);
}

static int synthetic_policy(const struct sim_pod *pods,
                            const struct sched_policy *p, struct sim_run *run)
{
    struct sim_trace t = {(struct sim_node *)synthetic_nodes, 5, NULL, 0};
    struct sim_task tasks[SYNTH_TASKS];
    struct sched_cluster c;
    sched_cluster_init(&c);
    int rc = sim_cluster_build(&c, &t, 0, NULL);
    memset(tasks, 0, sizeof(tasks));
    for (int i = 0; i < SYNTH_TASKS && rc == 0; i++) {
        sim_pod_req(&c, &pods[i], &tasks[i].req);
        rc = sched_workload_observe(&c, &tasks[i].req);
        tasks[i].arrive = pods[i].created;
        tasks[i].runtime = pods[i].deleted - pods[i].created;
        snprintf(tasks[i].key, sizeof(tasks[i].key), "%.31s", pods[i].name);
    }
    qsort(tasks, SYNTH_TASKS, sizeof(*tasks), task_cmp);
    if (rc == 0)
        rc = sim_events(&c, p, tasks, SYNTH_TASKS, run);
    sched_cluster_free(&c);
    return rc;
}

/* Runs the synthetic workload of each seed through every policy (or the
 * one asked for) and prints a table per seed. Returns 0 or -1. */
int sim_synthetic(const struct sim_opts *o)
{
    struct sim_pod pods[SYNTH_TASKS];
    for (int s = 0; s < o->nseeds; s++) {
        uint64_t rng = (uint64_t)o->seeds[s];
        for (int i = 0; i < SYNTH_TASKS; i++)
            synthetic_task(&rng, &pods[i]);
        printf("synthetic, seed %d: %d tasks on %d workers\n", o->seeds[s],
               SYNTH_TASKS, 5);
        print_head();
        const struct sched_policy *p;
        for (int i = 0; (p = sched_policy_at(i)); i++) {
            struct sim_run run;
            if (o->policy && strcmp(o->policy, sched_policy_name(p)) != 0)
                continue;
            if (synthetic_policy(pods, p, &run) < 0)
                return -1;
            print_run(sched_policy_name(p), &run);
            if (o->json)
                print_json("synthetic", sched_policy_name(p), &run);
        }
    }
    return 0;
}
