/* Busy-period splitter: hand-built flow sets, and random sets against an
 * independent quadratic definition (flows are linked when their active
 * intervals overlap on a shared link; periods = connected components). */
#include "testlib.h"

#include "core/rng.h"
#include "m4/busy_period.h"
#include "m4sim.h"

typedef struct flow_set {
    int64_t n;
    int64_t start[64], end[64], offset[65];
    int32_t links[64 * 4];
} flow_set;

static void add_flow(flow_set *s, int64_t start, int64_t end, int nlinks, const int32_t *links)
{
    if (s->n == 0)
        s->offset[0] = 0;
    s->start[s->n] = start;
    s->end[s->n] = end;
    for (int k = 0; k < nlinks; k++)
        s->links[s->offset[s->n] + k] = links[k];
    s->offset[s->n + 1] = s->offset[s->n] + nlinks;
    s->n++;
}

static int split(flow_set *s, int32_t num_dlinks, m4_busy_periods *out)
{
    m4_busy_period_input in = {s->n, num_dlinks, s->start, s->end, s->offset, s->links};
    return m4_busy_periods_split(out, &in);
}

static void hand_built_chain_and_gap(void)
{
    /* f0 on {0,1} [0,10); f1 on {1,2} [5,20): share link 1 while both active.
     * f2 on {2} [15,30): shares link 2 with f1 -> same period, transitively with f0.
     * f3 on {0} [30,40): link 0 free since 10 and the period closed at 30
     * (f2 completes at 30; completions first) -> new period.
     * f4 on {5} [0,3): never shares a link -> its own period. */
    flow_set s = {0};
    add_flow(&s, 0, 10, 2, (int32_t[]){0, 1});
    add_flow(&s, 5, 20, 2, (int32_t[]){1, 2});
    add_flow(&s, 15, 30, 1, (int32_t[]){2});
    add_flow(&s, 30, 40, 1, (int32_t[]){0});
    add_flow(&s, 0, 3, 1, (int32_t[]){5});
    m4_busy_periods p;
    CHECK(split(&s, 8, &p) == M4_OK);
    CHECK_INT_EQ(p.count, 3);
    /* Ordered by first arrival; ties by lowest flow index: {0,1,2}, {4}, {3}. */
    CHECK_INT_EQ(p.flow_offset[1] - p.flow_offset[0], 3);
    CHECK_INT_EQ(p.flows[0], 0);
    CHECK_INT_EQ(p.flows[1], 1);
    CHECK_INT_EQ(p.flows[2], 2);
    CHECK_INT_EQ(p.start_ns[0], 0);
    CHECK_INT_EQ(p.end_ns[0], 30);
    CHECK_INT_EQ(p.flows[p.flow_offset[1]], 4);
    CHECK_INT_EQ(p.end_ns[1], 3);
    CHECK_INT_EQ(p.flows[p.flow_offset[2]], 3);
    CHECK_INT_EQ(p.start_ns[2], 30);
    m4_busy_periods_free(&p);
}

static void link_freed_inside_open_period(void)
{
    /* f0 on {0,1} [0,10), f1 on {1} [5,50): one period still open at 20, but
     * link 0 has had no active flow since 10, so f2 on {0} at 20 is separate. */
    flow_set s = {0};
    add_flow(&s, 0, 10, 2, (int32_t[]){0, 1});
    add_flow(&s, 5, 50, 1, (int32_t[]){1});
    add_flow(&s, 20, 25, 1, (int32_t[]){0});
    m4_busy_periods p;
    CHECK(split(&s, 2, &p) == M4_OK);
    CHECK_INT_EQ(p.count, 2);
    CHECK_INT_EQ(p.flow_offset[1], 2);
    CHECK_INT_EQ(p.flows[2], 2);
    m4_busy_periods_free(&p);
}

static void rejects_bad_input(void)
{
    flow_set s = {0};
    add_flow(&s, 10, 10, 1, (int32_t[]){0});
    m4_busy_periods p;
    CHECK(split(&s, 1, &p) == M4_EINVAL);
    flow_set t = {0};
    add_flow(&t, 0, 10, 1, (int32_t[]){3});
    CHECK(split(&t, 2, &p) == M4_EINVAL);
}

/* Independent definition: label components of the overlap-and-share graph. */
static void reference_labels(const flow_set *s, int64_t *label)
{
    for (int64_t i = 0; i < s->n; i++)
        label[i] = -1;
    int64_t stack[64];
    for (int64_t i = 0; i < s->n; i++) {
        if (label[i] >= 0)
            continue;
        int64_t top = 0;
        stack[top++] = i;
        label[i] = i;
        while (top) {
            int64_t a = stack[--top];
            for (int64_t b = 0; b < s->n; b++) {
                if (label[b] >= 0 || !(s->start[a] < s->end[b] && s->start[b] < s->end[a]))
                    continue;
                int share = 0;
                for (int64_t x = s->offset[a]; x < s->offset[a + 1]; x++)
                    for (int64_t y = s->offset[b]; y < s->offset[b + 1]; y++)
                        share |= s->links[x] == s->links[y];
                if (share) {
                    label[b] = i;
                    stack[top++] = b;
                }
            }
        }
    }
}

static void random_sets_match_reference(void)
{
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed());
    for (int round = 0; round < 300; round++) {
        flow_set s = {0};
        int n = 1 + (int)m4_rng_below(&rng, 60);
        for (int i = 0; i < n; i++) {
            int32_t links[4];
            int hops = 1 + (int)m4_rng_below(&rng, 4);
            for (int k = 0; k < hops; k++)
                links[k] = (int32_t)m4_rng_below(&rng, 12);
            int64_t start = (int64_t)m4_rng_below(&rng, 200);
            add_flow(&s, start, start + 1 + (int64_t)m4_rng_below(&rng, 30), hops, links);
        }
        int64_t label[64];
        reference_labels(&s, label);
        m4_busy_periods p;
        CHECK(split(&s, 12, &p) == M4_OK);
        int64_t seen = 0;
        for (int64_t q = 0; q < p.count; q++) {
            int64_t first = p.flows[p.flow_offset[q]];
            for (int64_t k = p.flow_offset[q]; k < p.flow_offset[q + 1]; k++) {
                CHECK_INT_EQ(label[p.flows[k]], label[first]);
                seen++;
            }
            /* Every flow with this label is in this period. */
            int64_t members = 0;
            for (int64_t i = 0; i < s.n; i++)
                members += label[i] == label[first];
            CHECK_INT_EQ(members, p.flow_offset[q + 1] - p.flow_offset[q]);
            if (q > 0)
                CHECK(p.start_ns[q] >= p.start_ns[q - 1]);
        }
        CHECK_INT_EQ(seen, n);
        m4_busy_periods_free(&p);
    }
}

M4_TEST_MAIN(M4_TEST(hand_built_chain_and_gap), M4_TEST(link_freed_inside_open_period),
             M4_TEST(rejects_bad_input), M4_TEST(random_sets_match_reference))
