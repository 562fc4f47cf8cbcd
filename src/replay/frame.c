#include "frame.h"

#include <inttypes.h>
#include <stdio.h>

#include "proto/msg.h"

/* Appends s as a JSON string (s is valid UTF-8). Returns 0 or -1. */
int replay_json_string(struct buf *out, const char *s)
{
    int rc = buf_append(out, "\"", 1);
    for (const char *p = s; rc == 0 && *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            rc = buf_printf(out, "\\%c", c);
        else if (c < 0x20)
            rc = buf_printf(out, "\\u%04x", c);
        else
            rc = buf_append(out, p, 1);
    }
    return rc == 0 ? buf_append(out, "\"", 1) : -1;
}

/* Seconds with milliseconds, exactly: 1752871354000 -> 1752871354.000. */
static int append_time(struct buf *out, int64_t ms)
{
    return buf_printf(out, "%" PRId64 ".%03d", ms / 1000, (int)(ms % 1000));
}

static int open_gpu(struct buf *out, const struct replay_gpu *g, int64_t ts_ms)
{
    if (buf_append_str(out, "{\"uuid\":") < 0 || replay_json_string(out, g->info.uuid) < 0 ||
        buf_printf(out, ",\"index\":%d,\"timestamp\":", g->info.index) < 0)
        return -1;
    return append_time(out, ts_ms);
}

/* Appends one heartbeat frame (newline included) with the samples of the
 * points from..to, which are one host's at one file time (see
 * replay_host_run), stamped ts_ms (ms since the epoch, > 0). Adds the
 * number of GPU samples to *samples. Returns 0 or -1 (out of memory; out
 * may then hold part of a frame: the caller truncates it). */
int replay_frame_heartbeat(struct buf *out, const struct replay_data *d, size_t from,
                           size_t to, uint64_t seq, int64_t ts_ms, unsigned *samples)
{
    if (buf_printf(out, "{\"type\":\"heartbeat\",\"seq\":%" PRIu64 ",\"timestamp\":", seq) < 0 ||
        append_time(out, ts_ms) < 0 || buf_append_str(out, ",\"gpus\":[") < 0)
        return -1;
    for (size_t i = from; i < to; i++) {
        const struct replay_point *p = &d->points[i];
        if (i == from || p->gpu != p[-1].gpu) {
            if ((i > from && buf_append_str(out, "},") < 0) ||
                open_gpu(out, d->gpus[p->gpu], ts_ms) < 0)
                return -1;
            (*samples)++;
        }
        if (buf_printf(out, ",\"%s\":%s", gpu_metric_names[p->metric].proto,
                       d->nums.data + p->num) < 0)
            return -1;
    }
    return buf_append_str(out, to > from ? "}]}\n" : "]}\n");
}

/* Appends a heartbeat without samples, which keeps an idle host active.
 * Returns 0 or -1. */
int replay_frame_keepalive(struct buf *out, uint64_t seq)
{
    return buf_printf(out, "{\"type\":\"heartbeat\",\"seq\":%" PRIu64 "}\n", seq);
}

static json_t *gpu_list(const struct replay_data *d, const struct replay_host *h)
{
    json_t *gpus = json_array();
    for (int i = 0; gpus && i < h->ngpus; i++) {
        const struct gpu_info *g = &d->gpus[h->gpus[i]]->info;
        json_t *o = json_pack("{s:i,s:s,s:s,s:s,s:I}", "index", g->index, "uuid", g->uuid,
                              "model", g->model, "device", g->device, "memory_mib",
                              (json_int_t)g->memory_mib);
        if (json_array_append_new(gpus, o) < 0) {
            json_decref(gpus);
            return NULL;
        }
    }
    return gpus;
}

/* Returns the hello of host number `host` (its GPUs by index, no CPU or
 * memory of its own, the host-wide labels of labels_raw), or NULL when
 * memory ran out. The caller owns it. */
json_t *replay_frame_hello(const struct replay_data *d, int host, const char *token)
{
    const struct replay_host *h = d->hosts[host];
    json_t *gpus = gpu_list(d, h);
    if (!gpus)
        return NULL;
    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:{s:i,s:i,s:o},s:[s],s:O?}", "type", "hello",
                     "version", PROTO_VERSION, "worker_id", h->name, "hostname", h->name,
                     "token", token, "agent_version", "gantry-replay " GANTRY_VERSION,
                     "capacity", "cpu", 0, "memory_mib", 0, "gpus", gpus, "executors",
                     "process", "labels", h->labels);
}
