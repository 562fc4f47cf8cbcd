#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
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
    long l;
    int rc = api_query_long(req, "limit", def, 1, max, &l);
    *out = (int)l;
    return rc;
}

/* Reads ?since= (a stream entry id, normalized into out; "" when absent).
 * Returns 0, or -1 after replying 400 with message. */
int api_query_since(struct http_req *req, char *out, size_t outlen, const char *message)
{
    out[0] = '\0';
    int rc = http_query_param(req, "since", out, outlen);
    if (rc < 0 || (rc == 1 && api_parse_stream_id(out, out, outlen) < 0)) {
        http_reply_error(req, 400, "INVALID_PARAMETER", "%s", message);
        return -1;
    }
    return 0;
}

/* Replies {"error":{"code","message","field"}}. */
int api_reply_field_error(struct http_req *req, int status, const char *code,
                          const char *field, const char *message)
{
    return http_reply_json(req, status, json_pack("{s:{s:s,s:s,s:s}}", "error", "code", code,
                                                  "message", message, "field", field));
}

/* Checks a stream id cursor ("1752871354000" or "1752871354000-3") and
 * copies it to out. Returns 0 or -1. */
int api_parse_stream_id(const char *s, char *out, size_t outlen)
{
    size_t n = strlen(s);
    if (n == 0 || n >= outlen || n > 41)
        return -1;
    int dash = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-' && i > 0 && !dash && i + 1 < n)
            dash = 1;
        else if (s[i] < '0' || s[i] > '9')
            return -1;
    }
    memcpy(out, s, n + 1);
    return 0;
}

/* Why a change cannot be promised now (its error code in *code), or NULL
 * when it can: Redis must be up, the state rebuilt, the backlog not full.
 * REST and GraphQL say it the same way. */
const char *api_store_refusal(const char **code)
{
    *code = "REDIS_UNAVAILABLE";
    if (!store_up())
        return store_recovered() ? "redis is not connected; nothing was changed, retry later"
                                 : "gantryd is still rebuilding its state from redis; retry later";
    *code = "REDIS_BACKLOG_FULL";
    if (!store_accepting())
        return "the backlog of writes to redis is full; nothing was changed, retry later";
    return NULL;
}

/* Calls fn(ok, a, b, task_id) once the writes queued after `before` (those
 * of a change to task_id) are in Redis. Returns 0, or -1 with the reason
 * in *why (a write that could not be queued, no memory). */
int api_when_stored(uint64_t before, store_done_fn fn, uint64_t a, uint64_t b,
                    const char *task_id, const char **why)
{
    if (store_failed_since(before)) {
        *why = "a write for this task could not be queued (out of memory)";
        return -1;
    }
    if (store_when_stored(before + 1, store_seq(), 0, fn, a, b, task_id) < 0) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}
