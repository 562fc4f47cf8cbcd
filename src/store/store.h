/* The Redis store: one async hiredis connection on the loop, with its own
 * connect timeout, reconnect backoff, a cap on commands in flight, and a
 * bounded backlog that holds writes while Redis is away. Writes are queued
 * during a loop turn and pipelined before the loop sleeps; nothing ever
 * waits for a reply except what asks to (barriers, reads).
 *
 * Two kinds of writes: task state (never dropped; resent if a connection
 * dies with them unanswered) and telemetry (dropped oldest first past the
 * backlog bound, and counted). */
#ifndef GANTRY_STORE_H
#define GANTRY_STORE_H

#include <ev.h>
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/cluster.h"
#include "store/resp.h"

enum store_kind { STORE_STATE = 1, STORE_TELEMETRY = 2, STORE_GPU = 3 };
enum store_state_id { STORE_DOWN, STORE_CONNECTING, STORE_UP };

struct store_config {
    const char *url;
    double connect_timeout;
    size_t backlog;               /* bytes */
    long max_inflight;
    double retention_age;         /* telemetry: seconds, or 0 */
    long retention_len;           /* telemetry: entries, or 0 */
    long logs_maxlen;
    long events_maxlen;
    const char *consumer;         /* consumer name in the gantry group */
};

struct store_stats {
    enum store_state_id state;
    size_t backlog_bytes, state_bytes, telemetry_bytes;
    unsigned long telemetry_dropped;  /* writes dropped while Redis was away */
    unsigned long gpu_stale;          /* GPU samples older than the stream's last */
    unsigned long errors;             /* error replies */
    unsigned long reconnects;
    unsigned long sent, inflight;
    int recovered;
};

typedef void (*store_read_fn)(redisReply *r, uint64_t a, uint64_t b);
typedef void (*store_barrier_fn)(void *ud);

int store_start(struct ev_loop *loop, const struct store_config *cfg, struct cluster *cl,
                char *err, size_t errlen);
void store_configure(const struct store_config *cfg);
void store_stop(void);
void store_stats(struct store_stats *st);
int store_idle(void);
int store_up(void);
int store_accepting(void);

struct resp_cmd *store_cmd(void);
void store_send(enum store_kind kind);
int store_barrier(store_barrier_fn fn, void *ud);
int store_read(struct resp_cmd *c, store_read_fn fn, uint64_t a, uint64_t b);
void store_on_connect(void (*fn)(void));
void store_count_stale(void);
void store_pump(void);

/* persist.c: the cluster observer that writes SPEC section 5's keys. */
void store_persist_init(struct cluster *cl, const struct store_config *cfg);
void store_persist_configure(const struct store_config *cfg);
void store_persist_tick(void);
void store_deliver_queue(void);

/* recover.c: rebuilding the cluster from Redis at start. */
void store_recover_init(struct cluster *cl, void (*done)(int workers, int tasks));
json_t *store_task_json(const redisReply *hash);

#endif
