/* Task routes: submit, list, show, cancel, logs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "core/parse.h"
#include "core/timefmt.h"
#include "router.h"
#include "views.h"

/* A request answered once Redis holds the writes it stands for (a kill -9
 * then loses no task that got its 201). Redis away or refusing: 503, and
 * the task id, since the task is in memory and may still run. */
static void submitted(int ok, uint64_t conn_id, uint64_t seq, const char *task_id)
{
    struct http_req *req = http_req_find(conn_id, seq);
    if (!req)
        return;
    if (ok > 0) {
        http_reply_json(req, 201, json_pack("{s:s,s:s}", "task_id", task_id, "status", "queued"));
        return;
    }
    json_t *j = json_pack("{s:{s:s,s:s,s:s}}", "error", "code",
                          ok == STORE_NOT_REPLICATED ? "REDIS_NOT_REPLICATED" : "REDIS_UNAVAILABLE",
                          "message", ok == STORE_NOT_REPLICATED
                          ? "redis holds the task record but not enough replicas confirmed it "
                            "(redis.min_replicas_ack); it may still run: look it up before "
                            "submitting it again"
                          : "redis did not confirm the task record; it is kept in memory "
                            "and written when redis returns, so it may still run: look it up "
                            "before submitting it again", "task_id", task_id);
    http_reply_json(req, 503, j);
}

/* Answers req through fn once the writes queued after `before` are in
 * Redis. Returns HTTP_ASYNC, or replies 503 itself. */
static int reply_when_stored(struct http_req *req, uint64_t before, store_done_fn fn,
                             const char *task_id)
{
    const char *why;
    if (api_when_stored(before, fn, req->conn_id, req->seq, task_id, &why) < 0)
        return http_reply_error(req, 503, "REDIS_UNAVAILABLE", "%s: %s", task_id, why);
    return HTTP_ASYNC;
}

/* Refuses a change while Redis cannot confirm it. Returns 0 when it may go
 * ahead, else replies 503 and returns -1. */
static int need_store(struct http_req *req)
{
    const char *code, *why = api_store_refusal(&code);
    if (!why)
        return 0;
    http_reply_error(req, 503, code, "%s", why);
    return -1;
}

/* POST /api/tasks */
static int post_task(struct http_req *req)
{
    json_t *body = api_json_body(req);
    if (!body)
        return 0;
    if ((long)api_env->cl->by_status[TS_QUEUED] >= api_env->max_queued) {
        json_decref(body);
        return http_reply_error(req, 429, "QUEUE_FULL", "%ld tasks are queued already (tasks.max_queued)",
                                api_env->max_queued);
    }
    struct task_defaults def = {api_env->max_attempts};
    struct task_error err;
    struct task *t = task_from_json(body, &def, &err);
    json_decref(body);
    if (!t)
        return api_reply_field_error(req, 422, "VALIDATION_FAILED", err.field, err.message);
    if (need_store(req) < 0) {
        task_free(t);
        return 0;
    }
    uint64_t before = store_seq();
    if (cluster_submit(api_env->cl, t, api_now()) < 0) {
        task_free(t);
        return http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
    }
    api_env->kick_scheduler();
    return reply_when_stored(req, before, submitted, t->id);
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

/* GET /api/tasks?status=&worker_id=&limit=&cursor=&offset= : newest first.
 * The cursor is the id of the last task of the previous page; offset skips
 * that many after it; total counts every task in memory that matches. */
static int get_tasks(struct http_req *req)
{
    int has_status, limit;
    long offset, total = 0, skipped = 0;
    enum task_status st = TS_QUEUED;
    char worker[WORKER_ID_MAX] = "", cursor[TASK_ID_MAX] = "";
    if (list_filter(req, &has_status, &st, worker, sizeof(worker)) < 0 ||
        api_query_limit(req, 100, 1000, &limit) < 0 ||
        api_query_long(req, "offset", 0, 0, API_MAX_OFFSET, &offset) < 0)
        return 0;
    if (http_query_param(req, "cursor", cursor, sizeof(cursor)) < 0)
        return http_reply_error(req, 400, "INVALID_PARAMETER", "cursor is malformed");
    struct cluster *cl = api_env->cl;
    json_t *tasks = json_array();
    const char *last = NULL;
    int more = 0;
    for (struct list_node *pos = cl->task_list.prev; pos != &cl->task_list; pos = pos->prev) {
        struct task *t = container_of(pos, struct task, all);
        if ((has_status && t->status != st) || (worker[0] && strcmp(t->worker_id, worker) != 0))
            continue;
        total++;
        if ((cursor[0] && strcmp(t->id, cursor) >= 0) || skipped++ < offset)
            continue;
        if ((int)json_array_size(tasks) == limit) {
            more = 1;
            continue;
        }
        json_array_append_new(tasks, task_to_json(t));
        last = t->id;
    }
    return http_reply_json(req, 200, json_pack("{s:o,s:o,s:I,s:I}", "tasks", tasks, "next_cursor",
                                               more && last ? json_string(last) : json_null(),
                                               "total", (json_int_t)total, "count",
                                               (json_int_t)json_array_size(tasks)));
}

static struct task *find_task(struct http_req *req)
{
    struct task *t = cluster_task(api_env->cl, req->params[0]);
    if (!t)
        http_reply_error(req, 404, "TASK_NOT_FOUND", "no task %s", req->params[0]);
    return t;
}

static void stored_task(int ok, json_t *record, uint64_t conn_id, uint64_t seq)
{
    struct http_req *req = http_req_find(conn_id, seq);
    if (!req)
        return;
    if (!ok)
        http_reply_error(req, 503, "REDIS_UNAVAILABLE", "could not read the task from redis");
    else if (!record)
        http_reply_error(req, 404, "TASK_NOT_FOUND", "no task %s", req->params[0]);
    else
        http_reply_json(req, 200, json_incref(record));
}

/* GET /api/tasks/{id}: from memory, else (a finished task evicted from
 * memory, or from before a restart) from Redis. */
static int get_task(struct http_req *req)
{
    struct task *t = cluster_task(api_env->cl, req->params[0]);
    if (t)
        return http_reply_json(req, 200, task_to_json(t));
    if (strlen(req->params[0]) < TASK_ID_MAX &&
        store_read_task(req->params[0], stored_task, req->conn_id, req->seq) == 0)
        return HTTP_ASYNC;
    return http_reply_error(req, 404, "TASK_NOT_FOUND", "no task %s", req->params[0]);
}

static void cancelled(int ok, uint64_t conn_id, uint64_t seq, const char *task_id)
{
    struct http_req *req = http_req_find(conn_id, seq);
    struct task *t = cluster_task(api_env->cl, task_id);
    if (!req)
        return;
    if (ok <= 0) {
        http_reply_error(req, 503,
                         ok == STORE_NOT_REPLICATED ? "REDIS_NOT_REPLICATED" : "REDIS_UNAVAILABLE",
                         "redis did not confirm the cancel of %s%s; it goes on in memory", task_id,
                         ok == STORE_NOT_REPLICATED ? " on enough replicas" : "");
        return;
    }
    http_reply_json(req, 200, json_pack("{s:s,s:s,s:b}", "task_id", task_id, "status",
                                        t ? task_status_name(t->status) : "cancelled",
                                        "cancel_requested", t ? t->cancel_requested : 0));
}

/* DELETE /api/tasks/{id}?grace=DUR : cancel; SIGKILL follows SIGTERM after
 * the grace (default tasks.cancel_grace). Answered once Redis has the
 * change. */
static int delete_task(struct http_req *req)
{
    char v[32], why[64];
    double grace = api_env->cancel_grace;
    int has = http_query_param(req, "grace", v, sizeof(v));
    if (has < 0 || (has == 1 && parse_duration(v, &grace, why, sizeof(why)) < 0))
        return http_reply_error(req, 400, "INVALID_PARAMETER",
                                "grace must be a duration like 500ms, 5s or 2m");
    struct task *t = find_task(req);
    if (!t)
        return 0;
    if (task_status_terminal(t->status))
        return http_reply_error(req, 409, "TASK_ALREADY_FINISHED", "task %s is %s already",
                                t->id, task_status_name(t->status));
    if (need_store(req) < 0)
        return 0;
    uint64_t before = store_seq();
    cluster_cancel(api_env->cl, t, grace, api_now());
    return reply_when_stored(req, before, cancelled, t->id);
}

static json_t *log_entry(uint64_t ms, uint64_t seq, json_t *ts, const char *stream,
                         const char *data, size_t len)
{
    char id[48];
    snprintf(id, sizeof(id), "%llu-%llu", (unsigned long long)ms, (unsigned long long)seq);
    return json_pack("{s:s,s:o,s:s,s:s%}", "id", id, "ts", ts, "stream", stream, "data", data, len);
}

static int reply_logs(struct http_req *req, const char *status, json_t *logs, const char *next)
{
    return http_reply_json(req, 200, json_pack("{s:s,s:s,s:o,s:s?}", "task_id", req->params[0],
                                               "status", status, "logs", logs, "next", next));
}

/* What a logs read needs when Redis answers: the request and the task's
 * status (from memory, or from its stored record). Owned by the read. */
struct logs_read {
    uint64_t conn_id, seq;
    char status[16];
};

struct logs_query {
    char since[48];
    int limit, desc;
};

/* Reads ?since=&limit=&order=. Returns 0, or -1 after replying 400. */
static int logs_query(struct http_req *req, struct logs_query *q)
{
    if (api_query_since(req, q->since, sizeof(q->since),
                        "since must be a log entry id like 1752871354000-3") < 0 ||
        api_query_limit(req, 1000, 10000, &q->limit) < 0 || api_query_order(req, &q->desc) < 0)
        return -1;
    return 0;
}

static void stored_logs(int ok, const struct store_entry *e, size_t n, uint64_t a, uint64_t b)
{
    struct logs_read *lr = (struct logs_read *)(uintptr_t)a;
    struct http_req *req = http_req_find(lr->conn_id, lr->seq);
    struct logs_query q;
    (void)b;
    if (req && !ok)
        http_reply_error(req, 503, "REDIS_UNAVAILABLE", "could not read the logs from redis");
    if (!req || !ok || logs_query(req, &q) < 0) {
        free(lr);
        return;
    }
    json_t *logs = json_array();
    const char *next = q.since[0] ? q.since : NULL;
    for (size_t i = 0; i < n && (int)json_array_size(logs) < q.limit; i++) {
        if (strcmp(e[i].id, q.since) == 0)
            continue;       /* newest first: the cursor itself came back */
        json_array_append_new(logs, view_log_entry(&e[i]));
        next = e[i].id;
    }
    struct task *t = cluster_task(api_env->cl, req->params[0]);
    reply_logs(req, t ? task_status_name(t->status) : lr->status, logs, next);
    free(lr);
}

/* Asks Redis for the task's log lines q selects. Returns HTTP_ASYNC, or
 * -1 when Redis is not connected (nothing replied). */
static int read_logs(struct http_req *req, const struct logs_query *q, const char *status)
{
    struct logs_read *lr = calloc(1, sizeof(*lr));
    const char *cursor = q->since[0] ? q->since : NULL;
    struct store_range r = {q->desc ? NULL : cursor, q->desc ? cursor : NULL, !q->desc,
                            q->limit + q->desc, q->desc};
    if (!lr)
        return -1;
    lr->conn_id = req->conn_id;
    lr->seq = req->seq;
    snprintf(lr->status, sizeof(lr->status), "%s", status);
    if (store_read_range(STREAM_TASK_LOGS, req->params[0], &r, stored_logs,
                         (uint64_t)(uintptr_t)lr, 0) < 0) {
        free(lr);
        return -1;
    }
    return HTTP_ASYNC;
}

static int memory_logs(struct http_req *req, struct task *t, const struct logs_query *q)
{
    unsigned long long sms = 0, sseq = 0;
    if (q->since[0] && sscanf(q->since, "%llu-%llu", &sms, &sseq) < 1)
        sms = 0;
    json_t *logs = json_array();
    size_t pos = 0;
    struct task_log_entry e;
    while (task_log_next(t, &pos, &e)) {
        int after = e.ms > sms || (e.ms == sms && e.seq > sseq);
        if (q->since[0] && (q->desc ? after || (e.ms == sms && e.seq == sseq) : !after))
            continue;
        json_array_append_new(logs, log_entry(e.ms, e.seq, view_time(e.ts),
                                              e.stream == 2 ? "stderr" : "stdout", e.data, e.len));
    }
    json_t *page = json_array();
    size_t n = json_array_size(logs);
    for (size_t i = 0; i < n && (int)json_array_size(page) < q->limit; i++)
        json_array_append(page, json_array_get(logs, q->desc ? n - 1 - i : i));
    json_decref(logs);
    size_t got = json_array_size(page);
    const char *next = got ? json_string_value(json_object_get(json_array_get(page, got - 1), "id"))
                           : q->since[0] ? q->since : NULL;
    return reply_logs(req, task_status_name(t->status), page, next);
}

static void logs_of_stored_task(int ok, json_t *record, uint64_t conn_id, uint64_t seq)
{
    struct http_req *req = http_req_find(conn_id, seq);
    struct logs_query q;
    if (!req)
        return;
    const char *st = json_string_value(json_object_get(record, "status"));
    if (!ok)
        http_reply_error(req, 503, "REDIS_UNAVAILABLE", "could not read the task from redis");
    else if (!record)
        http_reply_error(req, 404, "TASK_NOT_FOUND", "no task %s", req->params[0]);
    else if (logs_query(req, &q) == 0 && read_logs(req, &q, st ? st : "unknown") < 0)
        http_reply_error(req, 503, "REDIS_UNAVAILABLE", "redis went away");
}

/* GET /api/tasks/{id}/logs?since=&limit=&order= : output after the cursor
 * `since` (an entry id; before it when newest first), oldest first unless
 * order=desc; `next` is the cursor for the following call. From Redis (up
 * to redis.logs_maxlen lines), or from memory (the last tasks.log_buffer
 * bytes) while Redis is away. A task neither holds: 404 TASK_NOT_FOUND. */
static int get_task_logs(struct http_req *req)
{
    struct logs_query q;
    if (logs_query(req, &q) < 0)
        return 0;
    struct task *t = cluster_task(api_env->cl, req->params[0]);
    int rc;
    if (t && (rc = read_logs(req, &q, task_status_name(t->status))) != -1)
        return rc;
    if (t)
        return memory_logs(req, t, &q);
    if (strlen(req->params[0]) < TASK_ID_MAX &&
        store_read_task(req->params[0], logs_of_stored_task, req->conn_id, req->seq) == 0)
        return HTTP_ASYNC;
    return http_reply_error(req, 404, "TASK_NOT_FOUND", "no task %s", req->params[0]);
}

static const struct http_route task_routes[] = {
    {"POST", "/api/tasks", post_task, ROUTE_ADMIN, "Submit a task", ""},
    {"GET", "/api/tasks", get_tasks, ROUTE_READ, "List tasks, newest first",
     "status worker_id limit cursor offset"},
    {"GET", "/api/tasks/{id}", get_task, ROUTE_READ, "One task with assignment and result", ""},
    {"DELETE", "/api/tasks/{id}", delete_task, ROUTE_ADMIN, "Cancel a task", "grace"},
    {"GET", "/api/tasks/{id}/logs", get_task_logs, ROUTE_READ, "A task's output", "since limit order"},
};

/* Adds the task routes. Returns 0 or -1. */
int api_tasks_register(void)
{
    return router_add(task_routes, sizeof(task_routes) / sizeof(task_routes[0]));
}
