#include "gpumetric.h"

#include <string.h>

const struct gpu_metric_name gpu_metric_names[GM_COUNT] = {
    [GM_UTIL] = {"utilization", "gpu_utilization", "GPU_UTIL",
                 "GPU utilization (in %)."},
    [GM_MEM_UTIL] = {"memory_utilization", "memory_utilization", "MEM_COPY_UTIL",
                     "Memory utilization (in %)."},
    [GM_MEM_USED] = {"memory_used_mib", "memory_used_mb", "FB_USED",
                     "Framebuffer memory used (in MiB)."},
    [GM_MEM_FREE] = {"memory_free_mib", "memory_free_mb", "FB_FREE",
                     "Framebuffer memory free (in MiB)."},
    [GM_TEMP] = {"temperature_c", "temperature", "GPU_TEMP",
                 "GPU temperature (in C)."},
    [GM_POWER] = {"power_w", "power_draw", "POWER_USAGE",
                  "Power draw (in W)."},
    [GM_SM_CLOCK] = {"sm_clock_mhz", "sm_clock_mhz", "SM_CLOCK",
                     "SM clock frequency (in MHz)."},
    [GM_MEM_CLOCK] = {"mem_clock_mhz", "memory_clock_mhz", "MEM_CLOCK",
                      "Memory clock frequency (in MHz)."},
    [GM_ENC_UTIL] = {"encoder_utilization", "encoder_utilization", "ENC_UTIL",
                     "Encoder utilization (in %)."},
    [GM_DEC_UTIL] = {"decoder_utilization", "decoder_utilization", "DEC_UTIL",
                     "Decoder utilization (in %)."},
};

/* Returns the metric whose protocol name is name, or -1. */
int gpu_metric_by_proto(const char *name)
{
    for (int i = 0; i < GM_COUNT; i++)
        if (strcmp(gpu_metric_names[i].proto, name) == 0)
            return i;
    return -1;
}

/* Returns the metric whose DCGM name is name ("GPU_UTIL", or with the
 * "DCGM_FI_DEV_" prefix), or -1. */
int gpu_metric_by_dcgm(const char *name)
{
    if (strncmp(name, "DCGM_FI_DEV_", 12) == 0)
        name += 12;
    for (int i = 0; i < GM_COUNT; i++)
        if (strcmp(gpu_metric_names[i].dcgm, name) == 0)
            return i;
    return -1;
}

/* Returns the metric called name in any of its names (protocol, API,
 * DCGM with or without the DCGM_FI_DEV_ prefix), or -1. */
int gpu_metric_by_name(const char *name)
{
    int m = gpu_metric_by_dcgm(name);
    for (int i = 0; m < 0 && i < GM_COUNT; i++)
        if (strcmp(gpu_metric_names[i].api, name) == 0 || strcmp(gpu_metric_names[i].proto, name) == 0)
            m = i;
    return m;
}
