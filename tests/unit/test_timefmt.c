/* Unit tests: RFC 3339 times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/timefmt.h"

static void test_parse_forms(void **state)
{
    (void)state;
    double t;
    assert_int_equal(time_parse("2025-07-18T20:42:34Z", &t), 0);
    assert_int_equal(time_ms(t), 1752871354000LL);
    assert_int_equal(time_parse("2025-07-18T20:42:34.250Z", &t), 0);
    assert_int_equal(time_ms(t), 1752871354250LL);
    assert_int_equal(time_parse("2025-07-18T22:42:34+02:00", &t), 0);
    assert_int_equal(time_ms(t), 1752871354000LL);
    assert_int_equal(time_parse("2025-07-18 20:42:34z", &t), 0);
    assert_int_equal(time_ms(t), 1752871354000LL);
    const char *bad[] = {"", "2025-07-18", "2025-07-18T20:42:34", "2025-13-01T00:00:00Z",
                         "2025-02-29T00:00:00Z", "2025-07-18T25:00:00Z",
                         "2025-07-18T20:42:34Zjunk", "yesterday", "2025-07-18T20:42:34.Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(time_parse(bad[i], &t), -1);
    assert_int_equal(time_parse("2024-02-29T00:00:00Z", &t), 0);
}

static void test_format_round_trips(void **state)
{
    (void)state;
    char out[40];
    assert_true(time_format(1752871354.0, out, sizeof(out)) > 0);
    assert_string_equal(out, "2025-07-18T20:42:34Z");
    assert_true(time_format(1752871354.123, out, sizeof(out)) > 0);
    assert_string_equal(out, "2025-07-18T20:42:34.123Z");
    double t;
    assert_int_equal(time_parse(out, &t), 0);
    assert_int_equal(time_ms(t), 1752871354123LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_forms),
        cmocka_unit_test(test_format_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
