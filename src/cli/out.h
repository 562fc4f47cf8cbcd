/* Printing for the verbs: the API's JSON (--json), tables in the mode the
 * terminal calls for, key-value blocks, coloured words. */
#ifndef GANTRY_CLI_OUT_H
#define GANTRY_CLI_OUT_H

#include <jansson.h>
#include <stddef.h>

#include "cli.h"
#include "table.h"

struct buf;

void cli_put_clipped(struct buf *b, const char *line, size_t n, int cols);
void cli_print_json(const struct cli_ctx *c, const json_t *j);
void cli_print_table(const struct cli_ctx *c, const struct cli_table *t);
void cli_print_section(const struct cli_ctx *c, const struct cli_table *t);
void cli_kv(struct cli_table *t, const char *key, const char *value, const char *sgr);
const char *cli_paint(const struct cli_ctx *c, const char *sgr, const char *text, char *buf,
                      size_t buflen);
void cli_pairs_text(const json_t *o, const char *sep, char *out, size_t outlen);
void cli_task_runs(const json_t *t, char *out, size_t outlen);
void cli_fmt_time(const struct cli_ctx *c, char *out, size_t outlen, const json_t *v,
                  double now);

#endif
