/* Walking a definition's selections with the type they select from:
 * fields on their type, leaf and composite selections, arguments and their
 * values, directives, fragments' type conditions; recording the variables
 * used and the fragments spread for validate.c and validate_frag.c. */
#include <stdio.h>
#include <string.h>

#include "core/dict.h"
#include "core/list.h"
#include "validate.h"

static void add_usage(struct gql_val *v, const char *name, struct gql_loc loc,
                      const struct gql_typeref *type, bool has_default)
{
    struct gql_usage *u = gql_arena_alloc(&v->arena, sizeof(*u));
    if (!u) {
        v->nomem = true;
        return;
    }
    *u = (struct gql_usage){name, loc, type, has_default, v->cur->usages};
    v->cur->usages = u;
}

/* The literal coercion's hook: a variable is noted with its expected type
 * and stands for a value of that type (checked per operation later). */
static int note_variable(void *user, const struct gql_ast_value *var,
                         const struct gql_typeref *expected,
                         bool has_default, json_t **out, char *err,
                         size_t errlen)
{
    add_usage(user, var->text, var->loc, expected, has_default);
    *out = json_null();
    return 0;
}

static const struct gql_ast_arg *find_arg(const struct gql_ast_arg *list,
                                          const char *name)
{
    for (; list; list = list->next)
        if (strcmp(list->name, name) == 0)
            return list;
    return NULL;
}

/* Checks one argument's value against its definition. */
static void check_value(struct gql_val *v, const struct gql_input *def,
                        const struct gql_ast_arg *a)
{
    char err[200];
    json_t *out;
    if (a->value->kind == GQL_V_VARIABLE) {
        add_usage(v, a->value->text, a->value->loc, def->type,
                  def->default_value != NULL);
        return;
    }
    if (gql_coerce_literal(def->type, a->value, note_variable, v, &out, err,
                           sizeof(err)) < 0)
        gql_val_error(v, a->value->loc, "Argument \"%s\" has an invalid "
                      "value: %s", a->name, err);
    json_decref(out);
}

/* Arguments given against their definitions: known, once each, of the
 * right type, and every required one given. `what` names the owner. */
static void check_args(struct gql_val *v, const struct gql_input *defs,
                       const struct gql_ast_arg *given, struct gql_loc at,
                       const char *what)
{
    for (const struct gql_ast_arg *a = given; a; a = a->next) {
        const struct gql_input *def = gql_input_find(defs, a->name);
        if (!def)
            gql_val_error(v, a->loc, "Unknown argument \"%s\" on %s.",
                          a->name, what);
        else if (find_arg(given, a->name) != a)
            gql_val_error(v, a->loc, "There can be only one argument named "
                          "\"%s\".", a->name);
        else
            check_value(v, def, a);
    }
    for (const struct gql_input *d = defs; d; d = d->next) {
        if (d->type->kind != GQL_T_NON_NULL || d->default_value ||
            find_arg(given, d->name))
            continue;
        char ts[128];
        gql_typeref_format(d->type, ts, sizeof(ts));
        gql_val_error(v, at, "Argument \"%s\" of type %s is required on %s "
                      "but was not given.", d->name, ts, what);
    }
}

/* Directives at a location: known, allowed there, once each. */
void gql_val_directives(struct gql_val *v,
                        const struct gql_ast_directive *dirs,
                        enum gql_dloc where)
{
    for (const struct gql_ast_directive *d = dirs; d; d = d->next) {
        const struct gql_directive *def = gql_directive_find(v->s, d->name);
        char what[96];
        if (!def) {
            gql_val_error(v, d->loc, "Unknown directive \"@%s\".", d->name);
            continue;
        }
        if (!(def->locations & 1u << where))
            gql_val_error(v, d->loc, "Directive \"@%s\" may not be used on "
                          "%s.", d->name, gql_dloc_name(where));
        for (const struct gql_ast_directive *e = dirs; e != d; e = e->next)
            if (strcmp(e->name, d->name) == 0) {
                gql_val_error(v, d->loc, "The directive \"@%s\" can only be "
                              "used once at this location.", d->name);
                break;
            }
        snprintf(what, sizeof(what), "directive \"@%s\"", d->name);
        check_args(v, def->args, d->args, d->loc, what);
    }
}

/* The fields seen at one level of a selection (inline fragments included),
 * by response key, to find two that cannot merge. */
struct seen {
    struct dict_node node;
    const char *key;
    const struct gql_ast_selection *s;
    const struct gql_type *parent;
    const struct gql_field *fd;
};

static int seen_match(const struct dict_node *n, const void *key, size_t len)
{
    const struct seen *e = container_of(n, struct seen, node);
    return strlen(e->key) == len && memcmp(e->key, key, len) == 0;
}

static bool same_value(const struct gql_ast_value *a,
                       const struct gql_ast_value *b);

static bool same_args(const struct gql_ast_arg *a, const struct gql_ast_arg *b)
{
    for (; a && b; a = a->next, b = b->next)
        if (strcmp(a->name, b->name) != 0 || !same_value(a->value, b->value))
            return false;
    return !a && !b;
}

static bool same_value(const struct gql_ast_value *a,
                       const struct gql_ast_value *b)
{
    if (a->kind != b->kind || a->boolean != b->boolean || a->len != b->len)
        return false;
    if (a->kind == GQL_V_STRING && memcmp(a->text, b->text, a->len) != 0)
        return false;
    if (a->kind != GQL_V_STRING && a->text && strcmp(a->text, b->text) != 0)
        return false;
    const struct gql_ast_value *i = a->items, *j = b->items;
    for (; i && j; i = i->next, j = j->next)
        if (!same_value(i, j))
            return false;
    return !i && !j && same_args(a->fields, b->fields);
}

/* FieldsInSetCanMerge, for the fields of one level: two fields under one
 * response key must be the same field with the same arguments (unless
 * they select from different object types) and of the same type. */
static void check_merge(struct gql_val *v, struct dict *level,
                        const struct gql_type *t,
                        const struct gql_ast_selection *s,
                        const struct gql_field *fd)
{
    const char *key = gql_response_key(s);
    struct dict_node *n = dict_find(level, key, strlen(key));
    if (!n) {
        struct seen *e = gql_arena_alloc(&v->arena, sizeof(*e));
        if (!e) {
            v->nomem = true;
            return;
        }
        e->key = key;
        e->s = s;
        e->parent = t;
        e->fd = fd;
        if (dict_insert(level, &e->node, key, strlen(key)) < 0)
            v->nomem = true;
        return;
    }
    const struct seen *e = container_of(n, struct seen, node);
    bool same_parent = e->parent == t || e->parent->kind != GQL_OBJECT ||
                       t->kind != GQL_OBJECT;
    if (same_parent && strcmp(e->s->name, s->name) != 0)
        gql_val_error(v, s->loc, "Fields \"%s\" conflict because \"%s\" and "
                      "\"%s\" are different fields; alias one of them.", key,
                      e->s->name, s->name);
    else if (same_parent && !same_args(e->s->args, s->args))
        gql_val_error(v, s->loc, "Fields \"%s\" conflict because they have "
                      "different arguments.", key);
    else if (e->fd && fd && !gql_typeref_equal(e->fd->type, fd->type))
        gql_val_error(v, s->loc, "Fields \"%s\" conflict because they "
                      "return different types.", key);
}

struct level {
    unsigned depth, nesting;        /* of the fields and the set here */
    struct dict seen;
};

static void walk_set(struct gql_val *v, const struct gql_type *t,
                     const struct gql_ast_selection *sels, struct level *lv);

static void walk_field(struct gql_val *v, const struct gql_type *t,
                       const struct gql_ast_selection *s, struct level *lv)
{
    const struct gql_field *fd = gql_field_find(v->s, t, s->name);
    char what[160];
    gql_val_directives(v, s->directives, GQL_DL_FIELD);
    check_merge(v, &lv->seen, t, s, fd);
    if (!fd) {
        gql_val_error(v, s->loc, "Cannot query field \"%s\" on type \"%s\".",
                      s->name, t->name);
        return;
    }
    snprintf(what, sizeof(what), "field \"%s.%s\"", t->name, s->name);
    check_args(v, fd->args, s->args, s->loc, what);
    const struct gql_type *nt = gql_named(fd->type);
    if (gql_is_leaf(nt) && s->sels) {
        gql_val_error(v, s->loc, "Field \"%s\" must not have a selection "
                      "since type \"%s\" has no subfields.", s->name,
                      nt->name);
    } else if (!gql_is_leaf(nt) && !s->sels) {
        gql_val_error(v, s->loc, "Field \"%s\" of type \"%s\" must have a "
                      "selection of subfields.", s->name, nt->name);
    } else if (s->sels) {
        struct level inner = {lv->depth + 1, lv->nesting + 1, {0}};
        dict_init(&inner.seen, seen_match);
        walk_set(v, nt, s->sels, &inner);
        dict_free(&inner.seen);
    }
}

/* The type a fragment's condition names, checked: known and composite.
 * NULL (reported) when it is neither. */
static const struct gql_type *condition_type(struct gql_val *v,
                                             const char *name,
                                             struct gql_loc loc)
{
    const struct gql_type *t = gql_schema_find(v->s, name);
    if (!t)
        gql_val_error(v, loc, "Unknown type \"%s\".", name);
    else if (!gql_is_composite(t))
        gql_val_error(v, loc, "Fragment cannot condition on non composite "
                      "type \"%s\".", name);
    else
        return t;
    return NULL;
}

static void walk_inline(struct gql_val *v, const struct gql_type *t,
                        const struct gql_ast_selection *s, struct level *lv)
{
    const struct gql_type *ct = t;
    gql_val_directives(v, s->directives, GQL_DL_INLINE_FRAGMENT);
    if (s->type_cond && !(ct = condition_type(v, s->type_cond, s->type_loc)))
        return;
    if (!gql_types_overlap(t, ct)) {
        gql_val_error(v, s->loc, "Fragment cannot be spread here as objects "
                      "of type \"%s\" can never be of type \"%s\".", t->name,
                      ct->name);
        return;
    }
    lv->nesting++;
    walk_set(v, ct, s->sels, lv);
    lv->nesting--;
}

static void walk_spread(struct gql_val *v, const struct gql_type *t,
                        const struct gql_ast_selection *s,
                        const struct level *lv)
{
    gql_val_directives(v, s->directives, GQL_DL_FRAGMENT_SPREAD);
    const struct gql_ast_definition *f = gql_doc_fragment(v->doc, s->name);
    if (!f) {
        gql_val_error(v, s->loc, "Unknown fragment \"%s\".", s->name);
        return;
    }
    struct gql_spread *sp = gql_arena_alloc(&v->arena, sizeof(*sp));
    if (!sp) {
        v->nomem = true;
        return;
    }
    *sp = (struct gql_spread){f, s->loc, lv->depth - 1, lv->nesting,
                              v->cur->spreads};
    v->cur->spreads = sp;
    const struct gql_type *ft = gql_schema_find(v->s, f->type_cond);
    if (ft && gql_is_composite(ft) && !gql_types_overlap(t, ft))
        gql_val_error(v, s->loc, "Fragment \"%s\" cannot be spread here as "
                      "objects of type \"%s\" can never be of type \"%s\".",
                      s->name, t->name, ft->name);
}

static void walk_set(struct gql_val *v, const struct gql_type *t,
                     const struct gql_ast_selection *sels, struct level *lv)
{
    struct gql_summary *sum = v->cur;
    sum->nesting = gql_val_capped(v, lv->nesting > sum->nesting ?
                                  lv->nesting : sum->nesting);
    for (const struct gql_ast_selection *s = sels; s; s = s->next) {
        if (v->nerrors > GQL_MAX_ERRORS || v->nomem)
            return;
        if (s->kind == GQL_S_FIELD) {
            if (lv->depth > sum->depth)
                sum->depth = lv->depth;
            walk_field(v, t, s, lv);
        } else if (s->kind == GQL_S_INLINE) {
            walk_inline(v, t, s, lv);
        } else {
            walk_spread(v, t, s, lv);
        }
    }
}

/* Walks the selection set of the definition v->cur stands for, whose
 * fields select from type t, noting its depth, nesting, variables used
 * and fragments spread in v->cur. */
void gql_val_walk(struct gql_val *v, const struct gql_type *t,
                  const struct gql_ast_selection *sels)
{
    struct level top = {1, 1, {0}};
    dict_init(&top.seen, seen_match);
    walk_set(v, t, sels, &top);
    dict_free(&top.seen);
}
