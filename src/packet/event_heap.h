/* The packet backend's event queue: a 4-ary min-heap on (time, insertion
 * sequence), the same order as core/heap.h (so runs stay deterministic) but
 * shallower and with the hot paths inlined: the event loop spends most of its
 * time here.
 *
 * An event is 16 bytes: its time and one word holding the insertion sequence
 * in the high PK_SEQ_BITS bits and the caller's payload in the low
 * PK_PAYLOAD_BITS. Ordering by (time, that word) is ordering by (time,
 * sequence), since sequences are unique, and it is one 128-bit comparison.
 * Four children then fill one 64-byte cache line (the array is offset so that
 * every sibling group starts on a line). When the sequence would overflow, the
 * queue is sorted (a sorted array is a heap) and renumbered from 0 in order. */
#ifndef M4_PACKET_EVENT_HEAP_H
#define M4_PACKET_EVENT_HEAP_H

#include <stdint.h>
#include <stdlib.h>

#include "m4sim.h"

#define PK_PAYLOAD_BITS 27
#define PK_SEQ_BITS (64 - PK_PAYLOAD_BITS)
#define PK_PAYLOAD_MASK ((UINT64_C(1) << PK_PAYLOAD_BITS) - 1)

typedef struct pk_event {
    uint64_t time; /* >= 0 */
    uint64_t key;  /* sequence << PK_PAYLOAD_BITS | payload */
} pk_event;

/* items[PK_HEAP_BASE] is the root; the children of heap position i (0-based)
 * are positions 4i+1..4i+4, stored at items[PK_HEAP_BASE + ...]: with base 3
 * they start at 4(i+1), a multiple of 4, i.e. on a cache line. */
#define PK_HEAP_BASE 3

typedef struct pk_heap {
    pk_event *alloc; /* what malloc returned */
    pk_event *items; /* 64-byte aligned, item 0 unused up to PK_HEAP_BASE */
    int64_t count, capacity;
    uint64_t next_seq;
} pk_heap;

typedef unsigned __int128 pk_order;

static inline pk_order pk_order_of(const pk_event *e)
{
    return ((pk_order)e->time << 64) | e->key;
}

static inline int pk_heap_grow(pk_heap *h)
{
    int64_t cap = h->capacity ? 2 * h->capacity : 1024;
    pk_event *raw = malloc((size_t)(cap + PK_HEAP_BASE) * sizeof *raw + 64);
    if (!raw)
        return M4_ENOMEM;
    pk_event *items = (pk_event *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    for (int64_t i = 0; i < h->count; i++)
        items[PK_HEAP_BASE + i] = h->items[PK_HEAP_BASE + i];
    free(h->alloc);
    h->alloc = raw;
    h->items = items;
    h->capacity = cap;
    return M4_OK;
}

static inline int pk_event_cmp(const void *a, const void *b)
{
    pk_order x = pk_order_of(a), y = pk_order_of(b);
    return x < y ? -1 : x > y;
}

/* Sequence exhausted: sort, renumber 0..count-1 in the same order. */
static inline void pk_heap_renumber(pk_heap *h)
{
    pk_event *e = h->items + PK_HEAP_BASE;
    qsort(e, (size_t)h->count, sizeof *e, pk_event_cmp);
    for (int64_t i = 0; i < h->count; i++)
        e[i].key = ((uint64_t)i << PK_PAYLOAD_BITS) | (e[i].key & PK_PAYLOAD_MASK);
    h->next_seq = (uint64_t)h->count;
}

/* payload must fit in PK_PAYLOAD_BITS (the caller checks). */
static inline int pk_heap_push(pk_heap *h, int64_t time, uint64_t payload)
{
    if (h->count == h->capacity && pk_heap_grow(h))
        return M4_ENOMEM;
    if (h->next_seq >> PK_SEQ_BITS)
        pk_heap_renumber(h);
    pk_event e = {(uint64_t)time, (h->next_seq++ << PK_PAYLOAD_BITS) | payload};
    pk_order eo = pk_order_of(&e);
    pk_event *a = h->items + PK_HEAP_BASE;
    int64_t i = h->count++;
    while (i > 0) {
        int64_t parent = (i - 1) >> 2;
        if (eo >= pk_order_of(&a[parent]))
            break;
        a[i] = a[parent];
        i = parent;
    }
    a[i] = e;
    return M4_OK;
}

static inline int64_t pk_heap_peek_time(const pk_heap *h)
{
    return h->count ? (int64_t)h->items[PK_HEAP_BASE].time : INT64_MAX;
}

static inline uint64_t pk_event_payload(const pk_event *e)
{
    return e->key & PK_PAYLOAD_MASK;
}

/* Caller checks count > 0. */
static inline pk_event pk_heap_pop(pk_heap *h)
{
    pk_event *a = h->items + PK_HEAP_BASE;
    pk_event top = a[0];
    pk_event last = a[--h->count];
    pk_order lo = pk_order_of(&last);
    int64_t n = h->count, i = 0;
    for (;;) {
        int64_t c = 4 * i + 1;
        if (c >= n)
            break;
        int64_t best = c;
        pk_order bo = pk_order_of(&a[c]);
        int64_t end = c + 4 < n ? c + 4 : n;
        for (int64_t k = c + 1; k < end; k++) {
            pk_order ko = pk_order_of(&a[k]);
            if (ko < bo) {
                bo = ko;
                best = k;
            }
        }
        if (bo >= lo)
            break;
        a[i] = a[best];
        i = best;
    }
    if (n > 0)
        a[i] = last;
    return top;
}

static inline void pk_heap_free(pk_heap *h)
{
    free(h->alloc);
    h->alloc = h->items = NULL;
    h->count = h->capacity = 0;
}

#endif
