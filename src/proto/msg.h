/* The agent protocol's messages: newline-delimited JSON objects with a
 * "type". Decoding validates each field and fills the cluster's structs
 * (pointers borrowed from the decoded JSON, which the caller keeps alive);
 * encoding writes one frame, newline included. See docs/protocol.md. */
#ifndef GANTRY_MSG_H
#define GANTRY_MSG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/cluster.h"

#define PROTO_VERSION 1

enum msg_type {
    MSG_UNKNOWN = 0,
    MSG_HELLO, MSG_WELCOME, MSG_HEARTBEAT, MSG_HEARTBEAT_ACK, MSG_ASSIGN,
    MSG_CANCEL, MSG_TASK_STARTED, MSG_LOG, MSG_TASK_FINISHED, MSG_RESULT_ACK,
    MSG_PING, MSG_PONG, MSG_BYE, MSG_ERROR,
};

struct msg_error {
    char code[32];
    char message[200];
};

/* Numbers from the wire as integers, without undefined conversions: a
 * value out of range becomes the fallback. */
static inline int64_t msg_int(double v, double lo, double hi, int64_t fallback)
{
    return v >= lo && v <= hi ? (int64_t)v : fallback;
}

#define MSG_SEQ_MAX 9007199254740992.0   /* 2^53: exact in a double */

enum msg_type msg_type_of(json_t *frame);
const char *msg_type_name(enum msg_type t);
json_t *msg_parse(const char *p, size_t n, struct msg_error *err);

int msg_decode_hello(json_t *j, struct hello *h, const char **token,
                     struct msg_error *err);
int msg_decode_heartbeat(json_t *j, struct heartbeat *hb, int *want_ack,
                         struct msg_error *err);
int msg_fast_heartbeat(char *p, size_t n, struct heartbeat *hb, int *ack);
int msg_check_heartbeat(const char *frame, size_t n);
int msg_decode_finished(json_t *j, const char **task_id, enum task_status *st,
                        int *has_exit, int *exit_code, const char **reason,
                        struct msg_error *err);
int msg_decode_log(json_t *j, const char **task_id, const char **stream,
                   const char **data, size_t *len, struct msg_error *err);
const char *msg_task_id(json_t *j, struct msg_error *err);
int msg_attempt(json_t *j);

int msg_frame(struct buf *out, json_t *j);
int msg_error_frame(struct buf *out, const char *code, const char *message);

#endif
