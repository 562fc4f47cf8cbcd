/* gantryd's side of agent connections: NDJSON framing on the reactor,
 * hello/heartbeat/results into the cluster, assignments and cancels out to
 * the agents (as a cluster observer). */
#ifndef GANTRY_SESSION_H
#define GANTRY_SESSION_H

#include "core/cluster.h"
#include "reactor/reactor.h"

struct session_config {
    const char *token;            /* join token; "" accepts any agent */
    size_t max_frame;
    double hello_timeout;
    double heartbeat_timeout;     /* to suggest a heartbeat interval */
    long max_connections;
    const char *master_id;
    /* Calls fn(ud) once what was written so far is durable (Redis has it);
     * assignments and result acknowledgements wait for it, so a crash never
     * leaves an agent holding what the store does not know. NULL: at once. */
    int (*after_durable)(void (*fn)(void *ud), void *ud);
};

struct session_stats {
    unsigned long frames, heartbeats, errors;
    unsigned long errors_by_code[16];
};

int session_server_start(struct listener *ls, struct cluster *cl,
                         const struct session_config *cfg);
void session_server_configure(const struct session_config *cfg);
void session_server_stop(void);
void session_stats(struct session_stats *st);
const char *session_error_code_name(int i);

#endif
