/* What the verb files share: the workers table (workers, workers --watch),
 * following a task's output (logs -f, monitor, submit --wait), the live
 * views (top, workers --watch). */
#ifndef GANTRY_CLI_VERBS_H
#define GANTRY_CLI_VERBS_H

#include <jansson.h>

#include "cli.h"
#include "table.h"

/* How a followed task ended. */
struct cli_task_end {
    char status[16];          /* completed, failed, cancelled ("" if not seen) */
    int has_exit_code;
    long exit_code;
    char reason[160];
};

/* What a follow prints of the task's output. */
enum cli_follow_mode {
    CLI_FOLLOW_PRINT,         /* lines to stdout/stderr (--json: the messages) */
    CLI_FOLLOW_QUIET,         /* nothing: only the end matters */
};

struct cli_follow_hooks {
    void (*tick)(void *ud);   /* about once a second (monitor's header) */
    void *ud;
};

void cli_workers_table(const struct cli_ctx *c, const json_t *reply, const char *state,
                       struct cli_table *t);
int cli_follow_task(struct cli_ctx *c, const char *task_id, enum cli_follow_mode mode,
                    const struct cli_follow_hooks *hooks, struct cli_task_end *end);
void cli_print_end(const struct cli_ctx *c, const char *task_id, const struct cli_task_end *e);
int cli_watch_workers(struct cli_ctx *c, const char *state);

#endif
