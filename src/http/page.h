/* The live web page served at GET /: workers, GPUs, tasks and events,
 * updated over WebSocket; self-contained (no external network). */
#ifndef GANTRY_PAGE_H
#define GANTRY_PAGE_H

#include <stddef.h>

extern const char page_html[];
extern const size_t page_html_len;

#endif
