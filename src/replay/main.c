/* gantry-replay: replays a DCGM exporter CSV as live agents, one agent
 * connection per host, each GPU's samples in heartbeats, exactly as the
 * file has them. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/parse.h"
#include "core/timefmt.h"
#include "proto/client.h"
#include "replay/data.h"
#include "reactor/reactor.h"
#include "replay/run.h"

#define MAX_REPORTS 10000

static struct replay_settings S;
static unsigned long reports;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gantry-replay FILE [options]\n"
            "Replays a DCGM exporter CSV as live agents: one connection per Hostname.\n"
            "  --master ADDR,...    gantryd's agent address (default 127.0.0.1:7070; env GANTRY_MASTER);\n"
            "                       a list names a group of gantryd, tried in turn\n"
            "  --token TOKEN        join token (env GANTRY_TOKEN)\n"
            "  --interval DUR       one file time per interval (default 5s)\n"
            "  --speed X            divides the interval (default 1)\n"
            "  --loop               replay forever\n"
            "  --keep-timestamps    send the file's own times (shifted forward each pass)\n"
            "                       instead of the time of sending\n"
            "  --hosts N            replay only the first N hosts of the file\n"
            "  --log-level LEVEL    error, warn, info, debug\n"
            ND_CLIENT_TLS_USAGE
            "  --help, --version\n"
            "Exit status: 0 when samples were sent, 1 when none, 2 on a usage error.\n");
}

static int bad(const char *key, const char *value, const char *why)
{
    fprintf(stderr, "gantry-replay: %s = '%s': %s\n", key, value, why);
    return 2;
}

static int set_option(int ch, const char *v)
{
    char why[128];
    enum log_level lv;
    long n;
    if (nd_client_tls_option(ch, v))
        return 0;
    switch (ch) {
    case 'm': {
        struct masters m;
        if (masters_parse(&m, v, why, sizeof(why)) < 0)
            return bad("--master", v, why);
        snprintf(S.master, sizeof(S.master), "%s", v);
        return 0;
    }
    case 't':
        if (strlen(v) >= sizeof(S.token))
            return bad("--token", "...", "longer than 255 bytes");
        snprintf(S.token, sizeof(S.token), "%s", v);
        return 0;
    case 'i':
        if (parse_duration(v, &S.interval, why, sizeof(why)) < 0 || S.interval < 0.01)
            return bad("--interval", v, "not a duration of at least 10ms");
        return 0;
    case 's':
        if (parse_double(v, &S.speed, why, sizeof(why)) < 0 || !(S.speed > 0) || S.speed > 1e6)
            return bad("--speed", v, "not a number above 0 and at most 1000000");
        return 0;
    case 'n':
        if (parse_long(v, &n, why, sizeof(why)) < 0 || n < 1 || n > 1000000)
            return bad("--hosts", v, "not a count from 1 to 1000000");
        S.max_hosts = (int)n;
        return 0;
    case 'l': S.loop = 1; return 0;
    case 'k': S.keep_timestamps = 1; return 0;
    case 'L':
        if (log_level_parse(v, &lv) < 0)
            return bad("--log-level", v, "use error, warn, info or debug");
        log_set_level(lv);
        return 0;
    }
    return 2;
}

static int parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        {"master", required_argument, NULL, 'm'}, {"token", required_argument, NULL, 't'},
        {"interval", required_argument, NULL, 'i'}, {"speed", required_argument, NULL, 's'},
        {"hosts", required_argument, NULL, 'n'}, {"loop", no_argument, NULL, 'l'},
        {"keep-timestamps", no_argument, NULL, 'k'}, ND_CLIENT_TLS_OPTS,
        {"log-level", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
    int ch, rc;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'h' || ch == 'V') {
            if (ch == 'h')
                usage(stdout);
            else
                printf("gantry-replay %s\n", GANTRY_VERSION);
            return -1;
        }
        if (ch == ':' || ch == '?') {
            fprintf(stderr, "gantry-replay: %s: %s (see --help)\n", argv[optind - 1],
                    ch == ':' ? "missing value" : "unknown option");
            return 2;
        }
        if ((rc = set_option(ch, optarg)))
            return rc;
    }
    if (optind >= argc) {
        fprintf(stderr, "gantry-replay: FILE: missing: the DCGM CSV to replay (see --help)\n");
        return 2;
    }
    if (optind + 1 < argc) {
        fprintf(stderr, "gantry-replay: %s: unexpected argument (one FILE only)\n", argv[optind + 1]);
        return 2;
    }
    S.file = argv[optind];
    return 0;
}

static void defaults(void)
{
    const char *env;
    snprintf(S.master, sizeof(S.master), "%s",
             (env = getenv("GANTRY_MASTER")) && *env ? env : "127.0.0.1:7070");
    snprintf(S.token, sizeof(S.token), "%s", (env = getenv("GANTRY_TOKEN")) ? env : "");
    S.interval = 5;
    S.speed = 1;
}

static void report_row(void *ud, long line, const char *reason)
{
    if (reports++ < MAX_REPORTS)
        fprintf(stderr, "%s:%ld: %s\n", S.file, line, reason);
    else if (reports == MAX_REPORTS + 1)
        fprintf(stderr, "%s: more bad rows; not shown\n", S.file);
}

static void describe(const struct replay_data *d)
{
    char first[40] = "-", last[40] = "-";
    if (d->ntimes) {
        time_format((double)d->times[0] / 1000, first, sizeof(first));
        time_format((double)d->times[d->ntimes - 1] / 1000, last, sizeof(last));
    }
    log_info("%s: %lu rows, %lu skipped, %lu left out by --hosts; %d hosts, %u GPUs, "
             "%zu times from %s to %s, %lu samples a pass",
             S.file, d->stats.rows, d->stats.skipped, d->stats.filtered, d->nhosts, d->ngpus,
             d->ntimes, first, last, d->stats.samples);
}

static void summary(const struct replay_data *d, const struct replay_run *run)
{
    int joined = 0, refused = 0;
    for (int i = 0; i < run->nconns; i++) {
        joined += run->conns[i].joined_once;
        refused += run->conns[i].state == CONN_FAILED;
    }
    const struct replay_counters *c = &run->count;
    fprintf(stderr,
            "gantry-replay: %s: rows read %lu, skipped %lu, left out %lu; samples sent %lu, "
            "dropped %lu; heartbeats sent %lu; hosts %d (%d joined, %d refused); GPUs %u; "
            "passes %lu; reconnects %lu\n",
            S.file, d->stats.rows, d->stats.skipped, d->stats.filtered, c->samples, c->dropped,
            c->heartbeats, run->nconns, joined, refused, d->ngpus, c->passes, c->reconnects);
}

static int replay(const struct replay_data *d)
{
    struct replay_run run;
    char err[300];
    struct ev_loop *loop = EV_DEFAULT;
    if (reactor_init(loop) < 0) {
        fprintf(stderr, "gantry-replay: out of memory\n");
        return 1;
    }
    if (nd_client_tls_setup(err, sizeof(err)) < 0) {
        fprintf(stderr, "gantry-replay: %s\n", err);
        reactor_shutdown();
        return 2;
    }
    if (replay_run_init(&run, loop, &S, d, err, sizeof(err)) < 0) {
        fprintf(stderr, "gantry-replay: %s\n", err);
        replay_run_free(&run);
        reactor_shutdown();
        return 2;
    }
    replay_run_start(&run);
    ev_run(loop, 0);
    summary(d, &run);
    int rc = run.count.samples > 0 ? 0 : 1;
    replay_run_free(&run);
    reactor_shutdown();
    return rc;
}

int main(int argc, char **argv)
{
    log_init("gantry-replay");
    signal(SIGPIPE, SIG_IGN);
    defaults();
    int rc = parse_args(argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct replay_data d;
    char err[400];
    if (replay_data_load_file(&d, S.file, S.max_hosts, report_row, NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        replay_data_free(&d);
        return 1;
    }
    describe(&d);
    if (d.npoints == 0) {
        fprintf(stderr, "gantry-replay: %s: rows read %lu, skipped %lu: nothing to replay\n",
                S.file, d.stats.rows, d.stats.skipped);
        rc = 1;
    } else {
        rc = replay(&d);
    }
    replay_data_free(&d);
    return rc;
}
