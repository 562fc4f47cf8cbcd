/* Parsers for the value syntaxes users type: durations (500ms, 5s, 2m),
 * sizes (64KiB, 1MiB), booleans, host:port addresses, redis URLs. Pure: no
 * I/O, no allocation. Each returns 0, or -1 with a reason in err. */
#ifndef GANTRY_PARSE_H
#define GANTRY_PARSE_H

#include <stddef.h>

int parse_duration(const char *s, double *out, char *err, size_t errlen);
int parse_size(const char *s, size_t *out, char *err, size_t errlen);
int parse_bool(const char *s, int *out, char *err, size_t errlen);
int parse_long(const char *s, long *out, char *err, size_t errlen);
int parse_double(const char *s, double *out, char *err, size_t errlen);

struct hostport {
    char host[256];           /* numeric address or name; "" = any */
    int port;
};
int parse_hostport(const char *s, struct hostport *hp, char *err, size_t errlen);
int parse_is_loopback(const char *addr);

#define REDIS_MAX_SENTINELS 8

struct redis_addr {
    char host[64];            /* numeric IP; empty for unix sockets and sentinel:// */
    int port;
    char path[108];           /* unix socket path, or "" */
    int db;
    int nsentinels;           /* sentinel://: the sentinels to ask; else 0 */
    struct {
        char host[64];
        int port;
    } sentinels[REDIS_MAX_SENTINELS];
    char master_name[64];     /* the master's name the sentinels know */
};
int parse_redis_url(const char *s, struct redis_addr *ra, char *err,
                    size_t errlen);

int format_duration(double seconds, char *out, size_t outlen);

#endif
