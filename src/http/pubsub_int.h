/* What pubsub's files share (not for the rest of gantryd): the topics,
 * subscriptions indexed by topic and key, clients, and the one encoder of
 * each message kind. */
#ifndef GANTRY_PUBSUB_INT_H
#define GANTRY_PUBSUB_INT_H

#include "core/cluster.h"
#include "store/reads.h"
#include "views_gpu.h"
#include "ws.h"

/* TOPIC_SEED is no /ws topic: the master/worker system's /ws/telemetry
 * maps (pubsub_seed.c). */
enum topic { TOPIC_TELEMETRY, TOPIC_GPUS, TOPIC_EVENTS, TOPIC_LOGS, TOPIC_SEED, NTOPICS };
#define NSUBSCRIBABLE TOPIC_SEED

/* How a GPU subscription's messages look: Gantry's {"type":"gpu"} or the
 * GPU pipeline's {"type":"telemetry_update"}. */
enum sub_style { STYLE_GANTRY, STYLE_PIPELINE };

/* The name a pipeline subscriber gave a metric, echoed in its data. */
enum metric_form { FORM_API, FORM_DCGM, FORM_DCGM_FULL, FORM_PROTO };

#define KEY_MAX 72

struct bucket {
    struct dict_node node;
    char key[KEY_MAX + 4];        /* "<topic>:<key>" */
    struct list_node subs;
};

struct client;

struct sub {
    struct list_node by_client, by_key;
    struct client *cl;
    struct bucket *bucket;        /* NULL: every key of the topic */
    enum topic topic;
    uint32_t id;
    uint16_t metrics;             /* gpus: metric bits wanted, 0 = all */
    uint8_t style;                /* enum sub_style */
    uint8_t forms[GM_COUNT];      /* enum metric_form, per metric */
    int close_at_end;             /* /ws/tasks/{id}/logs closes after "end" */
    int catching_up;              /* history on its way: hold live messages */
    int resync;                   /* a map was dropped: send the whole map next */
    struct list_node resync_link; /* in the seed streams' list of subs to resend to */
    struct buf held;              /* [ms][seq][len][bytes] */
    char key[KEY_MAX];
};

struct client {
    struct ws_client *ws;
    struct list_node subs;
    uint32_t next_id;
};

struct pubsub_state {
    struct cluster *cl;
    struct list_node all[NTOPICS];
    struct dict buckets;
};
extern struct pubsub_state pubsub;

typedef void (*visit_fn)(struct sub *s, void *ud);

/* The index (pubsub.c). */
struct sub *pubsub_sub_new(struct client *cl, enum topic t, const char *key);
void pubsub_sub_free(struct sub *s);
struct sub *pubsub_sub_find(uint64_t client_id, uint64_t sub_id);
void pubsub_deliver(struct sub *s, const char *text, size_t len, uint64_t ms, uint64_t seq);
void pubsub_visit(enum topic t, const char *key, visit_fn fn, void *ud);
int pubsub_listened(enum topic t, const char *key);
struct client *pubsub_accept(struct http_req *req);
int pubsub_error(struct client *cl, const char *code, const char *msg);

/* Messages, one encoder per kind (pubsub_msg.c). */
json_t *pubsub_msg_telemetry(const struct worker *w);
json_t *pubsub_msg_gpu(const struct sub *s, const struct view_gpu_ref *ref, const char *id,
                  const struct gpu_sample *sample);
json_t *pubsub_msg_log(const char *task_id, const char *id, const char *stream, const char *data,
                  size_t len, json_t *ts);
json_t *pubsub_msg_end(const char *task_id, const char *status, json_t *exit_code, json_t *reason);
json_t *pubsub_msg_event(const char *id, json_t *event);
json_t *pubsub_msg_history(const struct sub *s, const struct store_entry *e);
char *pubsub_msg_text(json_t *j);

/* History from Redis, then what was held meanwhile (pubsub_history.c). */
int pubsub_history(struct sub *s, const char *from);

/* Subscriptions on /ws and the streams of their own routes
 * (pubsub_routes.c); /ws/telemetry maps (pubsub_seed.c). */
void pubsub_on_text(struct ws_client *ws, const char *msg, size_t len);
void pubsub_task_end(const struct task *t);
int pubsub_routes_register(void);
void pubsub_seed_changed(const struct cluster_event *ev);
void pubsub_seed_drained(struct sub *s);
int pubsub_seed_init(void);
void pubsub_seed_shutdown(void);
int pubsub_seed_register(void);

#endif
