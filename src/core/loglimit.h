/* A task's output limits, kept the same on the agent (which holds back
 * and drops before sending) and on the master (which does not trust the
 * agent): at most `rate` bytes a second and `max` in all; what is cut is
 * counted and a marker line, at most one a second, tells the reader. */
#ifndef GANTRY_LOGLIMIT_H
#define GANTRY_LOGLIMIT_H

#include <stddef.h>
#include <stdint.h>

struct log_limit {
    double second;                /* the second `window` counts */
    size_t window;                /* bytes kept in that second */
    uint64_t kept, cut;           /* in all */
    uint64_t told;                /* of cut, what a marker told */
    double marked;                /* the second of the last marker */
};

size_t log_limit_admit(struct log_limit *l, size_t rate, size_t max, size_t len, double now);
int log_limit_marker(struct log_limit *l, size_t rate, size_t max, int final, char *line,
                     size_t linelen);

#endif
