/* Shared between the reactor's own files. */
#ifndef GANTRY_REACTOR_INT_H
#define GANTRY_REACTOR_INT_H

#include "reactor.h"

void reactor_dial_done(struct conn *c);

#endif
