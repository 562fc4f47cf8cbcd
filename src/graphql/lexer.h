/* The GraphQL lexer: turns source text into tokens with line and column,
 * skipping what the grammar ignores (white space, commas, comments, a BOM).
 * String tokens come decoded, their bytes allocated in the lexer's arena. */
#ifndef GANTRY_GQL_LEXER_H
#define GANTRY_GQL_LEXER_H

#include <stddef.h>

#include "arena.h"
#include "graphql.h"

enum gql_tok {
    GQL_TOK_EOF,
    GQL_TOK_BANG,
    GQL_TOK_DOLLAR,
    GQL_TOK_AMP,
    GQL_TOK_PAREN_L,
    GQL_TOK_PAREN_R,
    GQL_TOK_SPREAD,
    GQL_TOK_COLON,
    GQL_TOK_EQUALS,
    GQL_TOK_AT,
    GQL_TOK_BRACKET_L,
    GQL_TOK_BRACKET_R,
    GQL_TOK_BRACE_L,
    GQL_TOK_PIPE,
    GQL_TOK_BRACE_R,
    GQL_TOK_NAME,
    GQL_TOK_INT,
    GQL_TOK_FLOAT,
    GQL_TOK_STRING,
    GQL_TOK_BLOCK_STRING,
};

struct gql_token {
    enum gql_tok kind;
    const char *start;     /* the token's text in the source */
    size_t len;
    const char *value;     /* strings: the decoded value; else start */
    size_t value_len;
    unsigned line, column; /* 1-based; columns count characters */
};

struct gql_lexer {
    const char *pos, *end;
    const char *line_start;
    unsigned line;
    const char *col_at;     /* where column_of last counted to, and its */
    unsigned col;           /* column */
    size_t tokens;          /* tokens read so far */
    size_t max_tokens;      /* 0: no limit */
    struct gql_arena *arena;
};

void gql_lex_init(struct gql_lexer *lx, const char *src, size_t len,
                  size_t max_tokens, struct gql_arena *arena);
int gql_lex_next(struct gql_lexer *lx, struct gql_token *t,
                 struct gql_error *err);
const char *gql_tok_name(enum gql_tok kind);

#endif
