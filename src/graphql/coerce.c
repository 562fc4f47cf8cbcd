/* Input coercion: literals in a document and JSON variables made into the
 * JSON values resolvers see, per the input coercion rules of each type. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct lit {
    gql_var_fn on_var;
    void *user;
    char *err;
    size_t errlen;
};

/* A short quotation of literal v for messages. */
static void describe(const struct gql_ast_value *v, char *out, size_t n)
{
    switch (v->kind) {
    case GQL_V_STRING:
        snprintf(out, n, "\"%.40s%s\"", v->text, v->len > 40 ? "..." : "");
        break;
    case GQL_V_BOOLEAN: snprintf(out, n, v->boolean ? "true" : "false"); break;
    case GQL_V_NULL: snprintf(out, n, "null"); break;
    case GQL_V_LIST: snprintf(out, n, "a list"); break;
    case GQL_V_OBJECT: snprintf(out, n, "an object"); break;
    case GQL_V_VARIABLE: snprintf(out, n, "$%.40s", v->text); break;
    default: snprintf(out, n, "%.40s", v->text); break;
    }
}

static int mismatch(struct lit *c, const struct gql_typeref *t,
                    const struct gql_ast_value *v)
{
    char type[128], found[64];
    gql_typeref_format(t, type, sizeof(type));
    describe(v, found, sizeof(found));
    return gql_errf(c->err, c->errlen, "Expected a value of type %s, found %s.",
                type, found);
}

/* Parses an Int literal's text into a 32-bit range; -1 if it falls out. */
static int int32_of(const char *text, long long *out)
{
    errno = 0;
    char *end;
    *out = strtoll(text, &end, 10);
    return errno || *end || *out < -2147483648LL || *out > 2147483647LL ?
           -1 : 0;
}

static int literal(struct lit *c, const struct gql_typeref *t,
                   const struct gql_ast_value *v, bool has_default,
                   json_t **out);

/* Any literal as plain JSON, for custom scalars. */
static int literal_any(struct lit *c, const struct gql_typeref *t,
                       const struct gql_ast_value *v, json_t **out)
{
    json_t *j = NULL;
    switch (v->kind) {
    case GQL_V_VARIABLE:
        return literal(c, t, v, false, out);
    case GQL_V_INT: j = json_integer(strtoll(v->text, NULL, 10)); break;
    case GQL_V_FLOAT: j = json_real(strtod(v->text, NULL)); break;
    case GQL_V_STRING: j = json_stringn(v->text, v->len); break;
    case GQL_V_ENUM: j = json_string(v->text); break;
    case GQL_V_BOOLEAN: j = json_boolean(v->boolean); break;
    case GQL_V_NULL: j = json_null(); break;
    case GQL_V_LIST:
        j = json_array();
        for (const struct gql_ast_value *i = v->items; j && i; i = i->next) {
            json_t *item;
            int rc = literal_any(c, t, i, &item);
            if (rc < 0 || (rc == 0 && json_array_append_new(j, item) < 0))
                return json_decref(j), -1;
        }
        break;
    case GQL_V_OBJECT:
        j = json_object();
        for (const struct gql_ast_arg *f = v->fields; j && f; f = f->next) {
            json_t *item;
            int rc = literal_any(c, t, f->value, &item);
            if (rc < 0 || (rc == 0 && json_object_set_new(j, f->name,
                                                          item) < 0))
                return json_decref(j), -1;
        }
        break;
    }
    if (!j)
        return gql_errf(c->err, c->errlen, "%s cannot represent %s.",
                    t->named->name, v->text ? v->text : "this value");
    *out = j;
    return 0;
}

static int literal_scalar(struct lit *c, const struct gql_typeref *t,
                          const struct gql_ast_value *v, json_t **out)
{
    long long i;
    double d;
    switch (t->named->scalar) {
    case GQL_CUSTOM:
        return literal_any(c, t, v, out);
    case GQL_INT:
        if (v->kind != GQL_V_INT || int32_of(v->text, &i) < 0)
            return mismatch(c, t, v);
        *out = json_integer(i);
        break;
    case GQL_FLOAT:
        if (v->kind != GQL_V_INT && v->kind != GQL_V_FLOAT)
            return mismatch(c, t, v);
        d = strtod(v->text, NULL);
        if (!isfinite(d))
            return mismatch(c, t, v);
        *out = json_real(d);
        break;
    case GQL_STRING:
        if (v->kind != GQL_V_STRING)
            return mismatch(c, t, v);
        *out = json_stringn(v->text, v->len);
        break;
    case GQL_BOOLEAN:
        if (v->kind != GQL_V_BOOLEAN)
            return mismatch(c, t, v);
        *out = json_boolean(v->boolean);
        break;
    case GQL_ID:
        if (v->kind != GQL_V_STRING && v->kind != GQL_V_INT)
            return mismatch(c, t, v);
        *out = json_stringn(v->text, v->kind == GQL_V_INT ?
                            strlen(v->text) : v->len);
        break;
    }
    return *out ? 0 : gql_errf(c->err, c->errlen, "out of memory");
}

/* Fills the input object fields that the literal leaves out: defaults,
 * or an error for a required one. */
static int object_defaults(struct lit *c, const struct gql_type *type,
                           json_t *obj)
{
    for (const struct gql_input *f = type->inputs; f; f = f->next) {
        if (json_object_get(obj, f->name))
            continue;
        if (f->default_value) {
            if (json_object_set(obj, f->name, f->default_value) < 0)
                return gql_errf(c->err, c->errlen, "out of memory");
        } else if (f->type->kind == GQL_T_NON_NULL) {
            char ts[128];
            gql_typeref_format(f->type, ts, sizeof(ts));
            return gql_errf(c->err, c->errlen, "Field %s.%s of required type %s "
                        "was not provided.", type->name, f->name, ts);
        }
    }
    return 0;
}

static int literal_object(struct lit *c, const struct gql_typeref *t,
                          const struct gql_ast_value *v, json_t **out)
{
    const struct gql_type *type = t->named;
    if (v->kind != GQL_V_OBJECT)
        return mismatch(c, t, v);
    json_t *obj = json_object();
    if (!obj)
        return gql_errf(c->err, c->errlen, "out of memory");
    for (const struct gql_ast_arg *a = v->fields; a; a = a->next) {
        const struct gql_input *f = gql_input_find(type->inputs, a->name);
        json_t *item;
        int rc;
        if (!f)
            rc = gql_errf(c->err, c->errlen, "Field \"%.64s\" is not defined by "
                      "type %s.", a->name, type->name);
        else if (json_object_get(obj, a->name))
            rc = gql_errf(c->err, c->errlen, "Field \"%.64s\" is given twice.",
                      a->name);
        else
            rc = literal(c, f->type, a->value, f->default_value != NULL,
                         &item);
        if (rc < 0 || (rc == 0 && json_object_set_new(obj, a->name,
                                                      item) < 0)) {
            json_decref(obj);
            return rc < 0 ? -1 : gql_errf(c->err, c->errlen, "out of memory");
        }
    }
    if (object_defaults(c, type, obj) < 0) {
        json_decref(obj);
        return -1;
    }
    *out = obj;
    return 0;
}

/* A list literal, or a single value standing for a list of one. */
static int literal_list(struct lit *c, const struct gql_typeref *t,
                        const struct gql_ast_value *v, json_t **out)
{
    json_t *arr = json_array();
    if (!arr)
        return gql_errf(c->err, c->errlen, "out of memory");
    const struct gql_ast_value *single = v->kind == GQL_V_LIST ? NULL : v;
    for (const struct gql_ast_value *i = single ? single : v->items; i;
         i = single ? NULL : i->next) {
        json_t *item;
        int rc = literal(c, t->of, i, false, &item);
        if (rc == 1 && t->of->kind == GQL_T_NON_NULL)
            rc = mismatch(c, t->of, i);
        else if (rc == 1)
            item = json_null(), rc = 0;
        if (rc < 0 || json_array_append_new(arr, item) < 0) {
            json_decref(arr);
            return -1;
        }
    }
    *out = arr;
    return 0;
}

static int literal(struct lit *c, const struct gql_typeref *t,
                   const struct gql_ast_value *v, bool has_default,
                   json_t **out)
{
    if (v->kind == GQL_V_VARIABLE) {
        if (!c->on_var)
            return gql_errf(c->err, c->errlen, "Unexpected variable $%.64s in a "
                        "constant value.", v->text);
        return c->on_var(c->user, v, t, has_default, out, c->err, c->errlen);
    }
    if (t->kind == GQL_T_NON_NULL) {
        if (v->kind == GQL_V_NULL)
            return mismatch(c, t, v);
        return literal(c, t->of, v, has_default, out);
    }
    if (v->kind == GQL_V_NULL) {
        *out = json_null();
        return 0;
    }
    if (t->kind == GQL_T_LIST)
        return literal_list(c, t, v, out);
    switch (t->named->kind) {
    case GQL_SCALAR:
        return literal_scalar(c, t, v, out);
    case GQL_ENUM:
        if (v->kind != GQL_V_ENUM ||
            !gql_enum_find(t->named, v->text, strlen(v->text)))
            return mismatch(c, t, v);
        *out = json_string(v->text);
        return *out ? 0 : gql_errf(c->err, c->errlen, "out of memory");
    case GQL_INPUT_OBJECT:
        return literal_object(c, t, v, out);
    default:
        return gql_errf(c->err, c->errlen, "%s is not an input type.",
                    t->named->name);
    }
}

/* Coerces literal v to input type t. Variables inside go to on_var (NULL:
 * refused, for constants). Returns 0 with *out (a new reference), 1 when v
 * is a variable that is absent, or -1 with err set. */
int gql_coerce_literal(const struct gql_typeref *t,
                       const struct gql_ast_value *v, gql_var_fn on_var,
                       void *user, json_t **out, char *err, size_t errlen)
{
    struct lit c = {on_var, user, err, errlen};
    *out = NULL;
    return literal(&c, t, v, false, out);
}
