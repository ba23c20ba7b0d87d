/* The packet backend's event queue: a 4-ary min-heap on (time, insertion
 * sequence), the same order as core/heap.h (so runs stay deterministic) but
 * shallower and with the hot paths inlined: the event loop spends most of its
 * time here. */
#ifndef M4_PACKET_EVENT_HEAP_H
#define M4_PACKET_EVENT_HEAP_H

#include <stdint.h>
#include <stdlib.h>

#include "m4sim.h"

typedef struct pk_event {
    int64_t time;
    uint64_t seq;
    uint64_t data;
} pk_event;

typedef struct pk_heap {
    pk_event *items;
    int64_t count, capacity;
    uint64_t next_seq;
} pk_heap;

static inline int pk_before(const pk_event *a, const pk_event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static inline int pk_heap_push(pk_heap *h, int64_t time, uint64_t data)
{
    if (h->count == h->capacity) {
        int64_t cap = h->capacity ? 2 * h->capacity : 1024;
        pk_event *grown = realloc(h->items, (size_t)cap * sizeof *grown);
        if (!grown)
            return M4_ENOMEM;
        h->items = grown;
        h->capacity = cap;
    }
    pk_event e = {time, h->next_seq++, data};
    int64_t i = h->count++;
    while (i > 0) {
        int64_t parent = (i - 1) >> 2;
        if (!pk_before(&e, &h->items[parent]))
            break;
        h->items[i] = h->items[parent];
        i = parent;
    }
    h->items[i] = e;
    return M4_OK;
}

static inline int64_t pk_heap_peek_time(const pk_heap *h)
{
    return h->count ? h->items[0].time : INT64_MAX;
}

/* Caller checks count > 0. */
static inline pk_event pk_heap_pop(pk_heap *h)
{
    pk_event top = h->items[0];
    pk_event last = h->items[--h->count];
    int64_t n = h->count, i = 0;
    for (;;) {
        int64_t c = 4 * i + 1;
        if (c >= n)
            break;
        int64_t best = c;
        int64_t end = c + 4 < n ? c + 4 : n;
        for (int64_t k = c + 1; k < end; k++)
            if (pk_before(&h->items[k], &h->items[best]))
                best = k;
        if (!pk_before(&h->items[best], &last))
            break;
        h->items[i] = h->items[best];
        i = best;
    }
    if (n > 0)
        h->items[i] = last;
    return top;
}

static inline void pk_heap_free(pk_heap *h)
{
    free(h->items);
    h->items = NULL;
    h->count = h->capacity = 0;
}

#endif
