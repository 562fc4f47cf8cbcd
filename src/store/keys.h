/* The names of every Redis key Gantry uses (SPEC section 5), in one place.
 * Only store/ builds keys: the rest of the program asks the store for
 * records and ranges by id. */
#ifndef GANTRY_STORE_KEYS_H
#define GANTRY_STORE_KEYS_H

#include "store/resp.h"

#define KEY_WORKERS "gantry:workers"          /* hash: id -> registration JSON */
#define KEY_WORKER "gantry:worker:"           /* + id: hash, latest state */
#define KEY_TELEMETRY "gantry:telemetry:"     /* + id: stream of heartbeats */
#define KEY_GPUS "gantry:gpus"                /* hash: uuid -> GPU JSON */
#define KEY_GPU "gantry:gpu:"                 /* + uuid: stream of samples */
#define KEY_TASKS "gantry:tasks"              /* stream: the queue */
#define KEY_TASK "gantry:task:"               /* + id: hash, the task record */
#define KEY_LOGS_SUFFIX ":logs"               /* gantry:task:<id>:logs stream */
#define KEY_EVENTS "gantry:events"            /* stream: cluster events */
#define KEY_INSTANCE "gantry:instance"        /* string: this data set's mark */
#define QUEUE_GROUP "gantry"                  /* the queue's consumer group */

/* Adds the key prefix + id + suffix as one argument. */
static inline void key_arg(struct resp_cmd *c, const char *prefix, const char *id,
                           const char *suffix)
{
    resp_cat(c, prefix, id, suffix);
}

/* Builds the command that makes the queue's consumer group (and the
 * stream) when missing: XGROUP CREATE gantry:tasks gantry 0 MKSTREAM. */
static inline struct resp_cmd *key_group_create(struct resp_cmd *c)
{
    resp_str(c, "XGROUP");
    resp_str(c, "CREATE");
    resp_str(c, KEY_TASKS);
    resp_str(c, QUEUE_GROUP);
    resp_str(c, "0");
    resp_str(c, "MKSTREAM");
    return c;
}

#endif
