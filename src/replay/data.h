/* A DCGM CSV loaded for replay: rows checked and grouped into hosts (one
 * agent each, in order of first appearance) and their GPUs (by uuid), and
 * the metric values sorted by time, then host, GPU index and metric, so
 * that one file time's values for one host lie side by side. Bad rows are
 * reported through a callback with their line, counted and left out. */
#ifndef GANTRY_REPLAY_DATA_H
#define GANTRY_REPLAY_DATA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/dict.h"
#include "core/gpumetric.h"
#include "core/sched.h"
#include "core/worker.h"

#define REPLAY_HOST_GPUS SCHED_MAX_GPUS   /* what a hello may carry */

struct replay_gpu {
    struct dict_node by_uuid;
    struct gpu_info info;
    uint32_t id;                  /* index in replay_data.gpus */
    int host;                     /* index in replay_data.hosts */
    long line;                    /* its first row */
    int has_memory;               /* info.memory_mib came from FB_USED + FB_FREE */
};

struct replay_host {
    struct dict_node by_name;
    int id;                       /* index in replay_data.hosts */
    char name[WORKER_ID_MAX];
    json_t *labels;               /* host-wide labels of labels_raw, or NULL */
    int ngpus;
    uint32_t gpus[REPLAY_HOST_GPUS];  /* ids in replay_data.gpus, by index once loaded */
};

/* One metric value of one GPU at one time. */
struct replay_point {
    int64_t ts_ms;
    double value;
    long line;
    size_t num;                   /* its JSON text, at replay_data.nums + num */
    uint32_t gpu;                 /* id in replay_data.gpus */
    uint8_t metric;               /* enum gpu_metric */
};

struct replay_stats {
    unsigned long rows;           /* data records read, broken ones included */
    unsigned long skipped;        /* reported and left out */
    unsigned long filtered;       /* rows of hosts past max_hosts */
    unsigned long used;           /* values that are replayed */
    unsigned long samples;        /* (GPU, time) pairs: samples per pass */
};

typedef void (*replay_report_fn)(void *ud, long line, const char *reason);

struct replay_data {
    struct replay_host **hosts;
    int nhosts;
    size_t hosts_cap;
    struct replay_gpu **gpus;     /* ordered by host, then index, once loaded */
    uint32_t ngpus;
    size_t gpus_cap;
    struct dict host_index, gpu_index;
    struct replay_point *points;
    size_t npoints, points_cap;
    struct buf nums;
    int64_t *times;               /* the distinct file times, ascending */
    size_t *first;                /* points of times[i]: first[i] .. first[i+1] */
    size_t ntimes;
    struct replay_stats stats;
    int max_hosts;                /* 0: all */
    replay_report_fn report;
    void *ud;
};

int replay_data_load(struct replay_data *d, const char *text, size_t len, int max_hosts,
                     replay_report_fn report, void *ud, char *err, size_t errlen);
int replay_data_load_file(struct replay_data *d, const char *path, int max_hosts,
                          replay_report_fn report, void *ud, char *err, size_t errlen);
void replay_data_free(struct replay_data *d);
size_t replay_host_run(const struct replay_data *d, size_t from, size_t to);

#endif
