/* Formatting numbers for people, and reading the API's times. */
#include "units.h"

#include <math.h>
#include <stdio.h>

#include "core/timefmt.h"

/* "2.0/8 cores": cores allocated of the total. */
void cli_fmt_cores(char *out, size_t outlen, double used, double total)
{
    snprintf(out, outlen, "%.1f/%g cores", used, total);
}

/* "512 MiB", "3.1 GiB", "1.2 TiB". */
void cli_fmt_mib(char *out, size_t outlen, double mib)
{
    if (mib >= 1048576)
        snprintf(out, outlen, "%.1f TiB", mib / 1048576);
    else if (mib >= 1024)
        snprintf(out, outlen, "%.1f GiB", mib / 1024);
    else
        snprintf(out, outlen, "%.0f MiB", mib);
}

/* "3.1/15.6 GiB": used of total, in the unit that suits the total. */
void cli_fmt_mib_pair(char *out, size_t outlen, double used, double total)
{
    if (total >= 1048576)
        snprintf(out, outlen, "%.1f/%.1f TiB", used / 1048576, total / 1048576);
    else if (total >= 1024)
        snprintf(out, outlen, "%.1f/%.1f GiB", used / 1024, total / 1024);
    else
        snprintf(out, outlen, "%.0f/%.0f MiB", used, total);
}

/* "41%", or "-" when there is no value. */
void cli_fmt_percent(char *out, size_t outlen, double v)
{
    if (!isfinite(v) || v < 0)
        snprintf(out, outlen, "-");
    else
        snprintf(out, outlen, "%.0f%%", v);
}

/* "350ms", "12s", "3m20s", "2h5m", "3d4h". */
void cli_fmt_duration(char *out, size_t outlen, double s)
{
    if (!isfinite(s) || s < 0)
        s = 0;
    long n = (long)floor(s);
    if (s < 1 && s > 0)
        snprintf(out, outlen, "%.0fms", s * 1000);
    else if (n < 60)
        snprintf(out, outlen, "%lds", n);
    else if (n < 3600)
        snprintf(out, outlen, "%ldm%02lds", n / 60, n % 60);
    else if (n < 86400)
        snprintf(out, outlen, "%ldh%02ldm", n / 3600, n % 3600 / 60);
    else
        snprintf(out, outlen, "%ldd%ldh", n / 86400, n % 86400 / 3600);
}

/* "3s ago", "5m ago", "2h ago", "4d ago" (one unit), "never" for no time. */
void cli_fmt_ago(char *out, size_t outlen, double t, double now)
{
    if (t <= 0) {
        snprintf(out, outlen, "never");
        return;
    }
    long d = (long)floor(now - t);
    if (d < 0)
        d = 0;
    if (d < 60)
        snprintf(out, outlen, "%lds ago", d);
    else if (d < 3600)
        snprintf(out, outlen, "%ldm ago", d / 60);
    else if (d < 86400)
        snprintf(out, outlen, "%ldh ago", d / 3600);
    else
        snprintf(out, outlen, "%ldd ago", d / 86400);
}

/* A number without trailing zeros: "2", "0.5", "1.25". */
void cli_fmt_number(char *out, size_t outlen, double v)
{
    snprintf(out, outlen, "%.6g", v);
}

/* Reads a time from the API: an RFC 3339 string (Gantry's own routes) or
 * Unix seconds (the seed-shaped ones). Returns 0, or -1 for null or
 * anything else. */
int cli_json_time(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return *out > 0 ? 0 : -1;
    }
    if (json_is_string(v))
        return time_parse(json_string_value(v), out);
    return -1;
}
