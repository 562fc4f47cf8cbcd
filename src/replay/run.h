/* gantry-replay at run time: one agent connection per host (conn.c) and
 * the player that paces the file's times onto them (player.c), on one
 * libev loop. */
#ifndef GANTRY_REPLAY_RUN_H
#define GANTRY_REPLAY_RUN_H

#include <ev.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/list.h"
#include "proto/client.h"
#include "replay/data.h"

struct replay_settings {
    const char *file;
    char master[256];
    char token[256];
    double interval;              /* seconds between file times at speed 1 */
    double speed;
    int loop;
    int keep_timestamps;
    int max_hosts;                /* 0: all */
};

enum replay_conn_state {
    CONN_WAITING,                 /* for the next connection attempt */
    CONN_CONNECTING,
    CONN_HELLO,                   /* hello sent, waiting for welcome */
    CONN_JOINED,
    CONN_LEAVING,                 /* bye queued */
    CONN_FAILED,                  /* the master refused the host */
    CONN_CLOSED,
};

struct replay_run;

struct replay_conn {
    struct replay_run *run;
    int host;                     /* index in the data's hosts */
    enum replay_conn_state state;
    struct nd_client nc;          /* the connection, reconnected with backoff */
    ev_timer timer;               /* the welcome deadline */
    struct buf pending;           /* heartbeats made while not joined */
    unsigned pending_samples;
    double keepalive;             /* longest silence, seconds */
    double last_sent;             /* ev_now of the last heartbeat */
    uint64_t seq, ping_seq;
    int ponged;
    int joined_once;              /* welcomed at least once */
    int warned_frame;             /* one warning for unreadable frames */
};

enum replay_phase {
    PHASE_JOINING,                /* waiting for every host's welcome or refusal */
    PHASE_PLAYING,
    PHASE_DRAINING,               /* all sent; waiting for the sockets to take it */
    PHASE_PINGING,                /* waiting for the pongs: gantryd has read it all */
    PHASE_LEAVING,                /* bye sent; closing */
    PHASE_DONE,
};

struct replay_counters {
    unsigned long samples;        /* GPU samples handed to joined connections */
    unsigned long heartbeats;     /* heartbeats handed to joined connections */
    unsigned long dropped;        /* samples dropped: a host away too long */
    unsigned long joins, reconnects;
    unsigned long passes;         /* complete passes over the file */
};

struct replay_run {
    struct ev_loop *loop;
    const struct replay_settings *set;
    const struct replay_data *data;
    struct listener grp;          /* the hosts' connections */
    struct replay_conn *conns;
    int nconns;
    ev_timer tick, house, deadline;
    ev_signal sigint, sigterm;
    enum replay_phase phase;
    size_t next;                  /* the file time the next tick sends */
    int64_t shift_ms;             /* per pass, with --keep-timestamps */
    int64_t last_ts;              /* the latest sample time sent, ms */
    double progress_at;
    int warned_unreachable;
    int stopping;
    struct replay_counters count;
};

/* conn.c */
void replay_conn_init(struct replay_conn *c, struct replay_run *run, int host);
void replay_conn_start(struct replay_conn *c);
void replay_conn_free(struct replay_conn *c);
int replay_conn_heartbeat(struct replay_conn *c, size_t from, size_t to, int64_t ts_ms);
void replay_conn_keepalive(struct replay_conn *c);
void replay_conn_ping(struct replay_conn *c);
void replay_conn_leave(struct replay_conn *c);
size_t replay_conn_queued(const struct replay_conn *c);

/* player.c: what the connections tell the player */
void replay_run_changed(struct replay_run *run);
int replay_run_init(struct replay_run *run, struct ev_loop *loop,
                    const struct replay_settings *set, const struct replay_data *data,
                    char *err, size_t errlen);
void replay_run_start(struct replay_run *run);
void replay_run_free(struct replay_run *run);

#endif
