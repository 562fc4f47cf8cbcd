/* Ctrl-C, window size and raw mode. */
#include "term.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t sig_seen;
static struct termios saved_tio;
static int raw_on;

static void on_sigint(int sig)
{
    int saved = errno;
    sig_seen = 1;
    if (sig_pipe[1] >= 0 && write(sig_pipe[1], "", 1) < 0) {
        /* The pipe is full: Ctrl-C is noted already. */
    }
    errno = saved;
    (void)sig;
}

/* Catches SIGINT (without SA_RESTART, so a blocking read returns) and
 * makes the pipe that reports it. Returns 0 or -1. */
int cli_sig_init(void)
{
    if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    return 0;
}

/* The descriptor that becomes readable on Ctrl-C. */
int cli_sig_fd(void)
{
    return sig_pipe[0];
}

/* Non-zero once Ctrl-C was pressed since the last cli_sig_clear. */
int cli_sig_pending(void)
{
    return sig_seen;
}

/* Forgets a Ctrl-C (the shell, after stopping what it interrupted). */
void cli_sig_clear(void)
{
    char b[64];
    while (sig_pipe[0] >= 0 && read(sig_pipe[0], b, sizeof(b)) > 0) {
    }
    sig_seen = 0;
}

/* The terminal's rows and columns. Returns 0, or -1 (not a terminal:
 * 24x80 then). */
int cli_term_size(int *rows, int *cols)
{
    struct winsize ws;
    *rows = 24;
    *cols = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
        return -1;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

/* Turns raw keys on stdin on (keys arrive one by one, unechoed; Ctrl-C
 * still signals) or back off. Returns 0 or -1. */
int cli_term_raw(int on)
{
    if (!isatty(STDIN_FILENO))
        return -1;
    if (on && !raw_on) {
        if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
            return -1;
        struct termios t = saved_tio;
        t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
            return -1;
        raw_on = 1;
    } else if (!on && raw_on) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
        raw_on = 0;
    }
    return 0;
}

/* Non-zero when the locale's characters are UTF-8 (block glyphs may be
 * drawn). */
int cli_term_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

/* Switches to the alternate screen with the cursor hidden (full-screen
 * views), and back. */
void cli_screen_enter(void)
{
    fputs("\033[?1049h\033[?25l\033[H\033[2J", stdout);
    fflush(stdout);
}

/* Leaves the alternate screen and shows the cursor again. */
void cli_screen_leave(void)
{
    fputs("\033[?25h\033[?1049l", stdout);
    fflush(stdout);
}
