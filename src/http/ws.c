#include "ws.h"

#include <openssl/evp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#include "core/log.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define LAG_GRACE 2.0             /* seconds behind before the 1008 close */

struct ws_client {
    struct list_node link;        /* every client */
    struct conn *c;
    uint64_t id;
    wslay_event_context_ptr ctx;
    const uint8_t *in;            /* bytes being fed to wslay */
    size_t in_len;
    void *owner;
    unsigned long dropped;        /* updates dropped since the last notice */
    double lag_since;             /* 0 while keeping up */
    int awaiting_pong;
    int pong_unsent;              /* a control frame of ours waits in the output */
    int closing;
    int quiet_lag;                /* drops are counted, never announced */
};

static struct {
    struct ws_limits lim;
    struct ws_handlers h;
    struct timeout_list pings;
    struct timeout_list closing;  /* closing clients get this long to go */
    struct list_node all;
    unsigned long clients;
    struct ws_stats st;
} W;

/* Output that stops the client's input from being read: a control frame
 * wslay has queued or that is not written yet (a ping flood from a client
 * that does not read gets one pong in flight, not one per ping), or data
 * past the queue bound. */
static int output_blocks_input(const struct ws_client *cl)
{
    return wslay_event_get_queued_msg_count(cl->ctx) > 0 || cl->pong_unsent ||
           conn_output_over(cl->c, W.lim.queue);
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user)
{
    struct ws_client *cl = user;
    (void)flags;
    if (cl->in_len == 0 || output_blocks_input(cl)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < cl->in_len ? len : cl->in_len;
    memcpy(buf, cl->in, n);
    cl->in += n;
    cl->in_len -= n;
    return (ssize_t)n;
}

/* wslay writes only control frames (pong, ping, close): they go into the
 * output, and the client's input waits until they are written. */
static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    struct ws_client *cl = user;
    (void)flags;
    if (conn_write(cl->c, data, len) < 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    cl->pong_unsent = 1;
    conn_want_drain(cl->c);
    return (ssize_t)len;
}

static void msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
    struct ws_client *cl = user;
    (void)ctx;
    if (arg->opcode == WSLAY_PONG)
        cl->awaiting_pong = 0;
    else if (arg->opcode == WSLAY_TEXT_FRAME && W.h.on_text && !cl->closing)
        W.h.on_text(cl, (const char *)arg->msg, arg->msg_length);
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = recv_cb,
    .send_callback = send_cb,
    .on_msg_recv_callback = msg_cb,
};

/* After wslay did its work: send what it queued, and close once both
 * directions are done. */
static void proceed(struct ws_client *cl)
{
    if (wslay_event_send(cl->ctx) < 0) {
        conn_close(cl->c);
        return;
    }
    if (!wslay_event_want_read(cl->ctx) && !wslay_event_want_write(cl->ctx))
        conn_close_after_flush(cl->c);
}

/* A frame wslay refused (a fragmented or oversized control frame, a bad
 * opcode, an unmasked frame): the close frame RFC 6455 asks for, 1002,
 * then the connection goes. */
static void protocol_error(struct ws_client *cl, int rc)
{
    W.st.protocol_errors++;
    cl->closing = 1;
    if (!wslay_event_get_close_sent(cl->ctx)) {
        /* Written here, not queued in wslay: its own close for a protocol
         * error carries no status code. (A message past the size cap is
         * not an error to wslay: it sends the 1009 close itself.) */
        uint16_t code = rc == WSLAY_ERR_NOMEM ? 1011 : 1002;
        unsigned char frame[4] = {0x88, 2, (unsigned char)(code >> 8), (unsigned char)code};
        conn_write(cl->c, frame, sizeof(frame));
    }
    conn_linger_close(cl->c);
    conn_set_timeout(cl->c, &W.closing);
}

static ssize_t ws_on_data(struct conn *c, const char *p, size_t n)
{
    struct ws_client *cl = c->ud;
    cl->in = (const uint8_t *)p;
    cl->in_len = n;
    conn_touch(c);
    int rc = wslay_event_recv(cl->ctx);
    size_t left = cl->in_len;
    cl->in_len = 0;
    if (rc < 0) {
        protocol_error(cl, rc);
        return (ssize_t)n;
    }
    proceed(cl);
    if (left && !conn_closing(c)) {
        /* Input waits (in the connection's bounded buffer) until what we
         * owe the client is written. */
        conn_pause_read(c);
        conn_want_drain(c);
    }
    return (ssize_t)(n - left);
}

/* What we owed the client is written: read what it sent meanwhile. */
static void ws_on_drain(struct conn *c)
{
    struct ws_client *cl = c->ud;
    if (!cl)
        return;
    cl->pong_unsent = 0;
    conn_resume_read(c);
    if (W.h.on_drain)
        W.h.on_drain(cl);
}

static void ws_on_close(struct conn *c)
{
    struct ws_client *cl = c->ud;
    if (!cl)
        return;
    if (W.h.on_close)
        W.h.on_close(cl);
    wslay_event_context_free(cl->ctx);
    list_unlink(&cl->link);
    W.clients--;
    free(cl);
    c->ud = NULL;
}

static void ws_on_eof(struct conn *c)
{
    conn_close(c);
}

static const struct conn_proto ws_proto = {
    .name = "websocket",
    .on_data = ws_on_data,
    .on_close = ws_on_close,
    .on_eof = ws_on_eof,
    .on_drain = ws_on_drain,
};

/* An idle client gets a ping; one still silent a period later is gone. */
static void ping_due(struct idle_node *n, void *ud)
{
    struct conn *c = container_of(n, struct conn, idle);
    struct ws_client *cl = c->ud;
    (void)ud;
    c->tmo = NULL;
    if (cl->awaiting_pong) {
        conn_close(c);
        return;
    }
    cl->awaiting_pong = 1;
    struct wslay_event_msg ping = {WSLAY_PING, (const uint8_t *)"", 0};
    wslay_event_queue_msg(cl->ctx, &ping);
    proceed(cl);
    conn_set_timeout(c, &W.pings);
}

static int header_has(const struct http_req *req, const char *name, const char *token)
{
    const char *v = http_header(req, name);
    if (!v)
        return 0;
    size_t n = strlen(token);
    for (const char *p = v; (p = strcasestr(p, token)); p += n) {
        int start = p == v || p[-1] == ',' || p[-1] == ' ';
        int end = p[n] == '\0' || p[n] == ',' || p[n] == ' ';
        if (start && end)
            return 1;
    }
    return 0;
}

/* Sec-WebSocket-Accept = base64(SHA-1(key + GUID)) */
void ws_accept_key(const char *key, char out[32])
{
    unsigned char sha[SHA_DIGEST_LENGTH];
    char joined[128];
    int n = snprintf(joined, sizeof(joined), "%s%s", key, WS_GUID);
    SHA1((const unsigned char *)joined, (size_t)n, sha);
    EVP_EncodeBlock((unsigned char *)out, sha, SHA_DIGEST_LENGTH);
}

/* Answers req's upgrade with 101 and makes its connection a WebSocket
 * client owned by owner. Returns the client, or NULL after replying an
 * error (426 when the request is not a valid WebSocket upgrade). */
struct ws_client *ws_accept(struct http_req *req, void *owner)
{
    const char *key = http_header(req, "sec-websocket-key");
    const char *version = http_header(req, "sec-websocket-version");
    if (!req->upgrade || !header_has(req, "upgrade", "websocket") ||
        !header_has(req, "connection", "upgrade") || !key || strlen(key) != 24 ||
        !version || strcmp(version, "13") != 0) {
        http_reply_error(req, 426, "UPGRADE_REQUIRED",
                         "this route is a WebSocket (RFC 6455, version 13)");
        return NULL;
    }
    struct ws_client *cl = calloc(1, sizeof(*cl));
    if (!cl || wslay_event_context_server_init(&cl->ctx, &callbacks, cl) != 0) {
        free(cl);
        http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
        return NULL;
    }
    wslay_event_config_set_max_recv_msg_length(cl->ctx, W.lim.max_message);
    char acc[32];
    ws_accept_key(key, acc);
    cl->c = req->conn;
    cl->id = req->conn_id;
    cl->owner = owner;
    conn_printf(cl->c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
    http_upgrade(req, &ws_proto, cl);
    conn_set_timeout(cl->c, &W.pings);
    /* The kernel holds no more than the queue either: a client that does
     * not read is noticed instead of hidden in socket buffers. */
    int sndbuf = (int)W.lim.queue;
    setsockopt(cl->c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    list_insert_tail(&W.all, &cl->link);
    W.clients++;
    return cl;
}

/* Stops cl's {"type":"lagged"} notices, for a stream whose messages have
 * a shape of their own (its owner resends what was dropped). */
void ws_quiet_lag(struct ws_client *cl)
{
    cl->quiet_lag = 1;
}

/* Returns the object the client belongs to (set by ws_accept). */
void *ws_owner(const struct ws_client *cl)
{
    return cl->owner;
}

/* Returns the client's connection id (stable while it lives). */
uint64_t ws_id(const struct ws_client *cl)
{
    return cl->id;
}

/* Writes a text frame's header for a payload of len bytes into h (10
 * bytes room); returns its length. */
static size_t frame_header(unsigned char *h, size_t len)
{
    h[0] = 0x81;                  /* FIN, text */
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)(len >> (56 - 8 * i));
    return 10;
}

static void write_text(struct ws_client *cl, const char *text, size_t len)
{
    unsigned char h[10];
    struct buf *out = conn_out(cl->c);
    if (buf_append(out, h, frame_header(h, len)) < 0 || buf_append(out, text, len) < 0) {
        conn_close(cl->c);
        return;
    }
    conn_flush_soon(cl->c);
    W.st.sent++;
}

/* Decides whether a message of len bytes goes to cl now: when the client
 * is behind (more than the queue bound waiting), it is dropped and
 * counted, without any attempt to write (the write watcher is on already);
 * a client behind for longer than the grace is closed with 1008. Once it
 * has caught up it first hears how many it missed. Returns 0 (send), 1
 * (dropped) or -1 (closing). */
static int admit(struct ws_client *cl, size_t len)
{
    if (cl->closing || conn_closing(cl->c))
        return -1;
    if (wslay_event_want_write(cl->ctx))
        wslay_event_send(cl->ctx); /* control frames first: frames never interleave */
    double now = ev_now(reactor_loop());
    if (conn_output_over(cl->c, W.lim.queue > len ? W.lim.queue - len : 0)) {
        if (cl->dropped++ == 0) {
            cl->lag_since = now;
            reactor_count_cut(conn_pending_bytes(cl->c) + len <= W.lim.queue);
            conn_want_drain(cl->c);
        }
        W.st.dropped++;
        if (now - cl->lag_since > LAG_GRACE) {
            W.st.lagged_closes++;
            ws_close(cl, 1008, "too slow: messages were dropped");
            return -1;
        }
        return 1;
    }
    if (cl->dropped && !cl->quiet_lag) {
        char notice[96];
        int n = snprintf(notice, sizeof(notice), "{\"type\":\"lagged\",\"dropped\":%lu}",
                         cl->dropped);
        write_text(cl, notice, (size_t)n);
    }
    if (cl->dropped) {
        cl->dropped = 0;
        cl->lag_since = 0;
    }
    return 0;
}

/* Sends a text message (copied). Returns 0 when sent, 1 when dropped (the
 * client is behind), -1 when the client is closing. */
int ws_send(struct ws_client *cl, const char *text, size_t len)
{
    int rc = admit(cl, len);
    if (rc == 0)
        write_text(cl, text, len);
    return rc;
}

/* Sends the text message msg that many clients share: the client gets a
 * frame header of its own and a reference to the same bytes, never a copy
 * or a serialisation of its own. Returns as ws_send. */
int ws_send_shared(struct ws_client *cl, struct rbuf *msg)
{
    int rc = admit(cl, msg->len);
    if (rc != 0)
        return rc;
    unsigned char h[10];
    if (conn_write_framed(cl->c, h, frame_header(h, msg->len), msg) < 0)
        return -1;
    W.st.sent++;
    return 0;
}

/* A message many clients will share: its text in a reference-counted
 * block (the caller drops its reference with rbuf_unref). NULL on no
 * memory. */
struct rbuf *ws_message(const char *text, size_t len)
{
    struct rbuf *b = rbuf_new(len);
    if (b)
        memcpy(b->data, text, len);
    return b;
}

/* Returns non-zero when a message of len bytes would be dropped for cl
 * now (it is behind): a sender of state that can be sent later (the
 * newest telemetry) skips it and sends the newest when cl catches up. */
int ws_behind(const struct ws_client *cl, size_t len)
{
    return cl->closing || conn_closing(cl->c) ||
           conn_output_over(cl->c, W.lim.queue > len ? W.lim.queue - len : 0);
}

/* Sends j as a text message (and frees it). */
int ws_send_json(struct ws_client *cl, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(j);
    if (!s)
        return -1;
    int rc = ws_send(cl, s, strlen(s));
    free(s);
    return rc;
}

/* Starts the closing handshake with code; the connection ends when the
 * client answers, or after the lag/idle timeouts. */
void ws_close(struct ws_client *cl, uint16_t code, const char *reason)
{
    if (cl->closing)
        return;
    cl->closing = 1;
    if (cl->dropped && !cl->quiet_lag) {
        char notice[96];
        int n = snprintf(notice, sizeof(notice), "{\"type\":\"lagged\",\"dropped\":%lu}",
                         cl->dropped);
        write_text(cl, notice, (size_t)n);
    }
    if (wslay_event_get_close_sent(cl->ctx))
        return;
    wslay_event_queue_close(cl->ctx, code, (const uint8_t *)reason, strlen(reason));
    proceed(cl);
    conn_linger_close(cl->c);
    /* A client that does not read its close frame gets no longer. */
    conn_set_timeout(cl->c, &W.closing);
}

static void close_due(struct idle_node *n, void *ud)
{
    struct conn *c = container_of(n, struct conn, idle);
    (void)ud;
    c->tmo = NULL;
    conn_close(c);
}

/* Returns how many WebSocket clients are connected. */
unsigned long ws_count(void)
{
    return W.clients;
}

/* Copies the counters for /metrics; queued is what waits for clients now,
 * in our buffers and the kernel's. */
void ws_stats(struct ws_stats *st)
{
    *st = W.st;
    st->clients = W.clients;
    st->queued = 0;
    struct list_node *pos;
    list_for_each(pos, &W.all) {
        const struct ws_client *cl = container_of(pos, struct ws_client, link);
        int unsent = 0;
        if (ioctl(cl->c->fd, SIOCOUTQ, &unsent) < 0)
            unsent = 0;
        st->queued += conn_pending_bytes(cl->c) + (size_t)unsent;
        if (conn_pending_bytes(cl->c) + (size_t)unsent > st->max_queued)
            st->max_queued = conn_pending_bytes(cl->c) + (size_t)unsent;
    }
}

/* Sets the limits and the owner's handlers. */
void ws_init(const struct ws_limits *lim, const struct ws_handlers *h)
{
    W.h = *h;
    W.lim = *lim;
    list_init(&W.all);
    timeout_init(&W.pings, reactor_loop(), lim->ping_interval, ping_due, NULL);
    timeout_init(&W.closing, reactor_loop(), 5.0, close_due, NULL);
}

/* Applies new limits (reload). */
void ws_configure(const struct ws_limits *lim)
{
    W.lim = *lim;
    timeout_set(&W.pings, lim->ping_interval);
}

/* Stops the ping timer (shutdown). */
void ws_shutdown(void)
{
    timeout_stop(&W.pings);
    timeout_stop(&W.closing);
}
