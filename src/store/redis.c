/* The Redis connection: state machine, backlogs, pipelining, per-write
 * completion, reads, and the reply timeout.
 *
 * Every write gets a sequence number. Task-state writes are sent in order
 * and Redis answers in order, so "write n is answered" means every state
 * write up to n is; a caller that must not answer before Redis holds its
 * writes waits for its own range (store_when_stored), never for a barrier
 * shared with writes that came later.
 *
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
#include "store_int.h"

#define BACKOFF_MIN 0.1
#define BACKOFF_MAX 5.0
#define STATE_SHARE 0.75          /* task state may use this much of the backlog */
#define WATCH_PERIOD 0.25         /* how often the reply timeout is checked */

struct entry {
    uint64_t seq;
    uint32_t len;
    uint32_t kind;
};

struct pending_read {
    struct dict_node node;
    uint64_t id;
    store_read_fn fn;             /* raw replies (store/ itself) */
    store_decode_fn decode;       /* or a decoder that calls user */
    void (*user)(void);
    uint64_t a, b;
};

struct waiter {
    uint64_t from, to;            /* the state writes it stands for */
    store_done_fn fn;
    uint64_t a, b;
    char tag[48];
    unsigned keep : 1;            /* waits across reconnects */
    unsigned failed : 1;          /* Redis refused one of its writes */
};

static struct {
    struct ev_loop *loop;
    struct store_config cfg;
    struct redis_addr addr;
    redisAsyncContext *ac;
    enum store_state_id state;
    int linked;                   /* connected and SELECTed: reads may go */
    ev_timer connect_timer, retry_timer, watch_timer;
    double backoff;
    double progress_at;           /* last reply, or when the wait began */
    struct buf crit, tele, rewrite; /* backlogs: task state, telemetry, write-back */
    size_t crit_sent, rewrite_sent; /* bytes of crit/rewrite in flight */
    uint64_t seq;                 /* last write number given */
    uint64_t acked;               /* last state write Redis answered */
    uint64_t last_state;          /* last state write queued */
    uint64_t send_failed;         /* last write that could not be queued */
    long inflight;
    struct resp_cmd cmd;
    struct dict reads;
    uint64_t next_read;
    struct waiter *w;
    size_t whead, wn, wcap;
    void (*on_connect)(void);
    int pumping;                  /* inside store_pump */
    unsigned since_pump;          /* telemetry writes queued since the last */
    struct store_stats st;
    double last_error_log;
} R;

static int read_match(const struct dict_node *n, const void *key, size_t len)
{
    (void)len;
    return container_of(n, struct pending_read, node)->id == *(const uint64_t *)key;
}

/* The command being built; finish it with store_send or store_read. */
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
        if (e->kind == STORE_LOG)
            R.st.logs_dropped++;
        else
            R.st.telemetry_dropped++;
        buf_consume(&R.tele, entry_size(e));
    }
}

static struct buf *queue_of(enum store_kind kind)
{
    return kind == STORE_STATE ? &R.crit : kind == STORE_REWRITE ? &R.rewrite : &R.tele;
}

/* Appends the built command to q as one entry. Returns 0 or -1. */
static int enqueue(struct buf *q, uint64_t seq, enum store_kind kind)
{
    struct entry e = {seq, 0, (uint32_t)kind};
    size_t at = q->len;
    if (buf_append(q, &e, sizeof(e)) < 0 || resp_end(&R.cmd, q) < 0) {
        q->len = at;
        return -1;
    }
    struct entry *stored = (struct entry *)(void *)(buf_start(q) + at);
    stored->len = (uint32_t)(q->len - at - sizeof(e));
    static const char pad[8];
    if (buf_append(q, pad, entry_size(stored) - sizeof(e) - stored->len) < 0) {
        q->len = at;
        return -1;
    }
    return 0;
}

/* Queues the command built with store_cmd as a write of this kind. Returns
 * its sequence number, or 0 when it could not be queued (no memory, or an
 * argument refused): the caller must act on that (a submission answers
 * 503; the persistence observer asks for a full rewrite). */
uint64_t store_send(enum store_kind kind)
{
    uint64_t seq = ++R.seq;
    if (enqueue(queue_of(kind), seq, kind) < 0) {
        R.st.errors++;
        R.send_failed = seq;
        log_error("redis: a %s write could not be queued (no memory, or a command too large)",
                  kind == STORE_STATE ? "task-state" : "telemetry");
        return 0;
    }
    if (kind == STORE_STATE)
        R.last_state = seq;
    if (kind == STORE_TELEMETRY || kind == STORE_GPU || kind == STORE_LOG) {
        drop_telemetry();
        if (++R.since_pump >= 512)
            store_pump();
    }
    return seq;
}

/* Returns the number of the last write queued. */
uint64_t store_seq(void)
{
    return R.seq;
}

/* Returns non-zero when a write queued after seq could not be queued. */
int store_failed_since(uint64_t seq)
{
    return R.send_failed > seq;
}

static void compact_waiters(void)
{
    if (R.whead == 0)
        return;
    memmove(R.w, R.w + R.whead, (R.wn - R.whead) * sizeof(*R.w));
    R.wn -= R.whead;
    R.whead = 0;
}

/* Calls the waiters whose writes are all answered, oldest first. */
static void run_waiters(void)
{
    while (R.whead < R.wn && R.w[R.whead].to <= R.acked) {
        struct waiter w = R.w[R.whead++];
        w.fn(!w.failed, w.a, w.b, w.tag);
    }
    if (R.whead == R.wn)
        R.whead = R.wn = 0;
}

/* Calls fn(ok, a, b, tag) once Redis has answered every task-state write
 * numbered from..to (to = 0: nothing to wait for), with ok = 0 when it
 * refused one of them. While Redis is away a waiter with keep = 0 is
 * called at once with ok = 0 (its client gets a 503 and may retry); with
 * keep = 1 it waits for the writes to be answered after the reconnect.
 * Never calls fn from inside this call. Returns 0 or -1 (no memory). */
int store_when_stored(uint64_t from, uint64_t to, int keep, store_done_fn fn,
                      uint64_t a, uint64_t b, const char *tag)
{
    if (R.wn == R.wcap) {
        compact_waiters();
        if (R.wn == R.wcap) {
            size_t cap = R.wcap ? R.wcap * 2 : 64;
            struct waiter *v = realloc(R.w, cap * sizeof(*v));
            if (!v)
                return -1;
            R.w = v;
            R.wcap = cap;
        }
    }
    if (to > R.last_state)        /* telemetry numbers are never answered as state */
        to = R.last_state;
    struct waiter nw = {from ? from : to, to, fn, a, b, "", keep ? 1u : 0u, 0u};
    snprintf(nw.tag, sizeof(nw.tag), "%s", tag ? tag : "");
    size_t i = R.wn++;
    while (i > R.whead && R.w[i - 1].to > to) {   /* kept in order of `to` */
        R.w[i] = R.w[i - 1];
        i--;
    }
    R.w[i] = nw;
    return 0;
}

static void fail_waiters(uint64_t seq)
{
    for (size_t i = R.whead; i < R.wn; i++)
        if (R.w[i].from <= seq && seq <= R.w[i].to)
            R.w[i].failed = 1;
}

/* Redis is away: waiters that do not wait across reconnects hear it now. */
static void drop_waiters(void)
{
    size_t keep = R.whead;
    size_t n = R.wn;
    struct waiter *v = R.w;
    for (size_t i = R.whead; i < n; i++) {
        if (v[i].keep) {
            v[keep++] = v[i];
            continue;
        }
        struct waiter w = v[i];
        w.fn(0, w.a, w.b, w.tag);
    }
    /* fn may not add waiters here (it is told not to by the API). */
    R.wn = keep;
}

static void log_error_reply(const redisReply *r)
{
    double now = ev_now(R.loop);
    if (now - R.last_error_log < 10)
        return;
    R.last_error_log = now;
    log_warn("redis: %.*s (further errors counted for 10s)", (int)r->len, r->str);
}

/* An XADD with an explicit id that Redis has already (a write resent after
 * a reconnect whose first answer was lost) is done, not failed; so is the
 * queue's group made again. */
static int already_there(const redisReply *r)
{
    return strstr(r->str, "equal or smaller") != NULL || strstr(r->str, "BUSYGROUP") != NULL;
}

/* Errors that say "not now" rather than "never": Redis loading its files,
 * a replica that was the master, a script running. The write was not
 * applied; it goes again on a new connection. */
static int not_now(const redisReply *r)
{
    static const char *const codes[] = {"LOADING", "READONLY", "MASTERDOWN", "BUSY ",
                                        "TRYAGAIN", NULL};
    for (int i = 0; codes[i]; i++)
        if (strncmp(r->str, codes[i], strlen(codes[i])) == 0)
            return 1;
    return 0;
}

static void pop_entry(struct buf *q, size_t *sent, uint64_t *seq)
{
    struct entry *e = entry_at(q, 0);
    if (!e)
        return;
    size_t n = entry_size(e);
    *seq = e->seq;
    buf_consume(q, n);
    *sent -= n;
}

static void on_write_reply(redisAsyncContext *c, void *reply, void *privdata)
{
    redisReply *r = reply;
    enum store_kind kind = (enum store_kind)(uintptr_t)privdata;
    if (c != R.ac)
        return;
    R.inflight--;
    R.progress_at = ev_now(R.loop);
    if (!r)
        return;
    if (r->type == REDIS_REPLY_ERROR && not_now(r)) {
        char why[160];
        snprintf(why, sizeof(why), "redis answered a write with '%.100s'", r->str);
        store_drop(why);
        return;
    }
    int failed = 0;
    if (r->type == REDIS_REPLY_ERROR && !already_there(r)) {
        failed = 1;
        R.st.errors++;
        log_error_reply(r);
    } else if (r->type == REDIS_REPLY_ERROR && kind == STORE_GPU) {
        R.st.gpu_stale++;
    }
    uint64_t seq = 0;
    if (kind == STORE_STATE) {
        pop_entry(&R.crit, &R.crit_sent, &seq);
        if (failed)
            fail_waiters(seq);
        R.acked = seq;
        run_waiters();
    } else if (kind == STORE_REWRITE) {
        pop_entry(&R.rewrite, &R.rewrite_sent, &seq);
    }
}

static int send_entry(struct buf *q, size_t off)
{
    struct entry *e = entry_at(q, off);
    if (redisAsyncFormattedCommand(R.ac, on_write_reply, (void *)(uintptr_t)e->kind,
                                   (const char *)(e + 1), e->len) != REDIS_OK)
        return -1;
    if (R.inflight++ == 0)
        R.progress_at = ev_now(R.loop);
    R.st.sent++;
    return 0;
}

/* Hands queued writes to hiredis, up to the in-flight cap: the write-back
 * after a data loss first, then state and telemetry oldest first. */
static void push_writes(void)
{
    if (R.state != STORE_UP)
        return;
    while (R.inflight < R.cfg.max_inflight) {
        struct entry *w = entry_at(&R.rewrite, R.rewrite_sent);
        if (w) {
            if (send_entry(&R.rewrite, R.rewrite_sent) < 0)
                break;
            R.rewrite_sent += entry_size(w);
            continue;
        }
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
}

/* Before the loop sleeps: take the replies that are there (hiredis reads
 * 16 KiB per readiness event and, under load, the loop turns slowly),
 * push queued writes, and call the waiters that are due. */
static void flush(void *ud)
{
    (void)ud;
    for (int i = 0; i < 256 && R.ac && R.linked && R.inflight > 0; i++) {
        long before = R.inflight;
        redisAsyncHandleRead(R.ac);
        if (R.inflight == before)
            break;
    }
    push_writes();
    buf_shrink(&R.tele, 1 << 20);
    buf_shrink(&R.crit, 1 << 20);
    run_waiters();
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
    ev_timer_stop(R.loop, &R.watch_timer);
    R.ac = NULL;
    R.linked = 0;
    R.inflight = 0;
    R.crit_sent = 0;              /* unanswered task-state writes go again */
    buf_reset(&R.rewrite);        /* a write-back is redone when it is due */
    R.rewrite_sent = 0;
    R.state = STORE_DOWN;
    drop_waiters();
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

/* Drops the connection (a reply timeout, a wrong server): pending reads
 * hear NULL, writes go again on the next connection. */
void store_drop(const char *why)
{
    redisAsyncContext *ac = R.ac;
    if (!ac)
        return;
    log_warn("redis: %s; dropping the connection and reconnecting", why);
    R.ac = NULL;      /* callbacks from the free below see a stranger */
    went_down();
    redisAsyncFree(ac);
}

static void on_select(redisReply *r, uint64_t a, uint64_t b)
{
    (void)a;
    (void)b;
    if (!r)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        log_error("redis: SELECT %d: %s", R.addr.db, r->str);
        store_drop("SELECT refused");
        return;
    }
    R.linked = 1;
    if (R.on_connect)
        R.on_connect();
    else
        store_set_up();
}

/* The connection is checked (and the state rebuilt, the first time):
 * writes may flow. Called by recovery. */
void store_set_up(void)
{
    if (!R.ac || !R.linked || R.state == STORE_UP)
        return;
    R.state = STORE_UP;
    R.backoff = BACKOFF_MIN;
    push_writes();
}

static void watch_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    if (!R.ac || R.inflight <= 0)
        return;
    double quiet = ev_now(loop) - R.progress_at;
    if (quiet > R.cfg.reply_timeout) {
        char why[96];
        snprintf(why, sizeof(why), "no reply for %.1fs (redis.reply_timeout)", quiet);
        store_drop(why);
    }
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
    ev_timer_set(&R.watch_timer, WATCH_PERIOD, WATCH_PERIOD);
    ev_timer_start(R.loop, &R.watch_timer);
    /* SELECT first; the checks and the writes queue behind it in order. */
    struct resp_cmd *cmd = store_cmd();
    resp_str(cmd, "SELECT");
    resp_int(cmd, R.addr.db);
    R.linked = 1;                 /* for the one read below */
    if (store_read(cmd, on_select, 0, 0) < 0)
        store_drop("SELECT could not be sent");
    R.linked = 0;
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
    log_debug("redis: connect timed out after %gs", R.cfg.connect_timeout);
    store_drop("connect timed out");
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
    if (c == R.ac) {
        R.inflight--;
        R.progress_at = ev_now(R.loop);
    }
    if (!n)
        return;
    struct pending_read *p = container_of(n, struct pending_read, node);
    dict_remove(&R.reads, n);
    if (p->decode)
        p->decode(reply, p->user, p->a, p->b);
    else
        p->fn(reply, p->a, p->b);
    free(p);
}

static int send_read(struct resp_cmd *c, struct pending_read *tmpl)
{
    if (!R.ac || !R.linked)
        return -1;
    /* Encoded before anything else runs: c is the shared builder. */
    struct buf out = BUF_INIT;
    if (resp_end(c, &out) < 0) {
        buf_free(&out);
        return -1;
    }
    push_writes();
    struct pending_read *p = malloc(sizeof(*p));
    if (!p) {
        buf_free(&out);
        return -1;
    }
    *p = *tmpl;
    p->id = ++R.next_read;
    dict_insert(&R.reads, &p->node, &p->id, sizeof(p->id));
    int rc = redisAsyncFormattedCommand(R.ac, on_read_reply, (void *)(uintptr_t)p->id,
                                        buf_start(&out), out.len);
    buf_free(&out);
    if (rc != REDIS_OK) {
        dict_remove(&R.reads, &p->node);
        free(p);
        return -1;
    }
    if (R.inflight++ == 0)
        R.progress_at = ev_now(R.loop);
    return 0;
}

/* Sends the command built with store_cmd now (reads do not wait in the
 * backlog; writes queued before it are pushed first, so it sees them).
 * fn gets the reply, or NULL if the connection drops first; it may start
 * reads and writes of its own. Returns 0, or -1 when Redis is not
 * connected (fn is not called). */
int store_read(struct resp_cmd *c, store_read_fn fn, uint64_t a, uint64_t b)
{
    struct pending_read t = {.fn = fn, .a = a, .b = b};
    return send_read(c, &t);
}

/* The same, for typed reads: decode(reply, user, a, b) turns the reply
 * into what user takes and calls it. */
int store_read_decoded(struct resp_cmd *c, store_decode_fn decode, void (*user)(void),
                       uint64_t a, uint64_t b)
{
    struct pending_read t = {.decode = decode, .user = user, .a = a, .b = b};
    return send_read(c, &t);
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

/* Sets fn to run each time a connection is made and SELECTed; fn checks
 * it and calls store_set_up (or store_drop). */
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
    if (R.cfg.reply_timeout <= 0)
        R.cfg.reply_timeout = 5;
    if (parse_redis_url(cfg->url, &R.addr, err, errlen) < 0)
        return -1;
    R.backoff = BACKOFF_MIN;
    dict_init(&R.reads, read_match);
    ev_init(&R.connect_timer, connect_timeout);
    ev_init(&R.retry_timer, retry);
    ev_init(&R.watch_timer, watch_cb);
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
    if (cfg->reply_timeout > 0)
        R.cfg.reply_timeout = cfg->reply_timeout;
    store_persist_configure(cfg);
}

/* Closes the connection and frees the backlog (at exit). */
void store_stop(void)
{
    ev_timer_stop(R.loop, &R.connect_timer);
    ev_timer_stop(R.loop, &R.retry_timer);
    ev_timer_stop(R.loop, &R.watch_timer);
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
    buf_free(&R.rewrite);
    free(R.w);
    R.w = NULL;
    R.whead = R.wn = R.wcap = 0;
    resp_free(&R.cmd);
    R.state = STORE_DOWN;
}

/* Fills st with the counters /health and /metrics show. */
void store_stats(struct store_stats *st)
{
    *st = R.st;
    st->state = R.state;
    st->state_bytes = R.crit.len + R.rewrite.len;
    st->telemetry_bytes = R.tele.len;
    st->backlog_bytes = R.crit.len + R.tele.len + R.rewrite.len;
    st->inflight = (unsigned long)(R.inflight > 0 ? R.inflight : 0);
}

/* Returns non-zero when nothing waits to be written or answered. */
int store_idle(void)
{
    return R.crit.len == 0 && R.tele.len == 0 && R.rewrite.len == 0 && R.inflight <= 0;
}

/* Returns non-zero while connected, checked and recovered: writes flow
 * and a promise of durability can be kept. */
int store_up(void)
{
    return R.state == STORE_UP;
}

/* Returns non-zero while a write-back of the state in memory is under
 * way (not all answered yet). */
int store_rewriting(void)
{
    return R.rewrite.len > 0;
}

/* Returns non-zero while task state has room in the backlog; when not,
 * new submissions are refused (503) rather than risk losing them. */
int store_accepting(void)
{
    return (double)R.crit.len < STATE_SHARE * (double)R.cfg.backlog;
}
