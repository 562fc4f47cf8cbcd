/* libFuzzer: GraphQL documents through the whole module: parse, validate,
 * select, coerce variables (the bytes after a NUL, as JSON), execute over
 * the unit tests' fixture schema with every fetch answered, and dump the
 * response. Nothing may crash or leak; a request that starts must end in a
 * response within max_rounds passes, and no error may claim memory ran
 * out (what a JSON string refused for bad UTF-8 looks like). The same bytes are also read as a type
 * reference and as a constant value, as schema building reads them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/gql_fixture.h"
#include "graphql/ast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Answers every fetch of the last pass: a string, an object or a failure,
 * chosen by the key, so resolvers see each kind. */
static void answer_all(struct gql_request *r)
{
    for (size_t i = 0; i < gql_request_fetch_count(r); i++) {
        const char *key = gql_request_fetch(r, i, NULL);
        size_t n = strlen(key);
        if (n % 3 == 0)
            gql_request_supply(r, key, json_string(key));
        else if (n % 3 == 1)
            gql_request_supply(r, key, json_pack("{s:s}", "id", "t-1"));
        else
            gql_request_supply_error(r, key, "no");
    }
}

/* Aborts on an "out of memory" error: memory does not run out here. */
static void check_errors(json_t *response)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(response, "errors"), i, e) {
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (!msg || strcmp(msg, "out of memory") == 0)
            abort();
    }
}

static void run(const char *query, size_t len, json_t *vars)
{
    struct gql_limits l;
    json_t *response;
    gql_limits_default(&l);
    struct gql_request *r = gql_request_new(schema, query, len, NULL,
                                            vars, &l, &response);
    if (!r) {
        if (!response || !json_array_size(json_object_get(response,
                                                          "errors")))
            abort();
        check_errors(response);
        json_decref(response);
        return;
    }
    enum gql_run rc;
    unsigned passes = 0;
    while ((rc = gql_request_run(r, NULL, &response)) == GQL_RUN_FETCH) {
        if (++passes >= l.max_rounds)
            abort();
        answer_all(r);
    }
    if (rc != GQL_RUN_DONE || !json_object_get(response, "data"))
        abort();
    check_errors(response);
    free(json_dumps(response, 0));
    json_decref(response);
    gql_request_free(r);
}

/* The bytes as schema text: a type reference and a default value. */
static void schema_texts(const char *text)
{
    struct gql_arena a = GQL_ARENA_INIT;
    struct gql_error err;
    gql_parse_type_text(&a, text, &err);
    gql_parse_value_text(&a, text, &err);
    gql_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schema)
        schema = fx_schema();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t qlen = strlen(text);
    json_t *vars = qlen < size ? json_loads(text + qlen + 1, 0, NULL) : NULL;
    run(text, qlen, vars);
    json_decref(vars);
    schema_texts(text);
    free(text);
    return 0;
}
