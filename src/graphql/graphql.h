/* GraphQL for gantryd: a lexer, parser, validator and executor over a
 * resolver table (schema.h). Pure: no I/O, no loop. Follows the October 2021
 * edition of the GraphQL specification for executable documents.
 *
 * A request's life, as the HTTP glue drives it:
 *
 *   r = gql_request_new(schema, text, len, operationName, variables,
 *                       &limits, &response);
 *   if (!r) -> send response ({"errors":[...]}: syntax, validation,
 *              variables, operation selection)
 *   while (gql_request_run(r, ctx, &response) == GQL_RUN_FETCH) {
 *       for each i < gql_request_fetch_count(r):
 *           key = gql_request_fetch(r, i, &args);  start it, asynchronously
 *       ... later, when every answer is in:
 *           gql_request_supply(r, key, value) or gql_request_supply_error()
 *   }
 *   send response ({"data":..., "errors":[...]}); gql_request_free(r);
 *
 * Asynchronous data. gantryd never blocks, so a resolver cannot wait for
 * Redis. Instead it asks the request's cache with gql_fetch(call, key, args,
 * &value) (schema.h): a hit gives the value; a miss records (key, args) as
 * wanted and the resolver returns GQL_PENDING. The executor finishes the
 * pass (other fields may want data too, so one pass gathers every fetch it
 * can see), then gql_request_run() answers GQL_RUN_FETCH and throws the
 * pass's result away. The caller performs the fetches however it likes,
 * supplies the answers, and runs again: the next pass finds them in the
 * cache and goes deeper. Each pass starts from the root, so a resolver never
 * holds a pointer across a wait. Passes are bounded (max_rounds): on the last
 * one a miss is a field error naming the limit. The number of distinct
 * fetches is bounded too (max_fetches). Side effects (mutations) must go
 * through a fetch (the glue performs the write and supplies its answer), or
 * be idempotent, because a resolver may run once per pass; root mutation
 * fields run one after another, and a pending one stops the pass there.
 *
 * Limits, all per request: the document's bytes and tokens and its nesting
 * are checked while parsing (no recursion deeper than max_nesting, however
 * hostile the text), the depth of fields after fragments are expanded by the
 * validator, and fields resolved and points charged (gql_charge, for time
 * series samples) by the executor. Past one: a GraphQL error naming it. */
#ifndef GANTRY_GRAPHQL_H
#define GANTRY_GRAPHQL_H

#include <jansson.h>
#include <stddef.h>

struct buf;
struct gql_schema;
struct gql_document;
struct gql_request;

struct gql_limits {
    size_t max_bytes;      /* document size (default 64 KiB) */
    size_t max_tokens;     /* tokens in a document (default 10,000) */
    unsigned max_depth;    /* nested fields, fragments expanded (15) */
    unsigned max_nesting;  /* selection sets, values, list types and
                              fragment spreads nested in the text (64) */
    size_t max_fields;     /* fields resolved per pass (20,000) */
    long max_points;       /* points charged by resolvers (100,000) */
    size_t max_fetches;    /* distinct data fetches per request (256) */
    unsigned max_rounds;   /* execution passes per request (4) */
};

/* One error with where it happened; line 0 when it has no location. */
struct gql_error {
    char message[256];
    unsigned line, column;
};

enum gql_operation { GQL_OP_QUERY, GQL_OP_MUTATION, GQL_OP_SUBSCRIPTION };

enum gql_run { GQL_RUN_DONE, GQL_RUN_FETCH, GQL_RUN_NOMEM };

void gql_limits_default(struct gql_limits *l);

struct gql_document *gql_parse(const char *src, size_t len,
                               const struct gql_limits *limits,
                               struct gql_error *err);
void gql_document_free(struct gql_document *doc);
int gql_validate(const struct gql_schema *s, const struct gql_document *doc,
                 const struct gql_limits *limits, json_t *errors);
json_t *gql_error_json(const struct gql_error *err);
int gql_errors_add(json_t *errors, unsigned line, unsigned column,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

struct gql_request *gql_request_new(const struct gql_schema *s,
                                    const char *query, size_t len,
                                    const char *operation_name,
                                    json_t *variables,
                                    const struct gql_limits *limits,
                                    json_t **response);
enum gql_operation gql_request_operation(const struct gql_request *r);
enum gql_run gql_request_run(struct gql_request *r, void *ctx,
                             json_t **response);
size_t gql_request_fetch_count(const struct gql_request *r);
const char *gql_request_fetch(const struct gql_request *r, size_t i,
                              json_t **args);
int gql_request_supply(struct gql_request *r, const char *key,
                       json_t *value);
int gql_request_supply_error(struct gql_request *r, const char *key,
                             const char *message);
void gql_request_free(struct gql_request *r);

int gql_schema_print(const struct gql_schema *s, struct buf *out);

#endif
