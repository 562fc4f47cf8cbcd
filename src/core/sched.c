#include "sched.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sched_policy.h"

/* Prepares an empty cluster. */
void sched_cluster_init(struct sched_cluster *c)
{
    memset(c, 0, sizeof(*c));
    sched_runtime_init(c);
    c->frag_epoch = 1;
}

/* Frees the nodes, the model names, the observed workload and the runtime
 * estimates. */
void sched_cluster_free(struct sched_cluster *c)
{
    free(c->nodes);
    free(c->free_slots);
    for (int i = 0; i < c->nmodels; i++)
        free(c->models[i]);
    free(c->classes);
    free(c->typical);
    sched_runtime_free(c);
    memset(c, 0, sizeof(*c));
}

/* Adds an empty, unusable node and returns its index (a freed slot is
 * reused), or -1 when memory is exhausted. */
int sched_node_add(struct sched_cluster *c)
{
    int idx;
    if (c->nfree > 0) {
        idx = c->free_slots[--c->nfree];
    } else {
        if (c->nnodes == c->cap) {
            int cap = c->cap ? c->cap * 2 : 64;
            struct sched_node *n = realloc(c->nodes, (size_t)cap * sizeof(*n));
            if (!n)
                return -1;
            int *f = realloc(c->free_slots, (size_t)cap * sizeof(*f));
            if (!f) {
                c->nodes = n;
                return -1;
            }
            c->nodes = n;
            c->free_slots = f;
            c->cap = cap;
        }
        idx = c->nnodes++;
    }
    memset(&c->nodes[idx], 0, sizeof(c->nodes[idx]));
    c->nodes[idx].model = SCHED_NO_MODEL;
    c->scale_stale = 1;
    return idx;
}

/* Frees slot idx for a later sched_node_add. */
void sched_node_remove(struct sched_cluster *c, int idx)
{
    memset(&c->nodes[idx], 0, sizeof(c->nodes[idx]));
    c->nodes[idx].model = SCHED_NO_MODEL;
    c->free_slots[c->nfree++] = idx;
    c->scale_stale = 1;
}

/* Tells the scheduler that the caller edited node idx's fields (capacity,
 * free amounts, GPUs, model, usable), so values kept from them are
 * recomputed. Must follow every direct edit; commit/release need none. */
void sched_node_changed(struct sched_cluster *c, int idx)
{
    c->nodes[idx].frag.epoch = 0;
    c->scale_stale = 1;
}

/* Returns the id of a GPU model name, adding it if new; SCHED_NO_MODEL when
 * the table is full. */
int sched_model_id(struct sched_cluster *c, const char *name)
{
    for (int i = 0; i < c->nmodels; i++)
        if (strcmp(c->models[i], name) == 0)
            return i;
    if (c->nmodels >= SCHED_MAX_MODELS - 1)
        return SCHED_NO_MODEL;
    char *copy = strdup(name);
    if (!copy)
        return SCHED_NO_MODEL;
    c->models[c->nmodels] = copy;
    return c->nmodels++;
}

/* Returns non-zero when token (toklen bytes) names model: it equals the
 * whole name or one of its words, ignoring case. So "H100" matches
 * "NVIDIA H100 80GB HBM3" and "A10" matches "A10" but not "A100". */
int sched_model_matches(const char *model, const char *token, size_t toklen)
{
    size_t mlen = strlen(model);
    if (toklen == 0)
        return 0;
    if (mlen == toklen && strncasecmp(model, token, toklen) == 0)
        return 1;
    for (size_t i = 0; i + toklen <= mlen; i++) {
        int start = i == 0 || !isalnum((unsigned char)model[i - 1]);
        int stop = i + toklen == mlen || !isalnum((unsigned char)model[i + toklen]);
        if (start && stop && strncasecmp(model + i, token, toklen) == 0)
            return 1;
    }
    return 0;
}

/* Turns "H100|A100" into the mask of known model ids it names. An empty
 * spec accepts any model; a spec naming no known model accepts none. */
uint64_t sched_model_mask(const struct sched_cluster *c, const char *spec)
{
    if (!spec || !*spec)
        return SCHED_ANY_MODEL;
    uint64_t mask = 0;
    const char *p = spec;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        for (int i = 0; i < c->nmodels; i++)
            if (sched_model_matches(c->models[i], p, n))
                mask |= (uint64_t)1 << i;
        p += n;
        if (*p == '|')
            p++;
    }
    return mask;
}

/* Returns non-zero when r fits on n as it is now. */
int sched_fits(const struct sched_cluster *c, const struct sched_node *n,
               const struct sched_req *r)
{
    return sched_fits_inline(c, n, r);
}

/* Chooses which GPUs of node n take r: whole GPUs in index order; a share
 * on the GPU it fills best (least free room left that still fits). */
void sched_pick_gpus(const struct sched_node *n, const struct sched_req *r,
                     struct sched_choice *ch)
{
    ch->ngpu = 0;
    ch->milli = 0;
    if (r->gpus > 0) {
        ch->milli = 1000;
        for (int g = 0; g < n->ngpus && ch->ngpu < r->gpus; g++)
            if (n->gpu_free[g] == 1000)
                ch->gpu[ch->ngpu++] = (uint8_t)g;
    } else if (r->gpu_milli > 0) {
        int best = -1;
        for (int g = 0; g < n->ngpus; g++)
            if (n->gpu_free[g] >= r->gpu_milli &&
                (best < 0 || n->gpu_free[g] < n->gpu_free[best]))
                best = g;
        ch->milli = r->gpu_milli;
        ch->gpu[0] = (uint8_t)best;
        ch->ngpu = 1;
    }
}

/* Asks policy p where r goes. Fills out and returns 0, or returns -1 when
 * no node fits. Nothing changes until sched_commit. */
int sched_place(struct sched_cluster *c, const struct sched_policy *p,
                const struct sched_req *r, struct sched_choice *out)
{
    memset(out, 0, sizeof(*out));
    int idx = p->place(c, r, out);
    if (idx < 0)
        return -1;
    out->node = idx;
    if (out->ngpu == 0)
        sched_pick_gpus(&c->nodes[idx], r, out);
    out->est_end = c->now + r->est_runtime;
    return 0;
}

/* Takes r's resources from the chosen node. */
void sched_commit(struct sched_cluster *c, const struct sched_req *r,
                  const struct sched_choice *ch)
{
    struct sched_node *n = &c->nodes[ch->node];
    n->cpu_free -= r->cpu;
    n->mem_free -= r->mem;
    n->disk_free -= r->disk;
    for (int i = 0; i < ch->ngpu; i++)
        n->gpu_free[ch->gpu[i]] = (uint16_t)(n->gpu_free[ch->gpu[i]] - ch->milli);
    n->ntasks++;
    n->end_sum += ch->est_end;
}

/* Gives r's resources back to the node of ch. */
void sched_release(struct sched_cluster *c, const struct sched_req *r,
                   const struct sched_choice *ch)
{
    struct sched_node *n = &c->nodes[ch->node];
    n->cpu_free += r->cpu;
    n->mem_free += r->mem;
    n->disk_free += r->disk;
    for (int i = 0; i < ch->ngpu; i++)
        n->gpu_free[ch->gpu[i]] = (uint16_t)(n->gpu_free[ch->gpu[i]] + ch->milli);
    if (n->ntasks > 0)
        n->ntasks--;
    n->end_sum = n->ntasks > 0 ? n->end_sum - ch->est_end : 0;
}

/* Writes why r fits nowhere, naming the tightest resource, e.g. "no worker
 * with 2 free GPUs of model H100". Returns 0, or -1 if r fits somewhere. */
int sched_explain(const struct sched_cluster *c, const struct sched_req *r,
                  const char *model_spec, char *out, size_t outlen)
{
    int usable = 0, exec = 0, labeled = 0, cpu = 0, mem = 0, disk = 0, gpu = 0;
    for (int i = 0; i < c->nnodes; i++) {
        const struct sched_node *n = &c->nodes[i];
        if (!n->usable)
            continue;
        usable++;
        if (r->executor && !(n->executors & r->executor))
            continue;
        exec++;
        if (r->labels && c->label_fit && !c->label_fit(n, r->labels))
            continue;
        labeled++;
        cpu += n->cpu_free >= r->cpu;
        mem += n->mem_free >= r->mem;
        disk += n->disk_free >= r->disk;
        gpu += sched_gpus_fit(n, r);
        if (sched_fits(c, n, r))
            return -1;
    }
    const char *of = model_spec && *model_spec ? " of model " : "";
    const char *model = model_spec ? model_spec : "";
    if (usable == 0)
        snprintf(out, outlen, "no active worker");
    else if (exec == 0)
        snprintf(out, outlen, "no worker offers the %s executor",
                 r->executor == SCHED_EXEC_DOCKER ? "docker" : "process");
    else if (labeled == 0)
        snprintf(out, outlen, "no active worker has the requested labels");
    else if (r->gpus > 0 && gpu == 0)
        snprintf(out, outlen, "no worker with %d free GPU%s%s%s", r->gpus,
                 r->gpus > 1 ? "s" : "", of, model);
    else if (r->gpu_milli > 0 && gpu == 0)
        snprintf(out, outlen, "no worker with a GPU%s%s that has %.3g GPU free",
                 of, model, r->gpu_milli / 1000.0);
    else if (cpu == 0)
        snprintf(out, outlen, "no worker with %.3g free CPU cores", r->cpu / 1000.0);
    else if (mem == 0)
        snprintf(out, outlen, "no worker with %lld MiB of free memory", (long long)r->mem);
    else if (disk == 0)
        snprintf(out, outlen, "no worker with %lld MiB of free storage", (long long)r->disk);
    else
        snprintf(out, outlen, "no worker has all the requested resources free at once");
    return 0;
}

static int whole_gpus_free(const struct sched_node *n)
{
    int whole = 0;
    for (int g = 0; g < n->ngpus; g++)
        whole += n->gpu_free[g] == 1000;
    return whole;
}

/* Writes why r does not fit on node idx as it is now, naming the first
 * resource short there, e.g. "it has 1.5 of 8 CPU cores free, the task
 * needs 4" (for a task pinned to that node). Returns 0, or -1 if r fits. */
int sched_explain_node(const struct sched_cluster *c, int idx, const struct sched_req *r,
                       const char *model_spec, char *out, size_t outlen)
{
    const struct sched_node *n = &c->nodes[idx];
    const char *model = model_spec && *model_spec ? model_spec : NULL;
    if (!n->usable)
        snprintf(out, outlen, "it takes no new tasks");
    else if (r->executor && !(n->executors & r->executor))
        snprintf(out, outlen, "it does not offer the %s executor",
                 r->executor == SCHED_EXEC_DOCKER ? "docker" : "process");
    else if (r->labels && c->label_fit && !c->label_fit(n, r->labels))
        snprintf(out, outlen, "it does not have the requested labels");
    else if ((r->gpus || r->gpu_milli) && model &&
             (n->model >= SCHED_MAX_MODELS || !((r->models >> n->model) & 1)))
        snprintf(out, outlen, "it has no GPU of model %s", model);
    else if (r->gpus > 0 && !sched_gpus_fit(n, r))
        snprintf(out, outlen, "it has %d whole GPU%s free, the task needs %d",
                 whole_gpus_free(n), whole_gpus_free(n) == 1 ? "" : "s", r->gpus);
    else if (r->gpu_milli > 0 && !sched_gpus_fit(n, r))
        snprintf(out, outlen, "none of its GPUs has %.3g GPU free", r->gpu_milli / 1000.0);
    else if (n->cpu_free < r->cpu)
        snprintf(out, outlen, "it has %.3g of %.3g CPU cores free, the task needs %.3g",
                 n->cpu_free / 1000.0, n->cpu_total / 1000.0, r->cpu / 1000.0);
    else if (n->mem_free < r->mem)
        snprintf(out, outlen, "it has %lld of %lld MiB of memory free, the task needs %lld",
                 (long long)n->mem_free, (long long)n->mem_total, (long long)r->mem);
    else if (n->disk_free < r->disk)
        snprintf(out, outlen, "it has %lld of %lld MiB of storage free, the task needs %lld",
                 (long long)n->disk_free, (long long)n->disk_total, (long long)r->disk);
    else
        return -1;
    return 0;
}
