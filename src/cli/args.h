/* gantryctl's command line: the verbs and their options (spec.c), and the
 * parser that turns words (from argv or a shell line) into a command,
 * checking every value's syntax so a bad size or duration is refused
 * before anything is sent. Pure: no I/O. */
#ifndef GANTRY_CLI_ARGS_H
#define GANTRY_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

/* What an option's value must be. */
enum cli_val {
    CLI_FLAG,                 /* no value */
    CLI_STR,
    CLI_INT,                  /* a whole number >= 0 */
    CLI_NUM,                  /* a number >= 0 */
    CLI_SIZE,                 /* 512MiB, 2GiB; a bare number is MiB */
    CLI_DUR,                  /* 500ms, 5s, 2m */
    CLI_KV,                   /* k=v */
    CLI_KVLIST,               /* k=v,k2=v2 */
};

/* What Tab offers for a word. */
enum cli_complete {
    CLI_C_NONE,
    CLI_C_VERB,
    CLI_C_WORKER,
    CLI_C_TASK,
    CLI_C_GPU,
    CLI_C_HOST,
    CLI_C_WORKER_STATE,
    CLI_C_TASK_STATUS,
};

struct cli_opt {
    const char *name;         /* long name, without "--" */
    char short_name;          /* 'f' for -f, or 0 */
    enum cli_val type;
    const char *arg;          /* the value's name in help: "SIZE" */
    const char *help;
    enum cli_complete complete;
};

struct cli_verb {
    const char *name;
    const char *synopsis;     /* what follows the verb in the usage line */
    const char *summary;      /* one line */
    const char *help;         /* the DESCRIPTION paragraph of `help VERB` */
    const char *example;
    const struct cli_opt *opts; /* ends with a NULL name */
    int min_args, max_args;   /* positional arguments */
    enum cli_complete arg_complete;
    int takes_rest;           /* "-- CMD ARG..." */
};

#define CLI_MAX_ARGS 4
#define CLI_MAX_SET 64

/* A parsed command: the verb, its positional arguments, the options given
 * (in order; repeatable ones appear once per use), and the words after
 * "--". Values point into the parsed words. */
struct cli_cmd {
    const struct cli_verb *verb;
    const char *args[CLI_MAX_ARGS];
    int nargs;
    struct {
        const struct cli_opt *opt;
        const char *value;
    } set[CLI_MAX_SET];
    int nset;
    char *const *rest;
    int nrest;
};

/* The options every verb takes. */
struct cli_globals {
    const char *server;
    const char *token;
    const char *cacert;
    int json, no_color, help, version;
};

extern const struct cli_verb cli_verbs[];
extern const struct cli_opt cli_global_opts[];
extern const char cli_usage_line[];

const struct cli_verb *cli_verb_find(const char *name);
const struct cli_opt *cli_opt_find(const struct cli_opt *opts, const char *name,
                                   char short_name);

int cli_parse(int argc, char *const *argv, struct cli_globals *g, struct cli_cmd *cmd,
              char *err, size_t errlen);
int cli_check_value(const struct cli_opt *o, const char *v, char *err, size_t errlen);
const char *cli_opt_value(const struct cli_cmd *cmd, const char *name);
int cli_opt_flag(const struct cli_cmd *cmd, const char *name);

int cli_parse_mib(const char *s, int64_t *mib, char *err, size_t errlen);

enum cli_complete cli_complete_kind(int argc, char *const *words,
                                    const struct cli_verb **verb);

#endif
