/* Query strings: walking the parameters of a request target, and decoding
 * their names and values (percent escapes, '+' for a space). */
#include <ctype.h>
#include <string.h>

#include "http.h"

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Decodes len bytes of s into out (NUL-terminated). Returns 0, or -1 when
 * malformed (a bad escape, a NUL byte) or longer than outlen - 1. */
int http_query_decode(const char *s, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = s; p < s + len; p++) {
        int ch = (unsigned char)*p;
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%') {
            if (s + len - p < 3 || hexval(p[1]) < 0 || hexval(p[2]) < 0)
                return -1;
            ch = hexval(p[1]) * 16 + hexval(p[2]);
            p += 2;
        }
        if (o + 1 >= outlen || ch == 0)
            return -1;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 0;
}

/* Walks the parameters of query (NULL: none) from *pos: decodes the next
 * one's name into name, points *raw at its undecoded value (*rawlen bytes;
 * "" for a bare name) and advances *pos. Returns 1, 0 at the end, or -1
 * when the name is malformed or too long (*pos still advances). */
int http_query_next(const char *query, size_t *pos, char *name, size_t nlen, const char **raw,
                    size_t *rawlen)
{
    while (query && query[*pos]) {
        const char *item = query + *pos;
        size_t len = strcspn(item, "&");
        *pos += len + (item[len] == '&');
        if (len == 0)
            continue;
        const char *eq = memchr(item, '=', len);
        size_t klen = eq ? (size_t)(eq - item) : len;
        *raw = eq ? eq + 1 : item + len;
        *rawlen = eq ? len - klen - 1 : 0;
        return http_query_decode(item, klen, name, nlen) < 0 ? -1 : 1;
    }
    return 0;
}

/* Copies the decoded value of query parameter name (its first occurrence)
 * into out. Returns 1 when present, 0 when absent, -1 when malformed or too
 * long. */
int http_query_param(const struct http_req *req, const char *name, char *out, size_t outlen)
{
    size_t pos = 0, rawlen;
    const char *raw;
    char key[64];
    int rc;
    while ((rc = http_query_next(req->query, &pos, key, sizeof(key), &raw, &rawlen)) != 0) {
        if (rc == 1 && strcmp(key, name) == 0)
            return http_query_decode(raw, rawlen, out, outlen) < 0 ? -1 : 1;
    }
    return 0;
}
