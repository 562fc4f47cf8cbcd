#include "parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* Parses a number followed by a unit into its base value, with units from
 * the table; bare numbers take the multiplier of the unit "". */
struct unit {
    const char *name;
    double mult;
};

static int parse_with_units(const char *s, const struct unit *units,
                            double *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v) || v < 0)
        return -1;
    while (*end == ' ')
        end++;
    for (const struct unit *u = units; u->name; u++) {
        if (strcmp(end, u->name) == 0) {
            *out = v * u->mult;
            return 0;
        }
    }
    return -1;
}

static const struct unit duration_units[] = {
    {"", 1}, {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"m", 60}, {"min", 60},
    {"h", 3600}, {"d", 86400}, {NULL, 0}};

/* Parses a duration ("500ms", "5s", "2m", "1h", "1d"; a bare number is
 * seconds) into seconds. */
int parse_duration(const char *s, double *out, char *err, size_t errlen)
{
    if (parse_with_units(s, duration_units, out) < 0)
        return ERR("not a duration (use 500ms, 5s, 2m, 1h)");
    if (*out > 10 * 365 * 86400.0)
        return ERR("duration too long");
    return 0;
}

static const struct unit size_units[] = {
    {"", 1}, {"B", 1}, {"KiB", 1024.0}, {"MiB", 1048576.0},
    {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}, {"K", 1024.0},
    {"M", 1048576.0}, {"G", 1073741824.0}, {"KB", 1000.0}, {"MB", 1e6},
    {"GB", 1e9}, {NULL, 0}};

/* Parses a size ("64KiB", "1MiB", "512"; bare numbers are bytes). */
int parse_size(const char *s, size_t *out, char *err, size_t errlen)
{
    double v;
    if (parse_with_units(s, size_units, &v) < 0)
        return ERR("not a size (use 512B, 64KiB, 1MiB, 1GiB)");
    if (v >= 9.0e18)
        return ERR("size too large");
    if (v != floor(v))
        return ERR("size must be a whole number of bytes");
    *out = (size_t)v;
    return 0;
}

/* Parses true/false, yes/no, on/off, 1/0. */
int parse_bool(const char *s, int *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return ERR("not a boolean (use true or false)");
}

/* Parses a whole decimal number. */
int parse_long(const char *s, long *out, char *err, size_t errlen)
{
    if (!s || !*s)
        return ERR("not a number");
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || errno == ERANGE || isspace((unsigned char)*s))
        return ERR("not a whole number");
    *out = v;
    return 0;
}

/* Parses a decimal number (no units). */
int parse_double(const char *s, double *out, char *err, size_t errlen)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return ERR("not a number");
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(v))
        return ERR("not a number");
    *out = v;
    return 0;
}

static int parse_port(const char *s, int *port)
{
    long v;
    char e[8];
    if (parse_long(s, &v, e, sizeof(e)) < 0 || v < 0 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

/* Parses "host:port", "[v6]:port" or ":port" (any address). Port 0 asks the
 * kernel for a free one. */
int parse_hostport(const char *s, struct hostport *hp, char *err,
                   size_t errlen)
{
    const char *colon;
    size_t hlen;
    const char *host = s;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return ERR("not an address (use [::1]:8080)");
        host = s + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return ERR("not an address (use host:port, e.g. 127.0.0.1:8080)");
        if (memchr(s, ':', (size_t)(colon - s)))
            return ERR("IPv6 addresses need brackets ([::1]:8080)");
        hlen = (size_t)(colon - s);
    }
    if (hlen >= sizeof(hp->host))
        return ERR("host name too long");
    if (parse_port(colon + 1, &hp->port) < 0)
        return ERR("bad port '%s' (0..65535)", colon + 1);
    memcpy(hp->host, host, hlen);
    hp->host[hlen] = '\0';
    return 0;
}

/* One "host[:port]" of a redis or sentinel URL, n bytes at s, into a
 * numeric host and a port (default_port when none is given). The host must
 * be a numeric address ("localhost" is taken as 127.0.0.1) because
 * resolving a name would block the event loop. Returns 0 or -1. */
static int numeric_hostport(const char *s, size_t n, int default_port, char *host,
                            size_t hostlen, int *port, char *err, size_t errlen)
{
    char text[300];
    struct hostport hp;
    if (n >= sizeof(text) - 8)
        return ERR("address too long");
    memcpy(text, s, n);
    text[n] = '\0';
    if (!strchr(text, ':') || (text[0] == '[' && !strstr(text, "]:")))
        snprintf(text + n, sizeof(text) - n, ":%d", default_port);
    if (parse_hostport(text, &hp, err, errlen) < 0)
        return -1;
    if (strcmp(hp.host, "localhost") == 0 || hp.host[0] == '\0')
        strcpy(hp.host, "127.0.0.1");
    unsigned char tmp[16];
    if (inet_pton(AF_INET, hp.host, tmp) != 1 && inet_pton(AF_INET6, hp.host, tmp) != 1)
        return ERR("redis host must be a numeric address, not '%s'", hp.host);
    if (hp.port == 0)
        return ERR("redis port must not be 0");
    if (strlen(hp.host) >= hostlen)
        return ERR("address too long");
    memcpy(host, hp.host, strlen(hp.host) + 1);
    *port = hp.port;
    return 0;
}

static int parse_db(const char *s, int *db, char *err, size_t errlen)
{
    long v;
    if (parse_long(s, &v, err, errlen) < 0 || v < 0 || v > 15)
        return ERR("bad database number '%s' (0..15)", s);
    *db = (int)v;
    return 0;
}

/* sentinel://HOST[:PORT][,HOST[:PORT]...]/MASTER_NAME[/db] (port 26379 by
 * default). */
static int parse_sentinel_url(const char *p, struct redis_addr *ra, char *err, size_t errlen)
{
    const char *slash = strchr(p, '/');
    if (!slash || slash == p)
        return ERR("use sentinel://HOST:PORT[,HOST:PORT...]/MASTER_NAME[/db]");
    for (const char *at = p; at < slash;) {
        const char *comma = memchr(at, ',', (size_t)(slash - at));
        const char *end = comma ? comma : slash;
        if (ra->nsentinels == REDIS_MAX_SENTINELS)
            return ERR("at most %d sentinels", REDIS_MAX_SENTINELS);
        if (end == at)
            return ERR("an empty sentinel address");
        if (numeric_hostport(at, (size_t)(end - at), 26379, ra->sentinels[ra->nsentinels].host,
                             sizeof(ra->sentinels[0].host), &ra->sentinels[ra->nsentinels].port,
                             err, errlen) < 0)
            return -1;
        ra->nsentinels++;
        at = comma ? comma + 1 : slash;
    }
    const char *name = slash + 1;
    const char *dbs = strchr(name, '/');
    size_t n = dbs ? (size_t)(dbs - name) : strlen(name);
    if (n == 0 || n >= sizeof(ra->master_name))
        return ERR("the master name must be 1-%zu characters", sizeof(ra->master_name) - 1);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
            return ERR("the master name may hold letters, digits, '.', '_' and '-'");
    memcpy(ra->master_name, name, n);
    return dbs && dbs[1] ? parse_db(dbs + 1, &ra->db, err, errlen) : 0;
}

/* Returns non-zero when addr ("host:port") is a loopback address, which
 * only this machine can reach. */
int parse_is_loopback(const char *addr)
{
    struct hostport hp;
    char err[64];
    if (parse_hostport(addr, &hp, err, sizeof(err)) < 0)
        return 0;
    return strncmp(hp.host, "127.", 4) == 0 || strcmp(hp.host, "::1") == 0 ||
           strcmp(hp.host, "localhost") == 0;
}

/* Parses redis://host:port[/db], unix:/path[?db=N] or
 * sentinel://host:port,.../master_name[/db]. Hosts must be numeric
 * addresses: resolving a name would block the event loop. */
int parse_redis_url(const char *s, struct redis_addr *ra, char *err,
                    size_t errlen)
{
    memset(ra, 0, sizeof(*ra));
    if (strncmp(s, "unix:", 5) == 0) {
        const char *p = s + 5;
        if (strncmp(p, "//", 2) == 0)
            p += 2;
        const char *q = strstr(p, "?db=");
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || p[0] != '/')
            return ERR("unix socket path must be absolute (unix:/run/redis.sock)");
        if (n >= sizeof(ra->path))
            return ERR("unix socket path too long");
        memcpy(ra->path, p, n);
        if (q && parse_db(q + 4, &ra->db, err, errlen) < 0)
            return ERR("bad database number");
        return 0;
    }
    if (strncmp(s, "sentinel://", 11) == 0)
        return parse_sentinel_url(s + 11, ra, err, errlen);
    if (strncmp(s, "redis://", 8) != 0)
        return ERR("not a redis URL (use redis://127.0.0.1:6379, unix:/path or "
                   "sentinel://HOST:PORT/NAME)");
    const char *p = s + 8;
    if (strchr(p, '@'))
        return ERR("passwords in the URL are not supported");
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (numeric_hostport(p, n, 6379, ra->host, sizeof(ra->host), &ra->port, err, errlen) < 0)
        return -1;
    return slash && slash[1] ? parse_db(slash + 1, &ra->db, err, errlen) : 0;
}

/* Writes seconds back in the shortest unit that is exact ("500ms", "30s",
 * "2m", "24h"). Returns the length written. */
int format_duration(double seconds, char *out, size_t outlen)
{
    double ms = round(seconds * 1000);
    long long v = (long long)ms;
    if (v == 0)
        return snprintf(out, outlen, "0s");
    if (v % 3600000 == 0)
        return snprintf(out, outlen, "%lldh", v / 3600000);
    if (v % 60000 == 0)
        return snprintf(out, outlen, "%lldm", v / 60000);
    if (v % 1000 == 0)
        return snprintf(out, outlen, "%llds", v / 1000);
    return snprintf(out, outlen, "%lldms", v);
}
