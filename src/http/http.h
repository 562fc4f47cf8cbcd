/* The HTTP/1.1 server on the reactor: http-parser, pipelined requests
 * answered in order, keep-alive, header/body limits and timeouts, and the
 * JSON reply helpers handlers use. A handler replies at once, or later (after
 * a Redis read) through the request's conn id and sequence number; the next
 * pipelined request waits until then. */
#ifndef GANTRY_HTTP_H
#define GANTRY_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "reactor/reactor.h"

#define HTTP_MAX_PARAMS 4

enum http_role { HTTP_ROLE_NONE = 0, HTTP_ROLE_READ = 1, HTTP_ROLE_ADMIN = 2 };

struct http_req {
    struct conn *conn;
    uint64_t conn_id;
    uint64_t seq;                 /* request number on its connection */
    int method;                   /* enum http_method of http_parser.h */
    const char *method_name;
    struct buf url;               /* the raw request target, NUL-terminated */
    char *path;                   /* decoded path (points into url) */
    char *query;                  /* raw query string or NULL */
    struct buf headers;           /* "name\0value\0" pairs, names lowercased */
    struct buf body;
    const char *params[HTTP_MAX_PARAMS]; /* path parameters, in order */
    struct buf pstore;            /* holds the parameters' bytes */
    int nparams;
    int keep_alive;
    int head;                     /* HEAD: reply without the body */
    int upgrade;                  /* Upgrade requested (WebSocket) */
    enum http_role role;          /* what the bearer token allows */
    int status;                   /* the status replied, for /metrics */
    const char *route;            /* the matched route's pattern, or NULL */
    double started;
};

/* A handler replies with one of the http_reply_* calls and returns 0, or
 * returns HTTP_ASYNC when the reply will come later, or HTTP_UPGRADED when
 * the connection became another protocol (req is gone then). */
#define HTTP_ASYNC 1
#define HTTP_UPGRADED 2
typedef int (*http_handler_fn)(struct http_req *req);

struct http_server_limits {
    size_t max_header_size;
    size_t max_body_size;
    double header_timeout;
    double idle_timeout;
    long max_connections;
    size_t max_output;            /* answers queued unread past this: parse no more */
    const char *cors_origins;     /* comma-separated; "" = CORS off */
};

struct http_server;

struct http_server *http_server_new(struct listener *ls,
                                    const struct http_server_limits *lim);
void http_server_set_limits(struct http_server *s,
                            const struct http_server_limits *lim);
void http_server_free(struct http_server *s);
unsigned long http_server_active(const struct http_server *s);

const char *http_header(const struct http_req *req, const char *name);
int http_query_param(const struct http_req *req, const char *name, char *out,
                     size_t outlen);
int http_query_next(const char *query, size_t *pos, char *name, size_t nlen, const char **raw,
                    size_t *rawlen);
int http_query_decode(const char *s, size_t len, char *out, size_t outlen);
struct http_req *http_req_find(uint64_t conn_id, uint64_t seq);
void http_upgrade(struct http_req *req, const struct conn_proto *proto, void *ud);

int http_reply(struct http_req *req, int status, const char *content_type,
               const void *body, size_t len);
int http_reply_headers(struct http_req *req, int status, const char *content_type,
                       const char *headers, const void *body, size_t len);
int http_reply_shared(struct http_req *req, int status, const char *content_type,
                      struct rbuf *b);
int http_reply_json(struct http_req *req, int status, json_t *body);
int http_reply_error(struct http_req *req, int status, const char *code,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
const char *http_status_text(int status);

/* Answers a request the server refused before routing it (status 413 or
 * 431; limit: the bytes allowed) and returns 0, or returns -1 to leave the
 * answer to the server. */
typedef int (*http_refusal_fn)(struct http_req *req, int status, size_t limit);
void http_set_refusal_hook(http_refusal_fn fn);

/* Counts of answered requests by status code, for /metrics. */
struct http_status_count {
    int status;
    unsigned long count;
};
int http_status_counts(struct http_status_count *out, int max);

/* Answered requests by route and method, with a latency histogram
 * (route_stats.c), for /metrics. */
#define HTTP_LATENCY_BUCKETS 12
extern const double http_latency_bounds[HTTP_LATENCY_BUCKETS];
struct http_route_stat {
    const char *route;            /* a route pattern, or "unmatched" */
    const char *method;
    uint64_t count, le[HTTP_LATENCY_BUCKETS]; /* le: cumulative */
    double sum;
};
void http_stats_observe(const struct http_req *req, double seconds);
size_t http_route_stats(const struct http_route_stat **out);

#endif
