/* Exit statuses and the colours of states. */
#include "outcome.h"

#include <string.h>

#include "cli.h"

/* The exit status for an HTTP answer: 0 for 2xx, 1 for a refusal (any
 * other status), 3 when no server answered (status 0). */
int cli_exit_for_http(long status)
{
    if (status == 0)
        return CLI_UNREACHABLE;
    return status >= 200 && status < 300 ? CLI_OK : CLI_REFUSED;
}

/* The exit status of `submit --wait` for a task that ended: 0 for a
 * completed one; a failed one's exit code, or 1 without one (or with one
 * that is 0 or not a status a process can have); 130 for a cancelled one. */
int cli_exit_for_task(const char *status, int has_exit_code, long exit_code)
{
    if (strcmp(status, "cancelled") == 0)
        return CLI_INTERRUPTED;
    if (strcmp(status, "completed") == 0)
        return CLI_OK;
    if (has_exit_code && exit_code > 0 && exit_code < 256)
        return (int)exit_code;
    return CLI_REFUSED;
}

/* The SGR colour of a worker state, task status or event outcome: green
 * for healthy and done, cyan for running, yellow for waiting or winding
 * down, red for failed or gone, magenta for cancelled; NULL for others. */
const char *cli_state_color(const char *state)
{
    static const struct {
        const char *name, *sgr;
    } colors[] = {
        {"active", "32"}, {"completed", "32"}, {"up", "32"}, {"healthy", "32"},
        {"ok", "32"}, {"running", "36"}, {"assigned", "36"}, {"queued", "33"},
        {"draining", "33"}, {"inactive", "33"}, {"degraded", "33"}, {"offline", "31"},
        {"failed", "31"}, {"down", "31"}, {"lost", "31"}, {"removed", "31"},
        {"cancelled", "35"},
    };
    if (!state)
        return NULL;
    /* Events: "task.completed" takes the colour of "completed". */
    const char *dot = strrchr(state, '.');
    if (dot)
        state = dot + 1;
    for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]); i++)
        if (strcmp(colors[i].name, state) == 0)
            return colors[i].sgr;
    return NULL;
}
