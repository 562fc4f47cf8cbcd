/* Unit tests: the pure parts of the GraphQL endpoint's glue: reading a
 * request (POST body, GET variables), a series' window from a field's
 * arguments (through the engine, on a one-field schema), TaskInput as the
 * REST body, the error format, and the schema itself (it builds, and its
 * SDL names what the issue asks for). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "http/api_graphql.h"

static void expect_json(json_t *got, const char *want_text)
{
    json_t *want = json_loads(want_text, JSON_DECODE_ANY, NULL);
    assert_non_null(want);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        fail_msg("got  %s\nwant %s", g, want_text);
    }
    json_decref(want);
}

static int parse_post(const char *body_text, struct api_gql_input *in, char *err)
{
    json_t *body = json_loads(body_text, JSON_DECODE_ANY, NULL);
    assert_non_null(body);
    int rc = api_gql_parse_post(body, in, err, 200);
    json_decref(body);
    return rc;
}

static void test_post_body(void **state)
{
    (void)state;
    struct api_gql_input in;
    char err[200];
    json_t *body = json_loads("{\"query\": \"{ hosts { id } }\", \"variables\": {\"a\": 1}, "
                              "\"operationName\": \"Q\"}", 0, NULL);
    assert_int_equal(api_gql_parse_post(body, &in, err, sizeof(err)), 0);
    assert_string_equal(in.query, "{ hosts { id } }");
    assert_int_equal(in.len, 16);
    assert_string_equal(in.operation_name, "Q");
    expect_json(in.variables, "{\"a\": 1}");
    json_decref(body);
    /* variables and operationName may be null or absent */
    assert_int_equal(parse_post("{\"query\": \"{ a }\", \"variables\": null, "
                                "\"operationName\": null}", &in, err), 0);
    assert_null(in.variables);
    assert_null(in.operation_name);
    assert_int_equal(parse_post("{\"query\": \"{ a }\"}", &in, err), 0);
    const char *bad[][2] = {
        {"[1]", "a JSON object"},
        {"{}", "\"query\" must be a non-empty string"},
        {"{\"query\": \"\"}", "\"query\" must be a non-empty string"},
        {"{\"query\": 7}", "\"query\" must be a non-empty string"},
        {"{\"query\": \"{ a }\", \"variables\": [1]}", "\"variables\" must be an object"},
        {"{\"query\": \"{ a }\", \"variables\": \"{}\"}", "\"variables\" must be an object"},
        {"{\"query\": \"{ a }\", \"operationName\": 1}", "\"operationName\" must be a string"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse_post(bad[i][0], &in, err), -1);
        if (!strstr(err, bad[i][1]))
            fail_msg("%s: %s", bad[i][0], err);
    }
}

static void test_get_variables(void **state)
{
    (void)state;
    json_t *v;
    char err[200];
    assert_int_equal(api_gql_parse_variables(NULL, &v, err, sizeof(err)), 0);
    assert_null(v);
    assert_int_equal(api_gql_parse_variables("", &v, err, sizeof(err)), 0);
    assert_null(v);
    assert_int_equal(api_gql_parse_variables("null", &v, err, sizeof(err)), 0);
    assert_null(v);
    assert_int_equal(api_gql_parse_variables("{\"u\": \"GPU-1\"}", &v, err, sizeof(err)), 0);
    expect_json(v, "{\"u\": \"GPU-1\"}");
    json_decref(v);
    assert_int_equal(api_gql_parse_variables("[1]", &v, err, sizeof(err)), -1);
    assert_string_equal(err, "The \"variables\" parameter must be a JSON object.");
    assert_int_equal(api_gql_parse_variables("{\"a\": 1, \"a\": 2}", &v, err, sizeof(err)), -1);
    assert_int_equal(api_gql_parse_variables("{oops", &v, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "must be a JSON object: "));
}

/* A one-field schema whose resolver reads a window and answers it. */
static enum gql_status window_field(struct gql_call *c)
{
    struct api_gql_window w;
    if (api_gql_window(c, 1000, &w) != GQL_OK)
        return GQL_ERROR;
    return gql_return_json(c, api_gql_window_args(&w));
}

static struct gql_schema *window_schema(void)
{
    char err[200];
    struct gql_schema *s = gql_schema_new();
    gql_schema_scalar(s, "JSON", NULL);
    struct gql_type *e = gql_schema_enum(s, "Order", NULL);
    gql_enum_value(e, "ASC", NULL, NULL);
    gql_enum_value(e, "DESC", NULL, NULL);
    struct gql_field *f = gql_type_field(gql_schema_object(s, "Query", NULL), "w", "JSON",
                                         window_field, NULL);
    gql_field_arg(f, "startTime", "String", NULL, NULL);
    gql_field_arg(f, "endTime", "String", NULL, NULL);
    gql_field_arg(f, "limit", "Int", "100", NULL);
    gql_field_arg(f, "order", "Order", "ASC", NULL);
    assert_int_equal(gql_schema_finish(s, "Query", NULL, err, sizeof(err)), 0);
    return s;
}

static json_t *run(const struct gql_schema *s, const char *query, long max_points)
{
    struct gql_limits l;
    json_t *response;
    gql_limits_default(&l);
    l.max_points = max_points;
    struct gql_request *r = gql_request_new(s, query, strlen(query), NULL, NULL, &l, &response);
    assert_non_null(r);
    assert_int_equal(gql_request_run(r, NULL, &response), GQL_RUN_DONE);
    gql_request_free(r);
    return response;
}

static void expect_window(const struct gql_schema *s, const char *query, const char *want)
{
    json_t *got = run(s, query, 100000);
    expect_json(got, want);
    json_decref(got);
}

static void test_series_window(void **state)
{
    (void)state;
    struct gql_schema *s = window_schema();
    expect_window(s, "{ w }", "{\"data\": {\"w\": {\"start\": null, \"end\": null, \"after\": "
                  "false, \"limit\": 100, \"desc\": false}}}");
    expect_window(s, "{ w(startTime: \"2025-07-18T20:42:34Z\", endTime: "
                  "\"2025-07-18T20:42:35.5Z\", limit: 1000, order: DESC) }",
                  "{\"data\": {\"w\": {\"start\": 1752871354000, \"end\": 1752871355500, "
                  "\"after\": false, \"limit\": 1000, \"desc\": true}}}");
    /* bounds are inclusive: one instant is a window */
    expect_window(s, "{ w(startTime: \"2025-07-18T20:42:34Z\", endTime: "
                  "\"2025-07-18T20:42:34Z\") }", "{\"data\": {\"w\": {\"start\": 1752871354000, "
                  "\"end\": 1752871354000, \"after\": false, \"limit\": 100, \"desc\": false}}}");
    const char *bad[][2] = {
        {"{ w(startTime: \"yesterday\") }", "must be RFC 3339 times"},
        {"{ w(endTime: \"2025-13-01T00:00:00Z\") }", "must be RFC 3339 times"},
        {"{ w(startTime: \"2025-07-18T20:42:35Z\", endTime: \"2025-07-18T20:42:34Z\") }",
         "endTime is before startTime."},
        {"{ w(limit: 0) }", "limit must be a whole number from 1 to 1000."},
        {"{ w(limit: 1001) }", "limit must be a whole number from 1 to 1000."},
        {"{ w(limit: null) }", "limit must be a whole number from 1 to 1000."},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *got = run(s, bad[i][0], 100000);
        const char *msg = json_string_value(json_object_get(
            json_array_get(json_object_get(got, "errors"), 0), "message"));
        if (!msg || !strstr(msg, bad[i][1]))
            fail_msg("%s: %s", bad[i][0], msg ? msg : "(no error)");
        expect_json(json_object_get(got, "data"), "{\"w\": null}");
        json_decref(got);
    }
    /* a window costs its limit: 150 points pay for one of 100, not two */
    json_t *got = run(s, "{ a: w b: w(limit: 50) c: w }", 150);
    expect_json(json_object_get(json_object_get(got, "data"), "c"), "null");
    assert_non_null(json_object_get(json_object_get(got, "data"), "b"));
    json_decref(got);
    gql_schema_free(s);
}

static void test_task_input_is_the_rest_body(void **state)
{
    (void)state;
    json_t *in = json_loads("{\"command\": [\"echo\", \"hi\"], \"cpuRequired\": 0.5, "
                            "\"memoryRequired\": 512, \"dockerImage\": null, \"labels\": "
                            "{\"rack\": \"r1\"}, \"pinnedWorker\": \"w1\"}", 0, NULL);
    json_t *body = api_gql_task_body(in);
    expect_json(body, "{\"command\": [\"echo\", \"hi\"], \"cpu_required\": 0.5, "
                "\"memory_required\": 512, \"docker_image\": null, \"labels\": "
                "{\"rack\": \"r1\"}, \"pinned_worker\": \"w1\"}");
    json_decref(body);
    json_decref(in);
    assert_string_equal(api_gql_task_field("cpu_required"), "cpuRequired");
    assert_string_equal(api_gql_task_field("max_attempts"), "maxAttempts");
    assert_string_equal(api_gql_task_field("command"), "command");
    assert_string_equal(api_gql_task_field("task_id"), "task_id");
}

static void test_error_format(void **state)
{
    (void)state;
    json_t *e = api_gql_error("The request is larger than %d bytes (limit %s).", 1024,
                              "http.max_body_size");
    expect_json(e, "{\"errors\": [{\"message\": \"The request is larger than 1024 bytes "
                "(limit http.max_body_size).\"}]}");
    json_decref(e);
}

static void test_schema(void **state)
{
    (void)state;
    struct gql_schema *s = api_gql_schema_build();
    struct buf b = BUF_INIT;
    assert_non_null(s);
    assert_int_equal(gql_schema_print(s, &b), 0);
    assert_int_equal(buf_nul(&b), 0);
    const char *want[] = {
        "type Query {", "type Mutation {", "  gpu(uuid: String!): GPU\n",
        "  submitTask(input: TaskInput!): TaskSubmission\n",
        "  task(id: ID!): Task\n", "  worker(id: ID!): Worker\n",
        "  cluster(id: ID!): Cluster\n", "  host(hostname: String!): Host\n",
        "    order: Order = ASC\n  ): [GPUSample!]\n", "  gpuUtilization: Float\n",
        "  memoryUsedMb: Float\n", "  smClockMhz: Float\n", "  decoderUtilization: Float\n",
        "  runningTasks: [RunningTask!]!\n", "  id: Int!\n", "enum TaskStatus {\n  queued\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(buf_start(&b), want[i]))
            fail_msg("the SDL lacks \"%s\"", want[i]);
    buf_free(&b);
    gql_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_body),
        cmocka_unit_test(test_get_variables),
        cmocka_unit_test(test_series_window),
        cmocka_unit_test(test_task_input_is_the_rest_body),
        cmocka_unit_test(test_error_format),
        cmocka_unit_test(test_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
