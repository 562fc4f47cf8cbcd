/* gantry-agent's state, shared by its parts: the link to the master
 * (link.c), the task runner (runner.c) and the program (main.c). One libev
 * loop; nothing here blocks it. */
#ifndef GANTRY_AGENT_H
#define GANTRY_AGENT_H

#include <ev.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/gpu.h"
#include "agent/sysinfo.h"
#include "core/buf.h"
#include "core/cluster.h"
#include "core/dict.h"
#include "core/list.h"

struct agent_settings {
    char master[256];
    char id[72];
    char token[256];
    double interval;              /* heartbeat, seconds */
    char workdir[PATH_MAX];
    json_t *labels;
    int leave_on_stop;            /* SIGTERM leaves tasks running */
    double stop_grace;            /* SIGTERM: SIGKILL after this long */
    size_t buffer_max;            /* frames kept while disconnected */
    const char *executors;        /* "auto", or a list like "process,docker" */
    const char *docker;           /* the docker command */
    const char *nvml, *smi;       /* GPU sources; NULL = defaults */
};

struct agent_task {
    struct list_node link;
    struct dict_node by_id;
    char id[TASK_ID_MAX];
    json_t *record;               /* the task as assigned */
    int attempt;                  /* the assignment ("attempts" as assigned) */
    struct log_limit limit;       /* its output, against the master's limits */
    int held;                     /* its pipes wait: the link is congested */
    pid_t pid;
    int docker;
    int out_fd, err_fd;
    ev_io out_io, err_io;
    char carry[2][4];             /* an incomplete UTF-8 sequence per stream */
    size_t ncarry[2];
    ev_child child;
    ev_timer timeout, kill_timer, stop_cmd;
    int exited, wait_status;
    int cancel_requested, timed_out;
    double kill_grace;
    int finished;                 /* result decided, waiting for result_ack */
    int shutdown;                 /* stopped because the agent stops */
    enum task_status result;
    int has_exit, exit_code;
    char reason[160];
    double started;
    struct proc_meter meter;
};

struct agent {
    struct ev_loop *loop;
    struct agent_settings set;
    struct sys_capacity cap;
    uint8_t executors;
    struct cpu_meter cpu;
    struct gpu_source *gpu;
    struct gpu_info gpus[HB_MAX_GPUS];
    int ngpus;
    /* link */
    int joined;
    struct buf pending;           /* frames to send once joined again */
    uint64_t dropped;             /* frames dropped while disconnected */
    ev_timer hb;
    double hb_interval;
    size_t log_rate, log_max;     /* the master's output limits (welcome) */
    uint64_t seq;
    unsigned long connects;
    /* tasks */
    struct list_node tasks;
    struct dict task_ids;         /* agent_task.by_id */
    int ntasks;
    int stopping;
    ev_timer stop_timer;
};

extern struct agent A;

/* link.c */
void link_start(void);
void link_stop(json_t *bye);
void link_send(json_t *frame, int keep_offline);
int link_joined(void);
int link_congested(void);

/* runner.c */
void runner_init(void);
void runner_assign(json_t *task);
void runner_cancel(const char *id, double grace, const char *reason);
void runner_result_acked(const char *id);
void runner_resend_results(void);
json_t *runner_hello_tasks(void);
json_t *runner_usage(void);
int runner_active(void);
int runner_stop_all(double grace);
json_t *runner_task_ids(void);
void runner_free(void);
void runner_resume_output(void);
int runner_docker_available(const char *docker);

/* launch.c */
int runner_launch(struct agent_task *t, char *why, size_t whylen);

#endif
