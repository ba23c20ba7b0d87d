/* Kept apart from the driver so that a backend (and its tests) can be linked
 * without routing. */
#include <stdlib.h>

#include "sim.h"

int m4_completion_push(m4_completion_list *list, int64_t handle, int64_t end_ns)
{
    if (list->count == list->capacity) {
        int64_t capacity = list->capacity ? 2 * list->capacity : 64;
        m4_completion *grown = realloc(list->items, (size_t)capacity * sizeof *grown);
        if (!grown)
            return M4_ENOMEM;
        list->items = grown;
        list->capacity = capacity;
    }
    list->items[list->count++] = (m4_completion){handle, end_ns};
    return M4_OK;
}
