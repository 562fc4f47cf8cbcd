#include "driver.h"

#define MIN_EXPIRE_WAIT 0.01
#define MAX_EXPIRE_WAIT 0.25

static struct {
    struct ev_loop *loop;
    struct cluster *cl;
    ev_timer expire;
    ev_timer tick;                /* the periodic pass */
    ev_timer soon;                /* a prompt pass, or the next slice */
    int held;                     /* no passes (state not rebuilt yet) */
} D;

static void expire_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    double now = ev_now(loop);
    double next = cluster_expire(D.cl, now) - now;
    if (next < MIN_EXPIRE_WAIT)
        next = MIN_EXPIRE_WAIT;
    /* Bounded: a worker joining an empty list needs no re-arm. */
    if (next > MAX_EXPIRE_WAIT)
        next = MAX_EXPIRE_WAIT;
    ev_timer_set(&D.expire, next, 0.);
    ev_timer_start(loop, &D.expire);
}

static void schedule_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    if (!D.held && cluster_schedule(D.cl, ev_now(loop), D.cl->cfg.slice))
        driver_kick();
}

/* Holds (1) or lets (0) scheduling passes run. */
void driver_hold(int hold)
{
    D.held = hold;
}

/* Schedules a pass on the next loop turn (no-op if one is due already). */
void driver_kick(void)
{
    if (D.loop && !ev_is_active(&D.soon)) {
        ev_timer_set(&D.soon, 0., 0.);
        ev_timer_start(D.loop, &D.soon);
    }
}

/* Capacity may have grown, or work arrived: schedule soon. */
static void on_event(void *ud, const struct cluster_event *ev)
{
    (void)ud;
    if (ev->type == CE_WORKER_JOINED || ev->type == CE_TASK_SUBMITTED ||
        (ev->type == CE_WORKER_STATE && ev->w->state == WS_ACTIVE) ||
        (ev->type == CE_TASK_STATE && (task_status_terminal(ev->t->status) ||
                                       ev->t->status == TS_QUEUED)))
        driver_kick();
}

/* Starts the timers for cl. Returns 0 or -1. */
int driver_start(struct ev_loop *loop, struct cluster *cl, double interval)
{
    D.loop = loop;
    D.cl = cl;
    ev_timer_init(&D.expire, expire_cb, MAX_EXPIRE_WAIT, 0.);
    ev_timer_init(&D.tick, schedule_cb, interval, interval);
    ev_timer_init(&D.soon, schedule_cb, 0., 0.);
    ev_timer_start(loop, &D.expire);
    ev_timer_start(loop, &D.tick);
    ev_unref(loop);
    ev_unref(loop);
    return cluster_observe(cl, on_event, NULL);
}

/* Changes the periodic pass's interval (reload). */
void driver_set_interval(double interval)
{
    D.tick.repeat = interval;
    ev_timer_again(D.loop, &D.tick);
}

/* Stops every timer (shutdown). */
void driver_stop(void)
{
    ev_ref(D.loop);
    ev_ref(D.loop);
    ev_timer_stop(D.loop, &D.expire);
    ev_timer_stop(D.loop, &D.tick);
    ev_timer_stop(D.loop, &D.soon);
}
