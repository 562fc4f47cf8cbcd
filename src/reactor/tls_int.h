/* Shared between tls.c (the transport) and tls_ctx.c (the sides). */
#ifndef GANTRY_TLS_INT_H
#define GANTRY_TLS_INT_H

#include <openssl/ssl.h>

#include "reactor/timeout.h"
#include "reactor_int.h"
#include "tls.h"

struct tls_side {
    SSL_CTX *ctx;                 /* for new connections; each SSL holds a reference */
    int server;
    char *plain_reply;
    char *names;                  /* how errors name the settings */
    unsigned long max_handshakes;
    struct timeout_list timer;    /* connections in their handshake */
    struct tls_stats st;
    struct list_node link;        /* every side, freed at reactor_shutdown */
};

/* One connection's TLS state. The SSL object goes when the socket closes;
 * the rest (the error text) when the connection is freed. */
struct tls_conn {
    SSL *ssl;                     /* NULL until the first bytes show a TLS record */
    struct tls_side *side;
    unsigned failed : 1;          /* a fatal error: no close_notify is due */
    unsigned plain : 1;           /* the client spoke plain text */
    unsigned quiet : 1;           /* closed before saying anything: no log */
    unsigned timed_out : 1;       /* the handshake ran out of time, or was crowded out */
    char err[160];
};

SSL_CTX *tls_ctx_build(int server, const struct tls_config *cfg, char *err, size_t errlen);

#endif
