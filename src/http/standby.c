/* A standby's HTTP answers (standby.h). The leader's address comes from
 * its lease, which the store reads every third of ha.lease. */
#include "standby.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

/* Appends path to out percent-encoded where a URL needs it (the path was
 * decoded when the request was read). Returns the length written, or -1
 * when it does not fit. */
static int encode_path(const char *path, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        int plain = isalnum(*p) || strchr("/-._~!$&'()*+,;=:@", *p);
        if (n + 4 > outlen)
            return -1;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return (int)n;
}

static int redirect(struct http_req *req, const struct store_leader *l)
{
    char path[4096], headers[4096 + 512];
    if (encode_path(req->path, path, sizeof(path)) < 0)
        return http_reply_error(req, 400, "BAD_REQUEST", "the path is too long to redirect");
    int n = snprintf(headers, sizeof(headers), "Location: %s%s%s%s\r\nCache-Control: no-store\r\n",
                     l->http, path, req->query ? "?" : "", req->query ? req->query : "");
    if (n < 0 || (size_t)n >= sizeof(headers))
        return http_reply_error(req, 400, "BAD_REQUEST", "the path is too long to redirect");
    json_t *j = json_pack("{s:{s:s,s:s},s:{s:s,s:s,s:s,s:I}}", "error", "code", "NOT_LEADER",
                          "message", "this gantryd is a standby; the leader serves this route",
                          "leader", "id", l->id, "http", l->http, "listen", l->listen, "epoch",
                          (json_int_t)l->epoch);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!body)
        return http_reply_error(req, 500, "INTERNAL", "out of memory");
    int rc = http_reply_headers(req, 307, "application/json", headers, body, strlen(body));
    free(body);
    return rc;
}

/* Called before routing: answers req itself when this gantryd does not
 * lead and the route is not one a standby serves. Returns 1 when it
 * answered, 0 when the router goes on. */
int standby_intercept(struct http_req *req)
{
    if (store_leading() || strcmp(req->path, "/health") == 0 ||
        strcmp(req->path, "/metrics") == 0 || req->method_name[0] == 'O')
        return 0;
    struct store_leader l;
    store_leader(&l);
    if (l.known && !l.self && l.http[0]) {
        redirect(req, &l);
        return 1;
    }
    /* No leader known (Redis away, or a lease being taken): what this
     * gantryd holds may be read; a change cannot be kept. */
    if (strcmp(req->method_name, "GET") == 0 || req->head)
        return 0;
    if (!store_linked())
        http_reply_error(req, 503, "REDIS_UNAVAILABLE",
                         "redis is not connected; nothing was changed, retry later");
    else
        http_reply_error(req, 503, "NOT_LEADER",
                         "no gantryd leads right now (a standby takes the lease within "
                         "ha.lease); nothing was changed, retry shortly");
    return 1;
}

/* Adds role (leader or standby) and leader {id, http, listen, epoch} (or
 * null) to a /health object. */
void standby_health(json_t *health)
{
    struct store_leader l;
    store_leader(&l);
    json_object_set_new(health, "role", json_string(store_leading() ? "leader" : "standby"));
    json_object_set_new(health, "leader",
                        l.known ? json_pack("{s:s,s:s,s:s,s:I}", "id", l.id, "http", l.http,
                                            "listen", l.listen, "epoch", (json_int_t)l.epoch)
                                : json_null());
}
