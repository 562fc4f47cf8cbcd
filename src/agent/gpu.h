/* GPU inventory and samples for gantry-agent. A source is NVML (the
 * driver's libnvidia-ml.so.1, loaded with dlopen so the agent runs on
 * machines without it), else the nvidia-smi program, else none (zero GPUs).
 * NVML reads are fast and happen inline; nvidia-smi takes tens of ms, so
 * it runs as a child process whose output the event loop collects, and the
 * loop never waits for it (on the default loop: libev watches children only
 * there). */
#ifndef GANTRY_GPU_H
#define GANTRY_GPU_H

#include <stddef.h>

#include "core/gpumetric.h"

struct ev_loop;

#define GPU_MAX 64              /* GPUs per machine, at most */

struct gpu_source;

struct gpu_source *gpu_source_open(struct ev_loop *loop, const char *nvml_path,
                                   const char *smi_path, char *desc,
                                   size_t desclen);
int gpu_source_inventory(struct gpu_source *s, struct gpu_info *out, int max);
void gpu_source_refresh(struct gpu_source *s);
int gpu_source_latest(struct gpu_source *s, struct gpu_sample *out, int max);
void gpu_source_set_timeout(struct gpu_source *s, double seconds);
void gpu_source_close(struct gpu_source *s);

/* The nvidia-smi queries, with --format=csv,noheader,nounits. */
#define GPU_SMI_INVENTORY_FIELDS "index,uuid,name,memory.total,driver_version"
#define GPU_SMI_SAMPLE_FIELDS                                               \
    "index,utilization.gpu,utilization.memory,memory.used,memory.free,"     \
    "temperature.gpu,power.draw,clocks.sm,clocks.mem"
#define GPU_SMI_CODEC_FIELDS ",utilization.encoder,utilization.decoder"

int gpu_smi_parse_inventory(const char *text, struct gpu_info *out, int max);
int gpu_smi_parse_driver(const char *text, char *out, size_t outlen);
int gpu_smi_parse_samples(const char *text, struct gpu_sample *out, int max);

#endif
