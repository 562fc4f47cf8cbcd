/* The graph of fragment spreads: cycles (NoFragmentCycles), and each
 * fragment's depth and nesting once its spreads are expanded, computed
 * children first with an explicit stack, so that no chain of fragments can
 * drive the recursion deep. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

struct frame {
    const struct gql_ast_definition *def;
    const struct gql_spread *next;  /* the spread to follow next */
};

/* min(n, max_nesting + 1): large enough to fail the limit, small enough
 * never to overflow when added up along a chain. */
unsigned gql_val_capped(const struct gql_val *v, unsigned long n)
{
    unsigned long cap = (unsigned long)v->limits->max_nesting + 1;
    if (cap < (unsigned long)v->limits->max_depth + 1)
        cap = (unsigned long)v->limits->max_depth + 1;
    return (unsigned)(n < cap ? n : cap);
}

/* Depth and nesting of def with its spreads expanded: its spread
 * fragments are done already (or cyclic, and reported). */
static void expand(struct gql_val *v, const struct gql_ast_definition *def)
{
    struct gql_summary *sum = &v->sums[def->index];
    for (const struct gql_spread *sp = sum->spreads; sp; sp = sp->next) {
        const struct gql_summary *f = &v->sums[sp->frag->index];
        if (f->state != GQL_BLACK)
            continue;
        unsigned d = gql_val_capped(v, (unsigned long)sp->depth + f->depth);
        unsigned n = gql_val_capped(v, (unsigned long)sp->nesting +
                                    f->nesting);
        if (d > sum->depth)
            sum->depth = d;
        if (n > sum->nesting)
            sum->nesting = n;
    }
}

/* Reports the cycle closed by spreading `to` from the top of the stack. */
static void report_cycle(struct gql_val *v, const struct frame *stack,
                         size_t top, const struct gql_spread *sp)
{
    char via[160] = "";
    size_t at = top;
    while (at > 0 && stack[at].def != sp->frag)
        at--;
    for (size_t i = at + 1, n = 0; i <= top && n < sizeof(via); i++)
        n += (size_t)snprintf(via + n, sizeof(via) - n, "%s\"%s\"",
                              n ? ", " : " via ", stack[i].def->name);
    v->sums[sp->frag->index].cyclic = true;
    gql_val_error(v, sp->loc, "Cannot spread fragment \"%s\" within "
                  "itself%s.", sp->frag->name, via);
}

/* Depth-first from fragment root, children finished before parents. */
static void visit(struct gql_val *v, struct frame *stack,
                  const struct gql_ast_definition *root)
{
    size_t top = 0;
    stack[0] = (struct frame){root, v->sums[root->index].spreads};
    v->sums[root->index].state = GQL_GRAY;
    for (;;) {
        struct frame *f = &stack[top];
        const struct gql_spread *sp = f->next;
        if (!sp) {
            expand(v, f->def);
            v->sums[f->def->index].state = GQL_BLACK;
            if (top-- == 0)
                return;
            continue;
        }
        f->next = sp->next;
        struct gql_summary *child = &v->sums[sp->frag->index];
        if (child->state == GQL_GRAY && !child->cyclic) {
            report_cycle(v, stack, top, sp);
        } else if (child->state == GQL_WHITE) {
            child->state = GQL_GRAY;
            stack[++top] = (struct frame){sp->frag, child->spreads};
        }
    }
}

/* Finds fragment cycles and completes every definition's depth and
 * nesting with its fragments expanded. Needs every definition walked. */
void gql_val_fragments(struct gql_val *v)
{
    struct frame *stack = calloc(v->doc->ndefs, sizeof(*stack));
    if (!stack) {
        v->nomem = true;
        return;
    }
    for (const struct gql_ast_definition *d = v->doc->defs; d; d = d->next)
        if (d->kind == GQL_D_FRAGMENT &&
            gql_doc_fragment(v->doc, d->name) == d &&
            v->sums[d->index].state == GQL_WHITE)
            visit(v, stack, d);
    for (const struct gql_ast_definition *d = v->doc->defs; d; d = d->next)
        if (d->kind == GQL_D_OPERATION)
            expand(v, d);
    free(stack);
}
