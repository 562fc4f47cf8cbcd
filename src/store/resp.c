#include "resp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Starts a new command (keeps the argument buffer's memory). */
void resp_begin(struct resp_cmd *c)
{
    buf_reset(&c->args);
    c->argc = 0;
    c->overflow = 0;
}

/* Adds one argument of n bytes (binary safe). */
void resp_arg(struct resp_cmd *c, const char *p, size_t n)
{
    if (c->argc == RESP_MAX_ARGS || buf_append(&c->args, p, n ? n : 0) < 0) {
        c->overflow = 1;
        return;
    }
    c->off[c->argc] = c->args.len - n;
    c->len[c->argc] = n;
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

/* Adds a number the shortest way that reads back exactly (integers without
 * a fraction). */
void resp_num(struct resp_cmd *c, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        resp_fmt(c, "%.0f", v);
    else
        resp_fmt(c, "%.15g", v);
}

/* Appends the command to out as a RESP request. Returns 0, or -1 when an
 * argument did not fit or memory ran out (out unchanged then). */
int resp_end(struct resp_cmd *c, struct buf *out)
{
    if (c->overflow || c->argc == 0)
        return -1;
    size_t before = out->len;
    int rc = buf_printf(out, "*%d\r\n", c->argc);
    for (int i = 0; i < c->argc && rc == 0; i++) {
        rc |= buf_printf(out, "$%zu\r\n", c->len[i]);
        rc |= buf_append(out, buf_start(&c->args) + c->off[i], c->len[i]);
        rc |= buf_append(out, "\r\n", 2);
    }
    if (rc < 0)
        out->len = before;
    return rc;
}

/* Frees the argument buffer. */
void resp_free(struct resp_cmd *c)
{
    buf_free(&c->args);
}
