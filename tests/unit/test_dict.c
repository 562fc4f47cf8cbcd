/* Unit tests: the intrusive hash table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/dict.h"
#include "core/list.h"

struct named {
    char key[16];
    struct dict_node node;
};

static int named_match(const struct dict_node *n, const void *key, size_t len)
{
    const struct named *e = container_of(n, struct named, node);
    return strlen(e->key) == len && memcmp(e->key, key, len) == 0;
}

static void test_dict_insert_find_remove(void **state)
{
    (void)state;
    enum { N = 5000 };
    static struct named e[N];
    struct dict d;
    dict_init(&d, named_match);
    for (int i = 0; i < N; i++) {
        snprintf(e[i].key, sizeof(e[i].key), "w%d", i);
        assert_int_equal(dict_insert(&d, &e[i].node, e[i].key, strlen(e[i].key)), 0);
    }
    assert_int_equal(d.count, N);
    for (int i = 0; i < N; i++) {
        struct dict_node *n = dict_find(&d, e[i].key, strlen(e[i].key));
        assert_ptr_equal(n, &e[i].node);
    }
    assert_null(dict_find(&d, "nope", 4));
    for (int i = 0; i < N; i += 2)
        dict_remove(&d, &e[i].node);
    assert_int_equal(d.count, N / 2);
    for (int i = 0; i < N; i++) {
        struct dict_node *n = dict_find(&d, e[i].key, strlen(e[i].key));
        if (i % 2)
            assert_ptr_equal(n, &e[i].node);
        else
            assert_null(n);
    }
    dict_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dict_insert_find_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
