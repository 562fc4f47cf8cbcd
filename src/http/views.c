#include "views.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/timefmt.h"
#include "store/reads.h"

/* An RFC 3339 string, or null for no time. */
json_t *view_time(double t)
{
    char s[40];
    if (t <= 0 || time_format(t, s, sizeof(s)) < 0)
        return json_null();
    return json_string(s);
}

/* t as clock asks: an RFC 3339 string, or whole Unix seconds; null for
 * no time. */
json_t *view_clock_time(double t, enum view_clock clock)
{
    if (clock == VIEW_RFC3339 || t <= 0)
        return view_time(t);
    return json_integer((json_int_t)floor(t));
}

static json_t *round2(double v)
{
    return json_real(round(v * 100) / 100);
}

/* A number as JSON: an integer when it has no fraction. */
json_t *view_number(double v)
{
    return v == floor(v) && fabs(v) < 1e15 ? json_integer((json_int_t)v) : json_real(v);
}

/* GET /workers entry (the master/worker system's shape: last_update in
 * Unix seconds). */
json_t *view_worker_summary(const struct worker *w)
{
    return json_pack("{s:s,s:b,s:s,s:i,s:o}", "worker_id", w->id,
                     "is_active", w->state == WS_ACTIVE, "state", worker_state_name(w),
                     "running_tasks_count", w->ntasks,
                     "last_update", view_clock_time(w->last_heartbeat, VIEW_UNIX));
}

/* The metrics present in s, named as in the agent protocol (api_names = 0)
 * or the /api/v1 API (1). Absent metrics are left out, never 0. */
json_t *view_gpu_sample(const struct gpu_sample *s, int api_names)
{
    json_t *j = json_object();
    for (int m = 0; m < GM_COUNT; m++) {
        if (!gpu_sample_has(s, m))
            continue;
        const char *k = api_names ? gpu_metric_names[m].api : gpu_metric_names[m].proto;
        json_object_set_new(j, k, view_number(s->v[m]));
    }
    return j;
}

/* The worker's GPUs with their latest samples. */
json_t *view_worker_gpus(const struct worker *w)
{
    json_t *a = json_array();
    for (int i = 0; i < w->ngpus; i++) {
        const struct worker_gpu *g = &w->gpus[i];
        json_t *j = view_gpu_sample(&g->last, 0);
        json_object_set_new(j, "index", json_integer(g->info.index));
        json_object_set_new(j, "uuid", json_string(g->info.uuid));
        json_object_set_new(j, "model", json_string(g->info.model));
        json_object_set_new(j, "device", json_string(g->info.device));
        json_object_set_new(j, "memory_mib", json_integer(g->info.memory_mib));
        json_object_set_new(j, "timestamp", view_time(g->last_ts));
        json_array_append_new(a, j);
    }
    return a;
}

/* The worker's assigned and running tasks with what they hold. */
json_t *view_running_tasks(const struct worker *w)
{
    json_t *a = json_array();
    struct list_node *pos;
    list_for_each(pos, &w->tasks) {
        const struct task *t = container_of(pos, struct task, on_worker);
        json_array_append_new(a, json_pack("{s:s,s:f,s:I,s:f,s:s,s:o,s:I}", "task_id", t->id,
                                           "cpu_allocated", t->cpu,
                                           "memory_allocated", (json_int_t)t->memory_mib,
                                           "gpu_allocated", t->gpu,
                                           "status", task_status_name(t->status),
                                           "cpu_usage", round2(t->usage_cpu),
                                           "memory_usage_mib", (json_int_t)t->usage_mem_mib));
    }
    return a;
}

/* A worker's latest telemetry: the GET /telemetry entry (clock VIEW_UNIX)
 * and the /ws telemetry topic's data (VIEW_RFC3339). */
json_t *view_worker_telemetry(const struct cluster *cl, const struct worker *w,
                              enum view_clock clock)
{
    (void)cl;
    return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:I}", "worker_id", w->id,
                     "cpu_usage", round2(w->cpu_usage), "memory_usage", round2(w->memory_usage),
                     "gpu_usage", round2(w->gpu_usage), "storage_usage", round2(w->storage_usage),
                     "running_tasks", view_running_tasks(w), "gpus", view_worker_gpus(w),
                     "last_update", view_clock_time(w->last_heartbeat, clock),
                     "is_active", w->state == WS_ACTIVE, "seq", (json_int_t)w->hb_seq);
}

/* The worker's telemetry view (Unix seconds) as JSON text, made once per
 * change of the worker and reused by every reader until the next (GET
 * /telemetry and /ws/telemetry concatenate these). Returns NULL on no
 * memory. */
const char *view_worker_telemetry_text(const struct cluster *cl, struct worker *w, size_t *len)
{
    if (!w->view || w->view_version != w->version) {
        json_t *j = view_worker_telemetry(cl, w, VIEW_UNIX);
        char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
        json_decref(j);
        if (!s)
            return NULL;
        free(w->view);
        w->view = s;
        w->view_len = strlen(s);
        w->view_version = w->version;
    }
    *len = w->view_len;
    return w->view;
}

static json_t *resources(double cpu, int64_t mem, int64_t disk, double gpu)
{
    return json_pack("{s:f,s:I,s:I,s:f}", "cpu", cpu, "memory", (json_int_t)mem,
                     "storage", (json_int_t)disk, "gpu", gpu);
}

/* GET /api/workers entry: identity, state, resources total, allocated and
 * available. */
json_t *view_worker_detail(const struct cluster *cl, const struct worker *w)
{
    double cpu_t = w->cpu_cores, cpu_f = cpu_t, gpu_t = w->ngpus, gpu_f = gpu_t;
    int64_t mem_t = w->memory_mib, mem_f = mem_t, disk_t = w->storage_mib, disk_f = disk_t;
    if (w->node >= 0) {
        const struct sched_node *n = &cl->sched.nodes[w->node];
        cpu_t = n->cpu_total / 1000.0;
        cpu_f = n->cpu_free / 1000.0;
        mem_t = n->mem_total;
        mem_f = n->mem_free;
        disk_t = n->disk_total;
        disk_f = n->disk_free;
        gpu_t = n->ngpus;
        gpu_f = 0;
        for (int g = 0; g < n->ngpus; g++)
            gpu_f += n->gpu_free[g] / 1000.0;
    }
    return json_pack("{s:s,s:s,s:s,s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:i,s:s,s:o}",
                     "worker_id", w->id, "address", w->address, "state", worker_state_name(w),
                     "is_active", w->state == WS_ACTIVE,
                     "total_resources", resources(cpu_t, mem_t, disk_t, gpu_t),
                     "allocated_resources", resources(cpu_t - cpu_f, mem_t - mem_f,
                                                      disk_t - disk_f, gpu_t - gpu_f),
                     "available_resources", resources(cpu_f, mem_f, disk_f, gpu_f),
                     "labels", w->labels ? json_incref(w->labels) : json_object(),
                     "last_heartbeat", view_time(w->last_heartbeat),
                     "registered_at", view_time(w->registered_at),
                     "cpu_usage", round2(w->cpu_usage), "memory_usage", round2(w->memory_usage),
                     "gpu_usage", round2(w->gpu_usage), "running_tasks_count", w->ntasks,
                     "hostname", w->hostname, "storage_usage", round2(w->storage_usage));
}

/* One worker as GET /api/workers/{id} shows it, less the lists (GPUs,
 * running tasks) that callers add or resolve on demand. */
json_t *view_worker_one(const struct cluster *cl, const struct worker *w)
{
    json_t *j = view_worker_detail(cl, w);
    json_object_set_new(j, "heartbeats", json_integer((json_int_t)w->heartbeats));
    json_object_set_new(j, "draining", json_boolean(w->draining));
    return j;
}

/* A task's log line read back from its stream, as GET /api/tasks/{id}/logs
 * shows it: {id, ts, stream, data}. */
json_t *view_log_entry(const struct store_entry *e)
{
    size_t len = 0;
    const char *stream = store_entry_get(e, "stream", NULL);
    const char *ts = store_entry_get(e, "ts", NULL);
    const char *data = store_entry_get(e, "data", &len);
    return json_pack("{s:s,s:o,s:s,s:s%}", "id", e->id, "ts", ts ? json_string(ts) : json_null(),
                     "stream", stream ? stream : "stdout", "data", data ? data : "",
                     data ? len : 0);
}

/* A worker's heartbeat read back from its telemetry stream, as GET
 * /api/workers/{id}/metrics shows it: {id, timestamp, figures...}. */
json_t *view_heartbeat_entry(const struct store_entry *e)
{
    json_t *o = json_pack("{s:s,s:o}", "id", e->id, "timestamp", view_time(e->ms / 1000.0));
    for (size_t k = 0; o && k < e->nfields; k++)
        json_object_set_new(o, e->fields[k].name, view_number(strtod(e->fields[k].value, NULL)));
    return o;
}

/* A cluster event read back from gantry:events: the same object as
 * view_event makes of a live one (numbers as numbers). */
json_t *view_event_entry(const struct store_entry *e)
{
    json_t *o = json_object();
    for (size_t k = 0; k < e->nfields; k++) {
        const struct store_field *f = &e->fields[k];
        int number = strcmp(f->name, "attempts") == 0 || strcmp(f->name, "exit_code") == 0;
        json_object_set_new(o, f->name, number ? json_integer(strtoll(f->value, NULL, 10))
                                               : json_stringn(f->value, f->len));
    }
    return o;
}

/* A cluster event as gantry:events holds it and /ws/events streams it. */
json_t *view_event(const struct cluster_event *ev)
{
    json_t *e = json_pack("{s:s,s:o}", "type", ev->name, "time", view_time(ev->now));
    if (ev->w)
        json_object_set_new(e, "worker_id", json_string(ev->w->id));
    if (ev->t) {
        const struct task *t = ev->t;
        json_object_set_new(e, "task_id", json_string(t->id));
        json_object_set_new(e, "status", json_string(task_status_name(t->status)));
        json_object_set_new(e, "attempts", json_integer(t->attempts));
        if (!ev->w && t->worker_id[0])
            json_object_set_new(e, "worker_id", json_string(t->worker_id));
        if (t->has_exit_code)
            json_object_set_new(e, "exit_code", json_integer(t->exit_code));
        if (t->reason)
            json_object_set_new(e, "reason", json_string(t->reason));
    }
    return e;
}
