/* Tests for src/nn/arena.c, the memory of a recorded forward pass: every
 * pointer handed out stays valid and disjoint from the others across chunk
 * boundaries, is 32-byte aligned, and a reset followed by the same sequence
 * of allocations reuses the same memory without adding chunks. */
#include <stdint.h>

#include "core/rng.h"
#include "nn/arena.h"
#include "testlib.h"

enum { MAX_ALLOCS = 400 };

static int count_chunks(const m4_nn_arena *a)
{
    int n = 0;
    for (const m4_nn_arena_chunk *c = a->head; c; c = c->next) n++;
    return n;
}

/* Sizes drawn once so both rounds of test_reset_reuses make the same requests. */
static void draw_sizes(size_t *sizes, int n, uint64_t seed)
{
    m4_rng rng;
    m4_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) {
        /* Mostly small, sometimes larger than a whole chunk (4096 floats). */
        sizes[i] = m4_rng_below(&rng, 10) == 0 ? 4096 + m4_rng_below(&rng, 6000)
                                                  : m4_rng_below(&rng, 700);
    }
}

static int alloc_all(m4_nn_arena *a, float **p, const size_t *sizes, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = m4_nn_arena_alloc(a, sizes[i]);
        if (!p[i]) return -1;
        /* Fill with a value unique to this allocation; checked after every
         * later allocation has been made, so an overlap or a moved chunk shows. */
        for (size_t k = 0; k < sizes[i]; k++) p[i][k] = (float)(i * 8192 + (int)(k % 8192));
    }
    return 0;
}

static int check_all(float *const *p, const size_t *sizes, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if ((uintptr_t)p[i] % 32 != 0) bad++;
        for (size_t k = 0; k < sizes[i]; k++)
            if (p[i][k] != (float)(i * 8192 + (int)(k % 8192))) {
                bad++;
                break;
            }
    }
    /* Disjointness directly: the half-open ranges must not intersect
     * (a zero-size request still gets its own slot). */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            size_t si = sizes[i] ? sizes[i] : 1, sj = sizes[j] ? sizes[j] : 1;
            if (p[i] < p[j] + sj && p[j] < p[i] + si) bad++;
        }
    return bad;
}

static void test_valid_disjoint_aligned(void)
{
    static size_t sizes[MAX_ALLOCS];
    static float *p[MAX_ALLOCS];
    draw_sizes(sizes, MAX_ALLOCS, m4t_seed());
    m4_nn_arena a;
    m4_nn_arena_init(&a, 1000); /* raised to the 4096-float minimum */
    CHECK_INT_EQ(a.chunk_floats, 4096);
    CHECK_INT_EQ(alloc_all(&a, p, sizes, MAX_ALLOCS), 0);
    CHECK(count_chunks(&a) > 10); /* the test really crossed many chunk boundaries */
    CHECK_INT_EQ(check_all(p, sizes, MAX_ALLOCS), 0);
    size_t total = 0;
    for (int i = 0; i < MAX_ALLOCS; i++) total += sizes[i];
    CHECK(m4_nn_arena_used(&a) >= total);
    CHECK(a.peak_floats >= total);
    m4_nn_arena_free(&a);
    CHECK(a.head == NULL);
}

static void test_reset_reuses(void)
{
    static size_t sizes[MAX_ALLOCS];
    static float *first[MAX_ALLOCS], *again[MAX_ALLOCS];
    draw_sizes(sizes, MAX_ALLOCS, m4t_seed() + 1);
    m4_nn_arena a;
    m4_nn_arena_init(&a, 4096);
    CHECK_INT_EQ(alloc_all(&a, first, sizes, MAX_ALLOCS), 0);
    int chunks = count_chunks(&a);
    size_t used = m4_nn_arena_used(&a), peak = a.peak_floats;
    for (int round = 0; round < 3; round++) {
        m4_nn_arena_reset(&a);
        CHECK_INT_EQ(m4_nn_arena_used(&a), 0);
        CHECK_INT_EQ(alloc_all(&a, again, sizes, MAX_ALLOCS), 0);
        CHECK_INT_EQ(count_chunks(&a), chunks);
        CHECK_INT_EQ(m4_nn_arena_used(&a), used);
        CHECK_INT_EQ(a.peak_floats, peak);
        int same = 0;
        for (int i = 0; i < MAX_ALLOCS; i++) same += again[i] == first[i];
        CHECK_INT_EQ(same, MAX_ALLOCS);
        CHECK_INT_EQ(check_all(again, sizes, MAX_ALLOCS), 0);
    }
    /* A smaller sequence after a reset fits in what is there. */
    m4_nn_arena_reset(&a);
    CHECK_INT_EQ(alloc_all(&a, again, sizes, MAX_ALLOCS / 2), 0);
    CHECK_INT_EQ(count_chunks(&a), chunks);
    m4_nn_arena_free(&a);
}

static void test_large_and_zeroed(void)
{
    m4_nn_arena a;
    m4_nn_arena_init(&a, 4096);
    float *small = m4_nn_arena_alloc(&a, 10);
    float *big = m4_nn_arena_alloc(&a, 100000); /* 24x the chunk size */
    float *after = m4_nn_arena_alloc(&a, 10);
    CHECK(small && big && after);
    CHECK((uintptr_t)big % 32 == 0 && (uintptr_t)after % 32 == 0);
    for (int k = 0; k < 100000; k++) big[k] = (float)k;
    for (int k = 0; k < 10; k++) small[k] = -1, after[k] = -2;
    CHECK(big[0] == 0 && big[99999] == 99999 && small[9] == -1 && after[0] == -2);
    int chunks = count_chunks(&a);
    /* The dirty memory comes back after a reset; zalloc must clear it. */
    m4_nn_arena_reset(&a);
    float *z = m4_nn_arena_zalloc(&a, 10);
    float *zbig = m4_nn_arena_zalloc(&a, 100000);
    int nonzero = 0;
    for (int k = 0; k < 10; k++) nonzero += z[k] != 0;
    for (int k = 0; k < 100000; k++) nonzero += zbig[k] != 0;
    CHECK_INT_EQ(nonzero, 0);
    CHECK(zbig == big); /* the kept big chunk was found again */
    int *idx = m4_nn_arena_alloc_int(&a, 7);
    CHECK(idx != NULL && (uintptr_t)idx % 32 == 0);
    for (int k = 0; k < 7; k++) idx[k] = 1 << 30;
    CHECK(idx[6] == 1 << 30);
    CHECK_INT_EQ(count_chunks(&a), chunks);
    /* Zero-size requests still return distinct, usable pointers. */
    float *e1 = m4_nn_arena_alloc(&a, 0), *e2 = m4_nn_arena_alloc(&a, 0);
    CHECK(e1 && e2 && e1 != e2);
    /* An impossible size fails cleanly instead of wrapping around. */
    CHECK(m4_nn_arena_alloc(&a, SIZE_MAX / 2) == NULL);
    m4_nn_arena_free(&a);
}

M4_TEST_MAIN(M4_TEST(test_valid_disjoint_aligned), M4_TEST(test_reset_reuses),
             M4_TEST(test_large_and_zeroed))
