/* The terminal: whether stdout is one, colours, its size, raw keys for the
 * full-screen views, and Ctrl-C as an event (a self-pipe the follow loops
 * poll), so a follow stops cleanly and the shell goes on. */
#ifndef GANTRY_CLI_TERM_H
#define GANTRY_CLI_TERM_H

#include <stdio.h>

int cli_sig_init(void);
int cli_sig_fd(void);
int cli_sig_pending(void);
void cli_sig_clear(void);

int cli_term_size(int *rows, int *cols);
int cli_term_raw(int on);
int cli_term_utf8(void);
void cli_screen_enter(void);
void cli_screen_leave(void);

#endif
