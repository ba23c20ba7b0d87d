/* The m4 simulation state (src/m4/state.h): active flows per link, the
 * component an event touches (and the smaller neighbourhoods), link resets, the pair list, gather/scatter and
 * dt features, max-min fair shares and the fluid (flowSim) estimate, on
 * hand-built flows; then a seeded random sequence of 200 arrivals and
 * removals on 20 links against an independent union-find over the active
 * flows. */
#include "testlib.h"

#include "core/rng.h"
#include "m4/state.h"
#include "m4sim.h"

enum { HS = 4 };

/* ---- helpers -------------------------------------------------------------- */

/* Bit sets of the component's flows (slots < 64) and links (< 64). */
static uint64_t comp_flow_set(const m4_state *s)
{
    uint64_t m = 0;
    for (int32_t r = 0; r < s->comp_num_flows; r++) m |= 1ull << s->comp_flows[r];
    return m;
}

static uint64_t comp_link_set(const m4_state *s)
{
    uint64_t m = 0;
    for (int32_t r = 0; r < s->comp_num_links; r++) m |= 1ull << s->comp_links[r];
    return m;
}

static uint64_t bits(const int *v, int n)
{
    uint64_t m = 0;
    for (int i = 0; i < n; i++) m |= 1ull << v[i];
    return m;
}
#define SET(...) bits((const int[]){__VA_ARGS__}, (int)(sizeof((const int[]){__VA_ARGS__}) / sizeof(int)))

/* The component's rows and pair list are consistent: no duplicate rows,
 * comp_link_row inverts comp_links, and the pairs are every (flow, hop) of
 * the component's flows exactly once, each naming a link on that flow's path. */
static int comp_consistent(const m4_state *s)
{
    int ok = 1;
    if (__builtin_popcountll(comp_flow_set(s)) != s->comp_num_flows) ok = 0;
    if (__builtin_popcountll(comp_link_set(s)) != s->comp_num_links) ok = 0;
    int expected_pairs = 0;
    for (int32_t r = 0; r < s->comp_num_links; r++)
        if (s->comp_link_row[s->comp_links[r]] != r) ok = 0;
    /* used[row][hop] */
    static unsigned char used[256][M4_MAX_HOPS];
    for (int32_t r = 0; r < s->comp_num_flows; r++) {
        expected_pairs += s->flow_num_hops[s->comp_flows[r]];
        memset(used[r], 0, M4_MAX_HOPS);
    }
    if (expected_pairs != s->comp_num_pairs) ok = 0;
    for (int32_t p = 0; p < s->comp_num_pairs; p++) {
        int fr = s->pair_flow[p], lr = s->pair_link[p];
        if (fr < 0 || fr >= s->comp_num_flows || lr < 0 || lr >= s->comp_num_links) return 0;
        int32_t f = s->comp_flows[fr], l = s->comp_links[lr];
        int hit = 0;
        for (int32_t i = 0; i < s->flow_num_hops[f]; i++)
            if (s->flow_path[(size_t)f * M4_MAX_HOPS + i] == l && !used[fr][i]) {
                used[fr][i] = 1, hit = 1;
                break;
            }
        if (!hit) ok = 0;
    }
    /* Every link of a component flow is in the component. */
    for (int32_t r = 0; r < s->comp_num_flows; r++) {
        int32_t f = s->comp_flows[r];
        for (int32_t i = 0; i < s->flow_num_hops[f]; i++)
            if (!(comp_link_set(s) >> s->flow_path[(size_t)f * M4_MAX_HOPS + i] & 1)) ok = 0;
    }
    return ok;
}

static int is_link_init(const m4_state *s, int32_t l)
{
    float z[HS];
    m4_model_link_init(z, HS);
    return memcmp(z, s->link_z + (size_t)l * HS, sizeof z) == 0;
}

/* ---- hand-built flows ------------------------------------------------------ */

/* Flows (slots) A=0 on {0,1}, B=1 on {1,2}, C=2 on {3}, D=3 on {4,5}, E=4 on {2,5}. */
static const int32_t pA[] = {0, 1}, pB[] = {1, 2}, pC[] = {3}, pD[] = {4, 5}, pE[] = {2, 5};
enum { A, B, C, D, EF };

static void components_by_hand(void)
{
    m4_state s;
    CHECK_INT_EQ(m4_state_init(&s, HS, 6, 2), M4_OK);
    for (int l = 0; l < 6; l++) CHECK(is_link_init(&s, l));

    CHECK_INT_EQ(m4_state_add_flow(&s, A, pA, 2, 7000, 1000), M4_OK);
    CHECK_INT_EQ(m4_state_component(&s, pA, 2), M4_OK);
    CHECK(comp_flow_set(&s) == SET(A) && comp_link_set(&s) == SET(0, 1));
    CHECK_INT_EQ(s.comp_num_pairs, 2);
    CHECK(comp_consistent(&s));
    /* The flow's initial state and stamps. */
    float h[HS];
    m4_model_flow_init(h, HS, 7000, 2);
    CHECK(memcmp(h, s.flow_h + A * HS, sizeof h) == 0);
    CHECK_INT_EQ(s.flow_last_ns[A], 1000);
    CHECK_INT_EQ(s.link_last_ns[0], 1000);
    CHECK_INT_EQ(s.link_last_ns[1], 1000);

    CHECK_INT_EQ(m4_state_add_flow(&s, B, pB, 2, 500, 2000), M4_OK);
    CHECK_INT_EQ(m4_state_component(&s, pB, 2), M4_OK);
    CHECK(comp_flow_set(&s) == SET(A, B) && comp_link_set(&s) == SET(0, 1, 2));
    CHECK_INT_EQ(s.comp_num_pairs, 4);
    CHECK(comp_consistent(&s));
    /* Link 1 already had a flow: its stamp stays; link 2 is new. */
    CHECK_INT_EQ(s.link_last_ns[1], 1000);
    CHECK_INT_EQ(s.link_last_ns[2], 2000);

    CHECK_INT_EQ(m4_state_add_flow(&s, C, pC, 1, 100, 3000), M4_OK);
    CHECK_INT_EQ(m4_state_component(&s, pC, 1), M4_OK);
    CHECK(comp_flow_set(&s) == SET(C) && comp_link_set(&s) == SET(3));
    CHECK(comp_consistent(&s));

    CHECK_INT_EQ(m4_state_add_flow(&s, D, pD, 2, 100, 4000), M4_OK);
    CHECK_INT_EQ(m4_state_component(&s, pD, 2), M4_OK);
    CHECK(comp_flow_set(&s) == SET(D) && comp_link_set(&s) == SET(4, 5)); /* before E */
    CHECK_INT_EQ(m4_state_component(&s, pA, 2), M4_OK);
    CHECK(comp_flow_set(&s) == SET(A, B) && comp_link_set(&s) == SET(0, 1, 2));

    CHECK_INT_EQ(m4_state_add_flow(&s, EF, pE, 2, 100, 5000), M4_OK);
    CHECK_INT_EQ(m4_state_component(&s, pE, 2), M4_OK);
    CHECK(comp_flow_set(&s) == SET(A, B, D, EF) && comp_link_set(&s) == SET(0, 1, 2, 4, 5));
    CHECK_INT_EQ(s.comp_num_pairs, 8);
    CHECK(comp_consistent(&s));
    /* Seeded from any of its links, the same component; C stays alone. */
    const int32_t seed0[] = {0}, seed4[] = {4}, seed3[] = {3}, seeds[] = {3, 0};
    CHECK_INT_EQ(m4_state_component(&s, seed4, 1), M4_OK);
    CHECK(comp_flow_set(&s) == SET(A, B, D, EF));
    CHECK_INT_EQ(m4_state_component(&s, seed3, 1), M4_OK);
    CHECK(comp_flow_set(&s) == SET(C) && comp_link_set(&s) == SET(3));
    CHECK_INT_EQ(m4_state_component(&s, seeds, 2), M4_OK); /* two seeds: the union */
    CHECK(comp_flow_set(&s) == SET(A, B, C, D, EF) && comp_link_set(&s) == SET(0, 1, 2, 3, 4, 5));
    CHECK(comp_consistent(&s));

    /* Give every link a non-initial state so resets are visible. */
    for (int l = 0; l < 6; l++)
        for (int k = 0; k < HS; k++) s.link_z[l * HS + k] = 10.0f + l;

    /* B leaves: links 1, 2 still carry A and E; nothing reset; {A, D, E} remain joined via E. */
    m4_state_remove_flow(&s, B);
    CHECK_INT_EQ(s.num_reset_links, 0);
    CHECK(!s.flow_active[B]);
    CHECK_INT_EQ(m4_state_component(&s, pB, 2), M4_OK);
    CHECK(comp_flow_set(&s) == SET(A, D, EF) && comp_link_set(&s) == SET(0, 1, 2, 4, 5));
    CHECK_INT_EQ(s.comp_num_pairs, 6);
    CHECK(comp_consistent(&s));
    CHECK(!is_link_init(&s, 1) && !is_link_init(&s, 2));

    /* E leaves: link 2 empties (reset), link 5 keeps D; A and D split. */
    m4_state_remove_flow(&s, EF);
    CHECK_INT_EQ(s.num_reset_links, 1);
    CHECK_INT_EQ(s.reset_links[0], 2);
    CHECK(is_link_init(&s, 2) && !is_link_init(&s, 5));
    CHECK_INT_EQ(m4_state_component(&s, pE, 2), M4_OK);
    CHECK(comp_flow_set(&s) == SET(D) && comp_link_set(&s) == SET(4, 5));
    CHECK_INT_EQ(m4_state_component(&s, seed0, 1), M4_OK);
    CHECK(comp_flow_set(&s) == SET(A) && comp_link_set(&s) == SET(0, 1));

    /* C leaves: its only link resets; the component of that link is empty. */
    m4_state_remove_flow(&s, C);
    CHECK_INT_EQ(s.num_reset_links, 1);
    CHECK_INT_EQ(s.reset_links[0], 3);
    CHECK(is_link_init(&s, 3));
    CHECK_INT_EQ(m4_state_component(&s, pC, 1), M4_OK);
    CHECK_INT_EQ(s.comp_num_flows, 0);
    CHECK_INT_EQ(s.comp_num_links, 0);
    CHECK_INT_EQ(s.comp_num_pairs, 0);

    /* A leaves: both its links reset, in path order. */
    m4_state_remove_flow(&s, A);
    CHECK_INT_EQ(s.num_reset_links, 2);
    CHECK(s.reset_links[0] == 0 && s.reset_links[1] == 1);
    CHECK(is_link_init(&s, 0) && is_link_init(&s, 1));
    /* Removing an inactive slot (or one out of range) changes nothing. */
    m4_state_remove_flow(&s, A);
    CHECK_INT_EQ(s.num_reset_links, 0);
    m4_state_remove_flow(&s, 999);
    CHECK_INT_EQ(s.num_reset_links, 0);

    /* A link that refills starts over at the refill time. */
    CHECK_INT_EQ(m4_state_add_flow(&s, B, pB, 2, 500, 9000), M4_OK);
    CHECK_INT_EQ(s.link_last_ns[1], 9000);
    CHECK_INT_EQ(s.link_last_ns[2], 9000);
    CHECK(is_link_init(&s, 1));

    /* Bad calls. */
    CHECK_INT_EQ(m4_state_add_flow(&s, B, pB, 2, 500, 9000), M4_ESTATE);
    const int32_t out_of_range[] = {1, 6};
    CHECK_INT_EQ(m4_state_add_flow(&s, 7, out_of_range, 2, 500, 9000), M4_EINVAL);
    CHECK(!s.flow_active[7]);
    CHECK_INT_EQ(s.link_flows[1].count, 1); /* the failed add left no trace */
    CHECK_INT_EQ(m4_state_add_flow(&s, 7, pA, 0, 500, 9000), M4_EINVAL);
    CHECK_INT_EQ(m4_state_add_flow(&s, -1, pA, 2, 500, 9000), M4_EINVAL);
    /* A slot far beyond the capacity grows the arrays. */
    CHECK_INT_EQ(m4_state_add_flow(&s, 40, pD, 2, 100, 9500), M4_OK);
    CHECK(s.flow_capacity > 40);
    CHECK_INT_EQ(m4_state_component(&s, pD, 2), M4_OK);
    CHECK(comp_flow_set(&s) == SET(D, 40) && comp_consistent(&s)); /* D is still on 4, 5 */
    m4_state_free(&s);
}

/* A fresh state on six links at these rates with A, B, E and D active
 * (arrived at 0, 100 bytes each). */
static void chain_state(m4_state *s, const double rates[6])
{
    CHECK_INT_EQ(m4_state_init(s, HS, 6, 8), M4_OK);
    CHECK_INT_EQ(m4_state_set_link_rates(s, rates), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(s, A, pA, 2, 100, 0), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(s, B, pB, 2, 100, 0), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(s, EF, pE, 2, 100, 0), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(s, D, pD, 2, 100, 0), M4_OK);
}

/* The event neighbourhoods on a chain: A on {0,1}, B on {1,2}, E on {2,5},
 * D on {4,5}; the event is on A's path {0,1}. All links 10 units.
 *   COMPONENT: A, B, E, D and links 0,1,2,5,4 (every link shared, coupled or not);
 *   FLOWS:     A and B (the flows on links 0 and 1) and all their links 0,1,2;
 *   LINKS:     A and B, the graph only links 0 and 1 (pairs, B-1 first),
 *              the fluid view still over 0,1,2.
 * Fair shares under FLOWS with E outside at a max-min rate of 6 on link 2: B
 * gets what E leaves, 4; A the rest of link 1, 6. */
static void neighbourhoods_by_hand(void)
{
    m4_state s;
    const double rates[6] = {10, 10, 10, 10, 10, 10};
    chain_state(&s, rates);

    s.neighbourhood = M4_NEIGHBOURHOOD_COMPONENT;
    CHECK_INT_EQ(m4_state_component(&s, pA, 2), M4_OK);
    CHECK(comp_flow_set(&s) == SET(A, B, EF, D) && comp_link_set(&s) == SET(0, 1, 2, 4, 5));
    CHECK(comp_consistent(&s));
    CHECK_INT_EQ(s.comp_graph_links, s.comp_num_links);
    CHECK_INT_EQ(s.comp_graph_pairs, s.comp_num_pairs);

    s.neighbourhood = M4_NEIGHBOURHOOD_FLOWS;
    CHECK_INT_EQ(m4_state_component(&s, pA, 2), M4_OK);
    CHECK(comp_flow_set(&s) == SET(A, B) && comp_link_set(&s) == SET(0, 1, 2));
    CHECK(comp_consistent(&s));
    CHECK_INT_EQ(s.comp_graph_links, 3);
    CHECK_INT_EQ(s.comp_graph_pairs, 4);
    s.flow_fluid_bps[EF] = 6;
    float fair[8];
    CHECK_INT_EQ(m4_state_fair_share(&s, fair), M4_OK);
    for (int r = 0; r < s.comp_num_flows; r++)
        CHECK_NEAR(fair[r], s.comp_flows[r] == A ? 0.6 : 0.4, 1e-6);

    s.neighbourhood = M4_NEIGHBOURHOOD_LINKS;
    CHECK_INT_EQ(m4_state_component(&s, pA, 2), M4_OK);
    CHECK(comp_flow_set(&s) == SET(A, B) && comp_link_set(&s) == SET(0, 1, 2));
    CHECK(comp_consistent(&s));
    CHECK_INT_EQ(s.comp_graph_links, 2);
    CHECK(s.comp_links[0] == 0 && s.comp_links[1] == 1); /* the event's links lead */
    CHECK_INT_EQ(s.comp_graph_pairs, 3);
    for (int p = 0; p < s.comp_num_pairs; p++) {
        int32_t f = s.comp_flows[s.pair_flow[p]], l = s.comp_links[s.pair_link[p]];
        /* graph pairs: on links 0-1; the one left (B on 2) comes after them */
        CHECK_INT_EQ(p < s.comp_graph_pairs, l < 2);
        if (p >= s.comp_graph_pairs) CHECK(f == B && l == 2);
    }
    /* gather sees the graph part only */
    float h[8 * HS], z[8 * HS], fdt[8], ldt[8], plen[8], cfg[M4_MODEL_CONFIG] = {0};
    m4_step_input in;
    m4_state_gather(&s, 100, cfg, h, z, fdt, ldt, plen, &in);
    CHECK(in.num_flows == 2 && in.num_links == 2 && in.num_pairs == 3);
    CHECK_INT_EQ(m4_state_fair_share(&s, fair), M4_OK);
    for (int r = 0; r < s.comp_num_flows; r++)
        CHECK_NEAR(fair[r], s.comp_flows[r] == A ? 0.6 : 0.4, 1e-6);

    CHECK_INT_EQ(m4_neighbourhood_parse("links"), M4_NEIGHBOURHOOD_LINKS);
    CHECK_INT_EQ(m4_neighbourhood_parse("flows"), M4_NEIGHBOURHOOD_FLOWS);
    CHECK_INT_EQ(m4_neighbourhood_parse("component"), M4_NEIGHBOURHOOD_COMPONENT);
    CHECK_INT_EQ(m4_neighbourhood_parse("star"), -1);
    m4_state_free(&s);
}

static void gather_scatter_and_dt(void)
{
    m4_state s;
    CHECK_INT_EQ(m4_state_init(&s, HS, 6, 8), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(&s, A, pA, 2, 7000, 1000), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(&s, B, pB, 2, 3000, 4000), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(&s, C, pC, 1, 100, 4000), M4_OK);
    CHECK_INT_EQ(m4_state_component(&s, pB, 2), M4_OK);
    const int N = s.comp_num_flows, L = s.comp_num_links;
    CHECK(N == 2 && L == 3);
    float cfg[M4_MODEL_CONFIG];
    for (int k = 0; k < M4_MODEL_CONFIG; k++) cfg[k] = (float)k;
    float fh[2 * HS], lz[3 * HS], fdt[2], ldt[3], plen[2];
    m4_step_input in;
    /* At 7000: A was stamped at 1000 (6 us: log2 7), B at 4000 (3 us: log2 4 = 2);
     * links 0 and 1 at 1000, link 2 at 4000. */
    m4_state_gather(&s, 7000, cfg, fh, lz, fdt, ldt, plen, &in);
    CHECK(in.num_flows == N && in.num_links == L && in.num_pairs == s.comp_num_pairs);
    CHECK(in.flow_h == fh && in.link_z == lz && in.flow_dt == fdt && in.link_dt == ldt);
    CHECK(in.flow_path_length == plen && in.config == cfg);
    CHECK(in.pair_flow == s.pair_flow && in.pair_link == s.pair_link);
    for (int r = 0; r < N; r++) {
        int32_t f = s.comp_flows[r];
        CHECK(memcmp(fh + r * HS, s.flow_h + f * HS, sizeof(float) * HS) == 0);
        CHECK_NEAR(fdt[r], f == A ? log2(7.0) : 2.0, 1e-6);
        CHECK_NEAR(plen[r], 2, 0);
    }
    for (int r = 0; r < L; r++) {
        int32_t l = s.comp_links[r];
        CHECK(memcmp(lz + r * HS, s.link_z + l * HS, sizeof(float) * HS) == 0);
        CHECK_NEAR(ldt[r], l == 2 ? 2.0 : log2(7.0), 1e-6);
    }
    /* Scatter distinct values at 8000 and gather them back: identical rows, dt 0. */
    float nh[2 * HS], nz[3 * HS];
    for (int k = 0; k < 2 * HS; k++) nh[k] = 100.0f + k;
    for (int k = 0; k < 3 * HS; k++) nz[k] = -100.0f - k;
    float c_before[HS];
    memcpy(c_before, s.flow_h + C * HS, sizeof c_before);
    float l3_before[HS];
    memcpy(l3_before, s.link_z + 3 * HS, sizeof l3_before);
    m4_state_scatter(&s, 8000, nh, nz);
    for (int r = 0; r < N; r++) CHECK_INT_EQ(s.flow_last_ns[s.comp_flows[r]], 8000);
    for (int r = 0; r < L; r++) CHECK_INT_EQ(s.link_last_ns[s.comp_links[r]], 8000);
    CHECK_INT_EQ(s.flow_last_ns[C], 4000); /* outside the component: untouched */
    CHECK_INT_EQ(s.link_last_ns[3], 4000);
    CHECK(memcmp(c_before, s.flow_h + C * HS, sizeof c_before) == 0);
    CHECK(memcmp(l3_before, s.link_z + 3 * HS, sizeof l3_before) == 0);
    float fh2[2 * HS], lz2[3 * HS];
    m4_state_gather(&s, 8000, cfg, fh2, lz2, fdt, ldt, plen, &in);
    CHECK(memcmp(fh2, nh, sizeof nh) == 0 && memcmp(lz2, nz, sizeof nz) == 0);
    for (int r = 0; r < N; r++) CHECK_NEAR(fdt[r], 0, 0);
    for (int r = 0; r < L; r++) CHECK_NEAR(ldt[r], 0, 0);
    /* 1 ms later: log2(1 + 1000 us). */
    m4_state_gather(&s, 1008000, cfg, fh2, lz2, fdt, ldt, plen, &in);
    CHECK_NEAR(fdt[0], log2(1001.0), 1e-5);
    m4_state_free(&s);
}

static void fair_shares_and_fluid_by_hand(void)
{
    /* Rates: link 2 is 5, the others 10. A on {0,1}, B on {1,2}, E on {2,5}, D on {4,5}.
     * Progressive filling: link 2 (5 / 2 flows) freezes B and E at 2.5; then
     * link 1 leaves 7.5 for A and link 5 7.5 for D. Over each flow's
     * bottleneck: A 7.5/10, B 2.5/5, E 2.5/5, D 7.5/10. */
    m4_state s;
    const double rates[6] = {10, 10, 5, 10, 10, 10};
    chain_state(&s, rates);
    CHECK_INT_EQ(m4_state_component(&s, pE, 2), M4_OK);
    float fair[8];
    CHECK_INT_EQ(m4_state_fair_share(&s, fair), M4_OK);
    for (int r = 0; r < s.comp_num_flows; r++) {
        int32_t f = s.comp_flows[r];
        CHECK_NEAR(fair[r], (f == A || f == D) ? 0.75 : 0.5, 1e-6);
    }
    const double bad_rates[6] = {10, 10, 0, 10, 10, 10};
    CHECK_INT_EQ(m4_state_set_link_rates(&s, bad_rates), M4_EINVAL);
    m4_state_free(&s);

    /* Fluid estimate on one 8 Gb/s link (1 byte per ns). A 10000-byte flow is
     * 10 packets: 10480 bytes on the wire, 10480 ns alone; its ideal FCT
     * 12480 (2000 of delays). */
    CHECK_INT_EQ(m4_state_init(&s, HS, 1, 4), M4_OK);
    const double r8[1] = {8e9};
    CHECK_INT_EQ(m4_state_set_link_rates(&s, r8), M4_OK);
    const int32_t p0[] = {0};
    float base[4];
    CHECK_INT_EQ(m4_state_add_flow(&s, 0, p0, 1, 10000, 0), M4_OK);
    m4_state_set_flow_ideal(&s, 0, 12480);
    CHECK_INT_EQ(m4_state_component(&s, p0, 1), M4_OK);
    CHECK_INT_EQ(m4_state_fluid(&s, 0, fair, base), M4_OK);
    CHECK_NEAR(fair[0], 1.0, 1e-6);
    CHECK_NEAR(base[0], 1.0, 1e-4); /* alone: flowSim says ideal */
    /* A second flow at 1000: X has sent 1000 bytes; both now at 4 Gb/s.
     * X: 1000 + 9480 x 2 + 2000 = 21960 -> 1.759615; Y: 20960 + 2000 = 22960 -> 1.839744. */
    CHECK_INT_EQ(m4_state_add_flow(&s, 1, p0, 1, 10000, 1000), M4_OK);
    m4_state_set_flow_ideal(&s, 1, 12480);
    CHECK_INT_EQ(m4_state_component(&s, p0, 1), M4_OK);
    CHECK_INT_EQ(m4_state_fluid(&s, 1000, fair, base), M4_OK);
    for (int r = 0; r < 2; r++) {
        CHECK_NEAR(fair[r], 0.5, 1e-6);
        CHECK_NEAR(base[r], s.comp_flows[r] == 0 ? 21960.0 / 12480 : 22960.0 / 12480, 1e-4);
    }
    /* Y leaves at 3000: X sent 1000 more bytes at 4 Gb/s and has 8480 left,
     * alone again: 3000 + 8480 + 2000 = 13480 -> 1.080128. */
    m4_state_remove_flow(&s, 1);
    CHECK_INT_EQ(m4_state_component(&s, p0, 1), M4_OK);
    CHECK_INT_EQ(s.comp_num_flows, 1);
    CHECK_INT_EQ(m4_state_fluid(&s, 3000, fair, base), M4_OK);
    CHECK_NEAR(fair[0], 1.0, 1e-6);
    CHECK_NEAR(base[0], 13480.0 / 12480, 1e-4);
    /* At 5000 the fluid view has advanced at 8 Gb/s: 6480 left, the same end. */
    CHECK_INT_EQ(m4_state_fluid(&s, 5000, fair, base), M4_OK);
    CHECK_NEAR(base[0], 13480.0 / 12480, 1e-4);
    CHECK_NEAR(s.flow_fluid_bits[0], 6480.0 * 8, 1e-3);
    m4_state_free(&s);
}

/* Capacity floor on one 8 Gb/s link (8 bits per ns); 952-byte flows are
 * one packet, 1000 bytes on the wire = 8000 bits = 1000 ns alone. The
 * floor of the j-th flow in predicted order is now + (backlog - bits of
 * the flows ending after it) / rate. */
static void capacity_floor_by_hand(void)
{
    m4_state s;
    /* Link 0 is the flows' last hop (a receiver's downlink), after a fast
     * uplink 1 they do not saturate: only the backlog bound applies. */
    CHECK_INT_EQ(m4_state_init(&s, HS, 2, 4), M4_OK);
    const double r8[2] = {8e9, 80e9};
    CHECK_INT_EQ(m4_state_set_link_rates(&s, r8), M4_OK);
    const int32_t p0[] = {1, 0};
    float fair[4], base[4];
    int64_t ends[4];
    /* A and B at 0: backlog 16000. Predicted 300 and 400: A cannot end
     * before 8000 bits are through (1000), B before all 16000 (2000). */
    CHECK_INT_EQ(m4_state_add_flow(&s, 0, p0, 2, 952, 0), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(&s, 1, p0, 2, 952, 0), M4_OK);
    CHECK_NEAR(s.link_backlog_bits[0], 16000.0, 1e-9);
    CHECK_INT_EQ(m4_state_component(&s, p0, 2), M4_OK);
    CHECK_INT_EQ(m4_state_fluid(&s, 0, fair, base), M4_OK);
    ends[0] = 300, ends[1] = 400;
    CHECK_INT_EQ(m4_state_capacity_floor(&s, 0, ends), M4_OK);
    CHECK(ends[0] == 1000 && ends[1] == 2000);
    /* Feasible ends stay. */
    ends[0] = 1500, ends[1] = 2500;
    CHECK_INT_EQ(m4_state_capacity_floor(&s, 0, ends), M4_OK);
    CHECK(ends[0] == 1500 && ends[1] == 2500);
    /* A (predicted early) completes at 500. The link has drained 4000 of
     * the 16000 bits, but A's completion says its bits are through, so at
     * most B's 8000 can be queued: the backlog drops to 8000 and B,
     * predicted at 600, cannot end before 500 + 8000 / 8 = 1500. (Charging
     * B for A's 4000 undelivered bits would hold a later flow, even one
     * alone on the link, behind bits of flows that are gone.) */
    m4_state_remove_flow(&s, 0);
    CHECK_INT_EQ(m4_state_component(&s, p0, 2), M4_OK);
    CHECK_INT_EQ(m4_state_fluid(&s, 500, fair, base), M4_OK);
    ends[0] = 600;
    CHECK_INT_EQ(m4_state_capacity_floor(&s, 500, ends), M4_OK);
    CHECK(ends[0] == 1500);
    CHECK_NEAR(s.link_backlog_bits[0], 8000.0, 1e-9);
    /* C arrives at 1000: the backlog has drained to 4000, plus C's 8000
     * is 12000 (below B's and C's 16000), drained at 2500. */
    CHECK_INT_EQ(m4_state_add_flow(&s, 2, p0, 2, 952, 1000), M4_OK);
    CHECK_INT_EQ(m4_state_component(&s, p0, 2), M4_OK);
    CHECK_INT_EQ(m4_state_fluid(&s, 1000, fair, base), M4_OK);
    CHECK(s.comp_flows[0] == 1 && s.comp_flows[1] == 2);
    CHECK_NEAR(s.link_backlog_bits[0], 12000.0, 1e-9);
    /* Both below the drain at 2500, so one of them must be raised to it:
     * the one it stretches least relative to its predicted time in the
     * network, B (1300 / 1200) rather than C (1250 / its ideal 1001),
     * although C was predicted later; C then owes only 12000 - B's 8000
     * bits: 1000 + 4000 / 8 = 1500. */
    ends[0] = 1200, ends[1] = 1250;
    CHECK_INT_EQ(m4_state_capacity_floor(&s, 1000, ends), M4_OK);
    CHECK(ends[0] == 2500 && ends[1] == 1500);
    /* The newcomer predicted first is not queued behind B's backlog: its
     * floor is the same 1500. */
    ends[0] = 2100, ends[1] = 1100;
    CHECK_INT_EQ(m4_state_capacity_floor(&s, 1000, ends), M4_OK);
    CHECK(ends[1] == 1500 && ends[0] == 2500);
    /* Both gone, the link idles and its backlog drains away: a flow at
     * 10000 is bound by its own bits only. */
    m4_state_remove_flow(&s, 1);
    m4_state_remove_flow(&s, 2);
    CHECK_INT_EQ(m4_state_add_flow(&s, 3, p0, 2, 952, 10000), M4_OK);
    CHECK_NEAR(s.link_backlog_bits[0], 8000.0, 1e-9);
    CHECK_INT_EQ(m4_state_component(&s, p0, 2), M4_OK);
    CHECK_INT_EQ(m4_state_fluid(&s, 10000, fair, base), M4_OK);
    ends[0] = 10000;
    CHECK_INT_EQ(m4_state_capacity_floor(&s, 10000, ends), M4_OK);
    CHECK(ends[0] == 11000);
    /* A predicted order that puts a tiny flow after a bulk one. Bulk D
     * (9520 bytes, 80000 wire bits) at 20000, tiny E (8000 bits) at 28000:
     * the backlog is 80000 - 8 x 8000 + 8000 = 24000, drained at 31000.
     * Predicted D 30000 (10000 in the network), E 30100 (2100): trusting the
     * order would hold E to 31000 (+43%); D takes the last slot instead
     * (+10%), and E, before it, owes 24000 - 80000 < 0 bits. */
    m4_state_remove_flow(&s, 3);
    CHECK_INT_EQ(m4_state_add_flow(&s, 4, p0, 2, 9520, 20000), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(&s, 5, p0, 2, 952, 28000), M4_OK);
    CHECK_NEAR(s.link_backlog_bits[0], 24000.0, 1e-9);
    CHECK_INT_EQ(m4_state_component(&s, p0, 2), M4_OK);
    CHECK_INT_EQ(m4_state_fluid(&s, 28000, fair, base), M4_OK);
    CHECK(s.comp_flows[0] == 4 && s.comp_flows[1] == 5);
    ends[0] = 30000, ends[1] = 30100;
    CHECK_INT_EQ(m4_state_capacity_floor(&s, 28000, ends), M4_OK);
    CHECK(ends[0] == 31000 && ends[1] == 30100);
    /* D 30500 and E 30900: E is stretched by 100 / 2900, less than D's
     * 500 / 10500, so the predicted order stands: E takes the last slot
     * (31000), and D owes the backlog less E's bits, 28000 + 16000 / 8 =
     * 30000, below its 30500. */
    ends[0] = 30500, ends[1] = 30900;
    CHECK_INT_EQ(m4_state_capacity_floor(&s, 28000, ends), M4_OK);
    CHECK(ends[0] == 30500 && ends[1] == 31000);
    m4_state_free(&s);
}

/* The round-robin floor on a sender's NIC: A, B, C (1000, 2000, 3000 B:
 * 8384, 16768, 25152 wire bits) leave host uplink 0 (1 Gb/s, 1 bit/ns) at
 * once for fast downlinks 1-3; D leaves too but is held to 0.1 Gb/s by its
 * downlink 4, so the others share 0.9 Gb/s at the fair level. Round-robin
 * over A, B, C: A ends after 3 x 8384 bits, B after 8384 + 2 x 16768, C
 * after all three; D, below the fair level, counts for none of them and
 * gets the backlog bounds only: its downlink's 8384 bits at 0.1 bit/ns,
 * 83840 ns (above the uplink's, all 58688 bits with D last in order). */
static void nic_share_floor_by_hand(void)
{
    m4_state s;
    CHECK_INT_EQ(m4_state_init(&s, HS, 5, 4), M4_OK);
    const double rates[5] = {1e9, 40e9, 40e9, 40e9, 1e8};
    CHECK_INT_EQ(m4_state_set_link_rates(&s, rates), M4_OK);
    const int32_t pa[] = {0, 1}, pb[] = {0, 2}, pc[] = {0, 3}, pd[] = {0, 4};
    CHECK_INT_EQ(m4_state_add_flow(&s, 0, pa, 2, 1000, 0), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(&s, 1, pb, 2, 2000, 0), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(&s, 2, pc, 2, 3000, 0), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(&s, 3, pd, 2, 1000, 0), M4_OK);
    const int32_t seed[] = {0};
    CHECK_INT_EQ(m4_state_component(&s, seed, 1), M4_OK);
    CHECK_INT_EQ(s.comp_num_flows, 4);
    float fair[4], base[4];
    CHECK_INT_EQ(m4_state_fluid(&s, 0, fair, base), M4_OK);
    CHECK_NEAR(s.flow_fluid_bps[0], 3e8, 1e2); /* float fair shares */
    CHECK_NEAR(s.flow_fluid_bps[3], 1e8, 1e2);
    int64_t ends[4] = {0, 0, 0, 0};
    CHECK_INT_EQ(m4_state_capacity_floor(&s, 0, ends), M4_OK);
    for (int r = 0; r < 4; r++) CHECK_INT_EQ(s.comp_flows[r], r);
    CHECK_INT_EQ(ends[0], 25152);
    CHECK_INT_EQ(ends[1], 41920);
    CHECK_INT_EQ(ends[2], 50304);
    CHECK_INT_EQ(ends[3], 83840);
    /* Later predictions stand. */
    int64_t late[4] = {30000, 45000, 60000, 90000};
    CHECK_INT_EQ(m4_state_capacity_floor(&s, 0, late), M4_OK);
    CHECK(late[0] == 30000 && late[1] == 45000 && late[2] == 60000 && late[3] == 90000);
    m4_state_free(&s);
}

/* ---- random sequence against a union-find ---------------------------------- */

enum { RL = 20, MAXF = 64, OPS = 200 };

static int uf_parent[MAXF];
static int uf_find(int x) { return uf_parent[x] == x ? x : (uf_parent[x] = uf_find(uf_parent[x])); }
static void uf_union(int a, int b) { uf_parent[uf_find(a)] = uf_find(b); }

static void random_sequence_against_union_find(void)
{
    uint64_t seed = m4t_seed();
    m4_rng rng;
    m4_rng_seed(&rng, seed);
    m4_state s;
    CHECK_INT_EQ(m4_state_init(&s, HS, RL, 4), M4_OK);
    int active[MAXF] = {0}, hops[MAXF] = {0};
    int32_t path[MAXF][M4_MAX_HOPS];
    int mismatches = 0, biggest = 0, resets_seen = 0;
    for (int op = 0; op < OPS; op++) {
        int n_active = 0;
        for (int f = 0; f < MAXF; f++) n_active += active[f];
        int f = -1;
        int arrive = n_active == 0 || (n_active < MAXF && m4_rng_uniform(&rng) < 0.55);
        if (arrive) {
            do f = (int)m4_rng_below(&rng, MAXF); while (active[f]);
            hops[f] = 1 + (int)m4_rng_below(&rng, 4);
            for (int i = 0; i < hops[f]; i++) {
                int l, dup;
                do {
                    l = (int)m4_rng_below(&rng, RL);
                    dup = 0;
                    for (int j = 0; j < i; j++) dup |= path[f][j] == l;
                } while (dup);
                path[f][i] = l;
            }
            if (m4_state_add_flow(&s, f, path[f], hops[f], 1000, op * 100) != M4_OK) mismatches++;
            active[f] = 1;
        } else {
            int k = (int)m4_rng_below(&rng, (uint64_t)n_active);
            for (f = 0; f < MAXF; f++)
                if (active[f] && k-- == 0) break;
            /* Mark the links so a reset is visible. */
            for (int i = 0; i < hops[f]; i++) s.link_z[path[f][i] * HS] = 5.0f;
            m4_state_remove_flow(&s, f);
            active[f] = 0;
            /* Expected resets: links of f's path that no active flow uses. */
            int expected = 0;
            for (int i = 0; i < hops[f]; i++) {
                int used = 0;
                for (int g = 0; g < MAXF; g++)
                    for (int j = 0; active[g] && j < hops[g]; j++) used |= path[g][j] == path[f][i];
                if (!used) {
                    if (expected >= s.num_reset_links || s.reset_links[expected] != path[f][i] ||
                        !is_link_init(&s, path[f][i]))
                        mismatches++;
                    expected++;
                } else if (s.link_z[path[f][i] * HS] != 5.0f) {
                    mismatches++; /* a link still in use was reset */
                }
            }
            if (expected != s.num_reset_links) mismatches++;
            resets_seen += expected;
        }
        /* Union-find over the active flows: flows sharing a link are joined. */
        for (int g = 0; g < MAXF; g++) uf_parent[g] = g;
        int owner[RL];
        for (int l = 0; l < RL; l++) owner[l] = -1;
        for (int g = 0; g < MAXF; g++)
            for (int j = 0; active[g] && j < hops[g]; j++) {
                int l = path[g][j];
                if (owner[l] < 0) owner[l] = g;
                else uf_union(g, owner[l]);
            }
        /* Expected component of the event's path. */
        uint64_t ef = 0, el = 0;
        for (int i = 0; i < hops[f]; i++) {
            int o = owner[path[f][i]];
            if (o < 0) continue;
            for (int g = 0; g < MAXF; g++)
                if (active[g] && uf_find(g) == uf_find(o)) ef |= 1ull << g;
        }
        int expected_pairs = 0;
        for (int g = 0; g < MAXF; g++)
            if (ef >> g & 1) {
                expected_pairs += hops[g];
                for (int j = 0; j < hops[g]; j++) el |= 1ull << path[g][j];
            }
        if (m4_state_component(&s, path[f], hops[f]) != M4_OK) mismatches++;
        if (comp_flow_set(&s) != ef || comp_link_set(&s) != el ||
            s.comp_num_pairs != expected_pairs || !comp_consistent(&s)) {
            if (mismatches < 5)
                fprintf(stderr, "  op %d (%s flow %d): component %llx/%llx, expected %llx/%llx\n",
                        op, arrive ? "arrival" : "removal", f,
                        (unsigned long long)comp_flow_set(&s), (unsigned long long)comp_link_set(&s),
                        (unsigned long long)ef, (unsigned long long)el);
            mismatches++;
        }
        if (s.comp_num_flows > biggest) biggest = s.comp_num_flows;
    }
    fprintf(stderr, "  %d ops, largest component %d flows, %d link resets\n", OPS, biggest,
            resets_seen);
    CHECK_INT_EQ(mismatches, 0);
    CHECK(biggest >= 5); /* the sequence did build multi-flow components */
    CHECK(resets_seen > 0);
    m4_state_free(&s);
}

/* Links 0 and 1 at 10 Gb/s, link 2 at 40. A on {0, 2}, B on {1, 2}, C on
 * {1}: max-min gives A 10, B 5, C 5 Gb/s. Path loads (the other flows'
 * rates over the link's capacity, the busiest link): A max(0, 5/40) =
 * 0.125; B max(5/10, 10/40) = 0.5; C 5/10 = 0.5. Then D joins A on link 0
 * (A 5, D 5): A max(5/10, 5/40) = 0.5, D 5/10 = 0.5, B and C unchanged. */
static void path_load_by_hand(void)
{
    m4_state s;
    CHECK_INT_EQ(m4_state_init(&s, HS, 3, 8), M4_OK);
    const double rates[3] = {10e9, 10e9, 40e9};
    CHECK_INT_EQ(m4_state_set_link_rates(&s, rates), M4_OK);
    enum { A, B, C, D };
    const int32_t pa[] = {0, 2}, pb[] = {1, 2}, pc[] = {1}, pd[] = {0}, all[] = {0, 1, 2};
    CHECK_INT_EQ(m4_state_add_flow(&s, A, pa, 2, 1000000, 0), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(&s, B, pb, 2, 1000000, 0), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(&s, C, pc, 1, 1000000, 0), M4_OK);
    for (int f = A; f <= C; f++) m4_state_set_flow_ideal(&s, f, 1000000);
    float fair[4], base[4], load[4];
    CHECK_INT_EQ(m4_state_component(&s, all, 3), M4_OK);
    CHECK_INT_EQ(s.comp_num_flows, 3);
    CHECK_INT_EQ(m4_state_fluid(&s, 0, fair, base), M4_OK);
    m4_state_path_load(&s, load);
    const double want1[3] = {0.125, 0.5, 0.5};
    for (int r = 0; r < 3; r++) CHECK_NEAR(load[r], want1[s.comp_flows[r]], 1e-6);
    CHECK_INT_EQ(m4_state_add_flow(&s, D, pd, 1, 1000000, 100), M4_OK);
    m4_state_set_flow_ideal(&s, D, 1000000);
    CHECK_INT_EQ(m4_state_component(&s, all, 3), M4_OK);
    CHECK_INT_EQ(s.comp_num_flows, 4);
    CHECK_INT_EQ(m4_state_fluid(&s, 100, fair, base), M4_OK);
    m4_state_path_load(&s, load);
    const double want2[4] = {0.5, 0.5, 0.5, 0.5};
    for (int r = 0; r < 4; r++) CHECK_NEAR(load[r], want2[s.comp_flows[r]], 1e-6);
    /* Ages at 100: A, B, C (in the network since 0, ideal 1 ms) log2(1 +
     * 0.0001); D just arrived: 0. At 3000100 A has been in the network
     * three times its ideal FCT: log2(4) = 2. */
    float age[4];
    m4_state_flow_age(&s, 100, age);
    for (int r = 0; r < 4; r++)
        CHECK_NEAR(age[r], s.comp_flows[r] == D ? 0.0 : log2(1.0001), 1e-6);
    m4_state_flow_age(&s, 3000100, age);
    for (int r = 0; r < 4; r++)
        if (s.comp_flows[r] == A) CHECK_NEAR(age[r], log2(1.0 + 3000100.0 / 1000000.0), 1e-6);
    /* The step input carries them, with the path loads, for a 4-input model. */
    m4_nn_arena arena;
    m4_nn_arena_init(&arena, 1 << 10);
    m4_step_input in;
    float cfg[M4_MODEL_CONFIG] = {0};
    CHECK_INT_EQ(m4_state_step_input(&s, 200, cfg, 4, &arena, &in), M4_OK);
    CHECK(in.num_flows == 4 && in.flow_path_load && in.flow_age && in.flow_fair_share);
    for (int r = 0; r < 4; r++) {
        CHECK_NEAR(in.flow_path_load[r], want2[s.comp_flows[r]], 1e-6);
        CHECK_NEAR(in.flow_age[r], log2(1.0 + (s.comp_flows[r] == D ? 100 : 200) / 1e6), 1e-6);
    }
    CHECK_INT_EQ(m4_state_step_input(&s, 200, cfg, 2, &arena, &in), M4_OK);
    CHECK(in.flow_path_load == NULL && in.flow_age == NULL);
    m4_nn_arena_free(&arena);
    /* A flow alone on its path meets no load. */
    m4_state_free(&s);
    CHECK_INT_EQ(m4_state_init(&s, HS, 3, 8), M4_OK);
    CHECK_INT_EQ(m4_state_set_link_rates(&s, rates), M4_OK);
    CHECK_INT_EQ(m4_state_add_flow(&s, A, pa, 2, 1000000, 0), M4_OK);
    m4_state_set_flow_ideal(&s, A, 1000000);
    CHECK_INT_EQ(m4_state_component(&s, pa, 2), M4_OK);
    CHECK_INT_EQ(m4_state_fluid(&s, 0, fair, base), M4_OK);
    m4_state_path_load(&s, load);
    CHECK_NEAR(load[0], 0.0, 0);
    m4_state_free(&s);
}

M4_TEST_MAIN(M4_TEST(components_by_hand), M4_TEST(path_load_by_hand), M4_TEST(neighbourhoods_by_hand), M4_TEST(gather_scatter_and_dt),
             M4_TEST(fair_shares_and_fluid_by_hand), M4_TEST(capacity_floor_by_hand), M4_TEST(nic_share_floor_by_hand), M4_TEST(random_sequence_against_union_find))
