/* Live streams over WebSocket: topics (telemetry, gpus, events, logs),
 * subscriptions indexed by topic and key (worker, GPU, task), so an update
 * costs O(its subscribers), not O(all clients); history from Redis on
 * request (from=earliest or a stream id), then live without gaps. */
#ifndef GANTRY_PUBSUB_H
#define GANTRY_PUBSUB_H

#include "core/cluster.h"
#include "ws.h"

int pubsub_init(struct cluster *cl, const struct ws_limits *lim);
void pubsub_shutdown(void);
int pubsub_register(void);

#endif
