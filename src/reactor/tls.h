/* TLS for the reactor's connections (OpenSSL 3, non-blocking, inside the
 * loop). A tls_side is one end's settings and its current SSL_CTX: set
 * on a listener (ls->tls) every connection it accepts speaks TLS, and on a
 * group of dialled connections every connection it dials does. The layers
 * above read, write and flush as over plain TCP: the protocol hears of an
 * accepted connection (on_accept) or a dialled one (on_connect) only once
 * its handshake is done.
 *
 * A server side may require client certificates (mutual TLS); a client
 * side verifies the server against a CA (or the system's store) and the
 * host or address it dialled. Reloading a side swaps in a new SSL_CTX for
 * the connections that come next; open ones keep the one they started with
 * (each holds its own reference). Sides live until reactor_shutdown. */
#ifndef GANTRY_TLS_H
#define GANTRY_TLS_H

#include <stddef.h>

#include "reactor.h"

struct tls_config {
    /* PEM files: the server's certificate chain and key, or a client's own
     * (optional for a client). */
    const char *cert, *key;
    /* Server: clients must present a certificate signed by this CA (NULL:
     * none is asked for). Client: the server is verified against it (NULL:
     * the system's store). */
    const char *ca;
    /* How errors name the settings: "agents.tls_" gives "agents.tls_cert",
     * "--tls-" gives "--tls-cert". */
    const char *names;
    /* A handshake not done within this many seconds is abandoned. */
    double handshake_timeout;
    /* Server: handshakes under way at most (0: no bound); past it the one
     * that has waited longest is dropped (a stalled one: a good client's
     * takes a round trip). */
    unsigned long max_handshakes;
    /* Server: what a client that speaks plain text to the port is told,
     * unencrypted, before the close (NULL: nothing). */
    const char *plain_reply;
};

struct tls_stats {
    unsigned long handshakes;     /* completed */
    unsigned long failed;         /* refused or broken handshakes */
    unsigned long timeouts;       /* not complete in time */
    unsigned long plain;          /* clients that spoke plain text */
    unsigned long crowded;        /* dropped for max_handshakes */
};

int tls_config_check(int server, const struct tls_config *cfg, char *err, size_t errlen);
struct tls_side *tls_server_new(const struct tls_config *cfg, char *err, size_t errlen);
struct tls_side *tls_client_new(const struct tls_config *cfg, char *err, size_t errlen);
int tls_side_reload(struct tls_side *t, const struct tls_config *cfg, char *err,
                    size_t errlen);
void tls_side_free(struct tls_side *t);
void tls_side_set_timeout(struct tls_side *t, double seconds);
void tls_side_stats(const struct tls_side *t, struct tls_stats *st);
int tls_side_describe(const struct tls_side *t, char *out, size_t outlen);

int conn_is_tls(const struct conn *c);
int conn_tls_peer_is(const struct conn *c, const char *name);

#endif
