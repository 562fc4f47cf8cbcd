#include "fastjson.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 32

static void ws(struct fj *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int fail(struct fj *j)
{
    j->err = 1;
    return -1;
}

static int eat(struct fj *j, char c)
{
    ws(j);
    if (j->p >= j->end || *j->p != c)
        return fail(j);
    j->p++;
    return 0;
}

/* Starts parsing n bytes at p (modified in place). */
void fj_init(struct fj *j, char *p, size_t n)
{
    j->p = p;
    j->end = p + n;
    j->err = 0;
}

/* Expects '{'. Returns 0 or -1. */
int fj_object(struct fj *j)
{
    return eat(j, '{');
}

/* Expects '['. Returns 0 or -1. */
int fj_array(struct fj *j)
{
    return eat(j, '[');
}

/* Between the elements of an array or the members of an object: *count
 * is how many came so far (start at 0). Returns 1 when another follows
 * (its ',' eaten), 0 at the closing bracket (eaten), -1 on error. */
int fj_more(struct fj *j, char close, int *count)
{
    ws(j);
    if (j->p >= j->end)
        return fail(j);
    if (*j->p == close) {
        j->p++;
        return 0;
    }
    if ((*count)++ == 0)
        return 1;
    if (*j->p != ',')
        return fail(j);
    j->p++;
    return 1;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *w, unsigned cp)
{
    if (cp < 0x80) {
        *w++ = (char)cp;
    } else if (cp < 0x800) {
        *w++ = (char)(0xC0 | (cp >> 6));
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *w++ = (char)(0xE0 | (cp >> 12));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *w++ = (char)(0xF0 | (cp >> 18));
        *w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    }
    return w;
}

static int escape(struct fj *j, char **w)
{
    char c = *j->p++;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = c ? strchr(from, c) : NULL;
    if (k) {
        *(*w)++ = to[k - from];
        return 0;
    }
    unsigned cp, lo;
    if (c != 'u' || j->end - j->p < 4 || hex4(j->p, &cp) < 0)
        return -1;
    j->p += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, &lo) < 0 ||
            lo < 0xDC00 || lo > 0xDFFF)
            return -1;
        j->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
        return -1;    /* a lone low surrogate, or a NUL we cannot keep */
    }
    *w = put_utf8(*w, cp);
    return 0;
}

/* Reads a string; unescapes it in place and NUL-terminates it (the
 * closing quote's byte holds the NUL). Returns 0 or -1. Raw bytes are
 * passed through; jansson's fallback checks UTF-8 when it matters. */
int fj_string(struct fj *j, const char **s, size_t *len)
{
    if (eat(j, '"') < 0)
        return -1;
    char *start = j->p, *w = j->p;
    while (j->p < j->end) {
        unsigned char c = (unsigned char)*j->p;
        if (c == '"') {
            *w = '\0';
            j->p++;
            *s = start;
            *len = (size_t)(w - start);
            return 0;
        }
        if (c < 0x20 || c >= 0x80)
            return fail(j);       /* control or non-ASCII: leave it to jansson */
        j->p++;
        if (c == '\\') {
            if (j->p >= j->end || escape(j, &w) < 0)
                return fail(j);
        } else {
            *w++ = (char)c;
        }
    }
    return fail(j);
}

static const double pow10_exact[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                                     1e11, 1e12, 1e13, 1e14, 1e15};

/* Reads a JSON number (strict grammar). Returns 0 or -1. A number of at
 * most 15 digits and no exponent ("45.20", "1732000000.5") is an exact
 * integer over an exact power of ten, so one IEEE division gives what
 * strtod gives (Clinger's fast path); anything else goes to strtod. */
int fj_number(struct fj *j, double *v)
{
    ws(j);
    char *s = j->p, *p = j->p;
    int is_int = 1, neg = 0, digits = 0, frac = 0;
    uint64_t m = 0;
    if (p < j->end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p >= j->end || *p < '0' || *p > '9')
        return fail(j);
    if (*p == '0')
        p++;
    else
        for (; p < j->end && *p >= '0' && *p <= '9'; p++, digits++)
            m = m * 10 + (uint64_t)(*p - '0');
    if (p < j->end && *p == '.') {
        is_int = 0;
        p++;
        if (p >= j->end || *p < '0' || *p > '9')
            return fail(j);
        for (; p < j->end && *p >= '0' && *p <= '9'; p++, digits++, frac++)
            m = m * 10 + (uint64_t)(*p - '0');
    }
    int fast = digits <= 15;
    if (p < j->end && (*p == 'e' || *p == 'E')) {
        is_int = 0;
        fast = 0;
        p++;
        if (p < j->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= j->end || *p < '0' || *p > '9')
            return fail(j);
        while (p < j->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p >= j->end)
        return fail(j);           /* a frame never ends in a bare number */
    if (fast) {
        if (is_int)               /* as (double) of jansson's long long: -0 is 0 */
            *v = (double)(neg ? -(int64_t)m : (int64_t)m);
        else
            *v = (neg ? -(double)m : (double)m) / pow10_exact[frac];
        j->p = p;
        return 0;
    }
    char save = *p;
    *p = '\0';
    errno = 0;
    if (is_int) {
        /* jansson keeps integers as long long and refuses larger ones */
        long long ll = strtoll(s, NULL, 10);
        *v = (double)ll;
    } else {
        *v = strtod(s, NULL);
    }
    *p = save;
    if (errno == ERANGE || !isfinite(*v))
        return fail(j);           /* jansson refuses an overflow too */
    j->p = p;
    return 0;
}

static int word(struct fj *j, const char *w)
{
    size_t n = strlen(w);
    ws(j);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return -1;
    j->p += n;
    return 0;
}

/* Reads true or false. Returns 0 or -1. */
int fj_bool(struct fj *j, int *v)
{
    if (word(j, "true") == 0) {
        *v = 1;
        return 0;
    }
    if (word(j, "false") == 0) {
        *v = 0;
        return 0;
    }
    return fail(j);
}

/* Eats null and returns 1 when the next value is null, else 0. */
int fj_is_null(struct fj *j)
{
    return word(j, "null") == 0;
}

/* Reads a key and its ':'. Returns 0 or -1. */
int fj_key(struct fj *j, const char **key)
{
    size_t len;
    if (fj_string(j, key, &len) < 0 || eat(j, ':') < 0)
        return -1;
    return 0;
}

static int skip_depth(struct fj *j, int depth)
{
    ws(j);
    if (j->p >= j->end || depth > MAX_DEPTH)
        return fail(j);
    char c = *j->p;
    const char *s;
    size_t len;
    double d;
    int b;
    if (c == '"')
        return fj_string(j, &s, &len);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++;
        int rc, count = 0;
        while ((rc = fj_more(j, close, &count)) == 1) {
            if (c == '{' && fj_key(j, &s) < 0)
                return -1;
            if (skip_depth(j, depth + 1) < 0)
                return -1;
        }
        return rc;
    }
    if (c == 't' || c == 'f')
        return fj_bool(j, &b);
    if (c == 'n')
        return fj_is_null(j) ? 0 : fail(j);
    return fj_number(j, &d);
}

/* Skips one value of any kind. Returns 0 or -1. */
int fj_skip(struct fj *j)
{
    return skip_depth(j, 0);
}

/* Returns 0 when only whitespace is left and no error happened. */
int fj_done(struct fj *j)
{
    ws(j);
    return j->err || j->p != j->end ? -1 : 0;
}
