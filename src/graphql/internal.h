/* What the files of src/graphql share and callers never see: the schema's
 * structures, and the coercion and lookup helpers every stage uses. */
#ifndef GANTRY_GQL_INTERNAL_H
#define GANTRY_GQL_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "arena.h"
#include "ast.h"
#include "schema.h"

struct buf;

enum gql_kind {
    GQL_SCALAR, GQL_OBJECT, GQL_INTERFACE, GQL_UNION, GQL_ENUM,
    GQL_INPUT_OBJECT,
};

enum gql_scalar { GQL_CUSTOM, GQL_INT, GQL_FLOAT, GQL_STRING, GQL_BOOLEAN,
                  GQL_ID };

/* Where a directive may stand; bit numbers, in introspection's order. */
enum gql_dloc {
    GQL_DL_QUERY, GQL_DL_MUTATION, GQL_DL_SUBSCRIPTION, GQL_DL_FIELD,
    GQL_DL_FRAGMENT_DEFINITION, GQL_DL_FRAGMENT_SPREAD,
    GQL_DL_INLINE_FRAGMENT, GQL_DL_VARIABLE_DEFINITION, GQL_DL_SCHEMA,
    GQL_DL_SCALAR, GQL_DL_OBJECT, GQL_DL_FIELD_DEFINITION,
    GQL_DL_ARGUMENT_DEFINITION, GQL_DL_INTERFACE, GQL_DL_UNION, GQL_DL_ENUM,
    GQL_DL_ENUM_VALUE, GQL_DL_INPUT_OBJECT, GQL_DL_INPUT_FIELD_DEFINITION,
    GQL_DL_COUNT,
};

/* A type as a field or argument uses it: named, or a list or non-null
 * wrapping another. A named type's own reference is embedded in it. */
struct gql_typeref {
    enum gql_tkind kind;
    struct gql_type *named;       /* GQL_T_NAMED */
    struct gql_typeref *of;
};

struct gql_link {
    const char *name;
    struct gql_type *type;        /* set by gql_schema_finish */
    struct gql_link *next;
};

struct gql_enum_value {
    const char *name, *description, *deprecation;
    struct gql_enum_value *next;
};

/* An argument, or an input object's field. */
struct gql_input {
    const char *name, *description, *deprecation;
    const char *type_text;
    struct gql_typeref *type;
    const char *default_text;     /* a GraphQL literal, or NULL */
    json_t *default_value;        /* coerced by finish; owned */
    struct gql_schema *schema;
    struct gql_input *next;
};

struct gql_field {
    const char *name, *description, *deprecation;
    const char *type_text;
    struct gql_typeref *type;
    struct gql_input *args, **args_tail;
    gql_resolver resolve;
    const void *data;
    struct gql_schema *schema;
    struct gql_field *next;
};

struct gql_type {
    enum gql_kind kind;
    enum gql_scalar scalar;
    const char *name, *description;
    struct gql_field *fields, **fields_tail;
    struct gql_input *inputs, **inputs_tail;
    struct gql_enum_value *values, **values_tail;
    struct gql_link *interfaces, **interfaces_tail;
    struct gql_link *possible, **possible_tail;   /* unions and interfaces */
    struct gql_typeref ref;       /* NAMED, pointing at this type */
    bool builtin;                 /* not printed in SDL */
    struct gql_schema *schema;
    struct gql_type *next;
};

struct gql_directive {
    const char *name, *description;
    unsigned locations;           /* bits of enum gql_dloc */
    struct gql_input *args;
    struct gql_directive *next;
};

struct gql_schema {
    struct gql_arena arena;
    struct gql_type *types, **types_tail;
    struct gql_type *query, *mutation;
    struct gql_directive *directives;
    struct gql_field *typename_field, *schema_field, *type_field;
    char fault[160];              /* the first building error */
    bool finished;
};

/* schema.c */
struct gql_type *gql_schema_find(const struct gql_schema *s,
                                 const char *name);
const struct gql_field *gql_field_find(const struct gql_schema *s,
                                       const struct gql_type *t,
                                       const char *name);
const struct gql_directive *gql_directive_find(const struct gql_schema *s,
                                               const char *name);
const struct gql_input *gql_input_find(const struct gql_input *list,
                                       const char *name);
const struct gql_enum_value *gql_enum_find(const struct gql_type *t,
                                           const char *name, size_t len);
void gql_schema_fault(struct gql_schema *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
struct gql_field *gql_field_new(struct gql_schema *s, const char *name,
                                const char *type, gql_resolver resolve,
                                const char *description);
struct gql_input *gql_input_new(struct gql_schema *s, const char *name,
                                const char *type, const char *default_value,
                                const char *description);
struct gql_directive *gql_directive_new(struct gql_schema *s,
                                        const char *name,
                                        const char *description,
                                        unsigned locations);

/* graphql.c */
json_t *gql_message_json(const char *message);
int gql_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* types.c */
bool gql_is_input_type(const struct gql_type *t);
bool gql_is_output_type(const struct gql_type *t);
bool gql_is_leaf(const struct gql_type *t);
bool gql_is_composite(const struct gql_type *t);
bool gql_is_abstract(const struct gql_type *t);
const struct gql_type *gql_named(const struct gql_typeref *t);
bool gql_is_possible(const struct gql_type *abstract,
                     const struct gql_type *object);
bool gql_types_overlap(const struct gql_type *a, const struct gql_type *b);
bool gql_is_subtype(const struct gql_typeref *sub,
                    const struct gql_typeref *super);
struct gql_typeref *gql_typeref_from_ast(struct gql_arena *arena,
                                         const struct gql_schema *s,
                                         const struct gql_ast_type *t,
                                         const char **unknown);
bool gql_typeref_equal(const struct gql_typeref *a,
                       const struct gql_typeref *b);
void gql_typeref_format(const struct gql_typeref *t, char *out, size_t n);
const char *gql_dloc_name(enum gql_dloc loc);

/* coerce.c: a variable met inside a literal. Returns 0 with *out (a new
 * reference), 1 when the variable is absent, -1 with err on error. */
typedef int (*gql_var_fn)(void *user, const struct gql_ast_value *var,
                          const struct gql_typeref *expected,
                          bool has_default, json_t **out,
                          char *err, size_t errlen);
int gql_coerce_literal(const struct gql_typeref *t,
                       const struct gql_ast_value *v, gql_var_fn on_var,
                       void *user, json_t **out, char *err, size_t errlen);
int gql_coerce_json(const struct gql_typeref *t, json_t *in, json_t **out,
                    char *err, size_t errlen);
json_t *gql_serialize_leaf(const struct gql_type *t, json_t *v,
                           char *err, size_t errlen);
int gql_print_literal(const struct gql_typeref *t, json_t *v,
                      struct buf *out);

/* introspect.c */
void gql_introspection_add(struct gql_schema *s);

/* call.c, for introspection */
const struct gql_schema *gql_call_schema(const struct gql_call *c);
const struct gql_type *gql_call_parent_type(const struct gql_call *c);

#endif
