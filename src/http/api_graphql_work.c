/* The links of workers and tasks: a worker's GPUs, running tasks and
 * heartbeat history; a task's worker and output; and the object a
 * mutation's answer or a running task names. */
#include <string.h>

#include "api.h"
#include "api_graphql.h"
#include "views.h"

static const char *parent_str(struct gql_call *c, const char *member)
{
    return json_string_value(json_object_get(gql_call_parent_json(c), member));
}

static const struct worker *parent_worker(struct gql_call *c)
{
    const char *id = parent_str(c, "worker_id");
    return id ? cluster_worker(api_env->cl, id) : NULL;
}

/* Worker.gpus and Worker.runningTasks, from memory. */
static enum gql_status worker_list(struct gql_call *c)
{
    const struct worker *w = parent_worker(c);
    if (!w)
        return gql_return_json(c, json_array());
    if (strcmp(gql_call_field(c), "runningTasks") == 0)
        return gql_return_json(c, view_running_tasks(w));
    const struct worker_gpu *v[HB_MAX_GPUS];
    int n = 0;
    for (int i = 0; i < w->ngpus && n < HB_MAX_GPUS; i++)
        v[n++] = &w->gpus[i];
    return api_gql_gpu_list(c, v, (size_t)n);
}

/* Worker.metrics(startTime, endTime, limit, order) */
static enum gql_status worker_metrics(struct gql_call *c)
{
    struct api_gql_window w;
    if (api_gql_window(c, API_GQL_MAX_SERIES, &w) != GQL_OK)
        return GQL_ERROR;
    return api_gql_fetch_range(c, API_GQL_WORKER_SAMPLES, parent_str(c, "worker_id"),
                               api_gql_window_args(&w));
}

/* Adds Worker's links. */
void api_gql_links_worker(struct gql_type *t)
{
    gql_type_field(t, "gpus", "[GPU!]!", worker_list, "Its GPUs.");
    gql_type_field(t, "runningTasks", "[RunningTask!]!", worker_list,
                   "Its assigned and running tasks with what they hold.");
    struct gql_field *f = gql_type_field(t, "metrics", "[WorkerSample!]", worker_metrics,
                                         "Its heartbeats from Redis (GET /api/workers/{id}/"
                                         "metrics). Costs `limit` points.");
    gql_field_arg(f, "startTime", "String", NULL, "RFC 3339; inclusive.");
    gql_field_arg(f, "endTime", "String", NULL, "RFC 3339; inclusive.");
    gql_field_arg(f, "limit", "Int", "100", "At most this many (1 to 100000).");
    gql_field_arg(f, "order", "Order", "ASC", NULL);
}

/* Task.logs(since, limit): its output from Redis, oldest first. */
static enum gql_status task_logs(struct gql_call *c)
{
    const char *since = json_string_value(gql_call_arg(c, "since"));
    json_t *limit = gql_call_arg(c, "limit");
    json_int_t n = json_integer_value(limit);
    char cursor[48] = "";
    if (since && api_parse_stream_id(since, cursor, sizeof(cursor)) < 0)
        return gql_fail(c, "since must be a log entry id like 1752871354000-3.");
    if (!json_is_integer(limit) || n < 1 || n > API_GQL_MAX_LOGS)
        return gql_fail(c, "limit must be a whole number from 1 to %d.", API_GQL_MAX_LOGS);
    if (gql_charge(c, (long)n) != GQL_OK)
        return GQL_ERROR;
    json_t *range = json_pack("{s:o,s:n,s:b,s:I,s:b}", "start",
                              cursor[0] ? json_string(cursor) : json_null(), "end", "after",
                              cursor[0] != 0, "limit", n, "desc", 0);
    return api_gql_fetch_range(c, API_GQL_TASK_LOGS, parent_str(c, "task_id"), range);
}

/* Task.worker, WorkerDrain.worker: the worker named by worker_id. */
static enum gql_status worker_ref(struct gql_call *c)
{
    return api_gql_worker_json(c, parent_str(c, "worker_id"));
}

/* RunningTask.task, TaskSubmission.task, TaskCancellation.task. */
static enum gql_status task_ref(struct gql_call *c)
{
    return api_gql_task_json(c, parent_str(c, "task_id"));
}

/* Adds Task's links. */
void api_gql_links_task(struct gql_type *t)
{
    struct gql_field *f = gql_type_field(t, "logs", "[LogLine!]", task_logs,
                                         "Its output from Redis, oldest first (GET /api/tasks/"
                                         "{id}/logs). Costs `limit` points.");
    gql_field_arg(f, "since", "String", NULL, "A line's id: the lines after it.");
    gql_field_arg(f, "limit", "Int", "100", "At most this many (1 to 10000).");
    gql_type_field(t, "worker", "Worker", worker_ref, "The worker it was placed on.");
}

/* Adds `task`, the task named by the object's task_id. */
void api_gql_links_task_ref(struct gql_type *t)
{
    gql_type_field(t, "task", "Task", task_ref, NULL);
}

/* Adds `worker`, the worker named by the object's worker_id. */
void api_gql_links_worker_ref(struct gql_type *t)
{
    gql_type_field(t, "worker", "Worker", worker_ref, NULL);
}
