/* failover: many agents that follow a group of gantryd, for B8. Each
 * connection says hello and heartbeats like gantry-agent, and when its
 * master goes (or answers not_leader) it walks the --master list as the
 * agent does (proto/masters.c: the same cursor, backoff and redirects).
 * Prints a JSON line, with the wall-clock time, each time every agent is
 * joined and each time that stops being so, so a driver can time a
 * failover from its own kill to "all back".
 *
 * usage: failover --master A,B,... [--agents N] [--interval DUR]
 *                 [--duration DUR] [--token T] [--prefix ID] */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/parse.h"
#include "proto/masters.h"

struct fagent {
    int idx, fd, joined;
    ev_io io;
    ev_timer timer;               /* the next dial, or the next heartbeat */
    struct masters_cursor cursor;
    unsigned long seq;
    char in[4096];
    size_t inlen;
};

static struct {
    struct masters masters;
    int agents;
    double interval, duration;
    const char *token, *prefix;
    struct ev_loop *loop;
    struct fagent *a;
    int joined;                   /* agents joined now */
    int all;                      /* every one was joined at the last count */
    unsigned long joins, losses, redirects;
} F;

static double wall(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void report(void)
{
    int all = F.joined == F.agents;
    if (all == F.all)
        return;
    F.all = all;
    printf("{\"event\":\"%s\",\"t\":%.6f,\"joined\":%d}\n", all ? "all" : "lost", wall(), F.joined);
    fflush(stdout);
}

static void dial(struct fagent *a);
static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

static void lost(struct fagent *a)
{
    if (a->fd >= 0) {
        ev_io_stop(F.loop, &a->io);
        close(a->fd);
        a->fd = -1;
    }
    ev_timer_stop(F.loop, &a->timer);
    if (a->joined) {
        a->joined = 0;
        F.joined--;
        F.losses++;
        report();
    }
    a->inlen = 0;
    double wait = masters_failed(&F.masters, &a->cursor, (double)random() / RAND_MAX);
    ev_timer_set(&a->timer, wait, 0.);
    ev_timer_start(F.loop, &a->timer);
}

static void send_line(struct fagent *a, const char *p, size_t n)
{
    if (write(a->fd, p, n) != (ssize_t)n && errno != EAGAIN)
        lost(a);                  /* a short write of a small frame: give up on it */
}

static void on_line(struct fagent *a, const char *line, size_t n)
{
    json_t *j = json_loadb(line, n, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (type && strcmp(type, "welcome") == 0 && !a->joined) {
        a->joined = 1;
        F.joined++;
        F.joins++;
        masters_joined(&a->cursor);
        ev_timer_set(&a->timer, F.interval * (0.5 + 0.5 * (double)random() / RAND_MAX),
                     F.interval);
        ev_timer_start(F.loop, &a->timer);
        report();
    } else if (type && strcmp(type, "error") == 0) {
        F.redirects += (unsigned long)masters_on_error(
            &F.masters, &a->cursor, json_string_value(json_object_get(j, "code")),
            json_string_value(json_object_get(j, "leader")), (double)random() / RAND_MAX);
    }
    json_decref(j);
}

static void readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct fagent *a = w->data;
    ssize_t n = read(a->fd, a->in + a->inlen, sizeof(a->in) - a->inlen);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        lost(a);
        return;
    }
    a->inlen += (size_t)n;
    char *start = a->in, *nl;
    while (a->fd >= 0 && (nl = memchr(start, '\n', a->inlen - (size_t)(start - a->in)))) {
        on_line(a, start, (size_t)(nl - start));
        start = nl + 1;
    }
    if (a->fd < 0)
        return;
    a->inlen -= (size_t)(start - a->in);
    memmove(a->in, start, a->inlen);
    if (a->inlen == sizeof(a->in))
        a->inlen = 0;             /* a line longer than we care about */
}

static void connected(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct fagent *a = w->data;
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    ev_io_stop(F.loop, &a->io);
    if (err) {
        lost(a);
        return;
    }
    char hello[512];
    int n = snprintf(hello, sizeof(hello),
                     "{\"type\":\"hello\",\"version\":1,\"worker_id\":\"%s-%d\",\"token\":\"%s\","
                     "\"capacity\":{\"cpu\":8,\"memory_mib\":32768,\"storage_mib\":100000,"
                     "\"gpus\":[]},\"executors\":[\"process\"]}\n",
                     F.prefix, a->idx, F.token);
    ev_io_init(&a->io, readable, a->fd, EV_READ);
    a->io.data = a;
    ev_io_start(F.loop, &a->io);
    send_line(a, hello, (size_t)n);
}

static void dial(struct fagent *a)
{
    const struct masters_addr *to = masters_pick(&F.masters, &a->cursor);
    a->fd = socket(to->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->fd < 0 || (connect(a->fd, (const struct sockaddr *)&to->sa, to->len) < 0 &&
                      errno != EINPROGRESS)) {
        lost(a);
        return;
    }
    int one = 1;
    setsockopt(a->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ev_io_init(&a->io, connected, a->fd, EV_WRITE);
    a->io.data = a;
    ev_io_start(F.loop, &a->io);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct fagent *a = w->data;
    if (!a->joined) {
        ev_timer_stop(F.loop, &a->timer);
        dial(a);
        return;
    }
    char hb[160];
    int n = snprintf(hb, sizeof(hb),
                     "{\"type\":\"heartbeat\",\"seq\":%lu,\"cpu_usage\":12.5,\"memory_usage\":40,"
                     "\"storage_usage\":10}\n", ++a->seq);
    send_line(a, hb, (size_t)n);
}

static void stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void sig_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static int parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        {"master", 1, NULL, 'm'}, {"agents", 1, NULL, 'n'}, {"interval", 1, NULL, 'i'},
        {"duration", 1, NULL, 'd'}, {"token", 1, NULL, 't'}, {"prefix", 1, NULL, 'p'},
        {NULL, 0, NULL, 0}};
    char err[256];
    int ch;
    const char *list = "127.0.0.1:7070";
    F.agents = 1000;
    F.interval = 1;
    F.duration = 3600;
    F.token = "";
    F.prefix = "fo";
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'm': list = optarg; break;
        case 'n': F.agents = atoi(optarg); break;
        case 'i': if (parse_duration(optarg, &F.interval, err, sizeof(err)) < 0) return -1; break;
        case 'd': if (parse_duration(optarg, &F.duration, err, sizeof(err)) < 0) return -1; break;
        case 't': F.token = optarg; break;
        case 'p': F.prefix = optarg; break;
        default: return -1;
        }
    }
    if (masters_parse(&F.masters, list, err, sizeof(err)) < 0) {
        fprintf(stderr, "failover: --master: %s\n", err);
        return -1;
    }
    return F.agents > 0 && F.interval > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) < 0) {
        fprintf(stderr, "usage: failover --master A,B,... [--agents N] [--interval DUR] "
                        "[--duration DUR] [--token T] [--prefix ID]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned)getpid());
    F.loop = EV_DEFAULT;
    F.a = calloc((size_t)F.agents, sizeof(*F.a));
    if (!F.a)
        return 1;
    for (int i = 0; i < F.agents; i++) {
        struct fagent *a = &F.a[i];
        a->idx = i;
        a->fd = -1;
        masters_cursor_init(&a->cursor, 0.2, 10);
        ev_init(&a->timer, timer_cb);
        a->timer.data = a;
        ev_timer_set(&a->timer, 0.001 * (i % 500), 0.);   /* joins spread over half a second */
        ev_timer_start(F.loop, &a->timer);
    }
    ev_timer stop;
    ev_signal term, intr;
    ev_timer_init(&stop, stop_cb, F.duration, 0.);
    ev_timer_start(F.loop, &stop);
    ev_signal_init(&term, sig_cb, SIGTERM);
    ev_signal_start(F.loop, &term);
    ev_signal_init(&intr, sig_cb, SIGINT);
    ev_signal_start(F.loop, &intr);
    ev_run(F.loop, 0);
    printf("{\"event\":\"done\",\"agents\":%d,\"joined\":%d,\"joins\":%lu,\"losses\":%lu,"
           "\"redirects\":%lu}\n", F.agents, F.joined, F.joins, F.losses, F.redirects);
    for (int i = 0; i < F.agents; i++)
        if (F.a[i].fd >= 0)
            close(F.a[i].fd);
    free(F.a);
    return 0;
}
