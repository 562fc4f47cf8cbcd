/* Unit tests: GraphQL execution over the fixture's resolvers: results,
 * partial results and null propagation, variables, fetch rounds, limits,
 * request errors and introspection. With GANTRY_GQL_DUMP=DIR set, also
 * writes DIR/introspection.json and DIR/schema.graphql, and answers
 * DIR/documents.json (a list of documents) with DIR/verdicts.json, for
 * scripts/graphql_crosscheck.py to compare with graphql-core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "gql_fixture.h"

/* Answers for fetches by key; a value starting with '!' is a failure. */
static const char *const answers[][2] = {
    {"slow:x", "\"done x\""},
    {"slow:y", "\"done y\""},
    {"slow:bad", "!redis is away"},
    {"chain:a", "\"A\""},
    {"chain:b:A", "\"B after A\""},
    {"submit", "{\"id\": \"t-9\"}"},
};

struct trace {
    int rounds;             /* runs that asked for fetches */
    int fetches;
    json_t *args;           /* the args of the last fetch */
};

static void answer(struct gql_request *r, struct trace *t)
{
    size_t n = gql_request_fetch_count(r);
    assert_true(n > 0);
    t->rounds++;
    for (size_t i = 0; i < n; i++) {
        json_t *args;
        const char *key = gql_request_fetch(r, i, &args);
        const char *value = NULL;
        t->fetches++;
        json_decref(t->args);
        t->args = json_incref(args);
        for (size_t j = 0; j < sizeof(answers) / sizeof(answers[0]); j++)
            if (strcmp(answers[j][0], key) == 0)
                value = answers[j][1];
        if (!value)
            continue;            /* left unanswered */
        if (value[0] == '!')
            assert_int_equal(gql_request_supply_error(r, key, value + 1), 0);
        else
            assert_int_equal(gql_request_supply(r, key,
                                                json_loads(value,
                                                           JSON_DECODE_ANY,
                                                           NULL)), 0);
    }
}

/* Runs query to its response, answering fetches from answers[]. */
static json_t *run(const char *query, const char *vars, const char *op,
                   const struct gql_limits *limits, struct trace *t)
{
    struct trace local = {0, 0, NULL};
    json_t *v = vars ? json_loads(vars, 0, NULL) : NULL, *response;
    if (vars)
        assert_non_null(v);
    if (!t)
        t = &local;
    struct gql_request *r = gql_request_new(schema, query, strlen(query), op,
                                            v, limits, &response);
    json_decref(v);
    if (!r) {
        assert_non_null(response);
        return response;
    }
    enum gql_run rc;
    while ((rc = gql_request_run(r, NULL, &response)) == GQL_RUN_FETCH)
        answer(r, t);
    assert_int_equal(rc, GQL_RUN_DONE);
    gql_request_free(r);
    json_decref(local.args);
    return response;
}

static void expect_json(json_t *got, const char *want_text)
{
    json_error_t jerr;
    json_t *want = json_loads(want_text, JSON_DECODE_ANY, &jerr);
    if (!want)
        fail_msg("bad expectation %s: %s", want_text, jerr.text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS);
        fail_msg("got  %s\nwant %s", g, want_text);
    }
    json_decref(want);
}

/* Runs query and compares its whole response with want. */
static void expect(const char *query, const char *vars, const char *want)
{
    json_t *got = run(query, vars, NULL, NULL, NULL);
    expect_json(got, want);
    json_decref(got);
}

/* The message of error i of a response, checked to contain needle. */
static json_t *error_at(json_t *response, size_t i, const char *needle)
{
    json_t *e = json_array_get(json_object_get(response, "errors"), i);
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (!msg || !strstr(msg, needle)) {
        char *s = json_dumps(response, 0);
        fail_msg("want error %zu with \"%s\" in %s", i, needle, s);
    }
    return e;
}

static void test_query_objects_and_lists(void **state)
{
    (void)state;
    expect("{ gpus { id uuid name index status } }", NULL,
           "{\"data\": {\"gpus\": ["
           "{\"id\": \"GPU-1\", \"uuid\": \"GPU-1\", \"name\": \"H100\", "
           "\"index\": 0, \"status\": \"OK\"},"
           "{\"id\": \"GPU-2\", \"uuid\": \"GPU-2\", \"name\": \"H100\", "
           "\"index\": 1, \"status\": \"DRAINING\"},"
           "{\"id\": \"GPU-3\", \"uuid\": \"GPU-3\", \"name\": \"A100\", "
           "\"index\": 0, \"status\": \"OK\"}]}}");
    expect("{ a: gpu(uuid: \"GPU-2\") { name host { hostname } } "
           "b: gpus(hostname: \"node-a\", limit: 1, offset: 1) { uuid } "
           "c: gpu(uuid: \"none\") { name } }", NULL,
           "{\"data\": {\"a\": {\"name\": \"H100\", \"host\": "
           "{\"hostname\": \"node-a\"}}, \"b\": [{\"uuid\": \"GPU-2\"}], "
           "\"c\": null}}");
    /* JSON results under default resolvers, arguments with defaults. */
    expect("{ gpu(uuid: \"GPU-1\") { telemetry(limit: 2) { timestamp "
           "utilization } asc: telemetry(limit: 1, order: ASC) "
           "{ timestamp } } }", NULL,
           "{\"data\": {\"gpu\": {\"telemetry\": [{\"timestamp\": 100.0, "
           "\"utilization\": 50.5}, {\"timestamp\": 99.0, \"utilization\": "
           "50.5}], \"asc\": [{\"timestamp\": 100.0}]}}}");
    /* A custom scalar passes its JSON through. */
    expect("{ hosts { labels } }", NULL,
           "{\"data\": {\"hosts\": [{\"labels\": {\"rack\": \"r1\", "
           "\"slots\": [1, 2]}}, {\"labels\": {\"rack\": \"r1\", "
           "\"slots\": [1, 2]}}]}}");
}

static void test_response_keeps_query_order(void **state)
{
    (void)state;
    json_t *got = run("{ gpu(uuid: \"GPU-1\") { uuid name index uuid "
                      "id } hosts { id } }", NULL, NULL, NULL, NULL);
    char *text = json_dumps(got, JSON_COMPACT);
    assert_string_equal(text, "{\"data\":{\"gpu\":{\"uuid\":\"GPU-1\","
                        "\"name\":\"H100\",\"index\":0,\"id\":\"GPU-1\"},"
                        "\"hosts\":[{\"id\":\"node-a\"},{\"id\":\"node-b\"}]}}");
    free(text);
    json_decref(got);
}

static void test_fragments_and_abstract_types(void **state)
{
    (void)state;
    expect("{ things { __typename ... on GPU { uuid } ... on Host "
           "{ hostname } } node(id: \"node-b\") { id ...H } "
           "n2: node(id: \"GPU-3\") { __typename ... on GPU { index } } }\n"
           "fragment H on Host { gpus { ...G } } fragment G on GPU { uuid }",
           NULL,
           "{\"data\": {\"things\": [{\"__typename\": \"GPU\", \"uuid\": "
           "\"GPU-1\"}, {\"__typename\": \"Host\", \"hostname\": "
           "\"node-b\"}], \"node\": {\"id\": \"node-b\", \"gpus\": "
           "[{\"uuid\": \"GPU-3\"}]}, \"n2\": {\"__typename\": \"GPU\", "
           "\"index\": 0}}}");
    /* Fields merged from several fragments under one key. */
    expect("{ gpu(uuid: \"GPU-1\") { host { hostname } ...F } }\n"
           "fragment F on GPU { host { id } __typename }", NULL,
           "{\"data\": {\"gpu\": {\"host\": {\"hostname\": \"node-a\", "
           "\"id\": \"node-a\"}, \"__typename\": \"GPU\"}}}");
    expect("{ __typename }", NULL, "{\"data\": {\"__typename\": \"Query\"}}");
}

static void test_directives(void **state)
{
    (void)state;
    const char *q = "query($yes: Boolean!, $no: Boolean = false) { "
                    "gpu(uuid: \"GPU-1\") { a: uuid @include(if: $yes) "
                    "b: uuid @skip(if: $yes) c: uuid @include(if: $no) "
                    "d: uuid @skip(if: $no) ... @include(if: false) { name } "
                    "...F @skip(if: true) e: uuid @include(if: true) "
                    "@skip(if: false) } } fragment F on GPU { index }";
    expect(q, "{\"yes\": true}", "{\"data\": {\"gpu\": {\"a\": \"GPU-1\", "
           "\"d\": \"GPU-1\", \"e\": \"GPU-1\"}}}");
}

static void test_variables_and_coercion(void **state)
{
    (void)state;
    const char *q = "query($s: String, $i: Int = 7, $f: Float, $b: Boolean, "
                    "$id: ID, $e: Order, $l: [Int], $in: TaskInput, "
                    "$j: JSON) { echo(s: $s, i: $i, f: $f, b: $b, id: $id, "
                    "e: $e, l: $l, in: $in, j: $j) }";
    json_t *got = run(q, "{\"s\": \"x\", \"f\": 2, \"b\": false, \"id\": 42, "
                      "\"e\": \"ASC\", \"l\": 5, \"in\": {\"command\": "
                      "\"ls\", \"labels\": [{\"key\": \"k\"}]}, \"j\": "
                      "{\"deep\": [null]}}", NULL, NULL, NULL);
    json_t *echo = json_loads(json_string_value(json_object_get(
        json_object_get(got, "data"), "echo")), 0, NULL);
    expect_json(echo, "{\"s\": \"x\", \"i\": 7, \"f\": 2.0, \"b\": false, "
                "\"id\": \"42\", \"e\": \"ASC\", \"l\": [5], \"in\": "
                "{\"command\": [\"ls\"], \"gpus\": 0, \"priority\": 5, "
                "\"labels\": [{\"key\": \"k\"}]}, \"j\": {\"deep\": [null]}}");
    json_decref(echo);
    json_decref(got);
    /* Literals: an Int is a Float, a single value a list; null given is
     * kept apart from a value left out. */
    expect("{ echo(f: 3, l: 4, s: null, in: {command: [\"a\"], "
           "priority: null}) }", NULL,
           "{\"data\": {\"echo\": \"{\\\"f\\\":3.0,\\\"in\\\":{\\\"command\\\":"
           "[\\\"a\\\"],\\\"gpus\\\":0,\\\"priority\\\":null},\\\"l\\\":[4],"
           "\\\"s\\\":null}\"}}");
}

static void test_variable_errors_are_request_errors(void **state)
{
    (void)state;
    const char *q = "query Q($u: String!, $n: Int) { gpu(uuid: $u) "
                    "{ telemetry(limit: $n) { timestamp } } }";
    json_t *r = run(q, "{}", NULL, NULL, NULL);
    assert_null(json_object_get(r, "data"));
    json_t *e = error_at(r, 0, "\"$u\" of required type String! was not "
                         "provided");
    expect_json(json_object_get(e, "locations"),
                "[{\"line\": 1, \"column\": 9}]");
    json_decref(r);
    r = run(q, "{\"u\": \"GPU-1\", \"n\": \"ten\"}", NULL, NULL, NULL);
    error_at(r, 0, "\"$n\" got an invalid value: Int cannot represent a "
             "string");
    json_decref(r);
    r = run(q, "{\"u\": \"GPU-1\", \"n\": 1e10}", NULL, NULL, NULL);
    error_at(r, 0, "Int cannot represent");
    json_decref(r);
    r = run(q, "{\"u\": null}", NULL, NULL, NULL);
    error_at(r, 0, "non-null type String!, found null");
    json_decref(r);
    r = run("query($in: TaskInput) { echo(in: $in) }",
            "{\"in\": {\"command\": [\"a\"], \"bogus\": 1}}", NULL, NULL,
            NULL);
    error_at(r, 0, "\"bogus\" is not defined by type TaskInput");
    json_decref(r);
    r = run(q, "[1]", NULL, NULL, NULL);
    error_at(r, 0, "Variables must be a JSON object");
    json_decref(r);
}

static void test_partial_results(void **state)
{
    (void)state;
    json_t *r = run("{ gpus { uuid broken } }", NULL, NULL, NULL, NULL);
    expect_json(json_object_get(r, "data"), "{\"gpus\": [{\"uuid\": "
                "\"GPU-1\", \"broken\": null}, {\"uuid\": \"GPU-2\", "
                "\"broken\": null}, {\"uuid\": \"GPU-3\", \"broken\": null}]}");
    assert_int_equal(json_array_size(json_object_get(r, "errors")), 3);
    json_t *e = error_at(r, 1, "sensor GPU-2 is unreadable");
    expect_json(json_object_get(e, "path"), "[\"gpus\", 1, \"broken\"]");
    expect_json(json_object_get(e, "locations"),
                "[{\"line\": 1, \"column\": 15}]");
    json_decref(r);
    r = run("{ gpu(uuid: \"GPU-1\") { badEnum } node(id: \"sample\") "
            "{ id } }", NULL, NULL, NULL, NULL);
    expect_json(json_object_get(r, "data"), "{\"gpu\": {\"badEnum\": null}, "
                "\"node\": null}");
    error_at(r, 0, "Enum Status has no value \"EXPLODED\"");
    error_at(r, 1, "Cannot tell which object type of Node");
    json_decref(r);
}

static void test_null_propagation(void **state)
{
    (void)state;
    /* strict is String!: its null makes the nullable gpu null. */
    json_t *r = run("{ gpu(uuid: \"GPU-1\") { uuid strict } hosts { id } }",
                    NULL, NULL, NULL, NULL);
    expect_json(json_object_get(r, "data"), "{\"gpu\": null, \"hosts\": "
                "[{\"id\": \"node-a\"}, {\"id\": \"node-b\"}]}");
    assert_int_equal(json_array_size(json_object_get(r, "errors")), 1);
    json_t *e = error_at(r, 0, "Cannot return null for non-nullable field "
                         "strict");
    expect_json(json_object_get(e, "path"), "[\"gpu\", \"strict\"]");
    json_decref(r);
    /* Through [GPU!]! to the root: data is null, one error per item. */
    r = run("{ hosts { id } gpus { strict } }", NULL, NULL, NULL, NULL);
    expect_json(json_object_get(r, "data"), "null");
    e = error_at(r, 0, "non-nullable");
    expect_json(json_object_get(e, "path"), "[\"gpus\", 0, \"strict\"]");
    json_decref(r);
    /* A resolver error on a non-null field propagates the same way, and a
     * nullable list holding it absorbs it. */
    r = run("mutation { cancelTask(id: \"t-1\") { id } a: cancelTask(id: "
            "\"t-2\") { id } }", NULL, NULL, NULL, NULL);
    expect_json(json_object_get(r, "data"), "{\"cancelTask\": {\"id\": "
                "\"t-1\"}, \"a\": null}");
    error_at(r, 0, "no task t-2");
    json_decref(r);
}

static void test_mutation_runs_its_write_once(void **state)
{
    (void)state;
    struct trace t = {0, 0, NULL};
    fx_cancel_calls = 0;
    json_t *r = run("mutation M($c: [String!]!) { submitTask(input: "
                    "{command: $c, gpus: 2}) { id command gpus priority } "
                    "cancelTask(id: \"t-1\") { id } }",
                    "{\"c\": [\"nvidia-smi\", \"-L\"]}", NULL, NULL, &t);
    expect_json(r, "{\"data\": {\"submitTask\": {\"id\": \"t-9\", "
                "\"command\": [\"nvidia-smi\", \"-L\"], \"gpus\": 2, "
                "\"priority\": 5}, \"cancelTask\": {\"id\": \"t-1\"}}}");
    assert_int_equal(t.rounds, 1);
    assert_int_equal(t.fetches, 1);
    expect_json(t.args, "{\"command\": [\"nvidia-smi\", \"-L\"], \"gpus\": "
                "2, \"priority\": 5}");
    /* Root mutation fields run in order: the second waited for the
     * first's write and ran only in the second pass. */
    assert_int_equal(fx_cancel_calls, 1);
    json_decref(t.args);
    json_decref(r);
}

static void test_fetch_rounds(void **state)
{
    (void)state;
    struct trace t = {0, 0, NULL};
    json_t *r = run("{ slow(key: \"x\") chain { first second } "
                    "again: slow(key: \"x\") other: slow(key: \"y\") }", NULL,
                    NULL, NULL, &t);
    expect_json(r, "{\"data\": {\"slow\": \"done x\", \"chain\": {\"first\": "
                "\"A\", \"second\": \"B after A\"}, \"again\": \"done x\", "
                "\"other\": \"done y\"}}");
    /* Round one: slow:x (asked twice, fetched once), chain:a, slow:y;
     * round two: chain:b:A. */
    assert_int_equal(t.rounds, 2);
    assert_int_equal(t.fetches, 4);
    json_decref(t.args);
    json_decref(r);
    r = run("{ slow(key: \"bad\") ok: slow(key: \"x\") never: "
            "slow(key: \"unanswered\") }", NULL, NULL, NULL, NULL);
    expect_json(json_object_get(r, "data"), "{\"slow\": null, \"ok\": "
                "\"done x\", \"never\": null}");
    error_at(r, 0, "redis is away");
    error_at(r, 1, "got no answer");
    json_decref(r);
    /* PENDING without a fetch would wait forever: an error at once. */
    r = run("{ stuck slow(key: \"x\") }", NULL, NULL, NULL, NULL);
    expect_json(json_object_get(r, "data"), "{\"stuck\": null, \"slow\": "
                "\"done x\"}");
    error_at(r, 0, "waits without asking for data");
    json_decref(r);
}

static void test_fetch_limits(void **state)
{
    (void)state;
    struct gql_limits l;
    gql_limits_default(&l);
    l.max_rounds = 2;
    json_t *r = run("{ chain { first } slow(key: \"x\") }", NULL, NULL, &l,
                    NULL);
    expect_json(json_object_get(r, "data"), "{\"chain\": null, \"slow\": "
                "\"done x\"}");
    json_t *e = error_at(r, 0, "more than 2 rounds of data fetches (limit "
                         "max_rounds)");
    expect_json(json_object_get(e, "path"), "[\"chain\"]");
    json_decref(r);
    gql_limits_default(&l);
    l.max_fetches = 1;
    r = run("{ a: slow(key: \"x\") b: slow(key: \"y\") }", NULL, NULL, &l,
            NULL);
    expect_json(json_object_get(r, "data"), "{\"a\": \"done x\", \"b\": "
                "null}");
    error_at(r, 0, "more than 1 data fetches (limit max_fetches)");
    json_decref(r);
}

static void test_points_and_fields_limits(void **state)
{
    (void)state;
    struct gql_limits l;
    gql_limits_default(&l);
    l.max_points = 40;
    json_t *r = run("{ a: big(n: 30) b: big(n: 10) c: big(n: 1) }", NULL,
                    NULL, &l, NULL);
    json_t *data = json_object_get(r, "data");
    assert_int_equal(json_array_size(json_object_get(data, "a")), 30);
    assert_int_equal(json_array_size(json_object_get(data, "b")), 10);
    assert_true(json_is_null(json_object_get(data, "c")));
    json_t *e = error_at(r, 0, "more than 40 points (limit max_points)");
    expect_json(json_object_get(e, "path"), "[\"c\"]");
    json_decref(r);
    gql_limits_default(&l);
    l.max_fields = 5;
    r = run("{ hosts { id } gpus { name } }", NULL, NULL, &l, NULL);
    expect_json(json_object_get(r, "data"), "{\"hosts\": [{\"id\": "
                "\"node-a\"}, {\"id\": \"node-b\"}], \"gpus\": [{\"name\": "
                "\"H100\"}, {\"name\": null}, {\"name\": null}]}");
    e = error_at(r, 0, "more than 5 fields (limit max_fields)");
    expect_json(json_object_get(e, "path"), "[\"gpus\", 1, \"name\"]");
    assert_int_equal(json_array_size(json_object_get(r, "errors")), 1);
    json_decref(r);
}

static void test_request_errors(void **state)
{
    (void)state;
    expect("{ gpus { id }", NULL, "{\"errors\": [{\"message\": \"Syntax "
           "Error: Expected Name, found <EOF>.\", \"locations\": "
           "[{\"line\": 1, \"column\": 14}]}]}");
    json_t *r = run("{ gpus { nope } }", NULL, NULL, NULL, NULL);
    assert_null(json_object_get(r, "data"));
    error_at(r, 0, "Cannot query field \"nope\"");
    json_decref(r);
    const char *two = "query A { hosts { id } } query B { gpus { id } }";
    r = run(two, NULL, NULL, NULL, NULL);
    error_at(r, 0, "name one with operationName");
    json_decref(r);
    r = run(two, NULL, "C", NULL, NULL);
    error_at(r, 0, "Unknown operation named \"C\"");
    json_decref(r);
    r = run("{ hosts { id } }", NULL, "", NULL, NULL);
    expect_json(r, "{\"data\": {\"hosts\": [{\"id\": \"node-a\"}, "
                "{\"id\": \"node-b\"}]}}");
    json_decref(r);
    r = run(two, NULL, "B", NULL, NULL);
    expect_json(r, "{\"data\": {\"gpus\": [{\"id\": \"GPU-1\"}, {\"id\": "
                "\"GPU-2\"}, {\"id\": \"GPU-3\"}]}}");
    json_decref(r);
    struct gql_request *req;
    const char *m = "mutation { cancelTask(id: 1) { id } }";
    req = gql_request_new(schema, m, strlen(m), NULL, NULL, NULL, &r);
    assert_non_null(req);
    assert_int_equal(gql_request_operation(req), GQL_OP_MUTATION);
    gql_request_free(req);
}

static void test_messages_stay_utf8(void **state)
{
    (void)state;
    /* The quotation of the value is cut at 40 bytes, inside an "é". */
    json_t *r = run("{ echo(i: \"a\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                    "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                    "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\") }", NULL, NULL,
                    NULL, NULL);
    json_t *e = error_at(r, 0, "Expected a value of type Int, found \"a\xc3\xa9");
    const char *msg = json_string_value(json_object_get(e, "message"));
    assert_non_null(strstr(msg, "\xef\xbf\xbd...\""));    /* U+FFFD */
    json_decref(r);
}

static void test_hostile_documents_are_refused(void **state)
{
    (void)state;
    size_t n = 1000, at = 0;
    char *deep = malloc(6 * n + 8);
    for (size_t i = 0; i < n; i++)
        at += (size_t)sprintf(deep + at, "{ a ");
    memset(deep + at, '}', n);
    deep[at + n] = '\0';
    json_t *r = run(deep, NULL, NULL, NULL, NULL);
    error_at(r, 0, "limit max_depth");
    json_decref(r);
    free(deep);
    size_t big = 1 << 20;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{', huge[2] = 'a', huge[big - 1] = '}', huge[big] = '\0';
    r = run(huge, NULL, NULL, NULL, NULL);
    error_at(r, 0, "limit max_bytes");
    json_decref(r);
    free(huge);
    /* Selections skipped by @skip still cost their look: bounded. */
    struct gql_limits l;
    gql_limits_default(&l);
    l.max_fields = 100;
    char *skips = malloc(3000 * 40 + 32);
    at = (size_t)sprintf(skips, "{ gpus { uuid ");
    for (int i = 0; i < 3000; i++)
        at += (size_t)sprintf(skips + at, "a%d: uuid @skip(if: true) ", i);
    sprintf(skips + at, "} }");
    l.max_tokens = 100000;
    l.max_bytes = 1 << 20;
    r = run(skips, NULL, NULL, &l, NULL);
    error_at(r, 0, "(limit max_fields)");
    json_decref(r);
    free(skips);
}

static void test_introspection_fields(void **state)
{
    (void)state;
    expect("{ __type(name: \"GPU\") { kind name description "
           "interfaces { name } f: fields { name } "
           "all: fields(includeDeprecated: true) { name isDeprecated "
           "deprecationReason } } }", NULL,
           "{\"data\": {\"__type\": {\"kind\": \"OBJECT\", \"name\": \"GPU\", "
           "\"description\": \"One GPU of a host.\", \"interfaces\": "
           "[{\"name\": \"Node\"}], \"f\": [{\"name\": \"id\"}, {\"name\": "
           "\"uuid\"}, {\"name\": \"name\"}, {\"name\": \"index\"}, "
           "{\"name\": \"status\"}, {\"name\": \"host\"}, {\"name\": "
           "\"broken\"}, {\"name\": \"strict\"}, {\"name\": \"badEnum\"}, "
           "{\"name\": \"telemetry\"}], \"all\": ["
           "{\"name\": \"id\", \"isDeprecated\": false, \"deprecationReason\": null}, "
           "{\"name\": \"uuid\", \"isDeprecated\": false, \"deprecationReason\": null}, "
           "{\"name\": \"name\", \"isDeprecated\": false, \"deprecationReason\": null}, "
           "{\"name\": \"index\", \"isDeprecated\": false, \"deprecationReason\": null}, "
           "{\"name\": \"status\", \"isDeprecated\": false, \"deprecationReason\": null}, "
           "{\"name\": \"host\", \"isDeprecated\": false, \"deprecationReason\": null}, "
           "{\"name\": \"broken\", \"isDeprecated\": false, \"deprecationReason\": null}, "
           "{\"name\": \"strict\", \"isDeprecated\": false, \"deprecationReason\": null}, "
           "{\"name\": \"badEnum\", \"isDeprecated\": false, \"deprecationReason\": null}, "
           "{\"name\": \"model\", \"isDeprecated\": true, \"deprecationReason\": \"Use name.\"}, "
           "{\"name\": \"telemetry\", \"isDeprecated\": false, \"deprecationReason\": null}]}}}");
}

static void test_introspection_inputs_enums_and_wrappers(void **state)
{
    (void)state;
    expect("{ __type(name: \"TaskInput\") { kind inputFields { name "
           "defaultValue type { kind name ofType { kind name ofType { kind "
           "name ofType { kind name } } } } } } }", NULL,
           "{\"data\": {\"__type\": {\"kind\": \"INPUT_OBJECT\", "
           "\"inputFields\": [{\"name\": \"command\", \"defaultValue\": null, "
           "\"type\": {\"kind\": \"NON_NULL\", \"name\": null, \"ofType\": "
           "{\"kind\": \"LIST\", \"name\": null, \"ofType\": {\"kind\": "
           "\"NON_NULL\", \"name\": null, \"ofType\": {\"kind\": \"SCALAR\", "
           "\"name\": \"String\"}}}}}, {\"name\": \"gpus\", \"defaultValue\": "
           "\"0\", \"type\": {\"kind\": \"SCALAR\", \"name\": \"Int\", "
           "\"ofType\": null}}, {\"name\": \"priority\", \"defaultValue\": "
           "\"5\", \"type\": {\"kind\": \"SCALAR\", \"name\": \"Int\", "
           "\"ofType\": null}}, {\"name\": \"labels\", \"defaultValue\": null, "
           "\"type\": {\"kind\": \"LIST\", \"name\": null, \"ofType\": "
           "{\"kind\": \"NON_NULL\", \"name\": null, \"ofType\": {\"kind\": "
           "\"INPUT_OBJECT\", \"name\": \"LabelInput\", \"ofType\": "
           "null}}}}]}}}");
    expect("{ gpu: __type(name: \"GPU\") { fields { name args { name "
           "defaultValue } } } }", NULL,
           "{\"data\": {\"gpu\": {\"fields\": [{\"name\": \"id\", \"args\": []}, "
           "{\"name\": \"uuid\", \"args\": []}, {\"name\": \"name\", \"args\": "
           "[]}, {\"name\": \"index\", \"args\": []}, {\"name\": \"status\", "
           "\"args\": []}, {\"name\": \"host\", \"args\": []}, {\"name\": "
           "\"broken\", \"args\": []}, {\"name\": \"strict\", \"args\": []}, "
           "{\"name\": \"badEnum\", \"args\": []}, {\"name\": \"telemetry\", "
           "\"args\": [{\"name\": \"limit\", \"defaultValue\": \"10\"}, "
           "{\"name\": \"order\", \"defaultValue\": \"DESC\"}]}]}}}");
    expect("{ s: __type(name: \"Status\") { enumValues { name } all: "
           "enumValues(includeDeprecated: true) { name isDeprecated } } "
           "n: __type(name: \"Node\") { kind possibleTypes { name } } "
           "t: __type(name: \"Thing\") { kind possibleTypes { name } } "
           "j: __type(name: \"JSON\") { kind fields { name } enumValues "
           "{ name } inputFields { name } interfaces { name } possibleTypes "
           "{ name } ofType { name } specifiedByURL } "
           "x: __type(name: \"Nope\") { name } }", NULL,
           "{\"data\": {\"s\": {\"enumValues\": [{\"name\": \"OK\"}, "
           "{\"name\": \"DRAINING\"}], \"all\": [{\"name\": \"OK\", "
           "\"isDeprecated\": false}, {\"name\": \"DRAINING\", "
           "\"isDeprecated\": false}, {\"name\": \"LOST\", \"isDeprecated\": "
           "true}]}, \"n\": {\"kind\": \"INTERFACE\", \"possibleTypes\": "
           "[{\"name\": \"GPU\"}, {\"name\": \"Host\"}]}, \"t\": {\"kind\": "
           "\"UNION\", \"possibleTypes\": [{\"name\": \"GPU\"}, {\"name\": "
           "\"Host\"}]}, \"j\": {\"kind\": \"SCALAR\", \"fields\": null, "
           "\"enumValues\": null, \"inputFields\": null, \"interfaces\": null, "
           "\"possibleTypes\": null, \"ofType\": null, \"specifiedByURL\": "
           "null}, \"x\": null}}");
    expect("{ __schema { queryType { name } mutationType { name } "
           "subscriptionType { name } directives { name locations args "
           "{ name defaultValue } } } }", NULL,
           "{\"data\": {\"__schema\": {\"queryType\": {\"name\": \"Query\"}, "
           "\"mutationType\": {\"name\": \"Mutation\"}, \"subscriptionType\": "
           "null, \"directives\": [{\"name\": \"include\", \"locations\": "
           "[\"FIELD\", \"FRAGMENT_SPREAD\", \"INLINE_FRAGMENT\"], \"args\": "
           "[{\"name\": \"if\", \"defaultValue\": null}]}, {\"name\": \"skip\", "
           "\"locations\": [\"FIELD\", \"FRAGMENT_SPREAD\", "
           "\"INLINE_FRAGMENT\"], \"args\": [{\"name\": \"if\", "
           "\"defaultValue\": null}]}, {\"name\": \"deprecated\", "
           "\"locations\": [\"FIELD_DEFINITION\", \"ARGUMENT_DEFINITION\", "
           "\"ENUM_VALUE\", \"INPUT_FIELD_DEFINITION\"], \"args\": "
           "[{\"name\": \"reason\", \"defaultValue\": "
           "\"\\\"No longer supported\\\"\"}]}, {\"name\": \"specifiedBy\", "
           "\"locations\": [\"SCALAR\"], \"args\": [{\"name\": \"url\", "
           "\"defaultValue\": null}]}]}}}");
}

/* The introspection query of graphql-core 2.3.2 (which builds client
 * schemas from its answer), with the fields later editions added. */
static const char *const introspection_query =
    "query IntrospectionQuery { __schema { description queryType { name } "
    "mutationType { name } subscriptionType { name } types { ...FullType } "
    "directives { name description locations isRepeatable args "
    "{ ...InputValue } } } }\n"
    "fragment FullType on __Type { kind name description specifiedByURL "
    "fields(includeDeprecated: true) { name description args "
    "{ ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } "
    "inputFields { ...InputValue } interfaces { ...TypeRef } "
    "enumValues(includeDeprecated: true) { name description isDeprecated "
    "deprecationReason } possibleTypes { ...TypeRef } }\n"
    "fragment InputValue on __InputValue { name description type "
    "{ ...TypeRef } defaultValue }\n"
    "fragment TypeRef on __Type { kind name ofType { kind name ofType { kind "
    "name ofType { kind name ofType { kind name ofType { kind name ofType "
    "{ kind name ofType { kind name ofType { kind name } } } } } } } } }";

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Answers DIR/documents.json with DIR/verdicts.json: per document, its
 * errors from parsing and validation (an empty list: valid). */
static void write_verdicts(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/documents.json", dir);
    json_t *docs = json_load_file(path, 0, NULL), *doc;
    size_t i;
    if (!docs)
        return;
    json_t *verdicts = json_array();
    json_array_foreach(docs, i, doc) {
        struct gql_limits l;
        struct gql_error err;
        gql_limits_default(&l);
        json_t *errors = json_array();
        struct gql_document *d = gql_parse(json_string_value(doc),
                                           json_string_length(doc), &l, &err);
        if (!d)
            json_array_append_new(errors, gql_error_json(&err));
        else
            gql_validate(schema, d, &l, errors);
        gql_document_free(d);
        json_array_append_new(verdicts, errors);
    }
    snprintf(path, sizeof(path), "%s/verdicts.json", dir);
    assert_int_equal(json_dump_file(verdicts, path, JSON_INDENT(1)), 0);
    json_decref(verdicts);
    json_decref(docs);
}

static void test_standard_introspection_query(void **state)
{
    (void)state;
    json_t *r = run(introspection_query, NULL, NULL, NULL, NULL);
    assert_null(json_object_get(r, "errors"));
    json_t *types = json_object_get(json_object_get(json_object_get(r,
                                    "data"), "__schema"), "types");
    /* 5 scalars, 8 introspection types, 14 of the fixture. */
    assert_int_equal(json_array_size(types), 27);
    const char *dir = getenv("GANTRY_GQL_DUMP");
    if (dir) {
        char *text = json_dumps(r, JSON_INDENT(1));
        write_file(dir, "introspection.json", text);
        free(text);
        struct buf b = BUF_INIT;
        assert_int_equal(gql_schema_print(schema, &b), 0);
        assert_int_equal(buf_nul(&b), 0);
        write_file(dir, "schema.graphql", buf_start(&b));
        buf_free(&b);
        write_verdicts(dir);
    }
    json_decref(r);
}

static void test_schema_sdl(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(gql_schema_print(schema, &b), 0);
    assert_int_equal(buf_nul(&b), 0);
    const char *sdl = buf_start(&b);
    const char *want[] = {
        "enum Order {\n  \"Oldest first.\"\n  ASC\n  \"Newest first.\"\n"
        "  DESC\n}\n",
        "\"A GPU's state.\"\nenum Status {\n  OK\n  DRAINING\n  LOST "
        "@deprecated(reason: \"No longer reported.\")\n}\n",
        "\"Any JSON value.\"\nscalar JSON\n",
        "type GPU implements Node {\n  id: ID!\n  \"The NVML UUID.\"\n"
        "  uuid: String!\n",
        "  model: String @deprecated(reason: \"Use name.\")\n"
        "  \"Recent samples.\"\n  telemetry(\n    \"How many.\"\n"
        "    limit: Int = 10\n    order: Order = DESC\n  ): [Sample!]!\n}\n",
        "\"\"\"\nA machine.\nIt holds GPUs.\n\"\"\"\ntype Host implements Node {",
        "union Thing = GPU | Host\n",
        "\"What to run.\"\ninput TaskInput {\n  \"argv\"\n"
        "  command: [String!]!\n  gpus: Int = 0\n  priority: Int = 5\n"
        "  labels: [LabelInput!]\n}\n",
        "  gpus(hostname: String, limit: Int, offset: Int = 0): [GPU!]!\n",
        "type Mutation {\n  submitTask(input: TaskInput!): Task!\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(sdl, want[i]))
            fail_msg("SDL lacks:\n%s\nin:\n%s", want[i], sdl);
    assert_null(strstr(sdl, "__Type"));
    assert_null(strstr(sdl, "scalar Int"));
    assert_null(strstr(sdl, "schema {"));
    buf_free(&b);
}

static void expect_finish_error(void (*build)(struct gql_schema *),
                                const char *query, const char *needle)
{
    char err[256];
    struct gql_schema *s = gql_schema_new();
    build(s);
    assert_int_equal(gql_schema_finish(s, query, NULL, err, sizeof(err)), -1);
    if (!strstr(err, needle))
        fail_msg("want \"%s\", got \"%s\"", needle, err);
    gql_schema_free(s);
}

static void unknown_type(struct gql_schema *s)
{
    gql_type_field(gql_schema_object(s, "Q", NULL), "a", "[Nope]", NULL,
                   NULL);
}

static void bad_type_text(struct gql_schema *s)
{
    gql_type_field(gql_schema_object(s, "Q", NULL), "a", "[Int", NULL, NULL);
}

static void bad_default(struct gql_schema *s)
{
    struct gql_field *f = gql_type_field(gql_schema_object(s, "Q", NULL),
                                         "a", "Int", NULL, NULL);
    gql_field_arg(f, "n", "Int", "\"ten\"", NULL);
}

static void input_as_output(struct gql_schema *s)
{
    gql_input_field(gql_schema_input(s, "In", NULL), "x", "Int", NULL, NULL);
    gql_type_field(gql_schema_object(s, "Q", NULL), "a", "In", NULL, NULL);
}

static void unimplemented(struct gql_schema *s)
{
    gql_type_field(gql_schema_interface(s, "I", NULL), "id", "ID!", NULL,
                   NULL);
    struct gql_type *q = gql_schema_object(s, "Q", NULL);
    gql_type_implements(q, "I");
    gql_type_field(q, "id", "ID", NULL, NULL);
}

static void duplicates(struct gql_schema *s)
{
    struct gql_type *q = gql_schema_object(s, "Q", NULL);
    gql_type_field(q, "a", "Int", NULL, NULL);
    gql_type_field(q, "a", "Int", NULL, NULL);
}

static void duplicate_type(struct gql_schema *s)
{
    gql_type_field(gql_schema_object(s, "Q", NULL), "a", "Int", NULL, NULL);
    gql_schema_enum(s, "Q", NULL);
}

static void empty_enum(struct gql_schema *s)
{
    gql_schema_enum(s, "E", NULL);
    gql_type_field(gql_schema_object(s, "Q", NULL), "a", "E", NULL, NULL);
}

static void reserved_name(struct gql_schema *s)
{
    gql_type_field(gql_schema_object(s, "Q", NULL), "__a", "Int", NULL,
                   NULL);
}

static void test_schema_finish_errors(void **state)
{
    (void)state;
    expect_finish_error(unknown_type, "Q", "Q.a: unknown type Nope");
    expect_finish_error(bad_type_text, "Q", "Q.a: type \"[Int\"");
    expect_finish_error(bad_default, "Q", "Q.a(n): default: Expected a "
                        "value of type Int");
    expect_finish_error(input_as_output, "Q", "In is not an output type");
    expect_finish_error(unimplemented, "Q", "Q.id does not match the type "
                        "of I.id");
    expect_finish_error(duplicates, "Q", "Q.a: defined twice");
    expect_finish_error(duplicate_type, "Q", "type Q is defined twice");
    expect_finish_error(empty_enum, "Q", "enum E has no values");
    expect_finish_error(reserved_name, "Q", "Q.__a: invalid name");
    expect_finish_error(unknown_type, "Nope", "root type Nope");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_objects_and_lists),
        cmocka_unit_test(test_response_keeps_query_order),
        cmocka_unit_test(test_fragments_and_abstract_types),
        cmocka_unit_test(test_directives),
        cmocka_unit_test(test_variables_and_coercion),
        cmocka_unit_test(test_variable_errors_are_request_errors),
        cmocka_unit_test(test_partial_results),
        cmocka_unit_test(test_null_propagation),
        cmocka_unit_test(test_mutation_runs_its_write_once),
        cmocka_unit_test(test_fetch_rounds),
        cmocka_unit_test(test_fetch_limits),
        cmocka_unit_test(test_points_and_fields_limits),
        cmocka_unit_test(test_request_errors),
        cmocka_unit_test(test_messages_stay_utf8),
        cmocka_unit_test(test_hostile_documents_are_refused),
        cmocka_unit_test(test_introspection_fields),
        cmocka_unit_test(test_introspection_inputs_enums_and_wrappers),
        cmocka_unit_test(test_standard_introspection_query),
        cmocka_unit_test(test_schema_sdl),
        cmocka_unit_test(test_schema_finish_errors),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
