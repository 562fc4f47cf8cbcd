/* A binary max-heap of pointers. Each element stores its own position (so
 * it can be removed in O(log n)) through the index callback. */
#ifndef GANTRY_HEAP_H
#define GANTRY_HEAP_H

#include <stddef.h>

struct heap {
    void **items;
    size_t len, cap;
    /* Returns non-zero when a must come out before b. */
    int (*before)(const void *a, const void *b);
    /* Records that item now sits at position pos ((size_t)-1: removed). */
    void (*moved)(void *item, size_t pos);
};

void heap_init(struct heap *h, int (*before)(const void *, const void *),
               void (*moved)(void *, size_t));
void heap_free(struct heap *h);
int heap_push(struct heap *h, void *item);
void *heap_pop(struct heap *h);
void *heap_peek(const struct heap *h);
void heap_remove(struct heap *h, size_t pos);

#endif
