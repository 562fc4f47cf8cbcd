/* gantryd's TLS wiring: the [http] and [agents] tls_* keys onto the
 * reactor's TLS sides of the two listeners (see docs/tls.md). */
#ifndef GANTRY_GANTRYD_TLS_H
#define GANTRY_GANTRYD_TLS_H

#include <stddef.h>

#include "core/config.h"
#include "reactor/reactor.h"

int gantryd_tls_check(const struct config *cfg, char *err, size_t errlen);
int gantryd_tls_start(const struct config *cfg, struct listener *http, struct listener *agents,
                      char *err, size_t errlen);
void gantryd_tls_reload(const struct config *cfg);

#endif
