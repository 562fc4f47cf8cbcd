/* The GraphQL endpoint's glue (POST /graphql, GET /graphql, the explorer
 * and the SDL): the schema over the cluster model, its resolvers, and the
 * driver that runs a request's passes and performs the data fetches its
 * resolvers ask for (store reads, and the writes of mutations) without
 * blocking the loop. The engine itself is src/graphql (pure).
 *
 * Objects are the REST routes' own JSON (views.c, task_to_json, the GPU
 * encoders of api_graphql_views.c): a field reads its member under the
 * snake_case name, so GraphQL and REST show the same values. Fields that
 * lead further (Host.gpus, GPU.telemetry, Task.logs, ...) find the parent
 * again by its id in the cluster, or ask for a fetch.
 *
 * Files: api_graphql.c (routes, HTTP in and out), api_graphql_input.c
 * (request parsing and argument checks: pure), api_graphql_run.c (passes
 * and fetches), api_graphql_reads.c (store reads to JSON),
 * api_graphql_mutate.c (mutations), api_graphql_schema.c (types),
 * api_graphql_query.c (root fields), api_graphql_links.c and
 * api_graphql_work.c (fields leading on), api_graphql_views.c (GPU, host,
 * cluster and sample JSON). */
#ifndef GANTRY_API_GRAPHQL_H
#define GANTRY_API_GRAPHQL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dict.h"
#include "core/fleet.h"
#include "graphql/graphql.h"
#include "graphql/schema.h"
#include "http.h"
#include "store/reads.h"

/* Bounds of the arguments (the engine's limits bound the request). */
#define API_GQL_MAX_SERIES 100000     /* GPU.telemetry, Worker.metrics limit */
#define API_GQL_MAX_LOGS 10000        /* Task.logs, events limit */
#define API_GQL_MAX_TASKS 1000        /* tasks limit */
#define API_GQL_MAX_LIST 100000000L   /* gpus limit and offset */


/* A field of an object type read from a member of its JSON, or a field of
 * an input type and the REST body's name for it. */
struct api_gql_member {
    const char *name, *type, *json, *description;
};

/* A request as the endpoint received it: text and JSON borrowed from the
 * parsed body or decoded parameters. */
struct api_gql_input {
    const char *query;
    size_t len;
    const char *operation_name;   /* NULL: none */
    json_t *variables;            /* object or NULL */
};

/* A time series window asked for by a field's arguments. */
struct api_gql_window {
    int64_t start_ms, end_ms;     /* valid when has_start / has_end */
    int has_start, has_end;
    long limit;
    int desc;
};

/* One request in flight: what the resolvers see as context (per pass: the
 * fleet index, built when first needed; the mutations met so far) and what
 * the driver keeps between passes (the fetches still out). */
struct api_gql {
    uint64_t id;
    uint64_t conn_id, seq;        /* the HTTP request to answer */
    struct gql_request *r;
    size_t waiting;               /* fetches started, not answered yet */
    int starting;                 /* starting fetches: answers do not resume */
    int admin;                    /* mutations allowed */
    struct fleet fleet;
    int have_fleet;
    unsigned mutations;
    struct dict_node node;        /* in the table of requests in flight */
};

/* Fetch keys start with one of these and a ':', so the driver knows what
 * to do with them. */
#define API_GQL_GPU_SAMPLES "gpu-samples"
#define API_GQL_WORKER_SAMPLES "worker-samples"
#define API_GQL_TASK_LOGS "task-logs"
#define API_GQL_EVENTS "events"
#define API_GQL_TASK "task"
#define API_GQL_MUTATION "mutation"

/* api_graphql.c */
int api_graphql_register(void);
const struct gql_schema *api_gql_schema(void);

/* api_graphql_input.c: parsing and argument checks (no I/O). */
extern const struct api_gql_member api_gql_task_input[];
int api_gql_parse_post(json_t *body, struct api_gql_input *in, char *err, size_t errlen);
int api_gql_parse_variables(const char *text, json_t **out, char *err, size_t errlen);
enum gql_status api_gql_window(struct gql_call *c, long max_limit, struct api_gql_window *w);
json_t *api_gql_window_args(const struct api_gql_window *w);
int api_gql_arg_count(struct gql_call *c, const char *name, long def, long max, long *out);
int api_gql_page(struct gql_call *c, size_t total, struct fleet_page *p);
void api_gql_page_args(struct gql_field *f);
json_t *api_gql_task_body(json_t *input);
const char *api_gql_task_field(const char *snake);
json_t *api_gql_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* api_graphql_schema.c */
struct gql_schema *api_gql_schema_build(void);
enum gql_status api_gql_member(struct gql_call *c);
void api_gql_add_members(struct gql_type *t, const struct api_gql_member *m);

/* api_graphql_run.c: the driver. */
int api_gql_start(struct http_req *req, const struct api_gql_input *in, int post, int admin);
struct api_gql *api_gql_find(uint64_t id);
const struct fleet *api_gql_fleet(struct gql_call *c);
int api_gql_supply_now(struct api_gql *q, size_t i, json_t *value, const char *error);
void api_gql_answered(uint64_t id, size_t i, json_t *value, const char *error);

/* api_graphql_reads.c and api_graphql_mutate.c: start fetch i of q.
 * Return 1 when it answers later (api_gql_answered), 0 when it was
 * answered already (api_gql_supply_now). */
int api_gql_read(struct api_gql *q, size_t i, const char *key, json_t *args);
int api_gql_mutate(struct api_gql *q, size_t i, json_t *args);

/* api_graphql_query.c, api_graphql_links.c, api_graphql_work.c. */
void api_gql_add_query(struct gql_schema *s);
void api_gql_add_mutation(struct gql_schema *s);
void api_gql_links_gpu(struct gql_type *t);
void api_gql_links_host(struct gql_type *t);
void api_gql_links_cluster(struct gql_type *t);
void api_gql_links_worker(struct gql_type *t);
void api_gql_links_task(struct gql_type *t);
void api_gql_links_task_ref(struct gql_type *t);
void api_gql_links_worker_ref(struct gql_type *t);
enum gql_status api_gql_gpu_list(struct gql_call *c, const struct worker_gpu *const *v,
                                 size_t n);
enum gql_status api_gql_fetch_range(struct gql_call *c, const char *kind, const char *id,
                                    json_t *range);
json_t *api_gql_worker_view(const struct worker *w);
enum gql_status api_gql_worker_json(struct gql_call *c, const char *id);
enum gql_status api_gql_task_json(struct gql_call *c, const char *id);

#endif
