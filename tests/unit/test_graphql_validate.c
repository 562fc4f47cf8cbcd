/* Unit tests: GraphQL validation against the fixture schema, one rule at a
 * time, with the messages' locations; and the limits that hold once
 * fragments are expanded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gql_fixture.h"

/* Parses and validates src; returns the errors (an empty array: valid). */
static json_t *validate(const char *src, const struct gql_limits *limits)
{
    struct gql_limits l;
    struct gql_error err;
    gql_limits_default(&l);
    if (!limits)
        limits = &l;
    struct gql_document *doc = gql_parse(src, strlen(src), limits, &err);
    if (!doc)
        fail_msg("parse \"%s\": %s", src, err.message);
    json_t *errors = json_array();
    int rc = gql_validate(schema, doc, limits, errors);
    assert_int_equal(rc, json_array_size(errors) ? -1 : 0);
    gql_document_free(doc);
    return errors;
}

static void expect_valid(const char *src)
{
    json_t *errors = validate(src, NULL);
    if (json_array_size(errors)) {
        char *s = json_dumps(errors, 0);
        fail_msg("\"%s\" should be valid: %s", src, s);
    }
    json_decref(errors);
}

struct bad {
    const char *src;
    const char *needle;
    int line, column;           /* of the first error; 0: none */
};

static void expect_invalid(const struct bad *b)
{
    json_t *errors = validate(b->src, NULL);
    json_t *e = json_array_get(errors, 0);
    const char *msg = json_string_value(json_object_get(e, "message"));
    char *all = json_dumps(errors, 0);
    if (!msg || !strstr(msg, b->needle))
        fail_msg("\"%s\": want \"%s\", got %s", b->src, b->needle, all);
    json_t *loc = json_array_get(json_object_get(e, "locations"), 0);
    if (json_integer_value(json_object_get(loc, "line")) != b->line ||
        json_integer_value(json_object_get(loc, "column")) != b->column)
        fail_msg("\"%s\": want %d:%d, got %s", b->src, b->line, b->column,
                 all);
    free(all);
    json_decref(errors);
}

static void expect_all_invalid(const struct bad *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        expect_invalid(&list[i]);
}

static void test_valid_documents(void **state)
{
    (void)state;
    expect_valid("{ gpus { id uuid name status host { hostname } } }");
    expect_valid("query Q($u: String!, $n: Int = 2, $o: Order) { "
                 "gpu(uuid: $u) { telemetry(limit: $n, order: $o) "
                 "{ timestamp } } }");
    expect_valid("{ things { __typename ... on GPU { uuid } ...H } } "
                 "fragment H on Host { hostname gpus { ...G } } "
                 "fragment G on GPU { index }");
    expect_valid("{ node(id: \"x\") { id ... on Host { hostname } } }");
    expect_valid("query A { hosts { id } } query B { gpus { id } }");
    expect_valid("mutation M($in: TaskInput!) { submitTask(input: $in) "
                 "{ id } }");
    expect_valid("{ echo(s: \"a\", i: -5, f: 1, b: true, id: 7, e: ASC, "
                 "l: 3, in: {command: [\"x\"], labels: {key: \"k\"}}, "
                 "j: {any: [1, \"two\", THREE]}) }");
    expect_valid("query($b: Boolean!) { gpus @include(if: $b) { uuid "
                 "@skip(if: false) } }");
    /* A nullable variable where a default stands in. */
    expect_valid("query($n: Int) { gpu(uuid: \"x\") { telemetry(limit: $n) "
                 "{ timestamp } } }");
    expect_valid("query($in: TaskInput = {command: [\"a\"]}) { echo(in: $in) }");
    expect_valid("{ a: gpus { uuid } a: gpus { name } }");
    expect_valid("{ __schema { types { name } } __type(name: \"GPU\") "
                 "{ name } __typename }");
    expect_valid("{ things { ... on GPU { x: uuid } ... on Host "
                 "{ x: hostname } } }");
}

static void test_fields_and_selections(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {"{ gpus { nope } }", "Cannot query field \"nope\" on type \"GPU\"",
         1, 10},
        {"{ gpus }", "must have a selection of subfields", 1, 3},
        {"{ gpus { uuid { x } } }", "must not have a selection", 1, 10},
        {"{ things { uuid } }", "Cannot query field \"uuid\" on type "
         "\"Thing\"", 1, 12},
        {"{ __schema { nope } }", "on type \"__Schema\"", 1, 14},
        {"{ hosts { __schema { types { name } } } }", "\"__schema\" on type "
         "\"Host\"", 1, 11},
        {"{ a: gpus { uuid } a: hosts { id } }", "\"gpus\" and \"hosts\" are "
         "different fields", 1, 20},
        {"{ gpus(limit: 1) { id } gpus(limit: 2) { id } }", "different "
         "arguments", 1, 25},
        {"{ node(id: 1) { ... on GPU { x: uuid } ... on Node { x: id } } }",
         "different fields", 1, 54},
    };
    expect_all_invalid(bad, sizeof(bad) / sizeof(bad[0]));
}

static void test_arguments(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {"{ gpu { id } }", "Argument \"uuid\" of type String! is required",
         1, 3},
        {"{ gpu(uuid: null) { id } }", "found null", 1, 13},
        {"{ gpu(uuid: \"a\", uuid: \"b\") { id } }", "only one argument "
         "named \"uuid\"", 1, 18},
        {"{ gpus(host: \"a\") { id } }", "Unknown argument \"host\" on field "
         "\"Query.gpus\"", 1, 8},
        {"{ echo(i: \"3\") }", "Int, found \"3\"", 1, 11},
        {"{ echo(i: 3000000000) }", "Int, found 3000000000", 1, 11},
        {"{ echo(i: 1.5) }", "Int, found 1.5", 1, 11},
        {"{ echo(f: \"x\") }", "Float", 1, 11},
        {"{ echo(s: 3) }", "String, found 3", 1, 11},
        {"{ echo(b: 1) }", "Boolean", 1, 11},
        {"{ echo(id: 1.5) }", "ID", 1, 12},
        {"{ echo(id: true) }", "ID", 1, 12},
        {"{ echo(e: \"ASC\") }", "Order, found \"ASC\"", 1, 11},
        {"{ echo(e: UP) }", "Order, found UP", 1, 11},
        {"{ echo(l: [1, \"2\"]) }", "Int, found \"2\"", 1, 11},
        {"{ echo(in: {command: [\"a\"], nope: 1}) }", "\"nope\" is not "
         "defined by type TaskInput", 1, 12},
        {"{ echo(in: {gpus: 1}) }", "TaskInput.command of required type "
         "[String!]! was not provided", 1, 12},
        {"{ echo(in: {command: [null]}) }", "String!, found null", 1, 12},
        {"{ echo(in: {command: \"a\", command: \"b\"}) }", "given twice",
         1, 12},
        {"{ echo(in: [1]) }", "TaskInput, found a list", 1, 12},
        {"{ gpus @skip { id } }", "Argument \"if\" of type Boolean! is "
         "required on directive \"@skip\"", 1, 8},
        {"{ gpus @include(if: \"yes\") { id } }", "Boolean, found \"yes\"", 1,
         21},
    };
    expect_all_invalid(bad, sizeof(bad) / sizeof(bad[0]));
}

static void test_fragments(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {"{ gpus { ...F } }", "Unknown fragment \"F\"", 1, 10},
        {"{ gpus { id } }\nfragment F on GPU { id }", "Fragment \"F\" is "
         "never used", 2, 1},
        {"{ gpus { ...F } }\nfragment F on GPU { id }\nfragment F on GPU "
         "{ uuid }", "only one fragment named \"F\"", 3, 1},
        {"{ gpus { ...F } }\nfragment F on Nope { id }", "Unknown type "
         "\"Nope\"", 2, 15},
        {"{ gpus { ...F } }\nfragment F on Int { id }", "non composite "
         "type \"Int\"", 2, 15},
        {"{ gpus { ... on Host { id } } }", "objects of type \"GPU\" can "
         "never be of type \"Host\"", 1, 10},
        {"{ gpus { ...H } }\nfragment H on Host { id }", "Fragment \"H\" "
         "cannot be spread here", 1, 10},
        {"{ gpus { ... on String { id } } }", "non composite", 1, 17},
        {"{ gpus { ...A } }\nfragment A on GPU { ...A }", "Cannot spread "
         "fragment \"A\" within itself", 2, 21},
        {"{ gpus { ...A } }\nfragment A on GPU { host { gpus { ...B } } }\n"
         "fragment B on GPU { ...C }\nfragment C on GPU { ...A }",
         "within itself via \"B\", \"C\"", 4, 21},
    };
    expect_all_invalid(bad, sizeof(bad) / sizeof(bad[0]));
    /* Inline fragments on an interface or union that can overlap. */
    expect_valid("{ node(id: \"a\") { ... on GPU { uuid } ... on Thing "
                 "{ __typename } } }");
}

static void test_variables(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {"{ gpu(uuid: $u) { id } }", "Variable \"$u\" is not defined", 1,
         13},
        {"query Q { gpu(uuid: $u) { id } }", "not defined by operation "
         "\"Q\"", 1, 21},
        {"query Q($u: String!) { gpus { ...F } }\nfragment F on GPU "
         "{ telemetry(limit: $n) { timestamp } }", "\"$n\" is not defined "
         "by operation \"Q\"", 2, 38},
        {"query Q($u: String!) { gpus { id } }", "Variable \"$u\" is never "
         "used in operation \"Q\"", 1, 9},
        {"query($u: String!, $u: String!) { gpu(uuid: $u) { id } }",
         "only one variable named \"$u\"", 1, 20},
        {"query($u: Nope) { echo(s: $u) }", "Unknown type \"Nope\"", 1, 11},
        {"query($u: GPU) { echo(s: $u) }", "non-input type \"GPU\"", 1, 11},
        {"query($u: String) { gpu(uuid: $u) { id } }", "type \"String\" "
         "used in position expecting type \"String!\"", 1, 31},
        {"query($i: Int) { echo(s: $i) }", "\"Int\" used in position "
         "expecting type \"String\"", 1, 26},
        {"query($l: [Int]) { echo(i: $l) }", "\"[Int]\" used in position",
         1, 28},
        {"query($c: String) { echo(in: {command: [$c]}) }", "expecting "
         "type \"String!\"", 1, 41},
        {"query($i: Int = \"x\") { echo(i: $i) }", "invalid default value",
         1, 17},
        {"query($b: Boolean) { gpus @include(if: $b) { id } }", "expecting "
         "type \"Boolean!\"", 1, 40},
    };
    expect_all_invalid(bad, sizeof(bad) / sizeof(bad[0]));
    /* Used only through a fragment: that is a use. */
    expect_valid("query($n: Int!) { gpus { ...F } } fragment F on GPU "
                 "{ telemetry(limit: $n) { timestamp } }");
    /* A non-null default makes a nullable variable fit. */
    expect_valid("query($u: String = \"GPU-1\") { gpu(uuid: $u) { id } }");
}

static void test_directives_and_operations(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {"{ gpus @nope { id } }", "Unknown directive \"@nope\"", 1, 8},
        {"query @skip(if: true) { gpus { id } }", "may not be used on "
         "QUERY", 1, 7},
        {"{ gpus @deprecated { id } }", "may not be used on FIELD", 1, 8},
        {"{ gpus @skip(if: true) @skip(if: false) { id } }", "only be used "
         "once", 1, 24},
        {"query Q { gpus { id } }\nquery Q { hosts { id } }", "only one "
         "operation named \"Q\"", 2, 1},
        {"{ gpus { id } }\nquery Q { hosts { id } }", "anonymous operation "
         "must be the only", 1, 1},
        {"subscription { gpus { id } }", "does not support subscriptions",
         1, 1},
        {"mutation { gpus { id } }", "Cannot query field \"gpus\" on type "
         "\"Mutation\"", 1, 12},
    };
    expect_all_invalid(bad, sizeof(bad) / sizeof(bad[0]));
}

/* "{ host { gpus { host { gpus ... } } } }" n fields deep, through a chain of
 * fragments each adding two levels. */
static char *fragment_chain(int n)
{
    char *s = malloc(64 * (size_t)n + 64);
    size_t at = (size_t)sprintf(s, "{ gpus { ...F0 } }\n");
    for (int i = 0; i < n; i++)
        at += (size_t)sprintf(s + at, "fragment F%d on GPU { host { gpus "
                              "{ ...F%d } } }\n", i, i + 1);
    sprintf(s + at, "fragment F%d on GPU { uuid }\n", n);
    return s;
}

static void test_depth_through_fragments(void **state)
{
    (void)state;
    char *ok = fragment_chain(6);        /* 1 + 2 * 6 + 1 = 14 levels */
    expect_valid(ok);
    free(ok);
    char *deep = fragment_chain(7);      /* 16 levels */
    json_t *errors = validate(deep, NULL);
    assert_int_equal(json_array_size(errors), 1);
    const char *msg = json_string_value(json_object_get(
        json_array_get(errors, 0), "message"));
    assert_non_null(strstr(msg, "max_depth"));
    json_decref(errors);
    free(deep);
    /* A long chain of spreads without fields: the nesting limit. */
    char *chain = malloc(100 * 48 + 64);
    size_t at = (size_t)sprintf(chain, "{ gpus { ...F0 } }\n");
    for (int i = 0; i < 100; i++)
        at += (size_t)sprintf(chain + at, "fragment F%d on GPU { ...F%d }\n",
                              i, i + 1);
    sprintf(chain + at, "fragment F100 on GPU { uuid }\n");
    errors = validate(chain, NULL);
    msg = json_string_value(json_object_get(json_array_get(errors, 0),
                                            "message"));
    assert_non_null(msg);
    assert_non_null(strstr(msg, "max_nesting"));
    json_decref(errors);
    free(chain);
}

static void test_errors_are_capped(void **state)
{
    (void)state;
    char *s = malloc(300 * 8 + 16);
    size_t at = (size_t)sprintf(s, "{ ");
    for (int i = 0; i < 300; i++)
        at += (size_t)sprintf(s + at, "x%d ", i);
    sprintf(s + at, "}");
    json_t *errors = validate(s, NULL);
    assert_int_equal(json_array_size(errors), 101);
    const char *last = json_string_value(json_object_get(
        json_array_get(errors, 100), "message"));
    assert_non_null(strstr(last, "Too many validation errors"));
    json_decref(errors);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents),
        cmocka_unit_test(test_fields_and_selections),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_fragments),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_directives_and_operations),
        cmocka_unit_test(test_depth_through_fragments),
        cmocka_unit_test(test_errors_are_capped),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
