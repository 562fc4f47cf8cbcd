/* Validation of an executable document against a schema: the rules of the
 * specification's section 5, and the depth and nesting limits with
 * fragments expanded. Walks each definition once (validate_walk.c), then
 * the graph of spreads (validate_frag.c), then each operation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/list.h"
#include "validate.h"

/* Adds a validation error at loc; past GQL_MAX_ERRORS adds one last
 * error saying so and nothing more. Returns -1. */
int gql_val_error(struct gql_val *v, struct gql_loc loc, const char *fmt, ...)
{
    char message[256];
    if (v->nerrors > GQL_MAX_ERRORS)
        return -1;
    if (v->nerrors++ == GQL_MAX_ERRORS) {
        gql_errors_add(v->errors, 0, 0, "Too many validation errors; "
                       "validation stopped.");
        return -1;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (gql_errors_add(v->errors, loc.line, loc.column, "%s", message) < 0)
        v->nomem = true;
    return -1;
}

static const char *op_word(enum gql_operation op)
{
    return op == GQL_OP_QUERY ? "query" :
           op == GQL_OP_MUTATION ? "mutation" : "subscription";
}

/* Operation names unique, an anonymous operation alone, fragment names
 * unique: the rules about definitions side by side. */
static void check_names(struct gql_val *v)
{
    size_t ops = 0;
    for (const struct gql_ast_definition *d = v->doc->defs; d; d = d->next)
        ops += d->kind == GQL_D_OPERATION;
    for (const struct gql_ast_definition *d = v->doc->defs; d; d = d->next) {
        if (d->kind == GQL_D_FRAGMENT) {
            if (gql_doc_fragment(v->doc, d->name) != d)
                gql_val_error(v, d->loc, "There can be only one fragment "
                              "named \"%s\".", d->name);
            continue;
        }
        if (!d->name && ops > 1)
            gql_val_error(v, d->loc, "This anonymous operation must be the "
                          "only defined operation.");
        for (const struct gql_ast_definition *e = v->doc->defs;
             d->name && e != d; e = e->next)
            if (e->kind == GQL_D_OPERATION && e->name &&
                strcmp(e->name, d->name) == 0) {
                gql_val_error(v, d->loc, "There can be only one operation "
                              "named \"%s\".", d->name);
                break;
            }
    }
}

/* The type an operation selects from; NULL (reported) if the schema has
 * none for its kind. */
static const struct gql_type *root_of(struct gql_val *v,
                                      const struct gql_ast_definition *d)
{
    const struct gql_type *t = d->op == GQL_OP_QUERY ? v->s->query :
                               d->op == GQL_OP_MUTATION ? v->s->mutation :
                               NULL;
    if (!t)
        gql_val_error(v, d->loc, "The schema does not support %ss.",
                      op_word(d->op));
    return t;
}

/* Walks one definition, noting what validate_frag.c and the operation
 * checks need. */
static void walk_definition(struct gql_val *v,
                            const struct gql_ast_definition *d)
{
    static const enum gql_dloc op_locs[] = {GQL_DL_QUERY, GQL_DL_MUTATION,
                                            GQL_DL_SUBSCRIPTION};
    const struct gql_type *t;
    v->cur = &v->sums[d->index];
    if (d->kind == GQL_D_OPERATION) {
        gql_val_directives(v, d->directives, op_locs[d->op]);
        t = root_of(v, d);
    } else {
        gql_val_directives(v, d->directives, GQL_DL_FRAGMENT_DEFINITION);
        t = gql_schema_find(v->s, d->type_cond);
        if (!t)
            gql_val_error(v, d->type_loc, "Unknown type \"%s\".",
                          d->type_cond);
        else if (!gql_is_composite(t))
            gql_val_error(v, d->type_loc, "Fragment \"%s\" cannot condition "
                          "on non composite type \"%s\".", d->name,
                          d->type_cond);
        if (t && !gql_is_composite(t))
            t = NULL;
    }
    if (t)
        gql_val_walk(v, t, d->sels);
}

struct var {
    struct dict_node node;              /* in the operation's index */
    const struct gql_ast_vardef *def;
    const struct gql_typeref *type;     /* NULL when unknown */
    bool used;
};

static int var_match(const struct dict_node *n, const void *key, size_t len)
{
    const struct var *var = container_of(n, struct var, node);
    return strlen(var->def->name) == len &&
           memcmp(var->def->name, key, len) == 0;
}

static struct var *var_find(const struct dict *index, const char *name)
{
    struct dict_node *n = dict_find(index, name, strlen(name));
    return n ? container_of(n, struct var, node) : NULL;
}

/* Variable definitions: unique, of known input types, valid defaults;
 * indexed by name (the first of a name) in index. */
static void check_vardefs(struct gql_val *v, struct var *vars, size_t n,
                          struct dict *index)
{
    char err[200];
    for (size_t i = 0; i < n; i++) {
        const struct gql_ast_vardef *d = vars[i].def;
        const char *unknown;
        json_t *out;
        gql_val_directives(v, d->directives, GQL_DL_VARIABLE_DEFINITION);
        if (var_find(index, d->name))
            gql_val_error(v, d->loc, "There can be only one variable named "
                          "\"$%s\".", d->name);
        else if (dict_insert(index, &vars[i].node, d->name,
                             strlen(d->name)) < 0)
            v->nomem = true;
        vars[i].type = gql_typeref_from_ast(&v->arena, v->s, d->type,
                                            &unknown);
        if (!vars[i].type) {
            gql_val_error(v, d->type->loc, "Unknown type \"%s\".",
                          unknown ? unknown : "?");
        } else if (!gql_is_input_type(gql_named(vars[i].type))) {
            gql_val_error(v, d->type->loc, "Variable \"$%s\" cannot be of "
                          "non-input type \"%s\".", d->name,
                          gql_named(vars[i].type)->name);
            vars[i].type = NULL;
        } else if (d->default_value &&
                   gql_coerce_literal(vars[i].type, d->default_value, NULL,
                                      NULL, &out, err, sizeof(err)) < 0) {
            gql_val_error(v, d->default_value->loc, "Variable \"$%s\" has "
                          "an invalid default value: %s", d->name, err);
        } else if (d->default_value) {
            json_decref(out);
        }
    }
}

/* IsVariableUsageAllowed: a variable of var's type may stand where u is. */
static bool usage_allowed(const struct var *var, const struct gql_usage *u)
{
    const struct gql_typeref *want = u->type;
    const struct gql_ast_value *dflt = var->def->default_value;
    if (want->kind == GQL_T_NON_NULL && var->type->kind != GQL_T_NON_NULL) {
        if (!u->has_default && (!dflt || dflt->kind == GQL_V_NULL))
            return false;
        want = want->of;
    }
    return gql_is_subtype(var->type, want);
}

static void check_usage(struct gql_val *v, const struct gql_ast_definition *op,
                        const struct dict *index, const struct gql_usage *u)
{
    struct var *var = var_find(index, u->name);
    if (!var) {
        gql_val_error(v, u->loc, "Variable \"$%s\" is not defined%s%s%s.",
                      u->name, op->name ? " by operation \"" : "",
                      op->name ? op->name : "", op->name ? "\"" : "");
        return;
    }
    var->used = true;
    if (!var->type || usage_allowed(var, u))
        return;
    char have[128], want[128];
    gql_typeref_format(var->type, have, sizeof(have));
    gql_typeref_format(u->type, want, sizeof(want));
    gql_val_error(v, u->loc, "Variable \"$%s\" of type \"%s\" used in "
                  "position expecting type \"%s\".", u->name, have, want);
}

/* The variables used by op and the fragments it reaches, against op's
 * definitions; marks the fragments reached as used. */
static void check_reach(struct gql_val *v, const struct gql_ast_definition *op,
                        const struct dict *index)
{
    const struct gql_ast_definition **work = calloc(v->doc->ndefs,
                                                    sizeof(*work));
    size_t nwork = 0;
    if (!work) {
        v->nomem = true;
        return;
    }
    work[nwork++] = op;
    v->stamp++;
    for (size_t w = 0; w < nwork; w++) {
        const struct gql_summary *sum = &v->sums[work[w]->index];
        for (const struct gql_usage *u = sum->usages; u; u = u->next)
            check_usage(v, op, index, u);
        for (const struct gql_spread *sp = sum->spreads; sp; sp = sp->next) {
            struct gql_summary *f = &v->sums[sp->frag->index];
            f->used = true;
            if (f->stamp != v->stamp) {
                f->stamp = v->stamp;
                work[nwork++] = sp->frag;
            }
        }
    }
    free(work);
}

static void check_operation(struct gql_val *v,
                            const struct gql_ast_definition *op)
{
    const struct gql_summary *sum = &v->sums[op->index];
    if (sum->depth > v->limits->max_depth)
        gql_val_error(v, op->loc, "The %s nests fields deeper than %u levels "
                      "(limit max_depth).", op_word(op->op),
                      v->limits->max_depth);
    if (sum->nesting > v->limits->max_nesting)
        gql_val_error(v, op->loc, "The %s nests selections deeper than %u "
                      "levels once fragments are expanded (limit "
                      "max_nesting).", op_word(op->op),
                      v->limits->max_nesting);
    size_t n = 0;
    for (const struct gql_ast_vardef *d = op->vars; d; d = d->next)
        n++;
    struct var *vars = calloc(n ? n : 1, sizeof(*vars));
    if (!vars) {
        v->nomem = true;
        return;
    }
    n = 0;
    for (const struct gql_ast_vardef *d = op->vars; d; d = d->next)
        vars[n++].def = d;
    struct dict index;
    dict_init(&index, var_match);
    check_vardefs(v, vars, n, &index);
    check_reach(v, op, &index);
    dict_free(&index);
    for (size_t i = 0; i < n; i++)
        if (!vars[i].used)
            gql_val_error(v, vars[i].def->loc, "Variable \"$%s\" is never "
                          "used%s%s%s.", vars[i].def->name,
                          op->name ? " in operation \"" : "",
                          op->name ? op->name : "", op->name ? "\"" : "");
    free(vars);
}

/* Validates doc against s under limits (depth and nesting with fragments
 * expanded), appending each error found to the array errors (at most about
 * a hundred). Returns 0 when the document is valid, else -1. */
int gql_validate(const struct gql_schema *s, const struct gql_document *doc,
                 const struct gql_limits *limits, json_t *errors)
{
    struct gql_val v = {.s = s, .doc = doc, .limits = limits,
                        .errors = errors};
    v.sums = calloc(doc->ndefs, sizeof(*v.sums));
    if (!v.sums)
        return gql_errors_add(errors, 0, 0, "out of memory"), -1;
    check_names(&v);
    for (const struct gql_ast_definition *d = doc->defs; d; d = d->next)
        walk_definition(&v, d);
    gql_val_fragments(&v);
    for (const struct gql_ast_definition *d = doc->defs; d; d = d->next)
        if (d->kind == GQL_D_OPERATION)
            check_operation(&v, d);
    for (const struct gql_ast_definition *d = doc->defs; d; d = d->next)
        if (d->kind == GQL_D_FRAGMENT && !v.sums[d->index].used &&
            gql_doc_fragment(doc, d->name) == d)
            gql_val_error(&v, d->loc, "Fragment \"%s\" is never used.",
                          d->name);
    free(v.sums);
    gql_arena_free(&v.arena);
    if (v.nomem)
        gql_errors_add(errors, 0, 0, "out of memory");
    return v.nerrors || v.nomem ? -1 : 0;
}
