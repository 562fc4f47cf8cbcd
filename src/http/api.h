/* The API's handlers and what they read: gantryd hands them its state once
 * at start (api_init); handlers ask core for what is true now and the store
 * for history. */
#ifndef GANTRY_API_H
#define GANTRY_API_H

#include "http.h"

struct api_env {
    double started;               /* wall-clock start time */
    struct http_server *http;
    struct listener *http_ls;
};

void api_init(struct api_env *env);
int api_register(void);

#endif
