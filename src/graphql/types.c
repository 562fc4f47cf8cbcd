/* Questions about types that the validator, the executor and introspection
 * all ask: which kind, which possible types, which is a subtype. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Scalars, enums and input objects may be arguments and variables. */
bool gql_is_input_type(const struct gql_type *t)
{
    return t->kind == GQL_SCALAR || t->kind == GQL_ENUM ||
           t->kind == GQL_INPUT_OBJECT;
}

/* Everything but input objects may be a field's type. */
bool gql_is_output_type(const struct gql_type *t)
{
    return t->kind != GQL_INPUT_OBJECT;
}

/* Scalars and enums: selected without a selection set. */
bool gql_is_leaf(const struct gql_type *t)
{
    return t->kind == GQL_SCALAR || t->kind == GQL_ENUM;
}

/* Objects, interfaces and unions: selected with a selection set. */
bool gql_is_composite(const struct gql_type *t)
{
    return t->kind == GQL_OBJECT || t->kind == GQL_INTERFACE ||
           t->kind == GQL_UNION;
}

/* Interfaces and unions: the concrete type is known only at run time. */
bool gql_is_abstract(const struct gql_type *t)
{
    return t->kind == GQL_INTERFACE || t->kind == GQL_UNION;
}

/* The named type under any list and non-null wrappers. */
const struct gql_type *gql_named(const struct gql_typeref *t)
{
    while (t->kind != GQL_T_NAMED)
        t = t->of;
    return t->named;
}

/* Whether object may be a value of abstract (or is abstract itself). */
bool gql_is_possible(const struct gql_type *abstract,
                     const struct gql_type *object)
{
    if (abstract == object)
        return true;
    for (const struct gql_link *l = abstract->possible; l; l = l->next)
        if (l->type == object)
            return true;
    return false;
}

/* Whether some object type may be a value of both a and b: the test for a
 * fragment spread's possibility. */
bool gql_types_overlap(const struct gql_type *a, const struct gql_type *b)
{
    if (a == b)
        return true;
    if (!gql_is_abstract(a))
        return gql_is_possible(b, a);
    if (!gql_is_abstract(b))
        return gql_is_possible(a, b);
    for (const struct gql_link *l = a->possible; l; l = l->next)
        if (gql_is_possible(b, l->type))
            return true;
    return false;
}

/* Whether a value of type sub is always a valid value of type super: for
 * variables used in a position, and for fields implementing an interface. */
bool gql_is_subtype(const struct gql_typeref *sub,
                    const struct gql_typeref *super)
{
    if (super->kind == GQL_T_NON_NULL)
        return sub->kind == GQL_T_NON_NULL && gql_is_subtype(sub->of,
                                                             super->of);
    if (sub->kind == GQL_T_NON_NULL)
        return gql_is_subtype(sub->of, super);
    if (super->kind == GQL_T_LIST)
        return sub->kind == GQL_T_LIST && gql_is_subtype(sub->of, super->of);
    if (sub->kind == GQL_T_LIST)
        return false;
    return sub->named == super->named ||
           (gql_is_abstract(super->named) &&
            gql_is_possible(super->named, sub->named));
}

/* Writes t as GraphQL spells it ("[GPU!]!") into out, cut to n bytes. */
void gql_typeref_format(const struct gql_typeref *t, char *out, size_t n)
{
    if (n == 0)
        return;
    out[0] = '\0';
    if (t->kind == GQL_T_NAMED) {
        snprintf(out, n, "%s", t->named->name);
    } else if (t->kind == GQL_T_LIST) {
        char inner[128];
        gql_typeref_format(t->of, inner, sizeof(inner));
        snprintf(out, n, "[%s]", inner);
    } else {
        char inner[128];
        gql_typeref_format(t->of, inner, sizeof(inner));
        snprintf(out, n, "%s!", inner);
    }
}

/* A directive location's name, as introspection and SDL show it. */
const char *gql_dloc_name(enum gql_dloc loc)
{
    static const char *const names[GQL_DL_COUNT] = {
        "QUERY", "MUTATION", "SUBSCRIPTION", "FIELD", "FRAGMENT_DEFINITION",
        "FRAGMENT_SPREAD", "INLINE_FRAGMENT", "VARIABLE_DEFINITION", "SCHEMA",
        "SCALAR", "OBJECT", "FIELD_DEFINITION", "ARGUMENT_DEFINITION",
        "INTERFACE", "UNION", "ENUM", "ENUM_VALUE", "INPUT_OBJECT",
        "INPUT_FIELD_DEFINITION",
    };
    return names[loc];
}

/* Makes the syntax tree of a type into a reference to the schema's types,
 * allocated in arena. NULL when a name is unknown (*unknown names it) or
 * memory is exhausted (*unknown NULL). */
struct gql_typeref *gql_typeref_from_ast(struct gql_arena *arena,
                                         const struct gql_schema *s,
                                         const struct gql_ast_type *t,
                                         const char **unknown)
{
    *unknown = NULL;
    if (t->kind == GQL_T_NAMED) {
        struct gql_type *named = gql_schema_find(s, t->name);
        if (!named)
            *unknown = t->name;
        return named ? &named->ref : NULL;
    }
    struct gql_typeref *r = gql_arena_alloc(arena, sizeof(*r));
    if (!r || !(r->of = gql_typeref_from_ast(arena, s, t->of, unknown)))
        return NULL;
    r->kind = t->kind;
    return r;
}

/* Whether a and b are the same type. */
bool gql_typeref_equal(const struct gql_typeref *a,
                       const struct gql_typeref *b)
{
    while (a->kind == b->kind && a->kind != GQL_T_NAMED)
        a = a->of, b = b->of;
    return a->kind == b->kind && a->named == b->named;
}
