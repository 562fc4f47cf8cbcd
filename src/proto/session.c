#include "session.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "msg.h"
#include "reactor/tls.h"

struct session {
    struct conn *c;
    struct worker *w;             /* after a welcome */
    size_t scanned;               /* bytes of a partial frame already searched */
    struct buf held;              /* ids of stored assignments not sent yet */
};

/* Unread output past which stored assignments wait (in the session, not
 * the output) until the agent has read: a burst of thousands of tasks for
 * one agent goes at the speed it reads. */
#define ASSIGN_HOLD (512u * 1024)

static struct {
    struct listener *ls;
    struct cluster *cl;
    struct session_config cfg;
    char token[256];
    char master_id[128];
    struct timeout_list hello_tmo;
    struct session_stats st;
    double logged[256];           /* per peer hash: when last logged */
} S;

static const char *const error_codes[] = {
    "BAD_FRAME", "FRAME_TOO_LARGE", "BAD_TOKEN", "UNKNOWN_WORKER",
    "DUPLICATE_WORKER", "UNSUPPORTED_VERSION", "UNKNOWN_TYPE", "NOT_JOINED",
    "BAD_MESSAGE", "HELLO_TIMEOUT", "WORKER_REMOVED", "ALREADY_JOINED", "NOT_YOUR_TASK",
    "REPLACED", "SLOW_READER", "not_leader", "CERT_MISMATCH", NULL,
};

/* Returns the name of error counter i, or NULL past the last. */
const char *session_error_code_name(int i)
{
    return i >= 0 && i < (int)(sizeof(error_codes) / sizeof(error_codes[0])) ? error_codes[i] : NULL;
}

/* Copies the counters for /metrics. */
void session_stats(struct session_stats *st)
{
    *st = S.st;
}

static void count_error(const char *code)
{
    S.st.errors++;
    for (int i = 0; error_codes[i]; i++)
        if (strcmp(error_codes[i], code) == 0)
            S.st.errors_by_code[i]++;
}

/* Logs a protocol error at most once a minute per peer address, so a
 * flood of garbage cannot flood the log. */
static void log_once(struct conn *c, const char *code, const char *msg)
{
    const char *colon = strrchr(c->peer, ':');
    size_t n = colon ? (size_t)(colon - c->peer) : strlen(c->peer);
    unsigned h = (unsigned)(dict_hash(c->peer, n) & 255);
    double now = ev_now(reactor_loop());
    if (now - S.logged[h] < 60)
        return;
    S.logged[h] = now;
    log_warn("agent %s: %s: %s (further errors from this peer are counted, "
             "not logged, for a minute)", c->peer, code, msg);
}

/* Sends an error frame and closes after it is written. */
static void fail(struct session *s, const char *code, const char *msg)
{
    count_error(code);
    log_once(s->c, code, msg);
    msg_error_frame(conn_out(s->c), code, msg);
    conn_flush_soon(s->c);
    conn_linger_close(s->c);
}

static void send_frame(struct conn *c, json_t *j)
{
    if (conn_closing(c)) {
        json_decref(j);
        return;
    }
    if (msg_frame(conn_out(c), j) < 0) {
        conn_close(c);
        return;
    }
    if (conn_output_over(c, S.cfg.max_output)) {
        int own = conn_pending_bytes(c) > S.cfg.max_output;
        log_warn("agent %s: %s; closing", c->peer,
                 own ? "not reading what we send (agents.max_output)"
                     : "output of all connections past http.output_budget");
        reactor_count_cut(!own);
        count_error("SLOW_READER");
        conn_close(c);
        return;
    }
    conn_flush_soon(c);
}

static int token_ok(const char *tok)
{
    size_t want = strlen(S.token), got = strlen(tok);
    if (want == 0)
        return 1;
    return want == got && CRYPTO_memcmp(S.token, tok, want) == 0;
}

static double suggested_interval(void)
{
    double hb = S.cfg.heartbeat_timeout / 3;
    return hb < 5 ? hb : 5;
}

/* This gantryd does not take agents (a standby, or a leader still
 * rebuilding its state): the agent is told where to go, and closed. */
static void not_leader(struct session *s, const char *leader)
{
    count_error("not_leader");
    json_t *j = json_pack("{s:s,s:s,s:s}", "type", "error", "code", "not_leader", "message",
                          leader[0] ? "this gantryd does not lead; connect to the leader named"
                                    : "no gantryd leads right now; try again shortly");
    if (j && leader[0])
        json_object_set_new(j, "leader", json_string(leader));
    send_frame(s->c, j);
    conn_linger_close(s->c);
}

static void on_hello(struct session *s, json_t *j)
{
    struct hello h;
    const char *tok;
    struct msg_error err;
    const char *elsewhere = S.cfg.redirect ? S.cfg.redirect() : NULL;
    if (elsewhere) {
        not_leader(s, elsewhere);
        return;
    }
    if (s->w) {
        fail(s, "ALREADY_JOINED", "hello was sent already on this connection");
        return;
    }
    if (msg_decode_hello(j, &h, &tok, &err) < 0) {
        fail(s, err.code, err.message);
        return;
    }
    if (!token_ok(tok)) {
        fail(s, "BAD_TOKEN", "the join token is not valid");
        return;
    }
    if (S.cfg.tls_bind_id && !conn_tls_peer_is(s->c, h.worker_id)) {
        fail(s, "CERT_MISMATCH", "the client certificate does not name this worker_id "
                                 "(agents.tls_bind_id)");
        return;
    }
    struct worker *old = cluster_worker(S.cl, h.worker_id);
    if (old && old->session && old->state != WS_ACTIVE) {
        /* The old connection went silent: the agent came back on a new one.
         * The old one is unbound and closed first, so nothing it still
         * sends can speak for the worker. */
        struct conn *oc = conn_find(old->session);
        if (oc && oc->ud) {
            struct session *os = oc->ud;
            os->w = NULL;
            fail(os, "REPLACED", "this worker id joined again on another connection");
        }
        cluster_disconnect(S.cl, old, ev_now(reactor_loop()));
    }
    json_t *adopt, *cancel;
    double now = ev_now(reactor_loop());
    enum cluster_hello_error rc = cluster_hello(S.cl, &h, s->c->id, s->c->peer, now,
                                                &adopt, &cancel);
    if (rc == HELLO_DUPLICATE) {
        fail(s, "DUPLICATE_WORKER", "a live worker already has this id");
        return;
    }
    if (rc == HELLO_UNREGISTERED) {
        fail(s, "UNKNOWN_WORKER", "this worker id is not registered");
        return;
    }
    if (rc != HELLO_OK) {
        fail(s, "BAD_MESSAGE", "out of memory");
        return;
    }
    s->w = cluster_worker(S.cl, h.worker_id);
    conn_set_timeout(s->c, NULL);
    send_frame(s->c, json_pack("{s:s,s:i,s:s,s:s,s:f,s:o,s:o,s:I,s:I}", "type", "welcome",
                               "version", PROTO_VERSION, "master_id", S.master_id,
                               "worker_id", s->w->id, "heartbeat_interval",
                               suggested_interval(), "adopted", adopt, "cancel", cancel,
                               "log_rate", (json_int_t)S.cl->cfg.log_rate, "log_max",
                               (json_int_t)S.cl->cfg.log_max));
    log_info("worker %s joined from %s (%.1f cores, %lld MiB, %d GPUs)", s->w->id,
             s->c->peer, h.cpu, (long long)h.memory_mib, h.ngpus);
}

static struct heartbeat hb;

static void apply_heartbeat(struct session *s, int ack)
{
    S.st.heartbeats++;
    cluster_heartbeat(S.cl, s->w, &hb, ev_now(reactor_loop()));
    if (ack) {
        char line[64];
        int n = snprintf(line, sizeof(line), "{\"type\":\"heartbeat_ack\",\"seq\":%llu}\n",
                         (unsigned long long)hb.seq);
        conn_write(s->c, line, (size_t)n);
    }
}

static ssize_t session_on_data(struct conn *c, const char *p, size_t n);
static struct conn *worker_conn(const struct worker *w);

/* Sends the assignment of task_id to its worker on c if it still holds
 * it. */
static void send_assign(struct conn *c, const char *task_id)
{
    struct session *s = c->ud;
    struct task *t = cluster_task(S.cl, task_id);
    if (t && t->status == TS_ASSIGNED && s && s->w && t->worker == s->w)
        send_frame(c, json_pack("{s:s,s:o}", "type", "assign", "task", task_to_json(t)));
}

/* Redis has the assignment: send it (if the task is still assigned and
 * its worker connected), or hold it while the agent is behind; refused by
 * Redis: the task goes back. */
static void assign_stored(int ok, uint64_t a, uint64_t b, const char *task_id)
{
    (void)a;
    (void)b;
    struct task *t = cluster_task(S.cl, task_id);
    struct conn *c;
    if (!t || t->status != TS_ASSIGNED)
        return;
    if (ok <= 0) {
        cluster_requeue(S.cl, t, "store_error", ev_now(reactor_loop()));
        return;
    }
    if (!(c = worker_conn(t->worker)) || !c->ud)
        return;
    struct session *s = c->ud;
    if (s->held.len || conn_pending_bytes(c) > ASSIGN_HOLD) {
        if (buf_append(&s->held, task_id, strlen(task_id) + 1) < 0)
            conn_close(c);        /* its tasks go back when it is lost */
        conn_want_drain(c);
        return;
    }
    send_assign(c, task_id);
}

/* The agent read what we sent: assignments that waited go now, as far as
 * they fit. */
static void send_held(struct conn *c, struct session *s)
{
    size_t off = 0;
    while (off < s->held.len && conn_pending_bytes(c) <= ASSIGN_HOLD && !conn_closing(c)) {
        const char *id = buf_start(&s->held) + off;
        off += strlen(id) + 1;
        send_assign(c, id);
    }
    buf_consume(&s->held, off);
    if (s->held.len)
        conn_want_drain(c);
    else
        buf_free(&s->held);
}

/* Redis has the result: the agent may forget it. */
static void result_stored(int ok, uint64_t conn_id, uint64_t b, const char *task_id)
{
    (void)b;
    struct conn *c = conn_find(conn_id);
    if (ok > 0 && c && c->proto->on_data == session_on_data)
        send_frame(c, json_pack("{s:s,s:s}", "type", "result_ack", "task_id", task_id));
}

/* Sends fn's frame once the writes queued since `before` are in Redis
 * (across reconnects: agents wait). */
static void after_writes(uint64_t before, void (*fn)(int, uint64_t, uint64_t, const char *),
                         uint64_t a, const char *task_id)
{
    uint64_t now = S.cfg.write_seq ? S.cfg.write_seq() : 0;
    if (!S.cfg.when_stored || S.cfg.when_stored(before + 1, now, 1, fn, a, 0, task_id) < 0)
        fn(1, a, 0, task_id);
}

/* An agent spoke of a task it does not hold: say so, change nothing. */
static void not_held(struct session *s, const char *id, const char *what)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "%s: task %s is not assigned to worker %s in this attempt",
             what, id, s->w->id);
    count_error("NOT_YOUR_TASK");
    log_once(s->c, "NOT_YOUR_TASK", msg);
    send_frame(s->c, json_pack("{s:s,s:s,s:s,s:s}", "type", "error", "code", "NOT_YOUR_TASK",
                               "task_id", id, "message", msg));
}

static void on_heartbeat(struct session *s, json_t *j)
{
    struct msg_error err;
    int ack;
    if (msg_decode_heartbeat(j, &hb, &ack, &err) < 0) {
        fail(s, err.code, err.message);
        return;
    }
    apply_heartbeat(s, ack);
}

/* The hot path: a well-formed heartbeat from a joined agent is decoded
 * without a JSON tree. Returns 1 when it handled the frame. */
static int fast_heartbeat(struct session *s, const char *p, size_t n)
{
    static const char prefix[] = "{\"type\":\"heartbeat\"";
    static struct buf scratch;
    int ack;
    if (!s->w || n < sizeof(prefix) - 1 || memcmp(p, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    buf_reset(&scratch);
    if (buf_append(&scratch, p, n) < 0 || msg_fast_heartbeat(buf_start(&scratch), n, &hb, &ack) < 0)
        return 0;
    apply_heartbeat(s, ack);
    return 1;
}

static void on_finished(struct session *s, json_t *j)
{
    const char *id, *reason;
    enum task_status st;
    int has_exit, code;
    struct msg_error err;
    if (msg_decode_finished(j, &id, &st, &has_exit, &code, &reason, &err) < 0) {
        fail(s, err.code, err.message);
        return;
    }
    uint64_t before = S.cfg.write_seq ? S.cfg.write_seq() : 0;
    json_t *cut = json_object_get(j, "log_dropped_bytes");
    if (json_is_integer(cut) && json_integer_value(cut) > 0)
        cluster_task_log_cut(S.cl, s->w, id, msg_attempt(j), (uint64_t)json_integer_value(cut),
                             ev_now(reactor_loop()));
    int rc = cluster_task_finished(S.cl, s->w, id, msg_attempt(j), st, has_exit, code, reason,
                                   ev_now(reactor_loop()));
    if (rc == TASK_NOT_HELD)
        not_held(s, id, "task_finished");
    /* Acknowledged once stored (applied now or before), or at once when it
     * changed nothing: then the agent may forget it. */
    if (rc == TASK_APPLIED || rc == TASK_IGNORED)
        after_writes(rc == TASK_APPLIED ? before : 0, result_stored, s->c->id, id);
    else
        result_stored(1, s->c->id, 0, id);
}

static void on_started(struct session *s, json_t *j)
{
    struct msg_error err;
    const char *id = msg_task_id(j, &err);
    if (!id) {
        fail(s, err.code, err.message);
        return;
    }
    int rc = cluster_task_started(S.cl, s->w, id, msg_attempt(j), ev_now(reactor_loop()));
    if (rc == TASK_NOT_HELD || rc == TASK_UNKNOWN || rc == TASK_IGNORED) {
        not_held(s, id, "task_started");
        send_frame(s->c, json_pack("{s:s,s:s,s:f}", "type", "cancel", "task_id", id, "grace", 0.0));
    }
}

static void on_log(struct session *s, json_t *j)
{
    struct msg_error err;
    const char *id, *stream, *data;
    size_t len;
    if (msg_decode_log(j, &id, &stream, &data, &len, &err) < 0) {
        fail(s, err.code, err.message);
        return;
    }
    int rc = cluster_task_log(S.cl, s->w, id, msg_attempt(j), stream, data, len,
                              ev_now(reactor_loop()));
    if (rc == TASK_NOT_HELD)
        not_held(s, id, "log");
}

static void on_joined_frame(struct session *s, enum msg_type type, json_t *j)
{
    switch (type) {
    case MSG_HEARTBEAT:
        on_heartbeat(s, j);
        break;
    case MSG_TASK_STARTED:
        on_started(s, j);
        break;
    case MSG_LOG:
        on_log(s, j);
        break;
    case MSG_TASK_FINISHED:
        on_finished(s, j);
        break;
    default:
        fail(s, "UNKNOWN_TYPE", "this frame type is not for the master");
    }
}

/* The agent is leaving; tasks it says it stopped go back to the queue now
 * rather than after lost_after. */
static void on_bye(struct session *s, json_t *j)
{
    size_t i;
    json_t *id;
    if (s->w) {
        json_array_foreach(json_object_get(j, "stopped"), i, id)
            if (json_is_string(id))
                cluster_task_stopped(S.cl, s->w, json_string_value(id), ev_now(reactor_loop()));
    }
    conn_close_after_flush(s->c);
}

static void on_frame(struct session *s, const char *p, size_t n)
{
    struct msg_error err;
    S.st.frames++;
    if (fast_heartbeat(s, p, n))
        return;
    json_t *j = msg_parse(p, n, &err);
    if (!j) {
        fail(s, err.code, err.message);
        return;
    }
    enum msg_type type = msg_type_of(j);
    if (type == MSG_HELLO) {
        on_hello(s, j);
    } else if (type == MSG_PING) {
        json_t *seq = json_object_get(j, "seq");
        send_frame(s->c, json_pack("{s:s,s:O?}", "type", "pong", "seq", seq));
    } else if (type == MSG_BYE) {
        on_bye(s, j);
    } else if (type == MSG_UNKNOWN) {
        fail(s, "UNKNOWN_TYPE", "unknown frame type");
    } else if (!s->w) {
        fail(s, "NOT_JOINED", "send hello first");
    } else {
        on_joined_frame(s, type, j);
    }
    json_decref(j);
}

/* Output an agent has not read yet past which its input waits: what it
 * sends that asks for an answer (ping, acked heartbeats) must not grow
 * what we hold for it. */
#define INPUT_HOLD (64u * 1024)
/* Frames one agent gets handled per loop turn; the rest waits for the
 * next, after everyone else (heartbeats come one at a time, so only a
 * flood meets this). */
#define FRAMES_PER_TURN 256

/* Splits input into lines; each complete line is one frame. */
static ssize_t session_on_data(struct conn *c, const char *p, size_t n)
{
    struct session *s = c->ud;
    size_t off = 0;
    int frames = 0;
    while (off < n && !conn_closing(c)) {
        if (conn_pending_bytes(c) > INPUT_HOLD) {
            conn_pause_read(c);
            conn_want_drain(c);
            return (ssize_t)off;
        }
        if (frames++ == FRAMES_PER_TURN) {
            conn_yield(c);
            return (ssize_t)off;
        }
        const char *nl = memchr(p + off + s->scanned, '\n', n - off - s->scanned);
        if (!nl) {
            s->scanned = n - off;
            if (s->scanned > S.cfg.max_frame)
                fail(s, "FRAME_TOO_LARGE", "frame longer than agents.max_frame");
            return (ssize_t)off;
        }
        size_t len = (size_t)(nl - (p + off));
        s->scanned = 0;
        if (len > S.cfg.max_frame) {
            fail(s, "FRAME_TOO_LARGE", "frame longer than agents.max_frame");
            return (ssize_t)n;
        }
        size_t flen = len && p[off + len - 1] == '\r' ? len - 1 : len;
        if (flen)
            on_frame(s, p + off, flen);
        off += len + 1;
    }
    return conn_closing(c) ? (ssize_t)n : (ssize_t)off;
}

static void session_on_overflow(struct conn *c)
{
    fail(c->ud, "FRAME_TOO_LARGE", "frame longer than agents.max_frame");
}

static void session_on_close(struct conn *c)
{
    struct session *s = c->ud;
    if (s && s->w && s->w->session == c->id) {
        log_info("worker %s disconnected", s->w->id);
        cluster_disconnect(S.cl, s->w, ev_now(reactor_loop()));
    }
    if (s)
        buf_free(&s->held);
    free(s);
    c->ud = NULL;
}

static void session_on_drain(struct conn *c)
{
    struct session *s = c->ud;
    conn_resume_read(c);
    if (s && s->held.len)
        send_held(c, s);
}

static const struct conn_proto session_proto = {
    .name = "agent",
    .on_data = session_on_data,
    .on_overflow = session_on_overflow,
    .on_close = session_on_close,
    .on_drain = session_on_drain,
};

static int session_on_accept(struct conn *c, void *ud)
{
    (void)ud;
    struct session *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    s->c = c;
    c->ud = s;
    conn_set_timeout(c, &S.hello_tmo);
    return 0;
}

static void hello_expired(struct idle_node *n, void *ud)
{
    struct conn *c = container_of(n, struct conn, idle);
    (void)ud;
    c->tmo = NULL;
    fail(c->ud, "HELLO_TIMEOUT", "no hello within agents.hello_timeout");
}

static struct conn *worker_conn(const struct worker *w)
{
    return w && w->session ? conn_find(w->session) : NULL;
}

/* Cluster events that agents must hear about. */
static void on_cluster_event(void *ud, const struct cluster_event *ev)
{
    (void)ud;
    struct conn *c;
    switch (ev->type) {
    case CE_TASK_ASSIGN:
        /* Its record (status assigned) was queued just before. */
        after_writes(0, assign_stored, 0, ev->t->id);
        break;
    case CE_TASK_DISOWN:
        if ((c = worker_conn(ev->w)))
            send_frame(c, json_pack("{s:s,s:s%,s:f,s:s}", "type", "cancel", "task_id",
                                    ev->data, ev->len, "grace", 0.0, "reason", "not_held"));
        break;
    case CE_TASK_CANCEL:
        if ((c = worker_conn(ev->w)))
            send_frame(c, json_pack("{s:s,s:s,s:f}", "type", "cancel", "task_id", ev->t->id,
                                    "grace", ev->grace));
        break;
    case CE_WORKER_REMOVED:
        if ((c = worker_conn(ev->w))) {
            struct session *s = c->ud;
            s->w = NULL;
            fail(s, "WORKER_REMOVED", "this worker was unregistered");
        }
        break;
    default:
        break;
    }
}

static const char agent_busy[] =
    "{\"type\":\"error\",\"code\":\"TOO_MANY_CONNECTIONS\",\"message\":"
    "\"agents.max_connections reached\"}\n";

/* Applies new settings (a reload). */
void session_server_configure(const struct session_config *cfg)
{
    S.cfg = *cfg;
    snprintf(S.token, sizeof(S.token), "%s", cfg->token ? cfg->token : "");
    snprintf(S.master_id, sizeof(S.master_id), "%s", cfg->master_id ? cfg->master_id : "gantryd");
    S.cfg.token = S.token;
    S.cfg.master_id = S.master_id;
    if (S.ls) {
        S.ls->in_max = cfg->max_frame + 1;
        S.ls->out_max = cfg->max_output;
        S.ls->max_conns = (unsigned long)cfg->max_connections;
        timeout_set(&S.hello_tmo, cfg->hello_timeout);
    }
}

/* Prepares to serve agents on an opened listener, feeding cl; the caller
 * starts the listener when the cluster is ready. Returns 0 or -1. */
int session_server_start(struct listener *ls, struct cluster *cl,
                         const struct session_config *cfg)
{
    S.ls = ls;
    S.cl = cl;
    timeout_init(&S.hello_tmo, reactor_loop(), cfg->hello_timeout, hello_expired, NULL);
    session_server_configure(cfg);
    ls->proto = &session_proto;
    ls->on_accept = session_on_accept;
    ls->reject_msg = agent_busy;
    ls->out_max = cfg->max_output;
    return cluster_observe(cl, on_cluster_event, NULL);
}

/* This gantryd stopped leading: every agent connection is told
 * not_leader (with the leader's address, "" when unknown) and closed; the
 * workers are forgotten here, not disconnected one by one (the cluster is
 * emptied next). */
void session_server_dismiss(const char *leader)
{
    if (!S.ls)
        return;
    struct list_node *pos, *tmp;
    list_for_each_safe(pos, tmp, &S.ls->conns) {
        struct conn *c = container_of(pos, struct conn, link);
        struct session *s = c->ud;
        if (!s || conn_closing(c))
            continue;
        s->w = NULL;
        not_leader(s, leader);
    }
}

/* Stops the hello timer (shutdown). */
void session_server_stop(void)
{
    timeout_stop(&S.hello_tmo);
}
