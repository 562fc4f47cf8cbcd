/* The TLS transport (see tls.h and reactor_int.h): OpenSSL on the
 * connection's non-blocking socket. A wait for the socket is reported as
 * EAGAIN with CONN_IO_WRITE telling which way, so the reactor's watchers
 * follow what OpenSSL needs, whichever call asked. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/dict.h"
#include "core/log.h"
#include "core/parse.h"
#include "tls_int.h"

/* One TLS record's payload at most: a write gathers the queue's small
 * pieces up to this into one record, one system call. */
#define RECORD_MAX 16384
#define LOG_EVERY 60.0

enum outcome { TLS_WAIT, TLS_EOF, TLS_FAILED };

static char gather_buf[RECORD_MAX];

/* Hints for the failures whose reason alone does not say what to do. */
static const struct {
    const char *reason, *hint;
} hints[] = {
    {"tlsv13 alert certificate required",
     "the server requires a client certificate: --tls-cert, --tls-key"},
    {"sslv3 alert handshake failure", "the peer refused the handshake"},
    {"sslv3 alert certificate expired", "the peer says this side's certificate has expired"},
    {"sslv3 alert bad certificate", "the peer refused this side's certificate"},
    {"tlsv1 alert unknown ca", "the peer does not trust the CA that signed this side's certificate"},
    {"wrong version number", "is TLS on at the other end?"},
    {"packet length too long", "is TLS on at the other end?"},
    {"http request", "the client spoke plain HTTP"},
    {NULL, NULL},
};

static void describe(struct tls_conn *t, const char *what, const char *reason)
{
    const char *hint = NULL;
    for (int i = 0; hints[i].reason; i++)
        if (strcmp(reason, hints[i].reason) == 0)
            hint = hints[i].hint;
    long v = t->ssl ? SSL_get_verify_result(t->ssl) : X509_V_OK;
    if (strcmp(reason, "certificate verify failed") == 0 && v != X509_V_OK)
        snprintf(t->err, sizeof(t->err), "%s: %s: %s", what, reason,
                 X509_verify_cert_error_string(v));
    else
        snprintf(t->err, sizeof(t->err), "%s: %s%s%s%s", what, reason, hint ? " (" : "",
                 hint ? hint : "", hint ? ")" : "");
}

/* What an SSL call that returned rc <= 0 means: a wait (errno EAGAIN,
 * CONN_IO_WRITE set for writable), the peer's close_notify, or a
 * failure (described in t->err; errno set). */
static enum outcome settle(struct conn *c, int rc, const char *what)
{
    struct tls_conn *t = c->tls;
    int saved = errno;
    switch (SSL_get_error(t->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        c->flags &= ~CONN_IO_WRITE;
        errno = EAGAIN;
        return TLS_WAIT;
    case SSL_ERROR_WANT_WRITE:
        c->flags |= CONN_IO_WRITE;
        errno = EAGAIN;
        return TLS_WAIT;
    case SSL_ERROR_ZERO_RETURN:
        return TLS_EOF;
    case SSL_ERROR_SYSCALL:
        t->failed = 1;
        describe(t, what, saved ? strerror(saved) : "the peer closed the connection");
        errno = saved ? saved : ECONNRESET;
        break;
    default: {
        unsigned long e = ERR_peek_error();
        const char *r = e ? ERR_reason_error_string(e) : NULL;
        t->failed = 1;
        describe(t, what, r ? r : "protocol error");
        errno = EPROTO;
        break;
    }
    }
    ERR_clear_error();
    return TLS_FAILED;
}

static ssize_t tls_read(struct conn *c, void *p, size_t n)
{
    struct tls_conn *t = c->tls;
    if (!t->ssl)
        return conn_plain.read(c, p, n);
    ERR_clear_error();
    int rc = SSL_read(t->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
    if (rc > 0)
        return rc;
    enum outcome o = settle(c, rc, "TLS");
    return o == TLS_EOF ? 0 : -1;
}

/* Writes the queue's front. Small pieces (a WebSocket header before its
 * payload, a response's head) are gathered into one record; a large
 * first piece goes as it is. Either way a call after a wait starts with
 * the same bytes and no fewer of them, as SSL_write requires (the
 * buffer may move: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER). */
static ssize_t tls_writev(struct conn *c, const struct iovec *iov, int n)
{
    struct tls_conn *t = c->tls;
    if (!t->ssl)
        return conn_plain.writev(c, iov, n);
    const void *p = iov[0].iov_base;
    size_t len = iov[0].iov_len;
    if (n > 1 && len < RECORD_MAX) {
        len = 0;
        for (int i = 0; i < n && len < RECORD_MAX; i++) {
            size_t take = iov[i].iov_len < RECORD_MAX - len ? iov[i].iov_len : RECORD_MAX - len;
            memcpy(gather_buf + len, iov[i].iov_base, take);
            len += take;
        }
        p = gather_buf;
    }
    ERR_clear_error();
    int rc = SSL_write(t->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
    if (rc > 0)
        return rc;
    if (settle(c, rc, "TLS") == TLS_EOF)
        errno = EPIPE;
    return -1;
}

/* Before the first byte is handed to OpenSSL: is it a TLS record? A
 * handshake record starts with 22. Anything else is a client speaking
 * plain text (HTTP, NDJSON, a port scanner): it is told so in plain text
 * and closed. Returns 1 (TLS), 0 (nothing yet), -1 (closed or plain). */
static int sniff(struct conn *c)
{
    struct tls_conn *t = c->tls;
    unsigned char b[40];
    ssize_t n = recv(c->fd, b, sizeof(b), MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        c->flags &= ~CONN_IO_WRITE;
        errno = EAGAIN;
        return 0;
    }
    if (n <= 0) {
        t->quiet = 1;
        snprintf(t->err, sizeof(t->err), "closed before the TLS handshake");
        return -1;
    }
    if (b[0] == 22)
        return 1;
    char shown[sizeof(b) + 1];
    size_t k = 0;
    for (ssize_t i = 0; i < n && b[i] != '\r' && b[i] != '\n'; i++)
        shown[k++] = b[i] == '"' ? '\'' : b[i] >= 32 && b[i] < 127 ? (char)b[i] : '.';
    shown[k] = '\0';
    t->plain = 1;
    snprintf(t->err, sizeof(t->err), "not TLS: the client spoke plain text (\"%s\"), "
             "and this port speaks TLS only", shown);
    return -1;
}

static int tls_handshake(struct conn *c)
{
    struct tls_conn *t = c->tls;
    if (!t->ssl) {
        int rc = sniff(c);
        if (rc <= 0)
            return rc;
        if (!(t->ssl = SSL_new(t->side->ctx)) || SSL_set_fd(t->ssl, c->fd) != 1) {
            snprintf(t->err, sizeof(t->err), "TLS handshake failed: out of memory");
            t->failed = 1;
            return -1;
        }
        SSL_set_accept_state(t->ssl);
    }
    ERR_clear_error();
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        t->side->st.handshakes++;
        return 1;
    }
    enum outcome o = settle(c, rc, "TLS handshake failed");
    if (o == TLS_WAIT)
        return 0;
    if (o == TLS_EOF)
        snprintf(t->err, sizeof(t->err), "TLS handshake failed: the peer closed the connection");
    t->failed = 1;
    return -1;
}

static int tls_pending(const struct conn *c)
{
    const struct tls_conn *t = c->tls;
    return t->ssl && SSL_has_pending(t->ssl);
}

/* Sends close_notify once, where the session is up and sound. */
static void say_goodbye(struct tls_conn *t)
{
    if (!t->ssl || t->failed || !SSL_is_init_finished(t->ssl) ||
        (SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
        return;
    ERR_clear_error();
    SSL_shutdown(t->ssl);
    ERR_clear_error();
}

static void tls_shutdown(struct conn *c)
{
    say_goodbye(c->tls);
    shutdown(c->fd, SHUT_WR);
}

static void tls_close(struct conn *c)
{
    struct tls_conn *t = c->tls;
    say_goodbye(t);
    SSL_free(t->ssl);
    t->ssl = NULL;
}

static void tls_free(struct conn *c)
{
    free(c->tls);
    c->tls = NULL;
}

const struct conn_transport conn_tls = {
    .name = "tls",
    .read = tls_read,
    .writev = tls_writev,
    .handshake = tls_handshake,
    .pending = tls_pending,
    .shutdown = tls_shutdown,
    .close = tls_close,
    .free = tls_free,
};

/* The client end: which name the server's certificate must bear (an IP
 * address, or a host name also sent as SNI; no host is 127.0.0.1, as
 * conn_dial_sockaddr has it). */
static int client_start(struct tls_conn *t, int fd, const char *addr)
{
    struct hostport hp;
    char why[128];
    unsigned char ip[16];
    if (!(t->ssl = SSL_new(t->side->ctx)) || SSL_set_fd(t->ssl, fd) != 1 ||
        parse_hostport(addr, &hp, why, sizeof(why)) < 0)
        return -1;
    SSL_set_connect_state(t->ssl);
    const char *host = hp.host[0] ? hp.host : "127.0.0.1";
    if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) == 1 ? 0 : -1;
    return SSL_set1_host(t->ssl, host) == 1 && SSL_set_tlsext_host_name(t->ssl, host) == 1
               ? 0 : -1;
}

/* Puts c on the TLS transport of side. Accepted connections (addr NULL)
 * make their SSL object when the first bytes arrive; dialled ones (addr:
 * what was dialled, whose name the server's certificate must bear) at
 * once. Returns 0, or -1 when memory runs out. */
int tls_conn_attach(struct conn *c, struct tls_side *side, const char *addr)
{
    struct tls_conn *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    t->side = side;
    c->tls = t;
    c->tr = &conn_tls;
    if (addr && client_start(t, c->fd, addr) < 0) {
        snprintf(t->err, sizeof(t->err), "TLS setup for %s failed", addr);
        ERR_clear_error();
        return -1;
    }
    return 0;
}

/* Returns c's failure text, or NULL. */
const char *tls_conn_error(const struct conn *c)
{
    const struct tls_conn *t = c->tls;
    return t->err[0] ? t->err : NULL;
}

/* Returns what a plain-text client is told before its close (when c's
 * client spoke plain text and the side has a word for it), or NULL. */
const char *tls_conn_plain_reply(const struct conn *c)
{
    const struct tls_conn *t = c->tls;
    return t && t->plain ? t->side->plain_reply : NULL;
}

/* c's handshake ran out of time: says so in its error text. */
void tls_conn_timed_out(struct conn *c)
{
    struct tls_conn *t = c->tls;
    t->failed = 1;
    t->timed_out = 1;
    t->side->st.timeouts++;
    snprintf(t->err, sizeof(t->err), "TLS handshake not complete within %gs",
             tls_side_timeout(t->side));
}

/* c's handshake was the oldest of too many under way: says so. */
void tls_conn_crowded(struct conn *c)
{
    struct tls_conn *t = c->tls;
    t->failed = 1;
    t->timed_out = 1;
    t->side->st.crowded++;
    snprintf(t->err, sizeof(t->err), "TLS handshake dropped: %lu under way, the oldest go "
             "(%smax_handshakes)", t->side->max_handshakes, t->side->names);
}

/* Logs why an accepted connection was refused: a warning at most once a
 * minute for each port, peer address and kind of reason (the text before any
 * parenthesis: what a client sent is not part of it), so a flood of one
 * kind cannot flood the log and each kind is heard; the counters always.
 * A client that closed before saying anything is only a debug line. */
void tls_log_refusal(const struct conn *c)
{
    static double logged[512];
    const struct tls_conn *t = c->tls;
    if (t->plain)
        t->side->st.plain++;
    else if (!t->quiet && !t->timed_out)
        t->side->st.failed++;
    if (t->quiet) {
        log_debug("%s %s: %s", c->ls->name, c->peer, t->err);
        return;
    }
    const char *colon = strrchr(c->peer, ':');
    size_t n = colon ? (size_t)(colon - c->peer) : strlen(c->peer);
    size_t kind = strcspn(t->err, "(");
    uint64_t key = dict_hash(c->peer, n) ^ dict_hash(t->err, kind) ^
                   dict_hash(c->ls->name, strlen(c->ls->name)) * 31;
    unsigned h = (unsigned)(key & 511);
    double now = ev_now(reactor_loop());
    if (logged[h] && now - logged[h] < LOG_EVERY)
        return;
    logged[h] = now;
    log_warn("%s %s: %s; connection refused", c->ls->name, c->peer, t->err);
}
