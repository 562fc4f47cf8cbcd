/* GET / and GET /ui/{version}/{file}: the console's embedded files, and
 * GET /ui/session, which tells the page whether it must ask for a token.
 * The page is revalidated on every load (no-cache + ETag -> 304); its
 * assets carry the build's version in their URL, so they are cached for a
 * year and never asked for again until the next build changes the page. */
#include "ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "router.h"

#define CACHE_PAGE "no-cache"
#define CACHE_ASSET "public, max-age=31536000, immutable"
/* Everything the page loads comes from gantryd itself; styles set from
 * scripts (the chart library) are the only inline ones. */
#define PAGE_CSP "Content-Security-Policy: default-src 'self'; script-src 'self'; " \
                 "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "         \
                 "connect-src 'self'; frame-ancestors 'none'\r\n"

/* Returns the asset called name, or NULL. */
const struct ui_asset *ui_find(const char *name)
{
    for (size_t i = 0; i < ui_nassets; i++)
        if (strcmp(ui_assets[i].name, name) == 0)
            return &ui_assets[i];
    return NULL;
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* The q value of one Accept-Encoding element, from p (its first ';', or
 * NULL) to end: 1 when absent. */
static double quality(const char *p, const char *end)
{
    while (p && p < end) {
        const char *q = skip_space(p + 1);
        if ((*q == 'q' || *q == 'Q') && q[1] == '=')
            return strtod(q + 2, NULL);
        p = memchr(q, ';', (size_t)(end - q));
    }
    return 1;
}

/* Returns 1 when an Accept-Encoding value (NULL: none sent) lets the
 * answer be gzip: "gzip" (or "x-gzip") with a non-zero q, or, when gzip is
 * not named, "*" with a non-zero q. */
int ui_accepts_gzip(const char *accept_encoding)
{
    double gzip_q = -1, any_q = -1;
    const char *p = accept_encoding;
    while (p && *p) {
        p = skip_space(p);
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        size_t n = strcspn(p, " \t;,");
        const char *semi = memchr(p, ';', (size_t)(end - p));
        double q = quality(semi, end);
        if ((n == 4 && strncasecmp(p, "gzip", 4) == 0) || (n == 6 && strncasecmp(p, "x-gzip", 6) == 0))
            gzip_q = q;
        else if (n == 1 && *p == '*')
            any_q = q;
        p = *end ? end + 1 : end;
    }
    return gzip_q >= 0 ? gzip_q > 0 : any_q > 0;
}

/* Returns 1 when an If-None-Match value names etag (a quoted tag) or is
 * "*". The comparison is the weak one RFC 9110 asks for here: W/ aside. */
int ui_etag_matches(const char *if_none_match, const char *etag)
{
    const char *p = if_none_match;
    size_t elen = strlen(etag);
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p != '"')
            return 0;
        const char *close = strchr(p + 1, '"');
        if (!close)
            return 0;
        if ((size_t)(close + 1 - p) == elen && strncmp(p, etag, elen) == 0)
            return 1;
        p = close + 1;
    }
    return 0;
}

/* Answers with a (or its gzip form), or 304 when the client holds it;
 * cache is the Cache-Control value, more any further header lines. */
int ui_serve(struct http_req *req, const struct ui_asset *a, const char *cache, const char *more)
{
    int gz = a->gz && ui_accepts_gzip(http_header(req, "accept-encoding"));
    const char *etag = gz ? a->gz_etag : a->etag;
    char headers[512];
    snprintf(headers, sizeof(headers),
             "ETag: %s\r\nCache-Control: %s\r\nVary: Accept-Encoding\r\n"
             "X-Content-Type-Options: nosniff\r\n%s%s",
             etag, cache, gz ? "Content-Encoding: gzip\r\n" : "", more);
    const char *inm = http_header(req, "if-none-match");
    if (inm && ui_etag_matches(inm, etag))
        return http_reply_headers(req, 304, NULL, headers, NULL, 0);
    return http_reply_headers(req, 200, a->content_type, headers, gz ? a->gz : a->data,
                              gz ? a->gz_len : a->len);
}

/* GET /: the console's page. */
static int get_page(struct http_req *req)
{
    const struct ui_asset *a = ui_find("index.html");
    if (!a)
        return http_reply_error(req, 404, "ASSET_NOT_FOUND", "this gantryd has no console");
    return ui_serve(req, a, CACHE_PAGE, PAGE_CSP);
}

/* Serves the embedded page called name as GET / serves the console's:
 * revalidated on every load, under the page's Content-Security-Policy.
 * Returns what http_reply does. */
int ui_serve_page(struct http_req *req, const char *name)
{
    const struct ui_asset *a = ui_find(name);
    if (!a)
        return http_reply_error(req, 404, "ASSET_NOT_FOUND", "this gantryd has no page %s", name);
    return ui_serve(req, a, CACHE_PAGE, PAGE_CSP);
}

/* GET /ui/{version}/{file}. Another build's version still gets today's
 * file, but not for keeps. */
static int get_asset(struct http_req *req)
{
    const struct ui_asset *a = ui_find(req->params[1]);
    if (!a || strcmp(a->name, "index.html") == 0)
        return http_reply_error(req, 404, "ASSET_NOT_FOUND", "the console has no file %s",
                                req->params[1]);
    int current = strcmp(req->params[0], ui_version) == 0;
    return ui_serve(req, a, current ? CACHE_ASSET : CACHE_PAGE, "");
}

/* GET /ui/session: {auth_required, role}, the role of the request's token
 * ("admin" when the API has no tokens). Public, so that the page learns it
 * must ask for a token without a 401. */
static int get_session(struct http_req *req)
{
    static const char *const roles[] = {"none", "read", "admin"};
    int required = auth_enabled();
    const char *role = required ? roles[req->role] : "admin";
    char body[96];
    int n = snprintf(body, sizeof(body), "{\"auth_required\":%s,\"role\":\"%s\"}\n",
                     required ? "true" : "false", role);
    return http_reply(req, 200, "application/json", body, (size_t)n);
}

static const struct http_route ui_routes[] = {
    {"GET", "/", get_page, ROUTE_PUBLIC, "The console (a single-page web app)", "token"},
    {"GET", "/ui/session", get_session, ROUTE_PUBLIC,
     "Whether the API needs a token, and what the request's token may do", ""},
    {"GET", "/ui/{version}/{file}", get_asset, ROUTE_PUBLIC, "The console's static files", ""},
};

/* Adds /, /ui/session and /ui/{version}/{file}. Returns 0 or -1. */
int ui_register(void)
{
    return router_add(ui_routes, sizeof(ui_routes) / sizeof(ui_routes[0]));
}
