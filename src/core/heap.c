#include "heap.h"

#include <stdlib.h>

#include "array.h"
#include "m4sim.h"

void m4_heap_init(m4_heap *heap)
{
    heap->entries = NULL;
    heap->count = 0;
    heap->capacity = 0;
    heap->next_seq = 0;
}

void m4_heap_free(m4_heap *heap)
{
    free(heap->entries);
    m4_heap_init(heap);
}

static inline int entry_before(const m4_heap_entry *a, const m4_heap_entry *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

int m4_heap_push(m4_heap *heap, int64_t time, uint64_t data)
{
    int err = m4_array_reserve(&heap->entries, &heap->capacity, heap->count + 1,
                               sizeof *heap->entries, 64);
    if (err)
        return err;
    m4_heap_entry item = {time, heap->next_seq++, data};
    int64_t i = heap->count++;
    while (i > 0) {
        int64_t parent = (i - 1) / 2;
        if (!entry_before(&item, &heap->entries[parent]))
            break;
        heap->entries[i] = heap->entries[parent];
        i = parent;
    }
    heap->entries[i] = item;
    return M4_OK;
}

int m4_heap_pop(m4_heap *heap, m4_heap_entry *out)
{
    if (heap->count == 0)
        return M4_ESTATE;
    *out = heap->entries[0];
    m4_heap_entry last = heap->entries[--heap->count];
    int64_t n = heap->count, i = 0;
    for (;;) {
        int64_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && entry_before(&heap->entries[child + 1], &heap->entries[child]))
            child++;
        if (!entry_before(&heap->entries[child], &last))
            break;
        heap->entries[i] = heap->entries[child];
        i = child;
    }
    if (n > 0)
        heap->entries[i] = last;
    return M4_OK;
}
