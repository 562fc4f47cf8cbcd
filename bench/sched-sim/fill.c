/* fill: the protocol of the FGD paper's simulator. The GPU nodes only; the
 * trace's pods shuffled, then pods drawn uniformly with replacement and
 * appended until the requested GPUs would pass tune x the cluster's GPU
 * capacity; pods only arrive, one at a time, and a pod that fits nowhere
 * fails. The metric is the share of the cluster's GPUs allocated (shares
 * counted by milli) while the arrived GPU requests are at 100% (and 130%)
 * of capacity: the mean over the placement events whose arrived share
 * rounds to that percentage, as the paper's analysis scripts compute it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* The arrival percentages reported. */
static const int marks[2] = {100, 130};

struct fill_result {
    double at[2];                 /* GPU allocated at each mark, percent */
    double frag100;               /* fragmented share of idle GPU, percent */
    int pods, failed;
    long decisions;
    double seconds;
};

struct fill_acc {
    double sum[2][3];             /* per mark: the events at mark-1, mark, mark+1 */
    int count[2][3];
    int frag_done;
    double frag100;
};

static void shuffle(int *v, int n, uint64_t *rng)
{
    for (int i = n - 1; i > 0; i--) {
        int j = sim_rng_below(rng, i + 1);
        int x = v[i];
        v[i] = v[j];
        v[j] = x;
    }
}

static int64_t pod_milli(const struct sim_pod *p)
{
    return (int64_t)p->num_gpu * p->gpu_milli;
}

/* With a target below the trace's own requests, drops pods at random,
 * keeping the order of the others, until the rest fit under it. */
static int tune_down(const struct sim_trace *t, int *seq, int k, int64_t *total,
                     double target, uint64_t *rng)
{
    while (k > 0 && (double)*total > target) {
        int i = sim_rng_below(rng, k);
        *total -= pod_milli(&t->pods[seq[i]]);
        memmove(&seq[i], &seq[i + 1], (size_t)(k - i - 1) * sizeof(*seq));
        k--;
    }
    return k;
}

/* The pod order of one seed: the trace shuffled, then uniform draws with
 * replacement until the next draw would pass the target, as the paper's
 * simulator tests it (with the pod's per-GPU request). */
static int *pod_sequence(const struct sim_trace *t, double tune,
                         int64_t capacity, uint64_t *rng, int *n)
{
    int64_t total = 0;
    double target = tune * (double)capacity;
    for (int i = 0; i < t->npods; i++)
        total += pod_milli(&t->pods[i]);
    int cap = t->npods * 2 + 16, k = t->npods;
    int *seq = malloc((size_t)cap * sizeof(*seq));
    if (!seq)
        return NULL;
    for (int i = 0; i < t->npods; i++)
        seq[i] = i;
    shuffle(seq, t->npods, rng);
    k = tune_down(t, seq, k, &total, target, rng);
    while ((double)total <= target) {
        int i = sim_rng_below(rng, t->npods);
        if ((double)(total + t->pods[i].gpu_milli) > target)
            break;
        if (k == cap) {
            int *v = realloc(seq, (size_t)(cap *= 2) * sizeof(*seq));
            if (!v) {
                free(seq);
                return NULL;
            }
            seq = v;
        }
        total += pod_milli(&t->pods[i]);
        seq[k++] = i;
    }
    *n = k;
    return seq;
}

static void account(struct sched_cluster *c, struct fill_acc *a,
                    int64_t arrived, int64_t used, int64_t capacity)
{
    double pct = nearbyint(100.0 * (double)arrived / (double)capacity);
    double alloc = 100.0 * (double)used / (double)capacity;
    for (int m = 0; m < 2; m++) {
        int d = (int)pct - marks[m] + 1;
        if (d >= 0 && d <= 2) {
            a->sum[m][d] += alloc;
            a->count[m][d]++;
        }
    }
    if (!a->frag_done && pct > marks[0]) {
        double idle = (double)(capacity - used);
        a->frag_done = 1;
        a->frag100 = idle > 0 ? 100.0 * sched_fragmentation(c) / idle : 0;
    }
}

/* The value at mark m: the mean of the events that round to it, else of
 * those within one percent. */
static double at_mark(const struct fill_acc *a, int m)
{
    if (a->count[m][1])
        return a->sum[m][1] / a->count[m][1];
    int n = a->count[m][0] + a->count[m][2];
    return n ? (a->sum[m][0] + a->sum[m][2]) / n : NAN;
}

static void fill_run(struct sched_cluster *c, const struct sched_policy *p,
                     const struct sched_req *reqs, const int *seq, int n,
                     int64_t capacity, struct fill_result *res)
{
    struct fill_acc a;
    memset(&a, 0, sizeof(a));
    int64_t arrived = 0, used = 0;
    for (int k = 0; k < n; k++) {
        const struct sched_req *r = &reqs[seq[k]];
        int64_t milli = r->gpus > 0 ? 1000LL * r->gpus : r->gpu_milli;
        struct sched_choice ch;
        arrived += milli;
        double t0 = sim_now();
        int rc = sched_place(c, p, r, &ch);
        if (rc == 0)
            sched_commit(c, r, &ch);
        res->seconds += sim_now() - t0;
        res->decisions++;
        if (rc == 0)
            used += milli;
        else
            res->failed++;
        account(c, &a, arrived, used, capacity);
    }
    res->pods = n;
    for (int m = 0; m < 2; m++)
        res->at[m] = at_mark(&a, m);
    res->frag100 = a.frag_done ? a.frag100 : NAN;
}

/* One seed: the node order is shuffled too, so that ties between equal
 * nodes fall at random as in the paper's simulator. */
static int fill_seed(const struct sim_opts *o, const struct sim_trace *t,
                     const struct sched_policy *p, int seed,
                     struct fill_result *res)
{
    uint64_t rng = (uint64_t)seed;
    struct sched_cluster c;
    int n = 0, rc = -1;
    int *perm = malloc((size_t)t->nnodes * sizeof(*perm));
    struct sched_req *reqs = malloc((size_t)t->npods * sizeof(*reqs));
    int *seq = NULL;
    sched_cluster_init(&c);
    memset(res, 0, sizeof(*res));
    if (!perm || !reqs)
        goto out;
    for (int i = 0; i < t->nnodes; i++)
        perm[i] = i;
    shuffle(perm, t->nnodes, &rng);
    if (sim_cluster_build(&c, t, 1, perm) < 0)
        goto out;
    int64_t capacity = 0;
    for (int i = 0; i < c.nnodes; i++)
        capacity += 1000LL * c.nodes[i].ngpus;
    for (int i = 0; i < t->npods; i++) {
        sim_pod_req(&c, &t->pods[i], &reqs[i]);
        if (sched_workload_observe(&c, &reqs[i]) < 0)
            goto out;
    }
    if (capacity > 0 && (seq = pod_sequence(t, o->tune, capacity, &rng, &n))) {
        fill_run(&c, p, reqs, seq, n, capacity, res);
        rc = 0;
    }
out:
    free(seq);
    free(reqs);
    free(perm);
    sched_cluster_free(&c);
    return rc;
}

static void fill_print_seed(int seed, const struct fill_result *r)
{
    printf("seed %-4d pods %-6d failed %-5d alloc@100 %6.2f%%  alloc@130 %6.2f%%"
           "  frag@100 %5.1f%%  %8.0f placements/s\n", seed, r->pods,
           r->failed, r->at[0], r->at[1], r->frag100,
           r->seconds > 0 ? (double)r->decisions / r->seconds : 0);
}

/* A JSON number, or null for a mark the run never reached. */
static const char *jnum(double v, char *buf, size_t len)
{
    if (isnan(v))
        return "null";
    snprintf(buf, len, "%.3f", v);
    return buf;
}

static void fill_json(const struct sim_opts *o, const char *policy,
                      const double *v, double pps, double wall)
{
    char b[6][32];
    printf("{\"mode\":\"fill\",\"policy\":\"%s\",\"pods\":\"%s\","
           "\"seeds\":%d,\"tune\":%.2f,\"alloc_at_100\":%s,"
           "\"alloc_at_130\":%s,\"median_at_100\":%s,\"median_at_130\":%s,"
           "\"frag_at_100\":%s,\"failed\":%s,\"placements_per_s\":%.0f,"
           "\"seconds\":%.2f}\n", policy, o->pods_path, o->nseeds, o->tune,
           jnum(v[0], b[0], 32), jnum(v[1], b[1], 32), jnum(v[2], b[2], 32),
           jnum(v[3], b[3], 32), jnum(v[4], b[4], 32), jnum(v[5], b[5], 32),
           pps, wall);
}

/* Prints the means and medians over the seeds (and the JSON object). */
static void fill_summary(const struct sim_opts *o, const char *policy,
                         const struct fill_result *res, double wall)
{
    double at100[SIM_MAX_SEEDS], at130[SIM_MAX_SEEDS], frag[SIM_MAX_SEEDS];
    double failed[SIM_MAX_SEEDS], secs = 0;
    long decisions = 0;
    int n = o->nseeds;
    for (int i = 0; i < n; i++) {
        at100[i] = res[i].at[0];
        at130[i] = res[i].at[1];
        frag[i] = res[i].frag100;
        failed[i] = res[i].failed;
        secs += res[i].seconds;
        decisions += res[i].decisions;
    }
    double pps = secs > 0 ? (double)decisions / secs : 0;
    double v[6] = {sim_mean(at100, n), sim_mean(at130, n), sim_median(at100, n),
                   sim_median(at130, n), sim_mean(frag, n), sim_mean(failed, n)};
    printf("%s on %s, %d seeds: alloc@100 mean %.2f%% median %.2f%%, "
           "alloc@130 mean %.2f%% median %.2f%%, frag@100 %.1f%%, "
           "failed %.1f, %.0f placements/s, %.1f s\n", policy, o->pods_path,
           n, v[0], v[2], v[1], v[3], v[4], v[5], pps, wall);
    if (o->json)
        fill_json(o, policy, v, pps, wall);
}

/* Runs the fill protocol for policy p over every seed and prints a line
 * per seed and the summary (with --json, a JSON object last). Returns 0,
 * or -1 when a run could not be set up. */
int sim_fill(const struct sim_opts *o, const struct sim_trace *t,
             const struct sched_policy *p)
{
    struct fill_result res[SIM_MAX_SEEDS];
    double t0 = sim_now();
    for (int i = 0; i < o->nseeds; i++) {
        if (fill_seed(o, t, p, o->seeds[i], &res[i]) < 0) {
            fprintf(stderr, "sched-sim: seed %d: out of memory\n", o->seeds[i]);
            return -1;
        }
        fill_print_seed(o->seeds[i], &res[i]);
    }
    fill_summary(o, sched_policy_name(p), res, sim_now() - t0);
    return 0;
}
