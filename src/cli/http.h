/* gantryctl's HTTP client, on libcurl: one easy handle reused for every
 * request (keep-alive), the servers of --server tried in order, a
 * standby's 307 followed with the same method and body, the token sent as
 * a Bearer header. Everything else about the API lives in api.c. */
#ifndef GANTRY_CLI_HTTP_H
#define GANTRY_CLI_HTTP_H

#include <stddef.h>

struct cli_http;

struct cli_reply {
    long status;              /* HTTP status of the final answer */
    char *body;               /* NUL-terminated, malloc'd */
    size_t len;
};

struct cli_http *cli_http_new(const char *servers, const char *token, const char *cacert,
                              char *err, size_t errlen);
void cli_http_free(struct cli_http *h);
int cli_http_do(struct cli_http *h, const char *method, const char *path, const char *body,
                struct cli_reply *r, char *err, size_t errlen);
void cli_reply_free(struct cli_reply *r);
const char *cli_http_base(const struct cli_http *h);
const char *cli_http_token(const struct cli_http *h);
const char *cli_http_cacert(const struct cli_http *h);
char *cli_http_escape(struct cli_http *h, const char *s);

#endif
