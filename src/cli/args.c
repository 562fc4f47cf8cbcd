/* Parsing gantryctl's words: global options anywhere, one verb, its
 * options (--name VALUE, --name=VALUE, -x VALUE) and positional arguments,
 * and "--" before a command. Each value is checked for its kind here, so
 * the message names the flag. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "core/parse.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Parses a size for --mem or --storage into MiB, rounded up: "512MiB",
 * "2GiB", "1.5G"; a bare number is MiB, as the API counts. Returns 0, or -1
 * with the reason in err. */
int cli_parse_mib(const char *s, int64_t *mib, char *err, size_t errlen)
{
    static const struct {
        const char *unit;
        double mib;
    } units[] = {
        {"", 1}, {"B", 1.0 / 1048576}, {"KiB", 1.0 / 1024}, {"MiB", 1}, {"GiB", 1024},
        {"TiB", 1048576}, {"K", 1.0 / 1024}, {"M", 1}, {"G", 1024}, {"T", 1048576},
        {"KB", 1e3 / 1048576}, {"MB", 1e6 / 1048576}, {"GB", 1e9 / 1048576},
        {"TB", 1e12 / 1048576},
    };
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || !isdigit((unsigned char)*s) || errno || !isfinite(v))
        return fail(err, errlen, "not a size (use 512MiB, 2GiB)");
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].unit) != 0)
            continue;
        double m = ceil(v * units[i].mib);
        if (m > 1e12)
            return fail(err, errlen, "too large a size");
        *mib = (int64_t)m;
        return 0;
    }
    return fail(err, errlen, "not a size (use 512MiB, 2GiB)");
}

static int check_kv(const char *v)
{
    const char *eq = strchr(v, '=');
    return eq && eq != v ? 0 : -1;
}

static int check_kvlist(const char *v)
{
    const char *p = v;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq || eq == p)
            return -1;
        p += n;
        if (*p == ',' && !*++p)
            return -1;
    }
    return *v ? 0 : -1;
}

/* Checks v against o's kind. Returns 0, or -1 with a message naming the
 * flag in err. */
int cli_check_value(const struct cli_opt *o, const char *v, char *err, size_t errlen)
{
    char why[96];
    double d;
    int64_t mib;
    switch (o->type) {
    case CLI_INT:
        if (parse_double(v, &d, why, sizeof(why)) < 0 || d < 0 || d != floor(d) || d > 1e9)
            return fail(err, errlen, "--%s: '%s' is not a whole number", o->name, v);
        return 0;
    case CLI_NUM:
        if (parse_double(v, &d, why, sizeof(why)) < 0 || d < 0)
            return fail(err, errlen, "--%s: '%s' is not a number", o->name, v);
        return 0;
    case CLI_SIZE:
        if (cli_parse_mib(v, &mib, why, sizeof(why)) < 0)
            return fail(err, errlen, "--%s: '%s' is %s", o->name, v, why);
        return 0;
    case CLI_DUR:
        if (parse_duration(v, &d, why, sizeof(why)) < 0)
            return fail(err, errlen, "--%s: '%s' is %s", o->name, v, why);
        return 0;
    case CLI_KV:
        if (check_kv(v) < 0)
            return fail(err, errlen, "--%s: '%s' is not KEY=VALUE", o->name, v);
        return 0;
    case CLI_KVLIST:
        if (check_kvlist(v) < 0)
            return fail(err, errlen, "--%s: '%s' is not k=v,k2=v2", o->name, v);
        return 0;
    default:
        return 0;
    }
}

static void set_global(struct cli_globals *g, const struct cli_opt *o, const char *v)
{
    if (strcmp(o->name, "server") == 0)
        g->server = v;
    else if (strcmp(o->name, "token") == 0)
        g->token = v;
    else if (strcmp(o->name, "cacert") == 0)
        g->cacert = v;
    else if (strcmp(o->name, "json") == 0)
        g->json = 1;
    else if (strcmp(o->name, "no-color") == 0)
        g->no_color = 1;
    else if (strcmp(o->name, "help") == 0)
        g->help = 1;
    else if (strcmp(o->name, "version") == 0)
        g->version = 1;
}

/* Finds the option a word names: --name[=v] or -x. */
static const struct cli_opt *lookup(const struct cli_cmd *cmd, const char *word, int *global,
                                    char *name, size_t namelen, const char **inline_value)
{
    char shortc = 0;
    *inline_value = NULL;
    if (word[1] == '-') {
        const char *eq = strchr(word + 2, '=');
        size_t n = eq ? (size_t)(eq - word - 2) : strlen(word + 2);
        snprintf(name, namelen, "%.*s", (int)n, word + 2);
        if (eq)
            *inline_value = eq + 1;
    } else {
        shortc = word[1];
        snprintf(name, namelen, "%s", word + 1);
    }
    const char *key = shortc ? NULL : name;
    const struct cli_opt *o = cli_opt_find(cli_global_opts, key, shortc);
    *global = o != NULL;
    if (!o && cmd->verb)
        o = cli_opt_find(cmd->verb->opts, key, shortc);
    return o;
}

static int is_option(const char *w)
{
    return w[0] == '-' && ((w[1] == '-' && w[2]) || (isalpha((unsigned char)w[1]) && !w[2]));
}

/* One option word (and maybe the value after it). Returns the number of
 * words used, or -1. */
static int take_option(int argc, char *const *argv, int i, struct cli_globals *g,
                       struct cli_cmd *cmd, char *err, size_t errlen)
{
    char name[64];
    const char *v;
    int global;
    const struct cli_opt *o = lookup(cmd, argv[i], &global, name, sizeof(name), &v);
    int used = 1;
    if (!o)
        return fail(err, errlen, "unknown flag %s%s%s", argv[i][1] == '-' ? "--" : "-", name,
                    cmd->verb ? "" : " (or it belongs after a verb)");
    if (o->type == CLI_FLAG && v)
        return fail(err, errlen, "--%s takes no value", o->name);
    if (o->type != CLI_FLAG && !v) {
        if (i + 1 >= argc)
            return fail(err, errlen, "--%s needs a value (%s)", o->name, o->arg);
        v = argv[i + 1];
        used = 2;
    }
    if (o->type == CLI_FLAG)
        v = "1";
    if (cli_check_value(o, v, err, errlen) < 0)
        return -1;
    if (global) {
        set_global(g, o, v);
    } else {
        if (cmd->nset == CLI_MAX_SET)
            return fail(err, errlen, "too many options");
        cmd->set[cmd->nset].opt = o;
        cmd->set[cmd->nset].value = v;
        cmd->nset++;
    }
    return used;
}

static int take_word(const char *w, struct cli_cmd *cmd, char *err, size_t errlen)
{
    if (!cmd->verb) {
        if (!(cmd->verb = cli_verb_find(w)))
            return fail(err, errlen, "unknown verb '%s'", w);
        return 0;
    }
    if (cmd->nargs == cmd->verb->max_args || cmd->nargs == CLI_MAX_ARGS)
        return fail(err, errlen, "unexpected argument '%s'", w);
    cmd->args[cmd->nargs++] = w;
    return 0;
}

/* Parses words (argv without the program name, or a shell line's) into g
 * (global options, left as they are unless given) and cmd. Returns 0, or
 * -1 with the message in err; cmd->verb is then set when the verb was
 * known, so its usage line can be printed. No verb at all is not an error
 * here (cmd->verb stays NULL). */
int cli_parse(int argc, char *const *argv, struct cli_globals *g, struct cli_cmd *cmd,
              char *err, size_t errlen)
{
    memset(cmd, 0, sizeof(*cmd));
    for (int i = 0; i < argc;) {
        const char *w = argv[i];
        if (strcmp(w, "--") == 0) {
            if (!cmd->verb || !cmd->verb->takes_rest)
                return fail(err, errlen, "unexpected '--'%s",
                            cmd->verb ? "" : " before a verb");
            cmd->rest = argv + i + 1;
            cmd->nrest = argc - i - 1;
            break;
        }
        if (is_option(w)) {
            int used = take_option(argc, argv, i, g, cmd, err, errlen);
            if (used < 0)
                return -1;
            i += used;
            continue;
        }
        if (take_word(w, cmd, err, errlen) < 0)
            return -1;
        i++;
    }
    if (cmd->verb && !g->help && cmd->nargs < cmd->verb->min_args)
        return fail(err, errlen, "%s needs %s", cmd->verb->name, cmd->verb->synopsis);
    return 0;
}

/* Returns the value of the option's last use, or NULL. */
const char *cli_opt_value(const struct cli_cmd *cmd, const char *name)
{
    for (int i = cmd->nset - 1; i >= 0; i--)
        if (strcmp(cmd->set[i].opt->name, name) == 0)
            return cmd->set[i].value;
    return NULL;
}

/* Returns non-zero when the option was given. */
int cli_opt_flag(const struct cli_cmd *cmd, const char *name)
{
    return cli_opt_value(cmd, name) != NULL;
}

/* Says what the word after `words` (the complete words before the cursor)
 * is: a verb, the value of an option, a flag or a positional argument of
 * the verb. Sets *verb to the verb when one is known. */
enum cli_complete cli_complete_kind(int argc, char *const *words, const struct cli_verb **verb)
{
    *verb = NULL;
    int nargs = 0;
    for (int i = 0; i < argc; i++) {
        const char *w = words[i];
        if (strcmp(w, "--") == 0)
            return CLI_C_NONE;
        if (is_option(w)) {
            const struct cli_opt *o = cli_opt_find(cli_global_opts, w[1] == '-' ? w + 2 : NULL,
                                                   w[1]);
            if (!o && *verb)
                o = cli_opt_find((*verb)->opts, w[1] == '-' ? w + 2 : NULL, w[1]);
            if (o && o->type != CLI_FLAG && !strchr(w, '=')) {
                if (i + 1 == argc)
                    return o->complete;
                i++;
            }
            continue;
        }
        if (!*verb) {
            if (!(*verb = cli_verb_find(w)))
                return CLI_C_NONE;
        } else {
            nargs++;
        }
    }
    if (!*verb)
        return CLI_C_VERB;
    return nargs < (*verb)->max_args ? (*verb)->arg_complete : CLI_C_NONE;
}
