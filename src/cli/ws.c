/* WebSocket client: connect, upgrade, frames. */
#include "ws.h"

#include <curl/curl.h>
#include <errno.h>
#include <http_parser.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <wslay/wslay.h>

#include "api.h"
#include "core/buf.h"
#include "http.h"
#include "term.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_MESSAGE ((uint64_t)64 << 20)
#define HANDSHAKE_MS 10000

struct ws_msg {
    struct ws_msg *next;
    size_t len;
    char data[];
};

struct cli_ws {
    CURL *easy;
    curl_socket_t fd;
    wslay_event_context_ptr ctx;
    struct buf early;         /* frames that came with the upgrade answer */
    struct ws_msg *head, *tail;
    int closed;
};

/* What the upgrade answer said. */
struct upgrade {
    long status;
    char field[64];
    int in_accept, in_location;
    char accept[64];
    char location[512];
    struct buf body;
    int complete;
};

static int on_field(http_parser *p, const char *at, size_t n)
{
    struct upgrade *u = p->data;
    snprintf(u->field, sizeof(u->field), "%.*s", (int)n, at);
    u->in_accept = strcasecmp(u->field, "Sec-WebSocket-Accept") == 0;
    u->in_location = strcasecmp(u->field, "Location") == 0;
    return 0;
}

static int on_value(http_parser *p, const char *at, size_t n)
{
    struct upgrade *u = p->data;
    if (u->in_accept)
        snprintf(u->accept, sizeof(u->accept), "%.*s", (int)n, at);
    else if (u->in_location)
        snprintf(u->location, sizeof(u->location), "%.*s", (int)n, at);
    return 0;
}

static int on_headers(http_parser *p)
{
    ((struct upgrade *)p->data)->status = p->status_code;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    return buf_append(&((struct upgrade *)p->data)->body, at, n) < 0;
}

static int on_complete(http_parser *p)
{
    ((struct upgrade *)p->data)->complete = 1;
    return 0;
}

static int wait_fd(curl_socket_t fd, short events, int ms)
{
    struct pollfd p = {fd, events, 0};
    int r = poll(&p, 1, ms);
    return r > 0 ? 0 : -1;
}

static int send_all(CURL *e, curl_socket_t fd, const char *p, size_t n)
{
    while (n > 0) {
        size_t sent = 0;
        CURLcode rc = curl_easy_send(e, p, n, &sent);
        if (rc == CURLE_AGAIN) {
            if (wait_fd(fd, POLLOUT, HANDSHAKE_MS) < 0)
                return -1;
            continue;
        }
        if (rc != CURLE_OK)
            return -1;
        p += sent;
        n -= sent;
    }
    return 0;
}

static void make_key(char *key, size_t keylen, char *expect, size_t explen)
{
    unsigned char raw[16], digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char text[128];
    RAND_bytes(raw, sizeof(raw));
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
    snprintf(text, sizeof(text), "%s%s", key, WS_GUID);
    EVP_Digest(text, strlen(text), digest, &dlen, EVP_sha1(), NULL);
    (void)keylen;
    if (explen >= 4 * ((dlen + 2) / 3) + 1)
        EVP_EncodeBlock((unsigned char *)expect, digest, (int)dlen);
}

/* Reads the upgrade answer; bytes after it are kept for wslay. Returns 0
 * once the headers (101) or the whole answer (anything else) are in. */
static int read_answer(struct cli_ws *ws, struct upgrade *u)
{
    static const http_parser_settings settings = {
        .on_header_field = on_field, .on_header_value = on_value,
        .on_headers_complete = on_headers, .on_body = on_body,
        .on_message_complete = on_complete};
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = u;
    char b[16384];
    for (;;) {
        size_t n = 0;
        CURLcode rc = curl_easy_recv(ws->easy, b, sizeof(b), &n);
        if (rc == CURLE_AGAIN) {
            if (wait_fd(ws->fd, POLLIN, HANDSHAKE_MS) < 0)
                return -1;
            continue;
        }
        if (rc != CURLE_OK || n == 0)
            return -1;
        size_t used = http_parser_execute(&p, &settings, b, n);
        if (p.upgrade && u->status == 101)
            return buf_append(&ws->early, b + used, n - used);
        if (HTTP_PARSER_ERRNO(&p) != HPE_OK)
            return -1;
        if (u->complete)
            return 0;
    }
}

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *out, size_t len, int flags,
                       void *ud)
{
    struct cli_ws *ws = ud;
    if (ws->early.len > 0) {
        size_t n = ws->early.len < len ? ws->early.len : len;
        memcpy(out, buf_start(&ws->early), n);
        buf_consume(&ws->early, n);
        return (ssize_t)n;
    }
    size_t n = 0;
    CURLcode rc = curl_easy_recv(ws->easy, out, len, &n);
    if (rc == CURLE_AGAIN) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (rc != CURLE_OK || n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)n;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
    struct cli_ws *ws = ud;
    size_t n = 0;
    CURLcode rc = curl_easy_send(ws->easy, data, len, &n);
    if (rc == CURLE_AGAIN) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (rc != CURLE_OK) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)n;
}

static int on_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud)
{
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static void on_message(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m,
                       void *ud)
{
    struct cli_ws *ws = ud;
    if (m->opcode == WSLAY_CONNECTION_CLOSE) {
        ws->closed = 1;
        return;
    }
    if (m->opcode != WSLAY_TEXT_FRAME && m->opcode != WSLAY_BINARY_FRAME)
        return;
    struct ws_msg *q = malloc(sizeof(*q) + m->msg_length + 1);
    if (!q)
        return;
    q->next = NULL;
    q->len = m->msg_length;
    memcpy(q->data, m->msg, m->msg_length);
    q->data[q->len] = '\0';
    if (ws->tail)
        ws->tail->next = q;
    else
        ws->head = q;
    ws->tail = q;
}

static int start_frames(struct cli_ws *ws)
{
    static const struct wslay_event_callbacks cb = {
        .recv_callback = on_recv, .send_callback = on_send,
        .genmask_callback = on_genmask, .on_msg_recv_callback = on_message};
    if (wslay_event_context_client_init(&ws->ctx, &cb, ws) != 0)
        return -1;
    wslay_event_config_set_max_recv_msg_length(ws->ctx, MAX_MESSAGE);
    return 0;
}

static void free_ws(struct cli_ws *ws)
{
    if (!ws)
        return;
    while (ws->head) {
        struct ws_msg *q = ws->head;
        ws->head = q->next;
        free(q);
    }
    if (ws->ctx)
        wslay_event_context_free(ws->ctx);
    curl_easy_cleanup(ws->easy);
    buf_free(&ws->early);
    free(ws);
}

/* Connects to base (scheme://host:port) and sends the upgrade request for
 * path. Returns the connection, or NULL with the reason in err. */
static struct cli_ws *dial(struct cli_ctx *c, const char *base, const char *path,
                           char *expect, size_t explen, char *err, size_t errlen)
{
    struct cli_ws *ws = calloc(1, sizeof(*ws));
    char url[600], key[32] = "", req[2048];
    if (!ws || !(ws->easy = curl_easy_init())) {
        free(ws);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(url, sizeof(url), "%s/", base);
    curl_easy_setopt(ws->easy, CURLOPT_URL, url);
    curl_easy_setopt(ws->easy, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(ws->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(ws->easy, CURLOPT_NOSIGNAL, 1L);
    if (cli_http_cacert(c->http))
        curl_easy_setopt(ws->easy, CURLOPT_CAINFO, cli_http_cacert(c->http));
    CURLcode rc = curl_easy_perform(ws->easy);
    if (rc != CURLE_OK ||
        curl_easy_getinfo(ws->easy, CURLINFO_ACTIVESOCKET, &ws->fd) != CURLE_OK) {
        long os = 0;
        curl_easy_getinfo(ws->easy, CURLINFO_OS_ERRNO, &os);
        snprintf(err, errlen, "%s", os ? strerror((int)os) : curl_easy_strerror(rc));
        free_ws(ws);
        return NULL;
    }
    make_key(key, sizeof(key), expect, explen);
    const char *host = strstr(base, "://") + 3;
    const char *token = cli_http_token(c->http);
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\nUser-Agent: gantryctl/%s\r\n%s%s%s\r\n",
                     path, host, key, GANTRY_VERSION, token && *token ? "Authorization: Bearer " : "",
                     token && *token ? token : "", token && *token ? "\r\n" : "");
    if (n >= (int)sizeof(req) || send_all(ws->easy, ws->fd, req, (size_t)n) < 0) {
        snprintf(err, errlen, "could not send the upgrade request");
        free_ws(ws);
        return NULL;
    }
    return ws;
}

/* Replaces base with the scheme://host:port of a Location (a path alone
 * keeps base). */
static void follow_location(const char *location, char *base, size_t baselen)
{
    const char *host = strstr(location, "://");
    if (!host)
        return;
    size_t n = strcspn(host + 3, "/?#");
    snprintf(base, baselen, "%.*s", (int)(host + 3 - location + n), location);
}

/* Opens the WebSocket at path on the server that answered last, following
 * a standby's redirect. Returns it, or NULL after printing why, with the
 * exit status in *rc (1 refused, 3 unreachable). */
struct cli_ws *cli_ws_open(struct cli_ctx *c, const char *path, int *rc)
{
    char base[512], expect[64] = "", err[256];
    snprintf(base, sizeof(base), "%s", cli_http_base(c->http));
    for (int hops = 0; hops < 4; hops++) {
        struct upgrade u;
        memset(&u, 0, sizeof(u));
        struct cli_ws *ws = dial(c, base, path, expect, sizeof(expect), err, sizeof(err));
        if (!ws) {
            cli_unreachable(c, err);
            *rc = CLI_UNREACHABLE;
            return NULL;
        }
        if (read_answer(ws, &u) < 0) {
            cli_unreachable(c, "the WebSocket upgrade got no answer");
            *rc = CLI_UNREACHABLE;
        } else if (u.status == 101 && strcmp(u.accept, expect) == 0 && start_frames(ws) == 0) {
            buf_free(&u.body);
            return ws;
        } else if (u.status == 307 && u.location[0]) {
            follow_location(u.location, base, sizeof(base));
            buf_free(&u.body);
            free_ws(ws);
            continue;
        } else {
            cli_refused(c, u.status, u.body.len ? buf_start(&u.body) : "", u.body.len);
            *rc = CLI_REFUSED;
        }
        buf_free(&u.body);
        free_ws(ws);
        return NULL;
    }
    fprintf(stderr, "gantryctl: too many redirects opening %s\n", path);
    *rc = CLI_REFUSED;
    return NULL;
}

/* Queues a text message and sends what the socket takes now. Returns 0 or
 * -1. */
int cli_ws_send(struct cli_ws *ws, const char *text)
{
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, strlen(text)};
    if (wslay_event_queue_msg(ws->ctx, &m) != 0)
        return -1;
    return wslay_event_send(ws->ctx) == 0 ? 0 : -1;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pop(struct cli_ws *ws, char **msg, size_t *len)
{
    struct ws_msg *q = ws->head;
    if (!q)
        return 0;
    ws->head = q->next;
    if (!ws->head)
        ws->tail = NULL;
    *len = q->len;
    *msg = malloc(q->len + 1);
    if (*msg)
        memcpy(*msg, q->data, q->len + 1);
    free(q);
    return *msg != NULL;
}

/* Moves frames in and out once the socket is ready. Returns 0, or -1 when
 * the connection is over. */
static int pump(struct cli_ws *ws, short revents)
{
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        if (wslay_event_recv(ws->ctx) != 0)
            return -1;
    }
    if (wslay_event_want_write(ws->ctx) && wslay_event_send(ws->ctx) != 0)
        return -1;
    return 0;
}

/* Waits up to timeout_ms (-1: no limit) for the next message, Ctrl-C, or
 * input on input_fd (-1: none). Returns what happened; for CLI_WS_MSG the
 * message is in *msg (malloc'd, NUL-terminated, the caller frees). */
enum cli_ws_event cli_ws_next(struct cli_ws *ws, int timeout_ms, int input_fd, char **msg,
                              size_t *len)
{
    long long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
    for (;;) {
        if (pop(ws, msg, len))
            return CLI_WS_MSG;
        if (ws->closed || (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx)))
            return CLI_WS_CLOSED;
        if (ws->early.len > 0 && pump(ws, POLLIN) < 0)
            ws->closed = 1;
        if (ws->head || ws->closed)
            continue;
        struct pollfd p[3] = {
            {ws->fd, (short)(POLLIN | (wslay_event_want_write(ws->ctx) ? POLLOUT : 0)), 0},
            {cli_sig_fd(), POLLIN, 0}, {input_fd, POLLIN, 0}};
        int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
        if (deadline >= 0 && wait <= 0)
            return CLI_WS_TIMEOUT;
        int r = poll(p, input_fd >= 0 ? 3 : 2, wait);
        if (cli_sig_pending())
            return CLI_WS_INTERRUPTED;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return CLI_WS_CLOSED;
        if (input_fd >= 0 && (p[2].revents & (POLLIN | POLLHUP)))
            return CLI_WS_INPUT;
        if (p[0].revents && pump(ws, p[0].revents) < 0)
            ws->closed = 1;
    }
}

/* Says goodbye (a close frame, if the socket takes it) and frees ws. */
void cli_ws_close(struct cli_ws *ws)
{
    if (!ws)
        return;
    if (!ws->closed && wslay_event_queue_close(ws->ctx, 1000, NULL, 0) == 0)
        wslay_event_send(ws->ctx);
    free_ws(ws);
}
