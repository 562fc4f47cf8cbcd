/* The plain transport: bytes go to and from the socket as they are. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor_int.h"

static ssize_t plain_read(struct conn *c, void *p, size_t n)
{
    c->flags &= ~CONN_IO_WRITE;
    return read(c->fd, p, n);
}

static ssize_t plain_writev(struct conn *c, const struct iovec *iov, int n)
{
    c->flags |= CONN_IO_WRITE;
    return n == 1 ? write(c->fd, iov[0].iov_base, iov[0].iov_len) : writev(c->fd, iov, n);
}

static int plain_pending(const struct conn *c)
{
    (void)c;
    return 0;
}

static void plain_shutdown(struct conn *c)
{
    shutdown(c->fd, SHUT_WR);
}

static void plain_nothing(struct conn *c)
{
    (void)c;
}

const struct conn_transport conn_plain = {
    .name = "tcp",
    .read = plain_read,
    .writev = plain_writev,
    .pending = plain_pending,
    .shutdown = plain_shutdown,
    .close = plain_nothing,
    .free = plain_nothing,
};
