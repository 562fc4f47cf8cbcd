/* The list of masters an agent may join, and the cursor that walks it
 * (see masters.h for the rules). */
#include "masters.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "core/parse.h"

/* Resolves "host:port" (an empty host is 127.0.0.1) into out. A name is
 * looked up with getaddrinfo, which may block: done when the list is
 * read, and for a redirect, where the address is normally numeric.
 * Returns 0, or -1 with the reason. */
int masters_resolve(const char *text, struct masters_addr *out, char *err, size_t errlen)
{
    struct hostport hp;
    char port[8];
    if (parse_hostport(text, &hp, err, errlen) < 0)
        return -1;
    if (hp.port == 0) {
        snprintf(err, errlen, "port 0 cannot be connected to");
        return -1;
    }
    if (strlen(text) >= sizeof(out->text)) {
        snprintf(err, errlen, "address too long");
        return -1;
    }
    struct addrinfo hints = {0}, *res;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%d", hp.port);
    int rc = getaddrinfo(hp.host[0] ? hp.host : "127.0.0.1", port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s", gai_strerror(rc));
        return -1;
    }
    memcpy(&out->sa, res->ai_addr, res->ai_addrlen);
    out->len = res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(out->text, sizeof(out->text), "%s", text);
    return 0;
}

/* Parses "A,B,..." (each host:port) into m, resolving each. Returns 0, or
 * -1 with the reason (naming the address). */
int masters_parse(struct masters *m, const char *list, char *err, size_t errlen)
{
    char one[256], why[160];
    memset(m, 0, sizeof(*m));
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0 || n >= sizeof(one)) {
            snprintf(err, errlen, "%s address in the list", n ? "a too long" : "an empty");
            return -1;
        }
        if (m->n == MASTERS_MAX) {
            snprintf(err, errlen, "at most %d addresses", MASTERS_MAX);
            return -1;
        }
        memcpy(one, p, n);
        one[n] = '\0';
        if (masters_resolve(one, &m->addr[m->n], why, sizeof(why)) < 0) {
            snprintf(err, errlen, "%s: %s", one, why);
            return -1;
        }
        m->n++;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* Starts a cursor at the list's first address; waits between rounds
 * grow from min to max seconds. */
void masters_cursor_init(struct masters_cursor *c, double min, double max)
{
    memset(c, 0, sizeof(*c));
    c->min = min;
    c->max = max;
    c->backoff = min;
}

/* Returns the address to dial now: a redirect's, else the cursor's. */
const struct masters_addr *masters_pick(const struct masters *m, const struct masters_cursor *c)
{
    return c->redirected ? &c->redirect : &m->addr[c->at % m->n];
}

/* Counts a dial that did not join (a round has as many as the list has
 * addresses, redirects included, so two standbys naming each other cannot
 * keep an agent spinning), moves the cursor past the list address just
 * dialled (not when it was a redirect's), and returns the wait before the
 * next dial: none while the round lasts, else the backoff. */
static double step(const struct masters *m, struct masters_cursor *c, double draw)
{
    if (c->redirected)
        c->redirected = 0;
    else
        c->at = (c->at + 1) % m->n;
    c->tried++;
    if (c->tried < m->n)
        return 0;
    c->tried = 0;
    double most = c->max;
    if ((m->n > 1 || c->ever_redirected) && most > MASTERS_GROUP_MAX_WAIT)
        most = MASTERS_GROUP_MAX_WAIT;
    if (c->backoff > most)
        c->backoff = most;
    double wait = c->backoff * (0.5 + 0.5 * draw);
    c->backoff = c->backoff * 2 > most ? most : c->backoff * 2;
    return wait;
}

/* A dial failed or a connection was lost. Returns the seconds to wait
 * before the next dial (decided already if a not_leader came first);
 * draw is a random number in [0, 1]. */
double masters_failed(const struct masters *m, struct masters_cursor *c, double draw)
{
    if (c->decided) {
        c->decided = 0;
        return c->decided_wait;
    }
    return step(m, c, draw);
}

/* The master dialled said not_leader, naming leader ("" or NULL: none
 * known). That address counts as tried; the next dial goes to the leader
 * named, within MASTERS_REDIRECT_JITTER (after the backoff if that try
 * ended a round), or on along the list. The
 * connection's end that follows is then not counted again
 * (masters_failed returns the wait decided here). Returns 0 when a leader
 * was named, else -1. */
int masters_redirect(const struct masters *m, struct masters_cursor *c, const char *leader,
                     double draw)
{
    char why[160];
    int ok = leader && leader[0] && masters_resolve(leader, &c->redirect, why, sizeof(why)) == 0;
    c->ever_redirected = 1;
    c->decided_wait = step(m, c, draw);   /* the address that answered is tried */
    if (ok) {                     /* at once, unless the round is over */
        c->redirected = 1;
        if (c->decided_wait == 0)
            c->decided_wait = MASTERS_REDIRECT_JITTER * draw;
    }
    c->decided = 1;
    return ok ? 0 : -1;
}

/* An error frame from the master (code, and the leader it names, may be
 * NULL): a not_leader redirects the cursor (masters_redirect). Returns 1
 * for a not_leader, else 0 (the caller handles the error). */
int masters_on_error(const struct masters *m, struct masters_cursor *c, const char *code,
                     const char *leader, double draw)
{
    if (!code || strcmp(code, "not_leader") != 0)
        return 0;
    masters_redirect(m, c, leader, draw);
    return 1;
}

/* Welcomed: the next loss starts a fresh round with the shortest wait. */
void masters_joined(struct masters_cursor *c)
{
    c->tried = 0;
    c->decided = 0;
    c->backoff = c->min;
}
