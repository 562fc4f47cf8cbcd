/* What a GraphQL request brings: the POST body or GET parameters, a time
 * series window in a field's arguments, and a submitted task's input in
 * REST's names. No I/O; unit-tested in tests/unit/test_graphql_glue.c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api_graphql.h"
#include "core/timefmt.h"

/* TaskInput's fields and the REST body's names for them: task_from_json()
 * validates a submission whichever door it came through. */
const struct api_gql_member api_gql_task_input[] = {
    {"dockerImage", "String", "docker_image", "An image to run (the docker executor)."},
    {"command", "JSON", "command",
     "argv as a list of strings, or one string run with /bin/sh -c."},
    {"env", "JSON", "env", "Environment variables: an object of strings."},
    {"cpuRequired", "Float", "cpu_required", "CPU cores (default 1)."},
    {"memoryRequired", "Int", "memory_required", "Memory in MiB (default 256)."},
    {"gpuRequired", "Float", "gpu_required",
     "GPUs: a fraction below 1 is a share of one GPU, else whole GPUs."},
    {"gpuModel", "String", "gpu_model", "Models allowed, such as \"H100|A100\"."},
    {"storageRequired", "Int", "storage_required", "Scratch storage in MiB."},
    {"priority", "Int", "priority", "0 to 10 (default 5)."},
    {"userId", "String", "user_id", NULL},
    {"tag", "String", "tag", NULL},
    {"labels", "JSON", "labels", "Worker labels the task needs: an object of strings."},
    {"pinnedWorker", "String", "pinned_worker", "The only worker it may run on."},
    {"maxAttempts", "Int", "max_attempts", "Runs allowed when workers are lost (default 3)."},
    {"timeout", "Float", "timeout", "Seconds before it is stopped."},
    {NULL, NULL, NULL, NULL},
};

/* {"errors": [{"message": ...}]}, a new reference. */
json_t *api_gql_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return json_pack("{s:[{s:s}]}", "errors", "message", msg);
}

/* Reads a POST body ({"query", "variables", "operationName"}) into in,
 * borrowing from body. Returns 0, or -1 with the reason in err. */
int api_gql_parse_post(json_t *body, struct api_gql_input *in, char *err, size_t errlen)
{
    json_t *q = json_object_get(body, "query");
    json_t *v = json_object_get(body, "variables");
    json_t *op = json_object_get(body, "operationName");
    memset(in, 0, sizeof(*in));
    if (!json_is_object(body))
        snprintf(err, errlen, "The body must be a JSON object with a \"query\".");
    else if (!json_is_string(q) || json_string_length(q) == 0)
        snprintf(err, errlen, "The body's \"query\" must be a non-empty string.");
    else if (v && !json_is_object(v) && !json_is_null(v))
        snprintf(err, errlen, "The body's \"variables\" must be an object.");
    else if (op && !json_is_string(op) && !json_is_null(op))
        snprintf(err, errlen, "The body's \"operationName\" must be a string.");
    else {
        in->query = json_string_value(q);
        in->len = json_string_length(q);
        in->variables = json_is_object(v) ? v : NULL;
        in->operation_name = json_string_value(op);
        return 0;
    }
    return -1;
}

/* Parses the variables parameter of a GET (JSON text: an object, or
 * "null"; NULL or "" for none) into *out (a new reference or NULL).
 * Returns 0, or -1 with the reason in err. */
int api_gql_parse_variables(const char *text, json_t **out, char *err, size_t errlen)
{
    json_error_t je;
    *out = NULL;
    if (!text || !*text)
        return 0;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!v || (!json_is_object(v) && !json_is_null(v))) {
        snprintf(err, errlen, "The \"variables\" parameter must be a JSON object%s%s.",
                 v ? "" : ": ", v ? "" : je.text);
        json_decref(v);
        return -1;
    }
    if (json_is_null(v))
        json_decref(v);
    else
        *out = v;
    return 0;
}

static int time_arg(struct gql_call *c, const char *name, int64_t *ms, int *has)
{
    const char *s = json_string_value(gql_call_arg(c, name));
    double t;
    *has = s != NULL;
    if (!s)
        return 0;
    if (time_parse(s, &t) < 0)
        return -1;
    *ms = time_ms(t);
    return 0;
}

/* Reads a series' arguments (startTime, endTime: RFC 3339, inclusive;
 * limit: 1..max_limit; order) into w and charges its limit to the
 * request's points (a series costs the most it may return). Returns
 * GQL_OK, or GQL_ERROR with the field's message set. */
enum gql_status api_gql_window(struct gql_call *c, long max_limit, struct api_gql_window *w)
{
    json_t *limit = gql_call_arg(c, "limit");
    const char *order = json_string_value(gql_call_arg(c, "order"));
    memset(w, 0, sizeof(*w));
    if (time_arg(c, "startTime", &w->start_ms, &w->has_start) < 0 ||
        time_arg(c, "endTime", &w->end_ms, &w->has_end) < 0)
        return gql_fail(c, "startTime and endTime must be RFC 3339 times like "
                        "2025-07-18T20:42:34Z.");
    if (w->has_start && w->has_end && w->end_ms < w->start_ms)
        return gql_fail(c, "endTime is before startTime.");
    w->limit = json_is_integer(limit) ? (long)json_integer_value(limit) : 0;
    if (w->limit < 1 || w->limit > max_limit)
        return gql_fail(c, "limit must be a whole number from 1 to %ld.", max_limit);
    w->desc = order && strcmp(order, "DESC") == 0;
    return gql_charge(c, w->limit);
}

/* w as a fetch's arguments ({start, end, after, limit, desc}: what
 * api_gql_fetch_range asks the driver to read). A new reference. */
json_t *api_gql_window_args(const struct api_gql_window *w)
{
    return json_pack("{s:o,s:o,s:b,s:I,s:b}", "start",
                     w->has_start ? json_integer(w->start_ms) : json_null(), "end",
                     w->has_end ? json_integer(w->end_ms) : json_null(), "after", 0, "limit",
                     (json_int_t)w->limit, "desc", w->desc);
}

/* An optional whole-number argument (absent or null: def) from 0 to max
 * into *out. Returns 0, or -1 after failing the field. */
int api_gql_arg_count(struct gql_call *c, const char *name, long def, long max, long *out)
{
    json_t *v = gql_call_arg(c, name);
    *out = json_is_integer(v) ? (long)json_integer_value(v) : def;
    if (*out >= 0 && *out <= max)
        return 0;
    gql_fail(c, "%s must be a whole number from 0 to %ld.", name, max);
    return -1;
}

/* The window of a list of total items that the field's limit (default:
 * all) and offset arguments ask for. Returns 0, or -1 after failing the
 * field. */
int api_gql_page(struct gql_call *c, size_t total, struct fleet_page *p)
{
    long limit, offset;
    if (api_gql_arg_count(c, "limit", API_GQL_MAX_LIST, API_GQL_MAX_LIST, &limit) < 0 ||
        api_gql_arg_count(c, "offset", 0, API_GQL_MAX_LIST, &offset) < 0)
        return -1;
    *p = fleet_page(total, (size_t)offset, (size_t)limit);
    return 0;
}

/* Adds limit and offset arguments to a list field. */
void api_gql_page_args(struct gql_field *f)
{
    gql_field_arg(f, "limit", "Int", NULL, "At most this many (default: all).");
    gql_field_arg(f, "offset", "Int", "0", "Skip this many first.");
}

/* TaskInput (coerced: only the fields given, nulls kept) as the body POST
 * /api/tasks takes. A new reference, or NULL on no memory. */
json_t *api_gql_task_body(json_t *input)
{
    json_t *body = json_object();
    for (const struct api_gql_member *m = api_gql_task_input; body && m->name; m++) {
        json_t *v = json_object_get(input, m->name);
        if (v && json_object_set(body, m->json, v) < 0) {
            json_decref(body);
            return NULL;
        }
    }
    return body;
}

/* The TaskInput name of a REST task field (for error messages), or the
 * name itself when it has none. */
const char *api_gql_task_field(const char *snake)
{
    for (const struct api_gql_member *m = api_gql_task_input; m->name; m++)
        if (strcmp(m->json, snake) == 0)
            return m->name;
    return snake;
}
