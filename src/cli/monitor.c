/* monitor ID: a task's header kept current at the top of the terminal (a
 * scroll region holds the output below it), then its output until it
 * ends. Piped, the header is printed once. */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "core/buf.h"
#include "core/timefmt.h"
#include "out.h"
#include "outcome.h"
#include "term.h"
#include "units.h"
#include "verbs.h"

#define HEADER_ROWS 3

struct monitor {
    struct cli_ctx *c;
    const char *id;
    char esc[256];
    int rows, cols;
};

/* What the task's worker says it uses now: "95% cpu, 12 MiB". */
static void usage_of(struct monitor *m, const json_t *task, char *out, size_t outlen)
{
    const char *wid = cli_str(task, "worker_id");
    char esc[256], mem[32], pct[16];
    json_t *w;
    snprintf(out, outlen, "-");
    if (!wid || strcmp(cli_str(task, "status") ? cli_str(task, "status") : "", "running") != 0 ||
        cli_api_get(m->c, &w, "/api/workers/%s", cli_esc(m->c, wid, esc, sizeof(esc))) != 0)
        return;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(w, "running_tasks"), i, r) {
        if (strcmp(cli_str(r, "task_id") ? cli_str(r, "task_id") : "", m->id) != 0)
            continue;
        cli_fmt_percent(pct, sizeof(pct), cli_num(r, "cpu_usage"));
        cli_fmt_mib(mem, sizeof(mem), cli_num(r, "memory_usage_mib"));
        snprintf(out, outlen, "%s cpu, %s", pct, mem);
    }
    json_decref(w);
}

static void header_lines(struct monitor *m, const json_t *t, char lines[HEADER_ROWS][512])
{
    char ago[48], runs[256] = "", use[64], paint[64], mem[32];
    const char *st = cli_str(t, "status") ? cli_str(t, "status") : "?";
    double at;
    if (cli_json_time(json_object_get(t, "started_at"), &at) == 0)
        cli_fmt_ago(ago, sizeof(ago), at, time_wall());
    else
        snprintf(ago, sizeof(ago), "not yet");
    snprintf(lines[0], 512, "%s  %s  on %s  attempt %lld/%lld  started %s", m->id,
             cli_paint(m->c, cli_state_color(st), st, paint, sizeof(paint)),
             cli_str(t, "worker_id") ? cli_str(t, "worker_id") : "-",
             (long long)json_integer_value(json_object_get(t, "attempts")),
             (long long)json_integer_value(json_object_get(t, "max_attempts")), ago);
    cli_task_runs(t, runs, sizeof(runs));
    usage_of(m, t, use, sizeof(use));
    cli_fmt_mib(mem, sizeof(mem), cli_num(t, "memory_required"));
    snprintf(lines[1], 512, "asked %g cpu, %s  using %s  runs %s", cli_num(t, "cpu_required"),
             mem, use, runs);
    const char *reason = cli_str(t, "reason");
    if (strcmp(st, "queued") == 0 && reason)
        snprintf(lines[1], 512, "waiting: %s", reason);
    lines[2][0] = '\0';
}

/* Redraws the header rows above the scroll region, the cursor left where
 * the output goes on. */
static void draw_header(void *ud)
{
    struct monitor *m = ud;
    json_t *t;
    char lines[HEADER_ROWS][512];
    if (cli_api_get(m->c, &t, "/api/tasks/%s", m->esc) != 0)
        return;
    cli_term_size(&m->rows, &m->cols);
    header_lines(m, t, lines);
    json_decref(t);
    /* Each row cut to the width: a row that wrapped would push the next. */
    struct buf b;
    buf_init(&b);
    buf_append_str(&b, "\0337");
    for (int i = 0; i < HEADER_ROWS; i++) {
        buf_printf(&b, "\033[%d;1H\033[2K", i + 1);
        if (i == HEADER_ROWS - 1) {
            for (int k = 0; k < m->cols; k++)
                buf_append_str(&b, cli_term_utf8() ? "\u2500" : "-");
        } else {
            cli_put_clipped(&b, lines[i], strlen(lines[i]), m->cols);
        }
    }
    buf_append_str(&b, "\0338");
    fwrite(buf_start(&b), 1, b.len, stdout);
    fflush(stdout);
    buf_free(&b);
}

static int monitor_piped(struct cli_ctx *c, const char *id)
{
    struct cli_cmd task = {0};
    struct cli_task_end end;
    task.args[0] = id;
    task.nargs = 1;
    int rc = cli_cmd_task(c, &task);
    if (rc)
        return rc;
    if ((rc = cli_follow_task(c, id, CLI_FOLLOW_PRINT, NULL, &end)) == CLI_OK && !c->json)
        cli_print_end(c, id, &end);
    return rc;
}

/* monitor ID */
int cli_cmd_monitor(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    if (!c->tty || c->json)
        return monitor_piped(c, cmd->args[0]);
    struct monitor m = {c, cmd->args[0], "", 24, 80};
    cli_esc(c, m.id, m.esc, sizeof(m.esc));
    json_t *t;
    int rc = cli_api_get(c, &t, "/api/tasks/%s", m.esc);
    if (rc)
        return rc;
    json_decref(t);
    cli_term_size(&m.rows, &m.cols);
    printf("\033[2J\033[%d;%dr\033[%d;1H", HEADER_ROWS + 1, m.rows, HEADER_ROWS + 1);
    draw_header(&m);
    struct cli_follow_hooks hooks = {draw_header, &m};
    struct cli_task_end end;
    rc = cli_follow_task(c, m.id, CLI_FOLLOW_PRINT, &hooks, &end);
    draw_header(&m);
    /* Give the whole screen back, the cursor staying under the output. */
    printf("\0337\033[r\0338");
    fflush(stdout);
    if (rc == CLI_OK)
        cli_print_end(c, m.id, &end);
    return rc;
}
