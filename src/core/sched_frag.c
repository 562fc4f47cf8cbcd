/* Fragmentation-aware placement for GPU sharing: fgd, after Weng et al.,
 * "Beware of Fragmentation: Scheduling GPU-Sharing Workloads with
 * Fragmentation Gradient Descent" (USENIX ATC'23), and Gantry's fgd-plus.
 *
 * A node's fragmentation is the amount of its idle GPU that a typical task
 * could not use, averaged over the typical task classes by frequency: for
 * a class the node cannot host at all (CPU, GPU count, model, or the class
 * needs no GPU), all its idle GPU counts; otherwise the GPUs whose free
 * share is below the class's per-GPU request. The classes are the most
 * frequent ones observed that together cover SCHED_TYPICAL_SHARE of the
 * tasks. docs/scheduling.md gives the formulas and the measurements. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched_policy.h"

/* fgd-plus compares a whole-GPU task's fragmentation growth in steps of
 * this many milli-GPUs; between equals the lowest node index wins. */
#define PLUS_WHOLE_STEP 250.0
/* fgd-plus: keys closer than this (milli-GPUs) are equal, so that float
 * rounding does not decide between nodes. */
#define PLUS_TIE 1e-6
/* fgd-plus's weight on taking GPUs of a model in demand elsewhere. */
#define PLUS_PRESSURE 0.5

/* What the fragmentation of a node depends on. */
struct frag_state {
    int64_t cpu;
    int ngpus;
    uint8_t model;
    uint16_t f[SCHED_MAX_GPUS];
};

/* The classes a fragmentation is measured against: those needing GPUs,
 * largest per-GPU request first, and the weight of those needing none. */
struct frag_set {
    const struct sched_class *v;
    int n;
    double cpu_weight;
};

static int needs_gpu(const struct sched_req *r)
{
    return r->gpus > 0 || r->gpu_milli > 0;
}

static void class_of(const struct sched_req *r, struct sched_class *k)
{
    memset(k, 0, sizeof(*k));
    k->cpu = r->cpu;
    k->models = SCHED_ANY_MODEL;
    if (needs_gpu(r)) {
        k->gpus = r->gpus > 0 ? r->gpus : 1;
        k->milli = r->gpus > 0 ? 1000 : r->gpu_milli;
        k->models = r->models;
    }
}

/* Counts r among the submitted workload, for fgd's typical classes: tasks
 * with the same CPU, GPU count, GPU share and models form one class, as in
 * the paper (memory is not part of it). gantryd calls it for each submitted task; the
 * simulator feeds the trace, as the paper does. Returns 0, or -1 when out
 * of memory. */
int sched_workload_observe(struct sched_cluster *c, const struct sched_req *r)
{
    struct sched_class k;
    class_of(r, &k);
    for (int i = 0; i < c->nclasses; i++) {
        struct sched_class *e = &c->classes[i];
        if (e->cpu == k.cpu && e->gpus == k.gpus && e->milli == k.milli &&
            e->models == k.models) {
            e->count++;
            c->typical_dirty = 1;
            return 0;
        }
    }
    if (c->nclasses == c->classes_cap) {
        int cap = c->classes_cap ? c->classes_cap * 2 : 64;
        struct sched_class *v = realloc(c->classes, (size_t)cap * sizeof(*v));
        if (!v)
            return -1;
        c->classes = v;
        c->classes_cap = cap;
    }
    k.count = 1;
    c->classes[c->nclasses++] = k;
    c->typical_dirty = 1;
    return 0;
}

/* Most frequent first; equal counts by the larger request, for a stable
 * order. */
static int count_cmp(const void *a, const void *b)
{
    const struct sched_class *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->cpu != y->cpu)
        return x->cpu > y->cpu ? -1 : 1;
    if (x->milli != y->milli)
        return x->milli > y->milli ? -1 : 1;
    if (x->gpus != y->gpus)
        return x->gpus > y->gpus ? -1 : 1;
    return x->models > y->models ? -1 : x->models < y->models;
}

static int milli_cmp(const void *a, const void *b)
{
    const struct sched_class *x = a, *y = b;
    return x->milli > y->milli ? -1 : x->milli < y->milli;
}

/* Rebuilds the typical classes after new observations: the most frequent
 * classes covering SCHED_TYPICAL_SHARE of the tasks, weighed by frequency
 * among themselves. Cached node fragmentation is dropped. */
static void typical_refresh(struct sched_cluster *c)
{
    if (!c->typical_dirty)
        return;
    qsort(c->classes, (size_t)c->nclasses, sizeof(*c->classes), count_cmp);
    double total = 0, cum = 0;
    int top = 0;
    for (int i = 0; i < c->nclasses; i++)
        total += c->classes[i].count;
    while (top < c->nclasses && cum < SCHED_TYPICAL_SHARE * total)
        cum += c->classes[top++].count;
    struct sched_class *v = realloc(c->typical, (size_t)(top ? top : 1) * sizeof(*v));
    if (!v)
        return;
    c->typical = v;
    c->ntypical = 0;
    c->typical_cpu = 0;
    for (int i = 0; i < top; i++) {
        struct sched_class k = c->classes[i];
        k.weight = k.count / cum;
        if (k.milli == 0)
            c->typical_cpu += k.weight;
        else
            c->typical[c->ntypical++] = k;
    }
    qsort(c->typical, (size_t)c->ntypical, sizeof(*c->typical), milli_cmp);
    c->typical_dirty = 0;
    if (++c->frag_epoch == 0)
        c->frag_epoch = 1;
}

/* The typical classes; with nothing observed yet, r's own class alone. */
static void classes_for(struct sched_cluster *c, const struct sched_req *r,
                        struct sched_class *own, struct frag_set *k)
{
    typical_refresh(c);
    k->v = c->typical;
    k->n = c->ntypical;
    k->cpu_weight = c->typical_cpu;
    if (c->ntypical == 0 && c->typical_cpu == 0) {
        class_of(r, own);
        own->weight = 1;
        k->v = own;
        k->n = needs_gpu(r);
        k->cpu_weight = needs_gpu(r) ? 0 : 1;
    }
}

static void state_of(const struct sched_node *n, struct frag_state *s)
{
    s->cpu = n->cpu_free;
    s->ngpus = n->ngpus;
    s->model = n->model;
    memcpy(s->f, n->gpu_free, sizeof(s->f));
}

/* n's state after r on the GPUs of ch. */
static void state_after(const struct sched_node *n, const struct sched_req *r,
                        const struct sched_choice *ch, struct frag_state *s)
{
    state_of(n, s);
    s->cpu -= r->cpu;
    for (int i = 0; i < ch->ngpu; i++)
        s->f[ch->gpu[i]] = (uint16_t)(s->f[ch->gpu[i]] - ch->milli);
}

static int model_ok(uint8_t model, uint64_t models)
{
    return model < SCHED_MAX_MODELS && ((models >> model) & 1);
}

/* The fragmentation of a node in state s, in milli-GPUs. With the free
 * shares sorted, a class fits when its gpus-th largest free share covers
 * its request, and what it cannot use is the idle GPU minus the shares
 * that are large enough; classes come largest request first, so one sweep
 * counts the large-enough shares for all of them. */
static double frag_of(const struct frag_state *s, const struct frag_set *k)
{
    uint16_t f[SCHED_MAX_GPUS];
    int idle = 0;
    for (int g = 0; g < s->ngpus; g++) {
        int j = g;
        for (; j > 0 && f[j - 1] < s->f[g]; j--)
            f[j] = f[j - 1];
        f[j] = s->f[g];
        idle += s->f[g];
    }
    if (idle == 0)
        return 0;
    double frag = k->cpu_weight * idle;
    int large = 0, usable = 0;
    for (int i = 0; i < k->n; i++) {
        const struct sched_class *m = &k->v[i];
        while (large < s->ngpus && f[large] >= m->milli)
            usable += f[large++];
        int fits = large >= m->gpus && s->cpu >= m->cpu && model_ok(s->model, m->models);
        frag += m->weight * (fits ? idle - usable : idle);
    }
    return frag;
}

/* Whether n's cached fragmentation was computed for its present state
 * (so that a direct edit without sched_node_changed is still noticed). */
static int cache_valid(const struct sched_node *n, uint32_t epoch)
{
    return n->frag.epoch == epoch && n->frag.cpu == n->cpu_free &&
           n->frag.model == n->model && n->frag.ngpus == n->ngpus &&
           memcmp(n->frag.gpu, n->gpu_free, sizeof(n->frag.gpu)) == 0;
}

/* Node idx's fragmentation, from the cache when it is still valid. */
static double node_frag(struct sched_cluster *c, int idx, const struct frag_set *k)
{
    struct sched_node *n = &c->nodes[idx];
    int cacheable = k->v == c->typical;
    if (cacheable && cache_valid(n, c->frag_epoch))
        return n->frag.value;
    struct frag_state s;
    state_of(n, &s);
    double frag = frag_of(&s, k);
    if (cacheable) {
        n->frag.value = frag;
        n->frag.epoch = c->frag_epoch;
        n->frag.cpu = n->cpu_free;
        n->frag.model = n->model;
        n->frag.ngpus = n->ngpus;
        memcpy(n->frag.gpu, n->gpu_free, sizeof(n->frag.gpu));
    }
    return frag;
}

/* The paper's node score: 100 sigmoid(-growth / 1000), cut to an integer. */
static int64_t fgd_score(double before, double after)
{
    return (int64_t)(100.0 / (1.0 + exp((after - before) / 1000.0)));
}

static int seen_before(const struct sched_node *n, int g, int milli)
{
    for (int h = 0; h < g; h++)
        if (n->gpu_free[h] == n->gpu_free[g] && n->gpu_free[h] >= milli)
            return 1;
    return 0;
}

/* fgd's score for r on n, and its GPUs in ch: for a share, the GPU with
 * the best score (the first of equals). */
static int64_t fgd_on(const struct sched_node *n, const struct sched_req *r,
                      double before, const struct frag_set *k,
                      struct sched_choice *ch)
{
    struct frag_state s;
    if (r->gpus > 0 || r->gpu_milli == 0) {
        sched_pick_gpus(n, r, ch);
        state_after(n, r, ch, &s);
        return fgd_score(before, frag_of(&s, k));
    }
    int64_t best = -1;
    struct sched_choice one = {.ngpu = 1, .milli = r->gpu_milli};
    for (int g = 0; g < n->ngpus; g++) {
        if (n->gpu_free[g] < r->gpu_milli || seen_before(n, g, r->gpu_milli))
            continue;
        one.gpu[0] = (uint8_t)g;
        state_after(n, r, &one, &s);
        int64_t v = fgd_score(before, frag_of(&s, k));
        if (v > best) {
            best = v;
            *ch = one;
        }
    }
    return best;
}

/* fgd: the node, and for a share the GPU, with the best score, that is
 * where r grows the fragmentation least; the first node of equals. */
int sched_place_fgd(struct sched_cluster *c, const struct sched_req *r,
                    struct sched_choice *ch)
{
    struct sched_class own;
    struct frag_set k;
    classes_for(c, r, &own, &k);
    int best = -1;
    int64_t best_score = 0;
    for (int i = 0; i < c->nnodes; i++) {
        const struct sched_node *n = &c->nodes[i];
        if (!sched_fits_inline(c, n, r))
            continue;
        struct sched_choice try = {0};
        int64_t v = fgd_on(n, r, node_frag(c, i, &k), &k, &try);
        if (best < 0 || v > best_score) {
            best = i;
            best_score = v;
            *ch = try;
        }
    }
    return best;
}

/* How contested each GPU model is: every typical class spreads its
 * expected GPU demand over the free GPU of the models it accepts; a
 * model's pressure is the demand per unit of free GPU it receives,
 * relative to the cluster's average (1 everywhere when nothing is
 * constrained). As a model fills up, its pressure rises. */
struct pressure {
    double rho[SCHED_MAX_MODELS];
    double floor;             /* the lowest pressure among r's models */
    int on;
};

static void pressure_of(const struct sched_cluster *c, const struct frag_set *k,
                        const struct sched_req *r, struct pressure *p)
{
    double idle[SCHED_MAX_MODELS] = {0}, all = 0, demand = 0;
    memset(p, 0, sizeof(*p));
    if (!needs_gpu(r) || c->nmodels < 2)
        return;
    for (int i = 0; i < c->nnodes; i++) {
        const struct sched_node *n = &c->nodes[i];
        if (n->usable && n->model < SCHED_MAX_MODELS) {
            idle[n->model] += sched_gpus_free(n);
            all += sched_gpus_free(n);
        }
    }
    for (int j = 0; j < k->n; j++) {
        const struct sched_class *m = &k->v[j];
        double accepted = 0, d = m->weight * m->gpus * m->milli;
        for (int u = 0; u < c->nmodels; u++)
            accepted += model_ok((uint8_t)u, m->models) ? idle[u] : 0;
        for (int u = 0; u < c->nmodels && accepted > 0; u++)
            p->rho[u] += model_ok((uint8_t)u, m->models) ? d / accepted : 0;
        demand += accepted > 0 ? d : 0;
    }
    p->floor = HUGE_VAL;
    for (int u = 0; u < c->nmodels && demand > 0; u++) {
        p->rho[u] *= all / demand;
        if (idle[u] > 0 && model_ok((uint8_t)u, r->models))
            p->floor = fmin(p->floor, p->rho[u]);
    }
    p->on = demand > 0 && p->floor < HUGE_VAL;
}

/* fgd-plus's key for r on n (lower is better): the fragmentation growth,
 * plus the pressure r adds beyond the least contested model it accepts;
 * for whole GPUs counted in steps of PLUS_WHOLE_STEP. */
static double plus_key(const struct sched_node *n, const struct sched_req *r,
                       double growth, const struct pressure *p)
{
    double milli = r->gpus > 0 ? 1000.0 * r->gpus : r->gpu_milli;
    if (p->on && n->model < SCHED_MAX_MODELS)
        growth += PLUS_PRESSURE * milli * (p->rho[n->model] - p->floor);
    return r->gpus > 0 ? floor(growth / PLUS_WHOLE_STEP) : growth;
}

/* Between nodes of equal key: a share goes to the node that is already
 * the most fragmented, a task without GPUs to the node with the least
 * idle GPU (its CPU matters least there), a whole-GPU task to the lowest
 * index. Lower is better. */
static double plus_tie(const struct sched_node *n, const struct sched_req *r,
                       double before)
{
    if (r->gpus > 0)
        return 0;
    return r->gpu_milli > 0 ? -before : sched_gpus_free(n);
}

/* fgd-plus: fgd's fragmentation growth with four changes: a share goes
 * to the fullest GPU of a node that holds it; a whole-GPU task's growth
 * counts in coarse steps, so that nodes fill in a steady order; taking
 * GPUs of a model that tasks tied to it need costs in proportion to how
 * contested the model is; and equals are told apart by plus_tie. */
int sched_place_fgd_plus(struct sched_cluster *c, const struct sched_req *r,
                         struct sched_choice *ch)
{
    struct sched_class own;
    struct frag_set k;
    struct pressure p;
    classes_for(c, r, &own, &k);
    pressure_of(c, &k, r, &p);
    int best = -1;
    double best_key = 0, best_tie = 0;
    for (int i = 0; i < c->nnodes; i++) {
        const struct sched_node *n = &c->nodes[i];
        if (!sched_fits_inline(c, n, r))
            continue;
        struct sched_choice try = {0};
        struct frag_state s;
        sched_pick_gpus(n, r, &try);
        state_after(n, r, &try, &s);
        double before = node_frag(c, i, &k);
        double key = plus_key(n, r, frag_of(&s, &k) - before, &p);
        double tie = plus_tie(n, r, before);
        if (best < 0 || key < best_key - PLUS_TIE ||
            (key < best_key + PLUS_TIE && tie < best_tie)) {
            best = i;
            best_key = key;
            best_tie = tie;
            *ch = try;
        }
    }
    return best;
}

/* Returns the cluster's fragmentation: the sum over usable nodes of the
 * idle milli-GPUs the typical task could not use (0 before any
 * sched_workload_observe). */
double sched_fragmentation(struct sched_cluster *c)
{
    typical_refresh(c);
    struct frag_set k = {c->typical, c->ntypical, c->typical_cpu};
    double sum = 0;
    for (int i = 0; i < c->nnodes; i++)
        if (c->nodes[i].usable)
            sum += node_frag(c, i, &k);
    return sum;
}
