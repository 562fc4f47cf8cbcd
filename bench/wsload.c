/* wsload: WebSocket fan-out latency. One simulated agent heartbeats at a
 * fixed rate; N WebSocket clients subscribe to its telemetry
 * (/ws/telemetry/<id>); each delivery's latency is the time from the
 * heartbeat's send to its arrival at the client (same process, same clock).
 * Prints one JSON object with the histogram's percentiles.
 *
 * usage: wsload --http ADDR --master ADDR [--clients N] [--idle M] [--rate HB/S]
 *               [--duration DUR] [--gpus K]
 * With --idle M, the first M clients subscribe and never read again (the
 * slow readers gantryd must not let hurt the others); only the readers'
 * deliveries are counted. */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/parse.h"
#include "hist.h"

#define RING 4096

struct client {
    int fd;
    int upgraded;
    ev_io io;
    char *in;
    size_t len, cap;
};

static struct {
    struct sockaddr_in http, master;
    int clients, gpus, idle;
    double rate, duration;
    struct ev_loop *loop;
    struct client *c;
    int agent;
    ev_timer hb;
    unsigned long seq, sent, delivered, upgraded, errors;
    double sent_at[RING];
    struct hist hist;
} W;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dial(const struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0 && errno != EINTR)
            return -1;
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
    }
    return 0;
}

static void record(const char *msg, size_t n)
{
    char tmp[64];
    const char *s = memmem(msg, n, "\"seq\":", 6);
    if (!s || memmem(msg, n < 40 ? n : 40, "snapshot", 8))
        return;
    size_t k = 0;
    for (s += 6; k < sizeof(tmp) - 1 && s < msg + n && *s >= '0' && *s <= '9'; s++)
        tmp[k++] = *s;
    tmp[k] = '\0';
    unsigned long seq = strtoul(tmp, NULL, 10);
    if (seq == 0 || seq + RING <= W.seq)
        return;
    double lat = now_s() - W.sent_at[seq % RING];
    hist_add(&W.hist, lat);
    W.delivered++;
}

/* Consumes whole frames from c->in (server frames are never masked). */
static void frames(struct client *c)
{
    size_t off = 0;
    while (c->len - off >= 2) {
        const unsigned char *h = (const unsigned char *)c->in + off;
        size_t len = h[1] & 0x7f, hl = 2;
        if (len == 126) {
            if (c->len - off < 4)
                break;
            len = ((size_t)h[2] << 8) | h[3];
            hl = 4;
        } else if (len == 127) {
            if (c->len - off < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | h[2 + i];
            hl = 10;
        }
        if (c->len - off < hl + len)
            break;
        if ((h[0] & 0x0f) == 1)
            record((const char *)h + hl, len);
        off += hl + len;
    }
    memmove(c->in, c->in + off, c->len - off);
    c->len -= off;
}

static void readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct client *c = w->data;
    if (c->cap - c->len < 65536) {
        c->cap = c->cap ? c->cap * 2 : 131072;
        c->in = realloc(c->in, c->cap);
    }
    ssize_t n = read(c->fd, c->in + c->len, c->cap - c->len);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return;
        ev_io_stop(W.loop, w);
        W.errors++;
        return;
    }
    c->len += (size_t)n;
    if (!c->upgraded) {
        char *end = memmem(c->in, c->len, "\r\n\r\n", 4);
        if (!end)
            return;
        if (c->len < 12 || memcmp(c->in + 9, "101", 3) != 0) {
            W.errors++;
            ev_io_stop(W.loop, w);
            return;
        }
        c->upgraded = 1;
        W.upgraded++;
        if (c - W.c < W.idle) {
            /* A client that stops reading: a small receive buffer, never read. */
            int small = 4096;
            setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
            ev_io_stop(W.loop, w);
            return;
        }
        size_t hl = (size_t)(end + 4 - c->in);
        memmove(c->in, c->in + hl, c->len - hl);
        c->len -= hl;
    }
    frames(c);
}

static void heartbeat(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    char msg[4096];
    W.seq++;
    int n = snprintf(msg, sizeof(msg), "{\"type\":\"heartbeat\",\"seq\":%lu,\"cpu_usage\":%lu,"
                     "\"memory_usage\":50,\"gpus\":[", W.seq, W.seq % 100);
    for (int g = 0; g < W.gpus; g++)
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%s{\"index\":%d,\"utilization\":%lu}",
                      g ? "," : "", g, W.seq % 100);
    n += snprintf(msg + n, sizeof(msg) - (size_t)n, "]}\n");
    W.sent_at[W.seq % RING] = now_s();
    if (write_all(W.agent, msg, (size_t)n) == 0)
        W.sent++;
}

static int join_agent(void)
{
    char hello[2048];
    int n = snprintf(hello, sizeof(hello), "{\"type\":\"hello\",\"version\":1,\"worker_id\":\"ws-bench\","
                     "\"capacity\":{\"cpu\":8,\"memory_mib\":8192,\"gpus\":[");
    for (int g = 0; g < W.gpus; g++)
        n += snprintf(hello + n, sizeof(hello) - (size_t)n,
                      "%s{\"index\":%d,\"uuid\":\"GPU-ws-bench-%d\",\"model\":\"H100\"}", g ? "," : "",
                      g, g);
    n += snprintf(hello + n, sizeof(hello) - (size_t)n, "]}}\n");
    if ((W.agent = dial(&W.master)) < 0 || write_all(W.agent, hello, (size_t)n) < 0)
        return -1;
    char buf[4096];
    ssize_t r = read(W.agent, buf, sizeof(buf) - 1);
    return r > 0 && memmem(buf, (size_t)r, "welcome", 7) ? 0 : -1;
}

static int open_client(struct client *c)
{
    static const char req[] =
        "GET /ws/telemetry/ws-bench HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    if ((c->fd = dial(&W.http)) < 0 || write_all(c->fd, req, sizeof(req) - 1) < 0)
        return -1;
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    ev_io_init(&c->io, readable, c->fd, EV_READ);
    c->io.data = c;
    ev_io_start(W.loop, &c->io);
    return 0;
}

static void stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static int addr(const char *s, struct sockaddr_in *a)
{
    struct hostport hp;
    char err[64];
    if (parse_hostport(s, &hp, err, sizeof(err)) < 0)
        return -1;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)hp.port);
    return inet_pton(AF_INET, hp.host[0] ? hp.host : "127.0.0.1", &a->sin_addr) == 1 ? 0 : -1;
}

static int parse(int argc, char **argv)
{
    static const struct option opts[] = {
        {"http", 1, NULL, 'h'}, {"master", 1, NULL, 'm'}, {"clients", 1, NULL, 'n'},
        {"rate", 1, NULL, 'r'}, {"duration", 1, NULL, 'd'}, {"gpus", 1, NULL, 'g'},
        {"idle", 1, NULL, 'i'}, {NULL, 0, NULL, 0}};
    char err[64];
    int ch, have = 0;
    W.clients = 1000, W.rate = 10, W.duration = 10, W.gpus = 8;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'h': have |= addr(optarg, &W.http) == 0; break;
        case 'm': have |= (addr(optarg, &W.master) == 0) << 1; break;
        case 'n': W.clients = atoi(optarg); break;
        case 'r': W.rate = atof(optarg); break;
        case 'd': if (parse_duration(optarg, &W.duration, err, sizeof(err)) < 0) return -1; break;
        case 'g': W.gpus = atoi(optarg); break;
        case 'i': W.idle = atoi(optarg); break;
        default: return -1;
        }
    }
    return have == 3 && W.clients > 0 && W.rate > 0 && W.gpus >= 0 && W.gpus <= 16 &&
           W.idle >= 0 && W.idle < W.clients ? 0 : -1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (parse(argc, argv) < 0) {
        fprintf(stderr, "usage: wsload --http ADDR --master ADDR [--clients N] [--idle M] "
                        "[--rate HB/S] [--duration DUR] [--gpus K]\n");
        return 2;
    }
    W.loop = EV_DEFAULT;
    if (join_agent() < 0) {
        fprintf(stderr, "wsload: the agent could not join\n");
        return 1;
    }
    W.c = calloc((size_t)W.clients, sizeof(*W.c));
    for (int i = 0; i < W.clients; i++)
        if (open_client(&W.c[i]) < 0)
            W.errors++;
    double by = now_s() + 20;
    while (W.upgraded + W.errors < (unsigned long)W.clients && now_s() < by)
        ev_run(W.loop, EVRUN_ONCE);
    ev_timer_init(&W.hb, heartbeat, 0.2, 1.0 / W.rate);
    ev_timer_start(W.loop, &W.hb);
    ev_timer stop;
    ev_timer_init(&stop, stop_cb, W.duration + 0.2, 0.);
    ev_timer_start(W.loop, &stop);
    ev_run(W.loop, 0);
    const struct hist *h = &W.hist;
    printf("{\"clients\":%d,\"upgraded\":%lu,\"errors\":%lu,\"heartbeats\":%lu,\"deliveries\":%lu,"
           "\"expected\":%lu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
           W.clients, W.upgraded, W.errors, W.sent, W.delivered,
           W.sent * (W.upgraded - (unsigned long)W.idle),
           hist_percentile(h, 0.5), hist_percentile(h, 0.9), hist_percentile(h, 0.99),
           hist_percentile(h, 1.0));
    return W.errors ? 1 : 0;
}
