/* The client side of the agent protocol, shared by gantry-agent and
 * gantry-replay: one NDJSON connection to the leading master of a group
 * (--master A,B,...: proto/masters.c walks the list, follows not_leader,
 * waits with backoff and jitter between rounds) over the reactor's
 * dialled connections (the same buffers, bounds and flush as gantryd's
 * own connections), reconnected while it is not stopped. What is said on
 * it (hello, heartbeats, tasks) is the caller's. */
#ifndef GANTRY_PROTO_CLIENT_H
#define GANTRY_PROTO_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/masters.h"
#include "reactor/reactor.h"

struct nd_client;

/* The TLS flags gantry-agent and gantry-replay share (SPEC 1 "TLS"): add
 * ND_CLIENT_TLS_OPTS to the getopt_long table and ND_CLIENT_TLS_USAGE to
 * the help, hand the option to nd_client_tls_option, then call
 * nd_client_tls_setup after reactor_init. */
enum { ND_OPT_TLS = 0x200, ND_OPT_TLS_CA, ND_OPT_TLS_CERT, ND_OPT_TLS_KEY };
#define ND_CLIENT_TLS_OPTS                                                              \
    {"tls", no_argument, NULL, ND_OPT_TLS}, {"tls-ca", required_argument, NULL, ND_OPT_TLS_CA}, \
    {"tls-cert", required_argument, NULL, ND_OPT_TLS_CERT},                            \
    {"tls-key", required_argument, NULL, ND_OPT_TLS_KEY}
#define ND_CLIENT_TLS_USAGE                                                                  \
    "  --tls               speak TLS to the master; its certificate must name the --master\n" \
    "                      host (a DNS name, or the IP address)\n"                          \
    "  --tls-ca FILE       verify the master against this CA (default: the system's;\n"      \
    "                      implies --tls)\n"                                                  \
    "  --tls-cert FILE     present this client certificate (mutual TLS; implies --tls)\n"    \
    "  --tls-key FILE      the client certificate's private key\n"

struct nd_client_ops {
    /* Connected: send hello. */
    void (*on_up)(struct nd_client *nc);
    /* One frame (a line without its newline). */
    void (*on_frame)(struct nd_client *nc, const char *p, size_t n);
    /* The connection failed or went (was_up: it had been up); a retry is
     * scheduled unless the client is stopped. */
    void (*on_down)(struct nd_client *nc, const char *why, int was_up);
    /* Output waited for the master and is all written now (after
     * nd_client_want_drain). */
    void (*on_drain)(struct nd_client *nc);
};

struct nd_client {
    struct listener *grp;         /* its connections' group (may be shared) */
    const struct nd_client_ops *ops;
    void *ud;
    const struct masters *masters; /* the group's gantryd (shared) */
    struct masters_cursor cursor; /* which to dial next, and when */
    uint64_t conn;                /* the connection's id, 0 when there is none */
    int up;                       /* connected (not still dialling) */
    size_t scanned;               /* bytes of a partial frame already searched */
    const char *why;              /* why the connection is about to go */
    char dialled[256];            /* the address dialled last */
    ev_timer retry;
    int stopped;
};

int nd_client_tls_option(int opt, const char *value);
int nd_client_tls_setup(char *err, size_t errlen);
void nd_client_group_init(struct listener *grp, const char *name, size_t max_frame,
                          size_t max_output);
void nd_client_init(struct nd_client *nc, struct listener *grp, const struct masters *m,
                    const struct nd_client_ops *ops, void *ud);
void nd_client_start(struct nd_client *nc, double after);
void nd_client_stop(struct nd_client *nc, int after_flush);
int nd_client_send(struct nd_client *nc, json_t *frame);
struct buf *nd_client_out(struct nd_client *nc);
void nd_client_flush_soon(struct nd_client *nc);
void nd_client_flush_wait(struct nd_client *nc, double seconds);
int nd_client_congested(const struct nd_client *nc, size_t bound);
size_t nd_client_queued(const struct nd_client *nc);
void nd_client_want_drain(struct nd_client *nc);
void nd_client_drop(struct nd_client *nc, const char *why);
void nd_client_joined(struct nd_client *nc);
int nd_client_on_error(struct nd_client *nc, const char *code, const char *leader);

#endif
