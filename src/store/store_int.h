/* Shared between the store's own files: the connection's write and read
 * calls in terms of RESP commands and hiredis replies, persistence and
 * recovery. Nothing outside src/store includes this. */
#ifndef GANTRY_STORE_INT_H
#define GANTRY_STORE_INT_H

#include <hiredis/hiredis.h>

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

struct resp_cmd *store_cmd(void);
uint64_t store_send(enum store_kind kind);
int store_read(struct resp_cmd *c, store_read_fn fn, uint64_t a, uint64_t b);
int store_read_decoded(struct resp_cmd *c, store_decode_fn decode, void (*user)(void),
                       uint64_t a, uint64_t b);
void store_on_connect(void (*fn)(void));
void store_count_stale(void);
void store_pump(void);

/* persist.c: the cluster observer that writes SPEC section 5's keys. */
void store_persist_init(struct cluster *cl, const struct store_config *cfg);
void store_persist_configure(const struct store_config *cfg);
void store_deliver_queue(void);
unsigned long store_persist_rewrite(const char *marker);

/* recover.c */
void store_rewrite_all(void);
json_t *store_task_json(const redisReply *hash);

#endif
