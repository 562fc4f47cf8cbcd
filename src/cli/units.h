/* Human units for tables: "2.0/8 cores", "3.1/15.6 GiB", "41%", "3s ago",
 * and times as the API writes them (RFC 3339, or Unix seconds in the seed
 * routes' shape). Pure. */
#ifndef GANTRY_CLI_UNITS_H
#define GANTRY_CLI_UNITS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

void cli_fmt_cores(char *out, size_t outlen, double used, double total);
void cli_fmt_mib(char *out, size_t outlen, double mib);
void cli_fmt_mib_pair(char *out, size_t outlen, double used, double total);
void cli_fmt_percent(char *out, size_t outlen, double v);
void cli_fmt_duration(char *out, size_t outlen, double seconds);
void cli_fmt_ago(char *out, size_t outlen, double t, double now);
void cli_fmt_number(char *out, size_t outlen, double v);
int cli_json_time(const json_t *v, double *out);

#endif
