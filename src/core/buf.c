#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sets b to the empty buffer, which holds no memory. */
void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = b->off = b->cap = 0;
}

/* Releases b's memory and leaves it empty and reusable. */
void buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

/* Makes room for extra more bytes after the used ones. When it must move
 * the bytes (to the front, or into a larger block), it leaves at least half
 * the block free, so a buffer used as a queue (appended at the end,
 * consumed at the front) moves each byte a bounded number of times.
 * Returns 0, or -1 when memory is exhausted (b is unchanged then). */
int buf_reserve(struct buf *b, size_t extra)
{
    if (b->off + b->len + extra <= b->cap)
        return 0;
    size_t need = b->len + extra;
    if (need < extra)
        return -1;
    if (need <= b->cap / 2) {
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
        return 0;
    }
    size_t cap = b->cap ? b->cap : 128;
    while (cap < 2 * need) {
        if (cap > ((size_t)-1) / 4)
            return -1;
        cap *= 2;
    }
    char *p;
    if (b->off) {
        p = malloc(cap);
        if (!p)
            return -1;
        memcpy(p, b->data + b->off, b->len);
        free(b->data);
    } else {
        p = realloc(b->data, cap);
        if (!p)
            return -1;
    }
    b->data = p;
    b->cap = cap;
    b->off = 0;
    return 0;
}

/* Appends n bytes from p. Returns 0 or -1 (out of memory). */
int buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(buf_end(b), p, n);
    b->len += n;
    return 0;
}

/* Appends a NUL-terminated string without its terminator. */
int buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

/* Appends printf-formatted text. Returns 0 or -1. */
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    size_t room = b->cap - b->off - b->len;
    int n = vsnprintf(b->data ? buf_end(b) : NULL, b->data ? room : 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return -1;
    if ((size_t)n >= room) {
        if (buf_reserve(b, (size_t)n + 1) < 0)
            return -1;
        n = vsnprintf(buf_end(b), (size_t)n + 1, fmt, ap);
        if (n < 0)
            return -1;
    }
    b->len += (size_t)n;
    return 0;
}

/* Appends printf-formatted text. Returns 0 or -1. */
int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* Drops the first n unconsumed bytes (all of them when n >= len). */
void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        b->off = 0;
        return;
    }
    b->off += n;
    b->len -= n;
}

/* Empties b but keeps its memory for reuse. */
void buf_reset(struct buf *b)
{
    b->len = 0;
    b->off = 0;
}

/* Frees the memory of an empty buffer whose capacity exceeds keep, so a burst
 * does not pin memory on an idle connection. */
void buf_shrink(struct buf *b, size_t keep)
{
    if (b->len == 0 && b->cap > keep)
        buf_free(b);
}

/* Writes a NUL after the used bytes (not counted in len), so the contents
 * can be read as a C string. Returns 0 or -1. */
int buf_nul(struct buf *b)
{
    if (buf_reserve(b, 1) < 0)
        return -1;
    *buf_end(b) = '\0';
    return 0;
}
