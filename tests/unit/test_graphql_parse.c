/* Unit tests: the GraphQL lexer and parser, their errors and limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "graphql/ast.h"
#include "graphql/lexer.h"

static struct gql_limits limits(void)
{
    struct gql_limits l;
    gql_limits_default(&l);
    return l;
}

/* Lexes all of src into kinds[]; returns the count, or -1 with err. */
static int lex_all(const char *src, struct gql_arena *a,
                   struct gql_token *toks, int max, struct gql_error *err)
{
    struct gql_lexer lx;
    gql_lex_init(&lx, src, strlen(src), 0, a);
    for (int n = 0; n < max; n++) {
        if (gql_lex_next(&lx, &toks[n], err) < 0)
            return -1;
        if (toks[n].kind == GQL_TOK_EOF)
            return n;
    }
    return max;
}

static void test_lexer_tokens_and_locations(void **state)
{
    (void)state;
    struct gql_arena a = GQL_ARENA_INIT;
    struct gql_token t[32];
    struct gql_error err;
    const char *src = "\xEF\xBB\xBF{ gpu(uuid: \"x\", n: -12, f: 1.5e3) "
                      "# comment\n  ...F @a $v [ ] = ! | & }";
    int n = lex_all(src, &a, t, 32, &err);
    enum gql_tok want[] = {
        GQL_TOK_BRACE_L, GQL_TOK_NAME, GQL_TOK_PAREN_L, GQL_TOK_NAME,
        GQL_TOK_COLON, GQL_TOK_STRING, GQL_TOK_NAME, GQL_TOK_COLON,
        GQL_TOK_INT, GQL_TOK_NAME, GQL_TOK_COLON, GQL_TOK_FLOAT,
        GQL_TOK_PAREN_R, GQL_TOK_SPREAD, GQL_TOK_NAME, GQL_TOK_AT,
        GQL_TOK_NAME, GQL_TOK_DOLLAR, GQL_TOK_NAME, GQL_TOK_BRACKET_L,
        GQL_TOK_BRACKET_R, GQL_TOK_EQUALS, GQL_TOK_BANG, GQL_TOK_PIPE,
        GQL_TOK_AMP, GQL_TOK_BRACE_R,
    };
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (int i = 0; i < n; i++)
        assert_int_equal(t[i].kind, want[i]);
    assert_int_equal(t[1].line, 1);
    assert_int_equal(t[1].column, 4);        /* the BOM is one character */
    assert_int_equal(t[13].line, 2);
    assert_int_equal(t[13].column, 3);
    assert_memory_equal(t[8].start, "-12", 3);
    assert_memory_equal(t[11].start, "1.5e3", 5);
    gql_arena_free(&a);
}

static const char *string_value(const char *src, struct gql_arena *a,
                                size_t *len)
{
    struct gql_token t[2];
    struct gql_error err;
    if (lex_all(src, a, t, 2, &err) != 1)
        return NULL;
    *len = t[0].value_len;
    return t[0].value;
}

static void test_lexer_strings(void **state)
{
    (void)state;
    struct gql_arena a = GQL_ARENA_INIT;
    size_t len;
    const char *v = string_value("\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\u{1F600}"
                                 "\\uD83D\\uDE00\"", &a, &len);
    assert_non_null(v);
    const char want[] = "a\"b\\c/d\n\t\xc3\xa9\xf0\x9f\x98\x80\xf0\x9f\x98\x80";
    assert_int_equal(len, sizeof(want) - 1);
    assert_memory_equal(v, want, len);
    v = string_value("\"nul\\u0000in\"", &a, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(v, "nul\0in", 6);
    gql_arena_free(&a);
}

static void test_lexer_block_strings(void **state)
{
    (void)state;
    struct gql_arena a = GQL_ARENA_INIT;
    size_t len;
    const char *v = string_value("\"\"\"\n\n    Hello,\n      World!\n\n"
                                 "    Yours, \\\"\"\" \\n\n  \n\"\"\"", &a,
                                 &len);
    assert_non_null(v);
    assert_string_equal(v, "Hello,\n  World!\n\nYours, \"\"\" \\n");
    v = string_value("\"\"\"  first\n   second\r\n  third\"\"\"", &a, &len);
    assert_string_equal(v, "  first\n second\nthird");
    v = string_value("\"\"\"\"\"\"", &a, &len);
    assert_int_equal(len, 0);
    gql_arena_free(&a);
}

static void expect_lex_error(const char *src, unsigned line, unsigned col,
                             const char *needle)
{
    struct gql_arena a = GQL_ARENA_INIT;
    struct gql_token t[16];
    struct gql_error err;
    assert_int_equal(lex_all(src, &a, t, 16, &err), -1);
    if (!strstr(err.message, needle))
        fail_msg("\"%s\": got \"%s\"", src, err.message);
    assert_int_equal(err.line, line);
    assert_int_equal(err.column, col);
    gql_arena_free(&a);
}

static void test_lexer_errors(void **state)
{
    (void)state;
    expect_lex_error("{ a(x: 012) }", 1, 9, "unexpected digit");
    expect_lex_error("{ a(x: 1.) }", 1, 8, "expected digit");
    expect_lex_error("{ a(x: 1e) }", 1, 8, "exponent");
    expect_lex_error("{ a(x: 12ab) }", 1, 10, "unexpected \"a\"");
    expect_lex_error("{ a(x: \"open\n\") }", 1, 13, "Unterminated");
    expect_lex_error("{ a(x: \"\\q\") }", 1, 9, "escape");
    expect_lex_error("{ a(x: \"\\uD800\") }", 1, 9, "escape");
    expect_lex_error("{ a(x: \"\\u{110000}\") }", 1, 9, "escape");
    expect_lex_error("{\n  a(x: \"\"\"never", 2, 16, "Unterminated");
    expect_lex_error("{ a .. }", 1, 5, "Unexpected character: \".\"");
    expect_lex_error("{ a ? }", 1, 5, "Unexpected character");
    expect_lex_error("{ \x01 }", 1, 3, "0x01");
}

static void test_lexer_token_limit(void **state)
{
    (void)state;
    struct gql_arena a = GQL_ARENA_INIT;
    struct gql_lexer lx;
    struct gql_token t;
    struct gql_error err;
    const char *src = "{ a b c d }";
    gql_lex_init(&lx, src, strlen(src), 4, &a);
    for (int i = 0; i < 4; i++)
        assert_int_equal(gql_lex_next(&lx, &t, &err), 0);
    assert_int_equal(gql_lex_next(&lx, &t, &err), -1);
    assert_non_null(strstr(err.message, "max_tokens"));
    gql_arena_free(&a);
}

static struct gql_document *parse(const char *src)
{
    struct gql_limits l = limits();
    struct gql_error err;
    struct gql_document *doc = gql_parse(src, strlen(src), &l, &err);
    if (!doc)
        fail_msg("parse \"%s\": %s", src, err.message);
    return doc;
}

static void test_parse_operations_and_fragments(void **state)
{
    (void)state;
    struct gql_document *doc = parse(
        "query Q($id: ID!, $n: [Int!] = [1, 2], $o: In = {a: {b: null}}) "
        "@dir { a: gpu(uuid: $id) { ...F ... on GPU @include(if: true) "
        "{ name } ... { id } } }\n"
        "mutation { drain(id: \"w\") }\n"
        "fragment F on GPU { uuid }\n"
        "{ shorthand }");
    assert_int_equal(doc->ndefs, 4);
    const struct gql_ast_definition *q = doc->defs;
    assert_int_equal(q->kind, GQL_D_OPERATION);
    assert_int_equal(q->op, GQL_OP_QUERY);
    assert_string_equal(q->name, "Q");
    assert_non_null(q->directives);
    const struct gql_ast_vardef *v = q->vars;
    assert_string_equal(v->name, "id");
    assert_int_equal(v->type->kind, GQL_T_NON_NULL);
    assert_string_equal(v->type->of->name, "ID");
    v = v->next;
    assert_int_equal(v->type->kind, GQL_T_LIST);
    assert_int_equal(v->type->of->kind, GQL_T_NON_NULL);
    assert_int_equal(v->default_value->kind, GQL_V_LIST);
    assert_string_equal(v->default_value->items->next->text, "2");
    v = v->next;
    assert_int_equal(v->default_value->kind, GQL_V_OBJECT);
    assert_int_equal(v->default_value->fields->value->fields->value->kind,
                     GQL_V_NULL);
    const struct gql_ast_selection *f = q->sels;
    assert_string_equal(f->alias, "a");
    assert_string_equal(f->name, "gpu");
    assert_int_equal(f->args->value->kind, GQL_V_VARIABLE);
    assert_int_equal(f->sels->kind, GQL_S_SPREAD);
    assert_string_equal(f->sels->name, "F");
    assert_int_equal(f->sels->next->kind, GQL_S_INLINE);
    assert_string_equal(f->sels->next->type_cond, "GPU");
    assert_string_equal(f->sels->next->directives->name, "include");
    assert_null(f->sels->next->next->type_cond);
    assert_int_equal(q->next->op, GQL_OP_MUTATION);
    assert_null(q->next->name);
    const struct gql_ast_definition *frag = gql_doc_fragment(doc, "F");
    assert_non_null(frag);
    assert_string_equal(frag->type_cond, "GPU");
    assert_int_equal(frag->loc.line, 3);
    assert_null(q->next->next->next->name);
    gql_document_free(doc);
}

static void test_parse_values(void **state)
{
    (void)state;
    struct gql_document *doc = parse(
        "{ f(i: -3, x: 0.5e-2, s: \"\"\"blk\"\"\", t: true, u: false, n: null, "
        "e: DESC, l: [1 [2] {k: $v}], o: {}) }");
    const struct gql_ast_arg *a = doc->defs->sels->args;
    enum gql_vkind kinds[] = {GQL_V_INT, GQL_V_FLOAT, GQL_V_STRING,
                              GQL_V_BOOLEAN, GQL_V_BOOLEAN, GQL_V_NULL,
                              GQL_V_ENUM, GQL_V_LIST, GQL_V_OBJECT};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++, a = a->next)
        assert_int_equal(a->value->kind, kinds[i]);
    assert_null(a);
    a = doc->defs->sels->args;
    assert_string_equal(a->value->text, "-3");
    assert_string_equal(a->next->next->value->text, "blk");
    assert_true(a->next->next->next->value->boolean);
    const struct gql_ast_value *l = a->next->next->next->next->next->next->next
                                    ->value;
    assert_int_equal(l->items->next->kind, GQL_V_LIST);
    assert_int_equal(l->items->next->next->fields->value->kind,
                     GQL_V_VARIABLE);
    assert_int_equal(l->items->next->next->loc.column, 84);
    gql_document_free(doc);
}

static void expect_parse_error(const char *src, unsigned line, unsigned col,
                               const char *needle)
{
    struct gql_limits l = limits();
    struct gql_error err;
    assert_null(gql_parse(src, strlen(src), &l, &err));
    if (!strstr(err.message, needle))
        fail_msg("\"%s\": got \"%s\"", src, err.message);
    if (err.line != line || err.column != col)
        fail_msg("\"%s\": at %u:%u, want %u:%u (%s)", src, err.line,
                 err.column, line, col, err.message);
}

static void test_parse_errors_with_locations(void **state)
{
    (void)state;
    expect_parse_error("", 1, 1, "Unexpected <EOF>");
    expect_parse_error("{", 1, 2, "Expected Name, found <EOF>");
    expect_parse_error("{ }", 1, 3, "Expected Name, found \"}\"");
    expect_parse_error("query {\n  gpus(limit: ) }", 2, 15,
                       "Expected a value, found \")\"");
    expect_parse_error("{ a(x: 1 }", 1, 10, "Expected Name, found \"}\"");
    expect_parse_error("{ a() }", 1, 5, "Expected Name, found \")\"");
    expect_parse_error("type Query { a: Int }", 1, 1,
                       "Unexpected Name \"type\"");
    expect_parse_error("query Q($a: Int = $b) { a }", 1, 19, "variable");
    expect_parse_error("query Q($a) { a }", 1, 11, "Expected \":\"");
    expect_parse_error("fragment on on T { a }", 1, 10, "\"on\"");
    expect_parse_error("fragment F T { a }", 1, 12, "Expected \"on\"");
    expect_parse_error("{ ... on { a } }", 1, 10, "Expected Name");
    expect_parse_error("{ a }}", 1, 6, "Unexpected");
    expect_parse_error("{ a(x: [1, 2) }", 1, 13, "Expected a value");
    expect_parse_error("{ a }\n\xff", 2, 1, "UTF-8");
}

static void test_parse_limits(void **state)
{
    (void)state;
    struct gql_limits l = limits();
    struct gql_error err;
    /* 1,000 levels deep: refused at the depth limit, without recursing. */
    size_t n = 1000;
    char *deep = malloc(6 * n + 8);
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        at += (size_t)sprintf(deep + at, "{ a ");
    for (size_t i = 0; i < n; i++)
        deep[at++] = '}';
    deep[at] = '\0';
    assert_null(gql_parse(deep, at, &l, &err));
    assert_non_null(strstr(err.message, "max_depth"));
    assert_int_equal(err.line, 1);
    assert_int_equal(err.column, 4 * 15 + 1);   /* the 16th "{" */
    /* Inline fragments nest without fields: the nesting limit. */
    at = 0;
    at += (size_t)sprintf(deep, "{ ");
    for (size_t i = 0; i < 200; i++)
        at += (size_t)sprintf(deep + at, "... { ");
    deep[at] = '\0';
    assert_null(gql_parse(deep, at, &l, &err));
    assert_non_null(strstr(err.message, "max_nesting"));
    /* Values and list types too. */
    memset(deep, '[', 300);
    strcpy(deep + 300, "");
    char *src = malloc(400);
    sprintf(src, "{ a(x: %s) }", deep);
    assert_null(gql_parse(src, strlen(src), &l, &err));
    assert_non_null(strstr(err.message, "max_nesting"));
    sprintf(src, "query($v: %s Int) { a }", deep);
    assert_null(gql_parse(src, strlen(src), &l, &err));
    assert_non_null(strstr(err.message, "max_nesting"));
    free(src);
    free(deep);
    /* 1 MiB: refused on its size before reading a byte. */
    size_t big = 1 << 20;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    huge[0] = '{', huge[2] = 'a', huge[big - 1] = '}';
    assert_null(gql_parse(huge, big, &l, &err));
    assert_non_null(strstr(err.message, "max_bytes"));
    assert_int_equal(err.line, 0);
    /* Allowed, the same megabyte costs one linear pass. */
    l.max_bytes = 2 << 20;
    struct gql_document *doc = gql_parse(huge, big, &l, &err);
    assert_non_null(doc);
    gql_document_free(doc);
    free(huge);
}

static void test_parse_token_limit(void **state)
{
    (void)state;
    struct gql_limits l = limits();
    struct gql_error err;
    l.max_tokens = 10;
    assert_null(gql_parse("{ a b c d e f g h i j k }", 25, &l, &err));
    assert_non_null(strstr(err.message, "max_tokens"));
    struct gql_document *doc = gql_parse("{ a b c d e f g h }", 19, &l, &err);
    assert_non_null(doc);
    gql_document_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lexer_tokens_and_locations),
        cmocka_unit_test(test_lexer_strings),
        cmocka_unit_test(test_lexer_block_strings),
        cmocka_unit_test(test_lexer_errors),
        cmocka_unit_test(test_lexer_token_limit),
        cmocka_unit_test(test_parse_operations_and_fragments),
        cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_parse_errors_with_locations),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_token_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
