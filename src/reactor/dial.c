/* Outbound connections: the reactor dials as well as accepts (one
 * connection type for both directions, as Redis's ConnectionType serves
 * both). A dialled connection belongs to a group: a listener that never
 * listens, holding the protocol and the input and output bounds its
 * connections share. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor_int.h"

/* Prepares grp as a group of dialled connections speaking proto. */
void listener_group_init(struct listener *grp, const char *name,
                         const struct conn_proto *proto, size_t in_max, size_t out_max)
{
    memset(grp, 0, sizeof(*grp));
    grp->fd = -1;
    grp->proto = proto;
    grp->in_max = in_max;
    grp->out_max = out_max;
    grp->max_conns = (unsigned long)-1;
    list_init(&grp->conns);
    snprintf(grp->name, sizeof(grp->name), "%s", name);
}

/* The connection for a socket whose connect is under way to `name`
 * ("host:port"): over TLS when the group has a side, the server's
 * certificate verified for name's host. Returns it, or NULL with the
 * reason in err (fd is closed then). */
static struct conn *dialled(struct listener *grp, int fd, const char *name, void *ud, char *err,
                            size_t errlen)
{
    struct conn *c = reactor_conn_make(grp, fd, name);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->ud = ud;
    c->flags |= CONN_DIALING | CONN_DIALED;
    if (grp->tls && tls_conn_attach(c, grp->tls, name) < 0) {
        snprintf(err, errlen, "%s", conn_error(c) ? conn_error(c) : "out of memory");
        conn_close(c);
        return NULL;
    }
    ev_io_start(reactor_loop(), &c->wio);
    return c;
}

/* Starts connecting to the resolved address sa, called `name`
 * ("host:port", the host a TLS certificate must name), without blocking.
 * The group's protocol hears on_connect when the connection is up (over
 * TLS when the group has a side: after the handshake, the server's
 * certificate verified) or has failed (conn_error says why a handshake
 * did); output queued before then waits. ud becomes the connection's
 * protocol state. Returns the connection, or NULL with the reason. */
struct conn *conn_dial_sockaddr(struct listener *grp, const struct sockaddr *sa,
                                unsigned len, const char *name, void *ud, char *err,
                                size_t errlen)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || (connect(fd, sa, (socklen_t)len) < 0 && errno != EINPROGRESS)) {
        snprintf(err, errlen, "%s: %s", name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return dialled(grp, fd, name, ud, err, errlen);
}
