/* The resolver's side of a field: what it can read (parent, arguments,
 * context), how it answers (gql_return_*, gql_fail), and how it asks for
 * data it does not have yet (gql_fetch) or pays for what it returns
 * (gql_charge). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

/* The context pointer the request was run with. */
void *gql_call_ctx(const struct gql_call *c)
{
    return c->ex->ctx;
}

/* The parent object when the parent field returned an opaque pointer
 * (gql_return_object); NULL otherwise and at the root. */
void *gql_call_parent(const struct gql_call *c)
{
    return c->parent;
}

/* The parent object when it is JSON; NULL otherwise. Borrowed. */
json_t *gql_call_parent_json(const struct gql_call *c)
{
    return c->parent_json;
}

/* The coerced value of argument `name` (defaults applied), or NULL when
 * the query gave none and it has no default. Borrowed, read-only. */
json_t *gql_call_arg(const struct gql_call *c, const char *name)
{
    return json_object_get(c->args, name);
}

/* The data attached to the field with gql_field_data(). */
const void *gql_call_data(const struct gql_call *c)
{
    return c->field->data;
}

/* The name of the field being resolved. */
const char *gql_call_field(const struct gql_call *c)
{
    return c->field->name;
}

/* The schema being executed (for introspection's resolvers). */
const struct gql_schema *gql_call_schema(const struct gql_call *c)
{
    return c->ex->schema;
}

/* The object type whose field is being resolved (for __typename). */
const struct gql_type *gql_call_parent_type(const struct gql_call *c)
{
    return c->parent_type;
}

/* Drops what the resolver returned, once its value is completed. */
void gql_call_release(struct gql_call *c)
{
    json_decref(c->json);
    json_decref(c->args);
    c->json = c->args = NULL;
}

/* Answers with a JSON value (stolen; NULL means null): a leaf, or an object
 * or list of objects whose fields default resolvers read. GQL_OK. */
enum gql_status gql_return_json(struct gql_call *c, json_t *value)
{
    json_decref(c->json);
    c->json = value;
    return GQL_OK;
}

static const struct gql_type *type_named(struct gql_call *c, const char *name)
{
    if (!name)
        return NULL;
    /* An unknown name leaves the type open; completion reports it. */
    return gql_schema_find(c->ex->schema, name);
}

/* Answers with an opaque object (not owned; it must live until the pass
 * ends); type names its object type when the field's type is an interface
 * or union (NULL otherwise). NULL object means null. GQL_OK. */
enum gql_status gql_return_object(struct gql_call *c, void *object,
                                  const char *type)
{
    c->object = object;
    c->type = type_named(c, type);
    return GQL_OK;
}

/* Answers with a list of n opaque objects, set with gql_list_set().
 * GQL_OK, or GQL_ERROR when memory ran out. */
enum gql_status gql_return_list(struct gql_call *c, size_t n)
{
    if (n > SIZE_MAX / sizeof(*c->items) ||
        !(c->items = gql_arena_alloc(&c->ex->arena,
                                     n ? n * sizeof(*c->items) : 1)))
        return gql_fail(c, "out of memory");
    c->n = n;
    c->is_list = true;
    return GQL_OK;
}

/* Sets item i of the list from gql_return_list(), as gql_return_object()
 * would. */
void gql_list_set(struct gql_call *c, size_t i, void *object,
                  const char *type)
{
    if (i < c->n) {
        c->items[i].object = object;
        c->items[i].type = type_named(c, type);
    }
}

/* Fails the field with a message for the response's errors; the field is
 * null (or its nearest nullable parent is). Returns GQL_ERROR. */
enum gql_status gql_fail(struct gql_call *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof(c->message), fmt, ap);
    va_end(ap);
    return GQL_ERROR;
}

/* Charges points (time series samples, log lines) to the request's
 * max_points budget before a resolver returns that much. GQL_OK, or
 * GQL_ERROR (the message set) once past the budget: return it. */
enum gql_status gql_charge(struct gql_call *c, long points)
{
    struct gql_exec *ex = c->ex;
    long max = ex->req->limits.max_points;
    if (points < 0 || points > max - ex->points) {
        ex->points = max;
        return gql_fail(c, "The request asks for more than %ld points "
                        "(limit max_points).", max);
    }
    ex->points += points;
    return GQL_OK;
}

/* The cache entry for key, or NULL. */
struct gql_fetch *gql_fetch_find(const struct gql_request *r,
                                 const char *key)
{
    for (size_t i = 0; i < r->nfetches; i++)
        if (strcmp(r->fetches[i].key, key) == 0)
            return &r->fetches[i];
    return NULL;
}

static enum gql_status add_fetch(struct gql_call *c, const char *key,
                                 json_t *args)
{
    struct gql_request *r = c->ex->req;
    if (r->nfetches == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 8;
        struct gql_fetch *f = realloc(r->fetches, cap * sizeof(*f));
        if (!f) {
            json_decref(args);
            return gql_fail(c, "out of memory");
        }
        r->fetches = f;
        r->cap = cap;
    }
    struct gql_fetch *f = &r->fetches[r->nfetches];
    memset(f, 0, sizeof(*f));
    if (!(f->key = strdup(key))) {
        json_decref(args);
        return gql_fail(c, "out of memory");
    }
    f->args = args;
    r->nfetches++;
    c->ex->pending = c->waits = true;
    return GQL_PENDING;
}

/* Asks the request's cache for the data named key (the resolver's own
 * naming: "telemetry:GPU-1:100"); args (stolen, may be NULL) tell the
 * caller how to fetch it. GQL_OK with *value (borrowed, valid for this
 * pass) when it is in; GQL_PENDING when it is now wanted (return that);
 * GQL_ERROR with the message set when the fetch failed or a limit
 * (max_fetches, max_rounds) forbids it (return that). */
enum gql_status gql_fetch(struct gql_call *c, const char *key, json_t *args,
                          json_t **value)
{
    struct gql_request *r = c->ex->req;
    struct gql_fetch *f = gql_fetch_find(r, key);
    *value = NULL;
    if (f || c->ex->last_round || r->nfetches >= r->limits.max_fetches)
        json_decref(args);
    if (f && f->answered && f->error)
        return gql_fail(c, "%s", f->error);
    if (f && f->answered) {
        *value = f->value;
        return GQL_OK;
    }
    if (f) {
        c->ex->pending = c->waits = true;
        return GQL_PENDING;
    }
    if (c->ex->last_round)
        return gql_fail(c, "The request needs more than %u rounds of data "
                        "fetches (limit max_rounds).", r->limits.max_rounds);
    if (r->nfetches >= r->limits.max_fetches)
        return gql_fail(c, "The request needs more than %zu data fetches "
                        "(limit max_fetches).", r->limits.max_fetches);
    return add_fetch(c, key, args);
}
