/* Building Redis commands in the RESP wire format directly into a buffer:
 * arguments are gathered, then written as one multi-bulk request. */
#ifndef GANTRY_RESP_H
#define GANTRY_RESP_H

#include <stddef.h>

#include "core/buf.h"

/* Past this many arguments a command is refused (Redis itself takes up to
 * 1M per command; nothing of ours comes near). */
#define RESP_MAX_ARGS (1 << 20)

struct resp_arg_span {
    size_t off, len;
};

struct resp_cmd {
    struct buf args;              /* argument bytes, back to back */
    struct resp_arg_span *span;   /* where each argument is in args; grows */
    int argc, cap;
    int overflow;                 /* an argument was refused: resp_end fails */
};

void resp_begin(struct resp_cmd *c);
void resp_arg(struct resp_cmd *c, const char *p, size_t n);
void resp_str(struct resp_cmd *c, const char *s);
void resp_cat(struct resp_cmd *c, const char *a, const char *b, const char *d);
void resp_fmt(struct resp_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void resp_num(struct resp_cmd *c, double v);
void resp_int(struct resp_cmd *c, long long v);
void resp_fixed2(struct resp_cmd *c, double v);
int resp_end(struct resp_cmd *c, struct buf *out);
int resp_end_after(struct resp_cmd *c, const char *const *pre, int npre, struct buf *out);
void resp_free(struct resp_cmd *c);

#endif
