/* The verbs of gantryctl (SPEC section 1): their options, usage lines, help
 * texts and what Tab completes for their arguments. Data only; args.c
 * parses against it, help.c prints it, the shell completes from it. */
#include <string.h>

#include "args.h"

const char cli_usage_line[] =
    "usage: gantryctl [--server URL] [--token TOKEN] [--json] [--no-color] [--cacert FILE] "
    "VERB [ARGS]";

const struct cli_opt cli_global_opts[] = {
    {"server", 0, CLI_STR, "URL",
     "gantryd's HTTP address (env GANTRY_SERVER; default http://127.0.0.1:8080); "
     "URL,URL tries each in turn and follows a standby's redirect", CLI_C_NONE},
    {"token", 0, CLI_STR, "TOKEN", "API token (env GANTRY_TOKEN)", CLI_C_NONE},
    {"json", 0, CLI_FLAG, NULL, "print the API's JSON and nothing else", CLI_C_NONE},
    {"no-color", 0, CLI_FLAG, NULL, "no colour (also when NO_COLOR is set)", CLI_C_NONE},
    {"cacert", 0, CLI_STR, "FILE", "CA certificate(s) to verify an https server", CLI_C_NONE},
    {"help", 'h', CLI_FLAG, NULL, "this help, or the verb's", CLI_C_NONE},
    {"version", 0, CLI_FLAG, NULL, "print the version", CLI_C_NONE},
    {NULL, 0, CLI_FLAG, NULL, NULL, CLI_C_NONE},
};

static const struct cli_opt no_opts[] = {{NULL, 0, CLI_FLAG, NULL, NULL, CLI_C_NONE}};

static const struct cli_opt workers_opts[] = {
    {"state", 0, CLI_STR, "S", "only workers in state S: active, inactive, offline, draining",
     CLI_C_WORKER_STATE},
    {"watch", 'w', CLI_FLAG, NULL, "keep the table on screen, updated live; q quits", CLI_C_NONE},
    {NULL, 0, CLI_FLAG, NULL, NULL, CLI_C_NONE},
};

static const struct cli_opt register_opts[] = {
    {"labels", 'l', CLI_KVLIST, "k=v,..", "labels the worker has until its agent sends its own",
     CLI_C_NONE},
    {NULL, 0, CLI_FLAG, NULL, NULL, CLI_C_NONE},
};

static const struct cli_opt drain_opts[] = {
    {"undo", 0, CLI_FLAG, NULL, "stop draining: the worker takes new tasks again", CLI_C_NONE},
    {NULL, 0, CLI_FLAG, NULL, NULL, CLI_C_NONE},
};

static const struct cli_opt submit_opts[] = {
    {"image", 'i', CLI_STR, "IMG", "Docker image to run (needs a worker with docker)", CLI_C_NONE},
    {"cpu", 'c', CLI_NUM, "N", "CPU cores (default 1)", CLI_C_NONE},
    {"mem", 'm', CLI_SIZE, "SIZE", "memory: 512MiB, 2GiB; a bare number is MiB (default 256MiB)",
     CLI_C_NONE},
    {"gpu", 'g', CLI_NUM, "N", "GPUs: a whole number, or a share of one below 1 (0.5)",
     CLI_C_NONE},
    {"gpu-model", 0, CLI_STR, "M", "acceptable GPU models: H100 or H100|A100", CLI_C_NONE},
    {"storage", 0, CLI_SIZE, "SIZE", "storage, like --mem", CLI_C_NONE},
    {"priority", 'p', CLI_INT, "N", "0..10, higher first (default 5)", CLI_C_NONE},
    {"env", 'e', CLI_KV, "K=V", "environment variable for the task (repeatable)", CLI_C_NONE},
    {"label", 'l', CLI_KV, "k=v", "worker label the task requires (repeatable)", CLI_C_NONE},
    {"worker", 'w', CLI_STR, "ID", "run on this worker only", CLI_C_WORKER},
    {"timeout", 't', CLI_DUR, "DUR", "stop the task after this long: 90s, 2h", CLI_C_NONE},
    {"max-attempts", 0, CLI_INT, "N", "attempts when workers are lost (default 3)", CLI_C_NONE},
    {"user", 0, CLI_STR, "U", "user id recorded with the task", CLI_C_NONE},
    {"tag", 0, CLI_STR, "T", "tag recorded with the task", CLI_C_NONE},
    {"wait", 0, CLI_FLAG, NULL,
     "wait for the end and exit with the task's exit code (failed without one: 1; "
     "cancelled: 130)", CLI_C_NONE},
    {"follow", 'f', CLI_FLAG, NULL, "stream the task's output while waiting (implies --wait)",
     CLI_C_NONE},
    {NULL, 0, CLI_FLAG, NULL, NULL, CLI_C_NONE},
};

static const struct cli_opt tasks_opts[] = {
    {"status", 's', CLI_STR, "S",
     "only tasks in status S: queued, assigned, running, completed, failed, cancelled",
     CLI_C_TASK_STATUS},
    {"worker", 'w', CLI_STR, "ID", "only tasks placed on this worker", CLI_C_WORKER},
    {"limit", 'n', CLI_INT, "N", "at most N tasks, newest first (default 50)", CLI_C_NONE},
    {NULL, 0, CLI_FLAG, NULL, NULL, CLI_C_NONE},
};

static const struct cli_opt logs_opts[] = {
    {"follow", 'f', CLI_FLAG, NULL, "keep streaming new lines until the task ends", CLI_C_NONE},
    {NULL, 0, CLI_FLAG, NULL, NULL, CLI_C_NONE},
};

static const struct cli_opt cancel_opts[] = {
    {"grace", 0, CLI_DUR, "DUR", "SIGTERM, then SIGKILL after DUR (default: the server's)",
     CLI_C_NONE},
    {NULL, 0, CLI_FLAG, NULL, NULL, CLI_C_NONE},
};

static const struct cli_opt events_opts[] = {
    {"follow", 'f', CLI_FLAG, NULL, "keep printing events as they happen", CLI_C_NONE},
    {"since", 0, CLI_DUR, "DUR", "events of the last DUR (default 1h)", CLI_C_NONE},
    {"limit", 'n', CLI_INT, "N", "at most the last N of them (default 50)", CLI_C_NONE},
    {NULL, 0, CLI_FLAG, NULL, NULL, CLI_C_NONE},
};

static const struct cli_opt gpus_opts[] = {
    {"host", 0, CLI_STR, "H", "only the GPUs of this host", CLI_C_HOST},
    {NULL, 0, CLI_FLAG, NULL, NULL, CLI_C_NONE},
};

static const struct cli_opt gpu_opts[] = {
    {"since", 0, CLI_DUR, "DUR", "samples of the last DUR (default 1m)", CLI_C_NONE},
    {NULL, 0, CLI_FLAG, NULL, NULL, CLI_C_NONE},
};

const struct cli_verb cli_verbs[] = {
    {"status", "", "the cluster at a glance",
     "Shows gantryd's health, Redis, the workers by state, the task queue and the "
     "cluster's capacity and what is allocated of it.",
     "gantryctl status", no_opts, 0, 0, CLI_C_NONE, 0},
    {"workers", "[--state S] [--watch]", "list the workers",
     "One line per worker: state, CPU cores, memory and GPUs allocated of its total, current "
     "usage, running tasks and when it last sent a heartbeat. --watch keeps the table on "
     "screen and redraws it as heartbeats arrive.",
     "gantryctl workers --state active", workers_opts, 0, 0, CLI_C_NONE, 0},
    {"worker", "ID", "one worker in detail, with its GPUs and tasks",
     "Shows a worker's address, state, labels and resources, each of its GPUs with the latest "
     "sample, and the tasks it runs.",
     "gantryctl worker gpu-07", no_opts, 1, 1, CLI_C_WORKER, 0},
    {"register", "ID [--labels k=v,..]", "pre-register a worker id",
     "Registers a worker id before its agent joins (needed when the server sets "
     "agents.require_registration), with labels that apply until the agent sends its own.",
     "gantryctl register gpu-07 --labels rack=7,zone=b", register_opts, 1, 1, CLI_C_NONE, 0},
    {"drain", "ID [--undo]", "let a worker finish its tasks and take no new ones",
     "The worker keeps running what it has and gets nothing new; --undo ends that.",
     "gantryctl drain gpu-07", drain_opts, 1, 1, CLI_C_WORKER, 0},
    {"unregister", "ID", "forget a worker",
     "Removes the worker: its tasks go back to the queue and a connected agent is sent away.",
     "gantryctl unregister gpu-07", no_opts, 1, 1, CLI_C_WORKER, 0},
    {"submit", "[options] [-- CMD ARG...]", "submit a task",
     "Queues a task that runs CMD with its arguments (no shell: use -- sh -c '...' for one), "
     "or a Docker image, and prints its id. With --wait it waits for the end and exits with "
     "the task's exit code; --follow also streams its output.",
     "gantryctl submit --cpu 2 --mem 4GiB --gpu 1 --wait -- python3 train.py", submit_opts,
     0, 0, CLI_C_NONE, 1},
    {"tasks", "[--status S] [--worker ID] [--limit N]", "list tasks, newest first",
     "One line per task: status, worker, what it runs, resources, age, and its exit code or "
     "why it waits.",
     "gantryctl tasks --status queued", tasks_opts, 0, 0, CLI_C_NONE, 0},
    {"task", "ID", "one task in detail",
     "Shows everything about a task: what it runs and asked for, where it runs, its attempts, "
     "times, exit code, and why it waits while queued.",
     "gantryctl task t-19a4c2e9e3800000", no_opts, 1, 1, CLI_C_TASK, 0},
    {"logs", "ID [-f]", "print a task's output",
     "Prints what the task wrote, stdout to stdout and stderr to stderr. With -f it keeps "
     "streaming new lines live and returns when the task ends, printing how it ended.",
     "gantryctl logs -f t-19a4c2e9e3800000", logs_opts, 1, 1, CLI_C_TASK, 0},
    {"monitor", "ID", "watch a task: a live header, then its output until it ends",
     "A header with the task's status, worker, attempt and usage stays at the top of the "
     "terminal and is kept current while the task's output scrolls below it; returns when "
     "the task ends.",
     "gantryctl monitor t-19a4c2e9e3800000", no_opts, 1, 1, CLI_C_TASK, 0},
    {"cancel", "ID [--grace DUR]", "cancel a task",
     "A queued task is cancelled at once; a running one gets SIGTERM, then SIGKILL after the "
     "grace.",
     "gantryctl cancel t-19a4c2e9e3800000 --grace 30s", cancel_opts, 1, 1, CLI_C_TASK, 0},
    {"events", "[-f] [--since DUR] [--limit N]", "cluster events",
     "Workers joining, going inactive or offline, draining; tasks queued, running and "
     "ending. -f keeps printing them as they happen.",
     "gantryctl events -f", events_opts, 0, 0, CLI_C_NONE, 0},
    {"gpus", "[--host H]", "list GPUs with their latest sample",
     "One line per GPU: host, index, model, utilisation, memory, temperature and power.",
     "gantryctl gpus --host dgx-031", gpus_opts, 0, 0, CLI_C_NONE, 0},
    {"gpu", "UUID [--since DUR]", "one GPU and its recent samples",
     "Shows a GPU and its samples of the last minute (or --since).",
     "gantryctl gpu GPU-5fd4f087-86f3-7a43-b711-4771313afc50 --since 10m", gpu_opts, 1, 1,
     CLI_C_GPU, 0},
    {"top", "", "a live full-screen view of workers and GPUs",
     "Every worker with its state, CPU, memory and GPU usage, each GPU's utilisation, "
     "temperature and power, redrawn as heartbeats arrive. q quits.",
     "gantryctl top", no_opts, 0, 0, CLI_C_NONE, 0},
    {"shell", "", "the interactive shell",
     "Reads verbs at the prompt `gantry> ` with history (~/.gantry_history) and Tab "
     "completion of verbs, flags, worker ids and task ids. Ctrl-C stops a follow, Ctrl-D or "
     "exit leaves. Also what gantryctl does with no verb on a terminal.",
     "gantryctl shell", no_opts, 0, 0, CLI_C_NONE, 0},
    {"help", "[VERB]", "this list, or one verb's manual",
     "Without a verb, the manual of gantryctl; with one, that verb's.",
     "gantryctl help submit", no_opts, 0, 1, CLI_C_VERB, 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, CLI_C_NONE, 0},
};

/* Returns the verb with this name, or NULL. */
const struct cli_verb *cli_verb_find(const char *name)
{
    for (const struct cli_verb *v = cli_verbs; v->name; v++)
        if (strcmp(v->name, name) == 0)
            return v;
    return NULL;
}

/* Returns the option of opts with this long name (name non-NULL) or short
 * name, or NULL. */
const struct cli_opt *cli_opt_find(const struct cli_opt *opts, const char *name,
                                   char short_name)
{
    for (const struct cli_opt *o = opts; o->name; o++) {
        if (name ? strcmp(o->name, name) == 0 : (short_name && o->short_name == short_name))
            return o;
    }
    return NULL;
}
