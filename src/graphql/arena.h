/* A bump allocator for everything that lives exactly as long as one parsed
 * document, one schema or one execution pass: nodes are never freed one by
 * one, the whole arena goes at once. */
#ifndef GANTRY_GQL_ARENA_H
#define GANTRY_GQL_ARENA_H

#include <stddef.h>

struct gql_arena_chunk;

struct gql_arena {
    struct gql_arena_chunk *head;   /* the chunk being filled */
    size_t used;                    /* bytes taken from all chunks */
};

#define GQL_ARENA_INIT {NULL, 0}

void *gql_arena_alloc(struct gql_arena *a, size_t n);
char *gql_arena_strndup(struct gql_arena *a, const char *s, size_t n);
char *gql_arena_strdup(struct gql_arena *a, const char *s);
void gql_arena_free(struct gql_arena *a);

#endif
