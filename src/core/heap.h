/* Event heap: a binary min-heap ordered by (time, insertion sequence), so that
 * events at equal times come out in the order they were pushed and every run
 * is deterministic. The payload is one 64-bit word (an index or a packed id). */
#ifndef M4_CORE_HEAP_H
#define M4_CORE_HEAP_H

#include <stdint.h>

typedef struct m4_heap_entry {
    int64_t time;
    uint64_t seq;
    uint64_t data;
} m4_heap_entry;

typedef struct m4_heap {
    m4_heap_entry *entries;
    int64_t count;
    int64_t capacity;
    uint64_t next_seq;
} m4_heap;

void m4_heap_init(m4_heap *heap);
void m4_heap_free(m4_heap *heap);
int m4_heap_push(m4_heap *heap, int64_t time, uint64_t data);
/* Remove the earliest entry into *out; returns 0, or M4_ESTATE when empty. */
int m4_heap_pop(m4_heap *heap, m4_heap_entry *out);
static inline int64_t m4_heap_count(const m4_heap *heap) { return heap->count; }
/* Time of the earliest entry, INT64_MAX when empty. */
static inline int64_t m4_heap_peek_time(const m4_heap *heap)
{
    return heap->count ? heap->entries[0].time : INT64_MAX;
}

#endif
