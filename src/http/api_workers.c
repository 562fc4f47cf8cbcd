/* Worker and telemetry routes of the cluster API. */
#include <string.h>

#include "api.h"
#include "openapi.h"
#include "router.h"
#include "views.h"

static struct worker *find_worker(struct http_req *req)
{
    struct worker *w = cluster_worker(api_env->cl, req->params[0]);
    if (!w)
        http_reply_error(req, 404, "WORKER_NOT_FOUND", "no worker %s", req->params[0]);
    return w;
}

/* GET /workers: worker_id -> summary. */
static int get_workers_map(struct http_req *req)
{
    json_t *m = json_object();
    struct list_node *pos;
    list_for_each(pos, &api_env->cl->worker_list) {
        const struct worker *w = container_of(pos, struct worker, all);
        json_object_set_new(m, w->id, view_worker_summary(w));
    }
    return http_reply_json(req, 200, m);
}

/* GET /telemetry, made once per change of any worker and then shared by
 * every reply until the next (connections hold a reference, not a copy). */
static struct {
    struct rbuf *body;
    uint64_t version;
} all_view;

/* Assembles {"<id>":<view>,...} from each worker's cached view (worker ids
 * need no JSON escaping). Returns NULL on no memory. */
static struct rbuf *build_telemetry(struct cluster *cl)
{
    size_t total = 3;
    struct list_node *pos;
    list_for_each(pos, &cl->worker_list) {
        struct worker *w = container_of(pos, struct worker, all);
        size_t len;
        if (!view_worker_telemetry_text(cl, w, &len))
            return NULL;
        total += strlen(w->id) + 4 + len;
    }
    struct rbuf *b = rbuf_new(total);
    if (!b)
        return NULL;
    char *p = b->data;
    *p++ = '{';
    list_for_each(pos, &cl->worker_list) {
        struct worker *w = container_of(pos, struct worker, all);
        size_t idlen = strlen(w->id);
        if (p > b->data + 1)
            *p++ = ',';
        *p++ = '"';
        memcpy(p, w->id, idlen);
        p += idlen;
        *p++ = '"';
        *p++ = ':';
        memcpy(p, w->view, w->view_len);
        p += w->view_len;
    }
    *p++ = '}';
    *p++ = '\n';
    b->len = (size_t)(p - b->data);
    return b;
}

static int get_telemetry(struct http_req *req)
{
    struct cluster *cl = api_env->cl;
    if (!all_view.body || all_view.version != cl->workers_version) {
        struct rbuf *b = build_telemetry(cl);
        if (!b)
            return http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
        rbuf_unref(all_view.body);
        all_view.body = b;
        all_view.version = cl->workers_version;
    }
    return http_reply_shared(req, 200, "application/json", all_view.body);
}

/* Drops the shared /telemetry document (shutdown). */
static void workers_free(void)
{
    rbuf_unref(all_view.body);
    all_view.body = NULL;
}

/* GET /telemetry/{worker_id} */
static int get_worker_telemetry(struct http_req *req)
{
    struct worker *w = find_worker(req);
    size_t len;
    const char *view = w ? view_worker_telemetry_text(api_env->cl, w, &len) : NULL;
    if (!w)
        return 0;
    if (!view)
        return http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
    return http_reply(req, 200, "application/json", view, len);
}

/* GET /api/workers?limit=&offset= : every worker by default (in the order
 * they became known), with the total. */
static int get_workers(struct http_req *req)
{
    long limit, offset, i = 0;
    if (api_query_page(req, API_WORKER_PAGE, API_WORKER_PAGE, &limit, &offset) < 0)
        return 0;
    json_t *a = json_array();
    struct list_node *pos;
    list_for_each(pos, &api_env->cl->worker_list) {
        if (i++ >= offset && (long)json_array_size(a) < limit)
            json_array_append_new(a, view_worker_detail(api_env->cl,
                                                        container_of(pos, struct worker, all)));
    }
    return http_reply_json(req, 200, json_pack("{s:o,s:I,s:I,s:I}", "workers", a, "count",
                                               (json_int_t)json_array_size(a), "total",
                                               (json_int_t)api_env->cl->nworkers, "offset",
                                               (json_int_t)offset));
}

/* GET /api/workers/{id}: detail with GPUs and running tasks. */
static int get_worker(struct http_req *req)
{
    struct worker *w = find_worker(req);
    if (!w)
        return 0;
    json_t *j = view_worker_one(api_env->cl, w);
    json_object_set_new(j, "gpus", view_worker_gpus(w));
    json_object_set_new(j, "running_tasks", view_running_tasks(w));
    return http_reply_json(req, 200, j);
}

/* GET /api/workers/{id}/tasks?limit=&offset= : tasks placed on it (those
 * in memory), newest first, with their total. */
static int get_worker_tasks(struct http_req *req)
{
    long limit, offset, total = 0;
    if (api_query_page(req, 100, 1000, &limit, &offset) < 0)
        return 0;
    struct worker *w = find_worker(req);
    if (!w)
        return 0;
    json_t *a = json_array();
    struct list_node *pos;
    struct cluster *cl = api_env->cl;
    for (pos = cl->task_list.prev; pos != &cl->task_list; pos = pos->prev) {
        struct task *t = container_of(pos, struct task, all);
        if (strcmp(t->worker_id, w->id) != 0)
            continue;
        if (total++ >= offset && (long)json_array_size(a) < limit)
            json_array_append_new(a, task_to_json(t));
    }
    return http_reply_json(req, 200, json_pack("{s:s,s:o,s:I,s:I,s:I}", "worker_id", w->id,
                                               "tasks", a, "count", (json_int_t)json_array_size(a),
                                               "total", (json_int_t)total, "offset",
                                               (json_int_t)offset));
}

/* POST /api/workers {worker_id, labels?}: pre-registration. */
static int post_worker(struct http_req *req)
{
    json_t *body = api_json_body(req);
    if (!body)
        return 0;
    const char *id = json_string_value(json_object_get(body, "worker_id"));
    json_t *labels = json_object_get(body, "labels");
    const char *k;
    json_t *v;
    int bad_label = labels && !json_is_object(labels);
    json_object_foreach(labels, k, v) bad_label |= !json_is_string(v);
    int rc;
    struct worker *w = NULL;
    if (!id || !worker_id_valid(id))
        rc = api_reply_field_error(req, 422, "VALIDATION_FAILED", "worker_id",
                                   "worker_id must be 1-64 letters, digits, '.', '_' or '-'");
    else if (bad_label)
        rc = api_reply_field_error(req, 422, "VALIDATION_FAILED", "labels",
                                   "labels must be an object of strings");
    else if ((rc = cluster_register(api_env->cl, id, labels, api_now(), &w)) == 1)
        rc = http_reply_error(req, 409, "WORKER_EXISTS", "worker %s is registered already", id);
    else if (rc < 0)
        rc = http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
    else {
        rc = http_reply_json(req, 201, json_pack("{s:s,s:b,s:s}", "worker_id", w->id,
                                                 "registered", 1, "state", worker_state_name(w)));
    }
    json_decref(body);
    return rc;
}

/* POST /api/workers/{id}/drain [{"drain": false} to undo] */
static int post_drain(struct http_req *req)
{
    struct worker *w = find_worker(req);
    if (!w)
        return 0;
    int drain = 1;
    if (req->body.len) {
        json_t *body = api_json_body(req);
        if (!body)
            return 0;
        json_t *d = json_object_get(body, "drain");
        if (d && !json_is_boolean(d)) {
            json_decref(body);
            return api_reply_field_error(req, 422, "VALIDATION_FAILED", "drain",
                                         "drain must be true or false");
        }
        drain = !d || json_is_true(d);
        json_decref(body);
    }
    cluster_drain(api_env->cl, w, drain, api_now());
    return http_reply_json(req, 200, json_pack("{s:s,s:s,s:b,s:i}", "worker_id", w->id, "state",
                                               worker_state_name(w), "draining", w->draining,
                                               "running_tasks_count", w->ntasks));
}

/* DELETE /api/workers/{id}: unregister; its tasks go back to the queue and
 * a connected agent is told and disconnected. */
static int delete_worker(struct http_req *req)
{
    struct worker *w = find_worker(req);
    if (!w)
        return 0;
    char id[WORKER_ID_MAX];
    snprintf(id, sizeof(id), "%s", w->id);
    cluster_unregister(api_env->cl, w, api_now());
    api_env->kick_scheduler();
    return http_reply_json(req, 200, json_pack("{s:s,s:b}", "worker_id", id, "removed", 1));
}

static const struct http_route worker_routes[] = {
    {"GET", "/api/workers", get_workers, ROUTE_READ, "Every worker with its resources",
     "limit offset"},
    {"POST", "/api/workers", post_worker, ROUTE_ADMIN, "Pre-register a worker id", ""},
    {"GET", "/api/workers/{id}", get_worker, ROUTE_READ, "One worker with GPUs and tasks", ""},
    {"DELETE", "/api/workers/{id}", delete_worker, ROUTE_ADMIN, "Unregister a worker", ""},
    {"GET", "/api/workers/{id}/tasks", get_worker_tasks, ROUTE_READ, "Tasks placed on a worker", "limit offset"},
    {"POST", "/api/workers/{id}/drain", post_drain, ROUTE_ADMIN,
     "Drain a worker: it finishes its tasks and gets no new ones", ""},
    {"GET", "/workers", get_workers_map, ROUTE_READ, "Workers by id: state and task count", ""},
    {"GET", "/telemetry", get_telemetry, ROUTE_READ, "Latest telemetry of every worker", ""},
    {"GET", "/telemetry/{worker_id}", get_worker_telemetry, ROUTE_READ,
     "Latest telemetry of one worker", ""},
};

/* Adds the worker routes. Returns 0 or -1. */
int api_workers_register(void)
{
    return router_add(worker_routes, sizeof(worker_routes) / sizeof(worker_routes[0]));
}

/* Frees what the handlers keep between requests (shutdown). */
void api_free(void)
{
    workers_free();
    openapi_free();
}
