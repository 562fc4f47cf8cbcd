/* How gantryctl's exit status follows from what happened: the server's
 * answer, or a task's end under --wait. Pure. */
#ifndef GANTRY_CLI_OUTCOME_H
#define GANTRY_CLI_OUTCOME_H

int cli_exit_for_http(long status);
int cli_exit_for_task(const char *status, int has_exit_code, long exit_code);
const char *cli_state_color(const char *state);

#endif
