/* Unit tests: the scheduler's cluster model, GPU models, fit checks and the
 * choice of every policy on small hand-made clusters, GPU shares and model
 * constraints included; runtime estimates; the workload classes behind
 * fgd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "core/sched.h"

static struct sched_cluster cl;

static int setup(void **state)
{
    (void)state;
    sched_cluster_init(&cl);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sched_cluster_free(&cl);
    return 0;
}

/* Adds a usable node: cores, GiB, GPUs of model (NULL: none). */
static int node(int cores, int gib, int gpus, const char *model)
{
    int idx = sched_node_add(&cl);
    assert_true(idx >= 0);
    struct sched_node *n = &cl.nodes[idx];
    n->cpu_total = n->cpu_free = cores * 1000;
    n->mem_total = n->mem_free = gib * 1024;
    n->disk_total = n->disk_free = 100000;
    n->ngpus = (uint8_t)gpus;
    n->model = model ? (uint8_t)sched_model_id(&cl, model) : SCHED_NO_MODEL;
    n->executors = SCHED_EXEC_PROCESS | SCHED_EXEC_DOCKER;
    n->usable = 1;
    for (int g = 0; g < gpus; g++)
        n->gpu_free[g] = 1000;
    sched_node_changed(&cl, idx);
    return idx;
}

/* Sets the free milli-GPUs of node idx's first two GPUs. */
static void gpus(int idx, int g0, int g1)
{
    cl.nodes[idx].gpu_free[0] = (uint16_t)g0;
    cl.nodes[idx].gpu_free[1] = (uint16_t)g1;
    sched_node_changed(&cl, idx);
}

static struct sched_req req(int cores, int gib, int gpus, int milli)
{
    struct sched_req r;
    memset(&r, 0, sizeof(r));
    r.cpu = cores * 1000;
    r.mem = gib * 1024;
    r.gpus = gpus;
    r.gpu_milli = milli;
    r.models = SCHED_ANY_MODEL;
    return r;
}

/* Places r with the named policy and commits it; returns the node. */
static int place(const char *policy, const struct sched_req *r,
                 struct sched_choice *ch)
{
    const struct sched_policy *p = sched_policy_find(policy);
    assert_non_null(p);
    struct sched_choice tmp;
    if (!ch)
        ch = &tmp;
    if (sched_place(&cl, p, r, ch) < 0)
        return -1;
    sched_commit(&cl, r, ch);
    return ch->node;
}

static void test_policy_names(void **state)
{
    (void)state;
    const char *names[] = {"first-fit", "round-robin", "least-loaded",
                           "best-fit", "dot-product", "multi-objective",
                           "predictive", "fgd", "fgd-plus"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const struct sched_policy *p = sched_policy_find(names[i]);
        assert_non_null(p);
        assert_string_equal(sched_policy_name(p), names[i]);
        assert_non_null(strstr(sched_policy_list(), names[i]));
        assert_ptr_equal(sched_policy_at((int)i), p);
    }
    assert_null(sched_policy_at(9));
    assert_null(sched_policy_at(-1));
    assert_null(sched_policy_find("random"));
}

static void test_models(void **state)
{
    (void)state;
    assert_true(sched_model_matches("NVIDIA H100 80GB HBM3", "H100", 4));
    assert_true(sched_model_matches("NVIDIA H100 80GB HBM3", "h100", 4));
    assert_false(sched_model_matches("NVIDIA A100", "A10", 3));
    assert_true(sched_model_matches("A10", "A10", 3));
    assert_false(sched_model_matches("V100M16", "V100", 4));
    int h = sched_model_id(&cl, "NVIDIA H100 80GB HBM3");
    int a = sched_model_id(&cl, "NVIDIA A100");
    int a10 = sched_model_id(&cl, "NVIDIA A10");
    assert_int_equal(sched_model_id(&cl, "NVIDIA A100"), a);
    assert_true(sched_model_mask(&cl, "") == SCHED_ANY_MODEL);
    assert_true(sched_model_mask(&cl, NULL) == SCHED_ANY_MODEL);
    assert_true(sched_model_mask(&cl, "H100") == (uint64_t)1 << h);
    assert_true(sched_model_mask(&cl, "A10|H100") ==
                (((uint64_t)1 << a10) | ((uint64_t)1 << h)));
    assert_true(sched_model_mask(&cl, "T4") == 0);
}

static void test_fits_every_resource(void **state)
{
    (void)state;
    int i = node(8, 16, 2, "T4");
    struct sched_node *n = &cl.nodes[i];
    struct sched_req r = req(8, 16, 2, 0);
    assert_true(sched_fits(&cl, n, &r));
    r.cpu++;
    assert_false(sched_fits(&cl, n, &r));
    r = req(1, 17, 0, 0);
    assert_false(sched_fits(&cl, n, &r));
    r = req(1, 1, 3, 0);
    assert_false(sched_fits(&cl, n, &r));
    r = req(1, 1, 0, 0);
    r.disk = 100001;
    assert_false(sched_fits(&cl, n, &r));
    r = req(1, 1, 1, 0);
    r.models = sched_model_mask(&cl, "A100");
    assert_false(sched_fits(&cl, n, &r));
    r.models = sched_model_mask(&cl, "T4");
    assert_true(sched_fits(&cl, n, &r));
    n->executors = SCHED_EXEC_PROCESS;
    r.executor = SCHED_EXEC_DOCKER;
    assert_false(sched_fits(&cl, n, &r));
    r.executor = 0;
    n->usable = 0;
    assert_false(sched_fits(&cl, n, &r));
}

static void test_shares_need_one_gpu(void **state)
{
    (void)state;
    node(16, 64, 2, "T4");
    gpus(0, 400, 500);
    struct sched_req r = req(1, 1, 0, 600);
    assert_false(sched_fits(&cl, &cl.nodes[0], &r));
    r.gpu_milli = 450;
    struct sched_choice ch;
    assert_int_equal(place("first-fit", &r, &ch), 0);
    assert_int_equal(ch.ngpu, 1);
    assert_int_equal(ch.gpu[0], 1);
    assert_int_equal(cl.nodes[0].gpu_free[1], 50);
    r = req(1, 1, 1, 0);
    assert_false(sched_fits(&cl, &cl.nodes[0], &r));
}

static void test_commit_release_and_explain(void **state)
{
    (void)state;
    node(32, 64, 4, "NVIDIA H100 80GB HBM3");
    struct sched_req r = req(4, 8, 3, 0);
    struct sched_choice ch;
    assert_int_equal(place("first-fit", &r, &ch), 0);
    assert_int_equal(ch.ngpu, 3);
    assert_int_equal(cl.nodes[0].cpu_free, 28000);
    r.models = sched_model_mask(&cl, "H100");
    char why[128];
    struct sched_req two = req(1, 1, 2, 0);
    two.models = r.models;
    assert_int_equal(sched_explain(&cl, &two, "H100", why, sizeof(why)), 0);
    assert_string_equal(why, "no worker with 2 free GPUs of model H100");
    sched_release(&cl, &r, &ch);
    assert_int_equal(cl.nodes[0].cpu_free, 32000);
    assert_int_equal(cl.nodes[0].gpu_free[2], 1000);
    assert_int_equal(cl.nodes[0].ntasks, 0);
    assert_int_equal(sched_explain(&cl, &two, "H100", why, sizeof(why)), -1);
    struct sched_req big = req(64, 1, 0, 0);
    assert_int_equal(sched_explain(&cl, &big, NULL, why, sizeof(why)), 0);
    assert_string_equal(why, "no worker with 64 free CPU cores");
}

static void test_first_fit_and_round_robin(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        node(8, 16, 0, NULL);
    struct sched_req r = req(4, 1, 0, 0);
    assert_int_equal(place("first-fit", &r, NULL), 0);
    assert_int_equal(place("first-fit", &r, NULL), 0);
    assert_int_equal(place("first-fit", &r, NULL), 1);
    assert_int_equal(place("round-robin", &r, NULL), 1);
    assert_int_equal(place("round-robin", &r, NULL), 2);
    assert_int_equal(place("round-robin", &r, NULL), 2);
    assert_int_equal(place("round-robin", &r, NULL), -1);
}

static void test_least_loaded_and_best_fit(void **state)
{
    (void)state;
    node(16, 64, 0, NULL);
    node(16, 64, 0, NULL);
    node(16, 64, 0, NULL);
    cl.nodes[0].cpu_free = 6000;
    cl.nodes[1].cpu_free = 12000;
    sched_node_changed(&cl, 0);
    sched_node_changed(&cl, 1);
    struct sched_req r = req(4, 4, 0, 0);
    assert_int_equal(place("least-loaded", &r, NULL), 2);
    assert_int_equal(place("best-fit", &r, NULL), 0);
    /* Node 0 has 2 cores left now: best-fit takes the next tightest. */
    assert_int_equal(place("best-fit", &r, NULL), 1);
}

static void test_best_fit_weighs_gpus(void **state)
{
    (void)state;
    node(64, 256, 8, "G2");
    node(64, 256, 8, "G2");
    for (int g = 0; g < 6; g++)
        cl.nodes[1].gpu_free[g] = 0;
    sched_node_changed(&cl, 1);
    struct sched_req r = req(8, 8, 1, 0);
    assert_int_equal(place("best-fit", &r, NULL), 1);
    r = req(1, 1, 0, 300);
    struct sched_choice ch;
    assert_int_equal(place("best-fit", &r, &ch), 1);
    assert_int_equal(ch.gpu[0], 7);
    assert_int_equal(cl.nodes[1].gpu_free[7], 700);
    /* The next share fills that GPU rather than a free one on node 0. */
    r.gpu_milli = 600;
    assert_int_equal(place("best-fit", &r, &ch), 1);
    assert_int_equal(ch.gpu[0], 7);
}

static void test_dot_product_aligns(void **state)
{
    (void)state;
    node(32, 32, 0, NULL);
    node(32, 32, 0, NULL);
    cl.nodes[0].cpu_free = 4000;    /* memory left, CPU scarce */
    cl.nodes[1].mem_free = 4096;    /* CPU left, memory scarce */
    sched_node_changed(&cl, 0);
    sched_node_changed(&cl, 1);
    struct sched_req r = req(4, 1, 0, 0);
    assert_int_equal(place("dot-product", &r, NULL), 1);
    r = req(1, 4, 0, 0);
    assert_int_equal(place("dot-product", &r, NULL), 0);
}

static void test_multi_objective_balances(void **state)
{
    (void)state;
    node(32, 64, 0, NULL);
    node(32, 64, 0, NULL);
    cl.nodes[0].cpu_free = 16000;   /* half its CPU taken */
    cl.nodes[1].mem_free = 32768;   /* half its memory taken */
    sched_node_changed(&cl, 0);
    sched_node_changed(&cl, 1);
    /* Both pack equally; on node 1 CPU and memory end up closer. */
    struct sched_req r = req(8, 8, 0, 0);
    assert_int_equal(place("multi-objective", &r, NULL), 1);
}

static void test_predictive_aligns_end_times(void **state)
{
    (void)state;
    node(32, 64, 0, NULL);
    node(32, 64, 0, NULL);
    cl.now = 0;
    struct sched_req r = req(2, 2, 0, 0);
    r.est_runtime = 3600;
    assert_int_equal(place("first-fit", &r, NULL), 0);
    r.est_runtime = 60;
    struct sched_choice ch;
    const struct sched_policy *ff = sched_policy_find("first-fit");
    cl.nodes[0].usable = 0;
    sched_node_changed(&cl, 0);
    assert_int_equal(sched_place(&cl, ff, &r, &ch), 0);
    sched_commit(&cl, &r, &ch);
    cl.nodes[0].usable = 1;
    sched_node_changed(&cl, 0);
    assert_int_equal(ch.node, 1);
    assert_true(ch.est_end == 60);
    /* A short task joins the short one, a long one the long one. */
    r.est_runtime = 90;
    assert_int_equal(place("predictive", &r, NULL), 1);
    r.est_runtime = 3000;
    assert_int_equal(place("predictive", &r, NULL), 0);
    /* Without an estimate it is best-fit. */
    r.est_runtime = 0;
    cl.nodes[1].cpu_free -= 4000;
    sched_node_changed(&cl, 1);
    assert_int_equal(place("predictive", &r, NULL), 1);
}

static void observe(const struct sched_req *r, int times)
{
    for (int i = 0; i < times; i++)
        assert_int_equal(sched_workload_observe(&cl, r), 0);
}

static void test_fragmentation_measure(void **state)
{
    (void)state;
    node(16, 64, 2, "T4");
    gpus(0, 1000, 300);
    assert_true(sched_fragmentation(&cl) == 0);
    struct sched_req half = req(1, 1, 0, 500);
    observe(&half, 1);
    /* The 300 left on GPU 1 is too little for a 0.5 share. */
    assert_true(fabs(sched_fragmentation(&cl) - 300) < 1e-9);
    struct sched_req cpu = req(1, 1, 0, 0);
    observe(&cpu, 1);
    /* Half the tasks need no GPU: all 1300 idle is theirs to waste. */
    assert_true(fabs(sched_fragmentation(&cl) - (0.5 * 300 + 0.5 * 1300)) < 1e-9);
    struct sched_req big = req(32, 1, 0, 500);
    observe(&big, 2);
    /* Tasks wanting 32 cores fit nowhere here: all idle counts for them. */
    double want = 0.25 * 300 + 0.25 * 1300 + 0.5 * 1300;
    assert_true(fabs(sched_fragmentation(&cl) - want) < 1e-9);
}

static void test_fgd_keeps_shares_usable(void **state)
{
    (void)state;
    node(16, 64, 2, "T4");
    node(16, 64, 2, "T4");
    gpus(0, 700, 0);
    gpus(1, 600, 0);
    struct sched_req half = req(1, 1, 0, 500);
    observe(&half, 10);
    struct sched_req r = req(1, 1, 0, 200);
    /* best-fit fills the 600, leaving 400 nobody can use; fgd leaves 500. */
    struct sched_choice ch;
    const struct sched_policy *bf = sched_policy_find("best-fit");
    assert_int_equal(sched_place(&cl, bf, &r, &ch), 0);
    assert_int_equal(ch.node, 1);
    assert_int_equal(place("fgd", &r, &ch), 0);
    assert_int_equal(cl.nodes[0].gpu_free[0], 500);
}

static void test_fgd_picks_the_gpu(void **state)
{
    (void)state;
    node(16, 64, 2, "T4");
    gpus(0, 600, 700);
    struct sched_req half = req(1, 1, 0, 500);
    observe(&half, 10);
    struct sched_req r = req(1, 1, 0, 200);
    struct sched_choice ch;
    assert_int_equal(place("fgd", &r, &ch), 0);
    assert_int_equal(ch.gpu[0], 1);
    assert_int_equal(cl.nodes[0].gpu_free[1], 500);
}

static void test_fgd_sees_direct_edits(void **state)
{
    (void)state;
    node(16, 64, 1, "T4");
    node(16, 64, 1, "T4");
    struct sched_req big = req(1, 1, 0, 600);
    observe(&big, 10);
    assert_true(sched_fragmentation(&cl) == 0);
    /* gantryd learns node 1 runs something the scheduler did not place:
     * its 500 left is useless to the typical task, so a 0.5 share goes
     * there rather than cut a whole GPU down to 500. */
    cl.nodes[1].gpu_free[0] = 500;
    sched_node_changed(&cl, 1);
    assert_true(sched_fragmentation(&cl) == 500);
    struct sched_req r = req(1, 1, 0, 500);
    assert_int_equal(place("fgd", &r, NULL), 1);
    assert_int_equal(cl.nodes[1].gpu_free[0], 0);
    /* An edit the caller forgot to announce is noticed all the same. */
    cl.nodes[0].gpu_free[0] = 500;
    assert_true(sched_fragmentation(&cl) == 500);
}

static void test_fgd_plus_spares_contested_models(void **state)
{
    (void)state;
    node(16, 64, 2, "T4");
    node(64, 256, 8, "G2");
    struct sched_req t4 = req(1, 1, 1, 0), g2 = t4, any = t4;
    t4.models = sched_model_mask(&cl, "T4");
    g2.models = sched_model_mask(&cl, "G2");
    observe(&g2, 5);
    observe(&t4, 3);
    observe(&any, 2);
    /* The G2 tasks cannot use idle T4s, so fgd sees less fragmentation
     * after putting an unconstrained task on a T4; but three tasks in ten
     * want the two T4s and five the eight G2s: fgd-plus takes a G2. */
    struct sched_choice ch;
    assert_int_equal(sched_place(&cl, sched_policy_find("fgd"), &any, &ch), 0);
    assert_int_equal(ch.node, 0);
    assert_int_equal(place("fgd-plus", &any, NULL), 1);
    assert_int_equal(place("fgd-plus", &t4, NULL), 0);
    /* With no G2 left, contested or not, it takes a T4. */
    cl.nodes[1].usable = 0;
    sched_node_changed(&cl, 1);
    assert_int_equal(place("fgd-plus", &any, NULL), 0);
    assert_int_equal(place("fgd-plus", &t4, NULL), -1);
}

static void test_fgd_plus_fills_nodes_in_order(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        node(96, 384, 8, "G2");
    struct sched_req one = req(8, 32, 1, 0);
    observe(&one, 10);
    for (int k = 0; k < 8; k++)
        assert_int_equal(place("fgd-plus", &one, NULL), 0);
    assert_int_equal(place("fgd-plus", &one, NULL), 1);
    struct sched_req cpu = req(8, 8, 0, 0);
    /* A task without GPUs goes where no GPU is left idle. */
    assert_int_equal(place("fgd-plus", &cpu, NULL), 0);
}

static void test_nothing_observed(void **state)
{
    (void)state;
    node(16, 64, 2, "T4");
    node(16, 64, 2, "T4");
    gpus(1, 600, 1000);
    /* Without observations both measure against the task itself: the 600
     * left on node 1 is filled, no whole GPU is cut down to 400. */
    struct sched_req r = req(1, 1, 0, 600);
    struct sched_choice ch;
    assert_int_equal(sched_place(&cl, sched_policy_find("fgd"), &r, &ch), 0);
    assert_int_equal(ch.node, 1);
    assert_int_equal(ch.gpu[0], 0);
    assert_int_equal(sched_place(&cl, sched_policy_find("fgd-plus"), &r, &ch), 0);
    assert_int_equal(ch.node, 1);
    assert_int_equal(ch.gpu[0], 0);
}

static void test_runtime_estimates(void **state)
{
    (void)state;
    assert_true(sched_runtime_estimate(&cl, "img") == SCHED_RUNTIME_DEFAULT);
    assert_int_equal(sched_runtime_learn(&cl, "img", 100), 0);
    assert_true(sched_runtime_estimate(&cl, "img") == 100);
    assert_int_equal(sched_runtime_learn(&cl, "img", 200), 0);
    assert_true(fabs(sched_runtime_estimate(&cl, "img") -
                     (100 + SCHED_RUNTIME_ALPHA * 100)) < 1e-9);
    assert_int_equal(sched_runtime_learn(&cl, "other", 400), 0);
    /* Unknown keys get the mean of every runtime seen. */
    assert_true(fabs(sched_runtime_estimate(&cl, "new") - 700.0 / 3) < 1e-9);
    assert_true(fabs(sched_runtime_estimate(&cl, NULL) - 700.0 / 3) < 1e-9);
    assert_int_equal(sched_runtime_learn(&cl, "img", -1), -1);
    assert_int_equal(sched_runtime_learn(&cl, "img", NAN), -1);
}

static void test_removed_slots_are_reused(void **state)
{
    (void)state;
    node(4, 4, 0, NULL);
    node(4, 4, 0, NULL);
    sched_node_remove(&cl, 0);
    struct sched_req r = req(1, 1, 0, 0);
    assert_int_equal(place("first-fit", &r, NULL), 1);
    assert_int_equal(node(4, 4, 0, NULL), 0);
    assert_int_equal(place("first-fit", &r, NULL), 0);
}

/* A request pinned to one node goes there under every policy, even when
 * the policy would rather choose another; it goes nowhere when that node
 * cannot take it, and the node's shortfall is explained. */
static void test_every_policy_honours_a_pin(void **state)
{
    (void)state;
    node(64, 256, 8, "NVIDIA H100 80GB HBM3");
    node(64, 256, 8, "NVIDIA H100 80GB HBM3");
    int small = node(4, 8, 1, "NVIDIA H100 80GB HBM3");
    for (int i = 0; sched_policy_at(i); i++) {
        const struct sched_policy *p = sched_policy_at(i);
        struct sched_req r = req(2, 2, 0, 0);
        struct sched_choice ch;
        r.pin = small + 1;
        assert_int_equal(sched_place(&cl, p, &r, &ch), 0);
        if (ch.node != small)
            fail_msg("%s placed a pinned request on node %d", sched_policy_name(p), ch.node);
        struct sched_req big = req(8, 2, 0, 0);
        big.pin = small + 1;
        if (sched_place(&cl, p, &big, &ch) == 0)
            fail_msg("%s placed a request its pinned node cannot take", sched_policy_name(p));
        big.pin = 0;
        assert_int_equal(sched_place(&cl, p, &big, &ch), 0);
    }
    char why[160];
    struct sched_req big = req(8, 2, 0, 0);
    assert_int_equal(sched_explain_node(&cl, small, &big, NULL, why, sizeof(why)), 0);
    assert_string_equal(why, "it has 4 of 4 CPU cores free, the task needs 8");
    struct sched_req gpus = req(1, 1, 2, 0);
    gpus.models = sched_model_mask(&cl, "H100");
    assert_int_equal(sched_explain_node(&cl, small, &gpus, "H100", why, sizeof(why)), 0);
    assert_string_equal(why, "it has 1 whole GPU free, the task needs 2");
    gpus.models = sched_model_mask(&cl, "A100");
    assert_int_equal(sched_explain_node(&cl, small, &gpus, "A100", why, sizeof(why)), 0);
    assert_string_equal(why, "it has no GPU of model A100");
    struct sched_req fits = req(1, 1, 0, 0);
    assert_int_equal(sched_explain_node(&cl, small, &fits, NULL, why, sizeof(why)), -1);
    cl.nodes[small].usable = 0;
    assert_int_equal(sched_explain_node(&cl, small, &fits, NULL, why, sizeof(why)), 0);
    assert_string_equal(why, "it takes no new tasks");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_policy_names),
        T(test_models),
        T(test_fits_every_resource),
        T(test_shares_need_one_gpu),
        T(test_commit_release_and_explain),
        T(test_first_fit_and_round_robin),
        T(test_least_loaded_and_best_fit),
        T(test_best_fit_weighs_gpus),
        T(test_dot_product_aligns),
        T(test_multi_objective_balances),
        T(test_predictive_aligns_end_times),
        T(test_fragmentation_measure),
        T(test_fgd_keeps_shares_usable),
        T(test_fgd_picks_the_gpu),
        T(test_fgd_sees_direct_edits),
        T(test_fgd_plus_spares_contested_models),
        T(test_fgd_plus_fills_nodes_in_order),
        T(test_nothing_observed),
        T(test_runtime_estimates),
        T(test_removed_slots_are_reused),
        T(test_every_policy_honours_a_pin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
