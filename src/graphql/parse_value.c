/* Parsing values, type references, arguments and directives. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parser.h"

/* Reads the first token of len bytes of src into p. Returns 0 or -1. */
int gql_parser_init(struct gql_parser *p, const char *src, size_t len,
                    size_t max_tokens, struct gql_arena *arena,
                    struct gql_error *err)
{
    memset(p, 0, sizeof(*p));
    gql_lex_init(&p->lx, src, len, max_tokens, arena);
    p->arena = arena;
    p->err = err;
    p->max_nesting = 64;
    return gql_parse_advance(p);
}

/* Moves to the next token. Returns 0 or -1 (a lexical error in p->err). */
int gql_parse_advance(struct gql_parser *p)
{
    return gql_lex_next(&p->lx, &p->tok, p->err);
}

/* Sets a syntax error at the current token. Returns -1. */
int gql_parse_fail(struct gql_parser *p, const char *fmt, ...)
{
    int n = snprintf(p->err->message, sizeof(p->err->message),
                     "Syntax Error: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->message + n, sizeof(p->err->message) - (size_t)n,
              fmt, ap);
    va_end(ap);
    p->err->line = p->tok.line;
    p->err->column = p->tok.column;
    return -1;
}

/* Fails with "Expected X, found <the current token>". */
static int unexpected(struct gql_parser *p, const char *expected)
{
    const struct gql_token *t = &p->tok;
    if (t->kind == GQL_TOK_NAME)
        return gql_parse_fail(p, "Expected %s, found Name \"%.*s\".", expected,
                              t->len > 64 ? 64 : (int)t->len, t->start);
    return gql_parse_fail(p, "Expected %s, found %s.", expected,
                          gql_tok_name(t->kind));
}

/* Consumes a token of this kind, or fails. */
int gql_parse_expect(struct gql_parser *p, enum gql_tok kind)
{
    if (p->tok.kind != kind)
        return unexpected(p, gql_tok_name(kind));
    return gql_parse_advance(p);
}

/* Consumes a token of this kind if it is the current one; *found says. */
int gql_parse_skip(struct gql_parser *p, enum gql_tok kind, int *found)
{
    *found = p->tok.kind == kind;
    return *found ? gql_parse_advance(p) : 0;
}

/* Consumes a Name and returns it, copied into the arena; NULL on error.
 * loc (may be NULL) gets where it stood. */
const char *gql_parse_name(struct gql_parser *p, struct gql_loc *loc)
{
    if (p->tok.kind != GQL_TOK_NAME) {
        unexpected(p, "Name");
        return NULL;
    }
    if (loc)
        *loc = (struct gql_loc){p->tok.line, p->tok.column};
    char *name = gql_arena_strndup(p->arena, p->tok.start, p->tok.len);
    if (!name) {
        gql_parse_fail(p, "out of memory");
        return NULL;
    }
    return gql_parse_advance(p) < 0 ? NULL : name;
}

/* Counts one more level of nesting; fails past the limit, so no text can
 * drive the recursion deeper. The caller decrements p->nesting. */
int gql_parse_enter(struct gql_parser *p)
{
    if (++p->nesting <= p->max_nesting)
        return 0;
    snprintf(p->err->message, sizeof(p->err->message), "The document nests "
             "deeper than %u levels (limit max_nesting).", p->max_nesting);
    p->err->line = p->tok.line;
    p->err->column = p->tok.column;
    return -1;
}

static void *node(struct gql_parser *p, size_t size)
{
    void *n = gql_arena_alloc(p->arena, size);
    if (!n)
        gql_parse_fail(p, "out of memory");
    return n;
}

/* name: value pairs up to `close`, after its opening token was consumed;
 * shared by arguments and object values. */
static int parse_pairs(struct gql_parser *p, int is_const, enum gql_tok close,
                       struct gql_ast_arg **out)
{
    struct gql_ast_arg **tail = out;
    int done;
    for (;;) {
        if (gql_parse_skip(p, close, &done) < 0)
            return -1;
        if (done)
            return 0;
        struct gql_ast_arg *a = node(p, sizeof(*a));
        if (!a || !(a->name = gql_parse_name(p, &a->loc)) ||
            gql_parse_expect(p, GQL_TOK_COLON) < 0 ||
            !(a->value = gql_parse_value(p, is_const)))
            return -1;
        *tail = a;
        tail = &a->next;
    }
}

static int parse_list(struct gql_parser *p, int is_const,
                      struct gql_ast_value *v)
{
    struct gql_ast_value **tail = &v->items;
    int done;
    v->kind = GQL_V_LIST;
    for (;;) {
        if (gql_parse_skip(p, GQL_TOK_BRACKET_R, &done) < 0)
            return -1;
        if (done)
            return 0;
        if (!(*tail = gql_parse_value(p, is_const)))
            return -1;
        tail = &(*tail)->next;
    }
}

/* A value starting with a Name: true, false, null or an enum value. */
static int parse_name_value(struct gql_parser *p, struct gql_ast_value *v)
{
    const struct gql_token *t = &p->tok;
    if (t->len == 4 && memcmp(t->start, "true", 4) == 0) {
        v->kind = GQL_V_BOOLEAN, v->boolean = true;
    } else if (t->len == 5 && memcmp(t->start, "false", 5) == 0) {
        v->kind = GQL_V_BOOLEAN;
    } else if (t->len == 4 && memcmp(t->start, "null", 4) == 0) {
        v->kind = GQL_V_NULL;
    } else {
        v->kind = GQL_V_ENUM;
        return (v->text = gql_parse_name(p, NULL)) ? 0 : -1;
    }
    return gql_parse_advance(p);
}

/* A scalar token: Int, Float, String or BlockString. */
static int parse_scalar(struct gql_parser *p, struct gql_ast_value *v)
{
    const struct gql_token *t = &p->tok;
    switch (t->kind) {
    case GQL_TOK_INT: v->kind = GQL_V_INT; break;
    case GQL_TOK_FLOAT: v->kind = GQL_V_FLOAT; break;
    case GQL_TOK_STRING:
    case GQL_TOK_BLOCK_STRING: v->kind = GQL_V_STRING; break;
    default: return unexpected(p, "a value");
    }
    v->len = t->value_len;
    if (v->kind != GQL_V_STRING)
        v->text = gql_arena_strndup(p->arena, t->value, t->value_len);
    else
        v->text = t->value;      /* already in the arena */
    if (!v->text)
        return gql_parse_fail(p, "out of memory");
    return gql_parse_advance(p);
}

static int parse_value_body(struct gql_parser *p, int is_const,
                            struct gql_ast_value *v)
{
    switch (p->tok.kind) {
    case GQL_TOK_DOLLAR:
        if (is_const)
            return gql_parse_fail(p, "Unexpected variable in a constant "
                                  "value.");
        v->kind = GQL_V_VARIABLE;
        if (gql_parse_advance(p) < 0)
            return -1;
        return (v->text = gql_parse_name(p, NULL)) ? 0 : -1;
    case GQL_TOK_BRACKET_L:
        return gql_parse_advance(p) < 0 ? -1 : parse_list(p, is_const, v);
    case GQL_TOK_BRACE_L:
        v->kind = GQL_V_OBJECT;
        if (gql_parse_advance(p) < 0)
            return -1;
        return parse_pairs(p, is_const, GQL_TOK_BRACE_R, &v->fields);
    case GQL_TOK_NAME:
        return parse_name_value(p, v);
    default:
        return parse_scalar(p, v);
    }
}

/* Parses one value; is_const refuses variables (defaults, directives on
 * variable definitions). Returns the node, or NULL with p->err set. */
struct gql_ast_value *gql_parse_value(struct gql_parser *p, int is_const)
{
    struct gql_ast_value *v = node(p, sizeof(*v));
    if (!v || gql_parse_enter(p) < 0)
        return NULL;
    v->loc = (struct gql_loc){p->tok.line, p->tok.column};
    int rc = parse_value_body(p, is_const, v);
    p->nesting--;
    return rc < 0 ? NULL : v;
}

/* Parses a type reference: Name, [Type], either followed by "!". */
struct gql_ast_type *gql_parse_type(struct gql_parser *p)
{
    struct gql_ast_type *t = node(p, sizeof(*t));
    int found;
    if (!t || gql_parse_enter(p) < 0)
        return NULL;
    t->loc = (struct gql_loc){p->tok.line, p->tok.column};
    int rc = gql_parse_skip(p, GQL_TOK_BRACKET_L, &found);
    if (rc == 0 && found) {
        t->kind = GQL_T_LIST;
        if (!(t->of = gql_parse_type(p)) ||
            gql_parse_expect(p, GQL_TOK_BRACKET_R) < 0)
            rc = -1;
    } else if (rc == 0) {
        t->kind = GQL_T_NAMED;
        rc = (t->name = gql_parse_name(p, NULL)) ? 0 : -1;
    }
    p->nesting--;
    if (rc < 0 || gql_parse_skip(p, GQL_TOK_BANG, &found) < 0)
        return NULL;
    if (!found)
        return t;
    struct gql_ast_type *nn = node(p, sizeof(*nn));
    if (!nn)
        return NULL;
    nn->kind = GQL_T_NON_NULL;
    nn->loc = t->loc;
    nn->of = t;
    return nn;
}

/* Parses "(name: value ...)" if present; *out stays NULL otherwise. */
int gql_parse_arguments(struct gql_parser *p, int is_const,
                        struct gql_ast_arg **out)
{
    int found;
    if (gql_parse_skip(p, GQL_TOK_PAREN_L, &found) < 0)
        return -1;
    if (!found)
        return 0;
    if (p->tok.kind == GQL_TOK_PAREN_R)
        return unexpected(p, "Name");
    return parse_pairs(p, is_const, GQL_TOK_PAREN_R, out);
}

/* Parses any number of "@name(args)". */
int gql_parse_directives(struct gql_parser *p, int is_const,
                         struct gql_ast_directive **out)
{
    struct gql_ast_directive **tail = out;
    while (p->tok.kind == GQL_TOK_AT) {
        struct gql_ast_directive *d = node(p, sizeof(*d));
        if (!d)
            return -1;
        d->loc = (struct gql_loc){p->tok.line, p->tok.column};
        if (gql_parse_advance(p) < 0 || !(d->name = gql_parse_name(p, NULL)) ||
            gql_parse_arguments(p, is_const, &d->args) < 0)
            return -1;
        *tail = d;
        tail = &d->next;
    }
    return 0;
}
