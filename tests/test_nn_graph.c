/* Tests for src/nn/graph.c: the graph layer and the two-layer MLP.
 * Gradient checks compare the float backward with central differences
 * (step 1e-6) of an independent double-precision forward written here, of
 * L = sum(g * layer(x)) for a random g; the tolerance (1e-4 relative + 1e-5
 * absolute) only absorbs float rounding in the code under test. */
#include "core/rng.h"
#include "nn/graph.h"
#include "testlib.h"

#define FD_STEP 1e-6

static void fill(m4_rng *rng, float *a, int n, double scale)
{
    for (int i = 0; i < n; i++) a[i] = (float)((m4_rng_uniform(rng) * 2.0 - 1.0) * scale);
}

/* ---- graph layer ---- */

enum { GN = 9, GC = 4, GOC = 3, GMAXE = 32 };
enum { P_X, P_WP, P_BP, P_WL, P_BL, P_WR, P_LNW, P_LNB, NUM_P };
static const int graph_sizes[NUM_P] = {GN * GC, GC * GC, GC, GOC * GC, GOC, GOC * GC, GOC, GOC};

typedef struct graph_case {
    int E, src[GMAXE], dst[GMAXE];
    float f[NUM_P][GN * GC];     /* float parameters, the largest is x */
    double d[NUM_P][GN * GC];    /* the same in double, perturbed by the check */
    float g[GN * GOC];           /* dL/dout */
} graph_case;

/* Double graph layer straight from the definition in graph.h: messages are
 * summed per destination with an explicit loop over edges. Optionally returns
 * the smallest |W_p x + b_p| so the caller can keep away from the ReLU kink,
 * and the smallest layer-norm variance over the nodes: the norm's gradient
 * scales float rounding by 1/sqrt(var), so a nearly flat node would need a
 * looser tolerance than the one the checks use. */
static double graph_loss_ref(const graph_case *t, double *out, double *min_pre, double *min_var)
{
    const double *x = t->d[P_X], *wp = t->d[P_WP], *bp = t->d[P_BP], *wl = t->d[P_WL];
    const double *bl = t->d[P_BL], *wr = t->d[P_WR], *lnw = t->d[P_LNW], *lnb = t->d[P_LNB];
    double msg[GN][GC], agg[GN][GC] = {{0}}, L = 0, mp = 1e300, mv = 1e300;
    for (int j = 0; j < GN; j++)
        for (int c = 0; c < GC; c++) {
            double s = bp[c];
            for (int k = 0; k < GC; k++) s += wp[c * GC + k] * x[j * GC + k];
            if (fabs(s) < mp) mp = fabs(s);
            msg[j][c] = s > 0 ? s : 0;
        }
    for (int e = 0; e < t->E; e++)
        for (int c = 0; c < GC; c++) agg[t->dst[e]][c] += msg[t->src[e]][c];
    for (int i = 0; i < GN; i++) {
        double pre[GOC], mean = 0, var = 0;
        for (int o = 0; o < GOC; o++) {
            pre[o] = bl[o];
            for (int c = 0; c < GC; c++)
                pre[o] += wl[o * GC + c] * agg[i][c] + wr[o * GC + c] * x[i * GC + c];
            mean += pre[o] / GOC;
        }
        for (int o = 0; o < GOC; o++) var += (pre[o] - mean) * (pre[o] - mean) / GOC;
        if (var < mv) mv = var;
        for (int o = 0; o < GOC; o++) {
            double y = (pre[o] - mean) / sqrt(var + 1e-5) * lnw[o] + lnb[o];
            if (out) out[i * GOC + o] = y;
            L += t->g[i * GOC + o] * y;
        }
    }
    if (min_pre) *min_pre = mp;
    if (min_var) *min_var = mv;
    return L;
}

/* symmetric: a bipartite graph like m4's: nodes 0..3 are flows, 4..8 links;
 * flow 3 and link 8 have no edges. Each flow crosses 1-3 distinct random links,
 * and every flow-link pair gives two directed edges (flow->link, link->flow).
 * Otherwise: 20 random directed edges among nodes 0..7 (repeats and self-loops
 * allowed), since on a symmetric edge set the forward message passing and its
 * transpose coincide and a backward that forgot to transpose would pass. */
static void make_graph_case(graph_case *t, m4_rng *rng, int symmetric)
{
    t->E = 0;
    for (int e = 0; !symmetric && e < 20; e++) {
        t->src[e] = (int)m4_rng_below(rng, 8), t->dst[e] = (int)m4_rng_below(rng, 8);
        t->E++;
    }
    for (int f = 0; symmetric && f < 3; f++) {
        int hops = 1 + (int)m4_rng_below(rng, 3), used[4] = {0};
        for (int h = 0; h < hops; h++) {
            int l = (int)m4_rng_below(rng, 4);
            if (used[l]) continue;
            used[l] = 1;
            t->src[t->E] = f, t->dst[t->E] = 4 + l, t->E++;
            t->src[t->E] = 4 + l, t->dst[t->E] = f, t->E++;
        }
    }
    for (int tries = 0; tries < 100; tries++) {
        for (int p = 0; p < NUM_P; p++) fill(rng, t->f[p], graph_sizes[p], 1.0);
        for (int o = 0; o < GOC; o++) t->f[P_LNW][o] += 1.0f; /* around PyTorch's init of 1 */
        for (int p = 0; p < NUM_P; p++)
            for (int k = 0; k < graph_sizes[p]; k++) t->d[p][k] = t->f[p][k];
        double min_pre, min_var;
        graph_loss_ref(t, NULL, &min_pre, &min_var);
        /* differences of +-1e-6 cannot cross the kink; no node's norm is ill-conditioned */
        if (min_pre > 1e-3 && min_var > 1e-2) break;
    }
    fill(rng, t->g, GN * GOC, 1.0);
}

static m4_nn_graph_weights graph_view(float (*a)[GN * GC])
{
    return (m4_nn_graph_weights){a[P_WP], a[P_BP], a[P_WL], a[P_BL], a[P_WR], a[P_LNW], a[P_LNB]};
}

static void check_graph_gradients(int symmetric)
{
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed() + (uint64_t)symmetric);
    static graph_case t;
    make_graph_case(&t, &rng, symmetric);
    CHECK(t.E >= 2);
    m4_nn_graph_weights w = graph_view(t.f);
    float out[GN * GOC];
    float cache[GN * (2 * GC + GOC + 2)], scratch[GN * (2 * GC + GOC)];
    CHECK_INT_EQ(m4_nn_graph_cache_floats(GN, GC, GOC), sizeof cache / sizeof(float));
    CHECK_INT_EQ(m4_nn_graph_scratch_floats(GN, GC, GOC), sizeof scratch / sizeof(float));
    m4_nn_graph_forward(out, cache, t.f[P_X], t.src, t.dst, t.E, &w, GN, GC, GOC);
    double ref[GN * GOC];
    graph_loss_ref(&t, ref, NULL, NULL);
    for (int k = 0; k < GN * GOC; k++) CHECK_NEAR(out[k], ref[k], 1e-5);

    /* Gradients start at 0.25 so accumulation (+=) is checked too. */
    static float grad[NUM_P][GN * GC];
    for (int p = 0; p < NUM_P; p++)
        for (int k = 0; k < graph_sizes[p]; k++) grad[p][k] = 0.25f;
    m4_nn_graph_weights gw = graph_view(grad);
    /* Fill scratch with garbage: backward must not depend on its contents. */
    for (size_t k = 0; k < sizeof scratch / sizeof(float); k++) scratch[k] = 1e3f;
    m4_nn_graph_backward(grad[P_X], &gw, scratch, t.g, cache, t.f[P_X], t.src, t.dst, t.E, &w,
                         GN, GC, GOC);
    int checked = 0;
    for (int p = 0; p < NUM_P; p++)
        for (int k = 0; k < graph_sizes[p]; k++) {
            double keep = t.d[p][k];
            t.d[p][k] = keep + FD_STEP;
            double lp = graph_loss_ref(&t, NULL, NULL, NULL);
            t.d[p][k] = keep - FD_STEP;
            double lm = graph_loss_ref(&t, NULL, NULL, NULL);
            t.d[p][k] = keep;
            double fd = (lp - lm) / (2 * FD_STEP);
            CHECK_NEAR(grad[p][k] - 0.25, fd, 1e-5 + 1e-4 * fabs(fd));
            checked++;
        }
    CHECK_INT_EQ(checked, GN * GC + GC * GC + GC + 2 * GOC * GC + 3 * GOC);
    /* The link without edges (8) reaches the loss only through its root term
     * W_r x_8: its dx must still be non-zero (and was checked above). */
    double dx8 = 0;
    for (int c = 0; c < GC; c++) dx8 += fabs(grad[P_X][8 * GC + c] - 0.25);
    CHECK(dx8 > 1e-4);

    /* dx may be NULL: the weight gradients are the same. */
    static float grad2[NUM_P][GN * GC];
    memset(grad2, 0, sizeof grad2);
    m4_nn_graph_weights gw2 = graph_view(grad2);
    m4_nn_graph_backward(NULL, &gw2, scratch, t.g, cache, t.f[P_X], t.src, t.dst, t.E, &w, GN, GC,
                         GOC);
    for (int k = 0; k < GC * GC; k++) CHECK_NEAR(grad2[P_WP][k], grad[P_WP][k] - 0.25, 1e-6);
}

static void test_graph_gradients_bipartite(void) { check_graph_gradients(1); }
static void test_graph_gradients_directed(void) { check_graph_gradients(0); }

/* Known answer, C = 1, OC = 2, three nodes, edges 0->1 and 1->0, node 2 alone.
 * x = (1, -2, 0.5); W_p = 2, b_p = 1; W_l = (1, -1), b_l = (0, 0.5); W_r = (0.5, 1);
 * ln_w = (2, 1), ln_b = (0, 1).
 * msg = relu(2x + 1) = (3, 0, 2); agg = (msg1, msg0, 0) = (0, 3, 0).
 * pre0 = (0 + 0 + 0.5, 0 + 0.5 + 1)     = (0.5, 1.5)
 * pre1 = (3 + 0 - 1, -3 + 0.5 - 2)      = (2, -4.5)
 * pre2 = (0.25, 0.5 + 0.5)              = (0.25, 1)
 * LayerNorm of two values (a, b): +-(a - b)/2 / sqrt(((a - b)/2)^2 + 1e-5), so
 * node 0: d = -0.5, 0.5/sqrt(0.25001) = 0.99998000 -> out0 = (-1.9999600012, 1.9999800006)
 * node 1: d = 3.25, 3.25/sqrt(10.56251) = 0.99999953 -> out1 = (1.9999990533, 0.0000004734)
 * node 2: d = -0.375 -> out2 = (-1.9999288927, 1.9999644463). */
static void test_graph_known_answer(void)
{
    float x[3] = {1, -2, 0.5f}, wp = 2, bp = 1, wl[2] = {1, -1}, bl[2] = {0, 0.5f};
    float wr[2] = {0.5f, 1}, lnw[2] = {2, 1}, lnb[2] = {0, 1};
    int src[2] = {0, 1}, dst[2] = {1, 0};
    m4_nn_graph_weights w = {&wp, &bp, wl, bl, wr, lnw, lnb};
    float out[6], cache[3 * (2 + 2 + 2)];
    m4_nn_graph_forward(out, cache, x, src, dst, 2, &w, 3, 1, 2);
    const double want[6] = {-1.9999600012, 1.9999800006, 1.9999990533,
                            0.0000004734,  -1.9999288927, 1.9999644463};
    for (int k = 0; k < 6; k++) CHECK_NEAR(out[k], want[k], 2e-6);
    /* The cached messages and aggregates are the hand values. */
    const double msg_agg[6] = {3, 0, 2, 0, 3, 0};
    for (int k = 0; k < 6; k++) CHECK_NEAR(cache[k], msg_agg[k], 0);
}

/* ---- two-layer MLP ---- */

enum { MN = 5, MC = 6, MH = 7, MO = 2 };
enum { M_X, M_W1, M_B1, M_W2, M_B2, NUM_M };
static const int mlp_sizes[NUM_M] = {MN * MC, MH * MC, MH, MO * MH, MO};

static double mlp_loss_ref(double (*d)[MH * MC], const float *g, double *out, double *min_pre)
{
    double L = 0, mp = 1e300;
    for (int i = 0; i < MN; i++) {
        double hid[MH];
        for (int h = 0; h < MH; h++) {
            double s = d[M_B1][h];
            for (int c = 0; c < MC; c++) s += d[M_W1][h * MC + c] * d[M_X][i * MC + c];
            if (fabs(s) < mp) mp = fabs(s);
            hid[h] = s > 0 ? s : 0;
        }
        for (int o = 0; o < MO; o++) {
            double s = d[M_B2][o];
            for (int h = 0; h < MH; h++) s += d[M_W2][o * MH + h] * hid[h];
            if (out) out[i * MO + o] = s;
            L += g[i * MO + o] * s;
        }
    }
    if (min_pre) *min_pre = mp;
    return L;
}

static void test_mlp2_gradients(void)
{
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed() + 1);
    static float f[NUM_M][MH * MC], grad[NUM_M][MH * MC];
    static double d[NUM_M][MH * MC];
    float g[MN * MO];
    for (int tries = 0; tries < 100; tries++) {
        for (int p = 0; p < NUM_M; p++) {
            fill(&rng, f[p], mlp_sizes[p], 1.0);
            for (int k = 0; k < mlp_sizes[p]; k++) d[p][k] = f[p][k];
        }
        fill(&rng, g, MN * MO, 1.0);
        double mp;
        mlp_loss_ref(d, g, NULL, &mp);
        if (mp > 1e-3) break;
    }
    float out[MN * MO], hidden[MN * MH], scratch[MN * MH];
    m4_nn_mlp2_forward(out, hidden, f[M_X], f[M_W1], f[M_B1], f[M_W2], f[M_B2], MN, MC, MH, MO);
    double ref[MN * MO];
    mlp_loss_ref(d, g, ref, NULL);
    for (int k = 0; k < MN * MO; k++) CHECK_NEAR(out[k], ref[k], 1e-5);
    for (int p = 0; p < NUM_M; p++)
        for (int k = 0; k < mlp_sizes[p]; k++) grad[p][k] = -0.5f;
    m4_nn_mlp2_backward(grad[M_X], grad[M_W1], grad[M_B1], grad[M_W2], grad[M_B2], scratch, g,
                        hidden, f[M_X], f[M_W1], f[M_W2], MN, MC, MH, MO);
    for (int p = 0; p < NUM_M; p++)
        for (int k = 0; k < mlp_sizes[p]; k++) {
            double keep = d[p][k];
            d[p][k] = keep + FD_STEP;
            double lp = mlp_loss_ref(d, g, NULL, NULL);
            d[p][k] = keep - FD_STEP;
            double lm = mlp_loss_ref(d, g, NULL, NULL);
            d[p][k] = keep;
            double fd = (lp - lm) / (2 * FD_STEP);
            CHECK_NEAR(grad[p][k] + 0.5, fd, 1e-5 + 1e-4 * fabs(fd));
        }
}

/* Known answer: C = 2, Hd = 2, O = 1; x = (1, 2); W1 = ((1, 1), (1, -1)), b1 = (0, 0)
 * -> pre-activation (3, -1), hidden (3, 0); W2 = (2, 5), b2 = 0.5 -> out = 6.5. */
static void test_mlp2_known_answer(void)
{
    float x[2] = {1, 2}, w1[4] = {1, 1, 1, -1}, b1[2] = {0, 0}, w2[2] = {2, 5}, b2 = 0.5f;
    float out, hidden[2];
    m4_nn_mlp2_forward(&out, hidden, x, w1, b1, w2, &b2, 1, 2, 2, 1);
    CHECK_NEAR(hidden[0], 3, 0);
    CHECK_NEAR(hidden[1], 0, 0);
    CHECK_NEAR(out, 6.5, 1e-6);
}

M4_TEST_MAIN(M4_TEST(test_graph_gradients_bipartite), M4_TEST(test_graph_gradients_directed),
             M4_TEST(test_graph_known_answer),
             M4_TEST(test_mlp2_gradients), M4_TEST(test_mlp2_known_answer))
