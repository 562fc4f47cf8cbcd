#include <math.h>
#include <string.h>

#include "task.h"
#include "timefmt.h"

static json_t *time_or_null(double t)
{
    char s[40];
    if (t <= 0 || time_format(t, s, sizeof(s)) < 0)
        return json_null();
    return json_string(s);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *placement_json(const struct task *t)
{
    if (!t->worker_id[0])
        return json_null();
    json_t *gpus = json_array();
    for (int i = 0; i < t->placement.ngpu; i++)
        json_array_append_new(gpus, json_integer(t->placement.gpu[i]));
    json_t *a = json_pack("{s:s,s:o,s:o}", "worker_id", t->worker_id, "gpus", gpus,
                          "assigned_at", time_or_null(t->assigned_at));
    if (t->placement.ngpu && t->placement.milli < 1000)
        json_object_set_new(a, "gpu_share", json_real(t->placement.milli / 1000.0));
    return a;
}

static json_t *result_json(const struct task *t)
{
    if (!task_status_terminal(t->status))
        return json_null();
    return json_pack("{s:s,s:o,s:o,s:o}", "status", task_status_name(t->status),
                     "exit_code", t->has_exit_code ? json_integer(t->exit_code) : json_null(),
                     "reason", str_or_null(t->reason),
                     "finished_at", time_or_null(t->finished_at));
}

static json_t *number(double v)
{
    return v == floor(v) && fabs(v) < 1e15 ? json_integer((json_int_t)v) : json_real(v);
}

/* Returns the task as the API shows it (and Redis stores it): every field
 * of SPEC section 3, with assignment and result. */
json_t *task_to_json(const struct task *t)
{
    const char *reason = t->reason;
    if (!reason && t->status == TS_QUEUED)
        reason = t->pending_reason;
    json_t *j = json_object();
    json_object_set_new(j, "task_id", json_string(t->id));
    json_object_set_new(j, "docker_image", str_or_null(t->docker_image));
    json_object_set_new(j, "command", t->command ? json_incref(t->command) : json_null());
    json_object_set_new(j, "env", t->env ? json_incref(t->env) : json_object());
    json_object_set_new(j, "cpu_required", number(t->cpu));
    json_object_set_new(j, "memory_required", json_integer(t->memory_mib));
    json_object_set_new(j, "gpu_required", number(t->gpu));
    json_object_set_new(j, "gpu_model", str_or_null(t->gpu_model));
    json_object_set_new(j, "storage_required", json_integer(t->storage_mib));
    json_object_set_new(j, "priority", json_integer(t->priority));
    json_object_set_new(j, "user_id", str_or_null(t->user_id));
    json_object_set_new(j, "tag", str_or_null(t->tag));
    json_object_set_new(j, "labels", t->labels ? json_incref(t->labels) : json_object());
    json_object_set_new(j, "pinned_worker", str_or_null(t->pinned_worker));
    json_object_set_new(j, "max_attempts", json_integer(t->max_attempts));
    json_object_set_new(j, "timeout", t->timeout > 0 ? number(t->timeout) : json_null());
    json_object_set_new(j, "status", json_string(task_status_name(t->status)));
    json_object_set_new(j, "worker_id", t->worker_id[0] ? json_string(t->worker_id) : json_null());
    json_object_set_new(j, "attempts", json_integer(t->attempts));
    json_object_set_new(j, "exit_code", t->has_exit_code ? json_integer(t->exit_code) : json_null());
    json_object_set_new(j, "reason", str_or_null(reason));
    json_object_set_new(j, "created_at", time_or_null(t->created_at));
    json_object_set_new(j, "assigned_at", time_or_null(t->assigned_at));
    json_object_set_new(j, "started_at", time_or_null(t->started_at));
    json_object_set_new(j, "finished_at", time_or_null(t->finished_at));
    json_object_set_new(j, "log_dropped_bytes", json_integer((json_int_t)t->log_limit.cut));
    json_object_set_new(j, "assignment", placement_json(t));
    json_object_set_new(j, "result", result_json(t));
    return j;
}

static double time_field(json_t *rec, const char *k)
{
    double t;
    json_t *v = json_object_get(rec, k);
    if (json_is_number(v))
        return json_number_value(v);
    if (json_is_string(v) && time_parse(json_string_value(v), &t) == 0)
        return t;
    return 0;
}

static void restore_placement(struct task *t, json_t *rec)
{
    json_t *a = json_object_get(rec, "assignment");
    json_t *gpus = json_object_get(a, "gpus");
    size_t i;
    json_t *g;
    t->placement.milli = 1000;
    json_array_foreach(gpus, i, g) {
        if (i < SCHED_MAX_GPUS && json_is_integer(g))
            t->placement.gpu[t->placement.ngpu++] = (uint8_t)json_integer_value(g);
    }
    json_t *share = json_object_get(a, "gpu_share");
    if (json_is_number(share))
        t->placement.milli = (int)lround(json_number_value(share) * 1000);
}

/* Rebuilds a task from its stored record (task_to_json's output). The
 * submitted fields are validated again. Returns NULL with err on a record
 * that is not a task. */
struct task *task_restore(json_t *rec, struct task_error *err)
{
    static const char *const submitted[] = {
        "docker_image", "command", "env", "cpu_required", "memory_required",
        "gpu_required", "gpu_model", "storage_required", "priority", "user_id",
        "tag", "labels", "max_attempts", "timeout", "pinned_worker", NULL};
    json_t *body = json_object();
    for (int i = 0; submitted[i]; i++) {
        json_t *v = json_object_get(rec, submitted[i]);
        if (v && !json_is_null(v))
            json_object_set(body, submitted[i], v);
    }
    struct task_defaults def = {3};
    struct task *t = task_from_json(body, &def, err);
    json_decref(body);
    if (!t)
        return NULL;
    const char *id = json_string_value(json_object_get(rec, "task_id"));
    const char *st = json_string_value(json_object_get(rec, "status"));
    if (!id || strlen(id) >= sizeof(t->id) || !st || task_status_parse(st, &t->status) < 0) {
        snprintf(err->field, sizeof(err->field), "task_id");
        snprintf(err->message, sizeof(err->message), "record without a task id or status");
        task_free(t);
        return NULL;
    }
    strcpy(t->id, id);
    const char *w = json_string_value(json_object_get(rec, "worker_id"));
    if (w)
        snprintf(t->worker_id, sizeof(t->worker_id), "%s", w);
    t->attempts = (int)json_integer_value(json_object_get(rec, "attempts"));
    json_t *ec = json_object_get(rec, "exit_code");
    if (json_is_integer(ec)) {
        t->has_exit_code = 1;
        t->exit_code = (int)json_integer_value(ec);
    }
    const char *reason = json_string_value(json_object_get(rec, "reason"));
    if (reason && task_status_terminal(t->status))
        task_set_reason(t, reason);
    t->created_at = time_field(rec, "created_at");
    t->assigned_at = time_field(rec, "assigned_at");
    t->started_at = time_field(rec, "started_at");
    t->finished_at = time_field(rec, "finished_at");
    restore_placement(t, rec);
    return t;
}
