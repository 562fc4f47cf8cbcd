/* Unit tests: timeout lists ordered by last activity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/idle.h"

struct item {
    int id;
    struct idle_node idle;
};

static void test_expires_in_order_of_activity(void **state)
{
    (void)state;
    struct idle_list l;
    struct item it[3];
    idle_list_init(&l, 10.0);
    for (int i = 0; i < 3; i++) {
        it[i].id = i;
        idle_node_init(&it[i].idle);
        idle_touch(&l, &it[i].idle, 100.0 + i);
    }
    /* Item 0 shows activity again: it becomes the freshest. */
    idle_touch(&l, &it[0].idle, 105.0);
    assert_int_equal(l.count, 3);
    double deadline;
    assert_int_equal(idle_next_deadline(&l, &deadline), 0);
    assert_true(deadline == 111.0);
    assert_null(idle_pop_expired(&l, 110.9));
    struct idle_node *n = idle_pop_expired(&l, 112.0);
    assert_non_null(n);
    assert_int_equal(container_of(n, struct item, idle)->id, 1);
    n = idle_pop_expired(&l, 112.0);
    assert_int_equal(container_of(n, struct item, idle)->id, 2);
    assert_null(idle_pop_expired(&l, 112.0));
    n = idle_pop_expired(&l, 115.0);
    assert_int_equal(container_of(n, struct item, idle)->id, 0);
    assert_int_equal(l.count, 0);
    assert_int_equal(idle_next_deadline(&l, &deadline), -1);
}

static void test_remove_and_membership(void **state)
{
    (void)state;
    struct idle_list l;
    struct item a, b;
    a.id = 1;
    b.id = 2;
    idle_list_init(&l, 1.0);
    idle_node_init(&a.idle);
    idle_node_init(&b.idle);
    assert_false(idle_member(&a.idle));
    idle_touch(&l, &a.idle, 0);
    idle_touch(&l, &b.idle, 0.5);
    assert_true(idle_member(&a.idle));
    idle_remove(&l, &a.idle);
    idle_remove(&l, &a.idle); /* twice is harmless */
    assert_false(idle_member(&a.idle));
    assert_int_equal(l.count, 1);
    struct idle_node *n = idle_pop_expired(&l, 2.0);
    assert_ptr_equal(n, &b.idle);
}

static void test_touch_is_constant_time_for_many(void **state)
{
    (void)state;
    enum { N = 100000 };
    static struct item items[N];
    struct idle_list l;
    idle_list_init(&l, 30.0);
    for (int i = 0; i < N; i++) {
        items[i].id = i;
        idle_node_init(&items[i].idle);
        idle_touch(&l, &items[i].idle, (double)i / N);
    }
    /* Touch every even item later: the odd ones expire first, in order. */
    for (int i = 0; i < N; i += 2)
        idle_touch(&l, &items[i].idle, 20.0);
    int expired = 0, last = -1;
    struct idle_node *n;
    while ((n = idle_pop_expired(&l, 31.0))) {
        int id = container_of(n, struct item, idle)->id;
        assert_true(id % 2 == 1);
        assert_true(id > last);
        last = id;
        expired++;
    }
    assert_int_equal(expired, N / 2);
    assert_int_equal(l.count, N / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expires_in_order_of_activity),
        cmocka_unit_test(test_remove_and_membership),
        cmocka_unit_test(test_touch_is_constant_time_for_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
