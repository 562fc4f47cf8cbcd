/* ExecuteSelectionSet, ExecuteField and CompleteValue: one pass over the
 * operation, calling resolvers and shaping their values into the response,
 * with field errors recorded and nulls propagated per the specification. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exec.h"

/* A value to complete: what a resolver returned, or one item of it. */
struct value {
    json_t *json;
    void *object;
    const struct gql_type *type;
    const struct gql_item *items;   /* a list of opaque objects */
    size_t n;
    bool is_list;
};

static int complete(struct gql_exec *ex, const struct gql_typeref *t,
                    const struct gql_group *g, const struct value *v,
                    const struct gql_path *path, json_t **out);
static int execute_set(struct gql_exec *ex, const struct gql_type *t,
                       const struct value *parent,
                       const struct gql_ast_selection *const *sets,
                       size_t nsets, const struct gql_path *path,
                       bool serial, json_t **out);

static json_t *path_json(const struct gql_path *path)
{
    json_t *arr = json_array();
    for (; arr && path; path = path->prev) {
        json_t *item = path->key ? json_string(path->key) :
                       json_integer((json_int_t)path->index);
        if (json_array_insert_new(arr, 0, item) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Records a field error at selection `at` and path in the response's
 * errors. Returns -1 (for the caller to return). */
int gql_exec_error(struct gql_exec *ex, const struct gql_ast_selection *at,
                   const struct gql_path *path, const char *fmt, ...)
{
    char message[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    json_t *e = gql_message_json(message);
    if (e && at)
        json_object_set_new(e, "locations", json_pack("[{s:i,s:i}]", "line",
                                                      at->loc.line, "column",
                                                      at->loc.column));
    if (e && path)
        json_object_set_new(e, "path", path_json(path));
    if (!e || json_array_append_new(ex->errors, e) < 0)
        ex->nomem = true;
    return -1;
}

/* The null a failed field leaves: -1 when its type forbids null. */
static int field_null(const struct gql_typeref *t, json_t **out)
{
    *out = json_null();
    return t->kind == GQL_T_NON_NULL ? -1 : 0;
}

static bool is_null(const struct value *v)
{
    return !v->is_list && !v->object && (!v->json || json_is_null(v->json));
}

/* The object type of composite value v at abstract or object type t. */
static const struct gql_type *concrete_type(struct gql_exec *ex,
                                            const struct gql_type *t,
                                            const struct value *v)
{
    const struct gql_type *c = v->type;
    if (!c && json_is_object(v->json)) {
        const char *name = json_string_value(json_object_get(v->json,
                                                             "__typename"));
        c = name ? gql_schema_find(ex->schema, name) : NULL;
    }
    if (!c && t->kind == GQL_OBJECT)
        c = t;
    return c && c->kind == GQL_OBJECT && gql_is_possible(t, c) ? c : NULL;
}

static int complete_composite(struct gql_exec *ex, const struct gql_type *t,
                              const struct gql_group *g,
                              const struct value *v,
                              const struct gql_path *path, json_t **out)
{
    const struct gql_type *c = concrete_type(ex, t, v);
    if (!c)
        return gql_exec_error(ex, g->fields[0], path, "Cannot tell which "
                              "object type of %s this value is.", t->name);
    if (!v->object && !json_is_object(v->json))
        return gql_exec_error(ex, g->fields[0], path, "Expected an object "
                              "of type %s.", c->name);
    const struct gql_ast_selection **sets =
        gql_arena_alloc(&ex->arena, g->n * sizeof(*sets));
    if (!sets) {
        ex->nomem = true;
        return -1;
    }
    for (size_t i = 0; i < g->n; i++)
        sets[i] = g->fields[i]->sels;
    struct value parent = {.json = v->json, .object = v->object};
    return execute_set(ex, c, &parent, sets, g->n, path, false, out);
}

static int complete_list(struct gql_exec *ex, const struct gql_typeref *t,
                         const struct gql_group *g, const struct value *v,
                         const struct gql_path *path, json_t **out)
{
    if (!v->is_list && !json_is_array(v->json))
        return gql_exec_error(ex, g->fields[0], path, "Expected a list.");
    size_t n = v->is_list ? v->n : json_array_size(v->json);
    json_t *arr = json_array();
    if (!arr) {
        ex->nomem = true;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct value item = {.json = NULL};
        if (v->is_list) {
            item.object = v->items[i].object;
            item.type = v->items[i].type;
        } else {
            item.json = json_array_get(v->json, i);
        }
        struct gql_path at = {path, NULL, i};
        json_t *done;
        if (complete(ex, t->of, g, &item, &at, &done) < 0 ||
            json_array_append_new(arr, done) < 0) {
            json_decref(arr);
            return -1;
        }
    }
    *out = arr;
    return 0;
}

/* CompleteValue for a nullable type t: -1 means this value failed and
 * nulls the nearest nullable position (complete() decides which). */
static int complete_nullable(struct gql_exec *ex, const struct gql_typeref *t,
                             const struct gql_group *g,
                             const struct value *v,
                             const struct gql_path *path, json_t **out)
{
    if (is_null(v)) {
        *out = json_null();
        return 0;
    }
    if (t->kind == GQL_T_LIST)
        return complete_list(ex, t, g, v, path, out);
    if (gql_is_composite(t->named))
        return complete_composite(ex, t->named, g, v, path, out);
    char err[160];
    if (!v->json)
        return gql_exec_error(ex, g->fields[0], path, "Expected a %s value, "
                              "found an object.", t->named->name);
    if (!(*out = gql_serialize_leaf(t->named, v->json, err, sizeof(err))))
        return gql_exec_error(ex, g->fields[0], path, "%s", err);
    return 0;
}

/* CompleteValue: shapes v for type t into *out. Returns 0, or -1 when the
 * value is null where t forbids it (the error is recorded once, where it
 * starts): the nearest nullable enclosing position becomes null. */
static int complete(struct gql_exec *ex, const struct gql_typeref *t,
                    const struct gql_group *g, const struct value *v,
                    const struct gql_path *path, json_t **out)
{
    if (t->kind != GQL_T_NON_NULL) {
        if (complete_nullable(ex, t, g, v, path, out) < 0)
            *out = json_null();
        return 0;
    }
    if (complete_nullable(ex, t->of, g, v, path, out) < 0)
        return -1;
    if (!json_is_null(*out))
        return 0;
    json_decref(*out);
    return gql_exec_error(ex, g->fields[0], path, "Cannot return null for "
                          "non-nullable field %s.", g->fields[0]->name);
}

/* The resolver for fields without one: the member of the field's name of a
 * JSON object parent. */
static enum gql_status default_resolve(struct gql_call *c)
{
    json_t *v = json_object_get(c->parent_json, c->field->name);
    if (!c->parent_json && c->parent)
        return gql_fail(c, "Field %s has no resolver.", c->field->name);
    return gql_return_json(c, v ? json_incref(v) : NULL);
}

/* Stops resolving: the pass went past max_fields (in fields resolved, or
 * in the selections looked at to collect them). Says so once. */
static void stop_fields(struct gql_exec *ex,
                        const struct gql_ast_selection *at,
                        const struct gql_path *path)
{
    if (!ex->stopped)
        gql_exec_error(ex, at, path, "The request resolves more than %zu "
                       "fields (limit max_fields).",
                       ex->req->limits.max_fields);
    ex->stopped = true;
}

/* Counts one more field against max_fields; false past it. */
static bool count_field(struct gql_exec *ex, const struct gql_group *g,
                        const struct gql_path *path)
{
    if (!ex->stopped && ++ex->fields <= ex->req->limits.max_fields)
        return true;
    stop_fields(ex, g->fields[0], path);
    return false;
}

static enum gql_status resolve(struct gql_call *c)
{
    return c->field->resolve ? c->field->resolve(c) : default_resolve(c);
}

/* ExecuteField: coerces the arguments, calls the resolver and completes
 * its value for the fields grouped in g. Returns like complete(); *out is
 * NULL for a field the schema does not have (validation keeps those out). */
static int execute_field(struct gql_exec *ex, const struct gql_type *t,
                         const struct value *parent,
                         const struct gql_group *g,
                         const struct gql_path *path, json_t **out)
{
    const struct gql_ast_selection *node = g->fields[0];
    const struct gql_field *fd = gql_field_find(ex->schema, t, node->name);
    char err[256];
    *out = NULL;
    if (!fd)
        return 0;
    if (!count_field(ex, g, path))
        return field_null(fd->type, out);
    struct gql_call c = {.ex = ex, .field = fd, .parent_type = t,
                         .parent = parent->object,
                         .parent_json = parent->json, .node = node,
                         .path = path};
    if (!(c.args = gql_coerce_args(ex, fd->args, node->args, err,
                                   sizeof(err)))) {
        gql_exec_error(ex, node, path, "%s", err);
        return field_null(fd->type, out);
    }
    int rc = 0;
    enum gql_status st = resolve(&c);
    if (st == GQL_PENDING && !c.waits)
        st = gql_fail(&c, "The resolver of %s waits without asking for "
                      "data.", fd->name);
    if (st == GQL_PENDING) {
        ex->pending = true;
        *out = json_null();
    } else if (st != GQL_OK) {
        gql_exec_error(ex, node, path, "%s", c.message[0] ? c.message :
                       "The resolver failed.");
        rc = field_null(fd->type, out);
    } else {
        struct value v = {.json = c.json, .object = c.object,
                          .type = c.type, .items = c.items, .n = c.n,
                          .is_list = c.is_list};
        rc = complete(ex, fd->type, g, &v, path, out);
    }
    gql_call_release(&c);
    return rc;
}

/* ExecuteSelectionSet over the merged sets for object type t: a JSON object
 * of the response keys in order. serial (mutations) stops at the first
 * field that waits for data. Returns 0, or -1 when a non-null field failed
 * (the object is null then). */
static int execute_set(struct gql_exec *ex, const struct gql_type *t,
                       const struct value *parent,
                       const struct gql_ast_selection *const *sets,
                       size_t nsets, const struct gql_path *path,
                       bool serial, json_t **out)
{
    bool stopped = ex->stopped;
    struct gql_group *g = gql_collect(ex, t, sets, nsets);
    if (!g && ex->stopped && !stopped) {
        ex->stopped = false;
        stop_fields(ex, NULL, path);
    }
    json_t *obj = json_object();
    if (!obj || ex->nomem) {
        ex->nomem = true;
        json_decref(obj);
        return -1;
    }
    for (; g && !(serial && ex->pending); g = g->next) {
        struct gql_path at = {path, g->key, 0};
        json_t *v;
        if (execute_field(ex, t, parent, g, &at, &v) < 0) {
            json_decref(v);
            json_decref(obj);
            return -1;
        }
        if (v && json_object_set_new(obj, g->key, v) < 0)
            ex->nomem = true;
    }
    *out = obj;
    return 0;
}

/* Runs one pass of the request's operation. Returns the "data" value (the
 * root object, or null), or NULL when memory ran out. Errors go to
 * ex->errors; ex->pending says whether a resolver waits for data. */
json_t *gql_execute_pass(struct gql_exec *ex)
{
    const struct gql_ast_definition *op = ex->req->op;
    const struct gql_type *root = op->op == GQL_OP_MUTATION ?
                                  ex->schema->mutation : ex->schema->query;
    struct value parent = {.json = NULL};
    const struct gql_ast_selection *sets[1] = {op->sels};
    json_t *data;
    if (execute_set(ex, root, &parent, sets, 1, NULL,
                    op->op == GQL_OP_MUTATION, &data) < 0)
        data = json_null();
    if (ex->nomem) {
        json_decref(data);
        return NULL;
    }
    return data;
}
