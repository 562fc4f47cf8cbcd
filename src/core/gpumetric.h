/* The ten GPU metrics Gantry carries, and their names in each place they
 * appear: the agent protocol, the /api/v1 API, Redis stream fields and
 * Prometheus (DCGM exporter names). */
#ifndef GANTRY_GPUMETRIC_H
#define GANTRY_GPUMETRIC_H

#include <stdint.h>

enum gpu_metric {
    GM_UTIL,              /* percent */
    GM_MEM_UTIL,          /* percent (memory copy utilization) */
    GM_MEM_USED,          /* MiB */
    GM_MEM_FREE,          /* MiB */
    GM_TEMP,              /* degrees C */
    GM_POWER,             /* watts */
    GM_SM_CLOCK,          /* MHz */
    GM_MEM_CLOCK,         /* MHz */
    GM_ENC_UTIL,          /* percent */
    GM_DEC_UTIL,          /* percent */
    GM_COUNT
};

struct gpu_metric_name {
    const char *proto;    /* heartbeat field: "utilization" */
    const char *api;      /* /api/v1 field: "gpu_utilization" */
    const char *dcgm;     /* DCGM field, short: "GPU_UTIL"; Redis uses it */
    const char *help;     /* Prometheus HELP text */
};

extern const struct gpu_metric_name gpu_metric_names[GM_COUNT];

/* One sample of one GPU: only metrics whose bit is set in present were
 * reported; the others are absent (never 0). */
struct gpu_sample {
    uint16_t present;
    double v[GM_COUNT];
    double ts;            /* sample time, seconds since the epoch; 0 = now */
};

struct gpu_info {
    int index;
    char uuid[64];
    char model[64];
    char device[16];      /* "nvidia0" */
    int64_t memory_mib;
};

int gpu_metric_by_proto(const char *name);
int gpu_metric_by_dcgm(const char *name);
int gpu_metric_by_name(const char *name);

static inline int gpu_sample_has(const struct gpu_sample *s, enum gpu_metric m)
{
    return (s->present >> m) & 1;
}

static inline void gpu_sample_set(struct gpu_sample *s, enum gpu_metric m,
                                  double v)
{
    s->present = (uint16_t)(s->present | (1u << m));
    s->v[m] = v;
}

#endif
