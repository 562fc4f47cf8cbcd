/* libFuzzer: configuration text (INI) and every value parser behind it. */
#include <ini.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/parse.h"
#include "core/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_ini(void *user, const char *section, const char *name,
                  const char *value)
{
    char err[512];
    config_set(user, section, name, value, err, sizeof(err));
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct config cfg;
    config_defaults(&cfg);
    ini_parse_string(text, on_ini, &cfg);
    config_free(&cfg);

    char err[256];
    double d;
    size_t sz;
    struct hostport hp;
    struct redis_addr ra;
    long maxlen;
    parse_duration(text, &d, err, sizeof(err));
    parse_size(text, &sz, err, sizeof(err));
    parse_hostport(text, &hp, err, sizeof(err));
    parse_redis_url(text, &ra, err, sizeof(err));
    config_parse_retention(text, &d, &maxlen);
    config_parse_tokens(text, err, sizeof(err), NULL, NULL);
    time_parse(text, &d);
    free(text);
    return 0;
}
