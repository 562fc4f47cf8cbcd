/* The leader's lease and this gantryd's role.
 *
 * Every gantryd on one Redis takes part. The leader holds gantry:leader
 * (JSON: id, http, listen, epoch, since; a TTL of ha.lease) and renews it
 * every ha.lease/3 by a script that checks it is still its own. The
 * others stand by: they read the lease as often, learn whom to send
 * agents and clients to, and when it lapses one of them takes it with a
 * script that also INCRs gantry:epoch, atomically, so exactly one wins.
 * Every task-state write carries the epoch and a script refuses it inside
 * Redis once a newer one exists (scripts.c): a leader that was paused, or
 * cut off from Redis, past its lease cannot change anything when it comes
 * back, and steps down at the first refusal.
 *
 * The leader counts its lease from when it sent the last renewal that
 * Redis accepted, which is never later than Redis counts it; a timer of
 * the highest priority fires at the end, so a leader that wakes from a
 * pause steps down before it reads anything its agents sent meanwhile.
 *
 * A standby takes a lapsed lease only once the lease it last saw should
 * have lapsed: a key that vanishes early (Redis restarted without its
 * data) is given back by the living leader's next renewal instead of
 * being taken from it, so the leader can write its memory back. A lease
 * held under our own id, or by a gantryd that had our very addresses (our
 * predecessor, killed: we hold its ports now), is taken at once. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/timefmt.h"
#include "store_int.h"
#include "store/keys.h"

#define LOOK_MARGIN 0.02          /* after the lease seen should have lapsed */

static struct {
    struct ev_loop *loop;
    struct store_ha_config cfg;
    char id[128], http[256], listen[256];
    int started;
    int leading;
    long long epoch;
    char value[1024];             /* our lease, as Redis holds it */
    char take[1024];              /* a holder's value we may replace, or "" */
    int asking;                   /* a lease command is in flight */
    uint64_t gen;                 /* bumped at each change of role */
    double sent_at;               /* when the command in flight went */
    double expect_until;          /* standby: when the lease last seen lapses */
    double hinted_at;             /* the last look asked for by store_ha_look */
    struct store_leader leader;
    ev_timer tick, deadline, look;
} L;

static void ask(void);

/* The lease is timed on the monotonic clock: a wall clock set back or
 * forward neither stretches nor cuts it. */
static double clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long long lease_ms(void)
{
    return (long long)(L.cfg.lease * 1000);
}

/* The host part of "host:pid". */
static size_t host_len(const char *id)
{
    const char *colon = strrchr(id, ':');
    return colon ? (size_t)(colon - id) : strlen(id);
}

/* A lease we may take at once: held under our id, or by a gantryd with
 * our host and both our addresses (we could bind them: it is gone). */
static int ours(const struct store_leader *h)
{
    if (strcmp(h->id, L.id) == 0)
        return 1;
    size_t n = host_len(L.id);
    return host_len(h->id) == n && strncmp(h->id, L.id, n) == 0 &&
           strcmp(h->http, L.http) == 0 && strcmp(h->listen, L.listen) == 0;
}

static const char *string_of(json_t *j, const char *key)
{
    const char *v = json_string_value(json_object_get(j, key));
    return v ? v : "";
}

/* Reads a lease's JSON into h. Returns 1 when it is a live lease, 0 for
 * a released one, -1 for something else. */
static int parse_lease(const char *text, struct store_leader *h)
{
    json_t *j = json_loads(text, 0, NULL);
    memset(h, 0, sizeof(*h));
    if (!json_is_object(j)) {
        json_decref(j);
        return -1;
    }
    snprintf(h->id, sizeof(h->id), "%s", string_of(j, "id"));
    snprintf(h->http, sizeof(h->http), "%s", string_of(j, "http"));
    snprintf(h->listen, sizeof(h->listen), "%s", string_of(j, "listen"));
    h->epoch = (long long)json_number_value(json_object_get(j, "epoch"));
    int released = json_is_true(json_object_get(j, "released"));
    json_decref(j);
    h->known = !released;
    return released ? 0 : 1;
}

static void look_at(double when)
{
    double wait = when - clock_now();
    ev_timer_stop(L.loop, &L.look);
    ev_timer_set(&L.look, wait > 0 ? wait : 0., 0.);
    ev_timer_start(L.loop, &L.look);
}

static void become_leader(const char *value)
{
    struct store_leader me;
    if (parse_lease(value, &me) != 1 || me.epoch <= 0) {
        log_error("ha: the lease script answered '%.200s'; not leading", value);
        return;
    }
    L.leading = 1;
    L.gen++;
    L.epoch = me.epoch;
    snprintf(L.value, sizeof(L.value), "%s", value);
    me.self = 1;
    L.leader = me;
    L.take[0] = '\0';
    ev_timer_stop(L.loop, &L.look);
    ev_timer_set(&L.deadline, L.sent_at + L.cfg.lease - clock_now(), 0.);
    ev_timer_start(L.loop, &L.deadline);
    store_fence_epoch(L.epoch);
    log_info("ha: leading with epoch %lld; rebuilding the state from redis", L.epoch);
    if (L.cfg.on_lead)
        L.cfg.on_lead(L.epoch);
    store_persist_reset();
    store_recover_restart();
}

/* Steps down at once: nothing this gantryd held may reach Redis, its
 * agents go to the leader, it stands by. */
static void step_down(const char *why)
{
    if (!L.leading)
        return;
    L.leading = 0;
    L.gen++;
    L.asking = 0;
    L.expect_until = 0;
    memset(&L.leader, 0, sizeof(L.leader));
    ev_timer_stop(L.loop, &L.deadline);
    log_warn("ha: stepping down (epoch %lld): %s", L.epoch, why);
    store_recover_abandon();
    store_persist_reset();
    store_stand_down(why);
    if (L.cfg.on_step_down)
        L.cfg.on_step_down(why);
}

/* A task-state write was refused by the fence: another gantryd leads. */
void store_lease_fenced(const char *why)
{
    char text[200];
    snprintf(text, sizeof(text), "redis refused a write: %.150s", why);
    step_down(text);
}

/* The answer to the lease command in flight (gen: the role it was sent
 * in). Returns 1 when it is one to act on; an error answer is dealt with
 * here (a transient one makes the connection again). */
static int answered(redisReply *r, uint64_t gen, const char *what)
{
    if (gen != L.gen)
        return 0;
    L.asking = 0;
    if (!r)
        return 0;
    if (r->type != REDIS_REPLY_ERROR)
        return 1;
    if (store_transient_error(r)) {
        char why[160];
        snprintf(why, sizeof(why), "redis answered the %s with '%.100s'", what, r->str);
        store_drop(why);
    } else {
        log_warn("ha: the %s failed: %s", what, r->str);
    }
    return 0;
}

static void on_renewed(redisReply *r, uint64_t gen, uint64_t b)
{
    (void)b;
    if (!answered(r, gen, "lease renewal"))
        return;
    if (r->type != REDIS_REPLY_INTEGER || r->integer == 0) {
        step_down("another gantryd holds the lease");
        return;
    }
    if (r->integer == 2)
        log_warn("ha: %s had vanished (did redis lose its data?); it is ours again", KEY_LEADER);
    ev_timer_stop(L.loop, &L.deadline);
    ev_timer_set(&L.deadline, L.sent_at + L.cfg.lease - clock_now(), 0.);
    ev_timer_start(L.loop, &L.deadline);
}

/* Someone else holds the lease (holder, with pttl ms left), or nobody
 * (holder ""): note who, and when to look again. */
static void note_holder(const char *holder, long long pttl)
{
    double now = clock_now();
    struct store_leader h;
    int live = holder[0] ? parse_lease(holder, &h) : -1;
    if (live == 0 || (live == 1 && ours(&h))) {
        /* released, or ours: take it now */
        snprintf(L.take, sizeof(L.take), "%s", live == 1 ? holder : "");
        L.expect_until = 0;
        ask();
        return;
    }
    if (live == 1) {
        if (!L.leader.known || strcmp(L.leader.id, h.id) != 0)
            log_info("ha: standing by; %s leads (epoch %lld) at %s", h.id, h.epoch, h.http);
        L.leader = h;
        L.expect_until = now + (pttl >= 0 ? (double)pttl / 1000 : L.cfg.lease);
    } else {
        L.leader.known = 0;
    }
    if (L.expect_until > now)
        look_at(L.expect_until + LOOK_MARGIN);
}

static void on_acquired(redisReply *r, uint64_t gen, uint64_t b)
{
    (void)b;
    if (!answered(r, gen, "lease request"))
        return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_STRING) {
        log_warn("ha: an unexpected answer to the lease request");
        return;
    }
    if (r->element[0]->integer == 1) {
        become_leader(r->element[1]->str);
        return;
    }
    long long pttl = r->elements > 2 && r->element[2]->type == REDIS_REPLY_INTEGER
                         ? r->element[2]->integer : -2;
    note_holder(r->element[1]->str, pttl);
}

static void send_renewal(void)
{
    struct resp_cmd *c = store_script_cmd(SCRIPT_RENEW, 2);
    resp_str(c, KEY_LEADER);
    resp_str(c, KEY_EPOCH);
    resp_str(c, L.value);
    resp_int(c, lease_ms());
    resp_int(c, L.epoch);
    if (store_read(c, on_renewed, L.gen, 0) == 0)
        L.asking = 1;
}

static void send_request(void)
{
    char since[40] = "";
    time_format(time_wall(), since, sizeof(since));
    int look_only = clock_now() < L.expect_until;
    struct resp_cmd *c = store_script_cmd(SCRIPT_ACQUIRE, 2);
    resp_str(c, KEY_LEADER);
    resp_str(c, KEY_EPOCH);
    resp_int(c, lease_ms());
    resp_str(c, L.id);
    resp_str(c, L.http);
    resp_str(c, L.listen);
    resp_str(c, since);
    resp_str(c, L.take);
    resp_str(c, look_only ? "1" : "0");
    if (store_read(c, on_acquired, L.gen, 0) == 0)
        L.asking = 1;
}

/* Renews our lease, or asks for it (a standby); one at a time. */
static void ask(void)
{
    if (!L.started || L.asking || !store_linked())
        return;
    L.sent_at = clock_now();
    if (L.leading)
        send_renewal();
    else
        send_request();
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    ask();
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    step_down("no renewal of the lease reached redis before it ran out");
}

/* Each (re)connection, checked and with the scripts loaded: a leader
 * checks its data (recover.c) before writes flow; everyone asks about
 * the lease at once. */
static void on_link(void)
{
    L.asking = 0;
    if (L.leading)
        store_recover_on_link();
    ask();
}

/* Takes part in the group with cfg (copied); the first look at the lease
 * goes as soon as Redis is connected. Returns 0 or -1 (a bad setting). */
int store_ha_start(struct ev_loop *loop, const struct store_ha_config *cfg)
{
    if (cfg->lease <= 0)
        return -1;
    memset(&L, 0, sizeof(L));
    L.loop = loop;
    L.cfg = *cfg;
    snprintf(L.id, sizeof(L.id), "%s", cfg->id);
    snprintf(L.http, sizeof(L.http), "%s", cfg->http);
    snprintf(L.listen, sizeof(L.listen), "%s", cfg->listen);
    L.cfg.id = L.id;
    L.cfg.http = L.http;
    L.cfg.listen = L.listen;
    ev_timer_init(&L.tick, tick_cb, cfg->lease / 3, cfg->lease / 3);
    ev_timer_init(&L.deadline, deadline_cb, 0., 0.);
    ev_set_priority(&L.deadline, EV_MAXPRI);
    ev_timer_init(&L.look, tick_cb, 0., 0.);
    ev_timer_start(loop, &L.tick);
    store_on_connect(on_link);
    L.started = 1;
    ask();
    return 0;
}

/* Stops the timers (shutdown). */
void store_ha_stop(void)
{
    if (!L.started)
        return;
    L.started = 0;
    ev_timer_stop(L.loop, &L.tick);
    ev_timer_stop(L.loop, &L.deadline);
    ev_timer_stop(L.loop, &L.look);
}

static void on_released(redisReply *r, uint64_t a, uint64_t b)
{
    (void)a;
    (void)b;
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1)
        log_info("ha: lease released; a standby takes over at once");
}

/* A leader stopping gracefully marks its lease released, so a standby
 * takes over at once rather than when it lapses; renewals stop. Returns
 * 1 when the release was sent (its answer is worth waiting for), else 0. */
int store_ha_release(void)
{
    if (!L.started || !L.leading || !store_linked())
        return 0;
    char released[1100];
    size_t n = strlen(L.value);
    if (n < 2 || L.value[n - 1] != '}')
        return 0;
    snprintf(released, sizeof(released), "%.*s,\"released\":true}", (int)(n - 1), L.value);
    ev_timer_stop(L.loop, &L.tick);
    ev_timer_stop(L.loop, &L.deadline);
    L.started = 0;
    struct resp_cmd *c = store_script_cmd(SCRIPT_RELEASE, 1);
    resp_str(c, KEY_LEADER);
    resp_str(c, L.value);
    resp_str(c, released);
    resp_int(c, lease_ms());
    return store_read(c, on_released, 0, 0) == 0;
}

/* A standby had a hint that the leader may be gone (its agents arrive
 * here): it looks at the lease now rather than at its next tick, at most
 * ten times a second. A released lease is then taken at once. */
void store_ha_look(void)
{
    double now = clock_now();
    if (!L.started || L.leading || now - L.hinted_at < 0.1)
        return;
    L.hinted_at = now;
    ask();
}

/* Returns non-zero while this gantryd holds the lease. */
int store_leading(void)
{
    return L.leading;
}

/* Copies who leads, as last learnt. */
void store_leader(struct store_leader *out)
{
    *out = L.leader;
}

/* Returns the store's state for /health: "up" (leading, rebuilt, writes
 * flow), "standby", "recovering" (rebuilding after taking the lease),
 * "checking" (a leader's new connection) or "down". */
const char *store_state_name(void)
{
    struct store_stats st;
    store_stats(&st);
    if (st.state == STORE_UP)
        return "up";
    if (store_linked() && !L.leading)
        return "standby";
    if (st.state == STORE_CONNECTING)
        return store_recovered() ? "checking" : "recovering";
    return "down";
}

/* Returns non-zero when a change sent to this gantryd can reach Redis:
 * it leads and writes flow, or it stands by, connected, and knows the
 * leader to send it to. */
int store_reachable(void)
{
    return store_up() || (store_linked() && !L.leading && L.leader.known);
}
