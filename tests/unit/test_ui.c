/* Unit tests: the console's embedded files and the header matching that
 * picks their form (gzip or not) and answers 304. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http/ui.h"

static void test_accept_encoding(void **state)
{
    (void)state;
    assert_true(ui_accepts_gzip("gzip"));
    assert_true(ui_accepts_gzip("gzip, deflate, br"));
    assert_true(ui_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    assert_true(ui_accepts_gzip("x-gzip"));
    assert_true(ui_accepts_gzip("*"));
    assert_true(ui_accepts_gzip("deflate, *;q=0.1"));
    assert_false(ui_accepts_gzip(NULL));
    assert_false(ui_accepts_gzip(""));
    assert_false(ui_accepts_gzip("identity"));
    assert_false(ui_accepts_gzip("br, deflate"));
    assert_false(ui_accepts_gzip("gzip;q=0"));
    assert_false(ui_accepts_gzip("gzip; q=0.000, *"));       /* named: its q wins */
    assert_false(ui_accepts_gzip("*;q=0"));
    assert_false(ui_accepts_gzip("gzipped"));
}

static void test_if_none_match(void **state)
{
    (void)state;
    const char *tag = "\"0123456789abcdef0123\"";
    assert_true(ui_etag_matches(tag, tag));
    assert_true(ui_etag_matches("*", tag));
    assert_true(ui_etag_matches("W/\"0123456789abcdef0123\"", tag));
    assert_true(ui_etag_matches("\"old\", \"0123456789abcdef0123\"", tag));
    assert_true(ui_etag_matches("\"a\",W/\"0123456789abcdef0123\"", tag));
    assert_false(ui_etag_matches("\"0123456789abcdef012\"", tag));
    assert_false(ui_etag_matches("\"0123456789abcdef01234\"", tag));
    assert_false(ui_etag_matches("0123456789abcdef0123", tag));   /* unquoted */
    assert_false(ui_etag_matches("\"0123456789abcdef0123", tag)); /* unterminated */
    assert_false(ui_etag_matches("", tag));
}

static void test_assets_table(void **state)
{
    (void)state;
    assert_int_equal(strlen(ui_version), 12);
    const struct ui_asset *page = ui_find("index.html");
    assert_non_null(page);
    assert_string_equal(page->content_type, "text/html; charset=utf-8");
    assert_memory_equal(page->data, "<!doctype html>", 15);
    /* The page names its files under the build's version. */
    char ref[64];
    snprintf(ref, sizeof(ref), "/ui/%s/app.js", ui_version);
    assert_non_null(memmem(page->data, page->len, ref, strlen(ref)));
    assert_null(memmem(page->data, page->len, "@UI_VERSION@", 12));
    for (size_t i = 0; i < ui_nassets; i++) {
        const struct ui_asset *a = &ui_assets[i];
        assert_ptr_equal(ui_find(a->name), a);
        assert_int_equal(strlen(a->etag), 22);
        if (a->gz) {
            assert_true(a->gz_len < a->len);
            assert_memory_equal(a->gz, "\x1f\x8b", 2);
            assert_string_not_equal(a->gz_etag, a->etag);
        }
    }
    const struct ui_asset *lib = ui_find("dygraph.min.js");
    assert_non_null(lib);
    assert_string_equal(lib->content_type, "text/javascript; charset=utf-8");
    assert_non_null(lib->gz);
    assert_null(ui_find("nope.js"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_encoding),
        cmocka_unit_test(test_if_none_match),
        cmocka_unit_test(test_assets_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
