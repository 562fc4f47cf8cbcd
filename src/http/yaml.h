/* JSON to YAML, for /swagger/swagger.yaml (yaml.c). */
#ifndef GANTRY_YAML_H
#define GANTRY_YAML_H

#include <jansson.h>

#include "core/buf.h"

void yaml_dump(const json_t *j, struct buf *out);

#endif
