/* Parsing executable documents: operations, fragments and selections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/list.h"
#include "core/utf8.h"
#include "parser.h"

static int parse_selection_set(struct gql_parser *p,
                               struct gql_ast_selection **out);

static int tok_is(const struct gql_parser *p, const char *word)
{
    return p->tok.kind == GQL_TOK_NAME && p->tok.len == strlen(word) &&
           memcmp(p->tok.start, word, p->tok.len) == 0;
}

static struct gql_loc here(const struct gql_parser *p)
{
    return (struct gql_loc){p->tok.line, p->tok.column};
}

static void *node(struct gql_parser *p, size_t size)
{
    void *n = gql_arena_alloc(p->arena, size);
    if (!n)
        gql_parse_fail(p, "out of memory");
    return n;
}

/* The rest of a field, its name or alias already read into s->name. */
static int parse_field(struct gql_parser *p, struct gql_ast_selection *s)
{
    int found;
    s->kind = GQL_S_FIELD;
    if (gql_parse_skip(p, GQL_TOK_COLON, &found) < 0)
        return -1;
    if (found) {
        s->alias = s->name;
        if (!(s->name = gql_parse_name(p, NULL)))
            return -1;
    }
    if (gql_parse_arguments(p, 0, &s->args) < 0 ||
        gql_parse_directives(p, 0, &s->directives) < 0)
        return -1;
    if (p->tok.kind != GQL_TOK_BRACE_L)
        return 0;
    if (++p->depth > p->max_depth) {     /* the depth of s's children */
        snprintf(p->err->message, sizeof(p->err->message), "The query nests "
                 "fields deeper than %u levels (limit max_depth).",
                 p->max_depth);
        p->err->line = p->tok.line;
        p->err->column = p->tok.column;
        return -1;
    }
    int rc = parse_selection_set(p, &s->sels);
    p->depth--;
    return rc;
}

/* After "...": a fragment spread, or an inline fragment. */
static int parse_fragment_selection(struct gql_parser *p,
                                    struct gql_ast_selection *s)
{
    if (p->tok.kind == GQL_TOK_NAME && !tok_is(p, "on")) {
        s->kind = GQL_S_SPREAD;
        if (!(s->name = gql_parse_name(p, NULL)))
            return -1;
        return gql_parse_directives(p, 0, &s->directives);
    }
    s->kind = GQL_S_INLINE;
    if (tok_is(p, "on")) {
        if (gql_parse_advance(p) < 0 ||
            !(s->type_cond = gql_parse_name(p, &s->type_loc)))
            return -1;
    }
    if (gql_parse_directives(p, 0, &s->directives) < 0)
        return -1;
    return parse_selection_set(p, &s->sels);
}

static struct gql_ast_selection *parse_selection(struct gql_parser *p)
{
    struct gql_ast_selection *s = node(p, sizeof(*s));
    if (!s)
        return NULL;
    s->loc = here(p);
    int found, rc;
    if (gql_parse_skip(p, GQL_TOK_SPREAD, &found) < 0)
        return NULL;
    if (found)
        rc = parse_fragment_selection(p, s);
    else
        rc = (s->name = gql_parse_name(p, NULL)) ? parse_field(p, s) : -1;
    return rc < 0 ? NULL : s;
}

/* Parses "{ selection+ }" into *out, one nesting level deeper. */
static int parse_selection_set(struct gql_parser *p,
                               struct gql_ast_selection **out)
{
    struct gql_ast_selection **tail = out;
    int done = 0;
    if (gql_parse_enter(p) < 0 || gql_parse_expect(p, GQL_TOK_BRACE_L) < 0)
        return -1;
    if (p->tok.kind == GQL_TOK_BRACE_R)
        return gql_parse_fail(p, "Expected Name, found \"}\".");
    while (!done) {
        if (!(*tail = parse_selection(p)))
            return -1;
        tail = &(*tail)->next;
        if (gql_parse_skip(p, GQL_TOK_BRACE_R, &done) < 0)
            return -1;
    }
    p->nesting--;
    return 0;
}

static int parse_variable_definitions(struct gql_parser *p,
                                      struct gql_ast_vardef **out)
{
    struct gql_ast_vardef **tail = out;
    int found;
    if (gql_parse_skip(p, GQL_TOK_PAREN_L, &found) < 0 || !found)
        return found ? -1 : 0;
    do {
        struct gql_ast_vardef *v = node(p, sizeof(*v));
        if (!v)
            return -1;
        v->loc = here(p);
        if (gql_parse_expect(p, GQL_TOK_DOLLAR) < 0 ||
            !(v->name = gql_parse_name(p, NULL)) ||
            gql_parse_expect(p, GQL_TOK_COLON) < 0 ||
            !(v->type = gql_parse_type(p)) ||
            gql_parse_skip(p, GQL_TOK_EQUALS, &found) < 0 ||
            (found && !(v->default_value = gql_parse_value(p, 1))) ||
            gql_parse_directives(p, 1, &v->directives) < 0)
            return -1;
        *tail = v;
        tail = &v->next;
        if (gql_parse_skip(p, GQL_TOK_PAREN_R, &found) < 0)
            return -1;
    } while (!found);
    return 0;
}

static int parse_operation(struct gql_parser *p, struct gql_ast_definition *d)
{
    d->kind = GQL_D_OPERATION;
    if (p->tok.kind == GQL_TOK_BRACE_L)     /* the query shorthand */
        return parse_selection_set(p, &d->sels);
    if (tok_is(p, "query"))
        d->op = GQL_OP_QUERY;
    else if (tok_is(p, "mutation"))
        d->op = GQL_OP_MUTATION;
    else if (tok_is(p, "subscription"))
        d->op = GQL_OP_SUBSCRIPTION;
    else
        return gql_parse_fail(p, "Unexpected Name \"%.*s\".",
                              p->tok.len > 64 ? 64 : (int)p->tok.len,
                              p->tok.start);
    if (gql_parse_advance(p) < 0)
        return -1;
    if (p->tok.kind == GQL_TOK_NAME && !(d->name = gql_parse_name(p, NULL)))
        return -1;
    if (parse_variable_definitions(p, &d->vars) < 0 ||
        gql_parse_directives(p, 0, &d->directives) < 0)
        return -1;
    return parse_selection_set(p, &d->sels);
}

static int parse_fragment(struct gql_parser *p, struct gql_ast_definition *d)
{
    d->kind = GQL_D_FRAGMENT;
    if (gql_parse_advance(p) < 0)
        return -1;
    if (tok_is(p, "on"))
        return gql_parse_fail(p, "Unexpected Name \"on\".");
    if (!(d->name = gql_parse_name(p, NULL)))
        return -1;
    if (!tok_is(p, "on"))
        return gql_parse_fail(p, "Expected \"on\", found %s.",
                              gql_tok_name(p->tok.kind));
    if (gql_parse_advance(p) < 0 ||
        !(d->type_cond = gql_parse_name(p, &d->type_loc)) ||
        gql_parse_directives(p, 0, &d->directives) < 0)
        return -1;
    return parse_selection_set(p, &d->sels);
}

static int parse_definitions(struct gql_parser *p, struct gql_document *doc)
{
    struct gql_ast_definition **tail = &doc->defs;
    if (p->tok.kind == GQL_TOK_EOF)
        return gql_parse_fail(p, "Unexpected <EOF>.");
    while (p->tok.kind != GQL_TOK_EOF) {
        struct gql_ast_definition *d = node(p, sizeof(*d));
        if (!d)
            return -1;
        d->loc = here(p);
        d->index = doc->ndefs++;
        int rc = tok_is(p, "fragment") ? parse_fragment(p, d) :
                 parse_operation(p, d);
        if (rc < 0)
            return -1;
        *tail = d;
        tail = &d->next;
    }
    return 0;
}

static int fragment_match(const struct dict_node *n, const void *key,
                          size_t len)
{
    const struct gql_ast_definition *d =
        container_of(n, struct gql_ast_definition, dnode);
    return strlen(d->name) == len && memcmp(d->name, key, len) == 0;
}

/* Indexes the fragments by name; a name defined twice keeps its first
 * definition (the validator reports the second). */
static int index_fragments(struct gql_document *doc)
{
    dict_init(&doc->fragments, fragment_match);
    for (struct gql_ast_definition *d = doc->defs; d; d = d->next) {
        if (d->kind != GQL_D_FRAGMENT || gql_doc_fragment(doc, d->name))
            continue;
        if (dict_insert(&doc->fragments, &d->dnode, d->name,
                        strlen(d->name)) < 0)
            return -1;
    }
    return 0;
}

/* The fragment named name in doc, or NULL. */
const struct gql_ast_definition *gql_doc_fragment(
    const struct gql_document *doc, const char *name)
{
    struct dict_node *n = dict_find(&doc->fragments, name, strlen(name));
    return n ? container_of(n, struct gql_ast_definition, dnode) : NULL;
}

/* Refuses bytes that are not UTF-8, with the place of the first. */
static int check_utf8(const char *src, size_t len, struct gql_error *err)
{
    size_t incomplete;
    size_t ok = utf8_valid_prefix(src, len, &incomplete);
    if (ok == len)
        return 0;
    unsigned line = 1, column = 1;
    for (size_t i = 0; i < ok; i++) {
        if (src[i] == '\n' || (src[i] == '\r' && (i + 1 == ok ||
                                                  src[i + 1] != '\n'))) {
            line++, column = 1;
        } else if (((unsigned char)src[i] & 0xC0) != 0x80) {
            column++;
        }
    }
    snprintf(err->message, sizeof(err->message),
             "Syntax Error: Invalid UTF-8 byte 0x%02X.",
             (unsigned char)src[ok]);
    err->line = line;
    err->column = column;
    return -1;
}

/* Parses len bytes of src as an executable document under limits (bytes,
 * tokens, nesting, field depth). Returns the document, which the caller
 * frees with gql_document_free(), or NULL with err set: a syntax error with
 * its location, or a limit named in the message (no location then, when
 * the whole text is refused before reading it). */
struct gql_document *gql_parse(const char *src, size_t len,
                               const struct gql_limits *limits,
                               struct gql_error *err)
{
    memset(err, 0, sizeof(*err));
    if (limits->max_bytes && len > limits->max_bytes) {
        snprintf(err->message, sizeof(err->message), "The document is %zu "
                 "bytes, more than %zu (limit max_bytes).", len,
                 limits->max_bytes);
        return NULL;
    }
    if (check_utf8(src, len, err) < 0)
        return NULL;
    struct gql_document *doc = calloc(1, sizeof(*doc));
    if (!doc) {
        snprintf(err->message, sizeof(err->message), "out of memory");
        return NULL;
    }
    struct gql_parser p;
    if (gql_parser_init(&p, src, len, limits->max_tokens, &doc->arena,
                        err) == 0) {
        p.max_nesting = limits->max_nesting < 256 ? limits->max_nesting : 256;
        p.max_depth = limits->max_depth;
        p.depth = 1;               /* the depth of a definition's fields */
        if (parse_definitions(&p, doc) == 0 && index_fragments(doc) == 0)
            return doc;
        if (!err->message[0])
            snprintf(err->message, sizeof(err->message), "out of memory");
    }
    gql_document_free(doc);
    return NULL;
}

/* Frees a document and every node in it. NULL is fine. */
void gql_document_free(struct gql_document *doc)
{
    if (!doc)
        return;
    dict_free(&doc->fragments);
    gql_arena_free(&doc->arena);
    free(doc);
}

/* Starts p over the whole of text, for the two parsers below. */
static int text_parser(struct gql_parser *p, struct gql_arena *arena,
                       const char *text, struct gql_error *err)
{
    return gql_parser_init(p, text, strlen(text), 0, arena, err);
}

/* node, if the text ended after it; else NULL with a syntax error. */
static void *at_end(struct gql_parser *p, void *node)
{
    if (node && p->tok.kind != GQL_TOK_EOF) {
        gql_parse_fail(p, "Unexpected %s.", gql_tok_name(p->tok.kind));
        return NULL;
    }
    return node;
}

/* Parses text holding exactly one type reference ("[GPU!]!"), for schemas
 * built in C. The nodes go in arena. NULL with err set on a syntax error. */
struct gql_ast_type *gql_parse_type_text(struct gql_arena *arena,
                                         const char *text,
                                         struct gql_error *err)
{
    struct gql_parser p;
    if (text_parser(&p, arena, text, err) < 0)
        return NULL;
    return at_end(&p, gql_parse_type(&p));
}

/* Parses text holding exactly one constant value ("10", "[ASC]"), for
 * argument defaults in schemas built in C. NULL with err set on error. */
struct gql_ast_value *gql_parse_value_text(struct gql_arena *arena,
                                           const char *text,
                                           struct gql_error *err)
{
    struct gql_parser p;
    if (text_parser(&p, arena, text, err) < 0)
        return NULL;
    return at_end(&p, gql_parse_value(&p, 1));
}
