/* Kept apart from the driver so that a backend (and its tests) can be linked
 * without routing. */
#include "sim.h"

#include "core/array.h"

int m4_completion_push(m4_completion_list *list, int64_t handle, int64_t end_ns)
{
    int err = m4_array_reserve(&list->items, &list->capacity, list->count + 1, sizeof *list->items,
                               64);
    if (err)
        return err;
    list->items[list->count++] = (m4_completion){handle, end_ns};
    return M4_OK;
}
