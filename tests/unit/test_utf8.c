/* Unit tests: process output made valid UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/utf8.h"

static void check(const char *in, size_t n, const char *want)
{
    struct buf b = BUF_INIT;
    assert_int_equal(utf8_sanitize(in, n, &b), 0);
    buf_nul(&b);
    assert_string_equal(buf_start(&b), want);
    buf_free(&b);
}

static void test_sanitize(void **state)
{
    (void)state;
    check("plain ascii\n", 12, "plain ascii\n");
    check("caf\xc3\xa9", 5, "caf\xc3\xa9");
    check("\xff" "a", 2, "\xef\xbf\xbd" "a");
    check("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd");          /* overlong */
    check("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
    check("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");
}

static void test_prefix_reports_cut_sequences(void **state)
{
    (void)state;
    size_t incomplete;
    assert_int_equal(utf8_valid_prefix("ab\xe2\x82", 4, &incomplete), 2);
    assert_int_equal(incomplete, 2);
    assert_int_equal(utf8_valid_prefix("ab\xe2\x82\xac", 5, &incomplete), 5);
    assert_int_equal(incomplete, 0);
    assert_int_equal(utf8_valid_prefix("ab\xffxyz", 6, &incomplete), 2);
    assert_int_equal(incomplete, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_prefix_reports_cut_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
