/* Query parameters the handlers share: numbers, pages (limit, offset), the
 * order of a time series, a time window, and metric filters. Each reader
 * replies 400 itself when the value is wrong and returns -1; 0 otherwise. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "core/parse.h"
#include "core/timefmt.h"

/* Reads ?name= as a whole number in [min, max] (def when absent). */
int api_query_long(struct http_req *req, const char *name, long def, long min, long max,
                   long *out)
{
    char v[32], err[64];
    int rc = http_query_param(req, name, v, sizeof(v));
    *out = def;
    if (rc == 0)
        return 0;
    if (rc < 0 || parse_long(v, out, err, sizeof(err)) < 0 || *out < min || *out > max) {
        http_reply_error(req, 400, "INVALID_PARAMETER", "%s must be a whole number from %ld to %ld",
                         name, min, max);
        return -1;
    }
    return 0;
}

/* Reads ?limit= (1..max, def when absent) and ?offset= (0..). */
int api_query_page(struct http_req *req, long def, long max, long *limit, long *offset)
{
    if (api_query_long(req, "limit", def, 1, max, limit) < 0)
        return -1;
    return api_query_long(req, "offset", 0, 0, API_MAX_OFFSET, offset);
}

/* Reads ?order=asc|desc into *newest_first (asc when absent). */
int api_query_order(struct http_req *req, int *newest_first)
{
    char v[8];
    int rc = http_query_param(req, "order", v, sizeof(v));
    *newest_first = rc == 1 && strcmp(v, "desc") == 0;
    if (rc < 0 || (rc == 1 && strcmp(v, "asc") != 0 && strcmp(v, "desc") != 0)) {
        http_reply_error(req, 400, "INVALID_PARAMETER", "order must be asc or desc");
        return -1;
    }
    return 0;
}

/* Adds the metrics of a comma-separated list to *mask. Returns 0, or -1
 * naming the unknown one in bad. */
static int add_metrics(const char *list, uint16_t *mask, char *bad, size_t badlen)
{
    char name[64];
    for (const char *p = list; *p; p += *p == ',') {
        size_t n = strcspn(p, ",");
        snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), p);
        p += n;
        if (!*name)
            continue;
        int m = gpu_metric_by_name(name);
        if (m < 0) {
            snprintf(bad, badlen, "%s", name);
            return -1;
        }
        *mask = (uint16_t)(*mask | (1u << m));
    }
    return 0;
}

/* Reads every ?metric= and ?metric_name= (repeated, or comma-separated;
 * API, protocol or DCGM names) into *mask: the metrics to keep, 0 = all. */
int api_query_metrics(struct http_req *req, uint16_t *mask)
{
    size_t pos = 0, rawlen;
    const char *raw;
    char name[64], value[512], bad[64] = "";
    int rc;
    *mask = 0;
    while ((rc = http_query_next(req->query, &pos, name, sizeof(name), &raw, &rawlen)) != 0) {
        if (rc < 0 || (strcmp(name, "metric") != 0 && strcmp(name, "metric_name") != 0))
            continue;
        if (http_query_decode(raw, rawlen, value, sizeof(value)) < 0 ||
            add_metrics(value, mask, bad, sizeof(bad)) < 0) {
            http_reply_error(req, 400, "INVALID_PARAMETER",
                             "%s '%s' is not a GPU metric (gpu_utilization, memory_utilization, "
                             "memory_used_mb, memory_free_mb, temperature, power_draw, sm_clock_mhz, "
                             "memory_clock_mhz, encoder_utilization, decoder_utilization, or their "
                             "DCGM names)", name, bad);
            return -1;
        }
    }
    return 0;
}

static int time_param(struct http_req *req, const char *name, int64_t *ms)
{
    char v[64];
    double t;
    int rc = http_query_param(req, name, v, sizeof(v));
    if (rc == 0)
        return 0;
    if (rc < 0 || time_parse(v, &t) < 0) {
        http_reply_error(req, 400, "INVALID_TIME_RANGE",
                         "%s must be an RFC 3339 time like 2025-07-18T20:42:34Z", name);
        return -1;
    }
    *ms = time_ms(t);
    return 1;
}

/* Reads ?start_time=&end_time= (RFC 3339, inclusive) and ?window= (a
 * duration back from end_time, or from now without it) into w. */
int api_query_window(struct http_req *req, struct api_window *w)
{
    char v[32], why[64];
    double span;
    memset(w, 0, sizeof(*w));
    if ((w->has_start = time_param(req, "start_time", &w->start_ms)) < 0 ||
        (w->has_end = time_param(req, "end_time", &w->end_ms)) < 0)
        return -1;
    int rc = http_query_param(req, "window", v, sizeof(v));
    if (rc != 0 && (rc < 0 || parse_duration(v, &span, why, sizeof(why)) < 0 || w->has_start)) {
        http_reply_error(req, 400, "INVALID_PARAMETER", "%s",
                         w->has_start ? "give window or start_time, not both"
                                      : "window must be a duration like 30s, 5m or 2h");
        return -1;
    }
    if (rc == 1) {
        w->start_ms = (w->has_end ? w->end_ms : time_ms(time_wall())) - (int64_t)(span * 1000);
        w->has_start = 1;
    }
    if (w->has_start && w->has_end && w->end_ms < w->start_ms) {
        http_reply_error(req, 400, "INVALID_TIME_RANGE", "end_time is before start_time");
        return -1;
    }
    return 0;
}

/* Replies a page of a list: {success, count, total, offset, data}. */
int api_reply_list(struct http_req *req, json_t *data, size_t total, size_t offset)
{
    return http_reply_json(req, 200, json_pack("{s:b,s:I,s:I,s:I,s:o}", "success", 1, "count",
                                               (json_int_t)json_array_size(data), "total",
                                               (json_int_t)total, "offset", (json_int_t)offset,
                                               "data", data));
}
