#include "utf8.h"

/* Length of the UTF-8 sequence starting at p (1..4), 0 if p does not start
 * a valid one, -1 if it may be valid but is cut off at n. */
static int seq_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    int len;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Returns how many leading bytes of p are valid UTF-8, stopping at the
 * first invalid byte; *incomplete is set when what stops it is a sequence
 * cut off by the end of the buffer (more bytes may complete it). */
size_t utf8_valid_prefix(const char *p, size_t n, size_t *incomplete)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0;
    *incomplete = 0;
    while (i < n) {
        int l = seq_len(u + i, n - i);
        if (l < 0) {
            *incomplete = n - i;
            return i;
        }
        if (l == 0)
            return i;
        i += (size_t)l;
    }
    return i;
}

/* Appends p to out with every invalid byte replaced by U+FFFD. Returns 0
 * or -1 (out of memory). */
int utf8_sanitize(const char *p, size_t n, struct buf *out)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        int l;
        while (i < n && (l = seq_len(u + i, n - i)) > 0)
            i += (size_t)l;
        if (buf_append(out, p + start, i - start) < 0)
            return -1;
        if (i < n) {
            if (buf_append(out, "\xEF\xBF\xBD", 3) < 0)
                return -1;
            i++;
        }
    }
    return 0;
}
