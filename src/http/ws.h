/* WebSocket connections (RFC 6455): the handshake (SHA-1 and base64 from
 * libcrypto), frames in through wslay (with a message size cap; a bad
 * frame gets the 1002 close), text frames out written straight into the
 * connection's output after wslay's own queue is drained (a message many
 * clients share is one reference-counted block, each client adding only
 * its frame header), pings for idle clients, and a bound on what waits for
 * a slow client: past it updates are dropped and counted, the client is
 * told it lagged, and a client that stays behind is closed with 1008. A
 * client's input is read only while what we owe it fits: a ping flood
 * from a client that does not read gets one pong in flight. */
#ifndef GANTRY_WS_H
#define GANTRY_WS_H

#include <stddef.h>
#include <stdint.h>

#include "core/list.h"
#include "http.h"

struct ws_client;

struct ws_limits {
    size_t max_message;
    size_t queue;                 /* bytes waiting for the client, at most */
    double ping_interval;
};

/* What the owner of the client (pubsub) hears. */
struct ws_handlers {
    void (*on_text)(struct ws_client *cl, const char *msg, size_t len);
    void (*on_close)(struct ws_client *cl);
    /* Everything queued for a client that was behind is written. */
    void (*on_drain)(struct ws_client *cl);
};

void ws_init(const struct ws_limits *lim, const struct ws_handlers *h);
void ws_configure(const struct ws_limits *lim);
void ws_shutdown(void);
struct ws_client *ws_accept(struct http_req *req, void *owner);
void *ws_owner(const struct ws_client *cl);
void ws_quiet_lag(struct ws_client *cl);
uint64_t ws_id(const struct ws_client *cl);
int ws_send(struct ws_client *cl, const char *text, size_t len);
int ws_send_json(struct ws_client *cl, json_t *j);
int ws_send_shared(struct ws_client *cl, struct rbuf *msg);
struct rbuf *ws_message(const char *text, size_t len);
int ws_behind(const struct ws_client *cl, size_t len);
void ws_close(struct ws_client *cl, uint16_t code, const char *reason);
unsigned long ws_count(void);
void ws_accept_key(const char *key, char out[32]);

struct ws_stats {
    unsigned long clients, sent, dropped, lagged_closes, protocol_errors;
    size_t queued, max_queued;    /* bytes waiting for clients: all, the most for one */
};
void ws_stats(struct ws_stats *st);

#endif
