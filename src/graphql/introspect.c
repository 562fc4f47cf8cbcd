/* Introspection: the __Schema, __Type, __Field, __InputValue, __EnumValue
 * and __Directive types, built with the same builders as any schema and
 * resolved over the schema's own structures, plus the meta fields
 * __typename, __schema and __type. */
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "internal.h"

enum sel {
    S_NAME, S_DESCRIPTION, S_KIND, S_SPECIFIED_BY, S_FIELDS, S_INTERFACES,
    S_POSSIBLE, S_ENUM_VALUES, S_INPUT_FIELDS, S_OF_TYPE, S_ARGS, S_TYPE,
    S_IS_DEPRECATED, S_DEPRECATION, S_DEFAULT, S_LOCATIONS, S_REPEATABLE,
    S_TYPES, S_QUERY, S_MUTATION, S_SUBSCRIPTION, S_DIRECTIVES, S_COUNT,
};

static const enum sel sels[S_COUNT] = {
    S_NAME, S_DESCRIPTION, S_KIND, S_SPECIFIED_BY, S_FIELDS, S_INTERFACES,
    S_POSSIBLE, S_ENUM_VALUES, S_INPUT_FIELDS, S_OF_TYPE, S_ARGS, S_TYPE,
    S_IS_DEPRECATED, S_DEPRECATION, S_DEFAULT, S_LOCATIONS, S_REPEATABLE,
    S_TYPES, S_QUERY, S_MUTATION, S_SUBSCRIPTION, S_DIRECTIVES,
};

static enum sel sel_of(const struct gql_call *c)
{
    return *(const enum sel *)gql_call_data(c);
}

static enum gql_status ret_string(struct gql_call *c, const char *s)
{
    return gql_return_json(c, s ? json_string(s) : NULL);
}

/* Answers with deprecation state: isDeprecated or deprecationReason. */
static enum gql_status ret_deprecation(struct gql_call *c, const char *why)
{
    if (sel_of(c) == S_IS_DEPRECATED)
        return gql_return_json(c, json_boolean(why != NULL));
    return ret_string(c, why);
}

/* Whether an element deprecated for `why` is listed: all of them with
 * includeDeprecated: true, else only the current ones. */
static bool listed(const struct gql_call *c, const char *why)
{
    return !why || json_is_true(gql_call_arg(c, "includeDeprecated"));
}

/* Introspection lists arguments, fields and enum values alike: a linked
 * list filtered by deprecation. These read one element of each kind. */
typedef const void *(*next_fn)(const void *element);
typedef const char *(*why_fn)(const void *element);

static const void *input_next(const void *e)
{
    return ((const struct gql_input *)e)->next;
}

static const char *input_why(const void *e)
{
    return ((const struct gql_input *)e)->deprecation;
}

static const void *field_next(const void *e)
{
    return ((const struct gql_field *)e)->next;
}

static const char *field_why(const void *e)
{
    return ((const struct gql_field *)e)->deprecation;
}

static const void *value_next(const void *e)
{
    return ((const struct gql_enum_value *)e)->next;
}

static const char *value_why(const void *e)
{
    return ((const struct gql_enum_value *)e)->deprecation;
}

/* Answers with the elements from first on that listed() lets through. */
static enum gql_status ret_listed(struct gql_call *c, const void *first,
                                  next_fn next, why_fn why)
{
    size_t n = 0, i = 0;
    for (const void *e = first; e; e = next(e))
        n += listed(c, why(e));
    if (gql_return_list(c, n) != GQL_OK)
        return GQL_ERROR;
    for (const void *e = first; e; e = next(e))
        if (listed(c, why(e)))
            gql_list_set(c, i++, (void *)e, NULL);
    return GQL_OK;
}

static enum gql_status ret_inputs(struct gql_call *c,
                                  const struct gql_input *list)
{
    return ret_listed(c, list, input_next, input_why);
}

static enum gql_status ret_links(struct gql_call *c,
                                 const struct gql_link *list)
{
    size_t n = 0, i = 0;
    for (const struct gql_link *l = list; l; l = l->next)
        n++;
    if (gql_return_list(c, n) != GQL_OK)
        return GQL_ERROR;
    for (const struct gql_link *l = list; l; l = l->next)
        gql_list_set(c, i++, &l->type->ref, NULL);
    return GQL_OK;
}

static const char *kind_name(const struct gql_typeref *r)
{
    static const char *const kinds[] = {"SCALAR", "OBJECT", "INTERFACE",
                                        "UNION", "ENUM", "INPUT_OBJECT"};
    if (r->kind == GQL_T_LIST)
        return "LIST";
    if (r->kind == GQL_T_NON_NULL)
        return "NON_NULL";
    return kinds[r->named->kind];
}

/* __Type: a named type (its embedded reference) or a wrapper. Fields that
 * do not apply to a kind are null, as the specification has it. */
static enum gql_status type_resolve(struct gql_call *c)
{
    const struct gql_typeref *r = gql_call_parent(c);
    const struct gql_type *t = r->kind == GQL_T_NAMED ? r->named : NULL;
    enum gql_kind k = t ? t->kind : GQL_SCALAR;
    switch (sel_of(c)) {
    case S_KIND: return ret_string(c, kind_name(r));
    case S_NAME: return ret_string(c, t ? t->name : NULL);
    case S_DESCRIPTION: return ret_string(c, t ? t->description : NULL);
    case S_OF_TYPE: return gql_return_object(c, r->of, NULL);
    case S_FIELDS:
        return t && (k == GQL_OBJECT || k == GQL_INTERFACE) ?
               ret_listed(c, t->fields, field_next, field_why) :
               gql_return_json(c, NULL);
    case S_INTERFACES:
        return t && (k == GQL_OBJECT || k == GQL_INTERFACE) ?
               ret_links(c, t->interfaces) : gql_return_json(c, NULL);
    case S_POSSIBLE:
        return t && gql_is_abstract(t) ? ret_links(c, t->possible) :
               gql_return_json(c, NULL);
    case S_ENUM_VALUES:
        return t && k == GQL_ENUM ?
               ret_listed(c, t->values, value_next, value_why) :
               gql_return_json(c, NULL);
    case S_INPUT_FIELDS:
        return t && k == GQL_INPUT_OBJECT ? ret_inputs(c, t->inputs) :
               gql_return_json(c, NULL);
    default:
        return gql_return_json(c, NULL);    /* specifiedByURL */
    }
}

static enum gql_status field_resolve(struct gql_call *c)
{
    const struct gql_field *f = gql_call_parent(c);
    switch (sel_of(c)) {
    case S_NAME: return ret_string(c, f->name);
    case S_DESCRIPTION: return ret_string(c, f->description);
    case S_ARGS: return ret_inputs(c, f->args);
    case S_TYPE: return gql_return_object(c, f->type, NULL);
    default: return ret_deprecation(c, f->deprecation);
    }
}

static enum gql_status input_resolve(struct gql_call *c)
{
    const struct gql_input *in = gql_call_parent(c);
    struct buf b = BUF_INIT;
    enum gql_status st;
    switch (sel_of(c)) {
    case S_NAME: return ret_string(c, in->name);
    case S_DESCRIPTION: return ret_string(c, in->description);
    case S_TYPE: return gql_return_object(c, in->type, NULL);
    case S_DEFAULT:
        if (!in->default_value)
            return gql_return_json(c, NULL);
        if (gql_print_literal(in->type, in->default_value, &b) < 0)
            st = gql_fail(c, "out of memory");
        else
            st = gql_return_json(c, json_stringn(buf_start(&b), b.len));
        buf_free(&b);
        return st;
    default: return ret_deprecation(c, in->deprecation);
    }
}

static enum gql_status enum_value_resolve(struct gql_call *c)
{
    const struct gql_enum_value *v = gql_call_parent(c);
    switch (sel_of(c)) {
    case S_NAME: return ret_string(c, v->name);
    case S_DESCRIPTION: return ret_string(c, v->description);
    default: return ret_deprecation(c, v->deprecation);
    }
}

static enum gql_status directive_resolve(struct gql_call *c)
{
    const struct gql_directive *d = gql_call_parent(c);
    json_t *locs;
    switch (sel_of(c)) {
    case S_NAME: return ret_string(c, d->name);
    case S_DESCRIPTION: return ret_string(c, d->description);
    case S_ARGS: return ret_inputs(c, d->args);
    case S_REPEATABLE: return gql_return_json(c, json_false());
    default:
        if (!(locs = json_array()))
            return gql_fail(c, "out of memory");
        for (int i = 0; i < GQL_DL_COUNT; i++)
            if (d->locations & 1u << i)
                json_array_append_new(locs, json_string(gql_dloc_name(i)));
        return gql_return_json(c, locs);
    }
}

static enum gql_status schema_resolve(struct gql_call *c)
{
    const struct gql_schema *s = gql_call_parent(c);
    size_t n = 0, i = 0;
    switch (sel_of(c)) {
    case S_QUERY: return gql_return_object(c, &s->query->ref, NULL);
    case S_MUTATION:
        return gql_return_object(c, s->mutation ? &s->mutation->ref : NULL,
                                 NULL);
    case S_TYPES:
        for (const struct gql_type *t = s->types; t; t = t->next)
            n++;
        if (gql_return_list(c, n) != GQL_OK)
            return GQL_ERROR;
        for (struct gql_type *t = s->types; t; t = t->next)
            gql_list_set(c, i++, &t->ref, NULL);
        return GQL_OK;
    case S_DIRECTIVES:
        for (const struct gql_directive *d = s->directives; d; d = d->next)
            n++;
        if (gql_return_list(c, n) != GQL_OK)
            return GQL_ERROR;
        for (const struct gql_directive *d = s->directives; d; d = d->next)
            gql_list_set(c, i++, (void *)d, NULL);
        return GQL_OK;
    default:
        return gql_return_json(c, NULL);   /* description, subscriptions */
    }
}

static enum gql_status typename_resolve(struct gql_call *c)
{
    return ret_string(c, gql_call_parent_type(c)->name);
}

static enum gql_status meta_schema_resolve(struct gql_call *c)
{
    return gql_return_object(c, (void *)gql_call_schema(c), NULL);
}

static enum gql_status meta_type_resolve(struct gql_call *c)
{
    const char *name = json_string_value(gql_call_arg(c, "name"));
    struct gql_type *t = name ? gql_schema_find(gql_call_schema(c), name) :
                         NULL;
    return gql_return_object(c, t ? &t->ref : NULL, NULL);
}

struct meta {
    const char *type, *name, *text;
    gql_resolver resolve;
    enum sel sel;
};

static const struct meta metas[] = {
    {"__Schema", "description", "String", schema_resolve, S_DESCRIPTION},
    {"__Schema", "types", "[__Type!]!", schema_resolve, S_TYPES},
    {"__Schema", "queryType", "__Type!", schema_resolve, S_QUERY},
    {"__Schema", "mutationType", "__Type", schema_resolve, S_MUTATION},
    {"__Schema", "subscriptionType", "__Type", schema_resolve,
     S_SUBSCRIPTION},
    {"__Schema", "directives", "[__Directive!]!", schema_resolve,
     S_DIRECTIVES},
    {"__Type", "kind", "__TypeKind!", type_resolve, S_KIND},
    {"__Type", "name", "String", type_resolve, S_NAME},
    {"__Type", "description", "String", type_resolve, S_DESCRIPTION},
    {"__Type", "specifiedByURL", "String", type_resolve, S_SPECIFIED_BY},
    {"__Type", "fields", "[__Field!]", type_resolve, S_FIELDS},
    {"__Type", "interfaces", "[__Type!]", type_resolve, S_INTERFACES},
    {"__Type", "possibleTypes", "[__Type!]", type_resolve, S_POSSIBLE},
    {"__Type", "enumValues", "[__EnumValue!]", type_resolve, S_ENUM_VALUES},
    {"__Type", "inputFields", "[__InputValue!]", type_resolve,
     S_INPUT_FIELDS},
    {"__Type", "ofType", "__Type", type_resolve, S_OF_TYPE},
    {"__Field", "name", "String!", field_resolve, S_NAME},
    {"__Field", "description", "String", field_resolve, S_DESCRIPTION},
    {"__Field", "args", "[__InputValue!]!", field_resolve, S_ARGS},
    {"__Field", "type", "__Type!", field_resolve, S_TYPE},
    {"__Field", "isDeprecated", "Boolean!", field_resolve, S_IS_DEPRECATED},
    {"__Field", "deprecationReason", "String", field_resolve, S_DEPRECATION},
    {"__InputValue", "name", "String!", input_resolve, S_NAME},
    {"__InputValue", "description", "String", input_resolve, S_DESCRIPTION},
    {"__InputValue", "type", "__Type!", input_resolve, S_TYPE},
    {"__InputValue", "defaultValue", "String", input_resolve, S_DEFAULT},
    {"__InputValue", "isDeprecated", "Boolean!", input_resolve,
     S_IS_DEPRECATED},
    {"__InputValue", "deprecationReason", "String", input_resolve,
     S_DEPRECATION},
    {"__EnumValue", "name", "String!", enum_value_resolve, S_NAME},
    {"__EnumValue", "description", "String", enum_value_resolve,
     S_DESCRIPTION},
    {"__EnumValue", "isDeprecated", "Boolean!", enum_value_resolve,
     S_IS_DEPRECATED},
    {"__EnumValue", "deprecationReason", "String", enum_value_resolve,
     S_DEPRECATION},
    {"__Directive", "name", "String!", directive_resolve, S_NAME},
    {"__Directive", "description", "String", directive_resolve,
     S_DESCRIPTION},
    {"__Directive", "locations", "[__DirectiveLocation!]!",
     directive_resolve, S_LOCATIONS},
    {"__Directive", "args", "[__InputValue!]!", directive_resolve, S_ARGS},
    {"__Directive", "isRepeatable", "Boolean!", directive_resolve,
     S_REPEATABLE},
};

static const char *const meta_types[] = {
    "__Schema", "__Type", "__Field", "__InputValue", "__EnumValue",
    "__Directive",
};

static void add_enums(struct gql_schema *s)
{
    static const char *const kinds[] = {
        "SCALAR", "OBJECT", "INTERFACE", "UNION", "ENUM", "INPUT_OBJECT",
        "LIST", "NON_NULL",
    };
    struct gql_type *k = gql_schema_enum(s, "__TypeKind", "What kind of "
                                         "type a __Type is.");
    struct gql_type *l = gql_schema_enum(s, "__DirectiveLocation", "Where "
                                         "a directive may stand.");
    if (!k || !l)
        return;
    k->builtin = l->builtin = true;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        gql_enum_value(k, kinds[i], NULL, NULL);
    for (int i = 0; i < GQL_DL_COUNT; i++)
        gql_enum_value(l, gql_dloc_name(i), NULL, NULL);
}

static void add_meta_fields(struct gql_schema *s)
{
    s->typename_field = gql_field_new(s, "__typename", "String!",
                                      typename_resolve, "The name of the "
                                      "object's type.");
    s->schema_field = gql_field_new(s, "__schema", "__Schema!",
                                    meta_schema_resolve, "The schema.");
    s->type_field = gql_field_new(s, "__type", "__Type", meta_type_resolve,
                                  "The type of this name, if any.");
    gql_field_arg(s->type_field, "name", "String!", NULL, NULL);
}

/* Adds the introspection types and meta fields to a new schema. Failures
 * are remembered in s for gql_schema_finish() to report. */
void gql_introspection_add(struct gql_schema *s)
{
    for (size_t i = 0; i < sizeof(meta_types) / sizeof(meta_types[0]); i++) {
        struct gql_type *t = gql_schema_object(s, meta_types[i], NULL);
        if (t)
            t->builtin = true;
    }
    add_enums(s);
    for (size_t i = 0; i < sizeof(metas) / sizeof(metas[0]); i++) {
        const struct meta *m = &metas[i];
        struct gql_field *f = gql_type_field(gql_schema_find(s, m->type),
                                             m->name, m->text, m->resolve,
                                             NULL);
        gql_field_data(f, &sels[m->sel]);
        if (m->sel == S_FIELDS || m->sel == S_ENUM_VALUES ||
            m->sel == S_INPUT_FIELDS || m->sel == S_ARGS)
            gql_field_arg(f, "includeDeprecated", "Boolean", "false", NULL);
    }
    add_meta_fields(s);
}
