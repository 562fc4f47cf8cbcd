/* The interactive shell on libedit: prompt `gantry> `, the verbs, history
 * in ~/.gantry_history, Tab completion of verbs, flags, worker ids and task
 * ids (asked of the server as you type). Ctrl-C drops the line being typed,
 * or stops a follow and comes back here; Ctrl-D or `exit` leaves. Lines
 * from a pipe run one after another, without the editor. */
#include <errno.h>
#include <histedit.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "api.h"
#include "http.h"
#include "term.h"

#define MAX_WORDS 64

struct shell {
    struct cli_ctx *c;
    EditLine *el;
    History *hist;
    Tokenizer *tok;
    char path[PATH_MAX];
};

static char *prompt(EditLine *el)
{
    (void)el;
    return "gantry> ";
}

/* Reads one character for libedit, giving up (-1, the line is dropped)
 * when Ctrl-C arrives: el_gets then returns NULL and the shell prompts
 * again. */
static int read_char(EditLine *el, wchar_t *out)
{
    mbstate_t st;
    memset(&st, 0, sizeof(st));
    for (;;) {
        struct pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {cli_sig_fd(), POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return -1;
        if (cli_sig_pending())
            return -1;
        if (!(p[0].revents & (POLLIN | POLLHUP)))
            continue;
        char ch;
        ssize_t n = read(STDIN_FILENO, &ch, 1);
        if (n <= 0)
            return n == 0 ? 0 : -1;
        size_t r = mbrtowc(out, &ch, 1, &st);
        if (r == (size_t)-2)
            continue;
        if (r == (size_t)-1)
            *out = (unsigned char)ch;
        return 1;
    }
}

/* Answers of the server for completion: quiet, NULL on any failure. */
static json_t *fetch(struct cli_ctx *c, const char *path)
{
    struct cli_reply r;
    char err[256];
    json_t *j = NULL;
    if (cli_http_do(c->http, "GET", path, NULL, &r, err, sizeof(err)) == 0 && r.status == 200)
        j = json_loadb(r.body, r.len, 0, NULL);
    cli_reply_free(&r);
    return j;
}

static void add_field(json_t *out, const json_t *list, const char *key)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
        if (cli_str(e, key))
            json_array_append_new(out, json_string(cli_str(e, key)));
}

static void add_words(json_t *out, const char *const *words)
{
    for (; *words; words++)
        json_array_append_new(out, json_string(*words));
}

/* Every candidate of a kind (without filtering). */
static json_t *candidates(struct cli_ctx *c, enum cli_complete kind, const struct cli_verb *verb,
                          const char *word)
{
    static const char *const states[] = {"active", "inactive", "offline", "draining", NULL};
    static const char *const statuses[] = {"queued", "assigned", "running", "completed",
                                           "failed", "cancelled", NULL};
    json_t *out = json_array(), *j = NULL;
    if (word[0] == '-') {
        for (const struct cli_opt *o = verb ? verb->opts : cli_global_opts; o->name; o++)
            json_array_append_new(out, json_sprintf("--%s", o->name));
        for (const struct cli_opt *o = cli_global_opts; verb && o->name; o++)
            json_array_append_new(out, json_sprintf("--%s", o->name));
        return out;
    }
    switch (kind) {
    case CLI_C_VERB:
        for (const struct cli_verb *v = cli_verbs; v->name; v++)
            json_array_append_new(out, json_string(v->name));
        json_array_append_new(out, json_string("exit"));
        break;
    case CLI_C_WORKER:
        add_field(out, json_object_get(j = fetch(c, "/api/workers"), "workers"), "worker_id");
        break;
    case CLI_C_TASK:
        add_field(out, json_object_get(j = fetch(c, "/api/tasks?limit=500"), "tasks"), "task_id");
        break;
    case CLI_C_GPU:
        add_field(out, json_object_get(j = fetch(c, "/api/v1/gpus?limit=1000"), "data"), "uuid");
        break;
    case CLI_C_HOST:
        add_field(out, json_object_get(j = fetch(c, "/api/v1/hosts"), "data"), "hostname");
        break;
    case CLI_C_WORKER_STATE:
        add_words(out, states);
        break;
    case CLI_C_TASK_STATUS:
        add_words(out, statuses);
        break;
    default:
        break;
    }
    json_decref(j);
    return out;
}

/* Keeps the candidates that start with prefix; returns their longest
 * common beginning's length. */
static size_t narrow(json_t *cands, const char *prefix)
{
    size_t plen = strlen(prefix), common = 0;
    for (size_t i = json_array_size(cands); i-- > 0;)
        if (strncmp(json_string_value(json_array_get(cands, i)), prefix, plen) != 0)
            json_array_remove(cands, i);
    size_t i;
    json_t *v;
    json_array_foreach(cands, i, v) {
        const char *s = json_string_value(v), *first = json_string_value(json_array_get(cands, 0));
        size_t n = 0;
        while (s[n] && s[n] == first[n])
            n++;
        common = i == 0 ? strlen(s) : n < common ? n : common;
    }
    return common;
}

static void list_matches(const json_t *cands)
{
    int rows, cols;
    size_t width = 0, i;
    json_t *v;
    cli_term_size(&rows, &cols);
    json_array_foreach(cands, i, v)
        if (strlen(json_string_value(v)) > width)
            width = strlen(json_string_value(v));
    size_t per_line = (size_t)cols / (width + 2) ? (size_t)cols / (width + 2) : 1;
    fputc('\n', stdout);
    json_array_foreach(cands, i, v)
        printf("%-*s%s", (int)width + 2, json_string_value(v),
               (i + 1) % per_line == 0 || i + 1 == json_array_size(cands) ? "\n" : "");
}

/* Splits the line before the cursor into complete words and the word
 * being typed. Returns the number of complete words. */
static int split(const LineInfo *li, char *buf, size_t buflen, char **words, const char **partial)
{
    size_t n = (size_t)(li->cursor - li->buffer);
    if (n >= buflen)
        n = buflen - 1;
    memcpy(buf, li->buffer, n);
    buf[n] = '\0';
    int nw = 0;
    char *p = buf;
    *partial = "";
    while (*p) {
        while (*p == ' ')
            *p++ = '\0';
        if (!*p)
            break;
        char *start = p;
        p += strcspn(p, " ");
        if (!*p) {
            *partial = start;
            break;
        }
        if (nw < MAX_WORDS)
            words[nw++] = start;
    }
    return nw;
}

/* Tab: completes the word under the cursor, or lists what it could be. */
static unsigned char complete(EditLine *el, int ch)
{
    struct shell *s;
    char buf[2048], *words[MAX_WORDS];
    const char *partial;
    const struct cli_verb *verb;
    (void)ch;
    el_get(el, EL_CLIENTDATA, &s);
    int nw = split(el_line(el), buf, sizeof(buf), words, &partial);
    enum cli_complete kind = cli_complete_kind(nw, words, &verb);
    json_t *cands = candidates(s->c, kind, verb, partial);
    size_t common = narrow(cands, partial), have = strlen(partial);
    unsigned char rc = CC_REFRESH;
    if (json_array_size(cands) == 0) {
        rc = CC_REFRESH_BEEP;
    } else if (common > have || json_array_size(cands) == 1) {
        char add[512];
        snprintf(add, sizeof(add), "%.*s%s", (int)(common - have),
                 json_string_value(json_array_get(cands, 0)) + have,
                 json_array_size(cands) == 1 ? " " : "");
        el_insertstr(el, add);
    } else {
        list_matches(cands);
        rc = CC_REDISPLAY;
    }
    json_decref(cands);
    return rc;
}

static void history_path(char *out, size_t outlen)
{
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : ".";
    }
    snprintf(out, outlen, "%s/.gantry_history", home);
}

static int open_editor(struct shell *s)
{
    HistEvent ev;
    if (!(s->el = el_init("gantryctl", stdin, stdout, stderr)) || !(s->hist = history_init()) ||
        !(s->tok = tok_init(NULL)))
        return -1;
    history(s->hist, &ev, H_SETSIZE, 1000);
    history(s->hist, &ev, H_SETUNIQUE, 1);
    history_path(s->path, sizeof(s->path));
    history(s->hist, &ev, H_LOAD, s->path);
    el_set(s->el, EL_EDITOR, "emacs");
    el_set(s->el, EL_PROMPT, prompt);
    el_set(s->el, EL_HIST, history, s->hist);
    el_set(s->el, EL_GETCFN, read_char);
    el_set(s->el, EL_CLIENTDATA, s);
    /* The wide call: the narrow one copies the names and never frees them. */
    el_wset(s->el, EL_ADDFN, L"gantry-complete", L"complete verbs, flags, worker and task ids",
            complete);
    el_set(s->el, EL_BIND, "^I", "gantry-complete", NULL);
    el_source(s->el, NULL);
    return 0;
}

static void close_editor(struct shell *s)
{
    if (s->tok)
        tok_end(s->tok);
    if (s->hist)
        history_end(s->hist);
    if (s->el)
        el_end(s->el);
}

/* Runs one line; returns 1 when it asks to leave. */
static int run_line(struct shell *s, const char *line)
{
    int argc;
    const char **argv;
    tok_reset(s->tok);
    if (tok_str(s->tok, line, &argc, &argv) != 0) {
        fprintf(stderr, "gantryctl: unmatched quote\n");
        return 0;
    }
    if (argc == 0)
        return 0;
    if (argc == 1 && (strcmp(argv[0], "exit") == 0 || strcmp(argv[0], "quit") == 0))
        return 1;
    if (cli_run_words(s->c, argc, (char *const *)argv) == CLI_INTERRUPTED)
        fputc('\n', stdout);
    cli_sig_clear();
    fflush(stdout);
    return 0;
}

static int piped_lines(struct shell *s)
{
    char *line = NULL;
    size_t cap = 0;
    int rc = CLI_OK;
    if (!(s->tok = tok_init(NULL)))
        return CLI_REFUSED;
    while (getline(&line, &cap, stdin) > 0 && !cli_sig_pending()) {
        line[strcspn(line, "\n")] = '\0';
        if (run_line(s, line))
            break;
    }
    free(line);
    return rc;
}

/* shell: the interactive loop (or lines from a pipe). */
int cli_cmd_shell(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    struct shell s = {0};
    (void)cmd;
    s.c = c;
    c->in_shell = 1;
    if (!isatty(STDIN_FILENO)) {
        int rc = piped_lines(&s);
        close_editor(&s);
        return rc;
    }
    if (open_editor(&s) < 0) {
        close_editor(&s);
        fprintf(stderr, "gantryctl: cannot start the line editor\n");
        return CLI_REFUSED;
    }
    for (;;) {
        HistEvent ev;
        int count = 0;
        const char *line = el_gets(s.el, &count);
        if (!line && cli_sig_pending()) {
            cli_sig_clear();
            fputc('\n', stdout);
            continue;
        }
        if (!line)
            break;
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", line);
        size_t n = strcspn(copy, "\n");
        while (n > 0 && (copy[n - 1] == ' ' || copy[n - 1] == '\t'))
            n--;
        copy[n] = '\0';
        if (copy[strspn(copy, " \t")] == '\0')
            continue;
        history(s.hist, &ev, H_ENTER, copy);
        history(s.hist, &ev, H_SAVE, s.path);
        if (run_line(&s, copy))
            break;
    }
    fputc('\n', stdout);
    close_editor(&s);
    return CLI_OK;
}
