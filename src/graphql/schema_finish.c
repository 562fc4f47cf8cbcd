/* gql_schema_finish(): resolves the type names a schema was built with,
 * coerces defaults, links interfaces to their implementations and checks
 * the rules of a valid schema, naming the first thing wrong. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

struct finish {
    struct gql_schema *s;
    char *err;
    size_t errlen;
};

static int fail(struct finish *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct finish *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err, f->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static bool valid_name(const char *name)
{
    if (!((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') ||
          *name == '_'))
        return false;
    for (const char *p = name + 1; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

/* Resolves `text` (of the element `where`) into a type reference. */
static struct gql_typeref *resolve(struct finish *f, const char *text,
                                   const char *where)
{
    struct gql_error perr;
    const char *unknown;
    struct gql_ast_type *ast = gql_parse_type_text(&f->s->arena, text, &perr);
    if (!ast) {
        fail(f, "%s: type \"%s\": %s", where, text, perr.message);
        return NULL;
    }
    struct gql_typeref *t = gql_typeref_from_ast(&f->s->arena, f->s, ast,
                                                 &unknown);
    if (!t)
        fail(f, "%s: %s%s", where, unknown ? "unknown type " : "out of memory",
             unknown ? unknown : "");
    return t;
}

/* Resolves and checks a list of arguments or input fields, with defaults. */
static int finish_inputs(struct finish *f, struct gql_input *list,
                         const char *owner)
{
    char where[160];
    for (struct gql_input *in = list; in; in = in->next) {
        snprintf(where, sizeof(where), "%s(%s)", owner, in->name);
        if (!valid_name(in->name) || strncmp(in->name, "__", 2) == 0)
            return fail(f, "%s: invalid name", where);
        if (gql_input_find(list, in->name) != in)
            return fail(f, "%s: defined twice", where);
        if (!(in->type = resolve(f, in->type_text, where)))
            return -1;
        if (!gql_is_input_type(gql_named(in->type)))
            return fail(f, "%s: %s is not an input type", where,
                        gql_named(in->type)->name);
        if (!in->default_text || in->default_value)
            continue;
        struct gql_error perr;
        char cerr[160];
        const struct gql_ast_value *v = gql_parse_value_text(&f->s->arena,
                                                             in->default_text,
                                                             &perr);
        if (!v)
            return fail(f, "%s: default: %s", where, perr.message);
        if (gql_coerce_literal(in->type, v, NULL, NULL, &in->default_value,
                               cerr, sizeof(cerr)) != 0)
            return fail(f, "%s: default: %s", where, cerr);
    }
    return 0;
}

/* Resolves and checks field fd of t (NULL: a meta field, __typename and
 * the like, which belongs to no type). */
static int finish_field(struct finish *f, const struct gql_type *t,
                        struct gql_field *fd)
{
    char where[160];
    snprintf(where, sizeof(where), "%s.%s", t ? t->name : "", fd->name);
    if (t && (!valid_name(fd->name) || (!t->builtin &&
                                        strncmp(fd->name, "__", 2) == 0)))
        return fail(f, "%s: invalid name", where);
    if (t && gql_field_find(f->s, t, fd->name) != fd)
        return fail(f, "%s: defined twice", where);
    if (!(fd->type = resolve(f, fd->type_text, where)))
        return -1;
    if (!gql_is_output_type(gql_named(fd->type)))
        return fail(f, "%s: %s is not an output type", where,
                    gql_named(fd->type)->name);
    return finish_inputs(f, fd->args, where);
}

/* Checks that object (or interface) t has every field of interface i, of
 * a type at least as precise, with the same arguments. */
static int check_implements(struct finish *f, const struct gql_type *t,
                            const struct gql_type *i)
{
    for (const struct gql_field *want = i->fields; want; want = want->next) {
        const struct gql_field *have = gql_field_find(f->s, t, want->name);
        if (!have)
            return fail(f, "%s lacks field %s of interface %s", t->name,
                        want->name, i->name);
        if (!gql_is_subtype(have->type, want->type))
            return fail(f, "%s.%s does not match the type of %s.%s", t->name,
                        want->name, i->name, want->name);
        for (const struct gql_input *a = want->args; a; a = a->next) {
            const struct gql_input *b = gql_input_find(have->args, a->name);
            if (!b || !gql_typeref_equal(a->type, b->type))
                return fail(f, "%s.%s: argument %s does not match %s's",
                            t->name, want->name, a->name, i->name);
        }
    }
    return 0;
}

static int link_interfaces(struct finish *f, struct gql_type *t)
{
    for (struct gql_link *l = t->interfaces; l; l = l->next) {
        l->type = gql_schema_find(f->s, l->name);
        if (!l->type || l->type->kind != GQL_INTERFACE)
            return fail(f, "%s implements %s, which is not an interface",
                        t->name, l->name);
        if (t->kind == GQL_OBJECT) {
            struct gql_link *p = gql_arena_alloc(&f->s->arena, sizeof(*p));
            if (!p)
                return fail(f, "out of memory");
            p->name = t->name;
            p->type = t;
            *l->type->possible_tail = p;
            l->type->possible_tail = &p->next;
        }
    }
    return 0;
}

static int finish_composite(struct finish *f, struct gql_type *t)
{
    if (!t->fields)
        return fail(f, "%s has no fields", t->name);
    for (struct gql_field *fd = t->fields; fd; fd = fd->next)
        if (finish_field(f, t, fd) < 0)
            return -1;
    return link_interfaces(f, t);
}

static int finish_union(struct finish *f, struct gql_type *t)
{
    if (!t->possible)
        return fail(f, "union %s has no members", t->name);
    for (struct gql_link *l = t->possible; l; l = l->next) {
        l->type = gql_schema_find(f->s, l->name);
        if (!l->type || l->type->kind != GQL_OBJECT)
            return fail(f, "union %s: member %s is not an object type",
                        t->name, l->name);
    }
    return 0;
}

static int finish_enum(struct finish *f, const struct gql_type *t)
{
    if (!t->values)
        return fail(f, "enum %s has no values", t->name);
    for (const struct gql_enum_value *v = t->values; v; v = v->next) {
        if (!valid_name(v->name) || strcmp(v->name, "true") == 0 ||
            strcmp(v->name, "false") == 0 || strcmp(v->name, "null") == 0)
            return fail(f, "enum %s: invalid value %s", t->name, v->name);
        if (gql_enum_find(t, v->name, strlen(v->name)) != v)
            return fail(f, "enum %s: value %s defined twice", t->name,
                        v->name);
    }
    return 0;
}

static int finish_type(struct finish *f, struct gql_type *t)
{
    if (!valid_name(t->name) || (!t->builtin &&
                                 strncmp(t->name, "__", 2) == 0))
        return fail(f, "invalid type name \"%s\"", t->name);
    switch (t->kind) {
    case GQL_OBJECT:
    case GQL_INTERFACE:
        return finish_composite(f, t);
    case GQL_UNION:
        return finish_union(f, t);
    case GQL_ENUM:
        return finish_enum(f, t);
    case GQL_INPUT_OBJECT:
        if (!t->inputs)
            return fail(f, "input %s has no fields", t->name);
        return finish_inputs(f, t->inputs, t->name);
    default:
        return 0;
    }
}

static int finish_types(struct finish *f)
{
    struct gql_schema *s = f->s;
    for (struct gql_type *t = s->types; t; t = t->next)
        if (finish_type(f, t) < 0)
            return -1;
    for (struct gql_type *t = s->types; t; t = t->next)
        for (const struct gql_link *l = t->interfaces; l; l = l->next)
            if (check_implements(f, t, l->type) < 0)
                return -1;
    struct gql_field *meta[] = {s->typename_field, s->schema_field,
                                s->type_field};
    for (size_t i = 0; i < 3; i++)
        if (!meta[i] || finish_field(f, NULL, meta[i]) < 0)
            return meta[i] ? -1 : fail(f, "out of memory");
    for (struct gql_directive *d = s->directives; d; d = d->next)
        if (finish_inputs(f, d->args, d->name) < 0)
            return -1;
    return 0;
}

static int root_type(struct finish *f, const char *name,
                     struct gql_type **out)
{
    *out = gql_schema_find(f->s, name);
    if (!*out || (*out)->kind != GQL_OBJECT)
        return fail(f, "root type %s is not an object type", name);
    return 0;
}

/* Completes s: query_type and mutation_type (NULL: none) name the root
 * object types. Every type name, default and interface is checked; on the
 * first problem returns -1 with err naming it, and s must then only be
 * freed. Returns 0 when s is ready to serve requests. */
int gql_schema_finish(struct gql_schema *s, const char *query_type,
                      const char *mutation_type, char *err, size_t errlen)
{
    struct finish f = {s, err, errlen};
    if (!s)
        return fail(&f, "out of memory");
    if (s->fault[0])
        return fail(&f, "%s", s->fault);
    if (s->finished)
        return fail(&f, "the schema is already finished");
    if (root_type(&f, query_type, &s->query) < 0 ||
        (mutation_type && root_type(&f, mutation_type, &s->mutation) < 0) ||
        finish_types(&f) < 0)
        return -1;
    s->finished = true;
    return 0;
}
