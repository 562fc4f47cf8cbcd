/* The event loop's connections and listeners. One reactor per process, on
 * libev's default loop.
 *
 * Reads land in a shared scratch buffer and go straight to the protocol;
 * only bytes the protocol leaves unconsumed are copied into the connection's
 * own bounded buffer, so an idle connection holds no buffer memory. Writes
 * are queued and flushed just before the loop sleeps (an ev_prepare); the
 * write watcher runs only while bytes remain. Closed connections are freed
 * in that same before-sleep pass, never inside a callback that may still
 * hold them. */
#ifndef GANTRY_REACTOR_H
#define GANTRY_REACTOR_H

#include <ev.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/dict.h"
#include "core/idle.h"
#include "core/list.h"
#include "reactor/timeout.h"

struct conn;

struct conn_proto {
    const char *name;
    /* Bytes arrived: consume what forms complete units and return how many
     * bytes were used (the rest comes back with the next bytes), or -1 to
     * close at once. */
    ssize_t (*on_data)(struct conn *c, const char *p, size_t n);
    /* Unconsumed input grew past the listener's in_max. Default: close. */
    void (*on_overflow)(struct conn *c);
    /* The connection is being freed: release the protocol's state. */
    void (*on_close)(struct conn *c);
    /* The peer closed its side; default: close after pending output. */
    void (*on_eof)(struct conn *c);
    /* Everything queued was written, after conn_want_drain asked to hear
     * it (a protocol that stopped serving a slow reader resumes here). */
    void (*on_drain)(struct conn *c);
    /* A dialled connection is up (err 0), or failed (err an errno; it is
     * closed after this returns). */
    void (*on_connect)(struct conn *c, int err);
};

enum {
    CONN_CLOSING = 1u << 0,       /* closed; freed before the loop sleeps */
    CONN_CLOSE_AFTER_FLUSH = 1u << 1,
    CONN_READ_PAUSED = 1u << 2,
    CONN_PENDING = 1u << 3,       /* in the before-sleep flush list */
    CONN_REFEED = 1u << 4,        /* offer buffered input again (resumed) */
    CONN_LINGER = 1u << 5,        /* after the flush, drain input, then close */
    CONN_WANT_DRAIN = 1u << 6,    /* call on_drain when the output empties */
    CONN_YIELDED = 1u << 7,       /* in the yielded list */
    CONN_DIALING = 1u << 8,       /* a dialled connection not up yet */
    CONN_DIALED = 1u << 9,        /* dialled by us (else accepted) */
    CONN_HANDSHAKE = 1u << 10,    /* the transport's handshake is under way */
    CONN_IO_WRITE = 1u << 11,     /* the transport's last wait is for writable */
    CONN_READ_ON_WRITE = 1u << 12, /* a read waits for the socket to be writable */
    CONN_WRITE_ON_READ = 1u << 13, /* a write waits for the socket to be readable */
};

struct listener;
struct conn_transport;
struct tls_side;

/* Bytes that many connections send without each copying them (a large
 * cached response, one WebSocket message for every subscriber):
 * reference-counted, and never changed while shared. */
struct rbuf {
    unsigned refs;
    size_t len;
    char data[];
};

struct rbuf *rbuf_new(size_t len);
void rbuf_unref(struct rbuf *b);

/* One piece of queued output: bytes of the connection's own (a buffer it
 * filled) or shared bytes, each after a small header of its own (a
 * WebSocket frame header before a shared payload). */
#define OSEG_HDR_MAX 14
struct oseg {
    struct rbuf *shared;          /* NULL: own bytes */
    struct buf own;
    size_t off;                   /* bytes of hdr + body already written */
    uint8_t hlen;
    uint8_t hdr[OSEG_HDR_MAX];
};
struct conn {
    int fd;
    unsigned flags;
    uint64_t id;
    /* How bytes cross the socket (plain TCP or TLS); the paths above
     * read, write and flush the same way through it. */
    const struct conn_transport *tr;
    void *tls;                    /* the TLS transport's state, else NULL */
    ev_io rio, wio;
    struct buf in;
    struct buf out;               /* own bytes, after every queued segment */
    struct oseg *seg;             /* a ring of segments that go before out */
    unsigned seg_head, seg_n, seg_cap;
    size_t seg_bytes;             /* unwritten bytes in the segments */
    size_t accounted;             /* what the reactor's output total holds for c */
    struct list_node pending;     /* reactor's flush list */
    struct list_node yielded;     /* reactor's list of conns to feed next turn */
    struct list_node link;        /* listener's conns, then closing list */
    struct dict_node by_id;
    struct idle_node idle;
    struct timeout_list *tmo;     /* the timeout list idle is in, or NULL */
    struct listener *ls;
    const struct conn_proto *proto; /* starts as the listener's; may change */
    void *ud;                     /* the protocol's state */
    double flushed_at;            /* loop time output last drained */
    char peer[48];
};

struct listener {
    int fd;
    ev_io io;
    const struct conn_proto *proto;
    /* A new connection; set c->ud here. Return -1 to refuse it. */
    int (*on_accept)(struct conn *c, void *ud);
    /* Connection cap reached: this last word (e.g. a 503) is sent before a
     * lingering close; NULL closes at once. */
    const char *reject_msg;
    void *ud;
    size_t in_max;                /* bound on unconsumed input */
    size_t out_max;               /* bound on queued output */
    /* TLS for every connection of this listener or group (reactor/tls.h),
     * or NULL: plain TCP. */
    struct tls_side *tls;
    unsigned long max_conns;
    unsigned long nconns;
    unsigned long accepted, rejected;
    struct list_node conns;
    char name[16];
    char addr[64];                /* the bound address, port resolved */
    int port;
};

/* Upper bounds (seconds) of the loop-turn histogram's buckets. */
#define REACTOR_TURN_BUCKETS 9
extern const double reactor_turn_bounds[REACTOR_TURN_BUCKETS];

struct reactor_stats {
    unsigned long conns;
    unsigned long accepted;
    unsigned long emfile;
    size_t out_bytes;             /* output queued on every connection */
    size_t out_budget;            /* the bound on out_bytes */
    unsigned long cut_conn;       /* connections cut at their own output cap */
    unsigned long cut_budget;     /* ... at the budget across all of them */
    /* Loop turns: the time from the poll's return to the next poll, the
     * work one turn did while everyone else waited. */
    uint64_t turns;
    uint64_t turn_le[REACTOR_TURN_BUCKETS];   /* cumulative, Prometheus-style */
    double turn_sum, turn_max;
};

typedef void (*reactor_hook_fn)(void *ud);

int reactor_init(struct ev_loop *loop);
void reactor_shutdown(void);
struct ev_loop *reactor_loop(void);
int reactor_add_hook(reactor_hook_fn fn, void *ud);
void reactor_stats(struct reactor_stats *st);
int reactor_idle(void);

int listener_open(struct listener *ls, const char *name, const char *addr,
                  char *err, size_t errlen);
void listener_start(struct listener *ls);
void listener_stop(struct listener *ls);
void listener_close(struct listener *ls);
void listener_close_all(struct listener *ls, int after_flush);

struct conn *conn_find(uint64_t id);
struct conn *reactor_conn_new(struct listener *ls, int fd, const char *peer,
                              int reject);
struct conn *reactor_conn_make(struct listener *ls, int fd, const char *peer);
void listener_group_init(struct listener *grp, const char *name,
                         const struct conn_proto *proto, size_t in_max, size_t out_max);
struct sockaddr;
struct conn *conn_dial_sockaddr(struct listener *grp, const struct sockaddr *sa,
                                unsigned len, const char *name, void *ud, char *err,
                                size_t errlen);
int conn_write(struct conn *c, const void *p, size_t n);
int conn_write_shared(struct conn *c, struct rbuf *b);
int conn_write_framed(struct conn *c, const void *hdr, size_t hlen, struct rbuf *b);
void conn_want_drain(struct conn *c);
void conn_yield(struct conn *c);
int conn_output_over(const struct conn *c, size_t cap);
void reactor_set_output_budget(size_t bytes);
void reactor_count_cut(int budget);
struct buf *conn_out(struct conn *c);
int conn_printf(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void conn_flush_soon(struct conn *c);
void conn_flush_now(struct conn *c);
void conn_close(struct conn *c);
void conn_close_after_flush(struct conn *c);
void conn_linger_close(struct conn *c);
void conn_pause_read(struct conn *c);
void conn_resume_read(struct conn *c);
void conn_set_timeout(struct conn *c, struct timeout_list *t);
void conn_touch(struct conn *c);
size_t conn_pending_bytes(const struct conn *c);
const char *conn_error(const struct conn *c);

static inline int conn_closing(const struct conn *c)
{
    return (c->flags & (CONN_CLOSING | CONN_CLOSE_AFTER_FLUSH)) != 0;
}

#endif
