/* systemd integration: READY/STATUS/STOPPING notifications and the
 * watchdog keep-alive, all no-ops when not run by systemd. */
#ifndef GANTRY_NOTIFY_H
#define GANTRY_NOTIFY_H

#include <ev.h>

void notify_ready(const char *status);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_stopping(void);
void notify_watchdog_start(struct ev_loop *loop);
void notify_watchdog_stop(struct ev_loop *loop);

#endif
