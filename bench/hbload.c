/* hbload: many simulated agents against gantryd. Each connection says
 * hello, then heartbeats (with per-GPU samples) at a fixed rate, asking for
 * a heartbeat_ack on every one, or on one in N (--ack-every), to time the
 * round trip. Spreads agents over processes (--procs) to pass one process's
 * file limit, and over 127.0.0.x source addresses (--spread) to pass one
 * address's ports. Prints one JSON object.
 *
 * usage: hbload --master ADDR [--agents N] [--interval DUR | --rate HB/S]
 *               [--duration DUR] [--gpus K] [--token T] [--prefix ID]
 *               [--procs P] [--spread S] [--no-ack | --ack-every N] [--warmup DUR]
 *               [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]
 *
 * With --tls-ca every agent speaks TLS (verifying the master against the
 * CA, and presenting a client certificate when given one): the handshake
 * is done before the hello, blocking, like the connect.
 *
 * Round trips are counted from --warmup after every agent of the process
 * has joined: the joins' burst is not the steady state being measured. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ev.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/parse.h"
#include "hist.h"


struct agent {
    int fd;
    SSL *ssl;                     /* with --tls-ca */
    int idx;
    int joined;
    ev_io io, wio;
    char *pending;                /* unsent tail of a message */
    size_t npending;
    ev_timer hb;
    unsigned long seq;
    double sent_at[64];           /* send time by seq % 64 */
    char in[4096];
    size_t inlen;
};

static struct {
    char master[64];
    int agents, gpus, procs, spread, first;
    int ack;                      /* ask an ack on one heartbeat in ack; 0: never */
    double interval, duration, rate, warmup;
    double measure_from;          /* round trips of heartbeats sent before are not counted */
    const char *token, *prefix;
    const char *tls_ca, *tls_cert, *tls_key;
    SSL_CTX *tls;
    struct sockaddr_in addr;
    struct ev_loop *loop;
    struct agent *a;
    unsigned long connected, joined, errors, sent, acks, closed, skipped;
    struct hist hist;
    double start;
} H;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void close_agent(struct agent *a)
{
    if (a->fd < 0)
        return;
    ev_io_stop(H.loop, &a->io);
    ev_io_stop(H.loop, &a->wio);
    free(a->pending);
    a->pending = NULL;
    a->npending = 0;
    ev_timer_stop(H.loop, &a->hb);
    SSL_free(a->ssl);
    a->ssl = NULL;
    close(a->fd);
    a->fd = -1;
    H.closed++;
}

/* Writes what the socket takes; a tail that does not fit waits for the
 * socket to drain (the master is behind), and heartbeats are skipped and
 * counted until then. */
/* One write on a's connection (TLS or not); -1 with errno EAGAIN when
 * the socket is full. */
static ssize_t agent_write(struct agent *a, const char *p, size_t n)
{
    if (!a->ssl)
        return write(a->fd, p, n);
    ERR_clear_error();
    int w = SSL_write(a->ssl, p, (int)n);
    if (w > 0)
        return w;
    int e = SSL_get_error(a->ssl, w);
    errno = e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? EAGAIN : EPIPE;
    return -1;
}

/* One read (TLS or not): bytes, 0 at the end, -1 with errno. */
static ssize_t agent_read(struct agent *a, char *p, size_t n)
{
    if (!a->ssl)
        return read(a->fd, p, n);
    ERR_clear_error();
    int r = SSL_read(a->ssl, p, (int)n);
    if (r > 0)
        return r;
    int e = SSL_get_error(a->ssl, r);
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN : EPIPE;
    return -1;
}

static void send_all(struct agent *a, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = agent_write(a, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!(a->pending = malloc(n))) {
                close_agent(a);
                return;
            }
            memcpy(a->pending, p, n);
            a->npending = n;
            ev_io_start(H.loop, &a->wio);
            return;
        } else {
            H.errors++;
            close_agent(a);
            return;
        }
    }
}

static void writable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct agent *a = w->data;
    char *p = a->pending;
    size_t n = a->npending;
    a->pending = NULL;
    a->npending = 0;
    ev_io_stop(H.loop, &a->wio);
    send_all(a, p, n);
    free(p);
}

static void heartbeat(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct agent *a = w->data;
    char msg[8192];
    if (a->npending) {
        H.skipped++;
        return;
    }
    a->seq++;
    int ack = H.ack && a->seq % (unsigned long)H.ack == 0;
    int n = snprintf(msg, sizeof(msg),
                     "{\"type\":\"heartbeat\",\"seq\":%lu,\"timestamp\":%ld,\"cpu_usage\":%lu.5,"
                     "\"memory_usage\":62.8,\"storage_usage\":41.5,\"ack\":%s,\"gpus\":[",
                     a->seq, (long)time(NULL), a->seq % 100, ack ? "true" : "false");
    for (int g = 0; g < H.gpus; g++)
        n += snprintf(msg + n, sizeof(msg) - (size_t)n,
                      "%s{\"index\":%d,\"utilization\":%lu,\"memory_utilization\":12,"
                      "\"memory_used_mib\":4096,\"memory_free_mib\":77000,\"temperature_c\":41,"
                      "\"power_w\":120.5,\"sm_clock_mhz\":1980,\"mem_clock_mhz\":2619}",
                      g ? "," : "", g, a->seq % 101);
    n += snprintf(msg + n, sizeof(msg) - (size_t)n, "]}\n");
    a->sent_at[a->seq % 64] = now_s();
    H.sent++;
    send_all(a, msg, (size_t)n);
}

static void on_line(struct agent *a, const char *line)
{
    if (strstr(line, "\"heartbeat_ack\"")) {
        const char *s = strstr(line, "\"seq\":");
        unsigned long seq = s ? strtoul(s + 6, NULL, 10) : 0;
        double sent = a->sent_at[seq % 64];
        H.acks++;
        if (sent < H.measure_from)
            return;
        double rtt = now_s() - sent;
        hist_add(&H.hist, rtt);
    } else if (strstr(line, "\"welcome\"")) {
        a->joined = 1;
        H.joined++;
        double first = H.interval * (double)(a->idx % 1000) / 1000.0;
        ev_timer_set(&a->hb, first, H.interval);
        ev_timer_start(H.loop, &a->hb);
    } else if (strstr(line, "\"error\"")) {
        H.errors++;
        fprintf(stderr, "hbload: agent %d: %s\n", a->idx, line);
    }
}

static void readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct agent *a = w->data;
    ssize_t n = agent_read(a, a->in + a->inlen, sizeof(a->in) - a->inlen - 1);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        close_agent(a);
        return;
    }
    /* TLS may hold more records than this read took: the socket would
     * not say so. */
    if (a->ssl && SSL_has_pending(a->ssl))
        ev_feed_event(H.loop, &a->io, EV_READ);
    a->inlen += (size_t)n;
    a->in[a->inlen] = '\0';
    char *start = a->in, *nl;
    while ((nl = strchr(start, '\n'))) {
        *nl = '\0';
        on_line(a, start);
        start = nl + 1;
    }
    a->inlen -= (size_t)(start - a->in);
    memmove(a->in, start, a->inlen);
    if (a->inlen >= sizeof(a->in) - 1)
        a->inlen = 0;
}

/* The TLS handshake, blocking (the socket still is). */
static int tls_handshake(struct agent *a)
{
    if (!(a->ssl = SSL_new(H.tls)) || SSL_set_fd(a->ssl, a->fd) != 1)
        return -1;
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(a->ssl), inet_ntoa(H.addr.sin_addr));
    ERR_clear_error();
    if (SSL_connect(a->ssl) == 1)
        return 0;
    if (H.errors == 0)
        fprintf(stderr, "hbload: TLS handshake: %s\n",
                ERR_reason_error_string(ERR_peek_last_error()) ?: "failed");
    return -1;
}

/* The client context of --tls-ca (and --tls-cert, --tls-key). */
static int tls_setup(void)
{
    if (!H.tls_ca)
        return 0;
    H.tls = SSL_CTX_new(TLS_client_method());
    if (!H.tls || SSL_CTX_load_verify_locations(H.tls, H.tls_ca, NULL) != 1 ||
        (H.tls_cert && (SSL_CTX_use_certificate_chain_file(H.tls, H.tls_cert) != 1 ||
                        SSL_CTX_use_PrivateKey_file(H.tls, H.tls_key, SSL_FILETYPE_PEM) != 1))) {
        fprintf(stderr, "hbload: TLS files: %s\n", ERR_reason_error_string(ERR_peek_last_error()));
        return -1;
    }
    SSL_CTX_set_verify(H.tls, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(H.tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                SSL_MODE_RELEASE_BUFFERS);
    return 0;
}

static int connect_agent(struct agent *a)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (H.spread > 1) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(a->idx % H.spread));
        bind(fd, (struct sockaddr *)&src, sizeof(src));
    }
    if (connect(fd, (struct sockaddr *)&H.addr, sizeof(H.addr)) < 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    a->fd = fd;
    if (H.tls && tls_handshake(a) < 0) {
        close_agent(a);
        return -1;
    }
    H.connected++;
    char hello[4096];
    int n = snprintf(hello, sizeof(hello),
                     "{\"type\":\"hello\",\"version\":1,\"worker_id\":\"%s-%d\",\"token\":\"%s\","
                     "\"capacity\":{\"cpu\":64,\"memory_mib\":524288,\"storage_mib\":1000000,"
                     "\"gpus\":[",
                     H.prefix, a->idx, H.token);
    for (int g = 0; g < H.gpus; g++)
        n += snprintf(hello + n, sizeof(hello) - (size_t)n,
                      "%s{\"index\":%d,\"uuid\":\"GPU-%s-%d-%d\",\"model\":\"NVIDIA H100 80GB HBM3\","
                      "\"memory_mib\":81559}",
                      g ? "," : "", g, H.prefix, a->idx, g);
    n += snprintf(hello + n, sizeof(hello) - (size_t)n, "]},\"executors\":[\"process\"]}\n");
    send_all(a, hello, (size_t)n);
    if (a->fd < 0)
        return -1;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    ev_io_init(&a->io, readable, fd, EV_READ);
    a->io.data = a;
    ev_io_init(&a->wio, writable, fd, EV_WRITE);
    a->wio.data = a;
    ev_init(&a->hb, heartbeat);
    a->hb.data = a;
    ev_io_start(H.loop, &a->io);
    return 0;
}

static void stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

/* Runs agents [first, first + n) in this process; writes the counters and
 * the histogram to fd (a child's pipe) or keeps them (the only process). */
static void run_agents(int first, int n)
{
    H.loop = EV_DEFAULT;
    H.measure_from = HUGE_VAL;
    H.a = calloc((size_t)n, sizeof(*H.a));
    for (int i = 0; i < n; i++) {
        H.a[i].fd = -1;
        H.a[i].idx = first + i;
        if (connect_agent(&H.a[i]) < 0)
            H.errors++;
        if (i % 256 == 255)
            ev_run(H.loop, EVRUN_NOWAIT);
    }
    double joined_by = now_s() + 30;
    while (H.joined + H.errors < (unsigned long)n && now_s() < joined_by)
        ev_run(H.loop, EVRUN_ONCE);
    H.start = now_s();
    H.measure_from = H.start + H.warmup;
    ev_timer stop;
    ev_timer_init(&stop, stop_cb, H.duration, 0.);
    ev_timer_start(H.loop, &stop);
    ev_run(H.loop, 0);
    H.duration = now_s() - H.start;
    for (int i = 0; i < n; i++)
        close_agent(&H.a[i]);
    free(H.a);
}

struct totals {
    unsigned long connected, joined, errors, sent, acks, closed, skipped;
    double duration;
};

static void print_json(void)
{
    double d = H.duration > 0 ? H.duration : 1;
    const struct hist *h = &H.hist;
    printf("{\"agents\":%d,\"connected\":%lu,\"joined\":%lu,\"errors\":%lu,"
           "\"heartbeats\":%lu,\"skipped\":%lu,\"acks\":%lu,\"duration_s\":%.3f,\"heartbeats_per_s\":%.1f,"
           "\"acks_per_s\":%.1f,\"rtt_p50_ms\":%.3f,\"rtt_p90_ms\":%.3f,\"rtt_p99_ms\":%.3f,"
           "\"rtt_max_ms\":%.3f,\"procs\":%d}\n",
           H.agents, H.connected, H.joined, H.errors, H.sent, H.skipped, H.acks, H.duration, H.sent / d,
           H.acks / d, hist_percentile(h, 0.5), hist_percentile(h, 0.9), hist_percentile(h, 0.99),
           hist_percentile(h, 1.0), H.procs);
}

static void run_procs(void)
{
    int per = (H.agents + H.procs - 1) / H.procs;
    int fds[256];
    pid_t pids[256];
    for (int p = 0; p < H.procs; p++) {
        int pipefd[2];
        if (pipe(pipefd) < 0)
            exit(1);
        pids[p] = fork();
        if (pids[p] == 0) {
            close(pipefd[0]);
            int first = p * per, n = first + per > H.agents ? H.agents - first : per;
            run_agents(first, n > 0 ? n : 0);
            struct totals t = {H.connected, H.joined, H.errors, H.sent, H.acks, H.closed,
                               H.skipped, H.duration};
            if (write(pipefd[1], &t, sizeof(t)) < 0 || write(pipefd[1], &H.hist, sizeof(H.hist)) < 0)
                _exit(1);
            _exit(0);
        }
        close(pipefd[1]);
        fds[p] = pipefd[0];
    }
    static struct hist hist;
    for (int p = 0; p < H.procs; p++) {
        struct totals t;
        FILE *f = fdopen(fds[p], "r");
        if (fread(&t, sizeof(t), 1, f) == 1 && fread(&hist, sizeof(hist), 1, f) == 1) {
            H.connected += t.connected;
            H.joined += t.joined;
            H.errors += t.errors;
            H.sent += t.sent;
            H.acks += t.acks;
            H.skipped += t.skipped;
            if (t.duration > H.duration)
                H.duration = t.duration;
            hist_merge(&H.hist, &hist);
        }
        fclose(f);
        waitpid(pids[p], NULL, 0);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: hbload --master ADDR [--agents N] [--interval DUR | --rate HB/S]\n"
                    "              [--duration DUR] [--gpus K] [--token T] [--prefix ID]\n"
                    "              [--procs P] [--spread S] [--no-ack | --ack-every N] [--warmup DUR]\n"
                    "              [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]\n");
}

static int parse(int argc, char **argv)
{
    static const struct option opts[] = {
        {"master", 1, NULL, 'm'}, {"agents", 1, NULL, 'n'}, {"interval", 1, NULL, 'i'},
        {"rate", 1, NULL, 'r'}, {"duration", 1, NULL, 'd'}, {"gpus", 1, NULL, 'g'},
        {"token", 1, NULL, 't'}, {"prefix", 1, NULL, 'p'}, {"procs", 1, NULL, 'P'},
        {"spread", 1, NULL, 's'}, {"no-ack", 0, NULL, 'A'}, {"ack-every", 1, NULL, 'E'},
        {"warmup", 1, NULL, 'w'}, {"tls-ca", 1, NULL, 'C'}, {"tls-cert", 1, NULL, 'T'},
        {"tls-key", 1, NULL, 'K'},
        {"help", 0, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    char err[128];
    int ch;
    H.agents = 100, H.gpus = 0, H.procs = 1, H.spread = 1, H.ack = 1;
    H.interval = 1, H.duration = 10, H.token = "", H.prefix = "hb";
    snprintf(H.master, sizeof(H.master), "127.0.0.1:7070");
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'm': snprintf(H.master, sizeof(H.master), "%s", optarg); break;
        case 'n': H.agents = atoi(optarg); break;
        case 'i': if (parse_duration(optarg, &H.interval, err, sizeof(err)) < 0) return -1; break;
        case 'r': H.rate = atof(optarg); break;
        case 'd': if (parse_duration(optarg, &H.duration, err, sizeof(err)) < 0) return -1; break;
        case 'w': if (parse_duration(optarg, &H.warmup, err, sizeof(err)) < 0) return -1; break;
        case 'g': H.gpus = atoi(optarg); break;
        case 't': H.token = optarg; break;
        case 'p': H.prefix = optarg; break;
        case 'P': H.procs = atoi(optarg); break;
        case 's': H.spread = atoi(optarg); break;
        case 'A': H.ack = 0; break;
        case 'E': H.ack = atoi(optarg); if (H.ack < 1) return -1; break;
        case 'C': H.tls_ca = optarg; break;
        case 'T': H.tls_cert = optarg; break;
        case 'K': H.tls_key = optarg; break;
        default: return -1;
        }
    }
    if (H.agents < 1 || H.procs < 1 || H.procs > 256 || H.gpus < 0 || H.gpus > 16)
        return -1;
    if (H.rate > 0)
        H.interval = H.agents / H.rate;
    struct hostport hp;
    if (parse_hostport(H.master, &hp, err, sizeof(err)) < 0)
        return -1;
    H.addr.sin_family = AF_INET;
    H.addr.sin_port = htons((uint16_t)hp.port);
    return inet_pton(AF_INET, hp.host[0] ? hp.host : "127.0.0.1", &H.addr.sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (parse(argc, argv) < 0) {
        usage();
        return 2;
    }
    if (tls_setup() < 0)
        return 2;
    if (H.procs == 1)
        run_agents(0, H.agents);
    else
        run_procs();
    print_json();
    return H.joined == (unsigned long)H.agents ? 0 : 1;
}
