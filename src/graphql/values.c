/* JSON values against types: variables coerced on the way in, leaf results
 * serialized on the way out, defaults printed back as GraphQL literals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "internal.h"

/* A JSON number with an integral value in the 32-bit range. */
static int int32_json(json_t *v, json_int_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || d < -2147483648.0 || d > 2147483647.0)
            return -1;
        *out = (json_int_t)d;
    } else {
        return -1;
    }
    return *out < -2147483648LL || *out > 2147483647LL ? -1 : 0;
}

/* The value of a built-in scalar or enum in its canonical JSON form, or
 * NULL when v is not one: shared by input and output coercion, whose rules
 * for these types agree in what they accept from JSON. */
static json_t *leaf_value(const struct gql_type *t, json_t *v)
{
    json_int_t i;
    if (t->kind == GQL_ENUM)
        return json_is_string(v) && gql_enum_find(t, json_string_value(v),
                                                  json_string_length(v)) ?
               json_incref(v) : NULL;
    switch (t->scalar) {
    case GQL_CUSTOM:
        return json_incref(v);
    case GQL_INT:
        return int32_json(v, &i) == 0 ? json_integer(i) : NULL;
    case GQL_FLOAT:
        return json_is_number(v) ? json_real(json_number_value(v)) : NULL;
    case GQL_STRING:
        return json_is_string(v) ? json_incref(v) : NULL;
    case GQL_BOOLEAN:
        return json_is_boolean(v) ? json_incref(v) : NULL;
    case GQL_ID:
        if (json_is_string(v))
            return json_incref(v);
        if (json_is_integer(v))
            return json_sprintf("%" JSON_INTEGER_FORMAT,
                                json_integer_value(v));
        return NULL;
    }
    return NULL;
}

static const char *json_kind(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int coerce(const struct gql_typeref *t, json_t *in, json_t **out,
                  char *err, size_t errlen);

static int coerce_object(const struct gql_type *type, json_t *in,
                         json_t **out, char *err, size_t errlen)
{
    if (!json_is_object(in))
        return gql_errf(err, errlen, "%s expects an object, found %s.",
                    type->name, json_kind(in));
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v) {
        if (!gql_input_find(type->inputs, key))
            return gql_errf(err, errlen, "Field \"%.64s\" is not defined by type "
                        "%s.", key, type->name);
    }
    json_t *obj = json_object();
    if (!obj)
        return gql_errf(err, errlen, "out of memory");
    for (const struct gql_input *f = type->inputs; f; f = f->next) {
        json_t *item = NULL;
        json_t *given = json_object_get(in, f->name);
        if (given) {
            if (coerce(f->type, given, &item, err, errlen) < 0)
                goto fail;
        } else if (f->default_value) {
            item = json_incref(f->default_value);
        } else if (f->type->kind == GQL_T_NON_NULL) {
            gql_errf(err, errlen, "Field %s.%s is required.", type->name, f->name);
            goto fail;
        }
        if (item && json_object_set_new(obj, f->name, item) < 0)
            goto fail;
    }
    *out = obj;
    return 0;
fail:
    json_decref(obj);
    return -1;
}

static int coerce_list(const struct gql_typeref *t, json_t *in, json_t **out,
                       char *err, size_t errlen)
{
    json_t *arr = json_array(), *item;
    if (!arr)
        return gql_errf(err, errlen, "out of memory");
    if (!json_is_array(in)) {
        /* A single value stands for a list of one. */
        if (coerce(t->of, in, &item, err, errlen) < 0 ||
            json_array_append_new(arr, item) < 0)
            goto fail;
        *out = arr;
        return 0;
    }
    size_t i;
    json_t *v;
    json_array_foreach(in, i, v) {
        if (coerce(t->of, v, &item, err, errlen) < 0) {
            size_t n = strlen(err);
            snprintf(err + n, errlen - n, " (at index %zu)", i);
            goto fail;
        }
        if (json_array_append_new(arr, item) < 0)
            goto fail;
    }
    *out = arr;
    return 0;
fail:
    json_decref(arr);
    return -1;
}

static int coerce(const struct gql_typeref *t, json_t *in, json_t **out,
                  char *err, size_t errlen)
{
    char ts[128];
    if (t->kind == GQL_T_NON_NULL) {
        if (json_is_null(in)) {
            gql_typeref_format(t, ts, sizeof(ts));
            return gql_errf(err, errlen, "Expected a value of non-null type %s, "
                        "found null.", ts);
        }
        return coerce(t->of, in, out, err, errlen);
    }
    if (json_is_null(in)) {
        *out = json_null();
        return 0;
    }
    if (t->kind == GQL_T_LIST)
        return coerce_list(t, in, out, err, errlen);
    if (t->named->kind == GQL_INPUT_OBJECT)
        return coerce_object(t->named, in, out, err, errlen);
    if ((*out = leaf_value(t->named, in)))
        return 0;
    return gql_errf(err, errlen, "%s cannot represent %s.", t->named->name,
                json_kind(in));
}

/* Coerces the JSON value of a variable to input type t. Returns 0 with
 * *out (a new reference), or -1 with err set. Input objects get their
 * defaults; a single value given for a list becomes a list of one. */
int gql_coerce_json(const struct gql_typeref *t, json_t *in, json_t **out,
                    char *err, size_t errlen)
{
    *out = NULL;
    return coerce(t, in, out, err, errlen);
}

/* Serializes a resolver's value v for leaf type t: an Int in 32 bits, a
 * Float from any number, a String from a string (numbers and booleans
 * written as text), an ID from a string or an integer, an enum value's
 * name. Returns a new reference, or NULL with err set. */
json_t *gql_serialize_leaf(const struct gql_type *t, json_t *v,
                           char *err, size_t errlen)
{
    json_t *out = leaf_value(t, v);
    if (!out && t->kind == GQL_SCALAR && t->scalar == GQL_STRING) {
        if (json_is_number(v) || json_is_boolean(v)) {
            char *s = json_dumps(v, JSON_ENCODE_ANY);
            out = s ? json_string(s) : NULL;
            free(s);
        }
    }
    if (!out && t->kind == GQL_ENUM && json_is_string(v))
        snprintf(err, errlen, "Enum %s has no value \"%.64s\".", t->name,
                 json_string_value(v));
    else if (!out)
        snprintf(err, errlen, "%s cannot represent %s.", t->name,
                 json_kind(v));
    return out;
}

static int print_json(json_t *v, struct buf *out)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s)
        return -1;
    int rc = buf_append_str(out, s);
    free(s);
    return rc;
}

/* Custom scalar values: JSON, but with object keys as bare names. */
static int print_any(json_t *v, struct buf *out)
{
    const char *key;
    json_t *item;
    size_t i;
    int sep = 0;
    if (json_is_array(v)) {
        if (buf_append(out, "[", 1) < 0)
            return -1;
        json_array_foreach(v, i, item) {
            if ((sep++ && buf_append(out, ", ", 2) < 0) ||
                print_any(item, out) < 0)
                return -1;
        }
        return buf_append(out, "]", 1);
    }
    if (!json_is_object(v))
        return print_json(v, out);
    if (buf_append(out, "{", 1) < 0)
        return -1;
    json_object_foreach(v, key, item) {
        if ((sep++ && buf_append(out, ", ", 2) < 0) ||
            buf_printf(out, "%s: ", key) < 0 || print_any(item, out) < 0)
            return -1;
    }
    return buf_append(out, "}", 1);
}

static int print_object(const struct gql_type *type, json_t *v,
                        struct buf *out)
{
    int sep = 0;
    if (buf_append(out, "{", 1) < 0)
        return -1;
    for (const struct gql_input *f = type->inputs; f; f = f->next) {
        json_t *item = json_object_get(v, f->name);
        if (!item)
            continue;
        if ((sep++ && buf_append(out, ", ", 2) < 0) ||
            buf_printf(out, "%s: ", f->name) < 0 ||
            gql_print_literal(f->type, item, out) < 0)
            return -1;
    }
    return buf_append(out, "}", 1);
}

/* Appends the GraphQL literal for value v of input type t ("[ASC]",
 * "{limit: 10}"), as SDL and introspection's defaultValue show defaults.
 * Returns 0 or -1 (out of memory). */
int gql_print_literal(const struct gql_typeref *t, json_t *v,
                      struct buf *out)
{
    if (t->kind == GQL_T_NON_NULL)
        return gql_print_literal(t->of, v, out);
    if (json_is_null(v))
        return buf_append_str(out, "null");
    if (t->kind == GQL_T_LIST) {
        if (!json_is_array(v))
            return gql_print_literal(t->of, v, out);
        size_t i;
        json_t *item;
        if (buf_append(out, "[", 1) < 0)
            return -1;
        json_array_foreach(v, i, item) {
            if ((i && buf_append(out, ", ", 2) < 0) ||
                gql_print_literal(t->of, item, out) < 0)
                return -1;
        }
        return buf_append(out, "]", 1);
    }
    if (t->named->kind == GQL_ENUM && json_is_string(v))
        return buf_append_str(out, json_string_value(v));
    if (t->named->kind == GQL_INPUT_OBJECT && json_is_object(v))
        return print_object(t->named, v, out);
    return print_any(v, out);
}
