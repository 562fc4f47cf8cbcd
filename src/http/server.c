#include <ctype.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "http.h"
#include "router.h"

struct http_server {
    struct listener *ls;
    struct http_server_limits lim;
    struct timeout_list header_tmo;   /* a request's headers are arriving */
    struct timeout_list idle_tmo;     /* between requests, or a slow body */
    unsigned long active;
};

enum hc_phase { HC_IDLE, HC_HEADERS, HC_BODY, HC_BUSY };

struct http_conn {
    http_parser parser;
    struct http_server *srv;
    struct conn *c;
    struct http_req req;
    enum hc_phase phase;
    int last_was_value;           /* header callbacks alternate field/value */
    int error_status;             /* set by a callback that fails the request */
    int held;                     /* answers unread past max_output: no parsing */
    uint64_t next_seq;
};

static http_parser_settings parser_settings;

/* Status counts for /metrics: a small open table of the codes seen. */
static struct http_status_count status_counts[32];

static void count_status(int status)
{
    for (int i = 0; i < 32; i++) {
        if (status_counts[i].status == status || status_counts[i].status == 0) {
            status_counts[i].status = status;
            status_counts[i].count++;
            return;
        }
    }
}

/* Copies the answered-request counts by status into out. Returns how many. */
int http_status_counts(struct http_status_count *out, int max)
{
    int n = 0;
    for (int i = 0; i < 32 && n < max && status_counts[i].status; i++)
        out[n++] = status_counts[i];
    return n;
}

/* Returns the reason phrase for status. */
const char *http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static struct http_conn *hc_of(http_parser *p)
{
    return p->data;
}

static void req_reset(struct http_req *req)
{
    buf_reset(&req->url);
    buf_reset(&req->headers);
    buf_reset(&req->body);
    req->path = req->query = NULL;
    req->nparams = 0;
    req->keep_alive = 0;
    req->head = 0;
    req->upgrade = 0;
    req->role = HTTP_ROLE_NONE;
    req->status = 0;
    req->route = NULL;
}

static void req_free(struct http_req *req)
{
    buf_free(&req->url);
    buf_free(&req->headers);
    buf_free(&req->body);
    buf_free(&req->pstore);
}

static int on_message_begin(http_parser *p)
{
    struct http_conn *hc = hc_of(p);
    req_reset(&hc->req);
    hc->last_was_value = 0;
    hc->error_status = 0;
    hc->phase = HC_HEADERS;
    /* The header timeout counts from the request's first byte: trickling
     * bytes must not extend it. */
    conn_set_timeout(hc->c, &hc->srv->header_tmo);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    return buf_append(&hc_of(p)->req.url, at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct http_conn *hc = hc_of(p);
    struct buf *h = &hc->req.headers;
    if (hc->last_was_value) {
        if (buf_append(h, "", 1) < 0)             /* end the last value */
            return -1;
        hc->last_was_value = 0;
    }
    size_t start = h->len;
    if (buf_append(h, at, len) < 0)
        return -1;
    for (size_t i = start; i < h->len; i++)
        buf_start(h)[i] = (char)tolower((unsigned char)buf_start(h)[i]);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct http_conn *hc = hc_of(p);
    struct buf *h = &hc->req.headers;
    if (!hc->last_was_value) {
        if (buf_append(h, "", 1) < 0)             /* end the name */
            return -1;
        hc->last_was_value = 1;
    }
    return buf_append(h, at, len);
}

static int on_headers_complete(http_parser *p)
{
    struct http_conn *hc = hc_of(p);
    struct http_req *req = &hc->req;
    if (hc->last_was_value && buf_append(&req->headers, "", 1) < 0)
        return -1;                                /* end the last value */
    if ((p->flags & F_CONTENTLENGTH) &&
        p->content_length > hc->srv->lim.max_body_size) {
        hc->error_status = 413;
        return -1;
    }
    const char *expect = http_header(req, "expect");
    if (expect && strcasecmp(expect, "100-continue") == 0)
        conn_write(hc->c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    hc->phase = HC_BODY;
    conn_set_timeout(hc->c, &hc->srv->idle_tmo);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct http_conn *hc = hc_of(p);
    if (hc->req.body.len + len > hc->srv->lim.max_body_size) {
        hc->error_status = 413;
        return -1;
    }
    return buf_append(&hc->req.body, at, len);
}

static int on_message_complete(http_parser *p)
{
    struct http_conn *hc = hc_of(p);
    hc->req.keep_alive = http_should_keep_alive(p);
    hc->req.upgrade = p->upgrade;
    http_parser_pause(p, 1);
    return 0;
}

/* Splits the target into a decoded path and the raw query. Returns 0, or -1
 * on a malformed target. */
static int req_split_url(struct http_req *req)
{
    if (buf_nul(&req->url) < 0)
        return -1;
    char *u = buf_start(&req->url);
    if (u[0] != '/')
        return -1;
    char *q = strchr(u, '?');
    if (q) {
        *q = '\0';
        req->query = q + 1;
    }
    char *w = u;
    for (char *r = u; *r; r++) {
        if (*r == '%' && !(isxdigit((unsigned char)r[1]) && isxdigit((unsigned char)r[2])))
            return -1;
        if (*r == '%') {
            char hex[3] = {r[1], r[2], 0};
            char ch = (char)strtol(hex, NULL, 16);
            if (ch == '\0' || ch == '/')
                return -1;
            *w++ = ch;
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    req->path = u;
    return 0;
}

static void dispatch(struct http_conn *hc)
{
    struct http_req *req = &hc->req;
    req->conn = hc->c;
    req->conn_id = hc->c->id;
    req->seq = ++hc->next_seq;
    req->method = hc->parser.method;
    req->method_name = http_method_str(hc->parser.method);
    req->head = hc->parser.method == HTTP_HEAD;
    req->started = ev_time();
    hc->phase = HC_BUSY;
    hc->srv->active++;
    conn_set_timeout(hc->c, NULL);
    if (buf_nul(&req->body) < 0 || req_split_url(req) < 0) {
        http_reply_error(req, 400, "BAD_REQUEST", "malformed request target");
        return;
    }
    router_dispatch(req);
}

/* The reply to the request in progress was written: get ready for the next
 * one, and resume parsing what the client pipelined meanwhile. */
static void request_done(struct http_conn *hc)
{
    struct http_req *req = &hc->req;
    count_status(req->status);
    http_stats_observe(req, ev_time() - req->started);
    log_debug("http %s %s %s %d %.3fms", hc->c->peer,
              req->method_name ? req->method_name : "-",
              req->path ? req->path : "-", req->status,
              (ev_time() - req->started) * 1000);
    hc->srv->active--;
    hc->phase = HC_IDLE;
    if (!req->keep_alive) {
        if (req->status >= 400)
            conn_linger_close(hc->c);
        else
            conn_close_after_flush(hc->c);
        return;
    }
    conn_set_timeout(hc->c, &hc->srv->idle_tmo);
    if (conn_output_over(hc->c, hc->srv->lim.max_output)) {
        /* The client is not reading its answers: the next request it sent
         * waits until they are written (Redis's client output limit, h2o's
         * one answer at a time), so what it costs stays bounded. */
        hc->held = 1;
        reactor_count_cut(conn_pending_bytes(hc->c) <= hc->srv->lim.max_output);
        conn_pause_read(hc->c);
        conn_want_drain(hc->c);
        return;
    }
    if (hc->parser.http_errno == HPE_PAUSED)
        http_parser_pause(&hc->parser, 0);
    conn_resume_read(hc->c);
}

/* The answers a client had not read are written: parse what it sent. */
static void http_on_drain(struct conn *c)
{
    struct http_conn *hc = c->ud;
    if (!hc || !hc->held)
        return;
    hc->held = 0;
    if (hc->parser.http_errno == HPE_PAUSED)
        http_parser_pause(&hc->parser, 0);
    conn_resume_read(c);
}

static http_refusal_fn refusal_hook;

/* Lets fn answer the requests refused before routing (one hook: the
 * GraphQL endpoint answers its own in its format). */
void http_set_refusal_hook(http_refusal_fn fn)
{
    refusal_hook = fn;
}

static void reply_parse_error(struct http_conn *hc, int status)
{
    const char *code = status == 413 ? "PAYLOAD_TOO_LARGE"
                       : status == 431 ? "HEADERS_TOO_LARGE"
                       : status == 408 ? "REQUEST_TIMEOUT" : "BAD_REQUEST";
    const char *msg = status == 413 ? "request body exceeds the limit"
                      : status == 431 ? "request headers exceed the limit"
                      : status == 408 ? "request headers did not arrive in time"
                      : http_errno_description(HTTP_PARSER_ERRNO(&hc->parser));
    hc->phase = HC_BUSY;
    hc->srv->active++;
    hc->req.conn = hc->c;
    hc->req.conn_id = hc->c->id;
    hc->req.seq = ++hc->next_seq;
    hc->req.keep_alive = 0;
    hc->req.head = 0;
    hc->req.started = ev_time();
    buf_reset(&hc->req.headers);      /* possibly cut short: not to be read */
    size_t limit = status == 413 ? hc->srv->lim.max_body_size
                   : status == 431 ? hc->srv->lim.max_header_size : 0;
    if (limit && refusal_hook && refusal_hook(&hc->req, status, limit) == 0)
        return;
    http_reply_error(&hc->req, status, code, "%s", msg);
}

#define REQUESTS_PER_TURN 64

static ssize_t http_on_data(struct conn *c, const char *p, size_t n)
{
    struct http_conn *hc = c->ud;
    size_t off = 0;
    int answered = 0;
    /* No touch of the timeout here: bytes that are not a request (a CRLF
     * every few seconds) must not keep a connection forever. The idle
     * timeout runs from the last answer to the next request's first
     * byte, the header timeout to its headers' end, the idle timeout
     * again to its body's end. */
    while (off < n) {
        if (hc->phase == HC_BUSY || hc->held) {
            conn_pause_read(c);
            return (ssize_t)off;
        }
        size_t got = http_parser_execute(&hc->parser, &parser_settings, p + off,
                                         n - off);
        off += got;
        enum http_errno e = HTTP_PARSER_ERRNO(&hc->parser);
        if (e == HPE_PAUSED) {
            if (hc->req.upgrade) {
                /* The upgraded protocol takes the bytes after the request;
                 * a refused upgrade ends the connection. */
                hc->req.keep_alive = 0;
                dispatch(hc);
                return (ssize_t)off;
            }
            dispatch(hc);
            if (conn_closing(c))
                return (ssize_t)n;
            if (++answered == REQUESTS_PER_TURN && off < n) {
                /* Pipelined requests: a share per loop turn, then the
                 * others' turn. */
                conn_yield(c);
                return (ssize_t)off;
            }
            continue;
        }
        if (e != HPE_OK) {
            int status = hc->error_status ? hc->error_status
                         : e == HPE_HEADER_OVERFLOW ? 431 : 400;
            reply_parse_error(hc, status);
            return (ssize_t)n;
        }
    }
    return (ssize_t)off;
}

static void http_on_close(struct conn *c)
{
    struct http_conn *hc = c->ud;
    if (!hc)
        return;
    if (hc->phase == HC_BUSY)
        hc->srv->active--;
    req_free(&hc->req);
    free(hc);
    c->ud = NULL;
}

static void http_on_eof(struct conn *c)
{
    struct http_conn *hc = c->ud;
    /* A client that half-closes after pipelining still gets its answers:
     * reading resumes after the reply, sees the end again and closes. */
    if (hc->phase == HC_BUSY || hc->held)
        conn_pause_read(c);
    else
        conn_close_after_flush(c);
}

static const struct conn_proto http_proto = {
    .name = "http",
    .on_data = http_on_data,
    .on_close = http_on_close,
    .on_eof = http_on_eof,
    .on_drain = http_on_drain,
};

static int http_on_accept(struct conn *c, void *ud)
{
    struct http_server *srv = ud;
    struct http_conn *hc = calloc(1, sizeof(*hc));
    if (!hc)
        return -1;
    hc->srv = srv;
    hc->c = c;
    http_parser_init(&hc->parser, HTTP_REQUEST);
    hc->parser.data = hc;
    c->ud = hc;
    conn_set_timeout(c, &srv->idle_tmo);
    return 0;
}

static const char http_busy[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    "Content-Length: 78\r\nConnection: close\r\n\r\n"
    "{\"error\":{\"code\":\"TOO_MANY_CONNECTIONS\",\"message\":\"connection limit reached\"}}";

static void idle_expired(struct idle_node *n, void *ud)
{
    struct conn *c = container_of(n, struct conn, idle);
    (void)ud;
    c->tmo = NULL;
    log_debug("http %s: idle timeout", c->peer);
    conn_close(c);
}

static void header_expired(struct idle_node *n, void *ud)
{
    struct conn *c = container_of(n, struct conn, idle);
    struct http_conn *hc = c->ud;
    (void)ud;
    c->tmo = NULL;
    log_debug("http %s: request headers not complete in time", c->peer);
    if (hc)
        reply_parse_error(hc, 408);
    else
        conn_close(c);
}

/* Creates the HTTP server on an opened listener and starts accepting. */
struct http_server *http_server_new(struct listener *ls,
                                    const struct http_server_limits *lim)
{
    struct http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ls = ls;
    http_parser_settings_init(&parser_settings);
    parser_settings.on_message_begin = on_message_begin;
    parser_settings.on_url = on_url;
    parser_settings.on_header_field = on_header_field;
    parser_settings.on_header_value = on_header_value;
    parser_settings.on_headers_complete = on_headers_complete;
    parser_settings.on_body = on_body;
    parser_settings.on_message_complete = on_message_complete;
    timeout_init(&s->header_tmo, reactor_loop(), lim->header_timeout,
                 header_expired, s);
    timeout_init(&s->idle_tmo, reactor_loop(), lim->idle_timeout,
                 idle_expired, s);
    ls->proto = &http_proto;
    ls->on_accept = http_on_accept;
    ls->reject_msg = http_busy;
    ls->ud = s;
    ls->out_max = 1024u * 1024 * 1024;
    http_server_set_limits(s, lim);
    listener_start(ls);
    return s;
}

/* Applies new limits (a configuration reload). */
void http_server_set_limits(struct http_server *s,
                            const struct http_server_limits *lim)
{
    s->lim = *lim;
    http_parser_set_max_header_size((uint32_t)lim->max_header_size);
    s->ls->in_max = lim->max_header_size + lim->max_body_size + 4096;
    s->ls->max_conns = (unsigned long)lim->max_connections;
    timeout_set(&s->header_tmo, lim->header_timeout);
    timeout_set(&s->idle_tmo, lim->idle_timeout);
}

/* Stops the timers; the listener's connections are closed by the caller. */
void http_server_free(struct http_server *s)
{
    timeout_stop(&s->header_tmo);
    timeout_stop(&s->idle_tmo);
    free(s);
}

/* Returns how many requests are being answered right now. */
unsigned long http_server_active(const struct http_server *s)
{
    return s->active;
}

/* Returns the value of header name (lowercase), or NULL. Safe on a header
 * block cut short by a parse error. */
const char *http_header(const struct http_req *req, const char *name)
{
    const char *p = buf_start(&req->headers);
    const char *end = p + req->headers.len;
    while (p < end) {
        const char *name_end = memchr(p, '\0', (size_t)(end - p));
        if (!name_end)
            break;
        const char *v = name_end + 1;
        const char *v_end = v < end ? memchr(v, '\0', (size_t)(end - v)) : NULL;
        if (!v_end)
            break;
        if (strcmp(p, name) == 0)
            return v;
        p = v_end + 1;
    }
    return NULL;
}

/* Hands req's connection to another protocol (WebSocket) after its 101
 * was written: the HTTP state is freed, and bytes that came after the
 * request go to the new protocol. */
void http_upgrade(struct http_req *req, const struct conn_proto *proto, void *ud)
{
    struct conn *c = req->conn;
    struct http_conn *hc = c->ud;
    count_status(101);
    http_stats_observe(req, ev_time() - req->started);
    hc->srv->active--;
    req_free(&hc->req);
    free(hc);
    c->proto = proto;
    c->ud = ud;
    conn_set_timeout(c, NULL);
    conn_pause_read(c);
    conn_resume_read(c);
    c->flags |= CONN_REFEED;
    ev_feed_event(reactor_loop(), &c->rio, EV_READ);
}

/* Returns the request (conn_id, seq) if it still waits for its reply. */
struct http_req *http_req_find(uint64_t conn_id, uint64_t seq)
{
    struct conn *c = conn_find(conn_id);
    if (!c || c->proto != &http_proto)
        return NULL;
    struct http_conn *hc = c->ud;
    if (hc->phase != HC_BUSY || hc->req.seq != seq)
        return NULL;
    return &hc->req;
}

static void cors_headers(struct http_req *req, struct buf *h)
{
    struct http_conn *hc = req->conn->ud;
    const char *allowed = hc->srv->lim.cors_origins;
    const char *origin = http_header(req, "origin");
    if (!allowed || !*allowed || !origin)
        return;
    size_t olen = strlen(origin);
    const char *p = allowed;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if ((n == 1 && *p == '*') || (n == olen && strncmp(p, origin, n) == 0)) {
            buf_printf(h, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n"
                       "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
                       "Access-Control-Allow-Methods: GET, POST, DELETE, OPTIONS\r\n",
                       origin);
            return;
        }
        p += n;
    }
}

/* headers: extra header lines, each ending in CRLF, that replace the
 * default Cache-Control (NULL: no-store). A 304 has no content headers. */
static int reply(struct http_req *req, int status, const char *content_type,
                 const char *headers, const void *body, size_t len, struct rbuf *shared)
{
    struct conn *c = req->conn;
    struct http_conn *hc = c->ud;
    static char date[64];
    static time_t date_of;
    time_t now = (time_t)ev_now(reactor_loop());
    if (now != date_of) {         /* the Date header changes once a second */
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        date_of = now;
    }
    req->status = status;
    struct buf *out = conn_out(c);
    size_t before = out->len;
    int rc = buf_printf(out, "HTTP/1.1 %d %s\r\nServer: gantryd/" GANTRY_VERSION
                        "\r\nDate: %s\r\n%s%s",
                        status, http_status_text(status), date,
                        headers ? headers : "Cache-Control: no-store\r\n",
                        req->keep_alive ? "" : "Connection: close\r\n");
    if (status == 304)
        len = 0;
    else
        rc |= buf_printf(out, "Content-Type: %s\r\nContent-Length: %zu\r\n", content_type, len);
    if (status == 405)
        rc |= buf_printf(out, "Allow: %s\r\n", router_allow(req));
    if (status == 401)
        rc |= buf_append_str(out, "WWW-Authenticate: Bearer\r\n");
    cors_headers(req, out);
    rc |= buf_append(out, "\r\n", 2);
    if (!req->head && !shared)
        rc |= buf_append(out, body, len);
    if (rc < 0) {
        out->len = before;
        conn_close(c);
        return -1;
    }
    if (!req->head && shared && conn_write_shared(c, shared) < 0)
        return -1;
    conn_flush_soon(c);
    request_done(hc);
    return 0;
}

/* Writes the response for req: status line, headers, body (left out for
 * HEAD). Ends the request. Returns 0, or -1 when the connection is gone. */
int http_reply(struct http_req *req, int status, const char *content_type,
               const void *body, size_t len)
{
    return reply(req, status, content_type, NULL, body, len, NULL);
}

/* As http_reply, with header lines of the caller's (each ending in CRLF)
 * in place of Cache-Control: no-store; status 304 sends no body and no
 * Content-Type or Content-Length (content_type may be NULL then). */
int http_reply_headers(struct http_req *req, int status, const char *content_type,
                       const char *headers, const void *body, size_t len)
{
    return reply(req, status, content_type, headers, body, len, NULL);
}

/* As http_reply, with a body many replies share: the connection holds a
 * reference to b instead of a copy (large cached documents). */
int http_reply_shared(struct http_req *req, int status, const char *content_type,
                      struct rbuf *b)
{
    return reply(req, status, content_type, NULL, b->data, b->len, b);
}

static int dump_to_buf(const char *p, size_t n, void *ud)
{
    return buf_append(ud, p, n);
}

/* Replies with body as JSON (and frees body). */
int http_reply_json(struct http_req *req, int status, json_t *body)
{
    static struct buf scratch;
    buf_reset(&scratch);
    int rc = json_dump_callback(body, dump_to_buf, &scratch,
                                JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(body);
    if (rc < 0 || buf_append(&scratch, "\n", 1) < 0)
        return http_reply_error(req, 500, "INTERNAL", "cannot encode the reply");
    rc = http_reply(req, status, "application/json", buf_start(&scratch),
                    scratch.len);
    buf_shrink(&scratch, 1 << 20);
    return rc;
}

/* Replies {"error":{"code":code,"message":...}} with status. */
int http_reply_error(struct http_req *req, int status, const char *code,
                     const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    if (!j) {
        conn_close(req->conn);
        return -1;
    }
    return http_reply_json(req, status, j);
}
