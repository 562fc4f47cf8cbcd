/* The agent side of a group of gantryd: the list of masters an agent (or
 * gantry-replay) may join (--master A,B,...), which one to dial next, how
 * long to wait first, and a standby's redirect (not_leader) remembered.
 *
 * A cursor walks the list. A dial that fails, or a connection that is
 * lost, moves it to the next address, at once while this round has
 * addresses left untried, else after a backoff with jitter that doubles
 * up to a bound (half a second at most when the group has more than one
 * address or a standby has redirected us: a standby takes over within a
 * lease and the agents should find it promptly; a round costs a standby
 * one refused hello per agent). A not_leader naming the leader
 * sends the next dial there, after a few milliseconds of jitter so that
 * a thousand agents do not arrive in the same instant. Pure: no I/O, no
 * clock; the caller passes its random draws. */
#ifndef GANTRY_MASTERS_H
#define GANTRY_MASTERS_H

#include <stddef.h>
#include <sys/socket.h>

#define MASTERS_MAX 16
#define MASTERS_GROUP_MAX_WAIT 0.5    /* longest wait between rounds in a group */
#define MASTERS_REDIRECT_JITTER 0.05  /* a redirect is followed within this */

struct masters_addr {
    char text[256];               /* host:port as given */
    struct sockaddr_storage sa;
    socklen_t len;
};

struct masters {
    int n;
    struct masters_addr addr[MASTERS_MAX];
};

struct masters_cursor {
    int at;                       /* the list address dialled last, or to dial */
    int tried;                    /* list addresses tried in this round */
    int redirected;               /* the next dial goes to `redirect` */
    int decided;                  /* a not_leader set the next wait already */
    double decided_wait;
    int ever_redirected;          /* a standby has answered us: we are in a group */
    struct masters_addr redirect;
    double backoff, min, max;
};

int masters_parse(struct masters *m, const char *list, char *err, size_t errlen);
int masters_resolve(const char *text, struct masters_addr *out, char *err, size_t errlen);
void masters_cursor_init(struct masters_cursor *c, double min, double max);
const struct masters_addr *masters_pick(const struct masters *m, const struct masters_cursor *c);
double masters_failed(const struct masters *m, struct masters_cursor *c, double draw);
int masters_redirect(const struct masters *m, struct masters_cursor *c, const char *leader,
                     double draw);
int masters_on_error(const struct masters *m, struct masters_cursor *c, const char *code,
                     const char *leader, double draw);
void masters_joined(struct masters_cursor *c);

#endif
