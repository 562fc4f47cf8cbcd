/* Typed reads over the connection: stream ranges as parsed entries, task
 * records as JSON. The callers name a stream and an id; the keys and the
 * replies stay here. */
#include <stdlib.h>
#include <string.h>

#include "store/keys.h"
#include "store_int.h"

static const char *const stream_prefix[] = {
    [STREAM_WORKER_TELEMETRY] = KEY_TELEMETRY,
    [STREAM_GPU] = KEY_GPU,
    [STREAM_TASK_LOGS] = KEY_TASK,
    [STREAM_EVENTS] = KEY_EVENTS,
};

/* Returns the value of field name in e (and its length), or NULL. */
const char *store_entry_get(const struct store_entry *e, const char *name, size_t *len)
{
    for (size_t i = 0; i < e->nfields; i++) {
        if (strcmp(e->fields[i].name, name) == 0) {
            if (len)
                *len = e->fields[i].len;
            return e->fields[i].value;
        }
    }
    return NULL;
}

static int entry_ok(const redisReply *e)
{
    return e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
           e->element[0]->type == REDIS_REPLY_STRING && e->element[1]->type == REDIS_REPLY_ARRAY;
}

/* XRANGE's [[id, [f, v, ...]], ...] -> entries pointing into r. Returns
 * the count, or -1 (no memory); *out is malloc()ed. */
static long parse_entries(const redisReply *r, struct store_entry **out)
{
    size_t nf = 0, n = 0;
    for (size_t i = 0; i < r->elements; i++)
        if (entry_ok(r->element[i]))
            nf += r->element[i]->element[1]->elements / 2;
    struct store_entry *e = malloc((r->elements + 1) * sizeof(*e) + (nf + 1) * sizeof(struct store_field));
    if (!e)
        return -1;
    struct store_field *f = (struct store_field *)(void *)(e + r->elements + 1);
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *x = r->element[i];
        if (!entry_ok(x))
            continue;
        unsigned long long ms = 0, seq = 0;
        e[n].id = x->element[0]->str;
        sscanf(e[n].id, "%llu-%llu", &ms, &seq);
        e[n].ms = ms;
        e[n].seq = seq;
        e[n].fields = f;
        e[n].nfields = 0;
        const redisReply *kv = x->element[1];
        for (size_t k = 0; k + 1 < kv->elements; k += 2) {
            if (kv->element[k]->type != REDIS_REPLY_STRING ||
                kv->element[k + 1]->type != REDIS_REPLY_STRING)
                continue;
            f->name = kv->element[k]->str;
            f->value = kv->element[k + 1]->str;
            f->len = kv->element[k + 1]->len;
            f++;
            e[n].nfields++;
        }
        n++;
    }
    *out = e;
    return (long)n;
}

static void decode_range(redisReply *r, void (*user)(void), uint64_t a, uint64_t b)
{
    store_entries_fn fn = (store_entries_fn)user;
    struct store_entry *e = NULL;
    long n;
    if (!r || r->type != REDIS_REPLY_ARRAY || (n = parse_entries(r, &e)) < 0) {
        fn(0, NULL, 0, a, b);
        return;
    }
    fn(1, e, (size_t)n, a, b);
    free(e);
}

static void bound(struct resp_cmd *c, const char *id, const char *open, int exclusive)
{
    if (!id)
        resp_str(c, open);
    else if (exclusive)
        resp_cat(c, "(", id, "");
    else
        resp_str(c, id);
}

/* Reads entries of stream s (of worker, GPU or task `id`) in range r,
 * oldest first or newest first; fn gets them parsed. Returns 0, or -1
 * when Redis is not connected (fn not called). */
int store_read_range(enum store_stream s, const char *id, const struct store_range *r,
                     store_entries_fn fn, uint64_t a, uint64_t b)
{
    struct resp_cmd *c = store_cmd();
    resp_str(c, r->newest_first ? "XREVRANGE" : "XRANGE");
    if (s == STREAM_EVENTS)
        resp_str(c, KEY_EVENTS);
    else
        key_arg(c, stream_prefix[s], id, s == STREAM_TASK_LOGS ? KEY_LOGS_SUFFIX : "");
    if (r->newest_first) {
        bound(c, r->end, "+", 0);
        bound(c, r->start, "-", r->start_after);
    } else {
        bound(c, r->start, "-", r->start_after);
        bound(c, r->end, "+", 0);
    }
    resp_str(c, "COUNT");
    resp_int(c, r->count > 0 ? r->count : 1);
    return store_read_decoded(c, decode_range, (void (*)(void))fn, a, b);
}

static void decode_record(redisReply *r, void (*user)(void), uint64_t a, uint64_t b)
{
    store_record_fn fn = (store_record_fn)user;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        fn(0, NULL, a, b);
        return;
    }
    json_t *j = store_task_json(r);
    fn(1, j, a, b);
    json_decref(j);
}

/* Reads the record of task_id (the task's JSON, as the API shows it);
 * fn gets NULL for a task Redis does not have. Returns 0 or -1. */
int store_read_task(const char *task_id, store_record_fn fn, uint64_t a, uint64_t b)
{
    if (strlen(task_id) >= TASK_ID_MAX)
        return -1;
    struct resp_cmd *c = store_cmd();
    resp_str(c, "HGETALL");
    key_arg(c, KEY_TASK, task_id, "");
    return store_read_decoded(c, decode_record, (void (*)(void))fn, a, b);
}
