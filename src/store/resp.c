#include "resp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Starts a new command (keeps the argument buffer's memory). */
void resp_begin(struct resp_cmd *c)
{
    buf_reset(&c->args);
    c->argc = 0;
    c->overflow = 0;
}

/* Makes room for one more argument. Returns 0, or -1 (overflow set). */
static int grow(struct resp_cmd *c)
{
    if (c->argc < c->cap)
        return 0;
    int cap = c->cap ? c->cap * 2 : 32;
    struct resp_arg_span *s;
    if (c->cap >= RESP_MAX_ARGS || !(s = realloc(c->span, (size_t)cap * sizeof(*s)))) {
        c->overflow = 1;
        return -1;
    }
    c->span = s;
    c->cap = cap;
    return 0;
}

/* Adds one argument of n bytes (binary safe). */
void resp_arg(struct resp_cmd *c, const char *p, size_t n)
{
    if (grow(c) < 0 || buf_append(&c->args, p, n) < 0) {
        c->overflow = 1;
        return;
    }
    c->span[c->argc].off = c->args.len - n;
    c->span[c->argc].len = n;
    c->argc++;
}

/* Adds one argument made of three strings end to end ("gantry:task:" id
 * ":logs"), without printf. */
void resp_cat(struct resp_cmd *c, const char *a, const char *b, const char *d)
{
    size_t la = strlen(a), lb = strlen(b), ld = strlen(d), n = la + lb + ld;
    if (grow(c) < 0 || buf_reserve(&c->args, n) < 0) {
        c->overflow = 1;
        return;
    }
    char *p = buf_end(&c->args);
    memcpy(p, a, la);
    memcpy(p + la, b, lb);
    memcpy(p + la + lb, d, ld);
    c->span[c->argc].off = c->args.len;
    c->span[c->argc].len = n;
    c->args.len += n;
    c->argc++;
}

/* Adds a NUL-terminated string argument. */
void resp_str(struct resp_cmd *c, const char *s)
{
    resp_arg(c, s, strlen(s));
}

/* Adds a printf-formatted argument. */
void resp_fmt(struct resp_cmd *c, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        c->overflow = 1;
        return;
    }
    resp_arg(c, tmp, (size_t)n);
}

/* Writes v in decimal at out (at least 21 bytes). Returns the length. */
static size_t fmt_u64(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Adds a whole number. */
void resp_int(struct resp_cmd *c, long long v)
{
    char s[24];
    size_t n = 0;
    if (v < 0) {
        s[n++] = '-';
        n += fmt_u64(s + n, (uint64_t)0 - (uint64_t)v);
    } else {
        n = fmt_u64(s, (uint64_t)v);
    }
    resp_arg(c, s, n);
}

/* Adds a number with two decimals ("45.20"), without printf. */
void resp_fixed2(struct resp_cmd *c, double v)
{
    if (!isfinite(v) || fabs(v) > 1e15) {
        resp_fmt(c, "%.2f", v);
        return;
    }
    char s[32];
    size_t n = 0;
    long long cents = llround(v * 100);
    if (cents < 0) {
        s[n++] = '-';
        cents = -cents;
    }
    n += fmt_u64(s + n, (uint64_t)(cents / 100));
    s[n++] = '.';
    s[n++] = (char)('0' + cents / 10 % 10);
    s[n++] = (char)('0' + cents % 10);
    resp_arg(c, s, n);
}

/* Adds a number the shortest way that reads back exactly (integers without
 * a fraction). */
void resp_num(struct resp_cmd *c, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        resp_int(c, (long long)v);
    else
        resp_fmt(c, "%.15g", v);
}

static char *put_arg(char *p, const char *arg, size_t len)
{
    *p++ = '$';
    p += fmt_u64(p, len);
    *p++ = '\r';
    *p++ = '\n';
    memcpy(p, arg, len);
    p += len;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* Appends the command to out as a RESP request, after npre arguments of
 * its own (a script call wrapping it: EVALSHA sha 1 key epoch). Returns 0,
 * or -1 when an argument did not fit or memory ran out (out unchanged
 * then). */
int resp_end_after(struct resp_cmd *c, const char *const *pre, int npre, struct buf *out)
{
    if (c->overflow || c->argc == 0)
        return -1;
    size_t total = 16 + c->args.len + (size_t)(c->argc + npre) * 26;
    for (int i = 0; i < npre; i++)
        total += strlen(pre[i]);
    if (buf_reserve(out, total) < 0)
        return -1;
    char *p = buf_end(out);
    *p++ = '*';
    p += fmt_u64(p, (uint64_t)(c->argc + npre));
    *p++ = '\r';
    *p++ = '\n';
    for (int i = 0; i < npre; i++)
        p = put_arg(p, pre[i], strlen(pre[i]));
    for (int i = 0; i < c->argc; i++)
        p = put_arg(p, buf_start(&c->args) + c->span[i].off, c->span[i].len);
    out->len += (size_t)(p - buf_end(out));
    return 0;
}

/* Appends the command to out as a RESP request. Returns 0, or -1 when an
 * argument did not fit or memory ran out (out unchanged then). */
int resp_end(struct resp_cmd *c, struct buf *out)
{
    return resp_end_after(c, NULL, 0, out);
}

/* Frees the argument buffer. */
void resp_free(struct resp_cmd *c)
{
    buf_free(&c->args);
    free(c->span);
    c->span = NULL;
    c->argc = c->cap = 0;
}
