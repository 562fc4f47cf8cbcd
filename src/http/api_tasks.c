/* Task routes: submit, list, show, cancel, logs. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "core/parse.h"
#include "router.h"
#include "views.h"

/* POST /api/tasks */
static int post_task(struct http_req *req)
{
    json_t *body = api_json_body(req);
    if (!body)
        return 0;
    struct task_defaults def = {api_env->max_attempts};
    struct task_error err;
    struct task *t = task_from_json(body, &def, &err);
    json_decref(body);
    if (!t)
        return api_reply_field_error(req, 422, "VALIDATION_FAILED", err.field, err.message);
    if (cluster_submit(api_env->cl, t, api_now()) < 0) {
        task_free(t);
        return http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
    }
    api_env->kick_scheduler();
    return http_reply_json(req, 201, json_pack("{s:s,s:s}", "task_id", t->id,
                                               "status", task_status_name(t->status)));
}

static int list_filter(struct http_req *req, int *has_status, enum task_status *st,
                       char *worker, size_t wlen)
{
    char v[32];
    *has_status = http_query_param(req, "status", v, sizeof(v)) == 1;
    if (*has_status && task_status_parse(v, st) < 0) {
        http_reply_error(req, 400, "INVALID_PARAMETER",
                         "status must be queued, assigned, running, completed, failed or cancelled");
        return -1;
    }
    if (http_query_param(req, "worker_id", worker, wlen) < 0) {
        http_reply_error(req, 400, "INVALID_PARAMETER", "worker_id is malformed");
        return -1;
    }
    return 0;
}

/* GET /api/tasks?status=&worker_id=&limit=&cursor= : newest first. The
 * cursor is the id of the last task of the previous page. */
static int get_tasks(struct http_req *req)
{
    int has_status, limit;
    enum task_status st = TS_QUEUED;
    char worker[WORKER_ID_MAX] = "", cursor[TASK_ID_MAX] = "";
    if (list_filter(req, &has_status, &st, worker, sizeof(worker)) < 0 ||
        api_query_limit(req, 100, 1000, &limit) < 0)
        return 0;
    if (http_query_param(req, "cursor", cursor, sizeof(cursor)) < 0)
        return http_reply_error(req, 400, "INVALID_PARAMETER", "cursor is malformed");
    struct cluster *cl = api_env->cl;
    json_t *tasks = json_array();
    const char *last = NULL;
    struct list_node *pos = cl->task_list.prev;
    for (; pos != &cl->task_list; pos = pos->prev) {
        struct task *t = container_of(pos, struct task, all);
        if (cursor[0] && strcmp(t->id, cursor) >= 0)
            continue;
        if ((has_status && t->status != st) || (worker[0] && strcmp(t->worker_id, worker) != 0))
            continue;
        if ((int)json_array_size(tasks) == limit) {
            break;
        }
        json_array_append_new(tasks, task_to_json(t));
        last = t->id;
    }
    int more = pos != &cl->task_list;
    return http_reply_json(req, 200, json_pack("{s:o,s:o}", "tasks", tasks, "next_cursor",
                                               more && last ? json_string(last) : json_null()));
}

static struct task *find_task(struct http_req *req)
{
    struct task *t = cluster_task(api_env->cl, req->params[0]);
    if (!t)
        http_reply_error(req, 404, "TASK_NOT_FOUND", "no task %s", req->params[0]);
    return t;
}

/* GET /api/tasks/{id} */
static int get_task(struct http_req *req)
{
    struct task *t = find_task(req);
    return t ? http_reply_json(req, 200, task_to_json(t)) : 0;
}

/* DELETE /api/tasks/{id}: cancel. */
static int delete_task(struct http_req *req)
{
    struct task *t = find_task(req);
    if (!t)
        return 0;
    if (cluster_cancel(api_env->cl, t, api_env->cancel_grace, api_now()) == 1)
        return http_reply_error(req, 409, "TASK_ALREADY_FINISHED", "task %s is %s already",
                                t->id, task_status_name(t->status));
    return http_reply_json(req, 200, json_pack("{s:s,s:s,s:b}", "task_id", t->id, "status",
                                               task_status_name(t->status), "cancel_requested",
                                               t->cancel_requested));
}

/* GET /api/tasks/{id}/logs?since=&limit= : lines after sequence `since`,
 * oldest first; `next` is the since for the following call. */
static int get_task_logs(struct http_req *req)
{
    struct task *t = find_task(req);
    if (!t)
        return 0;
    char v[32], err[64];
    long since = 0;
    int limit;
    if (http_query_param(req, "since", v, sizeof(v)) == 1 &&
        (parse_long(v, &since, err, sizeof(err)) < 0 || since < 0))
        return http_reply_error(req, 400, "INVALID_PARAMETER", "since must be a sequence number");
    if (api_query_limit(req, 1000, 10000, &limit) < 0)
        return 0;
    json_t *logs = json_array();
    size_t pos = 0;
    struct task_log_entry e;
    uint64_t next = (uint64_t)since;
    while (task_log_next(t, &pos, &e) && (int)json_array_size(logs) < limit) {
        if (e.seq <= (uint64_t)since)
            continue;
        json_array_append_new(logs, json_pack("{s:I,s:o,s:s,s:s%}", "seq", (json_int_t)e.seq,
                                              "ts", view_time(e.ts), "stream",
                                              e.stream == 2 ? "stderr" : "stdout", "data",
                                              e.data, (size_t)e.len));
        next = e.seq;
    }
    return http_reply_json(req, 200, json_pack("{s:s,s:s,s:o,s:I}", "task_id", t->id, "status",
                                               task_status_name(t->status), "logs", logs,
                                               "next", (json_int_t)next));
}

static const struct http_route task_routes[] = {
    {"POST", "/api/tasks", post_task, ROUTE_ADMIN, "Submit a task"},
    {"GET", "/api/tasks", get_tasks, ROUTE_READ, "List tasks, newest first"},
    {"GET", "/api/tasks/{id}", get_task, ROUTE_READ, "One task with assignment and result"},
    {"DELETE", "/api/tasks/{id}", delete_task, ROUTE_ADMIN, "Cancel a task"},
    {"GET", "/api/tasks/{id}/logs", get_task_logs, ROUTE_READ, "A task's output"},
};

/* Adds the task routes. Returns 0 or -1. */
int api_tasks_register(void)
{
    return router_add(task_routes, sizeof(task_routes) / sizeof(task_routes[0]));
}
