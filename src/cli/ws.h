/* A WebSocket client for the follows (task output, events, telemetry):
 * libcurl connects (plain or TLS, same server as the requests), the
 * upgrade answer is read with http-parser, and wslay's client side runs
 * the frames over that connection. One wait call multiplexes the socket,
 * Ctrl-C and an optional input descriptor (keys of the live views). */
#ifndef GANTRY_CLI_WS_H
#define GANTRY_CLI_WS_H

#include <stddef.h>

#include "cli.h"

struct cli_ws;

enum cli_ws_event {
    CLI_WS_MSG,               /* a text message (*msg, *len; the caller frees) */
    CLI_WS_TIMEOUT,
    CLI_WS_INPUT,             /* the input descriptor is readable */
    CLI_WS_INTERRUPTED,       /* Ctrl-C */
    CLI_WS_CLOSED,            /* the server closed (or the connection broke) */
};

struct cli_ws *cli_ws_open(struct cli_ctx *c, const char *path, int *rc);
int cli_ws_send(struct cli_ws *ws, const char *text);
enum cli_ws_event cli_ws_next(struct cli_ws *ws, int timeout_ms, int input_fd, char **msg,
                              size_t *len);
void cli_ws_close(struct cli_ws *ws);

#endif
