/* Output limits of a task (see loglimit.h). Pure: the callers give the
 * time. */
#include "loglimit.h"

#include <math.h>
#include <stdio.h>

/* Returns how many of len bytes may be kept at time now (rate 0: no
 * limit); the rest is counted as cut. */
size_t log_limit_admit(struct log_limit *l, size_t rate, size_t max, size_t len, double now)
{
    if (rate == 0) {
        l->kept += len;
        return len;
    }
    double second = floor(now);
    if (second != l->second) {
        l->second = second;
        l->window = 0;
    }
    size_t room = rate > l->window ? rate - l->window : 0;
    if (max && l->kept + room > max)
        room = l->kept < max ? (size_t)(max - l->kept) : 0;
    size_t keep = len < room ? len : room;
    l->window += keep;
    l->kept += keep;
    l->cut += len - keep;
    return keep;
}

/* Writes the marker line due now into line (what was cut since the last
 * one; at most one a second unless final, at the task's end). Returns its
 * length, or 0 when none is due. */
int log_limit_marker(struct log_limit *l, size_t rate, size_t max, int final, char *line,
                     size_t linelen)
{
    if (l->cut == l->told || (!final && l->marked == l->second))
        return 0;
    int n = snprintf(line, linelen,
                     "gantry: %llu bytes of this task's output dropped (limits: tasks.log_rate "
                     "%zu bytes/s, tasks.log_max %zu bytes)\n",
                     (unsigned long long)(l->cut - l->told), rate, max);
    l->told = l->cut;
    l->marked = l->second;
    return n > 0 && (size_t)n < linelen ? n : 0;
}
