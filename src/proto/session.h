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
    size_t max_output;            /* unread output past this closes the agent */
    double hello_timeout;
    double heartbeat_timeout;     /* to suggest a heartbeat interval */
    long max_connections;
    const char *master_id;
    /* hello's worker_id must be named by the agent's verified client
     * certificate (agents.tls_bind_id). */
    int tls_bind_id;
    /* The store's write numbers, and a call once writes from..to are in
     * Redis (the store's store_seq and store_when_stored, handed in by the
     * wiring): assignments and result acknowledgements wait for their own
     * writes, so a crash never leaves an agent holding what the store does
     * not know. */
    uint64_t (*write_seq)(void);
    int (*when_stored)(uint64_t from, uint64_t to, int keep,
                       void (*fn)(int ok, uint64_t a, uint64_t b, const char *tag),
                       uint64_t a, uint64_t b, const char *tag);
    /* NULL while this gantryd leads and takes agents; otherwise where they
     * should go instead ("" when no leader is known), said in not_leader. */
    const char *(*redirect)(void);
};

struct session_stats {
    unsigned long frames, heartbeats, errors;
    unsigned long errors_by_code[24];
};

int session_server_start(struct listener *ls, struct cluster *cl,
                         const struct session_config *cfg);
void session_server_configure(const struct session_config *cfg);
void session_server_stop(void);
void session_server_dismiss(const char *leader);
void session_stats(struct session_stats *st);
const char *session_error_code_name(int i);

#endif
