/* RFC 3339 times: what the API prints and accepts, and what the DCGM CSV
 * holds. Times are seconds since the epoch as doubles (millisecond exact). */
#ifndef GANTRY_TIMEFMT_H
#define GANTRY_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

int time_format(double t, char *out, size_t outlen);
int time_parse(const char *s, double *out);
int64_t time_ms(double t);
double time_wall(void);

#endif
