/* Packet backend: lone flows against the ideal FCT and the ns-3 fork's case1,
 * bottleneck sharing per CC, incast with and without PFC, conservation,
 * determinism, trace files, bad input. */
#include "testlib.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/npy.h"
#include "core/rng.h"
#include "packet_driver.h"

#define REF "tests/data/ns3-reference"
static const char *cc_names[] = {"dctcp", "dcqcn", "hpcc", "timely"};

/* The window does not limit: every size and path length within 1% of ideal
 * (both worked examples of DESIGN.md section 3 included). */
static void lone_flow_matches_ideal(void)
{
    m4_scenario *sc = pd_scenario(REF "/medium/topology.txt", M4_CC_DCTCP, 10000000, 0, 1);
    CHECK(sc != NULL);
    if (!sc)
        return;
    static const int64_t sizes[] = {1, 100, 1000, 1001, 5444, 70220, 1000000};
    static const int32_t dsts[] = {1, 5, 20}; /* rack-local, same pod, other pod */
    enum { NS = sizeof sizes / sizeof sizes[0], ND = 3 };
    tflow fl[NS * ND];
    int n = 0;
    for (int d = 0; d < ND; d++)
        for (int k = 0; k < NS; k++)
            fl[n++] = (tflow){0, dsts[d], sizes[k], (int64_t)n * 10000000, 0, 0, 0, 0};
    m4_packet_stats_t st;
    CHECK_INT_EQ(pd_run(sc, fl, n, NULL, &st, 0, NULL, NULL), 0);
    int seen_hops[8] = {0};
    for (int i = 0; i < n; i++) {
        int64_t fct = fl[i].end - fl[i].start;
        CHECK_INT_EQ(fl[i].completions, 1);
        CHECK_REL(fct, fl[i].ideal, 0.01);
        if (fl[i].hops < 8)
            seen_hops[fl[i].hops] = 1;
        if (fl[i].hops == 2 && fl[i].size == 5444) {
            CHECK_INT_EQ(fl[i].ideal, 7421);
            CHECK_REL(fct, 7464, 0.01); /* ns-3 ground truth, window 15000 B */
            printf("  5444 B rack-local: fct %lld ns (ideal 7421, ns-3 7464)\n", (long long)fct);
        }
        if (fl[i].hops == 2 && fl[i].size == 70220) {
            CHECK_INT_EQ(fl[i].ideal, 61712);
            CHECK_REL(fct, 62144, 0.01);
            printf("  70220 B rack-local: fct %lld ns (ideal 61712, ns-3 62144)\n", (long long)fct);
        }
    }
    CHECK(seen_hops[2] && seen_hops[4] && seen_hops[6]);
    CHECK_INT_EQ(st.drops, 0);
    pd_scenario_free(sc);
}

/* The same flows with the default window (5000 B) on case1's 2-host topology:
 * window-limited, and for each CC within 2% of the fork's FCTs. */
static void case1_matches_ns3_per_cc(void)
{
    static const int64_t ref[4][2] = {{8558, 83236}, {8558, 83236}, {8738, 84872}, {8584, 83416}};
    for (int cc = 0; cc < 4; cc++) {
        m4_scenario *sc = pd_scenario(REF "/case1/topology.txt", (m4_cc_kind)cc, 0, 0, 1);
        CHECK(sc != NULL);
        if (!sc)
            return;
        CHECK_INT_EQ(sc->window_bytes, 5000);
        tflow fl[2] = {{0, 1, 5444, 1000000000, 0, 0, 0, 0}, {0, 1, 70220, 1500000000, 0, 0, 0, 0}};
        CHECK_INT_EQ(pd_run(sc, fl, 2, NULL, NULL, 0, NULL, NULL), 0);
        for (int i = 0; i < 2; i++) {
            int64_t fct = fl[i].end - fl[i].start;
            printf("  case1 %s flow %d: fct %lld ns, ns-3 %lld, ideal %lld\n", cc_names[cc], i,
                   (long long)fct, (long long)ref[cc][i], (long long)fl[i].ideal);
            CHECK_REL(fct, ref[cc][i], 0.02);
            CHECK(fct > fl[i].ideal * 1.1); /* window-limited */
        }
        pd_scenario_free(sc);
    }
}

/* ---- N long flows on one 10G bottleneck ---------------------------------- */

enum { MAXN = 8, MAXS = 20000 };
typedef struct bn_obs {
    int n;
    int32_t bneck, senders[MAXN];
    int64_t t[MAXS], bneck_tx[MAXS], q[MAXS], tx[MAXS][MAXN];
    int count;
} bn_obs;

static void bn_observe(void *st, int64_t now, void *user)
{
    bn_obs *o = user;
    if (o->count >= MAXS)
        return;
    int k = o->count++;
    o->t[k] = now;
    o->bneck_tx[k] = m4_packet_tx_bytes(st, o->bneck);
    o->q[k] = m4_packet_queue_bytes(st, o->bneck);
    for (int i = 0; i < o->n; i++)
        o->tx[k][i] = m4_packet_tx_bytes(st, o->senders[i]);
}

static int32_t host_link(const m4_topology *t, int32_t host, int outgoing)
{
    int32_t d = t->adj_dlinks[t->adj_start[host]];
    return outgoing ? d : (d ^ 1);
}

typedef struct bn_result {
    double busy, jain, qmean; /* over the backlogged interval */
    int64_t qmax;
    /* queue over the second half of it, past the start-up transient (flows
     * start at line rate: with a large window the queue first fills) */
    double late_qmean;
    int64_t late_qmin, late_qmax;
    m4_packet_stats_t st;
} bn_result;

/* n senders of a star send 4 MB each to one receiver from t = 0; measured
 * from 1 ms after the start until the first completion (all backlogged).
 * Returns 0 when the run and the measurement worked. */
static int bottleneck_run(m4_scenario *sc, int n, bn_result *r)
{
    static bn_obs o;
    const m4_topology *t = &sc->topology;
    int32_t rx = t->host_nodes[n];
    tflow fl[MAXN];
    memset(&o, 0, sizeof o);
    o.n = n;
    o.bneck = host_link(t, rx, 0);
    for (int i = 0; i < n; i++) {
        fl[i] = (tflow){t->host_nodes[i], rx, 4000000, 0, 0, 0, 0, 0};
        o.senders[i] = host_link(t, t->host_nodes[i], 1);
    }
    CHECK_INT_EQ(pd_run(sc, fl, n, NULL, &r->st, 10000, bn_observe, &o), 0);
    int64_t first_end = INT64_MAX;
    for (int i = 0; i < n; i++) {
        CHECK_INT_EQ(fl[i].completions, 1);
        if (fl[i].end < first_end)
            first_end = fl[i].end;
    }
    int a = -1, b = -1;
    double qsum = 0;
    int qn = 0;
    r->qmax = 0;
    for (int k = 0; k < o.count; k++) {
        if (o.t[k] < 1000000 || o.t[k] > first_end)
            continue;
        if (a < 0)
            a = k;
        b = k;
        qsum += (double)o.q[k];
        qn++;
        if (o.q[k] > r->qmax)
            r->qmax = o.q[k];
    }
    CHECK(a >= 0 && b > a);
    if (a < 0 || b <= a)
        return -1;
    double dt = (double)(o.t[b] - o.t[a]);
    r->busy = (double)(o.bneck_tx[b] - o.bneck_tx[a]) * 8.0 / (10.0 * dt);
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < n; i++) {
        double x = (double)(o.tx[b][i] - o.tx[a][i]);
        sum += x;
        sum_sq += x * x;
    }
    r->jain = sum * sum / (n * sum_sq);
    r->qmean = qsum / qn;
    int64_t half = (o.t[a] + o.t[b]) / 2;
    double late_sum = 0;
    int late_n = 0;
    r->late_qmin = INT64_MAX;
    r->late_qmax = 0;
    for (int k = a; k <= b; k++) {
        if (o.t[k] < half)
            continue;
        late_sum += (double)o.q[k];
        late_n++;
        if (o.q[k] < r->late_qmin)
            r->late_qmin = o.q[k];
        if (o.q[k] > r->late_qmax)
            r->late_qmax = o.q[k];
    }
    r->late_qmean = late_n ? late_sum / late_n : 0;
    return 0;
}

static void bottleneck_shared_fairly(void)
{
    for (int cc = 0; cc < 4; cc++) {
        for (int n = 2; n <= MAXN; n *= 2) {
            char spec[64];
            snprintf(spec, sizeof spec, "star:hosts=%d", n + 1);
            /* The fork's presets (window = BDP, scaled by rate), except DCTCP,
             * which gets a window that does not limit so that its queue is
             * governed by the marking threshold K */
            m4_scenario *sc = pd_scenario(spec, (m4_cc_kind)cc, cc == M4_CC_DCTCP ? 1000000 : 0, 0, 1);
            CHECK(sc != NULL);
            if (!sc)
                return;
            bn_result r;
            if (bottleneck_run(sc, n, &r) != 0) {
                pd_scenario_free(sc);
                continue;
            }
            printf("  %s N=%d: busy %.4f, Jain %.4f, queue mean %.0f B max %lld B, pauses %lld drops %lld\n",
                   cc_names[cc], n, r.busy, r.jain, r.qmean, (long long)r.qmax, (long long)r.st.pfc_pauses,
                   (long long)r.st.drops);
            CHECK(r.jain >= 0.9);
            CHECK_INT_EQ(r.st.drops, 0);
            CHECK(r.busy >= 0.95);
            if (cc == M4_CC_HPCC) {
                /* near-empty queue: under 7 full packets at every N */
                CHECK(r.qmean < 7500);
            } else if (cc == M4_CC_DCTCP) {
                /* Past the start-up transient the queue oscillates around K:
                 * it goes below and above K every time, and its mean stays
                 * within [0.5 K, 2.5 K] (measured 1.5, 2.0 and 1.16 K for N = 2,
                 * 4, 8: with few flows each cut of the fork's rate-based DCTCP
                 * drains the queue and its 615 Mb/s AI per window refills it
                 * well past K, a sawtooth from 0 to 3.5 K). */
                double k = sc->config.dctcp_k_kb * 1000;
                printf("    second half: queue mean %.0f B, min %lld, max %lld (K %.0f B)\n", r.late_qmean,
                       (long long)r.late_qmin, (long long)r.late_qmax, k);
                CHECK(r.late_qmin < k && r.late_qmax > k);
                CHECK(r.late_qmean > 0.5 * k && r.late_qmean < 2.5 * k);
            }
            pd_scenario_free(sc);
        }
    }
}

/* HPCC aims at eta: with the fork's AI of 1000 Mb/s per flow the sum of the
 * increases alone exceeds 1 - eta, so above the link stays saturated (with a
 * small queue). With a small AI the fixed point of rate = rate * eta / U + AI
 * over N flows is U = eta + N * AI / B: for eta 0.7, AI 50 Mb/s, N = 2 that is
 * 0.71, and the queue stays near empty since U < 1. */
static void hpcc_settles_near_eta(void)
{
    static const double etas[] = {0.7, 0.85};
    for (int k = 0; k < 2; k++) {
        m4_scenario *sc = pd_scenario("star:hosts=3", M4_CC_HPCC, 0, 0, 1);
        CHECK(sc != NULL);
        if (!sc)
            return;
        sc->config.hpcc_eta = etas[k];
        sc->config.hpcc_ai_mbps = 50;
        bn_result r;
        if (bottleneck_run(sc, 2, &r) == 0) {
            double expect = etas[k] + 2 * 50e6 / 10e9;
            printf("  hpcc eta %.2f AI 50 Mb/s N=2: busy %.4f (fixed point %.2f), Jain %.4f, queue mean %.0f B max %lld B\n",
                   etas[k], r.busy, expect, r.jain, r.qmean, (long long)r.qmax);
            CHECK(fabs(r.busy - expect) < 0.03);
            CHECK(r.qmean < 1000);
            CHECK_INT_EQ(r.st.drops, 0);
            /* no fairness check here: HPCC's multiplicative steps keep the
             * rate ratio and only the AI equalises it, so with a 50 Mb/s AI
             * fairness comes slowly (Jain 0.74 / 0.90 here); the fork's AI
             * above gives Jain >= 0.99 */
        }
        pd_scenario_free(sc);
    }
}

/* ---- every setting of config.txt reaches the simulation ------------------ */

/* 4 senders into one receiver of a star, 300 KB each, staggered by 2 us:
 * returns the sum of the FCTs (ns), or -1. */
static int64_t four_to_one_fct_sum(const m4_scenario *sc, m4_packet_stats_t *st)
{
    const m4_topology *t = &sc->topology;
    tflow fl[4];
    for (int i = 0; i < 4; i++)
        fl[i] = (tflow){t->host_nodes[i], t->host_nodes[4], 300000, 2000 * (int64_t)i, 0, 0, 0, 0};
    if (pd_run(sc, fl, 4, NULL, st, 0, NULL, NULL) != 0)
        return -1;
    int64_t sum = 0;
    for (int i = 0; i < 4; i++) {
        CHECK_INT_EQ(fl[i].completions, 1);
        sum += fl[i].end - fl[i].start;
    }
    return sum;
}

typedef struct setting_case {
    m4_cc_kind cc;
    const char *name;
    int64_t window;      /* 0: the BDP (5000 B on the star) */
    double buffer_kb;    /* 0: 3000 */
    int pfc;
    void (*base)(m4_scenario *sc);   /* applied to both runs, or NULL */
    void (*change)(m4_scenario *sc); /* applied to the second */
} setting_case;

static void set_buffer(m4_scenario *sc) { sc->config.buffer_kb = 100; }
static void set_window(m4_scenario *sc) { sc->window_bytes = 20000; }
static void set_pfc_off(m4_scenario *sc) { sc->config.pfc = 0; }
static void set_dctcp_k(m4_scenario *sc) { sc->config.dctcp_k_kb = 10; }
static void set_dcqcn_kmin(m4_scenario *sc) { sc->config.dcqcn_kmin_kb = 4; }
static void set_dcqcn_kmax(m4_scenario *sc) { sc->config.dcqcn_kmax_kb = 30; }
static void set_ecn_pmax(m4_scenario *sc) { sc->config.ecn_pmax = 1.0; }
static void set_hpcc_eta(m4_scenario *sc) { sc->config.hpcc_eta = 0.7; }
static void set_hpcc_ai(m4_scenario *sc) { sc->config.hpcc_ai_mbps = 500; }
static void set_timely_tlow(m4_scenario *sc) { sc->config.timely_tlow_us = 5; }
static void set_timely_thigh(m4_scenario *sc) { sc->config.timely_thigh_us = 8; }

/* Each setting, changed from the fork's preset, changes the FCTs (the
 * reference for TIMELY's Thigh is Tlow 5 us, since below Tlow Thigh is moot;
 * ECN_KMIN/KMAX/PMAX for HPCC and TIMELY only set marks those CCs ignore, as
 * in the fork). */
static void every_setting_changes_the_outcome(void)
{
    static const setting_case cases[] = {
        {M4_CC_DCTCP, "BUFFER_KB 100 (PFC on)", 100000, 0, 1, NULL, set_buffer},
        {M4_CC_DCTCP, "WINDOW_BYTES 20000", 0, 0, 1, NULL, set_window},
        {M4_CC_DCTCP, "PFC 0 (buffer 100 KB)", 100000, 100, 1, NULL, set_pfc_off},
        {M4_CC_DCTCP, "DCTCP_K_KB 10", 0, 0, 1, NULL, set_dctcp_k},
        {M4_CC_DCQCN, "DCQCN_KMIN_KB 4", 100000, 0, 1, NULL, set_dcqcn_kmin},
        {M4_CC_DCQCN, "DCQCN_KMAX_KB 30", 100000, 0, 1, NULL, set_dcqcn_kmax},
        {M4_CC_DCQCN, "ECN_PMAX 1", 100000, 0, 1, NULL, set_ecn_pmax},
        {M4_CC_HPCC, "HPCC_ETA 0.7", 0, 0, 1, NULL, set_hpcc_eta},
        {M4_CC_HPCC, "HPCC_AI_MBPS 500", 0, 0, 1, NULL, set_hpcc_ai},
        {M4_CC_TIMELY, "TIMELY_TLOW_US 5", 100000, 0, 1, NULL, set_timely_tlow},
        {M4_CC_TIMELY, "TIMELY_THIGH_US 8", 100000, 0, 1, set_timely_tlow, set_timely_thigh},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const setting_case *c = &cases[i];
        m4_scenario *sc = pd_scenario("star:hosts=5", c->cc, c->window, c->buffer_kb, c->pfc);
        CHECK(sc != NULL);
        if (!sc)
            return;
        if (c->base)
            c->base(sc);
        m4_packet_stats_t st_ref, st_new;
        int64_t ref = four_to_one_fct_sum(sc, &st_ref);
        c->change(sc);
        int64_t changed = four_to_one_fct_sum(sc, &st_new);
        printf("  %s %s: FCT sum %lld ns -> %lld ns (pauses %lld -> %lld, drops %lld -> %lld)\n",
               cc_names[c->cc], c->name, (long long)ref, (long long)changed, (long long)st_ref.pfc_pauses,
               (long long)st_new.pfc_pauses, (long long)st_ref.drops, (long long)st_new.drops);
        CHECK(ref > 0 && changed > 0);
        CHECK(changed != ref);
        pd_scenario_free(sc);
    }
}

/* ---- incast ---------------------------------------------------------------- */

static int run_incast(int pfc, double buffer_kb, m4_packet_stats_t *st, int64_t size)
{
    m4_scenario *sc = pd_scenario("star:hosts=17", M4_CC_DCTCP, 1000000, buffer_kb, pfc);
    CHECK(sc != NULL);
    if (!sc)
        return -1;
    const m4_topology *t = &sc->topology;
    tflow fl[16];
    for (int i = 0; i < 16; i++)
        fl[i] = (tflow){t->host_nodes[i], t->host_nodes[16], size, 1000 + i, 0, 0, 0, 0};
    int err = pd_run(sc, fl, 16, NULL, st, 0, NULL, NULL);
    CHECK_INT_EQ(err, 0);
    int64_t packets = 0;
    for (int i = 0; i < 16; i++) {
        CHECK_INT_EQ(fl[i].completions, 1);
        CHECK(fl[i].end - fl[i].start >= fl[i].ideal);
        packets += (size + 999) / 1000;
    }
    printf("  incast pfc=%d buffer %.0f KB: drops %lld pauses %lld resumes %lld nacks %lld timeouts %lld, "
           "data packets %lld (%lld needed), peak buffer %lld B\n",
           pfc, buffer_kb, (long long)st->drops, (long long)st->pfc_pauses, (long long)st->pfc_resumes,
           (long long)st->nacks, (long long)st->timeouts, (long long)st->data_packets, (long long)packets,
           (long long)st->max_switch_buffer_bytes);
    if (st->drops == 0)
        CHECK_INT_EQ(st->data_packets, packets);
    else
        CHECK(st->data_packets > packets);
    pd_scenario_free(sc);
    return err;
}

static void incast_with_pfc_loses_nothing(void)
{
    m4_packet_stats_t st;
    run_incast(1, 200, &st, 200000);
    CHECK_INT_EQ(st.drops, 0);
    CHECK(st.pfc_pauses > 0);
    CHECK(st.pfc_resumes > 0);
}

/* star:hosts=17, 10 Gb/s and 1 us links: each of the switch's 17 ingress
 * ports reserves 2 x (1000 + 48) + 3860 + 2 x 10 Gb/s x 1 us / 8 = 8456
 * bytes, 143,752 bytes = 140.38 KB in all. The backend refuses 140 KB with
 * PFC on and takes 141 KB (and 140 KB with PFC off, which reserves nothing). */
static void min_buffer_is_the_pfc_headroom(void)
{
    m4_scenario *sc = pd_scenario("star:hosts=17", M4_CC_DCTCP, 1000000, 140, 1);
    CHECK(sc != NULL);
    if (!sc) return;
    double kb = 0;
    CHECK_INT_EQ(m4_packet_min_buffer_kb(&sc->topology, &kb), 0);
    CHECK(fabs(kb - 17.0 * 8456.0 / 1024.0) < 1e-9);
    const double buffers[3] = {140, 141, 140};
    const int pfcs[3] = {1, 1, 0}, refused[3] = {1, 0, 0};
    for (int i = 0; i < 3; i++) {
        sc->config.buffer_kb = buffers[i];
        sc->config.pfc = pfcs[i];
        void *state = NULL;
        int err = m4_packet_backend.create(&state, sc, NULL);
        CHECK_INT_EQ(err != 0, refused[i]);
        if (state) m4_packet_backend.destroy(state);
    }
    pd_scenario_free(sc);
}

static void incast_without_pfc_drops_and_recovers(void)
{
    m4_packet_stats_t st;
    run_incast(0, 100, &st, 200000);
    CHECK(st.drops > 0);
    CHECK_INT_EQ(st.pfc_pauses, 0);
    CHECK(st.nacks > 0);
}

/* ---- random workload: conservation, determinism, trace -------------------- */

static int make_random_flows(tflow *fl, int n, uint64_t seed, int32_t hosts)
{
    m4_rng rng;
    m4_rng_seed(&rng, seed);
    int64_t t = 1000000;
    for (int i = 0; i < n; i++) {
        int32_t src = (int32_t)m4_rng_below(&rng, (uint64_t)hosts), dst;
        do
            dst = (int32_t)m4_rng_below(&rng, (uint64_t)hosts);
        while (dst == src);
        int64_t size = 1 + (int64_t)m4_rng_below(&rng, m4_rng_below(&rng, 4) == 0 ? 300000 : 20000);
        t += (int64_t)m4_rng_exponential(&rng, 3000.0);
        fl[i] = (tflow){src, dst, size, t, 0, 0, 0, 0};
    }
    return n;
}

static void random_workload_conserves_and_repeats(void)
{
    enum { N = 400 };
    static tflow a[N], b[N];
    uint64_t seed = m4t_seed();
    for (int cc = 0; cc < 4; cc++) {
        m4_scenario *sc = pd_scenario(REF "/medium/topology.txt", (m4_cc_kind)cc, 0, 0, 1);
        CHECK(sc != NULL);
        if (!sc)
            return;
        make_random_flows(a, N, seed + (uint64_t)cc, 32);
        memcpy(b, a, sizeof a);
        m4_packet_stats_t sa, sb;
        CHECK_INT_EQ(pd_run(sc, a, N, NULL, &sa, 0, NULL, NULL), 0);
        CHECK_INT_EQ(pd_run(sc, b, N, NULL, &sb, 0, NULL, NULL), 0);
        int64_t packets = 0, slower = 0;
        for (int i = 0; i < N; i++) {
            CHECK_INT_EQ(a[i].completions, 1);
            CHECK_INT_EQ(a[i].end, b[i].end);
            CHECK(a[i].end - a[i].start >= a[i].ideal - 2 * a[i].hops);
            slower += a[i].end - a[i].start > a[i].ideal;
            packets += (a[i].size + 999) / 1000;
        }
        /* lossless: every packet sent exactly once */
        CHECK_INT_EQ(sa.drops, 0);
        CHECK_INT_EQ(sa.nacks, 0);
        CHECK_INT_EQ(sa.data_packets, packets);
        CHECK_INT_EQ(sa.events, sb.events);
        printf("  %s: %d flows, %lld events, %lld slower than ideal, peak %lld packets alive\n", cc_names[cc], N,
               (long long)sa.events, (long long)slower, (long long)sa.max_packets_in_flight);
        pd_scenario_free(sc);
    }
}

static void trace_files_are_consistent(void)
{
    enum { N = 60 };
    static tflow fl[N];
    char dir[] = "/tmp/m4_packet_trace_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    m4_scenario *sc = pd_scenario(REF "/medium/topology.txt", M4_CC_DCTCP, 0, 0, 1);
    CHECK(sc != NULL);
    if (!sc)
        return;
    make_random_flows(fl, N, 7, 32);
    CHECK_INT_EQ(pd_run(sc, fl, N, dir, NULL, 0, NULL, NULL), 0);
    char path[256];
    m4_npy_array ev = {0}, fs = {0}, q = {0}, sq = {0}, sr = {0};
    snprintf(path, sizeof path, "%s/events.npy", dir);
    CHECK_INT_EQ(m4_npy_read(path, &ev), 0);
    snprintf(path, sizeof path, "%s/flow_state.npy", dir);
    CHECK_INT_EQ(m4_npy_read(path, &fs), 0);
    snprintf(path, sizeof path, "%s/queue.npy", dir);
    CHECK_INT_EQ(m4_npy_read(path, &q), 0);
    snprintf(path, sizeof path, "%s/samples_queue.npy", dir);
    CHECK_INT_EQ(m4_npy_read(path, &sq), 0);
    snprintf(path, sizeof path, "%s/samples_rate.npy", dir);
    CHECK_INT_EQ(m4_npy_read(path, &sr), 0);
    CHECK_INT_EQ(ev.shape[0], 2 * N);
    CHECK_INT_EQ(ev.shape[1], 3);
    const int64_t *e = ev.data, *f = fs.data, *qq = q.data;
    int64_t expect_q = 0, active = 0, expect_f = 0, arrivals = 0;
    int ok_order = 1, ok_bytes = 1;
    for (int64_t i = 0; i < ev.shape[0]; i++) {
        if (i > 0 && e[3 * i] < e[3 * (i - 1)])
            ok_order = 0;
        int64_t h = e[3 * i + 2];
        expect_q += fl[h].hops;
        if (e[3 * i + 1] == 0) {
            arrivals++;
            active++;
            CHECK_INT_EQ(e[3 * i], fl[h].start);
            expect_f += active;
        } else {
            CHECK_INT_EQ(e[3 * i], fl[h].end);
            expect_f += active;
            active--;
        }
    }
    CHECK(ok_order);
    CHECK_INT_EQ(arrivals, N);
    CHECK_INT_EQ(fs.shape[0], expect_f);
    CHECK_INT_EQ(q.shape[0], expect_q);
    /* at a completion the completing flow is listed with its whole size */
    for (int64_t r = 0; r < fs.shape[0]; r++) {
        int64_t evi = f[3 * r], h = f[3 * r + 1], bytes = f[3 * r + 2];
        if (bytes < 0 || bytes > fl[h].size)
            ok_bytes = 0;
        if (e[3 * evi + 1] == 1 && e[3 * evi + 2] == h && bytes != fl[h].size)
            ok_bytes = 0;
        if (e[3 * evi + 1] == 0 && e[3 * evi + 2] == h && bytes != 0)
            ok_bytes = 0;
    }
    CHECK(ok_bytes);
    int ok_q = 1;
    for (int64_t r = 0; r < q.shape[0]; r++)
        if (qq[3 * r + 2] < 0 || qq[3 * r + 1] < 0 || qq[3 * r + 1] >= m4_num_dlinks(&sc->topology))
            ok_q = 0;
    CHECK(ok_q);
    CHECK(sr.shape[0] > 0);
    snprintf(path, sizeof path, "%s/stats.txt", dir);
    FILE *sf = fopen(path, "r");
    CHECK(sf != NULL);
    if (sf) {
        char key[64];
        long long v;
        int found = 0;
        while (fscanf(sf, "%63s %lld", key, &v) == 2)
            found += strcmp(key, "drops") == 0 || strcmp(key, "pfc_pauses") == 0;
        CHECK_INT_EQ(found, 2);
        fclose(sf);
    }
    m4_npy_free(&ev);
    m4_npy_free(&fs);
    m4_npy_free(&q);
    m4_npy_free(&sq);
    m4_npy_free(&sr);
    static const char *names[] = {"events.npy", "flow_state.npy", "queue.npy", "samples_queue.npy",
                                  "samples_rate.npy", "stats.txt"};
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    pd_scenario_free(sc);
}

static void bad_input_is_rejected(void)
{
    m4_scenario *sc = pd_scenario(REF "/case1/topology.txt", M4_CC_DCTCP, 0, 0, 1);
    CHECK(sc != NULL);
    if (!sc)
        return;
    void *st = NULL;
    sc->config.buffer_kb = 10; /* smaller than the PFC headroom */
    CHECK_INT_EQ(m4_packet_backend.create(&st, sc, NULL), M4_EINVAL);
    CHECK(strstr(m4_last_error(), "headroom") != NULL);
    sc->config.buffer_kb = 0;
    CHECK_INT_EQ(m4_packet_backend.create(&st, sc, NULL), M4_EINVAL);
    sc->config.buffer_kb = 3000;
    sc->topology.links[0].rate_bps = 0;
    CHECK_INT_EQ(m4_packet_backend.create(&st, sc, NULL), M4_EINVAL);
    CHECK(strstr(m4_last_error(), "link 0") != NULL);
    sc->topology.links[0].rate_bps = 10e9;
    CHECK_INT_EQ(m4_packet_backend.create(&st, sc, NULL), 0);
    int32_t path[2] = {0, 0};
    m4_flow_start fs = {0, 0, 0, 1, 1000, 0, path, 2, 1000, 3};
    CHECK_INT_EQ(m4_packet_backend.add_flow(st, &fs), M4_EINVAL); /* broken path */
    path[1] = 99;
    CHECK_INT_EQ(m4_packet_backend.add_flow(st, &fs), M4_EINVAL);
    int32_t hops;
    CHECK_INT_EQ(pd_route(sc, 0, 1, 0, path, 2, &hops), 0);
    fs.size_bytes = 0;
    CHECK_INT_EQ(m4_packet_backend.add_flow(st, &fs), M4_EINVAL);
    fs.size_bytes = 1000;
    fs.num_hops = 0;
    CHECK_INT_EQ(m4_packet_backend.add_flow(st, &fs), M4_EINVAL);
    fs.num_hops = 2;
    CHECK_INT_EQ(m4_packet_backend.add_flow(st, &fs), 0);
    m4_completion_list done = {0};
    CHECK_INT_EQ(m4_packet_backend.advance(st, INT64_MAX, &done), 0);
    CHECK_INT_EQ(done.count, 1);
    free(done.items);
    m4_packet_backend.destroy(st);
    pd_scenario_free(sc);
}

M4_TEST_MAIN(M4_TEST(lone_flow_matches_ideal), M4_TEST(case1_matches_ns3_per_cc),
             M4_TEST(bottleneck_shared_fairly), M4_TEST(hpcc_settles_near_eta),
             M4_TEST(every_setting_changes_the_outcome),
             M4_TEST(incast_with_pfc_loses_nothing),
             M4_TEST(incast_without_pfc_drops_and_recovers),
             M4_TEST(min_buffer_is_the_pfc_headroom), M4_TEST(random_workload_conserves_and_repeats),
             M4_TEST(trace_files_are_consistent), M4_TEST(bad_input_is_rejected))
