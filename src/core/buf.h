/* Growable byte buffers. A buffer owns its memory; an empty buffer holds no
 * memory at all, so idle connections cost nothing here. */
#ifndef GANTRY_BUF_H
#define GANTRY_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;   /* bytes in use, starting at data + off */
    size_t off;   /* consumed prefix, reclaimed lazily */
    size_t cap;
};

#define BUF_INIT {NULL, 0, 0, 0}

void buf_init(struct buf *b);
void buf_free(struct buf *b);
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
void buf_shrink(struct buf *b, size_t keep);
int buf_nul(struct buf *b);

/* Start of the unconsumed bytes. */
static inline char *buf_start(const struct buf *b)
{
    return b->data + b->off;
}

/* Room after the used bytes (valid after buf_reserve). */
static inline char *buf_end(const struct buf *b)
{
    return b->data + b->off + b->len;
}

#endif
