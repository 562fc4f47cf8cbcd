/* Building a GraphQL schema in C, and the resolver's side of execution.
 *
 * The caller creates a schema, adds types, fields and arguments, then calls
 * gql_schema_finish() once; afterwards the schema is read-only and may serve
 * any number of requests. Types are named in text ("[GPU!]!"), defaults are
 * GraphQL literals ("10", "DESC"); both are checked by gql_schema_finish(),
 * which names the first problem. The builders copy every string and never
 * fail loudly: a NULL parent is ignored and an allocation failure is
 * remembered and reported by gql_schema_finish(), so building code need not
 * check each call. The built-in scalars (Int, Float, String, Boolean, ID),
 * directives (@include, @skip, @deprecated, @specifiedBy) and the
 * introspection types come with every schema.
 *
 * Resolvers. A field's resolver gets a gql_call and answers with one of the
 * gql_return_* functions (or gql_fail, gql_fetch's status). The parent is
 * what the parent field returned: an opaque pointer (gql_return_object) or a
 * JSON object. A field without a resolver reads the member of its name from
 * a JSON parent, so a resolver may return a whole JSON object (or array of
 * them) and let the default resolve the fields below. Leaf values are JSON
 * and are checked against the field's type (an Int must fit in 32 bits, an
 * enum must name a value). An object of an interface or union type names its
 * concrete type: in gql_return_object's `type`, or as a "__typename" member
 * of a JSON object. */
#ifndef GANTRY_GQL_SCHEMA_H
#define GANTRY_GQL_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

#include "graphql.h"

struct gql_schema;
struct gql_type;
struct gql_field;
struct gql_input;
struct gql_call;

enum gql_status { GQL_OK, GQL_ERROR, GQL_PENDING };

typedef enum gql_status (*gql_resolver)(struct gql_call *c);

struct gql_schema *gql_schema_new(void);
int gql_schema_finish(struct gql_schema *s, const char *query_type,
                      const char *mutation_type, char *err, size_t errlen);
void gql_schema_free(struct gql_schema *s);

struct gql_type *gql_schema_object(struct gql_schema *s, const char *name,
                                   const char *description);
struct gql_type *gql_schema_interface(struct gql_schema *s, const char *name,
                                      const char *description);
struct gql_type *gql_schema_union(struct gql_schema *s, const char *name,
                                  const char *description);
struct gql_type *gql_schema_enum(struct gql_schema *s, const char *name,
                                 const char *description);
struct gql_type *gql_schema_input(struct gql_schema *s, const char *name,
                                  const char *description);
struct gql_type *gql_schema_scalar(struct gql_schema *s, const char *name,
                                   const char *description);

void gql_type_implements(struct gql_type *t, const char *interface_name);
void gql_union_member(struct gql_type *u, const char *object_name);
void gql_enum_value(struct gql_type *e, const char *name,
                    const char *description, const char *deprecation);
struct gql_field *gql_type_field(struct gql_type *t, const char *name,
                                 const char *type, gql_resolver resolve,
                                 const char *description);
void gql_field_data(struct gql_field *f, const void *data);
void gql_field_deprecate(struct gql_field *f, const char *reason);
struct gql_input *gql_field_arg(struct gql_field *f, const char *name,
                                const char *type, const char *default_value,
                                const char *description);
struct gql_input *gql_input_field(struct gql_type *t, const char *name,
                                  const char *type, const char *default_value,
                                  const char *description);
void gql_input_deprecate(struct gql_input *in, const char *reason);

void *gql_call_ctx(const struct gql_call *c);
void *gql_call_parent(const struct gql_call *c);
json_t *gql_call_parent_json(const struct gql_call *c);
json_t *gql_call_arg(const struct gql_call *c, const char *name);
const void *gql_call_data(const struct gql_call *c);
const char *gql_call_field(const struct gql_call *c);

enum gql_status gql_return_json(struct gql_call *c, json_t *value);
enum gql_status gql_return_object(struct gql_call *c, void *object,
                                  const char *type);
enum gql_status gql_return_list(struct gql_call *c, size_t n);
void gql_list_set(struct gql_call *c, size_t i, void *object,
                  const char *type);
enum gql_status gql_fail(struct gql_call *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum gql_status gql_charge(struct gql_call *c, long points);
enum gql_status gql_fetch(struct gql_call *c, const char *key, json_t *args,
                          json_t **value);

#endif
