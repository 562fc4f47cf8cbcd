/* Unit tests: the clusters -> hosts -> GPUs index (core/fleet): grouping
 * by the cluster label and hostname, the stable order, lookups by index or
 * uuid, and paging windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/fleet.h"

static struct cluster cl;
static uint64_t session;

static int setup(void **state)
{
    (void)state;
    struct cluster_config cfg = {
        .heartbeat_timeout = 2, .lost_after = 5, .aging = 60, .slice = 1,
        .max_attempts = 3, .keep_finished = 100, .log_buffer = 256,
        .policy = sched_policy_find("best-fit"),
    };
    assert_int_equal(cluster_init(&cl, &cfg), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cluster_free(&cl);
    return 0;
}

/* Joins worker id on host with gpus GPUs, indexes listed from the last
 * down (so the index must sort them), in cluster label `in` (or none). */
static void join(const char *id, const char *host, const char *in, int gpus)
{
    struct hello h;
    memset(&h, 0, sizeof(h));
    h.version = 1;
    h.worker_id = id;
    h.hostname = host;
    h.cpu = 8;
    h.memory_mib = 8192;
    h.storage_mib = 1000;
    h.executors = SCHED_EXEC_PROCESS;
    h.ngpus = gpus;
    h.labels = in ? json_pack("{s:s}", "cluster", in) : NULL;
    for (int g = 0; g < gpus; g++) {
        h.gpus[g].index = gpus - 1 - g;
        snprintf(h.gpus[g].uuid, sizeof(h.gpus[g].uuid), "GPU-%s-%d", id, gpus - 1 - g);
        snprintf(h.gpus[g].model, sizeof(h.gpus[g].model), "NVIDIA H100 80GB HBM3");
    }
    json_t *adopt, *cancel;
    assert_int_equal(cluster_hello(&cl, &h, ++session, "127.0.0.1:1", 1, &adopt, &cancel),
                     HELLO_OK);
    json_decref(adopt);
    json_decref(cancel);
    json_decref(h.labels);
}

static void test_clusters_hosts_gpus_in_order(void **state)
{
    (void)state;
    join("w-b", "host-b", NULL, 2);
    join("w-a", "host-a", NULL, 3);
    join("w-z", "zeta-1", "zeta", 1);
    join("w-alpha", "a-1", "alpha", 2);
    join("w-cpu", "cpu-only", NULL, 0);
    struct fleet f;
    assert_int_equal(fleet_build(&f, &cl, "main", FLEET_GPU_HOSTS), 0);
    assert_int_equal(f.nclusters, 3);
    assert_string_equal(f.clusters[0].name, "alpha");
    assert_string_equal(f.clusters[1].name, "main");
    assert_string_equal(f.clusters[2].name, "zeta");
    assert_int_equal(f.nhosts, 4);          /* cpu-only has no GPU */
    const struct fleet_cluster *main = fleet_find_cluster(&f, "main");
    assert_int_equal(main->nhosts, 2);
    assert_int_equal(main->ngpus, 5);
    assert_string_equal(f.hosts[main->first_host].hostname, "host-a");
    assert_int_equal(f.ngpus, 8);
    const char *order[] = {"GPU-w-alpha-0", "GPU-w-alpha-1", "GPU-w-a-0", "GPU-w-a-1",
                           "GPU-w-a-2", "GPU-w-b-0", "GPU-w-b-1", "GPU-w-z-0"};
    for (size_t i = 0; i < f.ngpus; i++)
        assert_string_equal(f.gpus[i]->info.uuid, order[i]);
    assert_null(fleet_find_cluster(&f, "default"));
    fleet_free(&f);
    assert_int_equal(fleet_build(&f, &cl, NULL, FLEET_ALL_HOSTS), 0);
    assert_int_equal(f.nhosts, 5);
    assert_non_null(fleet_find_host(&f, fleet_find_cluster(&f, "default"), "cpu-only"));
    fleet_free(&f);
}

static void test_the_configured_cluster_is_listed_when_empty(void **state)
{
    (void)state;
    struct fleet f;
    assert_int_equal(fleet_build(&f, &cl, NULL, FLEET_GPU_HOSTS), 0);
    assert_int_equal(f.nclusters, 1);
    assert_string_equal(f.clusters[0].name, "default");
    assert_int_equal(f.clusters[0].nhosts, 0);
    fleet_free(&f);
    join("w-z", "zeta-1", "zeta", 1);
    join("w-a", "a-1", "alpha", 1);
    assert_int_equal(fleet_build(&f, &cl, "m", FLEET_GPU_HOSTS), 0);
    assert_int_equal(f.nclusters, 3);
    assert_string_equal(f.clusters[1].name, "m");
    assert_int_equal(f.clusters[1].first_host, 1);
    assert_int_equal(f.clusters[1].nhosts, 0);
    assert_string_equal(f.hosts[f.clusters[2].first_host].hostname, "zeta-1");
    fleet_free(&f);
}

static void test_workers_sharing_a_hostname_are_one_host(void **state)
{
    (void)state;
    join("w-1", "big", NULL, 2);
    join("w-2", "big", NULL, 1);
    struct fleet f;
    assert_int_equal(fleet_build(&f, &cl, NULL, FLEET_GPU_HOSTS), 0);
    assert_int_equal(f.nhosts, 1);
    assert_int_equal(f.hosts[0].nworkers, 2);
    assert_int_equal(f.hosts[0].ngpus, 3);
    assert_string_equal(f.hosts[0].worker->id, "w-1");
    fleet_free(&f);
}

static void test_finding_gpus_by_index_or_uuid(void **state)
{
    (void)state;
    join("w-a", "host-a", NULL, 4);
    struct fleet f;
    assert_int_equal(fleet_build(&f, &cl, NULL, FLEET_GPU_HOSTS), 0);
    const struct fleet_host *h = fleet_find_host(&f, NULL, "host-a");
    assert_non_null(h);
    assert_null(fleet_find_host(&f, NULL, "host-b"));
    assert_string_equal(fleet_find_gpu(&f, h, "2")->info.uuid, "GPU-w-a-2");
    assert_int_equal(fleet_find_gpu(&f, h, "GPU-w-a-3")->info.index, 3);
    assert_null(fleet_find_gpu(&f, h, "4"));
    assert_null(fleet_find_gpu(&f, h, "2x"));
    assert_null(fleet_find_gpu(&f, h, ""));
    fleet_free(&f);
}

static void test_pages(void **state)
{
    (void)state;
    struct fleet_page p = fleet_page(247, 0, 100);
    assert_int_equal(p.first, 0);
    assert_int_equal(p.count, 100);
    p = fleet_page(247, 200, 100);
    assert_int_equal(p.count, 47);
    p = fleet_page(247, 300, 100);
    assert_int_equal(p.first, 247);
    assert_int_equal(p.count, 0);
    assert_int_equal(p.total, 247);
    size_t seen = 0;
    for (size_t off = 0; off < 247; off += 10)
        seen += fleet_page(247, off, 10).count;
    assert_int_equal(seen, 247);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clusters_hosts_gpus_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_configured_cluster_is_listed_when_empty, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_workers_sharing_a_hostname_are_one_host, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_finding_gpus_by_index_or_uuid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
