/* One host's agent connection: connect without blocking, hello, wait for
 * welcome, heartbeats out, frames in; reconnect with exponential backoff
 * and jitter when the master goes away (hello again, then go on). While a
 * host is not joined its heartbeats wait in a bounded buffer. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proto/msg.h"
#include "replay/frame.h"
#include "replay/run.h"

#define BACKOFF_MIN 0.2
#define BACKOFF_MAX 10.0
#define WELCOME_TIMEOUT 10.0
#define MAX_FRAME (1024u * 1024)
#define PENDING_MAX (1024u * 1024)   /* per host: about 800 file times of 8 GPUs */

static void read_cb(struct ev_loop *loop, ev_io *w, int revents);
static void write_cb(struct ev_loop *loop, ev_io *w, int revents);
static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

static const char *host_name(const struct replay_conn *c)
{
    return c->run->data->hosts[c->host]->name;
}

/* Sets up c for host number host; nothing starts yet. */
void replay_conn_init(struct replay_conn *c, struct replay_run *run, int host)
{
    memset(c, 0, sizeof(*c));
    c->run = run;
    c->host = host;
    c->fd = -1;
    c->state = CONN_WAITING;
    masters_cursor_init(&c->cursor, BACKOFF_MIN, BACKOFF_MAX);
    c->keepalive = run->set->interval;
    buf_init(&c->in);
    buf_init(&c->out);
    buf_init(&c->pending);
    ev_init(&c->rio, read_cb);
    ev_init(&c->wio, write_cb);
    ev_init(&c->timer, timer_cb);
    c->rio.data = c->wio.data = c->timer.data = c;
}

static void close_fd(struct replay_conn *c)
{
    struct ev_loop *loop = c->run->loop;
    ev_io_stop(loop, &c->rio);
    ev_io_stop(loop, &c->wio);
    ev_timer_stop(loop, &c->timer);
    list_unlink(&c->dirty);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    buf_free(&c->in);
    buf_free(&c->out);
}

/* Frees c's memory and closes its socket. */
void replay_conn_free(struct replay_conn *c)
{
    close_fd(c);
    buf_free(&c->pending);
}

static void schedule_retry(struct replay_conn *c)
{
    double wait = masters_failed(&c->run->masters, &c->cursor, (double)random() / RAND_MAX);
    c->state = CONN_WAITING;
    ev_timer_set(&c->timer, wait, 0.);
    ev_timer_start(c->run->loop, &c->timer);
}

/* The connection is gone: reconnect, unless the host is leaving. */
static void lost(struct replay_conn *c, const char *why)
{
    enum replay_conn_state was = c->state;
    close_fd(c);
    if (was == CONN_LEAVING || c->run->phase >= PHASE_LEAVING) {
        c->state = CONN_CLOSED;
    } else {
        if (was == CONN_JOINED) {
            log_warn("%s: lost the master (%s); reconnecting", host_name(c), why);
            c->run->count.reconnects++;
        } else if (was == CONN_HELLO) {
            log_warn("%s: no welcome (%s); reconnecting", host_name(c), why);
        }
        schedule_retry(c);
    }
    replay_run_changed(c->run);
}

static void queue(struct replay_conn *c)
{
    if (!list_linked(&c->dirty))
        list_insert_tail(&c->run->dirty, &c->dirty);
}

static void send_frame(struct replay_conn *c, json_t *frame)
{
    if (msg_frame(&c->out, frame) == 0)
        queue(c);
}

/* Writes what out holds as far as the socket takes it (the write watcher
 * takes over when it is full); half-closes a leaving connection once its
 * bye is out. */
void replay_conn_flush(struct replay_conn *c)
{
    while (c->fd >= 0 && c->out.len) {
        ssize_t n = write(c->fd, buf_start(&c->out), c->out.len);
        if (n > 0) {
            buf_consume(&c->out, (size_t)n);
        } else if (n < 0 && errno == EAGAIN) {
            ev_io_start(c->run->loop, &c->wio);
            return;
        } else if (n == 0 || errno != EINTR) {
            lost(c, n == 0 ? "write returned 0" : strerror(errno));
            return;
        }
    }
    if (c->fd < 0)
        return;
    ev_io_stop(c->run->loop, &c->wio);
    list_unlink(&c->dirty);
    buf_shrink(&c->out, 64 * 1024);
    /* Half-close after bye, and read until gantryd closes: closing with
     * unread input would reset the connection under our last frames. */
    if (c->state == CONN_LEAVING)
        shutdown(c->fd, SHUT_WR);
    replay_run_changed(c->run);
}

/* An error frame: the master closes the connection after it. A host
 * refused before it leaves is failed for good, except a rejoining host
 * taken for its own old connection, which tries again. */
static void refused(struct replay_conn *c, json_t *j)
{
    const char *code = json_string_value(json_object_get(j, "code"));
    const char *message = json_string_value(json_object_get(j, "message"));
    /* A standby: on to the leader it names, or the next master. */
    if (masters_on_error(&c->run->masters, &c->cursor, code,
                         json_string_value(json_object_get(j, "leader")),
                         (double)random() / RAND_MAX)) {
        lost(c, code);
        return;
    }
    /* A rejoin may race the master noticing the old connection is gone. */
    if (c->joined_once && c->state == CONN_HELLO && code &&
        strcmp(code, "DUPLICATE_WORKER") == 0) {
        lost(c, code);
        return;
    }
    int leaving = c->state == CONN_LEAVING;
    log_msg(leaving ? LOG_WARN : LOG_ERROR, "%s: the master says %s: %s", host_name(c),
            code ? code : "(no code)", message ? message : "(no message)");
    close_fd(c);
    c->state = leaving ? CONN_CLOSED : CONN_FAILED;
    replay_run_changed(c->run);
}

static void welcomed(struct replay_conn *c, json_t *j)
{
    struct replay_run *run = c->run;
    double suggested = json_number_value(json_object_get(j, "heartbeat_interval"));
    /* Three quarters, so that with the player's checks (every quarter
     * second at most) no silence reaches the interval. */
    c->keepalive = run->set->interval;
    if (suggested > 0 && suggested < c->keepalive)
        c->keepalive = suggested;
    c->keepalive *= 0.75;
    c->state = CONN_JOINED;
    c->joined_once = 1;
    masters_joined(&c->cursor);
    ev_timer_stop(run->loop, &c->timer);
    run->count.joins++;
    run->warned_unreachable = 0;
    log_debug("%s: joined", host_name(c));
    if (c->pending.len) {
        if (buf_append(&c->out, buf_start(&c->pending), c->pending.len) == 0)
            run->count.samples += c->pending_samples;
        else
            run->count.dropped += c->pending_samples;
        buf_free(&c->pending);
        c->pending_samples = 0;
        queue(c);
    }
    c->last_sent = ev_now(run->loop);
    replay_run_changed(run);
}

/* gantry-replay runs no tasks: an assignment fails at once. */
static void decline(struct replay_conn *c, json_t *j)
{
    const char *id = json_string_value(json_object_get(json_object_get(j, "task"), "task_id"));
    if (id)
        send_frame(c, json_pack("{s:s,s:s,s:s,s:s}", "type", "task_finished", "task_id", id,
                                "status", "failed", "reason", "gantry-replay runs no tasks"));
}

static void on_frame(struct replay_conn *c, const char *p, size_t n)
{
    struct msg_error err;
    json_t *j = msg_parse(p, n, &err);
    if (!j) {
        if (!c->warned_frame++)
            log_warn("%s: unreadable frame from the master: %s", host_name(c), err.message);
        return;
    }
    switch (msg_type_of(j)) {
    case MSG_WELCOME:
        if (c->state == CONN_HELLO)
            welcomed(c, j);
        break;
    case MSG_ERROR:
        refused(c, j);
        break;
    case MSG_PING:
        send_frame(c, json_pack("{s:s,s:O?}", "type", "pong", "seq", json_object_get(j, "seq")));
        break;
    case MSG_PONG:
        if (json_integer_value(json_object_get(j, "seq")) == (json_int_t)c->ping_seq)
            c->ponged = 1;
        replay_run_changed(c->run);
        break;
    case MSG_ASSIGN:
        decline(c, j);
        break;
    default:
        break;
    }
    json_decref(j);
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct replay_conn *c = w->data;
    if (buf_reserve(&c->in, 16 * 1024) < 0) {
        lost(c, "out of memory");
        return;
    }
    ssize_t n = read(c->fd, buf_end(&c->in), c->in.cap - c->in.off - c->in.len);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            lost(c, n == 0 ? "the master closed the connection" : strerror(errno));
        return;
    }
    c->in.len += (size_t)n;
    char *nl;
    while (c->fd >= 0 && (nl = memchr(buf_start(&c->in), '\n', c->in.len))) {
        size_t len = (size_t)(nl - buf_start(&c->in));
        on_frame(c, buf_start(&c->in), len);
        if (c->fd >= 0)
            buf_consume(&c->in, len + 1);
    }
    if (c->fd >= 0 && c->in.len > MAX_FRAME)
        lost(c, "a frame from the master is too long");
    else if (c->fd >= 0)
        buf_shrink(&c->in, 64 * 1024);
}

static void unreachable(struct replay_conn *c, const char *why)
{
    if (!c->run->warned_unreachable++)
        log_warn("cannot reach the master at %s: %s; retrying", c->run->set->master, why);
    close_fd(c);
    schedule_retry(c);
}

static void send_hello(struct replay_conn *c)
{
    json_t *hello = replay_frame_hello(c->run->data, c->host, c->run->set->token);
    if (!hello || msg_frame(&c->out, hello) < 0) {
        lost(c, "out of memory");
        return;
    }
    c->state = CONN_HELLO;
    ev_io_start(c->run->loop, &c->rio);
    ev_timer_set(&c->timer, WELCOME_TIMEOUT, 0.);
    ev_timer_start(c->run->loop, &c->timer);
    replay_conn_flush(c);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct replay_conn *c = w->data;
    if (c->state != CONN_CONNECTING) {
        replay_conn_flush(c);
        return;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        unreachable(c, strerror(err));
        return;
    }
    ev_io_stop(loop, &c->wio);
    send_hello(c);
}

static void connect_now(struct replay_conn *c)
{
    struct replay_run *run = c->run;
    const struct masters_addr *to = masters_pick(&run->masters, &c->cursor);
    int fd = socket(to->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        unreachable(c, strerror(errno));
        return;
    }
    c->fd = fd;
    if (connect(fd, (const struct sockaddr *)&to->sa, to->len) < 0 && errno != EINPROGRESS) {
        unreachable(c, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->state = CONN_CONNECTING;
    ev_io_set(&c->rio, fd, EV_READ);
    ev_io_set(&c->wio, fd, EV_WRITE);
    ev_io_start(run->loop, &c->wio);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct replay_conn *c = w->data;
    if (c->state == CONN_WAITING)
        connect_now(c);
    else if (c->state == CONN_HELLO)
        lost(c, "none within 10s");
}

/* Starts connecting (the first attempt at once). */
void replay_conn_start(struct replay_conn *c)
{
    c->state = CONN_WAITING;
    ev_timer_set(&c->timer, 0., 0.);
    ev_timer_start(c->run->loop, &c->timer);
}

/* Sends the samples of points from..to (one host's at one file time)
 * stamped ts_ms: now if joined, else once joined (up to a bound; past it
 * they are dropped and counted). Returns 0, or -1 when dropped. */
int replay_conn_heartbeat(struct replay_conn *c, size_t from, size_t to, int64_t ts_ms)
{
    struct replay_run *run = c->run;
    if (c->state == CONN_FAILED || c->state == CONN_LEAVING || c->state == CONN_CLOSED)
        return 0;
    int joined = c->state == CONN_JOINED;
    struct buf *b = joined ? &c->out : &c->pending;
    size_t before = b->len;
    unsigned samples = 0;
    if (replay_frame_heartbeat(b, run->data, from, to, c->seq + 1, ts_ms, &samples) < 0 ||
        (!joined && b->len > PENDING_MAX)) {
        b->len = before;
        run->count.dropped += samples;
        return -1;
    }
    c->seq++;
    c->last_sent = ev_now(run->loop);
    if (joined) {
        run->count.samples += samples;
        run->count.heartbeats++;
        queue(c);
    } else {
        c->pending_samples += samples;
    }
    return 0;
}

/* Sends a heartbeat without samples when the host has been silent for its
 * keepalive period, so the master keeps it active. */
void replay_conn_keepalive(struct replay_conn *c)
{
    double now = ev_now(c->run->loop);
    if (c->state != CONN_JOINED || now - c->last_sent < c->keepalive)
        return;
    size_t before = c->out.len;
    if (replay_frame_keepalive(&c->out, c->seq + 1) < 0) {
        c->out.len = before;
        return;
    }
    c->seq++;
    c->last_sent = now;
    c->run->count.heartbeats++;
    queue(c);
}

/* Sends a ping: its pong says the master has read everything before it. */
void replay_conn_ping(struct replay_conn *c)
{
    if (c->state != CONN_JOINED)
        return;
    c->ponged = 0;
    c->ping_seq = ++c->seq;
    send_frame(c, json_pack("{s:s,s:I}", "type", "ping", "seq", (json_int_t)c->ping_seq));
}

/* Says bye (joined) and closes once it is out; stops trying otherwise. */
void replay_conn_leave(struct replay_conn *c)
{
    if (c->state != CONN_JOINED) {
        if (c->state != CONN_FAILED)
            c->state = CONN_CLOSED;
        close_fd(c);
        return;
    }
    c->state = CONN_LEAVING;
    send_frame(c, json_pack("{s:s,s:s}", "type", "bye", "reason", "done"));
}
