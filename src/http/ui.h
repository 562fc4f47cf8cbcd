/* The console: static files (src/http/ui/ and the Debian chart library)
 * embedded at build time as one table by scripts/embed_assets.sh, served at
 * / and /ui/<version>/<file> with strong ETags, caching headers, and their
 * gzip form when the client accepts it. */
#ifndef GANTRY_UI_H
#define GANTRY_UI_H

#include <stddef.h>

struct http_req;

struct ui_asset {
    const char *name;             /* "app.js": the last segment of its URL */
    const char *content_type;
    const unsigned char *data;
    size_t len;
    const char *etag;             /* quoted, strong */
    const unsigned char *gz;      /* gzip -9n form; NULL when not smaller */
    size_t gz_len;
    const char *gz_etag;
};

extern const struct ui_asset ui_assets[];
extern const size_t ui_nassets;
extern const char ui_version[];   /* a hash of the assets, in their URLs */

const struct ui_asset *ui_find(const char *name);
int ui_accepts_gzip(const char *accept_encoding);
int ui_etag_matches(const char *if_none_match, const char *etag);
int ui_serve_page(struct http_req *req, const char *name);
int ui_register(void);

struct http_req;
int ui_serve(struct http_req *req, const struct ui_asset *a, const char *cache, const char *more);

#endif
