/* One row of a DCGM exporter CSV, checked: the header, the twelve columns,
 * the metric name, the value, the time, the GPU's identity, and labels_raw
 * (k="v",k2="v2") parsed and cross-checked against the columns. */
#ifndef GANTRY_REPLAY_ROW_H
#define GANTRY_REPLAY_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "replay/csv.h"

enum replay_col {
    COL_TIMESTAMP, COL_METRIC, COL_GPU_ID, COL_DEVICE, COL_UUID, COL_MODEL,
    COL_HOSTNAME, COL_CONTAINER, COL_POD, COL_NAMESPACE, COL_VALUE, COL_LABELS,
    COL_COUNT
};

#define REPLAY_MAX_LABELS 64
#define REPLAY_NUM_MAX 32         /* longest value text sent as the file has it */

struct replay_labels {
    int n;
    const char *key[REPLAY_MAX_LABELS];
    const char *value[REPLAY_MAX_LABELS];
    struct buf text;              /* the decoded names and values */
    size_t koff[REPLAY_MAX_LABELS], voff[REPLAY_MAX_LABELS];
};

struct replay_row {
    long line;
    int64_t ts_ms;                /* sample time, ms since the epoch (> 0) */
    int metric;                   /* enum gpu_metric */
    int gpu_index;                /* 0..255 */
    const char *device, *uuid, *model, *hostname;   /* borrowed from the record */
    double value;
    char num[REPLAY_NUM_MAX + 1]; /* the value as a JSON number, exact */
};

int replay_header_check(const struct csv_record *rec, char *err, size_t errlen);
int replay_row_parse(const struct csv_record *rec, struct replay_labels *labels,
                     struct replay_row *row, char *err, size_t errlen);

void replay_labels_init(struct replay_labels *l);
void replay_labels_free(struct replay_labels *l);
int replay_labels_parse(struct replay_labels *l, const char *s, char *err,
                        size_t errlen);
const char *replay_labels_get(const struct replay_labels *l, const char *key);

int replay_number(const char *s, double *v, char *json, size_t jsonlen);

#endif
