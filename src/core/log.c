#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_level = LOG_INFO;
static int log_journal;
static const char *log_prog = "gantry";

static const char *const log_names[] = {"error", "warn", "info", "debug"};
/* syslog priorities: err, warning, info, debug */
static const int log_prio[] = {3, 4, 6, 7};

/* Names the program in log lines and detects journald on stderr. */
void log_init(const char *prog)
{
    log_prog = prog;
    log_journal = getenv("JOURNAL_STREAM") != NULL;
}

/* Sets the most verbose level printed. */
void log_set_level(enum log_level level)
{
    log_level = level;
}

/* Returns the current level. */
enum log_level log_get_level(void)
{
    return log_level;
}

/* Parses "error", "warn", "info" or "debug". Returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i <= LOG_DEBUG; i++) {
        if (strcmp(s, log_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return -1;
}

/* Returns the level's name as log_level_parse accepts it. */
const char *log_level_name(enum log_level level)
{
    return log_names[level];
}

/* Prints one line at level if the current level lets it through. */
void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char line[2048];
    size_t n;
    if (log_journal) {
        n = (size_t)snprintf(line, sizeof(line), "<%d>", log_prio[level]);
    } else {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03dZ %s[%d] %s: ",
                              (int)(tv.tv_usec / 1000), log_prog, (int)getpid(),
                              log_names[level]);
    }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += (size_t)m;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    fwrite(line, 1, n, stderr);
}
