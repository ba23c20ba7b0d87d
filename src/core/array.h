/* Arrays that grow as they fill: the doubling, and the realloc that leaves the
 * old array intact when memory runs out, in one place. The array is passed by
 * the address of its pointer (a `T **` as void *), so that one function serves
 * every item type. */
#ifndef M4_CORE_ARRAY_H
#define M4_CORE_ARRAY_H

#include <stddef.h>
#include <stdint.h>

/* The capacity that holds `needed` items: `capacity` (or `initial` when it is
 * 0) doubled until it does; `capacity` itself when it already does. */
int64_t m4_array_grown_capacity(int64_t capacity, int64_t needed, int64_t initial);

/* Reallocates the array whose pointer is at `array_address` to `count` items
 * of `item_size` bytes. Returns 0, or M4_ENOMEM with the array as it was. */
int m4_array_resize(void *array_address, int64_t count, size_t item_size);

/* The same from `old_count` items to `count`, the new ones zeroed. */
int m4_array_resize_zeroed(void *array_address, int64_t old_count, int64_t count,
                           size_t item_size);

/* The slow paths of the two reserves below, for when the array is short. */
int m4_array_grow(void *array_address, int64_t *capacity, int64_t needed, size_t item_size,
                  int64_t initial);
int m4_array_grow32(void *array_address, int32_t *capacity, int32_t needed, size_t item_size,
                    int32_t initial);

/* Makes room for `needed` items in the array at `array_address`, whose
 * capacity is *capacity: when it is short, grows the array and *capacity to
 * m4_array_grown_capacity(*capacity, needed, initial). Returns 0, or
 * M4_ENOMEM with both as they were. Inline, because it sits on per-event
 * paths (heap pushes, completions, trace records) where it nearly always
 * has room. */
static inline int m4_array_reserve(void *array_address, int64_t *capacity, int64_t needed,
                                   size_t item_size, int64_t initial)
{
    return needed <= *capacity ? 0
                               : m4_array_grow(array_address, capacity, needed, item_size, initial);
}

/* The same for arrays counted in int32_t (capacities stop at INT32_MAX). */
static inline int m4_array_reserve32(void *array_address, int32_t *capacity, int32_t needed,
                                     size_t item_size, int32_t initial)
{
    return needed <= *capacity
               ? 0
               : m4_array_grow32(array_address, capacity, needed, item_size, initial);
}

#endif
