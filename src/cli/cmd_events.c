/* Cluster events (events, events -f) and GPUs (gpus, gpu). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "core/parse.h"
#include "core/timefmt.h"
#include "out.h"
#include "outcome.h"
#include "units.h"
#include "ws.h"

#define EVENT_COLS 5

/* A field that the REST route gives as a number and the stream as text. */
static void field_text(const json_t *e, const char *key, char *out, size_t outlen)
{
    const json_t *v = json_object_get(e, key);
    if (json_is_integer(v))
        snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
    else
        snprintf(out, outlen, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* The cells of one event: time, type, worker, task, details. */
static void event_cells(const struct cli_ctx *c, const json_t *e, char cells[EVENT_COLS][160])
{
    double t;
    char code[32], attempts[32];
    const json_t *tv = json_object_get(e, "time");
    snprintf(cells[0], 160, "%s", json_is_string(tv) ? json_string_value(tv) : "-");
    if (c->tty && cli_json_time(tv, &t) == 0) {
        time_t s = (time_t)t;
        struct tm tm;
        localtime_r(&s, &tm);
        strftime(cells[0], 160, "%H:%M:%S", &tm);
    }
    snprintf(cells[1], 160, "%s", cli_str(e, "type") ? cli_str(e, "type") : "?");
    snprintf(cells[2], 160, "%s", cli_str(e, "worker_id") ? cli_str(e, "worker_id") : "-");
    snprintf(cells[3], 160, "%s", cli_str(e, "task_id") ? cli_str(e, "task_id") : "-");
    field_text(e, "exit_code", code, sizeof(code));
    field_text(e, "attempts", attempts, sizeof(attempts));
    const char *reason = cli_str(e, "reason");
    size_t n = 0;
    cells[4][0] = '\0';
    if (code[0])
        n += (size_t)snprintf(cells[4] + n, 160 - n, "exit %s", code);
    if (reason && *reason && n < 160)
        n += (size_t)snprintf(cells[4] + n, 160 - n, "%s%s", n ? " " : "", reason);
    if (attempts[0] && strcmp(attempts, "0") != 0 && n < 160)
        snprintf(cells[4] + n, 160 - n, "%sattempt %s", n ? " " : "", attempts);
}

static void add_event(const struct cli_ctx *c, struct cli_table *t, const json_t *e)
{
    char cells[EVENT_COLS][160];
    event_cells(c, e, cells);
    const char *row[EVENT_COLS] = {cells[0], cells[1], cells[2], cells[3], cells[4]};
    cli_table_row(t, row);
    cli_table_color(t, 1, cli_state_color(cells[1]));
}

/* One live event as a line: fixed widths on a terminal, tabs when piped. */
static void print_event_line(const struct cli_ctx *c, const json_t *e)
{
    char cells[EVENT_COLS][160], paint[200];
    event_cells(c, e, cells);
    if (!c->tty) {
        printf("%s\t%s\t%s\t%s\t%s\n", cells[0], cells[1], cells[2], cells[3], cells[4]);
    } else {
        char type[180];
        snprintf(type, sizeof(type), "%-22s", cells[1]);
        printf("%-8s  %s  %-16s  %-20s  %s\n", cells[0],
               cli_paint(c, cli_state_color(cells[1]), type, paint, sizeof(paint)), cells[2],
               cells[3], cells[4]);
    }
    fflush(stdout);
}

/* Reads the events after since, keeping the last `keep` in t; since ends
 * as the id of the last one. */
static int recent_events(struct cli_ctx *c, char *since, size_t sincelen, int keep,
                         json_t *kept)
{
    for (;;) {
        json_t *page;
        int rc = cli_api_get(c, &page, "/api/events?limit=1000&since=%s", since);
        if (rc)
            return rc;
        const json_t *evs = json_object_get(page, "events");
        size_t i;
        json_t *e;
        if (c->json)
            cli_print_json(c, page);
        json_array_foreach(evs, i, e) {
            json_array_append(kept, e);
            if ((int)json_array_size(kept) > keep)
                json_array_remove(kept, 0);
        }
        const char *next = cli_str(page, "next");
        int more = json_array_size(evs) == 1000 && next && strcmp(next, since) != 0;
        if (next)
            snprintf(since, sincelen, "%s", next);
        json_decref(page);
        if (!more)
            return CLI_OK;
    }
}

static int follow_events(struct cli_ctx *c, const char *since)
{
    char path[128];
    int rc = CLI_OK;
    snprintf(path, sizeof(path), "/ws/events?from=%s", since);
    struct cli_ws *ws = cli_ws_open(c, path, &rc);
    if (!ws)
        return rc;
    for (;;) {
        char *msg;
        size_t len;
        enum cli_ws_event ev = cli_ws_next(ws, -1, -1, &msg, &len);
        if (ev == CLI_WS_INTERRUPTED) {
            rc = CLI_INTERRUPTED;
            break;
        }
        if (ev != CLI_WS_MSG) {
            cli_unreachable(c, "the event stream closed");
            rc = CLI_UNREACHABLE;
            break;
        }
        json_t *m = json_loadb(msg, len, 0, NULL);
        if (c->json)
            printf("%s\n", msg);
        else if (json_object_get(m, "event"))
            print_event_line(c, json_object_get(m, "event"));
        fflush(stdout);
        json_decref(m);
        free(msg);
    }
    cli_ws_close(ws);
    return rc;
}

/* events [-f] [--since DUR] [--limit N] */
int cli_cmd_events(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    double window = 3600;
    char why[64], since[64];
    const char *s = cli_opt_value(cmd, "since"), *limit = cli_opt_value(cmd, "limit");
    if (s)
        parse_duration(s, &window, why, sizeof(why));
    snprintf(since, sizeof(since), "%lld-0", (long long)time_ms(time_wall() - window));
    json_t *kept = json_array();
    int rc = recent_events(c, since, sizeof(since), limit ? atoi(limit) : 50, kept);
    if (rc == CLI_OK && !c->json) {
        static const char *const heads[] = {"TIME", "EVENT", "WORKER", "TASK", "DETAIL"};
        struct cli_table t;
        size_t i;
        json_t *e;
        cli_table_init(&t, EVENT_COLS, heads);
        json_array_foreach(kept, i, e)
            add_event(c, &t, e);
        if (t.nrows || !cli_opt_flag(cmd, "follow"))
            cli_print_table(c, &t);
        cli_table_free(&t);
    }
    json_decref(kept);
    if (rc == CLI_OK && cli_opt_flag(cmd, "follow"))
        rc = follow_events(c, since);
    return rc;
}

/* The latest sample of every GPU, by uuid. */
static json_t *latest_samples(struct cli_ctx *c, int *rc)
{
    json_t *j, *by = json_object();
    if ((*rc = cli_api_get(c, &j, "/api/v1/telemetry/latest")))
        return by;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(j, "data"), i, s)
        if (cli_str(s, "uuid"))
            json_object_set(by, cli_str(s, "uuid"), s);
    json_decref(j);
    return by;
}

/* A metric of a sample with its unit ("41%", "60C"), or "-" when the
 * sample did not report it. */
static void metric(const json_t *s, const char *key, int decimals, const char *unit, char *out,
                   size_t outlen)
{
    if (json_is_number(json_object_get(s, key)))
        snprintf(out, outlen, "%.*f%s", decimals, cli_num(s, key), unit);
    else
        snprintf(out, outlen, "-");
}

static void add_gpu(struct cli_table *t, const json_t *g, const json_t *s)
{
    char idx[16], util[16], mem[48], temp[16], power[16];
    snprintf(idx, sizeof(idx), "%lld", (long long)json_integer_value(json_object_get(g, "id")));
    metric(s, "gpu_utilization", 0, "%", util, sizeof(util));
    if (json_is_number(json_object_get(s, "memory_used_mb")))
        cli_fmt_mib_pair(mem, sizeof(mem), cli_num(s, "memory_used_mb"),
                         cli_num(s, "memory_used_mb") + cli_num(s, "memory_free_mb"));
    else
        snprintf(mem, sizeof(mem), "-");
    metric(s, "temperature", 0, "C", temp, sizeof(temp));
    metric(s, "power_draw", 0, "W", power, sizeof(power));
    const char *cells[] = {cli_str(g, "hostname"), idx, cli_str(g, "name"), util, mem, temp,
                           power, cli_str(g, "uuid")};
    cli_table_row(t, cells);
}

/* gpus [--host H] */
int cli_cmd_gpus(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    static const char *const heads[] = {"HOST", "GPU", "MODEL", "UTIL", "MEMORY", "TEMP",
                                        "POWER", "UUID"};
    const char *host = cli_opt_value(cmd, "host");
    char esc[256];
    int rc = CLI_OK;
    json_t *latest = c->json ? json_object() : latest_samples(c, &rc);
    struct cli_table t;
    cli_table_init(&t, 8, heads);
    cli_table_right(&t, 3);
    for (long offset = 0; rc == CLI_OK;) {
        json_t *page;
        if ((rc = cli_api_get(c, &page, "/api/v1/gpus?limit=1000&offset=%ld%s%s", offset,
                              host ? "&hostname=" : "", host ? cli_esc(c, host, esc, sizeof(esc)) : "")))
            break;
        const json_t *data = json_object_get(page, "data");
        size_t i;
        json_t *g;
        if (c->json)
            cli_print_json(c, page);
        json_array_foreach(data, i, g)
            add_gpu(&t, g, json_object_get(latest, cli_str(g, "uuid") ? cli_str(g, "uuid") : ""));
        offset += (long)json_array_size(data);
        int more = json_array_size(data) > 0 && offset < (long)cli_num(page, "total");
        json_decref(page);
        if (!more)
            break;
    }
    if (rc == CLI_OK && !c->json)
        cli_print_table(c, &t);
    cli_table_free(&t);
    json_decref(latest);
    return rc;
}

static void samples_table(const struct cli_ctx *c, const json_t *data)
{
    static const char *const heads[] = {"TIME", "UTIL", "MEM UTIL", "MEM USED", "TEMP", "POWER",
                                        "SM CLOCK", "MEM CLOCK"};
    struct cli_table t;
    cli_table_init(&t, 8, heads);
    for (int i = 1; i < 8; i++)
        cli_table_right(&t, i);
    size_t i;
    json_t *s;
    json_array_foreach(data, i, s) {
        char v[7][32];
        metric(s, "gpu_utilization", 0, "%", v[0], 32);
        metric(s, "memory_utilization", 0, "%", v[1], 32);
        metric(s, "memory_used_mb", 0, " MiB", v[2], 32);
        metric(s, "temperature", 0, "C", v[3], 32);
        metric(s, "power_draw", 1, "W", v[4], 32);
        metric(s, "sm_clock_mhz", 0, " MHz", v[5], 32);
        metric(s, "memory_clock_mhz", 0, " MHz", v[6], 32);
        const char *cells[] = {cli_str(s, "timestamp"), v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
        cli_table_row(&t, cells);
    }
    cli_print_table(c, &t);
    cli_table_free(&t);
}

/* gpu UUID [--since DUR] */
int cli_cmd_gpu(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    char esc[256], from[48], why[64];
    double window = 60;
    const char *s = cli_opt_value(cmd, "since");
    if (s)
        parse_duration(s, &window, why, sizeof(why));
    cli_esc(c, cmd->args[0], esc, sizeof(esc));
    json_t *g, *tel;
    int rc = cli_api_get(c, &g, "/api/v1/gpus/%s", esc);
    if (rc)
        return rc;
    time_format(time_wall() - window, from, sizeof(from));
    if ((rc = cli_api_get(c, &tel, "/api/v1/gpus/%s/telemetry?limit=10000&start_time=%s", esc,
                          from))) {
        json_decref(g);
        return rc;
    }
    if (c->json) {
        cli_print_json(c, g);
        cli_print_json(c, tel);
    } else {
        const json_t *d = json_object_get(g, "data");
        struct cli_table t;
        char idx[16];
        cli_table_init(&t, 2, NULL);
        cli_kv(&t, "gpu", cli_str(d, "uuid"), "1");
        cli_kv(&t, "host", cli_str(d, "hostname"), NULL);
        snprintf(idx, sizeof(idx), "%lld", (long long)json_integer_value(json_object_get(d, "id")));
        cli_kv(&t, "index", idx, NULL);
        cli_kv(&t, "model", cli_str(d, "name"), NULL);
        cli_kv(&t, "status", cli_str(d, "status"), cli_state_color(cli_str(d, "status")));
        cli_print_table(c, &t);
        cli_table_free(&t);
        if (c->tty)
            printf("\n");
        samples_table(c, json_object_get(tel, "data"));
    }
    json_decref(g);
    json_decref(tel);
    return CLI_OK;
}
