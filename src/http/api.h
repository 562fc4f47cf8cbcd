/* The API's handlers and what they read: gantryd hands them its state once
 * at start (api_init); handlers ask core for what is true now and the store
 * for history. */
#ifndef GANTRY_API_H
#define GANTRY_API_H

#include "core/cluster.h"
#include "core/fleet.h"
#include "http.h"
#include "store/store.h"

struct api_env {
    double started;               /* wall-clock start time */
    struct http_server *http;
    struct listener *http_ls;
    struct listener *agent_ls;    /* for its TLS counters */
    struct cluster *cl;
    double cancel_grace;          /* seconds */
    int max_attempts;             /* default for submissions */
    long max_queued;              /* past it, 429 */
    void (*kick_scheduler)(void); /* run the scheduler soon */
    char cluster_name[128];       /* cluster.name: workers without a cluster label */
};

/* A request answered later: found again by connection id and sequence. */
struct api_later {
    uint64_t conn_id, seq;
};

extern struct api_env *api_env;

void api_init(struct api_env *env);
int api_register(void);
int api_tasks_register(void);
int api_workers_register(void);
int api_history_register(void);
int api_gpus_register(void);
int api_meta_register(void);
void api_free(void);

/* Query parameters (api_params.c). */
#define API_MAX_OFFSET 100000000L
struct api_window {
    int64_t start_ms, end_ms;     /* inclusive bounds, when has_* */
    int has_start, has_end;
};
int api_query_long(struct http_req *req, const char *name, long def, long min, long max,
                   long *out);
int api_query_page(struct http_req *req, long def, long max, long *limit, long *offset);
int api_query_order(struct http_req *req, int *newest_first);
int api_query_metrics(struct http_req *req, uint16_t *mask);
int api_query_window(struct http_req *req, struct api_window *w);
int api_reply_list(struct http_req *req, json_t *data, size_t total, size_t offset);

/* The GPU API's lists (api_gpus.c): at most this many items a page, and
 * that many by default, so a fleet up to this size comes in one answer. */
#define API_GPU_PAGE 10000L
#define API_WORKER_PAGE 10000L
int api_fleet(struct http_req *req, struct fleet *f);
typedef json_t *(*api_item_fn)(const struct fleet *f, size_t i);
int api_reply_items(struct http_req *req, const struct fleet *f, api_item_fn item, size_t first,
                    size_t n, long limit, long offset);
json_t *api_item_gpu(const struct fleet *f, size_t i);
json_t *api_item_host(const struct fleet *f, size_t i);
json_t *api_item_cluster(const struct fleet *f, size_t i);
int api_reply_gpu(struct http_req *req, const struct worker_gpu *g, uint16_t mask);
int api_clusters_register(void);
int swagger_register(void);

/* Shared by the handlers (api_util.c). */
json_t *api_json_body(struct http_req *req);
const char *api_store_refusal(const char **code);
int api_when_stored(uint64_t before, store_done_fn fn, uint64_t a, uint64_t b,
                    const char *task_id, const char **why);
int api_query_limit(struct http_req *req, int def, int max, int *out);
int api_query_since(struct http_req *req, char *out, size_t outlen, const char *message);
int api_reply_field_error(struct http_req *req, int status, const char *code,
                          const char *field, const char *message);
double api_now(void);
int api_parse_stream_id(const char *s, char *out, size_t outlen);

#endif
