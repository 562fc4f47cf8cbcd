/* CollectFields: the fields a selection set asks of an object type, with
 * fragments expanded and @skip/@include applied, grouped by response key;
 * and the coercion of arguments against the request's variables. */
#include <stdio.h>
#include <string.h>

#include "core/list.h"
#include "exec.h"

/* Gives a variable's coerced value to a literal being coerced. */
static int variable_value(void *user, const struct gql_ast_value *var,
                          const struct gql_typeref *expected,
                          bool has_default, json_t **out, char *err,
                          size_t errlen)
{
    const struct gql_exec *ex = user;
    json_t *v = json_object_get(ex->req->vars, var->text);
    if (!v)
        return 1;
    if (json_is_null(v) && expected->kind == GQL_T_NON_NULL) {
        snprintf(err, errlen, "Variable \"$%.64s\" is null where a non-null "
                 "value is required.", var->text);
        return -1;
    }
    *out = json_incref(v);
    return 0;
}

/* CoerceArgumentValues: the arguments given (literals and variables) made
 * into a JSON object against their definitions, defaults filled in. A new
 * reference, or NULL with err set. */
json_t *gql_coerce_args(struct gql_exec *ex, const struct gql_input *defs,
                        const struct gql_ast_arg *given, char *err,
                        size_t errlen)
{
    json_t *args = json_object();
    if (!args) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (const struct gql_input *d = defs; d; d = d->next) {
        const struct gql_ast_arg *a = given;
        while (a && strcmp(a->name, d->name) != 0)
            a = a->next;
        json_t *v = NULL;
        int rc = a ? gql_coerce_literal(d->type, a->value, variable_value,
                                        ex, &v, err, errlen) : 1;
        if (rc == 1 && d->default_value) {
            v = json_incref(d->default_value), rc = 0;
        } else if (rc == 1 && d->type->kind == GQL_T_NON_NULL) {
            snprintf(err, errlen, "Argument \"%s\" is required but was not "
                     "given a value.", d->name);
            rc = -1;
        }
        if (rc < 0 || (rc == 0 && json_object_set_new(args, d->name,
                                                      v) < 0)) {
            json_decref(args);
            return NULL;
        }
    }
    return args;
}

/* Whether @skip and @include let selection s through. A directive whose
 * argument cannot be read (a variable gone wrong) leaves it out. */
static bool included(struct gql_exec *ex, const struct gql_ast_directive *d)
{
    char err[128];
    for (; d; d = d->next) {
        int skip = strcmp(d->name, "skip") == 0;
        if (!skip && strcmp(d->name, "include") != 0)
            continue;
        const struct gql_directive *def = gql_directive_find(ex->schema,
                                                             d->name);
        json_t *args = gql_coerce_args(ex, def->args, d->args, err,
                                       sizeof(err));
        bool on = json_is_true(json_object_get(args, "if"));
        json_decref(args);
        if (!args || on == skip)
            return false;
    }
    return true;
}

/* Whether a fragment with type condition `cond` applies to object type t. */
static bool applies(const struct gql_exec *ex, const struct gql_type *t,
                    const char *cond)
{
    if (!cond)
        return true;
    const struct gql_type *c = gql_schema_find(ex->schema, cond);
    return c && gql_is_possible(c, t);
}

static int group_match(const struct dict_node *n, const void *key,
                       size_t len)
{
    const struct gql_group *g = container_of(n, struct gql_group, node);
    return strlen(g->key) == len && memcmp(g->key, key, len) == 0;
}

struct collection {
    struct dict index;
    struct gql_group *head, **tail;
};

/* Adds field s to the group of its response key, making one if new. */
static int add_field(struct gql_exec *ex, struct collection *c,
                     const struct gql_ast_selection *s)
{
    const char *key = gql_response_key(s);
    struct dict_node *n = dict_find(&c->index, key, strlen(key));
    struct gql_group *g = n ? container_of(n, struct gql_group, node) : NULL;
    if (!g) {
        g = gql_arena_alloc(&ex->arena, sizeof(*g));
        if (!g || dict_insert(&c->index, &g->node, key, strlen(key)) < 0)
            return -1;
        g->key = key;
        *c->tail = g;
        c->tail = &g->next;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 2;
        const struct gql_ast_selection **f =
            gql_arena_alloc(&ex->arena, cap * sizeof(*f));
        if (!f)
            return -1;
        if (g->n)
            memcpy(f, g->fields, g->n * sizeof(*f));
        g->fields = f;
        g->cap = cap;
    }
    g->fields[g->n++] = s;
    return 0;
}

static int collect(struct gql_exec *ex, const struct gql_type *t,
                   const struct gql_ast_selection *s, struct collection *c)
{
    for (; s; s = s->next) {
        /* Every selection looked at counts, so fragments spread into long
         * lists cannot make collection cost more than resolving would. */
        if (++ex->steps > 4 * ex->req->limits.max_fields + 1024)
            return -2;
        if (!included(ex, s->directives))
            continue;
        const struct gql_ast_definition *frag;
        int rc = 0;
        switch (s->kind) {
        case GQL_S_FIELD:
            rc = add_field(ex, c, s);
            break;
        case GQL_S_INLINE:
            if (applies(ex, t, s->type_cond))
                rc = collect(ex, t, s->sels, c);
            break;
        case GQL_S_SPREAD:
            frag = gql_doc_fragment(ex->req->doc, s->name);
            if (!frag || ex->stamps[frag->index] == ex->stamp)
                break;
            ex->stamps[frag->index] = ex->stamp;
            if (applies(ex, t, frag->type_cond))
                rc = collect(ex, t, frag->sels, c);
            break;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Collects the fields of the selection sets sets[0..nsets) (the sets of
 * every field merged under one response key) for object type t. Returns
 * the groups in order (in the pass's arena); NULL with nothing to select,
 * or on failure with ex->nomem or ex->stopped set. */
struct gql_group *gql_collect(struct gql_exec *ex, const struct gql_type *t,
                              const struct gql_ast_selection *const *sets,
                              size_t nsets)
{
    struct collection c = {.head = NULL};
    c.tail = &c.head;
    dict_init(&c.index, group_match);
    ex->stamp++;
    int rc = 0;
    for (size_t i = 0; i < nsets && rc == 0; i++)
        rc = collect(ex, t, sets[i], &c);
    dict_free(&c.index);
    if (rc == -1)
        ex->nomem = true;
    if (rc == -2)
        ex->stopped = true;
    return rc < 0 ? NULL : c.head;
}
