/* The WebSocket messages, one encoder per kind whatever the source: a live
 * change in memory or an entry read back from a Redis stream gives the
 * same fields with the same types. */
#include <stdlib.h>
#include <string.h>

#include "pubsub_int.h"
#include "views.h"

/* j as compact text (j is freed); NULL on no memory. The caller frees. */
char *pubsub_msg_text(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(j);
    return s;
}

/* {"type":"telemetry","worker_id","data":<the worker's telemetry>}. */
json_t *pubsub_msg_telemetry(const struct worker *w)
{
    return json_pack("{s:s,s:s,s:o}", "type", "telemetry", "worker_id", w->id, "data",
                     view_worker_telemetry(pubsub.cl, w, VIEW_RFC3339));
}

static const char *metric_name(enum gpu_metric m, enum metric_form f)
{
    static char full[GM_COUNT][40];
    switch (f) {
    case FORM_DCGM:
        return gpu_metric_names[m].dcgm;
    case FORM_DCGM_FULL:
        snprintf(full[m], sizeof(full[m]), "DCGM_FI_DEV_%s", gpu_metric_names[m].dcgm);
        return full[m];
    case FORM_PROTO:
        return gpu_metric_names[m].proto;
    default:
        return gpu_metric_names[m].api;
    }
}

/* The sample's metrics that s wants, named as s asked for them. */
static json_t *metrics(const struct sub *s, const struct gpu_sample *sample)
{
    json_t *j = json_object();
    for (int m = 0; m < GM_COUNT; m++) {
        if (!gpu_sample_has(sample, m) || (s->metrics && !((s->metrics >> m) & 1)))
            continue;
        json_object_set_new(j, metric_name((enum gpu_metric)m, (enum metric_form)s->forms[m]),
                            view_number(sample->v[m]));
    }
    return j;
}

/* A GPU sample for subscription s: {"type":"gpu", id, uuid, hostname,
 * gpu_id, model_name, timestamp, metrics} on Gantry's gpus topic, or the
 * GPU pipeline's {"type":"telemetry_update", timestamp, gpu_uuid, data,
 * ...}. NULL when s wants none of its metrics. */
json_t *pubsub_msg_gpu(const struct sub *s, const struct view_gpu_ref *ref, const char *id,
                       const struct gpu_sample *sample)
{
    if (s->metrics && !(sample->present & s->metrics))
        return NULL;
    json_t *ts = view_time(sample->ts);
    if (s->style == STYLE_PIPELINE)
        return json_pack("{s:s,s:o,s:s,s:o,s:s,s:s,s:i,s:s}", "type", "telemetry_update",
                         "timestamp", ts, "gpu_uuid", ref->info.uuid, "data", metrics(s, sample),
                         "id", id, "hostname", ref->hostname, "gpu_id", ref->info.index,
                         "model_name", ref->info.model);
    return json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:o,s:o}", "type", "gpu", "id", id, "uuid",
                     ref->info.uuid, "hostname", ref->hostname, "gpu_id", ref->info.index,
                     "model_name", ref->info.model, "timestamp", ts, "metrics", metrics(s, sample));
}

/* {"type":"log", task_id, id, stream, data, ts}; ts is taken. */
json_t *pubsub_msg_log(const char *task_id, const char *id, const char *stream, const char *data,
                       size_t len, json_t *ts)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s%,s:o}", "type", "log", "task_id", task_id, "id", id,
                     "stream", stream, "data", data, len, "ts", ts);
}

/* {"type":"end", task_id, status, exit_code, reason}; the values are taken. */
json_t *pubsub_msg_end(const char *task_id, const char *status, json_t *exit_code, json_t *reason)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o}", "type", "end", "task_id", task_id, "status", status,
                     "exit_code", exit_code, "reason", reason);
}

/* {"type":"event", id, event}; event is taken. */
json_t *pubsub_msg_event(const char *id, json_t *event)
{
    return json_pack("{s:s,s:s,s:o}", "type", "event", "id", id, "event", event);
}

/* A worker's stored heartbeat: {"type":"telemetry", worker_id, id, data}
 * with its fields as numbers and its time. */
static json_t *stored_telemetry(const struct sub *s, const struct store_entry *e)
{
    json_t *data = json_object();
    for (size_t k = 0; k < e->nfields; k++)
        json_object_set_new(data, e->fields[k].name, view_number(strtod(e->fields[k].value, NULL)));
    json_object_set_new(data, "timestamp", view_time(e->ms / 1000.0));
    return json_pack("{s:s,s:s,s:s,s:o}", "type", "telemetry", "worker_id", s->key, "id", e->id,
                     "data", data);
}

/* One stream entry as the message its subscription's live stream sends. */
json_t *pubsub_msg_history(const struct sub *s, const struct store_entry *e)
{
    size_t len = 0;
    switch (s->topic) {
    case TOPIC_EVENTS:
        return pubsub_msg_event(e->id, view_event_entry(e));
    case TOPIC_LOGS: {
        const char *stream = store_entry_get(e, "stream", NULL);
        const char *ts = store_entry_get(e, "ts", NULL);
        const char *data = store_entry_get(e, "data", &len);
        return pubsub_msg_log(s->key, e->id, stream ? stream : "stdout", data ? data : "", len,
                              ts ? json_string(ts) : json_null());
    }
    case TOPIC_GPUS: {
        struct view_gpu_ref ref;
        struct gpu_sample sample;
        const struct worker_gpu *g = cluster_gpu(pubsub.cl, s->key);
        if (g)
            view_gpu_ref(g, &ref);
        else
            memset(&ref, 0, sizeof(ref));
        snprintf(ref.info.uuid, sizeof(ref.info.uuid), "%.63s", s->key);
        view_sample_from_entry(e, &sample);
        return pubsub_msg_gpu(s, &ref, e->id, &sample);
    }
    default:
        return stored_telemetry(s, e);
    }
}
