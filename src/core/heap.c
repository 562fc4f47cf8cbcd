#include "heap.h"

#include <stdlib.h>

/* Prepares an empty heap ordered by before. */
void heap_init(struct heap *h, int (*before)(const void *, const void *),
               void (*moved)(void *, size_t))
{
    h->items = NULL;
    h->len = h->cap = 0;
    h->before = before;
    h->moved = moved;
}

/* Frees the array (the items belong to the caller). */
void heap_free(struct heap *h)
{
    free(h->items);
    h->items = NULL;
    h->len = h->cap = 0;
}

static void place(struct heap *h, size_t pos, void *item)
{
    h->items[pos] = item;
    h->moved(item, pos);
}

static void sift_up(struct heap *h, size_t pos)
{
    void *item = h->items[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!h->before(item, h->items[parent]))
            break;
        place(h, pos, h->items[parent]);
        pos = parent;
    }
    place(h, pos, item);
}

static void sift_down(struct heap *h, size_t pos)
{
    void *item = h->items[pos];
    for (;;) {
        size_t child = 2 * pos + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && h->before(h->items[child + 1], h->items[child]))
            child++;
        if (!h->before(h->items[child], item))
            break;
        place(h, pos, h->items[child]);
        pos = child;
    }
    place(h, pos, item);
}

/* Adds item. Returns 0, or -1 when memory is exhausted. */
int heap_push(struct heap *h, void *item)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        void **n = realloc(h->items, cap * sizeof(*n));
        if (!n)
            return -1;
        h->items = n;
        h->cap = cap;
    }
    h->items[h->len++] = item;
    sift_up(h, h->len - 1);
    return 0;
}

/* Returns the first item without removing it, or NULL. */
void *heap_peek(const struct heap *h)
{
    return h->len ? h->items[0] : NULL;
}

/* Removes the item at pos (as recorded through moved). */
void heap_remove(struct heap *h, size_t pos)
{
    void *gone = h->items[pos];
    h->len--;
    if (pos != h->len) {
        h->items[pos] = h->items[h->len];
        h->moved(h->items[pos], pos);
        sift_down(h, pos);
        sift_up(h, pos);
    }
    h->moved(gone, (size_t)-1);
}

/* Removes and returns the first item, or NULL when empty. */
void *heap_pop(struct heap *h)
{
    if (!h->len)
        return NULL;
    void *top = h->items[0];
    heap_remove(h, 0);
    return top;
}
