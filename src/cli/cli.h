/* gantryctl: the command line of the people who run the cluster. The HTTP
 * API is its only channel. This header holds what every verb shares: the
 * exit statuses, the run context (server, output mode) and the verb
 * handlers that main and the shell dispatch to. */
#ifndef GANTRY_CLI_H
#define GANTRY_CLI_H

#include <jansson.h>
#include <stdio.h>

#include "args.h"

/* Exit statuses (SPEC section 1), and 130 for an interrupted follow or a
 * cancelled task under --wait. */
enum cli_exit {
    CLI_OK = 0,
    CLI_REFUSED = 1,
    CLI_USAGE = 2,
    CLI_UNREACHABLE = 3,
    CLI_INTERRUPTED = 130,
};

struct cli_http;

struct cli_ctx {
    struct cli_http *http;
    const char *servers;      /* as given: URL or URL,URL */
    int json;                 /* --json: the API's JSON only */
    int tty;                  /* stdout is a terminal: tables, human units */
    int color;                /* colour escapes on stdout */
    int in_shell;             /* running a line of the interactive shell */
};

typedef int (*cli_verb_fn)(struct cli_ctx *c, const struct cli_cmd *cmd);

int cli_run(struct cli_ctx *c, const struct cli_globals *g, const struct cli_cmd *cmd);
int cli_run_words(struct cli_ctx *c, int argc, char *const *argv);
struct cli_http *cli_connect(struct cli_ctx *c, const struct cli_globals *g);

void cli_usage(FILE *f, const struct cli_verb *v);
void cli_manual(FILE *f);
void cli_verb_manual(FILE *f, const struct cli_verb *v);

int cli_cmd_status(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_workers(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_worker(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_register(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_drain(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_unregister(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_submit(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_tasks(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_task(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_cancel(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_logs(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_monitor(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_events(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_gpus(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_gpu(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_top(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_shell(struct cli_ctx *c, const struct cli_cmd *cmd);
int cli_cmd_help(struct cli_ctx *c, const struct cli_cmd *cmd);

#endif
