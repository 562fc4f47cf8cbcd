#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "core/parse.h"
#include "reactor/reactor.h"

struct api_env *api_env;

/* The loop's notion of now: every handler in one loop turn sees the same. */
double api_now(void)
{
    return ev_now(reactor_loop());
}

/* Returns the request body parsed as JSON (caller owns it), or NULL after
 * replying 415 (not application/json) or 400 (malformed). */
json_t *api_json_body(struct http_req *req)
{
    const char *ct = http_header(req, "content-type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
        http_reply_error(req, 415, "UNSUPPORTED_MEDIA_TYPE",
                         "send the body as Content-Type: application/json");
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(buf_start(&req->body), req->body.len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        http_reply_error(req, 400, "INVALID_JSON", "malformed JSON: %s (line %d, column %d)",
                         je.text, je.line, je.column);
        return NULL;
    }
    return j;
}

/* Reads ?limit= (default def, 1..max) into *out. Returns 0, or -1 after
 * replying 400. */
int api_query_limit(struct http_req *req, int def, int max, int *out)
{
    char v[32], err[64];
    long l;
    int rc = http_query_param(req, "limit", v, sizeof(v));
    *out = def;
    if (rc == 0)
        return 0;
    if (rc < 0 || parse_long(v, &l, err, sizeof(err)) < 0 || l < 1 || l > max) {
        http_reply_error(req, 400, "INVALID_PARAMETER", "limit must be a whole number from 1 to %d", max);
        return -1;
    }
    *out = (int)l;
    return 0;
}

/* Replies {"error":{"code","message","field"}}. */
int api_reply_field_error(struct http_req *req, int status, const char *code,
                          const char *field, const char *message)
{
    return http_reply_json(req, status, json_pack("{s:{s:s,s:s,s:s}}", "error", "code", code,
                                                  "message", message, "field", field));
}
