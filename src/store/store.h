/* The Redis store, the only door to Redis: one async hiredis connection on
 * the loop, with its own connect timeout, reply timeout, reconnect backoff,
 * a cap on commands in flight, and a bounded backlog that holds writes while
 * Redis is away. Writes are queued during a loop turn and pipelined before
 * the loop sleeps; nothing ever waits for a reply except what asks to (a
 * waiter on its own writes, a read).
 *
 * Two kinds of writes: task state (never dropped; resent if a connection
 * dies with them unanswered) and telemetry (dropped oldest first past the
 * backlog bound, and counted). A third, the write-back of everything in
 * memory when Redis comes back without our data, goes before both.
 *
 * This header is what the rest of gantryd sees: no hiredis, no keys. The
 * store's own files share store_int.h. */
#ifndef GANTRY_STORE_H
#define GANTRY_STORE_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cluster.h"
#include "store/reads.h"

enum store_state_id { STORE_DOWN, STORE_CONNECTING, STORE_UP };

struct store_config {
    const char *url;
    double connect_timeout;
    double reply_timeout;         /* no answer this long: Redis is down */
    size_t backlog;               /* bytes */
    long max_inflight;
    double retention_age;         /* telemetry: seconds, or 0 */
    long retention_len;           /* telemetry: entries, or 0 */
    long logs_maxlen;
    long events_maxlen;
    const char *consumer;         /* consumer name in the gantry group */
    long tasks_history;           /* finished queue entries kept and recovered */
};

struct store_stats {
    enum store_state_id state;
    size_t backlog_bytes, state_bytes, telemetry_bytes;
    unsigned long telemetry_dropped;  /* writes dropped while Redis was away */
    unsigned long logs_dropped;       /* log writes dropped likewise */
    unsigned long gpu_stale;          /* GPU samples older than the stream's last */
    unsigned long errors;             /* error replies */
    unsigned long reconnects;
    unsigned long sent, inflight;
    int recovered;
};

typedef void (*store_done_fn)(int ok, uint64_t a, uint64_t b, const char *tag);

int store_start(struct ev_loop *loop, const struct store_config *cfg, struct cluster *cl,
                char *err, size_t errlen);
void store_configure(const struct store_config *cfg);
void store_stop(void);
void store_stats(struct store_stats *st);
int store_idle(void);
int store_up(void);
int store_accepting(void);

uint64_t store_seq(void);
int store_failed_since(uint64_t seq);
int store_when_stored(uint64_t from, uint64_t to, int keep, store_done_fn fn,
                      uint64_t a, uint64_t b, const char *tag);

void store_recover_init(struct cluster *cl, const struct store_config *cfg,
                        void (*done)(int workers, int tasks));
void store_recover_stop(void);
int store_recovered(void);

#endif
