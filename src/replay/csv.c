#include "csv.h"

#include <stdio.h>
#include <string.h>

enum field_end { FIELD_COMMA, FIELD_EOL, FIELD_EOF, FIELD_BAD, FIELD_NOMEM };

/* Sets up r to read data (borrowed: it must outlive r), skipping a UTF-8
 * byte order mark. */
void csv_init(struct csv_reader *r, const char *data, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->data = data;
    r->len = len;
    r->line = 1;
    buf_init(&r->scratch);
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;
}

/* Releases the reader's memory (not the data). */
void csv_free(struct csv_reader *r)
{
    buf_free(&r->scratch);
}

static int at_eol(const struct csv_reader *r, size_t pos)
{
    return r->data[pos] == '\n' ||
           (r->data[pos] == '\r' && pos + 1 < r->len && r->data[pos + 1] == '\n');
}

/* What follows a field: a comma, a line end (consumed), or the end. */
static enum field_end after_field(struct csv_reader *r)
{
    if (r->pos >= r->len)
        return FIELD_EOF;
    if (r->data[r->pos] == ',') {
        r->pos++;
        return FIELD_COMMA;
    }
    if (!at_eol(r, r->pos))
        return FIELD_BAD;
    r->pos += r->data[r->pos] == '\r' ? 2 : 1;
    r->line++;
    return FIELD_EOL;
}

static enum field_end unquoted(struct csv_reader *r, char *err, size_t errlen)
{
    size_t start = r->pos;
    while (r->pos < r->len && r->data[r->pos] != ',' && !at_eol(r, r->pos)) {
        char c = r->data[r->pos];
        if (c == '"' || c == '\0') {
            snprintf(err, errlen, "%s", c == '"' ? "a quote inside an unquoted field"
                                                 : "a NUL byte in the record");
            return FIELD_BAD;
        }
        r->pos++;
    }
    if (buf_append(&r->scratch, r->data + start, r->pos - start) < 0)
        return FIELD_NOMEM;
    return after_field(r);
}

static enum field_end quoted(struct csv_reader *r, char *err, size_t errlen)
{
    long first_line = r->line;
    r->pos++;
    for (;;) {
        size_t start = r->pos;
        while (r->pos < r->len && r->data[r->pos] != '"' && r->data[r->pos] != '\0') {
            if (r->data[r->pos] == '\n' && ++r->line - first_line > CSV_MAX_FIELD_LINES) {
                snprintf(err, errlen, "unterminated quote (the field runs on past line %ld)",
                         r->line);
                return FIELD_BAD;
            }
            r->pos++;
        }
        if (buf_append(&r->scratch, r->data + start, r->pos - start) < 0)
            return FIELD_NOMEM;
        if (r->pos >= r->len) {
            snprintf(err, errlen, "unterminated quote");
            return FIELD_BAD;
        }
        if (r->data[r->pos] == '\0') {
            snprintf(err, errlen, "a NUL byte in the record");
            return FIELD_BAD;
        }
        if (r->pos + 1 < r->len && r->data[r->pos + 1] == '"') {
            if (buf_append(&r->scratch, "\"", 1) < 0)
                return FIELD_NOMEM;
            r->pos += 2;
            continue;
        }
        r->pos++;
        enum field_end e = after_field(r);
        /* Past a line break, the likelier fault is a quote left open. */
        if (e == FIELD_BAD && r->line > first_line)
            snprintf(err, errlen, "unterminated quote (the field runs on into line %ld)", r->line);
        else if (e == FIELD_BAD)
            snprintf(err, errlen, "text after a closing quote");
        return e;
    }
}

/* Skips blank lines. Returns 0 at the end of the data. */
static int skip_blank(struct csv_reader *r)
{
    while (r->pos < r->len && at_eol(r, r->pos)) {
        r->pos += r->data[r->pos] == '\r' ? 2 : 1;
        r->line++;
    }
    return r->pos < r->len;
}

/* A broken record: reading goes on at the line after its first. */
static void resync(struct csv_reader *r, size_t start, long first_line)
{
    const char *nl = memchr(r->data + start, '\n', r->len - start);
    r->pos = nl ? (size_t)(nl - r->data) + 1 : r->len;
    r->line = first_line + 1;
}

static void fill_fields(struct csv_reader *r, struct csv_record *rec)
{
    int kept = rec->nfields < CSV_MAX_FIELDS ? rec->nfields : CSV_MAX_FIELDS;
    /* Fields hold no NUL (one breaks the record), so each ends at its own. */
    for (int i = 0; i < kept; i++) {
        rec->f[i].p = r->scratch.data + r->off[i];
        rec->f[i].len = strlen(rec->f[i].p);
    }
}

/* Reads the next record into rec, whose fields point into r (valid until
 * the next call). Returns 1 for a record, 0 at the end, -1 for a broken
 * record (rec->line and err say where and why; the next call goes on
 * after it), -2 when memory ran out. */
int csv_next(struct csv_reader *r, struct csv_record *rec, char *err, size_t errlen)
{
    if (!skip_blank(r))
        return 0;
    size_t start = r->pos;
    rec->line = r->line;
    rec->nfields = 0;
    buf_reset(&r->scratch);
    enum field_end e;
    do {
        if (rec->nfields < CSV_MAX_FIELDS)
            r->off[rec->nfields] = r->scratch.len;
        rec->nfields++;
        if (r->pos < r->len && r->data[r->pos] == '"')
            e = quoted(r, err, errlen);
        else
            e = unquoted(r, err, errlen);
        if (e == FIELD_COMMA || e == FIELD_EOL || e == FIELD_EOF)
            e = buf_append(&r->scratch, "", 1) < 0 ? FIELD_NOMEM : e;
    } while (e == FIELD_COMMA);
    if (e == FIELD_NOMEM) {
        snprintf(err, errlen, "out of memory");
        resync(r, start, rec->line);
        return -2;
    }
    if (e == FIELD_BAD) {
        resync(r, start, rec->line);
        return -1;
    }
    fill_fields(r, rec);
    return 1;
}
