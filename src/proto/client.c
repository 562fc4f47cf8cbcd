/* The agent protocol's client connection (see client.h). */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/dict.h"
#include "core/log.h"
#include "msg.h"
#include "reactor/tls.h"

#define BACKOFF_MIN 0.2
#define BACKOFF_MAX 10.0
#define CONNECT_TIMEOUT 5.0       /* dial to connected (TLS: handshake done) */
#define TLS_HANDSHAKE_TIMEOUT 10.0
#define TLS_LOG_EVERY 60.0

/* The process's client TLS (the flags), shared by every group. */
static struct {
    int on;
    const char *ca, *cert, *key;
    struct tls_side *side;
    double logged[64];            /* by reason: when last logged */
} T;

/* Takes one of the ND_OPT_TLS* options. Returns 1 when opt was one of
 * them, else 0. */
int nd_client_tls_option(int opt, const char *value)
{
    switch (opt) {
    case ND_OPT_TLS: T.on = 1; return 1;
    case ND_OPT_TLS_CA: T.on = 1; T.ca = value; return 1;
    case ND_OPT_TLS_CERT: T.on = 1; T.cert = value; return 1;
    case ND_OPT_TLS_KEY: T.key = value; return 1;
    default: return 0;
    }
}

/* Loads the files the TLS flags named (after reactor_init; groups made
 * afterwards speak TLS). Returns 0, or -1 with "--tls-...: reason" in
 * err. */
int nd_client_tls_setup(char *err, size_t errlen)
{
    if (!T.on && !T.key)
        return 0;
    struct tls_config cfg = {.cert = T.cert, .key = T.key, .ca = T.ca, .names = "--tls-",
                             .handshake_timeout = TLS_HANDSHAKE_TIMEOUT};
    T.on = 1;
    T.side = tls_client_new(&cfg, err, errlen);
    return T.side ? 0 : -1;
}

/* A TLS failure is what a person must see to fix it (a CA, a
 * certificate, a port without TLS): a warning, at most once a minute for
 * each reason. */
static void tls_trouble(const struct nd_client *nc, const char *why)
{
    unsigned h = (unsigned)(dict_hash(why, strlen(why)) & 63);
    double now = ev_now(reactor_loop());
    if (T.logged[h] && now - T.logged[h] < TLS_LOG_EVERY)
        return;
    T.logged[h] = now;
    log_warn("master %s: %s", nc->dialled, why);
}

static double draw(void)
{
    return (double)random() / RAND_MAX;
}

static struct conn *live(const struct nd_client *nc)
{
    return nc->conn ? conn_find(nc->conn) : NULL;
}

/* The next master of the list (or the leader a standby named), at once
 * while this round has addresses left, else after a backoff with jitter
 * (0.2 s doubling to 10 s; half a second at most in a group of several),
 * so many clients do not come back in lockstep (proto/masters.c). */
static void schedule_retry(struct nd_client *nc)
{
    double wait = masters_failed(nc->masters, &nc->cursor, draw());
    ev_timer_stop(reactor_loop(), &nc->retry);
    ev_timer_set(&nc->retry, wait, 0.);
    ev_timer_start(reactor_loop(), &nc->retry);
}

static void gone(struct nd_client *nc, const char *why, int was_up)
{
    nc->conn = 0;
    nc->up = 0;
    nc->scanned = 0;
    nc->why = NULL;
    if (nc->ops->on_down)
        nc->ops->on_down(nc, why, was_up);
    if (!nc->stopped)
        schedule_retry(nc);
}

static void dial(struct nd_client *nc)
{
    char err[300];
    const struct masters_addr *to = masters_pick(nc->masters, &nc->cursor);
    snprintf(nc->dialled, sizeof(nc->dialled), "%s", to->text);
    struct conn *c = conn_dial_sockaddr(nc->grp, (const struct sockaddr *)&to->sa, to->len,
                                        to->text, nc, err, sizeof(err));
    if (!c) {
        gone(nc, err, 0);
        return;
    }
    nc->conn = c->id;
    /* A master that never answers (a host gone, a network that drops
     * everything) must not hold us for the kernel's minutes. */
    ev_timer_stop(reactor_loop(), &nc->retry);
    ev_timer_set(&nc->retry, CONNECT_TIMEOUT, 0.);
    ev_timer_start(reactor_loop(), &nc->retry);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct nd_client *nc = w->data;
    if (nc->stopped)
        return;
    if (!nc->conn)
        dial(nc);
    else if (!nc->up)
        nd_client_drop(nc, "no answer within the connect timeout (5s)");
}

static void client_on_connect(struct conn *c, int err)
{
    struct nd_client *nc = c->ud;
    if (!nc)
        return;
    if (err) {
        nc->why = conn_error(c) ? conn_error(c) : strerror(err);
        return;                   /* closed next: on_close reports it */
    }
    nc->up = 1;
    ev_timer_stop(reactor_loop(), &nc->retry);
    if (nc->ops->on_up)
        nc->ops->on_up(nc);
}

/* Splits input into lines; each complete line is one frame. */
static ssize_t client_on_data(struct conn *c, const char *p, size_t n)
{
    struct nd_client *nc = c->ud;
    size_t off = 0;
    if (!nc)
        return (ssize_t)n;
    size_t max = c->ls->in_max;
    while (off < n && !conn_closing(c) && nc->conn == c->id) {
        const char *nl = memchr(p + off + nc->scanned, '\n', n - off - nc->scanned);
        if (!nl) {
            nc->scanned = n - off;
            return (ssize_t)off;
        }
        size_t len = (size_t)(nl - (p + off));
        nc->scanned = 0;
        size_t flen = len && p[off + len - 1] == '\r' ? len - 1 : len;
        if (flen && flen < max)
            nc->ops->on_frame(nc, p + off, flen);
        off += len + 1;
    }
    return (ssize_t)n;
}

static void client_on_overflow(struct conn *c)
{
    struct nd_client *nc = c->ud;
    if (nc)
        nc->why = "a frame from the master is too long";
    conn_close(c);
}

static void client_on_eof(struct conn *c)
{
    struct nd_client *nc = c->ud;
    if (nc && !nc->why)
        nc->why = "the master closed the connection";
    conn_close(c);
}

static void client_on_close(struct conn *c)
{
    struct nd_client *nc = c->ud;
    if (!nc || nc->conn != c->id)
        return;
    if (conn_error(c)) {
        nc->why = conn_error(c);  /* lives until c is freed, after this */
        tls_trouble(nc, nc->why);
    }
    gone(nc, nc->why ? nc->why : "the connection was lost", nc->up);
}

static void client_on_drain(struct conn *c)
{
    struct nd_client *nc = c->ud;
    if (nc && nc->conn == c->id && nc->ops->on_drain)
        nc->ops->on_drain(nc);
}

static const struct conn_proto client_proto = {
    .name = "master",
    .on_data = client_on_data,
    .on_overflow = client_on_overflow,
    .on_close = client_on_close,
    .on_eof = client_on_eof,
    .on_drain = client_on_drain,
    .on_connect = client_on_connect,
};

/* Prepares a group for clients' connections: frames up to max_frame
 * bytes in, at most max_output bytes queued out (past it a connection is
 * closed, and made again), over TLS when the flags asked for it. */
void nd_client_group_init(struct listener *grp, const char *name, size_t max_frame,
                          size_t max_output)
{
    listener_group_init(grp, name, &client_proto, max_frame + 1, max_output);
    grp->tls = T.side;
}

/* Sets up nc for the group of masters m (kept by pointer); nothing
 * starts yet. */
void nd_client_init(struct nd_client *nc, struct listener *grp, const struct masters *m,
                    const struct nd_client_ops *ops, void *ud)
{
    memset(nc, 0, sizeof(*nc));
    nc->grp = grp;
    nc->ops = ops;
    nc->ud = ud;
    nc->masters = m;
    masters_cursor_init(&nc->cursor, BACKOFF_MIN, BACKOFF_MAX);
    ev_init(&nc->retry, retry_cb);
    nc->retry.data = nc;
}

/* Connects after `after` seconds (0: on the next loop turn), and keeps
 * reconnecting until stopped. */
void nd_client_start(struct nd_client *nc, double after)
{
    nc->stopped = 0;
    ev_timer_stop(reactor_loop(), &nc->retry);
    ev_timer_set(&nc->retry, after, 0.);
    ev_timer_start(reactor_loop(), &nc->retry);
}

/* Stops for good, and no retry follows. With after_flush the connection
 * closes once what is queued is written and the master has closed its
 * side (on_down tells); without, it closes now and nothing more is heard
 * of it (nc may be freed after this). */
void nd_client_stop(struct nd_client *nc, int after_flush)
{
    nc->stopped = 1;
    ev_timer_stop(reactor_loop(), &nc->retry);
    struct conn *c = live(nc);
    if (c && after_flush) {
        conn_linger_close(c);
        return;
    }
    if (c) {
        c->ud = NULL;
        conn_close(c);
    }
    nc->conn = 0;
    nc->up = 0;
}

/* Closes the connection now (it is made again after the backoff). */
void nd_client_drop(struct nd_client *nc, const char *why)
{
    struct conn *c = live(nc);
    if (c) {
        nc->why = why;
        conn_close(c);
    }
}

/* The master welcomed us: the next loss starts the backoff afresh, from
 * this master. */
void nd_client_joined(struct nd_client *nc)
{
    masters_joined(&nc->cursor);
}

/* An error frame from the master (it closes the connection next): a
 * standby's not_leader sends the next dial to the leader it names.
 * Returns non-zero when the error was that (the caller need not report
 * it). */
int nd_client_on_error(struct nd_client *nc, const char *code, const char *leader)
{
    return masters_on_error(nc->masters, &nc->cursor, code, leader, draw());
}

/* The output buffer of the connection when it is up (frames go after
 * what is queued; then nd_client_flush_soon), else NULL. */
struct buf *nd_client_out(struct nd_client *nc)
{
    struct conn *c = live(nc);
    return c && nc->up && !conn_closing(c) ? conn_out(c) : NULL;
}

/* Writes what was framed into nd_client_out before the loop sleeps. */
void nd_client_flush_soon(struct nd_client *nc)
{
    struct conn *c = live(nc);
    if (c) {
        conn_flush_soon(c);
        if (conn_pending_bytes(c) > c->ls->out_max) {
            nc->why = "the master does not read what we send";
            conn_close(c);
        }
    }
}

/* Sends frame (taken) when connected. Returns 0, or -1 when not. */
int nd_client_send(struct nd_client *nc, json_t *frame)
{
    struct buf *out = nd_client_out(nc);
    if (!out) {
        json_decref(frame);
        return -1;
    }
    if (msg_frame(out, frame) < 0)
        return -1;
    nd_client_flush_soon(nc);
    return 0;
}

/* Returns the bytes queued for the master and not yet written. */
size_t nd_client_queued(const struct nd_client *nc)
{
    struct conn *c = live(nc);
    return c ? conn_pending_bytes(c) : 0;
}

/* Returns non-zero while more than bound bytes wait for the master. */
int nd_client_congested(const struct nd_client *nc, size_t bound)
{
    return nd_client_queued(nc) > bound;
}

/* Asks for on_drain once everything queued is written. */
void nd_client_want_drain(struct nd_client *nc)
{
    struct conn *c = live(nc);
    if (c)
        conn_want_drain(c);
}

/* Writes what is queued, waiting up to `seconds` for the socket (at exit:
 * the loop will not turn again). */
void nd_client_flush_wait(struct nd_client *nc, double seconds)
{
    struct conn *c;
    for (int i = 0; i < (int)(seconds * 1000); i++) {
        if (!(c = live(nc)) || conn_pending_bytes(c) == 0)
            return;
        conn_flush_now(c);
        if ((c = live(nc)) && conn_pending_bytes(c)) {
            struct pollfd p = {c->fd, POLLOUT, 0};
            poll(&p, 1, 1);
        }
    }
}
