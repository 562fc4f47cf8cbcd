/* Unit tests: gantry-replay's CSV reader (RFC 4180), labels_raw, row
 * checks, loading and grouping, the frames, and a pass over the real DCGM
 * file (read in place from $GANTRY_DATA, else ../shared/data; skipped, and
 * said so, when neither holds it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gpumetric.h"
#include "replay/csv.h"
#include "replay/data.h"
#include "replay/frame.h"
#include "replay/row.h"
#include "proto/msg.h"

#define REAL_NAME "dcgm_metrics_20250718_134233.csv"
#define HEADER "timestamp,metric_name,gpu_id,device,uuid,modelName,Hostname,container,pod,namespace,value,labels_raw\n"

static char err[512];

/* The real DCGM file's path. Where GANTRY_DATA names a folder the file must
 * be there; without it, a checkout with no ../shared/data next to it skips
 * the test and says so. */
static const char *real_file(void)
{
    static char path[1024];
    const char *dir = getenv("GANTRY_DATA");
    if (dir && *dir) {
        snprintf(path, sizeof(path), "%s/%s", dir, REAL_NAME);
        return path;
    }
    snprintf(path, sizeof(path), "../shared/data/%s", REAL_NAME);
    if (access(path, R_OK) != 0) {
        print_message("skipped: %s not found and GANTRY_DATA not set\n", path);
        skip();
    }
    return path;
}

/* Bad rows reported by a load: their lines and reasons. */
struct reports {
    int n;
    long line[64];
    char reason[64][256];
};

static void collect(void *ud, long line, const char *reason)
{
    struct reports *r = ud;
    if (r->n < 64) {
        r->line[r->n] = line;
        snprintf(r->reason[r->n], sizeof(r->reason[0]), "%s", reason);
    }
    r->n++;
}

/* Reads all of text; returns the records' count, with their lines, field
 * counts and first fields in the arrays, and broken records as -line. */
static int read_all(const char *text, long *lines, int *nfields, char (*first)[64], int max)
{
    struct csv_reader r;
    struct csv_record rec;
    int n = 0, rc;
    csv_init(&r, text, strlen(text));
    while (n < max && (rc = csv_next(&r, &rec, err, sizeof(err))) != 0) {
        lines[n] = rc > 0 ? rec.line : -rec.line;
        nfields[n] = rc > 0 ? rec.nfields : 0;
        snprintf(first[n], 64, "%.63s", rc > 0 ? rec.f[0].p : err);
        n++;
    }
    csv_free(&r);
    return n;
}

static void test_reader_quotes_and_lines(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBF" "a,\"b,c\",\"say \"\"hi\"\"\"\r\n"
                       "\n"
                       "\"multi\nline\",x\n"
                       "\r\n"
                       ",,\n"
                       "\"\",last";
    long lines[8];
    int nf[8];
    char first[8][64];
    assert_int_equal(read_all(text, lines, nf, first, 8), 4);
    assert_int_equal(lines[0], 1);
    assert_int_equal(nf[0], 3);
    assert_string_equal(first[0], "a");
    assert_int_equal(lines[1], 3);
    assert_string_equal(first[1], "multi\nline");
    assert_int_equal(nf[1], 2);
    assert_int_equal(lines[2], 6);
    assert_int_equal(nf[2], 3);
    assert_int_equal(lines[3], 7);
    assert_string_equal(first[3], "");

    struct csv_reader r;
    struct csv_record rec;
    const char *one = "a,\"b,c\",\"say \"\"hi\"\"\"\r\n";
    csv_init(&r, one, strlen(one));
    assert_int_equal(csv_next(&r, &rec, err, sizeof(err)), 1);
    assert_string_equal(rec.f[1].p, "b,c");
    assert_string_equal(rec.f[2].p, "say \"hi\"");
    assert_int_equal(rec.f[2].len, 8);
    assert_int_equal(csv_next(&r, &rec, err, sizeof(err)), 0);
    csv_free(&r);
}

static void test_reader_broken_records(void **state)
{
    (void)state;
    long lines[8];
    int nf[8];
    char first[8][64];
    /* An unterminated quote: reported at its record's first line, and the
     * lines after it are read again as records. */
    const char *unterminated = "a,b\n\"open,c\nd,e\n";
    assert_int_equal(read_all(unterminated, lines, nf, first, 8), 3);
    assert_int_equal(lines[1], -2);
    assert_string_equal(first[1], "unterminated quote");
    assert_int_equal(lines[2], 3);
    assert_string_equal(first[2], "d");

    const char *after = "\"a\"x,b\nc,d\n";
    assert_int_equal(read_all(after, lines, nf, first, 8), 2);
    assert_int_equal(lines[0], -1);
    assert_string_equal(first[0], "text after a closing quote");
    assert_int_equal(lines[1], 2);

    const char *inside = "a\"b,c\nd\n";
    assert_int_equal(read_all(inside, lines, nf, first, 8), 2);
    assert_string_equal(first[0], "a quote inside an unquoted field");
    assert_int_equal(lines[1], 2);

    const char nul[] = "a,b\0c\nd\n";
    struct csv_reader r;
    struct csv_record rec;
    csv_init(&r, nul, sizeof(nul) - 1);
    assert_int_equal(csv_next(&r, &rec, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "NUL"));
    assert_int_equal(csv_next(&r, &rec, err, sizeof(err)), 1);
    assert_int_equal(rec.line, 2);
    assert_int_equal(csv_next(&r, &rec, err, sizeof(err)), 0);
    csv_free(&r);

    /* A quote running over the next record's start is caught there. */
    const char *runaway = "\"x\",\"y\n\"z\",\"w\"\n\"p\",\"q\"\n";
    assert_int_equal(read_all(runaway, lines, nf, first, 8), 3);
    assert_int_equal(lines[0], -1);
    assert_string_equal(first[0], "unterminated quote (the field runs on into line 2)");
    assert_int_equal(lines[1], 2);
    assert_int_equal(nf[1], 2);
    assert_int_equal(lines[2], 3);
}

static void test_reader_long_quoted_field(void **state)
{
    (void)state;
    long lines[4];
    int nf[4];
    char first[4][64];
    struct buf text = BUF_INIT;
    assert_int_equal(buf_append_str(&text, "\"ok"), 0);
    for (int i = 0; i < 99; i++)
        assert_int_equal(buf_append_str(&text, "\nx"), 0);
    assert_int_equal(buf_append_str(&text, "\"\n\"open"), 0);
    for (int i = 0; i < 150; i++)
        assert_int_equal(buf_append_str(&text, "\n"), 0);
    assert_int_equal(buf_nul(&text), 0);
    assert_int_equal(read_all(buf_start(&text), lines, nf, first, 4), 2);
    assert_int_equal(lines[0], 1);
    assert_int_equal(lines[1], -101);
    assert_string_equal(first[1], "unterminated quote (the field runs on past line 202)");
    buf_free(&text);
}

static void test_reader_field_counts(void **state)
{
    (void)state;
    long lines[4];
    int nf[4];
    char first[4][64];
    char wide[400] = "";
    for (int i = 0; i < 100; i++)
        strcat(wide, i ? ",x" : "x");
    strcat(wide, "\ny\n");
    assert_int_equal(read_all(wide, lines, nf, first, 4), 2);
    assert_int_equal(nf[0], 100);
    assert_int_equal(nf[1], 1);
    assert_int_equal(read_all("a,b,\n", lines, nf, first, 4), 1);
    assert_int_equal(nf[0], 3);
    assert_int_equal(read_all("", lines, nf, first, 4), 0);
    assert_int_equal(read_all("\n\r\n\n", lines, nf, first, 4), 0);
}

static void test_labels(void **state)
{
    (void)state;
    struct replay_labels l;
    replay_labels_init(&l);
    assert_int_equal(replay_labels_parse(&l, "Hostname=\"h1\",UUID=\"GPU-1\",job=\"a,b=c\"", err,
                                         sizeof(err)), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(replay_labels_get(&l, "Hostname"), "h1");
    assert_string_equal(replay_labels_get(&l, "job"), "a,b=c");
    assert_null(replay_labels_get(&l, "gpu"));
    assert_int_equal(replay_labels_parse(&l, "k=\"say \\\"x\\\" \\\\ \\n\"", err, sizeof(err)), 0);
    assert_string_equal(replay_labels_get(&l, "k"), "say \"x\" \\ \n");
    assert_int_equal(replay_labels_parse(&l, "", err, sizeof(err)), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(replay_labels_parse(&l, "_a1=\"\"", err, sizeof(err)), 0);
    assert_string_equal(replay_labels_get(&l, "_a1"), "");
    const struct {
        const char *text, *why;
    } bad[] = {
        {"k=v", "'=\"'"}, {"k=\"v", "unterminated"}, {"k=\"v\",", "trailing"},
        {"1k=\"v\"", "name expected"}, {"k=\"v\" j=\"w\"", "',' expected"},
        {"k=\"v\",k=\"w\"", "twice"}, {"k=\"\\x\"", "escape"}, {"=\"v\"", "name expected"},
        {"k", "'=\"'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(replay_labels_parse(&l, bad[i].text, err, sizeof(err)), -1);
        if (!strstr(err, bad[i].why))
            fail_msg("'%s': '%s' lacks '%s'", bad[i].text, err, bad[i].why);
    }
    char many[2000] = "";
    for (int i = 0; i < 65; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sk%d=\"v\"", i ? "," : "", i);
    assert_int_equal(replay_labels_parse(&l, many, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than"));
    replay_labels_free(&l);
}

static void test_numbers(void **state)
{
    (void)state;
    char json[REPLAY_NUM_MAX + 1];
    double v;
    const struct {
        const char *in, *out;
    } good[] = {
        {"301.123", "301.123"}, {"0", "0"}, {"-2.5e3", "-2.5e3"}, {"1.", "1"}, {"+5", "5"},
        {".5", "0.5"}, {"007", "7"}, {"1E2", "1E2"}, {"0.1", "0.1"},
        {"12345678901234567890", "1.2345678901234567e+19"}, {"123456789012345", "123456789012345"},
        {"0.100000000000000000000000000000000001", "0.1"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (replay_number(good[i].in, &v, json, sizeof(json)) < 0)
            fail_msg("'%s' refused", good[i].in);
        if (strcmp(json, good[i].out) != 0)
            fail_msg("'%s' -> '%s', not '%s'", good[i].in, json, good[i].out);
        assert_true(strtod(json, NULL) == v);
    }
    const char *bad[] = {"", "abc", "nan", "inf", "1e999", "0x10", " 1", "1 ", "1e", "-", ".",
                         "1,5", "--1", "1e+"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (replay_number(bad[i], &v, json, sizeof(json)) == 0)
            fail_msg("'%s' accepted", bad[i]);
}

/* One CSV line, each field quoted, with labels matching the columns. */
static void make_row(char *out, size_t n, const char *ts, const char *metric, const char *gpu,
                     const char *uuid, const char *host, const char *value)
{
    snprintf(out, n,
             "\"%s\",\"DCGM_FI_DEV_%s\",\"%s\",\"nvidia%s\",\"%s\",\"NVIDIA H100 80GB HBM3\",\"%s\","
             "\"\",\"\",\"\",\"%s\",\"DCGM_FI_DRIVER_VERSION=\"\"535.129.03\"\",Hostname=\"\"%s\"\","
             "UUID=\"\"%s\"\",__name__=\"\"DCGM_FI_DEV_%s\"\",device=\"\"nvidia%s\"\",gpu=\"\"%s\"\","
             "job=\"\"dcgm\"\"\"\n",
             ts, metric, gpu, gpu, uuid, host, value, host, uuid, metric, gpu, gpu);
}

/* The reader of the last check_one: the row points into it. */
static struct csv_reader row_reader;

static int check_one(const char *line, struct replay_row *row)
{
    struct csv_record rec;
    struct replay_labels l;
    replay_labels_init(&l);
    csv_free(&row_reader);
    csv_init(&row_reader, line, strlen(line));
    int rc = csv_next(&row_reader, &rec, err, sizeof(err));
    if (rc == 1)
        rc = replay_row_parse(&rec, &l, row, err, sizeof(err));
    else
        rc = -1;
    replay_labels_free(&l);
    return rc;
}

static void test_row_checks(void **state)
{
    (void)state;
    char line[1024];
    struct replay_row row;
    make_row(line, sizeof(line), "2025-07-18T20:42:34Z", "POWER_USAGE", "3", "GPU-a", "h-1",
             "301.123");
    assert_int_equal(check_one(line, &row), 0);
    assert_int_equal(row.metric, GM_POWER);
    assert_int_equal(row.gpu_index, 3);
    assert_true(row.ts_ms == 1752871354000LL);
    assert_string_equal(row.num, "301.123");
    assert_string_equal(row.uuid, "GPU-a");
    assert_string_equal(row.hostname, "h-1");
    assert_string_equal(row.device, "nvidia3");
    make_row(line, sizeof(line), "2025-07-18T20:42:34.5+02:00", "GPU_UTIL", "0", "GPU-a", "h-1",
             "42");
    assert_int_equal(check_one(line, &row), 0);
    assert_true(row.ts_ms == 1752864154500LL);

    const struct {
        const char *ts, *metric, *gpu, *uuid, *host, *value, *why;
    } bad[] = {
        {"2025-07-18T20:42:34Z", "NOPE", "0", "GPU-a", "h", "1", "unknown metric"},
        {"2025-07-18T20:42:34Z", "GPU_UTIL", "0", "GPU-a", "h", "abc", "not a number"},
        {"2025-07-18T20:42:34Z", "GPU_UTIL", "0", "GPU-a", "h", "nan", "not a number"},
        {"2025-07-18 20:42", "GPU_UTIL", "0", "GPU-a", "h", "1", "RFC 3339"},
        {"2025-02-30T00:00:00Z", "GPU_UTIL", "0", "GPU-a", "h", "1", "RFC 3339"},
        {"1969-12-31T00:00:00Z", "GPU_UTIL", "0", "GPU-a", "h", "1", "before 1970"},
        {"2025-07-18T20:42:34Z", "GPU_UTIL", "0", "", "h", "1", "missing uuid"},
        {"2025-07-18T20:42:34Z", "GPU_UTIL", "0", "GPU-a", "", "1", "missing Hostname"},
        {"2025-07-18T20:42:34Z", "GPU_UTIL", "x", "GPU-a", "h", "1", "gpu_id"},
        {"2025-07-18T20:42:34Z", "GPU_UTIL", "256", "GPU-a", "h", "1", "gpu_id"},
        {"2025-07-18T20:42:34Z", "GPU_UTIL", "0", "GPU-a", "h/1", "1", "Hostname is not"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        make_row(line, sizeof(line), bad[i].ts, bad[i].metric, bad[i].gpu, bad[i].uuid,
                 bad[i].host, bad[i].value);
        assert_int_equal(check_one(line, &row), -1);
        if (!strstr(err, bad[i].why))
            fail_msg("row %zu: '%s' lacks '%s'", i, err, bad[i].why);
    }
    assert_int_equal(check_one("a,b,c\n", &row), -1);
    assert_non_null(strstr(err, "expected 12 fields, found 3"));
    const char *mismatch = "\"2025-07-18T20:42:34Z\",\"GPU_UTIL\",\"0\",\"nvidia0\",\"GPU-a\",\"m\","
                           "\"h1\",\"\",\"\",\"\",\"5\",\"Hostname=\"\"h2\"\"\"\n";
    assert_int_equal(check_one(mismatch, &row), -1);
    assert_non_null(strstr(err, "labels_raw Hostname 'h2' differs from Hostname 'h1'"));
    const char *badlabels = "\"2025-07-18T20:42:34Z\",\"GPU_UTIL\",\"0\",\"nvidia0\",\"GPU-a\",\"m\","
                            "\"h1\",\"\",\"\",\"\",\"5\",\"Hostname=h1\"\n";
    assert_int_equal(check_one(badlabels, &row), -1);
    assert_non_null(strstr(err, "labels_raw"));
    const char *badutf8 = "\"2025-07-18T20:42:34Z\",\"GPU_UTIL\",\"0\",\"nvidia0\",\"GPU-a\",\"m\xff\","
                          "\"h1\",\"\",\"\",\"\",\"5\",\"\"\n";
    assert_int_equal(check_one(badutf8, &row), -1);
    assert_non_null(strstr(err, "UTF-8"));
    const char *nolabels = "2025-07-18T20:42:34Z,GPU_UTIL,0,,GPU-a,,h1,,,,5,\n";
    assert_int_equal(check_one(nolabels, &row), 0);
    csv_free(&row_reader);
}

static void test_header(void **state)
{
    (void)state;
    struct replay_data d;
    struct reports rep = {0};
    assert_int_equal(replay_data_load(&d, "", 0, 0, collect, &rep, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty"));
    replay_data_free(&d);
    const char *wrong = "\ntimestamp,metric,gpu_id\n";
    assert_int_equal(replay_data_load(&d, wrong, strlen(wrong), 0, collect, &rep, err,
                                      sizeof(err)), -1);
    assert_non_null(strstr(err, "2: bad header"));
    replay_data_free(&d);
    const char *renamed = "timestamp,metric_name,gpu_id,device,uuid,modelName,Host,container,"
                          "pod,namespace,value,labels_raw\n";
    assert_int_equal(replay_data_load(&d, renamed, strlen(renamed), 0, collect, &rep, err,
                                      sizeof(err)), -1);
    assert_non_null(strstr(err, "column 7 is 'Host'"));
    replay_data_free(&d);
    const char *quoted = "\"timestamp\",\"metric_name\",\"gpu_id\",\"device\",\"uuid\",\"modelName\","
                         "\"Hostname\",\"container\",\"pod\",\"namespace\",\"value\",\"labels_raw\"\n";
    assert_int_equal(replay_data_load(&d, quoted, strlen(quoted), 0, collect, &rep, err,
                                      sizeof(err)), 0);
    assert_int_equal(d.stats.rows, 0);
    assert_int_equal(d.nhosts, 0);
    replay_data_free(&d);
    assert_int_equal(rep.n, 0);
}

static char *crafted(void)
{
    static const struct {
        const char *ts, *metric, *gpu, *uuid, *host, *value;
    } rows[] = {
        {"34", "GPU_UTIL", "0", "GPU-a0", "h-a", "10"},          /* 2 */
        {"34", "GPU_UTIL", "1", "GPU-a1", "h-a", "20"},          /* 3 */
        {"34", "FB_USED", "0", "GPU-b0", "h-b", "100"},          /* 4 */
        {"34", "FB_FREE", "0", "GPU-b0", "h-b", "50.5"},         /* 5 */
        {"35", "POWER_USAGE", "0", "GPU-a0", "h-a", "301.123"},  /* 6 */
        {"35", "NOPE", "0", "GPU-a0", "h-a", "1"},               /* 7: unknown metric */
        {"34", "GPU_UTIL", "0", "GPU-a0", "h-a", "11"},          /* 8: duplicate of 2 */
        {"34", "GPU_TEMP", "1", "GPU-a1", "h-b", "1"},           /* 9: GPU-a1 is on h-a */
        {"34", "GPU_TEMP", "0", "GPU-zz", "h-a", "1"},           /* 10: gpu 0 of h-a is taken */
        {"36", "GPU_TEMP", "2", "GPU-c0", "h-c", "40"},          /* 11 */
        {NULL, NULL, NULL, NULL, NULL, NULL},                    /* 12: wrong field count */
        {"33", "MEM_CLOCK", "1", "GPU-a1", "h-a", "1000"},       /* 13 */
    };
    size_t cap = 16384;
    char *text = malloc(cap);
    assert_non_null(text);
    strcpy(text, HEADER);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char ts[40];
        size_t n = strlen(text);
        if (!rows[i].ts) {
            snprintf(text + n, cap - n, "\"2025-07-18T20:42:34Z\",\"GPU_UTIL\"\n");
            continue;
        }
        snprintf(ts, sizeof(ts), "2025-07-18T20:42:%sZ", rows[i].ts);
        make_row(text + n, cap - n, ts, rows[i].metric, rows[i].gpu, rows[i].uuid, rows[i].host,
                 rows[i].value);
    }
    return text;
}

static void test_load_groups_and_reports(void **state)
{
    (void)state;
    char *text = crafted();
    struct replay_data d;
    struct reports rep = {0};
    assert_int_equal(replay_data_load(&d, text, strlen(text), 0, collect, &rep, err, sizeof(err)), 0);
    assert_int_equal(d.stats.rows, 12);
    assert_int_equal(d.stats.skipped, 5);
    assert_int_equal(d.stats.used, 7);
    assert_int_equal(d.stats.filtered, 0);
    assert_int_equal(d.stats.samples, 6);
    assert_int_equal(rep.n, 5);
    const long lines[] = {7, 9, 10, 12, 8};
    const char *why[] = {"unknown metric 'DCGM_FI_DEV_NOPE'", "uuid GPU-a1 is gpu 1",
                         "gpu 0 of h-a is GPU-a0 since line 2", "expected 12 fields, found 2",
                         "duplicate GPU_UTIL of GPU-a0 at 2025-07-18T20:42:34Z (first at line 2)"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(rep.line[i], lines[i]);
        if (!strstr(rep.reason[i], why[i]))
            fail_msg("line %ld: '%s' lacks '%s'", rep.line[i], rep.reason[i], why[i]);
    }
    assert_int_equal(d.nhosts, 3);
    assert_string_equal(d.hosts[0]->name, "h-a");
    assert_string_equal(d.hosts[1]->name, "h-b");
    assert_string_equal(d.hosts[2]->name, "h-c");
    assert_int_equal(d.ngpus, 4);
    assert_int_equal(d.hosts[0]->ngpus, 2);
    assert_string_equal(d.gpus[d.hosts[0]->gpus[0]]->info.uuid, "GPU-a0");
    assert_string_equal(d.gpus[d.hosts[0]->gpus[1]]->info.uuid, "GPU-a1");
    assert_int_equal(d.gpus[d.hosts[1]->gpus[0]]->info.memory_mib, 151);
    assert_int_equal(d.gpus[d.hosts[0]->gpus[0]]->info.memory_mib, 0);
    assert_int_equal(d.ntimes, 4);
    assert_true(d.times[0] == 1752871353000LL && d.times[3] == 1752871356000LL);
    /* At :34, h-a's two values, then h-b's two. */
    assert_int_equal(d.first[1], 1);
    assert_int_equal(d.first[2], 5);
    assert_int_equal(replay_host_run(&d, 1, 5), 3);
    assert_int_equal(replay_host_run(&d, 3, 5), 5);
    replay_data_free(&d);

    assert_int_equal(replay_data_load(&d, text, strlen(text), 2, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(d.nhosts, 2);
    assert_int_equal(d.stats.filtered, 1);
    assert_int_equal(d.stats.rows, d.stats.used + d.stats.skipped + d.stats.filtered);
    replay_data_free(&d);
    free(text);
}

static void test_frames(void **state)
{
    (void)state;
    char *text = crafted();
    struct replay_data d;
    assert_int_equal(replay_data_load(&d, text, strlen(text), 0, NULL, NULL, err, sizeof(err)), 0);
    struct buf out = BUF_INIT;
    unsigned samples = 0;
    assert_int_equal(replay_frame_heartbeat(&out, &d, 1, 3, 7, d.times[1], &samples), 0);
    assert_int_equal(samples, 2);
    assert_int_equal(buf_nul(&out), 0);
    assert_string_equal(buf_start(&out),
                        "{\"type\":\"heartbeat\",\"seq\":7,\"timestamp\":1752871354.000,\"gpus\":["
                        "{\"uuid\":\"GPU-a0\",\"index\":0,\"timestamp\":1752871354.000,\"utilization\":10},"
                        "{\"uuid\":\"GPU-a1\",\"index\":1,\"timestamp\":1752871354.000,\"utilization\":20}]}\n");
    buf_reset(&out);
    assert_int_equal(replay_frame_heartbeat(&out, &d, 5, 6, 8, 1752871355123LL, &samples), 0);
    assert_int_equal(buf_nul(&out), 0);
    assert_non_null(strstr(buf_start(&out), "\"timestamp\":1752871355.123,\"power_w\":301.123}]}\n"));
    buf_reset(&out);
    assert_int_equal(replay_frame_keepalive(&out, 9), 0);
    assert_int_equal(buf_nul(&out), 0);
    assert_string_equal(buf_start(&out), "{\"type\":\"heartbeat\",\"seq\":9}\n");
    buf_reset(&out);
    assert_int_equal(replay_json_string(&out, "a\"b\\c\n\x01é"), 0);
    assert_int_equal(buf_nul(&out), 0);
    assert_string_equal(buf_start(&out), "\"a\\\"b\\\\c\\u000a\\u0001é\"");
    buf_free(&out);

    json_t *hello = replay_frame_hello(&d, 1, "tok");
    assert_non_null(hello);
    struct hello h;
    const char *token;
    struct msg_error me;
    assert_int_equal(msg_decode_hello(hello, &h, &token, &me), 0);
    assert_string_equal(h.worker_id, "h-b");
    assert_string_equal(h.hostname, "h-b");
    assert_string_equal(token, "tok");
    assert_int_equal(h.ngpus, 1);
    assert_string_equal(h.gpus[0].uuid, "GPU-b0");
    assert_string_equal(h.gpus[0].model, "NVIDIA H100 80GB HBM3");
    assert_string_equal(h.gpus[0].device, "nvidia0");
    assert_int_equal(h.gpus[0].memory_mib, 151);
    assert_int_equal(h.executors, SCHED_EXEC_PROCESS);
    assert_string_equal(json_string_value(json_object_get(h.labels, "job")), "dcgm");
    assert_string_equal(json_string_value(json_object_get(h.labels, "DCGM_FI_DRIVER_VERSION")),
                        "535.129.03");
    assert_null(json_object_get(h.labels, "UUID"));
    assert_int_equal(json_object_size(h.labels), 2);
    json_decref(hello);
    replay_data_free(&d);
    free(text);
}

/* Encodes every hello and every heartbeat of d, decodes them as gantryd
 * does, and checks each value arrives exactly. Returns the samples sent. */
static unsigned long send_all(const struct replay_data *d)
{
    struct msg_error me;
    for (int i = 0; i < d->nhosts; i++) {
        json_t *hello = replay_frame_hello(d, i, "");
        struct hello h;
        const char *token;
        assert_non_null(hello);
        if (msg_decode_hello(hello, &h, &token, &me) < 0)
            fail_msg("hello of %s refused: %s", d->hosts[i]->name, me.message);
        assert_int_equal(h.ngpus, d->hosts[i]->ngpus);
        json_decref(hello);
    }
    struct buf out = BUF_INIT;
    unsigned long total = 0;
    struct heartbeat *hb = malloc(sizeof(*hb));
    assert_non_null(hb);
    for (size_t t = 0; t < d->ntimes; t++) {
        for (size_t from = d->first[t], to; from < d->first[t + 1]; from = to) {
            to = replay_host_run(d, from, d->first[t + 1]);
            unsigned samples = 0;
            buf_reset(&out);
            assert_int_equal(replay_frame_heartbeat(&out, d, from, to, 1, d->times[t], &samples), 0);
            json_t *j = msg_parse(buf_start(&out), out.len - 1, &me);
            if (!j)
                fail_msg("heartbeat is not JSON: %s: %.*s", me.message, (int)out.len, buf_start(&out));
            int ack;
            if (msg_decode_heartbeat(j, hb, &ack, &me) < 0)
                fail_msg("heartbeat refused: %s", me.message);
            assert_int_equal(hb->ngpus, (int)samples);
            int g = -1;
            for (size_t i = from; i < to; i++) {
                const struct replay_point *p = &d->points[i];
                g += i == from || p->gpu != p[-1].gpu;
                assert_string_equal(hb->gpus[g].uuid, d->gpus[p->gpu]->info.uuid);
                assert_true(gpu_sample_has(&hb->gpus[g].sample, p->metric));
                assert_true(hb->gpus[g].sample.v[p->metric] == p->value);
                assert_true(hb->gpus[g].sample.ts * 1000 == (double)d->times[t]);
            }
            json_decref(j);
            total += samples;
        }
    }
    free(hb);
    buf_free(&out);
    return total;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b = BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_append(&b, chunk, n), 0);
    fclose(f);
    *len = b.len;
    return b.data;
}

static const struct replay_point *find_point(const struct replay_data *d, const char *uuid,
                                             int metric)
{
    for (size_t i = 0; i < d->npoints; i++)
        if (d->points[i].metric == metric && strcmp(d->gpus[d->points[i].gpu]->info.uuid, uuid) == 0)
            return &d->points[i];
    return NULL;
}

static void test_real_file(void **state)
{
    (void)state;
    struct replay_data d;
    struct reports rep = {0};
    if (replay_data_load_file(&d, real_file(), 0, collect, &rep, err, sizeof(err)) < 0) {
        replay_data_free(&d);
        fail_msg("%s", err);
    }
    assert_int_equal(d.stats.rows, 2470);
    assert_int_equal(d.stats.skipped, 0);
    assert_int_equal(rep.n, 0);
    assert_int_equal(d.stats.used, 2470);
    assert_int_equal(d.ngpus, 247);
    assert_int_equal(d.nhosts, 31);
    assert_int_equal(d.stats.samples, 988);
    assert_string_equal(d.hosts[0]->name, "mtv5-dgx1-hgpu-031");
    for (int i = 0; i < d.nhosts; i++) {
        const struct replay_host *h = d.hosts[i];
        int is12 = strcmp(h->name, "mtv5-dgx1-hgpu-012") == 0;
        assert_int_equal(h->ngpus, is12 ? 7 : 8);
        for (int g = 0; g < h->ngpus; g++) {
            const struct gpu_info *gi = &d.gpus[h->gpus[g]]->info;
            assert_int_equal(gi->index, is12 && g >= 6 ? g + 1 : g);
            assert_string_equal(gi->model, "NVIDIA H100 80GB HBM3");
            assert_true(gi->memory_mib > 80000 && gi->memory_mib < 82000);
        }
    }
    assert_int_equal(d.ntimes, 4);
    for (int i = 0; i < 4; i++)
        assert_true(d.times[i] == 1752871354000LL + 1000 * i);
    const struct replay_point *p = find_point(&d, "GPU-5fd4f087-86f3-7a43-b711-4771313afc50", GM_POWER);
    assert_non_null(p);
    assert_string_equal(d.nums.data + p->num, "156.596");
    assert_true(p->ts_ms == 1752871354000LL);
    p = find_point(&d, "GPU-f424b9ed-0bbd-3c5a-7ea9-9fd24f7732c9", GM_POWER);
    assert_string_equal(d.nums.data + p->num, "110.12");
    p = find_point(&d, "GPU-f424b9ed-0bbd-3c5a-7ea9-9fd24f7732c9", GM_MEM_USED);
    assert_true(p->value == 56011 && p->ts_ms == 1752871355000LL);
    p = find_point(&d, "GPU-5fd4f087-86f3-7a43-b711-4771313afc50", GM_SM_CLOCK);
    assert_true(p->value == 1980 && p->ts_ms == 1752871357000LL);
    assert_null(find_point(&d, "GPU-none", GM_POWER));
    const struct replay_gpu *g = d.gpus[d.hosts[0]->gpus[0]];
    assert_string_equal(g->info.uuid, "GPU-5fd4f087-86f3-7a43-b711-4771313afc50");
    assert_int_equal(g->info.memory_mib, 73420 + 7587);
    assert_string_equal(g->info.device, "nvidia0");
    assert_int_equal(send_all(&d), 988);
    replay_data_free(&d);
}

/* Corruption number k of one line of the real file (fields all quoted). */
static void corrupt(struct buf *out, const char *line, size_t n, const char *prev, size_t prevn,
                    int k)
{
    char s[2048];
    assert_true(n < sizeof(s) - 16);
    memcpy(s, line, n);
    s[n] = '\0';
    char *p;
    switch (k) {
    case 0: *strrchr(s, ',') = '\0'; break;                       /* a field short */
    case 1: strcat(s, ",\"x\""); break;                            /* a field more */
    case 2: memcpy(strstr(s, "DCGM_FI_DEV_") + 12, "BOGUS_", 6); break;
    case 3: p = strstr(s, "\",\"DCGM_FI_DRIVER"); memcpy(p - 1, "a", 1); break;  /* value */
    case 4: memcpy(s + 12, "25", 2); break;                        /* hour 25 */
    case 5: s[n - 1] = '\0'; break;                                /* unterminated quote */
    case 6: p = strstr(s, "=\"\""); memmove(p + 1, p + 3, strlen(p + 3) + 1); break;
    case 7: p = strstr(s, "\"GPU-"); memmove(p + 1, p + 41, strlen(p + 41) + 1); break;
    case 8: p = strstr(s, "\"mtv5-"); memmove(p + 1, p + 19, strlen(p + 19) + 1); break;
    case 9: memmove(s + 23, s + 22, n - 21); s[22] = 'x'; break;   /* after a closing quote */
    case 10: s[30] = '\0'; break;                                  /* a NUL byte */
    case 11: memmove(s, s + 1, n); break;                          /* quote in an unquoted field */
    case 12: p = strstr(s, "\",\"nvidia"); memcpy(p - 1, "9", 1); memmove(p + 3, p, strlen(p) + 1);
             memcpy(p - 1, "999", 3); break;                       /* gpu_id 9999 */
    case 13: p = strstr(s, "\"mtv5-dgx1-hgpu-0"); p[17] = p[17] == '9' ? '8' : '9'; break;
    case 14: p = strstr(s, "NVIDIA H100"); p[1] = '\xff'; break;   /* bad UTF-8 */
    case 15: assert_true(prevn < sizeof(s)); memcpy(s, prev, prevn); s[prevn] = '\0'; break;
    case 16: strcpy(s + n - 1, ",junk\""); break;                  /* labels_raw tail */
    case 17: p = strstr(s, "DCGM_FI_DEV_"); memmove(p + 1, p, strlen(p) + 1); *p = '"'; break;
    default: break;
    }
    size_t len = k == 10 ? n : strlen(s);
    assert_int_equal(buf_append(out, s, len), 0);
}

static int by_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static void test_corrupted_lines_reported_by_line(void **state)
{
    (void)state;
    size_t len = 0;
    char *orig = read_file(real_file(), &len);
    assert_non_null(orig);
    struct buf text = BUF_INIT;
    long lines[20];
    int nbad = 0, k = 0;
    const char *prev = NULL, *p = orig;
    size_t prevn = 0;
    for (long line = 1; p < orig + len; line++) {
        const char *nl = memchr(p, '\n', (size_t)(orig + len - p));
        size_t n = (size_t)(nl - p);
        /* 18 kinds spread over the file, and an unterminated quote on the last line */
        if ((line > 1 && line % 130 == 7 && k < 18) || (line == 2471 && (k = 5))) {
            lines[nbad++] = line;
            corrupt(&text, p, n, prev, prevn, k++);
        } else {
            assert_int_equal(buf_append(&text, p, n), 0);
        }
        assert_int_equal(buf_append(&text, "\n", 1), 0);
        prev = p;
        prevn = n;
        p = nl + 1;
    }
    assert_int_equal(nbad, 19);
    struct replay_data d;
    struct reports rep = {0};
    assert_int_equal(replay_data_load(&d, text.data, text.len, 0, collect, &rep, err, sizeof(err)), 0);
    if (rep.n != nbad)
        for (int i = 0; i < rep.n && i < 64; i++)
            print_message("%ld: %s\n", rep.line[i], rep.reason[i]);
    assert_int_equal(rep.n, nbad);
    /* Duplicates are found once all is read, so they come last. */
    qsort(rep.line, (size_t)rep.n, sizeof(rep.line[0]), by_long);
    for (int i = 0; i < nbad; i++)
        if (rep.line[i] != lines[i])
            fail_msg("report %d at line %ld, not %ld", i, rep.line[i], lines[i]);
    assert_int_equal(d.stats.rows, 2470);
    assert_int_equal(d.stats.skipped, 19);
    assert_int_equal(d.stats.used, 2470 - 19);
    assert_int_equal(d.ngpus, 247);
    assert_int_equal(d.nhosts, 31);
    replay_data_free(&d);
    buf_free(&text);
    free(orig);
}

/* xorshift64*: the same mutations every run. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(uint64_t n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (rng_state * 2685821657736338717ULL) % n;
}

/* One random edit of text (len bytes, room for 64 more). */
static size_t mutate(char *text, size_t len, size_t header)
{
    static const char bytes[] = "\"\",,\n\r\\=0123456789.-eZT:x\xff";
    size_t at = len > header ? header + (size_t)rnd(len - header) : 0;
    char *q;
    switch (rnd(8)) {
    case 0:
        if (at < len)
            text[at] ^= (char)(1u << rnd(8));
        return len;
    case 1:
        memmove(text + at + 1, text + at, len - at);
        text[at] = bytes[rnd(sizeof(bytes) - 1)];
        return len + 1;
    case 2:
        if (at < len)
            memmove(text + at, text + at + 1, len - at - 1);
        return at < len ? len - 1 : len;
    case 3:   /* duplicate a quote */
        if (!(q = memchr(text + at, '"', len - at)))
            return len;
        memmove(q + 1, q, len - (size_t)(q - text));
        return len + 1;
    case 4:   /* drop a quote */
        if (!(q = memchr(text + at, '"', len - at)))
            return len;
        memmove(q, q + 1, len - (size_t)(q - text) - 1);
        return len - 1;
    case 5:
        return rnd(4) == 0 ? at : len;
    case 6:   /* a line ending in CRLF, or a blank line */
        memmove(text + at + 1, text + at, len - at);
        text[at] = rnd(2) ? '\r' : '\n';
        return len + 1;
    default:
        if (at < len)
            text[at] = '\0';
        return len;
    }
}

static void test_mutations_never_break_counts(void **state)
{
    (void)state;
    size_t len = 0;
    char *orig = read_file(real_file(), &len);
    assert_non_null(orig);
    size_t header = (size_t)((char *)memchr(orig, '\n', len) - orig) + 1;
    char *text = malloc(len + 1024);
    assert_non_null(text);
    unsigned long skipped = 0;
    for (int round = 0; round < 300; round++) {
        memcpy(text, orig, len);
        size_t n = len;
        int edits = 1 + (int)rnd(round % 4 == 3 ? 400 : 8);
        for (int e = 0; e < edits && n + 64 < len + 1024; e++)
            n = mutate(text, n, rnd(50) ? header : 0);
        struct replay_data d;
        struct reports rep = {0};
        int max_hosts = rnd(4) == 0 ? (int)rnd(40) : 0;
        if (replay_data_load(&d, text, n, max_hosts, collect, &rep, err, sizeof(err)) == 0) {
            assert_int_equal(d.stats.rows, d.stats.used + d.stats.skipped + d.stats.filtered);
            assert_int_equal((unsigned long)rep.n, d.stats.skipped);
            for (int i = 0; i < rep.n && i < 64; i++)
                assert_true(rep.line[i] >= 2 && rep.line[i] <= 2470 + 400 + 2);
            assert_int_equal(send_all(&d), d.stats.samples);
            skipped += d.stats.skipped;
        } else {
            assert_non_null(strstr(err, "header"));
        }
        replay_data_free(&d);
    }
    assert_true(skipped > 100);
    free(text);
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_quotes_and_lines),
        cmocka_unit_test(test_reader_broken_records),
        cmocka_unit_test(test_reader_long_quoted_field),
        cmocka_unit_test(test_reader_field_counts),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_row_checks),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_load_groups_and_reports),
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_real_file),
        cmocka_unit_test(test_corrupted_lines_reported_by_line),
        cmocka_unit_test(test_mutations_never_break_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
