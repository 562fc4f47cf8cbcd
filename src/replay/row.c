#include "row.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gpumetric.h"
#include "core/timefmt.h"
#include "core/utf8.h"
#include "core/worker.h"

static const char *const columns[COL_COUNT] = {
    "timestamp", "metric_name", "gpu_id", "device", "uuid", "modelName",
    "Hostname", "container", "pod", "namespace", "value", "labels_raw",
};

/* Label names that describe the row's own columns, checked against them. */
static const struct {
    const char *label;
    enum replay_col col;
} cross_checks[] = {
    {"Hostname", COL_HOSTNAME}, {"UUID", COL_UUID}, {"__name__", COL_METRIC},
    {"gpu", COL_GPU_ID}, {"device", COL_DEVICE}, {"modelName", COL_MODEL},
};

/* Copies at most 40 bytes of s for a message, printable ASCII only. */
static const char *shown(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *s && n + 1 < outlen && n < 40; s++)
        out[n++] = isprint((unsigned char)*s) ? *s : '?';
    if (*s && n >= 3 && n + 1 < outlen)
        memcpy(out + n - 3, "...", 3);
    out[n] = '\0';
    return out;
}

/* Checks the header line: the twelve DCGM exporter columns in order.
 * Returns 0, or -1 with the reason. */
int replay_header_check(const struct csv_record *rec, char *err, size_t errlen)
{
    char a[48];
    if (rec->nfields != COL_COUNT) {
        snprintf(err, errlen, "bad header: expected %d columns, found %d", COL_COUNT,
                 rec->nfields);
        return -1;
    }
    for (int i = 0; i < COL_COUNT; i++) {
        if (strcmp(rec->f[i].p, columns[i]) != 0) {
            snprintf(err, errlen, "bad header: column %d is '%s', expected '%s'", i + 1,
                     shown(rec->f[i].p, a, sizeof(a)), columns[i]);
            return -1;
        }
    }
    return 0;
}

static int json_number_syntax(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (isdigit((unsigned char)*p))
        while (isdigit((unsigned char)*p))
            p++;
    else
        return 0;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0';
}

/* Parses s as a decimal number (digits, sign, point, exponent; finite) into
 * *v, and writes into json the text to send: s itself when it is a JSON
 * number short enough to be read back exactly, else the shortest form that
 * reads back as *v. Returns 0, or -1 when s is not such a number. */
int replay_number(const char *s, double *v, char *json, size_t jsonlen)
{
    size_t n = strlen(s);
    if (n == 0 || strspn(s, "0123456789+-.eE") != n)
        return -1;
    char *end;
    double d = strtod(s, &end);
    if (*end || !isfinite(d))
        return -1;
    *v = d;
    /* A long integer would overflow the reader's integers; keep 15 digits. */
    int integral = strpbrk(s, ".eE") == NULL;
    if (json_number_syntax(s) && n < jsonlen && (!integral || n <= 15)) {
        memcpy(json, s, n + 1);
        return 0;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(json, jsonlen, "%.*g", prec, d);
        if (strtod(json, NULL) == d)
            break;
    }
    return 0;
}

/* Prepares an empty label set. */
void replay_labels_init(struct replay_labels *l)
{
    memset(l, 0, sizeof(*l));
    buf_init(&l->text);
}

/* Releases a label set's memory. */
void replay_labels_free(struct replay_labels *l)
{
    buf_free(&l->text);
    l->n = 0;
}

/* Returns the value of label key, or NULL. */
const char *replay_labels_get(const struct replay_labels *l, const char *key)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->key[i], key) == 0)
            return l->value[i];
    return NULL;
}

static int label_name(struct replay_labels *l, const char **p, char *err, size_t errlen)
{
    const char *s = *p;
    if (!isalpha((unsigned char)*s) && *s != '_') {
        char a[48];
        snprintf(err, errlen, "labels_raw: a label name expected at '%s'",
                 shown(s, a, sizeof(a)));
        return -1;
    }
    while (isalnum((unsigned char)*s) || *s == '_')
        s++;
    l->koff[l->n] = l->text.len;
    if (buf_append(&l->text, *p, (size_t)(s - *p)) < 0 || buf_append(&l->text, "", 1) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *p = s;
    return 0;
}

/* The quoted value after '=': \", \\ and \n are escapes. */
static int label_value(struct replay_labels *l, const char **p, char *err, size_t errlen)
{
    const char *s = *p;
    if (s[0] != '=' || s[1] != '"') {
        snprintf(err, errlen, "labels_raw: '=\"' expected after a label name");
        return -1;
    }
    s += 2;
    l->voff[l->n] = l->text.len;
    for (;;) {
        size_t run = strcspn(s, "\"\\");
        if (buf_append(&l->text, s, run) < 0)
            goto nomem;
        s += run;
        if (*s != '\\')
            break;
        char c = s[1] == 'n' ? '\n' : s[1];
        if (s[1] != '\\' && s[1] != '"' && s[1] != 'n') {
            snprintf(err, errlen, "labels_raw: a bad escape in a label value");
            return -1;
        }
        if (buf_append(&l->text, &c, 1) < 0)
            goto nomem;
        s += 2;
    }
    if (*s != '"') {
        snprintf(err, errlen, "labels_raw: an unterminated label value");
        return -1;
    }
    if (buf_append(&l->text, "", 1) < 0)
        goto nomem;
    *p = s + 1;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static void labels_fill(struct replay_labels *l)
{
    for (int i = 0; i < l->n; i++) {
        l->key[i] = l->text.data + l->koff[i];
        l->value[i] = l->text.data + l->voff[i];
    }
}

/* Parses labels_raw (name="value" pairs separated by commas; empty is no
 * labels) into l, replacing what it held. Returns 0, or -1 with the reason
 * (a bad name, a missing quote, a bad escape, a repeated name). */
int replay_labels_parse(struct replay_labels *l, const char *s, char *err, size_t errlen)
{
    l->n = 0;
    buf_reset(&l->text);
    while (*s) {
        if (l->n == REPLAY_MAX_LABELS) {
            snprintf(err, errlen, "labels_raw: more than %d labels", REPLAY_MAX_LABELS);
            return -1;
        }
        if (label_name(l, &s, err, errlen) < 0 || label_value(l, &s, err, errlen) < 0)
            return -1;
        l->n++;
        if (*s && (*s != ',' || !s[1])) {
            snprintf(err, errlen, "labels_raw: %s", *s == ',' ? "a trailing ','"
                                                               : "',' expected between labels");
            return -1;
        }
        if (*s)
            s++;
    }
    labels_fill(l);
    for (int i = 0; i < l->n; i++) {
        for (int j = 0; j < i; j++) {
            if (strcmp(l->key[i], l->key[j]) == 0) {
                char a[48];
                snprintf(err, errlen, "labels_raw: label %s appears twice",
                         shown(l->key[i], a, sizeof(a)));
                return -1;
            }
        }
    }
    return 0;
}

static int fail(char *err, size_t errlen, const char *what, const char *s)
{
    char a[48];
    snprintf(err, errlen, "%s '%s'", what, shown(s, a, sizeof(a)));
    return -1;
}

/* Every field valid UTF-8 (they go into JSON). */
static int check_utf8(const struct csv_record *rec, char *err, size_t errlen)
{
    for (int i = 0; i < COL_COUNT; i++) {
        size_t partial;
        if (utf8_valid_prefix(rec->f[i].p, rec->f[i].len, &partial) != rec->f[i].len) {
            snprintf(err, errlen, "%s is not valid UTF-8", columns[i]);
            return -1;
        }
    }
    return 0;
}

static int check_identity(const struct csv_record *rec, struct replay_row *row, char *err,
                          size_t errlen)
{
    const char *gid = rec->f[COL_GPU_ID].p;
    size_t n = strlen(gid);
    if (n == 0 || n > 3 || strspn(gid, "0123456789") != n || atoi(gid) > 255)
        return fail(err, errlen, "gpu_id is not an integer from 0 to 255:", gid);
    row->gpu_index = atoi(gid);
    row->uuid = rec->f[COL_UUID].p;
    row->hostname = rec->f[COL_HOSTNAME].p;
    row->device = rec->f[COL_DEVICE].p;
    row->model = rec->f[COL_MODEL].p;
    if (!*row->uuid || !*row->hostname) {
        snprintf(err, errlen, "missing %s", *row->uuid ? "Hostname" : "uuid");
        return -1;
    }
    if (strlen(row->uuid) > 63)
        return fail(err, errlen, "uuid longer than 63 bytes:", row->uuid);
    if (!worker_id_valid(row->hostname))
        return fail(err, errlen, "Hostname is not 1-64 letters, digits, '.', '_' or '-':",
                    row->hostname);
    if (strlen(row->device) > 15)
        return fail(err, errlen, "device longer than 15 bytes:", row->device);
    if (strlen(row->model) > 63)
        return fail(err, errlen, "modelName longer than 63 bytes:", row->model);
    return 0;
}

static int check_labels(const struct csv_record *rec, struct replay_labels *labels,
                        char *err, size_t errlen)
{
    if (replay_labels_parse(labels, rec->f[COL_LABELS].p, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(cross_checks) / sizeof(cross_checks[0]); i++) {
        const char *v = replay_labels_get(labels, cross_checks[i].label);
        const char *col = rec->f[cross_checks[i].col].p;
        if (v && strcmp(v, col) != 0) {
            char a[48], b[48];
            snprintf(err, errlen, "labels_raw %s '%s' differs from %s '%s'",
                     cross_checks[i].label, shown(v, a, sizeof(a)),
                     columns[cross_checks[i].col], shown(col, b, sizeof(b)));
            return -1;
        }
    }
    return 0;
}

/* Checks one data record and fills row (pointers into rec) and labels.
 * Returns 0, or -1 with the reason: the field count, an unknown metric, a
 * value that is not a number, a time that is not RFC 3339, a missing or bad
 * uuid, Hostname or gpu_id, bad UTF-8, a malformed labels_raw or one that
 * contradicts the columns. */
int replay_row_parse(const struct csv_record *rec, struct replay_labels *labels,
                     struct replay_row *row, char *err, size_t errlen)
{
    memset(row, 0, sizeof(*row));
    row->line = rec->line;
    if (rec->nfields != COL_COUNT) {
        snprintf(err, errlen, "expected %d fields, found %d", COL_COUNT, rec->nfields);
        return -1;
    }
    if (check_utf8(rec, err, errlen) < 0)
        return -1;
    const char *metric = rec->f[COL_METRIC].p;
    if ((row->metric = gpu_metric_by_dcgm(metric)) < 0)
        return fail(err, errlen, "unknown metric", metric);
    double t;
    if (time_parse(rec->f[COL_TIMESTAMP].p, &t) < 0)
        return fail(err, errlen, "timestamp is not an RFC 3339 time:",
                    rec->f[COL_TIMESTAMP].p);
    if ((row->ts_ms = time_ms(t)) <= 0)
        return fail(err, errlen, "timestamp before 1970:", rec->f[COL_TIMESTAMP].p);
    if (replay_number(rec->f[COL_VALUE].p, &row->value, row->num, sizeof(row->num)) < 0)
        return fail(err, errlen, "value is not a number:", rec->f[COL_VALUE].p);
    if (check_identity(rec, row, err, errlen) < 0)
        return -1;
    return check_labels(rec, labels, err, errlen);
}
