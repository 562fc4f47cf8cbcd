/* The NVML backend: libnvidia-ml.so.1 loaded with dlopen. No NVML header is
 * installed, so the few types and constants used are declared here from
 * NVML's documented ABI. */
#include "gpu_internal.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* nvmlReturn_t values */
#define NVML_SUCCESS 0

/* nvmlTemperatureSensors_t and nvmlClockType_t values */
#define NVML_TEMPERATURE_GPU 0
#define NVML_CLOCK_SM 1
#define NVML_CLOCK_MEM 2

#define NVML_STRING_MAX 96      /* the _V2 buffer sizes for UUID and name */

typedef struct nvml_device_st *nvml_device;     /* nvmlDevice_t, opaque */

struct nvml_memory {                            /* nvmlMemory_t (v1) */
    unsigned long long total, free, used;       /* bytes */
};

struct nvml_utilization {                       /* nvmlUtilization_t */
    unsigned int gpu, memory;                   /* percent */
};

struct gpu_nvml {
    void *lib;
    int (*init)(void);
    int (*shutdown)(void);
    int (*get_count)(unsigned int *count);
    int (*get_handle)(unsigned int index, nvml_device *dev);
    int (*get_uuid)(nvml_device dev, char *buf, unsigned int len);
    int (*get_name)(nvml_device dev, char *buf, unsigned int len);
    int (*get_memory)(nvml_device dev, struct nvml_memory *mem);
    int (*get_utilization)(nvml_device dev, struct nvml_utilization *u);
    int (*get_temperature)(nvml_device dev, int sensor, unsigned int *c);
    int (*get_power)(nvml_device dev, unsigned int *milliwatts);
    int (*get_clock)(nvml_device dev, int type, unsigned int *mhz);
    int (*get_encoder)(nvml_device dev, unsigned int *pct, unsigned int *us);
    int (*get_decoder)(nvml_device dev, unsigned int *pct, unsigned int *us);
    const char *(*error_string)(int ret);
    int (*driver_version)(char *buf, unsigned int len);   /* optional */
    nvml_device dev[GPU_MAX];                   /* aligned with s->inv */
};

/* Converting dlsym's object pointer to a function pointer is what POSIX
 * requires dlsym to support. */
#define NVML_SYM(n, field, name) \
    (((n)->field = (__typeof__((n)->field))dlsym((n)->lib, name)) != NULL)

static int nvml_resolve(struct gpu_nvml *n)
{
    int ok = NVML_SYM(n, init, "nvmlInit_v2") &&
             NVML_SYM(n, shutdown, "nvmlShutdown") &&
             NVML_SYM(n, get_count, "nvmlDeviceGetCount_v2") &&
             NVML_SYM(n, get_handle, "nvmlDeviceGetHandleByIndex_v2") &&
             NVML_SYM(n, get_uuid, "nvmlDeviceGetUUID") &&
             NVML_SYM(n, get_name, "nvmlDeviceGetName") &&
             NVML_SYM(n, get_memory, "nvmlDeviceGetMemoryInfo") &&
             NVML_SYM(n, get_utilization, "nvmlDeviceGetUtilizationRates") &&
             NVML_SYM(n, get_temperature, "nvmlDeviceGetTemperature") &&
             NVML_SYM(n, get_power, "nvmlDeviceGetPowerUsage") &&
             NVML_SYM(n, get_clock, "nvmlDeviceGetClockInfo") &&
             NVML_SYM(n, get_encoder, "nvmlDeviceGetEncoderUtilization") &&
             NVML_SYM(n, get_decoder, "nvmlDeviceGetDecoderUtilization") &&
             NVML_SYM(n, error_string, "nvmlErrorString");
    (void)NVML_SYM(n, driver_version, "nvmlSystemGetDriverVersion");
    return ok ? 0 : -1;
}

/* Lists the devices NVML can open into s->inv; a device that fails to
 * answer its handle, UUID, name or memory is left out. */
static void nvml_list(struct gpu_source *s, struct gpu_nvml *n)
{
    unsigned int count = 0;
    if (n->get_count(&count) != NVML_SUCCESS)
        return;
    for (unsigned int i = 0; i < count && s->ngpu < GPU_MAX; i++) {
        nvml_device dev;
        char uuid[NVML_STRING_MAX], name[NVML_STRING_MAX];
        struct nvml_memory mem;
        if (n->get_handle(i, &dev) != NVML_SUCCESS ||
            n->get_uuid(dev, uuid, sizeof(uuid)) != NVML_SUCCESS ||
            n->get_name(dev, name, sizeof(name)) != NVML_SUCCESS ||
            n->get_memory(dev, &mem) != NVML_SUCCESS)
            continue;
        uuid[sizeof(uuid) - 1] = name[sizeof(name) - 1] = '\0';
        gpu_info_fill(&s->inv[s->ngpu], (int)i, uuid, name,
                      (int64_t)(mem.total >> 20));
        n->dev[s->ngpu++] = dev;
    }
}

/* Loads NVML from path (NULL: "libnvidia-ml.so.1"), initializes it and reads
 * the inventory into s; called by gpu_source_open. Returns 0 when NVML
 * lists at least one GPU (driver gets its version, if NVML tells), else -1
 * with everything undone. */
int gpu_nvml_open(struct gpu_source *s, const char *path, char *driver,
                  size_t driverlen)
{
    struct gpu_nvml *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return -1;
    n->lib = dlopen(path ? path : "libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (n->lib == NULL) {
        log_debug("gpu: no NVML: %s", dlerror());
        goto fail;
    }
    if (nvml_resolve(n) < 0) {
        log_info("gpu: NVML lacks a function: %s", dlerror());
        goto fail;
    }
    int ret = n->init();
    if (ret != NVML_SUCCESS) {
        log_info("gpu: nvmlInit: %s", n->error_string(ret));
        goto fail;
    }
    nvml_list(s, n);
    if (s->ngpu == 0) {
        log_info("gpu: NVML lists no usable GPU");
        n->shutdown();
        goto fail;
    }
    char version[NVML_STRING_MAX];
    if (n->driver_version &&
        n->driver_version(version, sizeof(version)) == NVML_SUCCESS) {
        version[sizeof(version) - 1] = '\0';
        snprintf(driver, driverlen, "%s", version);
    }
    s->nvml = n;
    gpu_nvml_refresh(s);
    return 0;
fail:
    if (n->lib)
        dlclose(n->lib);
    free(n);
    memset(s->inv, 0, sizeof(s->inv));
    s->ngpu = 0;
    return -1;
}

/* Reads one GPU; a metric NVML does not answer (NOT_SUPPORTED or any other
 * error) stays absent. */
static void nvml_sample(struct gpu_nvml *n, nvml_device dev,
                        struct gpu_sample *out)
{
    struct nvml_utilization u;
    struct nvml_memory mem;
    unsigned int v, period;
    if (n->get_utilization(dev, &u) == NVML_SUCCESS) {
        gpu_sample_set(out, GM_UTIL, u.gpu);
        gpu_sample_set(out, GM_MEM_UTIL, u.memory);
    }
    if (n->get_memory(dev, &mem) == NVML_SUCCESS) {
        gpu_sample_set(out, GM_MEM_USED, (double)mem.used / 1048576.0);
        gpu_sample_set(out, GM_MEM_FREE, (double)mem.free / 1048576.0);
    }
    if (n->get_temperature(dev, NVML_TEMPERATURE_GPU, &v) == NVML_SUCCESS)
        gpu_sample_set(out, GM_TEMP, v);
    if (n->get_power(dev, &v) == NVML_SUCCESS)
        gpu_sample_set(out, GM_POWER, v / 1000.0);
    if (n->get_clock(dev, NVML_CLOCK_SM, &v) == NVML_SUCCESS)
        gpu_sample_set(out, GM_SM_CLOCK, v);
    if (n->get_clock(dev, NVML_CLOCK_MEM, &v) == NVML_SUCCESS)
        gpu_sample_set(out, GM_MEM_CLOCK, v);
    if (n->get_encoder(dev, &v, &period) == NVML_SUCCESS)
        gpu_sample_set(out, GM_ENC_UTIL, v);
    if (n->get_decoder(dev, &v, &period) == NVML_SUCCESS)
        gpu_sample_set(out, GM_DEC_UTIL, v);
}

/* Reads every GPU of the inventory into s->latest, inline (NVML answers in
 * microseconds to a few ms per call). */
void gpu_nvml_refresh(struct gpu_source *s)
{
    double now = ev_time();
    for (int i = 0; i < s->ngpu; i++) {
        memset(&s->latest[i], 0, sizeof(s->latest[i]));
        nvml_sample(s->nvml, s->nvml->dev[i], &s->latest[i]);
        s->latest[i].ts = now;
    }
    s->nlatest = s->ngpu;
}

/* Shuts NVML down and unloads it; nothing when NVML is not the source. */
void gpu_nvml_close(struct gpu_source *s)
{
    struct gpu_nvml *n = s->nvml;
    if (n == NULL)
        return;
    n->shutdown();
    dlclose(n->lib);
    free(n);
    s->nvml = NULL;
}
