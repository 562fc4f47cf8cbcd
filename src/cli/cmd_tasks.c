/* Task verbs: submit (and --wait, --follow), tasks, task, cancel. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "core/parse.h"
#include "core/timefmt.h"
#include "out.h"
#include "outcome.h"
#include "units.h"
#include "verbs.h"

static void set_number(json_t *body, const char *field, const char *v)
{
    char why[64];
    double d;
    if (v && parse_double(v, &d, why, sizeof(why)) == 0)
        json_object_set_new(body, field, d == floor(d) && fabs(d) < 1e15
                                             ? json_integer((json_int_t)d) : json_real(d));
}

static void set_mib(json_t *body, const char *field, const char *v)
{
    char why[64];
    int64_t mib;
    if (v && cli_parse_mib(v, &mib, why, sizeof(why)) == 0)
        json_object_set_new(body, field, json_integer(mib));
}

/* --env K=V and --label k=v, each repeatable, into objects. */
static void set_pairs(json_t *body, const char *field, const struct cli_cmd *cmd,
                      const char *opt)
{
    json_t *o = NULL;
    for (int i = 0; i < cmd->nset; i++) {
        if (strcmp(cmd->set[i].opt->name, opt) != 0)
            continue;
        const char *kv = cmd->set[i].value, *eq = strchr(kv, '=');
        char key[256];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
        if (!o)
            o = json_object();
        json_object_set_new(o, key, json_string(eq + 1));
    }
    if (o)
        json_object_set_new(body, field, o);
}

static void set_string(json_t *body, const char *field, const char *v)
{
    if (v)
        json_object_set_new(body, field, json_string(v));
}

/* The POST /api/tasks body from submit's options and command. */
static json_t *submit_body(const struct cli_cmd *cmd)
{
    json_t *body = json_object();
    if (cmd->nrest > 0) {
        json_t *argv = json_array();
        for (int i = 0; i < cmd->nrest; i++)
            json_array_append_new(argv, json_string(cmd->rest[i]));
        json_object_set_new(body, "command", argv);
    }
    set_string(body, "docker_image", cli_opt_value(cmd, "image"));
    set_number(body, "cpu_required", cli_opt_value(cmd, "cpu"));
    set_mib(body, "memory_required", cli_opt_value(cmd, "mem"));
    set_number(body, "gpu_required", cli_opt_value(cmd, "gpu"));
    set_string(body, "gpu_model", cli_opt_value(cmd, "gpu-model"));
    set_mib(body, "storage_required", cli_opt_value(cmd, "storage"));
    set_number(body, "priority", cli_opt_value(cmd, "priority"));
    set_pairs(body, "env", cmd, "env");
    set_pairs(body, "labels", cmd, "label");
    set_string(body, "pinned_worker", cli_opt_value(cmd, "worker"));
    set_number(body, "max_attempts", cli_opt_value(cmd, "max-attempts"));
    set_string(body, "user_id", cli_opt_value(cmd, "user"));
    set_string(body, "tag", cli_opt_value(cmd, "tag"));
    const char *timeout = cli_opt_value(cmd, "timeout");
    double secs;
    char why[64];
    if (timeout && parse_duration(timeout, &secs, why, sizeof(why)) == 0)
        json_object_set_new(body, "timeout", json_real(secs));
    return body;
}

/* Waits for the task's end (streaming its output with --follow) and
 * returns its exit status for --wait. */
static int wait_for(struct cli_ctx *c, const char *id, int follow)
{
    struct cli_task_end end;
    int rc = cli_follow_task(c, id, follow ? CLI_FOLLOW_PRINT : CLI_FOLLOW_QUIET, NULL, &end);
    if (rc)
        return rc;
    if (c->json) {
        json_t *t;
        char esc[128];
        if ((rc = cli_api_get(c, &t, "/api/tasks/%s", cli_esc(c, id, esc, sizeof(esc)))))
            return rc;
        cli_print_json(c, t);
        json_decref(t);
    } else {
        cli_print_end(c, id, &end);
    }
    return cli_exit_for_task(end.status, end.has_exit_code, end.exit_code);
}

/* submit [options] [-- CMD ARG...] */
int cli_cmd_submit(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    if (cmd->nrest == 0 && !cli_opt_value(cmd, "image")) {
        fprintf(stderr, "gantryctl: submit needs a command after -- or an --image\n");
        cli_usage(stderr, cmd->verb);
        return CLI_USAGE;
    }
    json_t *body = submit_body(cmd), *out;
    int rc = cli_api(c, "POST", "/api/tasks", body, &out);
    json_decref(body);
    if (rc)
        return rc;
    const char *id = cli_str(out, "task_id");
    char tid[64];
    snprintf(tid, sizeof(tid), "%s", id ? id : "");
    int follow = cli_opt_flag(cmd, "follow");
    int wait = follow || cli_opt_flag(cmd, "wait");
    if (c->json && !wait)
        cli_print_json(c, out);
    else if (!c->json && c->tty)
        fprintf(wait ? stderr : stdout, "submitted %s\n", tid);
    else if (!c->json)
        printf("%s\n", tid);
    fflush(stdout);
    json_decref(out);
    return wait ? wait_for(c, tid, follow) : CLI_OK;
}

/* The last column of the tasks table: the exit code, or why it waits. */
static void outcome_text(const json_t *t, char *out, size_t outlen)
{
    const json_t *ec = json_object_get(t, "exit_code");
    const char *reason = cli_str(t, "reason");
    if (json_is_integer(ec))
        snprintf(out, outlen, "exit %lld%s%s", (long long)json_integer_value(ec),
                 reason ? ": " : "", reason ? reason : "");
    else
        snprintf(out, outlen, "%s", reason ? reason : "");
}

static void tasks_table(const struct cli_ctx *c, const json_t *tasks, struct cli_table *t)
{
    static const char *const heads[] = {"TASK", "STATUS", "WORKER", "RUNS", "CPU", "MEMORY",
                                        "GPU", "CREATED", "INFO"};
    cli_table_init(t, 9, heads);
    double now = time_wall();
    size_t i;
    json_t *k;
    json_array_foreach(tasks, i, k) {
        char runs[64], cpu[32], mem[32], gpu[32], created[48], info[200];
        cli_task_runs(k, runs, sizeof(runs));
        if (strlen(runs) >= 40 && c->tty)
            memcpy(runs + 36, "...", 4);
        cli_fmt_number(cpu, sizeof(cpu), cli_num(k, "cpu_required"));
        cli_fmt_mib(mem, sizeof(mem), cli_num(k, "memory_required"));
        cli_fmt_number(gpu, sizeof(gpu), cli_num(k, "gpu_required"));
        cli_fmt_time(c, created, sizeof(created), json_object_get(k, "created_at"), now);
        outcome_text(k, info, sizeof(info));
        const char *worker = cli_str(k, "worker_id");
        const char *cells[] = {cli_str(k, "task_id"), cli_str(k, "status"), worker ? worker : "-",
                               runs, cpu, mem, gpu, created, info};
        cli_table_row(t, cells);
        cli_table_color(t, 1, cli_state_color(cli_str(k, "status")));
    }
}

/* tasks [--status S] [--worker ID] [--limit N] */
int cli_cmd_tasks(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    char path[512], esc[256];
    const char *st = cli_opt_value(cmd, "status"), *w = cli_opt_value(cmd, "worker");
    const char *limit = cli_opt_value(cmd, "limit");
    int n = snprintf(path, sizeof(path), "/api/tasks?limit=%s", limit ? limit : "50");
    if (st)
        n += snprintf(path + n, sizeof(path) - (size_t)n, "&status=%s",
                      cli_esc(c, st, esc, sizeof(esc)));
    if (w)
        snprintf(path + n, sizeof(path) - (size_t)n, "&worker_id=%s",
                 cli_esc(c, w, esc, sizeof(esc)));
    json_t *j;
    int rc = cli_api(c, "GET", path, NULL, &j);
    if (rc)
        return rc;
    if (c->json) {
        cli_print_json(c, j);
    } else {
        struct cli_table t;
        tasks_table(c, json_object_get(j, "tasks"), &t);
        cli_print_table(c, &t);
        cli_table_free(&t);
    }
    json_decref(j);
    return CLI_OK;
}

static void time_line(const struct cli_ctx *c, struct cli_table *t, const json_t *k,
                      const char *key, const char *label, double now)
{
    const json_t *v = json_object_get(k, key);
    double at;
    char ago[48], line[96];
    if (cli_json_time(v, &at) < 0)
        return;
    cli_fmt_ago(ago, sizeof(ago), at, now);
    snprintf(line, sizeof(line), "%s (%s)", json_string_value(v) ? json_string_value(v) : "",
             ago);
    cli_kv(t, label, c->tty ? line : json_string_value(v), NULL);
}

static void task_block(const struct cli_ctx *c, const json_t *k)
{
    struct cli_table t;
    char v[512], a[64], b[64];
    double now = time_wall();
    cli_table_init(&t, 2, NULL);
    cli_kv(&t, "task", cli_str(k, "task_id"), "1");
    cli_kv(&t, "status", cli_str(k, "status"), cli_state_color(cli_str(k, "status")));
    cli_task_runs(k, v, sizeof(v));
    cli_kv(&t, "runs", v, NULL);
    cli_kv(&t, "worker", cli_str(k, "worker_id"), NULL);
    cli_kv(&t, "pinned to", cli_str(k, "pinned_worker"), NULL);
    cli_fmt_mib(a, sizeof(a), cli_num(k, "memory_required"));
    cli_fmt_mib(b, sizeof(b), cli_num(k, "storage_required"));
    snprintf(v, sizeof(v), "%g cpu, %s memory, %g gpu%s%s, %s storage",
             cli_num(k, "cpu_required"), a, cli_num(k, "gpu_required"),
             cli_str(k, "gpu_model") ? " of model " : "",
             cli_str(k, "gpu_model") ? cli_str(k, "gpu_model") : "", b);
    cli_kv(&t, "resources", v, NULL);
    snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(json_object_get(k, "priority")));
    cli_kv(&t, "priority", v, NULL);
    snprintf(v, sizeof(v), "%lld of %lld",
             (long long)json_integer_value(json_object_get(k, "attempts")),
             (long long)json_integer_value(json_object_get(k, "max_attempts")));
    cli_kv(&t, "attempts", v, NULL);
    cli_pairs_text(json_object_get(k, "labels"), " ", v, sizeof(v));
    cli_kv(&t, "labels", v, NULL);
    cli_pairs_text(json_object_get(k, "env"), " ", v, sizeof(v));
    cli_kv(&t, "env", v, NULL);
    time_line(c, &t, k, "created_at", "created", now);
    time_line(c, &t, k, "started_at", "started", now);
    time_line(c, &t, k, "finished_at", "finished", now);
    const json_t *ec = json_object_get(k, "exit_code");
    snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(ec));
    cli_kv(&t, "exit code", json_is_integer(ec) ? v : NULL, NULL);
    cli_kv(&t, "reason", cli_str(k, "reason"), NULL);
    cli_print_table(c, &t);
    cli_table_free(&t);
}

/* task ID */
int cli_cmd_task(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    char esc[256], path[320];
    snprintf(path, sizeof(path), "/api/tasks/%s", cli_esc(c, cmd->args[0], esc, sizeof(esc)));
    return cli_api_show(c, path, task_block);
}

/* cancel ID [--grace DUR] */
int cli_cmd_cancel(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    char esc[256], g[64], path[400], line[256];
    const char *grace = cli_opt_value(cmd, "grace");
    snprintf(path, sizeof(path), "/api/tasks/%s%s%s", cli_esc(c, cmd->args[0], esc, sizeof(esc)),
             grace ? "?grace=" : "", grace ? cli_esc(c, grace, g, sizeof(g)) : "");
    json_t *out;
    int rc = cli_api(c, "DELETE", path, NULL, &out);
    if (rc)
        return rc;
    if (c->json) {
        cli_print_json(c, out);
    } else {
        if (json_is_true(json_object_get(out, "cancel_requested")))
            snprintf(line, sizeof(line), "cancelling %s: its worker stops it (SIGTERM, then "
                     "SIGKILL%s%s)", cmd->args[0], grace ? " after " : "", grace ? grace : "");
        else
            snprintf(line, sizeof(line), "%s %s", cmd->args[0],
                     cli_str(out, "status") ? cli_str(out, "status") : "cancelled");
        printf("%s\n", line);
    }
    json_decref(out);
    return CLI_OK;
}
