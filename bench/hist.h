/* Latency histogram shared by the load generators (hbload, wsload): 10 us
 * buckets up to 1 s, the last bucket holding everything slower. Header-only
 * because each bench program is built from its own .c file. */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <math.h>

#define HIST_BUCKET_US 10
#define HIST_NBUCKETS 100000

struct hist {
    unsigned long n[HIST_NBUCKETS + 1];
};

/* Counts one latency of the given seconds. */
static inline void hist_add(struct hist *h, double seconds)
{
    long b = (long)(seconds * 1e6 / HIST_BUCKET_US);
    h->n[b < 0 ? 0 : b > HIST_NBUCKETS ? HIST_NBUCKETS : b]++;
}

/* Adds the counts of from into h (a child process's histogram). */
static inline void hist_merge(struct hist *h, const struct hist *from)
{
    for (int i = 0; i <= HIST_NBUCKETS; i++)
        h->n[i] += from->n[i];
}

/* The p quantile (0 < p <= 1) in milliseconds, as the upper edge of its
 * bucket; 0 when nothing was counted. */
static inline double hist_percentile(const struct hist *h, double p)
{
    unsigned long total = 0, seen = 0;
    for (int i = 0; i <= HIST_NBUCKETS; i++)
        total += h->n[i];
    if (!total)
        return 0;
    unsigned long want = (unsigned long)ceil(p * (double)total);
    for (int i = 0; i <= HIST_NBUCKETS; i++) {
        seen += h->n[i];
        if (seen >= want)
            return (i + 1) * HIST_BUCKET_US / 1000.0;
    }
    return HIST_NBUCKETS * HIST_BUCKET_US / 1000.0;
}

#endif
