/* Unit tests: gantryctl's argument parsing (global options anywhere, verb
 * options, values checked by kind, "--"), sizes and durations, what Tab
 * completes, table layout (aligned, coloured, plain), human units and the
 * exit-code mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/outcome.h"
#include "cli/table.h"
#include "cli/units.h"

struct parsed {
    struct cli_globals g;
    struct cli_cmd cmd;
    char err[256];
    int rc;
};

/* Parses a space-separated line (no quoting needed in these tests). */
static struct parsed parse(const char *line)
{
    static char buf[1024];
    static char *words[64];
    struct parsed p;
    int n = 0;
    memset(&p, 0, sizeof(p));
    snprintf(buf, sizeof(buf), "%s", line);
    for (char *w = strtok(buf, " "); w && n < 64; w = strtok(NULL, " "))
        words[n++] = w;
    p.rc = cli_parse(n, words, &p.g, &p.cmd, p.err, sizeof(p.err));
    return p;
}

static void expect_error(const char *line, const char *message)
{
    struct parsed p = parse(line);
    if (p.rc != -1)
        fail_msg("accepted: %s", line);
    if (!strstr(p.err, message))
        fail_msg("%s: said '%s', expected '%s'", line, p.err, message);
}

static void test_verbs_options_and_globals_anywhere(void **state)
{
    (void)state;
    struct parsed p = parse("--server http://h:1 workers --state active --json -w");
    assert_int_equal(p.rc, 0);
    assert_string_equal(p.cmd.verb->name, "workers");
    assert_string_equal(p.g.server, "http://h:1");
    assert_true(p.g.json);
    assert_string_equal(cli_opt_value(&p.cmd, "state"), "active");
    assert_true(cli_opt_flag(&p.cmd, "watch"));
    p = parse("logs t-1 -f --token=abc");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.cmd.nargs, 1);
    assert_string_equal(p.cmd.args[0], "t-1");
    assert_true(cli_opt_flag(&p.cmd, "follow"));
    assert_string_equal(p.g.token, "abc");
    p = parse("");
    assert_int_equal(p.rc, 0);
    assert_null(p.cmd.verb);
    p = parse("--version");
    assert_int_equal(p.rc, 0);
    assert_true(p.g.version);
    p = parse("cancel --help");
    assert_int_equal(p.rc, 0);
    assert_true(p.g.help);
}

static void test_submit_options_repeat_and_command_after_dashes(void **state)
{
    (void)state;
    struct parsed p = parse("submit --cpu 2 --mem 4GiB --env A=1 --env B=x=y --label zone=a "
                            "--worker w1 --timeout 90s --wait -- python3 train.py --lr 0.1");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.cmd.nrest, 4);
    assert_string_equal(p.cmd.rest[0], "python3");
    assert_string_equal(p.cmd.rest[2], "--lr");
    assert_string_equal(cli_opt_value(&p.cmd, "mem"), "4GiB");
    assert_string_equal(cli_opt_value(&p.cmd, "worker"), "w1");
    int envs = 0;
    for (int i = 0; i < p.cmd.nset; i++)
        envs += strcmp(p.cmd.set[i].opt->name, "env") == 0;
    assert_int_equal(envs, 2);
    assert_string_equal(cli_opt_value(&p.cmd, "env"), "B=x=y");
    assert_true(cli_opt_flag(&p.cmd, "wait"));
    assert_false(cli_opt_flag(&p.cmd, "follow"));
}

static void test_usage_errors_name_the_problem(void **state)
{
    (void)state;
    expect_error("frobnicate", "unknown verb 'frobnicate'");
    expect_error("workers --bogus", "unknown flag --bogus");
    expect_error("--bogus workers", "unknown flag --bogus");
    expect_error("tasks -z", "unknown flag -z");
    expect_error("submit --mem 12XB -- true", "--mem: '12XB' is not a size");
    expect_error("submit --storage lots -- true", "--storage: 'lots' is not a size");
    expect_error("cancel t-1 --grace soon", "--grace: 'soon' is not a duration");
    expect_error("submit --timeout 5parsecs -- x", "--timeout: '5parsecs' is not a duration");
    expect_error("tasks --limit 2.5", "--limit: '2.5' is not a whole number");
    expect_error("submit --cpu -1 -- x", "--cpu: '-1' is not a number");
    expect_error("submit --env NOVALUE -- x", "--env: 'NOVALUE' is not KEY=VALUE");
    expect_error("register w1 --labels a=1,", "--labels: 'a=1,' is not k=v,k2=v2");
    expect_error("submit --mem", "--mem needs a value (SIZE)");
    expect_error("workers --watch=yes", "--watch takes no value");
    expect_error("worker", "worker needs ID");
    expect_error("worker a b", "unexpected argument 'b'");
    expect_error("workers -- x", "unexpected '--'");
    struct parsed p = parse("workers --bogus");
    assert_non_null(p.cmd.verb);
    assert_string_equal(p.cmd.verb->name, "workers");
}

static void test_sizes_and_durations(void **state)
{
    (void)state;
    char err[128];
    int64_t mib;
    struct {
        const char *text;
        int64_t mib;
    } ok[] = {{"512", 512}, {"512MiB", 512}, {"2GiB", 2048}, {"1.5G", 1536}, {"100KiB", 1},
              {"1TiB", 1048576}, {"1GB", 954}, {"0", 0}, {"3M", 3}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (cli_parse_mib(ok[i].text, &mib, err, sizeof(err)) != 0 || mib != ok[i].mib)
            fail_msg("%s -> %lld (%s), expected %lld", ok[i].text, (long long)mib, err,
                     (long long)ok[i].mib);
    }
    const char *bad[] = {"", "GiB", "-1GiB", "2 GiB", "12XB", "1e400", " 5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (cli_parse_mib(bad[i], &mib, err, sizeof(err)) == 0)
            fail_msg("accepted size '%s'", bad[i]);
    const struct cli_opt *grace = cli_opt_find(cli_verb_find("cancel")->opts, "grace", 0);
    assert_int_equal(cli_check_value(grace, "500ms", err, sizeof(err)), 0);
    assert_int_equal(cli_check_value(grace, "2m", err, sizeof(err)), 0);
    assert_int_equal(cli_check_value(grace, "2 fortnights", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--grace"));
}

static void test_completion_kinds(void **state)
{
    (void)state;
    const struct cli_verb *v;
    char *none[] = {NULL};
    assert_int_equal(cli_complete_kind(0, none, &v), CLI_C_VERB);
    char *worker[] = {"worker"};
    assert_int_equal(cli_complete_kind(1, worker, &v), CLI_C_WORKER);
    assert_string_equal(v->name, "worker");
    char *logs[] = {"--json", "logs", "-f"};
    assert_int_equal(cli_complete_kind(3, logs, &v), CLI_C_TASK);
    char *logs_done[] = {"logs", "t-1"};
    assert_int_equal(cli_complete_kind(2, logs_done, &v), CLI_C_NONE);
    char *pin[] = {"submit", "--cpu", "2", "--worker"};
    assert_int_equal(cli_complete_kind(4, pin, &v), CLI_C_WORKER);
    char *status[] = {"tasks", "--status"};
    assert_int_equal(cli_complete_kind(2, status, &v), CLI_C_TASK_STATUS);
    char *state_opt[] = {"workers", "--state"};
    assert_int_equal(cli_complete_kind(2, state_opt, &v), CLI_C_WORKER_STATE);
    char *help[] = {"help"};
    assert_int_equal(cli_complete_kind(1, help, &v), CLI_C_VERB);
    char *unknown[] = {"nope"};
    assert_int_equal(cli_complete_kind(1, unknown, &v), CLI_C_NONE);
}

static char *render(struct cli_table *t, int mode)
{
    char *s = cli_table_render(t, mode);
    assert_non_null(s);
    return s;
}

static void test_table_layout(void **state)
{
    (void)state;
    static const char *const heads[] = {"WORKER", "STATE", "TASKS"};
    struct cli_table t;
    cli_table_init(&t, 3, heads);
    cli_table_right(&t, 2);
    const char *r1[] = {"gpu-001", "active", "3"};
    const char *r2[] = {"a", "draining\tnow", "12"};
    cli_table_row(&t, r1);
    cli_table_color(&t, 1, "32");
    cli_table_row(&t, r2);
    char *s = render(&t, CLI_TABLE_ALIGN);
    assert_string_equal(s, "WORKER   STATE         TASKS\n"
                           "gpu-001  active            3\n"
                           "a        draining now     12\n");
    free(s);
    s = render(&t, CLI_TABLE_PLAIN);
    assert_string_equal(s, "gpu-001\tactive\t3\na\tdraining now\t12\n");
    free(s);
    s = render(&t, CLI_TABLE_ALIGN | CLI_TABLE_COLOR);
    assert_non_null(strstr(s, "\033[1mWORKER\033[0m"));
    assert_non_null(strstr(s, "gpu-001  \033[32mactive\033[0m        "));
    assert_null(strstr(s, "draining now\033"));
    free(s);
    cli_table_free(&t);
}

static void test_table_counts_characters_not_bytes(void **state)
{
    (void)state;
    struct cli_table t;
    cli_table_init(&t, 2, NULL);
    const char *r1[] = {"gpu", "\u2581\u2588\u2585"};
    const char *r2[] = {"model", "x"};
    cli_table_row(&t, r1);
    cli_table_row(&t, r2);
    char *s = render(&t, CLI_TABLE_ALIGN);
    assert_string_equal(s, "gpu    \u2581\u2588\u2585\nmodel  x\n");
    free(s);
    assert_int_equal(cli_text_width("\u2581\u2588x"), 3);
    cli_table_free(&t);
    cli_table_init(&t, 2, NULL);
    s = render(&t, CLI_TABLE_ALIGN);
    assert_string_equal(s, "");
    free(s);
    cli_table_free(&t);
}

static void test_human_units(void **state)
{
    (void)state;
    char s[64];
    cli_fmt_cores(s, sizeof(s), 2, 8);
    assert_string_equal(s, "2.0/8 cores");
    cli_fmt_mib_pair(s, sizeof(s), 3174.4, 15974.4);
    assert_string_equal(s, "3.1/15.6 GiB");
    cli_fmt_mib_pair(s, sizeof(s), 100, 900);
    assert_string_equal(s, "100/900 MiB");
    cli_fmt_mib(s, sizeof(s), 256);
    assert_string_equal(s, "256 MiB");
    cli_fmt_mib(s, sizeof(s), 3 * 1048576.0);
    assert_string_equal(s, "3.0 TiB");
    cli_fmt_percent(s, sizeof(s), 41.4);
    assert_string_equal(s, "41%");
    cli_fmt_percent(s, sizeof(s), -1);
    assert_string_equal(s, "-");
    cli_fmt_ago(s, sizeof(s), 1000, 1003.9);
    assert_string_equal(s, "3s ago");
    cli_fmt_ago(s, sizeof(s), 1000, 1000 + 7200 + 5);
    assert_string_equal(s, "2h ago");
    cli_fmt_ago(s, sizeof(s), 1005, 1000);
    assert_string_equal(s, "0s ago");
    cli_fmt_ago(s, sizeof(s), 0, 1000);
    assert_string_equal(s, "never");
    cli_fmt_duration(s, sizeof(s), 200);
    assert_string_equal(s, "3m20s");
    cli_fmt_duration(s, sizeof(s), 0.35);
    assert_string_equal(s, "350ms");
    cli_fmt_duration(s, sizeof(s), 93784);
    assert_string_equal(s, "1d2h");
    double t;
    json_t *v = json_string("2025-07-18T20:42:34.250Z");
    assert_int_equal(cli_json_time(v, &t), 0);
    assert_true(t == 1752871354.25);
    json_decref(v);
    v = json_integer(1752871354);
    assert_int_equal(cli_json_time(v, &t), 0);
    assert_true(t == 1752871354);
    json_decref(v);
    assert_int_equal(cli_json_time(json_null(), &t), -1);
}

static void test_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(cli_exit_for_http(200), CLI_OK);
    assert_int_equal(cli_exit_for_http(201), CLI_OK);
    assert_int_equal(cli_exit_for_http(404), CLI_REFUSED);
    assert_int_equal(cli_exit_for_http(422), CLI_REFUSED);
    assert_int_equal(cli_exit_for_http(503), CLI_REFUSED);
    assert_int_equal(cli_exit_for_http(0), CLI_UNREACHABLE);
    assert_int_equal(cli_exit_for_task("completed", 1, 0), 0);
    assert_int_equal(cli_exit_for_task("failed", 1, 3), 3);
    assert_int_equal(cli_exit_for_task("failed", 1, 137), 137);
    assert_int_equal(cli_exit_for_task("failed", 0, 0), 1);
    assert_int_equal(cli_exit_for_task("failed", 1, 0), 1);
    assert_int_equal(cli_exit_for_task("failed", 1, 300), 1);
    assert_int_equal(cli_exit_for_task("cancelled", 1, 143), 130);
    assert_string_equal(cli_state_color("active"), "32");
    assert_string_equal(cli_state_color("task.failed"), "31");
    assert_null(cli_state_color("task.assign_weird"));
}

static void test_every_verb_has_its_manual(void **state)
{
    (void)state;
    static const char *const spec_verbs[] = {
        "status", "workers", "worker", "register", "drain", "unregister", "submit", "tasks",
        "task", "logs", "monitor", "cancel", "events", "gpus", "gpu", "top", "shell", NULL};
    for (int i = 0; spec_verbs[i]; i++) {
        const struct cli_verb *v = cli_verb_find(spec_verbs[i]);
        if (!v)
            fail_msg("no verb %s", spec_verbs[i]);
        assert_non_null(v->help);
        assert_non_null(strstr(v->example, spec_verbs[i]));
    }
    const struct cli_verb *submit = cli_verb_find("submit");
    static const char *const submit_opts[] = {
        "image", "cpu", "mem", "gpu", "gpu-model", "storage", "priority", "env", "label",
        "worker", "timeout", "max-attempts", "wait", "follow", NULL};
    for (int i = 0; submit_opts[i]; i++)
        if (!cli_opt_find(submit->opts, submit_opts[i], 0))
            fail_msg("submit has no --%s", submit_opts[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verbs_options_and_globals_anywhere),
        cmocka_unit_test(test_submit_options_repeat_and_command_after_dashes),
        cmocka_unit_test(test_usage_errors_name_the_problem),
        cmocka_unit_test(test_sizes_and_durations),
        cmocka_unit_test(test_completion_kinds),
        cmocka_unit_test(test_table_layout),
        cmocka_unit_test(test_table_counts_characters_not_bytes),
        cmocka_unit_test(test_human_units),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_every_verb_has_its_manual),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
