/* The recursive-descent parser's state, shared by parser.c (definitions and
 * selections) and parse_value.c (values, types, directives). Every recursive
 * step passes through gql_parse_enter(), which bounds nesting. */
#ifndef GANTRY_GQL_PARSER_H
#define GANTRY_GQL_PARSER_H

#include "ast.h"
#include "lexer.h"

struct gql_parser {
    struct gql_lexer lx;
    struct gql_token tok;        /* the current token */
    struct gql_arena *arena;
    struct gql_error *err;
    unsigned nesting, max_nesting;
    unsigned depth, max_depth;   /* the depth of the fields being read */
};

int gql_parser_init(struct gql_parser *p, const char *src, size_t len,
                    size_t max_tokens, struct gql_arena *arena,
                    struct gql_error *err);
int gql_parse_advance(struct gql_parser *p);
int gql_parse_fail(struct gql_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int gql_parse_expect(struct gql_parser *p, enum gql_tok kind);
int gql_parse_skip(struct gql_parser *p, enum gql_tok kind, int *found);
const char *gql_parse_name(struct gql_parser *p, struct gql_loc *loc);
int gql_parse_enter(struct gql_parser *p);
struct gql_ast_value *gql_parse_value(struct gql_parser *p, int is_const);
struct gql_ast_type *gql_parse_type(struct gql_parser *p);
int gql_parse_arguments(struct gql_parser *p, int is_const,
                        struct gql_ast_arg **out);
int gql_parse_directives(struct gql_parser *p, int is_const,
                         struct gql_ast_directive **out);

#endif
