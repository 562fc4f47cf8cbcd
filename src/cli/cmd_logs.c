/* A task's output: logs (and -f), monitor, and the follow that submit
 * --wait uses. Output streams over /ws/tasks/{id}/logs: past lines, live
 * ones, then how the task ended. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "core/timefmt.h"
#include "out.h"
#include "outcome.h"
#include "term.h"
#include "units.h"
#include "verbs.h"
#include "ws.h"

/* Writes one log entry's data to stdout or stderr, as the task wrote it.
 * Remembers whether the terminal line was left open. */
static void write_data(const json_t *m, int *open_line)
{
    const json_t *d = json_object_get(m, "data");
    const char *stream = cli_str(m, "stream");
    FILE *f = stream && strcmp(stream, "stderr") == 0 ? stderr : stdout;
    size_t n = json_string_length(d);
    if (!n)
        return;
    fwrite(json_string_value(d), 1, n, f);
    fflush(f);
    *open_line = json_string_value(d)[n - 1] != '\n';
}

static void note_end(const json_t *m, struct cli_task_end *end)
{
    const json_t *ec = json_object_get(m, "exit_code");
    snprintf(end->status, sizeof(end->status), "%s", cli_str(m, "status") ? cli_str(m, "status")
                                                                           : "unknown");
    end->has_exit_code = json_is_integer(ec);
    end->exit_code = (long)json_integer_value(ec);
    snprintf(end->reason, sizeof(end->reason), "%s", cli_str(m, "reason") ? cli_str(m, "reason")
                                                                           : "");
}

/* Handles one message of the stream. Returns 1 at the end, else 0. */
static int on_message(const struct cli_ctx *c, const char *text, size_t len,
                      enum cli_follow_mode mode, struct cli_task_end *end, int *open_line)
{
    json_t *m = json_loadb(text, len, 0, NULL);
    const char *type = cli_str(m, "type");
    int over = type && strcmp(type, "end") == 0;
    if (mode == CLI_FOLLOW_PRINT && c->json && type) {
        fwrite(text, 1, len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    } else if (mode == CLI_FOLLOW_PRINT && type && strcmp(type, "log") == 0) {
        write_data(m, open_line);
    } else if (type && strcmp(type, "lagged") == 0) {
        fprintf(stderr, "gantryctl: %lld lines were dropped (read too slowly)\n",
                (long long)json_integer_value(json_object_get(m, "dropped")));
    }
    if (over)
        note_end(m, end);
    json_decref(m);
    return over;
}

/* Streams task_id's output (past lines, then live ones) until it ends,
 * filling end. hooks->tick runs about once a second (hooks may be NULL).
 * Returns 0, 130 on Ctrl-C, or the exit status of a failure (printed). */
int cli_follow_task(struct cli_ctx *c, const char *task_id, enum cli_follow_mode mode,
                    const struct cli_follow_hooks *hooks, struct cli_task_end *end)
{
    char esc[256], path[400];
    int rc = CLI_OK, open_line = 0, over = 0;
    memset(end, 0, sizeof(*end));
    snprintf(path, sizeof(path), "/ws/tasks/%s/logs", cli_esc(c, task_id, esc, sizeof(esc)));
    struct cli_ws *ws = cli_ws_open(c, path, &rc);
    if (!ws)
        return rc;
    double ticked = time_wall();
    while (!over) {
        char *msg;
        size_t len;
        enum cli_ws_event ev = cli_ws_next(ws, hooks ? 1000 : -1, -1, &msg, &len);
        if (hooks && time_wall() - ticked >= 1.0) {
            hooks->tick(hooks->ud);
            ticked = time_wall();
        }
        if (ev == CLI_WS_MSG) {
            over = on_message(c, msg, len, mode, end, &open_line);
            free(msg);
        } else if (ev == CLI_WS_TIMEOUT) {
            continue;
        } else if (ev == CLI_WS_INTERRUPTED) {
            rc = CLI_INTERRUPTED;
            break;
        } else {
            cli_unreachable(c, "the stream closed before the task ended");
            rc = CLI_UNREACHABLE;
            break;
        }
    }
    cli_ws_close(ws);
    if (open_line)
        fputc('\n', stdout);
    fflush(stdout);
    return rc;
}

/* Prints how a followed task ended, on stderr (stdout keeps its output). */
void cli_print_end(const struct cli_ctx *c, const char *task_id, const struct cli_task_end *e)
{
    char what[256], paint[300];
    int n = snprintf(what, sizeof(what), "%s", e->status);
    if (e->has_exit_code)
        n += snprintf(what + n, sizeof(what) - (size_t)n, ", exit code %ld", e->exit_code);
    if (e->reason[0] && strcmp(e->reason, e->status) != 0)
        snprintf(what + n, sizeof(what) - (size_t)n, " (%s)", e->reason);
    fprintf(stderr, "task %s %s\n", task_id,
            cli_paint(c, cli_state_color(e->status), what, paint, sizeof(paint)));
}

/* Prints the output stored so far, page by page. */
static int print_stored(struct cli_ctx *c, const char *id)
{
    char since[64] = "", esc[256];
    int open_line = 0;
    cli_esc(c, id, esc, sizeof(esc));
    for (;;) {
        json_t *page;
        int rc = cli_api_get(c, &page, "/api/tasks/%s/logs?limit=1000%s%s", esc,
                             since[0] ? "&since=" : "", since);
        if (rc)
            return rc;
        const json_t *logs = json_object_get(page, "logs");
        size_t i;
        json_t *l;
        if (c->json)
            cli_print_json(c, page);
        else
            json_array_foreach(logs, i, l)
                write_data(l, &open_line);
        const char *next = cli_str(page, "next");
        int more = json_array_size(logs) == 1000 && next && strcmp(next, since) != 0;
        snprintf(since, sizeof(since), "%s", next ? next : "");
        json_decref(page);
        if (!more)
            break;
    }
    if (open_line)
        fputc('\n', stdout);
    return CLI_OK;
}

/* logs ID [-f] */
int cli_cmd_logs(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    if (!cli_opt_flag(cmd, "follow"))
        return print_stored(c, cmd->args[0]);
    /* The stream answers for any id; the task route says whether it is one. */
    char esc[256];
    json_t *t;
    int rc = cli_api_get(c, &t, "/api/tasks/%s", cli_esc(c, cmd->args[0], esc, sizeof(esc)));
    json_decref(t);
    if (rc)
        return rc;
    struct cli_task_end end;
    rc = cli_follow_task(c, cmd->args[0], CLI_FOLLOW_PRINT, NULL, &end);
    if (rc == CLI_OK && !c->json)
        cli_print_end(c, cmd->args[0], &end);
    return rc;
}
