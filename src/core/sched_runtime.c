/* Runtime estimates for the predictive policy: an exponential moving
 * average of the observed runtimes of each image/command key. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sched_policy.h"

/* Keys beyond this many only feed the cluster-wide average. */
#define SCHED_RUNTIME_MAX_KEYS 4096

struct sched_runtime {
    struct dict_node node;
    double ema;
    size_t len;
    char key[];
};

#define RUNTIME_OF(n) \
    ((struct sched_runtime *)((char *)(n) - offsetof(struct sched_runtime, node)))

static int runtime_match(const struct dict_node *n, const void *key,
                         size_t keylen)
{
    const struct sched_runtime *e = RUNTIME_OF(n);
    return e->len == keylen && memcmp(e->key, key, keylen) == 0;
}

/* Prepares c's empty runtime table. */
void sched_runtime_init(struct sched_cluster *c)
{
    dict_init(&c->runtimes, runtime_match);
}

/* Frees c's runtime entries and table. */
void sched_runtime_free(struct sched_cluster *c)
{
    struct dict *d = &c->runtimes;
    for (size_t i = 0; d->buckets && i <= d->mask; i++) {
        struct dict_node *n = d->buckets[i];
        while (n) {
            struct dict_node *next = n->next;
            free(RUNTIME_OF(n));
            n = next;
        }
    }
    dict_free(d);
}

static double ema_step(double old, double seen)
{
    return old + SCHED_RUNTIME_ALPHA * (seen - old);
}

/* Records that a task with this image/command key ran for seconds (called
 * when a task finishes). The key's estimate moves towards it by
 * SCHED_RUNTIME_ALPHA; a new key starts at it. Returns 0, or -1 when the
 * entry could not be allocated (the cluster-wide average still learns). */
int sched_runtime_learn(struct sched_cluster *c, const char *key,
                        double seconds)
{
    if (!(seconds >= 0))
        return -1;
    c->runtime_count++;
    c->runtime_all += (seconds - c->runtime_all) / (double)c->runtime_count;
    size_t len = strlen(key);
    struct dict_node *n = dict_find(&c->runtimes, key, len);
    if (n) {
        RUNTIME_OF(n)->ema = ema_step(RUNTIME_OF(n)->ema, seconds);
        return 0;
    }
    if (c->runtimes.count >= SCHED_RUNTIME_MAX_KEYS)
        return -1;
    struct sched_runtime *e = malloc(sizeof(*e) + len + 1);
    if (!e)
        return -1;
    e->ema = seconds;
    e->len = len;
    memcpy(e->key, key, len + 1);
    if (dict_insert(&c->runtimes, &e->node, key, len) < 0) {
        free(e);
        return -1;
    }
    return 0;
}

/* Returns the expected runtime in seconds of a task with this key: the
 * key's moving average; for a key never seen, the average of every runtime
 * observed so far; before any observation, SCHED_RUNTIME_DEFAULT. */
double sched_runtime_estimate(const struct sched_cluster *c, const char *key)
{
    struct dict_node *n = key ? dict_find(&c->runtimes, key, strlen(key)) : NULL;
    if (n)
        return RUNTIME_OF(n)->ema;
    return c->runtime_count ? c->runtime_all : SCHED_RUNTIME_DEFAULT;
}
