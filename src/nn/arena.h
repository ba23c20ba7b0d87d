/* A float arena for recording a forward pass (the tape's memory): allocations
 * are bump-pointer from chunks that never move, so pointers stay valid until
 * the next reset; reset keeps the chunks, so a training loop that records one
 * window of events after another stops allocating once it has seen its
 * largest window. */
#ifndef M4_NN_ARENA_H
#define M4_NN_ARENA_H

#include <stddef.h>

typedef struct m4_nn_arena_chunk {
    struct m4_nn_arena_chunk *next;
    size_t capacity, used; /* in floats */
    float data[];
} m4_nn_arena_chunk;

typedef struct m4_nn_arena {
    m4_nn_arena_chunk *head, *current;
    size_t chunk_floats; /* minimum chunk size */
    size_t peak_floats;  /* most floats ever in use at once */
} m4_nn_arena;

void m4_nn_arena_init(m4_nn_arena *arena, size_t chunk_floats);
/* n floats, 32-byte aligned, NOT zeroed; NULL when out of memory. */
float *m4_nn_arena_alloc(m4_nn_arena *arena, size_t n);
/* n floats set to zero. */
float *m4_nn_arena_zalloc(m4_nn_arena *arena, size_t n);
/* n ints (stored in float-sized slots). */
int *m4_nn_arena_alloc_int(m4_nn_arena *arena, size_t n);
/* Forget every allocation, keep the memory. */
void m4_nn_arena_reset(m4_nn_arena *arena);
size_t m4_nn_arena_used(const m4_nn_arena *arena);
void m4_nn_arena_free(m4_nn_arena *arena);

#endif
