/* Timeout lists: many objects sharing one timeout, kept in order of last
 * activity. Touching an object moves it to the tail in O(1); the oldest is at
 * the head, so expiry pops from the head until it finds one still fresh.
 * Pure bookkeeping: the caller owns the clock and the timer (see
 * reactor/timeout.h). */
#ifndef GANTRY_IDLE_H
#define GANTRY_IDLE_H

#include "list.h"

struct idle_node {
    struct list_node link;
    double last;              /* time of the last activity */
};

struct idle_list {
    struct list_node head;
    double timeout;           /* seconds an object may stay quiet */
    unsigned long count;
};

void idle_list_init(struct idle_list *l, double timeout);
void idle_node_init(struct idle_node *n);
void idle_touch(struct idle_list *l, struct idle_node *n, double now);
void idle_remove(struct idle_list *l, struct idle_node *n);
struct idle_node *idle_pop_expired(struct idle_list *l, double now);
int idle_next_deadline(const struct idle_list *l, double *deadline);

static inline int idle_member(const struct idle_node *n)
{
    return list_linked(&n->link);
}

#endif
