/* Typed reads: what the rest of gantryd asks Redis for, by name and id,
 * answered with parsed entries and records (never a hiredis reply, never a
 * key). Every read is asynchronous: fn is called exactly once, with ok = 0
 * when Redis is away or the connection drops first, unless the call itself
 * returns -1 (Redis not connected: fn is not called). */
#ifndef GANTRY_STORE_READS_H
#define GANTRY_STORE_READS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct store_field {
    const char *name;
    const char *value;
    size_t len;
};

/* One stream entry; everything points into the reply, valid during fn. */
struct store_entry {
    const char *id;               /* "<ms>-<seq>" */
    uint64_t ms, seq;
    size_t nfields;
    const struct store_field *fields;
};

enum store_stream {
    STREAM_WORKER_TELEMETRY,      /* id: a worker id */
    STREAM_GPU,                   /* id: a GPU uuid */
    STREAM_TASK_LOGS,             /* id: a task id */
    STREAM_EVENTS,                /* id: ignored */
};

struct store_range {
    const char *start, *end;      /* entry ids or ms; NULL: open */
    int start_after;              /* start is a cursor: exclusive */
    long count;                   /* at most; > 0 */
    int newest_first;
};

typedef void (*store_entries_fn)(int ok, const struct store_entry *e, size_t n,
                                 uint64_t a, uint64_t b);
typedef void (*store_record_fn)(int ok, json_t *record, uint64_t a, uint64_t b);

int store_read_range(enum store_stream s, const char *id, const struct store_range *r,
                     store_entries_fn fn, uint64_t a, uint64_t b);
int store_read_task(const char *task_id, store_record_fn fn, uint64_t a, uint64_t b);
const char *store_entry_get(const struct store_entry *e, const char *name, size_t *len);

#endif
