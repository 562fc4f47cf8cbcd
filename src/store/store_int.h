/* Shared between the store's own files: the connection's write and read
 * calls in terms of RESP commands and hiredis replies, persistence and
 * recovery. Nothing outside src/store includes this. */
#ifndef GANTRY_STORE_INT_H
#define GANTRY_STORE_INT_H

#include <hiredis/hiredis.h>

#include "core/parse.h"
#include "store/resp.h"
#include "store/store.h"

/* Task state (never dropped), telemetry and GPU samples and task logs
 * (dropped oldest first past the backlog bound, counted apart), and the
 * write-back after a data loss (ahead of everything). */
enum store_kind {
    STORE_STATE = 1, STORE_TELEMETRY = 2, STORE_GPU = 3, STORE_REWRITE = 4, STORE_LOG = 5,
};

typedef void (*store_read_fn)(redisReply *r, uint64_t a, uint64_t b);
typedef void (*store_decode_fn)(redisReply *r, void (*user)(void), uint64_t a, uint64_t b);

int store_rewriting(void);
void store_set_up(void);
void store_drop(const char *why);
int store_transient_error(const redisReply *r);
uint64_t store_last_state(void);
void store_fence_epoch(long long epoch);
void store_stand_down(const char *why);
void store_lease_fenced(const char *why);

struct resp_cmd *store_cmd(void);
uint64_t store_send(enum store_kind kind);
int store_read(struct resp_cmd *c, store_read_fn fn, uint64_t a, uint64_t b);
int store_read_decoded(struct resp_cmd *c, store_decode_fn decode, void (*user)(void),
                       uint64_t a, uint64_t b);
void store_on_connect(void (*fn)(void));
void store_count_stale(void);
void store_pump(void);

/* waiters.c: calls made once writes are answered (and replicated). */
void store_waiters_run(uint64_t acked, uint64_t replicated);
void store_waiters_fail(uint64_t seq);
void store_waiters_drop(int all);
void store_waiters_not_replicated(uint64_t upto);
uint64_t store_waiters_unconfirmed(uint64_t acked, uint64_t replicated);
void store_waiters_free(void);
void store_waiters_due(uint64_t acked);
void store_replicas_configure(long want, double timeout);
void store_replicas_ask(uint64_t acked, long conn_writes);
void store_replicas_lost(void);

/* scripts.c: the fence and the lease, run inside Redis. */
enum store_script { SCRIPT_FENCE, SCRIPT_ACQUIRE, SCRIPT_RENEW, SCRIPT_RELEASE, SCRIPT_COUNT };
void store_scripts_init(void);
struct resp_cmd *store_script_cmd(enum store_script s, int nkeys);
void store_fence_args(const char *pre[5], const char *epoch_text);
void store_scripts_load(void (*done)(void));

/* sentinel.c: where the master is, asked of Redis Sentinel. */
typedef void (*store_sentinel_fn)(int ok, const char *host, int port);
void store_sentinel_ask(struct ev_loop *loop, const struct redis_addr *addr, double timeout,
                        store_sentinel_fn fn);
void store_sentinel_check_role(void (*ok)(void));
void store_sentinel_stop(void);

/* lease.c */
void store_lease_on_link(void);

/* persist.c: the cluster observer that writes SPEC section 5's keys. */
void store_persist_init(struct cluster *cl, const struct store_config *cfg);
void store_persist_configure(const struct store_config *cfg);
void store_deliver_queue(void);
unsigned long store_persist_rewrite(const char *marker);

void store_persist_reset(void);

/* recover.c */
void store_rewrite_all(void);
void store_recover_on_link(void);
void store_recover_restart(void);
void store_recover_abandon(void);
json_t *store_task_json(const redisReply *hash);

#endif
