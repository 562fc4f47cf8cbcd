/* The syntax tree of an executable document. Every node lives in the
 * document's arena; lists are singly linked through `next` in source order. */
#ifndef GANTRY_GQL_AST_H
#define GANTRY_GQL_AST_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "core/dict.h"
#include "graphql.h"

struct gql_loc {
    unsigned line, column;
};

enum gql_vkind {
    GQL_V_VARIABLE,
    GQL_V_INT,
    GQL_V_FLOAT,
    GQL_V_STRING,
    GQL_V_BOOLEAN,
    GQL_V_NULL,
    GQL_V_ENUM,
    GQL_V_LIST,
    GQL_V_OBJECT,
};

struct gql_ast_value {
    enum gql_vkind kind;
    struct gql_loc loc;
    const char *text;             /* variable or enum name, number text,
                                     decoded string (may hold NULs) */
    size_t len;
    bool boolean;
    struct gql_ast_value *items;  /* a list's items */
    struct gql_ast_arg *fields;   /* an object's fields */
    struct gql_ast_value *next;   /* the next item of the enclosing list */
};

/* An argument, or an input object field: name: value. */
struct gql_ast_arg {
    const char *name;
    struct gql_loc loc;
    struct gql_ast_value *value;
    struct gql_ast_arg *next;
};

enum gql_tkind { GQL_T_NAMED, GQL_T_LIST, GQL_T_NON_NULL };

struct gql_ast_type {
    enum gql_tkind kind;
    struct gql_loc loc;
    const char *name;             /* GQL_T_NAMED */
    struct gql_ast_type *of;      /* the wrapped type */
};

struct gql_ast_directive {
    const char *name;
    struct gql_loc loc;
    struct gql_ast_arg *args;
    struct gql_ast_directive *next;
};

enum gql_skind { GQL_S_FIELD, GQL_S_SPREAD, GQL_S_INLINE };

struct gql_ast_selection {
    enum gql_skind kind;
    struct gql_loc loc;
    const char *alias;            /* a field's alias, or NULL */
    const char *name;             /* a field's or a spread fragment's name */
    const char *type_cond;        /* an inline fragment's, or NULL */
    struct gql_loc type_loc;
    struct gql_ast_arg *args;
    struct gql_ast_directive *directives;
    struct gql_ast_selection *sels;   /* the selection set, or NULL */
    struct gql_ast_selection *next;
};

struct gql_ast_vardef {
    const char *name;
    struct gql_loc loc;
    struct gql_ast_type *type;
    struct gql_ast_value *default_value;   /* or NULL */
    struct gql_ast_directive *directives;
    struct gql_ast_vardef *next;
};

enum gql_dkind { GQL_D_OPERATION, GQL_D_FRAGMENT };

struct gql_ast_definition {
    struct dict_node dnode;       /* in the document's fragments */
    enum gql_dkind kind;
    enum gql_operation op;        /* operations */
    const char *name;             /* NULL for an anonymous operation */
    struct gql_loc loc;
    struct gql_ast_vardef *vars;
    const char *type_cond;        /* fragments */
    struct gql_loc type_loc;
    struct gql_ast_directive *directives;
    struct gql_ast_selection *sels;
    struct gql_ast_definition *next;
    size_t index;                 /* position among the definitions */
};

struct gql_document {
    struct gql_arena arena;
    struct gql_ast_definition *defs;
    size_t ndefs;
    struct dict fragments;        /* name -> the first fragment so named */
};

/* The response key of a field: its alias, else its name. */
static inline const char *gql_response_key(const struct gql_ast_selection *s)
{
    return s->alias ? s->alias : s->name;
}

const struct gql_ast_definition *gql_doc_fragment(
    const struct gql_document *doc, const char *name);
struct gql_ast_type *gql_parse_type_text(struct gql_arena *arena,
                                         const char *text,
                                         struct gql_error *err);
struct gql_ast_value *gql_parse_value_text(struct gql_arena *arena,
                                           const char *text,
                                           struct gql_error *err);

#endif
