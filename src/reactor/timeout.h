/* One ev_timer over an idle_list: thousands of objects sharing one timeout
 * cost one timer. Touching is O(1); the timer fires at the oldest member's
 * deadline, expires what is due and re-arms for the next one. */
#ifndef GANTRY_TIMEOUT_H
#define GANTRY_TIMEOUT_H

#include <ev.h>

#include "core/idle.h"

struct timeout_list {
    ev_timer timer;
    struct idle_list list;
    struct ev_loop *loop;
    /* Called for each expired member, already removed from the list. */
    void (*expire)(struct idle_node *n, void *ud);
    void *ud;
};

void timeout_init(struct timeout_list *t, struct ev_loop *loop, double secs,
                  void (*expire)(struct idle_node *, void *), void *ud);
void timeout_touch(struct timeout_list *t, struct idle_node *n);
void timeout_remove(struct timeout_list *t, struct idle_node *n);
void timeout_set(struct timeout_list *t, double secs);
void timeout_stop(struct timeout_list *t);

#endif
