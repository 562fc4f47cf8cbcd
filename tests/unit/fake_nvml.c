/* A stand-in libnvidia-ml.so.1 for the agent's GPU tests (there is no GPU
 * here): the NVML functions the agent resolves, answering for two H100s
 * with fixed readings. GPU 1 answers NOT_SUPPORTED for power, encoder and
 * decoder. GPU 0's temperature rises by one degree per read, so a test can
 * tell a fresh reading from a copy. FAKE_NVML_FAIL_INIT in the environment
 * makes nvmlInit_v2 fail as it does when the driver is not loaded.
 * fake_nvml_live counts inits not yet shut down. */
#include <stdlib.h>
#include <string.h>

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9

#define MIB (1024ULL * 1024ULL)

struct fake_gpu {
    const char *uuid;
    unsigned long long total, used, free;       /* bytes */
    unsigned int util, mem_util, temp, power_mw, sm_mhz, mem_mhz, enc, dec;
    int no_power, no_codec;
};

typedef struct fake_gpu *nvmlDevice_t;

struct nvml_memory {
    unsigned long long total, free, used;
};

struct nvml_utilization {
    unsigned int gpu, memory;
};

static struct fake_gpu gpus[] = {
    {"GPU-5fd4f087-86f3-7a43-b711-4771313afc50", 81559 * MIB, 73420 * MIB,
     7587 * MIB, 97, 76, 63, 300794, 1980, 2619, 3, 5, 0, 0},
    {"GPU-bc7a12ab-4998-fdc5-0785-2678a929a142", 81559 * MIB,
     2204 * MIB + 512 * 1024, 78803 * MIB, 0, 0, 30, 0, 345, 2619, 0, 0, 1, 1},
};
#define NGPU ((unsigned int)(sizeof(gpus) / sizeof(gpus[0])))

int fake_nvml_live;

int nvmlInit_v2(void);
int nvmlShutdown(void);
const char *nvmlErrorString(int ret);
int nvmlSystemGetDriverVersion(char *buf, unsigned int len);
int nvmlDeviceGetCount_v2(unsigned int *count);
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *dev);
int nvmlDeviceGetUUID(nvmlDevice_t dev, char *buf, unsigned int len);
int nvmlDeviceGetName(nvmlDevice_t dev, char *buf, unsigned int len);
int nvmlDeviceGetMemoryInfo(nvmlDevice_t dev, struct nvml_memory *mem);
int nvmlDeviceGetUtilizationRates(nvmlDevice_t dev, struct nvml_utilization *u);
int nvmlDeviceGetTemperature(nvmlDevice_t dev, int sensor, unsigned int *c);
int nvmlDeviceGetPowerUsage(nvmlDevice_t dev, unsigned int *mw);
int nvmlDeviceGetClockInfo(nvmlDevice_t dev, int type, unsigned int *mhz);
int nvmlDeviceGetEncoderUtilization(nvmlDevice_t dev, unsigned int *pct,
                                    unsigned int *period_us);
int nvmlDeviceGetDecoderUtilization(nvmlDevice_t dev, unsigned int *pct,
                                    unsigned int *period_us);

/* 0 when dev is one of ours and NVML is initialized, else the error. */
static int check(nvmlDevice_t dev)
{
    if (fake_nvml_live <= 0)
        return NVML_ERROR_UNINITIALIZED;
    for (unsigned int i = 0; i < NGPU; i++)
        if (dev == &gpus[i])
            return NVML_SUCCESS;
    return NVML_ERROR_INVALID_ARGUMENT;
}

static int copy_string(char *buf, unsigned int len, const char *s)
{
    if (strlen(s) + 1 > len)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(buf, s, strlen(s) + 1);
    return NVML_SUCCESS;
}

int nvmlInit_v2(void)
{
    if (getenv("FAKE_NVML_FAIL_INIT"))
        return NVML_ERROR_DRIVER_NOT_LOADED;
    fake_nvml_live++;
    return NVML_SUCCESS;
}

int nvmlShutdown(void)
{
    if (fake_nvml_live <= 0)
        return NVML_ERROR_UNINITIALIZED;
    fake_nvml_live--;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(int ret)
{
    switch (ret) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    default: return "Unknown Error";
    }
}

int nvmlSystemGetDriverVersion(char *buf, unsigned int len)
{
    if (fake_nvml_live <= 0)
        return NVML_ERROR_UNINITIALIZED;
    return copy_string(buf, len, "535.129.03");
}

int nvmlDeviceGetCount_v2(unsigned int *count)
{
    if (fake_nvml_live <= 0)
        return NVML_ERROR_UNINITIALIZED;
    *count = NGPU;
    return NVML_SUCCESS;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *dev)
{
    if (fake_nvml_live <= 0)
        return NVML_ERROR_UNINITIALIZED;
    if (index >= NGPU)
        return NVML_ERROR_INVALID_ARGUMENT;
    *dev = &gpus[index];
    return NVML_SUCCESS;
}

int nvmlDeviceGetUUID(nvmlDevice_t dev, char *buf, unsigned int len)
{
    int ret = check(dev);
    return ret ? ret : copy_string(buf, len, dev->uuid);
}

int nvmlDeviceGetName(nvmlDevice_t dev, char *buf, unsigned int len)
{
    int ret = check(dev);
    return ret ? ret : copy_string(buf, len, "NVIDIA H100 80GB HBM3");
}

int nvmlDeviceGetMemoryInfo(nvmlDevice_t dev, struct nvml_memory *mem)
{
    int ret = check(dev);
    if (ret)
        return ret;
    mem->total = dev->total;
    mem->used = dev->used;
    mem->free = dev->free;
    return NVML_SUCCESS;
}

int nvmlDeviceGetUtilizationRates(nvmlDevice_t dev, struct nvml_utilization *u)
{
    int ret = check(dev);
    if (ret)
        return ret;
    u->gpu = dev->util;
    u->memory = dev->mem_util;
    return NVML_SUCCESS;
}

int nvmlDeviceGetTemperature(nvmlDevice_t dev, int sensor, unsigned int *c)
{
    int ret = check(dev);
    if (ret)
        return ret;
    if (sensor != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    *c = dev == &gpus[0] ? dev->temp++ : dev->temp;
    return NVML_SUCCESS;
}

int nvmlDeviceGetPowerUsage(nvmlDevice_t dev, unsigned int *mw)
{
    int ret = check(dev);
    if (ret)
        return ret;
    if (dev->no_power)
        return NVML_ERROR_NOT_SUPPORTED;
    *mw = dev->power_mw;
    return NVML_SUCCESS;
}

int nvmlDeviceGetClockInfo(nvmlDevice_t dev, int type, unsigned int *mhz)
{
    int ret = check(dev);
    if (ret)
        return ret;
    if (type == 1)
        *mhz = dev->sm_mhz;
    else if (type == 2)
        *mhz = dev->mem_mhz;
    else
        return NVML_ERROR_INVALID_ARGUMENT;
    return NVML_SUCCESS;
}

/* The encoder (0) or decoder (1) utilization of dev. */
static int codec(nvmlDevice_t dev, int decoder, unsigned int *pct,
                 unsigned int *period_us)
{
    int ret = check(dev);
    if (ret)
        return ret;
    if (dev->no_codec)
        return NVML_ERROR_NOT_SUPPORTED;
    *pct = decoder ? dev->dec : dev->enc;
    *period_us = 167000;
    return NVML_SUCCESS;
}

int nvmlDeviceGetEncoderUtilization(nvmlDevice_t dev, unsigned int *pct,
                                    unsigned int *period_us)
{
    return codec(dev, 0, pct, period_us);
}

int nvmlDeviceGetDecoderUtilization(nvmlDevice_t dev, unsigned int *pct,
                                    unsigned int *period_us)
{
    return codec(dev, 1, pct, period_us);
}
