/* Unit tests: the cluster state machine (workers, heartbeats, expiry,
 * requeue, adoption, cancel, results once, logs, queue order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/cluster.h"

struct recorder {
    char names[256][40];
    int n;
    int assigns, cancels;
    char last_assign_worker[WORKER_ID_MAX];
};

static void record(void *ud, const struct cluster_event *ev)
{
    struct recorder *r = ud;
    if (ev->name && r->n < 256)
        snprintf(r->names[r->n++], sizeof(r->names[0]), "%s", ev->name);
    if (ev->type == CE_TASK_ASSIGN) {
        r->assigns++;
        snprintf(r->last_assign_worker, sizeof(r->last_assign_worker), "%s", ev->w->id);
    }
    if (ev->type == CE_TASK_CANCEL)
        r->cancels++;
}

static int seen(const struct recorder *r, const char *name)
{
    int n = 0;
    for (int i = 0; i < r->n; i++)
        n += strcmp(r->names[i], name) == 0;
    return n;
}

static struct cluster cl;
static struct recorder rec;

static int setup(void **state)
{
    (void)state;
    struct cluster_config cfg = {
        .heartbeat_timeout = 2, .lost_after = 5, .aging = 60, .slice = 1,
        .max_attempts = 3, .keep_finished = 100, .log_buffer = 256,
        .policy = sched_policy_find("best-fit"),
    };
    memset(&rec, 0, sizeof(rec));
    assert_int_equal(cluster_init(&cl, &cfg), 0);
    cluster_observe(&cl, record, &rec);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cluster_free(&cl);
    return 0;
}

static struct worker *join(const char *id, double cpu, int gpus, uint64_t session, double now)
{
    struct hello h;
    memset(&h, 0, sizeof(h));
    h.version = 1;
    h.worker_id = id;
    h.cpu = cpu;
    h.memory_mib = 8192;
    h.storage_mib = 1000;
    h.executors = SCHED_EXEC_PROCESS;
    h.ngpus = gpus;
    for (int g = 0; g < gpus; g++) {
        h.gpus[g].index = g;
        snprintf(h.gpus[g].uuid, sizeof(h.gpus[g].uuid), "GPU-%s-%d", id, g);
        snprintf(h.gpus[g].model, sizeof(h.gpus[g].model), "NVIDIA H100 80GB HBM3");
    }
    json_t *adopt, *cancel;
    assert_int_equal(cluster_hello(&cl, &h, session, "127.0.0.1:1", now, &adopt, &cancel), HELLO_OK);
    json_decref(adopt);
    json_decref(cancel);
    return cluster_worker(&cl, id);
}

static struct task *submit(const char *body, double now)
{
    struct task_defaults def = {3};
    struct task_error err;
    json_t *j = json_loads(body, 0, NULL);
    struct task *t = task_from_json(j, &def, &err);
    json_decref(j);
    assert_non_null(t);
    assert_int_equal(cluster_submit(&cl, t, now), 0);
    return t;
}

static void test_join_heartbeat_inactive_active(void **state)
{
    (void)state;
    struct worker *w = join("w1", 4, 1, 11, 100);
    assert_int_equal(w->state, WS_ACTIVE);
    assert_int_equal(seen(&rec, "worker.joined"), 1);
    struct heartbeat hb;
    memset(&hb, 0, sizeof(hb));
    hb.cpu_usage = 42;
    hb.has_cpu = 1;
    hb.ngpus = 1;
    hb.gpus[0].index = 0;
    gpu_sample_set(&hb.gpus[0].sample, GM_UTIL, 77);
    cluster_heartbeat(&cl, w, &hb, 101);
    assert_true(w->cpu_usage == 42);
    assert_true(w->gpu_usage == 77);
    assert_true(w->gpus[0].last.v[GM_UTIL] == 77);
    cluster_expire(&cl, 102.9);
    assert_int_equal(w->state, WS_ACTIVE);
    cluster_expire(&cl, 103.1);
    assert_int_equal(w->state, WS_INACTIVE);
    assert_int_equal(seen(&rec, "worker.inactive"), 1);
    cluster_heartbeat(&cl, w, &hb, 104);
    assert_int_equal(w->state, WS_ACTIVE);
    assert_int_equal(seen(&rec, "worker.active"), 2); /* joined, then back */
    /* A duplicate while live is refused. */
    struct hello h;
    memset(&h, 0, sizeof(h));
    h.worker_id = "w1";
    json_t *a, *c;
    assert_int_equal(cluster_hello(&cl, &h, 12, "x", 104, &a, &c), HELLO_DUPLICATE);
}

static void test_place_run_finish_once(void **state)
{
    (void)state;
    join("w1", 4, 0, 11, 100);
    struct task *t = submit("{\"command\":\"x\",\"cpu_required\":2}", 100);
    assert_int_equal(t->status, TS_QUEUED);
    assert_int_equal(cluster_schedule(&cl, 100, 1), 0);
    assert_int_equal(t->status, TS_ASSIGNED);
    assert_int_equal(rec.assigns, 1);
    assert_int_equal(t->attempts, 1);
    struct worker *w = cluster_worker(&cl, "w1");
    assert_int_equal(cl.sched.nodes[w->node].cpu_free, 2000);
    assert_int_equal(cluster_task_started(&cl, w, t->id, -1, 101), 0);
    assert_int_equal(t->status, TS_RUNNING);
    char id[TASK_ID_MAX];
    strcpy(id, t->id);
    assert_int_equal(cluster_task_finished(&cl, w, id, -1, TS_FAILED, 1, 3, NULL, 102), 0);
    assert_int_equal(t->status, TS_FAILED);
    assert_int_equal(t->exit_code, 3);
    assert_int_equal(cl.sched.nodes[w->node].cpu_free, 4000);
    /* A repeated result is ignored. */
    assert_int_equal(cluster_task_finished(&cl, w, id, -1, TS_COMPLETED, 1, 0, NULL, 103), 1);
    assert_int_equal(t->status, TS_FAILED);
    assert_int_equal(seen(&rec, "task.failed"), 1);
}

static void test_lost_worker_requeues_then_fails_past_max_attempts(void **state)
{
    (void)state;
    join("w1", 4, 0, 11, 100);
    struct task *t = submit("{\"command\":\"x\",\"max_attempts\":2}", 100);
    cluster_schedule(&cl, 100, 1);
    struct worker *w = cluster_worker(&cl, "w1");
    cluster_disconnect(&cl, w, 101);
    assert_int_equal(w->state, WS_OFFLINE);
    cluster_expire(&cl, 105.5);
    assert_int_equal(t->status, TS_ASSIGNED);
    cluster_expire(&cl, 106.1);
    assert_int_equal(t->status, TS_QUEUED);
    assert_int_equal(seen(&rec, "worker.lost"), 1);
    /* It comes back and gets the task again: attempt 2. */
    join("w1", 4, 0, 12, 107);
    cluster_schedule(&cl, 107, 1);
    assert_int_equal(t->status, TS_ASSIGNED);
    assert_int_equal(t->attempts, 2);
    cluster_disconnect(&cl, w, 108);
    cluster_expire(&cl, 113.5);
    assert_int_equal(t->status, TS_FAILED);
    assert_string_equal(t->reason, "worker_lost");
}

static void test_inactive_workers_get_no_tasks(void **state)
{
    (void)state;
    join("w1", 8, 0, 11, 100);
    join("w2", 2, 0, 12, 100);
    struct heartbeat hb;
    memset(&hb, 0, sizeof(hb));
    cluster_heartbeat(&cl, cluster_worker(&cl, "w2"), &hb, 101.5);
    cluster_expire(&cl, 102.5);
    assert_int_equal(cluster_worker(&cl, "w1")->state, WS_INACTIVE);
    struct task *t = submit("{\"command\":\"x\"}", 102.5);
    cluster_schedule(&cl, 102.5, 1);
    assert_string_equal(t->worker_id, "w2");
}

static void test_hello_readopts_and_requeues(void **state)
{
    (void)state;
    struct worker *w = join("w1", 4, 0, 11, 100);
    struct task *kept = submit("{\"command\":\"a\"}", 100);
    struct task *gone = submit("{\"command\":\"b\"}", 100);
    cluster_schedule(&cl, 100, 1);
    cluster_task_started(&cl, w, kept->id, -1, 100);
    cluster_disconnect(&cl, w, 101);
    struct hello h;
    memset(&h, 0, sizeof(h));
    h.worker_id = "w1";
    h.cpu = 4;
    h.memory_mib = 8192;
    h.executors = SCHED_EXEC_PROCESS;
    char list[256];
    snprintf(list, sizeof(list), "[{\"task_id\":\"%s\",\"state\":\"running\"},"
             "{\"task_id\":\"t-unknown\",\"state\":\"running\"}]", kept->id);
    h.running = json_loads(list, 0, NULL);
    json_t *adopt, *cancel;
    assert_int_equal(cluster_hello(&cl, &h, 12, "x", 102, &adopt, &cancel), HELLO_OK);
    assert_int_equal(json_array_size(adopt), 1);
    assert_string_equal(json_string_value(json_array_get(adopt, 0)), kept->id);
    assert_int_equal(json_array_size(cancel), 1);
    assert_string_equal(json_string_value(json_array_get(cancel, 0)), "t-unknown");
    assert_int_equal(kept->status, TS_RUNNING);
    assert_int_equal(gone->status, TS_QUEUED);
    assert_int_equal(kept->attempts, 1);
    json_decref(h.running);
    json_decref(adopt);
    json_decref(cancel);
}

static void test_an_agents_record_is_never_trusted(void **state)
{
    (void)state;
    struct hello h;
    memset(&h, 0, sizeof(h));
    h.worker_id = "w9";
    h.cpu = 4;
    h.memory_mib = 8192;
    h.executors = SCHED_EXEC_PROCESS;
    h.running = json_loads("[{\"task_id\":\"t-0000000001\",\"state\":\"running\",\"task\":"
                           "{\"task_id\":\"t-0000000001\",\"command\":[\"sleep\",\"5\"],"
                           "\"status\":\"running\",\"worker_id\":\"w9\",\"attempts\":1}}]", 0, NULL);
    json_t *adopt, *cancel;
    assert_int_equal(cluster_hello(&cl, &h, 5, "x", 100, &adopt, &cancel), HELLO_OK);
    assert_null(cluster_task(&cl, "t-0000000001"));
    assert_int_equal(json_array_size(adopt), 0);
    assert_int_equal(json_array_size(cancel), 1);
    assert_int_equal(cl.sched.nodes[cluster_worker(&cl, "w9")->node].cpu_free, 4000);
    json_decref(h.running);
    json_decref(adopt);
    json_decref(cancel);
}

static int disowned;

static void count_disown(void *ud, const struct cluster_event *ev)
{
    (void)ud;
    disowned += ev->type == CE_TASK_DISOWN;
}

static void test_workers_speak_only_of_tasks_they_hold(void **state)
{
    (void)state;
    struct worker *a = join("wa", 4, 0, 11, 100);
    struct worker *b = join("wb", 4, 0, 12, 100);
    struct task *queued = submit("{\"command\":\"q\",\"cpu_required\":64}", 100);
    struct task *t = submit("{\"command\":\"x\"}", 100);
    cluster_schedule(&cl, 100, 1);
    struct worker *holder = t->worker, *other = holder == a ? b : a;
    /* A queued task nobody holds: no result, no log, no start. */
    assert_int_equal(cluster_task_finished(&cl, a, queued->id, -1, TS_COMPLETED, 1, 0, NULL, 101),
                     TASK_NOT_HELD);
    assert_int_equal(cluster_task_log(&cl, a, queued->id, -1, "stdout", "x", 1, 101), TASK_NOT_HELD);
    assert_int_equal(cluster_task_started(&cl, a, queued->id, -1, 101), TASK_NOT_HELD);
    assert_int_equal(queued->status, TS_QUEUED);
    /* Another worker's task, and the holder with a stale attempt. */
    assert_int_equal(cluster_task_finished(&cl, other, t->id, -1, TS_COMPLETED, 1, 0, NULL, 101),
                     TASK_NOT_HELD);
    assert_int_equal(cluster_task_finished(&cl, holder, t->id, t->attempts + 1, TS_COMPLETED, 1, 0,
                                           NULL, 101), TASK_NOT_HELD);
    assert_int_equal(t->status, TS_ASSIGNED);
    assert_int_equal(t->logs.len, 0);
    /* A heartbeat listing a task the worker does not hold asks it to stop. */
    cluster_observe(&cl, count_disown, NULL);
    struct heartbeat hb;
    memset(&hb, 0, sizeof(hb));
    hb.ntasks = 1;
    hb.tasks[0].task_id = t->id;
    hb.tasks[0].attempt = -1;
    disowned = 0;
    cluster_heartbeat(&cl, other, &hb, 102);
    assert_int_equal(disowned, 1);
    cluster_heartbeat(&cl, holder, &hb, 102);
    assert_int_equal(disowned, 1);
    assert_int_equal(cluster_task_finished(&cl, holder, t->id, t->attempts, TS_COMPLETED, 1, 0,
                                           NULL, 103), TASK_APPLIED);
}

static void test_a_lost_worker_keeps_a_task_nobody_took(void **state)
{
    (void)state;
    struct worker *w = join("w1", 4, 0, 11, 100);
    struct task *t = submit("{\"command\":\"x\"}", 100);
    cluster_schedule(&cl, 100, 1);
    cluster_task_started(&cl, w, t->id, 1, 100.5);
    /* Silent past lost_after (still connected, e.g. stopped): requeued. */
    cluster_expire(&cl, 140);
    cluster_expire(&cl, 200);
    assert_int_equal(t->status, TS_QUEUED);
    /* It resumes before anyone else took the task: its copy keeps it. */
    struct heartbeat hb;
    memset(&hb, 0, sizeof(hb));
    hb.ntasks = 1;
    hb.tasks[0].task_id = t->id;
    hb.tasks[0].attempt = 1;
    cluster_heartbeat(&cl, w, &hb, 201);
    assert_int_equal(t->status, TS_RUNNING);
    assert_ptr_equal(t->worker, w);
    assert_int_equal(t->attempts, 1);
    assert_int_equal(cluster_task_finished(&cl, w, t->id, 1, TS_COMPLETED, 1, 0, NULL, 202),
                     TASK_APPLIED);
}

static void test_cancel_queued_and_running(void **state)
{
    (void)state;
    struct task *q = submit("{\"command\":\"x\"}", 100);
    assert_int_equal(cluster_cancel(&cl, q, 10, 100), 0);
    assert_int_equal(q->status, TS_CANCELLED);
    assert_int_equal(cluster_cancel(&cl, q, 10, 100), 1);
    struct worker *w = join("w1", 4, 0, 11, 100);
    struct task *r = submit("{\"command\":\"y\"}", 100);
    cluster_schedule(&cl, 100, 1);
    assert_int_equal(cluster_cancel(&cl, r, 10, 101), 0);
    assert_int_equal(rec.cancels, 1);
    assert_int_equal(r->status, TS_ASSIGNED);
    cluster_task_finished(&cl, w, r->id, -1, TS_CANCELLED, 1, 143, "cancelled", 102);
    assert_int_equal(r->status, TS_CANCELLED);
}

static void test_priority_then_age_orders_the_queue(void **state)
{
    (void)state;
    struct task *old_low = submit("{\"command\":\"a\",\"priority\":4,\"cpu_required\":4}", 0);
    struct task *new_high = submit("{\"command\":\"b\",\"priority\":5,\"cpu_required\":4}", 100);
    struct task *new_low = submit("{\"command\":\"c\",\"priority\":4,\"cpu_required\":4}", 100);
    join("w1", 4, 0, 11, 101);
    cluster_schedule(&cl, 101, 1);
    /* old_low waited 100 s > one aging period (60 s): it beats a newer 5. */
    assert_int_equal(old_low->status, TS_ASSIGNED);
    assert_int_equal(new_high->status, TS_QUEUED);
    assert_int_equal(new_low->status, TS_QUEUED);
    assert_non_null(new_high->pending_reason);
    assert_string_equal(new_high->pending_reason, "no worker with 4 free CPU cores");
    cluster_task_finished(&cl, old_low->worker, old_low->id, -1, TS_COMPLETED, 1, 0, NULL, 102);
    cluster_schedule(&cl, 102, 1);
    assert_int_equal(new_high->status, TS_ASSIGNED);
    assert_int_equal(new_low->status, TS_QUEUED);
}

static void test_blocked_tasks_cost_nothing_until_capacity_frees(void **state)
{
    (void)state;
    join("w1", 1, 0, 11, 100);
    for (int i = 0; i < 1000; i++)
        submit("{\"command\":\"x\",\"cpu_required\":2}", 100);
    cluster_schedule(&cl, 100, 1);
    assert_int_equal(cl.nblocked, 1000);
    assert_int_equal(cluster_pending(&cl), 0);
    struct task *small = submit("{\"command\":\"s\",\"cpu_required\":0.5}", 101);
    assert_int_equal(cluster_pending(&cl), 1);
    cluster_schedule(&cl, 101, 1);
    assert_int_equal(small->status, TS_ASSIGNED);
    assert_int_equal(cl.queue.len, 0);
    join("w2", 4, 0, 12, 102);
    assert_int_equal(cluster_pending(&cl), 1);
    cluster_schedule(&cl, 102, 1);
    assert_int_equal(cl.nblocked, 998);
}

static void test_gpu_model_and_reason(void **state)
{
    (void)state;
    join("g1", 16, 2, 11, 100);
    struct task *t = submit("{\"command\":\"x\",\"gpu_required\":2,\"gpu_model\":\"A100\"}", 100);
    cluster_schedule(&cl, 100, 1);
    assert_int_equal(t->status, TS_QUEUED);
    assert_string_equal(t->pending_reason, "no worker with 2 free GPUs of model A100");
    struct task *h = submit("{\"command\":\"x\",\"gpu_required\":0.5,\"gpu_model\":\"H100\"}", 100);
    cluster_schedule(&cl, 100, 1);
    assert_int_equal(h->status, TS_ASSIGNED);
    assert_int_equal(h->placement.ngpu, 1);
    assert_int_equal(h->placement.milli, 500);
}

/* A task pinned to a worker waits for it, saying why, and runs there even
 * where the policy would choose another worker. */
static void test_pinned_task_waits_for_its_worker(void **state)
{
    (void)state;
    join("big", 32, 0, 11, 100);
    struct task *t = submit("{\"command\":\"x\",\"pinned_worker\":\"w2\"}", 100);
    cluster_schedule(&cl, 100, 1);
    assert_int_equal(t->status, TS_QUEUED);
    assert_string_equal(t->pending_reason, "worker w2 is not connected");
    struct task *big = submit("{\"command\":\"x\",\"cpu_required\":8,\"pinned_worker\":\"w2\"}", 100);
    struct worker *w2 = join("w2", 4, 0, 12, 101);
    cluster_schedule(&cl, 101, 1);
    assert_int_equal(t->status, TS_ASSIGNED);
    assert_string_equal(t->worker_id, "w2");
    assert_int_equal(big->status, TS_QUEUED);
    assert_string_equal(big->pending_reason,
                        "waiting for worker w2: it has 3 of 4 CPU cores free, the task needs 8");
    cluster_drain(&cl, w2, 1, 102);
    cluster_schedule(&cl, 102, 1);
    assert_string_equal(big->pending_reason, "waiting for worker w2: it is draining");
    cluster_disconnect(&cl, w2, 103);
    cluster_schedule(&cl, 103, 1);
    assert_string_equal(big->pending_reason, "worker w2 is not connected");
}

static void test_logs_are_bounded_and_ordered(void **state)
{
    (void)state;
    struct worker *w = join("w1", 4, 0, 11, 100);
    struct task *t = submit("{\"command\":\"x\"}", 100);
    cluster_schedule(&cl, 100, 1);
    char line[32];
    for (int i = 0; i < 50; i++) {
        int n = snprintf(line, sizeof(line), "line %d\n", i);
        cluster_task_log(&cl, w, t->id, -1, i % 2 ? "stderr" : "stdout", line, (size_t)n, 100 + i);
    }
    size_t pos = 0;
    struct task_log_entry e;
    uint64_t last = 0;
    int count = 0;
    while (task_log_next(t, &pos, &e)) {
        assert_true(e.seq > last);
        last = e.seq;
        count++;
    }
    assert_int_equal(last, 50);
    assert_true(count < 50);      /* 256 bytes keep only the newest */
    assert_true(t->logs.len <= 256);
    assert_true(t->log_dropped > 0);
}

static void test_finished_tasks_are_evicted_past_keep(void **state)
{
    (void)state;
    cl.cfg.keep_finished = 3;
    struct task *first = submit("{\"command\":\"x\"}", 100);
    char first_id[TASK_ID_MAX];
    strcpy(first_id, first->id);
    cluster_cancel(&cl, first, 1, 100);
    for (int i = 0; i < 3; i++)
        cluster_cancel(&cl, submit("{\"command\":\"x\"}", 100), 1, 100);
    assert_null(cluster_task(&cl, first_id));
    assert_int_equal(cl.nfinished, 3);
    assert_int_equal(cl.by_status[TS_CANCELLED], 3);    /* in memory now */
    assert_int_equal(cl.stats.finished[TS_CANCELLED], 4); /* ended since start */
}

/* A gantryd that stops leading (or starts to) empties its cluster: no
 * worker, no task, nothing queued; observers and settings stay, and task
 * and event ids keep growing past those given before. */
static void test_reset_empties_but_keeps_observers_and_ids(void **state)
{
    (void)state;
    join("w1", 4, 1, 11, 100);
    struct task *t = submit("{\"command\":[\"true\"],\"gpu_required\":2}", 100);
    char first[TASK_ID_MAX];
    snprintf(first, sizeof(first), "%s", t->id);
    uint64_t events = cl.event_ms, version = cl.workers_version;
    assert_int_equal(cluster_reset(&cl), 0);
    assert_true(cl.workers_version > version);
    assert_int_equal(cl.nworkers, 0);
    assert_null(cluster_worker(&cl, "w1"));
    assert_null(cluster_task(&cl, first));
    assert_int_equal(cl.by_status[TS_QUEUED], 0);
    assert_int_equal(cluster_pending(&cl), 0);
    assert_true(cl.event_ms >= events);
    int before = rec.n;
    join("w2", 4, 0, 12, 100);
    assert_true(rec.n > before);          /* the observer still hears */
    t = submit("{\"command\":[\"true\"]}", 100);
    assert_true(strcmp(t->id, first) > 0);
    assert_int_equal(cl.cfg.max_attempts, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_join_heartbeat_inactive_active, setup, teardown),
        cmocka_unit_test_setup_teardown(test_place_run_finish_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_worker_requeues_then_fails_past_max_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inactive_workers_get_no_tasks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hello_readopts_and_requeues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_agents_record_is_never_trusted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_speak_only_of_tasks_they_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_lost_worker_keeps_a_task_nobody_took, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_queued_and_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_then_age_orders_the_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_tasks_cost_nothing_until_capacity_frees, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpu_model_and_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pinned_task_waits_for_its_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logs_are_bounded_and_ordered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finished_tasks_are_evicted_past_keep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_empties_but_keeps_observers_and_ids, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
