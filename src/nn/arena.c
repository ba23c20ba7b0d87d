#include "nn/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN_BYTES 32
#define ALIGN_FLOATS (ALIGN_BYTES / sizeof(float))

void m4_nn_arena_init(m4_nn_arena *arena, size_t chunk_floats)
{
    memset(arena, 0, sizeof *arena);
    arena->chunk_floats = chunk_floats < 4096 ? 4096 : chunk_floats;
}

/* Floats to skip from c->data + c->used so the next allocation starts on a
 * 32-byte boundary: the header before data[] is 24 bytes, so data[] itself is
 * not 32-byte aligned even though the chunk is. */
static size_t align_skip(const m4_nn_arena_chunk *c)
{
    uintptr_t at = (uintptr_t)(c->data + c->used);
    return (size_t)((ALIGN_BYTES - at % ALIGN_BYTES) % ALIGN_BYTES) / sizeof(float);
}

static int chunk_fits(const m4_nn_arena_chunk *c, size_t n)
{
    size_t skip = align_skip(c);
    return c->used + skip <= c->capacity && c->capacity - c->used - skip >= n;
}

float *m4_nn_arena_alloc(m4_nn_arena *arena, size_t n)
{
    if (n > (SIZE_MAX / sizeof(float) - sizeof(m4_nn_arena_chunk)) / 2) return NULL;
    n = (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    if (n == 0) n = ALIGN_FLOATS;
    m4_nn_arena_chunk *c = arena->current;
    /* Walk on to the next kept chunk that fits; chunks after it stay for later. */
    while (c && !chunk_fits(c, n)) {
        c = c->next;
        if (c) c->used = 0;
    }
    if (!c) {
        /* ALIGN_FLOATS spare so the aligned start always leaves n floats. */
        size_t cap = (n > arena->chunk_floats ? n : arena->chunk_floats) + ALIGN_FLOATS;
        float *raw = NULL;
        if (posix_memalign((void **)&raw, ALIGN_BYTES, sizeof(m4_nn_arena_chunk) + cap * sizeof(float)))
            return NULL;
        c = (m4_nn_arena_chunk *)raw;
        c->capacity = cap;
        c->used = 0;
        c->next = NULL;
        /* Append at the end of the list so reset walks every chunk in order. */
        if (!arena->head) {
            arena->head = c;
        } else {
            m4_nn_arena_chunk *last = arena->current ? arena->current : arena->head;
            while (last->next) last = last->next;
            last->next = c;
        }
    }
    arena->current = c;
    c->used += align_skip(c);
    float *p = c->data + c->used;
    c->used += n;
    size_t used = m4_nn_arena_used(arena);
    if (used > arena->peak_floats) arena->peak_floats = used;
    return p;
}

float *m4_nn_arena_zalloc(m4_nn_arena *arena, size_t n)
{
    float *p = m4_nn_arena_alloc(arena, n);
    if (p) memset(p, 0, n * sizeof *p);
    return p;
}

int *m4_nn_arena_alloc_int(m4_nn_arena *arena, size_t n)
{
    _Static_assert(sizeof(int) == sizeof(float), "int and float slots share the arena");
    return (int *)m4_nn_arena_alloc(arena, n);
}

void m4_nn_arena_reset(m4_nn_arena *arena)
{
    if (arena->head) arena->head->used = 0;
    arena->current = arena->head;
}

size_t m4_nn_arena_used(const m4_nn_arena *arena)
{
    size_t total = 0;
    for (const m4_nn_arena_chunk *c = arena->head; c; c = c->next) {
        total += c->used;
        if (c == arena->current) break;
    }
    return total;
}

void m4_nn_arena_free(m4_nn_arena *arena)
{
    m4_nn_arena_chunk *c = arena->head;
    while (c) {
        m4_nn_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    memset(arena, 0, sizeof *arena);
}
