/* gantryd's configuration: one table of keys with their types, defaults and
 * limits, filled from the INI file, then GANTRY_<SECTION>_<KEY> environment
 * variables, then command-line flags. A bad value is refused with the key's
 * name and the reason. */
#ifndef GANTRY_CONFIG_H
#define GANTRY_CONFIG_H

#include <stddef.h>

#include "log.h"

struct config {
    /* [http] */
    char *http_listen;
    char *http_tokens;
    int http_insecure;
    char *http_cors_origins;
    long http_max_connections;
    double http_header_timeout;
    double http_idle_timeout;
    size_t http_max_header_size;
    size_t http_max_body_size;
    size_t http_max_output;
    size_t http_output_budget;
    size_t http_ws_max_message;
    size_t http_ws_queue;
    double http_ws_ping_interval;
    char *http_tls_cert;          /* PEM; with tls_key the API speaks HTTPS only */
    char *http_tls_key;
    long http_tls_max_handshakes;
    /* [agents] */
    char *agents_listen;
    char *agents_token;
    double agents_heartbeat_timeout;
    double agents_lost_after;
    int agents_require_registration;
    size_t agents_max_frame;
    size_t agents_max_output;
    long agents_max_connections;
    double agents_hello_timeout;
    char *agents_tls_cert;        /* PEM; with tls_key the agent port speaks TLS only */
    char *agents_tls_key;
    char *agents_tls_ca;          /* agents must present a certificate it signed */
    int agents_tls_bind_id;       /* hello's worker_id must be named by that certificate */
    long agents_tls_max_handshakes;
    /* [redis] */
    char *redis_url;
    char *redis_telemetry_retention;
    size_t redis_backlog;
    double redis_connect_timeout;
    double redis_reply_timeout;
    long redis_max_inflight;
    long redis_logs_maxlen;
    long redis_events_maxlen;
    long redis_min_replicas_ack;
    double redis_replica_timeout;
    /* [ha] */
    double ha_lease;
    char *ha_advertise_http;
    char *ha_advertise_agents;
    /* [scheduler] */
    char *scheduler_policy;
    double scheduler_interval;
    double scheduler_slice;
    double scheduler_aging;
    /* [tasks] */
    long tasks_max_attempts;
    long tasks_keep_finished;
    long tasks_max_queued;
    size_t tasks_log_buffer;
    size_t tasks_log_rate;        /* bytes per second per task */
    size_t tasks_log_max;         /* bytes per task in all */
    double tasks_cancel_grace;
    long tasks_history;
    /* [cluster] */
    char *cluster_name;
    /* [log] */
    char *log_level;
};

enum config_type {
    CT_STRING, CT_BOOL, CT_DURATION, CT_SIZE, CT_LONG, CT_ADDR, CT_REDIS_URL,
    CT_TOKENS, CT_LEVEL, CT_POLICY, CT_RETENTION
};

struct config_key {
    const char *section;
    const char *key;
    enum config_type type;
    size_t offset;
    const char *def;          /* default, in the syntax a user writes */
    double min, max;          /* numeric bounds (in base units) when max > 0 */
    int live;                 /* SIGHUP applies it without a restart */
};

extern const struct config_key config_keys[];

void config_defaults(struct config *cfg);
void config_free(struct config *cfg);
const struct config_key *config_find(const char *section, const char *key);
int config_set(struct config *cfg, const char *section, const char *key,
               const char *value, char *err, size_t errlen);
int config_load_file(struct config *cfg, const char *path, char *err,
                     size_t errlen);
int config_load_env(struct config *cfg, char *err, size_t errlen);
int config_copy(struct config *dst, const struct config *src);
int config_equal_key(const struct config *a, const struct config *b,
                     const struct config_key *k);
int config_format(const struct config *cfg, const struct config_key *k,
                  char *out, size_t outlen);
int config_parse_retention(const char *s, double *age, long *maxlen);
int config_parse_tokens(const char *s, char *err, size_t errlen,
                        int (*each)(void *ud, int admin, const char *tok,
                                    size_t len),
                        void *ud);

#endif
