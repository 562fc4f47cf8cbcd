/* The schema GraphQL clients see: each object type is the JSON a REST route
 * returns for it, its fields read members of that JSON under camelCase
 * names (the member tables below), and a few fields lead on to other
 * objects or to Redis (api_graphql_links.c). Built once; its SDL is what
 * GET /graphql/schema.graphql serves and docs/graphql.md shows. */
#include <ctype.h>
#include <string.h>

#include "api_graphql.h"
#include "core/log.h"

#define END {NULL, NULL, NULL, NULL}

/* A field read from the parent's JSON member named in its data. */
enum gql_status api_gql_member(struct gql_call *c)
{
    json_t *v = json_object_get(gql_call_parent_json(c), gql_call_data(c));
    return gql_return_json(c, json_incref(v));
}

static const struct api_gql_member gpu[] = {
    {"id", "Int!", "id", "The GPU's index on its host (as GET /api/v1/gpus)."},
    {"uuid", "String!", "uuid", NULL},
    {"hostname", "String!", "hostname", NULL},
    {"name", "String!", "name", "The model, such as \"NVIDIA H100 80GB HBM3\"."},
    {"device", "String!", "device", "The device name, such as \"nvidia0\"."},
    {"status", "String!", "status", "Its worker's state: active, inactive or offline."},
    {"memoryMib", "Int", "memory_mib", "Memory in MiB, as the agent said."},
    END,
};

static const struct api_gql_member sample[] = {
    {"timestamp", "String!", "timestamp", "The sample time (RFC 3339)."},
    {"gpuId", "Int!", "gpu_id", "The GPU's index on its host."},
    {"uuid", "String!", "uuid", NULL},
    {"device", "String!", "device", NULL},
    {"modelName", "String!", "model_name", NULL},
    {"hostname", "String!", "hostname", NULL},
    END,
};

static const struct api_gql_member host[] = {
    {"id", "ID!", "host_id", "The hostname."},
    {"hostname", "String!", "hostname", NULL},
    {"clusterId", "ID!", "cluster_id", NULL},
    {"workerId", "ID!", "worker_id", "Its first worker by id."},
    {"gpuCount", "Int!", "gpu_count", NULL},
    {"workerCount", "Int!", "worker_count", NULL},
    {"status", "String!", "status", "Its first worker's state: active, inactive or offline."},
    {"lastUpdate", "String", "last_update", "The last heartbeat (RFC 3339)."},
    END,
};

static const struct api_gql_member cluster[] = {
    {"id", "ID!", "cluster_id", "cluster.name, or the agents' `cluster` label."},
    {"name", "String!", "name", NULL},
    {"hostCount", "Int!", "host_count", NULL},
    {"gpuCount", "Int!", "gpu_count", NULL},
    END,
};

static const struct api_gql_member resources[] = {
    {"cpu", "Float!", "cpu", "Cores."},
    {"memory", "Int!", "memory", "MiB."},
    {"storage", "Int!", "storage", "MiB."},
    {"gpu", "Float!", "gpu", "GPUs."},
    END,
};

static const struct api_gql_member worker[] = {
    {"id", "ID!", "worker_id", NULL},
    {"hostname", "String", "hostname", NULL},
    {"address", "String", "address", "The agent's address as gantryd sees it."},
    {"state", "WorkerState!", "state", NULL},
    {"isActive", "Boolean!", "is_active", NULL},
    {"draining", "Boolean!", "draining", NULL},
    {"totalResources", "Resources!", "total_resources", NULL},
    {"allocatedResources", "Resources!", "allocated_resources", NULL},
    {"availableResources", "Resources!", "available_resources", NULL},
    {"labels", "JSON", "labels", "An object of strings."},
    {"lastHeartbeat", "String", "last_heartbeat", NULL},
    {"registeredAt", "String", "registered_at", NULL},
    {"cpuUsage", "Float", "cpu_usage", "Percent."},
    {"memoryUsage", "Float", "memory_usage", "Percent."},
    {"gpuUsage", "Float", "gpu_usage", "Mean percent of its GPUs."},
    {"storageUsage", "Float", "storage_usage", "Percent."},
    {"runningTasksCount", "Int!", "running_tasks_count", NULL},
    {"heartbeats", "Float", "heartbeats", "Heartbeats received since it joined."},
    END,
};

static const struct api_gql_member running_task[] = {
    {"taskId", "ID!", "task_id", NULL},
    {"status", "TaskStatus!", "status", NULL},
    {"cpuAllocated", "Float!", "cpu_allocated", NULL},
    {"memoryAllocated", "Int!", "memory_allocated", "MiB."},
    {"gpuAllocated", "Float!", "gpu_allocated", NULL},
    {"cpuUsage", "Float", "cpu_usage", "Percent of one core, last heartbeat."},
    {"memoryUsageMib", "Int", "memory_usage_mib", NULL},
    END,
};

static const struct api_gql_member worker_sample[] = {
    {"id", "String!", "id", "The stream entry id (a cursor)."},
    {"timestamp", "String!", "timestamp", NULL},
    {"cpuUsage", "Float", "cpu_usage", NULL},
    {"memoryUsage", "Float", "memory_usage", NULL},
    {"storageUsage", "Float", "storage_usage", NULL},
    {"gpuUsage", "Float", "gpu_usage", NULL},
    {"runningTasks", "Int", "running_tasks", NULL},
    {"seq", "Float", "seq", "The heartbeat's sequence number."},
    END,
};

static const struct api_gql_member task[] = {
    {"id", "ID!", "task_id", NULL},
    {"status", "TaskStatus!", "status", NULL},
    {"dockerImage", "String", "docker_image", NULL},
    {"command", "JSON", "command", "argv (a list), or a string run with /bin/sh -c."},
    {"env", "JSON", "env", NULL},
    {"cpuRequired", "Float", "cpu_required", NULL},
    {"memoryRequired", "Int", "memory_required", "MiB."},
    {"gpuRequired", "Float", "gpu_required", NULL},
    {"gpuModel", "String", "gpu_model", NULL},
    {"storageRequired", "Int", "storage_required", "MiB."},
    {"priority", "Int", "priority", NULL},
    {"userId", "String", "user_id", NULL},
    {"tag", "String", "tag", NULL},
    {"labels", "JSON", "labels", NULL},
    {"pinnedWorker", "String", "pinned_worker", NULL},
    {"maxAttempts", "Int", "max_attempts", NULL},
    {"timeout", "Float", "timeout", "Seconds."},
    {"workerId", "ID", "worker_id", NULL},
    {"attempts", "Int", "attempts", NULL},
    {"exitCode", "Int", "exit_code", NULL},
    {"reason", "String", "reason", "Why it failed, or why it waits."},
    {"createdAt", "String", "created_at", NULL},
    {"assignedAt", "String", "assigned_at", NULL},
    {"startedAt", "String", "started_at", NULL},
    {"finishedAt", "String", "finished_at", NULL},
    {"logDroppedBytes", "Float", "log_dropped_bytes", NULL},
    {"assignment", "Assignment", "assignment", NULL},
    {"result", "TaskResult", "result", NULL},
    END,
};

static const struct api_gql_member assignment[] = {
    {"workerId", "ID!", "worker_id", NULL},
    {"gpus", "[Int!]!", "gpus", "The GPU indices it holds on the worker."},
    {"assignedAt", "String", "assigned_at", NULL},
    {"gpuShare", "Float", "gpu_share", "The share of one GPU, when below 1."},
    END,
};

static const struct api_gql_member result[] = {
    {"status", "TaskStatus!", "status", NULL},
    {"exitCode", "Int", "exit_code", NULL},
    {"reason", "String", "reason", NULL},
    {"finishedAt", "String", "finished_at", NULL},
    END,
};

static const struct api_gql_member log_line[] = {
    {"id", "String!", "id", "The entry id: a cursor for logs(since:)."},
    {"ts", "String", "ts", NULL},
    {"stream", "String!", "stream", "stdout or stderr."},
    {"data", "String!", "data", NULL},
    END,
};

static const struct api_gql_member event[] = {
    {"id", "String!", "id", "The entry id: a cursor for events(since:)."},
    {"type", "String!", "type", "worker.active, task.completed, ..."},
    {"time", "String", "time", NULL},
    {"workerId", "ID", "worker_id", NULL},
    {"taskId", "ID", "task_id", NULL},
    {"status", "TaskStatus", "status", NULL},
    {"attempts", "Int", "attempts", NULL},
    {"exitCode", "Int", "exit_code", NULL},
    {"reason", "String", "reason", NULL},
    END,
};

static const struct api_gql_member submission[] = {
    {"taskId", "ID!", "task_id", NULL},
    {"status", "TaskStatus!", "status", NULL},
    END,
};

static const struct api_gql_member cancellation[] = {
    {"taskId", "ID!", "task_id", NULL},
    {"status", "TaskStatus!", "status", NULL},
    {"cancelRequested", "Boolean!", "cancel_requested", NULL},
    END,
};

static const struct api_gql_member drain[] = {
    {"workerId", "ID!", "worker_id", NULL},
    {"state", "WorkerState!", "state", NULL},
    {"draining", "Boolean!", "draining", NULL},
    {"runningTasksCount", "Int!", "running_tasks_count", NULL},
    END,
};

/* An object type whose fields are JSON members, then its links. */
struct object_def {
    const char *name, *description;
    const struct api_gql_member *members;
    void (*links)(struct gql_type *t);
};

static const struct object_def objects[] = {
    {"GPU", "A GPU of a host, as GET /api/v1/gpus lists it.", gpu, api_gql_links_gpu},
    {"GPUSample", "One sample of a GPU, as GET /api/v1/gpus/{uuid}/telemetry shows it; a "
     "metric the sample did not report is null.", sample, NULL},
    {"Host", "A machine with GPUs, as GET /api/v1/hosts lists it.", host, api_gql_links_host},
    {"Cluster", "A cluster of hosts, as GET /api/v1/clusters lists it.", cluster,
     api_gql_links_cluster},
    {"Resources", NULL, resources, NULL},
    {"Worker", "A worker, as GET /api/workers/{id} shows it.", worker, api_gql_links_worker},
    {"RunningTask", "A task placed on a worker, with what it holds.", running_task,
     api_gql_links_task_ref},
    {"WorkerSample", "One heartbeat of a worker, from its Redis stream.", worker_sample, NULL},
    {"Task", "A task, as GET /api/tasks/{id} shows it.", task, api_gql_links_task},
    {"Assignment", NULL, assignment, NULL},
    {"TaskResult", NULL, result, NULL},
    {"LogLine", "A line of a task's output.", log_line, NULL},
    {"Event", "A cluster event from the gantry:events stream.", event, NULL},
    {"TaskSubmission", "What POST /api/tasks answers.", submission, api_gql_links_task_ref},
    {"TaskCancellation", "What DELETE /api/tasks/{id} answers.", cancellation,
     api_gql_links_task_ref},
    {"WorkerDrain", "What POST /api/workers/{id}/drain answers.", drain,
     api_gql_links_worker_ref},
};

/* Adds fields read from JSON members to t. */
void api_gql_add_members(struct gql_type *t, const struct api_gql_member *m)
{
    for (; m->name; m++)
        gql_field_data(gql_type_field(t, m->name, m->type, api_gql_member, m->description),
                       m->json);
}

/* camelCase of a snake_case name ("gpu_utilization" -> "gpuUtilization"). */
static void camel(const char *snake, char *out, size_t len)
{
    size_t o = 0;
    for (int up = 0; *snake && o + 1 < len; snake++) {
        if (*snake == '_')
            up = 1;
        else {
            out[o++] = up ? (char)toupper((unsigned char)*snake) : *snake;
            up = 0;
        }
    }
    out[o] = '\0';
}

/* The GPU metrics, named after the REST fields of gpumetric.h's table. */
static void add_metrics(struct gql_type *t)
{
    char name[64];
    for (int m = 0; m < GM_COUNT; m++) {
        camel(gpu_metric_names[m].api, name, sizeof(name));
        gql_field_data(gql_type_field(t, name, "Float", api_gql_member,
                                      gpu_metric_names[m].help),
                       gpu_metric_names[m].api);
    }
}

static void add_enums(struct gql_schema *s)
{
    static const char *const task_states[] = {"queued", "assigned", "running",
                                              "completed", "failed", "cancelled"};
    static const char *const worker_states[] = {"active", "inactive", "offline", "draining"};
    struct gql_type *t = gql_schema_enum(s, "Order", "Time order of a series.");
    gql_enum_value(t, "ASC", "Oldest first.", NULL);
    gql_enum_value(t, "DESC", "Newest first: limit N gives the latest N.", NULL);
    t = gql_schema_enum(s, "TaskStatus", "A task's state, as the REST API spells it.");
    for (size_t i = 0; i < sizeof(task_states) / sizeof(task_states[0]); i++)
        gql_enum_value(t, task_states[i], NULL, NULL);
    t = gql_schema_enum(s, "WorkerState", "A worker's state, as the REST API spells it.");
    for (size_t i = 0; i < sizeof(worker_states) / sizeof(worker_states[0]); i++)
        gql_enum_value(t, worker_states[i], NULL, NULL);
    gql_schema_scalar(s, "JSON", "Any JSON value, as the REST API has it.");
    t = gql_schema_input(s, "TaskInput", "A task to submit: the body of POST /api/tasks in "
                         "camelCase; fields left out take the REST defaults.");
    for (const struct api_gql_member *m = api_gql_task_input; m->name; m++)
        gql_input_field(t, m->name, m->type, NULL, m->description);
}

/* Builds and finishes the schema. Returns it, or NULL after logging why
 * (a mistake in the tables above, or no memory). */
struct gql_schema *api_gql_schema_build(void)
{
    char err[256];
    struct gql_schema *s = gql_schema_new();
    if (!s)
        return NULL;
    add_enums(s);
    for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
        const struct object_def *d = &objects[i];
        struct gql_type *t = gql_schema_object(s, d->name, d->description);
        api_gql_add_members(t, d->members);
        if (d->members == sample)
            add_metrics(t);
        if (d->links)
            d->links(t);
    }
    api_gql_add_query(s);
    api_gql_add_mutation(s);
    if (gql_schema_finish(s, "Query", "Mutation", err, sizeof(err)) < 0) {
        log_error("graphql schema: %s", err);
        gql_schema_free(s);
        return NULL;
    }
    return s;
}
