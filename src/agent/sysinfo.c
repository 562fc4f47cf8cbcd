#include "sysinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"
#define PROC_TREE_MAX 1024      /* processes summed for one task, at most */

/* Reads at most len - 1 bytes of a small file into buf, NUL-terminated.
 * Returns the byte count, or -1 with errno set. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

/* Reads "<root>/<name>" (name may contain a pid) into buf. */
static ssize_t read_under(const char *root, const char *name, char *buf,
                          size_t len)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", root, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return read_small(path, buf, len);
}

/* Finds "Key:   123 kB" in /proc/meminfo text; returns 0 and the kB. */
static int meminfo_kib(const char *text, const char *key, int64_t *kib)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            char *end;
            long long v = strtoll(line + klen + 1, &end, 10);
            if (end == line + klen + 1 || v < 0)
                return -1;
            *kib = v;
            return 0;
        }
    }
    return -1;
}

/* Parses the text of a cgroup v2 cpu.max ("max 100000" or "150000 100000").
 * Returns 0 with the limit in cores, or -1 when there is no limit or the
 * text is not a cpu.max. */
int sysinfo_parse_cpu_max(const char *text, double *cores)
{
    long long quota, period;
    if (sscanf(text, "%lld %lld", &quota, &period) != 2)
        return -1;
    if (quota <= 0 || period <= 0)
        return -1;
    *cores = (double)quota / (double)period;
    return 0;
}

/* The tightest cpu.max on the path of this process's cgroup (v2), walking
 * up to the root; cgroup v1 quotas are not read. Returns 0 and the limit
 * in cores, or -1 when nothing limits the process. */
static int cgroup_cpu_limit(const char *proc_root, double *cores)
{
    char text[4096];
    if (read_under(proc_root, "self/cgroup", text, sizeof(text)) < 0)
        return -1;
    char *rel = strstr(text, "0::/");
    if (rel == NULL || (rel != text && rel[-1] != '\n'))
        return -1;
    rel += 3;
    rel[strcspn(rel, "\n")] = '\0';
    int found = -1;
    for (;;) {
        char path[PATH_MAX], buf[64];
        double limit;
        int n = snprintf(path, sizeof(path), CGROUP_ROOT "%s/cpu.max",
                         strcmp(rel, "/") == 0 ? "" : rel);
        if (n > 0 && (size_t)n < sizeof(path) &&
            read_small(path, buf, sizeof(buf)) > 0 &&
            sysinfo_parse_cpu_max(buf, &limit) == 0 &&
            (found < 0 || limit < *cores)) {
            *cores = limit;
            found = 0;
        }
        char *slash = strrchr(rel, '/');
        if (slash == NULL || (slash == rel && rel[1] == '\0'))
            break;
        slash[slash == rel ? 1 : 0] = '\0';
    }
    return found;
}

/* Cores this process may use: online CPUs, narrowed by its affinity mask
 * and by a cgroup cpu.max quota. */
static double usable_cores(const char *proc_root)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    double cores = online > 0 ? (double)online : 1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0 &&
        CPU_COUNT(&set) < cores)
        cores = CPU_COUNT(&set);
    double limit;
    if (cgroup_cpu_limit(proc_root, &limit) == 0 && limit < cores)
        cores = limit;
    return cores;
}

/* Fills cap with the host's capacity, once at agent start (and on a
 * re-hello): cores, MemTotal from <proc_root>/meminfo, the size of the
 * filesystem holding workdir, the hostname. Returns 0, or -1 with the
 * reason in err. */
int sysinfo_capacity(const char *proc_root, const char *workdir,
                     struct sys_capacity *cap, char *err, size_t errlen)
{
    char text[8192];
    int64_t kib;
    memset(cap, 0, sizeof(*cap));
    if (read_under(proc_root, "meminfo", text, sizeof(text)) < 0) {
        snprintf(err, errlen, "%s/meminfo: %s", proc_root, strerror(errno));
        return -1;
    }
    if (meminfo_kib(text, "MemTotal", &kib) < 0) {
        snprintf(err, errlen, "%s/meminfo: no MemTotal", proc_root);
        return -1;
    }
    cap->memory_mib = kib / 1024;
    struct statvfs vfs;
    if (statvfs(workdir, &vfs) < 0) {
        snprintf(err, errlen, "statvfs %s: %s", workdir, strerror(errno));
        return -1;
    }
    cap->storage_mib = (int64_t)((uint64_t)vfs.f_blocks * vfs.f_frsize >> 20);
    if (gethostname(cap->hostname, sizeof(cap->hostname)) < 0) {
        snprintf(err, errlen, "gethostname: %s", strerror(errno));
        return -1;
    }
    cap->hostname[sizeof(cap->hostname) - 1] = '\0';
    cap->cpu_cores = usable_cores(proc_root);
    return 0;
}

/* Reads the aggregate "cpu" line of <proc_root>/stat into busy and total
 * ticks. guest and guest_nice are already counted in user and nice. */
static int read_cpu_ticks(const char *proc_root, uint64_t *busy,
                          uint64_t *total)
{
    char text[1024];
    unsigned long long f[8] = {0};
    if (read_under(proc_root, "stat", text, sizeof(text)) < 0)
        return -1;
    int n = sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
                   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]);
    if (n < 4) {
        errno = EINVAL;
        return -1;
    }
    uint64_t idle = f[3] + f[4];
    *busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
    *total = *busy + idle;
    return 0;
}

/* CPU usage of the whole machine in percent since the previous call on m,
 * from <proc_root>/stat; called once per heartbeat. The first call only
 * primes m and gives 0; a call with no tick elapsed repeats the previous
 * value. Returns 0, or -1 (errno) when the file cannot be read. */
int sysinfo_cpu_usage(struct cpu_meter *m, const char *proc_root, double *pct)
{
    uint64_t busy, total;
    if (read_cpu_ticks(proc_root, &busy, &total) < 0)
        return -1;
    if (m->primed && total > m->total && busy >= m->busy) {
        double p = 100.0 * (double)(busy - m->busy) / (double)(total - m->total);
        m->last_pct = p > 100 ? 100 : p;
    }
    if (!m->primed || total != m->total) {
        m->busy = busy;
        m->total = total;
    }
    m->primed = 1;
    *pct = m->last_pct;
    return 0;
}

/* Memory in use in percent: (MemTotal - MemAvailable) / MemTotal, from
 * <proc_root>/meminfo. Returns 0, or -1 when the file cannot be read or
 * lacks the fields. */
int sysinfo_memory_usage(const char *proc_root, double *pct)
{
    char text[8192];
    int64_t total, avail;
    if (read_under(proc_root, "meminfo", text, sizeof(text)) < 0)
        return -1;
    if (meminfo_kib(text, "MemTotal", &total) < 0 || total <= 0 ||
        meminfo_kib(text, "MemAvailable", &avail) < 0) {
        errno = EINVAL;
        return -1;
    }
    if (avail > total)
        avail = total;
    *pct = 100.0 * (double)(total - avail) / (double)total;
    return 0;
}

/* Used space in percent of the filesystem holding path, as df computes its
 * Use%: used / (used + available to unprivileged users), so blocks reserved
 * for root count as neither. Returns 0, or -1 (errno) from statvfs. */
int sysinfo_storage_usage(const char *path, double *pct)
{
    struct statvfs vfs;
    if (statvfs(path, &vfs) < 0)
        return -1;
    double used = (double)(vfs.f_blocks - vfs.f_bfree);
    double usable = used + (double)vfs.f_bavail;
    *pct = usable > 0 ? 100.0 * used / usable : 0;
    return 0;
}

/* One process's times (utime + stime, and cutime + cstime: its waited-for
 * children) and RSS in pages, from <proc_root>/<pid>/stat. */
static int read_proc_stat(const char *proc_root, int pid, int64_t *self,
                          int64_t *children, int64_t *rss_pages)
{
    char name[32], text[1024];
    snprintf(name, sizeof(name), "%d/stat", pid);
    if (read_under(proc_root, name, text, sizeof(text)) < 0)
        return -1;
    /* The command name may hold spaces and parentheses: fields start after
     * the last ')', with the state (field 3) first. */
    char *p = strrchr(text, ')');
    if (p == NULL || p[1] != ' ' || p[2] == '\0')
        goto bad;
    p += 3;
    long long v[21];
    for (int i = 0; i < 21; i++) {
        char *end;
        v[i] = strtoll(p, &end, 10);
        if (end == p)
            goto bad;
        p = end;
    }
    /* v[i] is field i + 4: utime 14, stime 15, cutime 16, cstime 17, rss 24. */
    *self = v[10] + v[11];
    *children = v[12] + v[13];
    *rss_pages = v[20];
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

/* Appends the children of every thread of pid (from the task/<tid>/children
 * files) to list. Returns 0, or -1 when pid has no task folder. */
static int proc_children(const char *proc_root, int pid, int *list, int *n,
                         int max)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%d/task", proc_root, pid);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL && *n < max) {
        char name[64], text[4096];
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(name, sizeof(name), "%d/task/%.16s/children", pid, de->d_name);
        if (read_under(proc_root, name, text, sizeof(text)) < 0)
            continue;
        char *p = text, *end;
        for (long c = strtol(p, &end, 10); end != p && *n < max;
             c = strtol(p, &end, 10)) {
            if (c > 0 && c <= INT_MAX)
                list[(*n)++] = (int)c;
            p = end;
        }
    }
    closedir(dir);
    return 0;
}

/* Sums CPU time and RSS over pid and its descendants, found through the
 * /proc/<pid>/task/<tid>/children files. Each process counts its own time
 * plus its reaped children's, so a child that exits moves its time into its
 * parent's count and the sum stays continuous. Without those files (a
 * kernel built without CONFIG_PROC_CHILDREN) only the main process's own
 * time is counted (t->tree = 0): adding its reaped children's time there
 * would show a child's whole lifetime as one spike. Returns 0, or -1 when
 * pid's stat cannot be read (the process is gone). */
int sysinfo_proc_totals(const char *proc_root, int pid, struct proc_totals *t)
{
    int64_t self, children, rss;
    char path[PATH_MAX];
    memset(t, 0, sizeof(*t));
    if (read_proc_stat(proc_root, pid, &self, &children, &rss) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/%d/task/%d/children", proc_root, pid, pid);
    t->tree = access(path, R_OK) == 0;
    long page_kib = sysconf(_SC_PAGESIZE) / 1024;
    t->ticks = self + (t->tree ? children : 0);
    t->rss_kib = rss * page_kib;
    t->nprocs = 1;
    if (!t->tree)
        return 0;
    int queue[PROC_TREE_MAX];
    int head = 0, tail = 0;
    proc_children(proc_root, pid, queue, &tail, PROC_TREE_MAX);
    while (head < tail) {
        int child = queue[head++];
        if (read_proc_stat(proc_root, child, &self, &children, &rss) < 0)
            continue;       /* exited since its parent listed it */
        t->ticks += self + children;
        t->rss_kib += rss * page_kib;
        t->nprocs++;
        proc_children(proc_root, child, queue, &tail, PROC_TREE_MAX);
    }
    return 0;
}

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A task's CPU usage since the previous call on m, in percent of one core
 * (a task busy on two cores shows 200), and its RSS in MiB, summed over the
 * process and its descendants as sysinfo_proc_totals says. Called once per
 * heartbeat for each running task. The first call primes m and gives 0 %.
 * Returns 0, or -1 when the process is gone. */
int sysinfo_proc_usage(struct proc_meter *m, const char *proc_root, int pid,
                       double *cpu_pct, int64_t *rss_mib)
{
    struct proc_totals t;
    if (sysinfo_proc_totals(proc_root, pid, &t) < 0)
        return -1;
    double now = monotonic_seconds();
    long hz = sysconf(_SC_CLK_TCK);
    if (m->primed && now > m->wall && t.ticks >= m->ticks && hz > 0)
        m->last_pct = 100.0 * (double)(t.ticks - m->ticks) / (double)hz /
                      (now - m->wall);
    m->ticks = t.ticks;
    m->wall = now;
    m->primed = 1;
    *cpu_pct = m->last_pct;
    *rss_mib = t.rss_kib / 1024;
    return 0;
}
