/* The root fields: Query (the lists and lookups of the REST routes) and
 * Mutation (submitTask, cancelTask, drainWorker: each one write, performed
 * once by the driver as a fetch, answered when Redis holds it). */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "api_graphql.h"
#include "views_gpu.h"

static const char *arg_str(struct gql_call *c, const char *name)
{
    return json_string_value(gql_call_arg(c, name));
}

/* gpus(hostname, limit, offset): by cluster, host and index. */
static enum gql_status q_gpus(struct gql_call *c)
{
    const struct fleet *f = api_gql_fleet(c);
    const char *hostname = arg_str(c, "hostname");
    struct fleet_page p;
    if (!f)
        return gql_fail(c, "out of memory");
    const struct fleet_host *h = hostname ? fleet_find_host(f, NULL, hostname) : NULL;
    size_t first = h ? h->first_gpu : 0, n = h ? h->ngpus : hostname ? 0 : f->ngpus;
    if (api_gql_page(c, n, &p) < 0)
        return GQL_ERROR;
    return api_gql_gpu_list(c, f->gpus + first + p.first, p.count);
}

/* gpu(uuid) */
static enum gql_status q_gpu(struct gql_call *c)
{
    const struct worker_gpu *g = cluster_gpu(api_env->cl, arg_str(c, "uuid"));
    return gql_return_json(c, g ? view_gpu(g) : NULL);
}

/* hosts, host(hostname), clusters, cluster(id): from the fleet index. */
static enum gql_status q_fleet(struct gql_call *c)
{
    const struct fleet *f = api_gql_fleet(c);
    const char *field = gql_call_field(c);
    if (!f)
        return gql_fail(c, "out of memory");
    if (strcmp(field, "host") == 0) {
        const struct fleet_host *h = fleet_find_host(f, NULL, arg_str(c, "hostname"));
        return gql_return_json(c, h ? view_host(h) : NULL);
    }
    if (strcmp(field, "cluster") == 0) {
        const struct fleet_cluster *cl = fleet_find_cluster(f, arg_str(c, "id"));
        return gql_return_json(c, cl ? view_cluster(cl) : NULL);
    }
    int hosts = strcmp(field, "hosts") == 0;
    struct fleet_page p;
    if (api_gql_page(c, hosts ? f->nhosts : f->nclusters, &p) < 0)
        return GQL_ERROR;
    json_t *a = json_array();
    for (size_t i = p.first; a && i < p.first + p.count; i++)
        json_array_append_new(a, hosts ? view_host(&f->hosts[i])
                                       : view_cluster(&f->clusters[i]));
    return gql_return_json(c, a);
}

/* workers(state), in the order GET /api/workers lists them. */
static enum gql_status q_workers(struct gql_call *c)
{
    const char *state = arg_str(c, "state");
    json_t *a = json_array();
    struct list_node *pos;
    list_for_each(pos, &api_env->cl->worker_list) {
        const struct worker *w = container_of(pos, struct worker, all);
        if (a && (!state || strcmp(worker_state_name(w), state) == 0))
            json_array_append_new(a, api_gql_worker_view(w));
    }
    return gql_return_json(c, a);
}

static enum gql_status q_worker(struct gql_call *c)
{
    return api_gql_worker_json(c, arg_str(c, "id"));
}

/* tasks(status, workerId, limit): newest first, as GET /api/tasks. */
static enum gql_status q_tasks(struct gql_call *c)
{
    const char *status = arg_str(c, "status"), *worker = arg_str(c, "workerId");
    long limit;
    if (api_gql_arg_count(c, "limit", 100, API_GQL_MAX_TASKS, &limit) < 0)
        return GQL_ERROR;
    const struct cluster *cl = api_env->cl;
    json_t *a = json_array();
    for (struct list_node *pos = cl->task_list.prev;
         a && pos != &cl->task_list && (long)json_array_size(a) < limit; pos = pos->prev) {
        const struct task *t = container_of(pos, struct task, all);
        if ((!status || strcmp(task_status_name(t->status), status) == 0) &&
            (!worker || strcmp(t->worker_id, worker) == 0))
            json_array_append_new(a, task_to_json(t));
    }
    return gql_return_json(c, a);
}

static enum gql_status q_task(struct gql_call *c)
{
    return api_gql_task_json(c, arg_str(c, "id"));
}

/* events(since, limit): gantry:events oldest first, after the cursor. */
static enum gql_status q_events(struct gql_call *c)
{
    const char *since = arg_str(c, "since");
    char cursor[48] = "";
    long limit;
    if (since && api_parse_stream_id(since, cursor, sizeof(cursor)) < 0)
        return gql_fail(c, "since must be an event id like 1752871354000-0.");
    if (api_gql_arg_count(c, "limit", 100, API_GQL_MAX_LOGS, &limit) < 0)
        return GQL_ERROR;
    if (limit < 1)
        return gql_fail(c, "limit must be a whole number from 1 to %d.", API_GQL_MAX_LOGS);
    if (gql_charge(c, limit) != GQL_OK)
        return GQL_ERROR;
    json_t *range = json_pack("{s:o,s:n,s:b,s:I,s:b}", "start",
                              cursor[0] ? json_string(cursor) : json_null(), "end", "after",
                              cursor[0] != 0, "limit", (json_int_t)limit, "desc", 0);
    return api_gql_fetch_range(c, API_GQL_EVENTS, "", range);
}

/* Adds a root field that looks one object up by its key argument. */
static void lookup(struct gql_type *q, const char *name, const char *type, gql_resolver fn,
                   const char *key, const char *key_type)
{
    gql_field_arg(gql_type_field(q, name, type, fn, NULL), key, key_type, NULL, NULL);
}

/* Adds the Query type. */
void api_gql_add_query(struct gql_schema *s)
{
    struct gql_type *q = gql_schema_object(s, "Query", "What GraphQL reads: the model the REST "
                                           "routes read, in the same shapes.");
    struct gql_field *f = gql_type_field(q, "gpus", "[GPU!]!", q_gpus, "GPUs by cluster, host "
                                         "and index (GET /api/v1/gpus).");
    gql_field_arg(f, "hostname", "String", NULL, "Only this host's GPUs.");
    api_gql_page_args(f);
    lookup(q, "gpu", "GPU", q_gpu, "uuid", "String!");
    api_gql_page_args(gql_type_field(q, "hosts", "[Host!]!", q_fleet, "Hosts with GPUs, by "
                                     "cluster and hostname (GET /api/v1/hosts)."));
    lookup(q, "host", "Host", q_fleet, "hostname", "String!");
    api_gql_page_args(gql_type_field(q, "clusters", "[Cluster!]!", q_fleet,
                                     "Clusters by name (GET /api/v1/clusters)."));
    lookup(q, "cluster", "Cluster", q_fleet, "id", "ID!");
    f = gql_type_field(q, "workers", "[Worker!]!", q_workers, "GET /api/workers.");
    gql_field_arg(f, "state", "WorkerState", NULL, NULL);
    lookup(q, "worker", "Worker", q_worker, "id", "ID!");
    f = gql_type_field(q, "tasks", "[Task!]!", q_tasks, "Tasks in memory, newest first (GET "
                       "/api/tasks).");
    gql_field_arg(f, "status", "TaskStatus", NULL, NULL);
    gql_field_arg(f, "workerId", "ID", NULL, NULL);
    gql_field_arg(f, "limit", "Int", "100", "At most this many (up to 1000).");
    lookup(q, "task", "Task", q_task, "id", "ID!");
    f = gql_type_field(q, "events", "[Event!]", q_events, "Cluster events from Redis, oldest "
                       "first (GET /api/events). Costs `limit` points.");
    gql_field_arg(f, "since", "String", NULL, "An event's id: the events after it.");
    gql_field_arg(f, "limit", "Int", "100", "At most this many (1 to 10000).");
}

/* A mutation field: its write goes to the driver as a fetch (so a second
 * pass never repeats it), keyed by its place among the request's
 * mutations, which passes meet in the same order. */
static enum gql_status m_write(struct gql_call *c)
{
    struct api_gql *q = gql_call_ctx(c);
    static const char *const names[] = {"input", "id", "grace", "drain"};
    char key[64];
    json_t *v, *args = json_pack("{s:s}", "field", gql_call_field(c));
    for (size_t i = 0; args && i < sizeof(names) / sizeof(names[0]); i++)
        if (gql_call_arg(c, names[i]))
            json_object_set(args, names[i], gql_call_arg(c, names[i]));
    snprintf(key, sizeof(key), "%s:%u", API_GQL_MUTATION, q->mutations++);
    enum gql_status st = gql_fetch(c, key, args, &v);
    return st == GQL_OK ? gql_return_json(c, json_incref(v)) : st;
}

/* Adds the Mutation type (admin tokens only; POST only). */
void api_gql_add_mutation(struct gql_schema *s)
{
    struct gql_type *m = gql_schema_object(s, "Mutation", "Changes, with an admin token, by "
                                           "POST. Each answers as its REST route does: a "
                                           "submission or a cancel once Redis holds it.");
    struct gql_field *f = gql_type_field(m, "submitTask", "TaskSubmission", m_write,
                                         "Submit a task (POST /api/tasks).");
    gql_field_arg(f, "input", "TaskInput!", NULL, NULL);
    f = gql_type_field(m, "cancelTask", "TaskCancellation", m_write,
                       "Cancel a task (DELETE /api/tasks/{id}).");
    gql_field_arg(f, "id", "ID!", NULL, NULL);
    gql_field_arg(f, "grace", "String", NULL, "SIGKILL follows SIGTERM after it: 500ms, 5s, "
                  "2m (default tasks.cancel_grace).");
    f = gql_type_field(m, "drainWorker", "WorkerDrain", m_write, "Drain a worker: it finishes "
                       "its tasks and gets no new ones (POST /api/workers/{id}/drain).");
    gql_field_arg(f, "id", "ID!", NULL, NULL);
    gql_field_arg(f, "drain", "Boolean", "true", "false: take it back.");
}
