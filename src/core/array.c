#include "core/array.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int64_t m4_array_grown_capacity(int64_t capacity, int64_t needed, int64_t initial)
{
    if (needed <= capacity)
        return capacity;
    int64_t grown = capacity > 0 ? capacity : (initial > 0 ? initial : 1);
    while (grown < needed)
        grown = grown > INT64_MAX / 2 ? INT64_MAX : 2 * grown;
    return grown;
}

int m4_array_resize(void *array_address, int64_t count, size_t item_size)
{
    if (count < 0 || item_size == 0 || (uint64_t)count > SIZE_MAX / item_size)
        return M4_ENOMEM;
    /* memcpy, not a cast to void **: the pointer's own type is T *, and
     * reading or writing it through a void * lvalue would break aliasing */
    void *array;
    memcpy(&array, array_address, sizeof array);
    void *grown = realloc(array, count ? (size_t)count * item_size : 1);
    if (!grown)
        return M4_ENOMEM;
    memcpy(array_address, &grown, sizeof grown);
    return M4_OK;
}

int m4_array_resize_zeroed(void *array_address, int64_t old_count, int64_t count,
                           size_t item_size)
{
    int err = m4_array_resize(array_address, count, item_size);
    if (err)
        return err;
    if (count > old_count) {
        char *items;
        memcpy(&items, array_address, sizeof items);
        memset(items + (size_t)old_count * item_size, 0, (size_t)(count - old_count) * item_size);
    }
    return M4_OK;
}

/* Both grows: the capacity stops at `limit` (needed never exceeds it). */
static int reserve(void *array_address, int64_t *capacity, int64_t needed, size_t item_size,
                   int64_t initial, int64_t limit)
{
    if (needed <= *capacity)
        return M4_OK;
    int64_t grown = m4_array_grown_capacity(*capacity, needed, initial);
    if (grown > limit)
        grown = limit;
    int err = m4_array_resize(array_address, grown, item_size);
    if (err)
        return err;
    *capacity = grown;
    return M4_OK;
}

int m4_array_grow(void *array_address, int64_t *capacity, int64_t needed, size_t item_size,
                  int64_t initial)
{
    return reserve(array_address, capacity, needed, item_size, initial, INT64_MAX);
}

int m4_array_grow32(void *array_address, int32_t *capacity, int32_t needed, size_t item_size,
                    int32_t initial)
{
    int64_t wide = *capacity;
    int err = reserve(array_address, &wide, needed, item_size, initial, INT32_MAX);
    *capacity = (int32_t)wide;
    return err;
}
