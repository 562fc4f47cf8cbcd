/* Unit tests: the reactor's connections over a socketpair: output queued
 * as own and shared segments goes out in order, the output total is
 * accounted, a drained connection hears it, and yielded input comes back
 * on the next turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor/reactor.h"

static struct {
    int drained;
    char got[256];
    size_t ngot;
    int yield_once;
    int calls;
} T;

static ssize_t take(struct conn *c, const char *p, size_t n)
{
    T.calls++;
    if (T.yield_once) {
        T.yield_once = 0;
        conn_yield(c);
        return 0;
    }
    memcpy(T.got + T.ngot, p, n);
    T.ngot += n;
    return (ssize_t)n;
}

static void drained(struct conn *c)
{
    (void)c;
    T.drained++;
}

static const struct conn_proto proto = {.name = "test", .on_data = take, .on_drain = drained};
static struct listener ls;
static int peer;

static struct conn *pair(void)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    peer = sv[1];
    memset(&ls, 0, sizeof(ls));
    list_init(&ls.conns);
    snprintf(ls.name, sizeof(ls.name), "test");
    ls.proto = &proto;
    ls.in_max = 4096;
    ls.out_max = 1 << 20;
    return reactor_conn_new(&ls, sv[0], "peer", 0);
}

static void turn(void)
{
    ev_run(reactor_loop(), EVRUN_NOWAIT);
}

static int setup(void **state)
{
    (void)state;
    memset(&T, 0, sizeof(T));
    return reactor_init(EV_DEFAULT);
}

static int teardown(void **state)
{
    (void)state;
    close(peer);
    turn();
    reactor_shutdown();
    return 0;
}

static void test_segments_go_out_in_order(void **state)
{
    (void)state;
    struct conn *c = pair();
    struct rbuf *b = rbuf_new(5);
    memcpy(b->data, "SHARE", 5);
    conn_write(c, "a", 1);
    conn_write_framed(c, "<h>", 3, b);
    conn_write(c, "b", 1);
    conn_write_shared(c, b);
    buf_append(conn_out(c), "c", 1);
    conn_flush_soon(c);
    rbuf_unref(b);                /* the connection holds its own references */
    assert_int_equal(conn_pending_bytes(c), 1 + 8 + 1 + 5 + 1);
    struct reactor_stats st;
    reactor_stats(&st);
    assert_int_equal(st.out_bytes, 16);
    turn();
    char out[64] = "";
    ssize_t n = read(peer, out, sizeof(out));
    assert_int_equal(n, 16);
    assert_memory_equal(out, "a<h>SHAREbSHAREc", 16);
    reactor_stats(&st);
    assert_int_equal(st.out_bytes, 0);
    conn_close(c);
}

/* More segments than one write takes (its iovec array is bounded), then
 * own bytes: every byte goes out, in order, over as many writes as it needs. */
static void test_many_segments_then_own_bytes(void **state)
{
    (void)state;
    struct conn *c = pair();
    struct rbuf *b = rbuf_new(2);
    memcpy(b->data, "xy", 2);
    char want[256];
    size_t nwant = 0;
    for (int i = 0; i < 40; i++) {
        char h = (char)('A' + i % 26);
        conn_write_framed(c, &h, 1, b);
        want[nwant++] = h;
        want[nwant++] = 'x';
        want[nwant++] = 'y';
    }
    buf_append(conn_out(c), "!", 1);
    want[nwant++] = '!';
    conn_flush_soon(c);
    rbuf_unref(b);
    char out[256];
    size_t got = 0;
    for (int t = 0; t < 20 && got < nwant; t++) {
        turn();
        ssize_t n;
        while ((n = recv(peer, out + got, sizeof(out) - got, MSG_DONTWAIT)) > 0)
            got += (size_t)n;
    }
    assert_int_equal(got, nwant);
    assert_memory_equal(out, want, nwant);
    assert_int_equal(conn_pending_bytes(c), 0);
    conn_close(c);
}

static void test_drain_is_told_once_asked(void **state)
{
    (void)state;
    struct conn *c = pair();
    conn_write(c, "xyz", 3);
    turn();
    assert_int_equal(T.drained, 0);
    conn_want_drain(c);
    turn();
    assert_int_equal(T.drained, 1);
    turn();
    assert_int_equal(T.drained, 1);
    assert_false(conn_output_over(c, 0));
    conn_write(c, "q", 1);
    assert_true(conn_output_over(c, 0));
    conn_close(c);
}

static void test_yielded_input_comes_back_next_turn(void **state)
{
    (void)state;
    struct conn *c = pair();
    T.yield_once = 1;
    assert_int_equal(write(peer, "hello", 5), 5);
    turn();                       /* read; the protocol yields, keeping it all */
    assert_int_equal(T.ngot, 0);
    assert_int_equal(c->in.len, 5);
    turn();
    turn();
    assert_int_equal(T.ngot, 5);
    assert_memory_equal(T.got, "hello", 5);
    assert_true(T.calls >= 2);
    conn_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_segments_go_out_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_segments_then_own_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_is_told_once_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yielded_input_comes_back_next_turn, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
