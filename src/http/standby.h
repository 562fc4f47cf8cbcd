/* HTTP on a gantryd that does not lead: /health and /metrics are its own,
 * every other route is sent to the leader (307, same path, same method and
 * body), and when no leader is known reads are served from what this
 * gantryd holds and changes are refused (503). */
#ifndef GANTRY_STANDBY_H
#define GANTRY_STANDBY_H

#include <jansson.h>

#include "http.h"

int standby_intercept(struct http_req *req);
void standby_health(json_t *health);

#endif
