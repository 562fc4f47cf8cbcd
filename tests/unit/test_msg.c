/* Unit tests: agent protocol frames, decoded and validated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "proto/fastjson.h"
#include "proto/msg.h"

static json_t *frame(const char *s)
{
    struct msg_error err;
    json_t *j = msg_parse(s, strlen(s), &err);
    assert_non_null(j);
    return j;
}

static void test_parse_rejects_non_frames(void **state)
{
    (void)state;
    struct msg_error err;
    const char *bad[] = {"", "nope", "[1]", "{\"a\":1}", "{\"type\":3}",
                         "{\"type\":\"x\",\"type\":\"y\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(msg_parse(bad[i], strlen(bad[i]), &err));
        assert_string_equal(err.code, "BAD_FRAME");
    }
    json_t *j = frame("{\"type\":\"warp\"}");
    assert_int_equal(msg_type_of(j), MSG_UNKNOWN);
    json_decref(j);
}

static void test_hello(void **state)
{
    (void)state;
    json_t *j = frame("{\"type\":\"hello\",\"version\":1,\"worker_id\":\"gpu-07\",\"token\":\"t\","
                      "\"capacity\":{\"cpu\":96,\"memory_mib\":1048576,\"storage_mib\":5000,"
                      "\"gpus\":[{\"index\":0,\"uuid\":\"GPU-a\",\"model\":\"NVIDIA H100 80GB HBM3\","
                      "\"memory_mib\":81559}]},\"executors\":[\"process\",\"docker\"],"
                      "\"labels\":{\"zone\":\"b\"}}");
    struct hello h;
    const char *tok;
    struct msg_error err;
    assert_int_equal(msg_type_of(j), MSG_HELLO);
    assert_int_equal(msg_decode_hello(j, &h, &tok, &err), 0);
    assert_string_equal(h.worker_id, "gpu-07");
    assert_string_equal(tok, "t");
    assert_true(h.cpu == 96);
    assert_int_equal(h.memory_mib, 1048576);
    assert_int_equal(h.ngpus, 1);
    assert_string_equal(h.gpus[0].uuid, "GPU-a");
    assert_string_equal(h.gpus[0].device, "nvidia0");
    assert_int_equal(h.executors, SCHED_EXEC_PROCESS | SCHED_EXEC_DOCKER);
    json_decref(j);

    const char *bad[][2] = {
        {"{\"type\":\"hello\",\"version\":2,\"worker_id\":\"w\",\"capacity\":{\"cpu\":1,\"memory_mib\":1}}", "UNSUPPORTED_VERSION"},
        {"{\"type\":\"hello\",\"version\":1,\"worker_id\":\"a b\",\"capacity\":{\"cpu\":1,\"memory_mib\":1}}", "BAD_MESSAGE"},
        {"{\"type\":\"hello\",\"version\":1,\"worker_id\":\"w\"}", "BAD_MESSAGE"},
        {"{\"type\":\"hello\",\"version\":1,\"worker_id\":\"w\",\"capacity\":{\"cpu\":-1,\"memory_mib\":1}}", "BAD_MESSAGE"},
        {"{\"type\":\"hello\",\"version\":1,\"worker_id\":\"w\",\"capacity\":{\"cpu\":1,\"memory_mib\":1},\"executors\":[\"vm\"]}", "BAD_MESSAGE"},
        {"{\"type\":\"hello\",\"version\":1,\"worker_id\":\"w\",\"capacity\":{\"cpu\":1,\"memory_mib\":1},\"labels\":{\"a\":1}}", "BAD_MESSAGE"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = frame(bad[i][0]);
        assert_int_equal(msg_decode_hello(j, &h, &tok, &err), -1);
        assert_string_equal(err.code, bad[i][1]);
        json_decref(j);
    }
}

static void test_heartbeat(void **state)
{
    (void)state;
    json_t *j = frame("{\"type\":\"heartbeat\",\"seq\":9,\"timestamp\":1752871354.5,"
                      "\"cpu_usage\":45.2,\"memory_usage\":62.8,\"ack\":true,"
                      "\"gpus\":[{\"uuid\":\"GPU-a\",\"utilization\":99,\"power_w\":301.25,"
                      "\"timestamp\":1752871354.0}],\"tasks\":[{\"task_id\":\"t-1\",\"cpu_usage\":150}]}");
    static struct heartbeat hb;
    int ack;
    struct msg_error err;
    assert_int_equal(msg_decode_heartbeat(j, &hb, &ack, &err), 0);
    assert_int_equal(hb.seq, 9);
    assert_true(ack);
    assert_true(hb.has_cpu && hb.has_memory && !hb.has_storage && !hb.has_gpu);
    assert_int_equal(hb.ngpus, 1);
    assert_string_equal(hb.gpus[0].uuid, "GPU-a");
    assert_true(gpu_sample_has(&hb.gpus[0].sample, GM_UTIL));
    assert_false(gpu_sample_has(&hb.gpus[0].sample, GM_TEMP));
    assert_true(hb.gpus[0].sample.v[GM_POWER] == 301.25);
    assert_true(hb.gpus[0].sample.ts == 1752871354.0);
    assert_int_equal(hb.ntasks, 1);
    json_decref(j);
    j = frame("{\"type\":\"heartbeat\",\"gpus\":[{\"utilization\":1}]}");
    assert_int_equal(msg_decode_heartbeat(j, &hb, &ack, &err), -1);
    json_decref(j);
    j = frame("{\"type\":\"heartbeat\",\"memory_usage\":\"lots\"}");
    assert_int_equal(msg_decode_heartbeat(j, &hb, &ack, &err), -1);
    assert_non_null(strstr(err.message, "memory_usage"));
    json_decref(j);
}

static void test_results_and_logs(void **state)
{
    (void)state;
    const char *id, *reason, *stream, *data;
    enum task_status st;
    int has_exit, code;
    size_t len;
    struct msg_error err;
    json_t *j = frame("{\"type\":\"task_finished\",\"task_id\":\"t-1\",\"status\":\"failed\","
                      "\"exit_code\":3,\"reason\":\"boom\"}");
    assert_int_equal(msg_decode_finished(j, &id, &st, &has_exit, &code, &reason, &err), 0);
    assert_int_equal(st, TS_FAILED);
    assert_true(has_exit);
    assert_int_equal(code, 3);
    json_decref(j);
    j = frame("{\"type\":\"task_finished\",\"task_id\":\"t-1\",\"status\":\"running\"}");
    assert_int_equal(msg_decode_finished(j, &id, &st, &has_exit, &code, &reason, &err), -1);
    json_decref(j);
    j = frame("{\"type\":\"log\",\"task_id\":\"t-1\",\"stream\":\"stderr\",\"data\":\"a\\u0000b\"}");
    assert_int_equal(msg_decode_log(j, &id, &stream, &data, &len, &err), 0);
    assert_int_equal(len, 3);
    json_decref(j);
    j = frame("{\"type\":\"log\",\"task_id\":\"t-1\",\"stream\":\"tty\",\"data\":\"x\"}");
    assert_int_equal(msg_decode_log(j, &id, &stream, &data, &len, &err), -1);
    json_decref(j);
}

static void test_frames_end_in_newline(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(msg_error_frame(&b, "BAD_TOKEN", "no"), 0);
    buf_nul(&b);
    assert_string_equal(buf_start(&b), "{\"type\":\"error\",\"code\":\"BAD_TOKEN\",\"message\":\"no\"}\n");
    buf_free(&b);
}

static void test_fast_heartbeat_agrees_with_jansson(void **state)
{
    (void)state;
    const char *accepted[] = {
        "{\"type\":\"heartbeat\",\"seq\":7,\"cpu_usage\":45.2,\"memory_usage\":62.8,\"ack\":true}",
        "{\"type\":\"heartbeat\",\"gpus\":[{\"index\":0,\"utilization\":99,\"power_w\":301.125,"
        "\"timestamp\":1752871354.0},{\"uuid\":\"GPU-\\u00e9x\",\"temperature_c\":null}],"
        "\"tasks\":[{\"task_id\":\"t-1\",\"cpu_usage\":150,\"memory_mib\":12}]}",
        " { \"type\" : \"heartbeat\" , \"seq\" : 1e2 , \"timestamp\":-0.5 } ",
        "{\"type\":\"heartbeat\",\"gpus\":[],\"tasks\":[]}",
    };
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        int rc = msg_check_heartbeat(accepted[i], strlen(accepted[i]));
        if (rc != 0)
            fail_msg("frame %zu: %d", i, rc);
    }
    const char *declined[] = {
        "{\"type\":\"heartbeat\",\"seq\":1,\"seq\":2}",
        "{\"type\":\"heartbeat\",\"cpu_usage\":\"high\"}",
        "{\"type\":\"heartbeat\",\"gpus\":[{\"utilization\":1}]}",
        "{\"type\":\"heartbeat\",\"seq\":01}",
        "{\"type\":\"heartbeat\",}",
        "{\"type\":\"heartbeat\"} x",
        "{\"type\":\"ping\"}",
        "{\"type\":\"heartbeat\",\"gpus\":[{\"index\":0,\"utilization\":1e999}]}",
        "{\"type\":\"heartbeat\",\"extra\":[{\"a\":1,\"a\":2}]}",
        "{\"type\":\"heartbeat\",\"gpus\":[{\"index\":0,\"index\":1}]}",
    };
    for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++) {
        int rc = msg_check_heartbeat(declined[i], strlen(declined[i]));
        if (rc != 1)
            fail_msg("declined frame %zu: %d", i, rc);
    }
}

/* The fast path of fj_number gives strtod's double, bit for bit, on
 * numbers of every length and sign the agents send (and longer ones). */
static void test_numbers_match_strtod(void **state)
{
    (void)state;
    unsigned long long x = 88172645463325252ULL;
    char text[64], frame[80];
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int intd = 1 + (int)(x % 12), fracd = (int)((x >> 8) % 10);
        unsigned long long a = (x >> 16) % 1000000000000ULL;
        int n = snprintf(text, sizeof(text), "%s%llu", (x >> 60) & 1 ? "-" : "", a);
        if (n > intd + 1)
            n = intd + (text[0] == '-');
        text[n] = '\0';
        if (fracd) {
            n += snprintf(text + n, sizeof(text) - (size_t)n, ".");
            for (int k = 0; k < fracd; k++)
                text[n++] = (char)('0' + (x >> (k * 4)) % 10);
            text[n] = '\0';
        }
        if ((text[0] == '0' || (text[0] == '-' && text[1] == '0')) && text[n - 1] != '0' && !fracd)
            continue;                 /* "07" is not JSON */
        snprintf(frame, sizeof(frame), "%s}", text);
        struct fj j;
        double v;
        fj_init(&j, frame, strlen(frame));
        if (fj_number(&j, &v) < 0) {
            if (text[0] == '0' || (text[0] == '-' && text[1] == '0'))
                continue;             /* leading zeros are refused, rightly */
            fail_msg("refused %s", text);
        }
        double want = fracd ? strtod(text, NULL) : (double)strtoll(text, NULL, 10);
        if (memcmp(&v, &want, sizeof(v)) != 0)
            fail_msg("%s: %.17g, strtod %.17g", text, v, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_rejects_non_frames),
        cmocka_unit_test(test_hello),
        cmocka_unit_test(test_heartbeat),
        cmocka_unit_test(test_results_and_logs),
        cmocka_unit_test(test_frames_end_in_newline),
        cmocka_unit_test(test_fast_heartbeat_agrees_with_jansson),
        cmocka_unit_test(test_numbers_match_strtod),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
