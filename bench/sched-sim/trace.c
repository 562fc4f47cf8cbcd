/* Reading the Alibaba GPU trace (cluster-trace-gpu-v2023): the node list
 * and a pod list, as plain comma-separated files with a header line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define LINE_MAX_LEN 1024
#define FIELDS_MAX 16

/* Splits line in place at commas; returns the number of fields. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    f[n++] = line;
    for (char *p = line; *p && n < max; p++) {
        if (*p == ',') {
            *p = '\0';
            f[n++] = p + 1;
        }
    }
    return n;
}

/* Returns the index of column name in header fields h, or -1. */
static int column(char **h, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(h[i], name) == 0)
            return i;
    return -1;
}

static int to_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

static int grow(void **v, int *cap, int n, size_t size)
{
    if (n < *cap)
        return 0;
    int c = *cap ? *cap * 2 : 1024;
    void *p = realloc(*v, (size_t)c * size);
    if (!p)
        return -1;
    *v = p;
    *cap = c;
    return 0;
}

static int node_row(char **f, const int *col, struct sim_node *n)
{
    int64_t gpus;
    snprintf(n->name, sizeof(n->name), "%s", f[col[0]]);
    snprintf(n->model, sizeof(n->model), "%s", f[col[4]]);
    if (to_i64(f[col[1]], &n->cpu) < 0 || to_i64(f[col[2]], &n->mem) < 0 ||
        to_i64(f[col[3]], &gpus) < 0 || gpus > SCHED_MAX_GPUS)
        return -1;
    n->gpus = (int)gpus;
    return 0;
}

static int pod_row(char **f, const int *col, struct sim_pod *p)
{
    int64_t num, milli, created = 0, deleted = 0;
    snprintf(p->name, sizeof(p->name), "%s", f[col[0]]);
    snprintf(p->spec, sizeof(p->spec), "%s", f[col[5]]);
    if (to_i64(f[col[1]], &p->cpu) < 0 || to_i64(f[col[2]], &p->mem) < 0 ||
        to_i64(f[col[3]], &num) < 0 || to_i64(f[col[4]], &milli) < 0 ||
        num > SCHED_MAX_GPUS || milli > 1000)
        return -1;
    if (*f[col[6]] && to_i64(f[col[6]], &created) < 0)
        return -1;
    if (*f[col[7]] && to_i64(f[col[7]], &deleted) < 0)
        return -1;
    p->num_gpu = (int)num;
    p->gpu_milli = num > 0 ? (int)milli : 0;
    p->created = (double)created;
    p->deleted = *f[col[7]] ? (double)deleted : p->created;
    return 0;
}

/* Reads path's rows through row(), which gets the fields in the order of
 * names; the rows land in *v (count in *n). */
static int read_csv(const char *path, const char *const *names, int ncols,
                    void **v, int *n, size_t size,
                    int (*row)(char **, const int *, void *),
                    char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[LINE_MAX_LEN], head[LINE_MAX_LEN];
    char *h[FIELDS_MAX], *f[FIELDS_MAX];
    int col[FIELDS_MAX], cap = 0, lineno = 1, rc = 0;
    int nh = fgets(head, sizeof(head), fp) ? split(head, h, FIELDS_MAX) : 0;
    for (int i = 0; i < ncols && rc == 0; i++)
        if ((col[i] = column(h, nh, names[i])) < 0) {
            snprintf(err, errlen, "%s: no column %s", path, names[i]);
            rc = -1;
        }
    while (rc == 0 && fgets(line, sizeof(line), fp)) {
        lineno++;
        int nf = split(line, f, FIELDS_MAX);
        if (nf == 1 && !*f[0])
            continue;
        if (nf < nh || grow(v, &cap, *n, size) < 0 ||
            row(f, col, (char *)*v + (size_t)*n * size) < 0) {
            snprintf(err, errlen, "%s:%d: bad row", path, lineno);
            rc = -1;
        } else {
            (*n)++;
        }
    }
    fclose(fp);
    return rc;
}

static int node_row_cb(char **f, const int *col, void *out)
{
    return node_row(f, col, out);
}

static int pod_row_cb(char **f, const int *col, void *out)
{
    return pod_row(f, col, out);
}

/* Loads the node list and the pod list. Returns 0, or -1 with err set. */
int sim_trace_load(struct sim_trace *t, const char *nodes_path,
                   const char *pods_path, char *err, size_t errlen)
{
    static const char *const node_cols[] = {"sn", "cpu_milli", "memory_mib",
                                            "gpu", "model"};
    static const char *const pod_cols[] = {"name", "cpu_milli", "memory_mib",
                                           "num_gpu", "gpu_milli", "gpu_spec",
                                           "creation_time", "deletion_time"};
    memset(t, 0, sizeof(*t));
    if (read_csv(nodes_path, node_cols, 5, (void **)&t->nodes, &t->nnodes,
                 sizeof(*t->nodes), node_row_cb, err, errlen) < 0 ||
        read_csv(pods_path, pod_cols, 8, (void **)&t->pods, &t->npods,
                 sizeof(*t->pods), pod_row_cb, err, errlen) < 0) {
        sim_trace_free(t);
        return -1;
    }
    return 0;
}

/* Frees what sim_trace_load read. */
void sim_trace_free(struct sim_trace *t)
{
    free(t->nodes);
    free(t->pods);
    memset(t, 0, sizeof(*t));
}
