/* Dispatch: a parsed command to its verb, with the global options that
 * came with it (a shell line may carry its own --json or --server). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "http.h"

static const struct {
    const char *name;
    cli_verb_fn fn;
} handlers[] = {
    {"status", cli_cmd_status},       {"workers", cli_cmd_workers},
    {"worker", cli_cmd_worker},       {"register", cli_cmd_register},
    {"drain", cli_cmd_drain},         {"unregister", cli_cmd_unregister},
    {"submit", cli_cmd_submit},       {"tasks", cli_cmd_tasks},
    {"task", cli_cmd_task},           {"logs", cli_cmd_logs},
    {"monitor", cli_cmd_monitor},     {"cancel", cli_cmd_cancel},
    {"events", cli_cmd_events},       {"gpus", cli_cmd_gpus},
    {"gpu", cli_cmd_gpu},             {"top", cli_cmd_top},
    {"shell", cli_cmd_shell},         {"help", cli_cmd_help},
};

/* Makes the HTTP client for g's server, token and CA file (the
 * environment's when not given). Returns NULL after printing why (a usage
 * error). */
struct cli_http *cli_connect(struct cli_ctx *c, const struct cli_globals *g)
{
    char err[256];
    const char *server = g->server ? g->server : getenv("GANTRY_SERVER");
    const char *token = g->token ? g->token : getenv("GANTRY_TOKEN");
    if (!server || !*server)
        server = "http://127.0.0.1:8080";
    struct cli_http *h = cli_http_new(server, token, g->cacert, err, sizeof(err));
    if (!h) {
        fprintf(stderr, "gantryctl: %s\n", err);
        return NULL;
    }
    c->servers = server;
    return h;
}

static cli_verb_fn handler_of(const struct cli_verb *v)
{
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
        if (strcmp(handlers[i].name, v->name) == 0)
            return handlers[i].fn;
    return NULL;
}

/* Runs cmd with the context c, adjusted by the global options g given
 * with it: --help and --version answer at once; --json and --no-color
 * apply to this command; --server, --token or --cacert make a client for
 * it alone. Returns the exit status. */
int cli_run(struct cli_ctx *c, const struct cli_globals *g, const struct cli_cmd *cmd)
{
    if (g->version) {
        printf("gantryctl %s\n", GANTRY_VERSION);
        return CLI_OK;
    }
    if (g->help) {
        if (cmd->verb)
            cli_verb_manual(stdout, cmd->verb);
        else
            cli_manual(stdout);
        return CLI_OK;
    }
    if (!cmd->verb)
        return CLI_OK;
    struct cli_ctx run = *c;
    run.json = c->json || g->json;
    run.color = c->color && !g->no_color;
    int own = c->in_shell && (g->server || g->token || g->cacert);
    if (own && !(run.http = cli_connect(&run, g)))
        return CLI_USAGE;
    int rc = handler_of(cmd->verb)(&run, cmd);
    if (own)
        cli_http_free(run.http);
    return rc;
}

/* Parses and runs one shell line's words. Returns the exit status. */
int cli_run_words(struct cli_ctx *c, int argc, char *const *argv)
{
    struct cli_globals g;
    struct cli_cmd cmd;
    char err[256];
    memset(&g, 0, sizeof(g));
    if (cli_parse(argc, argv, &g, &cmd, err, sizeof(err)) < 0) {
        fprintf(stderr, "gantryctl: %s\n", err);
        cli_usage(stderr, cmd.verb);
        return CLI_USAGE;
    }
    if (cmd.verb && strcmp(cmd.verb->name, "shell") == 0) {
        fprintf(stderr, "gantryctl: this is the shell already\n");
        return CLI_USAGE;
    }
    return cli_run(c, &g, &cmd);
}
