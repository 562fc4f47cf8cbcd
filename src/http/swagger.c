/* Interactive API documentation: Swagger UI (embedded at build time, see
 * the Makefile) at /swagger/ on this server's OpenAPI document, which it
 * also serves as /swagger/swagger.json and /swagger/swagger.yaml; /docs
 * and /swagger lead there. No token needed, no external network. */
#include <string.h>

#include "api.h"
#include "openapi.h"
#include "router.h"
#include "ui.h"

#define CACHE "no-cache"
/* Swagger UI sets styles from its scripts; everything else is ours. */
#define CSP "Content-Security-Policy: default-src 'self'; script-src 'self'; " \
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " \
            "frame-ancestors 'none'\r\n"

/* The files /swagger/ serves besides the document. */
static const char *const files[] = {"swagger-ui-bundle.js", "swagger-ui.css", "swagger-init.js"};

static int serve(struct http_req *req, const char *name)
{
    const struct ui_asset *a = ui_find(name);
    if (!a)
        return http_reply_error(req, 404, "ASSET_NOT_FOUND", "this gantryd has no %s", name);
    return ui_serve(req, a, CACHE, strcmp(name, "swagger.html") == 0 ? CSP : "");
}

/* GET /swagger/, /swagger/index.html */
static int get_page(struct http_req *req)
{
    return serve(req, "swagger.html");
}

/* GET /swagger/{file} */
static int get_file(struct http_req *req)
{
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (strcmp(req->params[0], files[i]) == 0)
            return serve(req, files[i]);
    return http_reply_error(req, 404, "ASSET_NOT_FOUND", "the API page has no file %s",
                            req->params[0]);
}

static int document(struct http_req *req, int yaml)
{
    size_t len;
    const char *text = openapi_text(yaml, &len);
    if (!text)
        return http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
    return http_reply(req, 200, yaml ? "application/yaml" : "application/json", text, len);
}

/* GET /swagger/swagger.json */
static int get_json(struct http_req *req)
{
    return document(req, 0);
}

/* GET /swagger/swagger.yaml */
static int get_yaml(struct http_req *req)
{
    return document(req, 1);
}

/* GET /docs, /swagger: 301 to /swagger/. */
static int get_redirect(struct http_req *req)
{
    static const char body[] = "{\"location\":\"/swagger/\"}\n";
    return http_reply_headers(req, 301, "application/json", "Location: /swagger/\r\n", body,
                              sizeof(body) - 1);
}

static const struct http_route swagger_routes[] = {
    {"GET", "/swagger/", get_page, ROUTE_PUBLIC, "Interactive API documentation", ""},
    {"GET", "/swagger/index.html", get_page, ROUTE_PUBLIC, "Interactive API documentation", ""},
    {"GET", "/swagger/swagger.json", get_json, ROUTE_PUBLIC, "This API as an OpenAPI 3 document",
     ""},
    {"GET", "/swagger/swagger.yaml", get_yaml, ROUTE_PUBLIC,
     "This API as an OpenAPI 3 document in YAML", ""},
    {"GET", "/swagger/{file}", get_file, ROUTE_PUBLIC, "The API documentation page's files", ""},
    {"GET", "/swagger", get_redirect, ROUTE_PUBLIC, "To the interactive API documentation", ""},
    {"GET", "/docs", get_redirect, ROUTE_PUBLIC, "To the interactive API documentation", ""},
};

/* Adds /swagger/..., /swagger and /docs. Returns 0 or -1. */
int swagger_register(void)
{
    return router_add(swagger_routes, sizeof(swagger_routes) / sizeof(swagger_routes[0]));
}
