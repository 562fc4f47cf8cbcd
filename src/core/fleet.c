/* The clusters -> hosts -> GPUs index over the cluster's workers (see
 * fleet.h): sorted arrays of pointers, built per request. */
#include "fleet.h"

#include <stdlib.h>
#include <string.h>

/* The cluster w belongs to: its `cluster` label when set and not empty,
 * else default_cluster. */
const char *fleet_worker_cluster(const struct worker *w, const char *default_cluster)
{
    const char *c = json_string_value(json_object_get(w->labels, FLEET_CLUSTER_LABEL));
    return c && *c ? c : default_cluster;
}

/* The host w runs on: the hostname its agent said, else its id. */
const char *fleet_hostname(const struct worker *w)
{
    return w->hostname[0] ? w->hostname : w->id;
}

/* Sorting state: qsort has no context argument. */
static const char *sort_default;

static int by_place(const void *a, const void *b)
{
    const struct worker *x = *(const struct worker *const *)a;
    const struct worker *y = *(const struct worker *const *)b;
    int c = strcmp(fleet_worker_cluster(x, sort_default), fleet_worker_cluster(y, sort_default));
    if (!c)
        c = strcmp(fleet_hostname(x), fleet_hostname(y));
    return c ? c : strcmp(x->id, y->id);
}

static int by_index(const void *a, const void *b)
{
    const struct worker_gpu *x = *(const struct worker_gpu *const *)a;
    const struct worker_gpu *y = *(const struct worker_gpu *const *)b;
    if (x->info.index != y->info.index)
        return x->info.index < y->info.index ? -1 : 1;
    return strcmp(x->info.uuid, y->info.uuid);
}

/* The workers that make hosts, sorted by cluster, hostname and id. */
static const struct worker **sorted_workers(const struct cluster *cl, enum fleet_flags flags,
                                            size_t *n, size_t *ngpus)
{
    const struct worker **v = malloc((cl->nworkers + 1) * sizeof(*v));
    struct list_node *pos;
    *n = *ngpus = 0;
    if (!v)
        return NULL;
    list_for_each(pos, &cl->worker_list) {
        const struct worker *w = container_of(pos, struct worker, all);
        if (w->ngpus == 0 && !(flags & FLEET_ALL_HOSTS))
            continue;
        v[(*n)++] = w;
        *ngpus += (size_t)w->ngpus;
    }
    qsort(v, *n, sizeof(*v), by_place);
    return v;
}

static int same_host(const struct fleet_host *h, const struct worker *w, const char *def)
{
    return strcmp(h->cluster, fleet_worker_cluster(w, def)) == 0 &&
           strcmp(h->hostname, fleet_hostname(w)) == 0;
}

/* Groups the sorted workers into hosts and lists each host's GPUs. */
static void fill_hosts(struct fleet *f, const struct worker **v, size_t n, const char *def)
{
    for (size_t i = 0; i < n; i++) {
        const struct worker *w = v[i];
        struct fleet_host *h = f->nhosts ? &f->hosts[f->nhosts - 1] : NULL;
        if (!h || !same_host(h, w, def)) {
            h = &f->hosts[f->nhosts++];
            *h = (struct fleet_host){fleet_worker_cluster(w, def), fleet_hostname(w), w, 0,
                                     f->ngpus, 0};
        }
        h->nworkers++;
        for (int g = 0; g < w->ngpus; g++)
            f->gpus[f->ngpus++] = &w->gpus[g];
        h->ngpus += (size_t)w->ngpus;
    }
    for (size_t i = 0; i < f->nhosts; i++)
        qsort(f->gpus + f->hosts[i].first_gpu, f->hosts[i].ngpus, sizeof(*f->gpus), by_index);
}

/* One cluster per run of hosts, and the configured one in its place even
 * when it has none. */
static void fill_clusters(struct fleet *f, const char *def)
{
    int have_default = 0;
    for (size_t i = 0; i < f->nhosts; i++) {
        const struct fleet_host *h = &f->hosts[i];
        struct fleet_cluster *c = f->nclusters ? &f->clusters[f->nclusters - 1] : NULL;
        if (!c || strcmp(c->name, h->cluster) != 0) {
            if (!have_default && strcmp(def, h->cluster) < 0) {
                f->clusters[f->nclusters++] = (struct fleet_cluster){def, i, 0, h->first_gpu, 0};
                have_default = 1;
            }
            c = &f->clusters[f->nclusters++];
            *c = (struct fleet_cluster){h->cluster, i, 0, h->first_gpu, 0};
            have_default |= strcmp(def, h->cluster) == 0;
        }
        c->nhosts++;
        c->ngpus += h->ngpus;
    }
    if (!have_default)
        f->clusters[f->nclusters++] = (struct fleet_cluster){def, f->nhosts, 0, f->ngpus, 0};
}

/* Indexes cl's clusters, hosts and GPUs into f (default_cluster: the name
 * of workers without a `cluster` label; NULL means "default"). Returns 0,
 * or -1 on no memory (f is then empty). */
int fleet_build(struct fleet *f, const struct cluster *cl, const char *default_cluster,
                enum fleet_flags flags)
{
    const char *def = default_cluster && *default_cluster ? default_cluster : FLEET_DEFAULT_CLUSTER;
    size_t n, ngpus;
    memset(f, 0, sizeof(*f));
    sort_default = def;
    const struct worker **v = sorted_workers(cl, flags, &n, &ngpus);
    f->hosts = malloc((n + 1) * sizeof(*f->hosts));
    f->clusters = malloc((n + 2) * sizeof(*f->clusters));
    f->gpus = malloc((ngpus + 1) * sizeof(*f->gpus));
    if (!v || !f->hosts || !f->clusters || !f->gpus) {
        free(v);
        fleet_free(f);
        return -1;
    }
    fill_hosts(f, v, n, def);
    fill_clusters(f, def);
    free(v);
    return 0;
}

/* Frees the index (never the workers it points to). */
void fleet_free(struct fleet *f)
{
    free(f->clusters);
    free(f->hosts);
    free(f->gpus);
    memset(f, 0, sizeof(*f));
}

/* Returns the cluster called name, or NULL. */
const struct fleet_cluster *fleet_find_cluster(const struct fleet *f, const char *name)
{
    for (size_t i = 0; i < f->nclusters; i++)
        if (strcmp(f->clusters[i].name, name) == 0)
            return &f->clusters[i];
    return NULL;
}

/* Returns the host called hostname in cluster c (NULL: the first cluster
 * that has such a host), or NULL. */
const struct fleet_host *fleet_find_host(const struct fleet *f, const struct fleet_cluster *c,
                                         const char *hostname)
{
    size_t first = c ? c->first_host : 0, n = c ? c->nhosts : f->nhosts;
    for (size_t i = first; i < first + n; i++)
        if (strcmp(f->hosts[i].hostname, hostname) == 0)
            return &f->hosts[i];
    return NULL;
}

/* Returns host h's GPU named gpu_id: its index on the host ("3") or its
 * uuid; NULL when h has none such. */
const struct worker_gpu *fleet_find_gpu(const struct fleet *f, const struct fleet_host *h,
                                        const char *gpu_id)
{
    char *end;
    long index = strtol(gpu_id, &end, 10);
    int numeric = *gpu_id && *end == '\0';
    for (size_t i = h->first_gpu; i < h->first_gpu + h->ngpus; i++) {
        const struct worker_gpu *g = f->gpus[i];
        if (numeric ? g->info.index == index : strcmp(g->info.uuid, gpu_id) == 0)
            return g;
    }
    return NULL;
}

/* The window [offset, offset + limit) of a list of total items, cut to
 * what exists. */
struct fleet_page fleet_page(size_t total, size_t offset, size_t limit)
{
    struct fleet_page p = {offset < total ? offset : total, 0, total};
    p.count = total - p.first < limit ? total - p.first : limit;
    return p;
}
