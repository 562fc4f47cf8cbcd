/* Building a schema: types, fields, arguments, enum values and directives,
 * all allocated in the schema's arena. Checked by gql_schema_finish()
 * (schema_finish.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Remembers the first building problem for gql_schema_finish() to report. */
void gql_schema_fault(struct gql_schema *s, const char *fmt, ...)
{
    if (s->fault[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->fault, sizeof(s->fault), fmt, ap);
    va_end(ap);
    if (!s->fault[0])
        s->fault[0] = '?';
}

static void *alloc(struct gql_schema *s, size_t n)
{
    void *p = gql_arena_alloc(&s->arena, n);
    if (!p)
        gql_schema_fault(s, "out of memory");
    return p;
}

/* Copies s into the schema's arena; NULL stays NULL. */
static const char *copy(struct gql_schema *s, const char *text)
{
    if (!text)
        return NULL;
    const char *c = gql_arena_strdup(&s->arena, text);
    if (!c)
        gql_schema_fault(s, "out of memory");
    return c;
}

static struct gql_type *add_type(struct gql_schema *s, enum gql_kind kind,
                                 const char *name, const char *description)
{
    if (!s)
        return NULL;
    if (s->finished) {
        gql_schema_fault(s, "type %s added after gql_schema_finish", name);
        return NULL;
    }
    if (gql_schema_find(s, name)) {
        gql_schema_fault(s, "type %s is defined twice", name);
        return NULL;
    }
    struct gql_type *t = alloc(s, sizeof(*t));
    if (!t || !(t->name = copy(s, name)))
        return NULL;
    t->kind = kind;
    t->description = copy(s, description);
    t->schema = s;
    t->fields_tail = &t->fields;
    t->inputs_tail = &t->inputs;
    t->values_tail = &t->values;
    t->interfaces_tail = &t->interfaces;
    t->possible_tail = &t->possible;
    t->ref.kind = GQL_T_NAMED;
    t->ref.named = t;
    *s->types_tail = t;
    s->types_tail = &t->next;
    return t;
}

/* Adds an object type. Returns it (owned by s), or NULL. */
struct gql_type *gql_schema_object(struct gql_schema *s, const char *name,
                                   const char *description)
{
    return add_type(s, GQL_OBJECT, name, description);
}

/* Adds an interface type; objects name it with gql_type_implements(). */
struct gql_type *gql_schema_interface(struct gql_schema *s, const char *name,
                                      const char *description)
{
    return add_type(s, GQL_INTERFACE, name, description);
}

/* Adds a union type; gql_union_member() adds its object types. */
struct gql_type *gql_schema_union(struct gql_schema *s, const char *name,
                                  const char *description)
{
    return add_type(s, GQL_UNION, name, description);
}

/* Adds an enum type; gql_enum_value() adds its values. */
struct gql_type *gql_schema_enum(struct gql_schema *s, const char *name,
                                 const char *description)
{
    return add_type(s, GQL_ENUM, name, description);
}

/* Adds an input object type; gql_input_field() adds its fields. */
struct gql_type *gql_schema_input(struct gql_schema *s, const char *name,
                                  const char *description)
{
    return add_type(s, GQL_INPUT_OBJECT, name, description);
}

/* Adds a custom scalar: its values pass through as JSON, unchecked. */
struct gql_type *gql_schema_scalar(struct gql_schema *s, const char *name,
                                   const char *description)
{
    return add_type(s, GQL_SCALAR, name, description);
}

static void add_link(struct gql_type *t, struct gql_link ***tail,
                     const char *name)
{
    struct gql_link *l = alloc(t->schema, sizeof(*l));
    if (!l || !(l->name = copy(t->schema, name)))
        return;
    **tail = l;
    *tail = &l->next;
}

/* Declares that object (or interface) t implements the named interface. */
void gql_type_implements(struct gql_type *t, const char *interface_name)
{
    if (t)
        add_link(t, &t->interfaces_tail, interface_name);
}

/* Adds the named object type to union u. */
void gql_union_member(struct gql_type *u, const char *object_name)
{
    if (u)
        add_link(u, &u->possible_tail, object_name);
}

/* Adds a value to enum e; deprecation (or NULL) is the reason. */
void gql_enum_value(struct gql_type *e, const char *name,
                    const char *description, const char *deprecation)
{
    if (!e)
        return;
    struct gql_enum_value *v = alloc(e->schema, sizeof(*v));
    if (!v || !(v->name = copy(e->schema, name)))
        return;
    v->description = copy(e->schema, description);
    v->deprecation = copy(e->schema, deprecation);
    *e->values_tail = v;
    e->values_tail = &v->next;
}

/* A field not yet attached to any type. */
struct gql_field *gql_field_new(struct gql_schema *s, const char *name,
                                const char *type, gql_resolver resolve,
                                const char *description)
{
    struct gql_field *f = alloc(s, sizeof(*f));
    if (!f || !(f->name = copy(s, name)) || !(f->type_text = copy(s, type)))
        return NULL;
    f->description = copy(s, description);
    f->resolve = resolve;
    f->schema = s;
    f->args_tail = &f->args;
    return f;
}

/* Adds field `name` of type text `type` to object or interface t, resolved
 * by resolve (NULL: the member of that name of a JSON parent). */
struct gql_field *gql_type_field(struct gql_type *t, const char *name,
                                 const char *type, gql_resolver resolve,
                                 const char *description)
{
    if (!t)
        return NULL;
    struct gql_field *f = gql_field_new(t->schema, name, type, resolve,
                                        description);
    if (f) {
        *t->fields_tail = f;
        t->fields_tail = &f->next;
    }
    return f;
}

/* Attaches data for f's resolver (gql_call_data); not owned. */
void gql_field_data(struct gql_field *f, const void *data)
{
    if (f)
        f->data = data;
}

/* Marks f deprecated for reason. */
void gql_field_deprecate(struct gql_field *f, const char *reason)
{
    if (f)
        f->deprecation = copy(f->schema, reason ? reason : "");
}

/* A new argument or input field, not yet linked anywhere. */
struct gql_input *gql_input_new(struct gql_schema *s, const char *name,
                                const char *type, const char *default_value,
                                const char *description)
{
    struct gql_input *in = alloc(s, sizeof(*in));
    if (!in || !(in->name = copy(s, name)) ||
        !(in->type_text = copy(s, type)))
        return NULL;
    in->schema = s;
    in->description = copy(s, description);
    in->default_text = copy(s, default_value);
    return in;
}

/* Adds an argument to field f: its type as text, its default as a GraphQL
 * literal (NULL: none). */
struct gql_input *gql_field_arg(struct gql_field *f, const char *name,
                                const char *type, const char *default_value,
                                const char *description)
{
    if (!f)
        return NULL;
    struct gql_input *in = gql_input_new(f->schema, name, type, default_value,
                                         description);
    if (in) {
        *f->args_tail = in;
        f->args_tail = &in->next;
    }
    return in;
}

/* Adds a field to input object t, like gql_field_arg(). */
struct gql_input *gql_input_field(struct gql_type *t, const char *name,
                                  const char *type, const char *default_value,
                                  const char *description)
{
    if (!t)
        return NULL;
    struct gql_input *in = gql_input_new(t->schema, name, type, default_value,
                                         description);
    if (in) {
        *t->inputs_tail = in;
        t->inputs_tail = &in->next;
    }
    return in;
}

/* Marks an argument or input field deprecated for reason. */
void gql_input_deprecate(struct gql_input *in, const char *reason)
{
    if (in)
        in->deprecation = copy(in->schema, reason ? reason : "");
}

/* A directive definition for the built-in set. */
struct gql_directive *gql_directive_new(struct gql_schema *s,
                                        const char *name,
                                        const char *description,
                                        unsigned locations)
{
    struct gql_directive *d = alloc(s, sizeof(*d));
    if (!d || !(d->name = copy(s, name)))
        return NULL;
    d->description = copy(s, description);
    d->locations = locations;
    struct gql_directive **tail = &s->directives;
    while (*tail)
        tail = &(*tail)->next;
    *tail = d;
    return d;
}

static void add_directive_arg(struct gql_schema *s, struct gql_directive *d,
                              const char *name, const char *type,
                              const char *default_value,
                              const char *description)
{
    if (!d)
        return;
    struct gql_input *in = gql_input_new(s, name, type, default_value,
                                         description);
    if (in)
        d->args = in;
}

static void add_builtin_directives(struct gql_schema *s)
{
    unsigned included = 1u << GQL_DL_FIELD | 1u << GQL_DL_FRAGMENT_SPREAD |
                        1u << GQL_DL_INLINE_FRAGMENT;
    struct gql_directive *d;
    d = gql_directive_new(s, "include", "Includes this part of the query "
                          "only when the argument is true.", included);
    add_directive_arg(s, d, "if", "Boolean!", NULL, "Included when true.");
    d = gql_directive_new(s, "skip", "Leaves this part of the query out when "
                          "the argument is true.", included);
    add_directive_arg(s, d, "if", "Boolean!", NULL, "Skipped when true.");
    d = gql_directive_new(s, "deprecated", "Marks an element of the schema "
                          "as no longer supported.",
                          1u << GQL_DL_FIELD_DEFINITION |
                          1u << GQL_DL_ARGUMENT_DEFINITION |
                          1u << GQL_DL_INPUT_FIELD_DEFINITION |
                          1u << GQL_DL_ENUM_VALUE);
    add_directive_arg(s, d, "reason", "String", "\"No longer supported\"",
                      "Why, and what to use instead.");
    d = gql_directive_new(s, "specifiedBy", "Names the specification of a "
                          "custom scalar.", 1u << GQL_DL_SCALAR);
    add_directive_arg(s, d, "url", "String!", NULL,
                      "Where the specification is.");
}

static void add_builtin_scalar(struct gql_schema *s, const char *name,
                               enum gql_scalar which, const char *description)
{
    struct gql_type *t = add_type(s, GQL_SCALAR, name, description);
    if (t) {
        t->scalar = which;
        t->builtin = true;
    }
}

/* Creates an empty schema holding the built-in scalars, directives and the
 * introspection types. Returns it (freed with gql_schema_free), or NULL. */
struct gql_schema *gql_schema_new(void)
{
    struct gql_schema *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->types_tail = &s->types;
    add_builtin_scalar(s, "Int", GQL_INT, "A signed 32-bit integer.");
    add_builtin_scalar(s, "Float", GQL_FLOAT, "A double-precision number.");
    add_builtin_scalar(s, "String", GQL_STRING, "UTF-8 text.");
    add_builtin_scalar(s, "Boolean", GQL_BOOLEAN, "true or false.");
    add_builtin_scalar(s, "ID", GQL_ID, "A unique identifier, serialized "
                       "as a string.");
    add_builtin_directives(s);
    gql_introspection_add(s);
    return s;
}

static void free_defaults(struct gql_input *in)
{
    for (; in; in = in->next)
        json_decref(in->default_value);
}

/* Frees s and everything in it. NULL is fine. */
void gql_schema_free(struct gql_schema *s)
{
    if (!s)
        return;
    for (struct gql_type *t = s->types; t; t = t->next) {
        free_defaults(t->inputs);
        for (struct gql_field *f = t->fields; f; f = f->next)
            free_defaults(f->args);
    }
    for (struct gql_directive *d = s->directives; d; d = d->next)
        free_defaults(d->args);
    const struct gql_field *meta[] = {s->typename_field, s->schema_field,
                                      s->type_field};
    for (size_t i = 0; i < 3; i++)
        if (meta[i])
            free_defaults(meta[i]->args);
    gql_arena_free(&s->arena);
    free(s);
}

/* The type named name, or NULL. */
struct gql_type *gql_schema_find(const struct gql_schema *s, const char *name)
{
    for (struct gql_type *t = s->types; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

/* Field `name` of composite type t, counting the meta fields: __typename
 * everywhere, __schema and __type on the query type. NULL if none. */
const struct gql_field *gql_field_find(const struct gql_schema *s,
                                       const struct gql_type *t,
                                       const char *name)
{
    if (name[0] == '_' && name[1] == '_') {
        if (strcmp(name, "__typename") == 0)
            return s->typename_field;
        if (t == s->query && strcmp(name, "__schema") == 0)
            return s->schema_field;
        if (t == s->query && strcmp(name, "__type") == 0)
            return s->type_field;
    }
    for (const struct gql_field *f = t->fields; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* The directive named name, or NULL. */
const struct gql_directive *gql_directive_find(const struct gql_schema *s,
                                               const char *name)
{
    for (const struct gql_directive *d = s->directives; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

/* The argument or input field named name in list, or NULL. */
const struct gql_input *gql_input_find(const struct gql_input *list,
                                       const char *name)
{
    for (; list; list = list->next)
        if (strcmp(list->name, name) == 0)
            return list;
    return NULL;
}

/* The value of enum t spelled by the len bytes at name, or NULL. */
const struct gql_enum_value *gql_enum_find(const struct gql_type *t,
                                           const char *name, size_t len)
{
    for (const struct gql_enum_value *v = t->values; v; v = v->next)
        if (strlen(v->name) == len && memcmp(v->name, name, len) == 0)
            return v;
    return NULL;
}
