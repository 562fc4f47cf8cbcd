#include "worker.h"

#include <ctype.h>
#include <string.h>

/* Returns the state the API shows: draining wins while the worker is
 * active; otherwise its connectivity. */
const char *worker_state_name(const struct worker *w)
{
    if (w->state == WS_ACTIVE)
        return w->draining ? "draining" : "active";
    return w->state == WS_INACTIVE ? "inactive" : "offline";
}

/* Returns non-zero for 1..64 characters of letters, digits, '.', '_', '-'
 * (not starting with '.' or '-'). */
int worker_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64 || id[0] == '.' || id[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (!(isalnum(c) || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Returns the slot of the GPU with this uuid (when given) or index, or -1. */
int worker_gpu_index(const struct worker *w, const char *uuid, int index)
{
    for (int i = 0; i < w->ngpus; i++) {
        if (uuid ? strcmp(w->gpus[i].info.uuid, uuid) == 0
                 : w->gpus[i].info.index == index)
            return i;
    }
    return -1;
}
