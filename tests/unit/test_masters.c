/* Unit tests: the agent's list of masters, the cursor that walks it, its
 * backoff and a standby's redirect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proto/masters.h"

static char err[256];

static int port_of(const struct masters_addr *a)
{
    return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
}

static void test_parses_and_resolves_a_list(void **state)
{
    (void)state;
    struct masters m;
    assert_int_equal(masters_parse(&m, "127.0.0.1:7070,:7071,localhost:7072", err, sizeof(err)), 0);
    assert_int_equal(m.n, 3);
    assert_string_equal(m.addr[0].text, "127.0.0.1:7070");
    assert_int_equal(port_of(&m.addr[1]), 7071);
    assert_int_equal(m.addr[1].sa.ss_family, AF_INET);
    assert_int_equal(masters_parse(&m, "127.0.0.1:7070,,127.0.0.1:7071", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(masters_parse(&m, "127.0.0.1:0", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "127.0.0.1:0"));
    assert_int_equal(masters_parse(&m, "127.0.0.1", err, sizeof(err)), -1);
    char many[16 * 20 + 40] = "";
    for (int i = 0; i <= MASTERS_MAX; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s127.0.0.1:%d", i ? "," : "",
                 7000 + i);
    assert_int_equal(masters_parse(&m, many, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "at most"));
}

/* Each address once per round without waiting, then a wait that doubles,
 * drawn between half and all of it, up to half a second in a group. */
static void test_cycles_with_backoff_and_jitter(void **state)
{
    (void)state;
    struct masters m;
    struct masters_cursor c;
    assert_int_equal(masters_parse(&m, "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3", err, sizeof(err)), 0);
    masters_cursor_init(&c, 0.2, 10);
    assert_int_equal(port_of(masters_pick(&m, &c)), 1);
    assert_true(masters_failed(&m, &c, 1) == 0);
    assert_int_equal(port_of(masters_pick(&m, &c)), 2);
    assert_true(masters_failed(&m, &c, 1) == 0);
    assert_int_equal(port_of(masters_pick(&m, &c)), 3);
    double w = masters_failed(&m, &c, 1);          /* the round is over */
    assert_true(w > 0.19 && w < 0.21);
    assert_int_equal(port_of(masters_pick(&m, &c)), 1);
    for (int round = 0; round < 8; round++) {
        masters_failed(&m, &c, 0);
        masters_failed(&m, &c, 0);
        w = masters_failed(&m, &c, 0);             /* a draw of 0: half the backoff */
    }
    assert_true(w > 0.24 && w < 0.26);             /* capped at 0.5 s in a group */
    masters_joined(&c);
    masters_failed(&m, &c, 1);
    masters_failed(&m, &c, 1);
    w = masters_failed(&m, &c, 1);
    assert_true(w > 0.19 && w < 0.21);             /* joined: back to the shortest */
}

/* One address and no standby ever met: the caller's own bound holds. */
static void test_a_single_master_backs_off_to_its_own_bound(void **state)
{
    (void)state;
    struct masters m;
    struct masters_cursor c;
    assert_int_equal(masters_parse(&m, "127.0.0.1:9", err, sizeof(err)), 0);
    masters_cursor_init(&c, 0.2, 10);
    double w = 0;
    for (int i = 0; i < 10; i++)
        w = masters_failed(&m, &c, 1);
    assert_true(w > 9.99 && w < 10.01);
    assert_int_equal(port_of(masters_pick(&m, &c)), 9);
}

/* not_leader with an address: the next dial goes there within the
 * jitter, and the connection's close is not counted twice; if the leader
 * named does not take us, the list goes on from the address after the
 * standby. */
static void test_follows_a_redirect_once(void **state)
{
    (void)state;
    struct masters m;
    struct masters_cursor c;
    assert_int_equal(masters_parse(&m, "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3", err, sizeof(err)), 0);
    masters_cursor_init(&c, 0.2, 10);
    assert_int_equal(masters_redirect(&m, &c, "127.0.0.1:3", 1), 0);
    double w = masters_failed(&m, &c, 1);          /* the standby closes after not_leader */
    assert_true(w >= 0 && w <= MASTERS_REDIRECT_JITTER);
    assert_int_equal(port_of(masters_pick(&m, &c)), 3);
    assert_string_equal(masters_pick(&m, &c)->text, "127.0.0.1:3");
    assert_true(masters_failed(&m, &c, 1) == 0);   /* the leader named is gone too */
    assert_int_equal(port_of(masters_pick(&m, &c)), 2);
    /* not_leader naming nobody: on along the list, the round over */
    assert_int_equal(masters_redirect(&m, &c, "", 1), -1);
    w = masters_failed(&m, &c, 1);
    assert_true(w > 0.19 && w < 0.21);
    assert_int_equal(port_of(masters_pick(&m, &c)), 3);
    /* a redirect that cannot be resolved is no redirect */
    assert_int_equal(masters_redirect(&m, &c, "nowhere:", 1), -1);
    assert_true(masters_failed(&m, &c, 1) == 0);
    assert_int_equal(port_of(masters_pick(&m, &c)), 1);
}

/* Two standbys that name each other cannot keep an agent spinning: every
 * not_leader counts its address as tried, so the round ends in a wait. */
static void test_redirect_loops_end_in_a_wait(void **state)
{
    (void)state;
    struct masters m;
    struct masters_cursor c;
    assert_int_equal(masters_parse(&m, "127.0.0.1:1,127.0.0.1:2", err, sizeof(err)), 0);
    masters_cursor_init(&c, 0.2, 10);
    double total = 0;
    for (int i = 0; i < 6; i++) {
        const char *to = port_of(masters_pick(&m, &c)) == 1 ? "127.0.0.1:2" : "127.0.0.1:1";
        masters_redirect(&m, &c, to, 1);
        total += masters_failed(&m, &c, 1);
    }
    assert_true(total > 0.5);
    /* a single address that once redirected us: capped as a group */
    assert_int_equal(masters_parse(&m, "127.0.0.1:1", err, sizeof(err)), 0);
    masters_cursor_init(&c, 0.2, 10);
    masters_redirect(&m, &c, "", 1);
    double w = 0;
    for (int i = 0; i < 12; i++)
        w = masters_failed(&m, &c, 1);
    assert_true(w > 0.49 && w < 0.51);
}

/* Only a not_leader moves the cursor; other errors are the caller's. */
static void test_an_error_frame_redirects_only_on_not_leader(void **state)
{
    (void)state;
    struct masters m;
    struct masters_cursor c;
    assert_int_equal(masters_parse(&m, "127.0.0.1:1,127.0.0.1:2", err, sizeof(err)), 0);
    masters_cursor_init(&c, 0.2, 10);
    assert_int_equal(masters_on_error(&m, &c, "BAD_TOKEN", NULL, 1), 0);
    assert_int_equal(masters_on_error(&m, &c, NULL, "127.0.0.1:2", 1), 0);
    assert_int_equal(port_of(masters_pick(&m, &c)), 1);
    assert_int_equal(masters_on_error(&m, &c, "not_leader", "127.0.0.1:9", 1), 1);
    assert_int_equal(port_of(masters_pick(&m, &c)), 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_and_resolves_a_list),
        cmocka_unit_test(test_cycles_with_backoff_and_jitter),
        cmocka_unit_test(test_a_single_master_backs_off_to_its_own_bound),
        cmocka_unit_test(test_follows_a_redirect_once),
        cmocka_unit_test(test_redirect_loops_end_in_a_wait),
        cmocka_unit_test(test_an_error_frame_redirects_only_on_not_leader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
