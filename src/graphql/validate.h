/* The validator's state, shared by validate.c (documents and operations),
 * validate_walk.c (selections, arguments, directives) and
 * validate_frag.c (the graph of fragment spreads). */
#ifndef GANTRY_GQL_VALIDATE_H
#define GANTRY_GQL_VALIDATE_H

#include "internal.h"

#define GQL_MAX_ERRORS 100

/* A variable used somewhere, with the type its position expects. */
struct gql_usage {
    const char *name;
    struct gql_loc loc;
    const struct gql_typeref *type;
    bool has_default;               /* the position has a default */
    struct gql_usage *next;
};

/* A fragment spread, with the depth and nesting where it stands. */
struct gql_spread {
    const struct gql_ast_definition *frag;
    struct gql_loc loc;
    unsigned depth, nesting;        /* of the set holding the spread */
    struct gql_spread *next;
};

enum gql_visit { GQL_WHITE, GQL_GRAY, GQL_BLACK };

/* What the walk learns of one definition. */
struct gql_summary {
    struct gql_usage *usages;
    struct gql_spread *spreads;
    unsigned depth, nesting;        /* own, then with fragments expanded */
    enum gql_visit state;
    unsigned stamp;
    bool used, cyclic;
};

struct gql_val {
    const struct gql_schema *s;
    const struct gql_document *doc;
    const struct gql_limits *limits;
    json_t *errors;
    size_t nerrors;
    struct gql_arena arena;
    struct gql_summary *sums;       /* by definition index */
    struct gql_summary *cur;        /* the definition being walked */
    unsigned stamp;
    bool nomem;
};

int gql_val_error(struct gql_val *v, struct gql_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gql_val_walk(struct gql_val *v, const struct gql_type *t,
                  const struct gql_ast_selection *sels);
void gql_val_directives(struct gql_val *v,
                        const struct gql_ast_directive *dirs,
                        enum gql_dloc where);
void gql_val_fragments(struct gql_val *v);
unsigned gql_val_capped(const struct gql_val *v, unsigned long n);

#endif
