/* The writes of mutations, done once each by the driver: submitTask and
 * cancelTask answer when Redis holds the change (docs/redis.md), as POST
 * and DELETE /api/tasks do; drainWorker answers at once, as the REST drain
 * does. Their answers are the REST routes' bodies. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "api_graphql.h"
#include "core/parse.h"

/* Why a change cannot be promised now, or NULL when it can (as REST
 * says it). */
static const char *store_refusal(void)
{
    const char *code;
    return api_store_refusal(&code);
}

static int fail(struct api_gql *q, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fails fetch i of q with a message. Returns 0. */
static int fail(struct api_gql *q, size_t i, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return api_gql_supply_now(q, i, NULL, msg);
}

/* Answers fetch i through fn once the writes queued after `before` are in
 * Redis. Returns 1, or 0 after failing it. */
static int when_stored(struct api_gql *q, size_t i, uint64_t before, store_done_fn fn,
                       const char *task_id)
{
    const char *why;
    if (api_when_stored(before, fn, q->id, i, task_id, &why) < 0)
        return fail(q, i, "Task %s: %s.", task_id, why);
    return 1;
}

static void submitted(int ok, uint64_t id, uint64_t i, const char *task_id)
{
    char msg[300];
    if (ok) {
        api_gql_answered(id, (size_t)i, json_pack("{s:s,s:s}", "task_id", task_id, "status",
                                                  "queued"), NULL);
        return;
    }
    snprintf(msg, sizeof(msg), "Redis did not confirm the record of task %s; it is kept in "
             "memory and written when redis returns, so it may still run: look it up before "
             "submitting it again.", task_id);
    api_gql_answered(id, (size_t)i, NULL, msg);
}

static int submit(struct api_gql *q, size_t i, json_t *input)
{
    struct task_defaults def = {api_env->max_attempts};
    struct task_error err;
    const char *refusal;
    if ((long)api_env->cl->by_status[TS_QUEUED] >= api_env->max_queued)
        return api_gql_supply_now(q, i, NULL, "Too many tasks are queued already "
                                  "(tasks.max_queued).");
    json_t *body = api_gql_task_body(input);
    if (!body)
        return api_gql_supply_now(q, i, NULL, "out of memory");
    struct task *t = task_from_json(body, &def, &err);
    json_decref(body);
    if (!t)
        return fail(q, i, "input.%s: %s", api_gql_task_field(err.field), err.message);
    uint64_t before = store_seq();
    if ((refusal = store_refusal()) || cluster_submit(api_env->cl, t, api_now()) < 0) {
        task_free(t);
        return api_gql_supply_now(q, i, NULL, refusal ? refusal : "out of memory");
    }
    api_env->kick_scheduler();
    return when_stored(q, i, before, submitted, t->id);
}

static void cancelled(int ok, uint64_t id, uint64_t i, const char *task_id)
{
    const struct task *t = cluster_task(api_env->cl, task_id);
    char msg[200];
    if (ok) {
        api_gql_answered(id, (size_t)i, json_pack("{s:s,s:s,s:b}", "task_id", task_id, "status",
                                                  t ? task_status_name(t->status) : "cancelled",
                                                  "cancel_requested",
                                                  t ? t->cancel_requested : 0), NULL);
        return;
    }
    snprintf(msg, sizeof(msg), "Redis did not confirm the cancel of %s; it goes on in memory.",
             task_id);
    api_gql_answered(id, (size_t)i, NULL, msg);
}

static int cancel(struct api_gql *q, size_t i, const char *id, const char *grace_text)
{
    char why[64];
    const char *refusal;
    double grace = api_env->cancel_grace;
    struct task *t = id ? cluster_task(api_env->cl, id) : NULL;
    if (grace_text && parse_duration(grace_text, &grace, why, sizeof(why)) < 0)
        return api_gql_supply_now(q, i, NULL, "grace must be a duration like 500ms, 5s or 2m.");
    if (!t)
        return fail(q, i, "No task %s.", id ? id : "");
    if (task_status_terminal(t->status))
        return fail(q, i, "Task %s is %s already.", t->id, task_status_name(t->status));
    if ((refusal = store_refusal()))
        return api_gql_supply_now(q, i, NULL, refusal);
    uint64_t before = store_seq();
    cluster_cancel(api_env->cl, t, grace, api_now());
    return when_stored(q, i, before, cancelled, t->id);
}

static int drain(struct api_gql *q, size_t i, const char *id, json_t *drain_arg)
{
    struct worker *w = id ? cluster_worker(api_env->cl, id) : NULL;
    if (!w)
        return fail(q, i, "No worker %s.", id ? id : "");
    cluster_drain(api_env->cl, w, !json_is_false(drain_arg), api_now());
    return api_gql_supply_now(q, i, json_pack("{s:s,s:s,s:b,s:i}", "worker_id", w->id, "state",
                                              worker_state_name(w), "draining", w->draining,
                                              "running_tasks_count", w->ntasks), NULL);
}

/* Performs mutation fetch i of q (args: the field's name and arguments).
 * Returns 1 when the answer comes later, 0 when it was supplied. */
int api_gql_mutate(struct api_gql *q, size_t i, json_t *args)
{
    const char *field = json_string_value(json_object_get(args, "field"));
    const char *id = json_string_value(json_object_get(args, "id"));
    if (!q->admin || !field)
        return api_gql_supply_now(q, i, NULL, "Mutations need an admin token.");
    if (strcmp(field, "submitTask") == 0)
        return submit(q, i, json_object_get(args, "input"));
    if (strcmp(field, "cancelTask") == 0)
        return cancel(q, i, id, json_string_value(json_object_get(args, "grace")));
    return drain(q, i, id, json_object_get(args, "drain"));
}
