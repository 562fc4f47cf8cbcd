/* Unit tests: growable buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/buf.h"

static void test_empty_holds_no_memory(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_null(b.data);
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_null(b.data);
    buf_free(&b);
}

static void test_append_and_consume(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(buf_append_str(&b, "hello "), 0);
    assert_int_equal(buf_printf(&b, "%s %d", "world", 42), 0);
    assert_int_equal(b.len, strlen("hello world 42"));
    assert_memory_equal(buf_start(&b), "hello world 42", b.len);
    buf_consume(&b, 6);
    assert_int_equal(b.len, 8);
    assert_memory_equal(buf_start(&b), "world 42", 8);
    buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.off, 0);
    buf_free(&b);
}

static void test_grows_past_initial_capacity(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    char chunk[1000];
    for (int i = 0; i < 1000; i++)
        chunk[i] = (char)('a' + i % 26);
    for (int i = 0; i < 300; i++)
        assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
    assert_int_equal(b.len, 300000);
    assert_true(b.cap >= 300000);
    for (int i = 0; i < 300; i++)
        assert_memory_equal(buf_start(&b) + i * 1000, chunk, 1000);
    buf_free(&b);
}

static void test_consumed_prefix_is_reclaimed(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    char data[200];
    memset(data, 'x', sizeof(data));
    assert_int_equal(buf_append(&b, data, 200), 0);
    size_t cap = b.cap;
    buf_consume(&b, 190);
    /* 10 left at offset 190; 200 more fit once the prefix is moved away. */
    assert_int_equal(buf_append(&b, data, 200), 0);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.len, 210);
    buf_free(&b);
}

static void test_printf_longer_than_room(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    char big[5000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(buf_printf(&b, "<%s>", big), 0);
    assert_int_equal(b.len, 5001);
    assert_int_equal(buf_start(&b)[0], '<');
    assert_int_equal(buf_start(&b)[5000], '>');
    buf_free(&b);
}

static void test_shrink_frees_only_when_empty(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    char data[8192] = {0};
    assert_int_equal(buf_append(&b, data, sizeof(data)), 0);
    buf_shrink(&b, 1024);
    assert_non_null(b.data);
    buf_consume(&b, sizeof(data));
    buf_shrink(&b, 1024);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
}

static void test_nul_terminates_without_counting(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    buf_append(&b, "abc", 3);
    assert_int_equal(buf_nul(&b), 0);
    assert_string_equal(buf_start(&b), "abc");
    assert_int_equal(b.len, 3);
    buf_free(&b);
}

/* A buffer used as a bounded queue (append at the end, drop from the
 * front) must not copy its whole contents on every append. */
static void test_queue_use_moves_bytes_a_bounded_number_of_times(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    char item[100];
    memset(item, 'q', sizeof(item));
    size_t bound = (1 << 20) - 1000, appended = 0;   /* just under a power of two */
    unsigned long moves = 0;
    char *last = NULL;
    size_t last_off = 0;
    for (int i = 0; i < 200000; i++) {
        assert_int_equal(buf_append(&b, item, sizeof(item)), 0);
        appended += sizeof(item);
        while (b.len > bound)
            buf_consume(&b, sizeof(item));
        if (b.data != last || b.off < last_off)
            moves++;
        last = b.data;
        last_off = b.off;
    }
    /* Each move leaves half the block free: about one per bound appended. */
    assert_true(moves < 2 * appended / bound + 20);
    assert_true(b.cap <= 4 * bound);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_holds_no_memory),
        cmocka_unit_test(test_append_and_consume),
        cmocka_unit_test(test_grows_past_initial_capacity),
        cmocka_unit_test(test_consumed_prefix_is_reclaimed),
        cmocka_unit_test(test_printf_longer_than_room),
        cmocka_unit_test(test_shrink_frees_only_when_empty),
        cmocka_unit_test(test_nul_terminates_without_counting),
        cmocka_unit_test(test_queue_use_moves_bytes_a_bounded_number_of_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
