/* Calls to the API and their failures. */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "out.h"
#include "outcome.h"
#include "term.h"

/* Prints that no server answered. */
void cli_unreachable(struct cli_ctx *c, const char *why)
{
    fprintf(stderr, "gantryctl: cannot reach gantryd at %s: %s\n", c->servers, why);
}

/* Prints the server's refusal: its error code and message (and, with
 * --json, its JSON on stdout). */
void cli_refused(struct cli_ctx *c, long status, const char *body, size_t len)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *e = json_object_get(j, "error");
    const char *code = cli_str(e, "code"), *msg = cli_str(e, "message");
    const char *field = cli_str(e, "field");
    int name_field = field && *field && msg && !strstr(msg, field);
    if (code && msg)
        fprintf(stderr, "gantryctl: %s: %s%s%s%s\n", code, msg, name_field ? " (field " : "",
                name_field ? field : "", name_field ? ")" : "");
    else
        fprintf(stderr, "gantryctl: HTTP %ld: %.200s\n", status, len ? body : "");
    if (c->json && j)
        cli_print_json(c, j);
    json_decref(j);
}

/* Sends method path with body (NULL: none; borrowed) and, on a 2xx, sets
 * *out to the parsed answer (the caller's; NULL for an empty body) and
 * returns 0. Otherwise prints why and returns the exit status: 1 when the
 * server refused, 3 when none answered, 130 when Ctrl-C stopped it. */
int cli_api(struct cli_ctx *c, const char *method, const char *path, json_t *body,
            json_t **out)
{
    struct cli_reply r;
    char err[256];
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int rc = cli_http_do(c->http, method, path, text, &r, err, sizeof(err));
    free(text);
    if (out)
        *out = NULL;
    if (rc < 0) {
        cli_reply_free(&r);
        if (cli_sig_pending())
            return CLI_INTERRUPTED;
        cli_unreachable(c, err);
        return CLI_UNREACHABLE;
    }
    int status = cli_exit_for_http(r.status);
    if (status != CLI_OK) {
        cli_refused(c, r.status, r.body, r.len);
    } else if (out && r.len) {
        json_error_t je;
        if (!(*out = json_loadb(r.body, r.len, 0, &je))) {
            fprintf(stderr, "gantryctl: the answer to %s %s is not JSON: %s\n", method, path,
                    je.text);
            status = CLI_REFUSED;
        }
    }
    cli_reply_free(&r);
    return status;
}

/* GETs the path made from fmt (its arguments already escaped). */
int cli_api_get(struct cli_ctx *c, json_t **out, const char *fmt, ...)
{
    char path[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return cli_api(c, "GET", path, NULL, out);
}

/* GETs path and prints the answer: its JSON with --json, else as show
 * lays it out. Returns the exit status. */
int cli_api_show(struct cli_ctx *c, const char *path,
                 void (*show)(const struct cli_ctx *c, const json_t *j))
{
    json_t *j;
    int rc = cli_api(c, "GET", path, NULL, &j);
    if (rc)
        return rc;
    if (c->json)
        cli_print_json(c, j);
    else
        show(c, j);
    json_decref(j);
    return CLI_OK;
}

/* Percent-encodes s into buf for a path or query. Returns buf. */
const char *cli_esc(struct cli_ctx *c, const char *s, char *buf, size_t buflen)
{
    char *e = cli_http_escape(c->http, s ? s : "");
    snprintf(buf, buflen, "%s", e ? e : "");
    free(e);
    return buf;
}

/* The string at key, or NULL. */
const char *cli_str(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* The number at key, or 0. */
double cli_num(const json_t *j, const char *key)
{
    return json_number_value(json_object_get(j, key));
}
