/* Starting a task: its argv (the command, or `docker run ...` around the
 * image), environment, process group and pipes. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* In the child: own process group, pipes as stdout/stderr, environment,
 * limits, then exec. Never returns. */
static void exec_child(struct agent_task *t, struct argv *a, int out[2], int err[2])
{
    setpgid(0, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0)
        dup2(null, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (chdir(A.set.workdir) < 0)
        fprintf(stderr, "gantry-agent: cannot enter %s: %s\n", A.set.workdir, strerror(errno));
    setenv("GANTRY_TASK_ID", t->id, 1);
    setenv("GANTRY_WORKER_ID", A.set.id, 1);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(t->record, "env"), k, v)
        setenv(k, json_string_value(v), 1);
    if (!t->docker) {
        char gpus[128];
        gpu_list(t->record, gpus, sizeof(gpus));
        if (gpus[0])
            setenv("CUDA_VISIBLE_DEVICES", gpus, 1);
        /* The task's memory as a limit on its data segment, where the OS
         * allows; at least 64 MiB so small tools start. */
        json_int_t mib = json_integer_value(json_object_get(t->record, "memory_required"));
        if (mib > 0) {
            rlim_t bytes = (rlim_t)(mib < 64 ? 64 : mib) * 1024 * 1024;
            struct rlimit rl = {bytes, bytes};
            setrlimit(RLIMIT_DATA, &rl);
        }
    }
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CORE, &core);
    execvp(a->v[0], a->v);
    fprintf(stderr, "gantry-agent: cannot run %s: %s\n", a->v[0], strerror(errno));
    _exit(127);
}

static int open_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    return 0;
}

/* Forks and execs t. Returns 0, or -1 with errno set. */
int runner_launch(struct agent_task *t)
{
    struct argv a = {.n = 0, .store = BUF_INIT};
    a.v[0] = NULL;
    json_t *cmd = json_object_get(t->record, "command");
    int rc = t->docker ? docker_args(&a, t) : command_args(&a, cmd);
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    if (rc < 0 || a.n == 0 || open_pipe(out) < 0 || open_pipe(err) < 0) {
        argv_free(&a);
        errno = rc < 0 || a.n == 0 ? E2BIG : errno;
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0)
        exec_child(t, &a, out, err);
    int saved = errno;
    close(out[1]);
    close(err[1]);
    argv_free(&a);
    if (pid < 0) {
        close(out[0]);
        close(err[0]);
        errno = saved;
        return -1;
    }
    setpgid(pid, pid);
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
