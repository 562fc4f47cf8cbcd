#include "timeout.h"

static void timeout_arm(struct timeout_list *t)
{
    double deadline;
    if (idle_next_deadline(&t->list, &deadline) < 0) {
        ev_timer_stop(t->loop, &t->timer);
        return;
    }
    double in = deadline - ev_now(t->loop);
    ev_timer_stop(t->loop, &t->timer);
    ev_timer_set(&t->timer, in > 0.001 ? in : 0.001, 0.);
    ev_timer_start(t->loop, &t->timer);
}

static void timeout_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct timeout_list *t = w->data;
    struct idle_node *n;
    (void)revents;
    /* Expire against the real time: callbacks may run long. */
    ev_now_update(loop);
    while ((n = idle_pop_expired(&t->list, ev_now(loop))))
        t->expire(n, t->ud);
    timeout_arm(t);
}

/* Prepares an empty list with one timer; expire is called for each member
 * quiet for secs. */
void timeout_init(struct timeout_list *t, struct ev_loop *loop, double secs,
                  void (*expire)(struct idle_node *, void *), void *ud)
{
    ev_init(&t->timer, timeout_fire);
    t->timer.data = t;
    t->loop = loop;
    t->expire = expire;
    t->ud = ud;
    idle_list_init(&t->list, secs);
}

/* Records activity on n now. The timer only starts when the list was empty:
 * a touch moves n later, never earlier, so the armed deadline stays safe. */
void timeout_touch(struct timeout_list *t, struct idle_node *n)
{
    int was_empty = t->list.count == 0;
    idle_touch(&t->list, n, ev_now(t->loop));
    if (was_empty || !ev_is_active(&t->timer))
        timeout_arm(t);
}

/* Takes n out of the list (no-op when it is not in it). */
void timeout_remove(struct timeout_list *t, struct idle_node *n)
{
    idle_remove(&t->list, n);
}

/* Changes the timeout for every member (configuration reload). */
void timeout_set(struct timeout_list *t, double secs)
{
    t->list.timeout = secs;
    timeout_arm(t);
}

/* Stops the timer; members stay listed. */
void timeout_stop(struct timeout_list *t)
{
    ev_timer_stop(t->loop, &t->timer);
}
