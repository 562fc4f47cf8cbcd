/* Table layout: column widths in characters (UTF-8 aware), padding, and
 * the plain form for scripts. */
#include "table.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

/* Prepares an empty table of ncols columns; headers may be NULL (a block
 * of aligned key-value lines). */
void cli_table_init(struct cli_table *t, int ncols, const char *const *headers)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols < CLI_TABLE_MAX_COLS ? ncols : CLI_TABLE_MAX_COLS;
    for (int i = 0; headers && i < t->ncols; i++)
        t->headers[i] = headers[i];
}

/* Aligns column col to the right (numbers). */
void cli_table_right(struct cli_table *t, int col)
{
    t->right |= 1u << col;
}

static char *clean_copy(const char *s)
{
    char *c = strdup(s ? s : "");
    for (char *p = c; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return c;
}

/* Adds a row of ncols cells (NULL cells are empty). Returns 0 or -1. */
int cli_table_row(struct cli_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, (size_t)cap * (size_t)t->ncols * sizeof(*c));
        if (!c)
            return -1;
        t->cells = c;
        const char **k = realloc(t->colors, (size_t)cap * (size_t)t->ncols * sizeof(*k));
        if (!k)
            return -1;
        t->colors = k;
        t->cap = cap;
    }
    size_t base = (size_t)t->nrows * (size_t)t->ncols;
    for (int i = 0; i < t->ncols; i++) {
        t->cells[base + (size_t)i] = clean_copy(cells[i]);
        t->colors[base + (size_t)i] = NULL;
    }
    t->nrows++;
    return 0;
}

/* Colours cell col of the last row added (sgr: "32", "1;31"). */
void cli_table_color(struct cli_table *t, int col, const char *sgr)
{
    if (t->nrows > 0 && col < t->ncols)
        t->colors[(size_t)(t->nrows - 1) * (size_t)t->ncols + (size_t)col] = sgr;
}

/* Returns the characters s takes on screen (UTF-8 sequences count one). */
size_t cli_text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void pad(struct buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_append(b, " ", 1);
}

static void put_cell(struct buf *b, const char *s, const char *sgr, size_t width, int right,
                     int last)
{
    size_t w = cli_text_width(s);
    size_t gap = width > w ? width - w : 0;
    if (right)
        pad(b, gap);
    if (sgr)
        buf_printf(b, "\033[%sm%s\033[0m", sgr, s);
    else
        buf_append(b, s, strlen(s));
    if (!right && !last)
        pad(b, gap);
}

static void render_line(struct buf *b, const struct cli_table *t, const char *const *cells,
                        const char *const *colors, const size_t *width, int mode)
{
    int align = mode & CLI_TABLE_ALIGN;
    for (int i = 0; i < t->ncols; i++) {
        int last = i == t->ncols - 1;
        if (!align) {
            buf_append(b, cells[i], strlen(cells[i]));
            buf_append(b, last ? "\n" : "\t", 1);
            continue;
        }
        const char *sgr = mode & CLI_TABLE_COLOR && colors ? colors[i] : NULL;
        put_cell(b, cells[i], sgr, width[i], (t->right >> i) & 1, last);
        buf_append(b, last ? "\n" : "  ", last ? 1 : 2);
    }
}

/* Renders the table: ALIGN pads columns two spaces apart under a header
 * (bold with COLOR), else tab-separated lines without the header. Returns
 * a malloc'd string, or NULL on no memory. */
char *cli_table_render(const struct cli_table *t, int mode)
{
    size_t width[CLI_TABLE_MAX_COLS] = {0};
    int header = t->headers[0] && (mode & CLI_TABLE_ALIGN);
    for (int i = 0; i < t->ncols; i++) {
        if (header)
            width[i] = cli_text_width(t->headers[i]);
        for (int r = 0; r < t->nrows; r++) {
            size_t w = cli_text_width(t->cells[(size_t)r * (size_t)t->ncols + (size_t)i]);
            if (w > width[i])
                width[i] = w;
        }
    }
    struct buf b;
    buf_init(&b);
    if (header) {
        const char *bold[CLI_TABLE_MAX_COLS];
        for (int i = 0; i < t->ncols; i++)
            bold[i] = "1";
        render_line(&b, t, t->headers, bold, width, mode);
    }
    for (int r = 0; r < t->nrows; r++) {
        size_t base = (size_t)r * (size_t)t->ncols;
        render_line(&b, t, (const char *const *)t->cells + base, t->colors + base, width, mode);
    }
    /* The buffer's memory becomes the string (nothing was consumed). */
    if (buf_nul(&b) < 0) {
        buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* Frees the cells. */
void cli_table_free(struct cli_table *t)
{
    for (size_t i = 0; i < (size_t)t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->colors);
    memset(t, 0, sizeof(*t));
}
