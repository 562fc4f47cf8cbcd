/* The timers that move the cluster along: worker expiry (inactive, lost)
 * at the next deadline, and the scheduler: every scheduler.interval, and
 * promptly after a submission or when capacity frees up, in slices of at
 * most scheduler.slice so the loop never stalls. */
#ifndef GANTRY_DRIVER_H
#define GANTRY_DRIVER_H

#include <ev.h>

#include "core/cluster.h"

int driver_start(struct ev_loop *loop, struct cluster *cl, double interval);
void driver_set_interval(double interval);
void driver_kick(void);
void driver_hold(int hold);
void driver_stop(void);

#endif
