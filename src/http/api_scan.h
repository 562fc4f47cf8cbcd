/* GPU samples of one GPU or many in a window, as one paged time series
 * (api_scan.c): what /api/v1/gpus/{uuid}/telemetry, /api/v1/telemetry and
 * the cluster hierarchy's GPU metrics answer. */
#ifndef GANTRY_API_SCAN_H
#define GANTRY_API_SCAN_H

#include "api.h"
#include "views_gpu.h"

#define API_SCAN_MAX_OFFSET 100000L
#define API_SCAN_MAX_LIMIT 10000L

struct api_scan_args {
    struct api_window win;
    long limit, offset;
    int newest_first;
    uint16_t mask;                /* metrics kept; 0 = all */
};

int api_scan_query(struct http_req *req, long def, long max, struct api_scan_args *args);
int api_scan_gpus(struct http_req *req, const struct view_gpu_ref *gpus, size_t n,
                  const struct api_scan_args *args);

#endif
