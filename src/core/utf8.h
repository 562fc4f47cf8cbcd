/* Making arbitrary bytes (a process's output) into valid UTF-8 for JSON. */
#ifndef GANTRY_UTF8_H
#define GANTRY_UTF8_H

#include <stddef.h>

#include "buf.h"

size_t utf8_valid_prefix(const char *p, size_t n, size_t *incomplete);
int utf8_sanitize(const char *p, size_t n, struct buf *out);

#endif
