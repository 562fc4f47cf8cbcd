/* gantry-agent: one per machine. Joins the master, heartbeats its CPU,
 * memory, storage and GPU telemetry, runs the tasks it is given and streams
 * their output. */
#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "reactor/reactor.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/worker.h"
#include "proto/client.h"

struct agent A;

static json_t *stopped_ids;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gantry-agent [options]\n"
            "  --master ADDR,...   master's agent address (default 127.0.0.1:7070; env GANTRY_MASTER);\n"
            "                      a list names a group of gantryd, tried in turn\n"
            "  --id ID             worker id (default: the hostname; env GANTRY_WORKER_ID)\n"
            "  --token TOKEN       join token (env GANTRY_TOKEN)\n"
            "  --interval DUR      heartbeat interval (default 5s; the master may ask for less)\n"
            "  --workdir DIR       where tasks run; its filesystem is the storage reported (default .)\n"
            "  --labels k=v,...    labels tasks can require\n"
            "  --executors LIST    auto (default), or process and/or docker, comma-separated\n"
            "  --docker PATH       the docker command (default docker)\n"
            "  --on-stop MODE      cancel (default): stop tasks on SIGTERM; leave: leave them running\n"
            "  --stop-grace DUR    SIGTERM to SIGKILL when stopping tasks (default 10s)\n"
            "  --buffer SIZE       output kept while the master is away (default 4MiB)\n"
            "  --nvml PATH         NVML library (default libnvidia-ml.so.1)\n"
            "  --nvidia-smi PATH   nvidia-smi, used when NVML is not there\n"
            "  --log-level LEVEL   error, warn, info, debug\n"
            ND_CLIENT_TLS_USAGE
            "  --help, --version\n");
}

static int bad(const char *key, const char *value, const char *why)
{
    fprintf(stderr, "gantry-agent: %s = '%s': %s\n", key, value, why);
    return 2;
}

static int parse_labels(const char *s)
{
    json_t *l = json_object();
    char *copy = strdup(s), *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            free(copy);
            json_decref(l);
            return -1;
        }
        *eq = '\0';
        json_object_set_new(l, kv, json_string(eq + 1));
    }
    free(copy);
    json_decref(A.set.labels);
    A.set.labels = l;
    return 0;
}

static void defaults(void)
{
    const char *env;
    snprintf(A.set.master, sizeof(A.set.master), "%s",
             (env = getenv("GANTRY_MASTER")) ? env : "127.0.0.1:7070");
    if ((env = getenv("GANTRY_WORKER_ID")))
        snprintf(A.set.id, sizeof(A.set.id), "%s", env);
    snprintf(A.set.token, sizeof(A.set.token), "%s", (env = getenv("GANTRY_TOKEN")) ? env : "");
    env = getenv("STATE_DIRECTORY");
    snprintf(A.set.workdir, sizeof(A.set.workdir), "%s", env ? env : ".");
    A.set.interval = 5;
    A.set.stop_grace = 10;
    A.set.buffer_max = 4u * 1024 * 1024;
    A.set.executors = "auto";
    A.set.docker = "docker";
}

static int set_option(int ch, const char *v)
{
    char why[128];
    enum log_level lv;
    if (nd_client_tls_option(ch, v))
        return 0;
    switch (ch) {
    case 'm':
        if (masters_parse(&A.masters, v, why, sizeof(why)) < 0)
            return bad("--master", v, why);
        snprintf(A.set.master, sizeof(A.set.master), "%s", v);
        return 0;
    case 'i': snprintf(A.set.id, sizeof(A.set.id), "%s", v); return 0;
    case 't': snprintf(A.set.token, sizeof(A.set.token), "%s", v); return 0;
    case 'I':
        if (parse_duration(v, &A.set.interval, why, sizeof(why)) < 0 || A.set.interval < 0.01)
            return bad("--interval", v, "not a duration of at least 10ms");
        return 0;
    case 'w': snprintf(A.set.workdir, sizeof(A.set.workdir), "%s", v); return 0;
    case 'l': return parse_labels(v) < 0 ? bad("--labels", v, "use k=v,k2=v2") : 0;
    case 'e':
        if (strcmp(v, "auto") && strcmp(v, "process") && strcmp(v, "docker") &&
            strcmp(v, "process,docker") && strcmp(v, "docker,process"))
            return bad("--executors", v, "use auto, process, docker or process,docker");
        A.set.executors = v;
        return 0;
    case 'd': A.set.docker = v; return 0;
    case 'o':
        if (strcmp(v, "cancel") && strcmp(v, "leave"))
            return bad("--on-stop", v, "use cancel or leave");
        A.set.leave_on_stop = strcmp(v, "leave") == 0;
        return 0;
    case 'g':
        return parse_duration(v, &A.set.stop_grace, why, sizeof(why)) < 0
                   ? bad("--stop-grace", v, why) : 0;
    case 'b':
        return parse_size(v, &A.set.buffer_max, why, sizeof(why)) < 0 ? bad("--buffer", v, why) : 0;
    case 'n': A.set.nvml = v; return 0;
    case 's': A.set.smi = v; return 0;
    case 'L':
        if (log_level_parse(v, &lv) < 0)
            return bad("--log-level", v, "use error, warn, info or debug");
        log_set_level(lv);
        return 0;
    }
    return 2;
}

static int parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        {"master", required_argument, NULL, 'm'}, {"id", required_argument, NULL, 'i'},
        {"token", required_argument, NULL, 't'}, {"interval", required_argument, NULL, 'I'},
        {"workdir", required_argument, NULL, 'w'}, {"labels", required_argument, NULL, 'l'},
        {"executors", required_argument, NULL, 'e'}, {"docker", required_argument, NULL, 'd'},
        {"on-stop", required_argument, NULL, 'o'}, {"stop-grace", required_argument, NULL, 'g'},
        {"buffer", required_argument, NULL, 'b'}, {"nvml", required_argument, NULL, 'n'},
        {"nvidia-smi", required_argument, NULL, 's'}, {"log-level", required_argument, NULL, 'L'},
        ND_CLIENT_TLS_OPTS,
        {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    int ch, rc;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'h') {
            usage(stdout);
            return -1;
        }
        if (ch == 'V') {
            printf("gantry-agent %s\n", GANTRY_VERSION);
            return -1;
        }
        if (ch == ':' || ch == '?') {
            fprintf(stderr, "gantry-agent: %s: %s (see --help)\n", argv[optind - 1],
                    ch == ':' ? "missing value" : "unknown option");
            return 2;
        }
        if ((rc = set_option(ch, optarg)))
            return rc;
    }
    if (optind < argc) {
        fprintf(stderr, "gantry-agent: %s: unexpected argument\n", argv[optind]);
        return 2;
    }
    return 0;
}

static int prepare(void)
{
    char err[256];
    struct stat st;
    if (stat(A.set.workdir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "gantry-agent: --workdir = '%s': not a directory\n", A.set.workdir);
        return 2;
    }
    if (sysinfo_capacity("/proc", A.set.workdir, &A.cap, err, sizeof(err)) < 0) {
        fprintf(stderr, "gantry-agent: %s\n", err);
        return 1;
    }
    if (masters_parse(&A.masters, A.set.master, err, sizeof(err)) < 0)
        return bad("--master", A.set.master, err);
    if (!A.set.id[0])
        snprintf(A.set.id, sizeof(A.set.id), "%.64s", A.cap.hostname);
    if (!worker_id_valid(A.set.id))
        return bad("--id", A.set.id, "use 1-64 letters, digits, '.', '_' or '-'");
    int automatic = strcmp(A.set.executors, "auto") == 0;
    A.executors = automatic || strstr(A.set.executors, "process") ? SCHED_EXEC_PROCESS : 0;
    if (automatic || strstr(A.set.executors, "docker")) {
        if (runner_docker_available(A.set.docker))
            A.executors |= SCHED_EXEC_DOCKER;
        else if (!automatic)
            log_warn("'%s info' fails: the docker executor is off", A.set.docker);
    }
    char desc[128];
    A.gpu = gpu_source_open(A.loop, A.set.nvml, A.set.smi, desc, sizeof(desc));
    if (!A.gpu)
        return 1;
    A.ngpus = gpu_source_inventory(A.gpu, A.gpus, HB_MAX_GPUS);
    gpu_source_refresh(A.gpu);
    sysinfo_cpu_usage(&A.cpu, "/proc", &(double){0});
    log_info("gantry-agent %s: worker %s, %.1f cores, %lld MiB, %d GPUs (%s), executors:%s%s",
             GANTRY_VERSION, A.set.id, A.cap.cpu_cores, (long long)A.cap.memory_mib, A.ngpus,
             desc, A.executors & SCHED_EXEC_PROCESS ? " process" : "",
             A.executors & SCHED_EXEC_DOCKER ? " docker" : "");
    return 0;
}

static void finish_stop(void)
{
    json_t *bye = json_pack("{s:s,s:s}", "type", "bye", "reason", "shutdown");
    json_object_set_new(bye, A.set.leave_on_stop ? "left_running" : "stopped",
                        stopped_ids ? stopped_ids : json_array());
    stopped_ids = NULL;
    link_stop(bye);
    ev_break(A.loop, EVBREAK_ALL);
}

static void stop_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    if (runner_active() == 0)
        finish_stop();
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    (void)w;
    if (A.stopping)
        return;
    A.stopping = 1;
    ev_timer_stop(loop, &A.hb);
    stopped_ids = runner_task_ids();
    if (A.set.leave_on_stop || runner_stop_all(A.set.stop_grace) == 0) {
        log_info("stopping%s", A.set.leave_on_stop ? "; tasks left running" : "");
        finish_stop();
        return;
    }
    log_info("stopping: waiting for %d tasks to stop", runner_active());
    ev_timer_init(&A.stop_timer, stop_poll, 0.05, 0.05);
    ev_timer_start(loop, &A.stop_timer);
}

int main(int argc, char **argv)
{
    log_init("gantry-agent");
    signal(SIGPIPE, SIG_IGN);
    A.loop = EV_DEFAULT;
    defaults();
    int rc = parse_args(argc, argv);
    if (rc == 0)
        rc = prepare();
    if (rc) {
        json_decref(A.set.labels);
        return rc < 0 ? 0 : rc;
    }
    /* Orphaned grandchildren of tasks come to us, and libev reaps them. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (reactor_init(A.loop) < 0) {
        fprintf(stderr, "gantry-agent: out of memory\n");
        return 1;
    }
    char err[512];
    if (nd_client_tls_setup(err, sizeof(err)) < 0) {
        fprintf(stderr, "gantry-agent: %s\n", err);
        reactor_shutdown();
        return 2;
    }
    runner_init();
    ev_signal sterm, sint;
    ev_signal_init(&sterm, on_signal, SIGTERM);
    ev_signal_init(&sint, on_signal, SIGINT);
    ev_signal_start(A.loop, &sterm);
    ev_signal_start(A.loop, &sint);
    link_start();
    ev_run(A.loop, 0);
    ev_timer_stop(A.loop, &A.stop_timer);
    ev_signal_stop(A.loop, &sterm);
    ev_signal_stop(A.loop, &sint);
    runner_free();
    reactor_shutdown();
    gpu_source_close(A.gpu);
    json_decref(A.set.labels);
    log_info("stopped");
    return 0;
}
