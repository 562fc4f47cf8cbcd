/* A strict RFC 4180 reader over text held in memory: fields separated by
 * commas, records by LF or CRLF, quoted fields with "" for a quote and
 * commas or line breaks inside. A record may span lines; each carries the
 * number of its first line. A broken record (an unterminated quote, text
 * after a closing quote, a quote inside an unquoted field, a NUL byte, a
 * quoted field over CSV_MAX_FIELD_LINES lines) is reported and reading goes
 * on at the line after the record's first. */
#ifndef GANTRY_CSV_H
#define GANTRY_CSV_H

#include <stddef.h>

#include "core/buf.h"

#define CSV_MAX_FIELDS 64
/* Longer quoted fields are taken for quotes left open: reading goes on at
 * the next line, so a broken file costs at most this many lines per line. */
#define CSV_MAX_FIELD_LINES 100

struct csv_field {
    const char *p;            /* NUL-terminated, unquoted text */
    size_t len;
};

struct csv_record {
    long line;                /* the record's first line, from 1 */
    int nfields;              /* all fields seen; at most CSV_MAX_FIELDS kept */
    struct csv_field f[CSV_MAX_FIELDS];
};

struct csv_reader {
    const char *data;         /* borrowed */
    size_t len;
    size_t pos;
    long line;                /* the line pos is on */
    struct buf scratch;       /* the current record's fields */
    size_t off[CSV_MAX_FIELDS];
};

void csv_init(struct csv_reader *r, const char *data, size_t len);
void csv_free(struct csv_reader *r);
int csv_next(struct csv_reader *r, struct csv_record *rec, char *err,
             size_t errlen);

#endif
