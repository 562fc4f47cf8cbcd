/* How a connection becomes its protocol's. An accepted one over plain TCP
 * at once; over TLS once its handshake is done, which the protocol never
 * sees (no on_accept, no bytes before). A dialled one once connected and,
 * over TLS, its handshake done (on_connect). A handshake never blocks the
 * loop: it advances on the socket's events, and one not done within its
 * side's timeout is abandoned. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "reactor_int.h"

static ssize_t discard_data(struct conn *c, const char *p, size_t n)
{
    (void)c;
    (void)p;
    return (ssize_t)n;
}

/* Connections over the cap: they get the listener's last word, then go. */
static const struct conn_proto reject_proto = {
    .name = "rejected",
    .on_data = discard_data,
};

/* Accepted connections in their handshake: no protocol knows them yet. */
static const struct conn_proto handshake_proto = {
    .name = "handshake",
    .on_data = discard_data,
};

/* Hands an accepted connection to its listener's protocol. Returns 0, or
 * -1 when the protocol refused it (c is closed then). */
static int accepted(struct conn *c)
{
    struct listener *ls = c->ls;
    c->proto = ls->proto;
    if (ls->on_accept && ls->on_accept(c, ls->ud) < 0) {
        conn_close(c);
        return -1;
    }
    if (!(c->flags & CONN_CLOSING))
        ev_io_start(reactor_loop(), &c->rio);
    return 0;
}

/* A dialled connection is up: the protocol hears it, and what it queued
 * before goes out. */
static void connected(struct conn *c)
{
    ev_io_start(reactor_loop(), &c->rio);
    if (c->proto->on_connect)
        c->proto->on_connect(c, 0);
    if (!(c->flags & CONN_CLOSING) && conn_pending_bytes(c))
        reactor_mark_pending(c);
}

static void handshake_failed(struct conn *c, int err);

/* An accepted handshake is about to start: past the side's bound on
 * handshakes under way, the one that has waited longest goes (the timeout
 * list holds them oldest first). */
static void make_room(struct tls_side *side)
{
    struct timeout_list *t = tls_side_timer(side);
    unsigned long max = tls_side_max_handshakes(side);
    while (max && t->list.count >= max) {
        struct idle_node *n = container_of(list_first(&t->list.head), struct idle_node, link);
        struct conn *oldest = container_of(n, struct conn, idle);
        tls_conn_crowded(oldest);
        handshake_failed(oldest, EAGAIN);
    }
}

static void handshake_begin(struct conn *c)
{
    if (!(c->flags & CONN_DIALED))
        make_room(c->ls->tls);
    c->flags |= CONN_HANDSHAKE;
    conn_set_timeout(c, tls_side_timer(c->ls->tls));
    reactor_handshake(c);
}

/* The handshake failed (err: an errno for a dialled connection's
 * on_connect). An accepted client's refusal is logged; one that spoke
 * plain text is told so in plain text before a lingering close. */
static void handshake_failed(struct conn *c, int err)
{
    if (c->flags & CONN_DIALED) {
        if (c->proto->on_connect)
            c->proto->on_connect(c, err);
        conn_close(c);
        return;
    }
    tls_log_refusal(c);
    const char *reply = tls_conn_plain_reply(c);
    if (!reply) {
        conn_close(c);
        return;
    }
    c->flags &= ~(CONN_HANDSHAKE | CONN_IO_WRITE);
    conn_set_timeout(c, NULL);
    c->proto = &reject_proto;
    if (conn_write(c, reply, strlen(reply)) == 0)
        conn_linger_close(c);
}

/* Advances c's handshake on an event of its socket: the watchers follow
 * what the transport waits for; when it is done the connection goes to
 * its protocol. */
void reactor_handshake(struct conn *c)
{
    struct ev_loop *loop = reactor_loop();
    int rc = c->tr->handshake(c);
    if (rc == 0) {
        ev_io *on = (c->flags & CONN_IO_WRITE) ? &c->wio : &c->rio;
        ev_io_stop(loop, on == &c->wio ? &c->rio : &c->wio);
        if (!ev_is_active(on))
            ev_io_start(loop, on);
        return;
    }
    ev_io_stop(loop, &c->rio);
    ev_io_stop(loop, &c->wio);
    if (rc < 0) {
        handshake_failed(c, EPROTO);
        return;
    }
    c->flags &= ~(CONN_HANDSHAKE | CONN_IO_WRITE);
    conn_set_timeout(c, NULL);
    if (c->flags & CONN_DIALED) {
        connected(c);
    } else if (accepted(c) == 0 && !(c->flags & CONN_CLOSING)) {
        /* Bytes that came with the handshake's end wait inside TLS, not
         * in the socket: read them now. */
        ev_feed_event(loop, &c->rio, EV_READ);
    }
}

/* c's handshake did not finish within its side's timeout. */
void reactor_handshake_expired(struct conn *c)
{
    tls_conn_timed_out(c);
    handshake_failed(c, ETIMEDOUT);
}

/* Makes a connection object for an accepted fd; with reject set, one that
 * only sends the listener's reject_msg and closes (over TLS that word
 * would cost a handshake: the connection is closed at once). Returns NULL
 * when memory or the protocol refuses it (fd is closed then). */
struct conn *reactor_conn_new(struct listener *ls, int fd, const char *peer,
                              int reject)
{
    if (reject && ls->tls) {
        close(fd);
        return NULL;
    }
    struct conn *c = reactor_conn_make(ls, fd, peer);
    if (!c)
        return NULL;
    if (reject) {
        c->proto = &reject_proto;
        conn_write(c, ls->reject_msg, strlen(ls->reject_msg));
        conn_linger_close(c);
        return c;
    }
    if (!ls->tls)
        return accepted(c) == 0 ? c : NULL;
    c->proto = &handshake_proto;
    if (tls_conn_attach(c, ls->tls, NULL) < 0) {
        conn_close(c);
        return NULL;
    }
    handshake_begin(c);
    return c;
}

/* The socket of a dialled connection became writable: it is up (over
 * TLS, its handshake starts), or it failed. */
void reactor_dial_done(struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    c->flags &= ~CONN_DIALING;
    ev_io_stop(reactor_loop(), &c->wio);
    if (err) {
        if (c->proto->on_connect)
            c->proto->on_connect(c, err);
        conn_close(c);
        return;
    }
    if (c->tls)
        handshake_begin(c);       /* its TLS state was made by the dial */
    else
        connected(c);
}
