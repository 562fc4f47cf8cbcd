/* libFuzzer: gantryctl's command-line parser, the size parser and the
 * completion context, on words split from the input at newlines. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/table.h"

#define MAX_WORDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *words[MAX_WORDS];
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    int n = 0;
    for (char *p = text; n < MAX_WORDS;) {
        words[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    struct cli_globals g;
    struct cli_cmd cmd;
    char err[256];
    memset(&g, 0, sizeof(g));
    cli_parse(n, words, &g, &cmd, err, sizeof(err));
    const struct cli_verb *v;
    cli_complete_kind(n, words, &v);
    struct cli_table t;
    cli_table_init(&t, 2, NULL);
    for (int i = 0; i < n; i++) {
        int64_t mib;
        cli_parse_mib(words[i], &mib, err, sizeof(err));
        const char *cells[2] = {words[i], words[n - 1 - i]};
        cli_table_row(&t, cells);
    }
    free(cli_table_render(&t, CLI_TABLE_ALIGN | CLI_TABLE_COLOR));
    free(cli_table_render(&t, CLI_TABLE_PLAIN));
    cli_table_free(&t);
    free(text);
    return 0;
}
