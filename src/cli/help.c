/* gantryctl's manual: the usage lines, `--help` and `help VERB`, written
 * from the verb table so they never disagree with the parser. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Prints the usage line of v, or gantryctl's when v is NULL. */
void cli_usage(FILE *f, const struct cli_verb *v)
{
    if (v)
        fprintf(f, "usage: gantryctl %s%s%s\n", v->name, *v->synopsis ? " " : "", v->synopsis);
    else
        fprintf(f, "%s\n", cli_usage_line);
}

/* Prints paragraph text wrapped at 78 columns, indented by indent. */
static void wrap_at(FILE *f, const char *text, int indent)
{
    const char *p = text;
    size_t room = (size_t)(78 - indent);
    while (*p) {
        size_t n = strlen(p);
        if (n > room) {
            n = room;
            while (n > 0 && p[n] != ' ')
                n--;
            if (n == 0)
                n = strcspn(p, " ");
        }
        fprintf(f, "%*s%.*s\n", indent, "", (int)n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
}

static void wrap(FILE *f, const char *text)
{
    wrap_at(f, text, 7);
}

/* Options as a manual lists them: the flag, then what it does. */
static void options(FILE *f, const struct cli_opt *o)
{
    for (; o->name; o++) {
        char s[8] = "";
        if (o->short_name)
            snprintf(s, sizeof(s), "-%c, ", o->short_name);
        fprintf(f, "       %s--%s%s%s\n", s, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        wrap_at(f, o->help, 14);
    }
}

/* Prints the manual of gantryctl (`gantryctl --help`, `help`). */
void cli_manual(FILE *f)
{
    fprintf(f, "NAME\n       gantryctl - the command line of a Gantry cluster\n\n"
               "SYNOPSIS\n       gantryctl [GLOBAL OPTIONS] VERB [ARGS]\n"
               "       gantryctl              (on a terminal: the interactive shell)\n\n"
               "GLOBAL OPTIONS\n");
    options(f, cli_global_opts);
    fprintf(f, "\nVERBS\n");
    for (const struct cli_verb *v = cli_verbs; v->name; v++) {
        char left[80];
        snprintf(left, sizeof(left), "%s %s", v->name, v->synopsis);
        fprintf(f, "       %-44s %s\n", left, v->summary);
    }
    fprintf(f, "\nOUTPUT\n");
    wrap(f, "On a terminal, aligned tables with colour by state and human units (2.0/8 cores, "
            "3.1/15.6 GiB, 41%, 3s ago); piped, tab-separated lines without a header or "
            "colour, times in RFC 3339. --json prints the API's JSON: indented on a terminal, "
            "one answer per line when piped.");
    fprintf(f, "\nEXIT STATUS\n"
               "       0    done\n"
               "       1    the server refused (its error code and message are printed)\n"
               "       2    usage: an unknown verb or flag, a value that does not parse\n"
               "       3    the server cannot be reached\n"
               "       130  interrupted (Ctrl-C), or a task cancelled under submit --wait\n"
               "       submit --wait exits with the task's exit code (failed without one: 1)\n");
    fprintf(f, "\nENVIRONMENT\n"
               "       GANTRY_SERVER   like --server\n"
               "       GANTRY_TOKEN    like --token\n"
               "       NO_COLOR        like --no-color\n"
               "       HOME            the shell keeps its history in $HOME/.gantry_history\n");
    fprintf(f, "\nEXAMPLES\n"
               "       gantryctl workers\n"
               "       gantryctl submit --cpu 2 --mem 4GiB --wait -- python3 train.py\n"
               "       gantryctl logs -f t-19a4c2e9e3800000\n"
               "       gantryctl --json tasks --status failed | jq -r '.tasks[].task_id'\n"
               "\n       `gantryctl help VERB` shows a verb's manual.\n");
}

/* Prints the manual of one verb (`help VERB`, `VERB --help`). */
void cli_verb_manual(FILE *f, const struct cli_verb *v)
{
    fprintf(f, "NAME\n       gantryctl %s - %s\n\nSYNOPSIS\n       gantryctl %s %s\n\n"
               "DESCRIPTION\n", v->name, v->summary, v->name, v->synopsis);
    wrap(f, v->help);
    if (v->opts->name) {
        fprintf(f, "\nOPTIONS\n");
        options(f, v->opts);
    }
    fprintf(f, "\nEXAMPLE\n       %s\n", v->example);
}

/* help [VERB] */
int cli_cmd_help(struct cli_ctx *c, const struct cli_cmd *cmd)
{
    (void)c;
    if (cmd->nargs == 0) {
        cli_manual(stdout);
        return CLI_OK;
    }
    const struct cli_verb *v = cli_verb_find(cmd->args[0]);
    if (!v) {
        fprintf(stderr, "gantryctl: help: unknown verb '%s'\n", cmd->args[0]);
        cli_usage(stderr, cmd->verb);
        return CLI_USAGE;
    }
    cli_verb_manual(stdout, v);
    return CLI_OK;
}
