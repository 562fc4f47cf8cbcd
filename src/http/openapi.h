/* The OpenAPI 3 document of every route (openapi.c): the router's table
 * joined with the descriptions in src/http/openapi.json. */
#ifndef GANTRY_OPENAPI_H
#define GANTRY_OPENAPI_H

#include <jansson.h>
#include <stddef.h>

json_t *openapi_document(void);
const char *openapi_text(int yaml, size_t *len);
int openapi_check(char *err, size_t errlen);
void openapi_free(void);

#endif
