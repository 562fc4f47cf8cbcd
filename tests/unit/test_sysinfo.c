/* Unit tests: the agent's host capacity and usage, on recorded /proc files
 * (tests/unit/data/proc-a and proc-b, five seconds apart on a 4-CPU host)
 * and on this machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/sysinfo.h"

static char proc_a[PATH_MAX], proc_b[PATH_MAX];
static char err[256];

/* The recorded data sits beside this file. */
static void data_path(char *out, size_t len, const char *name)
{
    const char *slash = strrchr(__FILE__, '/');
    int dirlen = slash ? (int)(slash - __FILE__) : 1;
    snprintf(out, len, "%.*s/data/%s", dirlen, slash ? __FILE__ : ".", name);
}

static double seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_capacity(void **state)
{
    (void)state;
    struct sys_capacity cap;
    char tmp[] = "/tmp/gantry-test-sysinfoXXXXXX";
    assert_non_null(mkdtemp(tmp));
    assert_int_equal(sysinfo_capacity(proc_a, tmp, &cap, err, sizeof(err)), 0);
    assert_int_equal(cap.memory_mib, 16000);    /* MemTotal 16384000 kB */
    assert_true(cap.cpu_cores > 0);
    assert_true(cap.cpu_cores <= (double)sysconf(_SC_NPROCESSORS_ONLN));
    assert_true(cap.storage_mib > 0);
    char host[256];
    assert_int_equal(gethostname(host, sizeof(host)), 0);
    assert_string_equal(cap.hostname, host);

    assert_int_equal(sysinfo_capacity("/nonexistent", tmp, &cap, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/meminfo"));
    assert_int_equal(sysinfo_capacity(proc_a, "/nonexistent/work", &cap, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "statvfs /nonexistent/work"));
    rmdir(tmp);

    assert_int_equal(sysinfo_capacity("/proc", "/", &cap, err, sizeof(err)), 0);
    assert_true(cap.memory_mib > 0);
}

static void test_cgroup_cpu_max(void **state)
{
    (void)state;
    double cores = 0;
    assert_int_equal(sysinfo_parse_cpu_max("150000 100000\n", &cores), 0);
    assert_true(cores == 1.5);
    assert_int_equal(sysinfo_parse_cpu_max("400000 100000", &cores), 0);
    assert_true(cores == 4);
    assert_int_equal(sysinfo_parse_cpu_max("max 100000\n", &cores), -1);
    assert_int_equal(sysinfo_parse_cpu_max("", &cores), -1);
    assert_int_equal(sysinfo_parse_cpu_max("0 100000", &cores), -1);
    assert_int_equal(sysinfo_parse_cpu_max("garbage", &cores), -1);
}

static void test_cpu_usage_from_deltas(void **state)
{
    (void)state;
    struct cpu_meter m = {0};
    double pct = -1;
    /* The first call only primes. */
    assert_int_equal(sysinfo_cpu_usage(&m, proc_a, &pct), 0);
    assert_true(pct == 0);
    /* 2000 ticks elapsed, 1500 busy (user 1100 of which guest 50, system
     * 300, softirq 100), 500 idle (idle 480, iowait 20). */
    assert_int_equal(sysinfo_cpu_usage(&m, proc_b, &pct), 0);
    assert_true(pct == 75.0);
    /* No tick since: the previous value again. */
    assert_int_equal(sysinfo_cpu_usage(&m, proc_b, &pct), 0);
    assert_true(pct == 75.0);
    /* Counters that go back (a reset) re-prime instead of going negative. */
    assert_int_equal(sysinfo_cpu_usage(&m, proc_a, &pct), 0);
    assert_true(pct == 75.0);
    assert_int_equal(sysinfo_cpu_usage(&m, proc_b, &pct), 0);
    assert_true(pct == 75.0);
    assert_int_equal(sysinfo_cpu_usage(&m, "/nonexistent", &pct), -1);

    struct cpu_meter live = {0};
    assert_int_equal(sysinfo_cpu_usage(&live, "/proc", &pct), 0);
    assert_int_equal(sysinfo_cpu_usage(&live, "/proc", &pct), 0);
    assert_true(pct >= 0 && pct <= 100);
}

static void test_memory_usage(void **state)
{
    (void)state;
    double pct;
    assert_int_equal(sysinfo_memory_usage(proc_a, &pct), 0);
    assert_true(pct == 75.0);    /* MemAvailable 4096000 of 16384000 kB */
    assert_int_equal(sysinfo_memory_usage(proc_b, &pct), 0);
    assert_true(pct == 50.0);
    assert_int_equal(sysinfo_memory_usage("/nonexistent", &pct), -1);
    assert_int_equal(sysinfo_memory_usage("/proc", &pct), 0);
    assert_true(pct > 0 && pct < 100);
}

/* df's Use% for path (rounded up), or -1 when df cannot say. */
static int df_use_pct(const char *path)
{
    char cmd[PATH_MAX + 32], line[512];
    snprintf(cmd, sizeof(cmd), "df -P '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    int pct = -1;
    while (fgets(line, sizeof(line), p)) {
        char *percent = strchr(line, '%');
        while (percent && percent > line && percent[-1] >= '0' && percent[-1] <= '9')
            percent--;
        if (percent && *percent != '%' && strncmp(line, "Filesystem", 10) != 0)
            pct = atoi(percent);
    }
    pclose(p);
    return pct;
}

static void test_storage_usage(void **state)
{
    (void)state;
    char tmp[] = "/tmp/gantry-test-storageXXXXXX";
    assert_non_null(mkdtemp(tmp));
    double pct = -1;
    assert_int_equal(sysinfo_storage_usage(tmp, &pct), 0);
    assert_true(pct >= 0 && pct <= 100);
    int df = df_use_pct(tmp);
    if (df >= 0)
        assert_true(fabs(ceil(pct) - df) <= 1);
    assert_int_equal(sysinfo_storage_usage("/nonexistent/dir", &pct), -1);
    rmdir(tmp);
}

/* proc-a/4200 has two threads; its children (4210 of one thread, 4220 of
 * the other, and 4299 listed but gone) and 4210's child 4211 are summed,
 * each with its own and its reaped children's time. 4300 has no children
 * files: its own time only. */
static void test_proc_totals_recorded(void **state)
{
    (void)state;
    struct proc_totals t;
    long page_kib = sysconf(_SC_PAGESIZE) / 1024;
    assert_int_equal(sysinfo_proc_totals(proc_a, 4200, &t), 0);
    assert_int_equal(t.tree, 1);
    assert_int_equal(t.nprocs, 4);
    assert_int_equal(t.ticks, (500 + 100 + 30 + 10) + (200 + 50) + (70 + 5) +
                              (40 + 10 + 5 + 5));
    assert_int_equal(t.rss_kib, (2560 + 1024 + 512 + 256) * page_kib);

    assert_int_equal(sysinfo_proc_totals(proc_a, 4300, &t), 0);
    assert_int_equal(t.tree, 0);
    assert_int_equal(t.nprocs, 1);
    assert_int_equal(t.ticks, 123 + 77);
    assert_int_equal(t.rss_kib, 300 * page_kib);

    assert_int_equal(sysinfo_proc_totals(proc_a, 9999, &t), -1);
}

static void test_proc_usage_of_this_process(void **state)
{
    (void)state;
    struct proc_meter m = {0};
    double pct = -1;
    int64_t rss = -1;
    assert_int_equal(sysinfo_proc_usage(&m, "/proc", (int)getpid(), &pct, &rss), 0);
    assert_true(pct == 0);
    assert_true(rss > 0);
    double wall0 = seconds(CLOCK_MONOTONIC);
    double cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
    volatile double sink = 0;
    while (seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0 < 0.3)
        for (int i = 0; i < 100000; i++)
            sink += i * 0.5;
    assert_true(sink > 0);
    double expect = 100 * (seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0) /
                    (seconds(CLOCK_MONOTONIC) - wall0);
    assert_int_equal(sysinfo_proc_usage(&m, "/proc", (int)getpid(), &pct, &rss), 0);
    /* /proc counts in clock ticks (10 ms): allow a few of them. */
    assert_true(fabs(pct - expect) < 15);
    assert_true(pct > 0 && pct <= 110);
    assert_true(rss > 0);

    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    assert_int_equal(sysinfo_proc_usage(&m, "/proc", (int)child, &pct, &rss), -1);
}

int main(void)
{
    data_path(proc_a, sizeof(proc_a), "proc-a");
    data_path(proc_b, sizeof(proc_b), "proc-b");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_cgroup_cpu_max),
        cmocka_unit_test(test_cpu_usage_from_deltas),
        cmocka_unit_test(test_memory_usage),
        cmocka_unit_test(test_storage_usage),
        cmocka_unit_test(test_proc_totals_recorded),
        cmocka_unit_test(test_proc_usage_of_this_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
