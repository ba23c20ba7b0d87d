/* The packet backend's event queue: (time, insertion order) order with many
 * ties, payloads intact, and the same order across a sequence renumbering. */
#include "testlib.h"

#include "core/rng.h"
#include "packet/event_heap.h"

enum { N = 5000 };
typedef struct ref_event {
    int64_t time;
    int64_t order; /* insertion index */
} ref_event;

static int ref_cmp(const void *a, const void *b)
{
    const ref_event *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Push N events (times drawn from a small range so ties are common), popping
 * some along the way; every pop must be the (time, order) minimum of what is
 * queued. start_seq near the top of the sequence space forces renumbering. */
static int run_order(uint64_t seed, uint64_t start_seq)
{
    static ref_event queued[N];
    int nq = 0, bad = 0;
    pk_heap h = {0};
    h.next_seq = start_seq;
    m4_rng rng;
    m4_rng_seed(&rng, seed);
    int64_t floor_time = 0;
    for (int64_t i = 0; i < N; i++) {
        int64_t t = floor_time + (int64_t)m4_rng_below(&rng, 20);
        if (pk_heap_push(&h, t, (uint64_t)i) != 0)
            return -1;
        queued[nq++] = (ref_event){t, i};
        if (m4_rng_below(&rng, 3) == 0) {
            qsort(queued, (size_t)nq, sizeof queued[0], ref_cmp);
            pk_event e = pk_heap_pop(&h);
            if ((int64_t)e.time != queued[0].time || (int64_t)pk_event_payload(&e) != queued[0].order)
                bad++;
            floor_time = queued[0].time; /* like a simulator: never schedule into the past */
            memmove(queued, queued + 1, (size_t)(nq - 1) * sizeof queued[0]);
            nq--;
        }
    }
    qsort(queued, (size_t)nq, sizeof queued[0], ref_cmp);
    for (int k = 0; k < nq; k++) {
        pk_event e = pk_heap_pop(&h);
        if ((int64_t)e.time != queued[k].time || (int64_t)pk_event_payload(&e) != queued[k].order)
            bad++;
    }
    if (h.count != 0 || pk_heap_peek_time(&h) != INT64_MAX)
        bad++;
    pk_heap_free(&h);
    return bad;
}

static void pops_in_time_then_insertion_order(void)
{
    CHECK_INT_EQ(run_order(m4t_seed(), 0), 0);
}

static void renumbering_keeps_the_order(void)
{
    /* 1000 pushes before the sequence runs out, then renumbered */
    uint64_t start = (UINT64_C(1) << PK_SEQ_BITS) - 1000;
    CHECK_INT_EQ(run_order(m4t_seed() + 1, start), 0);
    pk_heap h = {0};
    h.next_seq = (UINT64_C(1) << PK_SEQ_BITS) - 1;
    CHECK_INT_EQ(pk_heap_push(&h, 5, 7), 0);
    CHECK_INT_EQ(pk_heap_push(&h, 5, 8), 0); /* renumbers first: 0 for the queued one, then 1 */
    CHECK_INT_EQ((int64_t)h.next_seq, 2);
    pk_event a = pk_heap_pop(&h), b = pk_heap_pop(&h);
    CHECK_INT_EQ((int64_t)pk_event_payload(&a), 7);
    CHECK_INT_EQ((int64_t)pk_event_payload(&b), 8);
    pk_heap_free(&h);
}

M4_TEST_MAIN(M4_TEST(pops_in_time_then_insertion_order), M4_TEST(renumbering_keeps_the_order))
