/* The one place gantryctl talks to the API: a request with an optional JSON
 * body, its answer parsed, and a refusal or an unreachable server reported
 * the same way for every verb (and its exit status returned). Route shapes
 * that a later API version changes are read here and in the verbs through
 * these helpers only. */
#ifndef GANTRY_CLI_API_H
#define GANTRY_CLI_API_H

#include <jansson.h>
#include <stddef.h>

#include "cli.h"

int cli_api(struct cli_ctx *c, const char *method, const char *path, json_t *body,
            json_t **out);
int cli_api_get(struct cli_ctx *c, json_t **out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cli_api_show(struct cli_ctx *c, const char *path,
                 void (*show)(const struct cli_ctx *c, const json_t *j));
const char *cli_esc(struct cli_ctx *c, const char *s, char *buf, size_t buflen);
void cli_unreachable(struct cli_ctx *c, const char *why);
void cli_refused(struct cli_ctx *c, long status, const char *body, size_t len);

const char *cli_str(const json_t *j, const char *key);
double cli_num(const json_t *j, const char *key);

#endif
