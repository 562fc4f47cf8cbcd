/* Starting a task: its argv (the command, or `docker run ...` around the
 * image), environment, process group and pipes. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "core/log.h"
#include "core/timefmt.h"

#define MAX_ARGS 4096

struct argv {
    char *v[MAX_ARGS + 1];
    int n;
    struct buf store;             /* keeps formatted arguments alive */
};

static int arg(struct argv *a, const char *s)
{
    if (a->n == MAX_ARGS)
        return -1;
    a->v[a->n++] = (char *)s;
    a->v[a->n] = NULL;
    return 0;
}

static int argf(struct argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int argf(struct argv *a, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    char *s = strdup(tmp);
    if (!s || buf_append(&a->store, &s, sizeof(s)) < 0) {
        free(s);
        return -1;
    }
    return arg(a, s);
}

static void argv_free(struct argv *a)
{
    char **p = (char **)(void *)buf_start(&a->store);
    for (size_t i = 0; i < a->store.len / sizeof(char *); i++)
        free(p[i]);
    buf_free(&a->store);
}

static int command_args(struct argv *a, json_t *cmd)
{
    if (json_is_string(cmd))
        return arg(a, "/bin/sh") | arg(a, "-c") | arg(a, json_string_value(cmd));
    size_t i;
    json_t *s;
    json_array_foreach(cmd, i, s)
        if (arg(a, json_string_value(s)) < 0)
            return -1;
    return 0;
}

static void gpu_list(json_t *task, char *out, size_t outlen)
{
    size_t i, n = 0;
    json_t *g;
    out[0] = '\0';
    json_array_foreach(json_object_get(json_object_get(task, "assignment"), "gpus"), i, g)
        n += (size_t)snprintf(out + n, n < outlen ? outlen - n : 0, "%s%lld", i ? "," : "",
                              (long long)json_integer_value(g));
}

/* docker run --rm --name gantry-<id> --cpus C --memory Mm [--gpus ...]
 * [-e K=V ...] image [command...] */
static int docker_args(struct argv *a, struct agent_task *t)
{
    json_t *task = t->record;
    char gpus[128];
    gpu_list(task, gpus, sizeof(gpus));
    int rc = arg(a, A.set.docker) | arg(a, "run") | arg(a, "--rm") |
             argf(a, "--name=gantry-%s", t->id) | argf(a, "--label=gantry.task=%s", t->id) |
             argf(a, "--cpus=%g", json_number_value(json_object_get(task, "cpu_required"))) |
             argf(a, "--memory=%lldm",
                  (long long)json_integer_value(json_object_get(task, "memory_required")));
    if (gpus[0])
        rc |= arg(a, "--gpus") | argf(a, "\"device=%s\"", gpus);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(task, "env"), k, v)
        rc |= arg(a, "-e") | argf(a, "%s=%s", k, json_string_value(v));
    rc |= arg(a, json_string_value(json_object_get(task, "docker_image")));
    json_t *cmd = json_object_get(task, "command");
    if (cmd && !json_is_null(cmd))
        rc |= command_args(a, cmd);
    return rc ? -1 : 0;
}

/* The task's environment: the agent's own, less the names the task sets,
 * then GANTRY_TASK_ID, GANTRY_WORKER_ID, CUDA_VISIBLE_DEVICES (process
 * executor with GPUs) and the task's env. Strings live in a->store too. */
static int env_add(struct argv *a, struct argv *env, const char *k, const char *v)
{
    size_t n = strlen(k) + strlen(v) + 2;
    char *s = malloc(n);
    if (!s || buf_append(&a->store, &s, sizeof(s)) < 0) {
        free(s);
        return -1;
    }
    snprintf(s, n, "%s=%s", k, v);
    return arg(env, s);
}

static int overridden(const char *entry, json_t *task_env, const char *const *ours)
{
    const char *eq = strchr(entry, '=');
    size_t n = eq ? (size_t)(eq - entry) : strlen(entry);
    for (int i = 0; ours[i]; i++)
        if (strlen(ours[i]) == n && memcmp(ours[i], entry, n) == 0)
            return 1;
    const char *k;
    json_t *v;
    json_object_foreach(task_env, k, v)
        if (strlen(k) == n && memcmp(k, entry, n) == 0)
            return 1;
    return 0;
}

static int build_env(struct agent_task *t, struct argv *a, struct argv *env)
{
    json_t *task_env = json_object_get(t->record, "env");
    char gpus[128] = "";
    if (!t->docker)
        gpu_list(t->record, gpus, sizeof(gpus));
    const char *const ours[] = {"GANTRY_TASK_ID", "GANTRY_WORKER_ID",
                                gpus[0] ? "CUDA_VISIBLE_DEVICES" : NULL, NULL};
    for (char **e = environ; *e; e++)
        if (!overridden(*e, task_env, ours) && arg(env, *e) < 0)
            return -1;
    int rc = env_add(a, env, "GANTRY_TASK_ID", t->id) | env_add(a, env, "GANTRY_WORKER_ID", A.set.id);
    if (gpus[0])
        rc |= env_add(a, env, "CUDA_VISIBLE_DEVICES", gpus);
    const char *k;
    json_t *v;
    json_object_foreach(task_env, k, v)
        rc |= env_add(a, env, k, json_string_value(v));
    return rc ? -1 : 0;
}

/* Finds name on PATH (the task's PATH when it sets one) as execvp would.
 * Returns 0 with the file in out, or -1 with errno set. */
static int find_program(const char *name, json_t *task_env, char *out, size_t outlen)
{
    if (strchr(name, '/')) {
        snprintf(out, outlen, "%s", name);
        return 0;
    }
    const char *path = json_string_value(json_object_get(task_env, "PATH"));
    if (!path)
        path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    int denied = 0;
    while (*path) {
        const char *colon = strchrnul(path, ':');
        size_t n = (size_t)(colon - path);
        int w = snprintf(out, outlen, "%.*s%s%s", (int)n, path, n ? "/" : "", name);
        if (w > 0 && (size_t)w < outlen) {
            if (access(out, X_OK) == 0)
                return 0;
            denied |= errno == EACCES;
        }
        path = *colon ? colon + 1 : colon;
    }
    errno = denied ? EACCES : ENOENT;
    return -1;
}

/* The limits a task starts under: the process executor's memory as a
 * limit on its data segment (at least 64 MiB so small tools start; never
 * above the agent's own hard limit) and no core dumps. */
static void task_limits(struct agent_task *t, struct rlimit *data, int *has_data)
{
    json_int_t mib = t->docker ? 0 : json_integer_value(json_object_get(t->record, "memory_required"));
    *has_data = 0;
    if (mib > 0) {
        rlim_t bytes = (rlim_t)(mib < 64 ? 64 : mib) * 1024 * 1024;
        getrlimit(RLIMIT_DATA, data);
        if (data->rlim_max == RLIM_INFINITY || bytes < data->rlim_max) {
            data->rlim_cur = data->rlim_max = bytes;
            *has_data = 1;
        }
    }
}

/* Starts file with argv in its own process group, the pipes as stdout and
 * stderr, /dev/null as stdin, in the workdir, under task_limits(), every
 * signal at its default and none blocked. vfork: no copy of the agent's
 * memory, and the limits are in place before the task's first instruction
 * (posix_spawn has no way to set them, and prlimit() afterwards races the
 * task). The child only makes system calls before execve; all signals stay
 * blocked until it has reset their handlers, so no agent handler runs in
 * it. Returns 0 or an errno value. */
static int spawn(struct agent_task *t, const char *file, char **argv, char **envp, int out, int err,
                 pid_t *pid)
{
    struct rlimit data, core = {0, 0};
    int has_data;
    task_limits(t, &data, &has_data);
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    volatile int child_errno = 0;
    pid_t p = vfork();
    if (p == 0) {
        /* The system call, not sigaction(): the C library refuses the two
         * signals it keeps for itself, and an agent started with them
         * ignored would pass that on to every task. */
        struct {
            void (*handler)(int);
            unsigned long flags;
            void (*restorer)(void);
            uint64_t mask;
        } dfl = {SIG_DFL, 0, NULL, 0};
        for (int sig = 1; sig <= 64; sig++)
            if (sig != SIGKILL && sig != SIGSTOP)
                syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
        int in = open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
            dup2(err, STDERR_FILENO) < 0 || setpgid(0, 0) < 0 || chdir(A.set.workdir) < 0 ||
            (has_data && setrlimit(RLIMIT_DATA, &data) < 0) || setrlimit(RLIMIT_CORE, &core) < 0) {
            child_errno = errno;
            _exit(127);
        }
        if (in > STDERR_FILENO)
            close(in);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(file, argv, envp);
        child_errno = errno;
        _exit(127);
    }
    int rc = p < 0 ? errno : child_errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (p > 0 && rc)
        waitpid(p, NULL, 0);       /* it never ran the task: reap it now */
    if (rc)
        return rc;
    *pid = p;
    return 0;
}

static int open_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    return 0;
}

/* Starts t. Returns 0, or -1 with errno set and why (for the task's log)
 * filled. */
int runner_launch(struct agent_task *t, char *why, size_t whylen)
{
    struct argv a = {.n = 0, .store = BUF_INIT};
    struct argv *env = calloc(1, sizeof(*env));
    a.v[0] = NULL;
    json_t *cmd = json_object_get(t->record, "command");
    int rc = t->docker ? docker_args(&a, t) : command_args(&a, cmd);
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    char file[4096];
    pid_t pid = -1;
    if (!env || rc < 0 || a.n == 0 || build_env(t, &a, env) < 0) {
        snprintf(why, whylen, "cannot start: %s", strerror(E2BIG));
        rc = E2BIG;
    } else if (find_program(a.v[0], json_object_get(t->record, "env"), file, sizeof(file)) < 0) {
        rc = errno;
        snprintf(why, whylen, "cannot run %s: %s", a.v[0], strerror(rc));
    } else if (open_pipe(out) < 0 || open_pipe(err) < 0) {
        rc = errno;
        snprintf(why, whylen, "cannot start: %s", strerror(rc));
    } else if ((rc = spawn(t, file, a.v, env->v, out[1], err[1], &pid)) != 0) {
        snprintf(why, whylen, "cannot run %s: %s", a.v[0], strerror(rc));
    }
    int ends[] = {out[1], err[1], rc ? out[0] : -1, rc ? err[0] : -1};
    for (int i = 0; i < 4; i++)
        if (ends[i] >= 0)
            close(ends[i]);
    argv_free(&a);
    free(env);
    if (rc) {
        errno = rc;
        return -1;
    }
    t->pid = pid;
    t->out_fd = out[0];
    t->err_fd = err[0];
    return 0;
}

/* Runs `DOCKER info` (at start, so waiting is fine) and returns 1 when it
 * succeeds within 10 s. */
int runner_docker_available(const char *docker)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execlp(docker, docker, "info", (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        return 0;
    for (int i = 0; i < 200; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) && WEXITSTATUS(st) == 0;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}
