/* A whole multi-step sequence, shaped like m4's per-event update, checked
 * against finite differences of an independent double-precision forward.
 *
 * Persistent states: h (F flows, H) and z (L links, H). Each of T steps
 * touches a different subset of flows and links (as one simulator event
 * touches one connected component):
 *   gather h[fidx], z[lidx]
 *   h1 = GRU_time(dt_f, h), z1 = GRU_time_link(dt_l, z)
 *   x0 = [h1; z1] -> graph layers H -> G -> G -> H over flow<->link edges -> g3
 *   h2 = GRU_rate([g3_flows, p], h1), z2 = GRU_rate_link(g3_links, z1)
 *   y = MLP([path length, p, h2]); loss += rel_l1(y, target) (one target masked)
 *   write h2, z2 back into h[fidx], z[lidx]
 * Total loss = sum over steps. The forward records each step (its indices,
 * inputs, outputs and layer caches) in an arena; backward walks the records
 * in reverse, carrying the gradient w.r.t. the persistent states (dh, dz):
 * rows a step wrote get their gradient read at that step's outputs and
 * replaced by the gradient at its inputs. This is the tape of issue 4: one
 * explicit record per step rather than a generic closure list, because the
 * step's structure is fixed and only its row sets vary.
 * Checked (1e-5 absolute + 1e-4 relative, as for single layers: float rounding
 * over the 6 steps stays well inside it): the loss, a sample of entries of every
 * parameter tensor, and every
 * entry of the initial states (rows never touched must get exactly 0). */
#include "core/rng.h"
#include "nn/arena.h"
#include "nn/graph.h"
#include "nn/layers.h"
#include "testlib.h"

#define FD_STEP 1e-6

enum { F = 7, L = 6, H = 4, G = 5, P = 2, HD = 6, T = 6, MAXN = F + L, MAXE = 2 * F * 3 };
enum { MLP_IN = 1 + P + H };

/* ---- parameters: every tensor in one flat array, gradients mirror it ---- */
enum {
    TG, /* flow time GRU: w_ih, w_hh, b_ih, b_hh */
    TL = TG + 4,
    G1 = TL + 4, /* graph layers: w_p, b_p, w_l, b_l, w_r, ln_w, ln_b */
    G2 = G1 + 7,
    G3 = G2 + 7,
    RG = G3 + 7, /* flow rate GRU */
    RL = RG + 4,
    MLP = RL + 4, /* w1, b1, w2, b2 */
    NUM_TENSORS = MLP + 4
};
static int tensor_size[NUM_TENSORS], tensor_off[NUM_TENSORS + 1];

static void gru_sizes(int at, int C)
{
    tensor_size[at] = 3 * H * C, tensor_size[at + 1] = 3 * H * H;
    tensor_size[at + 2] = tensor_size[at + 3] = 3 * H;
}

static void graph_sizes(int at, int C, int OC)
{
    int s[7] = {C * C, C, OC * C, OC, OC * C, OC, OC};
    for (int k = 0; k < 7; k++) tensor_size[at + k] = s[k];
}

static void layout(void)
{
    gru_sizes(TG, 1), gru_sizes(TL, 1);
    graph_sizes(G1, H, G), graph_sizes(G2, G, G), graph_sizes(G3, G, H);
    gru_sizes(RG, H + P), gru_sizes(RL, H);
    tensor_size[MLP] = HD * MLP_IN, tensor_size[MLP + 1] = HD;
    tensor_size[MLP + 2] = HD, tensor_size[MLP + 3] = 1;
    tensor_off[0] = 0;
    for (int k = 0; k < NUM_TENSORS; k++) tensor_off[k + 1] = tensor_off[k] + tensor_size[k];
}

/* ---- the sequence's data: fixed per test, shared by both implementations ---- */
typedef struct step_data {
    int nf, nl, E, fidx[F], lidx[L], src[MAXE], dst[MAXE];
    float dt_f[F], dt_l[L], pathlen[F], target[F];
    unsigned char mask[F];
} step_data;
static step_data steps[T];
static float cfg[P]; /* the network-configuration vector p */

static void make_steps(m4_rng *rng)
{
    for (int k = 0; k < P; k++) cfg[k] = (float)m4_rng_uniform(rng);
    for (int t = 0; t < T; t++) {
        step_data *s = &steps[t];
        int perm_f[F], perm_l[L];
        for (int i = 0; i < F; i++) perm_f[i] = i;
        for (int i = 0; i < L; i++) perm_l[i] = i;
        for (int i = F - 1; i > 0; i--) {
            int j = (int)m4_rng_below(rng, (uint64_t)i + 1), x = perm_f[i];
            perm_f[i] = perm_f[j], perm_f[j] = x;
        }
        for (int i = L - 1; i > 0; i--) {
            int j = (int)m4_rng_below(rng, (uint64_t)i + 1), x = perm_l[i];
            perm_l[i] = perm_l[j], perm_l[j] = x;
        }
        /* Flow 6 and link 5 are never touched: their state gradient must be 0. */
        s->nf = 2 + (int)m4_rng_below(rng, F - 2);
        s->nl = 2 + (int)m4_rng_below(rng, L - 2);
        int nf = 0, nl = 0;
        for (int i = 0; i < F && nf < s->nf; i++)
            if (perm_f[i] != F - 1) s->fidx[nf++] = perm_f[i];
        for (int i = 0; i < L && nl < s->nl; i++)
            if (perm_l[i] != L - 1) s->lidx[nl++] = perm_l[i];
        s->nf = nf, s->nl = nl;
        /* Each flow but the last crosses 1-3 of the step's links; the last has no
         * edges (a flow alone), and links may end up with none. Rows are local:
         * flows 0..nf-1, links nf..nf+nl-1; edges go both ways. */
        s->E = 0;
        for (int i = 0; i < nf - 1; i++) {
            int used[L] = {0}, hops = 1 + (int)m4_rng_below(rng, 3);
            for (int h = 0; h < hops; h++) {
                int l = (int)m4_rng_below(rng, (uint64_t)nl);
                if (used[l]) continue;
                used[l] = 1;
                s->src[s->E] = i, s->dst[s->E++] = nf + l;
                s->src[s->E] = nf + l, s->dst[s->E++] = i;
            }
        }
        for (int i = 0; i < nf; i++) {
            s->dt_f[i] = (float)(m4_rng_uniform(rng) * 2);
            s->pathlen[i] = (float)(1 + m4_rng_below(rng, 4));
            /* Targets far from the predictions, so |y/target - 1| has no kink nearby. */
            s->target[i] = (float)(5 + 5 * m4_rng_uniform(rng));
            s->mask[i] = i != 1;
        }
        for (int i = 0; i < nl; i++) s->dt_l[i] = (float)(m4_rng_uniform(rng) * 2);
    }
}

/* ---- the float implementation under test: record per step, replay backward ---- */
typedef struct step_record {
    float *h, *z;            /* gathered states (nf,H), (nl,H) */
    float *x0;               /* [h1; z1] (N,H): the time GRUs write straight into it */
    float *tg_cache, *tl_cache;
    float *g[3], *g_cache[3]; /* graph outputs (N,G),(N,G),(N,H) and caches */
    float *rin;              /* [g3_flows, p] (nf,H+P) */
    float *h2, *z2, *rg_cache, *rl_cache;
    float *mlp_a, *mlp_in, *hidden, *y; /* [pathlen, p] (nf,1+P), (nf,MLP_IN), (nf,HD), (nf,1) */
} step_record;

static const float *tensor_c(const float *params, int k) { return params + tensor_off[k]; }
static float *tensor(float *params, int k) { return params + tensor_off[k]; }

static m4_nn_graph_weights graph_w(float *params, int at)
{
    return (m4_nn_graph_weights){tensor(params, at),     tensor(params, at + 1), tensor(params, at + 2),
                                 tensor(params, at + 3), tensor(params, at + 4), tensor(params, at + 5),
                                 tensor(params, at + 6)};
}

static float *need(m4_nn_arena *a, size_t n)
{
    float *p = m4_nn_arena_alloc(a, n);
    if (!p) {
        fprintf(stderr, "arena out of memory\n");
        exit(1);
    }
    return p;
}

static float step_forward(step_record *r, m4_nn_arena *tape, m4_nn_arena *scratch,
                          float *hstate, float *zstate, float *params, const step_data *s)
{
    int nf = s->nf, nl = s->nl, N = nf + nl;
    const int dims_in[3] = {H, G, G}, dims_out[3] = {G, G, H};
    m4_nn_arena_reset(scratch);
    float *gs = need(scratch, (size_t)N * 6 * (H + P + G)); /* GRU forward scratch */
    r->h = need(tape, (size_t)nf * H), r->z = need(tape, (size_t)nl * H);
    for (int i = 0; i < nf; i++) memcpy(r->h + i * H, hstate + s->fidx[i] * H, H * sizeof(float));
    for (int i = 0; i < nl; i++) memcpy(r->z + i * H, zstate + s->lidx[i] * H, H * sizeof(float));
    r->x0 = need(tape, (size_t)N * H);
    r->tg_cache = need(tape, (size_t)nf * 4 * H), r->tl_cache = need(tape, (size_t)nl * 4 * H);
    m4_nn_gru_forward(r->x0, r->tg_cache, gs, s->dt_f, r->h, tensor_c(params, TG), tensor_c(params, TG + 1),
                      tensor_c(params, TG + 2), tensor_c(params, TG + 3), nf, 1, H);
    m4_nn_gru_forward(r->x0 + nf * H, r->tl_cache, gs, s->dt_l, r->z, tensor_c(params, TL),
                      tensor_c(params, TL + 1), tensor_c(params, TL + 2), tensor_c(params, TL + 3), nl, 1, H);
    const float *in = r->x0;
    for (int k = 0; k < 3; k++) {
        m4_nn_graph_weights w = graph_w(params, G1 + 7 * k);
        r->g[k] = need(tape, (size_t)N * dims_out[k]);
        r->g_cache[k] = need(tape, m4_nn_graph_cache_floats(N, dims_in[k], dims_out[k]));
        m4_nn_graph_forward(r->g[k], r->g_cache[k], in, s->src, s->dst, s->E, &w, N, dims_in[k],
                            dims_out[k]);
        in = r->g[k];
    }
    float *pf = need(scratch, (size_t)nf * P);
    for (int i = 0; i < nf; i++) memcpy(pf + i * P, cfg, sizeof cfg);
    r->rin = need(tape, (size_t)nf * (H + P));
    m4_nn_concat_forward(r->rin, r->g[2], pf, nf, H, P);
    r->h2 = need(tape, (size_t)nf * H), r->z2 = need(tape, (size_t)nl * H);
    r->rg_cache = need(tape, (size_t)nf * 4 * H), r->rl_cache = need(tape, (size_t)nl * 4 * H);
    m4_nn_gru_forward(r->h2, r->rg_cache, gs, r->rin, r->x0, tensor_c(params, RG), tensor_c(params, RG + 1),
                      tensor_c(params, RG + 2), tensor_c(params, RG + 3), nf, H + P, H);
    m4_nn_gru_forward(r->z2, r->rl_cache, gs, r->g[2] + nf * H, r->x0 + nf * H, tensor_c(params, RL),
                      tensor_c(params, RL + 1), tensor_c(params, RL + 2), tensor_c(params, RL + 3), nl, H, H);
    r->mlp_a = need(tape, (size_t)nf * (1 + P)), r->mlp_in = need(tape, (size_t)nf * MLP_IN);
    m4_nn_concat_forward(r->mlp_a, s->pathlen, pf, nf, 1, P);
    m4_nn_concat_forward(r->mlp_in, r->mlp_a, r->h2, nf, 1 + P, H);
    r->hidden = need(tape, (size_t)nf * HD), r->y = need(tape, (size_t)nf);
    m4_nn_mlp2_forward(r->y, r->hidden, r->mlp_in, tensor_c(params, MLP), tensor_c(params, MLP + 1),
                       tensor_c(params, MLP + 2), tensor_c(params, MLP + 3), nf, MLP_IN, HD, 1);
    for (int i = 0; i < nf; i++) memcpy(hstate + s->fidx[i] * H, r->h2 + i * H, H * sizeof(float));
    for (int i = 0; i < nl; i++) memcpy(zstate + s->lidx[i] * H, r->z2 + i * H, H * sizeof(float));
    return m4_nn_rel_l1_forward(r->y, s->target, s->mask, nf);
}

/* dh, dz: gradient w.r.t. the persistent states after this step on entry,
 * before it on return. Scratch only: nothing here outlives the call. */
static void step_backward(float *grads, float *dh, float *dz, m4_nn_arena *scratch,
                          const step_record *r, float *params, const step_data *s)
{
    int nf = s->nf, nl = s->nl, N = nf + nl;
    const int dims_in[3] = {H, G, G}, dims_out[3] = {G, G, H};
    m4_nn_arena_reset(scratch);
    float *gs = need(scratch, (size_t)N * 6 * (H + P + G));
    float *dy = m4_nn_arena_zalloc(scratch, (size_t)nf);
    m4_nn_rel_l1_backward(dy, r->y, s->target, s->mask, nf, 1.0f);
    float *dmlp_in = m4_nn_arena_zalloc(scratch, (size_t)nf * MLP_IN);
    m4_nn_mlp2_backward(dmlp_in, tensor(grads, MLP), tensor(grads, MLP + 1), tensor(grads, MLP + 2),
                        tensor(grads, MLP + 3), gs, dy, r->hidden, r->mlp_in, tensor_c(params, MLP),
                        tensor_c(params, MLP + 2), nf, MLP_IN, HD, 1);
    /* The outputs' gradient: from later steps (through the state) plus the MLP. */
    float *dh2 = need(scratch, (size_t)nf * H), *dz2 = need(scratch, (size_t)nl * H);
    for (int i = 0; i < nf; i++) memcpy(dh2 + i * H, dh + s->fidx[i] * H, H * sizeof(float));
    for (int i = 0; i < nl; i++) memcpy(dz2 + i * H, dz + s->lidx[i] * H, H * sizeof(float));
    float *dmlp_a = m4_nn_arena_zalloc(scratch, (size_t)nf * (1 + P));
    m4_nn_concat_backward(dmlp_a, dh2, dmlp_in, nf, 1 + P, H);
    float *dx0 = m4_nn_arena_zalloc(scratch, (size_t)N * H);
    float *drin = m4_nn_arena_zalloc(scratch, (size_t)nf * (H + P));
    float *dg[3];
    for (int k = 0; k < 3; k++) dg[k] = m4_nn_arena_zalloc(scratch, (size_t)N * dims_out[k]);
    m4_nn_gru_backward(drin, dx0, tensor(grads, RG), tensor(grads, RG + 1), tensor(grads, RG + 2),
                       tensor(grads, RG + 3), gs, dh2, r->rg_cache, r->rin, r->x0, tensor_c(params, RG),
                       tensor_c(params, RG + 1), nf, H + P, H);
    m4_nn_gru_backward(dg[2] + nf * H, dx0 + nf * H, tensor(grads, RL), tensor(grads, RL + 1),
                       tensor(grads, RL + 2), tensor(grads, RL + 3), gs, dz2, r->rl_cache, r->g[2] + nf * H,
                       r->x0 + nf * H, tensor_c(params, RL), tensor_c(params, RL + 1), nl, H, H);
    float *dpf = m4_nn_arena_zalloc(scratch, (size_t)nf * P);
    m4_nn_concat_backward(dg[2], dpf, drin, nf, H, P);
    for (int k = 2; k >= 0; k--) {
        m4_nn_graph_weights w = graph_w(params, G1 + 7 * k), gw = graph_w(grads, G1 + 7 * k);
        float *gscr = need(scratch, m4_nn_graph_scratch_floats(N, dims_in[k], dims_out[k]));
        const float *in = k ? r->g[k - 1] : r->x0;
        m4_nn_graph_backward(k ? dg[k - 1] : dx0, &gw, gscr, dg[k], r->g_cache[k], in, s->src,
                             s->dst, s->E, &w, N, dims_in[k], dims_out[k]);
    }
    float *dhin = m4_nn_arena_zalloc(scratch, (size_t)nf * H);
    float *dzin = m4_nn_arena_zalloc(scratch, (size_t)nl * H);
    m4_nn_gru_backward(NULL, dhin, tensor(grads, TG), tensor(grads, TG + 1), tensor(grads, TG + 2),
                       tensor(grads, TG + 3), gs, dx0, r->tg_cache, s->dt_f, r->h, tensor_c(params, TG),
                       tensor_c(params, TG + 1), nf, 1, H);
    m4_nn_gru_backward(NULL, dzin, tensor(grads, TL), tensor(grads, TL + 1), tensor(grads, TL + 2),
                       tensor(grads, TL + 3), gs, dx0 + nf * H, r->tl_cache, s->dt_l, r->z,
                       tensor_c(params, TL), tensor_c(params, TL + 1), nl, 1, H);
    /* The step overwrote these rows, so before it their gradient is only what
     * flows through its inputs. */
    for (int i = 0; i < nf; i++) memcpy(dh + s->fidx[i] * H, dhin + i * H, H * sizeof(float));
    for (int i = 0; i < nl; i++) memcpy(dz + s->lidx[i] * H, dzin + i * H, H * sizeof(float));
}

/* Forward over all steps, then backward in reverse. Returns the loss. */
static float run_sequence(float *grads, float *dh0, float *dz0, m4_nn_arena *tape,
                          m4_nn_arena *scratch, const float *h0, const float *z0, float *params)
{
    static float hstate[F * H], zstate[L * H];
    memcpy(hstate, h0, sizeof hstate), memcpy(zstate, z0, sizeof zstate);
    step_record rec[T];
    m4_nn_arena_reset(tape);
    float loss = 0;
    for (int t = 0; t < T; t++)
        loss += step_forward(&rec[t], tape, scratch, hstate, zstate, params, &steps[t]);
    memset(grads, 0, sizeof(float) * (size_t)tensor_off[NUM_TENSORS]);
    memset(dh0, 0, sizeof hstate), memset(dz0, 0, sizeof zstate);
    for (int t = T - 1; t >= 0; t--) step_backward(grads, dh0, dz0, scratch, &rec[t], params, &steps[t]);
    m4_nn_arena_reset(tape); /* the recorded sequence is spent */
    return loss;
}

/* ---- the independent double-precision forward ---- */
static double min_kink; /* smallest |pre-activation| of any ReLU, and |y/target - 1| */

static void note_kink(double v)
{
    if (fabs(v) < min_kink) min_kink = fabs(v);
}

static double sigm(double v) { return 1 / (1 + exp(-v)); }

static void d_gru(double *hout, const double *x, const double *h, const double *wi,
                  const double *wh, const double *bi, const double *bh, int N, int C)
{
    for (int i = 0; i < N; i++)
        for (int k = 0; k < H; k++) {
            double a[3], b[3];
            for (int q = 0; q < 3; q++) {
                int row = q * H + k;
                a[q] = bi[row], b[q] = bh[row];
                for (int c = 0; c < C; c++) a[q] += wi[row * C + c] * x[i * C + c];
                for (int c = 0; c < H; c++) b[q] += wh[row * H + c] * h[i * H + c];
            }
            double r = sigm(a[0] + b[0]), z = sigm(a[1] + b[1]), n = tanh(a[2] + r * b[2]);
            hout[i * H + k] = (1 - z) * n + z * h[i * H + k];
        }
}

static void d_graph(double *out, const double *x, const step_data *s, const double *const *w,
                    int N, int C, int OC)
{
    double msg[MAXN][G] = {{0}}, agg[MAXN][G] = {{0}};
    for (int j = 0; j < N; j++)
        for (int c = 0; c < C; c++) {
            double v = w[1][c];
            for (int k = 0; k < C; k++) v += w[0][c * C + k] * x[j * C + k];
            note_kink(v);
            msg[j][c] = v > 0 ? v : 0;
        }
    for (int e = 0; e < s->E; e++)
        for (int c = 0; c < C; c++) agg[s->dst[e]][c] += msg[s->src[e]][c];
    for (int i = 0; i < N; i++) {
        double pre[G], mean = 0, var = 0;
        for (int o = 0; o < OC; o++) {
            pre[o] = w[3][o];
            for (int c = 0; c < C; c++)
                pre[o] += w[2][o * C + c] * agg[i][c] + w[4][o * C + c] * x[i * C + c];
            mean += pre[o] / OC;
        }
        for (int o = 0; o < OC; o++) var += (pre[o] - mean) * (pre[o] - mean) / OC;
        for (int o = 0; o < OC; o++)
            out[i * OC + o] = (pre[o] - mean) / sqrt(var + 1e-5) * w[5][o] + w[6][o];
    }
}

static double d_sequence(const double *dp, const double *h0, const double *z0)
{
    double hs[F * H], zs[L * H], loss = 0;
    memcpy(hs, h0, sizeof hs), memcpy(zs, z0, sizeof zs);
    const double *W[NUM_TENSORS];
    for (int k = 0; k < NUM_TENSORS; k++) W[k] = dp + tensor_off[k];
    min_kink = 1e300;
    for (int t = 0; t < T; t++) {
        const step_data *s = &steps[t];
        int nf = s->nf, nl = s->nl, N = nf + nl;
        double h[F * H], z[L * H], x0[MAXN * H], dtf[F], dtl[L];
        for (int i = 0; i < nf; i++) memcpy(h + i * H, hs + s->fidx[i] * H, H * sizeof(double));
        for (int i = 0; i < nl; i++) memcpy(z + i * H, zs + s->lidx[i] * H, H * sizeof(double));
        for (int i = 0; i < nf; i++) dtf[i] = s->dt_f[i];
        for (int i = 0; i < nl; i++) dtl[i] = s->dt_l[i];
        d_gru(x0, dtf, h, W[TG], W[TG + 1], W[TG + 2], W[TG + 3], nf, 1);
        d_gru(x0 + nf * H, dtl, z, W[TL], W[TL + 1], W[TL + 2], W[TL + 3], nl, 1);
        double g1[MAXN * G], g2[MAXN * G], g3[MAXN * H];
        d_graph(g1, x0, s, W + G1, N, H, G);
        d_graph(g2, g1, s, W + G2, N, G, G);
        d_graph(g3, g2, s, W + G3, N, G, H);
        double rin[F * (H + P)], h2[F * H], z2[L * H];
        for (int i = 0; i < nf; i++) {
            for (int c = 0; c < H; c++) rin[i * (H + P) + c] = g3[i * H + c];
            for (int c = 0; c < P; c++) rin[i * (H + P) + H + c] = cfg[c];
        }
        d_gru(h2, rin, x0, W[RG], W[RG + 1], W[RG + 2], W[RG + 3], nf, H + P);
        d_gru(z2, g3 + nf * H, x0 + nf * H, W[RL], W[RL + 1], W[RL + 2], W[RL + 3], nl, H);
        double sum = 0;
        int present = 0;
        for (int i = 0; i < nf; i++) {
            double in[MLP_IN], y = W[MLP + 3][0];
            in[0] = s->pathlen[i];
            for (int c = 0; c < P; c++) in[1 + c] = cfg[c];
            for (int c = 0; c < H; c++) in[1 + P + c] = h2[i * H + c];
            for (int j = 0; j < HD; j++) {
                double v = W[MLP + 1][j];
                for (int c = 0; c < MLP_IN; c++) v += W[MLP][j * MLP_IN + c] * in[c];
                note_kink(v);
                y += W[MLP + 2][j] * (v > 0 ? v : 0);
            }
            if (s->mask[i]) {
                note_kink(y / s->target[i] - 1);
                sum += fabs(y / s->target[i] - 1), present++;
            }
        }
        loss += sum / present;
        for (int i = 0; i < nf; i++) memcpy(hs + s->fidx[i] * H, h2 + i * H, H * sizeof(double));
        for (int i = 0; i < nl; i++) memcpy(zs + s->lidx[i] * H, z2 + i * H, H * sizeof(double));
    }
    return loss;
}

static void fill(m4_rng *rng, float *a, int n, double lo, double hi)
{
    for (int i = 0; i < n; i++) a[i] = (float)(lo + (hi - lo) * m4_rng_uniform(rng));
}

/* d loss / d x by central differences of the double reference, x being one
 * entry of its parameters or initial states. */
static double central_difference(double *x, const double *dparams, double *dh, double *dz)
{
    double keep = *x;
    *x = keep + FD_STEP;
    double lp = d_sequence(dparams, dh, dz);
    *x = keep - FD_STEP;
    double lm = d_sequence(dparams, dh, dz);
    *x = keep;
    return (lp - lm) / (2 * FD_STEP);
}

static void test_sequence_gradients(void)
{
    layout();
    int NP = tensor_off[NUM_TENSORS];
    float *params = malloc(sizeof(float) * NP), *grads = malloc(sizeof(float) * NP);
    double *dparams = malloc(sizeof(double) * NP);
    float h0[F * H], z0[L * H], dh0[F * H], dz0[L * H];
    double dh[F * H], dz[L * H];
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed());
    make_steps(&rng);
    /* Redraw until no ReLU or |.| kink lies within 1e-4 of the base point (a
     * +-1e-6 difference can then never straddle one) and the loss depends on
     * the initial flow states at all (by the reference's own differences; a
     * draw whose MLP ReLUs are all off has none, and the zero-row check below
     * would then prove nothing). */
    int tries = 0;
    double ref_signal = 0;
    do {
        for (int k = 0; k < NUM_TENSORS; k++)
            fill(&rng, params + tensor_off[k], tensor_size[k], -0.7, 0.7);
        for (int at = G1; at <= G3; at += 7) fill(&rng, params + tensor_off[at + 5], tensor_size[at + 5], 0.7, 1.3);
        fill(&rng, h0, F * H, -1, 1), fill(&rng, z0, L * H, -1, 1);
        for (int k = 0; k < NP; k++) dparams[k] = params[k];
        for (int k = 0; k < F * H; k++) dh[k] = h0[k];
        for (int k = 0; k < L * H; k++) dz[k] = z0[k];
        d_sequence(dparams, dh, dz);
        double kink = min_kink;
        ref_signal = 0;
        for (int k = 0; k < F * H && kink >= 1e-4; k++) {
            ref_signal += fabs(central_difference(&dh[k], dparams, dh, dz));
        }
        min_kink = kink;
    } while ((min_kink < 1e-4 || ref_signal < 1e-2) && ++tries < 100);
    CHECK(min_kink >= 1e-4);
    CHECK(ref_signal >= 1e-2);

    m4_nn_arena tape, scratch;
    m4_nn_arena_init(&tape, 4096), m4_nn_arena_init(&scratch, 4096);
    float loss = run_sequence(grads, dh0, dz0, &tape, &scratch, h0, z0, params);
    double want = d_sequence(dparams, dh, dz);
    CHECK_NEAR(loss, want, 1e-5 * fabs(want) + 1e-6);

    /* Finite differences: 5 entries of every tensor (all of the small ones),
     * then every entry of both initial states. */
    int checked = 0, zero_rows_ok = 1;
    for (int k = 0; k < NUM_TENSORS; k++)
        for (int j = 0; j < 5 && j < tensor_size[k]; j++) {
            int at = tensor_off[k] + (tensor_size[k] <= 5 ? j : (int)m4_rng_below(&rng, (uint64_t)tensor_size[k]));
            double fd = central_difference(&dparams[at], dparams, dh, dz);
            if (fabs(grads[at] - fd) > 1e-5 + 1e-4 * fabs(fd))
                fprintf(stderr, "  tensor %d entry %d: backward %.8g, differences %.8g\n", k,
                        at - tensor_off[k], grads[at], fd);
            CHECK_NEAR(grads[at], fd, 1e-5 + 1e-4 * fabs(fd));
            checked++;
        }
    double *states[2] = {dh, dz};
    float *sgrad[2] = {dh0, dz0};
    int ssize[2] = {F * H, L * H};
    for (int q = 0; q < 2; q++)
        for (int at = 0; at < ssize[q]; at++) {
            double fd = central_difference(&states[q][at], dparams, dh, dz);
            CHECK_NEAR(sgrad[q][at], fd, 1e-5 + 1e-4 * fabs(fd));
            checked++;
        }
    /* The never-touched flow F-1 and link L-1: exactly zero, and a real signal elsewhere. */
    for (int c = 0; c < H; c++) zero_rows_ok &= dh0[(F - 1) * H + c] == 0 && dz0[(L - 1) * H + c] == 0;
    CHECK(zero_rows_ok);
    double signal = 0;
    for (int k = 0; k < F * H; k++) signal += fabs(dh0[k]);
    CHECK(signal > 1e-3);
    CHECK(checked > 150);

    /* Replaying the same sequence after the reset reuses the arena's memory
     * (no new chunks) and gives the same gradients bit for bit. */
    float *grads2 = malloc(sizeof(float) * NP);
    int chunks = 0;
    for (m4_nn_arena_chunk *c = tape.head; c; c = c->next) chunks++;
    size_t peak = tape.peak_floats;
    run_sequence(grads2, dh0, dz0, &tape, &scratch, h0, z0, params);
    int chunks2 = 0;
    for (m4_nn_arena_chunk *c = tape.head; c; c = c->next) chunks2++;
    CHECK_INT_EQ(chunks2, chunks);
    CHECK_INT_EQ(tape.peak_floats, peak);
    CHECK(memcmp(grads, grads2, sizeof(float) * NP) == 0);
    m4_nn_arena_free(&tape), m4_nn_arena_free(&scratch);
    free(params), free(grads), free(grads2), free(dparams);
}

M4_TEST_MAIN(M4_TEST(test_sequence_gradients))
