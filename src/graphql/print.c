/* The schema in SDL, the GraphQL schema language: what
 * GET /graphql/schema.graphql serves. Built-in scalars, directives and the
 * introspection types are left out, as the specification's printers do. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "internal.h"

static int print_string(struct buf *out, const char *s)
{
    json_t *j = json_string(s);
    char *text = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    int rc = text ? buf_append_str(out, text) : -1;
    free(text);
    json_decref(j);
    return rc;
}

/* A description above an element, indented: a block string when it has
 * several lines, a plain string otherwise. */
static int print_description(struct buf *out, const char *indent,
                             const char *d)
{
    if (!d)
        return 0;
    if (!strchr(d, '\n'))
        return buf_append_str(out, indent) < 0 || print_string(out, d) < 0 ?
               -1 : buf_append(out, "\n", 1);
    if (buf_printf(out, "%s\"\"\"\n%s", indent, indent) < 0)
        return -1;
    for (const char *p = d; *p; p++) {
        int rc;
        if (*p == '\n')
            rc = buf_printf(out, "\n%s", indent);
        else if (strncmp(p, "\"\"\"", 3) == 0)
            rc = buf_append_str(out, "\\\"\"\""), p += 2;
        else
            rc = buf_append(out, p, 1);
        if (rc < 0)
            return -1;
    }
    return buf_printf(out, "\n%s\"\"\"\n", indent);
}

static int print_deprecation(struct buf *out, const char *reason)
{
    if (!reason)
        return 0;
    if (strcmp(reason, "No longer supported") == 0)
        return buf_append_str(out, " @deprecated");
    if (buf_append_str(out, " @deprecated(reason: ") < 0 ||
        print_string(out, reason) < 0)
        return -1;
    return buf_append(out, ")", 1);
}

/* name: Type = default @deprecated, for an argument or input field. */
static int print_input(struct buf *out, const struct gql_input *in)
{
    char type[128];
    gql_typeref_format(in->type, type, sizeof(type));
    if (buf_printf(out, "%s: %s", in->name, type) < 0)
        return -1;
    if (in->default_value && (buf_append_str(out, " = ") < 0 ||
                              gql_print_literal(in->type, in->default_value,
                                                out) < 0))
        return -1;
    return print_deprecation(out, in->deprecation);
}

/* (args): on one line, or one per line when any has a description. */
static int print_args(struct buf *out, const struct gql_input *args)
{
    bool described = false;
    for (const struct gql_input *a = args; a; a = a->next)
        described |= a->description != NULL;
    if (!args)
        return 0;
    if (buf_append(out, "(", 1) < 0)
        return -1;
    for (const struct gql_input *a = args; a; a = a->next) {
        if (described && (buf_append(out, "\n", 1) < 0 ||
                          print_description(out, "    ",
                                            a->description) < 0 ||
                          buf_append_str(out, "    ") < 0))
            return -1;
        if ((!described && a != args && buf_append_str(out, ", ") < 0) ||
            print_input(out, a) < 0)
            return -1;
    }
    return buf_append_str(out, described ? "\n  )" : ")");
}

static int print_fields(struct buf *out, const struct gql_type *t)
{
    char type[128];
    if (buf_append_str(out, " {\n") < 0)
        return -1;
    for (const struct gql_field *f = t->fields; f; f = f->next) {
        gql_typeref_format(f->type, type, sizeof(type));
        if (print_description(out, "  ", f->description) < 0 ||
            buf_printf(out, "  %s", f->name) < 0 ||
            print_args(out, f->args) < 0 ||
            buf_printf(out, ": %s", type) < 0 ||
            print_deprecation(out, f->deprecation) < 0 ||
            buf_append(out, "\n", 1) < 0)
            return -1;
    }
    return buf_append_str(out, "}\n");
}

static int print_links(struct buf *out, const struct gql_link *l,
                       const char *first, const char *sep)
{
    for (; l; l = l->next)
        if (buf_printf(out, "%s%s", first, l->name) < 0)
            return -1;
        else
            first = sep;
    return 0;
}

static int print_body(struct buf *out, const struct gql_type *t)
{
    switch (t->kind) {
    case GQL_OBJECT:
    case GQL_INTERFACE:
        return print_links(out, t->interfaces, " implements ", " & ") < 0 ?
               -1 : print_fields(out, t);
    case GQL_UNION:
        return print_links(out, t->possible, " = ", " | ") < 0 ? -1 :
               buf_append(out, "\n", 1);
    case GQL_ENUM:
        if (buf_append_str(out, " {\n") < 0)
            return -1;
        for (const struct gql_enum_value *v = t->values; v; v = v->next)
            if (print_description(out, "  ", v->description) < 0 ||
                buf_printf(out, "  %s", v->name) < 0 ||
                print_deprecation(out, v->deprecation) < 0 ||
                buf_append(out, "\n", 1) < 0)
                return -1;
        return buf_append_str(out, "}\n");
    case GQL_INPUT_OBJECT:
        if (buf_append_str(out, " {\n") < 0)
            return -1;
        for (const struct gql_input *in = t->inputs; in; in = in->next)
            if (print_description(out, "  ", in->description) < 0 ||
                buf_append_str(out, "  ") < 0 || print_input(out, in) < 0 ||
                buf_append(out, "\n", 1) < 0)
                return -1;
        return buf_append_str(out, "}\n");
    default:
        return buf_append(out, "\n", 1);
    }
}

/* Appends the SDL of finished schema s to out. Returns 0 or -1 (out of
 * memory). */
int gql_schema_print(const struct gql_schema *s, struct buf *out)
{
    static const char *const words[] = {"scalar", "type", "interface",
                                        "union", "enum", "input"};
    bool plain = strcmp(s->query->name, "Query") == 0 &&
                 (!s->mutation || strcmp(s->mutation->name, "Mutation") == 0);
    int sep = 0;
    if (!plain && (buf_printf(out, "schema {\n  query: %s\n",
                              s->query->name) < 0 ||
                   (s->mutation && buf_printf(out, "  mutation: %s\n",
                                              s->mutation->name) < 0) ||
                   buf_append_str(out, "}\n") < 0))
        return -1;
    sep = !plain;
    for (const struct gql_type *t = s->types; t; t = t->next) {
        if (t->builtin)
            continue;
        if ((sep++ && buf_append(out, "\n", 1) < 0) ||
            print_description(out, "", t->description) < 0 ||
            buf_printf(out, "%s %s", words[t->kind], t->name) < 0 ||
            print_body(out, t) < 0)
            return -1;
    }
    return 0;
}
