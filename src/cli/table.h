/* Tables: aligned columns with a bold header and coloured cells on a
 * terminal; tab-separated lines without header or colour when piped. Cells
 * are copied, with control characters made spaces (a task's output or
 * label cannot move the cursor). Pure: renders into a string. */
#ifndef GANTRY_CLI_TABLE_H
#define GANTRY_CLI_TABLE_H

#include <stddef.h>

#define CLI_TABLE_MAX_COLS 16

enum cli_table_mode {
    CLI_TABLE_PLAIN = 0,      /* tab-separated, no header */
    CLI_TABLE_ALIGN = 1,      /* padded columns, header line */
    CLI_TABLE_COLOR = 2,      /* with ALIGN: SGR colours */
};

struct cli_table {
    int ncols;
    const char *headers[CLI_TABLE_MAX_COLS]; /* NULL: a key-value block, no header */
    unsigned right;                          /* bit i: column i right-aligned */
    char **cells;                            /* nrows * ncols */
    const char **colors;                     /* SGR parameters ("32") or NULL */
    int nrows, cap;
};

void cli_table_init(struct cli_table *t, int ncols, const char *const *headers);
void cli_table_right(struct cli_table *t, int col);
int cli_table_row(struct cli_table *t, const char *const *cells);
void cli_table_color(struct cli_table *t, int col, const char *sgr);
char *cli_table_render(const struct cli_table *t, int mode);
void cli_table_free(struct cli_table *t);
size_t cli_text_width(const char *s);

#endif
