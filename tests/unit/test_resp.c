/* Unit tests: building Redis commands in RESP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "store/resp.h"

static void test_encodes_every_kind_of_argument(void **state)
{
    (void)state;
    struct resp_cmd c = {0};
    struct buf out = BUF_INIT;
    resp_begin(&c);
    resp_str(&c, "XADD");
    resp_cat(&c, "gantry:task:", "t-1", ":logs");
    resp_int(&c, -42);
    resp_fixed2(&c, 45.204);
    resp_num(&c, 2.5);
    resp_num(&c, 7);
    resp_arg(&c, "a\0b", 3);
    resp_fmt(&c, "%d-%d", 1, 2);
    assert_int_equal(resp_end(&c, &out), 0);
    static const char want[] = "*8\r\n$4\r\nXADD\r\n$20\r\ngantry:task:t-1:logs\r\n$3\r\n-42\r\n"
                               "$5\r\n45.20\r\n$3\r\n2.5\r\n$1\r\n7\r\n$3\r\na\0b\r\n$3\r\n1-2\r\n";
    assert_int_equal(out.len, sizeof(want) - 1);
    assert_memory_equal(buf_start(&out), want, out.len);
    buf_free(&out);
    resp_free(&c);
}

static void test_grows_past_any_fixed_argument_count(void **state)
{
    (void)state;
    struct resp_cmd c = {0};
    struct buf out = BUF_INIT;
    resp_begin(&c);
    resp_str(&c, "HSET");
    resp_str(&c, "k");
    for (int i = 0; i < 500; i++) {
        resp_fmt(&c, "f%d", i);
        resp_int(&c, i);
    }
    assert_int_equal(c.argc, 1002);
    assert_int_equal(resp_end(&c, &out), 0);
    assert_memory_equal(buf_start(&out), "*1002\r\n$4\r\nHSET\r\n", 17);
    assert_non_null(memmem(buf_start(&out), out.len, "$4\r\nf499\r\n$3\r\n499\r\n", 19));
    /* The builder is reused: a new command starts clean. */
    resp_begin(&c);
    resp_str(&c, "PING");
    buf_reset(&out);
    assert_int_equal(resp_end(&c, &out), 0);
    assert_int_equal(out.len, 14);
    assert_memory_equal(buf_start(&out), "*1\r\n$4\r\nPING\r\n", 14);
    buf_free(&out);
    resp_free(&c);
}

static void test_refuses_an_empty_or_overflowed_command(void **state)
{
    (void)state;
    struct resp_cmd c = {0};
    struct buf out = BUF_INIT;
    resp_begin(&c);
    assert_int_equal(resp_end(&c, &out), -1);
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    resp_str(&c, "SET");
    resp_fmt(&c, "%s", big);      /* past the formatter's bound */
    assert_int_equal(resp_end(&c, &out), -1);
    assert_int_equal(out.len, 0);
    buf_free(&out);
    resp_free(&c);
}

/* A write wrapped in the fence script: the script's arguments first, the
 * command's after them, as one request. */
static void test_wraps_a_command_after_arguments_of_its_own(void **state)
{
    (void)state;
    struct resp_cmd c = {0};
    struct buf out = BUF_INIT;
    resp_begin(&c);
    resp_str(&c, "HSET");
    resp_str(&c, "k");
    resp_arg(&c, "", 0);
    static const char *const pre[] = {"EVALSHA", "ab12", "1", "gantry:epoch", "7"};
    assert_int_equal(resp_end_after(&c, pre, 5, &out), 0);
    static const char want[] = "*8\r\n$7\r\nEVALSHA\r\n$4\r\nab12\r\n$1\r\n1\r\n"
                               "$12\r\ngantry:epoch\r\n$1\r\n7\r\n$4\r\nHSET\r\n$1\r\nk\r\n$0\r\n\r\n";
    assert_int_equal(out.len, sizeof(want) - 1);
    assert_memory_equal(buf_start(&out), want, out.len);
    buf_free(&out);
    resp_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encodes_every_kind_of_argument),
        cmocka_unit_test(test_grows_past_any_fixed_argument_count),
        cmocka_unit_test(test_refuses_an_empty_or_overflowed_command),
        cmocka_unit_test(test_wraps_a_command_after_arguments_of_its_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
