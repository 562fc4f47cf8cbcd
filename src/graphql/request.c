/* A request from text to response: parse, validate, select the operation,
 * coerce the variables, then run passes until no resolver waits for data
 * (see graphql.h for the protocol with the caller). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

/* {"errors": errors, "data": data}, stealing both (errors left out when
 * empty, data when NULL: a request that could not run has none). NULL
 * when memory is exhausted. */
static json_t *response_of(json_t *errors, json_t *data)
{
    json_t *r = json_object();
    if (r && json_array_size(errors) &&
        json_object_set(r, "errors", errors) < 0)
        goto fail;
    if (r && data && json_object_set(r, "data", data) < 0)
        goto fail;
    json_decref(errors);
    json_decref(data);
    return r;
fail:
    json_decref(r);
    json_decref(errors);
    json_decref(data);
    return NULL;
}

/* GetOperation: the operation named name, or the only one. */
static const struct gql_ast_definition *select_operation(
    const struct gql_document *doc, const char *name, json_t *errors)
{
    const struct gql_ast_definition *found = NULL;
    size_t ops = 0;
    if (name && !name[0])
        name = NULL;            /* "operationName": "" names none */
    for (const struct gql_ast_definition *d = doc->defs; d; d = d->next) {
        if (d->kind != GQL_D_OPERATION)
            continue;
        ops++;
        if (!found && (!name || (d->name && strcmp(d->name, name) == 0)))
            found = d;
    }
    if (name && !found)
        gql_errors_add(errors, 0, 0, "Unknown operation named \"%.64s\".",
                       name);
    else if (!name && ops > 1)
        gql_errors_add(errors, 0, 0, "The document holds %zu operations: "
                       "name one with operationName.", ops);
    else
        return found;
    return NULL;
}

/* CoerceVariableValues for one variable definition into vars. */
static int coerce_variable(const struct gql_schema *s, struct gql_arena *a,
                           const struct gql_ast_vardef *v, json_t *given,
                           json_t *vars, json_t *errors)
{
    const char *unknown;
    char err[200];
    json_t *value = NULL;
    const struct gql_typeref *t = gql_typeref_from_ast(a, s, v->type,
                                                       &unknown);
    if (!t)
        return gql_errors_add(errors, v->loc.line, v->loc.column,
                              "Variable \"$%s\" has an unknown type.",
                              v->name), -1;
    if (!given && v->default_value) {
        if (gql_coerce_literal(t, v->default_value, NULL, NULL, &value, err,
                               sizeof(err)) != 0)
            return gql_errors_add(errors, v->loc.line, v->loc.column,
                                  "Variable \"$%s\": %s", v->name, err), -1;
    } else if (!given && t->kind == GQL_T_NON_NULL) {
        char ts[128];
        gql_typeref_format(t, ts, sizeof(ts));
        return gql_errors_add(errors, v->loc.line, v->loc.column, "Variable "
                              "\"$%s\" of required type %s was not provided.",
                              v->name, ts), -1;
    } else if (given && gql_coerce_json(t, given, &value, err,
                                        sizeof(err)) < 0) {
        return gql_errors_add(errors, v->loc.line, v->loc.column, "Variable "
                              "\"$%s\" got an invalid value: %s", v->name,
                              err), -1;
    }
    if (value && json_object_set_new(vars, v->name, value) < 0)
        return -1;
    return 0;
}

static json_t *coerce_variables(const struct gql_request *r, json_t *given,
                                json_t *errors)
{
    if (given && !json_is_object(given) && !json_is_null(given)) {
        gql_errors_add(errors, 0, 0, "Variables must be a JSON object.");
        return NULL;
    }
    json_t *vars = json_object();
    struct gql_arena a = GQL_ARENA_INIT;
    int failed = !vars;
    for (const struct gql_ast_vardef *v = r->op->vars; vars && v;
         v = v->next)
        if (coerce_variable(r->schema, &a, v, json_object_get(given, v->name),
                            vars, errors) < 0)
            failed = 1;
    gql_arena_free(&a);
    if (failed) {
        json_decref(vars);
        return NULL;
    }
    return vars;
}

/* The steps before running: parse, validate, select, coerce. */
static int prepare(struct gql_request *r, const char *query, size_t len,
                   const char *operation_name, json_t *variables,
                   json_t *errors)
{
    struct gql_error err;
    if (!(r->doc = gql_parse(query, len, &r->limits, &err))) {
        json_array_append_new(errors, gql_error_json(&err));
        return -1;
    }
    if (gql_validate(r->schema, r->doc, &r->limits, errors) < 0 ||
        !(r->op = select_operation(r->doc, operation_name, errors)) ||
        !(r->vars = coerce_variables(r, variables, errors)))
        return -1;
    return 0;
}

/* Prepares a request: query (len bytes) parsed and validated against s,
 * the operation chosen (operation_name may be NULL), variables (a JSON
 * object or NULL, borrowed) coerced. limits NULL means the defaults.
 * Returns the request (gql_request_run it, then gql_request_free), or NULL
 * with *response set to {"errors": [...]} for the caller to send (NULL as
 * well when memory ran out). */
struct gql_request *gql_request_new(const struct gql_schema *s,
                                    const char *query, size_t len,
                                    const char *operation_name,
                                    json_t *variables,
                                    const struct gql_limits *limits,
                                    json_t **response)
{
    *response = NULL;
    struct gql_request *r = calloc(1, sizeof(*r));
    json_t *errors = json_array();
    if (!r || !errors) {
        free(r);
        json_decref(errors);
        return NULL;
    }
    r->schema = s;
    if (limits)
        r->limits = *limits;
    else
        gql_limits_default(&r->limits);
    if (prepare(r, query, len, operation_name, variables, errors) == 0) {
        json_decref(errors);
        return r;
    }
    *response = json_array_size(errors) ? response_of(errors, NULL) : NULL;
    if (!*response)
        json_decref(errors);
    gql_request_free(r);
    return NULL;
}

/* Query, mutation or subscription: what the chosen operation is (a caller
 * may require a stronger token for mutations). */
enum gql_operation gql_request_operation(const struct gql_request *r)
{
    return r->op->op;
}

/* Fetches the caller did not answer before running again have failed. */
static int expire_unanswered(struct gql_request *r)
{
    for (size_t i = r->first_new; i < r->nfetches; i++) {
        struct gql_fetch *f = &r->fetches[i];
        if (f->answered)
            continue;
        f->answered = true;
        if (!(f->error = strdup("The data fetch got no answer.")))
            return -1;
    }
    r->first_new = r->nfetches;
    return 0;
}

/* Runs one pass of r, with ctx for the resolvers. GQL_RUN_DONE: *response
 * is the result to send ({"errors", "data"}; the caller owns it).
 * GQL_RUN_FETCH: resolvers wait for the fetches listed by
 * gql_request_fetch(); supply every answer, then run again (this pass's
 * result is dropped). GQL_RUN_NOMEM: memory ran out. */
enum gql_run gql_request_run(struct gql_request *r, void *ctx,
                             json_t **response)
{
    *response = NULL;
    if (expire_unanswered(r) < 0)
        return GQL_RUN_NOMEM;
    struct gql_exec ex = {.req = r, .schema = r->schema, .ctx = ctx};
    ex.last_round = ++r->rounds >= r->limits.max_rounds;
    ex.errors = json_array();
    ex.stamps = calloc(r->doc->ndefs, sizeof(*ex.stamps));
    json_t *data = ex.errors && ex.stamps ? gql_execute_pass(&ex) : NULL;
    gql_arena_free(&ex.arena);
    free(ex.stamps);
    if (data && ex.pending && r->nfetches > r->first_new) {
        json_decref(data);
        json_decref(ex.errors);
        return GQL_RUN_FETCH;
    }
    if (!data || !(*response = response_of(ex.errors, data))) {
        json_decref(ex.errors);
        return GQL_RUN_NOMEM;
    }
    return GQL_RUN_DONE;
}

/* How many fetches the last pass asked for. */
size_t gql_request_fetch_count(const struct gql_request *r)
{
    return r->nfetches - r->first_new;
}

/* Fetch i (< gql_request_fetch_count) of the last pass: returns its key
 * and sets *args (may be NULL) to what the resolver passed along; both
 * borrowed, valid until r is freed. */
const char *gql_request_fetch(const struct gql_request *r, size_t i,
                              json_t **args)
{
    const struct gql_fetch *f = &r->fetches[r->first_new + i];
    if (args)
        *args = f->args;
    return f->key;
}

/* Answers the fetch named key with value (stolen). Returns 0, or -1 when
 * no resolver asked for key or it was answered already. */
int gql_request_supply(struct gql_request *r, const char *key, json_t *value)
{
    struct gql_fetch *f = gql_fetch_find(r, key);
    if (!f || f->answered) {
        json_decref(value);
        return -1;
    }
    f->value = value ? value : json_null();
    f->answered = true;
    return 0;
}

/* Answers the fetch named key with a failure: the fields that wanted it
 * fail with message. Returns 0 or -1 like gql_request_supply(). */
int gql_request_supply_error(struct gql_request *r, const char *key,
                             const char *message)
{
    struct gql_fetch *f = gql_fetch_find(r, key);
    if (!f || f->answered || !(f->error = strdup(message)))
        return -1;
    f->answered = true;
    return 0;
}

/* Frees r with its document, variables and cache. NULL is fine. */
void gql_request_free(struct gql_request *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfetches; i++) {
        free(r->fetches[i].key);
        json_decref(r->fetches[i].args);
        json_decref(r->fetches[i].value);
        free(r->fetches[i].error);
    }
    free(r->fetches);
    json_decref(r->vars);
    gql_document_free(r->doc);
    free(r);
}
