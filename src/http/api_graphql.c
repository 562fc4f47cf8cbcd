/* The GraphQL endpoint: POST /graphql (JSON body), GET /graphql?query=
 * (queries only), GET /graphql without a query (the explorer page), and
 * GET /graphql/schema.graphql (the SDL). Errors the endpoint answers
 * itself are in GraphQL's format ({"errors": [{"message"}]}), those of
 * the HTTP layer below it too (a body past http.max_body_size). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "api_graphql.h"
#include "router.h"
#include "ui.h"

static struct {
    struct gql_schema *schema;
    struct buf sdl;
} gql;

/* The schema every request runs against (built by api_graphql_register). */
const struct gql_schema *api_gql_schema(void)
{
    return gql.schema;
}

/* May this request change things? An admin token, or no tokens at all
 * (the API is then open, on loopback only). */
static int may_change(const struct http_req *req)
{
    return !auth_enabled() || req->role == HTTP_ROLE_ADMIN;
}

static json_t *json_body(struct http_req *req)
{
    const char *ct = http_header(req, "content-type");
    json_error_t je;
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
        http_reply_json(req, 415, api_gql_error("Send the body as Content-Type: "
                                                "application/json."));
        return NULL;
    }
    json_t *j = json_loadb(buf_start(&req->body), req->body.len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        http_reply_json(req, 400, api_gql_error("The body is not JSON: %s (line %d, column %d).",
                                                je.text, je.line, je.column));
    return j;
}

/* POST /graphql {"query", "variables", "operationName"} */
static int post_graphql(struct http_req *req)
{
    struct api_gql_input in;
    char err[200];
    json_t *body = json_body(req);
    if (!body)
        return 0;
    int rc = api_gql_parse_post(body, &in, err, sizeof(err)) < 0
                 ? http_reply_json(req, 400, api_gql_error("%s", err))
                 : api_gql_start(req, &in, 1, may_change(req));
    json_decref(body);
    return rc;
}

/* A query parameter, decoded into a new string; NULL when absent (or
 * malformed: *bad is set then). */
static char *param(struct http_req *req, const char *name, int *bad)
{
    size_t cap = strlen(req->query ? req->query : "") + 1;
    char *v = malloc(cap);
    int rc = v ? http_query_param(req, name, v, cap) : -1;
    if (rc == 1)
        return v;
    free(v);
    *bad |= rc < 0;
    return NULL;
}

/* GET /graphql?query=&variables=&operationName= runs a query; without a
 * query it is the explorer page. */
static int get_graphql(struct http_req *req)
{
    struct api_gql_input in = {0};
    char err[200];
    int bad = 0, rc;
    char *query = param(req, "query", &bad);
    if (!query && !bad)
        return ui_serve_page(req, "explorer.html");
    if (auth_enabled() && req->role == HTTP_ROLE_NONE) {
        free(query);
        return http_reply_error(req, 401, "UNAUTHORIZED", "%s", http_header(req, "authorization")
                                    ? "the bearer token is not valid"
                                    : "this route needs Authorization: Bearer TOKEN");
    }
    char *vars = param(req, "variables", &bad), *op = param(req, "operationName", &bad);
    if (bad || !query || !*query)
        rc = http_reply_json(req, 400, api_gql_error("The query parameters must be URL-encoded, "
                                                     "with a non-empty query."));
    else if (api_gql_parse_variables(vars, &in.variables, err, sizeof(err)) < 0)
        rc = http_reply_json(req, 400, api_gql_error("%s", err));
    else {
        in.query = query;
        in.len = strlen(query);
        in.operation_name = op;
        rc = api_gql_start(req, &in, 0, may_change(req));
    }
    json_decref(in.variables);
    free(query);
    free(vars);
    free(op);
    return rc;
}

/* GET /graphql/schema.graphql: the schema in the GraphQL schema language. */
static int get_sdl(struct http_req *req)
{
    return http_reply(req, 200, "text/plain; charset=utf-8", buf_start(&gql.sdl), gql.sdl.len);
}

/* The HTTP layer refused a request before routing (a body past
 * http.max_body_size, headers past http.max_header_size): on /graphql,
 * say so as GraphQL does. Returns 0 when it answered. */
static int refused(struct http_req *req, int status, size_t limit)
{
    static const char path[] = "/graphql";
    const char *u = buf_start(&req->url);
    size_t n = sizeof(path) - 1;
    if (req->url.len < n || memcmp(u, path, n) != 0 ||
        (req->url.len > n && u[n] != '?' && u[n] != '/'))
        return -1;
    http_reply_json(req, status, api_gql_error(
        "The request is larger than %zu bytes (limit %s).", limit,
        status == 413 ? "http.max_body_size" : "http.max_header_size"));
    return 0;
}

static const struct http_route gql_routes[] = {
    {"POST", "/graphql", post_graphql, ROUTE_READ,
     "GraphQL: queries, and mutations with an admin token", ""},
    {"GET", "/graphql", get_graphql, ROUTE_PUBLIC,
     "GraphQL queries as ?query=&variables=&operationName= (a read token); without a query, "
     "the explorer page", "query variables operationName"},
    {"GET", "/graphql/schema.graphql", get_sdl, ROUTE_PUBLIC, "The GraphQL schema (SDL)", ""},
};

/* Builds the schema and its SDL, and adds the GraphQL routes. Returns 0
 * or -1. */
int api_graphql_register(void)
{
    if (!gql.schema && !(gql.schema = api_gql_schema_build()))
        return -1;
    buf_reset(&gql.sdl);
    if (gql_schema_print(gql.schema, &gql.sdl) < 0)
        return -1;
    http_set_refusal_hook(refused);
    return router_add(gql_routes, sizeof(gql_routes) / sizeof(gql_routes[0]));
}
