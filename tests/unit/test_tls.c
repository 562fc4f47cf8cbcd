/* Unit tests: the reactor's TLS transport over a socketpair, against an
 * OpenSSL client driven by the test: the protocol sees nothing before the
 * handshake is done; output queued as own bytes, shared bytes and framed
 * headers arrives whole and in order after the socket filled and writes
 * had to wait (each retried from the same bytes); input the client sends
 * in many records reaches the protocol; a plain-text client is told so in
 * plain text. The certificate is made here, in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor/reactor.h"
#include "reactor/tls.h"

#define BIG (3u * 1024 * 1024)

static struct {
    char dir[64], cert[96], key[96];
    int accepted;
    char *got;
    size_t ngot;
    struct listener ls;
    int peer;
    SSL_CTX *client_ctx;
    SSL *client;
} T;

static ssize_t take(struct conn *c, const char *p, size_t n)
{
    (void)c;
    memcpy(T.got + T.ngot, p, n);
    T.ngot += n;
    return (ssize_t)n;
}

static int on_accept(struct conn *c, void *ud)
{
    (void)c;
    (void)ud;
    T.accepted++;
    return 0;
}

static const struct conn_proto proto = {.name = "test", .on_data = take};

/* A self-signed P-256 certificate and its key, in T.dir. */
static void make_certificate(void)
{
    snprintf(T.dir, sizeof(T.dir), "/tmp/gantry-test-tls-XXXXXX");
    assert_non_null(mkdtemp(T.dir));
    snprintf(T.cert, sizeof(T.cert), "%s/cert.pem", T.dir);
    snprintf(T.key, sizeof(T.key), "%s/key.pem", T.dir);
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(pkey);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1, 0);
    X509_set_issuer_name(x, name);
    assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
    FILE *f = fopen(T.cert, "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(T.key, "w");
    PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
}

static void turn(void)
{
    ev_run(reactor_loop(), EVRUN_NOWAIT);
}

static int setup(void **state)
{
    (void)state;
    memset(&T, 0, sizeof(T));
    make_certificate();
    assert_int_equal(reactor_init(EV_DEFAULT), 0);
    struct tls_config cfg = {.cert = T.cert, .key = T.key, .names = "test.tls_",
                             .handshake_timeout = 5, .plain_reply = "PLAIN NO\n"};
    char err[256];
    struct tls_side *side = tls_server_new(&cfg, err, sizeof(err));
    assert_non_null(side);
    list_init(&T.ls.conns);
    snprintf(T.ls.name, sizeof(T.ls.name), "test");
    T.ls.proto = &proto;
    T.ls.on_accept = on_accept;
    T.ls.in_max = 1 << 20;
    T.ls.out_max = 64u << 20;
    T.ls.max_conns = 100;
    T.ls.tls = side;
    T.got = malloc(BIG + 1024);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    SSL_free(T.client);
    SSL_CTX_free(T.client_ctx);
    close(T.peer);
    turn();
    reactor_shutdown();
    free(T.got);
    unlink(T.cert);
    unlink(T.key);
    rmdir(T.dir);
    return 0;
}

static struct conn *pair(void)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    T.peer = sv[1];
    return reactor_conn_new(&T.ls, sv[0], "peer", 0);
}

/* The test's client: a handshake driven between the reactor's turns. */
static void client_handshake(void)
{
    T.client_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_mode(T.client_ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    T.client = SSL_new(T.client_ctx);
    SSL_set_fd(T.client, T.peer);
    for (int i = 0; i < 1000; i++) {
        int rc = SSL_connect(T.client);
        if (rc == 1)
            return;
        int e = SSL_get_error(T.client, rc);
        assert_true(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
        turn();
    }
    fail_msg("no handshake");
}

/* Reads what the client can now; returns the bytes appended to out. */
static size_t client_read(char *out, size_t room)
{
    size_t n = 0;
    for (;;) {
        int rc = SSL_read(T.client, out + n, (int)(room - n));
        if (rc <= 0)
            return n;
        n += (size_t)rc;
    }
}

static void test_handshake_first_then_protocol(void **state)
{
    (void)state;
    struct conn *c = pair();
    assert_non_null(c);
    turn();
    assert_int_equal(T.accepted, 0);      /* nothing before the handshake */
    client_handshake();
    turn();
    assert_int_equal(T.accepted, 1);
    assert_true(conn_is_tls(c));
    /* Many records in one go, more than one read's worth. */
    static char line[3000];
    memset(line, 'x', sizeof(line));
    for (int i = 0, tries = 0; i < 100 && tries < 100000; tries++) {
        if (SSL_write(T.client, line, sizeof(line)) == (int)sizeof(line))
            i++;
        else
            turn();               /* the socket is full until the server reads */
    }
    for (int i = 0; i < 100 && T.ngot < 100 * sizeof(line); i++)
        turn();
    assert_int_equal(T.ngot, 100 * sizeof(line));
}

static void fill(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('a' + (i * 7 + seed) % 26);
}

static void test_queued_output_arrives_whole_after_waits(void **state)
{
    (void)state;
    struct conn *c = pair();
    client_handshake();
    turn();
    char *want = malloc(BIG), *got = malloc(BIG + 1024);
    size_t len = 0;
    struct rbuf *shared = rbuf_new(40000);
    fill(shared->data, shared->len, 3);
    /* Own bytes, a small header before shared bytes, the same shared
     * bytes bare: the queue's pieces of every size, over and over. */
    while (len + 3 * 40000 < BIG) {
        char own[777];
        fill(own, sizeof(own), (unsigned)len);
        conn_write(c, own, sizeof(own));
        memcpy(want + len, own, sizeof(own));
        len += sizeof(own);
        conn_write_framed(c, "<hdr>", 5, shared);
        memcpy(want + len, "<hdr>", 5);
        memcpy(want + len + 5, shared->data, shared->len);
        len += 5 + shared->len;
        conn_write_shared(c, shared);
        memcpy(want + len, shared->data, shared->len);
        len += shared->len;
    }
    rbuf_unref(shared);
    turn();
    /* The client has read nothing: the socket is full, writes wait. */
    assert_true(conn_pending_bytes(c) > 0);
    size_t n = 0;
    for (int i = 0; i < 100000 && n < len; i++) {
        n += client_read(got + n, BIG + 1024 - n);
        turn();
    }
    assert_int_equal(n, len);
    assert_memory_equal(got, want, len);
    assert_int_equal(conn_pending_bytes(c), 0);
    free(want);
    free(got);
}

static void test_plain_text_client_told_in_plain_text(void **state)
{
    (void)state;
    pair();
    assert_int_equal(write(T.peer, "GET / HTTP/1.1\r\n\r\n", 18), 18);
    char out[64] = "";
    ssize_t n = -1;
    for (int i = 0; i < 100 && n < 0; i++) {
        turn();
        n = read(T.peer, out, sizeof(out) - 1);
    }
    assert_int_equal(n, 9);
    assert_string_equal(out, "PLAIN NO\n");
    assert_int_equal(T.accepted, 0);
    struct tls_stats st;
    tls_side_stats(T.ls.tls, &st);
    assert_int_equal(st.plain, 1);
    assert_int_equal(st.handshakes, 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);     /* as every program on the reactor does */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_handshake_first_then_protocol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queued_output_arrives_whole_after_waits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_plain_text_client_told_in_plain_text, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
