/* GPU samples in a time window, over one GPU or many, as one time series:
 * ordered by time (oldest or newest first; ties by the GPUs' fleet order),
 * filtered to some metrics, paged by offset and limit. The GPUs' streams
 * are read one after another in chunks from the store; only the first
 * offset + limit + 1 samples of the merged series are ever kept, so a
 * request costs memory in proportion to its page, not to the window. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_scan.h"

#define SCAN_CHUNK 1000

struct point {
    int64_t ms;
    uint64_t seq;
    size_t gpu;                   /* index in the scan's GPU list */
    struct gpu_sample s;
};

struct scan {
    uint64_t conn_id, seq;        /* the request, found again by these */
    struct api_scan_args a;
    struct view_gpu_ref *gpus;
    size_t ngpus, cur;            /* the GPU being read */
    size_t want;                  /* offset + limit + 1 */
    struct point *kept, *mine, *tmp;
    size_t nkept, nmine;
    char start[24], end[24], cursor[48];
};

static void scan_free(struct scan *sc)
{
    free(sc->gpus);
    free(sc->kept);
    free(sc->mine);
    free(sc->tmp);
    free(sc);
}

/* Whether a comes before b in the series. */
static int before(const struct scan *sc, const struct point *a, const struct point *b)
{
    if (a->ms != b->ms)
        return sc->a.newest_first ? a->ms > b->ms : a->ms < b->ms;
    if (a->gpu != b->gpu)
        return a->gpu < b->gpu;
    return sc->a.newest_first ? a->seq > b->seq : a->seq < b->seq;
}

/* Merges the current GPU's points into those kept, keeping the first want. */
static void merge(struct scan *sc)
{
    size_t i = 0, j = 0, n = 0;
    while (n < sc->want && (i < sc->nkept || j < sc->nmine)) {
        int take_mine = i == sc->nkept || (j < sc->nmine && before(sc, &sc->mine[j], &sc->kept[i]));
        sc->tmp[n++] = take_mine ? sc->mine[j++] : sc->kept[i++];
    }
    struct point *t = sc->kept;
    sc->kept = sc->tmp;
    sc->tmp = t;
    sc->nkept = n;
    sc->nmine = 0;
}

static void reply(struct scan *sc, struct http_req *req)
{
    json_t *data = json_array();
    size_t first = (size_t)sc->a.offset, last = first + (size_t)sc->a.limit;
    for (size_t i = first; i < sc->nkept && i < last; i++) {
        const struct point *p = &sc->kept[i];
        json_array_append_new(data, view_gpu_point(&sc->gpus[p->gpu], p->ms / 1000.0, &p->s,
                                                   sc->a.mask));
    }
    http_reply_json(req, 200, json_pack("{s:b,s:I,s:I,s:o,s:o}", "success", 1, "count",
                                        (json_int_t)json_array_size(data), "offset",
                                        (json_int_t)first, "next_offset",
                                        sc->nkept > last ? json_integer((json_int_t)last)
                                                         : json_null(),
                                        "data", data));
}

static void on_chunk(int ok, const struct store_entry *e, size_t n, uint64_t a, uint64_t b);

/* Asks the store for the next chunk of the current GPU. Returns 0, or -1
 * when Redis is not connected. */
static int read_chunk(struct scan *sc)
{
    int resume = sc->cursor[0] != 0, desc = sc->a.newest_first;
    struct store_range r = {
        resume && !desc ? sc->cursor : sc->a.win.has_start ? sc->start : NULL,
        resume && desc ? sc->cursor : sc->a.win.has_end ? sc->end : NULL,
        resume && !desc, SCAN_CHUNK + resume, desc,
    };
    return store_read_range(STREAM_GPU, sc->gpus[sc->cur].info.uuid, &r, on_chunk,
                            (uint64_t)(uintptr_t)sc, 0);
}

/* Reads on, or replies once every GPU has been read; frees sc when it is
 * done with it. */
static void next_read(struct scan *sc, struct http_req *req)
{
    if (sc->cur < sc->ngpus && read_chunk(sc) == 0)
        return;
    if (sc->cur < sc->ngpus)
        http_reply_error(req, 503, "REDIS_UNAVAILABLE", "samples live in redis, which is not connected");
    else
        reply(sc, req);
    scan_free(sc);
}

static void on_chunk(int ok, const struct store_entry *e, size_t n, uint64_t a, uint64_t b)
{
    struct scan *sc = (struct scan *)(uintptr_t)a;
    struct http_req *req = http_req_find(sc->conn_id, sc->seq);
    (void)b;
    if (req && !ok)
        http_reply_error(req, 503, "REDIS_UNAVAILABLE", "could not read samples from redis");
    if (!req || !ok) {
        scan_free(sc);
        return;
    }
    size_t asked = SCAN_CHUNK + (sc->cursor[0] != 0);
    for (size_t i = 0; i < n && sc->nmine < sc->want; i++) {
        if (strcmp(e[i].id, sc->cursor) == 0)
            continue;
        struct point *p = &sc->mine[sc->nmine];
        view_sample_from_entry(&e[i], &p->s);
        if (!p->s.present || (sc->a.mask && !(p->s.present & sc->a.mask)))
            continue;
        p->ms = (int64_t)e[i].ms;
        p->seq = e[i].seq;
        p->gpu = sc->cur;
        sc->nmine++;
    }
    if (sc->nmine < sc->want && n == asked) {
        snprintf(sc->cursor, sizeof(sc->cursor), "%s", e[n - 1].id);
    } else {
        merge(sc);
        sc->cur++;
        sc->cursor[0] = '\0';
    }
    next_read(sc, req);
}

/* Answers req (later) with the samples of gpus[0..n) that args select:
 * {success, count, offset, next_offset, data}. The GPUs' identities are
 * copied. Returns HTTP_ASYNC, or 0 after replying an error. */
int api_scan_gpus(struct http_req *req, const struct view_gpu_ref *gpus, size_t n,
                  const struct api_scan_args *args)
{
    struct scan *sc = calloc(1, sizeof(*sc));
    size_t want = (size_t)(args->offset + args->limit) + 1;
    if (sc) {
        sc->gpus = malloc((n + 1) * sizeof(*gpus));
        sc->kept = malloc(want * sizeof(struct point));
        sc->mine = malloc(want * sizeof(struct point));
        sc->tmp = malloc(want * sizeof(struct point));
    }
    if (!sc || !sc->gpus || !sc->kept || !sc->mine || !sc->tmp) {
        if (sc)
            scan_free(sc);
        return http_reply_error(req, 503, "UNAVAILABLE", "out of memory");
    }
    memcpy(sc->gpus, gpus, n * sizeof(*gpus));
    sc->ngpus = n;
    sc->want = want;
    sc->a = *args;
    sc->conn_id = req->conn_id;
    sc->seq = req->seq;
    snprintf(sc->start, sizeof(sc->start), "%lld", (long long)args->win.start_ms);
    snprintf(sc->end, sizeof(sc->end), "%lld", (long long)args->win.end_ms);
    if (n && read_chunk(sc) == 0)
        return HTTP_ASYNC;
    int rc = n ? http_reply_error(req, 503, "REDIS_UNAVAILABLE",
                                  "samples live in redis, which is not connected")
               : (reply(sc, req), 0);
    scan_free(sc);
    return rc;
}

/* Reads what a time series route takes: the window (start_time, end_time,
 * window), order, metric/metric_name, limit (def, at most max) and offset.
 * Returns 0, or -1 after replying 400. */
int api_scan_query(struct http_req *req, long def, long max, struct api_scan_args *args)
{
    memset(args, 0, sizeof(*args));
    if (api_query_window(req, &args->win) < 0 || api_query_order(req, &args->newest_first) < 0 ||
        api_query_metrics(req, &args->mask) < 0 ||
        api_query_long(req, "limit", def, 1, max, &args->limit) < 0 ||
        api_query_long(req, "offset", 0, 0, API_SCAN_MAX_OFFSET, &args->offset) < 0)
        return -1;
    return 0;
}
