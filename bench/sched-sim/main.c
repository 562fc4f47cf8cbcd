/* sched-sim's command line. See docs/scheduling.md for what each mode
 * measures and the commands behind the published comparison. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

/* The trace's folder: $GANTRY_DATA/alibaba-gpu-v2023 where GANTRY_DATA is
 * set (the folder of ../shared/data), else this relative path. */
#define DATA_DIR "../shared/data/alibaba-gpu-v2023/"
#define TRACE_DIR "alibaba-gpu-v2023/"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: sched-sim [--policy P|all] [--mode fill|replay|synthetic|place]\n"
            "                 [--nodes F] [--pods F] [--gpu-nodes-only]\n"
            "                 [--tune 1.3] [--seeds 42-51] [--json]\n"
            "policies: %s\n"
            "defaults: --mode fill --policy best-fit --tune 1.3 --seeds 42-51\n"
            "  --nodes openb_node_list_all_node.csv --pods openb_pod_list_default.csv\n"
            "  (a bare file name is looked up in $GANTRY_DATA/" TRACE_DIR " when\n"
            "  GANTRY_DATA is set, else in " DATA_DIR ")\n",
            sched_policy_list());
}

/* "42-51", "7" or "1,5,9" into o->seeds. */
static int parse_seeds(const char *s, struct sim_opts *o)
{
    o->nseeds = 0;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s)
            return -1;
        if (*end == '-') {
            s = end + 1;
            b = strtol(s, &end, 10);
            if (end == s || b < a)
                return -1;
        }
        for (long v = a; v <= b; v++) {
            if (o->nseeds == SIM_MAX_SEEDS)
                return -1;
            o->seeds[o->nseeds++] = (int)v;
        }
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return o->nseeds > 0 ? 0 : -1;
}

/* A bare file name that is not in the current directory is taken from
 * the data directory. */
static const char *data_path(const char *name, char *buf, size_t len)
{
    if (strchr(name, '/') || access(name, R_OK) == 0)
        return name;
    const char *dir = getenv("GANTRY_DATA");
    if (dir && *dir)
        snprintf(buf, len, "%s/" TRACE_DIR "%s", dir, name);
    else
        snprintf(buf, len, DATA_DIR "%s", name);
    return buf;
}

static int parse_args(int argc, char **argv, struct sim_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (strcmp(a, "--policy") == 0 && v)
            o->policy = v;
        else if (strcmp(a, "--mode") == 0 && v)
            o->mode = v;
        else if (strcmp(a, "--nodes") == 0 && v)
            o->nodes_path = v;
        else if (strcmp(a, "--pods") == 0 && v)
            o->pods_path = v;
        else if (strcmp(a, "--tune") == 0 && v)
            o->tune = atof(v);
        else if (strcmp(a, "--seeds") == 0 && v) {
            if (parse_seeds(v, o) < 0)
                return -1;
        } else if ((takes = 0), strcmp(a, "--gpu-nodes-only") == 0)
            o->gpu_nodes_only = 1;
        else if (strcmp(a, "--json") == 0)
            o->json = 1;
        else
            return -1;
        i += takes;
    }
    return o->tune > 0 ? 0 : -1;
}

static int run_mode(const struct sim_opts *o, const struct sim_trace *t,
                    const struct sched_policy *p)
{
    if (strcmp(o->mode, "replay") == 0)
        return sim_replay(o, t, p);
    if (strcmp(o->mode, "place") == 0)
        return sim_place(o, t, p);
    return sim_fill(o, t, p);
}

/* Runs the mode for the named policy, or for every policy with "all". */
static int run_policies(const struct sim_opts *o, const struct sim_trace *t)
{
    if (strcmp(o->policy, "all") != 0)
        return run_mode(o, t, sched_policy_find(o->policy));
    const struct sched_policy *p;
    for (int i = 0; (p = sched_policy_at(i)); i++)
        if (run_mode(o, t, p) < 0)
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    static struct sim_opts o = {
        .nodes_path = "openb_node_list_all_node.csv",
        .pods_path = "openb_pod_list_default.csv",
        .mode = "fill", .tune = 1.3,
    };
    char nodes[1024], pods[1024], err[1200];
    parse_seeds("42-51", &o);
    if (parse_args(argc, argv, &o) < 0) {
        usage(stderr);
        return 2;
    }
    int synthetic = strcmp(o.mode, "synthetic") == 0;
    if (!synthetic && strcmp(o.mode, "fill") != 0 && strcmp(o.mode, "replay") != 0 &&
        strcmp(o.mode, "place") != 0) {
        usage(stderr);
        return 2;
    }
    if (o.policy && strcmp(o.policy, "all") != 0 && !sched_policy_find(o.policy)) {
        fprintf(stderr, "sched-sim: unknown policy %s (%s)\n", o.policy,
                sched_policy_list());
        return 2;
    }
    if (synthetic)
        return sim_synthetic(&o) < 0 ? 1 : 0;
    if (!o.policy)
        o.policy = "best-fit";
    o.nodes_path = data_path(o.nodes_path, nodes, sizeof(nodes));
    o.pods_path = data_path(o.pods_path, pods, sizeof(pods));
    struct sim_trace t;
    if (sim_trace_load(&t, o.nodes_path, o.pods_path, err, sizeof(err)) < 0) {
        fprintf(stderr, "sched-sim: %s\n", err);
        return 1;
    }
    int rc = run_policies(&o, &t);
    sim_trace_free(&t);
    return rc < 0 ? 1 : 0;
}
