/* Unit tests: the binary heap behind the task queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "core/heap.h"

struct item {
    int key;
    size_t pos;
};

static int before(const void *a, const void *b)
{
    return ((const struct item *)a)->key > ((const struct item *)b)->key;
}

static void moved(void *item, size_t pos)
{
    ((struct item *)item)->pos = pos;
}

static void test_pops_in_order_and_removes_anywhere(void **state)
{
    (void)state;
    enum { N = 2000 };
    static struct item items[N];
    struct heap h;
    heap_init(&h, before, moved);
    srand(7);
    for (int i = 0; i < N; i++) {
        items[i].key = rand() % 500;
        assert_int_equal(heap_push(&h, &items[i]), 0);
    }
    for (int i = 0; i < N; i += 3)
        heap_remove(&h, items[i].pos);
    for (int i = 0; i < N; i += 3)
        assert_int_equal(items[i].pos, (size_t)-1);
    int last = 1 << 30, count = 0;
    struct item *it;
    while ((it = heap_pop(&h))) {
        assert_true(it->key <= last);
        last = it->key;
        count++;
    }
    assert_int_equal(count, N - (N + 2) / 3);
    assert_null(heap_peek(&h));
    heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pops_in_order_and_removes_anywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
