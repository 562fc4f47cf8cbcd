/* gantryctl: everything a person does with a Gantry cluster, from one
 * program: `gantryctl VERB ...` for scripts and quick looks, and with no
 * verb on a terminal the interactive shell. The HTTP API is its only
 * channel. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "http.h"
#include "term.h"

static int color_wanted(const struct cli_globals *g)
{
    const char *no = getenv("NO_COLOR");
    return isatty(STDOUT_FILENO) && !g->no_color && !(no && *no);
}

/* Parses the command line and runs the verb, or the shell when there is
 * none on a terminal. Returns the exit status. */
int main(int argc, char **argv)
{
    struct cli_globals g;
    struct cli_cmd cmd;
    char err[256];
    setlocale(LC_CTYPE, "");
    memset(&g, 0, sizeof(g));
    if (cli_parse(argc - 1, argv + 1, &g, &cmd, err, sizeof(err)) < 0) {
        fprintf(stderr, "gantryctl: %s\n", err);
        cli_usage(stderr, cmd.verb);
        return CLI_USAGE;
    }
    int shell = !cmd.verb && !g.help && !g.version;
    if (shell && !(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))) {
        fprintf(stderr, "gantryctl: no verb (the shell needs a terminal; try gantryctl help)\n");
        cli_usage(stderr, NULL);
        return CLI_USAGE;
    }
    if (shell)
        cmd.verb = cli_verb_find("shell");
    struct cli_ctx c = {0};
    c.json = g.json;
    c.tty = isatty(STDOUT_FILENO);
    c.color = color_wanted(&g);
    if (cli_sig_init() < 0) {
        perror("gantryctl: pipe");
        return CLI_REFUSED;
    }
    if (!g.help && !g.version && !(c.http = cli_connect(&c, &g)))
        return CLI_USAGE;
    int rc = cli_run(&c, &g, &cmd);
    cli_http_free(c.http);
    return rc;
}
