#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN 4096

struct gql_arena_chunk {
    struct gql_arena_chunk *prev;
    size_t size;                    /* usable bytes after the header */
    size_t fill;
    alignas(max_align_t) unsigned char data[];
};

/* Returns n bytes of zeroed memory aligned for any object, valid until
 * gql_arena_free(a); NULL when memory is exhausted. */
void *gql_arena_alloc(struct gql_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + align - 1) & ~(align - 1);
    struct gql_arena_chunk *c = a->head;
    if (!c || c->size - c->fill < n) {
        size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;
        /* Grow chunk sizes with the arena so a large document takes few. */
        if (a->used / 4 > size && a->used / 4 < ((size_t)1 << 24))
            size = a->used / 4;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->prev = a->head;
        c->size = size;
        c->fill = 0;
        a->head = c;
    }
    void *p = c->data + c->fill;
    c->fill += n;
    a->used += n;
    memset(p, 0, n);
    return p;
}

/* Copies n bytes of s into the arena with a terminating NUL. */
char *gql_arena_strndup(struct gql_arena *a, const char *s, size_t n)
{
    char *p = gql_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Copies the NUL-terminated s into the arena. */
char *gql_arena_strdup(struct gql_arena *a, const char *s)
{
    return gql_arena_strndup(a, s, strlen(s));
}

/* Releases every chunk; a is empty and reusable afterwards. */
void gql_arena_free(struct gql_arena *a)
{
    struct gql_arena_chunk *c = a->head;
    while (c) {
        struct gql_arena_chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    a->head = NULL;
    a->used = 0;
}
