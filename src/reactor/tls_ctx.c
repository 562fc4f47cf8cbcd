/* TLS sides: contexts built from PEM files, swapped on reload, and what a
 * connection's peer certificate says (see tls.h). */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_int.h"

#define SESSION_CONTEXT "gantry"

static struct list_node sides = {&sides, &sides};

/* The reason OpenSSL gives for the failure (the first error queued, the
 * cause; the later ones say where it surfaced), its queue emptied. */
static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : "unknown error";
}

/* Checks that path can be opened, so the error says why it cannot. */
static int readable(const char *names, const char *what, const char *path, char *err,
                    size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f) {
        fclose(f);
        return 0;
    }
    snprintf(err, errlen, "%s%s = '%s': cannot read: %s", names, what, path, strerror(errno));
    return -1;
}

static int set(const char *s)
{
    return s && s[0];
}

/* The files that go together: a key with a certificate, and a server
 * needs both. */
static int check_pairing(int server, const struct tls_config *cfg, char *err, size_t errlen)
{
    const char *n = cfg->names ? cfg->names : "";
    if (set(cfg->cert) && !set(cfg->key))
        snprintf(err, errlen, "%skey: needed with %scert", n, n);
    else if (!set(cfg->cert) && set(cfg->key))
        snprintf(err, errlen, "%scert: needed with %skey", n, n);
    else if (!set(cfg->cert) && server)
        snprintf(err, errlen, "%scert and %skey: both needed for TLS", n, n);
    else
        return 0;
    return -1;
}

static int load_pair(SSL_CTX *ctx, const struct tls_config *cfg, char *err, size_t errlen)
{
    const char *n = cfg->names ? cfg->names : "";
    if (readable(n, "cert", cfg->cert, err, errlen) < 0 ||
        readable(n, "key", cfg->key, err, errlen) < 0)
        return -1;
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1) {
        snprintf(err, errlen, "%scert = '%s': not a PEM certificate (%s)", n, cfg->cert,
                 ssl_reason());
        return -1;
    }
    int loaded = SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) == 1;
    if (!loaded && ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
        snprintf(err, errlen, "%skey = '%s': not a PEM private key (%s)", n, cfg->key,
                 ssl_reason());
        return -1;
    }
    if (!loaded || SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "%skey = '%s': does not match %scert '%s'", n, cfg->key, n,
                 cfg->cert);
        ERR_clear_error();
        return -1;
    }
    return 0;
}

static int load_ca(SSL_CTX *ctx, int server, const struct tls_config *cfg, char *err,
                   size_t errlen)
{
    const char *n = cfg->names ? cfg->names : "";
    if (!set(cfg->ca)) {
        if (!server && SSL_CTX_set_default_verify_paths(ctx) != 1) {
            snprintf(err, errlen, "the system's CA store cannot be read (%s); give %sca",
                     ssl_reason(), n);
            return -1;
        }
        return 0;
    }
    if (readable(n, "ca", cfg->ca, err, errlen) < 0)
        return -1;
    if (SSL_CTX_load_verify_locations(ctx, cfg->ca, NULL) != 1) {
        snprintf(err, errlen, "%sca = '%s': not a PEM certificate (%s)", n, cfg->ca,
                 ssl_reason());
        return -1;
    }
    if (server) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->ca);
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names);
        ERR_clear_error();
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return 0;
}

/* Builds a context from cfg: TLS 1.2 or later, no renegotiation, writes
 * that may stop after a record and resume from a moved buffer (the
 * reactor gathers its queue afresh each time), buffers released while a
 * connection is idle. Returns it, or NULL with the reason in err. */
SSL_CTX *tls_ctx_build(int server, const struct tls_config *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot make a TLS context: %s", ssl_reason());
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx, 1);
    if (server)
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)SESSION_CONTEXT,
                                       sizeof(SESSION_CONTEXT) - 1);
    else
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (check_pairing(server, cfg, err, errlen) == 0 &&
        (!set(cfg->cert) || load_pair(ctx, cfg, err, errlen) == 0) &&
        load_ca(ctx, server, cfg, err, errlen) == 0)
        return ctx;
    SSL_CTX_free(ctx);
    return NULL;
}

/* Checks that cfg makes a working server (server set) or client side:
 * the files go together, can be read, parse, and the key matches the
 * certificate. Needs no reactor. Returns 0, or -1 with the reason in err,
 * naming the setting. */
int tls_config_check(int server, const struct tls_config *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = tls_ctx_build(server, cfg, err, errlen);
    SSL_CTX_free(ctx);
    return ctx ? 0 : -1;
}

static void handshake_expired(struct idle_node *n, void *ud)
{
    (void)ud;
    struct conn *c = container_of(n, struct conn, idle);
    c->tmo = NULL;
    reactor_handshake_expired(c);
}

static struct tls_side *side_new(int server, const struct tls_config *cfg, char *err,
                                 size_t errlen)
{
    SSL_CTX *ctx = tls_ctx_build(server, cfg, err, errlen);
    if (!ctx)
        return NULL;
    struct tls_side *t = calloc(1, sizeof(*t));
    if (!t || (cfg->plain_reply && !(t->plain_reply = strdup(cfg->plain_reply))) ||
        !(t->names = strdup(cfg->names ? cfg->names : ""))) {
        if (t)
            free(t->plain_reply);
        free(t);
        SSL_CTX_free(ctx);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->ctx = ctx;
    t->server = server;
    t->max_handshakes = cfg->max_handshakes;
    timeout_init(&t->timer, reactor_loop(), cfg->handshake_timeout, handshake_expired, NULL);
    list_insert_tail(&sides, &t->link);
    return t;
}

/* A server side from cfg (cert and key needed; ca asks for client
 * certificates). Call after reactor_init. Returns it, or NULL with the
 * reason in err, naming the setting. */
struct tls_side *tls_server_new(const struct tls_config *cfg, char *err, size_t errlen)
{
    return side_new(1, cfg, err, errlen);
}

/* A client side from cfg (all optional: ca verifies the server, else the
 * system's store does; cert and key present a certificate). Call after
 * reactor_init. Returns it, or NULL with the reason in err. */
struct tls_side *tls_client_new(const struct tls_config *cfg, char *err, size_t errlen)
{
    return side_new(0, cfg, err, errlen);
}

/* Builds a new context from cfg's files (the same or new paths) for the
 * connections that come next; open ones keep theirs. Returns 0, or -1
 * with the reason in err and the side unchanged. */
int tls_side_reload(struct tls_side *t, const struct tls_config *cfg, char *err,
                    size_t errlen)
{
    SSL_CTX *ctx = tls_ctx_build(t->server, cfg, err, errlen);
    if (!ctx)
        return -1;
    SSL_CTX_free(t->ctx);
    t->ctx = ctx;
    t->max_handshakes = cfg->max_handshakes;
    tls_side_set_timeout(t, cfg->handshake_timeout);
    return 0;
}

/* Sets how long a handshake may take (connections under way keep the
 * deadline they have). */
void tls_side_set_timeout(struct tls_side *t, double seconds)
{
    timeout_set(&t->timer, seconds);
}

/* Frees t. Its connections must be gone (or about to be: a side is only
 * freed when a configuration check or a start-up fails, or at shutdown). */
void tls_side_free(struct tls_side *t)
{
    if (!t)
        return;
    timeout_stop(&t->timer);
    list_unlink(&t->link);
    SSL_CTX_free(t->ctx);
    free(t->plain_reply);
    free(t->names);
    free(t);
}

/* Frees every side (reactor_shutdown). */
void tls_sides_free(void)
{
    while (!list_empty(&sides))
        tls_side_free(container_of(list_first(&sides), struct tls_side, link));
}

/* Copies t's counters. */
void tls_side_stats(const struct tls_side *t, struct tls_stats *st)
{
    *st = t->st;
}

/* Returns the handshake timeout's list (the reactor puts connections in
 * their handshake under it). */
struct timeout_list *tls_side_timer(struct tls_side *t)
{
    return &t->timer;
}

/* Returns the bound on handshakes under way (0: none). */
unsigned long tls_side_max_handshakes(const struct tls_side *t)
{
    return t->max_handshakes;
}

/* Returns the handshake timeout, in seconds. */
double tls_side_timeout(const struct tls_side *t)
{
    return t->timer.list.timeout;
}

/* Writes the subject of cert ("CN=w1,O=Example") into out. */
static void subject_of(X509 *cert, char *out, size_t outlen)
{
    BIO *b = BIO_new(BIO_s_mem());
    int n = 0;
    if (b && X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0)
        n = BIO_read(b, out, (int)outlen - 1);
    out[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

/* Describes the certificate t presents ("CN=gantry, valid until Nov 22
 * 10:00:00 2027 GMT") into out, for the logs. Returns its length, or -1
 * when t presents none. */
int tls_side_describe(const struct tls_side *t, char *out, size_t outlen)
{
    X509 *cert = SSL_CTX_get0_certificate(t->ctx);
    if (!cert || outlen < 64)
        return -1;
    char subject[256], until[64] = "?";
    subject_of(cert, subject, sizeof(subject));
    BIO *b = BIO_new(BIO_s_mem());
    if (b && ASN1_TIME_print(b, X509_get0_notAfter(cert)) == 1) {
        int n = BIO_read(b, until, sizeof(until) - 1);
        until[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
    return snprintf(out, outlen, "%s, valid until %s%s", subject, until,
                    X509_cmp_current_time(X509_get0_notAfter(cert)) < 0 ? " (EXPIRED)" : "");
}

static X509 *verified_peer(const struct conn *c)
{
    const struct tls_conn *t = c->tls;
    if (!t || !t->ssl || SSL_get_verify_result(t->ssl) != X509_V_OK)
        return NULL;
    return SSL_get0_peer_certificate(t->ssl);
}

/* Returns non-zero when c is a TLS connection. */
int conn_is_tls(const struct conn *c)
{
    return c->tls != NULL;
}

/* Returns non-zero when c's peer presented a verified certificate that
 * names exactly `name`: its subject's common name, or one of its DNS
 * names (no wildcards). */
int conn_tls_peer_is(const struct conn *c, const char *name)
{
    X509 *cert = verified_peer(c);
    if (!cert || !name[0])
        return 0;
    unsigned flags = X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_ALWAYS_CHECK_SUBJECT;
    int rc = X509_check_host(cert, name, strlen(name), flags, NULL);
    ERR_clear_error();
    return rc == 1;
}
