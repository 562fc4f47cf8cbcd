#include "msg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/worker.h"

static const char *const type_names[] = {
    [MSG_UNKNOWN] = "?", [MSG_HELLO] = "hello", [MSG_WELCOME] = "welcome",
    [MSG_HEARTBEAT] = "heartbeat", [MSG_HEARTBEAT_ACK] = "heartbeat_ack",
    [MSG_ASSIGN] = "assign", [MSG_CANCEL] = "cancel",
    [MSG_TASK_STARTED] = "task_started", [MSG_LOG] = "log",
    [MSG_TASK_FINISHED] = "task_finished", [MSG_RESULT_ACK] = "result_ack",
    [MSG_PING] = "ping", [MSG_PONG] = "pong", [MSG_BYE] = "bye",
    [MSG_ERROR] = "error",
};

static int bad(struct msg_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct msg_error *err, const char *code, const char *fmt, ...)
{
    snprintf(err->code, sizeof(err->code), "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* Returns the frame's type, MSG_UNKNOWN when absent or not one of ours. */
enum msg_type msg_type_of(json_t *frame)
{
    const char *t = json_string_value(json_object_get(frame, "type"));
    if (!t)
        return MSG_UNKNOWN;
    for (int i = 1; i <= MSG_ERROR; i++)
        if (strcmp(t, type_names[i]) == 0)
            return (enum msg_type)i;
    return MSG_UNKNOWN;
}

/* Returns the name a type has on the wire. */
const char *msg_type_name(enum msg_type t)
{
    return type_names[t];
}

/* Decodes one frame (without its newline). Returns a JSON object the
 * caller owns, or NULL with BAD_FRAME in err. */
json_t *msg_parse(const char *p, size_t n, struct msg_error *err)
{
    json_error_t je;
    json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!j) {
        bad(err, "BAD_FRAME", "not JSON: %s (column %d)", je.text, je.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        bad(err, "BAD_FRAME", "a frame must be a JSON object");
        return NULL;
    }
    if (!json_is_string(json_object_get(j, "type"))) {
        json_decref(j);
        bad(err, "BAD_FRAME", "a frame needs a string \"type\"");
        return NULL;
    }
    return j;
}

/* A finite number field: 0 when present (stored in *out), 1 when absent,
 * -1 when it is something else. */
static int num(json_t *obj, const char *k, double *out)
{
    json_t *v = json_object_get(obj, k);
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return -1;
    *out = json_number_value(v);
    return 0;
}

static int need_num(json_t *obj, const char *k, double lo, double hi, double *out,
                    struct msg_error *err)
{
    int rc = num(obj, k, out);
    if (rc != 0 || *out < lo || *out > hi)
        return bad(err, "BAD_MESSAGE", "%s must be a number from %g to %g", k, lo, hi);
    return 0;
}

static int decode_gpu_info(json_t *g, struct gpu_info *gi, int i, struct msg_error *err)
{
    double idx, mem = 0;
    const char *uuid = json_string_value(json_object_get(g, "uuid"));
    const char *model = json_string_value(json_object_get(g, "model"));
    const char *dev = json_string_value(json_object_get(g, "device"));
    if (!json_is_object(g) || need_num(g, "index", 0, 255, &idx, err) < 0)
        return bad(err, "BAD_MESSAGE", "capacity.gpus[%d] needs an index", i);
    if (!uuid || !*uuid || strlen(uuid) >= sizeof(gi->uuid))
        return bad(err, "BAD_MESSAGE", "capacity.gpus[%d].uuid is missing or too long", i);
    if (num(g, "memory_mib", &mem) < 0 || mem < 0)
        return bad(err, "BAD_MESSAGE", "capacity.gpus[%d].memory_mib must be a number", i);
    memset(gi, 0, sizeof(*gi));
    gi->index = (int)idx;
    snprintf(gi->uuid, sizeof(gi->uuid), "%s", uuid);
    snprintf(gi->model, sizeof(gi->model), "%s", model ? model : "unknown");
    if (dev)
        snprintf(gi->device, sizeof(gi->device), "%.15s", dev);
    else
        snprintf(gi->device, sizeof(gi->device), "nvidia%d", gi->index);
    gi->memory_mib = (int64_t)mem;
    return 0;
}

static int decode_capacity(json_t *cap, struct hello *h, struct msg_error *err)
{
    if (!json_is_object(cap))
        return bad(err, "BAD_MESSAGE", "hello needs a capacity object");
    double mem, disk = 0;
    if (need_num(cap, "cpu", 0, 1e6, &h->cpu, err) < 0 ||
        need_num(cap, "memory_mib", 0, 1e12, &mem, err) < 0)
        return -1;
    if (num(cap, "storage_mib", &disk) < 0 || disk < 0)
        return bad(err, "BAD_MESSAGE", "capacity.storage_mib must be a number");
    h->memory_mib = (int64_t)mem;
    h->storage_mib = (int64_t)disk;
    json_t *gpus = json_object_get(cap, "gpus");
    if (gpus && !json_is_array(gpus))
        return bad(err, "BAD_MESSAGE", "capacity.gpus must be an array");
    if (json_array_size(gpus) > HB_MAX_GPUS)
        return bad(err, "BAD_MESSAGE", "at most %d GPUs per worker", HB_MAX_GPUS);
    size_t i;
    json_t *g;
    h->ngpus = 0;
    json_array_foreach(gpus, i, g) {
        if (decode_gpu_info(g, &h->gpus[i], (int)i, err) < 0)
            return -1;
        h->ngpus++;
    }
    return 0;
}

static int decode_executors(json_t *ex, struct hello *h, struct msg_error *err)
{
    h->executors = 0;
    if (!ex) {
        h->executors = SCHED_EXEC_PROCESS;
        return 0;
    }
    if (!json_is_array(ex))
        return bad(err, "BAD_MESSAGE", "executors must be an array of names");
    size_t i;
    json_t *e;
    json_array_foreach(ex, i, e) {
        const char *s = json_string_value(e);
        if (s && strcmp(s, "process") == 0)
            h->executors |= SCHED_EXEC_PROCESS;
        else if (s && strcmp(s, "docker") == 0)
            h->executors |= SCHED_EXEC_DOCKER;
        else
            return bad(err, "BAD_MESSAGE", "unknown executor (process, docker)");
    }
    return 0;
}

static int decode_labels(json_t *labels, struct msg_error *err)
{
    if (!labels)
        return 0;
    if (!json_is_object(labels))
        return bad(err, "BAD_MESSAGE", "labels must be an object of strings");
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v) {
        if (!json_is_string(v))
            return bad(err, "BAD_MESSAGE", "labels.%.40s must be a string", k);
    }
    return 0;
}

/* Decodes a hello into h; *token points at the join token ("" if none).
 * Returns 0, or -1 with an error code and reason. */
int msg_decode_hello(json_t *j, struct hello *h, const char **token,
                     struct msg_error *err)
{
    memset(h, 0, sizeof(*h));
    double version;
    if (num(j, "version", &version) != 0)
        return bad(err, "BAD_MESSAGE", "hello needs a numeric version");
    if (version != PROTO_VERSION)
        return bad(err, "UNSUPPORTED_VERSION", "protocol version %g is not supported (this master speaks %d)",
                   version, PROTO_VERSION);
    h->version = (int)version;
    h->worker_id = json_string_value(json_object_get(j, "worker_id"));
    if (!h->worker_id || !worker_id_valid(h->worker_id))
        return bad(err, "BAD_MESSAGE", "worker_id must be 1-64 letters, digits, '.', '_' or '-'");
    const char *tok = json_string_value(json_object_get(j, "token"));
    *token = tok ? tok : "";
    h->hostname = json_string_value(json_object_get(j, "hostname"));
    if (decode_capacity(json_object_get(j, "capacity"), h, err) < 0 ||
        decode_executors(json_object_get(j, "executors"), h, err) < 0)
        return -1;
    h->labels = json_object_get(j, "labels");
    if (json_is_null(h->labels))
        h->labels = NULL;
    if (decode_labels(h->labels, err) < 0)
        return -1;
    h->running = json_object_get(j, "tasks");
    if (json_is_null(h->running))
        h->running = NULL;
    if (h->running && !json_is_array(h->running))
        return bad(err, "BAD_MESSAGE", "tasks must be an array");
    return 0;
}

static int decode_gpu_sample(json_t *g, struct hb_gpu *out, int i, struct msg_error *err)
{
    double v;
    memset(out, 0, sizeof(*out));
    if (!json_is_object(g))
        return bad(err, "BAD_MESSAGE", "gpus[%d] must be an object", i);
    out->uuid = json_string_value(json_object_get(g, "uuid"));
    out->index = -1;
    if (num(g, "index", &v) == 0)
        out->index = (int)msg_int(v, 0, 255, -1);
    if (!out->uuid && out->index < 0)
        return bad(err, "BAD_MESSAGE", "gpus[%d] needs an index or a uuid", i);
    for (int m = 0; m < GM_COUNT; m++) {
        int rc = num(g, gpu_metric_names[m].proto, &v);
        if (rc < 0)
            return bad(err, "BAD_MESSAGE", "gpus[%d].%s must be a number", i,
                       gpu_metric_names[m].proto);
        if (rc == 0)
            gpu_sample_set(&out->sample, m, v);
    }
    if (num(g, "timestamp", &v) == 0 && v > 0)
        out->sample.ts = v;
    return 0;
}

static int decode_usage(json_t *j, const char *k, double *out, struct msg_error *err)
{
    int rc = num(j, k, out);
    if (rc < 0 || (rc == 0 && (*out < 0 || *out > 100000)))
        return bad(err, "BAD_MESSAGE", "%s must be a percentage", k);
    return rc == 0;
}

/* Decodes a heartbeat into hb; *want_ack says whether the agent asked for a
 * heartbeat_ack. Returns 0, or -1 with the reason. */
int msg_decode_heartbeat(json_t *j, struct heartbeat *hb, int *want_ack,
                         struct msg_error *err)
{
    double v;
    int rc;
    hb->ngpus = hb->ntasks = 0;
    hb->seq = num(j, "seq", &v) == 0 ? (uint64_t)msg_int(v, 0, MSG_SEQ_MAX, 0) : 0;
    hb->timestamp = num(j, "timestamp", &v) == 0 ? v : 0;
    if ((rc = decode_usage(j, "cpu_usage", &hb->cpu_usage, err)) < 0)
        return -1;
    hb->has_cpu = (unsigned)rc;
    if ((rc = decode_usage(j, "memory_usage", &hb->memory_usage, err)) < 0)
        return -1;
    hb->has_memory = (unsigned)rc;
    if ((rc = decode_usage(j, "storage_usage", &hb->storage_usage, err)) < 0)
        return -1;
    hb->has_storage = (unsigned)rc;
    if ((rc = decode_usage(j, "gpu_usage", &hb->gpu_usage, err)) < 0)
        return -1;
    hb->has_gpu = (unsigned)rc;
    json_t *gpus = json_object_get(j, "gpus");
    if (json_is_null(gpus))
        gpus = NULL;
    if (gpus && (!json_is_array(gpus) || json_array_size(gpus) > HB_MAX_GPUS))
        return bad(err, "BAD_MESSAGE", "gpus must be an array of at most %d", HB_MAX_GPUS);
    size_t i;
    json_t *g;
    json_array_foreach(gpus, i, g) {
        if (decode_gpu_sample(g, &hb->gpus[i], (int)i, err) < 0)
            return -1;
        hb->ngpus++;
    }
    json_t *tasks = json_object_get(j, "tasks");
    json_array_foreach(tasks, i, g) {
        if (hb->ntasks == HB_MAX_TASKS)
            break;
        struct hb_task *t = &hb->tasks[hb->ntasks];
        t->task_id = json_string_value(json_object_get(g, "task_id"));
        t->cpu_usage = num(g, "cpu_usage", &v) == 0 ? v : 0;
        t->memory_mib = num(g, "memory_mib", &v) == 0 ? msg_int(v, 0, 1e15, 0) : 0;
        t->attempt = num(g, "attempt", &v) == 0 ? (int)msg_int(v, 0, 1e6, -1) : -1;
        if (t->task_id)
            hb->ntasks++;
    }
    *want_ack = json_is_true(json_object_get(j, "ack"));
    return 0;
}

/* Returns the frame's task_id, or NULL with the reason. */
const char *msg_task_id(json_t *j, struct msg_error *err)
{
    const char *id = json_string_value(json_object_get(j, "task_id"));
    if (!id || !*id || strlen(id) >= TASK_ID_MAX) {
        bad(err, "BAD_MESSAGE", "%s needs a task_id", json_string_value(json_object_get(j, "type")));
        return NULL;
    }
    return id;
}

/* Returns the assignment a task frame speaks for ("attempt"), or -1 when
 * the frame does not say. */
int msg_attempt(json_t *j)
{
    json_t *a = json_object_get(j, "attempt");
    if (!json_is_integer(a) || json_integer_value(a) < 0 || json_integer_value(a) > 1000000)
        return -1;
    return (int)json_integer_value(a);
}

/* Decodes task_finished. Returns 0 or -1 with the reason. */
int msg_decode_finished(json_t *j, const char **task_id, enum task_status *st,
                        int *has_exit, int *exit_code, const char **reason,
                        struct msg_error *err)
{
    if (!(*task_id = msg_task_id(j, err)))
        return -1;
    const char *s = json_string_value(json_object_get(j, "status"));
    if (!s || task_status_parse(s, st) < 0 || !task_status_terminal(*st))
        return bad(err, "BAD_MESSAGE", "status must be completed, failed or cancelled");
    json_t *ec = json_object_get(j, "exit_code");
    *has_exit = json_is_integer(ec);
    *exit_code = *has_exit ? (int)json_integer_value(ec) : 0;
    *reason = json_string_value(json_object_get(j, "reason"));
    return 0;
}

/* Decodes a log frame. Returns 0 or -1 with the reason. */
int msg_decode_log(json_t *j, const char **task_id, const char **stream,
                   const char **data, size_t *len, struct msg_error *err)
{
    if (!(*task_id = msg_task_id(j, err)))
        return -1;
    *stream = json_string_value(json_object_get(j, "stream"));
    if (!*stream || (strcmp(*stream, "stdout") != 0 && strcmp(*stream, "stderr") != 0))
        return bad(err, "BAD_MESSAGE", "stream must be stdout or stderr");
    json_t *d = json_object_get(j, "data");
    if (!json_is_string(d))
        return bad(err, "BAD_MESSAGE", "log needs string data");
    *data = json_string_value(d);
    *len = json_string_length(d);
    return 0;
}

static int append_cb(const char *p, size_t n, void *ud)
{
    return buf_append(ud, p, n);
}

/* Appends j as one frame (compact JSON and a newline) to out; takes j.
 * Returns 0 or -1. */
int msg_frame(struct buf *out, json_t *j)
{
    if (!j)
        return -1;
    int rc = json_dump_callback(j, append_cb, out, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(j);
    return rc < 0 ? -1 : buf_append(out, "\n", 1);
}

/* Appends an error frame. Returns 0 or -1. */
int msg_error_frame(struct buf *out, const char *code, const char *message)
{
    return msg_frame(out, json_pack("{s:s,s:s,s:s}", "type", "error", "code", code,
                                    "message", message));
}
