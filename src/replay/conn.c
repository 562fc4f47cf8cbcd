/* One host's agent connection, on the shared client connection
 * (proto/client.c: dialled on the reactor, reconnected with backoff and
 * jitter when the master goes away): hello, wait for welcome, heartbeats
 * out, frames in. While a host is not joined its heartbeats wait in a
 * bounded buffer. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proto/msg.h"
#include "replay/frame.h"
#include "replay/run.h"

#define WELCOME_TIMEOUT 10.0
#define PENDING_MAX (1024u * 1024)   /* per host: about 800 file times of 8 GPUs */

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static const struct nd_client_ops conn_ops;

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
    c->state = CONN_WAITING;
    c->keepalive = run->set->interval;
    buf_init(&c->pending);
    nd_client_init(&c->nc, &run->grp, run->set->master, &conn_ops, c);
    ev_init(&c->timer, timer_cb);
    c->timer.data = c;
}

/* Frees c's memory and closes its connection. */
void replay_conn_free(struct replay_conn *c)
{
    ev_timer_stop(c->run->loop, &c->timer);
    nd_client_stop(&c->nc, 0);
    buf_free(&c->pending);
}

/* Bytes queued for the master and not yet written. */
size_t replay_conn_queued(const struct replay_conn *c)
{
    return nd_client_queued(&c->nc);
}

/* Queued output goes out before the loop sleeps; the player hears when it
 * is all written. */
static void flushed_soon(struct replay_conn *c)
{
    nd_client_flush_soon(&c->nc);
    nd_client_want_drain(&c->nc);
}

static void send_frame(struct replay_conn *c, json_t *frame)
{
    if (nd_client_send(&c->nc, frame) == 0)
        nd_client_want_drain(&c->nc);
}

/* The connection went (or never came): the client retries unless the
 * host is leaving or refused. */
static void on_down(struct nd_client *nc, const char *why, int was_up)
{
    struct replay_conn *c = nc->ud;
    enum replay_conn_state was = c->state;
    ev_timer_stop(c->run->loop, &c->timer);
    if (was == CONN_LEAVING || was == CONN_CLOSED || c->run->phase >= PHASE_LEAVING) {
        nd_client_stop(nc, 0);
        c->state = CONN_CLOSED;
    } else if (was == CONN_FAILED) {
        nd_client_stop(nc, 0);
    } else {
        if (was == CONN_JOINED) {
            log_warn("%s: lost the master (%s); reconnecting", host_name(c), why);
            c->run->count.reconnects++;
        } else if (was == CONN_HELLO) {
            log_warn("%s: no welcome (%s); reconnecting", host_name(c), why);
        } else if (!was_up && !c->run->warned_unreachable++) {
            log_warn("cannot reach the master at %s: %s; retrying", c->run->set->master, why);
        }
        c->state = CONN_WAITING;
    }
    replay_run_changed(c->run);
}

/* An error frame: the master closes the connection after it. A host
 * refused before it leaves is failed for good, except a rejoining host
 * taken for its own old connection, which tries again. */
static void refused(struct replay_conn *c, json_t *j)
{
    const char *code = json_string_value(json_object_get(j, "code"));
    const char *message = json_string_value(json_object_get(j, "message"));
    /* A rejoin may race the master noticing the old connection is gone. */
    if (c->joined_once && c->state == CONN_HELLO && code &&
        strcmp(code, "DUPLICATE_WORKER") == 0) {
        nd_client_drop(&c->nc, code);
        return;
    }
    int leaving = c->state == CONN_LEAVING;
    log_msg(leaving ? LOG_WARN : LOG_ERROR, "%s: the master says %s: %s", host_name(c),
            code ? code : "(no code)", message ? message : "(no message)");
    c->state = leaving ? CONN_CLOSED : CONN_FAILED;
    nd_client_stop(&c->nc, 0);
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
    nd_client_backoff_reset(&c->nc);
    ev_timer_stop(run->loop, &c->timer);
    run->count.joins++;
    run->warned_unreachable = 0;
    log_debug("%s: joined", host_name(c));
    struct buf *out = nd_client_out(&c->nc);
    if (c->pending.len && out) {
        if (buf_append(out, buf_start(&c->pending), c->pending.len) == 0)
            run->count.samples += c->pending_samples;
        else
            run->count.dropped += c->pending_samples;
        buf_free(&c->pending);
        c->pending_samples = 0;
        flushed_soon(c);
    }
    c->last_sent = ev_now(run->loop);
    replay_run_changed(run);
}

/* gantry-replay runs no tasks: an assignment fails at once. */
static void decline(struct replay_conn *c, json_t *j)
{
    json_t *task = json_object_get(j, "task");
    const char *id = json_string_value(json_object_get(task, "task_id"));
    json_t *attempt = json_object_get(task, "attempts");
    if (id)
        send_frame(c, json_pack("{s:s,s:s,s:O?,s:s,s:s}", "type", "task_finished", "task_id",
                                id, "attempt", attempt, "status", "failed", "reason",
                                "gantry-replay runs no tasks"));
}

static void on_frame(struct nd_client *nc, const char *p, size_t n)
{
    struct replay_conn *c = nc->ud;
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

static void on_up(struct nd_client *nc)
{
    struct replay_conn *c = nc->ud;
    json_t *hello = replay_frame_hello(c->run->data, c->host, c->run->set->token);
    if (!hello || nd_client_send(nc, hello) < 0) {
        nd_client_drop(nc, "out of memory");
        return;
    }
    c->state = CONN_HELLO;
    ev_timer_set(&c->timer, WELCOME_TIMEOUT, 0.);
    ev_timer_start(c->run->loop, &c->timer);
    nd_client_want_drain(nc);
}

/* Everything queued is written: the player may be waiting for that. */
static void on_drain(struct nd_client *nc)
{
    struct replay_conn *c = nc->ud;
    replay_run_changed(c->run);
}

static const struct nd_client_ops conn_ops = {
    .on_up = on_up,
    .on_frame = on_frame,
    .on_down = on_down,
    .on_drain = on_drain,
};

/* No welcome in time: drop the connection and try again. */
static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct replay_conn *c = w->data;
    if (c->state == CONN_HELLO)
        nd_client_drop(&c->nc, "none within 10s");
}

/* Starts connecting (the first attempt at once). */
void replay_conn_start(struct replay_conn *c)
{
    c->state = CONN_CONNECTING;
    nd_client_start(&c->nc, 0);
}

/* Sends the samples of points from..to (one host's at one file time)
 * stamped ts_ms: now if joined, else once joined (up to a bound; past it
 * they are dropped and counted). Returns 0, or -1 when dropped. */
int replay_conn_heartbeat(struct replay_conn *c, size_t from, size_t to, int64_t ts_ms)
{
    struct replay_run *run = c->run;
    if (c->state == CONN_FAILED || c->state == CONN_LEAVING || c->state == CONN_CLOSED)
        return 0;
    struct buf *out = c->state == CONN_JOINED ? nd_client_out(&c->nc) : NULL;
    struct buf *b = out ? out : &c->pending;
    size_t before = b->len;
    unsigned samples = 0;
    if (replay_frame_heartbeat(b, run->data, from, to, c->seq + 1, ts_ms, &samples) < 0 ||
        (!out && b->len > PENDING_MAX)) {
        b->len = before;
        run->count.dropped += samples;
        return -1;
    }
    c->seq++;
    c->last_sent = ev_now(run->loop);
    if (out) {
        run->count.samples += samples;
        run->count.heartbeats++;
        flushed_soon(c);
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
    struct buf *out = nd_client_out(&c->nc);
    if (c->state != CONN_JOINED || now - c->last_sent < c->keepalive || !out)
        return;
    size_t before = out->len;
    if (replay_frame_keepalive(out, c->seq + 1) < 0) {
        out->len = before;
        return;
    }
    c->seq++;
    c->last_sent = now;
    c->run->count.heartbeats++;
    flushed_soon(c);
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

/* Says bye (joined) and closes once it is out, reading until gantryd
 * closes (closing with unread input would reset the connection under our
 * last frames); stops trying otherwise. */
void replay_conn_leave(struct replay_conn *c)
{
    if (c->state != CONN_JOINED) {
        if (c->state != CONN_FAILED)
            c->state = CONN_CLOSED;
        nd_client_stop(&c->nc, 0);
        return;
    }
    c->state = CONN_LEAVING;
    send_frame(c, json_pack("{s:s,s:s}", "type", "bye", "reason", "done"));
    nd_client_stop(&c->nc, 1);
}
