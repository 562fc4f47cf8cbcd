/* The frames gantry-replay sends: a host's hello, and heartbeats carrying
 * one file time's samples of one host's GPUs, written by hand so that each
 * value goes out exactly as the file has it. */
#ifndef GANTRY_REPLAY_FRAME_H
#define GANTRY_REPLAY_FRAME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "replay/data.h"

int replay_json_string(struct buf *out, const char *s);
int replay_frame_heartbeat(struct buf *out, const struct replay_data *d, size_t from,
                           size_t to, uint64_t seq, int64_t ts_ms, unsigned *samples);
int replay_frame_keepalive(struct buf *out, uint64_t seq);
json_t *replay_frame_hello(const struct replay_data *d, int host, const char *token);

#endif
