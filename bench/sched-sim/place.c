/* Place mode: the pods of a trace file, in file order, onto its nodes, in
 * file order, arrivals only; prints where each went. gantryd's end-to-end
 * test compares its own placements with these for the same cluster. */
#include <stdio.h>
#include <string.h>

#include "sim.h"

/* Prints "<pod> <node>" (or "<pod> -" when nothing fits) per pod, or one
 * JSON object {"placements":{pod:node|null}} with --json. Returns 0 or -1. */
int sim_place(const struct sim_opts *o, const struct sim_trace *t,
              const struct sched_policy *p)
{
    struct sched_cluster c;
    sched_cluster_init(&c);
    if (sim_cluster_build(&c, t, 0, NULL) < 0) {
        sched_cluster_free(&c);
        return -1;
    }
    if (o->json)
        printf("{\"policy\":\"%s\",\"placements\":{", sched_policy_name(p));
    for (int i = 0; i < t->npods; i++) {
        struct sched_req r;
        struct sched_choice ch;
        sim_pod_req(&c, &t->pods[i], &r);
        sched_workload_observe(&c, &r);
        const char *where = NULL;
        if (sched_place(&c, p, &r, &ch) == 0) {
            sched_commit(&c, &r, &ch);
            where = t->nodes[ch.node].name;
        }
        if (o->json)
            printf("%s\"%s\":%s%s%s", i ? "," : "", t->pods[i].name, where ? "\"" : "",
                   where ? where : "null", where ? "\"" : "");
        else
            printf("%s %s\n", t->pods[i].name, where ? where : "-");
    }
    if (o->json)
        printf("}}\n");
    sched_cluster_free(&c);
    return 0;
}
