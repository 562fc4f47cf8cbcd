#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "router.h"

struct token {
    char *value;
    size_t len;
    int admin;
};

static struct {
    struct token *tokens;
    int n, cap;
} auth;

static int add_token(void *ud, int admin, const char *tok, size_t len)
{
    (void)ud;
    if (auth.n == auth.cap) {
        int cap = auth.cap ? auth.cap * 2 : 4;
        struct token *t = realloc(auth.tokens, (size_t)cap * sizeof(*t));
        if (!t)
            return -1;
        auth.tokens = t;
        auth.cap = cap;
    }
    char *v = strndup(tok, len);
    if (!v)
        return -1;
    auth.tokens[auth.n++] = (struct token){v, len, admin};
    return 0;
}

/* Forgets every token: the API is open (loopback only). */
void auth_free(void)
{
    for (int i = 0; i < auth.n; i++)
        free(auth.tokens[i].value);
    free(auth.tokens);
    memset(&auth, 0, sizeof(auth));
}

/* Replaces the tokens with those of spec ("read:T1,admin:T2"). Returns 0,
 * or -1 with the reason in err (the old tokens stay then). */
int auth_set_tokens(const char *spec, char *err, size_t errlen)
{
    if (config_parse_tokens(spec, err, errlen, NULL, NULL) < 0)
        return -1;
    auth_free();
    return config_parse_tokens(spec, err, errlen, add_token, NULL);
}

/* Returns non-zero when tokens are configured. */
int auth_enabled(void)
{
    return auth.n > 0;
}

/* Compares in time that depends only on the lengths, never on where the
 * bytes differ. */
static int token_equal(const struct token *t, const char *s, size_t len)
{
    if (len != t->len)
        return 0;
    return CRYPTO_memcmp(t->value, s, len) == 0;
}

/* Returns the role of the request's bearer token: the Authorization
 * header, or access_token in the query of a WebSocket upgrade (browsers
 * cannot set headers there). Anywhere else a token in the query is not
 * read: it would land in proxy logs and shell history. */
enum http_role auth_role(const struct http_req *req)
{
    const char *h = http_header(req, "authorization");
    char qtok[512];
    const char *tok = NULL;
    size_t len = 0;
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        tok = h + 7;
        while (*tok == ' ')
            tok++;
        len = strlen(tok);
        while (len && tok[len - 1] == ' ')
            len--;
    } else if (!h && req->upgrade &&
               http_query_param(req, "access_token", qtok, sizeof(qtok)) == 1) {
        tok = qtok;
        len = strlen(qtok);
    }
    if (!tok)
        return HTTP_ROLE_NONE;
    enum http_role role = HTTP_ROLE_NONE;
    for (int i = 0; i < auth.n; i++)
        if (token_equal(&auth.tokens[i], tok, len))
            role = auth.tokens[i].admin ? HTTP_ROLE_ADMIN : HTTP_ROLE_READ;
    return role;
}
