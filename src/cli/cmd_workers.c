/* Cluster and worker verbs: status, workers, worker, register, drain,
 * unregister. */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "core/timefmt.h"
#include "out.h"
#include "outcome.h"
#include "units.h"
#include "verbs.h"

static const json_t *res(const json_t *w, const char *which)
{
    return json_object_get(w, which);
}

static void gpus_cell(char *out, size_t outlen, double used, double total)
{
    if (total <= 0)
        snprintf(out, outlen, "-");
    else
        snprintf(out, outlen, "%g/%g", used, total);
}

/* Fills t with one line per worker of a GET /api/workers answer (only
 * those in state when given): allocated of total CPU, memory and GPUs,
 * usage, tasks and the last heartbeat. */
void cli_workers_table(const struct cli_ctx *c, const json_t *reply, const char *state,
                       struct cli_table *t)
{
    static const char *const heads[] = {"WORKER", "STATE", "CPU", "MEMORY", "GPUS", "CPU%",
                                        "MEM%", "GPU%", "TASKS", "HEARTBEAT"};
    cli_table_init(t, 10, heads);
    for (int i = 5; i <= 8; i++)
        cli_table_right(t, i);
    double now = time_wall();
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(reply, "workers"), i, w) {
        const char *st = cli_str(w, "state");
        if (state && (!st || strcmp(st, state) != 0))
            continue;
        const json_t *tot = res(w, "total_resources"), *alloc = res(w, "allocated_resources");
        char cpu[48], mem[48], gpu[32], cpup[16], memp[16], gpup[16], tasks[16], hb[48];
        cli_fmt_cores(cpu, sizeof(cpu), cli_num(alloc, "cpu"), cli_num(tot, "cpu"));
        cli_fmt_mib_pair(mem, sizeof(mem), cli_num(alloc, "memory"), cli_num(tot, "memory"));
        gpus_cell(gpu, sizeof(gpu), cli_num(alloc, "gpu"), cli_num(tot, "gpu"));
        cli_fmt_percent(cpup, sizeof(cpup), cli_num(w, "cpu_usage"));
        cli_fmt_percent(memp, sizeof(memp), cli_num(w, "memory_usage"));
        if (cli_num(tot, "gpu") > 0)
            cli_fmt_percent(gpup, sizeof(gpup), cli_num(w, "gpu_usage"));
        else
            snprintf(gpup, sizeof(gpup), "-");
        snprintf(tasks, sizeof(tasks), "%lld",
                 (long long)json_integer_value(json_object_get(w, "running_tasks_count")));
        cli_fmt_time(c, hb, sizeof(hb), json_object_get(w, "last_heartbeat"), now);
        const char *cells[] = {cli_str(w, "worker_id"), st, cpu, mem, gpu, cpup, memp, gpup,
                               tasks, hb};
        cli_table_row(t, cells);
        cli_table_color(t, 1, cli_state_color(st));
    }
}

/* workers [--state S] [--watch] */
int cli_cmd_workers(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    const char *state = cli_opt_value(cmd, "state");
    static const char *const states[] = {"active", "inactive", "offline", "draining"};
    int known = !state;
    for (size_t i = 0; state && i < sizeof(states) / sizeof(states[0]); i++)
        known |= strcmp(state, states[i]) == 0;
    if (!known) {
        fprintf(stderr, "gantryctl: --state: '%s' is not active, inactive, offline or draining\n",
                state);
        return CLI_USAGE;
    }
    if (cli_opt_flag(cmd, "watch"))
        return cli_watch_workers(c, state);
    json_t *j;
    int rc = cli_api_get(c, &j, "/api/workers");
    if (rc)
        return rc;
    if (c->json) {
        cli_print_json(c, j);
    } else {
        struct cli_table t;
        cli_workers_table(c, j, state, &t);
        cli_print_table(c, &t);
        cli_table_free(&t);
    }
    json_decref(j);
    return CLI_OK;
}

struct totals {
    double cpu, cpu_used, mem, mem_used, gpu, gpu_used;
    int by_state[4];
};

static void add_up(const json_t *workers, struct totals *s)
{
    static const char *const states[] = {"active", "inactive", "offline", "draining"};
    size_t i;
    json_t *w;
    memset(s, 0, sizeof(*s));
    json_array_foreach(json_object_get(workers, "workers"), i, w) {
        const char *st = cli_str(w, "state");
        for (int k = 0; st && k < 4; k++)
            s->by_state[k] += strcmp(st, states[k]) == 0;
        if (st && strcmp(st, "offline") == 0)
            continue;
        s->cpu += cli_num(res(w, "total_resources"), "cpu");
        s->cpu_used += cli_num(res(w, "allocated_resources"), "cpu");
        s->mem += cli_num(res(w, "total_resources"), "memory");
        s->mem_used += cli_num(res(w, "allocated_resources"), "memory");
        s->gpu += cli_num(res(w, "total_resources"), "gpu");
        s->gpu_used += cli_num(res(w, "allocated_resources"), "gpu");
    }
}

static void status_block(const struct cli_ctx *c, const json_t *h, const struct totals *s,
                         size_t nworkers)
{
    struct cli_table t;
    char v[160], a[48], b[48];
    cli_table_init(&t, 2, NULL);
    snprintf(v, sizeof(v), "%s", cli_str(h, "status") ? cli_str(h, "status") : "?");
    cli_kv(&t, "server", c->servers, NULL);
    cli_kv(&t, "status", v, cli_state_color(v));
    cli_fmt_duration(a, sizeof(a), cli_num(h, "uptime_s"));
    cli_kv(&t, "uptime", a, NULL);
    cli_kv(&t, "redis", cli_str(h, "redis"), cli_state_color(cli_str(h, "redis")));
    snprintf(v, sizeof(v), "%zu: %d active, %d inactive, %d offline, %d draining", nworkers,
             s->by_state[0], s->by_state[1], s->by_state[2], s->by_state[3]);
    cli_kv(&t, "workers", v, NULL);
    snprintf(v, sizeof(v), "%lld queued, %lld running",
             (long long)json_integer_value(json_object_get(h, "queued_tasks")),
             (long long)json_integer_value(json_object_get(h, "running_tasks")));
    cli_kv(&t, "tasks", v, NULL);
    cli_fmt_cores(a, sizeof(a), s->cpu_used, s->cpu);
    cli_kv(&t, "cpu", a, NULL);
    cli_fmt_mib_pair(a, sizeof(a), s->mem_used, s->mem);
    cli_kv(&t, "memory", a, NULL);
    snprintf(b, sizeof(b), "%g/%g", s->gpu_used, s->gpu);
    cli_kv(&t, "gpus", b, NULL);
    cli_print_table(c, &t);
    cli_table_free(&t);
}

/* status: /health, and the workers added up. */
int cli_cmd_status(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    (void)cmd;
    json_t *h, *w;
    int rc = cli_api_get(c, &h, "/health");
    if (rc)
        return rc;
    if (c->json) {
        cli_print_json(c, h);
        json_decref(h);
        return CLI_OK;
    }
    if ((rc = cli_api_get(c, &w, "/api/workers"))) {
        json_decref(h);
        return rc;
    }
    struct totals s;
    add_up(w, &s);
    status_block(c, h, &s, json_array_size(json_object_get(w, "workers")));
    json_decref(h);
    json_decref(w);
    return CLI_OK;
}

static void resource_line(struct cli_table *t, const json_t *w, const char *key,
                          const char *usage_key)
{
    char a[64], line[128], pct[16];
    double used = cli_num(res(w, "allocated_resources"), key);
    double total = cli_num(res(w, "total_resources"), key);
    if (strcmp(key, "cpu") == 0)
        cli_fmt_cores(a, sizeof(a), used, total);
    else if (strcmp(key, "gpu") == 0)
        gpus_cell(a, sizeof(a), used, total);
    else
        cli_fmt_mib_pair(a, sizeof(a), used, total);
    cli_fmt_percent(pct, sizeof(pct), cli_num(w, usage_key));
    if (total > 0)
        snprintf(line, sizeof(line), "%s allocated, %s in use", a, pct);
    else
        snprintf(line, sizeof(line), "none");
    cli_kv(t, strcmp(key, "gpu") == 0 ? "gpus" : key, line, NULL);
}

static void worker_block(const struct cli_ctx *c, const json_t *w)
{
    struct cli_table t;
    char v[512];
    double now = time_wall();
    cli_table_init(&t, 2, NULL);
    cli_kv(&t, "worker", cli_str(w, "worker_id"), "1");
    cli_kv(&t, "state", cli_str(w, "state"), cli_state_color(cli_str(w, "state")));
    cli_kv(&t, "address", cli_str(w, "address"), NULL);
    cli_kv(&t, "hostname", cli_str(w, "hostname"), NULL);
    cli_pairs_text(json_object_get(w, "labels"), ",", v, sizeof(v));
    cli_kv(&t, "labels", v, NULL);
    resource_line(&t, w, "cpu", "cpu_usage");
    resource_line(&t, w, "memory", "memory_usage");
    resource_line(&t, w, "storage", "storage_usage");
    resource_line(&t, w, "gpu", "gpu_usage");
    cli_fmt_time(c, v, sizeof(v), json_object_get(w, "last_heartbeat"), now);
    cli_kv(&t, "heartbeat", v, NULL);
    cli_fmt_time(c, v, sizeof(v), json_object_get(w, "registered_at"), now);
    cli_kv(&t, "registered", v, NULL);
    snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(json_object_get(w, "heartbeats")));
    cli_kv(&t, "heartbeats", v, NULL);
    cli_print_table(c, &t);
    cli_table_free(&t);
}

static void gpus_table(const struct cli_ctx *c, const json_t *gpus)
{
    static const char *const heads[] = {"GPU", "MODEL", "UTIL", "MEMORY", "TEMP", "POWER", "UUID"};
    struct cli_table t;
    cli_table_init(&t, 7, heads);
    cli_table_right(&t, 2);
    size_t i;
    json_t *g;
    json_array_foreach(gpus, i, g) {
        char idx[16], util[16], mem[48], temp[16], power[16];
        snprintf(idx, sizeof(idx), "%lld", (long long)json_integer_value(json_object_get(g, "index")));
        cli_fmt_percent(util, sizeof(util), json_object_get(g, "utilization")
                        ? cli_num(g, "utilization") : -1);
        cli_fmt_mib_pair(mem, sizeof(mem), cli_num(g, "memory_used_mib"), cli_num(g, "memory_mib"));
        snprintf(temp, sizeof(temp), json_object_get(g, "temperature_c") ? "%.0fC" : "-",
                 cli_num(g, "temperature_c"));
        snprintf(power, sizeof(power), json_object_get(g, "power_w") ? "%.0fW" : "-",
                 cli_num(g, "power_w"));
        const char *cells[] = {idx, cli_str(g, "model"), util, mem, temp, power, cli_str(g, "uuid")};
        cli_table_row(&t, cells);
    }
    cli_print_section(c, &t);
    cli_table_free(&t);
}

static void tasks_table(const struct cli_ctx *c, const json_t *tasks)
{
    static const char *const heads[] = {"TASK", "STATUS", "CPU", "MEMORY", "GPU", "CPU%", "RSS"};
    struct cli_table t;
    cli_table_init(&t, 7, heads);
    cli_table_right(&t, 5);
    size_t i;
    json_t *k;
    json_array_foreach(tasks, i, k) {
        char cpu[32], mem[32], gpu[32], use[16], rss[32];
        cli_fmt_number(cpu, sizeof(cpu), cli_num(k, "cpu_allocated"));
        cli_fmt_mib(mem, sizeof(mem), cli_num(k, "memory_allocated"));
        cli_fmt_number(gpu, sizeof(gpu), cli_num(k, "gpu_allocated"));
        cli_fmt_percent(use, sizeof(use), cli_num(k, "cpu_usage"));
        cli_fmt_mib(rss, sizeof(rss), cli_num(k, "memory_usage_mib"));
        const char *cells[] = {cli_str(k, "task_id"), cli_str(k, "status"), cpu, mem, gpu, use, rss};
        cli_table_row(&t, cells);
        cli_table_color(&t, 1, cli_state_color(cli_str(k, "status")));
    }
    cli_print_section(c, &t);
    cli_table_free(&t);
}

static void show_worker(const struct cli_ctx *c, const json_t *w)
{
    worker_block(c, w);
    gpus_table(c, json_object_get(w, "gpus"));
    tasks_table(c, json_object_get(w, "running_tasks"));
}

/* worker ID */
int cli_cmd_worker(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    char id[256], path[320];
    snprintf(path, sizeof(path), "/api/workers/%s", cli_esc(c, cmd->args[0], id, sizeof(id)));
    return cli_api_show(c, path, show_worker);
}

static json_t *labels_json(const char *list)
{
    json_t *o = json_object();
    char copy[1024];
    snprintf(copy, sizeof(copy), "%s", list);
    char *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        json_object_set_new(o, kv, json_string(eq + 1));
    }
    return o;
}

/* Prints what a changing verb did: its answer with --json, else line. */
static int done(const struct cli_ctx *c, json_t *reply, const char *line)
{
    if (c->json && reply)
        cli_print_json(c, reply);
    else if (!c->json)
        printf("%s\n", line);
    json_decref(reply);
    return CLI_OK;
}

/* register ID [--labels k=v,..] */
int cli_cmd_register(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    const char *labels = cli_opt_value(cmd, "labels");
    json_t *body = json_pack("{s:s}", "worker_id", cmd->args[0]), *out;
    if (labels)
        json_object_set_new(body, "labels", labels_json(labels));
    int rc = cli_api(c, "POST", "/api/workers", body, &out);
    json_decref(body);
    if (rc)
        return rc;
    char line[160];
    snprintf(line, sizeof(line), "registered %s", cmd->args[0]);
    return done(c, out, line);
}

/* drain ID [--undo] */
int cli_cmd_drain(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    char id[256], path[320], line[256];
    int undo = cli_opt_flag(cmd, "undo");
    json_t *body = json_pack("{s:b}", "drain", !undo), *out;
    snprintf(path, sizeof(path), "/api/workers/%s/drain", cli_esc(c, cmd->args[0], id, sizeof(id)));
    int rc = cli_api(c, "POST", path, body, &out);
    json_decref(body);
    if (rc)
        return rc;
    long running = (long)json_integer_value(json_object_get(out, "running_tasks_count"));
    if (undo)
        snprintf(line, sizeof(line), "%s takes new tasks again", cmd->args[0]);
    else
        snprintf(line, sizeof(line), "%s is draining: %ld task%s still running", cmd->args[0],
                 running, running == 1 ? "" : "s");
    return done(c, out, line);
}

/* unregister ID */
int cli_cmd_unregister(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    char id[256], path[320], line[160];
    json_t *out;
    snprintf(path, sizeof(path), "/api/workers/%s", cli_esc(c, cmd->args[0], id, sizeof(id)));
    int rc = cli_api(c, "DELETE", path, NULL, &out);
    if (rc)
        return rc;
    snprintf(line, sizeof(line), "unregistered %s", cmd->args[0]);
    return done(c, out, line);
}
