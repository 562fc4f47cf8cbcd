/* Outbound connections: the reactor dials as well as accepts (one
 * connection type for both directions, as Redis's ConnectionType serves
 * both). A dialled connection belongs to a group: a listener that never
 * listens, holding the protocol and the input and output bounds its
 * connections share. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/parse.h"
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

static int open_socket(const char *addr, char *err, size_t errlen)
{
    struct hostport hp;
    char port[8];
    if (parse_hostport(addr, &hp, err, errlen) < 0)
        return -1;
    struct addrinfo hints = {0}, *res;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%d", hp.port);
    int rc = getaddrinfo(hp.host[0] ? hp.host : "127.0.0.1", port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", addr, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS) {
        snprintf(err, errlen, "%s: %s", addr, strerror(errno));
        close(fd);
        fd = -1;
    } else if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

/* Starts connecting to addr ("host:port") without blocking (a host name
 * is looked up first). The group's protocol hears on_connect when the
 * connection is up (over TLS when the group has a side: after the
 * handshake, the server's certificate verified for addr's host) or has
 * failed (conn_error says why a handshake did); output queued before
 * then waits. ud
 * becomes the connection's protocol state. Returns the connection, or
 * NULL with the reason in err. */
struct conn *conn_dial(struct listener *grp, const char *addr, void *ud, char *err,
                       size_t errlen)
{
    int fd = open_socket(addr, err, errlen);
    if (fd < 0)
        return NULL;
    struct conn *c = reactor_conn_make(grp, fd, addr);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->ud = ud;
    c->flags |= CONN_DIALING | CONN_DIALED;
    if (grp->tls && tls_conn_attach(c, grp->tls, addr) < 0) {
        snprintf(err, errlen, "%s", conn_error(c) ? conn_error(c) : "out of memory");
        conn_close(c);
        return NULL;
    }
    ev_io_start(reactor_loop(), &c->wio);
    return c;
}
