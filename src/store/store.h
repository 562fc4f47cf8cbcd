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
    long min_replicas_ack;        /* replicas a WAIT must reach before an answer */
    double replica_timeout;       /* how long one WAIT may take */
};

/* High availability: every gantryd on one Redis takes part; one holds the
 * lease gantry:leader and leads, the others stand by (lease.c). */
struct store_ha_config {
    double lease;                 /* seconds */
    const char *id;               /* this gantryd: "host:pid" */
    const char *http;             /* its API for the others to redirect to: http://host:port */
    const char *listen;           /* its agent listener, host:port */
    /* The lease is ours (epoch): the cluster must be emptied; recovery
     * from Redis follows at once, and on_recovered when it completes. */
    void (*on_lead)(long long epoch);
    /* It is not ours any more (why): agents are told not_leader, the
     * cluster emptied; nothing this gantryd held reaches Redis. */
    void (*on_step_down)(const char *why);
};

/* Who leads, as this gantryd last learnt it. */
struct store_leader {
    int known;
    int self;                     /* this gantryd */
    char id[128];
    char http[256];
    char listen[256];
    long long epoch;
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

/* ok: 1 stored; 0 not (Redis away or refused); STORE_NOT_REPLICATED: Redis
 * holds it, the replicas asked for did not confirm it in time. */
#define STORE_NOT_REPLICATED (-1)
typedef void (*store_done_fn)(int ok, uint64_t a, uint64_t b, const char *tag);

int store_start(struct ev_loop *loop, const struct store_config *cfg, struct cluster *cl,
                char *err, size_t errlen);
void store_configure(const struct store_config *cfg);
void store_stop(void);
void store_stats(struct store_stats *st);
int store_idle(void);
int store_up(void);
int store_accepting(void);
int store_reachable(void);
int store_linked(void);
const char *store_state_name(void);

uint64_t store_seq(void);
int store_failed_since(uint64_t seq);
int store_when_stored(uint64_t from, uint64_t to, int keep, store_done_fn fn,
                      uint64_t a, uint64_t b, const char *tag);

int store_ha_start(struct ev_loop *loop, const struct store_ha_config *cfg);
void store_ha_stop(void);
int store_ha_release(void);
void store_ha_look(void);
int store_leading(void);
void store_leader(struct store_leader *out);

void store_recover_init(struct cluster *cl, const struct store_config *cfg,
                        void (*done)(int workers, int tasks));
void store_recover_stop(void);
int store_recovered(void);

#endif
