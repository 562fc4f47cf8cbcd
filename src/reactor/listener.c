#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/parse.h"
#include "reactor.h"

#define ACCEPTS_PER_EVENT 64

/* A descriptor kept in reserve: when accept fails with EMFILE we give it up,
 * accept and drop the waiting connection, and take it back, so a full fd
 * table cannot leave a readable listener spinning the loop. */
static int spare_fd = -1;
static double emfile_logged;

static void spare_take(void)
{
    if (spare_fd < 0)
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void format_peer(const struct sockaddr_storage *ss, char *out,
                        size_t outlen)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sa = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sa->sin_addr, host, sizeof(host));
        port = ntohs(sa->sin_port);
        snprintf(out, outlen, "%s:%d", host, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &sa->sin6_addr, host, sizeof(host));
        port = ntohs(sa->sin6_port);
        snprintf(out, outlen, "[%s]:%d", host, port);
    } else {
        snprintf(out, outlen, "local");
    }
}

static void accept_emfile(struct listener *ls)
{
    struct ev_loop *loop = reactor_loop();
    if (spare_fd >= 0) {
        close(spare_fd);
        spare_fd = -1;
        int fd = accept(ls->fd, NULL, NULL);
        if (fd >= 0)
            close(fd);
        spare_take();
    }
    ls->rejected++;
    if (ev_now(loop) - emfile_logged >= 10) {
        emfile_logged = ev_now(loop);
        log_warn("%s: out of file descriptors; dropping new connections "
                 "(raise LimitNOFILE)", ls->name);
    }
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct listener *ls = container_of(w, struct listener, io);
    (void)loop;
    (void)revents;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(ls->fd, (struct sockaddr *)&ss, &sl,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE)
                accept_emfile(ls);
            else if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_warn("%s: accept: %s", ls->name, strerror(errno));
            return;
        }
        int reject = ls->nconns >= ls->max_conns;
        if (reject) {
            ls->rejected++;
            /* Lingering rejects are bounded too: past twice the cap, drop. */
            if (!ls->reject_msg || ls->nconns >= 2 * ls->max_conns) {
                close(fd);
                continue;
            }
        }
        int one = 1;
        if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        char peer[64];
        format_peer(&ss, peer, sizeof(peer));
        ls->accepted++;
        reactor_conn_new(ls, fd, peer, reject);
    }
}

/* Binds and listens on addr ("host:port"; port 0 picks a free one, stored
 * in ls->port). The caller has set proto, limits and callbacks. Returns 0,
 * or -1 with the reason in err. Called at start, so name resolution may
 * block. */
int listener_open(struct listener *ls, const char *name, const char *addr,
                  char *err, size_t errlen)
{
    struct hostport hp;
    if (parse_hostport(addr, &hp, err, errlen) < 0)
        return -1;
    snprintf(ls->name, sizeof(ls->name), "%s", name);
    list_init(&ls->conns);
    ls->fd = -1;
    struct addrinfo hints = {0}, *res;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[8];
    snprintf(port, sizeof(port), "%d", hp.port);
    int rc = getaddrinfo(hp.host[0] ? hp.host : NULL, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot resolve '%s': %s", name, hp.host,
                 gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
        snprintf(err, errlen, "%s: cannot listen on %s: %s", name, addr,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    format_peer(&ss, ls->addr, sizeof(ls->addr));
    ls->port = ss.ss_family == AF_INET6
                   ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                   : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    ls->fd = fd;
    ev_io_init(&ls->io, accept_cb, fd, EV_READ);
    spare_take();
    return 0;
}

/* Starts accepting. */
void listener_start(struct listener *ls)
{
    ev_io_start(reactor_loop(), &ls->io);
}

/* Stops accepting; the socket stays bound (connections wait in the
 * backlog). */
void listener_stop(struct listener *ls)
{
    ev_io_stop(reactor_loop(), &ls->io);
}

/* Stops accepting and closes the listening socket. */
void listener_close(struct listener *ls)
{
    listener_stop(ls);
    if (ls->fd >= 0)
        close(ls->fd);
    ls->fd = -1;
}

/* Closes every connection of ls, each after its queued output when
 * after_flush is set. */
void listener_close_all(struct listener *ls, int after_flush)
{
    struct list_node *pos, *tmp;
    list_for_each_safe(pos, tmp, &ls->conns) {
        struct conn *c = container_of(pos, struct conn, link);
        if (after_flush)
            conn_close_after_flush(c);
        else
            conn_close(c);
    }
}
