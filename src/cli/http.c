/* Requests over one libcurl easy handle. A server that cannot be
 * connected to is skipped for the next in the --server list; once one
 * answers it is kept, and so is the leader a standby redirected to. */
#include "http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "term.h"

#define MAX_SERVERS 8
#define MAX_BODY ((size_t)512 << 20)

struct cli_http {
    CURL *easy;
    char *servers[MAX_SERVERS];
    int nservers;
    char base[512];           /* the server that answered last (the leader) */
    struct curl_slist *headers;
    char *token, *cacert;
    char errbuf[CURL_ERROR_SIZE];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct cli_reply *r = ud;
    size_t len = size * n;
    if (r->len + len > MAX_BODY)
        return 0;
    char *b = realloc(r->body, r->len + len + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, len);
    r->body = b;
    r->len += len;
    b[r->len] = '\0';
    return len;
}

/* Ctrl-C aborts a request that hangs. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    return cli_sig_pending();
}

static int add_server(struct cli_http *h, const char *s, size_t n, char *err, size_t errlen)
{
    while (n > 0 && s[n - 1] == '/')
        n--;
    if ((n < 8 || strncmp(s, "http://", 7) != 0) && (n < 9 || strncmp(s, "https://", 8) != 0)) {
        snprintf(err, errlen, "--server: '%.*s' is not an http:// or https:// URL", (int)n, s);
        return -1;
    }
    if (h->nservers == MAX_SERVERS) {
        snprintf(err, errlen, "--server: at most %d servers", MAX_SERVERS);
        return -1;
    }
    h->servers[h->nservers++] = strndup(s, n);
    return 0;
}

static int set_headers(struct cli_http *h, const char *token)
{
    char line[600];
    snprintf(line, sizeof(line), "User-Agent: gantryctl/%s", GANTRY_VERSION);
    h->headers = curl_slist_append(h->headers, line);
    h->headers = curl_slist_append(h->headers, "Accept: application/json");
    h->headers = curl_slist_append(h->headers, "Content-Type: application/json");
    h->headers = curl_slist_append(h->headers, "Expect:");
    if (token && *token) {
        snprintf(line, sizeof(line), "Authorization: Bearer %.512s", token);
        h->headers = curl_slist_append(h->headers, line);
    }
    return h->headers ? 0 : -1;
}

static void set_options(struct cli_http *h)
{
    CURL *e = h->easy;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    /* A standby answers 307 to the leader: same method, same body, and the
     * token too (the leader is another member of the same group, often on
     * another port of the same host, where curl would drop it). */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 4L);
    curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (h->cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->cacert);
}

/* Makes a client for servers ("URL" or "URL,URL,..."). Returns NULL with
 * the reason in err (a malformed URL: a usage error). */
struct cli_http *cli_http_new(const char *servers, const char *token, const char *cacert,
                              char *err, size_t errlen)
{
    struct cli_http *h = calloc(1, sizeof(*h));
    if (!h || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(h->easy = curl_easy_init())) {
        snprintf(err, errlen, "out of memory");
        free(h);
        return NULL;
    }
    for (const char *p = servers; *p;) {
        size_t n = strcspn(p, ",");
        if (n > 0 && add_server(h, p, n, err, errlen) < 0) {
            cli_http_free(h);
            return NULL;
        }
        p += n + (p[n] == ',');
    }
    if (h->nservers == 0) {
        snprintf(err, errlen, "--server: no URL given");
        cli_http_free(h);
        return NULL;
    }
    h->token = token ? strdup(token) : NULL;
    h->cacert = cacert ? strdup(cacert) : NULL;
    snprintf(h->base, sizeof(h->base), "%s", h->servers[0]);
    set_headers(h, token);
    set_options(h);
    return h;
}

/* Frees the client and closes its connection. */
void cli_http_free(struct cli_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->easy);
    curl_slist_free_all(h->headers);
    for (int i = 0; i < h->nservers; i++)
        free(h->servers[i]);
    free(h->token);
    free(h->cacert);
    free(h);
}

static void set_method(CURL *e, const char *method, const char *body)
{
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        if (strcmp(method, "GET") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
}

/* Keeps the scheme://host:port of the URL that answered, for the next
 * requests and for WebSockets. */
static void remember_base(struct cli_http *h)
{
    char *url = NULL;
    if (curl_easy_getinfo(h->easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url)
        return;
    const char *host = strstr(url, "://");
    if (!host)
        return;
    size_t n = strcspn(host + 3, "/?#");
    snprintf(h->base, sizeof(h->base), "%.*s", (int)(host + 3 - url + n), url);
}

/* Whether the request never reached the server, so another may take it
 * without the risk of doing it twice. */
static int connect_failed(struct cli_http *h, CURLcode rc)
{
    curl_off_t connected = 0;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return curl_easy_getinfo(h->easy, CURLINFO_CONNECT_TIME_T, &connected) == CURLE_OK &&
               connected == 0;
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
           rc == CURLE_SSL_CONNECT_ERROR;
}

static CURLcode perform(struct cli_http *h, const char *base, const char *path,
                        struct cli_reply *r)
{
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", base, path);
    curl_easy_setopt(h->easy, CURLOPT_URL, url);
    curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, r);
    h->errbuf[0] = '\0';
    free(r->body);
    r->body = NULL;
    r->len = 0;
    CURLcode rc = curl_easy_perform(h->easy);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &r->status);
    return rc;
}

static void describe(struct cli_http *h, CURLcode rc, char *err, size_t errlen)
{
    long os = 0;
    curl_easy_getinfo(h->easy, CURLINFO_OS_ERRNO, &os);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        snprintf(err, errlen, "interrupted");
    else if (os)
        snprintf(err, errlen, "%s", strerror((int)os));
    else
        snprintf(err, errlen, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
}

/* Sends method path (with a JSON body, or none) to the server that
 * answered last, then to each of --server in turn while they cannot be
 * connected to. Returns 0 with the answer in r (any status), or -1 when
 * none answered, with the reason in err. */
int cli_http_do(struct cli_http *h, const char *method, const char *path, const char *body,
                struct cli_reply *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    set_method(h->easy, method, body);
    CURLcode rc = perform(h, h->base, path, r);
    for (int i = 0; connect_failed(h, rc) && i < h->nservers; i++) {
        if (strcmp(h->servers[i], h->base) != 0)
            rc = perform(h, h->servers[i], path, r);
    }
    if (rc != CURLE_OK) {
        describe(h, rc, err, errlen);
        return -1;
    }
    remember_base(h);
    if (!r->body)
        r->body = calloc(1, 1);
    return r->body ? 0 : -1;
}

/* Frees an answer's body. */
void cli_reply_free(struct cli_reply *r)
{
    free(r->body);
    r->body = NULL;
}

/* The server that answered last, as scheme://host:port. */
const char *cli_http_base(const struct cli_http *h)
{
    return h->base;
}

/* The token given (or NULL). */
const char *cli_http_token(const struct cli_http *h)
{
    return h->token;
}

/* The --cacert file (or NULL). */
const char *cli_http_cacert(const struct cli_http *h)
{
    return h->cacert;
}

/* Percent-encodes s for a path segment or query value. Returns a malloc'd
 * string (free()), or NULL. */
char *cli_http_escape(struct cli_http *h, const char *s)
{
    char *e = curl_easy_escape(h->easy, s, 0);
    char *copy = e ? strdup(e) : NULL;
    curl_free(e);
    return copy;
}
