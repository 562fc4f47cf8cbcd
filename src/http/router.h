/* Routes: method + path pattern with {param} segments -> handler, with the
 * role the route needs. The router answers 404, 405 (with Allow), 401 and 403
 * itself, and CORS preflights. */
#ifndef GANTRY_ROUTER_H
#define GANTRY_ROUTER_H

#include <stddef.h>

#include "http.h"

enum route_auth {
    ROUTE_PUBLIC = 0,             /* no token needed (/health, the page) */
    ROUTE_READ = 1,               /* a read or admin token */
    ROUTE_ADMIN = 2,              /* an admin token (mutations) */
};

struct http_route {
    const char *method;
    const char *pattern;
    http_handler_fn fn;
    enum route_auth auth;
    const char *summary;          /* one line for /openapi.json */
    const char *query;            /* the query parameters it takes, space-separated;
                                   * any other one is refused (400) */
};

/* Taken on every route: the bearer token as browsers' WebSockets send it. */
#define ROUTE_TOKEN_PARAM "access_token"


int router_add(const struct http_route *routes, size_t n);
void router_reset(void);
void router_dispatch(struct http_req *req);
const char *router_allow(const struct http_req *req);
int router_match(const char *pattern, const char *path, char *scratch,
                 const char **params, int *nparams);
void router_foreach(void (*fn)(const struct http_route *r, void *ud), void *ud);
int router_takes_param(const struct http_route *r, const char *name);

int auth_set_tokens(const char *spec, char *err, size_t errlen);
int auth_enabled(void);
void auth_free(void);
enum http_role auth_role(const struct http_req *req);

#endif
