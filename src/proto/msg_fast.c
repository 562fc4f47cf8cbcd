/* The heartbeat hot path: decoding without a JSON tree (fastjson.h). It
 * takes only frames made of the fields a heartbeat has, each once, and
 * fills the same struct as msg_decode_heartbeat; anything else (an
 * unknown or repeated key, a malformed frame, a wrong field) it declines,
 * and the caller takes the jansson path, which decides and names the
 * problem. tests/fuzz/fuzz_msg.c checks the two agree. */
#include <stddef.h>
#include <string.h>

#include "fastjson.h"
#include "msg.h"

enum { K_TYPE = 1, K_SEQ = 2, K_TS = 4, K_CPU = 8, K_MEM = 16, K_DISK = 32, K_GPU = 64,
       K_GPUS = 128, K_TASKS = 256, K_ACK = 512 };

/* A number, or null (absent): 1 when a number was read, 0 for null. */
static int num_or_null(struct fj *j, double *v)
{
    if (fj_is_null(j))
        return 0;
    return fj_number(j, v) < 0 ? -1 : 1;
}

static int gpu_entry(struct fj *j, struct hb_gpu *g)
{
    const char *key, *s;
    size_t len;
    double v;
    int count = 0, rc;
    memset(g, 0, sizeof(*g));
    g->index = -1;
    if (fj_object(j) < 0)
        return -1;
    unsigned seen = 0;
    while ((rc = fj_more(j, '}', &count)) == 1) {
        if (fj_key(j, &key) < 0)
            return -1;
        int m = gpu_metric_by_proto(key);
        unsigned bit = m >= 0 ? 1u << m : strcmp(key, "uuid") == 0 ? 1u << 13
                       : strcmp(key, "index") == 0 ? 1u << 14 : strcmp(key, "timestamp") == 0 ? 1u << 15 : 0;
        if (!bit || (seen & bit))
            return -1;            /* unknown or repeated: the full decoder decides */
        seen |= bit;
        if (strcmp(key, "uuid") == 0) {
            if (fj_string(j, &s, &len) < 0)
                return -1;
            g->uuid = s;
        } else {
            int got = num_or_null(j, &v);
            if (got < 0)
                return -1;
            if (got && bit == 1u << 14)
                g->index = (int)msg_int(v, 0, 255, -1);
            else if (got && bit == 1u << 15 && v > 0)
                g->sample.ts = v;
            else if (got && m >= 0)
                gpu_sample_set(&g->sample, m, v);
        }
    }
    return rc < 0 || (!g->uuid && g->index < 0) ? -1 : 0;
}

static int gpus(struct fj *j, struct heartbeat *hb)
{
    int count = 0, rc;
    if (fj_array(j) < 0)
        return -1;
    while ((rc = fj_more(j, ']', &count)) == 1) {
        if (hb->ngpus == HB_MAX_GPUS || gpu_entry(j, &hb->gpus[hb->ngpus]) < 0)
            return -1;
        hb->ngpus++;
    }
    return rc;
}

static int task_entry(struct fj *j, struct hb_task *t)
{
    const char *key, *s;
    size_t len;
    double v;
    int count = 0, rc;
    unsigned seen = 0;
    memset(t, 0, sizeof(*t));
    t->attempt = -1;
    if (fj_object(j) < 0)
        return -1;
    while ((rc = fj_more(j, '}', &count)) == 1) {
        if (fj_key(j, &key) < 0)
            return -1;
        unsigned bit = strcmp(key, "task_id") == 0 ? 1 : strcmp(key, "cpu_usage") == 0 ? 2
                       : strcmp(key, "memory_mib") == 0 ? 4 : strcmp(key, "attempt") == 0 ? 8 : 0;
        if (!bit || (seen & bit))
            return -1;
        seen |= bit;
        if (bit == 1) {
            if (fj_string(j, &s, &len) < 0)
                return -1;
            t->task_id = s;
        } else {
            int got = num_or_null(j, &v);
            if (got < 0)
                return -1;
            if (got && bit == 2)
                t->cpu_usage = v;
            else if (got && bit == 8)
                t->attempt = (int)msg_int(v, 0, 1e6, -1);
            else if (got)
                t->memory_mib = msg_int(v, 0, 1e15, 0);
        }
    }
    return rc;
}

static int tasks(struct fj *j, struct heartbeat *hb)
{
    int count = 0, rc;
    struct hb_task spare;
    if (fj_array(j) < 0)
        return -1;
    while ((rc = fj_more(j, ']', &count)) == 1) {
        struct hb_task *t = hb->ntasks < HB_MAX_TASKS ? &hb->tasks[hb->ntasks] : &spare;
        if (task_entry(j, t) < 0)
            return -1;
        if (t != &spare && t->task_id)
            hb->ntasks++;
    }
    return rc;
}

/* A usage field: a percentage, or null (absent). */
static int usage(struct fj *j, double *v, unsigned *has)
{
    int got = num_or_null(j, v);
    if (got < 0 || (got && (*v < 0 || *v > 100000)))
        return -1;
    *has = (unsigned)got;
    return 0;
}

static int field(struct fj *j, const char *key, struct heartbeat *hb, int *ack, unsigned *seen)
{
    static const char *const names[] = {"type", "seq", "timestamp", "cpu_usage", "memory_usage",
                                        "storage_usage", "gpu_usage", "gpus", "tasks", "ack", NULL};
    int k = 0;
    while (names[k] && strcmp(names[k], key) != 0)
        k++;
    if (!names[k])
        return -1;                /* unknown: the full decoder decides */
    if (*seen & (1u << k))
        return -1;                /* a repeated key: jansson refuses it */
    *seen |= 1u << k;
    const char *s;
    size_t len;
    double v;
    unsigned has;
    int got;
    switch (1u << k) {
    case K_TYPE: return fj_string(j, &s, &len) < 0 || strcmp(s, "heartbeat") != 0 ? -1 : 0;
    case K_SEQ:
        if ((got = num_or_null(j, &v)) <= 0)
            return -1;
        hb->seq = (uint64_t)msg_int(v, 0, MSG_SEQ_MAX, 0);
        return 0;
    case K_TS: return (got = num_or_null(j, &v)) < 0 ? -1 : (hb->timestamp = got ? v : 0, 0);
    case K_CPU: return usage(j, &hb->cpu_usage, &has) < 0 ? -1 : (hb->has_cpu = has, 0);
    case K_MEM: return usage(j, &hb->memory_usage, &has) < 0 ? -1 : (hb->has_memory = has, 0);
    case K_DISK: return usage(j, &hb->storage_usage, &has) < 0 ? -1 : (hb->has_storage = has, 0);
    case K_GPU: return usage(j, &hb->gpu_usage, &has) < 0 ? -1 : (hb->has_gpu = has, 0);
    case K_GPUS: return fj_is_null(j) ? 0 : gpus(j, hb);
    case K_TASKS: return fj_is_null(j) ? 0 : tasks(j, hb);
    default: return fj_bool(j, ack) < 0 ? -1 : 0;
    }
}

/* Decodes a heartbeat frame of n bytes at p (p is overwritten: strings are
 * unescaped in place). Returns 0 with hb and *ack filled, or -1 when the
 * frame should take the full decoder instead. */
int msg_fast_heartbeat(char *p, size_t n, struct heartbeat *hb, int *ack)
{
    struct fj j;
    const char *key;
    unsigned seen = 0;
    int count = 0, rc;
    memset(hb, 0, offsetof(struct heartbeat, gpus));
    hb->ntasks = 0;
    *ack = 0;
    fj_init(&j, p, n);
    if (fj_object(&j) < 0)
        return -1;
    while ((rc = fj_more(&j, '}', &count)) == 1)
        if (fj_key(&j, &key) < 0 || field(&j, key, hb, ack, &seen) < 0)
            return -1;
    return rc < 0 || !(seen & K_TYPE) || fj_done(&j) < 0 ? -1 : 0;
}
