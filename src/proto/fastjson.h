/* A small pull parser for JSON, used on the heartbeat hot path instead of
 * building a jansson tree (which allocates every value). It parses in
 * place: strings are unescaped into the input and NUL-terminated there.
 * Strict RFC 8259 grammar; anything it does not like is an error, and the
 * caller falls back to jansson, which says what is wrong. */
#ifndef GANTRY_FASTJSON_H
#define GANTRY_FASTJSON_H

#include <stddef.h>

struct fj {
    char *p, *end;
    int err;
};

void fj_init(struct fj *j, char *p, size_t n);
int fj_object(struct fj *j);
int fj_key(struct fj *j, const char **key);
int fj_array(struct fj *j);
int fj_more(struct fj *j, char close, int *count);
int fj_string(struct fj *j, const char **s, size_t *len);
int fj_number(struct fj *j, double *v);
int fj_bool(struct fj *j, int *v);
int fj_is_null(struct fj *j);
int fj_skip(struct fj *j);
int fj_done(struct fj *j);

#endif
