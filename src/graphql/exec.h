/* The executor's state for one pass over a request, and the request that
 * outlives the passes (its document, variables and fetch cache). Shared by
 * execute.c, collect.c, call.c and request.c. */
#ifndef GANTRY_GQL_EXEC_H
#define GANTRY_GQL_EXEC_H

#include "core/dict.h"
#include "internal.h"

/* Where a value stands in the response: a chain of keys and indices. */
struct gql_path {
    const struct gql_path *prev;
    const char *key;                /* NULL: index */
    size_t index;
};

/* One fetch a resolver asked for, and its answer once supplied. */
struct gql_fetch {
    char *key;
    json_t *args;
    json_t *value;
    char *error;
    bool answered;
};

struct gql_request {
    const struct gql_schema *schema;
    struct gql_document *doc;
    const struct gql_ast_definition *op;
    json_t *vars;                   /* coerced variable values */
    struct gql_limits limits;
    struct gql_fetch *fetches;
    size_t nfetches, cap, first_new;
    unsigned rounds;
};

struct gql_exec {
    struct gql_request *req;
    const struct gql_schema *schema;
    void *ctx;
    json_t *errors;
    struct gql_arena arena;         /* this pass's scratch */
    unsigned *stamps;               /* per definition: collect's visits */
    unsigned stamp;
    size_t fields, steps;
    long points;
    bool pending, last_round, stopped, over_points, nomem;
};

struct gql_item {
    void *object;
    const struct gql_type *type;
};

struct gql_call {
    struct gql_exec *ex;
    const struct gql_field *field;
    const struct gql_type *parent_type;
    void *parent;
    json_t *parent_json;
    json_t *args;
    const struct gql_ast_selection *node;
    const struct gql_path *path;
    /* the result, as the gql_return_* functions set it */
    json_t *json;
    void *object;
    const struct gql_type *type;
    struct gql_item *items;
    size_t n;
    bool is_list;
    bool waits;                     /* gql_fetch said GQL_PENDING */
    char message[256];
};

/* A group of fields sharing a response key, after collection. */
struct gql_group {
    struct dict_node node;
    const char *key;
    const struct gql_ast_selection **fields;
    size_t n, cap;
    struct gql_group *next;
};

/* collect.c */
struct gql_group *gql_collect(struct gql_exec *ex, const struct gql_type *t,
                              const struct gql_ast_selection *const *sets,
                              size_t nsets);
json_t *gql_coerce_args(struct gql_exec *ex, const struct gql_input *defs,
                        const struct gql_ast_arg *given, char *err,
                        size_t errlen);

/* execute.c */
json_t *gql_execute_pass(struct gql_exec *ex);
int gql_exec_error(struct gql_exec *ex, const struct gql_ast_selection *at,
                   const struct gql_path *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* call.c */
void gql_call_release(struct gql_call *c);
struct gql_fetch *gql_fetch_find(const struct gql_request *r,
                                 const char *key);

#endif
