#include "lexer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"

/* Starts lx over len bytes of src (not NUL-terminated). */
void gql_lex_init(struct gql_lexer *lx, const char *src, size_t len,
                  size_t max_tokens, struct gql_arena *arena)
{
    lx->pos = src;
    lx->end = src + len;
    lx->line_start = src;
    lx->line = 1;
    lx->col_at = src;
    lx->col = 1;
    lx->tokens = 0;
    lx->max_tokens = max_tokens;
    lx->arena = arena;
}

/* The column of p on the current line, counting UTF-8 characters. Counts
 * on from the last answer when it can, so a long line costs linear time. */
static unsigned column_of(struct gql_lexer *lx, const char *p)
{
    if (lx->col_at < lx->line_start || lx->col_at > p) {
        lx->col_at = lx->line_start;
        lx->col = 1;
    }
    for (; lx->col_at < p; lx->col_at++)
        if (((unsigned char)*lx->col_at & 0xC0) != 0x80)
            lx->col++;
    return lx->col;
}

static int fail_at(struct gql_lexer *lx, const char *p, struct gql_error *err,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail_at(struct gql_lexer *lx, const char *p, struct gql_error *err,
                   const char *fmt, ...)
{
    int n = snprintf(err->message, sizeof(err->message), "Syntax Error: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + n, sizeof(err->message) - (size_t)n, fmt, ap);
    va_end(ap);
    err->line = lx->line;
    err->column = column_of(lx, p);
    return -1;
}

/* Consumes a line terminator at lx->pos (\n, \r\n or \r). */
static void newline(struct gql_lexer *lx)
{
    if (lx->pos[0] == '\r' && lx->pos + 1 < lx->end && lx->pos[1] == '\n')
        lx->pos++;
    lx->pos++;
    lx->line++;
    lx->line_start = lx->pos;
}

/* Skips white space, commas, comments and byte order marks. */
static void skip_ignored(struct gql_lexer *lx)
{
    while (lx->pos < lx->end) {
        unsigned char c = (unsigned char)*lx->pos;
        if (c == ' ' || c == '\t' || c == ',') {
            lx->pos++;
        } else if (c == '\n' || c == '\r') {
            newline(lx);
        } else if (c == '#') {
            while (lx->pos < lx->end && *lx->pos != '\n' && *lx->pos != '\r')
                lx->pos++;
        } else if (c == 0xEF && lx->end - lx->pos >= 3 &&
                   memcmp(lx->pos, "\xEF\xBB\xBF", 3) == 0) {
            lx->pos += 3;
        } else {
            return;
        }
    }
}

static int is_name_start(char c)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_name_char(char c)
{
    return is_name_start(c) || is_digit(c);
}

/* Reads digits at p; returns the end, or NULL when there are none. */
static const char *digits(const struct gql_lexer *lx, const char *p)
{
    if (p >= lx->end || !is_digit(*p))
        return NULL;
    while (p < lx->end && is_digit(*p))
        p++;
    return p;
}

static int lex_number(struct gql_lexer *lx, struct gql_token *t,
                      struct gql_error *err)
{
    const char *p = lx->pos;
    t->kind = GQL_TOK_INT;
    if (*p == '-')
        p++;
    if (p < lx->end && *p == '0' && p + 1 < lx->end && is_digit(p[1]))
        return fail_at(lx, p + 1, err, "Invalid number, unexpected digit "
                       "after 0: \"%c\".", p[1]);
    if (!(p = digits(lx, p)))
        return fail_at(lx, lx->pos, err, "Invalid number, expected digit.");
    if (p < lx->end && *p == '.') {
        t->kind = GQL_TOK_FLOAT;
        if (!(p = digits(lx, p + 1)))
            return fail_at(lx, lx->pos, err, "Invalid number, expected digit "
                           "after \".\".");
    }
    if (p < lx->end && (*p == 'e' || *p == 'E')) {
        t->kind = GQL_TOK_FLOAT;
        p++;
        if (p < lx->end && (*p == '+' || *p == '-'))
            p++;
        if (!(p = digits(lx, p)))
            return fail_at(lx, lx->pos, err, "Invalid number, expected digit "
                           "in the exponent.");
    }
    if (p < lx->end && (*p == '.' || is_name_start(*p)))
        return fail_at(lx, p, err, "Invalid number, unexpected \"%c\".", *p);
    t->len = (size_t)(p - lx->pos);
    lx->pos = p;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads \uXXXX's four hex digits at p into *cp; -1 if they are not. */
static int hex4(const struct gql_lexer *lx, const char *p, unsigned *cp)
{
    *cp = 0;
    if (lx->end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int v = hex_value(p[i]);
        if (v < 0)
            return -1;
        *cp = *cp << 4 | (unsigned)v;
    }
    return 0;
}

/* Reads the escape \u... at p (p points at 'u'), in either form: four hex
 * digits (a surrogate pair counts as one escape) or {hex digits}. Sets *cp
 * and returns the bytes read after 'u', or -1. */
static int unicode_escape(const struct gql_lexer *lx, const char *p,
                          unsigned *cp)
{
    p++;
    if (p < lx->end && *p == '{') {
        const char *q = p + 1;
        *cp = 0;
        while (q < lx->end && hex_value(*q) >= 0 && *cp <= 0x10FFFF)
            *cp = *cp << 4 | (unsigned)hex_value(*q++);
        if (q == p + 1 || q >= lx->end || *q != '}' || *cp > 0x10FFFF ||
            (*cp >= 0xD800 && *cp <= 0xDFFF))
            return -1;
        return (int)(q + 1 - p);
    }
    if (hex4(lx, p, cp) < 0 || (*cp >= 0xDC00 && *cp <= 0xDFFF))
        return -1;
    if (*cp < 0xD800 || *cp > 0xDBFF)
        return 4;
    unsigned low;
    if (lx->end - p < 10 || p[4] != '\\' || p[5] != 'u' ||
        hex4(lx, p + 6, &low) < 0 || low < 0xDC00 || low > 0xDFFF)
        return -1;
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (low - 0xDC00);
    return 10;
}

static int put_utf8(struct buf *out, unsigned cp)
{
    char s[4];
    size_t n;
    if (cp < 0x80) {
        s[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        s[0] = (char)(0xC0 | cp >> 6), s[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        s[0] = (char)(0xE0 | cp >> 12);
        s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        s[0] = (char)(0xF0 | cp >> 18);
        s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        s[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_append(out, s, n);
}

/* Decodes the one-character escape after a backslash; -1 if unknown. */
static int simple_escape(char c)
{
    switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return -1;
    }
}

/* Moves the decoded bytes of out into the arena as t's value. */
static int take_value(struct gql_lexer *lx, struct gql_token *t,
                      struct buf *out, struct gql_error *err)
{
    t->value_len = out->len;
    t->value = gql_arena_strndup(lx->arena, out->len ? buf_start(out) : "",
                                 out->len);
    buf_free(out);
    if (!t->value)
        return fail_at(lx, t->start, err, "out of memory");
    return 0;
}

static int lex_string(struct gql_lexer *lx, struct gql_token *t,
                      struct gql_error *err)
{
    struct buf out = BUF_INIT;
    const char *p = lx->pos + 1;
    int rc = -1;
    for (;;) {
        if (p >= lx->end || *p == '\n' || *p == '\r') {
            fail_at(lx, p, err, "Unterminated string.");
            goto done;
        }
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c < 0x20 && c != '\t') {
            fail_at(lx, p, err, "Invalid character within String: 0x%02X.", c);
            goto done;
        }
        if (c != '\\') {
            if (buf_append(&out, p++, 1) < 0)
                goto nomem;
            continue;
        }
        int e = p + 1 < lx->end ? simple_escape(p[1]) : -1;
        if (e >= 0) {
            char ch = (char)e;
            if (buf_append(&out, &ch, 1) < 0)
                goto nomem;
            p += 2;
            continue;
        }
        unsigned cp;
        int n = p + 1 < lx->end && p[1] == 'u' ?
                unicode_escape(lx, p + 1, &cp) : -1;
        if (n < 0) {
            fail_at(lx, p, err, "Invalid escape sequence in a String.");
            goto done;
        }
        if (put_utf8(&out, cp) < 0)
            goto nomem;
        p += 2 + n;
    }
    t->kind = GQL_TOK_STRING;
    t->len = (size_t)(p + 1 - lx->pos);
    lx->pos = p + 1;
    return take_value(lx, t, &out, err);
nomem:
    fail_at(lx, p, err, "out of memory");
done:
    buf_free(&out);
    return rc;
}

/* Leading spaces and tabs of the line s[0..n). */
static size_t indent_of(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

/* The next line of raw[*at..n) (lines end at '\n'); advances *at. */
static const char *next_line(const char *raw, size_t n, size_t *at,
                             size_t *len)
{
    const char *s = raw + *at;
    const char *nl = memchr(s, '\n', n - *at);
    *len = nl ? (size_t)(nl - s) : n - *at;
    *at += *len + 1;
    return s;
}

/* The block string value of raw (lines joined by '\n'): the indentation
 * common to all lines but the first removed, and blank lines at either end
 * dropped, per the specification's BlockStringValue. */
static int block_value(const char *raw, size_t n, struct buf *out)
{
    size_t common = (size_t)-1, at = 0, len, lines = 0;
    size_t first = (size_t)-1, last = 0;
    while (at <= n) {
        const char *s = next_line(raw, n, &at, &len);
        size_t ind = indent_of(s, len);
        if (lines > 0 && ind < len && ind < common)
            common = ind;
        if (ind < len) {
            if (first == (size_t)-1)
                first = lines;
            last = lines;
        }
        lines++;
    }
    if (first == (size_t)-1)
        return 0;
    at = 0;
    for (size_t i = 0; i <= last; i++) {
        const char *s = next_line(raw, n, &at, &len);
        if (i > 0 && common != (size_t)-1) {
            size_t cut = len < common ? len : common;
            s += cut, len -= cut;
        }
        if (i < first)
            continue;
        if ((i > first && buf_append(out, "\n", 1) < 0) ||
            buf_append(out, s, len) < 0)
            return -1;
    }
    return 0;
}

static int lex_block_string(struct gql_lexer *lx, struct gql_token *t,
                            struct gql_error *err)
{
    struct buf raw = BUF_INIT, out = BUF_INIT;
    const char *start = lx->pos;
    lx->pos += 3;
    for (;;) {
        const char *p = lx->pos;
        if (p >= lx->end) {
            fail_at(lx, p, err, "Unterminated string.");
            goto fail;
        }
        unsigned char c = (unsigned char)*p;
        int rc = 0;
        if (c == '"' && lx->end - p >= 3 && memcmp(p, "\"\"\"", 3) == 0) {
            lx->pos += 3;
            break;
        } else if (c == '\\' && lx->end - p >= 4 &&
                   memcmp(p, "\\\"\"\"", 4) == 0) {
            rc = buf_append(&raw, "\"\"\"", 3);
            lx->pos += 4;
        } else if (c == '\n' || c == '\r') {
            rc = buf_append(&raw, "\n", 1);
            newline(lx);
        } else if (c < 0x20 && c != '\t') {
            fail_at(lx, p, err, "Invalid character within String: 0x%02X.", c);
            goto fail;
        } else {
            rc = buf_append(&raw, p, 1);
            lx->pos++;
        }
        if (rc < 0)
            goto nomem;
    }
    if (block_value(raw.len ? buf_start(&raw) : "", raw.len, &out) < 0)
        goto nomem;
    buf_free(&raw);
    t->kind = GQL_TOK_BLOCK_STRING;
    t->len = (size_t)(lx->pos - start);
    return take_value(lx, t, &out, err);
nomem:
    fail_at(lx, lx->pos, err, "out of memory");
fail:
    buf_free(&raw);
    buf_free(&out);
    return -1;
}

static enum gql_tok punctuator(char c)
{
    switch (c) {
    case '!': return GQL_TOK_BANG;
    case '$': return GQL_TOK_DOLLAR;
    case '&': return GQL_TOK_AMP;
    case '(': return GQL_TOK_PAREN_L;
    case ')': return GQL_TOK_PAREN_R;
    case ':': return GQL_TOK_COLON;
    case '=': return GQL_TOK_EQUALS;
    case '@': return GQL_TOK_AT;
    case '[': return GQL_TOK_BRACKET_L;
    case ']': return GQL_TOK_BRACKET_R;
    case '{': return GQL_TOK_BRACE_L;
    case '|': return GQL_TOK_PIPE;
    case '}': return GQL_TOK_BRACE_R;
    default: return GQL_TOK_EOF;
    }
}

static int lex_other(struct gql_lexer *lx, struct gql_token *t,
                     struct gql_error *err)
{
    const char *p = lx->pos;
    char c = *p;
    if ((t->kind = punctuator(c)) != GQL_TOK_EOF) {
        t->len = 1;
        lx->pos++;
        return 0;
    }
    if (c == '.' && lx->end - p >= 3 && p[1] == '.' && p[2] == '.') {
        t->kind = GQL_TOK_SPREAD;
        t->len = 3;
        lx->pos += 3;
        return 0;
    }
    if (is_name_start(c)) {
        while (lx->pos < lx->end && is_name_char(*lx->pos))
            lx->pos++;
        t->kind = GQL_TOK_NAME;
        t->len = (size_t)(lx->pos - p);
        return 0;
    }
    if (c == '-' || is_digit(c))
        return lex_number(lx, t, err);
    if (c == '"')
        return lx->end - p >= 3 && p[1] == '"' && p[2] == '"' ?
               lex_block_string(lx, t, err) : lex_string(lx, t, err);
    if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7F)
        return fail_at(lx, p, err, "Unexpected character: \"%c\".", c);
    return fail_at(lx, p, err, "Unexpected character: 0x%02X.",
                   (unsigned char)c);
}

/* Reads the next token into t. Returns 0, or -1 with err set (a syntax
 * error with its location, or the token limit). At the end of the source
 * every call gives GQL_TOK_EOF. */
int gql_lex_next(struct gql_lexer *lx, struct gql_token *t,
                 struct gql_error *err)
{
    skip_ignored(lx);
    t->start = lx->pos;
    t->line = lx->line;
    t->column = column_of(lx, lx->pos);
    t->len = 0;
    if (lx->pos >= lx->end) {
        t->kind = GQL_TOK_EOF;
        t->value = t->start;
        t->value_len = 0;
        return 0;
    }
    if (lx->max_tokens && ++lx->tokens > lx->max_tokens) {
        snprintf(err->message, sizeof(err->message), "The document has more "
                 "than %zu tokens (limit max_tokens).", lx->max_tokens);
        err->line = t->line;
        err->column = t->column;
        return -1;
    }
    if (lex_other(lx, t, err) < 0)
        return -1;
    if (t->kind != GQL_TOK_STRING && t->kind != GQL_TOK_BLOCK_STRING) {
        t->value = t->start;
        t->value_len = t->len;
    }
    return 0;
}

/* A token kind as error messages show it. */
const char *gql_tok_name(enum gql_tok kind)
{
    static const char *const names[] = {
        "<EOF>", "\"!\"", "\"$\"", "\"&\"", "\"(\"", "\")\"", "\"...\"",
        "\":\"", "\"=\"", "\"@\"", "\"[\"", "\"]\"", "\"{\"", "\"|\"", "\"}\"",
        "Name", "Int", "Float", "String", "BlockString",
    };
    return names[kind];
}
