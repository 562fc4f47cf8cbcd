/* The player: waits for the hosts to join, then sends one file time per
 * tick (the interval divided by the speed), pass after pass with --loop;
 * keeps idle hosts active; at the end waits for the sockets to take
 * everything and for a pong from each host, says bye and stops the loop. */
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/parse.h"
#include "core/timefmt.h"
#include "replay/run.h"

#define JOIN_TIMEOUT 10.0
#define DRAIN_TIMEOUT 30.0
#define PONG_TIMEOUT 5.0
#define LEAVE_TIMEOUT 2.0
#define PROGRESS_EVERY 5.0
#define OUT_HIGH (1u << 20)       /* a host's unsent bytes that hold the replay back */
#define MAX_FRAME (1u << 20)      /* the longest frame from the master */
#define MAX_OUTPUT (64u << 20)    /* a host's unsent bytes past which it reconnects */

static void start_leaving(struct replay_run *run);

static int count_state(const struct replay_run *run, enum replay_conn_state st)
{
    int n = 0;
    for (int i = 0; i < run->nconns; i++)
        n += run->conns[i].state == st;
    return n;
}

static void set_deadline(struct replay_run *run, double after)
{
    ev_timer_stop(run->loop, &run->deadline);
    ev_timer_set(&run->deadline, after, 0.);
    ev_timer_start(run->loop, &run->deadline);
}

static void progress(struct replay_run *run, int force)
{
    double now = ev_now(run->loop);
    if (!force && now - run->progress_at < PROGRESS_EVERY)
        return;
    run->progress_at = now;
    log_info("pass %lu: %zu of %zu times sent, %lu samples, %lu heartbeats, %d of %d hosts joined",
             run->count.passes + 1, run->next, run->data->ntimes, run->count.samples,
             run->count.heartbeats, count_state(run, CONN_JOINED), run->nconns);
}

/* Sends file time number i to every host with samples at it. */
static void send_time(struct replay_run *run, size_t i)
{
    const struct replay_data *d = run->data;
    int64_t ts;
    if (run->set->keep_timestamps) {
        ts = d->times[i] + (int64_t)run->count.passes * run->shift_ms;
    } else {
        ts = time_ms(ev_time());
        if (ts <= run->last_ts)
            ts = run->last_ts + 1;
    }
    run->last_ts = ts;
    size_t end = d->first[i + 1];
    for (size_t from = d->first[i], to; from < end; from = to) {
        to = replay_host_run(d, from, end);
        replay_conn_heartbeat(&run->conns[d->gpus[d->points[from].gpu]->host], from, to, ts);
    }
}

static int held_back(const struct replay_run *run)
{
    for (int i = 0; i < run->nconns; i++)
        if (run->conns[i].state == CONN_JOINED && replay_conn_queued(&run->conns[i]) > OUT_HIGH)
            return 1;
    return 0;
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct replay_run *run = w->data;
    if (held_back(run))
        return;
    send_time(run, run->next++);
    if (run->next < run->data->ntimes) {
        progress(run, 0);
        return;
    }
    progress(run, !run->set->loop);
    run->count.passes++;
    run->next = 0;
    if (run->set->loop)
        return;
    ev_timer_stop(loop, &run->tick);
    run->phase = PHASE_DRAINING;
    set_deadline(run, DRAIN_TIMEOUT);
    replay_run_changed(run);
}

static void start_playing(struct replay_run *run)
{
    int joined = count_state(run, CONN_JOINED), refused = count_state(run, CONN_FAILED);
    if (refused == run->nconns) {
        log_error("the master refused every host; nothing to replay");
        start_leaving(run);
        return;
    }
    log_info("%d of %d hosts joined, %d refused; replaying %zu times every %.3gs", joined,
             run->nconns, refused, run->data->ntimes, run->set->interval / run->set->speed);
    run->phase = PHASE_PLAYING;
    ev_timer_stop(run->loop, &run->deadline);
    ev_timer_set(&run->tick, 0., run->set->interval / run->set->speed);
    ev_timer_start(run->loop, &run->tick);
}

static void start_pinging(struct replay_run *run)
{
    run->phase = PHASE_PINGING;
    for (int i = 0; i < run->nconns; i++)
        replay_conn_ping(&run->conns[i]);
    set_deadline(run, PONG_TIMEOUT);
    replay_run_changed(run);
}

static void finish(struct replay_run *run)
{
    run->phase = PHASE_DONE;
    for (int i = 0; i < run->nconns; i++)
        replay_conn_free(&run->conns[i]);
    ev_break(run->loop, EVBREAK_ALL);
}

static void start_leaving(struct replay_run *run)
{
    run->phase = PHASE_LEAVING;
    ev_timer_stop(run->loop, &run->tick);
    for (int i = 0; i < run->nconns; i++)
        replay_conn_leave(&run->conns[i]);
    set_deadline(run, LEAVE_TIMEOUT);
    replay_run_changed(run);
}

static int settled(const struct replay_conn *c)
{
    if (c->state == CONN_FAILED || c->state == CONN_CLOSED)
        return 1;
    return c->pending.len == 0 && (c->state != CONN_JOINED || replay_conn_queued(c) == 0);
}

static int all(const struct replay_run *run, int (*test)(const struct replay_conn *))
{
    for (int i = 0; i < run->nconns; i++)
        if (!test(&run->conns[i]))
            return 0;
    return 1;
}

static int resolved(const struct replay_conn *c)
{
    return c->state == CONN_JOINED || c->state == CONN_FAILED;
}

static int answered(const struct replay_conn *c)
{
    return c->state != CONN_JOINED || c->ponged;
}

static int gone(const struct replay_conn *c)
{
    return c->state == CONN_FAILED || c->state == CONN_CLOSED;
}

/* Called when a connection changes state, writes all it had or hears a
 * pong: moves the run to its next phase when every host is ready for it. */
void replay_run_changed(struct replay_run *run)
{
    switch (run->phase) {
    case PHASE_JOINING:
        if (all(run, resolved))
            start_playing(run);
        break;
    case PHASE_DRAINING:
        /* No host ever joined: what waits can never go out. */
        if (run->count.joins == 0 || all(run, settled))
            start_pinging(run);
        break;
    case PHASE_PINGING:
        if (all(run, answered))
            start_leaving(run);
        break;
    case PHASE_LEAVING:
        if (all(run, gone))
            finish(run);
        break;
    default:
        break;
    }
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct replay_run *run = w->data;
    switch (run->phase) {
    case PHASE_JOINING:
        log_warn("%d of %d hosts not joined after %.0fs; starting without them (they join late)",
                 run->nconns - count_state(run, CONN_JOINED) - count_state(run, CONN_FAILED),
                 run->nconns, JOIN_TIMEOUT);
        start_playing(run);
        break;
    case PHASE_DRAINING:
        log_warn("some hosts could not send everything within %.0fs; leaving", DRAIN_TIMEOUT);
        start_pinging(run);
        break;
    case PHASE_PINGING:
        log_warn("no pong from some hosts within %.0fs; leaving", PONG_TIMEOUT);
        start_leaving(run);
        break;
    default:
        finish(run);
        break;
    }
}

static void house_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct replay_run *run = w->data;
    if (run->phase >= PHASE_LEAVING)
        return;
    for (int i = 0; i < run->nconns; i++)
        replay_conn_keepalive(&run->conns[i]);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct replay_run *run = w->data;
    if (run->stopping++ || run->phase >= PHASE_LEAVING) {
        finish(run);
        return;
    }
    log_info("stopping (again to stop at once)");
    start_leaving(run);
}

/* Prepares a run of data (borrowed, as set) on loop: resolves the master's
 * address and sets up one connection per host. Returns 0, or -1 with the
 * reason. */
int replay_run_init(struct replay_run *run, struct ev_loop *loop,
                    const struct replay_settings *set, const struct replay_data *data,
                    char *err, size_t errlen)
{
    memset(run, 0, sizeof(*run));
    run->loop = loop;
    run->set = set;
    run->data = data;
    struct hostport hp;
    char why[128];
    if (parse_hostport(set->master, &hp, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "--master = '%s': %s", set->master, why);
        return -1;
    }
    nd_client_group_init(&run->grp, "master", MAX_FRAME, MAX_OUTPUT);
    run->conns = calloc((size_t)data->nhosts + 1, sizeof(*run->conns));
    if (!run->conns) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    run->nconns = data->nhosts;
    for (int i = 0; i < run->nconns; i++)
        replay_conn_init(&run->conns[i], run, i);
    if (data->ntimes)
        run->shift_ms = data->times[data->ntimes - 1] - data->times[0];
    run->shift_ms += llround(set->interval * 1000) > 0 ? llround(set->interval * 1000) : 1;
    ev_init(&run->tick, tick_cb);
    ev_init(&run->deadline, deadline_cb);
    double house = fmin(set->interval, 1.0) / 4;
    ev_timer_init(&run->house, house_cb, house, fmax(house, 0.01));
    ev_signal_init(&run->sigint, signal_cb, SIGINT);
    ev_signal_init(&run->sigterm, signal_cb, SIGTERM);
    run->tick.data = run->deadline.data = run->house.data = run;
    run->sigint.data = run->sigterm.data = run;
    return 0;
}

/* Starts connecting every host; the loop then runs until the replay ends
 * (or a signal stops it). */
void replay_run_start(struct replay_run *run)
{
    srandom((unsigned)getpid() ^ (unsigned)time_ms(time_wall()));
    run->phase = PHASE_JOINING;
    run->progress_at = ev_now(run->loop);
    ev_signal_start(run->loop, &run->sigint);
    ev_signal_start(run->loop, &run->sigterm);
    ev_timer_start(run->loop, &run->house);
    set_deadline(run, JOIN_TIMEOUT);
    for (int i = 0; i < run->nconns; i++)
        replay_conn_start(&run->conns[i]);
}

/* Stops the run's watchers and frees its connections. */
void replay_run_free(struct replay_run *run)
{
    struct ev_loop *loop = run->loop;
    if (!loop)
        return;
    ev_timer_stop(loop, &run->tick);
    ev_timer_stop(loop, &run->deadline);
    ev_timer_stop(loop, &run->house);
    ev_signal_stop(loop, &run->sigint);
    ev_signal_stop(loop, &run->sigterm);
    for (int i = 0; i < run->nconns; i++)
        replay_conn_free(&run->conns[i]);
    free(run->conns);
    run->conns = NULL;
    run->nconns = 0;
}
