/* JSON values written as block-style YAML (1.2): mappings as "key: value",
 * sequences as "- item", every string value double-quoted with JSON's
 * escapes (valid YAML), keys plain when they cannot be read as anything
 * but a string. */
#include "yaml.h"

#include <stdlib.h>
#include <string.h>

static void indent(struct buf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        buf_append_str(b, "  ");
}

/* A key YAML reads back as the same string without quotes. */
static int plain_key(const char *k)
{
    static const char *const reserved[] = {"true", "false", "null", "yes", "no", "on", "off",
                                           "y", "n", "True", "False", "Null", "NULL", "TRUE",
                                           "FALSE", "Yes", "No", "On", "Off"};
    if (!*k || !((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_'))
        return 0;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcmp(k, reserved[i]) == 0)
            return 0;
    return 1;
}

static void scalar(struct buf *b, const json_t *j)
{
    char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
    buf_append_str(b, s ? s : "null");
    free(s);
}

static void key(struct buf *b, const char *k)
{
    if (plain_key(k)) {
        buf_append_str(b, k);
    } else {
        json_t *s = json_string(k);
        scalar(b, s);
        json_decref(s);
    }
    buf_append_str(b, ":");
}

static int collection(const json_t *j)
{
    return (json_is_object(j) && json_object_size(j)) || (json_is_array(j) && json_array_size(j));
}

static void value(struct buf *b, const json_t *j, int depth);

/* What follows "key:" or "-": a scalar on the same line, or a collection
 * on the lines below. */
static void after_marker(struct buf *b, const json_t *v, int depth)
{
    if (collection(v)) {
        buf_append_str(b, "\n");
        value(b, v, depth);
    } else {
        buf_append_str(b, " ");
        scalar(b, v);
        buf_append_str(b, "\n");
    }
}

static void value(struct buf *b, const json_t *j, int depth)
{
    if (json_is_object(j) && json_object_size(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            indent(b, depth);
            key(b, k);
            after_marker(b, v, depth + 1);
        }
    } else if (json_is_array(j) && json_array_size(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            indent(b, depth);
            buf_append_str(b, "-");
            after_marker(b, v, depth + 1);
        }
    } else {
        indent(b, depth);
        scalar(b, j);
        buf_append_str(b, "\n");
    }
}

/* Appends j as a YAML document to out. */
void yaml_dump(const json_t *j, struct buf *out)
{
    value(out, j, 0);
}
