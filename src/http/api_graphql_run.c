/* The driver of a GraphQL request: runs its passes, starts the fetches a
 * pass asked for (reads from Redis, the writes of mutations), supplies
 * their answers as they come, runs again, and answers the HTTP request at
 * the end. Nothing waits: between passes the loop serves everyone else.
 * A request in flight is found by its id (the store's callbacks carry it),
 * never by a pointer held elsewhere; it lives until its last fetch has
 * answered, even when its connection has gone. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_graphql.h"
#include "core/dict.h"

static struct {
    struct dict live;               /* id -> struct api_gql */
    uint64_t next_id;
} run;

static int same_id(const struct dict_node *n, const void *key, size_t len)
{
    (void)len;
    return container_of(n, struct api_gql, node)->id == *(const uint64_t *)key;
}

/* The request in flight with this id, or NULL. */
struct api_gql *api_gql_find(uint64_t id)
{
    if (!run.live.match)
        return NULL;
    struct dict_node *n = dict_find(&run.live, &id, sizeof(id));
    return n ? container_of(n, struct api_gql, node) : NULL;
}

/* The fleet index for this pass, built on first use (the driver frees it
 * when the pass ends). NULL on no memory. */
const struct fleet *api_gql_fleet(struct gql_call *c)
{
    struct api_gql *q = gql_call_ctx(c);
    if (!q->have_fleet) {
        if (fleet_build(&q->fleet, api_env->cl, api_env->cluster_name, FLEET_GPU_HOSTS) < 0)
            return NULL;
        q->have_fleet = 1;
    }
    return &q->fleet;
}

static void drop(struct api_gql *q)
{
    dict_remove(&run.live, &q->node);
    gql_request_free(q->r);
    free(q);
}

/* Answers the HTTP request (when its connection is still there) and
 * frees q. response NULL: memory ran out. */
static void finish(struct api_gql *q, json_t *response)
{
    struct http_req *req = http_req_find(q->conn_id, q->seq);
    if (req && response)
        http_reply_json(req, 200, response);
    else if (req)
        http_reply_json(req, 503, api_gql_error("The server ran out of memory."));
    else
        json_decref(response);
    drop(q);
}

/* Starts the fetches the last pass asked for. Returns how many answer
 * later. */
static size_t start_fetches(struct api_gql *q)
{
    size_t n = gql_request_fetch_count(q->r);
    q->starting = 1;
    for (size_t i = 0; i < n; i++) {
        json_t *args;
        const char *key = gql_request_fetch(q->r, i, &args);
        size_t plen = strlen(API_GQL_MUTATION);
        q->waiting++;
        int later = strncmp(key, API_GQL_MUTATION, plen) == 0 && key[plen] == ':'
                        ? api_gql_mutate(q, i, args)
                        : api_gql_read(q, i, key, args);
        if (!later)
            q->waiting--;
    }
    q->starting = 0;
    return q->waiting;
}

/* Runs passes until one needs data that is not there yet (then returns 0;
 * the last answer resumes it) or the response is made (answered, q freed:
 * returns 1). */
static int step(struct api_gql *q)
{
    for (;;) {
        json_t *response;
        q->mutations = 0;
        enum gql_run rc = gql_request_run(q->r, q, &response);
        if (q->have_fleet)
            fleet_free(&q->fleet);
        q->have_fleet = 0;
        if (rc != GQL_RUN_FETCH) {
            finish(q, rc == GQL_RUN_DONE ? response : NULL);
            return 1;
        }
        if (start_fetches(q) > 0)
            return 0;
    }
}

static void supply(struct api_gql *q, size_t i, json_t *value, const char *error)
{
    const char *key = gql_request_fetch(q->r, i, NULL);
    if (error)
        gql_request_supply_error(q->r, key, error);
    else
        gql_request_supply(q->r, key, value);
}

/* Answers fetch i of q at once (value stolen; error instead of a value
 * when it failed). Returns 0, for api_gql_read and api_gql_mutate. */
int api_gql_supply_now(struct api_gql *q, size_t i, json_t *value, const char *error)
{
    supply(q, i, value, error);
    if (error)
        json_decref(value);
    return 0;
}

/* Answers fetch i of request id later (from a store callback); the last
 * answer runs the request on. value is stolen. */
void api_gql_answered(uint64_t id, size_t i, json_t *value, const char *error)
{
    struct api_gql *q = api_gql_find(id);
    if (!q) {
        json_decref(value);
        return;
    }
    api_gql_supply_now(q, i, value, error);
    if (--q->waiting == 0 && !q->starting)
        step(q);
}

static struct api_gql *track(struct http_req *req, struct gql_request *r, int admin)
{
    struct api_gql *q = calloc(1, sizeof(*q));
    if (!run.live.match)
        dict_init(&run.live, same_id);
    if (!q)
        return NULL;
    q->id = ++run.next_id;
    q->conn_id = req->conn_id;
    q->seq = req->seq;
    q->r = r;
    q->admin = admin;
    if (dict_insert(&run.live, &q->node, &q->id, sizeof(q->id)) < 0) {
        free(q);
        return NULL;
    }
    return q;
}

/* Runs a request for req: answers it at once (returns 0) or later
 * (returns HTTP_ASYNC). post: it came by POST (mutations may); admin: its
 * token may change things. */
int api_gql_start(struct http_req *req, const struct api_gql_input *in, int post, int admin)
{
    struct gql_limits limits;
    json_t *response;
    gql_limits_default(&limits);
    limits.max_bytes = in->len + 1;       /* http.max_body_size bounds it */
    struct gql_request *r = gql_request_new(api_gql_schema(), in->query, in->len,
                                            in->operation_name, in->variables, &limits,
                                            &response);
    if (!r)
        return http_reply_json(req, response ? 400 : 503,
                               response ? response : api_gql_error("out of memory"));
    if (gql_request_operation(r) == GQL_OP_MUTATION && (!post || !admin)) {
        gql_request_free(r);
        return post ? http_reply_json(req, 403, api_gql_error("Mutations need an admin token."))
                    : http_reply_json(req, 405, api_gql_error("Mutations are sent with POST."));
    }
    struct api_gql *q = track(req, r, admin);
    if (!q) {
        gql_request_free(r);
        return http_reply_json(req, 503, api_gql_error("out of memory"));
    }
    return step(q) ? 0 : HTTP_ASYNC;
}
