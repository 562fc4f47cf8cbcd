/* The fleet as the GPU telemetry pipelines show it: clusters -> hosts ->
 * GPUs, read from the cluster's workers. A cluster is the configured
 * cluster name (cluster.name, "default" unless set) or the worker's
 * `cluster` label; a host is a hostname within a cluster (the workers that
 * share it are one host); a host's GPUs are its workers' GPUs.
 *
 * Use: fleet_build() takes a snapshot index of the cluster (pointers into
 * its workers, valid until the cluster next changes: build, read and free
 * within one handler or one resolver run), then the finders and the slices
 * below; fleet_free() releases it. Pure: no I/O, no allocation but the
 * index's three arrays.
 *
 * Ordering is stable and total, so offsets page without gaps or repeats:
 * clusters by name; hosts by (cluster, hostname); GPUs by (cluster,
 * hostname, index on the host, uuid). A cluster's hosts and a host's GPUs
 * are contiguous runs of those arrays. The configured cluster is always
 * listed, even with no hosts. */
#ifndef GANTRY_FLEET_H
#define GANTRY_FLEET_H

#include <stddef.h>

#include "cluster.h"

#define FLEET_DEFAULT_CLUSTER "default"
#define FLEET_CLUSTER_LABEL "cluster"

enum fleet_flags {
    FLEET_GPU_HOSTS = 0,          /* hosts are the hostnames with GPUs (the /api/v1 view) */
    FLEET_ALL_HOSTS = 1,          /* hosts without GPUs too */
};

struct fleet_host {
    const char *cluster;          /* the name of its cluster */
    const char *hostname;
    const struct worker *worker;  /* its first worker by id */
    int nworkers;
    size_t first_gpu, ngpus;      /* its GPUs: fleet.gpus[first_gpu ...] */
};

struct fleet_cluster {
    const char *name;
    size_t first_host, nhosts;    /* fleet.hosts[first_host ...] */
    size_t first_gpu, ngpus;      /* fleet.gpus[first_gpu ...] */
};

struct fleet {
    struct fleet_cluster *clusters;
    size_t nclusters;
    struct fleet_host *hosts;
    size_t nhosts;
    const struct worker_gpu **gpus;
    size_t ngpus;
};

/* A window of a list: items [first, first + count) of total. */
struct fleet_page {
    size_t first, count, total;
};

int fleet_build(struct fleet *f, const struct cluster *cl, const char *default_cluster,
                enum fleet_flags flags);
void fleet_free(struct fleet *f);
const char *fleet_worker_cluster(const struct worker *w, const char *default_cluster);
const char *fleet_hostname(const struct worker *w);
const struct fleet_cluster *fleet_find_cluster(const struct fleet *f, const char *name);
const struct fleet_host *fleet_find_host(const struct fleet *f, const struct fleet_cluster *c,
                                         const char *hostname);
const struct worker_gpu *fleet_find_gpu(const struct fleet *f, const struct fleet_host *h,
                                        const char *gpu_id);
struct fleet_page fleet_page(size_t total, size_t offset, size_t limit);

#endif
