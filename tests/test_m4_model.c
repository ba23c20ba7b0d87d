/* The m4 per-event update (src/m4/model.h) against an independent slow
 * double-precision implementation written here from its definition
 * (DESIGN.md section 8 and the comment at the top of model.h): plain loops,
 * nothing from src/nn. The weights are read through m4_model_weights, so the
 * reference checks the layout too.
 *
 * Small case: H = 6, G = 5, slowdown MLP hidden 4, head hidden 3; 3 flows on
 * 4 links with an irregular incidence (link 0 carries every flow, flow 2 only
 * link 0, pairs listed out of order), random fair shares and flowSim
 * slowdowns (one below 1, which the model takes as 1). Checked:
 *   - forward: new states, slowdown, remaining, queue within 1e-4;
 *   - backward of L = sum(a.h_out) + sum(b.z_out) + sum(c.slowdown)
 *     + sum(d.remaining) + sum(e.queue) against central differences of the
 *     double forward, for every input-state entry and EVERY parameter
 *     (the model is tiny: about 1700 of them);
 *   - backward overwrites d_*_in and accumulates parameter gradients;
 *   - init vectors, dt/queue features, save/load round trip, bad files. */
#include "testlib.h"

#include <unistd.h>

#include "core/rng.h"
#include "m4/model.h"
#include "m4sim.h"
#include "nn/modelfile.h"

enum { H = 6, G = 5, MH = 4, HH = 3, P = M4_MODEL_CONFIG, N = 3, L = 4, E = 6 };
enum { R = N + L, X = 4, RX = H + P + X, SX = 1 + P + H + X };

/* Incidence: flow 0 on links {2, 0, 1}, flow 1 on {0, 3}, flow 2 on {0}. */
static const int pair_flow[E] = {0, 1, 0, 2, 1, 0};
static const int pair_link[E] = {2, 0, 0, 0, 3, 1};

/* ---- the reference ------------------------------------------------------ */

static const float *g_base; /* m.params: tensors are located by pointer offset */
static const double *g_theta;

static const double *T(const float *p) { return g_theta + (p - g_base); }

/* Smallest |pre-activation| of any ReLU in the last forward: central
 * differences are only meaningful away from the kinks. */
static double g_min_pre = INFINITY;

static double relu_seen(double s)
{
    if (fabs(s) < g_min_pre) g_min_pre = fabs(s);
    return s > 0 ? s : 0;
}

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

/* PyTorch GRU cell, gates r, z, n. */
static void ref_gru(double *hout, const double *x, int C, const double *h,
                    const m4_gru_weights *w)
{
    const double *wi = T(w->w_ih), *wh = T(w->w_hh), *bi = T(w->b_ih), *bh = T(w->b_hh);
    for (int i = 0; i < H; i++) {
        double gi[3], gh[3];
        for (int g = 0; g < 3; g++) {
            int row = g * H + i;
            gi[g] = bi[row], gh[g] = bh[row];
            for (int c = 0; c < C; c++) gi[g] += wi[row * C + c] * x[c];
            for (int k = 0; k < H; k++) gh[g] += wh[row * H + k] * h[k];
        }
        double r = sigm(gi[0] + gh[0]), z = sigm(gi[1] + gh[1]);
        double n = tanh(gi[2] + r * gh[2]);
        hout[i] = (1 - z) * n + z * h[i];
    }
}

/* Graph layer over the R nodes [flows; links], edges flow<->link both ways. */
static void ref_graph(double *out, const double *x, int C, int OC, const m4_nn_graph_weights *w)
{
    const double *wp = T(w->w_p), *bp = T(w->b_p), *wl = T(w->w_l), *bl = T(w->b_l);
    const double *wr = T(w->w_r), *lw = T(w->ln_w), *lb = T(w->ln_b);
    double msg[R][16], agg[R][16];
    for (int j = 0; j < R; j++)
        for (int c = 0; c < C; c++) {
            double s = bp[c];
            for (int k = 0; k < C; k++) s += wp[c * C + k] * x[j * C + k];
            msg[j][c] = relu_seen(s);
            agg[j][c] = 0;
        }
    for (int e = 0; e < E; e++) {
        int f = pair_flow[e], l = N + pair_link[e];
        for (int c = 0; c < C; c++) agg[f][c] += msg[l][c], agg[l][c] += msg[f][c];
    }
    for (int i = 0; i < R; i++) {
        double pre[16], mean = 0, var = 0;
        for (int o = 0; o < OC; o++) {
            double s = bl[o];
            for (int c = 0; c < C; c++) s += wl[o * C + c] * agg[i][c] + wr[o * C + c] * x[i * C + c];
            pre[o] = s;
            mean += s;
        }
        mean /= OC;
        for (int o = 0; o < OC; o++) var += (pre[o] - mean) * (pre[o] - mean);
        var /= OC;
        for (int o = 0; o < OC; o++)
            out[i * OC + o] = (pre[o] - mean) / sqrt(var + 1e-5) * lw[o] + lb[o];
    }
}

static double ref_mlp(const double *x, int C, int Hd, const m4_mlp_weights *w)
{
    const double *w1 = T(w->w1), *b1 = T(w->b1), *w2 = T(w->w2), *b2 = T(w->b2);
    double y = b2[0];
    for (int j = 0; j < Hd; j++) {
        double s = b1[j];
        for (int c = 0; c < C; c++) s += w1[j * C + c] * x[c];
        y += w2[j] * relu_seen(s);
    }
    return y;
}

typedef struct ref_in {
    double flow_h[N * H], link_z[L * H], flow_dt[N], link_dt[L], path_len[N], fair[N], base[N];
    double load[N], age[N];
    double config[P];
} ref_in;

/* flowSim's slowdown, never below 1. */
static double ref_base(const ref_in *in, int i) { return in->base[i] > 1 ? in->base[i] : 1; }

typedef struct ref_out {
    double h[N * H], z[L * H], sd[N], rem[N], q[L];
} ref_out;

static void ref_forward(ref_out *o, const ref_in *in, const m4_model_weights *w)
{
    double x0[R * H], g1[R * G], g2[R * G], g3[R * H];
    for (int i = 0; i < N; i++) ref_gru(x0 + i * H, &in->flow_dt[i], 1, in->flow_h + i * H, &w->time_flow);
    for (int l = 0; l < L; l++)
        ref_gru(x0 + (N + l) * H, &in->link_dt[l], 1, in->link_z + l * H, &w->time_link);
    ref_graph(g1, x0, H, G, &w->gnn[0]);
    ref_graph(g2, g1, G, G, &w->gnn[1]);
    ref_graph(g3, g2, G, H, &w->gnn[2]);
    for (int i = 0; i < N; i++) {
        double x[RX];
        for (int k = 0; k < H; k++) x[k] = g3[i * H + k];
        for (int k = 0; k < P; k++) x[H + k] = in->config[k];
        x[H + P] = in->fair[i];
        x[H + P + 1] = log2(ref_base(in, i));
        x[H + P + 2] = in->load[i];
        x[H + P + 3] = in->age[i];
        ref_gru(o->h + i * H, x, RX, x0 + i * H, &w->rate_flow);
    }
    for (int l = 0; l < L; l++) ref_gru(o->z + l * H, g3 + (N + l) * H, H, x0 + (N + l) * H, &w->rate_link);
    for (int i = 0; i < N; i++) {
        double x[SX];
        x[0] = in->path_len[i];
        for (int k = 0; k < P; k++) x[1 + k] = in->config[k];
        for (int k = 0; k < H; k++) x[1 + P + k] = o->h[i * H + k];
        x[1 + P + H] = in->fair[i];
        x[1 + P + H + 1] = log2(ref_base(in, i));
        x[1 + P + H + 2] = in->load[i];
        x[1 + P + H + 3] = in->age[i];
        o->sd[i] = ref_base(in, i) * (1.0 + ref_mlp(x, SX, MH, &w->slowdown));
        o->rem[i] = ref_mlp(o->h + i * H, H, HH, &w->remaining);
    }
    for (int l = 0; l < L; l++) o->q[l] = ref_mlp(o->z + l * H, H, HH, &w->queue);
}

/* Loss weights a..e. */
static float wa[N * H], wb[L * H], wc[N], wd[N], we[L];

static double ref_loss(const ref_in *in, const m4_model_weights *w)
{
    ref_out o;
    ref_forward(&o, in, w);
    double s = 0;
    for (int k = 0; k < N * H; k++) s += wa[k] * o.h[k];
    for (int k = 0; k < L * H; k++) s += wb[k] * o.z[k];
    for (int i = 0; i < N; i++) s += wc[i] * o.sd[i] + wd[i] * o.rem[i];
    for (int l = 0; l < L; l++) s += we[l] * o.q[l];
    return s;
}

/* ---- the case ----------------------------------------------------------- */

static m4_model model;
static double *theta;
static ref_in rin;
static float fh[N * H], lz[L * H], fdt[N], ldt[L], plen[N], fair[N], base[N], load[N], age[N];
static float cfg[P];

static double uni(m4_rng *r, double lo, double hi) { return lo + (hi - lo) * m4_rng_uniform(r); }

static void setup_case(uint64_t seed)
{
    static const m4_model_dims d = {H, G, MH, HH, M4_NEIGHBOURHOOD_COMPONENT, X};
    m4_model_free(&model);
    CHECK_INT_EQ(m4_model_create(&model, &d, seed), M4_OK);
    /* create zeroes the slowdown MLP's last layer (the untrained model
     * answers flowSim's slowdown); random values here, so that every
     * parameter of that MLP gets a gradient. */
    m4_rng wr;
    m4_rng_seed(&wr, seed ^ 0xabcdefULL);
    for (int j = 0; j < MH; j++) model.w.slowdown.w2[j] = (float)(m4_rng_uniform(&wr) - 0.5);
    model.w.slowdown.b2[0] = 0.3f;
    free(theta);
    theta = malloc(sizeof(double) * model.num_params);
    for (size_t k = 0; k < model.num_params; k++) theta[k] = model.params[k];
    g_base = model.params, g_theta = theta;
    m4_rng r;
    m4_rng_seed(&r, seed * 7919 + 1);
    for (int k = 0; k < N * H; k++) fh[k] = (float)uni(&r, -1, 1);
    for (int k = 0; k < L * H; k++) lz[k] = (float)uni(&r, -1, 1);
    for (int i = 0; i < N; i++) fdt[i] = (float)uni(&r, 0, 3), fair[i] = (float)uni(&r, 0.1, 1);
    for (int i = 0; i < N; i++) load[i] = (float)uni(&r, 0, 1);
    for (int i = 0; i < N; i++) age[i] = (float)uni(&r, 0, 4);
    /* flowSim slowdowns; flow 1's is below 1 and must be taken as 1 */
    for (int i = 0; i < N; i++) base[i] = (float)uni(&r, 1, 3);
    base[1] = 0.75f;
    for (int l = 0; l < L; l++) ldt[l] = (float)uni(&r, 0, 3);
    int hops[N] = {0};
    for (int e = 0; e < E; e++) hops[pair_flow[e]]++;
    for (int i = 0; i < N; i++) plen[i] = (float)hops[i];
    for (int k = 0; k < P; k++) cfg[k] = (float)uni(&r, 0, 1.5);
    for (int k = 0; k < N * H; k++) rin.flow_h[k] = fh[k], wa[k] = (float)uni(&r, -1, 1);
    for (int k = 0; k < L * H; k++) rin.link_z[k] = lz[k], wb[k] = (float)uni(&r, -1, 1);
    for (int i = 0; i < N; i++) {
        rin.flow_dt[i] = fdt[i], rin.path_len[i] = plen[i], rin.fair[i] = fair[i], rin.base[i] = base[i];
        rin.load[i] = load[i], rin.age[i] = age[i];
        wc[i] = (float)uni(&r, -1, 1), wd[i] = (float)uni(&r, -1, 1);
    }
    for (int l = 0; l < L; l++) rin.link_dt[l] = ldt[l], we[l] = (float)uni(&r, -1, 1);
    for (int k = 0; k < P; k++) rin.config[k] = cfg[k];
}

static m4_step_input step_input(void)
{
    return (m4_step_input){.num_flows = N, .num_links = L, .num_pairs = E, .flow_h = fh,
                           .link_z = lz, .flow_dt = fdt, .link_dt = ldt, .flow_path_length = plen,
                           .flow_fair_share = fair, .flow_base_slowdown = base, .flow_path_load = load,
                           .flow_age = age, .config = cfg, .pair_flow = pair_flow,
                           .pair_link = pair_link};
}

/* Largest |float - double| over every output of a step with heads. */
static double max_difference(const m4_step_record *rec, const ref_out *o)
{
    double worst = 0;
    for (int k = 0; k < N * H; k++) worst = fmax(worst, fabs(rec->flow_h_out[k] - o->h[k]));
    for (int k = 0; k < L * H; k++) worst = fmax(worst, fabs(rec->link_z_out[k] - o->z[k]));
    for (int i = 0; i < N; i++) {
        worst = fmax(worst, fabs(rec->slowdown[i] - o->sd[i]));
        worst = fmax(worst, fabs(rec->remaining[i] - o->rem[i]));
    }
    for (int l = 0; l < L; l++) worst = fmax(worst, fabs(rec->queue[l] - o->q[l]));
    return worst;
}

static void forward_matches_reference(void)
{
    uint64_t seed = m4t_seed();
    m4_nn_arena arena;
    m4_nn_arena_init(&arena, 1 << 12);
    for (int rep = 0; rep < 3; rep++) {
        setup_case(seed + rep);
        m4_step_input in = step_input();
        m4_step_record rec;
        CHECK_INT_EQ(m4_step_forward(&rec, &model, &in, &arena, 1), M4_OK);
        ref_out o;
        ref_forward(&o, &rin, &model.w);
        double worst = max_difference(&rec, &o);
        CHECK(worst <= 1e-4);
        if (rep == 0) fprintf(stderr, "  forward: max |float - double| %.2e\n", worst);
        /* The outputs must depend on the inputs at all (a model that ignored
         * them would still "match" a reference with the same bug only by luck):
         * the new states differ from the old and between flows. */
        CHECK(fabs(o.h[0] - rin.flow_h[0]) > 1e-3 || fabs(o.h[1] - rin.flow_h[1]) > 1e-3);
        CHECK(fabs(o.sd[0] - o.sd[1]) > 1e-6);

        /* Without heads: same states and slowdown, no heads. */
        m4_step_record rec2;
        CHECK_INT_EQ(m4_step_forward(&rec2, &model, &in, &arena, 0), M4_OK);
        CHECK(memcmp(rec2.flow_h_out, rec.flow_h_out, sizeof(float) * N * H) == 0);
        CHECK(memcmp(rec2.link_z_out, rec.link_z_out, sizeof(float) * L * H) == 0);
        CHECK(memcmp(rec2.slowdown, rec.slowdown, sizeof(float) * N) == 0);
        CHECK(rec2.remaining == NULL && rec2.queue == NULL);

        /* Missing fair shares and flowSim slowdowns mean 1, a missing path
         * load or age 0. */
        float ones[N] = {1, 1, 1}, zeros[N] = {0, 0, 0};
        in.flow_fair_share = NULL, in.flow_base_slowdown = NULL, in.flow_path_load = NULL;
        in.flow_age = NULL;
        CHECK_INT_EQ(m4_step_forward(&rec2, &model, &in, &arena, 1), M4_OK);
        in.flow_fair_share = ones, in.flow_base_slowdown = ones, in.flow_path_load = zeros;
        in.flow_age = zeros;
        m4_step_record rec3;
        CHECK_INT_EQ(m4_step_forward(&rec3, &model, &in, &arena, 1), M4_OK);
        CHECK(memcmp(rec2.slowdown, rec3.slowdown, sizeof(float) * N) == 0);
        CHECK(memcmp(rec2.flow_h_out, rec3.flow_h_out, sizeof(float) * N * H) == 0);

        /* The inference layout (every matrix transposed) against the same
         * double reference, which reads the untransposed weights. */
        in.flow_fair_share = fair, in.flow_base_slowdown = base, in.flow_path_load = load;
        in.flow_age = age;
        CHECK_INT_EQ(m4_model_prepare_inference(&model), M4_OK);
        CHECK(model.w_t.gnn[0].transposed == 1 && model.w.gnn[0].transposed == 0);
        m4_step_record rect;
        CHECK_INT_EQ(m4_step_forward(&rect, &model, &in, &arena, 1), M4_OK);
        double worst_t = max_difference(&rect, &o);
        CHECK(worst_t <= 1e-4);
        if (rep == 0) fprintf(stderr, "  forward, transposed weights: max |float - double| %.2e\n", worst_t);
        free(model.params_t);
        model.params_t = NULL;
        m4_nn_arena_reset(&arena);
    }
    m4_nn_arena_free(&arena);
}

/* Tolerance: float backward against double central differences (step 1e-6:
 * truncation ~1e-12, cancellation ~1e-10): float rounding through ~10 layers of width <= 20
 * gives at most ~2e-6 absolute on O(1) gradients (measured over 100 seeds). */
static int grad_close(double an, double fd) { return fabs(an - fd) <= 1e-5 + 1e-4 * fabs(fd); }

typedef struct fd_tally {
    double worst; /* largest |analytic - central difference| */
    int bad, checked, nonzero;
} fd_tally;

/* Checks analytic[k], the gradient of the loss in x[k], against the central
 * difference of ref_loss for k < n; x lies in rin or in the weights, so
 * ref_loss sees each nudge. */
static void fd_check(fd_tally *t, const char *name, double *x, const float *analytic, size_t n,
                     const m4_model_weights *w)
{
    const double h = 1e-6;
    for (size_t k = 0; k < n; k++) {
        double keep = x[k];
        x[k] = keep + h;
        double up = ref_loss(&rin, w);
        x[k] = keep - h;
        double dn = ref_loss(&rin, w);
        x[k] = keep;
        double fd = (up - dn) / (2 * h);
        t->worst = fmax(t->worst, fabs(fd - analytic[k]));
        if (fabs(fd) > 1e-3) t->nonzero++;
        if (!grad_close(analytic[k], fd) && t->bad++ < 5)
            fprintf(stderr, "  %s[%zu] %.7g, fd %.7g\n", name, k, analytic[k], fd);
        t->checked++;
    }
}

static void backward_matches_finite_differences(void)
{
    uint64_t seed = m4t_seed();
    /* Redraw (deterministically) until no ReLU sits within 1e-4 of its kink:
     * a parameter step of 1e-6 moves no pre-activation that far. */
    int draws = 0;
    do {
        setup_case(seed + 11 + (uint64_t)draws++ * 1000);
        g_min_pre = INFINITY;
        ref_loss(&rin, &model.w);
    } while (g_min_pre < 1e-4 && draws < 50);
    CHECK(g_min_pre >= 1e-4);
    m4_nn_arena arena, scratch;
    m4_nn_arena_init(&arena, 1 << 12);
    m4_nn_arena_init(&scratch, 1 << 12);
    m4_step_input in = step_input();
    m4_step_record rec;
    CHECK_INT_EQ(m4_step_forward(&rec, &model, &in, &arena, 1), M4_OK);
    float *grads = calloc(model.num_params, sizeof(float));
    m4_model_weights gw;
    m4_model_weights_at(&gw, grads, &model.dims);
    float dh_in[N * H], dz_in[L * H];
    for (int k = 0; k < N * H; k++) dh_in[k] = 12345.0f; /* must be overwritten */
    CHECK_INT_EQ(m4_step_backward(dh_in, dz_in, &gw, &model, &rec, wa, wb, wc, wd, we, &scratch),
                 M4_OK);
    fd_tally inputs = {0}, params = {0};
    fd_check(&inputs, "d_flow_h_in", rin.flow_h, dh_in, N * H, &model.w);
    fd_check(&inputs, "d_link_z_in", rin.link_z, dz_in, L * H, &model.w);
    /* every parameter, and how many have a gradient that is not ~0 */
    fd_check(&params, "param", theta, grads, model.num_params, &model.w);
    fprintf(stderr, "  backward: %d gradients, max |analytic - fd| %.2e, %d params with |g| > 1e-3"
            " (case drawn %d times, nearest ReLU kink %.1e)\n", inputs.checked + params.checked,
            fmax(inputs.worst, params.worst), params.nonzero, draws, g_min_pre);
    CHECK_INT_EQ(inputs.bad + params.bad, 0);
    CHECK(params.nonzero > (int)model.num_params / 2);

    /* A second call: d_*_in overwritten with the same values, parameter
     * gradients accumulated (twice the first; not bit-exact, since sgemm may
     * fuse the existing value into its sums). */
    float *once = malloc(sizeof(float) * model.num_params);
    memcpy(once, grads, sizeof(float) * model.num_params);
    float dh2[N * H], dz2[L * H];
    CHECK_INT_EQ(m4_step_backward(dh2, dz2, &gw, &model, &rec, wa, wb, wc, wd, we, &scratch), M4_OK);
    CHECK(memcmp(dh2, dh_in, sizeof dh2) == 0 && memcmp(dz2, dz_in, sizeof dz2) == 0);
    double gmax = 0, dev = 0;
    for (size_t k = 0; k < model.num_params; k++) gmax = fmax(gmax, fabs(once[k]));
    for (size_t k = 0; k < model.num_params; k++) dev = fmax(dev, fabs(grads[k] - 2 * once[k]));
    CHECK(dev <= 1e-6 * gmax);

    /* NULL gradient arguments mean zero. */
    float zh[N * H] = {0}, zz[L * H] = {0}, zn[N] = {0}, zl[L] = {0};
    float dh3[N * H], dz3[L * H], dh4[N * H], dz4[L * H];
    memset(grads, 0, sizeof(float) * model.num_params);
    CHECK_INT_EQ(m4_step_backward(dh3, dz3, &gw, &model, &rec, NULL, NULL, wc, NULL, NULL, &scratch),
                 M4_OK);
    CHECK_INT_EQ(m4_step_backward(dh4, dz4, &gw, &model, &rec, zh, zz, wc, zn, zl, &scratch), M4_OK);
    CHECK(memcmp(dh3, dh4, sizeof dh3) == 0 && memcmp(dz3, dz4, sizeof dz3) == 0);

    free(once);
    free(grads);
    m4_nn_arena_free(&arena);
    m4_nn_arena_free(&scratch);
}

static void init_vectors_and_features(void)
{
    float h[8], z[8];
    for (int k = 0; k < 8; k++) h[k] = z[k] = 99.0f;
    m4_model_flow_init(h, 8, 7000, 5); /* log2(7000/1000 + 1) = 3 */
    const float eh[8] = {1, 0, 3, 5, 0, 0, 0, 0};
    for (int k = 0; k < 8; k++) CHECK_NEAR(h[k], eh[k], 1e-6);
    m4_model_flow_init(h, 8, 1000, 2); /* log2(2) = 1 */
    CHECK_NEAR(h[2], 1.0, 1e-6);
    CHECK_NEAR(h[3], 2.0, 0);
    m4_model_link_init(z, 8);
    const float ez[8] = {0, 1, 1, 0, 0, 0, 0, 0};
    for (int k = 0; k < 8; k++) CHECK_NEAR(z[k], ez[k], 0);
    CHECK_NEAR(m4_model_dt_feature(0), 0.0, 0);
    CHECK_NEAR(m4_model_dt_feature(-50), 0.0, 0);
    CHECK_NEAR(m4_model_dt_feature(3000), 2.0, 1e-6); /* log2(1 + 3 us) */
    CHECK_NEAR(m4_model_queue_feature(8000), 2.0, 1e-6); /* cbrt(8 KB) */
    CHECK_NEAR(m4_model_queue_feature(0), 0.0, 0);

    /* Creation: PyTorch-style bounds, LayerNorm 1/0, seeded. */
    m4_model_dims d = {H, G, MH, HH, M4_NEIGHBOURHOOD_COMPONENT, X};
    m4_model a, b, c;
    CHECK_INT_EQ(m4_model_create(&a, &d, 5), M4_OK);
    CHECK_INT_EQ(m4_model_create(&b, &d, 5), M4_OK);
    CHECK_INT_EQ(m4_model_create(&c, &d, 6), M4_OK);
    CHECK(memcmp(a.params, b.params, sizeof(float) * a.num_params) == 0);
    CHECK(memcmp(a.params, c.params, sizeof(float) * a.num_params) != 0);
    /* parameter count by hand: GRUs 3H(C+H+2); graphs C^2+C+2*OC*C+3*OC; MLPs Hd(C+1)+Hd+1 */
    size_t gru = 0, count = 0;
    const int gru_c[4] = {1, 1, RX, H};
    for (int i = 0; i < 4; i++) gru += (size_t)3 * H * (gru_c[i] + H + 2);
    const int gc[3] = {H, G, G}, goc[3] = {G, G, H};
    count = gru;
    for (int k = 0; k < 3; k++)
        count += (size_t)gc[k] * gc[k] + gc[k] + 2 * goc[k] * gc[k] + 3 * goc[k];
    count += (size_t)MH * (SX + 1) + MH + 1 + 2 * ((size_t)HH * (H + 1) + HH + 1);
    CHECK_INT_EQ(a.num_params, count);
    double bound_h = 1 / sqrt((double)H);
    int in_bounds = 1;
    for (int k = 0; k < 3 * H * H; k++) in_bounds &= fabs(a.w.rate_link.w_hh[k]) <= bound_h;
    for (int k = 0; k < 3 * H * RX; k++) in_bounds &= fabs(a.w.rate_flow.w_ih[k]) <= bound_h;
    for (int k = 0; k < G * G; k++) in_bounds &= fabs(a.w.gnn[1].w_p[k]) <= 1 / sqrt((double)G);
    for (int k = 0; k < MH * SX; k++) in_bounds &= fabs(a.w.slowdown.w1[k]) <= 1 / sqrt((double)SX);
    CHECK(in_bounds);
    for (int k = 0; k < 3; k++) {
        int oc = goc[k];
        for (int o = 0; o < oc; o++) {
            CHECK_NEAR(a.w.gnn[k].ln_w[o], 1.0, 0);
            CHECK_NEAR(a.w.gnn[k].ln_b[o], 0.0, 0);
        }
    }
    /* The queue head is the last tensor: the layout covers the allocation. */
    CHECK(a.w.queue.b2 == a.params + a.num_params - 1);
    m4_model_free(&a), m4_model_free(&b), m4_model_free(&c);
    m4_model bad;
    m4_model_dims tiny = {3, G, MH, HH, M4_NEIGHBOURHOOD_COMPONENT, X}; /* h[3] holds the path length: hidden >= 4 */
    CHECK_INT_EQ(m4_model_create(&bad, &tiny, 1), M4_EINVAL);
}

static char scratch_dir[] = "/tmp/m4sim-test-m4model-XXXXXX";

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void copy_prefix(const char *from, const char *to, long n, long flip_at)
{
    FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
    for (long i = 0; f && g && i < n; i++) {
        int c = fgetc(f);
        if (i == flip_at) c ^= 0x10;
        fputc(c, g);
    }
    if (f) fclose(f);
    if (g) fclose(g);
}

static void save_load_round_trip_and_bad_files(void)
{
    CHECK(mkdtemp(scratch_dir) != NULL);
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/model.m4", scratch_dir);
    snprintf(bad, sizeof bad, "%s/bad.m4", scratch_dir);
    m4_model_dims d = {H, G, MH, HH, M4_NEIGHBOURHOOD_FLOWS, 2};
    m4_model a, b;
    /* With the path load (and the age) first: the count of flow features
     * comes back. */
    for (int x = 3; x <= 4; x++) {
        d.flow_extra = x;
        CHECK_INT_EQ(m4_model_create(&a, &d, 42), M4_OK);
        CHECK_INT_EQ(m4_model_save(&a, path), M4_OK);
        CHECK_INT_EQ(m4_model_load(&b, path), M4_OK);
        CHECK_INT_EQ(b.dims.flow_extra, x);
        CHECK(b.num_params == a.num_params &&
              memcmp(a.params, b.params, sizeof(float) * a.num_params) == 0);
        m4_model_free(&a), m4_model_free(&b);
    }
    m4_nn_model_file hdr;
    CHECK_INT_EQ(m4_nn_model_file_read(&hdr, path), M4_OK);
    CHECK(hdr.version == 5 && hdr.num_dims == 6);
    m4_nn_model_file_free(&hdr);
    /* Without it, the version 4 file (five dims) that older builds read. */
    d.flow_extra = 2;
    CHECK_INT_EQ(m4_model_create(&a, &d, 42), M4_OK);
    CHECK_INT_EQ(m4_model_save(&a, path), M4_OK);
    CHECK_INT_EQ(m4_nn_model_file_read(&hdr, path), M4_OK);
    CHECK(hdr.version == 4 && hdr.num_dims == 5);
    m4_nn_model_file_free(&hdr);
    CHECK_INT_EQ(m4_model_load(&b, path), M4_OK);
    CHECK(b.dims.hidden == H && b.dims.gnn == G && b.dims.mlp_hidden == MH &&
          b.dims.head_hidden == HH && b.dims.neighbourhood == M4_NEIGHBOURHOOD_FLOWS &&
          b.dims.flow_extra == 2);
    CHECK_INT_EQ(b.num_params, a.num_params);
    CHECK(b.params && memcmp(a.params, b.params, sizeof(float) * a.num_params) == 0);
    /* The weights struct of the loaded model points into its own params. */
    CHECK(b.w.time_flow.w_ih == b.params && b.w.queue.b2 == b.params + b.num_params - 1);
    m4_model_free(&b);

    long n = file_size(path);
    CHECK(n > 48);
    const long cuts[] = {0, 10, 47, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        unlink(bad);
        copy_prefix(path, bad, cuts[i], -1);
        CHECK_INT_EQ(m4_model_load(&b, bad), M4_EFORMAT);
        CHECK(b.params == NULL);
        CHECK(strstr(m4_last_error(), "bad.m4") != NULL);
    }
    const long flips[] = {3, 50, n / 2, n - 3};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        unlink(bad);
        copy_prefix(path, bad, n, flips[i]);
        CHECK_INT_EQ(m4_model_load(&b, bad), M4_EFORMAT);
        CHECK(b.params == NULL);
    }
    /* Well-formed container, wrong content: another kind, another version,
     * a weight count that does not match the dimensions. */
    m4_nn_model_file f;
    memset(&f, 0, sizeof f);
    snprintf(f.kind, sizeof f.kind, "m4-checkpoint");
    f.version = M4_MODEL_VERSION;
    f.num_dims = 6;
    f.dims[0] = H, f.dims[1] = G, f.dims[2] = MH, f.dims[3] = HH, f.dims[4] = 2, f.dims[5] = 2;
    f.num_weights = a.num_params;
    f.weights = a.params;
    CHECK_INT_EQ(m4_nn_model_file_write(bad, &f), M4_OK);
    CHECK_INT_EQ(m4_model_load(&b, bad), M4_EFORMAT);
    snprintf(f.kind, sizeof f.kind, "m4");
    /* Version 3 (four dims, before the neighbourhood) reads as COMPONENT
     * and version 4 (five, before the path load) with two flow features;
     * version 5 needs its sixth dim, 2 or 3, and the weights for it. */
    f.version = 3, f.num_dims = 4;
    CHECK_INT_EQ(m4_nn_model_file_write(bad, &f), M4_OK);
    CHECK_INT_EQ(m4_model_load(&b, bad), M4_OK);
    CHECK_INT_EQ(b.dims.neighbourhood, M4_NEIGHBOURHOOD_COMPONENT);
    CHECK_INT_EQ(b.dims.flow_extra, 2);
    CHECK(memcmp(a.params, b.params, sizeof(float) * a.num_params) == 0);
    m4_model_free(&b);
    f.version = 4, f.num_dims = 5;
    CHECK_INT_EQ(m4_nn_model_file_write(bad, &f), M4_OK);
    CHECK_INT_EQ(m4_model_load(&b, bad), M4_OK);
    CHECK(b.dims.neighbourhood == 2 && b.dims.flow_extra == 2);
    m4_model_free(&b);
    f.version = 3, f.num_dims = 5;
    CHECK_INT_EQ(m4_nn_model_file_write(bad, &f), M4_OK);
    CHECK_INT_EQ(m4_model_load(&b, bad), M4_EFORMAT);
    f.version = M4_MODEL_VERSION;
    CHECK_INT_EQ(m4_nn_model_file_write(bad, &f), M4_OK);
    CHECK_INT_EQ(m4_model_load(&b, bad), M4_EFORMAT);
    f.num_dims = 6, f.dims[4] = 3;
    CHECK_INT_EQ(m4_nn_model_file_write(bad, &f), M4_OK);
    CHECK_INT_EQ(m4_model_load(&b, bad), M4_EFORMAT);
    CHECK(b.params == NULL);
    f.dims[4] = 2, f.dims[5] = 4;
    CHECK_INT_EQ(m4_nn_model_file_write(bad, &f), M4_OK);
    CHECK_INT_EQ(m4_model_load(&b, bad), M4_EFORMAT);
    f.dims[5] = 3; /* the weights of two flow features */
    CHECK_INT_EQ(m4_nn_model_file_write(bad, &f), M4_OK);
    CHECK_INT_EQ(m4_model_load(&b, bad), M4_EFORMAT);
    CHECK(b.params == NULL);
    f.dims[5] = 2;
    f.version = M4_MODEL_VERSION + 1;
    CHECK_INT_EQ(m4_nn_model_file_write(bad, &f), M4_OK);
    CHECK_INT_EQ(m4_model_load(&b, bad), M4_EFORMAT);
    f.version = M4_MODEL_VERSION;
    f.num_weights = a.num_params - 1;
    CHECK_INT_EQ(m4_nn_model_file_write(bad, &f), M4_OK);
    CHECK_INT_EQ(m4_model_load(&b, bad), M4_EFORMAT);
    CHECK(b.params == NULL);
    f.num_weights = a.num_params;
    f.dims[0] = 0; /* invalid dimensions */
    CHECK_INT_EQ(m4_nn_model_file_write(bad, &f), M4_OK);
    CHECK_INT_EQ(m4_model_load(&b, bad), M4_EFORMAT);
    CHECK(b.params == NULL);
    snprintf(bad, sizeof bad, "%s/missing.m4", scratch_dir);
    CHECK(m4_model_load(&b, bad) != M4_OK);
    m4_model_free(&a);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch_dir);
    CHECK_INT_EQ(system(cmd), 0);
}

/* Widening a 2-input model to 4 inputs (path load, age) with zero weights
 * leaves every output as it was, whatever the new inputs hold; training
 * then moves only what it must. */
static void widen_keeps_outputs(void)
{
    uint64_t seed = m4t_seed();
    const m4_model_dims d = {H, G, MH, HH, M4_NEIGHBOURHOOD_LINKS, 2};
    m4_model narrow, wide;
    CHECK_INT_EQ(m4_model_create(&narrow, &d, seed), M4_OK);
    m4_rng wr;
    m4_rng_seed(&wr, seed ^ 0x5eedULL);
    for (int j = 0; j < MH; j++) narrow.w.slowdown.w2[j] = (float)(m4_rng_uniform(&wr) - 0.5);
    CHECK_INT_EQ(m4_model_widen_flow_extra(&wide, &narrow, 4), M4_OK);
    CHECK(wide.dims.flow_extra == 4 && wide.num_params == narrow.num_params + (size_t)3 * H * 2 + MH * 2);
    setup_case(seed); /* inputs, with path loads and ages that are not zero */
    m4_step_input in = step_input();
    m4_nn_arena arena;
    m4_nn_arena_init(&arena, 1 << 12);
    m4_step_record a, b;
    CHECK_INT_EQ(m4_step_forward(&a, &narrow, &in, &arena, 1), M4_OK);
    CHECK_INT_EQ(m4_step_forward(&b, &wide, &in, &arena, 1), M4_OK);
    double worst = 0;
    for (int k = 0; k < N * H; k++) worst = fmax(worst, fabs(a.flow_h_out[k] - b.flow_h_out[k]));
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(a.slowdown[i] - b.slowdown[i]));
    CHECK(worst <= 1e-6);
    /* Its new weights are there to learn: a gradient reaches them. */
    float *grads = calloc(wide.num_params, sizeof(float));
    float d_sd[N] = {1, -1, 0.5f};
    m4_model_weights gw;
    m4_model_weights_at(&gw, grads, &wide.dims);
    m4_nn_arena scratch;
    m4_nn_arena_init(&scratch, 1 << 12);
    CHECK_INT_EQ(m4_step_backward(NULL, NULL, &gw, &wide, &b, NULL, NULL, d_sd, NULL, NULL, &scratch),
                 M4_OK);
    double age_grad = 0;
    for (int j = 0; j < MH; j++) age_grad += fabs(gw.slowdown.w1[(size_t)j * (SX) + SX - 1]);
    CHECK(age_grad > 0);
    /* Narrowing is refused. */
    m4_model back;
    CHECK_INT_EQ(m4_model_widen_flow_extra(&back, &wide, 2), M4_EINVAL);
    free(grads);
    m4_nn_arena_free(&arena), m4_nn_arena_free(&scratch);
    m4_model_free(&narrow), m4_model_free(&wide);
}

static void cleanup(void)
{
    m4_model_free(&model);
    free(theta);
    theta = NULL;
}

M4_TEST_MAIN(M4_TEST(forward_matches_reference), M4_TEST(backward_matches_finite_differences),
             M4_TEST(init_vectors_and_features), M4_TEST(save_load_round_trip_and_bad_files),
             M4_TEST(widen_keeps_outputs), M4_TEST(cleanup))
