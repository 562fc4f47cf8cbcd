#include "idle.h"

/* Prepares an empty list whose members expire after timeout seconds. */
void idle_list_init(struct idle_list *l, double timeout)
{
    list_init(&l->head);
    l->timeout = timeout;
    l->count = 0;
}

/* Marks n as belonging to no list. */
void idle_node_init(struct idle_node *n)
{
    n->link.prev = n->link.next = NULL;
    n->last = 0;
}

/* Records activity at now: n moves (or is added) to the tail. O(1). */
void idle_touch(struct idle_list *l, struct idle_node *n, double now)
{
    if (idle_member(n))
        list_unlink(&n->link);
    else
        l->count++;
    n->last = now;
    list_insert_tail(&l->head, &n->link);
}

/* Takes n out of l if it is there. */
void idle_remove(struct idle_list *l, struct idle_node *n)
{
    if (!idle_member(n))
        return;
    list_unlink(&n->link);
    l->count--;
}

/* Removes and returns the oldest member if it has been quiet for at least
 * the list's timeout at now, else NULL. Call until NULL to expire all. */
struct idle_node *idle_pop_expired(struct idle_list *l, double now)
{
    struct list_node *first = list_first(&l->head);
    if (!first)
        return NULL;
    struct idle_node *n = container_of(first, struct idle_node, link);
    if (now - n->last < l->timeout)
        return NULL;
    idle_remove(l, n);
    return n;
}

/* Stores in *deadline when the oldest member expires. Returns 0, or -1 when
 * the list is empty. */
int idle_next_deadline(const struct idle_list *l, double *deadline)
{
    struct list_node *first = list_first(&l->head);
    if (!first)
        return -1;
    *deadline = container_of(first, struct idle_node, link)->last + l->timeout;
    return 0;
}
