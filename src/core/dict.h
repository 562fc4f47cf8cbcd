/* An intrusive hash table: the node lives inside the object and the table
 * only links nodes, so inserting never allocates a per-entry cell. The
 * caller supplies how a node's key compares. Grows by doubling. */
#ifndef GANTRY_DICT_H
#define GANTRY_DICT_H

#include <stddef.h>
#include <stdint.h>

struct dict_node {
    struct dict_node *next;
    uint64_t hash;
};

/* Returns non-zero when node n holds key. */
typedef int (*dict_match_fn)(const struct dict_node *n, const void *key,
                             size_t keylen);

struct dict {
    struct dict_node **buckets;
    size_t mask;              /* buckets - 1; 0 when no table yet */
    size_t count;
    dict_match_fn match;
};

uint64_t dict_hash(const void *key, size_t len);
void dict_init(struct dict *d, dict_match_fn match);
void dict_free(struct dict *d);
struct dict_node *dict_find(const struct dict *d, const void *key, size_t len);
int dict_insert(struct dict *d, struct dict_node *n, const void *key,
                size_t len);
void dict_remove(struct dict *d, struct dict_node *n);

#endif
