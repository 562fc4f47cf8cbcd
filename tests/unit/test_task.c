/* Unit tests: task submissions, validated field by field, and their JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/task.h"

static struct task_defaults def = {3};

static struct task *parse(const char *text, struct task_error *err)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    assert_non_null(j);
    struct task *t = task_from_json(j, &def, err);
    json_decref(j);
    return t;
}

static void expect_field(const char *text, const char *field)
{
    struct task_error err;
    struct task *t = parse(text, &err);
    if (t)
        fail_msg("accepted %s", text);
    if (strcmp(err.field, field) != 0)
        fail_msg("%s: blamed '%s' (%s), expected '%s'", text, err.field, err.message, field);
}

static void test_defaults_and_strings_as_numbers(void **state)
{
    (void)state;
    struct task_error err;
    struct task *t = parse("{\"command\":[\"echo\",\"hi\"],\"cpu_required\":\"2.5\","
                           "\"memory_required\":\"512\",\"priority\":\"7\"}", &err);
    assert_non_null(t);
    assert_true(t->cpu == 2.5);
    assert_int_equal(t->req.cpu, 2500);
    assert_int_equal(t->memory_mib, 512);
    assert_int_equal(t->priority, 7);
    assert_int_equal(t->max_attempts, 3);
    assert_int_equal(t->req.executor, SCHED_EXEC_PROCESS);
    task_free(t);
    t = parse("{\"command\":\"sleep 1\"}", &err);
    assert_non_null(t);
    assert_true(t->cpu == 1.0);
    assert_int_equal(t->memory_mib, 256);
    assert_int_equal(t->priority, 5);
    task_free(t);
}

static void test_gpu_shares_and_whole_gpus(void **state)
{
    (void)state;
    struct task_error err;
    struct task *t = parse("{\"command\":\"x\",\"gpu_required\":0.25,\"gpu_model\":\"H100|A100\"}", &err);
    assert_non_null(t);
    assert_int_equal(t->req.gpus, 0);
    assert_int_equal(t->req.gpu_milli, 250);
    assert_string_equal(t->gpu_model, "H100|A100");
    task_free(t);
    t = parse("{\"command\":\"x\",\"gpu_required\":\"4\"}", &err);
    assert_non_null(t);
    assert_int_equal(t->req.gpus, 4);
    assert_int_equal(t->req.gpu_milli, 0);
    task_free(t);
    expect_field("{\"command\":\"x\",\"gpu_required\":1.5}", "gpu_required");
    expect_field("{\"command\":\"x\",\"gpu_required\":65}", "gpu_required");
    expect_field("{\"command\":\"x\",\"gpu_required\":-1}", "gpu_required");
}

static void test_each_field_is_checked(void **state)
{
    (void)state;
    expect_field("{\"command\":\"x\",\"cpu_required\":0}", "cpu_required");
    expect_field("{\"command\":\"x\",\"cpu_required\":1025}", "cpu_required");
    expect_field("{\"command\":\"x\",\"cpu_required\":\"lots\"}", "cpu_required");
    expect_field("{\"command\":\"x\",\"memory_required\":0}", "memory_required");
    expect_field("{\"command\":\"x\",\"memory_required\":16777217}", "memory_required");
    expect_field("{\"command\":\"x\",\"priority\":11}", "priority");
    expect_field("{\"command\":\"x\",\"priority\":2.5}", "priority");
    expect_field("{\"command\":[]}", "command");
    expect_field("{\"command\":[\"echo\",3]}", "command");
    expect_field("{\"command\":\"\"}", "command");
    expect_field("{}", "command");
    expect_field("{\"command\":\"x\",\"colour\":\"red\"}", "colour");
    expect_field("{\"command\":\"x\",\"task_id\":\"t-1\"}", "task_id");
    expect_field("{\"command\":\"x\",\"env\":{\"1BAD\":\"v\"}}", "env");
    expect_field("{\"command\":\"x\",\"env\":[\"A=B\"]}", "env");
    expect_field("{\"docker_image\":\"UPPER/case\"}", "docker_image");
    expect_field("{\"docker_image\":\"app:\"}", "docker_image");
    expect_field("{\"docker_image\":\"a//b\"}", "docker_image");
    expect_field("{\"command\":\"x\",\"max_attempts\":0}", "max_attempts");
    expect_field("{\"command\":\"x\",\"timeout\":-5}", "timeout");
}

static void test_image_references(void **state)
{
    (void)state;
    const char *good[] = {"alpine", "alpine:3.19", "library/ubuntu:22.04",
                          "registry.example.com:5000/team/app:1.2",
                          "localhost/app", "nvcr.io/nvidia/pytorch:24.01-py3",
                          "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                          "my_app-x.y"};
    const char *bad[] = {"", "Alpine", "app:", ":tag", "a//b", "app:tag with space",
                         "-app", "app@sha256:xyz", "/app"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!task_image_valid(good[i]))
            fail_msg("refused %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (task_image_valid(bad[i]))
            fail_msg("accepted %s", bad[i]);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    struct task_error err;
    struct task *t = parse("{\"docker_image\":\"alpine\",\"command\":[\"echo\",\"hi\"],"
                           "\"env\":{\"A\":\"1\"},\"labels\":{\"zone\":\"a\"},\"gpu_required\":0.5,"
                           "\"user_id\":\"u\",\"tag\":\"nightly\",\"timeout\":\"2m\"}", &err);
    assert_non_null(t);
    assert_true(t->timeout == 120);
    assert_int_equal(t->req.executor, SCHED_EXEC_DOCKER);
    strcpy(t->id, "t-1");
    t->status = TS_RUNNING;
    strcpy(t->worker_id, "w1");
    t->attempts = 2;
    t->placement.ngpu = 1;
    t->placement.gpu[0] = 3;
    t->placement.milli = 500;
    t->created_at = 1752871354.25;
    json_t *j = task_to_json(t);
    assert_string_equal(json_string_value(json_object_get(j, "created_at")),
                        "2025-07-18T20:42:34.250Z");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "running");
    struct task *r = task_restore(j, &err);
    assert_non_null(r);
    assert_string_equal(r->id, "t-1");
    assert_int_equal(r->status, TS_RUNNING);
    assert_int_equal(r->attempts, 2);
    assert_string_equal(r->worker_id, "w1");
    assert_int_equal(r->placement.ngpu, 1);
    assert_int_equal(r->placement.gpu[0], 3);
    assert_int_equal(r->placement.milli, 500);
    assert_true(r->created_at == 1752871354.25);
    json_t *again = task_to_json(r);
    assert_true(json_equal(j, again));
    json_decref(j);
    json_decref(again);
    task_free(t);
    task_free(r);
}

/* pinned_worker: a worker id, checked like one, kept in the JSON and in a
 * restored record. */
static void test_pinned_worker(void **state)
{
    (void)state;
    struct task_error err;
    struct task *t = parse("{\"command\":\"x\",\"pinned_worker\":\"gpu-07.rack_2\"}", &err);
    assert_non_null(t);
    assert_string_equal(t->pinned_worker, "gpu-07.rack_2");
    strcpy(t->id, "t-2");
    json_t *j = task_to_json(t);
    assert_string_equal(json_string_value(json_object_get(j, "pinned_worker")), "gpu-07.rack_2");
    assert_true(json_is_null(json_object_get(j, "worker_id")));
    struct task *r = task_restore(j, &err);
    assert_non_null(r);
    assert_string_equal(r->pinned_worker, "gpu-07.rack_2");
    json_decref(j);
    task_free(r);
    task_free(t);
    t = parse("{\"command\":\"x\"}", &err);
    j = task_to_json(t);
    assert_true(json_is_null(json_object_get(j, "pinned_worker")));
    json_decref(j);
    task_free(t);
    expect_field("{\"command\":\"x\",\"pinned_worker\":\"\"}", "pinned_worker");
    expect_field("{\"command\":\"x\",\"pinned_worker\":\"-w1\"}", "pinned_worker");
    expect_field("{\"command\":\"x\",\"pinned_worker\":\"a b\"}", "pinned_worker");
    expect_field("{\"command\":\"x\",\"pinned_worker\":7}", "pinned_worker");
    expect_field("{\"command\":\"x\",\"pinned_worker\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "pinned_worker");
}

static void test_ids_sort_by_time(void **state)
{
    (void)state;
    char a[TASK_ID_MAX], b[TASK_ID_MAX], c[TASK_ID_MAX];
    task_make_id(a, sizeof(a), 1752871354.000, 7);
    task_make_id(b, sizeof(b), 1752871354.001, 0);
    task_make_id(c, sizeof(c), 1752871354.001, 1);
    assert_true(strcmp(a, b) < 0);
    assert_true(strcmp(b, c) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_strings_as_numbers),
        cmocka_unit_test(test_gpu_shares_and_whole_gpus),
        cmocka_unit_test(test_each_field_is_checked),
        cmocka_unit_test(test_image_references),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_ids_sort_by_time),
        cmocka_unit_test(test_pinned_worker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
