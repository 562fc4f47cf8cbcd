/* The live views: top (workers and their GPUs, full screen) and workers
 * --watch (the workers table kept current). Both subscribe to telemetry on
 * /ws (a snapshot, then every heartbeat), poll /health and /api/workers
 * for states and allocations every two seconds, and redraw at most four
 * times a second. q or Ctrl-C leaves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "core/buf.h"
#include "core/timefmt.h"
#include "out.h"
#include "outcome.h"
#include "term.h"
#include "units.h"
#include "verbs.h"
#include "ws.h"

#define REDRAW_S 0.25
#define POLL_S 2.0

struct live {
    struct cli_ctx *c;
    const char *state;        /* workers --watch --state */
    int top;                  /* top, else workers --watch */
    json_t *tel;              /* worker id -> latest telemetry */
    json_t *workers;          /* the last GET /api/workers */
    json_t *health;
    double polled, drawn;
    int dirty;
};

/* Telemetry messages: a snapshot of every worker, then one per change. */
static void apply(struct live *l, const char *text, size_t len)
{
    json_t *m = json_loadb(text, len, 0, NULL);
    const char *type = cli_str(m, "type");
    if (type && strcmp(type, "snapshot") == 0 && json_is_object(json_object_get(m, "workers"))) {
        json_object_update(l->tel, json_object_get(m, "workers"));
        l->dirty = 1;
    } else if (type && strcmp(type, "telemetry") == 0 && cli_str(m, "worker_id")) {
        json_object_set(l->tel, cli_str(m, "worker_id"), json_object_get(m, "data"));
        l->dirty = 1;
    }
    json_decref(m);
}

static int poll_api(struct live *l)
{
    json_t *w, *h = NULL;
    int rc = cli_api_get(l->c, &w, "/api/workers");
    if (rc == CLI_OK && l->top)
        rc = cli_api_get(l->c, &h, "/health");
    if (rc != CLI_OK) {
        json_decref(w);
        return rc;
    }
    json_decref(l->workers);
    json_decref(l->health);
    l->workers = w;
    l->health = h;
    l->polled = time_wall();
    l->dirty = 1;
    return CLI_OK;
}

/* Writes text (lines separated by \n) at the top of the screen, each line
 * clipped to the width, at most rows lines, the rest of the screen
 * cleared. */
static void paint(const char *text)
{
    int rows, cols;
    struct buf b;
    buf_init(&b);
    cli_term_size(&rows, &cols);
    buf_append_str(&b, "\033[H");
    for (int r = 0; *text && r < rows - 1; r++) {
        size_t n = strcspn(text, "\n");
        cli_put_clipped(&b, text, n, cols);
        buf_append_str(&b, "\033[K\r\n");
        text += n + (text[n] == '\n');
    }
    buf_append_str(&b, "\033[J");
    fwrite(buf_start(&b), 1, b.len, stdout);
    fflush(stdout);
    buf_free(&b);
}

/* One glyph per GPU for its utilisation: block heights, or a ramp of
 * ASCII characters outside UTF-8 locales. */
static void gpu_glyphs(const json_t *gpus, char *out, size_t outlen)
{
    static const char *const blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                         "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char ramp[] = ".:-=+*#%";
    int utf8 = cli_term_utf8();
    size_t n = 0, i;
    json_t *g;
    out[0] = '\0';
    json_array_foreach(gpus, i, g) {
        const json_t *u = json_object_get(g, "utilization");
        int level = json_is_number(u) ? (int)(json_number_value(u) / 100.0 * 7.999) : 0;
        level = level < 0 ? 0 : level > 7 ? 7 : level;
        const char *glyph = !json_is_number(u) ? " " : utf8 ? blocks[level] : (char[]){ramp[level], 0};
        if (n + strlen(glyph) < outlen) {
            memcpy(out + n, glyph, strlen(glyph) + 1);
            n += strlen(glyph);
        }
    }
}

static const json_t *api_worker(const struct live *l, const char *id)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(l->workers, "workers"), i, w)
        if (strcmp(cli_str(w, "worker_id") ? cli_str(w, "worker_id") : "", id) == 0)
            return w;
    return NULL;
}

static void gpu_extremes(const json_t *gpus, char *temp, char *power, size_t len)
{
    double hot = -1, watts = 0;
    size_t i;
    json_t *g;
    json_array_foreach(gpus, i, g) {
        if (json_is_number(json_object_get(g, "temperature_c")) && cli_num(g, "temperature_c") > hot)
            hot = cli_num(g, "temperature_c");
        watts += cli_num(g, "power_w");
    }
    snprintf(temp, len, hot >= 0 ? "%.0fC" : "-", hot);
    if (watts >= 1000)
        snprintf(power, len, "%.1fkW", watts / 1000);
    else
        snprintf(power, len, json_array_size(gpus) ? "%.0fW" : "-", watts);
}

static void top_row(struct live *l, struct cli_table *t, const char *id, const json_t *d,
                    double now)
{
    const json_t *w = api_worker(l, id);
    const json_t *gpus = json_object_get(d, "gpus");
    const char *st = w ? cli_str(w, "state")
                       : json_is_true(json_object_get(d, "is_active")) ? "active" : "inactive";
    char cpu[16], mem[16], gpu[16], glyphs[256], temp[16], power[16], tasks[16], seen[48];
    char beats[24];
    double at;
    cli_fmt_percent(cpu, sizeof(cpu), cli_num(d, "cpu_usage"));
    cli_fmt_percent(mem, sizeof(mem), cli_num(d, "memory_usage"));
    cli_fmt_percent(gpu, sizeof(gpu), json_array_size(gpus) ? cli_num(d, "gpu_usage") : -1);
    gpu_glyphs(gpus, glyphs, sizeof(glyphs));
    gpu_extremes(gpus, temp, power, sizeof(temp));
    snprintf(tasks, sizeof(tasks), "%zu", json_array_size(json_object_get(d, "running_tasks")));
    snprintf(beats, sizeof(beats), "%lld", (long long)json_integer_value(json_object_get(d, "seq")));
    if (cli_json_time(json_object_get(d, "last_update"), &at) == 0)
        cli_fmt_ago(seen, sizeof(seen), at, now);
    else
        snprintf(seen, sizeof(seen), "never");
    const char *cells[] = {id, st, cpu, mem, gpu, glyphs, temp, power, tasks, beats, seen};
    cli_table_row(t, cells);
    cli_table_color(t, 1, cli_state_color(st));
}

static int by_id(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void top_header(struct live *l, struct buf *b, size_t nworkers)
{
    char clock[16], up[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
    cli_fmt_duration(up, sizeof(up), cli_num(l->health, "uptime_s"));
    buf_printf(b, "\033[1mgantry top\033[0m  %s  up %s  redis %s  %s\n", l->c->servers, up,
               cli_str(l->health, "redis") ? cli_str(l->health, "redis") : "?", clock);
    buf_printf(b, "%zu workers (%lld active)  tasks: %lld queued, %lld running  q quits\n\n",
               nworkers, (long long)json_integer_value(json_object_get(l->health, "active_workers")),
               (long long)json_integer_value(json_object_get(l->health, "queued_tasks")),
               (long long)json_integer_value(json_object_get(l->health, "running_tasks")));
}

static void draw_top(struct live *l)
{
    static const char *const heads[] = {"WORKER", "STATE", "CPU%", "MEM%", "GPU%", "GPU UTIL",
                                        "TEMP", "POWER", "TASKS", "HB", "SEEN"};
    size_t n = json_object_size(l->tel), k = 0;
    const char **ids = calloc(n ? n : 1, sizeof(*ids));
    const char *id;
    json_t *d;
    int rows, cols;
    cli_term_size(&rows, &cols);
    json_object_foreach(l->tel, id, d)
        ids[k++] = id;
    qsort(ids, n, sizeof(*ids), by_id);
    struct cli_table t;
    cli_table_init(&t, 11, heads);
    for (int i = 2; i <= 4; i++)
        cli_table_right(&t, i);
    cli_table_right(&t, 8);
    cli_table_right(&t, 9);
    size_t fit = rows > 6 ? (size_t)rows - 6 : 1, shown = n < fit ? n : fit;
    double now = time_wall();
    for (size_t i = 0; i < shown; i++)
        top_row(l, &t, ids[i], json_object_get(l->tel, ids[i]), now);
    struct buf b;
    buf_init(&b);
    top_header(l, &b, n);
    char *table = cli_table_render(&t, CLI_TABLE_ALIGN | (l->c->color ? CLI_TABLE_COLOR : 0));
    buf_append_str(&b, table ? table : "");
    if (shown < n)
        buf_printf(&b, "... and %zu more\n", n - shown);
    buf_nul(&b);
    paint(buf_start(&b));
    buf_free(&b);
    free(table);
    cli_table_free(&t);
    free(ids);
}

static void draw_watch(struct live *l)
{
    struct cli_table t;
    if (l->c->json) {
        cli_print_json(l->c, l->workers);
        return;
    }
    cli_workers_table(l->c, l->workers, l->state, &t);
    if (!l->c->tty) {
        cli_print_table(l->c, &t);
        printf("\n");
        fflush(stdout);
    } else {
        char *s = cli_table_render(&t, CLI_TABLE_ALIGN | (l->c->color ? CLI_TABLE_COLOR : 0));
        struct buf b;
        buf_init(&b);
        buf_printf(&b, "workers  %s  (q quits)\n\n%s", l->c->servers, s ? s : "");
        buf_nul(&b);
        paint(buf_start(&b));
        buf_free(&b);
        free(s);
    }
    cli_table_free(&t);
}

/* Redraws when something changed and the last drawing is old enough;
 * workers --watch fetches the table again first. */
static int maybe_draw(struct live *l, int force)
{
    double now = time_wall();
    if (!force && (!l->dirty || now - l->drawn < (l->top ? REDRAW_S : 1.0)))
        return CLI_OK;
    if (now - l->polled >= (l->top ? POLL_S : 1.0) || !l->workers) {
        int rc = poll_api(l);
        if (rc)
            return rc;
    }
    if (l->top)
        draw_top(l);
    else
        draw_watch(l);
    l->dirty = 0;
    l->drawn = now;
    return CLI_OK;
}

/* A key in raw mode: 1 to leave (q), 0 to go on. */
static int key_quits(void)
{
    char ch;
    return read(STDIN_FILENO, &ch, 1) <= 0 || ch == 'q' || ch == 'Q';
}

static int run_live(struct live *l, struct cli_ws *ws)
{
    int keys = l->c->tty && isatty(STDIN_FILENO) ? STDIN_FILENO : -1;
    int rc = maybe_draw(l, 1);
    while (rc == CLI_OK) {
        char *msg;
        size_t len;
        enum cli_ws_event ev = cli_ws_next(ws, 250, keys, &msg, &len);
        if (ev == CLI_WS_MSG) {
            apply(l, msg, len);
            free(msg);
        } else if (ev == CLI_WS_INPUT) {
            if (key_quits())
                break;
        } else if (ev == CLI_WS_INTERRUPTED) {
            break;
        } else if (ev == CLI_WS_CLOSED) {
            rc = CLI_UNREACHABLE;
            break;
        } else if (time_wall() - l->polled >= POLL_S) {
            l->dirty = 1;
        }
        if (rc == CLI_OK)
            rc = maybe_draw(l, 0);
    }
    return rc;
}

static int live(struct cli_ctx *c, int top, const char *state)
{
    struct live l = {c, state, top, json_object(), NULL, NULL, 0, 0, 1};
    int rc = CLI_OK;
    struct cli_ws *ws = cli_ws_open(c, "/ws", &rc);
    if (!ws || cli_ws_send(ws, "{\"type\":\"subscribe\",\"topic\":\"telemetry\"}") < 0) {
        cli_ws_close(ws);
        json_decref(l.tel);
        return ws ? CLI_UNREACHABLE : rc;
    }
    int screen = c->tty && !c->json;
    if (screen) {
        cli_term_raw(1);
        cli_screen_enter();
    }
    rc = run_live(&l, ws);
    if (screen) {
        cli_screen_leave();
        cli_term_raw(0);
    }
    if (rc == CLI_UNREACHABLE)
        cli_unreachable(c, "the telemetry stream closed");
    cli_ws_close(ws);
    json_decref(l.tel);
    json_decref(l.workers);
    json_decref(l.health);
    return rc;
}

/* top */
int cli_cmd_top(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    (void)cmd;
    if (!c->tty || c->json) {
        fprintf(stderr, "gantryctl: top needs a terminal (try workers --watch, or --json)\n");
        return CLI_USAGE;
    }
    return live(c, 1, NULL);
}

/* workers --watch: the workers table, kept current. */
int cli_watch_workers(struct cli_ctx *c, const char *state)
{
    return live(c, 0, state);
}
