#include "notify.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

static ev_timer watchdog;

/* Tells systemd the service is up (Type=notify). */
void notify_ready(const char *status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

/* Sets the one-line status systemctl shows. */
void notify_status(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    sd_notifyf(0, "STATUS=%s", line);
}

/* Tells systemd a graceful stop has begun. */
void notify_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    sd_notify(0, "WATCHDOG=1");
}

/* Starts pinging the watchdog at half its period when WatchdogSec is set.
 * The ping comes from the loop itself, so a stuck loop gets restarted. */
void notify_watchdog_start(struct ev_loop *loop)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return;
    double every = (double)usec / 2e6;
    ev_timer_init(&watchdog, watchdog_cb, every, every);
    ev_timer_start(loop, &watchdog);
    ev_unref(loop);
}

/* Stops the watchdog pings (at shutdown). */
void notify_watchdog_stop(struct ev_loop *loop)
{
    if (ev_is_active(&watchdog)) {
        ev_ref(loop);
        ev_timer_stop(loop, &watchdog);
    }
}
