/* Shared between the reactor's own files. */
#ifndef GANTRY_REACTOR_INT_H
#define GANTRY_REACTOR_INT_H

#include <sys/uio.h>

#include "reactor.h"

/* A transport: how a connection's bytes cross its socket (Redis's
 * ConnectionType is the model). The reactor's read, flush, drain and close
 * paths call these and nothing else on the socket, so what is above
 * (HTTP, WebSocket, the agent protocol, the client) is the same over every
 * transport. A call that must wait returns -1 with errno EAGAIN and leaves
 * CONN_IO_WRITE set when it waits for the socket to be writable, clear when
 * readable: a TLS read may need to write, and a TLS write to read. */
struct conn_transport {
    const char *name;
    /* Up to n bytes into p: the count, 0 at the peer's end, or -1 with
     * errno (EAGAIN: wait). */
    ssize_t (*read)(struct conn *c, void *p, size_t n);
    /* Writes from iov (n entries, n >= 1): the bytes taken, or -1 with
     * errno. After EAGAIN the next call starts with the same bytes (the
     * queue's front does not change until bytes are taken). */
    ssize_t (*writev)(struct conn *c, const struct iovec *iov, int n);
    /* Advances the handshake: 1 done, 0 waiting, -1 failed (reason in
     * conn_error). NULL: there is none. */
    int (*handshake)(struct conn *c);
    /* Non-zero while the transport holds input the socket no longer shows
     * (a read must follow without waiting for the socket). */
    int (*pending)(const struct conn *c);
    /* No more output: tells the peer (TLS close_notify) and sends FIN. */
    void (*shutdown)(struct conn *c);
    /* The socket is about to be closed: a last word where one is due,
     * then the transport's state goes (conn_error stays readable). */
    void (*close)(struct conn *c);
    /* The connection is freed: whatever close left. */
    void (*free)(struct conn *c);
};

extern const struct conn_transport conn_plain;
extern const struct conn_transport conn_tls;

void reactor_mark_pending(struct conn *c);
void reactor_dial_done(struct conn *c);
void reactor_handshake(struct conn *c);
void reactor_handshake_expired(struct conn *c);

int tls_conn_attach(struct conn *c, struct tls_side *side, const char *addr);
const char *tls_conn_error(const struct conn *c);
const char *tls_conn_plain_reply(const struct conn *c);
void tls_conn_timed_out(struct conn *c);
void tls_conn_crowded(struct conn *c);
void tls_log_refusal(const struct conn *c);
double tls_side_timeout(const struct tls_side *side);
unsigned long tls_side_max_handshakes(const struct tls_side *side);
struct timeout_list *tls_side_timer(struct tls_side *side);
void tls_sides_free(void);

#endif
