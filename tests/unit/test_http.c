/* Unit tests: the router's path matching, query parameters, and the
 * WebSocket accept key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/router.h"
#include "http/ws.h"

static int matches(const char *pattern, const char *path, const char **params, int *np)
{
    static char scratch[256];
    return router_match(pattern, path, scratch, params, np);
}

static void test_router_matches_literal_and_parameter_segments(void **state)
{
    (void)state;
    const char *p[HTTP_MAX_PARAMS];
    int np;
    assert_true(matches("/health", "/health", p, &np));
    assert_int_equal(np, 0);
    assert_false(matches("/health", "/healthz", p, &np));
    assert_false(matches("/health", "/health/", p, &np));
    assert_false(matches("/api/tasks", "/api", p, &np));
    assert_true(matches("/api/tasks/{id}/logs", "/api/tasks/t-1/logs", p, &np));
    assert_int_equal(np, 1);
    assert_string_equal(p[0], "t-1");
    assert_true(matches("/api/v1/clusters/{c}/hosts/{h}/gpus/{g}", "/api/v1/clusters/default/hosts/n1/gpus/3",
                        p, &np));
    assert_int_equal(np, 3);
    assert_string_equal(p[0], "default");
    assert_string_equal(p[1], "n1");
    assert_string_equal(p[2], "3");
    /* A parameter never matches an empty segment or spans a slash. */
    assert_false(matches("/api/tasks/{id}", "/api/tasks/", p, &np));
    assert_false(matches("/api/tasks/{id}", "/api/tasks/a/b", p, &np));
}

static int query(const char *q, const char *name, char *out, size_t outlen)
{
    struct http_req req;
    memset(&req, 0, sizeof(req));
    char copy[256];
    strcpy(copy, q);
    req.query = copy;
    return http_query_param(&req, name, out, outlen);
}

static void test_query_parameters_are_decoded_and_bounded(void **state)
{
    (void)state;
    char v[16];
    assert_int_equal(query("limit=10&offset=20", "offset", v, sizeof(v)), 1);
    assert_string_equal(v, "20");
    assert_int_equal(query("a=1", "b", v, sizeof(v)), 0);
    /* A name that only starts like another is not it. */
    assert_int_equal(query("limits=5&limit=7", "limit", v, sizeof(v)), 1);
    assert_string_equal(v, "7");
    assert_int_equal(query("t=2025-07-18T20%3A42%3A34Z", "t", v, sizeof(v)), -1); /* too long */
    char big[64];
    assert_int_equal(query("t=2025-07-18T20%3A42%3A34Z", "t", big, sizeof(big)), 1);
    assert_string_equal(big, "2025-07-18T20:42:34Z");
    assert_int_equal(query("q=a+b", "q", v, sizeof(v)), 1);
    assert_string_equal(v, "a b");
    assert_int_equal(query("flag", "flag", v, sizeof(v)), 1);
    assert_string_equal(v, "");
    assert_int_equal(query("x=%zz", "x", v, sizeof(v)), -1);
    assert_int_equal(query("x=%00", "x", v, sizeof(v)), -1);
}

static void test_websocket_accept_key_is_rfc6455s_example(void **state)
{
    (void)state;
    char out[32];
    /* RFC 6455, section 1.3. */
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_matches_literal_and_parameter_segments),
        cmocka_unit_test(test_query_parameters_are_decoded_and_bounded),
        cmocka_unit_test(test_websocket_accept_key_is_rfc6455s_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
