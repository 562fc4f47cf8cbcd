/* gantryd's TLS wiring (see gantryd_tls.h): which listener speaks TLS with
 * which files, the rules that join the keys, what is said at start, and
 * the certificates read again on SIGHUP. */
#include "gantryd_tls.h"

#include <stdio.h>

#include "core/log.h"
#include "core/parse.h"
#include "reactor/tls.h"

#define HTTP_PLAIN_BODY "This address speaks HTTPS only: use https://\n"

/* What a client speaking plain text to a TLS port is told, unencrypted. */
static const char http_plain_reply[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    "Content-Length: 45\r\n\r\n" HTTP_PLAIN_BODY;
static const char agent_plain_reply[] =
    "{\"type\":\"error\",\"code\":\"TLS_REQUIRED\",\"message\":"
    "\"this port speaks TLS only: start the agent with --tls\"}\n";

_Static_assert(sizeof(HTTP_PLAIN_BODY) - 1 == 45, "Content-Length of the plain reply");

static struct {
    struct listener *http, *agents;
} W;

static int http_on(const struct config *cfg)
{
    return cfg->http_tls_cert[0] || cfg->http_tls_key[0];
}

static int agents_on(const struct config *cfg)
{
    return cfg->agents_tls_cert[0] || cfg->agents_tls_key[0] || cfg->agents_tls_ca[0];
}

static void http_tls(const struct config *cfg, struct tls_config *t)
{
    *t = (struct tls_config){.cert = cfg->http_tls_cert, .key = cfg->http_tls_key,
                             .names = "http.tls_", .plain_reply = http_plain_reply,
                             .handshake_timeout = cfg->http_header_timeout,
                             .max_handshakes = (unsigned long)cfg->http_tls_max_handshakes};
}

static void agents_tls(const struct config *cfg, struct tls_config *t)
{
    *t = (struct tls_config){.cert = cfg->agents_tls_cert, .key = cfg->agents_tls_key,
                             .ca = cfg->agents_tls_ca[0] ? cfg->agents_tls_ca : NULL,
                             .names = "agents.tls_", .plain_reply = agent_plain_reply,
                             .handshake_timeout = cfg->agents_hello_timeout,
                             .max_handshakes = (unsigned long)cfg->agents_tls_max_handshakes};
}

/* Checks the TLS keys of cfg: the files go together, can be read and
 * parse, and tls_bind_id has a CA to bind to. Called with every
 * configuration load (start, --check-config, SIGHUP). Returns 0, or -1
 * with the key and the reason in err. */
int gantryd_tls_check(const struct config *cfg, char *err, size_t errlen)
{
    struct tls_config t;
    if (cfg->agents_tls_bind_id && !cfg->agents_tls_ca[0]) {
        snprintf(err, errlen, "agents.tls_bind_id = true: needs agents.tls_ca (worker ids "
                              "are bound to client certificates)");
        return -1;
    }
    http_tls(cfg, &t);
    if (http_on(cfg) && tls_config_check(1, &t, err, errlen) < 0)
        return -1;
    agents_tls(cfg, &t);
    return agents_on(cfg) ? tls_config_check(1, &t, err, errlen) : 0;
}

static void announce(const char *name, const struct tls_side *side, const char *what)
{
    char desc[512];
    if (tls_side_describe(side, desc, sizeof(desc)) < 0)
        return;
    log_info("%s: TLS certificate %s: %s", name, what, desc);
}

/* Tokens that cross a network in clear text can be read off it. */
static void warn_clear_text(const struct config *cfg, const struct listener *http,
                            const struct listener *agents)
{
    if (cfg->http_tokens[0] && !http->tls && !parse_is_loopback(cfg->http_listen))
        log_warn("http.listen = %s is not loopback and TLS is off: API tokens cross the "
                 "network in clear text (set http.tls_cert and http.tls_key)", cfg->http_listen);
    if (cfg->agents_token[0] && !agents->tls && !parse_is_loopback(cfg->agents_listen))
        log_warn("agents.listen = %s is not loopback and TLS is off: the join token and "
                 "task commands cross the network in clear text (set agents.tls_cert and "
                 "agents.tls_key)", cfg->agents_listen);
}

/* Puts TLS on the listeners cfg asks it for (after reactor_init, before
 * the loop runs), says so, and warns where tokens go in clear text.
 * Returns 0, or -1 with the reason in err. */
int gantryd_tls_start(const struct config *cfg, struct listener *http, struct listener *agents,
                      char *err, size_t errlen)
{
    struct tls_config t;
    W.http = http;
    W.agents = agents;
    http_tls(cfg, &t);
    if (http_on(cfg) && !(http->tls = tls_server_new(&t, err, errlen)))
        return -1;
    agents_tls(cfg, &t);
    if (agents_on(cfg) && !(agents->tls = tls_server_new(&t, err, errlen)))
        return -1;
    if (http->tls)
        announce("http", http->tls, "in use");
    if (agents->tls) {
        announce("agents", agents->tls, "in use");
        log_info("agents: %s", t.ca ? (cfg->agents_tls_bind_id
                                           ? "mutual TLS, worker ids bound to certificates"
                                           : "mutual TLS")
                                    : "TLS, no client certificates asked for");
    }
    warn_clear_text(cfg, http, agents);
    return 0;
}

static void reload_one(const char *name, struct listener *ls, int on, const struct tls_config *t)
{
    char err[512];
    if (!ls)
        return;
    if (on != (ls->tls != NULL)) {
        log_warn("%s: TLS turned %s in the configuration: that takes effect at the next "
                 "restart", name, on ? "on" : "off");
        return;
    }
    if (!on)
        return;
    if (tls_side_reload(ls->tls, t, err, sizeof(err)) < 0) {
        log_error("%s: TLS certificates not reloaded, the ones in use stay: %s", name, err);
        return;
    }
    announce(name, ls->tls, "reloaded for new connections");
}

/* SIGHUP: reads the certificate files again (the same paths or new
 * ones); connections made afterwards get them, open ones keep theirs. */
void gantryd_tls_reload(const struct config *cfg)
{
    struct tls_config t;
    http_tls(cfg, &t);
    reload_one("http", W.http, http_on(cfg), &t);
    agents_tls(cfg, &t);
    reload_one("agents", W.agents, agents_on(cfg), &t);
}
