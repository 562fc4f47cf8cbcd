/* Redis Sentinel: where the master is. The sentinels of a sentinel:// URL
 * are asked in turn (SENTINEL get-master-addr-by-name), each on a short
 * connection of its own with its own timeout, never blocking the loop;
 * the first that answers with an address wins, and is asked first the
 * next time. Once connected, the store checks with ROLE that the server
 * it reached is a master: a sentinel may answer before a failover is
 * complete, and a demoted master keeps its address.
 *
 * As in the store's connection, hiredis callbacks carry no pointer: the
 * context they belong to is compared with the current one, and a reply
 * carries the number of the question it answers. */
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store_int.h"

static struct {
    struct ev_loop *loop;
    const struct redis_addr *addr;
    double timeout;
    store_sentinel_fn fn;         /* NULL when no question is open */
    redisAsyncContext *ac;        /* the sentinel being asked */
    int at;                       /* its index in addr->sentinels */
    int first;                    /* where the next question starts */
    int tried;                    /* sentinels asked for this question */
    uint64_t question;
    ev_timer timer;               /* the sentinel's deadline, or the next one's turn */
    int move_on;                  /* the timer moves to the next sentinel now */
    void (*role_ok)(void);
} S;

static void ask_next(void);

static void finish(int ok, const char *host, int port)
{
    store_sentinel_fn fn = S.fn;
    S.fn = NULL;
    ev_timer_stop(S.loop, &S.timer);
    if (fn)
        fn(ok, host, port);
}

/* Drops the current sentinel's connection (its callbacks then see a
 * stranger) and tries the next one from the loop, not from inside hiredis. */
static void give_up_on_current(const char *why)
{
    redisAsyncContext *ac = S.ac;
    S.ac = NULL;
    log_debug("redis: sentinel %s:%d: %s", S.addr->sentinels[S.at].host,
              S.addr->sentinels[S.at].port, why);
    if (ac)
        redisAsyncDisconnect(ac);
    S.move_on = 1;
    ev_timer_stop(S.loop, &S.timer);
    ev_timer_set(&S.timer, 0., 0.);
    ev_timer_start(S.loop, &S.timer);
}

static void on_answer(redisAsyncContext *c, void *reply, void *privdata)
{
    redisReply *r = reply;
    if (c != S.ac || (uint64_t)(uintptr_t)privdata != S.question || !S.fn)
        return;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
        give_up_on_current(r && r->type == REDIS_REPLY_ERROR ? r->str : "no master known");
        return;
    }
    char host[64];
    snprintf(host, sizeof(host), "%s", r->element[0]->str);
    int port = atoi(r->element[1]->str);
    S.first = S.at;
    S.ac = NULL;
    redisAsyncDisconnect(c);      /* freed once this callback returns */
    finish(1, host, port);
}

static void on_connect(const redisAsyncContext *c, int status)
{
    if (c != S.ac)
        return;
    if (status != REDIS_OK) {
        S.ac = NULL;              /* hiredis frees a context whose connect failed */
        give_up_on_current(c->errstr);
        return;
    }
    if (redisAsyncCommand(S.ac, on_answer, (void *)(uintptr_t)S.question,
                          "SENTINEL get-master-addr-by-name %s", S.addr->master_name) != REDIS_OK)
        give_up_on_current("the question could not be sent");
}

static void on_disconnect(const redisAsyncContext *c, int status)
{
    (void)status;
    if (c != S.ac)
        return;
    S.ac = NULL;
    give_up_on_current("connection lost");
}

static void ask_next(void)
{
    if (S.tried == S.addr->nsentinels) {
        finish(0, NULL, 0);
        return;
    }
    S.at = (S.first + S.tried++) % S.addr->nsentinels;
    S.move_on = 0;
    redisAsyncContext *ac = redisAsyncConnect(S.addr->sentinels[S.at].host,
                                              S.addr->sentinels[S.at].port);
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        give_up_on_current("cannot connect");
        return;
    }
    S.ac = ac;
    redisLibevAttach(S.loop, ac);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    ev_timer_set(&S.timer, S.timeout, 0.);
    ev_timer_start(S.loop, &S.timer);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    if (!S.fn)
        return;
    if (!S.move_on) {             /* the sentinel did not answer in time */
        redisAsyncContext *ac = S.ac;
        S.ac = NULL;
        if (ac)
            redisAsyncFree(ac);
        log_debug("redis: sentinel %s:%d: no answer within %gs", S.addr->sentinels[S.at].host,
                  S.addr->sentinels[S.at].port, S.timeout);
    }
    ask_next();
}

/* Asks the sentinels of addr where its master is; fn(ok, host, port) is
 * called once, from the loop (ok = 0: none of them knew, or none
 * answered within timeout seconds each). A question still open is
 * dropped. */
void store_sentinel_ask(struct ev_loop *loop, const struct redis_addr *addr, double timeout,
                        store_sentinel_fn fn)
{
    store_sentinel_stop();
    S.loop = loop;
    S.addr = addr;
    S.timeout = timeout > 0 ? timeout : 1;
    S.fn = fn;
    S.tried = 0;
    S.question++;
    ev_init(&S.timer, timer_cb);
    ask_next();
}

/* Drops an open question and its connection (no call follows). */
void store_sentinel_stop(void)
{
    S.fn = NULL;
    if (S.loop)
        ev_timer_stop(S.loop, &S.timer);
    redisAsyncContext *ac = S.ac;
    S.ac = NULL;
    if (ac)
        redisAsyncFree(ac);
}

static void on_role(redisReply *r, uint64_t a, uint64_t b)
{
    (void)a;
    (void)b;
    if (!r)
        return;
    const char *role = r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                               r->element[0]->type == REDIS_REPLY_STRING
                           ? r->element[0]->str : "?";
    if (strcmp(role, "master") != 0) {
        char why[96];
        snprintf(why, sizeof(why), "the server the sentinels named is a %.20s, not the master",
                 role);
        store_drop(why);
        return;
    }
    if (S.role_ok)
        S.role_ok();
}

/* Checks with ROLE that the store's new connection reached a master, then
 * calls ok; a replica is dropped (and the sentinels asked again). */
void store_sentinel_check_role(void (*ok)(void))
{
    S.role_ok = ok;
    struct resp_cmd *c = store_cmd();
    resp_str(c, "ROLE");
    if (store_read(c, on_role, 0, 0) < 0)
        store_drop("ROLE could not be sent");
}
