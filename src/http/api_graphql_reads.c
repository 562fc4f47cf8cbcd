/* The fetches that read Redis, through the store's typed reads: a GPU's
 * samples, a worker's heartbeats, a task's output, the cluster's events,
 * a task's record. Each answer is turned into the JSON the matching REST
 * route shows, and supplied to the request (found again by its id: it
 * outlives its connection, never the reads it started). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_graphql.h"
#include "views_gpu.h"
#include "views.h"

/* The fetch's arguments, for a callback holding the request id and the
 * fetch's index. NULL when the request is gone (it never is while its
 * reads are out; this is a guard). */
static json_t *fetch_args(uint64_t id, uint64_t i)
{
    struct api_gql *q = api_gql_find(id);
    json_t *args = NULL;
    if (q)
        gql_request_fetch(q->r, (size_t)i, &args);
    return args;
}

static const char *args_id(json_t *args)
{
    return json_string_value(json_object_get(args, "id"));
}

/* GPU samples, as GET /api/v1/gpus/{uuid}/telemetry shows them. */
static void gpu_samples(int ok, const struct store_entry *e, size_t n, uint64_t id, uint64_t i)
{
    const char *uuid = args_id(fetch_args(id, i));
    const struct worker_gpu *g = uuid ? cluster_gpu(api_env->cl, uuid) : NULL;
    struct view_gpu_ref ref;
    struct gpu_sample s;
    if (!ok || !g) {
        api_gql_answered(id, (size_t)i, NULL, ok ? "The GPU has left the cluster."
                                                 : "Could not read samples from redis.");
        return;
    }
    view_gpu_ref(g, &ref);
    json_t *a = json_array();
    for (size_t k = 0; a && k < n; k++) {
        view_sample_from_entry(&e[k], &s);
        json_array_append_new(a, view_gpu_point(&ref, s.ts, &s, 0));
    }
    api_gql_answered(id, (size_t)i, a, a ? NULL : "out of memory");
}

/* Worker heartbeats, as GET /api/workers/{id}/metrics shows them. */
static void worker_samples(int ok, const struct store_entry *e, size_t n, uint64_t id,
                           uint64_t i)
{
    if (!ok) {
        api_gql_answered(id, (size_t)i, NULL, "Could not read history from redis.");
        return;
    }
    json_t *a = json_array();
    for (size_t k = 0; a && k < n; k++)
        json_array_append_new(a, view_heartbeat_entry(&e[k]));
    api_gql_answered(id, (size_t)i, a, a ? NULL : "out of memory");
}

/* Log lines, as GET /api/tasks/{id}/logs shows them. */
static void task_logs(int ok, const struct store_entry *e, size_t n, uint64_t id, uint64_t i)
{
    if (!ok) {
        api_gql_answered(id, (size_t)i, NULL, "Could not read the logs from redis.");
        return;
    }
    json_t *a = json_array();
    for (size_t k = 0; a && k < n; k++)
        json_array_append_new(a, view_log_entry(&e[k]));
    api_gql_answered(id, (size_t)i, a, a ? NULL : "out of memory");
}

/* Events, as GET /api/events shows them (the one encoder of an event read
 * back from Redis). */
static void events(int ok, const struct store_entry *e, size_t n, uint64_t id, uint64_t i)
{
    if (!ok) {
        api_gql_answered(id, (size_t)i, NULL, "Could not read events from redis.");
        return;
    }
    json_t *a = json_array();
    for (size_t k = 0; a && k < n; k++) {
        json_t *ev = view_event_entry(&e[k]);
        json_object_set_new(ev, "id", json_string(e[k].id));
        json_array_append_new(a, ev);
    }
    api_gql_answered(id, (size_t)i, a, a ? NULL : "out of memory");
}

static void task_record(int ok, json_t *record, uint64_t id, uint64_t i)
{
    api_gql_answered(id, (size_t)i, ok ? json_incref(record) : NULL,
                     ok ? NULL : "Could not read the task from redis.");
}

/* The store range a fetch's arguments describe; bounds are copied to
 * from and to (len bytes each). */
static void range_of(json_t *args, struct store_range *r, char *from, char *to, size_t len)
{
    json_t *start = json_object_get(args, "start"), *end = json_object_get(args, "end");
    if (json_is_integer(start))
        snprintf(from, len, "%lld", (long long)json_integer_value(start));
    else if (json_is_string(start))
        snprintf(from, len, "%s", json_string_value(start));
    snprintf(to, len, "%lld", (long long)json_integer_value(end));
    r->start = json_is_null(start) || !start ? NULL : from;
    r->end = json_is_integer(end) ? to : NULL;
    r->start_after = json_is_true(json_object_get(args, "after"));
    r->count = (long)json_integer_value(json_object_get(args, "limit"));
    r->newest_first = json_is_true(json_object_get(args, "desc"));
}

struct read_kind {
    const char *prefix;
    enum store_stream stream;
    store_entries_fn fn;
    const char *away;               /* the error when Redis is not connected */
};

static const struct read_kind kinds[] = {
    {API_GQL_GPU_SAMPLES, STREAM_GPU, gpu_samples,
     "Samples live in redis, which is not connected."},
    {API_GQL_WORKER_SAMPLES, STREAM_WORKER_TELEMETRY, worker_samples,
     "History lives in redis, which is not connected."},
    {API_GQL_TASK_LOGS, STREAM_TASK_LOGS, task_logs,
     "Logs live in redis, which is not connected."},
    {API_GQL_EVENTS, STREAM_EVENTS, events, "Events live in redis, which is not connected."},
};

/* Starts read fetch i of q (key, args as the resolver made them). Returns
 * 1 when the answer comes later, 0 when it was supplied already. */
int api_gql_read(struct api_gql *q, size_t i, const char *key, json_t *args)
{
    char from[64], to[64];
    const char *id = args_id(args);
    size_t plen = strcspn(key, ":");
    if (strncmp(key, API_GQL_TASK, plen) == 0 && plen == strlen(API_GQL_TASK)) {
        if (id && store_read_task(id, task_record, q->id, i) == 0)
            return 1;
        return api_gql_supply_now(q, i, NULL, "The task is not in memory, and redis (which "
                                  "keeps finished tasks) is not connected.");
    }
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        if (strncmp(key, kinds[k].prefix, plen) != 0 || plen != strlen(kinds[k].prefix))
            continue;
        if (kinds[k].stream == STREAM_GPU && !cluster_gpu(api_env->cl, id ? id : ""))
            return api_gql_supply_now(q, i, NULL, "The GPU has left the cluster.");
        struct store_range r;
        range_of(args, &r, from, to, sizeof(from));
        if (id && store_read_range(kinds[k].stream, id, &r, kinds[k].fn, q->id, i) == 0)
            return 1;
        return api_gql_supply_now(q, i, NULL, kinds[k].away);
    }
    return api_gql_supply_now(q, i, NULL, "The data fetch is of no known kind.");
}
