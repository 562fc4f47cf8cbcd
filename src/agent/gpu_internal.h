/* What gpu.c shares with its two backends, gpu_nvml.c and gpu_smi.c. Not
 * for use outside src/agent/gpu*.c. */
#ifndef GANTRY_GPU_INTERNAL_H
#define GANTRY_GPU_INTERNAL_H

#include <ev.h>

#include "gpu.h"

enum gpu_kind { GPU_NONE, GPU_NVML, GPU_SMI };

struct gpu_nvml;
struct gpu_smi;

struct gpu_source {
    enum gpu_kind kind;
    struct ev_loop *loop;
    double timeout;             /* seconds an nvidia-smi run may take */
    int ngpu;
    struct gpu_info inv[GPU_MAX];
    int nlatest;                /* 0 until a sample has completed */
    struct gpu_sample latest[GPU_MAX];   /* aligned with inv */
    struct gpu_nvml *nvml;
    struct gpu_smi *smi;
};

void gpu_info_fill(struct gpu_info *g, int index, const char *uuid,
                   const char *model, int64_t memory_mib);

int gpu_nvml_open(struct gpu_source *s, const char *path, char *driver,
                  size_t driverlen);
void gpu_nvml_refresh(struct gpu_source *s);
void gpu_nvml_close(struct gpu_source *s);

int gpu_smi_open(struct gpu_source *s, const char *path, char *driver,
                 size_t driverlen);
void gpu_smi_refresh(struct gpu_source *s);
void gpu_smi_close(struct gpu_source *s);

#endif
