#include "config.h"

#include <ctype.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "sched.h"

#define OFF(f) offsetof(struct config, f)
#define KiB 1024.0
#define MiB (1024.0 * 1024.0)
#define GiB (1024.0 * MiB)

/* Every key gantryd reads. conf/gantry.conf documents each one with the
 * default given here (a unit test holds the two together). */
const struct config_key config_keys[] = {
    {"http", "listen", CT_ADDR, OFF(http_listen), "127.0.0.1:8080", 0, 0, 0},
    {"http", "tokens", CT_TOKENS, OFF(http_tokens), "", 0, 0, 1},
    {"http", "insecure", CT_BOOL, OFF(http_insecure), "false", 0, 0, 0},
    {"http", "cors_origins", CT_STRING, OFF(http_cors_origins), "", 0, 0, 1},
    {"http", "max_connections", CT_LONG, OFF(http_max_connections), "10000", 1, 1e7, 1},
    {"http", "header_timeout", CT_DURATION, OFF(http_header_timeout), "10s", 0.01, 3600, 1},
    {"http", "idle_timeout", CT_DURATION, OFF(http_idle_timeout), "60s", 0.01, 86400, 1},
    {"http", "max_header_size", CT_SIZE, OFF(http_max_header_size), "16KiB", 1024, 1 * MiB, 1},
    {"http", "max_body_size", CT_SIZE, OFF(http_max_body_size), "1MiB", 64, 1 * GiB, 1},
    {"http", "max_output", CT_SIZE, OFF(http_max_output), "1MiB", 4 * KiB, 1 * GiB, 1},
    {"http", "output_budget", CT_SIZE, OFF(http_output_budget), "512MiB", 1 * MiB, 64 * GiB, 1},
    {"http", "ws_max_message", CT_SIZE, OFF(http_ws_max_message), "64KiB", 128, 16 * MiB, 1},
    {"http", "ws_queue", CT_SIZE, OFF(http_ws_queue), "1MiB", 4 * KiB, 1 * GiB, 1},
    {"http", "ws_ping_interval", CT_DURATION, OFF(http_ws_ping_interval), "30s", 0.1, 3600, 1},
    {"http", "tls_cert", CT_STRING, OFF(http_tls_cert), "", 0, 0, 1},
    {"http", "tls_key", CT_STRING, OFF(http_tls_key), "", 0, 0, 1},
    {"http", "tls_max_handshakes", CT_LONG, OFF(http_tls_max_handshakes), "4096", 1, 1e7, 1},
    {"agents", "listen", CT_ADDR, OFF(agents_listen), "0.0.0.0:7070", 0, 0, 0},
    {"agents", "token", CT_STRING, OFF(agents_token), "", 0, 0, 1},
    {"agents", "heartbeat_timeout", CT_DURATION, OFF(agents_heartbeat_timeout), "30s", 0.05, 86400, 1},
    {"agents", "lost_after", CT_DURATION, OFF(agents_lost_after), "60s", 0.05, 30 * 86400.0, 1},
    {"agents", "require_registration", CT_BOOL, OFF(agents_require_registration), "false", 0, 0, 1},
    {"agents", "max_frame", CT_SIZE, OFF(agents_max_frame), "1MiB", 1 * KiB, 64 * MiB, 1},
    {"agents", "max_output", CT_SIZE, OFF(agents_max_output), "4MiB", 64 * KiB, 1 * GiB, 1},
    {"agents", "max_connections", CT_LONG, OFF(agents_max_connections), "1000000", 1, 1e8, 1},
    {"agents", "hello_timeout", CT_DURATION, OFF(agents_hello_timeout), "10s", 0.01, 3600, 1},
    {"agents", "tls_cert", CT_STRING, OFF(agents_tls_cert), "", 0, 0, 1},
    {"agents", "tls_key", CT_STRING, OFF(agents_tls_key), "", 0, 0, 1},
    {"agents", "tls_ca", CT_STRING, OFF(agents_tls_ca), "", 0, 0, 1},
    {"agents", "tls_bind_id", CT_BOOL, OFF(agents_tls_bind_id), "false", 0, 0, 1},
    {"agents", "tls_max_handshakes", CT_LONG, OFF(agents_tls_max_handshakes), "4096", 1, 1e7, 1},
    {"redis", "url", CT_REDIS_URL, OFF(redis_url), "redis://127.0.0.1:6379", 0, 0, 0},
    {"redis", "telemetry_retention", CT_RETENTION, OFF(redis_telemetry_retention), "24h", 0, 0, 1},
    {"redis", "backlog", CT_SIZE, OFF(redis_backlog), "64MiB", 64 * KiB, 64 * GiB, 1},
    {"redis", "connect_timeout", CT_DURATION, OFF(redis_connect_timeout), "2s", 0.01, 600, 1},
    {"redis", "reply_timeout", CT_DURATION, OFF(redis_reply_timeout), "5s", 0.05, 600, 1},
    {"redis", "max_inflight", CT_LONG, OFF(redis_max_inflight), "20000", 16, 1e7, 1},
    {"redis", "logs_maxlen", CT_LONG, OFF(redis_logs_maxlen), "10000", 1, 1e9, 1},
    {"redis", "events_maxlen", CT_LONG, OFF(redis_events_maxlen), "100000", 1, 1e9, 1},
    {"redis", "min_replicas_ack", CT_LONG, OFF(redis_min_replicas_ack), "0", 0, 100, 1},
    {"redis", "replica_timeout", CT_DURATION, OFF(redis_replica_timeout), "1s", 0.01, 60, 1},
    {"ha", "lease", CT_DURATION, OFF(ha_lease), "5s", 0.3, 3600, 0},
    {"ha", "advertise_http", CT_STRING, OFF(ha_advertise_http), "", 0, 0, 0},
    {"ha", "advertise_agents", CT_STRING, OFF(ha_advertise_agents), "", 0, 0, 0},
    {"scheduler", "policy", CT_POLICY, OFF(scheduler_policy), "best-fit", 0, 0, 1},
    {"scheduler", "interval", CT_DURATION, OFF(scheduler_interval), "100ms", 0.001, 60, 1},
    {"scheduler", "slice", CT_DURATION, OFF(scheduler_slice), "2ms", 0.0001, 1, 1},
    {"scheduler", "aging", CT_DURATION, OFF(scheduler_aging), "60s", 0.001, 86400, 1},
    {"tasks", "max_attempts", CT_LONG, OFF(tasks_max_attempts), "3", 1, 100, 1},
    {"tasks", "keep_finished", CT_LONG, OFF(tasks_keep_finished), "10000", 0, 1e8, 1},
    {"tasks", "max_queued", CT_LONG, OFF(tasks_max_queued), "1000000", 1, 1e9, 1},
    {"tasks", "log_buffer", CT_SIZE, OFF(tasks_log_buffer), "256KiB", 1 * KiB, 1 * GiB, 1},
    {"tasks", "log_rate", CT_SIZE, OFF(tasks_log_rate), "1MiB", 1 * KiB, 1 * GiB, 1},
    {"tasks", "log_max", CT_SIZE, OFF(tasks_log_max), "64MiB", 1 * KiB, 64 * GiB, 1},
    {"tasks", "history", CT_LONG, OFF(tasks_history), "1000", 0, 1e8, 1},
    {"tasks", "cancel_grace", CT_DURATION, OFF(tasks_cancel_grace), "10s", 0.001, 3600, 1},
    {"cluster", "name", CT_STRING, OFF(cluster_name), "default", 0, 0, 0},
    {"log", "level", CT_LEVEL, OFF(log_level), "info", 0, 0, 1},
    {NULL, NULL, 0, 0, NULL, 0, 0, 0},
};

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

static int is_string_type(enum config_type t)
{
    return t == CT_STRING || t == CT_ADDR || t == CT_REDIS_URL ||
           t == CT_TOKENS || t == CT_LEVEL || t == CT_POLICY ||
           t == CT_RETENTION;
}

/* Fills cfg with every default. The defaults are valid by construction. */
void config_defaults(struct config *cfg)
{
    char err[128];
    memset(cfg, 0, sizeof(*cfg));
    for (const struct config_key *k = config_keys; k->key; k++)
        if (config_set(cfg, k->section, k->key, k->def, err, sizeof(err)) < 0)
            abort();
}

/* Frees the strings cfg owns. */
void config_free(struct config *cfg)
{
    for (const struct config_key *k = config_keys; k->key; k++) {
        if (is_string_type(k->type)) {
            char **p = (char **)((char *)cfg + k->offset);
            free(*p);
            *p = NULL;
        }
    }
}

/* Returns the key's description, or NULL when there is no such key. */
const struct config_key *config_find(const char *section, const char *key)
{
    for (const struct config_key *k = config_keys; k->key; k++)
        if (strcmp(k->section, section) == 0 && strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

/* Splits "24h" (age) or "100000 entries" (length) retention values. */
int config_parse_retention(const char *s, double *age, long *maxlen)
{
    char e[64];
    *age = 0;
    *maxlen = 0;
    const char *sp = strstr(s, "entries");
    if (sp) {
        char num[32];
        size_t n = (size_t)(sp - s);
        while (n > 0 && s[n - 1] == ' ')
            n--;
        if (n == 0 || n >= sizeof(num) || sp[7] != '\0')
            return -1;
        memcpy(num, s, n);
        num[n] = '\0';
        return parse_long(num, maxlen, e, sizeof(e)) < 0 || *maxlen < 1 ? -1 : 0;
    }
    return parse_duration(s, age, e, sizeof(e)) < 0 || *age <= 0 ? -1 : 0;
}

/* Walks "read:TOKEN,admin:TOKEN", calling each for every token (admin set
 * for the admin role). Returns 0, or -1 with the reason in err. */
int config_parse_tokens(const char *s, char *err, size_t errlen,
                        int (*each)(void *ud, int admin, const char *tok,
                                    size_t len),
                        void *ud)
{
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        int admin;
        size_t skip;
        if (n > 5 && strncmp(p, "read:", 5) == 0) {
            admin = 0;
            skip = 5;
        } else if (n > 6 && strncmp(p, "admin:", 6) == 0) {
            admin = 1;
            skip = 6;
        } else {
            return ERR("each token must be read:TOKEN or admin:TOKEN");
        }
        for (size_t i = skip; i < n; i++)
            if (!isgraph((unsigned char)p[i]))
                return ERR("tokens may not contain spaces or control characters");
        if (n - skip < 8)
            return ERR("tokens must be at least 8 characters long");
        if (each && each(ud, admin, p + skip, n - skip) < 0)
            return ERR("out of memory");
        p += n;
    }
    return 0;
}

static int set_string(char **slot, const char *value, char *err,
                      size_t errlen)
{
    char *copy = strdup(value);
    if (!copy)
        return ERR("out of memory");
    free(*slot);
    *slot = copy;
    return 0;
}

static int check_bounds(const struct config_key *k, double v, char *err,
                        size_t errlen)
{
    if (k->max > 0 && (v < k->min || v > k->max))
        return ERR("out of range (%g..%g)", k->min, k->max);
    return 0;
}

/* Checks value for the key and stores it. Returns 0, or -1 with
 * "section.key: reason" in err (cfg unchanged then). */
int config_set(struct config *cfg, const char *section, const char *key,
               const char *value, char *err, size_t errlen)
{
    const struct config_key *k = config_find(section, key);
    if (!k)
        return ERR("%s.%s: unknown key", section, key);
    char why[160] = "";
    void *slot = (char *)cfg + k->offset;
    int rc = 0;
    double d;
    size_t sz;
    long l;
    int b;
    struct hostport hp;
    struct redis_addr ra;
    enum log_level lv;
    switch (k->type) {
    case CT_STRING:
        break;
    case CT_BOOL:
        if ((rc = parse_bool(value, &b, why, sizeof(why))) == 0)
            *(int *)slot = b;
        break;
    case CT_DURATION:
        rc = parse_duration(value, &d, why, sizeof(why));
        if (rc == 0 && (rc = check_bounds(k, d, why, sizeof(why))) == 0)
            *(double *)slot = d;
        break;
    case CT_SIZE:
        rc = parse_size(value, &sz, why, sizeof(why));
        if (rc == 0 && (rc = check_bounds(k, (double)sz, why, sizeof(why))) == 0)
            *(size_t *)slot = sz;
        break;
    case CT_LONG:
        rc = parse_long(value, &l, why, sizeof(why));
        if (rc == 0 && (rc = check_bounds(k, (double)l, why, sizeof(why))) == 0)
            *(long *)slot = l;
        break;
    case CT_ADDR:
        rc = parse_hostport(value, &hp, why, sizeof(why));
        break;
    case CT_REDIS_URL:
        rc = parse_redis_url(value, &ra, why, sizeof(why));
        break;
    case CT_TOKENS:
        rc = config_parse_tokens(value, why, sizeof(why), NULL, NULL);
        break;
    case CT_LEVEL:
        if ((rc = log_level_parse(value, &lv)) < 0)
            snprintf(why, sizeof(why), "not a level (error, warn, info, debug)");
        break;
    case CT_POLICY:
        if ((rc = sched_policy_find(value) ? 0 : -1) < 0)
            snprintf(why, sizeof(why), "unknown policy (%s)", sched_policy_list());
        break;
    case CT_RETENTION: {
        double age;
        long maxlen;
        if ((rc = config_parse_retention(value, &age, &maxlen)) < 0)
            snprintf(why, sizeof(why),
                     "not a retention (an age like 24h, or a length like '100000 entries')");
        break;
    }
    }
    if (rc < 0)
        return ERR("%s.%s = '%s': %s", section, key, value, why);
    if (is_string_type(k->type) && set_string(slot, value, why, sizeof(why)) < 0)
        return ERR("%s.%s: %s", section, key, why);
    return 0;
}

struct ini_ctx {
    struct config *cfg;
    char *err;
    size_t errlen;
    int failed;
};

static int on_ini(void *user, const char *section, const char *name,
                  const char *value)
{
    struct ini_ctx *ctx = user;
    if (ctx->failed)
        return 0;
    if (config_set(ctx->cfg, section, name, value, ctx->err, ctx->errlen) < 0) {
        ctx->failed = 1;
        return 0;
    }
    return 1;
}

/* Reads an INI file over cfg. Returns 0, or -1 with "FILE:LINE: section.key
 * ..." in err. */
int config_load_file(struct config *cfg, const char *path, char *err,
                     size_t errlen)
{
    char why[512] = "";
    struct ini_ctx ctx = {cfg, why, sizeof(why), 0};
    int rc = ini_parse(path, on_ini, &ctx);
    if (rc == -1)
        return ERR("%s: cannot open", path);
    if (rc == -2)
        return ERR("%s: out of memory", path);
    if (rc > 0) {
        if (ctx.failed)
            return ERR("%s:%d: %s", path, rc, why);
        return ERR("%s:%d: syntax error (expected [section] or key = value)",
                   path, rc);
    }
    return 0;
}

/* Applies GANTRY_<SECTION>_<KEY> variables over cfg. Returns 0, or -1 with
 * the variable's name and the reason in err. */
int config_load_env(struct config *cfg, char *err, size_t errlen)
{
    for (const struct config_key *k = config_keys; k->key; k++) {
        char name[96];
        snprintf(name, sizeof(name), "GANTRY_%s_%s", k->section, k->key);
        for (char *p = name; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        const char *v = getenv(name);
        if (!v)
            continue;
        char why[512];
        if (config_set(cfg, k->section, k->key, v, why, sizeof(why)) < 0)
            return ERR("%s: %s", name, why);
    }
    return 0;
}

/* Makes dst an independent copy of src. Returns 0 or -1. */
int config_copy(struct config *dst, const struct config *src)
{
    memcpy(dst, src, sizeof(*dst));
    for (const struct config_key *k = config_keys; k->key; k++) {
        if (!is_string_type(k->type))
            continue;
        char **d = (char **)((char *)dst + k->offset);
        if (*d && !(*d = strdup(*d))) {
            for (const struct config_key *j = config_keys; j != k; j++)
                if (is_string_type(j->type))
                    free(*(char **)((char *)dst + j->offset));
            return -1;
        }
    }
    return 0;
}

/* Writes the key's value as a user would write it. Returns its length. */
int config_format(const struct config *cfg, const struct config_key *k,
                  char *out, size_t outlen)
{
    const void *slot = (const char *)cfg + k->offset;
    switch (k->type) {
    case CT_BOOL:
        return snprintf(out, outlen, "%s", *(const int *)slot ? "true" : "false");
    case CT_DURATION:
        return format_duration(*(const double *)slot, out, outlen);
    case CT_SIZE:
        return snprintf(out, outlen, "%zu", *(const size_t *)slot);
    case CT_LONG:
        return snprintf(out, outlen, "%ld", *(const long *)slot);
    default:
        return snprintf(out, outlen, "%s", *(char *const *)slot ? *(char *const *)slot : "");
    }
}

/* Returns non-zero when the key has the same value in a and b. */
int config_equal_key(const struct config *a, const struct config *b,
                     const struct config_key *k)
{
    char va[1024], vb[1024];
    config_format(a, k, va, sizeof(va));
    config_format(b, k, vb, sizeof(vb));
    return strcmp(va, vb) == 0;
}
