#include "dict.h"

#include <stdlib.h>

/* FNV-1a, 64 bit: keys are short ids. */
uint64_t dict_hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Prepares an empty table; match tells whether a node holds a key. */
void dict_init(struct dict *d, dict_match_fn match)
{
    d->buckets = NULL;
    d->mask = 0;
    d->count = 0;
    d->match = match;
}

/* Frees the bucket array; the nodes belong to their objects. */
void dict_free(struct dict *d)
{
    free(d->buckets);
    d->buckets = NULL;
    d->mask = 0;
    d->count = 0;
}

static int dict_grow(struct dict *d)
{
    size_t n = d->buckets ? (d->mask + 1) * 2 : 16;
    struct dict_node **b = calloc(n, sizeof(*b));
    if (!b)
        return -1;
    if (d->buckets) {
        for (size_t i = 0; i <= d->mask; i++) {
            struct dict_node *e = d->buckets[i];
            while (e) {
                struct dict_node *next = e->next;
                size_t j = e->hash & (n - 1);
                e->next = b[j];
                b[j] = e;
                e = next;
            }
        }
        free(d->buckets);
    }
    d->buckets = b;
    d->mask = n - 1;
    return 0;
}

/* Returns the node holding key, or NULL. */
struct dict_node *dict_find(const struct dict *d, const void *key, size_t len)
{
    if (!d->buckets)
        return NULL;
    uint64_t h = dict_hash(key, len);
    for (struct dict_node *e = d->buckets[h & d->mask]; e; e = e->next)
        if (e->hash == h && d->match(e, key, len))
            return e;
    return NULL;
}

/* Links n under key (the caller checked it is not present yet). Returns 0,
 * or -1 when the table could not grow. */
int dict_insert(struct dict *d, struct dict_node *n, const void *key,
                size_t len)
{
    if ((!d->buckets || d->count >= d->mask + 1) && dict_grow(d) < 0)
        return -1;
    n->hash = dict_hash(key, len);
    size_t i = n->hash & d->mask;
    n->next = d->buckets[i];
    d->buckets[i] = n;
    d->count++;
    return 0;
}

/* Unlinks n, which must be in d. */
void dict_remove(struct dict *d, struct dict_node *n)
{
    struct dict_node **pp = &d->buckets[n->hash & d->mask];
    while (*pp && *pp != n)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = n->next;
        d->count--;
    }
    n->next = NULL;
}
