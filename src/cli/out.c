/* Output helpers shared by the verbs. */
#include "out.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "units.h"

/* Prints j on its own line: indented on a terminal, one line when piped
 * (so several answers read as JSON lines). */
void cli_print_json(const struct cli_ctx *c, const json_t *j)
{
    json_dumpf(j, stdout, (c->tty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_REAL_PRECISION(12));
    fputc('\n', stdout);
    fflush(stdout);
}

/* Prints t aligned (and coloured) on a terminal, tab-separated otherwise. */
void cli_print_table(const struct cli_ctx *c, const struct cli_table *t)
{
    int mode = c->tty ? CLI_TABLE_ALIGN | (c->color ? CLI_TABLE_COLOR : 0) : CLI_TABLE_PLAIN;
    char *s = cli_table_render(t, mode);
    if (s)
        fputs(s, stdout);
    free(s);
    fflush(stdout);
}

/* Prints t below what came before (a blank line apart on a terminal), if
 * it has rows. */
void cli_print_section(const struct cli_ctx *c, const struct cli_table *t)
{
    if (!t->nrows)
        return;
    if (c->tty)
        fputc('\n', stdout);
    cli_print_table(c, t);
}

/* Adds a "key  value" line to a key-value block, the value coloured. */
void cli_kv(struct cli_table *t, const char *key, const char *value, const char *sgr)
{
    const char *cells[2] = {key, value ? value : "-"};
    if (cli_table_row(t, cells) == 0 && sgr)
        cli_table_color(t, 1, sgr);
}

/* Returns text wrapped in the SGR colour when colour is on (in buf), else
 * text itself. */
const char *cli_paint(const struct cli_ctx *c, const char *sgr, const char *text, char *buf,
                      size_t buflen)
{
    if (!c->color || !sgr)
        return text;
    snprintf(buf, buflen, "\033[%sm%s\033[0m", sgr, text);
    return buf;
}

/* A time from the API for a table: "3s ago" on a terminal, the API's own
 * text when piped, "-" for none. */
void cli_fmt_time(const struct cli_ctx *c, char *out, size_t outlen, const json_t *v,
                  double now)
{
    double t;
    if (cli_json_time(v, &t) < 0)
        snprintf(out, outlen, "-");
    else if (c->tty)
        cli_fmt_ago(out, outlen, t, now);
    else if (json_is_string(v))
        snprintf(out, outlen, "%s", json_string_value(v));
    else
        snprintf(out, outlen, "%.3f", t);
}

/* What a task runs, as one line: "IMAGE ARG ARG" or "ARG ARG". */
void cli_task_runs(const json_t *t, char *out, size_t outlen)
{
    const json_t *cmd = json_object_get(t, "command");
    const char *image = json_string_value(json_object_get(t, "docker_image"));
    size_t n = 0;
    out[0] = '\0';
    if (image)
        n = (size_t)snprintf(out, outlen, "%s%s", image, cmd && !json_is_null(cmd) ? " " : "");
    if (json_is_string(cmd) && n < outlen) {
        snprintf(out + n, outlen - n, "%s", json_string_value(cmd));
    } else if (json_is_array(cmd)) {
        size_t i;
        json_t *a;
        json_array_foreach(cmd, i, a) {
            if (n < outlen)
                n += (size_t)snprintf(out + n, outlen - n, "%s%s", i ? " " : "",
                                      json_string_value(a));
        }
    }
}

/* An object of strings as "k=v" joined by sep, or "-" when empty. */
void cli_pairs_text(const json_t *o, const char *sep, char *out, size_t outlen)
{
    const char *k;
    json_t *v;
    size_t n = 0;
    snprintf(out, outlen, "-");
    json_object_foreach((json_t *)o, k, v) {
        if (n < outlen)
            n += (size_t)snprintf(out + n, outlen - n, "%s%s=%s", n ? sep : "", k,
                                  json_is_string(v) ? json_string_value(v) : "?");
    }
}

/* Appends the n bytes of line to b cut to cols characters on screen
 * (escape sequences take none), then ends any colour. */
void cli_put_clipped(struct buf *b, const char *line, size_t n, int cols)
{
    int shown = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)line[i];
        if (ch == 0x1b) {
            size_t k = i + 1;
            while (k < n && !((line[k] >= 'A' && line[k] <= 'Z') || (line[k] >= 'a' && line[k] <= 'z')))
                k++;
            buf_append(b, line + i, k < n ? k - i + 1 : n - i);
            i = k;
            continue;
        }
        if ((ch & 0xC0) != 0x80)
            shown++;
        if (shown <= cols)
            buf_append(b, line + i, 1);
    }
    buf_append_str(b, "\033[0m");
}
