/* Waiters: calls made once Redis has answered the task-state writes a
 * caller stands for (a 201, a cancel's answer, an assignment, a result's
 * acknowledgement), and, with redis.min_replicas_ack, once a WAIT has
 * confirmed them on that many replicas. Kept in order of their last
 * write, so the due ones are always at the head. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "reactor/reactor.h"
#include "store_int.h"

struct waiter {
    uint64_t from, to;            /* the state writes it stands for */
    store_done_fn fn;
    uint64_t a, b;
    char tag[48];
    unsigned keep : 1;            /* waits across reconnects */
    unsigned failed : 1;          /* Redis refused one of its writes */
};

static struct {
    struct waiter *w;
    size_t head, n, cap;
    long want;                    /* redis.min_replicas_ack */
    double timeout;               /* redis.replica_timeout */
    uint64_t replicated;          /* last state write a WAIT confirmed */
    int asking;                   /* a WAIT is in flight */
    double again_at;              /* after a WAIT fell short, not before */
    double logged_at;
} W;

static void compact(void)
{
    if (W.head == 0)
        return;
    memmove(W.w, W.w + W.head, (W.n - W.head) * sizeof(*W.w));
    W.n -= W.head;
    W.head = 0;
}

/* Calls fn(ok, a, b, tag) once Redis has answered every task-state write
 * numbered from..to (to = 0: nothing to wait for), and the replicas asked
 * for have confirmed them. ok is 1, or 0 when Redis refused one of them or
 * went away, or STORE_NOT_REPLICATED when Redis holds them but the
 * replicas did not confirm in time. While Redis is away a waiter with
 * keep = 0 is called at once with ok = 0 (its client gets a 503 and may
 * retry); with keep = 1 it waits for the writes to be answered after the
 * reconnect (and is never told "not replicated": it waits for the
 * replicas instead). Never calls fn from inside this call. Returns 0 or
 * -1 (no memory). */
int store_when_stored(uint64_t from, uint64_t to, int keep, store_done_fn fn,
                      uint64_t a, uint64_t b, const char *tag)
{
    if (W.n == W.cap) {
        compact();
        if (W.n == W.cap) {
            size_t cap = W.cap ? W.cap * 2 : 64;
            struct waiter *v = realloc(W.w, cap * sizeof(*v));
            if (!v)
                return -1;
            W.w = v;
            W.cap = cap;
        }
    }
    uint64_t last = store_last_state();
    if (to > last)                /* telemetry numbers are never answered as state */
        to = last;
    struct waiter nw = {from ? from : to, to, fn, a, b, "", keep ? 1u : 0u, 0u};
    snprintf(nw.tag, sizeof(nw.tag), "%s", tag ? tag : "");
    size_t i = W.n++;
    while (i > W.head && W.w[i - 1].to > to) {    /* kept in order of `to` */
        W.w[i] = W.w[i - 1];
        i--;
    }
    W.w[i] = nw;
    return 0;
}

/* Calls the waiters whose writes are all answered (up to acked) and
 * confirmed (up to replicated; a refused write needs no confirmation),
 * oldest first. */
void store_waiters_run(uint64_t acked, uint64_t replicated)
{
    while (W.head < W.n && W.w[W.head].to <= acked &&
           (W.w[W.head].to <= replicated || W.w[W.head].failed)) {
        struct waiter w = W.w[W.head++];
        w.fn(!w.failed, w.a, w.b, w.tag);
    }
    if (W.head == W.n)
        W.head = W.n = 0;
}

/* Redis refused write seq: the waiters standing for it will hear ok = 0. */
void store_waiters_fail(uint64_t seq)
{
    for (size_t i = W.head; i < W.n; i++)
        if (W.w[i].from <= seq && seq <= W.w[i].to)
            W.w[i].failed = 1;
}

/* Calls, with ok, the waiters that match and removes them, keeping the
 * others in order. fn may not add waiters here. */
static void call_matching(int ok, int (*match)(const struct waiter *w, uint64_t arg), uint64_t arg)
{
    size_t keep = W.head;
    size_t n = W.n;
    for (size_t i = W.head; i < n; i++) {
        if (!match(&W.w[i], arg)) {
            W.w[keep++] = W.w[i];
            continue;
        }
        struct waiter w = W.w[i];
        w.fn(ok, w.a, w.b, w.tag);
    }
    W.n = keep;
    if (W.head == W.n)
        W.head = W.n = 0;
}

static int not_kept(const struct waiter *w, uint64_t all)
{
    return all || !w->keep;
}

static int unconfirmed(const struct waiter *w, uint64_t upto)
{
    return !w->keep && !w->failed && w->to <= upto;
}

/* Redis is away: waiters that do not wait across reconnects hear ok = 0
 * now; with all, every waiter does (a leader stepping down keeps no
 * promise). */
void store_waiters_drop(int all)
{
    call_matching(0, not_kept, (uint64_t)all);
}

/* A WAIT covering the writes up to upto fell short of the replicas asked
 * for: the waiters that answer clients hear STORE_NOT_REPLICATED; those
 * that keep waiting (agents) wait for the next WAIT. */
void store_waiters_not_replicated(uint64_t upto)
{
    call_matching(STORE_NOT_REPLICATED, unconfirmed, upto);
}

/* Returns the last write some waiter needs confirmed by the replicas,
 * among writes Redis has answered (up to acked) and not yet confirmed
 * (beyond replicated), or 0 when none does. */
uint64_t store_waiters_unconfirmed(uint64_t acked, uint64_t replicated)
{
    uint64_t last = 0;
    for (size_t i = W.head; i < W.n && W.w[i].to <= acked; i++)
        if (W.w[i].to > replicated && !W.w[i].failed)
            last = W.w[i].to;
    return last;
}

static uint64_t replicated(void)
{
    return W.want > 0 ? W.replicated : UINT64_MAX;
}

/* Calls the waiters that are due now that Redis has answered the state
 * writes up to acked. */
void store_waiters_due(uint64_t acked)
{
    store_waiters_run(acked, replicated());
}

/* Sets how many replicas must confirm (0: none) and how long a WAIT may
 * take. */
void store_replicas_configure(long want, double timeout)
{
    W.want = want;
    W.timeout = timeout;
}

/* The connection went: a WAIT in flight is lost with it. */
void store_replicas_lost(void)
{
    W.asking = 0;
}

static void on_replicas(redisReply *r, uint64_t covered, uint64_t acked)
{
    W.asking = 0;
    if (!r)
        return;                   /* the connection went: kept waiters ask again */
    if (r->type == REDIS_REPLY_INTEGER && r->integer >= W.want) {
        if (covered > W.replicated)
            W.replicated = covered;
        store_waiters_due(acked);
        return;
    }
    double now = ev_now(reactor_loop());
    if (now - W.logged_at >= 10) {
        W.logged_at = now;
        log_warn("redis: %lld of %ld replicas confirmed the task records within %gs "
                 "(redis.min_replicas_ack); answering 503 REDIS_NOT_REPLICATED",
                 r->type == REDIS_REPLY_INTEGER ? r->integer : 0, W.want, W.timeout);
    }
    W.again_at = now + 1.0;       /* a WAIT holds the connection: not back to back */
    store_waiters_not_replicated(covered);
}

/* With redis.min_replicas_ack, asks Redis (WAIT, pipelined like any other
 * command, never blocking the loop) to confirm on the replicas every
 * task-state write it has answered (up to acked), when some waiter needs
 * it. WAIT covers what this connection wrote before it, so it goes only
 * after a write on this connection (conn_writes): the replication stream
 * is in order, so that covers every write answered before too. */
void store_replicas_ask(uint64_t acked, long conn_writes)
{
    if (W.want <= 0 || W.asking || conn_writes == 0 || ev_now(reactor_loop()) < W.again_at ||
        store_waiters_unconfirmed(acked, W.replicated) == 0)
        return;
    struct resp_cmd *c = store_cmd();
    resp_str(c, "WAIT");
    resp_int(c, W.want);
    resp_int(c, (long long)(W.timeout * 1000));
    if (store_read(c, on_replicas, acked, acked) == 0)
        W.asking = 1;
}

/* Frees the waiters' memory (at exit). */
void store_waiters_free(void)
{
    free(W.w);
    W.w = NULL;
    W.head = W.n = W.cap = 0;
}
