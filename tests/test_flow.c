/* Flow-level backend: hand-computed max-min cases, exact lone-flow FCT, and
 * agreement with an independent global-recompute simulator on random
 * scenarios. The backend is driven directly through its ops (paths are plain
 * lists of directed links, so no routing is needed). */
#include "testlib.h"

#include "core/rng.h"
#include "net/scenario.h"
#include "sim/sim.h"

/* A topology of n bidirectional links with the given rates; only the link
 * rates matter to the flow backend. */
static void make_links(m4_scenario *sc, m4_link *links, int n, const double *rates_gbps)
{
    memset(sc, 0, sizeof *sc);
    for (int i = 0; i < n; i++)
        links[i] = (m4_link){2 * i, 2 * i + 1, rates_gbps[i] * 1e9, 1000, 0};
    sc->topology.num_links = n;
    sc->topology.links = links;
}

typedef struct test_flow {
    int64_t start_ns, size_bytes, ideal_fct_ns;
    int32_t path[8];
    int32_t hops;
    int64_t end_ns; /* filled by run_backend */
} test_flow;

/* Bottleneck time of size + ceil(size/1000) * 48 bytes with the ideal-FCT
 * formula's truncations; the backend's work for a flow is this time x r_min. */
static int64_t alone_ns(int64_t size, double gbps)
{
    int64_t first_payload = size < 1000 ? size : 1000, packets = (size + 999) / 1000;
    return (int64_t)floor((double)(first_payload + 48) * 8 / gbps) +
           (int64_t)floor((double)(size - first_payload) * 8 / gbps) +
           (packets - 1) * (int64_t)floor(48.0 * 8 / gbps);
}

static double work_bits(int64_t size, double gbps)
{
    return (double)alone_ns(size, gbps) * gbps;
}

/* The ideal FCT of DESIGN.md section 3, computed independently of net/. */
static int64_t ideal_formula(const double *gbps, int hops, const int64_t *delay_ns, int64_t size)
{
    int64_t first_payload = size < 1000 ? size : 1000, first = first_payload + 48;
    int64_t packets = (size + 999) / 1000;
    double rmin = gbps[0];
    int64_t total = 0;
    for (int i = 0; i < hops; i++) {
        total += delay_ns[i] + (int64_t)floor((double)first * 8 / gbps[i]);
        if (gbps[i] < rmin)
            rmin = gbps[i];
    }
    total += (int64_t)floor((double)(size - first_payload) * 8 / rmin);
    total += (packets - 1) * (int64_t)floor(48.0 * 8 / rmin);
    return total;
}

/* Drive the backend like the simulation driver does: flows must be sorted by
 * start. Returns 0 when every flow completed exactly once. */
static int run_backend(const m4_scenario *sc, test_flow *flows, int n)
{
    void *state;
    m4_backend_params params = {0};
    if (m4_flow_backend.create(&state, sc, &params) != M4_OK)
        return -1;
    m4_completion_list done = {0};
    int completed = 0, bad = 0;
    for (int i = 0; i < n; i++)
        flows[i].end_ns = -1;
    for (int next = 0;;) {
        int64_t start = next < n ? flows[next].start_ns : INT64_MAX;
        int64_t event = m4_flow_backend.next_event_time(state);
        if (start == INT64_MAX && event == INT64_MAX)
            break;
        if (start <= event) {
            test_flow *f = &flows[next];
            m4_flow_start s = {next, next, 0, 1, f->size_bytes, f->start_ns, f->path, f->hops,
                               f->ideal_fct_ns, 3};
            if (m4_flow_backend.add_flow(state, &s) != M4_OK)
                bad++;
            next++;
            continue;
        }
        if (m4_flow_backend.advance(state, start == INT64_MAX ? INT64_MAX : start - 1, &done))
            bad++;
        for (int64_t c = 0; c < done.count; c++) {
            test_flow *f = &flows[done.items[c].handle];
            if (f->end_ns >= 0)
                bad++;
            f->end_ns = done.items[c].end_ns;
            completed++;
        }
        done.count = 0;
        if (bad)
            break;
    }
    free(done.items);
    m4_flow_backend.destroy(state);
    return bad || completed != n ? -1 : 0;
}

/* Ideal FCT with a chosen base delay D: tx at the bottleneck + D, so that
 * every end time below is transmission end + D. */
static int64_t ideal_with_delay(int64_t size, double bottleneck_gbps, int64_t delay)
{
    return alone_ns(size, bottleneck_gbps) + delay;
}

static void lone_flow_fct_is_exactly_ideal(void)
{
    /* DESIGN.md section 3's worked examples: 10 Gb/s, 1 us, 2 links. */
    double gbps2[] = {10, 10};
    int64_t delays2[] = {1000, 1000};
    CHECK_INT_EQ(ideal_formula(gbps2, 2, delays2, 5444), 7421);
    CHECK_INT_EQ(ideal_formula(gbps2, 2, delays2, 70220), 61712);

    m4_scenario sc;
    m4_link links[6];
    double gbps6[] = {10, 40, 40, 40, 40, 10};
    int64_t delays6[] = {1000, 1000, 1000, 1000, 1000, 1000};
    make_links(&sc, links, 6, gbps6);
    int64_t sizes[] = {1, 999, 1000, 1001, 5444, 70220, 123457, 30000000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int shape = 0; shape < 2; shape++) {
            int hops = shape ? 6 : 2;
            const double *g = shape ? gbps6 : gbps2;
            test_flow f = {12345, sizes[i], ideal_formula(g, hops, shape ? delays6 : delays2,
                                                          sizes[i]),
                           {0, 2, 4, 6, 8, 10}, hops, 0};
            if (!shape) {
                f.path[1] = 10; /* two 10G links: links 0 and 5 */
            }
            CHECK(run_backend(&sc, &f, 1) == 0);
            CHECK_INT_EQ(f.end_ns - f.start_ns, f.ideal_fct_ns);
        }
    }
}

static void three_flows_on_a_line(void)
{
    /* A crosses links 0 and 1, B only link 0, C only link 1: 5 Gb/s each
     * until A (10000 B: 838 + 7200 + 9 x 38 = 8380 ns at 10G = 83800 bits)
     * ends at 16760 ns; then B and C (100000 B: 838 + 79200 + 99 x 38 =
     * 83800 ns = 838000 bits) get 10 Gb/s for their remaining
     * 838000 - 83800 = 754200 bits: 75420 ns more. */
    CHECK_INT_EQ(alone_ns(10000, 10), 8380);
    CHECK_INT_EQ(alone_ns(100000, 10), 83800);
    m4_scenario sc;
    m4_link links[2];
    double gbps[] = {10, 10};
    make_links(&sc, links, 2, gbps);
    enum { D = 1000 };
    test_flow flows[] = {
        {0, 10000, ideal_with_delay(10000, 10, D), {0, 2}, 2, 0},
        {0, 100000, ideal_with_delay(100000, 10, D), {0}, 1, 0},
        {0, 100000, ideal_with_delay(100000, 10, D), {2}, 1, 0},
    };
    CHECK(run_backend(&sc, flows, 3) == 0);
    CHECK_INT_EQ(flows[0].end_ns, 16760 + D);
    CHECK_INT_EQ(flows[1].end_ns, 16760 + 75420 + D);
    CHECK_INT_EQ(flows[2].end_ns, 16760 + 75420 + D);
}

static void unequal_capacities(void)
{
    /* Link 0 at 10 Gb/s, link 1 at 4 Gb/s. Link 1 is the tighter: A and C
     * get 2 each; B then gets 10 - 2 = 8 on link 0. A and C, 10000 B with a
     * 4G bottleneck: 2096 + 18000 + 9 x 96 = 20960 ns = 83840 bits; both end
     * at 41920 ns. B (838000 bits) sent 8 x 41920 = 335360 by then and has
     * 502640 left at 10: 50264 ns more. */
    CHECK_INT_EQ(alone_ns(10000, 4), 20960);
    m4_scenario sc;
    m4_link links[2];
    double gbps[] = {10, 4};
    make_links(&sc, links, 2, gbps);
    enum { D = 500 };
    test_flow flows[] = {
        {0, 10000, ideal_with_delay(10000, 4, D), {0, 2}, 2, 0},
        {0, 100000, ideal_with_delay(100000, 10, D), {0}, 1, 0},
        {0, 10000, ideal_with_delay(10000, 4, D), {2}, 1, 0},
    };
    CHECK(run_backend(&sc, flows, 3) == 0);
    CHECK_INT_EQ(flows[0].end_ns, 41920 + D);
    CHECK_INT_EQ(flows[2].end_ns, 41920 + D);
    CHECK_INT_EQ(flows[1].end_ns, 41920 + 50264 + D);
}

static void parking_lot(void)
{
    /* One long flow over N links, one short flow per link, equal sizes: every
     * flow gets capacity / 2 for its whole life. */
    enum { N = 7, D = 2000 };
    m4_scenario sc;
    m4_link links[N];
    double gbps[N];
    for (int i = 0; i < N; i++)
        gbps[i] = 40;
    make_links(&sc, links, N, gbps);
    test_flow flows[N + 1];
    memset(flows, 0, sizeof flows);
    /* 50000 B at 40G: 209 + 9800 + 49 x 9 = 10450 ns = 418000 bits, at 20
     * Gb/s 20900 ns. */
    int64_t size = 50000;
    CHECK_INT_EQ(alone_ns(size, 40), 10450);
    flows[0] = (test_flow){100, size, ideal_with_delay(size, 40, D), {0}, N, 0};
    for (int i = 0; i < N; i++) {
        flows[0].path[i] = 2 * i;
        flows[i + 1] = (test_flow){100, size, ideal_with_delay(size, 40, D), {2 * i}, 1, 0};
    }
    CHECK(run_backend(&sc, flows, N + 1) == 0);
    for (int i = 0; i <= N; i++)
        CHECK_INT_EQ(flows[i].end_ns, 100 + 20900 + D);
}

static void arrival_during_transfer_and_direction(void)
{
    /* Directed links are independent: a flow on 1 (link 0 backwards) does
     * not share with one on 0. A second flow on link 0 arriving at 10000 ns
     * halves the first one's rate. 100000 B = 838000 bits at 10: the first
     * has 738000 left at 10000 ns; both run at 5 until the first ends at
     * 10000 + 147600 = 157600; the second then has 838000 - 738000 = 100000
     * left at 10: ends 10000 ns later. */
    m4_scenario sc;
    m4_link links[1];
    double gbps[] = {10};
    make_links(&sc, links, 1, gbps);
    test_flow flows[] = {
        {0, 100000, ideal_with_delay(100000, 10, 0), {0}, 1, 0},
        {0, 100000, ideal_with_delay(100000, 10, 0), {1}, 1, 0},
        {10000, 100000, ideal_with_delay(100000, 10, 0), {0}, 1, 0},
    };
    CHECK(run_backend(&sc, flows, 3) == 0);
    CHECK_INT_EQ(flows[1].end_ns, 83800);
    CHECK_INT_EQ(flows[0].end_ns, 157600);
    CHECK_INT_EQ(flows[2].end_ns, 167600);
}

static void many_simultaneous_tiny_flows(void)
{
    /* 100 one-byte flows on one 10 Gb/s link at once: 49 B = floor(39.2) =
     * 39 ns alone = 390 bits; at 0.1 Gb/s each they all end at 3900 ns (one
     * ns of rounding allowed), then 100 more arrive exactly then. */
    enum { N = 100 };
    m4_scenario sc;
    m4_link links[1];
    double gbps[] = {10};
    make_links(&sc, links, 1, gbps);
    test_flow flows[2 * N];
    for (int i = 0; i < 2 * N; i++)
        flows[i] = (test_flow){i < N ? 0 : 3900, 1, ideal_with_delay(1, 10, 7), {0}, 1, 0};
    CHECK(run_backend(&sc, flows, 2 * N) == 0);
    for (int i = 0; i < 2 * N; i++) {
        CHECK_NEAR((double)(flows[i].end_ns - flows[i].start_ns), 3900 + 7, 1);
        CHECK(flows[i].end_ns - flows[i].start_ns >= flows[i].ideal_fct_ns);
    }
}

/* ---- independent slow simulator: global progressive filling at every event,
 * continuous (double) time. ------------------------------------------------- */

static void global_max_min(int nlinks, const double *cap, test_flow *flows, const int *active,
                           int n, double *rate)
{
    double remaining[64];
    int unfrozen[64];
    int frozen[256] = {0};
    for (int l = 0; l < nlinks; l++) {
        remaining[l] = cap[l];
        unfrozen[l] = 0;
    }
    for (int i = 0; i < n; i++)
        if (active[i])
            for (int h = 0; h < flows[i].hops; h++)
                unfrozen[flows[i].path[h]]++;
    for (;;) {
        int best = -1;
        double best_share = INFINITY;
        for (int l = 0; l < nlinks; l++)
            if (unfrozen[l] > 0 && remaining[l] / unfrozen[l] < best_share) {
                best_share = remaining[l] / unfrozen[l];
                best = l;
            }
        if (best < 0)
            break;
        for (int i = 0; i < n; i++) {
            if (!active[i] || frozen[i])
                continue;
            int on = 0;
            for (int h = 0; h < flows[i].hops; h++)
                on |= flows[i].path[h] == best;
            if (!on)
                continue;
            frozen[i] = 1;
            rate[i] = best_share;
            for (int h = 0; h < flows[i].hops; h++) {
                remaining[flows[i].path[h]] -= best_share;
                unfrozen[flows[i].path[h]]--;
            }
        }
    }
}

static void slow_reference(int nlinks, const double *cap, test_flow *flows, int n, double *end)
{
    int active[256] = {0};
    double left[256], rate[256];
    double now = 0;
    int next = 0, finished = 0;
    while (finished < n) {
        global_max_min(nlinks, cap, flows, active, n, rate);
        double t_next = next < n ? (double)flows[next].start_ns : INFINITY;
        for (int i = 0; i < n; i++)
            if (active[i] && now + left[i] / rate[i] < t_next)
                t_next = now + left[i] / rate[i];
        for (int i = 0; i < n; i++)
            if (active[i])
                left[i] -= rate[i] * (t_next - now);
        now = t_next;
        for (int i = 0; i < n; i++) {
            if (active[i] && left[i] <= 1e-9 * (double)flows[i].size_bytes) {
                active[i] = 0;
                finished++;
                double bottleneck = INFINITY;
                for (int h = 0; h < flows[i].hops; h++)
                    bottleneck = fmin(bottleneck, cap[flows[i].path[h]]);
                double extra = (double)(flows[i].ideal_fct_ns -
                                        alone_ns(flows[i].size_bytes, bottleneck));
                end[i] = now + extra;
            }
        }
        while (next < n && (double)flows[next].start_ns <= now) {
            active[next] = 1;
            double bottleneck = INFINITY;
            for (int h = 0; h < flows[next].hops; h++)
                bottleneck = fmin(bottleneck, cap[flows[next].path[h]]);
            left[next] = work_bits(flows[next].size_bytes, bottleneck);
            next++;
        }
    }
}

static void matches_global_recompute_on_random_scenarios(void)
{
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed());
    for (int trial = 0; trial < 40; trial++) {
        int nlinks = 2 + (int)m4_rng_below(&rng, 10);
        int n = 5 + (int)m4_rng_below(&rng, 60);
        m4_scenario sc;
        m4_link links[32];
        double gbps[32], cap[64];
        for (int l = 0; l < nlinks; l++)
            gbps[l] = (double)(1 + m4_rng_below(&rng, 4)) * 10;
        make_links(&sc, links, nlinks, gbps);
        for (int d = 0; d < 2 * nlinks; d++)
            cap[d] = gbps[d / 2];
        test_flow flows[64];
        int64_t t = 0;
        for (int i = 0; i < n; i++) {
            test_flow *f = &flows[i];
            memset(f, 0, sizeof *f);
            /* Some simultaneous arrivals on purpose. */
            t += m4_rng_below(&rng, 3) == 0 ? 0 : (int64_t)m4_rng_below(&rng, 20000);
            f->start_ns = t;
            f->size_bytes = 1 + (int64_t)m4_rng_below(&rng, 200000);
            f->hops = 1 + (int)m4_rng_below(&rng, 4);
            double bottleneck = INFINITY;
            for (int h = 0; h < f->hops; h++) {
                int32_t d;
                int dup;
                do {
                    d = (int32_t)m4_rng_below(&rng, (uint64_t)(2 * nlinks));
                    dup = 0;
                    for (int k = 0; k < h; k++)
                        dup |= f->path[k] == d;
                } while (dup);
                f->path[h] = d;
                bottleneck = fmin(bottleneck, cap[d]);
            }
            f->ideal_fct_ns = ideal_with_delay(f->size_bytes, bottleneck,
                                               (int64_t)m4_rng_below(&rng, 5000));
        }
        double reference[64];
        slow_reference(2 * nlinks, cap, flows, n, reference);
        CHECK(run_backend(&sc, flows, n) == 0);
        for (int i = 0; i < n; i++) {
            /* Conservation: completed, never faster than alone. */
            CHECK(flows[i].end_ns - flows[i].start_ns >= flows[i].ideal_fct_ns);
            /* Rounding to whole ns at each event: a few ns at most. */
            CHECK_NEAR((double)flows[i].end_ns, reference[i], 2.0 + 1e-9 * reference[i] + n);
        }
    }
}

M4_TEST_MAIN(M4_TEST(lone_flow_fct_is_exactly_ideal), M4_TEST(three_flows_on_a_line),
             M4_TEST(unequal_capacities), M4_TEST(parking_lot),
             M4_TEST(arrival_during_transfer_and_direction), M4_TEST(many_simultaneous_tiny_flows),
             M4_TEST(matches_global_recompute_on_random_scenarios))
