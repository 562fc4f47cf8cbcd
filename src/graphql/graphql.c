/* Defaults and the GraphQL error format shared by every stage. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "internal.h"

/* Fills l with the defaults: room for any reasonable query (the standard
 * introspection query included), none for a hostile one. */
void gql_limits_default(struct gql_limits *l)
{
    l->max_bytes = 64 * 1024;
    l->max_tokens = 10000;
    l->max_depth = 15;
    l->max_nesting = 64;
    l->max_fields = 20000;
    l->max_points = 100000;
    l->max_fetches = 256;
    l->max_rounds = 4;
}

/* {"message": message} with message made valid UTF-8: messages quote the
 * document, and cutting a quotation to fit may split a character. A new
 * reference, or NULL when memory is exhausted. */
json_t *gql_message_json(const char *message)
{
    struct buf b = BUF_INIT;
    json_t *e = NULL;
    if (utf8_sanitize(message, strlen(message), &b) == 0)
        e = json_pack("{s:s%}", "message", b.len ? buf_start(&b) : "", b.len);
    buf_free(&b);
    return e;
}

/* err as a GraphQL error object {"message", "locations"}; a new
 * reference, or NULL when memory is exhausted. */
json_t *gql_error_json(const struct gql_error *err)
{
    json_t *e = gql_message_json(err->message);
    if (e && err->line &&
        json_object_set_new(e, "locations",
                            json_pack("[{s:i,s:i}]", "line", err->line,
                                      "column", err->column)) < 0) {
        json_decref(e);
        return NULL;
    }
    return e;
}

/* Appends an error with a printf-style message to the array errors, at
 * line:column (line 0: no location). Returns 0 or -1. */
int gql_errors_add(json_t *errors, unsigned line, unsigned column,
                   const char *fmt, ...)
{
    struct gql_error err = {.line = line, .column = column};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof(err.message), fmt, ap);
    va_end(ap);
    return json_array_append_new(errors, gql_error_json(&err));
}

/* Writes a printf-style reason into err (errlen bytes). Returns -1, for
 * the caller to return. */
int gql_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}
