/* Unit tests: the OpenAPI document covers the router's every route and
 * query parameter (src/http/openapi.json describes each), and its YAML
 * form is block YAML with quoted strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/api.h"
#include "http/openapi.h"
#include "http/pubsub.h"
#include "http/router.h"
#include "http/yaml.h"

static void test_every_route_and_parameter_is_described(void **state)
{
    (void)state;
    char err[256] = "";
    router_reset();
    assert_int_equal(api_register(), 0);
    assert_int_equal(pubsub_register(), 0);
    if (openapi_check(err, sizeof(err)) < 0)
        fail_msg("%s", err);
    json_t *doc = openapi_document();
    json_t *op = json_object_get(json_object_get(json_object_get(doc, "paths"),
                                                 "/api/v1/telemetry"), "get");
    assert_non_null(op);
    assert_string_equal(json_string_value(json_object_get(op, "operationId")), "get_api_v1_telemetry");
    assert_true(json_array_size(json_object_get(op, "parameters")) >= 9);
    assert_non_null(json_object_get(json_object_get(op, "responses"), "400"));
    assert_null(json_object_get(json_object_get(doc, "paths"), "/swagger/"));
    json_decref(doc);
    openapi_free();
    router_reset();
}

static void test_a_route_without_a_description_is_found(void **state)
{
    (void)state;
    static const struct http_route extra[] = {
        {"GET", "/nowhere", NULL, ROUTE_READ, "undocumented", "limit"},
        {"GET", "/api/v1/gpus", NULL, ROUTE_READ, "documented", "limit pages"},
    };
    char err[256] = "";
    router_reset();
    router_add(extra, 1);
    assert_int_equal(openapi_check(err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nowhere"));
    router_reset();
    router_add(extra + 1, 1);
    assert_int_equal(openapi_check(err, sizeof(err)), -1);
    assert_non_null(strstr(err, "pages"));
    openapi_free();
    router_reset();
}

static void test_yaml(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    json_t *j = json_loads("{\"a\":{\"b\":[1,\"x\\\"y\",{\"c\":null}],\"on\":true,\"e\":{},"
                           "\"/p\":[]}}", 0, NULL);
    yaml_dump(j, &b);
    buf_nul(&b);
    assert_string_equal(buf_start(&b), "a:\n  b:\n    - 1\n    - \"x\\\"y\"\n    -\n      c: null\n"
                                       "  \"on\": true\n  e: {}\n  \"/p\": []\n");
    json_decref(j);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_and_parameter_is_described),
        cmocka_unit_test(test_a_route_without_a_description_is_found),
        cmocka_unit_test(test_yaml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
