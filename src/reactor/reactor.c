#include "reactor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define SCRATCH_SIZE (64 * 1024)
#define READS_PER_EVENT 8
/* In a busy turn (libev hands over up to thousands of ready sockets at
 * once), queued output is written after this many read events rather than
 * only at the turn's end: an answer to the first request of a turn does
 * not wait for the last. */
#define FLUSH_EVERY_READS 64
#define MAX_HOOKS 8
#define LINGER_SECONDS 2.0

struct hook {
    reactor_hook_fn fn;
    void *ud;
};

static struct {
    struct ev_loop *loop;
    ev_prepare before_sleep;
    ev_check after_poll;
    double turn_start;            /* monotonic time the poll returned */
    uint64_t turns, turn_hist[REACTOR_TURN_BUCKETS];
    double turn_sum, turn_max;
    unsigned reads_in_turn;
    struct list_node pending;     /* conns with output to flush */
    struct list_node yielded;     /* conns with input left for the next turn */
    ev_idle keep_polling;         /* no sleep while some conn yielded */
    struct list_node closing;     /* conns to free */
    struct dict by_id;
    uint64_t next_id;
    unsigned long nconns;
    char *scratch;
    struct hook hooks[MAX_HOOKS];
    int nhooks;
    struct timeout_list linger;   /* half-closed conns draining input */
    size_t out_bytes, out_budget; /* output queued on all conns; its bound */
    unsigned long cut_conn, cut_budget;
} R;

static int conn_match(const struct dict_node *n, const void *key, size_t len)
{
    (void)len;
    return container_of(n, struct conn, by_id)->id == *(const uint64_t *)key;
}

static void conn_flush(struct conn *c);
static void conn_free(struct conn *c);
static void flush_pending(void);

const double reactor_turn_bounds[REACTOR_TURN_BUCKETS] = {0.0001, 0.0005, 0.001, 0.002, 0.005,
                                                          0.01, 0.05, 0.1, 1.0};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Right after the poll: connections that yielded last turn are offered
 * their input again, after everything the poll found ready. */
static void after_poll(struct ev_loop *loop, ev_check *w, int revents)
{
    (void)w;
    (void)revents;
    R.turn_start = mono_now();
    while (!list_empty(&R.yielded)) {
        struct conn *c = container_of(list_first(&R.yielded), struct conn, yielded);
        list_unlink(&c->yielded);
        c->flags &= ~CONN_YIELDED;
        c->flags |= CONN_REFEED;
        ev_feed_event(loop, &c->rio, EV_READ);
    }
    ev_idle_stop(loop, &R.keep_polling);
}

static void keep_polling_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

/* c has done its share of this turn: the input it left is offered again
 * next turn, after the others (a flood on one connection cannot hold the
 * loop). The protocol returns the bytes it used, as usual. */
void conn_yield(struct conn *c)
{
    if (c->flags & (CONN_CLOSING | CONN_YIELDED))
        return;
    c->flags |= CONN_YIELDED;
    list_insert_tail(&R.yielded, &c->yielded);
    ev_idle_start(R.loop, &R.keep_polling);
}

/* Counts the turn that ends now (just before the loop polls again). */
static void turn_done(void)
{
    R.reads_in_turn = 0;
    if (R.turn_start == 0)
        return;
    double d = mono_now() - R.turn_start;
    R.turn_start = 0;
    R.turns++;
    R.turn_sum += d;
    if (d > R.turn_max)
        R.turn_max = d;
    int b = 0;
    while (b < REACTOR_TURN_BUCKETS && d > reactor_turn_bounds[b])
        b++;
    if (b < REACTOR_TURN_BUCKETS)
        R.turn_hist[b]++;
}

/* Runs the hooks (the store's pipelined writes, for one), flushes output and
 * frees closed connections; repeats while one step makes work for another,
 * so nothing waits a whole loop turn. */
static void before_sleep(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < R.nhooks; i++)
            R.hooks[i].fn(R.hooks[i].ud);
        flush_pending();
        if (list_empty(&R.closing))
            break;
        while (!list_empty(&R.closing))
            conn_free(container_of(list_first(&R.closing), struct conn, link));
    }
    turn_done();
}

static void linger_expired(struct idle_node *n, void *ud)
{
    struct conn *c = container_of(n, struct conn, idle);
    (void)ud;
    c->tmo = NULL;
    conn_close(c);
}

/* Sets up the reactor on loop. Returns 0 or -1. */
int reactor_init(struct ev_loop *loop)
{
    memset(&R, 0, sizeof(R));
    R.loop = loop;
    R.next_id = 1;
    list_init(&R.pending);
    list_init(&R.closing);
    list_init(&R.yielded);
    ev_idle_init(&R.keep_polling, keep_polling_cb);
    dict_init(&R.by_id, conn_match);
    R.scratch = malloc(SCRATCH_SIZE);
    if (!R.scratch)
        return -1;
    timeout_init(&R.linger, loop, LINGER_SECONDS, linger_expired, NULL);
    ev_prepare_init(&R.before_sleep, before_sleep);
    ev_prepare_start(loop, &R.before_sleep);
    ev_unref(loop); /* the prepare watcher alone must not keep the loop up */
    ev_check_init(&R.after_poll, after_poll);
    ev_check_start(loop, &R.after_poll);
    ev_unref(loop);
    return 0;
}

/* Frees what the reactor holds, TLS sides included; every connection
 * must be gone. */
void reactor_shutdown(void)
{
    before_sleep(R.loop, &R.before_sleep, 0);
    ev_ref(R.loop);
    ev_prepare_stop(R.loop, &R.before_sleep);
    ev_ref(R.loop);
    ev_check_stop(R.loop, &R.after_poll);
    ev_idle_stop(R.loop, &R.keep_polling);
    timeout_stop(&R.linger);
    tls_sides_free();
    dict_free(&R.by_id);
    free(R.scratch);
    R.scratch = NULL;
}

/* Returns the loop the reactor runs on. */
struct ev_loop *reactor_loop(void)
{
    return R.loop;
}

/* Registers fn to run before each sleep of the loop. Returns 0 or -1. */
int reactor_add_hook(reactor_hook_fn fn, void *ud)
{
    if (R.nhooks == MAX_HOOKS)
        return -1;
    R.hooks[R.nhooks].fn = fn;
    R.hooks[R.nhooks].ud = ud;
    R.nhooks++;
    return 0;
}

/* Fills st with connection counts and the loop-turn histogram. */
void reactor_stats(struct reactor_stats *st)
{
    st->conns = R.nconns;
    st->out_bytes = R.out_bytes;
    st->out_budget = R.out_budget;
    st->cut_conn = R.cut_conn;
    st->cut_budget = R.cut_budget;
    st->turns = R.turns;
    st->turn_sum = R.turn_sum;
    st->turn_max = R.turn_max;
    uint64_t acc = 0;
    for (int b = 0; b < REACTOR_TURN_BUCKETS; b++)
        st->turn_le[b] = acc += R.turn_hist[b];
}

/* Returns non-zero when no output waits and no connection awaits freeing. */
int reactor_idle(void)
{
    return list_empty(&R.pending) && list_empty(&R.closing);
}

/* Returns the live connection with this id, or NULL when it is gone. */
struct conn *conn_find(uint64_t id)
{
    struct dict_node *n = dict_find(&R.by_id, &id, sizeof(id));
    if (!n)
        return NULL;
    struct conn *c = container_of(n, struct conn, by_id);
    return (c->flags & CONN_CLOSING) ? NULL : c;
}

/* Puts c in the before-sleep flush list. */
void reactor_mark_pending(struct conn *c)
{
    if (!(c->flags & CONN_PENDING)) {
        c->flags |= CONN_PENDING;
        list_insert_tail(&R.pending, &c->pending);
    }
}

/* A shared block of len bytes (refs 1; fill data before sharing it), or
 * NULL. */
struct rbuf *rbuf_new(size_t len)
{
    struct rbuf *b = malloc(sizeof(*b) + len);
    if (b) {
        b->refs = 1;
        b->len = len;
    }
    return b;
}

/* Drops one reference to b (NULL is fine); the last frees it. */
void rbuf_unref(struct rbuf *b)
{
    if (b && --b->refs == 0)
        free(b);
}

/* Keeps the reactor's output total in step with what c has queued;
 * called wherever c's queue changes size. */
static void account(struct conn *c)
{
    size_t now = (c->flags & CONN_CLOSING) ? 0 : conn_pending_bytes(c);
    R.out_bytes = R.out_bytes - c->accounted + now;
    c->accounted = now;
}

static void oseg_release(struct oseg *g)
{
    rbuf_unref(g->shared);
    buf_free(&g->own);
}

static size_t oseg_len(const struct oseg *g)
{
    return g->hlen + (g->shared ? g->shared->len : g->own.len);
}

static void free_segments(struct conn *c)
{
    for (unsigned i = 0; i < c->seg_n; i++)
        oseg_release(&c->seg[(c->seg_head + i) % c->seg_cap]);
    free(c->seg);
    c->seg = NULL;
    c->seg_head = c->seg_n = c->seg_cap = 0;
    c->seg_bytes = 0;
}

/* Appends a segment slot to c's ring. Returns it, or NULL (no memory). */
static struct oseg *seg_push(struct conn *c)
{
    if (c->seg_n == c->seg_cap) {
        unsigned cap = c->seg_cap ? c->seg_cap * 2 : 8;
        struct oseg *v = malloc(cap * sizeof(*v));
        if (!v)
            return NULL;
        for (unsigned i = 0; i < c->seg_n; i++)
            v[i] = c->seg[(c->seg_head + i) % c->seg_cap];
        free(c->seg);
        c->seg = v;
        c->seg_head = 0;
        c->seg_cap = cap;
    }
    struct oseg *g = &c->seg[(c->seg_head + c->seg_n++) % c->seg_cap];
    memset(g, 0, sizeof(*g));
    return g;
}

/* Own bytes queued so far go before what comes next: they move, without a
 * copy, into a segment of their own. Returns 0 or -1. */
static int seal_out(struct conn *c)
{
    if (c->out.len == 0)
        return 0;
    struct oseg *g = seg_push(c);
    if (!g)
        return -1;
    g->own = c->out;
    c->out = (struct buf)BUF_INIT;
    c->seg_bytes += g->own.len;
    return 0;
}

/* The output buffer of c, for a protocol that frames messages straight into
 * it (then conn_flush_soon); its bytes go after everything queued before. */
struct buf *conn_out(struct conn *c)
{
    return &c->out;
}

/* Queues hlen bytes of header (at most OSEG_HDR_MAX) then the shared bytes
 * b, after what c has queued, holding a reference to b instead of copying
 * it. Returns 0, or -1 when c is closing or memory ran out (c closed). */
int conn_write_framed(struct conn *c, const void *hdr, size_t hlen, struct rbuf *b)
{
    if (c->flags & CONN_CLOSING)
        return -1;
    struct oseg *g;
    if (hlen > OSEG_HDR_MAX || seal_out(c) < 0 || !(g = seg_push(c))) {
        conn_close(c);
        return -1;
    }
    if (hlen)
        memcpy(g->hdr, hdr, hlen);
    g->hlen = (uint8_t)hlen;
    g->shared = b;
    b->refs++;
    c->seg_bytes += oseg_len(g);
    reactor_mark_pending(c);
    account(c);
    return 0;
}

/* Queues the shared bytes b after what c has queued, holding a reference
 * instead of copying them. Returns 0, or -1 when c is closing. */
int conn_write_shared(struct conn *c, struct rbuf *b)
{
    return conn_write_framed(c, NULL, 0, b);
}

/* Queues n bytes for c; they go out before the loop sleeps. Returns 0, or
 * -1 when c is closing or its output bound is exceeded (c is closed then). */
int conn_write(struct conn *c, const void *p, size_t n)
{
    if (c->flags & CONN_CLOSING)
        return -1;
    if (conn_pending_bytes(c) + n > c->ls->out_max || buf_append(&c->out, p, n) < 0) {
        log_warn("%s %s: output bound reached, closing", c->ls->name, c->peer);
        R.cut_conn++;
        conn_close(c);
        return -1;
    }
    reactor_mark_pending(c);
    account(c);
    return 0;
}

/* Asks for c's on_drain once everything queued has been written (at once,
 * before the loop sleeps, if nothing is queued). */
void conn_want_drain(struct conn *c)
{
    c->flags |= CONN_WANT_DRAIN;
    reactor_mark_pending(c);
}

/* Returns non-zero when c has more than cap bytes queued, or the output
 * of every connection together is past the budget. */
int conn_output_over(const struct conn *c, size_t cap)
{
    return conn_pending_bytes(c) > cap || (R.out_budget && R.out_bytes > R.out_budget);
}

/* Sets the bound on the output queued on all connections together (0:
 * none). */
void reactor_set_output_budget(size_t bytes)
{
    R.out_budget = bytes;
}

/* Counts a connection a protocol cut (closed, or stopped serving) for its
 * output: at its own cap, or at the budget. */
void reactor_count_cut(int budget)
{
    if (budget)
        R.cut_budget++;
    else
        R.cut_conn++;
}

/* Queues formatted text for c. Returns 0 or -1 as conn_write. */
int conn_printf(struct conn *c, const char *fmt, ...)
{
    if (c->flags & CONN_CLOSING)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(&c->out, fmt, ap);
    va_end(ap);
    if (rc < 0 || conn_pending_bytes(c) > c->ls->out_max) {
        R.cut_conn += rc == 0;
        conn_close(c);
        return -1;
    }
    reactor_mark_pending(c);
    account(c);
    return 0;
}

/* Marks c for the before-sleep flush after its out buffer was filled
 * directly. */
void conn_flush_soon(struct conn *c)
{
    if (!(c->flags & CONN_CLOSING) && conn_pending_bytes(c)) {
        reactor_mark_pending(c);
        account(c);
    }
}

/* Returns the bytes queued and not yet written. */
size_t conn_pending_bytes(const struct conn *c)
{
    return c->seg_bytes + c->out.len;
}

#define WRITE_IOV 32

/* Adds the unwritten part of segment g to iov; returns the entries used. */
static int oseg_iov(const struct oseg *g, struct iovec *iov)
{
    int n = 0;
    size_t off = g->off;
    if (off < g->hlen)
        iov[n++] = (struct iovec){(void *)(g->hdr + off), g->hlen - off};
    size_t body_off = off > g->hlen ? off - g->hlen : 0;
    const char *body = g->shared ? g->shared->data : buf_start(&g->own);
    size_t blen = g->shared ? g->shared->len : g->own.len;
    if (blen > body_off)
        iov[n++] = (struct iovec){(void *)(body + body_off), blen - body_off};
    return n;
}

/* Takes w written bytes off the front of c's queue. */
static void consume(struct conn *c, size_t w)
{
    while (w && c->seg_n) {
        struct oseg *g = &c->seg[c->seg_head];
        size_t left = oseg_len(g) - g->off, take = w < left ? w : left;
        g->off += take;
        c->seg_bytes -= take;
        w -= take;
        if (g->off < oseg_len(g))
            return;
        oseg_release(g);
        c->seg_head = (c->seg_head + 1) % c->seg_cap;
        c->seg_n--;
    }
    buf_consume(&c->out, w);
}

/* One write of what c has queued: the segments, then its own buffer, in
 * one call of the transport. Consumes what went; returns the transport's
 * result. */
static ssize_t write_queued(struct conn *c)
{
    struct iovec iov[WRITE_IOV];
    int n = 0;
    unsigned i = 0;
    for (; i < c->seg_n && n + 2 <= WRITE_IOV; i++)
        n += oseg_iov(&c->seg[(c->seg_head + i) % c->seg_cap], iov + n);
    /* The own buffer comes after every segment: only when all are in. */
    if (i == c->seg_n && c->out.len && n < WRITE_IOV)
        iov[n++] = (struct iovec){buf_start(&c->out), c->out.len};
    ssize_t w = c->tr->writev(c, iov, n);
    if (w > 0)
        consume(c, (size_t)w);
    return w;
}

static void conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct conn *c = container_of(w, struct conn, wio);
    if (c->flags & CONN_DIALING) {
        reactor_dial_done(c);
        return;
    }
    if (c->flags & CONN_HANDSHAKE) {
        reactor_handshake(c);
        return;
    }
    if (c->flags & CONN_READ_ON_WRITE) {
        /* A read that waited for this: it goes first, then the output. */
        c->flags &= ~CONN_READ_ON_WRITE;
        ev_feed_event(R.loop, &c->rio, EV_READ);
    }
    conn_flush(c);
}

/* The transport's write must wait: for the socket to be writable (the
 * write watcher), or, in TLS, readable (the read watcher runs the flush
 * again). */
static void flush_wait(struct conn *c)
{
    if (!(c->flags & CONN_IO_WRITE)) {
        c->flags |= CONN_WRITE_ON_READ;
        if (!(c->flags & CONN_READ_ON_WRITE))
            ev_io_stop(R.loop, &c->wio);
        if (!ev_is_active(&c->rio))
            ev_io_start(R.loop, &c->rio);
    } else if (!ev_is_active(&c->wio)) {
        ev_io_start(R.loop, &c->wio);
    }
}

/* Writes what the socket takes; keeps the write watcher only while bytes
 * remain. */
static void conn_flush(struct conn *c)
{
    if (c->flags & CONN_PENDING) {
        c->flags &= ~CONN_PENDING;
        list_unlink(&c->pending);
    }
    if (c->flags & (CONN_CLOSING | CONN_DIALING | CONN_HANDSHAKE))
        return;
    c->flags &= ~CONN_WRITE_ON_READ;
    while (conn_pending_bytes(c) > 0) {
        ssize_t n = write_queued(c);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        account(c);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            flush_wait(c);
            return;
        }
        log_debug("%s %s: write: %s", c->ls->name, c->peer,
                  conn_error(c) ? conn_error(c) : strerror(errno));
        conn_close(c);
        return;
    }
    account(c);
    if (!(c->flags & CONN_READ_ON_WRITE))
        ev_io_stop(R.loop, &c->wio);
    if ((c->flags & CONN_WANT_DRAIN) && c->proto->on_drain) {
        c->flags &= ~CONN_WANT_DRAIN;
        c->proto->on_drain(c);
        if (c->flags & CONN_CLOSING)
            return;
    }
    /* A connection written to within the last second keeps its (small)
     * output block for the next message; a quiet one gives it back, so
     * thousands of idle agents hold none. */
    double now = ev_now(R.loop);
    buf_shrink(&c->out, now - c->flushed_at < 1.0 ? 4096 : 0);
    c->flushed_at = now;
    if (!(c->flags & CONN_CLOSE_AFTER_FLUSH))
        return;
    if (c->flags & CONN_LINGER) {
        /* The peer may still be sending what we refused: closing with
         * unread bytes would reset the connection and lose our answer. Send
         * FIN, drain for a while, then close. */
        c->tr->shutdown(c);
        conn_set_timeout(c, &R.linger);
        if (!ev_is_active(&c->rio))
            ev_io_start(R.loop, &c->rio);
        return;
    }
    conn_close(c);
}

/* Like conn_close_after_flush, but drains the peer's input for a moment
 * first, so an error answer is read before the close (HTTP 413, 431). */
void conn_linger_close(struct conn *c)
{
    if (c->flags & CONN_CLOSING)
        return;
    c->flags |= CONN_CLOSE_AFTER_FLUSH | CONN_LINGER;
    reactor_mark_pending(c);
}

/* Writes c's queued output now rather than before the loop sleeps (for a
 * burst that would outgrow a bound). */
void conn_flush_now(struct conn *c)
{
    if (!(c->flags & CONN_CLOSING) && conn_pending_bytes(c))
        conn_flush(c);
}

/* Closes c now: no more reads or writes; freed before the loop sleeps. */
void conn_close(struct conn *c)
{
    if (c->flags & CONN_CLOSING)
        return;
    c->flags |= CONN_CLOSING;
    ev_io_stop(R.loop, &c->rio);
    ev_io_stop(R.loop, &c->wio);
    if (c->flags & CONN_PENDING) {
        c->flags &= ~CONN_PENDING;
        list_unlink(&c->pending);
    }
    if (c->flags & CONN_YIELDED) {
        c->flags &= ~CONN_YIELDED;
        list_unlink(&c->yielded);
    }
    if (c->tmo) {
        timeout_remove(c->tmo, &c->idle);
        c->tmo = NULL;
    }
    c->tr->close(c);
    close(c->fd);
    c->fd = -1;
    account(c);
    list_unlink(&c->link);
    list_insert_tail(&R.closing, &c->link);
}

/* Stops reading and closes c once its queued output is written. */
void conn_close_after_flush(struct conn *c)
{
    if (c->flags & CONN_CLOSING)
        return;
    c->flags |= CONN_CLOSE_AFTER_FLUSH;
    ev_io_stop(R.loop, &c->rio);
    if (conn_pending_bytes(c) == 0)
        conn_close(c);
    else
        reactor_mark_pending(c);
}

static void conn_free(struct conn *c)
{
    list_unlink(&c->link);
    if (c->proto->on_close)
        c->proto->on_close(c);
    c->ls->nconns--;
    R.nconns--;
    dict_remove(&R.by_id, &c->by_id);
    buf_free(&c->in);
    buf_free(&c->out);
    free_segments(c);
    c->tr->free(c);
    free(c);
}

/* Puts c under timeout list t (NULL: none), counting from now. */
void conn_set_timeout(struct conn *c, struct timeout_list *t)
{
    if (c->tmo && c->tmo != t)
        timeout_remove(c->tmo, &c->idle);
    c->tmo = t;
    if (t && !(c->flags & CONN_CLOSING))
        timeout_touch(t, &c->idle);
}

/* Restarts c's timeout from now (activity on it). */
void conn_touch(struct conn *c)
{
    if (c->tmo && !(c->flags & CONN_CLOSING))
        timeout_touch(c->tmo, &c->idle);
}

/* Stops reading from c until conn_resume_read; input already received
 * stays buffered. */
void conn_pause_read(struct conn *c)
{
    c->flags |= CONN_READ_PAUSED;
    if (!(c->flags & (CONN_WRITE_ON_READ | CONN_HANDSHAKE)))
        ev_io_stop(R.loop, &c->rio);
}

/* Reads again, starting with the bytes buffered while paused. */
void conn_resume_read(struct conn *c)
{
    if (!(c->flags & CONN_READ_PAUSED) || conn_closing(c))
        return;
    c->flags &= ~CONN_READ_PAUSED;
    if (c->flags & CONN_HANDSHAKE)
        return;
    ev_io_start(R.loop, &c->rio);
    if (c->in.len || c->tr->pending(c)) {
        c->flags |= CONN_REFEED;
        ev_feed_event(R.loop, &c->rio, EV_READ);
    }
}

static void conn_overflow(struct conn *c)
{
    if (c->proto->on_overflow)
        c->proto->on_overflow(c);
    else
        conn_close(c);
}

/* Hands bytes to the protocol. Bytes it leaves are kept in c->in, bounded
 * by the listener's in_max. */
static void conn_feed(struct conn *c, const char *p, size_t n, int owned)
{
    ssize_t used = c->proto->on_data(c, p, n);
    if (used < 0) {
        conn_close(c);
        return;
    }
    if (c->flags & CONN_CLOSING)
        return;
    size_t left = n - (size_t)used;
    if (owned) {
        buf_consume(&c->in, (size_t)used);
    } else if (left && buf_append(&c->in, p + used, left) < 0) {
        conn_close(c);
        return;
    }
    if (c->in.len > c->ls->in_max)
        conn_overflow(c);
    else if (c->in.len == 0)
        buf_shrink(&c->in, 0);
}

/* Reads and discards input of a lingering connection; closes at its end. */
static void conn_drain(struct conn *c)
{
    for (int i = 0; i < READS_PER_EVENT; i++) {
        ssize_t n = read(c->fd, R.scratch, SCRATCH_SIZE);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        conn_close(c);
        return;
    }
}

/* Writes what waits for every connection (not the hooks: the store's
 * batches grow for the whole turn). */
static void flush_pending(void)
{
    struct list_node *pos, *tmp;
    list_for_each_safe(pos, tmp, &R.pending)
        conn_flush(container_of(pos, struct conn, pending));
}

/* The transport's read must wait: for readable (the watcher that called
 * it), or, in TLS, for writable (the write watcher runs the read again). */
static void read_wait(struct conn *c)
{
    if (c->flags & CONN_IO_WRITE) {
        c->flags |= CONN_READ_ON_WRITE;
        if (!ev_is_active(&c->wio))
            ev_io_start(R.loop, &c->wio);
    }
}

/* A read event on c's socket: a write that waited for it goes on first
 * (TLS), then the reads. Returns non-zero when reading should stop. */
static int read_prelude(struct conn *c)
{
    if (c->flags & CONN_WRITE_ON_READ) {
        conn_flush(c);
        if (c->flags & CONN_CLOSING)
            return 1;
        if ((c->flags & CONN_READ_PAUSED) && !(c->flags & CONN_WRITE_ON_READ))
            ev_io_stop(R.loop, &c->rio);
    }
    if (c->flags & CONN_REFEED) {
        /* Input buffered during a pause: offer it before reading more. */
        c->flags &= ~CONN_REFEED;
        if (c->in.len)
            conn_feed(c, buf_start(&c->in), c->in.len, 1);
    }
    if (c->flags & CONN_LINGER) {
        conn_drain(c);
        return 1;
    }
    return 0;
}

/* A read gave no bytes: the peer's end (n 0), a wait, or an error. */
static void read_stopped(struct conn *c, ssize_t n)
{
    if (n == 0) {
        if (c->proto->on_eof)
            c->proto->on_eof(c);
        else
            conn_close_after_flush(c);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        log_debug("%s %s: read: %s", c->ls->name, c->peer,
                  conn_error(c) ? conn_error(c) : strerror(errno));
        conn_close(c);
    } else {
        read_wait(c);
    }
}

static void conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct conn *c = container_of(w, struct conn, rio);
    (void)loop;
    (void)revents;
    if (++R.reads_in_turn % FLUSH_EVERY_READS == 0)
        flush_pending();
    if (c->flags & CONN_HANDSHAKE) {
        reactor_handshake(c);
        return;
    }
    if (read_prelude(c))
        return;
    for (int i = 0; i < READS_PER_EVENT; i++) {
        if (c->flags & (CONN_CLOSING | CONN_CLOSE_AFTER_FLUSH | CONN_READ_PAUSED | CONN_YIELDED))
            return;
        int owned = c->in.len > 0;
        char *dst = R.scratch;
        size_t room = SCRATCH_SIZE;
        if (owned) {
            if (buf_reserve(&c->in, SCRATCH_SIZE / 4) < 0) {
                conn_close(c);
                return;
            }
            dst = buf_end(&c->in);
            room = c->in.cap - c->in.off - c->in.len;
        }
        ssize_t n = c->tr->read(c, dst, room);
        if (n > 0) {
            if (owned) {
                c->in.len += (size_t)n;
                conn_feed(c, buf_start(&c->in), c->in.len, 1);
            } else {
                conn_feed(c, dst, (size_t)n, 0);
            }
            if ((size_t)n < room && !c->tr->pending(c))
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        read_stopped(c, n);
        return;
    }
    /* Its share of this event is read; input the transport still holds
     * would not wake the socket's watcher: offer it next turn. */
    if (c->tr->pending(c))
        conn_yield(c);
}

/* Makes a connection object for fd in group ls, not yet reading. Returns
 * NULL when memory runs out (fd is closed then). */
struct conn *reactor_conn_make(struct listener *ls, int fd, const char *peer)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    c->id = R.next_id++;
    c->tr = &conn_plain;
    c->ls = ls;
    c->proto = ls->proto;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    idle_node_init(&c->idle);
    ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
    ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
    if (dict_insert(&R.by_id, &c->by_id, &c->id, sizeof(c->id)) < 0) {
        close(fd);
        free(c);
        return NULL;
    }
    list_insert_tail(&ls->conns, &c->link);
    ls->nconns++;
    R.nconns++;
    return c;
}

/* Returns why c's transport failed (a TLS handshake or record error), or
 * NULL when it did not; readable until c is freed. */
const char *conn_error(const struct conn *c)
{
    return c->tls ? tls_conn_error(c) : NULL;
}
