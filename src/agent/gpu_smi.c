/* The nvidia-smi backend: the parsers of its CSV output, a blocking run for
 * the inventory at open, and the sample runs that the event loop collects.
 *
 * utilization.encoder and utilization.decoder are queryable with
 * --query-gpu only on recent drivers; older ones reject the whole query.
 * Open tries the query with them and, when that gives no sample, drops them
 * for good: those two metrics then stay absent on this path. */
#include "gpu_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"

#define SMI_OUTPUT_MAX 16384    /* bytes of one run's output, at most */
#define SMI_LINE_MAX 512
#define SMI_FIELDS_MAX 16
#define SMI_OPEN_TIMEOUT 15.0   /* the first run may wait for the driver to load */

struct gpu_smi {
    struct gpu_source *src;
    char path[PATH_MAX];
    char query[512];            /* "--query-gpu=..." for samples */
    pid_t pid;                  /* the running child, 0 once reaped */
    int fd;                     /* its stdout, -1 once closed */
    int killed;                 /* it ran past the timeout */
    int overflow;               /* it printed more than SMI_OUTPUT_MAX */
    int failing;                /* the last run gave no sample (logged once) */
    size_t len;
    char buf[SMI_OUTPUT_MAX];
    ev_io io;
    ev_child child;
    ev_timer timer;
};

#define SMI_OF(w, member) \
    ((struct gpu_smi *)(void *)((char *)(w) - offsetof(struct gpu_smi, member)))

/* Copies the line at p into line (an over-long line becomes empty, which no
 * parser accepts); returns where the next line starts, or NULL at the end. */
static const char *next_line(const char *p, char *line, size_t len)
{
    if (*p == '\0')
        return NULL;
    size_t n = strcspn(p, "\n");
    if (n < len) {
        memcpy(line, p, n);
        line[n] = '\0';
    } else {
        line[0] = '\0';
    }
    return p[n] ? p + n + 1 : p + n;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Splits one CSV line in place at its commas, trimming each field (the
 * values nvidia-smi prints never hold commas). Returns the field count, or
 * -1 when there are more than max. */
static int split_fields(char *line, char **field, int max)
{
    int n = 0;
    for (char *p = line;;) {
        if (n == max)
            return -1;
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        field[n++] = trim(p);
        if (comma == NULL)
            return n;
        p = comma + 1;
    }
}

/* Reads a value field: 0 and the number; 1 for nvidia-smi's markers of a
 * missing value ("[N/A]", "[Not Supported]", "[Unknown Error]", ...); -1
 * for anything else. */
static int field_number(const char *f, double *v)
{
    if (f[0] == '[' && f[strlen(f) - 1] == ']')
        return 1;
    char *end;
    double d = strtod(f, &end);
    if (end == f || *end != '\0' || !isfinite(d))
        return -1;
    *v = d;
    return 0;
}

static int field_index(const char *f, int max, int *index)
{
    char *end;
    long v = strtol(f, &end, 10);
    if (end == f || *end != '\0' || v < 0 || v >= max)
        return -1;
    *index = (int)v;
    return 0;
}

/* Parses the output of --query-gpu=GPU_SMI_INVENTORY_FIELDS into out, in
 * line order, up to max GPUs. Lines with another field count, a bad or
 * repeated index, an empty UUID or name, or garbage for memory.total are
 * skipped; "[N/A]" memory gives 0. Returns the GPU count. */
int gpu_smi_parse_inventory(const char *text, struct gpu_info *out, int max)
{
    char line[SMI_LINE_MAX], *f[SMI_FIELDS_MAX];
    int n = 0;
    for (const char *p = text; n < max && (p = next_line(p, line, sizeof(line)));) {
        int index, seen = 0;
        double mib = 0;
        if (split_fields(line, f, SMI_FIELDS_MAX) != 5 ||
            field_index(f[0], GPU_MAX, &index) < 0 || f[1][0] == '\0' ||
            f[1][0] == '[' || f[2][0] == '\0' || field_number(f[3], &mib) < 0)
            continue;
        for (int i = 0; i < n; i++)
            seen |= out[i].index == index;
        if (seen)
            continue;
        gpu_info_fill(&out[n++], index, f[1], f[2], (int64_t)mib);
    }
    return n;
}

/* Copies the driver_version field of the first good inventory line to out.
 * Returns 0, or -1 when there is none. */
int gpu_smi_parse_driver(const char *text, char *out, size_t outlen)
{
    char line[SMI_LINE_MAX], *f[SMI_FIELDS_MAX];
    int index;
    for (const char *p = text; (p = next_line(p, line, sizeof(line)));) {
        if (split_fields(line, f, SMI_FIELDS_MAX) == 5 &&
            field_index(f[0], GPU_MAX, &index) == 0 && f[4][0] != '\0' &&
            f[4][0] != '[') {
            snprintf(out, outlen, "%s", f[4]);
            return 0;
        }
    }
    return -1;
}

/* The metrics of a sample line, in the order of GPU_SMI_SAMPLE_FIELDS and
 * GPU_SMI_CODEC_FIELDS, after the index. */
static const enum gpu_metric sample_fields[] = {
    GM_UTIL, GM_MEM_UTIL, GM_MEM_USED, GM_MEM_FREE, GM_TEMP,
    GM_POWER, GM_SM_CLOCK, GM_MEM_CLOCK, GM_ENC_UTIL, GM_DEC_UTIL,
};

/* Parses the output of --query-gpu=GPU_SMI_SAMPLE_FIELDS (9 fields a line)
 * or with GPU_SMI_CODEC_FIELDS too (11). Each line's sample goes to
 * out[its index]; a "[N/A]"-style field stays absent. Lines with another
 * field count, an index outside 0..max-1, or a field that is neither a
 * number nor such a marker are skipped. Every slot of out is cleared
 * first. Returns 1 + the highest index parsed (0 when none): slots below it
 * that no line filled have no metric present. */
int gpu_smi_parse_samples(const char *text, struct gpu_sample *out, int max)
{
    char line[SMI_LINE_MAX], *f[SMI_FIELDS_MAX];
    int count = 0;
    memset(out, 0, (size_t)max * sizeof(*out));
    for (const char *p = text; (p = next_line(p, line, sizeof(line)));) {
        int n = split_fields(line, f, SMI_FIELDS_MAX), index, bad = 0;
        if ((n != 9 && n != 11) || field_index(f[0], max, &index) < 0)
            continue;
        struct gpu_sample g = {0};
        for (int i = 1; i < n && !bad; i++) {
            double v;
            int r = field_number(f[i], &v);
            if (r == 0)
                gpu_sample_set(&g, sample_fields[i - 1], v);
            bad = r < 0;
        }
        if (bad)
            continue;
        out[index] = g;
        if (index + 1 > count)
            count = index + 1;
    }
    return count;
}

/* Finds the program: name itself when it holds a '/', else the first
 * executable name in $PATH. Returns 0 with the path in out, or -1. */
static int find_program(const char *name, char *out, size_t outlen)
{
    if (strchr(name, '/')) {
        snprintf(out, outlen, "%s", name);
        return access(out, X_OK);
    }
    const char *dirs = getenv("PATH");
    if (dirs == NULL)
        dirs = "/usr/local/bin:/usr/bin:/bin";
    for (const char *d = dirs;; d++) {
        size_t n = strcspn(d, ":");
        int len = n ? snprintf(out, outlen, "%.*s/%s", (int)n, d, name)
                    : snprintf(out, outlen, "./%s", name);
        if (len > 0 && (size_t)len < outlen && access(out, X_OK) == 0)
            return 0;
        d += n;
        if (*d == '\0')
            return -1;
    }
}

/* Starts `path query --format=csv,noheader,nounits` in its own process
 * group, stdout to a pipe, stdin and stderr on /dev/null. Returns its pid
 * with the pipe's read end in *fd (close-on-exec), or -1. */
static pid_t smi_spawn(const char *path, const char *query, int *fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    char *argv[] = {(char *)path, (char *)query,
                    (char *)"--format=csv,noheader,nounits", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, pipe_sig;
    sigemptyset(&none);
    sigemptyset(&pipe_sig);
    sigaddset(&pipe_sig, SIGPIPE);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                    POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &pipe_sig);
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        errno = rc;
        return -1;
    }
    *fd = p[0];
    return pid;
}

/* Runs nvidia-smi with query and waits for its output (at open only).
 * Returns the byte count in out (NUL-terminated), or -1 when it could not
 * start, ran past timeout (it is killed) or printed more than out holds. */
static ssize_t smi_run_sync(const char *path, const char *query, char *out,
                            size_t outlen, double timeout)
{
    int fd;
    pid_t pid = smi_spawn(path, query, &fd);
    if (pid < 0)
        return -1;
    size_t len = 0;
    int eof = 0;
    double deadline = ev_time() + timeout;
    while (!eof && len + 1 < outlen) {
        int wait_ms = (int)((deadline - ev_time()) * 1000);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = wait_ms > 0 ? poll(&pfd, 1, wait_ms) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t n = read(fd, out + len, outlen - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            eof = 1;
        else
            len += (size_t)n;
    }
    close(fd);
    out[len] = '\0';
    if (eof) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;                       /* it closed its stdout: it is exiting */
        return (ssize_t)len;
    }
    /* A child stuck in the driver may not die at once: libev or init reaps
     * it later rather than the agent waiting here. */
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, WNOHANG);
    return -1;
}

/* Replaces s->latest with a completed run's samples, in inventory order;
 * text NULL (the run failed) leaves every metric absent. Returns how many
 * GPUs got a sample line. */
static int smi_publish(struct gpu_source *s, const char *text)
{
    struct gpu_sample by_index[GPU_MAX];
    int n = text ? gpu_smi_parse_samples(text, by_index, GPU_MAX) : 0;
    int got = 0;
    double now = ev_time();
    for (int i = 0; i < s->ngpu; i++) {
        int index = s->inv[i].index;
        if (index < n && by_index[index].present) {
            s->latest[i] = by_index[index];
            got++;
        } else {
            memset(&s->latest[i], 0, sizeof(s->latest[i]));
        }
        s->latest[i].ts = now;
    }
    s->nlatest = s->ngpu;
    return got;
}

/* Both the output and the child are done: publish, and log only when the
 * outcome changes so a broken driver does not flood the log. */
static void smi_finish(struct gpu_smi *m)
{
    struct gpu_source *s = m->src;
    ev_timer_stop(s->loop, &m->timer);
    m->buf[m->len] = '\0';
    int got = smi_publish(s, m->killed || m->overflow ? NULL : m->buf);
    if (got == 0 && !m->failing)
        log_warn("gpu: nvidia-smi gave no sample%s", m->killed ? " (killed: too slow)"
                 : m->overflow ? " (output too long)" : "");
    else if (got > 0 && m->failing)
        log_info("gpu: nvidia-smi samples again");
    m->failing = got == 0;
}

static void smi_close_output(struct gpu_smi *m)
{
    ev_io_stop(m->src->loop, &m->io);
    close(m->fd);
    m->fd = -1;
}

static void smi_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct gpu_smi *m = SMI_OF(w, io);
    char spill[4096];
    for (;;) {
        /* Past the buffer, keep draining so the child can finish. */
        int full = m->len + 1 >= sizeof(m->buf);
        ssize_t n = full ? read(m->fd, spill, sizeof(spill))
                         : read(m->fd, m->buf + m->len, sizeof(m->buf) - 1 - m->len);
        if (n > 0) {
            m->overflow |= full;
            m->len += full ? 0 : (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        break;
    }
    smi_close_output(m);
    if (m->pid == 0)
        smi_finish(m);
}

static void smi_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    struct gpu_smi *m = SMI_OF(w, child);
    ev_child_stop(loop, w);
    m->pid = 0;
    if (m->fd < 0)
        smi_finish(m);
}

/* The run took too long: kill its process group and drop its output (a
 * grandchild could keep the pipe open); the sample fails once it is reaped.
 * Reaping here too keeps the source from waiting forever on an ev_child
 * that will not fire, should other code have reaped the child already. */
static void smi_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct gpu_smi *m = SMI_OF(w, timer);
    m->killed = 1;
    if (m->pid > 0) {
        kill(-m->pid, SIGKILL);
        if (waitpid(m->pid, NULL, WNOHANG) != 0) {
            ev_child_stop(loop, &m->child);
            m->pid = 0;
        }
    }
    if (m->fd >= 0)
        smi_close_output(m);
    if (m->pid == 0)
        smi_finish(m);
}

/* Starts a sample run unless one is still going; its completion lands in
 * s->latest from the loop's callbacks. */
void gpu_smi_refresh(struct gpu_source *s)
{
    struct gpu_smi *m = s->smi;
    if (m->pid > 0 || m->fd >= 0)
        return;
    m->len = 0;
    m->killed = m->overflow = 0;
    int fd;
    pid_t pid = smi_spawn(m->path, m->query, &fd);
    if (pid < 0) {
        log_warn("gpu: cannot start %s: %s", m->path, strerror(errno));
        smi_publish(s, NULL);
        return;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    m->pid = pid;
    m->fd = fd;
    ev_io_init(&m->io, smi_io_cb, fd, EV_READ);
    ev_io_start(s->loop, &m->io);
    ev_child_init(&m->child, smi_child_cb, pid, 0);
    ev_child_start(s->loop, &m->child);
    ev_timer_init(&m->timer, smi_timer_cb, s->timeout, 0);
    ev_timer_start(s->loop, &m->timer);
}

/* Picks the sample query: with the encoder and decoder fields when this
 * nvidia-smi answers them, else without. The probe's output is the first
 * sample. */
static void smi_choose_query(struct gpu_source *s, struct gpu_smi *m)
{
    snprintf(m->query, sizeof(m->query), "--query-gpu=%s%s",
             GPU_SMI_SAMPLE_FIELDS, GPU_SMI_CODEC_FIELDS);
    if (smi_run_sync(m->path, m->query, m->buf, sizeof(m->buf),
                     SMI_OPEN_TIMEOUT) >= 0 && smi_publish(s, m->buf) > 0)
        return;
    snprintf(m->query, sizeof(m->query), "--query-gpu=%s", GPU_SMI_SAMPLE_FIELDS);
    if (smi_run_sync(m->path, m->query, m->buf, sizeof(m->buf),
                     SMI_OPEN_TIMEOUT) >= 0 && smi_publish(s, m->buf) > 0) {
        log_info("gpu: this nvidia-smi does not report encoder/decoder "
                 "utilization; they stay absent");
        return;
    }
    s->nlatest = 0;
    m->failing = 1;
    log_warn("gpu: nvidia-smi lists GPUs but gave no sample");
}

/* Finds nvidia-smi (path, or "nvidia-smi" on PATH when NULL), reads the
 * inventory into s and takes a first sample; called by gpu_source_open,
 * blocking. Returns 0 when it lists at least one GPU (driver gets the
 * driver version), else -1 with s left empty. */
int gpu_smi_open(struct gpu_source *s, const char *path, char *driver,
                 size_t driverlen)
{
    struct gpu_smi *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return -1;
    m->src = s;
    m->fd = -1;
    char query[128];
    snprintf(query, sizeof(query), "--query-gpu=%s", GPU_SMI_INVENTORY_FIELDS);
    if (find_program(path ? path : "nvidia-smi", m->path, sizeof(m->path)) < 0) {
        log_debug("gpu: no nvidia-smi");
    } else if (s->loop == NULL || !ev_is_default_loop(s->loop)) {
        log_warn("gpu: nvidia-smi needs the default event loop; GPUs not read");
    } else if (smi_run_sync(m->path, query, m->buf, sizeof(m->buf),
                            SMI_OPEN_TIMEOUT) < 0 ||
               (s->ngpu = gpu_smi_parse_inventory(m->buf, s->inv, GPU_MAX)) == 0) {
        log_info("gpu: %s lists no GPU", m->path);
    } else {
        gpu_smi_parse_driver(m->buf, driver, driverlen);
        smi_choose_query(s, m);
        s->smi = m;
        return 0;
    }
    free(m);
    s->ngpu = 0;
    return -1;
}

/* Stops the watchers and kills a running child (reaped here if it is
 * already dead, else later by libev or init); nothing when nvidia-smi is
 * not the source. */
void gpu_smi_close(struct gpu_source *s)
{
    struct gpu_smi *m = s->smi;
    if (m == NULL)
        return;
    ev_timer_stop(s->loop, &m->timer);
    if (m->fd >= 0)
        smi_close_output(m);
    if (m->pid > 0) {
        ev_child_stop(s->loop, &m->child);
        kill(-m->pid, SIGKILL);
        waitpid(m->pid, NULL, WNOHANG);
    }
    free(m);
    s->smi = NULL;
}
