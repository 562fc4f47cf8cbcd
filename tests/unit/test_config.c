/* Unit tests: configuration values, files, environment overrides, and the
 * value parsers behind them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/parse.h"

static char err[1024];

static void test_durations(void **state)
{
    (void)state;
    double d;
    assert_int_equal(parse_duration("500ms", &d, err, sizeof(err)), 0);
    assert_true(d == 0.5);
    assert_int_equal(parse_duration("5s", &d, err, sizeof(err)), 0);
    assert_true(d == 5);
    assert_int_equal(parse_duration("2m", &d, err, sizeof(err)), 0);
    assert_true(d == 120);
    assert_int_equal(parse_duration("24h", &d, err, sizeof(err)), 0);
    assert_true(d == 86400);
    assert_int_equal(parse_duration("30", &d, err, sizeof(err)), 0);
    assert_true(d == 30);
    assert_int_equal(parse_duration("1.5s", &d, err, sizeof(err)), 0);
    assert_true(d == 1.5);
    const char *bad[] = {"", "abc", "5x", "-1s", "5 s s", " 5s", "nan", "1e400s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_duration(bad[i], &d, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "duration"));
    char out[32];
    format_duration(0.5, out, sizeof(out));
    assert_string_equal(out, "500ms");
    format_duration(86400, out, sizeof(out));
    assert_string_equal(out, "24h");
    format_duration(90, out, sizeof(out));
    assert_string_equal(out, "90s");
}

static void test_sizes(void **state)
{
    (void)state;
    size_t s;
    assert_int_equal(parse_size("64KiB", &s, err, sizeof(err)), 0);
    assert_int_equal(s, 65536);
    assert_int_equal(parse_size("1MiB", &s, err, sizeof(err)), 0);
    assert_int_equal(s, 1048576);
    assert_int_equal(parse_size("2GiB", &s, err, sizeof(err)), 0);
    assert_int_equal(s, 2147483648UL);
    assert_int_equal(parse_size("512", &s, err, sizeof(err)), 0);
    assert_int_equal(s, 512);
    assert_int_equal(parse_size("512B", &s, err, sizeof(err)), 0);
    assert_int_equal(s, 512);
    const char *bad[] = {"", "MiB", "1.5B", "-1KiB", "1XB", "99999999999GiB"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_size(bad[i], &s, err, sizeof(err)), -1);
}

static void test_addresses_and_urls(void **state)
{
    (void)state;
    struct hostport hp;
    assert_int_equal(parse_hostport("127.0.0.1:8080", &hp, err, sizeof(err)), 0);
    assert_string_equal(hp.host, "127.0.0.1");
    assert_int_equal(hp.port, 8080);
    assert_int_equal(parse_hostport("[::1]:7070", &hp, err, sizeof(err)), 0);
    assert_string_equal(hp.host, "::1");
    assert_int_equal(parse_hostport(":0", &hp, err, sizeof(err)), 0);
    assert_string_equal(hp.host, "");
    assert_int_equal(parse_hostport("localhost", &hp, err, sizeof(err)), -1);
    assert_int_equal(parse_hostport("h:70000", &hp, err, sizeof(err)), -1);
    assert_int_equal(parse_hostport("::1:80", &hp, err, sizeof(err)), -1);

    struct redis_addr ra;
    assert_int_equal(parse_redis_url("redis://127.0.0.1:6380/2", &ra, err, sizeof(err)), 0);
    assert_string_equal(ra.host, "127.0.0.1");
    assert_int_equal(ra.port, 6380);
    assert_int_equal(ra.db, 2);
    assert_int_equal(parse_redis_url("redis://localhost", &ra, err, sizeof(err)), 0);
    assert_string_equal(ra.host, "127.0.0.1");
    assert_int_equal(ra.port, 6379);
    assert_int_equal(parse_redis_url("unix:/run/redis.sock", &ra, err, sizeof(err)), 0);
    assert_string_equal(ra.path, "/run/redis.sock");
    assert_int_equal(parse_redis_url("redis://redis.example.com:6379", &ra, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "numeric"));
    assert_int_equal(parse_redis_url("http://x", &ra, err, sizeof(err)), -1);
    assert_int_equal(parse_redis_url("redis://127.0.0.1:6379/99", &ra, err, sizeof(err)), -1);
    assert_int_equal(ra.nsentinels, 0);
}

static void test_sentinel_urls(void **state)
{
    (void)state;
    struct redis_addr ra;
    const char *url = "sentinel://127.0.0.1:26380,localhost,[::1]:26381/mymaster/3";
    assert_int_equal(parse_redis_url(url, &ra, err, sizeof(err)), 0);
    assert_int_equal(ra.nsentinels, 3);
    assert_string_equal(ra.sentinels[0].host, "127.0.0.1");
    assert_int_equal(ra.sentinels[0].port, 26380);
    assert_string_equal(ra.sentinels[1].host, "127.0.0.1");
    assert_int_equal(ra.sentinels[1].port, 26379);
    assert_string_equal(ra.sentinels[2].host, "::1");
    assert_int_equal(ra.sentinels[2].port, 26381);
    assert_string_equal(ra.master_name, "mymaster");
    assert_int_equal(ra.db, 3);
    assert_string_equal(ra.host, "");
    assert_int_equal(parse_redis_url("sentinel://127.0.0.1:26379/m", &ra, err, sizeof(err)), 0);
    assert_int_equal(ra.db, 0);
    assert_int_equal(parse_redis_url("sentinel://127.0.0.1:26379", &ra, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "MASTER_NAME"));
    assert_int_equal(parse_redis_url("sentinel:///m", &ra, err, sizeof(err)), -1);
    assert_int_equal(parse_redis_url("sentinel://127.0.0.1,,127.0.0.2/m", &ra, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(parse_redis_url("sentinel://s.example.com/m", &ra, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "numeric"));
    assert_int_equal(parse_redis_url("sentinel://127.0.0.1/m y", &ra, err, sizeof(err)), -1);
    assert_int_equal(parse_redis_url("sentinel://127.0.0.1/m/16", &ra, err, sizeof(err)), -1);
    assert_int_equal(parse_redis_url("sentinel://1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,"
                                     "1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9/m", &ra, err, sizeof(err)), -1);
}

static void test_set_names_key_and_reason(void **state)
{
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    assert_true(cfg.agents_heartbeat_timeout == 30);
    assert_int_equal(cfg.http_max_body_size, 1048576);
    assert_string_equal(cfg.http_listen, "127.0.0.1:8080");
    assert_string_equal(cfg.scheduler_policy, "best-fit");

    assert_int_equal(config_set(&cfg, "agents", "heartbeat_timeout", "2s", err, sizeof(err)), 0);
    assert_true(cfg.agents_heartbeat_timeout == 2);
    assert_int_equal(config_set(&cfg, "agents", "heartbeat_timeout", "soon", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "agents.heartbeat_timeout"));
    assert_non_null(strstr(err, "duration"));
    assert_true(cfg.agents_heartbeat_timeout == 2);   /* unchanged */

    assert_int_equal(config_set(&cfg, "http", "max_body_size", "8GiB", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "out of range"));
    assert_int_equal(config_set(&cfg, "http", "nope", "1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown key"));
    assert_int_equal(config_set(&cfg, "scheduler", "policy", "random", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown policy"));
    assert_int_equal(config_set(&cfg, "http", "tokens", "read:abcdefgh,admin:ijklmnop", err, sizeof(err)), 0);
    assert_int_equal(config_set(&cfg, "http", "tokens", "root:abcdefgh", err, sizeof(err)), -1);
    assert_int_equal(config_set(&cfg, "http", "tokens", "read:short", err, sizeof(err)), -1);
    assert_int_equal(config_set(&cfg, "log", "level", "loud", err, sizeof(err)), -1);
    assert_int_equal(config_set(&cfg, "redis", "telemetry_retention", "2s", err, sizeof(err)), 0);
    assert_int_equal(config_set(&cfg, "redis", "telemetry_retention", "5000 entries", err, sizeof(err)), 0);
    assert_int_equal(config_set(&cfg, "redis", "telemetry_retention", "lots", err, sizeof(err)), -1);
    double age;
    long maxlen;
    assert_int_equal(config_parse_retention("5000 entries", &age, &maxlen), 0);
    assert_int_equal(maxlen, 5000);
    assert_int_equal(config_parse_retention("2s", &age, &maxlen), 0);
    assert_true(age == 2);
    config_free(&cfg);
}

static const char *write_file(const char *text)
{
    static char path[] = "/tmp/gantry-test-configXXXXXX";
    strcpy(path, "/tmp/gantry-test-configXXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_file_then_env(void **state)
{
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    const char *p = write_file("[http]\nlisten = 127.0.0.1:9999\n\n[agents]\n"
                               "token = secret-join\nmax_frame = 64KiB\n");
    assert_int_equal(config_load_file(&cfg, p, err, sizeof(err)), 0);
    unlink(p);
    assert_string_equal(cfg.http_listen, "127.0.0.1:9999");
    assert_string_equal(cfg.agents_token, "secret-join");
    assert_int_equal(cfg.agents_max_frame, 65536);

    setenv("GANTRY_AGENTS_TOKEN", "from-env", 1);
    setenv("GANTRY_SCHEDULER_INTERVAL", "250ms", 1);
    assert_int_equal(config_load_env(&cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.agents_token, "from-env");
    assert_true(cfg.scheduler_interval == 0.25);
    setenv("GANTRY_HTTP_MAX_BODY_SIZE", "huge", 1);
    assert_int_equal(config_load_env(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "GANTRY_HTTP_MAX_BODY_SIZE"));
    unsetenv("GANTRY_HTTP_MAX_BODY_SIZE");
    unsetenv("GANTRY_AGENTS_TOKEN");
    unsetenv("GANTRY_SCHEDULER_INTERVAL");
    config_free(&cfg);
}

static void test_file_errors_name_line_and_key(void **state)
{
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    const char *p = write_file("[agents]\n# comment\nlost_after = forever\n");
    assert_int_equal(config_load_file(&cfg, p, err, sizeof(err)), -1);
    unlink(p);
    assert_non_null(strstr(err, ":3:"));
    assert_non_null(strstr(err, "agents.lost_after"));
    p = write_file("[agents\nx\n");
    assert_int_equal(config_load_file(&cfg, p, err, sizeof(err)), -1);
    unlink(p);
    assert_non_null(strstr(err, ":1:"));
    assert_int_equal(config_load_file(&cfg, "/nonexistent/gantry.conf", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open"));
    config_free(&cfg);
}

/* conf/gantry.conf shows every key with its default: the two stay true to
 * each other. */
static void test_shipped_file_documents_every_default(void **state)
{
    (void)state;
    FILE *f = fopen("conf/gantry.conf", "r");
    assert_non_null(f);
    char text[32768];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    for (const struct config_key *k = config_keys; k->key; k++) {
        char section[64], line[256];
        snprintf(section, sizeof(section), "[%s]", k->section);
        snprintf(line, sizeof(line), "\n#%s = %s\n", k->key, k->def);
        if (!k->def[0])
            snprintf(line, sizeof(line), "\n#%s =\n", k->key);
        const char *s = strstr(text, section);
        assert_non_null(s);
        const char *next = strstr(s + 1, "\n[");
        const char *l = strstr(s, line);
        if (!l || (next && l > next))
            fail_msg("conf/gantry.conf lacks '%s' under %s", line + 1, section);
    }
    struct config cfg, ref;
    config_defaults(&cfg);
    config_defaults(&ref);
    assert_int_equal(config_load_file(&cfg, "conf/gantry.conf", err, sizeof(err)), 0);
    for (const struct config_key *k = config_keys; k->key; k++)
        assert_true(config_equal_key(&cfg, &ref, k));
    config_free(&cfg);
    config_free(&ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_addresses_and_urls),
        cmocka_unit_test(test_sentinel_urls),
        cmocka_unit_test(test_set_names_key_and_reason),
        cmocka_unit_test(test_file_then_env),
        cmocka_unit_test(test_file_errors_name_line_and_key),
        cmocka_unit_test(test_shipped_file_documents_every_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
