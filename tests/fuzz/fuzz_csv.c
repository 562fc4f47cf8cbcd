/* libFuzzer: gantry-replay's input side. The bytes are a DCGM CSV: read,
 * checked and grouped as the program does, then every frame it would send
 * is encoded and decoded the way gantryd decodes it. The counts must add
 * up and every frame must be accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg.h"
#include "replay/csv.h"
#include "replay/data.h"
#include "replay/frame.h"
#include "replay/row.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_report(void *ud, long line, const char *reason)
{
    unsigned long *n = ud;
    (*n)++;
    if (line < 1 || !reason[0])
        abort();
}

static void check_frames(const struct replay_data *d)
{
    struct msg_error me;
    struct buf out = BUF_INIT;
    static struct heartbeat hb;
    static struct hello h;
    const char *token;
    int ack;
    for (int i = 0; i < d->nhosts; i++) {
        json_t *hello = replay_frame_hello(d, i, "t");
        if (!hello || msg_decode_hello(hello, &h, &token, &me) < 0)
            abort();
        json_decref(hello);
    }
    unsigned long total = 0;
    for (size_t t = 0; t < d->ntimes; t++) {
        for (size_t from = d->first[t], to; from < d->first[t + 1]; from = to) {
            to = replay_host_run(d, from, d->first[t + 1]);
            unsigned samples = 0;
            buf_reset(&out);
            if (replay_frame_heartbeat(&out, d, from, to, 1, d->times[t], &samples) < 0)
                abort();
            json_t *j = msg_parse(buf_start(&out), out.len - 1, &me);
            if (!j || msg_decode_heartbeat(j, &hb, &ack, &me) < 0 || hb.ngpus != (int)samples)
                abort();
            json_decref(j);
            total += samples;
        }
    }
    if (total != d->stats.samples)
        abort();
    buf_free(&out);
}

static void labels_alone(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    struct replay_labels l;
    char err[256], num[REPLAY_NUM_MAX + 1];
    double v;
    replay_labels_init(&l);
    replay_labels_parse(&l, s, err, sizeof(err));
    replay_labels_free(&l);
    replay_number(s, &v, num, sizeof(num));
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct replay_data d;
    char err[512];
    unsigned long reports = 0;
    int max_hosts = size ? data[0] % 4 : 0;
    if (replay_data_load(&d, (const char *)data, size, max_hosts, count_report, &reports, err,
                         sizeof(err)) == 0) {
        if (d.stats.rows != d.stats.used + d.stats.skipped + d.stats.filtered ||
            reports != d.stats.skipped)
            abort();
        check_frames(&d);
    }
    replay_data_free(&d);
    labels_alone(data, size);
    return 0;
}
