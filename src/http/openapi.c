/* The OpenAPI 3 document: the router's table (every route, its role, its
 * path and query parameters) joined with src/http/openapi.json (each
 * route's tag, description, body and answers; the shared schemas),
 * embedded at build time. Made once, on first request, as JSON and YAML
 * text; the routes do not change after start. */
#include "openapi.h"

#include <stdio.h>
#include <string.h>

#include "router.h"
#include "yaml.h"

extern const char openapi_data[];
extern const size_t openapi_data_len;

static struct {
    json_t *data;                 /* openapi.json, parsed */
    char *json;
    size_t json_len;
    struct buf yaml;
} OA;

static json_t *data(void)
{
    if (!OA.data)
        OA.data = json_loadb(openapi_data, openapi_data_len, 0, NULL);
    return OA.data;
}

/* Whether the document leaves r out: a path with a trailing slash, which
 * OpenAPI linters refuse; /swagger/ is described as /swagger/index.html. */
static int omitted(const struct http_route *r)
{
    size_t n = strlen(r->pattern);
    return n > 1 && r->pattern[n - 1] == '/';
}

static json_t *operation_data(const struct http_route *r)
{
    char key[256];
    snprintf(key, sizeof(key), "%s %s", r->method, r->pattern);
    return json_object_get(json_object_get(data(), "operations"), key);
}

static json_t *parameters(const struct http_route *r, json_t *e)
{
    json_t *a = json_array();
    char name[64];
    for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        json_array_append_new(a, json_pack("{s:s%,s:s,s:b,s:{s:s}}", "name", p + 1,
                                           (size_t)(end - p - 1), "in", "path", "required", 1,
                                           "schema", "type", "string"));
    }
    for (const char *p = r->query; p && *p; p += strspn(p, " ")) {
        size_t n = strcspn(p, " ");
        snprintf(name, sizeof(name), "#/components/parameters/%.*s", (int)n, p);
        json_array_append_new(a, json_pack("{s:s}", "$ref", name));
        p += n;
    }
    if (json_is_true(json_object_get(e, "websocket")))
        json_array_append_new(a, json_pack("{s:s}", "$ref", "#/components/parameters/access_token"));
    return a;
}

static json_t *content(const char *media, json_t *schema)
{
    return json_pack("{s:{s:o}}", media, "schema", schema);
}

/* The answer the route gives when it succeeds. */
static void success(json_t *responses, json_t *e)
{
    const char *status = json_string_value(json_object_get(e, "status"));
    const char *schema = json_string_value(json_object_get(e, "response"));
    const char *media = json_string_value(json_object_get(e, "media"));
    char ref[128];
    if (json_is_true(json_object_get(e, "websocket"))) {
        json_object_set_new(responses, "101", json_pack("{s:s}", "description",
                                                        "Switching Protocols: the stream begins"));
    } else if (json_is_true(json_object_get(e, "redirect"))) {
        json_object_set_new(responses, "301", json_pack("{s:s,s:{s:{s:{s:s}}}}", "description",
                                                        "Moved Permanently", "headers", "Location",
                                                        "schema", "type", "string"));
    } else {
        snprintf(ref, sizeof(ref), "#/components/schemas/%s", schema ? schema : "");
        json_t *s = schema ? json_pack("{s:s}", "$ref", ref) : json_pack("{s:s}", "type", "string");
        json_object_set_new(responses, status ? status : "200",
                            json_pack("{s:s,s:o}", "description", "Success",
                                      "content", content(media ? media : "application/json", s)));
    }
}

/* Adds error code to the answer of its status, naming it in the
 * description ("WORKER_NOT_FOUND, ..."). */
static void add_error(json_t *responses, const char *code)
{
    const char *status = json_string_value(json_object_get(json_object_get(data(), "errors"), code));
    json_t *r = status ? json_object_get(responses, status) : NULL;
    if (!status)
        return;
    if (!r) {
        json_object_set_new(responses, status, json_pack("{s:s,s:o}", "description", code, "content",
                                                         content("application/json", json_pack(
                                                             "{s:s}", "$ref",
                                                             "#/components/schemas/Error"))));
        return;
    }
    const char *d = json_string_value(json_object_get(r, "description"));
    if (strstr(d, code))
        return;
    char both[512];
    snprintf(both, sizeof(both), "%s, %s", d, code);
    json_object_set_new(r, "description", json_string(both));
}

static json_t *responses(const struct http_route *r, json_t *e)
{
    json_t *res = json_object();
    size_t i;
    json_t *code;
    success(res, e);
    add_error(res, "INVALID_PARAMETER");    /* an unknown query parameter, on every route */
    if (r->auth != ROUTE_PUBLIC)
        add_error(res, "UNAUTHORIZED");
    if (r->auth == ROUTE_ADMIN)
        add_error(res, "FORBIDDEN");
    if (json_is_true(json_object_get(e, "websocket")))
        add_error(res, "UPGRADE_REQUIRED");
    json_array_foreach(json_object_get(e, "errors"), i, code)
        add_error(res, json_string_value(code));
    return res;
}

/* "get_api_v1_gpus_uuid_telemetry" from GET /api/v1/gpus/{uuid}/telemetry. */
static json_t *operation_id(const struct http_route *r)
{
    char id[256];
    size_t n = 0;
    for (const char *p = r->method; *p && n < sizeof(id) - 1; p++)
        id[n++] = (char)(*p | 0x20);
    for (const char *p = r->pattern; *p && n < sizeof(id) - 2; p++) {
        int word = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
        if (word)
            id[n++] = *p;
        else if (id[n - 1] != '_')
            id[n++] = '_';
    }
    while (n > 1 && id[n - 1] == '_')
        n--;
    if (strcmp(r->pattern, "/") == 0)
        n += (size_t)snprintf(id + n, sizeof(id) - n, "_root");
    return json_stringn(id, n);
}

static json_t *operation(const struct http_route *r)
{
    json_t *e = operation_data(r), *op;
    const char *body = json_string_value(json_object_get(e, "body"));
    const char *tag = json_string_value(json_object_get(e, "tag"));
    const char *desc = json_string_value(json_object_get(e, "description"));
    op = json_pack("{s:s,s:o,s:[s],s:s,s:o,s:o}", "summary", r->summary, "operationId",
                   operation_id(r), "tags", tag ? tag : "Operations", "description",
                   desc ? desc : r->summary, "parameters", parameters(r, e), "responses",
                   responses(r, e));
    if (body) {
        char ref[128];
        snprintf(ref, sizeof(ref), "#/components/schemas/%s", body);
        json_object_set_new(op, "requestBody", json_pack("{s:b,s:o}", "required",
                                                         !json_is_true(json_object_get(e, "optional_body")),
                                                         "content", content("application/json",
                                                                            json_pack("{s:s}", "$ref", ref))));
    }
    json_object_set_new(op, "security", r->auth == ROUTE_PUBLIC ? json_array()
                                                                : json_pack("[{s:[]}]", "bearer"));
    json_object_set_new(op, "x-role", json_string(r->auth == ROUTE_ADMIN ? "admin"
                                                  : r->auth == ROUTE_READ ? "read" : "public"));
    return op;
}

static void add_path(const struct http_route *r, void *ud)
{
    json_t *paths = ud;
    if (omitted(r))
        return;
    json_t *item = json_object_get(paths, r->pattern);
    if (!item) {
        item = json_object();
        json_object_set_new(paths, r->pattern, item);
    }
    char method[8];
    size_t i = 0;
    for (; r->method[i] && i < sizeof(method) - 1; i++)
        method[i] = (char)(r->method[i] | 0x20);
    method[i] = '\0';
    json_object_set_new(item, method, operation(r));
}

/* The document of every route the router knows (a new reference), or
 * NULL when the embedded description cannot be read. */
json_t *openapi_document(void)
{
    json_t *d = data(), *paths = json_object();
    if (!d)
        return NULL;
    router_foreach(add_path, paths);
    json_t *components = json_deep_copy(json_object_get(d, "components"));
    json_object_set_new(components, "securitySchemes",
                        json_pack("{s:{s:s,s:s}}", "bearer", "type", "http", "scheme", "bearer"));
    return json_pack("{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:O,s:o,s:o}", "openapi", "3.0.3", "info",
                     "title", "Gantry", "version", GANTRY_VERSION, "description",
                     "Cluster control plane: workers, tasks, GPU telemetry. The routes of the "
                     "master/worker system and of the GPU telemetry pipelines keep their shapes.",
                     "servers", "url", "/", "tags", json_object_get(d, "tags"), "paths", paths,
                     "components", components);
}

/* The document as JSON (yaml = 0) or YAML text, made once. Returns NULL
 * on no memory. */
const char *openapi_text(int yaml, size_t *len)
{
    if (!OA.json) {
        json_t *doc = openapi_document();
        OA.json = doc ? json_dumps(doc, JSON_INDENT(1)) : NULL;
        if (doc)
            yaml_dump(doc, &OA.yaml);
        json_decref(doc);
        if (!OA.json)
            return NULL;
        OA.json_len = strlen(OA.json);
    }
    *len = yaml ? OA.yaml.len : OA.json_len;
    return yaml ? buf_start(&OA.yaml) : OA.json;
}

struct check {
    char *err;
    size_t errlen;
    int bad;
};

static void check_route(const struct http_route *r, void *ud)
{
    struct check *c = ud;
    char name[64];
    json_t *params = json_object_get(json_object_get(data(), "components"), "parameters");
    if (!omitted(r) && !operation_data(r) && !c->bad++)
        snprintf(c->err, c->errlen, "no description of %s %s", r->method, r->pattern);
    for (const char *p = r->query; p && *p; p += strspn(p, " ")) {
        size_t n = strcspn(p, " ");
        snprintf(name, sizeof(name), "%.*s", (int)n, p);
        if (!json_object_get(params, name) && !c->bad++)
            snprintf(c->err, c->errlen, "%s %s: no parameter %s", r->method, r->pattern, name);
        p += n;
    }
}

/* Checks that every route and query parameter is described. Returns 0, or
 * -1 with the first gap in err. */
int openapi_check(char *err, size_t errlen)
{
    struct check c = {err, errlen, 0};
    if (!data()) {
        snprintf(err, errlen, "the embedded openapi.json is not valid JSON");
        return -1;
    }
    router_foreach(check_route, &c);
    return c.bad ? -1 : 0;
}

/* Frees the document and its texts. */
void openapi_free(void)
{
    json_decref(OA.data);
    free(OA.json);
    buf_free(&OA.yaml);
    memset(&OA, 0, sizeof(OA));
}
