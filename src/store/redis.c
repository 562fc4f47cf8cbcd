/* The Redis connection: state machine, backlog, pipelining, barriers, reads.
 * hiredis callbacks never get a pointer to our objects: writes carry their
 * kind, reads an id looked up in a table, so a reply for something gone is
 * simply dropped. */
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/parse.h"
#include "reactor/reactor.h"
#include "store.h"

#define BACKOFF_MIN 0.1
#define BACKOFF_MAX 5.0
#define STATE_SHARE 0.75          /* task state may use this much of the backlog */

struct entry {
    uint64_t seq;
    uint32_t len;
    uint32_t kind;
};

struct pending_read {
    struct dict_node node;
    uint64_t id;
    store_read_fn fn;
    uint64_t a, b;
};

struct barrier {
    uint64_t seq;
    store_barrier_fn fn;
    void *ud;
};

static struct {
    struct ev_loop *loop;
    struct store_config cfg;
    struct redis_addr addr;
    redisAsyncContext *ac;
    enum store_state_id state;
    ev_timer connect_timer, retry_timer;
    double backoff;
    struct buf crit, tele;        /* backlogs: task state, telemetry */
    size_t crit_sent;             /* bytes of crit in flight */
    uint64_t seq;                 /* last command number given */
    long inflight;
    struct resp_cmd cmd;
    struct dict reads;
    uint64_t next_read;
    struct barrier *barriers;
    size_t nbarriers, cap_barriers;
    void (*on_connect)(void);
    int pumping;                  /* inside store_pump: no barriers run */
    unsigned since_pump;          /* telemetry writes queued since the last */
    struct store_stats st;
    double last_error_log;
} R;

static int read_match(const struct dict_node *n, const void *key, size_t len)
{
    (void)len;
    return container_of(n, struct pending_read, node)->id == *(const uint64_t *)key;
}

/* The command being built; finish it with store_send. */
struct resp_cmd *store_cmd(void)
{
    resp_begin(&R.cmd);
    return &R.cmd;
}

/* Entries are padded to 8 bytes so each header stays aligned. */
static size_t entry_size(const struct entry *e)
{
    return sizeof(*e) + ((e->len + 7u) & ~7u);
}

static struct entry *entry_at(struct buf *b, size_t off)
{
    return off + sizeof(struct entry) <= b->len ? (struct entry *)(void *)(buf_start(b) + off) : NULL;
}

static void drop_telemetry(void)
{
    size_t bound = R.cfg.backlog;
    while (R.crit.len + R.tele.len > bound && R.tele.len) {
        struct entry *e = entry_at(&R.tele, 0);
        buf_consume(&R.tele, entry_size(e));
        R.st.telemetry_dropped++;
    }
}

/* Queues the command built with store_cmd as a write of this kind. */
void store_send(enum store_kind kind)
{
    struct buf *q = kind == STORE_STATE ? &R.crit : &R.tele;
    struct entry e = {++R.seq, 0, (uint32_t)kind};
    size_t at = q->len;
    if (buf_append(q, &e, sizeof(e)) < 0 || resp_end(&R.cmd, q) < 0) {
        q->len = at;
        R.st.errors++;
        return;
    }
    struct entry *stored = (struct entry *)(void *)(buf_start(q) + at);
    stored->len = (uint32_t)(q->len - at - sizeof(e));
    static const char pad[8];
    if (buf_append(q, pad, entry_size(stored) - sizeof(e) - stored->len) < 0) {
        q->len = at;
        R.st.errors++;
        return;
    }
    if (kind != STORE_STATE) {
        drop_telemetry();
        if (++R.since_pump >= 512)
            store_pump();
    }
}

static void run_barriers(void)
{
    if (R.pumping)
        return;
    uint64_t pending = UINT64_MAX;
    struct entry *front = entry_at(&R.crit, 0);
    if (R.state == STORE_UP && front)
        pending = front->seq;
    size_t i = 0;
    while (i < R.nbarriers && (R.state != STORE_UP || R.barriers[i].seq < pending)) {
        struct barrier b = R.barriers[i++];
        b.fn(b.ud);
    }
    if (i) {
        memmove(R.barriers, R.barriers + i, (R.nbarriers - i) * sizeof(*R.barriers));
        R.nbarriers -= i;
    }
}

/* Calls fn(ud) once every task-state write queued so far is stored in
 * Redis; while Redis is away, at the next flush (the writes wait in the
 * backlog then). Returns 0 or -1. */
int store_barrier(store_barrier_fn fn, void *ud)
{
    if (R.nbarriers == R.cap_barriers) {
        size_t cap = R.cap_barriers ? R.cap_barriers * 2 : 16;
        struct barrier *b = realloc(R.barriers, cap * sizeof(*b));
        if (!b)
            return -1;
        R.barriers = b;
        R.cap_barriers = cap;
    }
    R.barriers[R.nbarriers++] = (struct barrier){R.seq, fn, ud};
    return 0;
}

static void log_error_reply(const redisReply *r)
{
    double now = ev_now(R.loop);
    if (now - R.last_error_log < 10)
        return;
    R.last_error_log = now;
    log_warn("redis: %.*s (further errors counted for 10s)", (int)r->len, r->str);
}

static void on_write_reply(redisAsyncContext *c, void *reply, void *privdata)
{
    redisReply *r = reply;
    enum store_kind kind = (enum store_kind)(uintptr_t)privdata;
    if (c != R.ac)
        return;
    R.inflight--;
    if (!r)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        if (kind == STORE_GPU && strstr(r->str, "equal or smaller"))
            R.st.gpu_stale++;
        else {
            R.st.errors++;
            log_error_reply(r);
        }
    }
    if (kind == STORE_STATE) {
        struct entry *e = entry_at(&R.crit, 0);
        if (e) {
            size_t n = entry_size(e);
            buf_consume(&R.crit, n);
            R.crit_sent -= n;
        }
        run_barriers();
    }
}

static int send_entry(struct buf *q, size_t off)
{
    struct entry *e = entry_at(q, off);
    if (redisAsyncFormattedCommand(R.ac, on_write_reply, (void *)(uintptr_t)e->kind,
                                   (const char *)(e + 1), e->len) != REDIS_OK)
        return -1;
    R.inflight++;
    R.st.sent++;
    return 0;
}

/* Pushes queued writes to hiredis, oldest first across both backlogs, up to
 * the in-flight cap; runs before the loop sleeps. */
static void flush(void *ud)
{
    (void)ud;
    if (R.state != STORE_UP) {
        run_barriers();
        return;
    }
    /* hiredis reads 16 KiB of replies per readiness event; under load the
     * loop turns slowly, so take every reply that is there now. */
    for (int i = 0; i < 256 && R.ac && R.inflight > 0; i++) {
        long before = R.inflight;
        redisAsyncHandleRead(R.ac);
        if (R.inflight == before)
            break;
    }
    if (R.state != STORE_UP)
        return;
    while (R.inflight < R.cfg.max_inflight) {
        struct entry *c = entry_at(&R.crit, R.crit_sent);
        struct entry *t = entry_at(&R.tele, 0);
        if (!c && !t)
            break;
        if (c && (!t || c->seq < t->seq)) {
            if (send_entry(&R.crit, R.crit_sent) < 0)
                break;
            R.crit_sent += entry_size(c);
        } else {
            if (send_entry(&R.tele, 0) < 0)
                break;
            buf_consume(&R.tele, entry_size(t));
        }
    }
    buf_shrink(&R.tele, 1 << 20);
    run_barriers();
}

static void schedule_retry(void)
{
    double wait = R.backoff * (0.5 + 0.5 * (double)random() / RAND_MAX);
    R.backoff = R.backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : R.backoff * 2;
    ev_timer_set(&R.retry_timer, wait, 0.);
    ev_timer_start(R.loop, &R.retry_timer);
}

static void went_down(void)
{
    ev_timer_stop(R.loop, &R.connect_timer);
    R.ac = NULL;
    R.inflight = 0;
    R.crit_sent = 0;      /* unanswered task-state writes go again */
    R.state = STORE_DOWN;
    run_barriers();
    schedule_retry();
}

static void on_disconnect(const redisAsyncContext *c, int status)
{
    if (c != R.ac)
        return;
    log_warn("redis: connection lost (%s); serving from memory, writes wait in the backlog",
             status == REDIS_OK ? "closed" : c->errstr);
    went_down();
}

static void on_select(redisAsyncContext *c, void *reply, void *privdata)
{
    redisReply *r = reply;
    (void)privdata;
    if (c != R.ac || !r)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        log_error("redis: SELECT %d: %s", R.addr.db, r->str);
        return;
    }
    R.state = STORE_UP;
    R.backoff = BACKOFF_MIN;
    if (R.on_connect)
        R.on_connect();
}

static void on_connect(const redisAsyncContext *c, int status)
{
    if (c != R.ac)
        return;
    ev_timer_stop(R.loop, &R.connect_timer);
    if (status != REDIS_OK) {
        log_debug("redis: connect: %s", c->errstr);
        R.ac = NULL;      /* hiredis frees a context whose connect failed */
        R.state = STORE_DOWN;
        schedule_retry();
        return;
    }
    R.st.reconnects++;
    log_info("redis: connected to %s", R.cfg.url);
    /* SELECT first; everything else queues behind it in order. */
    redisAsyncCommand(R.ac, on_select, NULL, "SELECT %d", R.addr.db);
}

static void connect_now(void)
{
    redisAsyncContext *ac = R.addr.path[0] ? redisAsyncConnectUnix(R.addr.path)
                                           : redisAsyncConnect(R.addr.host, R.addr.port);
    if (!ac || ac->err) {
        log_debug("redis: %s", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_retry();
        return;
    }
    R.ac = ac;
    R.state = STORE_CONNECTING;
    redisLibevAttach(R.loop, ac);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    ev_timer_set(&R.connect_timer, R.cfg.connect_timeout, 0.);
    ev_timer_start(R.loop, &R.connect_timer);
}

static void connect_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    redisAsyncContext *ac = R.ac;
    log_debug("redis: connect timed out after %gs", R.cfg.connect_timeout);
    R.ac = NULL;      /* callbacks from the free below see a stranger */
    if (ac)
        redisAsyncFree(ac);
    went_down();
}

static void retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    connect_now();
}

static void on_read_reply(redisAsyncContext *c, void *reply, void *privdata)
{
    uint64_t id = (uint64_t)(uintptr_t)privdata;
    struct dict_node *n = dict_find(&R.reads, &id, sizeof(id));
    if (c == R.ac)
        R.inflight--;
    if (!n)
        return;
    struct pending_read *p = container_of(n, struct pending_read, node);
    dict_remove(&R.reads, n);
    p->fn(reply, p->a, p->b);
    free(p);
}

/* Sends the command built with store_cmd now (reads do not wait in the
 * backlog); fn gets the reply, or NULL if the connection drops first.
 * Returns 0, or -1 when Redis is not connected (fn is not called). */
int store_read(struct resp_cmd *c, store_read_fn fn, uint64_t a, uint64_t b)
{
    if (R.state != STORE_UP)
        return -1;
    /* Writes queued before this read go first: a reader sees them. */
    flush(NULL);
    struct pending_read *p = calloc(1, sizeof(*p));
    struct buf out = BUF_INIT;
    if (!p || resp_end(c, &out) < 0) {
        free(p);
        buf_free(&out);
        return -1;
    }
    p->id = ++R.next_read;
    p->fn = fn;
    p->a = a;
    p->b = b;
    dict_insert(&R.reads, &p->node, &p->id, sizeof(p->id));
    int rc = redisAsyncFormattedCommand(R.ac, on_read_reply, (void *)(uintptr_t)p->id,
                                        buf_start(&out), out.len);
    buf_free(&out);
    if (rc != REDIS_OK) {
        dict_remove(&R.reads, &p->node);
        free(p);
        return -1;
    }
    R.inflight++;
    return 0;
}

/* Moves writes along in the middle of a long loop turn (thousands of
 * heartbeats read at once): takes the replies that are there, hands queued
 * writes to hiredis and writes them to the socket now, so Redis works
 * while we parse instead of waiting for the loop to come around. */
void store_pump(void)
{
    R.since_pump = 0;
    if (R.state != STORE_UP || R.pumping)
        return;
    R.pumping = 1;
    flush(NULL);
    if (R.ac)
        redisAsyncHandleWrite(R.ac);
    R.pumping = 0;
}

/* Counts a GPU sample older than what its stream holds (not written). */
void store_count_stale(void)
{
    R.st.gpu_stale++;
}

/* Sets fn to run each time the connection is (re)established. */
void store_on_connect(void (*fn)(void))
{
    R.on_connect = fn;
}

/* Connects to cfg->url (in the background) and starts persisting cl.
 * Returns 0, or -1 with the reason (a bad URL). */
int store_start(struct ev_loop *loop, const struct store_config *cfg, struct cluster *cl,
                char *err, size_t errlen)
{
    memset(&R, 0, sizeof(R));
    R.loop = loop;
    R.cfg = *cfg;
    if (parse_redis_url(cfg->url, &R.addr, err, errlen) < 0)
        return -1;
    R.backoff = BACKOFF_MIN;
    dict_init(&R.reads, read_match);
    ev_init(&R.connect_timer, connect_timeout);
    ev_init(&R.retry_timer, retry);
    /* The persistence hook queues its periodic writes before the flush. */
    store_persist_init(cl, cfg);
    if (reactor_add_hook(flush, NULL) < 0) {
        snprintf(err, errlen, "too many hooks");
        return -1;
    }
    connect_now();
    return 0;
}

/* Applies reloadable settings. */
void store_configure(const struct store_config *cfg)
{
    R.cfg.backlog = cfg->backlog;
    R.cfg.max_inflight = cfg->max_inflight;
    R.cfg.connect_timeout = cfg->connect_timeout;
    store_persist_configure(cfg);
}

/* Closes the connection and frees the backlog (at exit). */
void store_stop(void)
{
    ev_timer_stop(R.loop, &R.connect_timer);
    ev_timer_stop(R.loop, &R.retry_timer);
    redisAsyncContext *ac = R.ac;
    R.ac = NULL;
    if (ac)
        redisAsyncFree(ac);
    struct dict_node *n;
    for (size_t i = 0; R.reads.buckets && i <= R.reads.mask; i++)
        while ((n = R.reads.buckets[i])) {
            dict_remove(&R.reads, n);
            free(container_of(n, struct pending_read, node));
        }
    dict_free(&R.reads);
    buf_free(&R.crit);
    buf_free(&R.tele);
    free(R.barriers);
    R.barriers = NULL;
    resp_free(&R.cmd);
    R.state = STORE_DOWN;
}

/* Fills st with the counters /health and /metrics show. */
void store_stats(struct store_stats *st)
{
    *st = R.st;
    st->state = R.state;
    st->state_bytes = R.crit.len;
    st->telemetry_bytes = R.tele.len;
    st->backlog_bytes = R.crit.len + R.tele.len;
    st->inflight = (unsigned long)(R.inflight > 0 ? R.inflight : 0);
}

/* Returns non-zero when nothing waits to be written or answered. */
int store_idle(void)
{
    return R.crit.len == 0 && R.tele.len == 0 && R.inflight <= 0;
}

/* Returns non-zero while connected. */
int store_up(void)
{
    return R.state == STORE_UP;
}

/* Returns non-zero while task state has room in the backlog; when not,
 * new submissions are refused (503) rather than risk losing them. */
int store_accepting(void)
{
    return (double)R.crit.len < STATE_SHARE * (double)R.cfg.backlog;
}
