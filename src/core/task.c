#include "task.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "timefmt.h"
#include "worker.h"

#define MAX_CPU 1024.0
#define MAX_MEMORY_MIB (16.0 * 1024 * 1024)   /* 16 TiB */
#define MAX_GPU 64.0
#define DEFAULT_CPU 1.0
#define DEFAULT_MEMORY_MIB 256

static const char *const status_names[] = {
    "queued", "assigned", "running", "completed", "failed", "cancelled",
};

/* Returns the status as the API spells it. */
const char *task_status_name(enum task_status s)
{
    return status_names[s];
}

/* Parses a status name. Returns 0 or -1. */
int task_status_parse(const char *s, enum task_status *out)
{
    for (int i = 0; i <= TS_CANCELLED; i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (enum task_status)i;
            return 0;
        }
    }
    return -1;
}

/* Returns non-zero for completed, failed and cancelled. */
int task_status_terminal(enum task_status s)
{
    return s >= TS_COMPLETED;
}

static int fail(struct task_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct task_error *err, const char *field, const char *fmt, ...)
{
    snprintf(err->field, sizeof(err->field), "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* A number, or a string holding one ("2", "0.5"). */
static int number_of(json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return isfinite(*out) ? 0 : -1;
    }
    if (!json_is_string(v))
        return -1;
    char e[8];
    return parse_double(json_string_value(v), out, e, sizeof(e));
}

static int get_number(json_t *body, const char *field, double lo_excl,
                      double hi, double def, double *out, struct task_error *err)
{
    json_t *v = json_object_get(body, field);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (number_of(v, out) < 0)
        return fail(err, field, "%s must be a number", field);
    if (*out <= lo_excl || *out > hi)
        return fail(err, field, "%s must be greater than %g and at most %g",
                    field, lo_excl, hi);
    return 0;
}

static int get_int(json_t *body, const char *field, int lo, int hi, int def,
                   int *out, struct task_error *err)
{
    json_t *v = json_object_get(body, field);
    double d;
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (number_of(v, &d) < 0 || d != floor(d))
        return fail(err, field, "%s must be a whole number", field);
    if (d < lo || d > hi)
        return fail(err, field, "%s must be between %d and %d", field, lo, hi);
    *out = (int)d;
    return 0;
}

static int get_string(json_t *body, const char *field, size_t max, char **out,
                      struct task_error *err)
{
    json_t *v = json_object_get(body, field);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(err, field, "%s must be a string", field);
    if (json_string_length(v) > max)
        return fail(err, field, "%s is longer than %zu characters", field, max);
    *out = strdup(json_string_value(v));
    return *out ? 0 : fail(err, field, "out of memory");
}

/* Checks a map of string values (env, labels); numbers become strings. */
static int get_string_map(json_t *body, const char *field, int env_names,
                          json_t **out, struct task_error *err)
{
    json_t *v = json_object_get(body, field);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(err, field, "%s must be an object of strings", field);
    json_t *copy = json_object();
    const char *k;
    json_t *val;
    json_object_foreach(v, k, val) {
        char num[64];
        const char *s;
        if (json_is_string(val)) {
            s = json_string_value(val);
        } else if (json_is_number(val)) {
            snprintf(num, sizeof(num), "%.17g", json_number_value(val));
            s = num;
        } else {
            json_decref(copy);
            return fail(err, field, "%s.%s must be a string", field, k);
        }
        int ok = *k && strlen(k) <= 256;
        for (const char *p = k; ok && *p; p++)
            ok = env_names ? (isalnum((unsigned char)*p) || *p == '_')
                           : (isgraph((unsigned char)*p) && *p != '=' && *p != ',');
        if (env_names && isdigit((unsigned char)*k))
            ok = 0;
        if (!ok) {
            json_decref(copy);
            return fail(err, field, "%s has an invalid name '%.64s'", field, k);
        }
        json_object_set_new(copy, k, json_string(s));
    }
    *out = copy;
    return 0;
}

static int image_component(const char *p, size_t n)
{
    /* [a-z0-9]+ separated by '.', '_', '__' or '-'+ */
    if (n == 0 || !isalnum((unsigned char)p[0]) || !isalnum((unsigned char)p[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (isupper(c) || !(isalnum(c) || c == '.' || c == '_' || c == '-'))
            return 0;
        if (c == '.' && p[i + 1] == '.')
            return 0;
    }
    return 1;
}

/* Returns non-zero when ref is a valid image reference:
 * [host[:port]/]path[:tag][@algo:hex], lowercase path components. */
int task_image_valid(const char *ref)
{
    size_t len = strlen(ref);
    if (len == 0 || len > 512)
        return 0;
    char buf[513];
    memcpy(buf, ref, len + 1);
    char *at = strchr(buf, '@');
    if (at) {
        *at = '\0';
        char *colon = strchr(at + 1, ':');
        if (!colon || colon == at + 1 || strlen(colon + 1) < 32)
            return 0;
        for (char *p = colon + 1; *p; p++)
            if (!isxdigit((unsigned char)*p))
                return 0;
    }
    char *slash = strrchr(buf, '/');
    char *colon = strrchr(buf, ':');
    if (colon && (!slash || colon > slash)) {
        *colon = '\0';
        const char *tag = colon + 1;
        size_t tn = strlen(tag);
        if (tn == 0 || tn > 128 || !(isalnum((unsigned char)tag[0]) || tag[0] == '_'))
            return 0;
        for (const char *p = tag; *p; p++)
            if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-'))
                return 0;
    }
    if (!buf[0])
        return 0;
    char *p = buf;
    char *first_slash = strchr(buf, '/');
    if (first_slash) {
        /* A first component with '.' or ':' or "localhost" is a registry. */
        size_t n = (size_t)(first_slash - buf);
        int registry = memchr(buf, '.', n) || memchr(buf, ':', n) ||
                       (n == 9 && strncmp(buf, "localhost", 9) == 0);
        if (registry) {
            for (size_t i = 0; i < n; i++)
                if (!(isalnum((unsigned char)buf[i]) || buf[i] == '.' ||
                      buf[i] == '-' || buf[i] == ':'))
                    return 0;
            p = first_slash + 1;
        }
    }
    while (*p) {
        char *s = strchr(p, '/');
        size_t n = s ? (size_t)(s - p) : strlen(p);
        if (!image_component(p, n))
            return 0;
        p += n;
        if (*p == '/') {
            p++;
            if (!*p)
                return 0;
        }
    }
    return 1;
}

static int get_command(json_t *body, json_t **out, struct task_error *err)
{
    json_t *v = json_object_get(body, "command");
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        if (json_string_length(v) == 0)
            return fail(err, "command", "command must not be empty");
        *out = json_incref(v);
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return fail(err, "command", "command must be a non-empty array of strings, or a string");
    size_t i;
    json_t *a;
    json_array_foreach(v, i, a) {
        if (!json_is_string(a))
            return fail(err, "command", "command[%zu] must be a string", i);
    }
    if (json_string_length(json_array_get(v, 0)) == 0)
        return fail(err, "command", "command[0] must name a program");
    *out = json_deep_copy(v);
    return 0;
}

static const char *const known_fields[] = {
    "docker_image", "command", "env", "cpu_required", "memory_required",
    "gpu_required", "gpu_model", "storage_required", "priority", "user_id",
    "tag", "labels", "max_attempts", "timeout", "pinned_worker", NULL,
};

static int check_fields(json_t *body, struct task_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        int ok = 0;
        for (int i = 0; known_fields[i]; i++)
            ok |= strcmp(k, known_fields[i]) == 0;
        if (!ok)
            return fail(err, k, strcmp(k, "task_id") == 0 || strcmp(k, "status") == 0
                                    ? "%s is set by the server"
                                    : "unknown field %s", k);
    }
    return 0;
}

static int get_timeout(json_t *body, double *out, struct task_error *err)
{
    json_t *v = json_object_get(body, "timeout");
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    char e[64];
    if (json_is_string(v) && parse_duration(json_string_value(v), out, e, sizeof(e)) == 0)
        return *out > 0 ? 0 : fail(err, "timeout", "timeout must be positive");
    return get_number(body, "timeout", 0, 365 * 86400.0, 0, out, err);
}

static int get_pinned_worker(json_t *body, char **out, struct task_error *err)
{
    if (get_string(body, "pinned_worker", 64, out, err) < 0)
        return -1;
    if (*out && !worker_id_valid(*out))
        return fail(err, "pinned_worker", "pinned_worker must be a worker id: 1 to 64 letters, "
                    "digits, '.', '_' or '-', not starting with '.' or '-'");
    return 0;
}

static int fill_resources(struct task *t, json_t *body, struct task_error *err)
{
    double mem, storage;
    if (get_number(body, "cpu_required", 0, MAX_CPU, DEFAULT_CPU, &t->cpu, err) ||
        get_number(body, "memory_required", 0, MAX_MEMORY_MIB, DEFAULT_MEMORY_MIB, &mem, err) ||
        get_number(body, "storage_required", -1, MAX_MEMORY_MIB, 0, &storage, err))
        return -1;
    if (storage < 0)
        return fail(err, "storage_required", "storage_required must not be negative");
    json_t *g = json_object_get(body, "gpu_required");
    t->gpu = 0;
    if (g && !json_is_null(g)) {
        if (number_of(g, &t->gpu) < 0)
            return fail(err, "gpu_required", "gpu_required must be a number");
        if (t->gpu < 0 || t->gpu > MAX_GPU)
            return fail(err, "gpu_required", "gpu_required must be between 0 and %g", MAX_GPU);
        if (t->gpu > 1 && t->gpu != floor(t->gpu))
            return fail(err, "gpu_required",
                        "gpu_required above 1 must be a whole number (fractions only below 1)");
    }
    t->memory_mib = (int64_t)ceil(mem);
    t->storage_mib = (int64_t)ceil(storage);
    t->req.cpu = (int64_t)ceil(t->cpu * 1000);
    t->req.mem = t->memory_mib;
    t->req.disk = t->storage_mib;
    if (t->gpu >= 1) {
        t->req.gpus = (int)t->gpu;
    } else if (t->gpu > 0) {
        t->req.gpu_milli = (int)ceil(t->gpu * 1000);
        if (t->req.gpu_milli >= 1000)
            t->req.gpu_milli = 999;
    }
    t->req.models = SCHED_ANY_MODEL;
    return 0;
}

static struct task *task_alloc(void)
{
    struct task *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->heap_pos = (size_t)-1;
    return t;
}

/* Builds a queued task from a submitted body, checking every field.
 * Returns the task, or NULL with the offending field and why in err. */
struct task *task_from_json(json_t *body, const struct task_defaults *def,
                            struct task_error *err)
{
    if (!json_is_object(body)) {
        fail(err, "", "the body must be a JSON object");
        return NULL;
    }
    struct task *t = task_alloc();
    if (!t) {
        fail(err, "", "out of memory");
        return NULL;
    }
    if (check_fields(body, err) || get_string(body, "docker_image", 512, &t->docker_image, err) ||
        get_command(body, &t->command, err) ||
        get_string_map(body, "env", 1, &t->env, err) ||
        get_string_map(body, "labels", 0, &t->labels, err) ||
        get_string(body, "gpu_model", 256, &t->gpu_model, err) ||
        get_string(body, "user_id", 256, &t->user_id, err) ||
        get_string(body, "tag", 256, &t->tag, err) ||
        get_pinned_worker(body, &t->pinned_worker, err) || fill_resources(t, body, err) ||
        get_int(body, "priority", 0, 10, 5, &t->priority, err) ||
        get_int(body, "max_attempts", 1, 100, def->max_attempts, &t->max_attempts, err) ||
        get_timeout(body, &t->timeout, err))
        goto bad;
    if (t->docker_image && !task_image_valid(t->docker_image)) {
        fail(err, "docker_image", "'%.200s' is not a valid image reference", t->docker_image);
        goto bad;
    }
    if (!t->docker_image && !t->command) {
        fail(err, "command", "a task needs a command, a docker_image, or both");
        goto bad;
    }
    t->req.executor = t->docker_image ? SCHED_EXEC_DOCKER : SCHED_EXEC_PROCESS;
    t->req.labels = t->labels;
    t->status = TS_QUEUED;
    return t;
bad:
    task_free(t);
    return NULL;
}

/* Frees t and everything it owns. */
void task_free(struct task *t)
{
    if (!t)
        return;
    free(t->docker_image);
    json_decref(t->command);
    json_decref(t->env);
    json_decref(t->labels);
    free(t->gpu_model);
    free(t->user_id);
    free(t->tag);
    free(t->pinned_worker);
    free(t->reason);
    free(t->pending_reason);
    buf_free(&t->logs);
    free(t);
}

/* Replaces the task's reason (NULL clears it). */
void task_set_reason(struct task *t, const char *reason)
{
    free(t->reason);
    t->reason = reason ? strdup(reason) : NULL;
}

/* Writes a new task id: "t-" + milliseconds and a counter in hex, so ids
 * sort by submission time. */
void task_make_id(char *out, size_t outlen, double now, uint32_t counter)
{
    snprintf(out, outlen, "t-%011llx%05x", (unsigned long long)time_ms(now),
             counter & 0xfffff);
}

/* Names what a task runs, for runtime estimates: the image, else argv[0]
 * (or the shell string). Returns out. */
const char *task_runtime_key(const struct task *t, char *out, size_t outlen)
{
    if (t->docker_image)
        snprintf(out, outlen, "image:%s", t->docker_image);
    else if (json_is_string(t->command))
        snprintf(out, outlen, "sh:%.200s", json_string_value(t->command));
    else
        snprintf(out, outlen, "cmd:%s", json_string_value(json_array_get(t->command, 0)));
    return out;
}
