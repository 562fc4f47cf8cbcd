/* Comparing the two heartbeat decoders (for the unit test and the fuzzer:
 * whatever the fast one accepts, the full one must read the same way). */
#include <math.h>
#include <string.h>

#include "msg.h"

static int same_num(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_gpu(const struct hb_gpu *a, const struct hb_gpu *b)
{
    if (a->index != b->index || !same_str(a->uuid, b->uuid) ||
        a->sample.present != b->sample.present || !same_num(a->sample.ts, b->sample.ts))
        return 0;
    for (int m = 0; m < GM_COUNT; m++)
        if (gpu_sample_has(&a->sample, m) && !same_num(a->sample.v[m], b->sample.v[m]))
            return 0;
    return 1;
}

/* Decodes frame (n bytes) both ways. Returns 1 when the fast decoder
 * declined, 0 when both agree, -1 when they disagree (a bug). */
int msg_check_heartbeat(const char *frame, size_t n)
{
    static struct heartbeat fast, full;
    static char copy[1 << 16];
    int fast_ack, full_ack;
    struct msg_error err;
    if (n >= sizeof(copy))
        return 1;
    memcpy(copy, frame, n);
    if (msg_fast_heartbeat(copy, n, &fast, &fast_ack) < 0)
        return 1;
    json_t *j = msg_parse(frame, n, &err);
    int rc = j && msg_type_of(j) == MSG_HEARTBEAT ? msg_decode_heartbeat(j, &full, &full_ack, &err) : -1;
    if (rc < 0 || fast.seq != full.seq || !same_num(fast.timestamp, full.timestamp) ||
        fast_ack != full_ack || fast.has_cpu != full.has_cpu || fast.has_memory != full.has_memory ||
        fast.has_storage != full.has_storage || fast.has_gpu != full.has_gpu ||
        fast.ngpus != full.ngpus || fast.ntasks != full.ntasks)
        rc = -1;
    for (int i = 0; rc == 0 && i < fast.ngpus; i++)
        if (!same_gpu(&fast.gpus[i], &full.gpus[i]))
            rc = -1;
    for (int i = 0; rc == 0 && i < fast.ntasks; i++)
        if (!same_str(fast.tasks[i].task_id, full.tasks[i].task_id) ||
            !same_num(fast.tasks[i].cpu_usage, full.tasks[i].cpu_usage) ||
            fast.tasks[i].memory_mib != full.tasks[i].memory_mib)
            rc = -1;
    if (rc == 0 && ((fast.has_cpu && !same_num(fast.cpu_usage, full.cpu_usage)) ||
                    (fast.has_memory && !same_num(fast.memory_usage, full.memory_usage))))
        rc = -1;
    json_decref(j);
    return rc;
}
