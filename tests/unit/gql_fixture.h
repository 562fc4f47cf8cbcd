/* A small schema for the GraphQL tests: hosts and GPUs as C structs
 * (opaque objects), samples and tasks as JSON, a union, an interface, enums,
 * input objects, a custom scalar, and resolvers that fail, return null,
 * charge points or wait for fetched data (one round and two). Shared by
 * test_graphql_validate.c and test_graphql_exec.c. */
#ifndef GANTRY_TEST_GQL_FIXTURE_H
#define GANTRY_TEST_GQL_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphql/graphql.h"
#include "graphql/schema.h"

struct fx_host {
    const char *hostname;
};

struct fx_gpu {
    const char *uuid, *name, *status;
    int index;
    const struct fx_host *host;
};

static const struct fx_host fx_hosts[] = {{"node-a"}, {"node-b"}};
static const struct fx_gpu fx_gpus[] = {
    {"GPU-1", "H100", "OK", 0, &fx_hosts[0]},
    {"GPU-2", "H100", "DRAINING", 1, &fx_hosts[0]},
    {"GPU-3", "A100", "OK", 0, &fx_hosts[1]},
};
#define FX_NGPUS (sizeof(fx_gpus) / sizeof(fx_gpus[0]))

static enum gql_status fx_gpus_resolve(struct gql_call *c)
{
    const char *host = json_string_value(gql_call_arg(c, "hostname"));
    json_t *limit = gql_call_arg(c, "limit");
    size_t max = limit ? (size_t)json_integer_value(limit) : FX_NGPUS;
    size_t skip = (size_t)json_integer_value(gql_call_arg(c, "offset"));
    const struct fx_gpu *pick[FX_NGPUS];
    size_t n = 0;
    for (size_t i = 0; i < FX_NGPUS; i++)
        if (!host || strcmp(fx_gpus[i].host->hostname, host) == 0)
            pick[n++] = &fx_gpus[i];
    size_t from = skip < n ? skip : n;
    size_t count = n - from < max ? n - from : max;
    if (gql_return_list(c, count) != GQL_OK)
        return GQL_ERROR;
    for (size_t i = 0; i < count; i++)
        gql_list_set(c, i, (void *)pick[from + i], NULL);
    return GQL_OK;
}

static enum gql_status fx_gpu_resolve(struct gql_call *c)
{
    const char *uuid = json_string_value(gql_call_arg(c, "uuid"));
    for (size_t i = 0; i < FX_NGPUS; i++)
        if (strcmp(fx_gpus[i].uuid, uuid) == 0)
            return gql_return_object(c, (void *)&fx_gpus[i], NULL);
    return gql_return_object(c, NULL, NULL);
}

/* The fields of GPU, from its struct. */
static enum gql_status fx_gpu_field(struct gql_call *c)
{
    const struct fx_gpu *g = gql_call_parent(c);
    const char *f = gql_call_field(c);
    if (strcmp(f, "id") == 0 || strcmp(f, "uuid") == 0)
        return gql_return_json(c, json_string(g->uuid));
    if (strcmp(f, "name") == 0)
        return gql_return_json(c, json_string(g->name));
    if (strcmp(f, "index") == 0)
        return gql_return_json(c, json_integer(g->index));
    if (strcmp(f, "status") == 0)
        return gql_return_json(c, json_string(g->status));
    if (strcmp(f, "host") == 0)
        return gql_return_object(c, (void *)g->host, NULL);
    if (strcmp(f, "broken") == 0)
        return gql_fail(c, "sensor %s is unreadable", g->uuid);
    if (strcmp(f, "badEnum") == 0)
        return gql_return_json(c, json_string("EXPLODED"));
    return gql_return_json(c, NULL);        /* strict: a null for String! */
}

/* GPU.telemetry: `limit` samples, each charged as one point. An argument
 * given as null arrives as JSON null, not as its default. */
static enum gql_status fx_telemetry(struct gql_call *c)
{
    json_int_t limit = json_integer_value(gql_call_arg(c, "limit"));
    const char *order = json_string_value(gql_call_arg(c, "order"));
    int desc = !order || strcmp(order, "DESC") == 0;
    if (gql_charge(c, (long)limit) != GQL_OK)
        return GQL_ERROR;
    json_t *arr = json_array();
    for (json_int_t i = 0; i < limit; i++) {
        json_int_t t = desc ? 100 - i : 100 + i;
        json_array_append_new(arr, json_pack("{s:f,s:f,s:i}", "timestamp",
                                             (double)t, "utilization",
                                             50.5, "temperature", 60));
    }
    return gql_return_json(c, arr);
}

static enum gql_status fx_host_field(struct gql_call *c)
{
    const struct fx_host *h = gql_call_parent(c);
    const char *f = gql_call_field(c);
    if (strcmp(f, "gpus") == 0) {
        size_t n = 0;
        for (size_t i = 0; i < FX_NGPUS; i++)
            n += fx_gpus[i].host == h;
        if (gql_return_list(c, n) != GQL_OK)
            return GQL_ERROR;
        n = 0;
        for (size_t i = 0; i < FX_NGPUS; i++)
            if (fx_gpus[i].host == h)
                gql_list_set(c, n++, (void *)&fx_gpus[i], NULL);
        return GQL_OK;
    }
    if (strcmp(f, "labels") == 0)
        return gql_return_json(c, json_pack("{s:s,s:[i,i]}", "rack", "r1",
                                            "slots", 1, 2));
    return gql_return_json(c, json_string(h->hostname));
}

static enum gql_status fx_hosts_resolve(struct gql_call *c)
{
    if (gql_return_list(c, 2) != GQL_OK)
        return GQL_ERROR;
    gql_list_set(c, 0, (void *)&fx_hosts[0], NULL);
    gql_list_set(c, 1, (void *)&fx_hosts[1], NULL);
    return GQL_OK;
}

/* Query.things: a union, each item naming its type. */
static enum gql_status fx_things(struct gql_call *c)
{
    if (gql_return_list(c, 2) != GQL_OK)
        return GQL_ERROR;
    gql_list_set(c, 0, (void *)&fx_gpus[0], "GPU");
    gql_list_set(c, 1, (void *)&fx_hosts[1], "Host");
    return GQL_OK;
}

/* Query.node: an interface; "sample" gives a JSON object whose __typename
 * is not a Node, which completion must refuse. */
static enum gql_status fx_node(struct gql_call *c)
{
    const char *id = json_string_value(gql_call_arg(c, "id"));
    for (size_t i = 0; i < FX_NGPUS; i++)
        if (strcmp(fx_gpus[i].uuid, id) == 0)
            return gql_return_object(c, (void *)&fx_gpus[i], "GPU");
    for (size_t i = 0; i < 2; i++)
        if (strcmp(fx_hosts[i].hostname, id) == 0)
            return gql_return_object(c, (void *)&fx_hosts[i], "Host");
    if (strcmp(id, "sample") == 0)
        return gql_return_json(c, json_pack("{s:s,s:s}", "__typename",
                                            "Sample", "id", id));
    return gql_return_json(c, NULL);
}

/* Query.echo: the coerced arguments, as JSON text. */
static enum gql_status fx_echo(struct gql_call *c)
{
    json_t *args = json_object();
    const char *names[] = {"s", "i", "f", "b", "id", "e", "l", "in", "j"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        json_t *v = gql_call_arg(c, names[i]);
        if (v)
            json_object_set(args, names[i], v);
    }
    char *text = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(args);
    enum gql_status st = gql_return_json(c, json_string(text));
    free(text);
    return st;
}

/* Query.slow: one fetch, keyed by its argument. */
static enum gql_status fx_slow(struct gql_call *c)
{
    char key[128];
    json_t *v;
    snprintf(key, sizeof(key), "slow:%s",
             json_string_value(gql_call_arg(c, "key")));
    enum gql_status st = gql_fetch(c, key, json_pack("{s:s}", "what", "slow"),
                                   &v);
    return st == GQL_OK ? gql_return_json(c, json_incref(v)) : st;
}

/* Query.chain: two fetches, the second named by the first's answer, so
 * it takes two rounds. */
static enum gql_status fx_chain(struct gql_call *c)
{
    json_t *a, *b;
    char key[128];
    enum gql_status st = gql_fetch(c, "chain:a", NULL, &a);
    if (st != GQL_OK)
        return st;
    snprintf(key, sizeof(key), "chain:b:%s", json_string_value(a));
    if ((st = gql_fetch(c, key, NULL, &b)) != GQL_OK)
        return st;
    return gql_return_json(c, json_pack("{s:O,s:O}", "first", a, "second",
                                        b));
}

/* Mutation.submitTask: the write goes through a fetch, so a second pass
 * does not repeat it. */
static enum gql_status fx_submit(struct gql_call *c)
{
    json_t *in = gql_call_arg(c, "input"), *v;
    enum gql_status st = gql_fetch(c, "submit", json_deep_copy(in), &v);
    if (st != GQL_OK)
        return st;
    json_t *task = json_deep_copy(in);
    json_object_set(task, "id", json_object_get(v, "id"));
    return gql_return_json(c, task);
}

static int fx_cancel_calls;

static enum gql_status fx_cancel(struct gql_call *c)
{
    fx_cancel_calls++;
    const char *id = json_string_value(gql_call_arg(c, "id"));
    if (strcmp(id, "t-1") != 0)
        return gql_fail(c, "no task %s", id);
    return gql_return_json(c, json_pack("{s:s,s:[s],s:i}", "id", id,
                                        "command", "true", "gpus", 0));
}

/* Query.stuck: a resolver that waits without saying for what. */
static enum gql_status fx_stuck(struct gql_call *c)
{
    (void)c;
    return GQL_PENDING;
}

/* Query.big: n integers, each charged. */
static enum gql_status fx_big(struct gql_call *c)
{
    json_int_t n = json_integer_value(gql_call_arg(c, "n"));
    if (gql_charge(c, (long)n) != GQL_OK)
        return GQL_ERROR;
    json_t *arr = json_array();
    for (json_int_t i = 0; i < n; i++)
        json_array_append_new(arr, json_integer(i));
    return gql_return_json(c, arr);
}

static void fx_add_gpu(struct gql_schema *s)
{
    struct gql_type *t = gql_schema_object(s, "GPU", "One GPU of a host.");
    gql_type_implements(t, "Node");
    gql_type_field(t, "id", "ID!", fx_gpu_field, NULL);
    gql_type_field(t, "uuid", "String!", fx_gpu_field, "The NVML UUID.");
    gql_type_field(t, "name", "String", fx_gpu_field, "The model.");
    gql_type_field(t, "index", "Int!", fx_gpu_field, NULL);
    gql_type_field(t, "status", "Status", fx_gpu_field, NULL);
    gql_type_field(t, "host", "Host!", fx_gpu_field, NULL);
    gql_type_field(t, "broken", "String", fx_gpu_field, NULL);
    gql_type_field(t, "strict", "String!", fx_gpu_field, NULL);
    gql_type_field(t, "badEnum", "Status", fx_gpu_field, NULL);
    gql_field_deprecate(gql_type_field(t, "model", "String", fx_gpu_field,
                                       NULL), "Use name.");
    struct gql_field *f = gql_type_field(t, "telemetry", "[Sample!]!",
                                         fx_telemetry, "Recent samples.");
    gql_field_arg(f, "limit", "Int", "10", "How many.");
    gql_field_arg(f, "order", "Order", "DESC", NULL);
}

static void fx_add_types(struct gql_schema *s)
{
    struct gql_type *t = gql_schema_enum(s, "Order", NULL);
    gql_enum_value(t, "ASC", "Oldest first.", NULL);
    gql_enum_value(t, "DESC", "Newest first.", NULL);
    t = gql_schema_enum(s, "Status", "A GPU's state.");
    gql_enum_value(t, "OK", NULL, NULL);
    gql_enum_value(t, "DRAINING", NULL, NULL);
    gql_enum_value(t, "LOST", NULL, "No longer reported.");
    gql_schema_scalar(s, "JSON", "Any JSON value.");
    t = gql_schema_interface(s, "Node", "Anything with an id.");
    gql_type_field(t, "id", "ID!", NULL, NULL);
    fx_add_gpu(s);
    t = gql_schema_object(s, "Host", "A machine.\nIt holds GPUs.");
    gql_type_implements(t, "Node");
    gql_type_field(t, "id", "ID!", fx_host_field, NULL);
    gql_type_field(t, "hostname", "String!", fx_host_field, NULL);
    gql_type_field(t, "gpus", "[GPU!]!", fx_host_field, NULL);
    gql_type_field(t, "labels", "JSON", fx_host_field, NULL);
    t = gql_schema_object(s, "Sample", NULL);
    gql_type_field(t, "timestamp", "Float!", NULL, NULL);
    gql_type_field(t, "utilization", "Float", NULL, NULL);
    gql_type_field(t, "temperature", "Int", NULL, NULL);
    t = gql_schema_union(s, "Thing", NULL);
    gql_union_member(t, "GPU");
    gql_union_member(t, "Host");
    t = gql_schema_input(s, "LabelInput", NULL);
    gql_input_field(t, "key", "String!", NULL, NULL);
    gql_input_field(t, "value", "String", NULL, NULL);
    t = gql_schema_input(s, "TaskInput", "What to run.");
    gql_input_field(t, "command", "[String!]!", NULL, "argv");
    gql_input_field(t, "gpus", "Int", "0", NULL);
    gql_input_field(t, "priority", "Int", "5", NULL);
    gql_input_field(t, "labels", "[LabelInput!]", NULL, NULL);
    t = gql_schema_object(s, "Task", NULL);
    gql_type_field(t, "id", "ID!", NULL, NULL);
    gql_type_field(t, "command", "[String!]!", NULL, NULL);
    gql_type_field(t, "gpus", "Int!", NULL, NULL);
    gql_type_field(t, "priority", "Int", NULL, NULL);
    t = gql_schema_object(s, "Chain", NULL);
    gql_type_field(t, "first", "String", NULL, NULL);
    gql_type_field(t, "second", "String", NULL, NULL);
}

static void fx_add_roots(struct gql_schema *s)
{
    struct gql_type *q = gql_schema_object(s, "Query", NULL);
    struct gql_field *f = gql_type_field(q, "gpus", "[GPU!]!",
                                         fx_gpus_resolve, "Every GPU.");
    gql_field_arg(f, "hostname", "String", NULL, NULL);
    gql_field_arg(f, "limit", "Int", NULL, NULL);
    gql_field_arg(f, "offset", "Int", "0", NULL);
    f = gql_type_field(q, "gpu", "GPU", fx_gpu_resolve, NULL);
    gql_field_arg(f, "uuid", "String!", NULL, NULL);
    gql_type_field(q, "hosts", "[Host!]!", fx_hosts_resolve, NULL);
    gql_field_arg(gql_type_field(q, "node", "Node", fx_node, NULL), "id",
                  "ID!", NULL, NULL);
    gql_type_field(q, "things", "[Thing!]!", fx_things, NULL);
    f = gql_type_field(q, "echo", "String", fx_echo, NULL);
    const char *args[][2] = {{"s", "String"}, {"i", "Int"}, {"f", "Float"},
                             {"b", "Boolean"}, {"id", "ID"}, {"e", "Order"},
                             {"l", "[Int]"}, {"in", "TaskInput"},
                             {"j", "JSON"}};
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
        gql_field_arg(f, args[i][0], args[i][1], NULL, NULL);
    gql_field_arg(gql_type_field(q, "slow", "String", fx_slow, NULL), "key",
                  "String!", NULL, NULL);
    gql_type_field(q, "chain", "Chain", fx_chain, NULL);
    gql_type_field(q, "stuck", "String", fx_stuck, NULL);
    gql_field_arg(gql_type_field(q, "big", "[Int!]", fx_big, NULL), "n",
                  "Int!", NULL, NULL);
    struct gql_type *m = gql_schema_object(s, "Mutation", NULL);
    gql_field_arg(gql_type_field(m, "submitTask", "Task!", fx_submit, NULL),
                  "input", "TaskInput!", NULL, NULL);
    gql_field_arg(gql_type_field(m, "cancelTask", "Task", fx_cancel, NULL),
                  "id", "ID!", NULL, NULL);
}

/* The fixture schema, finished. */
static inline struct gql_schema *fx_schema(void)
{
    char err[256];
    struct gql_schema *s = gql_schema_new();
    fx_add_types(s);
    fx_add_roots(s);
    if (gql_schema_finish(s, "Query", "Mutation", err, sizeof(err)) < 0) {
        fprintf(stderr, "fixture schema: %s\n", err);
        abort();
    }
    return s;
}

static struct gql_schema *schema;

/* cmocka group setup and teardown: the fixture schema in `schema`. */
static int fx_setup(void **state)
{
    (void)state;
    schema = fx_schema();
    return 0;
}

static int fx_teardown(void **state)
{
    (void)state;
    gql_schema_free(schema);
    return 0;
}

#endif
