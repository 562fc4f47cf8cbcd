/* Host capacity and usage for gantry-agent's hello and heartbeats: CPU
 * cores, memory and storage from sysconf, /proc and statvfs; CPU % from
 * /proc/stat deltas between calls (never a sleep-and-sample); one task's
 * CPU % and RSS from /proc/<pid>. proc_root is "/proc" in the agent and a
 * folder of recorded files in the tests. Nothing here blocks on anything
 * but small /proc reads and one statvfs. */
#ifndef GANTRY_SYSINFO_H
#define GANTRY_SYSINFO_H

#include <stddef.h>
#include <stdint.h>

struct sys_capacity {
    double cpu_cores;         /* usable cores: online, affinity, cgroup cpu.max */
    int64_t memory_mib;       /* MemTotal */
    int64_t storage_mib;      /* size of the filesystem holding the workdir */
    char hostname[256];
};

int sysinfo_capacity(const char *proc_root, const char *workdir,
                     struct sys_capacity *cap, char *err, size_t errlen);
int sysinfo_parse_cpu_max(const char *text, double *cores);

/* The previous /proc/stat totals; zero it (= {0}) before the first call. */
struct cpu_meter {
    uint64_t busy;            /* ticks not idle nor iowait */
    uint64_t total;
    double last_pct;
    int primed;
};

int sysinfo_cpu_usage(struct cpu_meter *m, const char *proc_root, double *pct);
int sysinfo_memory_usage(const char *proc_root, double *pct);
int sysinfo_storage_usage(const char *path, double *pct);

/* A process and its descendants, summed. */
struct proc_totals {
    int64_t ticks;            /* CPU time, clock ticks (see sysinfo_proc_totals) */
    int64_t rss_kib;          /* resident memory, summed (shared pages counted twice) */
    int nprocs;               /* processes summed */
    int tree;                 /* 1: descendants walked; 0: the main process only */
};

int sysinfo_proc_totals(const char *proc_root, int pid, struct proc_totals *t);

/* One task's previous totals; zero it (= {0}) when the task starts. */
struct proc_meter {
    int64_t ticks;
    double wall;              /* CLOCK_MONOTONIC seconds of the previous call */
    double last_pct;
    int primed;
};

int sysinfo_proc_usage(struct proc_meter *m, const char *proc_root, int pid,
                       double *cpu_pct, int64_t *rss_mib);

#endif
