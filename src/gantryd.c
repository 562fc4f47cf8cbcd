/* gantryd: the control plane. Wiring only: configuration, listeners,
 * signals and the loop; the work happens in the modules. */
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cluster.h"
#include "core/config.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/sched.h"
#include "core/timefmt.h"
#include "gantryd_tls.h"
#include "http/api.h"
#include "http/http.h"
#include "http/pubsub.h"
#include "http/router.h"
#include "proto/session.h"
#include "reactor/driver.h"
#include "reactor/notify.h"
#include "reactor/reactor.h"
#include "store/store.h"

#define MAX_OVERRIDES 64
#define STOP_DEADLINE 5.0

struct override {
    const char *section, *key, *value;
};

static struct {
    struct config cfg;
    const char *config_path;
    struct override ov[MAX_OVERRIDES];
    int nov;
    struct ev_loop *loop;
    struct listener http_ls, agent_ls;
    struct http_server *http;
    struct cluster cl;
    char master_id[128];
    char http_addr[300], agents_addr[300]; /* as the others reach us */
    int ready;                    /* leading, and the state rebuilt */
    int released;                 /* stopping: the lease was given up */
    struct api_env api;
    ev_signal sigterm, sigint, sighup;
    ev_timer stop_timer;
    double stop_started;
    int stopping;
} G;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gantryd [options]\n"
            "  --config FILE            INI configuration (see conf/gantry.conf)\n"
            "  --http ADDR              HTTP API address (default 127.0.0.1:8080)\n"
            "  --listen ADDR            agent listener (default 0.0.0.0:7070)\n"
            "  --redis URL              redis://host:port[/db] or unix:/path\n"
            "  --heartbeat-timeout DUR  silence before a worker is inactive (30s)\n"
            "  --policy NAME            scheduling policy (%s)\n"
            "  --log-level LEVEL        error, warn, info, debug\n"
            "  --set SECTION.KEY=VALUE  any configuration key\n"
            "  --check-config           validate the configuration and exit\n"
            "  --help, --version\n"
            "Environment: GANTRY_<SECTION>_<KEY> overrides the file; flags override both.\n",
            sched_policy_list());
}

static int add_override(const char *section, const char *key, const char *value)
{
    if (G.nov == MAX_OVERRIDES) {
        fprintf(stderr, "gantryd: too many flags\n");
        return -1;
    }
    G.ov[G.nov++] = (struct override){section, key, value};
    return 0;
}

/* --set http.listen=127.0.0.1:9000 */
static int add_set(char *arg)
{
    char *eq = strchr(arg, '=');
    char *dot = strchr(arg, '.');
    if (!eq || !dot || dot > eq) {
        fprintf(stderr, "gantryd: --set %s: use SECTION.KEY=VALUE\n", arg);
        return -1;
    }
    *dot = '\0';
    *eq = '\0';
    return add_override(arg, dot + 1, eq + 1);
}

/* Parses the command line into G.ov. Returns 0, 1 when the program should
 * exit 0 (help, version), 2 on a usage error; sets *check for
 * --check-config. */
static int parse_args(int argc, char **argv, int *check)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"http", required_argument, NULL, 'H'},
        {"listen", required_argument, NULL, 'l'},
        {"redis", required_argument, NULL, 'r'},
        {"heartbeat-timeout", required_argument, NULL, 't'},
        {"policy", required_argument, NULL, 'p'},
        {"log-level", required_argument, NULL, 'L'},
        {"set", required_argument, NULL, 's'},
        {"check-config", no_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int ch, rc = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': G.config_path = optarg; break;
        case 'H': rc = add_override("http", "listen", optarg); break;
        case 'l': rc = add_override("agents", "listen", optarg); break;
        case 'r': rc = add_override("redis", "url", optarg); break;
        case 't': rc = add_override("agents", "heartbeat_timeout", optarg); break;
        case 'p': rc = add_override("scheduler", "policy", optarg); break;
        case 'L': rc = add_override("log", "level", optarg); break;
        case 's': rc = add_set(optarg); break;
        case 'C': *check = 1; break;
        case 'h': usage(stdout); return 1;
        case 'V': printf("gantryd %s\n", GANTRY_VERSION); return 1;
        case ':':
            fprintf(stderr, "gantryd: %s: missing value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "gantryd: %s: unknown option (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
        if (rc < 0)
            return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "gantryd: %s: unexpected argument (see --help)\n",
                argv[optind]);
        return 2;
    }
    return 0;
}

/* Builds a configuration from defaults, the file, the environment and the
 * flags, and checks the rules that join keys. Returns 0, or -1 with the
 * reason in err. */
static int load_config(struct config *cfg, char *err, size_t errlen)
{
    config_defaults(cfg);
    if (G.config_path && config_load_file(cfg, G.config_path, err, errlen) < 0)
        return -1;
    if (config_load_env(cfg, err, errlen) < 0)
        return -1;
    for (int i = 0; i < G.nov; i++) {
        char why[512];
        if (config_set(cfg, G.ov[i].section, G.ov[i].key, G.ov[i].value, why,
                       sizeof(why)) < 0) {
            snprintf(err, errlen, "flag: %s", why);
            return -1;
        }
    }
    if (!cfg->http_tokens[0] && !cfg->http_insecure && !parse_is_loopback(cfg->http_listen)) {
        snprintf(err, errlen,
                 "http.listen = '%s': no http.tokens are set, so the API may "
                 "only listen on loopback (set http.tokens, or http.insecure = true)",
                 cfg->http_listen);
        return -1;
    }
    return gantryd_tls_check(cfg, err, errlen);
}

static void ws_limits(const struct config *cfg, struct ws_limits *lim)
{
    lim->max_message = cfg->http_ws_max_message;
    lim->queue = cfg->http_ws_queue;
    lim->ping_interval = cfg->http_ws_ping_interval;
}

static void http_limits(const struct config *cfg, struct http_server_limits *lim)
{
    lim->max_header_size = cfg->http_max_header_size;
    lim->max_body_size = cfg->http_max_body_size;
    lim->header_timeout = cfg->http_header_timeout;
    lim->idle_timeout = cfg->http_idle_timeout;
    lim->max_connections = cfg->http_max_connections;
    lim->max_output = cfg->http_max_output;
    lim->cors_origins = cfg->http_cors_origins;
}

static void cluster_settings(const struct config *cfg, struct cluster_config *cc)
{
    cc->heartbeat_timeout = cfg->agents_heartbeat_timeout;
    cc->lost_after = cfg->agents_lost_after;
    cc->aging = cfg->scheduler_aging;
    cc->slice = cfg->scheduler_slice;
    cc->max_attempts = (int)cfg->tasks_max_attempts;
    cc->keep_finished = cfg->tasks_keep_finished;
    cc->log_buffer = cfg->tasks_log_buffer;
    cc->log_rate = cfg->tasks_log_rate;
    cc->log_max = cfg->tasks_log_max;
    cc->require_registration = cfg->agents_require_registration;
    cc->policy = sched_policy_find(cfg->scheduler_policy);
}

static void store_settings(const struct config *cfg, struct store_config *st)
{
    long maxlen;
    double age;
    config_parse_retention(cfg->redis_telemetry_retention, &age, &maxlen);
    st->url = cfg->redis_url;
    st->connect_timeout = cfg->redis_connect_timeout;
    st->reply_timeout = cfg->redis_reply_timeout;
    st->tasks_history = cfg->tasks_history;
    st->backlog = cfg->redis_backlog;
    st->max_inflight = cfg->redis_max_inflight;
    st->retention_age = age;
    st->retention_len = maxlen;
    st->logs_maxlen = cfg->redis_logs_maxlen;
    st->events_maxlen = cfg->redis_events_maxlen;
    st->consumer = "gantryd";
    st->min_replicas_ack = cfg->redis_min_replicas_ack;
    st->replica_timeout = cfg->redis_replica_timeout;
}

/* Where agents should go instead of here: NULL while this gantryd leads
 * and takes them; its own address while it leads but is still rebuilding
 * (they wait in the listen backlog until it is done); the leader's, or ""
 * when none is known, while it stands by. */
static const char *agents_redirect(void)
{
    static struct store_leader l;
    if (store_leading())
        return G.ready ? NULL : G.agents_addr;
    store_leader(&l);
    store_ha_look();              /* agents coming here: is the leader gone? */
    return l.known && !l.self ? l.listen : "";
}

static void session_settings(const struct config *cfg, struct session_config *sc)
{
    sc->write_seq = store_seq;
    sc->when_stored = store_when_stored;
    sc->token = cfg->agents_token;
    sc->max_frame = cfg->agents_max_frame;
    sc->max_output = cfg->agents_max_output;
    sc->hello_timeout = cfg->agents_hello_timeout;
    sc->heartbeat_timeout = cfg->agents_heartbeat_timeout;
    sc->max_connections = cfg->agents_max_connections;
    sc->master_id = G.master_id;
    sc->redirect = agents_redirect;
    sc->tls_bind_id = cfg->agents_tls_bind_id;
}

/* Applies what can change while running; names what needs a restart. */
static void apply_live(const struct config *old, const struct config *cfg)
{
    enum log_level lv;
    if (log_level_parse(cfg->log_level, &lv) == 0)
        log_set_level(lv);
    reactor_set_output_budget(cfg->http_output_budget);
    char err[256];
    if (auth_set_tokens(cfg->http_tokens, err, sizeof(err)) < 0)
        log_error("http.tokens: %s", err);
    if (G.http) {
        struct http_server_limits lim;
        struct ws_limits wl;
        http_limits(cfg, &lim);
        http_server_set_limits(G.http, &lim);
        ws_limits(cfg, &wl);
        ws_configure(&wl);
    }
    if (!old)
        return;
    struct cluster_config cc;
    struct session_config sc;
    cluster_settings(cfg, &cc);
    session_settings(cfg, &sc);
    struct store_config stc;
    store_settings(cfg, &stc);
    cluster_configure(&G.cl, &cc);
    session_server_configure(&sc);
    store_configure(&stc);
    driver_set_interval(cfg->scheduler_interval);
    G.api.cancel_grace = cfg->tasks_cancel_grace;
    G.api.max_attempts = (int)cfg->tasks_max_attempts;
    G.api.max_queued = cfg->tasks_max_queued;
    if (strcmp(old->scheduler_policy, cfg->scheduler_policy) != 0)
        log_info("scheduler policy is now %s", cfg->scheduler_policy);
    for (const struct config_key *k = config_keys; k->key; k++)
        if (!k->live && !config_equal_key(old, cfg, k))
            log_warn("%s.%s changed: it takes effect at the next restart",
                     k->section, k->key);
}

static void reload(void)
{
    struct config cfg;
    char err[768];
    if (load_config(&cfg, err, sizeof(err)) < 0) {
        log_error("reload refused, keeping the running configuration: %s", err);
        config_free(&cfg);
        return;
    }
    apply_live(&G.cfg, &cfg);
    gantryd_tls_reload(&cfg);
    config_free(&G.cfg);
    G.cfg = cfg;
    log_info("configuration reloaded (log level %s)", G.cfg.log_level);
}

static void stop_check(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    int done = G.http_ls.nconns == 0 && G.agent_ls.nconns == 0 && reactor_idle() &&
               (store_idle() || !store_up());
    if (done && !G.released) {    /* everything written: a standby may take over now */
        G.released = 1;
        if (store_ha_release())
            return;
    }
    if (done || ev_now(loop) - G.stop_started >= STOP_DEADLINE) {
        if (!done)
            log_warn("stop deadline reached; closing what is left");
        ev_timer_stop(loop, &G.stop_timer);
        ev_break(loop, EVBREAK_ALL);
    }
}

/* Graceful stop: stop accepting, let queued output drain, then leave the
 * loop (at most STOP_DEADLINE seconds later). */
static void begin_stop(const char *why)
{
    if (G.stopping)
        return;
    G.stopping = 1;
    log_info("%s: stopping", why);
    if (!store_leading())
        store_ha_stop();          /* a stopping standby takes no lease */
    notify_stopping();
    listener_close(&G.http_ls);
    listener_close_all(&G.http_ls, 1);
    listener_close(&G.agent_ls);
    listener_close_all(&G.agent_ls, 1);
    G.stop_started = ev_now(G.loop);
    ev_timer_init(&G.stop_timer, stop_check, 0.01, 0.01);
    ev_timer_start(G.loop, &G.stop_timer);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    if (w->signum == SIGHUP)
        reload();
    else
        begin_stop(w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void signals_start(void)
{
    signal(SIGPIPE, SIG_IGN);
    ev_signal_init(&G.sigterm, on_signal, SIGTERM);
    ev_signal_init(&G.sigint, on_signal, SIGINT);
    ev_signal_init(&G.sighup, on_signal, SIGHUP);
    ev_signal_start(G.loop, &G.sigterm);
    ev_signal_start(G.loop, &G.sigint);
    ev_signal_start(G.loop, &G.sighup);
    /* Signal watchers alone must not keep the loop running. */
    ev_unref(G.loop);
    ev_unref(G.loop);
    ev_unref(G.loop);
}

static void signals_stop(void)
{
    ev_ref(G.loop);
    ev_ref(G.loop);
    ev_ref(G.loop);
    ev_signal_stop(G.loop, &G.sigterm);
    ev_signal_stop(G.loop, &G.sigint);
    ev_signal_stop(G.loop, &G.sighup);
}

static int start_http(char *err, size_t errlen)
{
    if (listener_open(&G.http_ls, "http", G.cfg.http_listen, err, errlen) < 0)
        return -1;
    struct http_server_limits lim;
    http_limits(&G.cfg, &lim);
    G.http = http_server_new(&G.http_ls, &lim);
    if (!G.http) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    G.api.started = time_wall();
    G.api.http = G.http;
    G.api.http_ls = &G.http_ls;
    G.api.agent_ls = &G.agent_ls;
    G.api.cl = &G.cl;
    G.api.cancel_grace = G.cfg.tasks_cancel_grace;
    G.api.max_attempts = (int)G.cfg.tasks_max_attempts;
    G.api.max_queued = G.cfg.tasks_max_queued;
    G.api.kick_scheduler = driver_kick;
    snprintf(G.api.cluster_name, sizeof(G.api.cluster_name), "%s", G.cfg.cluster_name);
    api_init(&G.api);
    struct ws_limits wl;
    ws_limits(&G.cfg, &wl);
    if (pubsub_init(&G.cl, &wl) < 0 || api_register() < 0 || pubsub_register() < 0) {
        snprintf(err, errlen, "too many routes");
        return -1;
    }
    return 0;
}

static int start_agents(char *err, size_t errlen)
{
    struct cluster_config cc;
    struct session_config sc;
    char host[64] = "gantryd";
    gethostname(host, sizeof(host) - 1);
    snprintf(G.master_id, sizeof(G.master_id), "%s:%d", host, (int)getpid());
    cluster_settings(&G.cfg, &cc);
    session_settings(&G.cfg, &sc);
    if (cluster_init(&G.cl, &cc) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (listener_open(&G.agent_ls, "agents", G.cfg.agents_listen, err, errlen) < 0)
        return -1;
    if (session_server_start(&G.agent_ls, &G.cl, &sc) < 0 ||
        driver_start(G.loop, &G.cl, G.cfg.scheduler_interval) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Agents are let in, and the scheduler runs, only once the store has
 * rebuilt the cluster: hellos then meet the tasks they hold, and nothing is
 * placed twice. Until then gantryd serves reads and answers 503 to
 * changes. */
static void on_recovered(int workers, int tasks)
{
    (void)workers;
    (void)tasks;
    G.ready = 1;
    if (!G.stopping && G.agent_ls.fd >= 0 && !ev_is_active(&G.agent_ls.io))
        listener_start(&G.agent_ls);
    driver_hold(0);
    driver_kick();
}

/* This gantryd took the lease: it starts from nothing and rebuilds from
 * Redis; agents wait in the listen backlog until it is done. */
static void on_lead(long long epoch)
{
    (void)epoch;
    G.ready = 0;
    driver_hold(1);
    listener_stop(&G.agent_ls);
    if (cluster_reset(&G.cl) < 0)
        log_error("out of memory emptying the cluster");
    notify_status("leading: rebuilding the state from redis");
}

/* It lost the lease: no more scheduling, its agents go elsewhere, and
 * what it held is dropped (a standby holds nothing; the next lease
 * rebuilds from Redis). */
static void on_step_down(const char *why)
{
    (void)why;
    G.ready = 0;
    driver_hold(1);
    session_server_dismiss("");
    if (cluster_reset(&G.cl) < 0)
        log_error("out of memory emptying the cluster");
    if (!G.stopping && G.agent_ls.fd >= 0 && !ev_is_active(&G.agent_ls.io))
        listener_start(&G.agent_ls);
    notify_status("standby");
}

/* addr as another machine reaches it: a wildcard host (0.0.0.0, ::, none)
 * is this machine's name. */
static void advertised(const char *addr, const char *scheme, char *out, size_t outlen)
{
    struct hostport hp;
    char err[64], host[256] = "localhost";
    if (parse_hostport(addr, &hp, err, sizeof(err)) < 0) {
        snprintf(out, outlen, "%s%s", scheme, addr);
        return;
    }
    if (hp.host[0] && strcmp(hp.host, "0.0.0.0") && strcmp(hp.host, "::"))
        snprintf(host, sizeof(host), strchr(hp.host, ':') ? "[%s]" : "%s", hp.host);
    else
        gethostname(host, sizeof(host) - 1);
    snprintf(out, outlen, "%s%s:%d", scheme, host, hp.port);
}

/* Joins the group of gantryd on this Redis (SPEC 1, "High availability"):
 * standby until the lease is ours. */
static int start_ha(char *err, size_t errlen)
{
    const char *http = G.cfg.ha_advertise_http, *agents = G.cfg.ha_advertise_agents;
    /* A standby's 307 sends clients here: https when the API speaks it. */
    const char *scheme = G.http_ls.tls ? "https://" : "http://";
    if (http[0])
        snprintf(G.http_addr, sizeof(G.http_addr), "%s%s", strstr(http, "://") ? "" : scheme,
                 http);
    else
        advertised(G.http_ls.addr, scheme, G.http_addr, sizeof(G.http_addr));
    if (agents[0])
        snprintf(G.agents_addr, sizeof(G.agents_addr), "%s", agents);
    else
        advertised(G.agent_ls.addr, "", G.agents_addr, sizeof(G.agents_addr));
    struct store_ha_config ha = {G.cfg.ha_lease, G.master_id, G.http_addr, G.agents_addr,
                                 on_lead, on_step_down};
    if (store_ha_start(G.loop, &ha) < 0) {
        snprintf(err, errlen, "ha.lease must be positive");
        return -1;
    }
    listener_start(&G.agent_ls);  /* a standby answers hellos with not_leader */
    return 0;
}

static int start_store(char *err, size_t errlen)
{
    struct store_config stc;
    store_settings(&G.cfg, &stc);
    if (store_start(G.loop, &stc, &G.cl, err, errlen) < 0)
        return -1;
    store_recover_init(&G.cl, &stc, on_recovered);
    driver_hold(1);
    return 0;
}

static void shutdown_all(void)
{
    signals_stop();
    notify_watchdog_stop(G.loop);
    driver_stop();
    session_server_stop();
    store_ha_stop();
    store_recover_stop();
    listener_close_all(&G.http_ls, 0);
    listener_close_all(&G.agent_ls, 0);
    reactor_shutdown();
    pubsub_shutdown();
    store_stop();
    cluster_free(&G.cl);
    http_server_free(G.http);
    router_reset();
    api_free();
    auth_free();
    config_free(&G.cfg);
}

int main(int argc, char **argv)
{
    int check = 0;
    log_init("gantryd");
    int rc = parse_args(argc, argv, &check);
    if (rc)
        return rc == 1 ? 0 : 2;
    char err[768];
    if (load_config(&G.cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "gantryd: config: %s\n", err);
        config_free(&G.cfg);
        return 2;
    }
    if (check) {
        printf("gantryd: configuration OK%s%s\n", G.config_path ? ": " : "",
               G.config_path ? G.config_path : "");
        config_free(&G.cfg);
        return 0;
    }
    apply_live(NULL, &G.cfg);
    G.loop = EV_DEFAULT;
    if (reactor_init(G.loop) < 0 || start_agents(err, sizeof(err)) < 0 ||
        start_store(err, sizeof(err)) < 0 || start_http(err, sizeof(err)) < 0 ||
        gantryd_tls_start(&G.cfg, &G.http_ls, &G.agent_ls, err, sizeof(err)) < 0 ||
        start_ha(err, sizeof(err)) < 0) {
        log_error("%s", err);
        return 1;
    }
    if (!G.cfg.http_tokens[0])
        log_warn("no http.tokens set: the API is open to anyone on %s",
                 G.http_ls.addr);
    signals_start();
    notify_watchdog_start(G.loop);
    if (!G.cfg.agents_token[0])
        log_warn("no agents.token set: any agent that reaches %s may join", G.agent_ls.addr);
    log_info("gantryd %s: HTTP on %s://%s, agents on %s%s (policy %s)", GANTRY_VERSION,
             G.http_ls.tls ? "https" : "http", G.http_ls.addr, G.agent_ls.addr,
             G.agent_ls.tls ? " (TLS)" : "", G.cfg.scheduler_policy);
    notify_ready("serving");
    ev_run(G.loop, 0);
    shutdown_all();
    log_info("stopped");
    return 0;
}
