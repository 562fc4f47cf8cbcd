/* Unit tests: the agent's GPU sources. The nvidia-smi parsers on recorded
 * output of an 8x H100 machine (tests/unit/data/smi); the NVML path against
 * the stand-in library build/.../fake-nvml/libnvidia-ml.so.1; the
 * nvidia-smi path end to end through a stand-in script
 * (tests/unit/data/nvidia-smi) and a real event loop; and "none". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <ev.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/gpu.h"

static char fake_nvml[PATH_MAX];     /* the stand-in NVML, beside this binary */
static char smi_script[PATH_MAX];    /* the stand-in nvidia-smi */
static char smi_data[PATH_MAX];      /* its recorded outputs */
static struct ev_loop *loop;

/* The recorded data sits beside this file; the script is run by absolute
 * path. */
static void data_path(char *out, size_t len, const char *name)
{
    char rel[PATH_MAX];
    const char *slash = strrchr(__FILE__, '/');
    int dirlen = slash ? (int)(slash - __FILE__) : 1;
    snprintf(rel, sizeof(rel), "%.*s/data/%s", dirlen, slash ? __FILE__ : ".", name);
    if (realpath(rel, out) == NULL)
        snprintf(out, len, "%s", rel);
}

static char *read_data(const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", smi_data, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void assert_metric(const struct gpu_sample *g, enum gpu_metric m, double v)
{
    if (!gpu_sample_has(g, m) || g->v[m] != v)
        fail_msg("%s: want %g, have %s%g", gpu_metric_names[m].proto, v,
                 gpu_sample_has(g, m) ? "" : "absent ", g->v[m]);
}

static void assert_absent(const struct gpu_sample *g, enum gpu_metric m)
{
    if (gpu_sample_has(g, m))
        fail_msg("%s: want absent, have %g", gpu_metric_names[m].proto, g->v[m]);
}

static void test_smi_parse_inventory(void **state)
{
    (void)state;
    struct gpu_info g[GPU_MAX];
    const char *text = read_data("inventory.csv");
    assert_int_equal(gpu_smi_parse_inventory(text, g, GPU_MAX), 8);
    assert_int_equal(g[0].index, 0);
    assert_string_equal(g[0].uuid, "GPU-5fd4f087-86f3-7a43-b711-4771313afc50");
    assert_string_equal(g[0].model, "NVIDIA H100 80GB HBM3");
    assert_string_equal(g[0].device, "nvidia0");
    assert_int_equal(g[0].memory_mib, 81559);
    assert_int_equal(g[7].index, 7);
    assert_string_equal(g[7].uuid, "GPU-b5387370-388a-86d4-0fce-6dcb9230dbaa");
    assert_string_equal(g[7].device, "nvidia7");
    char driver[64];
    assert_int_equal(gpu_smi_parse_driver(text, driver, sizeof(driver)), 0);
    assert_string_equal(driver, "535.129.03");
    assert_int_equal(gpu_smi_parse_inventory(text, g, 3), 3);

    /* Kept: 0, 2 (memory [N/A] -> 0), 5 (driver [N/A] is no concern here).
     * Skipped: a short line, a repeated index, the driver's failure
     * message, an empty UUID, garbage for memory. */
    text = read_data("inventory-mixed.csv");
    assert_int_equal(gpu_smi_parse_inventory(text, g, GPU_MAX), 3);
    assert_int_equal(g[0].index, 0);
    assert_string_equal(g[0].uuid, "GPU-5fd4f087-86f3-7a43-b711-4771313afc50");
    assert_int_equal(g[1].index, 2);
    assert_int_equal(g[1].memory_mib, 0);
    assert_int_equal(g[2].index, 5);
    assert_string_equal(g[2].device, "nvidia5");

    assert_int_equal(gpu_smi_parse_inventory("", g, GPU_MAX), 0);
    assert_int_equal(gpu_smi_parse_driver("", driver, sizeof(driver)), -1);
    assert_int_equal(gpu_smi_parse_driver("NVIDIA-SMI has failed\n", driver,
                                          sizeof(driver)), -1);
}

static void test_smi_parse_samples(void **state)
{
    (void)state;
    struct gpu_sample s[GPU_MAX];
    assert_int_equal(gpu_smi_parse_samples(read_data("samples.csv"), s, GPU_MAX), 8);
    assert_metric(&s[0], GM_UTIL, 0);
    assert_metric(&s[0], GM_MEM_UTIL, 0);
    assert_metric(&s[0], GM_MEM_USED, 73420);
    assert_metric(&s[0], GM_MEM_FREE, 7587);
    assert_metric(&s[0], GM_TEMP, 63);
    assert_metric(&s[0], GM_POWER, 156.59);
    assert_metric(&s[0], GM_SM_CLOCK, 1980);
    assert_metric(&s[0], GM_MEM_CLOCK, 2619);
    assert_metric(&s[0], GM_ENC_UTIL, 0);
    assert_metric(&s[0], GM_DEC_UTIL, 0);
    assert_metric(&s[5], GM_UTIL, 97);
    assert_metric(&s[5], GM_MEM_UTIL, 76);
    assert_metric(&s[5], GM_POWER, 300.79);
    assert_metric(&s[2], GM_SM_CLOCK, 345);
    /* [N/A] and [Not Supported] stay absent, never 0. */
    assert_metric(&s[6], GM_TEMP, 44);
    assert_absent(&s[6], GM_ENC_UTIL);
    assert_absent(&s[6], GM_DEC_UTIL);
    assert_absent(&s[7], GM_POWER);
    assert_absent(&s[7], GM_ENC_UTIL);
    assert_absent(&s[7], GM_DEC_UTIL);
    assert_metric(&s[7], GM_MEM_USED, 72099);

    /* Without the encoder/decoder fields (9 a line) those stay absent. */
    assert_int_equal(gpu_smi_parse_samples("3, 12, 1, 77321, 3686, 48, 131.22, 1980, 2619\n",
                                           s, GPU_MAX), 4);
    assert_int_equal(s[0].present, 0);
    assert_metric(&s[3], GM_POWER, 131.22);
    assert_absent(&s[3], GM_ENC_UTIL);
    assert_absent(&s[3], GM_DEC_UTIL);
}

static void test_smi_parse_skips_bad_lines(void **state)
{
    (void)state;
    struct gpu_sample s[GPU_MAX];
    const char *text = read_data("samples-bad.csv");
    assert_int_equal(gpu_smi_parse_samples(text, s, GPU_MAX), 7);
    assert_int_equal(s[0].present, (1u << GM_COUNT) - 1);
    assert_metric(&s[1], GM_POWER, 117.77);      /* 9 fields: fine */
    assert_absent(&s[1], GM_ENC_UTIL);
    assert_int_equal(s[2].present, 0);           /* 10 fields */
    assert_int_equal(s[3].present, 0);           /* "zero" */
    assert_int_equal(s[4].present, 0);           /* over-long line; "nan" */
    assert_metric(&s[5], GM_DEC_UTIL, 0);        /* CRLF */
    assert_metric(&s[5], GM_POWER, 300.79);
    assert_int_equal(s[6].present, 0);           /* every field a marker */
    assert_int_equal(s[7].present, 0);           /* 18 fields */
    /* Indexes at or past max are skipped too. */
    assert_int_equal(gpu_smi_parse_samples(text, s, 2), 2);
    assert_int_equal(gpu_smi_parse_samples("", s, GPU_MAX), 0);
    assert_int_equal(gpu_smi_parse_samples("\n\n,\n", s, GPU_MAX), 0);

    /* Random bytes, commas and newlines: no crash, nothing out of range. */
    static const char alphabet[] = "0123456789.,\n -[]NA/xe";
    char junk[2048];
    srand(7);
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rand() % (int)(sizeof(junk) - 1));
        for (size_t i = 0; i < n; i++)
            junk[i] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
        junk[n] = '\0';
        struct gpu_info g[GPU_MAX];
        int count = gpu_smi_parse_samples(junk, s, GPU_MAX);
        assert_true(count >= 0 && count <= GPU_MAX);
        count = gpu_smi_parse_inventory(junk, g, GPU_MAX);
        assert_true(count >= 0 && count <= GPU_MAX);
    }
}

static void tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
}

/* Runs the loop until GPU 0's utilization is want (-1: until every GPU has
 * no metric) or seconds pass. Returns whether it got there. */
static int run_until(struct gpu_source *s, double want, double seconds)
{
    ev_timer tick;
    ev_timer_init(&tick, tick_cb, 0.02, 0.02);
    ev_timer_start(loop, &tick);
    double end = ev_time() + seconds;
    int done = 0;
    while (!done && ev_time() < end) {
        ev_run(loop, EVRUN_ONCE);
        struct gpu_sample g[GPU_MAX];
        int n = gpu_source_latest(s, g, GPU_MAX);
        if (want >= 0) {
            done = n > 0 && gpu_sample_has(&g[0], GM_UTIL) && g[0].v[GM_UTIL] == want;
            continue;
        }
        done = n > 0;
        for (int i = 0; i < n; i++)
            done &= g[i].present == 0;
    }
    ev_timer_stop(loop, &tick);
    return done;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void test_nvml_source(void **state)
{
    (void)state;
    if (access(fake_nvml, R_OK) != 0)
        fail_msg("%s is missing: build it with make unit-progs", fake_nvml);
    /* Hold the library so its counters outlive the source's dlclose. */
    void *lib = dlopen(fake_nvml, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(lib);
    int *live = dlsym(lib, "fake_nvml_live");
    assert_non_null(live);

    char desc[128];
    struct gpu_source *s = gpu_source_open(loop, fake_nvml, "/nonexistent/nvidia-smi",
                                           desc, sizeof(desc));
    assert_non_null(s);
    assert_string_equal(desc, "nvml driver 535.129.03");
    assert_int_equal(*live, 1);
    struct gpu_info g[GPU_MAX];
    assert_int_equal(gpu_source_inventory(s, g, GPU_MAX), 2);
    assert_int_equal(g[1].index, 1);
    assert_string_equal(g[1].uuid, "GPU-bc7a12ab-4998-fdc5-0785-2678a929a142");
    assert_string_equal(g[1].model, "NVIDIA H100 80GB HBM3");
    assert_string_equal(g[1].device, "nvidia1");
    assert_int_equal(g[1].memory_mib, 81559);
    assert_int_equal(gpu_source_inventory(s, g, 1), 1);

    struct gpu_sample smp[GPU_MAX];
    assert_int_equal(gpu_source_latest(s, smp, GPU_MAX), 2);
    assert_metric(&smp[0], GM_UTIL, 97);
    assert_metric(&smp[0], GM_MEM_UTIL, 76);
    assert_metric(&smp[0], GM_MEM_USED, 73420);
    assert_metric(&smp[0], GM_MEM_FREE, 7587);
    assert_metric(&smp[0], GM_TEMP, 63);
    assert_metric(&smp[0], GM_POWER, 300.794);     /* 300794 mW */
    assert_metric(&smp[0], GM_SM_CLOCK, 1980);
    assert_metric(&smp[0], GM_MEM_CLOCK, 2619);
    assert_metric(&smp[0], GM_ENC_UTIL, 3);
    assert_metric(&smp[0], GM_DEC_UTIL, 5);
    assert_true(smp[0].ts > 0);
    assert_metric(&smp[1], GM_MEM_USED, 2204.5);
    assert_metric(&smp[1], GM_SM_CLOCK, 345);
    assert_absent(&smp[1], GM_POWER);               /* NOT_SUPPORTED */
    assert_absent(&smp[1], GM_ENC_UTIL);
    assert_absent(&smp[1], GM_DEC_UTIL);

    gpu_source_refresh(s);                          /* reads again, inline */
    assert_int_equal(gpu_source_latest(s, smp, GPU_MAX), 2);
    assert_metric(&smp[0], GM_TEMP, 64);
    gpu_source_close(s);
    assert_int_equal(*live, 0);                     /* nvmlShutdown called */
    dlclose(lib);
}

static void test_nvml_init_failure_falls_back(void **state)
{
    (void)state;
    char desc[128];
    setenv("FAKE_NVML_FAIL_INIT", "1", 1);
    struct gpu_source *s = gpu_source_open(loop, fake_nvml, smi_script, desc, sizeof(desc));
    assert_string_equal(desc, "nvidia-smi driver 535.129.03");
    gpu_source_close(s);
    s = gpu_source_open(loop, fake_nvml, "/nonexistent/nvidia-smi", desc, sizeof(desc));
    assert_string_equal(desc, "none");
    gpu_source_close(s);
    unsetenv("FAKE_NVML_FAIL_INIT");
}

static void test_smi_source_end_to_end(void **state)
{
    (void)state;
    char desc[128], log[] = "/tmp/gantry-test-smiXXXXXX";
    int fd = mkstemp(log);
    assert_true(fd >= 0);
    close(fd);
    struct gpu_source *s = gpu_source_open(loop, "/nonexistent/libnvidia-ml.so.1",
                                           smi_script, desc, sizeof(desc));
    assert_string_equal(desc, "nvidia-smi driver 535.129.03");
    struct gpu_info g[GPU_MAX];
    assert_int_equal(gpu_source_inventory(s, g, GPU_MAX), 8);
    assert_string_equal(g[3].uuid, "GPU-9ba418e1-59be-2f2e-6031-e3f6b7c64ad7");
    /* Open took a first sample. */
    struct gpu_sample smp[GPU_MAX];
    assert_int_equal(gpu_source_latest(s, smp, GPU_MAX), 8);
    assert_metric(&smp[4], GM_UTIL, 99);
    assert_metric(&smp[4], GM_ENC_UTIL, 0);
    assert_absent(&smp[7], GM_POWER);

    /* A slow run: refresh returns at once, a second refresh while it runs
     * starts nothing, and the loop brings the new sample. */
    setenv("FAKE_SMI_SAMPLES", "samples-b.csv", 1);
    setenv("FAKE_SMI_DELAY", "0.3", 1);
    setenv("FAKE_SMI_LOG", log, 1);
    gpu_source_refresh(s);
    gpu_source_refresh(s);
    assert_int_equal(gpu_source_latest(s, smp, GPU_MAX), 8);
    assert_metric(&smp[0], GM_UTIL, 0);             /* still the old one */
    assert_true(run_until(s, 41, 10));
    assert_int_equal(count_lines(log), 1);
    assert_int_equal(gpu_source_latest(s, smp, GPU_MAX), 8);
    assert_metric(&smp[0], GM_POWER, 243.05);
    assert_metric(&smp[4], GM_POWER, 402.66);
    assert_metric(&smp[1], GM_MEM_UTIL, 3);
    assert_absent(&smp[7], GM_POWER);
    assert_absent(&smp[6], GM_DEC_UTIL);

    /* A run that hangs is killed after the timeout: every metric absent;
     * the next run works again. */
    gpu_source_set_timeout(s, 0.3);
    setenv("FAKE_SMI_HANG", "1", 1);
    gpu_source_refresh(s);
    assert_true(run_until(s, -1, 10));
    unsetenv("FAKE_SMI_HANG");
    unsetenv("FAKE_SMI_DELAY");
    unsetenv("FAKE_SMI_SAMPLES");
    gpu_source_refresh(s);
    assert_true(run_until(s, 0, 10));
    assert_int_equal(count_lines(log), 3);

    /* Closing with a run in flight kills it. */
    setenv("FAKE_SMI_HANG", "1", 1);
    gpu_source_refresh(s);
    gpu_source_close(s);
    unsetenv("FAKE_SMI_HANG");
    unsetenv("FAKE_SMI_LOG");
    unlink(log);
}

static void test_smi_old_driver_without_codec_fields(void **state)
{
    (void)state;
    char desc[128];
    setenv("FAKE_SMI_OLD", "1", 1);
    struct gpu_source *s = gpu_source_open(loop, "/nonexistent/libnvidia-ml.so.1",
                                           smi_script, desc, sizeof(desc));
    assert_string_equal(desc, "nvidia-smi driver 535.129.03");
    struct gpu_sample smp[GPU_MAX];
    assert_int_equal(gpu_source_latest(s, smp, GPU_MAX), 8);
    assert_metric(&smp[0], GM_POWER, 156.59);
    for (int i = 0; i < 8; i++) {
        assert_absent(&smp[i], GM_ENC_UTIL);
        assert_absent(&smp[i], GM_DEC_UTIL);
    }
    setenv("FAKE_SMI_SAMPLES", "samples-b.csv", 1);
    gpu_source_refresh(s);
    assert_true(run_until(s, 41, 10));
    gpu_source_latest(s, smp, GPU_MAX);
    assert_absent(&smp[0], GM_ENC_UTIL);
    gpu_source_close(s);
    unsetenv("FAKE_SMI_SAMPLES");
    unsetenv("FAKE_SMI_OLD");
}

static void test_none(void **state)
{
    (void)state;
    char desc[128];
    const char *smis[] = {"/nonexistent/nvidia-smi", "/bin/false", "/bin/true",
                          "nvidia-smi-not-on-path"};
    for (size_t i = 0; i < sizeof(smis) / sizeof(smis[0]); i++) {
        struct gpu_source *s = gpu_source_open(loop, "/nonexistent/libnvidia-ml.so.1",
                                               smis[i], desc, sizeof(desc));
        assert_non_null(s);
        assert_string_equal(desc, "none");
        struct gpu_info g[GPU_MAX];
        struct gpu_sample smp[GPU_MAX];
        assert_int_equal(gpu_source_inventory(s, g, GPU_MAX), 0);
        gpu_source_refresh(s);
        assert_int_equal(gpu_source_latest(s, smp, GPU_MAX), 0);
        gpu_source_close(s);
    }
    gpu_source_close(NULL);
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *slash = strrchr(argv[0], '/');
    snprintf(fake_nvml, sizeof(fake_nvml), "%.*s/fake-nvml/libnvidia-ml.so.1",
             slash ? (int)(slash - argv[0]) : 1, slash ? argv[0] : ".");
    data_path(smi_script, sizeof(smi_script), "nvidia-smi");
    data_path(smi_data, sizeof(smi_data), "smi");
    loop = ev_default_loop(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smi_parse_inventory),
        cmocka_unit_test(test_smi_parse_samples),
        cmocka_unit_test(test_smi_parse_skips_bad_lines),
        cmocka_unit_test(test_nvml_source),
        cmocka_unit_test(test_nvml_init_failure_falls_back),
        cmocka_unit_test(test_smi_source_end_to_end),
        cmocka_unit_test(test_smi_old_driver_without_codec_fields),
        cmocka_unit_test(test_none),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ev_loop_destroy(loop);
    return rc;
}
