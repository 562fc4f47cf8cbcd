#include "gpu_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GPU_SMI_TIMEOUT 5.0     /* seconds before a stuck nvidia-smi is killed */

/* Picks the GPU source, once at agent start: NVML through dlopen(nvml_path,
 * or "libnvidia-ml.so.1" when NULL), else the nvidia-smi at smi_path (NULL:
 * "nvidia-smi" on PATH), else none. A source is taken only when it lists at
 * least one GPU. May block while it asks the driver (nvidia-smi runs two
 * or three times here). desc gets "nvml", "nvidia-smi" or "none", with " driver VERSION"
 * when known. loop must be the default loop (nvidia-smi's exit is watched
 * with an ev_child). Returns the source, freed by gpu_source_close, or NULL
 * only when out of memory. */
struct gpu_source *gpu_source_open(struct ev_loop *loop, const char *nvml_path,
                                   const char *smi_path, char *desc,
                                   size_t desclen)
{
    struct gpu_source *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->loop = loop;
    s->timeout = GPU_SMI_TIMEOUT;
    char driver[96] = "";
    if (gpu_nvml_open(s, nvml_path, driver, sizeof(driver)) == 0)
        s->kind = GPU_NVML;
    else if (gpu_smi_open(s, smi_path, driver, sizeof(driver)) == 0)
        s->kind = GPU_SMI;
    const char *kind = s->kind == GPU_NVML ? "nvml"
                     : s->kind == GPU_SMI ? "nvidia-smi" : "none";
    snprintf(desc, desclen, "%s%s%s", kind, driver[0] ? " driver " : "", driver);
    return s;
}

static void copy_truncated(char *dst, size_t dstlen, const char *src)
{
    size_t n = strnlen(src, dstlen - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Fills one inventory entry for a backend; strings too long are cut. */
void gpu_info_fill(struct gpu_info *g, int index, const char *uuid,
                   const char *model, int64_t memory_mib)
{
    char device[32];
    memset(g, 0, sizeof(*g));
    g->index = index;
    copy_truncated(g->uuid, sizeof(g->uuid), uuid);
    copy_truncated(g->model, sizeof(g->model), model);
    snprintf(device, sizeof(device), "nvidia%d", index);
    copy_truncated(g->device, sizeof(g->device), device);
    g->memory_mib = memory_mib;
}

/* Copies up to max GPUs of the inventory (read at open) to out; returns how
 * many. gpu_source_latest's samples follow the same order. */
int gpu_source_inventory(struct gpu_source *s, struct gpu_info *out, int max)
{
    int n = s->ngpu < max ? s->ngpu : max;
    if (n > 0)
        memcpy(out, s->inv, (size_t)n * sizeof(*out));
    return n;
}

/* Starts a new sample, once per heartbeat. NVML reads at once; nvidia-smi
 * starts a child whose output the loop collects, unless the previous one
 * is still running. Never blocks. */
void gpu_source_refresh(struct gpu_source *s)
{
    if (s->kind == GPU_NVML)
        gpu_nvml_refresh(s);
    else if (s->kind == GPU_SMI)
        gpu_smi_refresh(s);
}

/* Copies up to max of the latest complete samples to out, one per GPU of
 * the inventory in its order; returns how many: 0 before the first sample
 * (open takes one, so there usually is one) and with no GPUs. A GPU whose
 * last reading failed has every metric absent. */
int gpu_source_latest(struct gpu_source *s, struct gpu_sample *out, int max)
{
    int n = s->nlatest < max ? s->nlatest : max;
    if (n > 0)
        memcpy(out, s->latest, (size_t)n * sizeof(*out));
    return n;
}

/* Sets how long an nvidia-smi run may take before it is killed and its
 * sample counted as failed (default 5 s). */
void gpu_source_set_timeout(struct gpu_source *s, double seconds)
{
    s->timeout = seconds;
}

/* Frees the source: shuts NVML down, or kills a running nvidia-smi and
 * stops its watchers. s may be NULL. */
void gpu_source_close(struct gpu_source *s)
{
    if (s == NULL)
        return;
    gpu_nvml_close(s);
    gpu_smi_close(s);
    free(s);
}
