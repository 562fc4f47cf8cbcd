#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "router.h"
#include "standby.h"

#define MAX_TABLES 16

static struct {
    const struct http_route *table[MAX_TABLES];
    size_t len[MAX_TABLES];
    int n;
} routes;

/* Adds a table of routes (kept by pointer: it must outlive the server).
 * Returns 0 or -1 when too many tables were added. */
int router_add(const struct http_route *table, size_t n)
{
    if (routes.n == MAX_TABLES)
        return -1;
    routes.table[routes.n] = table;
    routes.len[routes.n] = n;
    routes.n++;
    return 0;
}

/* Forgets every route. */
void router_reset(void)
{
    routes.n = 0;
}

/* Calls fn for every route, in the order they were added. */
void router_foreach(void (*fn)(const struct http_route *r, void *ud), void *ud)
{
    for (int t = 0; t < routes.n; t++)
        for (size_t i = 0; i < routes.len[t]; i++)
            fn(&routes.table[t][i], ud);
}

/* Matches path against pattern; fills params with pointers into scratch,
 * a copy of path split at '/' (as long as path, plus one). Returns 1 on a
 * match. */
int router_match(const char *pattern, const char *path, char *scratch,
                 const char **params, int *nparams)
{
    size_t plen = strlen(path);
    memcpy(scratch, path, plen + 1);
    const char *pp = pattern;
    char *sp = scratch;
    *nparams = 0;
    while (*pp && *sp) {
        if (*pp != '/' || *sp != '/')
            return 0;
        pp++;
        sp++;
        const char *pend = strchr(pp, '/');
        size_t pn = pend ? (size_t)(pend - pp) : strlen(pp);
        char *send = strchr(sp, '/');
        size_t sn = send ? (size_t)(send - sp) : strlen(sp);
        if (pn > 2 && pp[0] == '{' && pp[pn - 1] == '}') {
            if (sn == 0 || *nparams == HTTP_MAX_PARAMS)
                return 0;
            params[(*nparams)++] = sp;
            if (send)
                *send = '\0';
            sp += sn;
            if (send)
                *sp = '/';
        } else {
            if (pn != sn || strncmp(pp, sp, pn) != 0)
                return 0;
            sp += sn;
        }
        pp += pn;
    }
    /* Both must end together; a trailing slash is not the same path. */
    if (*pp || *sp)
        return 0;
    /* Cut the parameters out of the scratch copy. */
    for (int i = 0; i < *nparams; i++) {
        char *slash = strchr((char *)params[i], '/');
        if (slash)
            *slash = '\0';
    }
    return 1;
}

static int method_matches(const struct http_route *r, const struct http_req *req)
{
    if (strcmp(r->method, req->method_name) == 0)
        return 1;
    return req->head && strcmp(r->method, "GET") == 0;
}

/* Returns the methods the request's path allows, for a 405's Allow header. */
const char *router_allow(const struct http_req *req)
{
    static char allow[128];
    static char scratch[4096];
    const char *params[HTTP_MAX_PARAMS];
    int np;
    allow[0] = '\0';
    if (!req->path || strlen(req->path) >= sizeof(scratch))
        return allow;
    for (int t = 0; t < routes.n; t++) {
        for (size_t i = 0; i < routes.len[t]; i++) {
            const struct http_route *r = &routes.table[t][i];
            if (!router_match(r->pattern, req->path, scratch, params, &np))
                continue;
            if (!strstr(allow, r->method)) {
                size_t n = strlen(allow);
                snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "",
                         r->method);
                if (strcmp(r->method, "GET") == 0) {
                    n = strlen(allow);
                    snprintf(allow + n, sizeof(allow) - n, ", HEAD");
                }
            }
        }
    }
    return allow;
}

static int authorize(struct http_req *req, const struct http_route *r)
{
    req->role = auth_role(req);
    if (r->auth == ROUTE_PUBLIC || !auth_enabled())
        return 0;
    if (req->role == HTTP_ROLE_NONE) {
        const char *h = http_header(req, "authorization");
        http_reply_error(req, 401, "UNAUTHORIZED", "%s",
                         h ? "the bearer token is not valid"
                           : "this route needs Authorization: Bearer TOKEN");
        return -1;
    }
    if (r->auth == ROUTE_ADMIN && req->role != HTTP_ROLE_ADMIN) {
        http_reply_error(req, 403, "FORBIDDEN", "%s %s needs an admin token",
                         r->method, r->pattern);
        return -1;
    }
    return 0;
}

/* Returns 1 when route r takes query parameter name. */
int router_takes_param(const struct http_route *r, const char *name)
{
    size_t n = strlen(name);
    if (strcmp(name, ROUTE_TOKEN_PARAM) == 0)
        return 1;
    for (const char *p = r->query; p && *p; p += strcspn(p, " "), p += *p == ' ')
        if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

/* Refuses (400 INVALID_PARAMETER, naming it) the first query parameter
 * that route r does not take, so a misspelt or unsupported one is never
 * silently ignored. Returns 0 when all are known. */
static int check_query(struct http_req *req, const struct http_route *r)
{
    size_t pos = 0, rawlen;
    const char *raw;
    char name[64];
    int rc;
    while ((rc = http_query_next(req->query, &pos, name, sizeof(name), &raw, &rawlen)) != 0) {
        if (rc < 0) {
            http_reply_error(req, 400, "INVALID_PARAMETER", "a query parameter name is malformed");
            return -1;
        }
        if (!router_takes_param(r, name)) {
            char msg[512];
            snprintf(msg, sizeof(msg), "unknown query parameter '%s' (%s %s takes: %s)", name,
                     r->method, r->pattern, r->query && *r->query ? r->query : "none");
            http_reply_json(req, 400, json_pack("{s:{s:s,s:s,s:s}}", "error", "code",
                                                "INVALID_PARAMETER", "message", msg,
                                                "parameter", name));
            return -1;
        }
    }
    return 0;
}

/* Copies the path parameters into the request's own storage. */
static int keep_params(struct http_req *req, const char **params, int np)
{
    size_t off[HTTP_MAX_PARAMS];
    buf_reset(&req->pstore);
    for (int k = 0; k < np; k++) {
        off[k] = req->pstore.len;
        if (buf_append(&req->pstore, params[k], strlen(params[k]) + 1) < 0)
            return -1;
    }
    for (int k = 0; k < np; k++)
        req->params[k] = buf_start(&req->pstore) + off[k];
    req->nparams = np;
    return 0;
}

/* Finds the route for req and runs it, or answers the error itself. */
void router_dispatch(struct http_req *req)
{
    static char scratch[8192];
    const char *params[HTTP_MAX_PARAMS];
    int np, path_found = 0;
    if (strlen(req->path) >= sizeof(scratch)) {
        http_reply_error(req, 404, "NOT_FOUND", "no such route");
        return;
    }
    if (standby_intercept(req))
        return;
    for (int t = 0; t < routes.n; t++) {
        for (size_t i = 0; i < routes.len[t]; i++) {
            const struct http_route *r = &routes.table[t][i];
            if (!router_match(r->pattern, req->path, scratch, params, &np))
                continue;
            path_found = 1;
            if (!method_matches(r, req))
                continue;
            req->route = r->pattern;
            if (authorize(req, r) < 0 || check_query(req, r) < 0)
                return;
            if (keep_params(req, params, np) < 0) {
                http_reply_error(req, 500, "INTERNAL", "out of memory");
                return;
            }
            if (r->fn(req) == 0 && req->status == 0)
                http_reply_error(req, 500, "INTERNAL", "the handler did not reply");
            return;
        }
    }
    if (path_found && req->method == HTTP_OPTIONS) {
        http_reply(req, 204, "application/json", "", 0);
        return;
    }
    if (path_found)
        http_reply_error(req, 405, "METHOD_NOT_ALLOWED", "%s is not allowed on %s",
                         req->method_name, req->path);
    else
        http_reply_error(req, 404, "NOT_FOUND", "no route for %s %s",
                         req->method_name, req->path);
}
