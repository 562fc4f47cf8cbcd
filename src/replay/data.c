#include "data.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/list.h"
#include "core/timefmt.h"
#include "replay/csv.h"
#include "replay/row.h"

#define NOMEM (-2)

/* labels_raw keys that describe one GPU or one row, not the host. */
static const char *const row_labels[] = {
    "Hostname", "UUID", "__name__", "device", "gpu", "modelName", "pci_bus_id",
    "container", "pod", "namespace", NULL,
};

static int host_match(const struct dict_node *n, const void *key, size_t len)
{
    const struct replay_host *h = container_of(n, struct replay_host, by_name);
    return strlen(h->name) == len && memcmp(h->name, key, len) == 0;
}

static int gpu_match(const struct dict_node *n, const void *key, size_t len)
{
    const struct replay_gpu *g = container_of(n, struct replay_gpu, by_uuid);
    return strlen(g->info.uuid) == len && memcmp(g->info.uuid, key, len) == 0;
}

static void report(struct replay_data *d, long line, const char *reason)
{
    d->stats.skipped++;
    if (d->report)
        d->report(d->ud, line, reason);
}

/* Makes room for need elements of size bytes in p, an array of *cap.
 * Returns the array (perhaps moved), or NULL with p left as it was. */
static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * size);
    if (q)
        *cap = n;
    return q;
}

static json_t *host_labels(const struct replay_labels *l)
{
    json_t *o = json_object();
    for (int i = 0; o && i < l->n; i++) {
        int per_row = 0;
        for (int k = 0; row_labels[k]; k++)
            per_row |= strcmp(l->key[i], row_labels[k]) == 0;
        if (!per_row && json_object_set_new(o, l->key[i], json_string(l->value[i])) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* The row's host; NULL with *filtered set past max_hosts, or NULL when
 * memory ran out. */
static struct replay_host *host_for(struct replay_data *d, const struct replay_row *row,
                                    const struct replay_labels *labels, int *filtered)
{
    size_t n = strlen(row->hostname);
    struct dict_node *node = dict_find(&d->host_index, row->hostname, n);
    if (node)
        return container_of(node, struct replay_host, by_name);
    if (d->max_hosts > 0 && d->nhosts >= d->max_hosts) {
        *filtered = 1;
        return NULL;
    }
    struct replay_host **hosts = grow(d->hosts, &d->hosts_cap, (size_t)d->nhosts + 1,
                                     sizeof(*hosts));
    struct replay_host *h = hosts ? calloc(1, sizeof(*h)) : NULL;
    d->hosts = hosts ? hosts : d->hosts;
    if (!h)
        return NULL;
    h->id = d->nhosts;
    snprintf(h->name, sizeof(h->name), "%s", row->hostname);
    if (!(h->labels = host_labels(labels)) ||
        dict_insert(&d->host_index, &h->by_name, h->name, n) < 0) {
        json_decref(h->labels);
        free(h);
        return NULL;
    }
    d->hosts[d->nhosts++] = h;
    return h;
}

static struct replay_gpu *gpu_new(struct replay_data *d, struct replay_host *h, int host,
                                  const struct replay_row *row)
{
    struct replay_gpu **gpus = grow(d->gpus, &d->gpus_cap, (size_t)d->ngpus + 1, sizeof(*gpus));
    struct replay_gpu *g = gpus ? calloc(1, sizeof(*g)) : NULL;
    d->gpus = gpus ? gpus : d->gpus;
    if (!g)
        return NULL;
    g->info.index = row->gpu_index;
    snprintf(g->info.uuid, sizeof(g->info.uuid), "%s", row->uuid);
    snprintf(g->info.model, sizeof(g->info.model), "%s", row->model);
    snprintf(g->info.device, sizeof(g->info.device), "%s", row->device);
    g->id = d->ngpus;
    g->host = host;
    g->line = row->line;
    if (dict_insert(&d->gpu_index, &g->by_uuid, g->info.uuid, strlen(g->info.uuid)) < 0) {
        free(g);
        return NULL;
    }
    h->gpus[h->ngpus++] = d->ngpus;
    d->gpus[d->ngpus++] = g;
    return g;
}

/* The GPU a row names, checked against what earlier rows said of it.
 * Returns its id, -1 with the reason for a conflict, NOMEM. */
static long gpu_for(struct replay_data *d, struct replay_host *h, int host,
                    const struct replay_row *row, char *err, size_t errlen)
{
    struct dict_node *node = dict_find(&d->gpu_index, row->uuid, strlen(row->uuid));
    if (node) {
        struct replay_gpu *g = container_of(node, struct replay_gpu, by_uuid);
        if (g->host != host || g->info.index != row->gpu_index ||
            strcmp(g->info.device, row->device) || strcmp(g->info.model, row->model)) {
            snprintf(err, errlen, "uuid %s is gpu %d (%s, %s) of %s at line %ld", g->info.uuid,
                     g->info.index, g->info.device, g->info.model, d->hosts[g->host]->name,
                     g->line);
            return -1;
        }
        for (int i = 0; i < h->ngpus; i++)
            if (d->gpus[h->gpus[i]] == g)
                return h->gpus[i];
    }
    for (int i = 0; i < h->ngpus; i++) {
        const struct replay_gpu *o = d->gpus[h->gpus[i]];
        if (o->info.index == row->gpu_index) {
            snprintf(err, errlen, "gpu %d of %s is %s since line %ld", o->info.index, h->name,
                     o->info.uuid, o->line);
            return -1;
        }
    }
    if (h->ngpus == REPLAY_HOST_GPUS) {
        snprintf(err, errlen, "%s has more than %d GPUs", h->name, REPLAY_HOST_GPUS);
        return -1;
    }
    struct replay_gpu *g = gpu_new(d, h, host, row);
    return g ? (long)h->gpus[h->ngpus - 1] : NOMEM;
}

/* Files one checked row. Returns 0, 1 when its host is past max_hosts, -1
 * when it contradicts earlier rows (reported), NOMEM. */
static int add_row(struct replay_data *d, const struct replay_row *row,
                   const struct replay_labels *labels)
{
    int filtered = 0;
    struct replay_host *h = host_for(d, row, labels, &filtered);
    if (!h)
        return filtered ? 1 : NOMEM;
    char err[256];
    long gpu = gpu_for(d, h, h->id, row, err, sizeof(err));
    if (gpu < 0) {
        if (gpu == -1)
            report(d, row->line, err);
        return (int)gpu;
    }
    struct replay_point *points = grow(d->points, &d->points_cap, d->npoints + 1,
                                       sizeof(*points));
    if (!points)
        return NOMEM;
    d->points = points;
    struct replay_point *p = &d->points[d->npoints];
    p->ts_ms = row->ts_ms;
    p->value = row->value;
    p->line = row->line;
    p->num = d->nums.len;
    p->gpu = (uint32_t)gpu;
    p->metric = (uint8_t)row->metric;
    if (buf_append(&d->nums, row->num, strlen(row->num) + 1) < 0)
        return NOMEM;
    d->npoints++;
    return 0;
}

static int by_host_index(const void *a, const void *b)
{
    const struct replay_gpu *x = *(struct replay_gpu *const *)a;
    const struct replay_gpu *y = *(struct replay_gpu *const *)b;
    if (x->host != y->host)
        return x->host < y->host ? -1 : 1;
    return (x->info.index > y->info.index) - (x->info.index < y->info.index);
}

/* Numbers the GPUs by host, then index, so sorting values by GPU id
 * groups them by host in file order. */
static int order_gpus(struct replay_data *d)
{
    uint32_t *remap = malloc(((size_t)d->ngpus + 1) * sizeof(*remap));
    if (!remap)
        return NOMEM;
    if (d->ngpus > 1)
        qsort(d->gpus, d->ngpus, sizeof(*d->gpus), by_host_index);
    for (int h = 0; h < d->nhosts; h++)
        d->hosts[h]->ngpus = 0;
    for (uint32_t i = 0; i < d->ngpus; i++) {
        struct replay_gpu *g = d->gpus[i];
        remap[g->id] = i;
        g->id = i;
        struct replay_host *h = d->hosts[g->host];
        h->gpus[h->ngpus++] = i;
    }
    for (size_t i = 0; i < d->npoints; i++)
        d->points[i].gpu = remap[d->points[i].gpu];
    free(remap);
    return 0;
}

static int by_key(const void *a, const void *b)
{
    const struct replay_point *x = a, *y = b;
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    if (x->gpu != y->gpu)
        return x->gpu < y->gpu ? -1 : 1;
    if (x->metric != y->metric)
        return x->metric < y->metric ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

struct duplicate {
    struct replay_point p;
    long first;                   /* the line of the row kept */
};

static int by_line(const void *a, const void *b)
{
    const struct duplicate *x = a, *y = b;
    return (x->p.line > y->p.line) - (x->p.line < y->p.line);
}

static void report_duplicate(struct replay_data *d, const struct duplicate *dup)
{
    char when[40], reason[256];
    time_format((double)dup->p.ts_ms / 1000.0, when, sizeof(when));
    snprintf(reason, sizeof(reason), "duplicate %s of %s at %s (first at line %ld)",
             gpu_metric_names[dup->p.metric].dcgm, d->gpus[dup->p.gpu]->info.uuid, when,
             dup->first);
    report(d, dup->p.line, reason);
}

/* Keeps the first row of each (time, GPU, metric) and reports the others
 * in line order. Points must be sorted by key. */
static int drop_duplicates(struct replay_data *d)
{
    struct duplicate *dups = NULL;
    size_t ndups = 0, cap = 0, w = 0;
    for (size_t r = 0; r < d->npoints; r++) {
        const struct replay_point *p = &d->points[r], *kept = w ? &d->points[w - 1] : NULL;
        if (kept && kept->ts_ms == p->ts_ms && kept->gpu == p->gpu &&
            kept->metric == p->metric) {
            struct duplicate *more = grow(dups, &cap, ndups + 1, sizeof(*dups));
            if (!more) {
                free(dups);
                return NOMEM;
            }
            dups = more;
            dups[ndups].p = *p;
            dups[ndups++].first = kept->line;
            continue;
        }
        d->points[w++] = *p;
    }
    d->npoints = w;
    if (ndups)
        qsort(dups, ndups, sizeof(*dups), by_line);
    for (size_t i = 0; i < ndups; i++)
        report_duplicate(d, &dups[i]);
    free(dups);
    return 0;
}

/* A GPU's memory is FB_USED + FB_FREE at the first time it has both. */
static void set_memory(struct replay_data *d, const struct replay_point *used,
                       const struct replay_point *free_mib)
{
    struct replay_gpu *g = d->gpus[used->gpu];
    double total = used->value + free_mib->value;
    if (g->has_memory || !(total >= 0 && total <= 1e15))
        return;
    g->info.memory_mib = (int64_t)llround(total);
    g->has_memory = 1;
}

/* Lists the distinct times with where their points start, counts the
 * samples and sets each GPU's memory. */
static int index_times(struct replay_data *d)
{
    size_t ntimes = 0;
    for (size_t i = 0; i < d->npoints; i++)
        ntimes += i == 0 || d->points[i].ts_ms != d->points[i - 1].ts_ms;
    d->times = malloc((ntimes + 1) * sizeof(*d->times));
    d->first = malloc((ntimes + 1) * sizeof(*d->first));
    if (!d->times || !d->first)
        return NOMEM;
    d->ntimes = 0;
    for (size_t i = 0; i < d->npoints; i++) {
        const struct replay_point *p = &d->points[i], *prev = i ? p - 1 : NULL;
        if (!prev || p->ts_ms != prev->ts_ms) {
            d->times[d->ntimes] = p->ts_ms;
            d->first[d->ntimes++] = i;
        }
        if (!prev || p->ts_ms != prev->ts_ms || p->gpu != prev->gpu)
            d->stats.samples++;
        else if (prev->metric == GM_MEM_USED && p->metric == GM_MEM_FREE)
            set_memory(d, prev, p);
    }
    d->first[d->ntimes] = d->npoints;
    return 0;
}

static int read_header(struct csv_reader *r, struct csv_record *rec, char *err, size_t errlen)
{
    char why[200];
    int rc = csv_next(r, rec, why, sizeof(why));
    if (rc == 0)
        snprintf(err, errlen, "1: no header: the file is empty");
    else if (rc < 0)
        snprintf(err, errlen, "%ld: bad header: %s", rec->line, why);
    else if (replay_header_check(rec, why, sizeof(why)) < 0)
        snprintf(err, errlen, "%ld: %s", rec->line, why);
    return rc > 0 && err[0] == '\0' ? 0 : -1;
}

/* Reads every data record; NOMEM when memory ran out. */
static int read_rows(struct replay_data *d, struct csv_reader *r, struct csv_record *rec)
{
    struct replay_labels labels;
    struct replay_row row;
    char why[256];
    int rc, status = 0;
    replay_labels_init(&labels);
    while (status == 0 && (rc = csv_next(r, rec, why, sizeof(why))) != 0) {
        d->stats.rows++;
        if (rc == NOMEM)
            status = NOMEM;
        else if (rc < 0 || replay_row_parse(rec, &labels, &row, why, sizeof(why)) < 0)
            report(d, rec->line, why);
        else if ((rc = add_row(d, &row, &labels)) == 1)
            d->stats.filtered++;
        else if (rc == NOMEM)
            status = NOMEM;
    }
    replay_labels_free(&labels);
    return status;
}

/* Loads CSV text (borrowed during the call) into d: the header must be
 * the DCGM exporter's; each bad row is passed to report (may be NULL) with
 * its line and counted. Rows of hosts past the first max_hosts (0: no
 * limit) are counted as filtered. Returns 0, or -1 with the reason ("LINE:
 * bad header ..." or "out of memory"); d must be freed either way. */
int replay_data_load(struct replay_data *d, const char *text, size_t len, int max_hosts,
                     replay_report_fn report_fn, void *ud, char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    dict_init(&d->host_index, host_match);
    dict_init(&d->gpu_index, gpu_match);
    buf_init(&d->nums);
    d->max_hosts = max_hosts;
    d->report = report_fn;
    d->ud = ud;
    err[0] = '\0';
    struct csv_reader r;
    struct csv_record *rec = malloc(sizeof(*rec));
    if (!rec) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    csv_init(&r, text, len);
    int rc = read_header(&r, rec, err, errlen);
    if (rc == 0)
        rc = read_rows(d, &r, rec);
    csv_free(&r);
    free(rec);
    if (rc == 0)
        rc = order_gpus(d);
    if (rc == 0 && d->npoints > 1)
        qsort(d->points, d->npoints, sizeof(*d->points), by_key);
    if (rc == 0)
        rc = drop_duplicates(d);
    if (rc == 0)
        rc = index_times(d);
    d->stats.used = d->npoints;
    if (rc == NOMEM)
        snprintf(err, errlen, "out of memory");
    return rc < 0 ? -1 : 0;
}

/* Reads the file at path and loads it as replay_data_load does. Returns 0,
 * or -1 with the reason (the file cannot be read, a bad header). */
int replay_data_load_file(struct replay_data *d, const char *path, int max_hosts,
                          replay_report_fn report_fn, void *ud, char *err, size_t errlen)
{
    struct buf text = BUF_INIT;
    char chunk[65536];
    size_t n;
    FILE *f = fopen(path, "rb");
    memset(d, 0, sizeof(*d));
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&text, chunk, n) < 0) {
            fclose(f);
            buf_free(&text);
            snprintf(err, errlen, "%s: out of memory", path);
            return -1;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        buf_free(&text);
        snprintf(err, errlen, "%s: read error", path);
        return -1;
    }
    char why[300];
    int rc = replay_data_load(d, text.data ? text.data : "", text.len, max_hosts, report_fn,
                              ud, why, sizeof(why));
    buf_free(&text);
    if (rc < 0)
        snprintf(err, errlen, "%s:%s%s", path, isdigit((unsigned char)why[0]) ? "" : " ", why);
    return rc;
}

/* Frees everything d holds; d may be freshly zeroed or half loaded. */
void replay_data_free(struct replay_data *d)
{
    for (int i = 0; i < d->nhosts; i++) {
        json_decref(d->hosts[i]->labels);
        free(d->hosts[i]);
    }
    for (uint32_t i = 0; i < d->ngpus; i++)
        free(d->gpus[i]);
    free(d->hosts);
    free(d->gpus);
    dict_free(&d->host_index);
    dict_free(&d->gpu_index);
    free(d->points);
    buf_free(&d->nums);
    free(d->times);
    free(d->first);
    memset(d, 0, sizeof(*d));
}

/* Returns the end of the run of points from `from` (before `to`) that
 * belong to the same host: one heartbeat's worth at one time. */
size_t replay_host_run(const struct replay_data *d, size_t from, size_t to)
{
    int host = d->gpus[d->points[from].gpu]->host;
    size_t i = from + 1;
    while (i < to && d->gpus[d->points[i].gpu]->host == host)
        i++;
    return i;
}
