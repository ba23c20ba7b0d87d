/* Gradient checks for src/nn/layers.c: the float backward is compared with
 * central differences (step 1e-6) of an independent double-precision forward
 * of L = sum(g * layer(x)) for a random g. Differences of a double forward
 * are accurate to ~1e-9, so the tolerance (1e-4 relative + 1e-5 absolute)
 * only has to absorb float rounding in the code under test. */
#include "core/rng.h"
#include "nn/layers.h"
#include "testlib.h"

#define FD_STEP 1e-6

static void fill(m4_rng *rng, float *a, int n, double scale)
{
    for (int i = 0; i < n; i++) a[i] = (float)((m4_rng_uniform(rng) * 2.0 - 1.0) * scale);
}

/* Double-precision linear L = sum g * (x W^T + b). */
static double linear_loss_ref(const float *x, const float *w, const float *b, const float *g,
                              int N, int C, int OC, const double *px, const double *pw,
                              const double *pb)
{
    (void)x, (void)w, (void)b;
    double L = 0;
    for (int i = 0; i < N; i++)
        for (int o = 0; o < OC; o++) {
            double s = pb ? pb[o] : 0;
            for (int c = 0; c < C; c++) s += px[i * C + c] * pw[o * C + c];
            L += g[i * OC + o] * s;
        }
    return L;
}

static void test_linear_gradients(void)
{
    enum { N = 5, C = 7, OC = 4 };
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed());
    float x[N * C], w[OC * C], b[OC], g[N * OC], out[N * OC];
    fill(&rng, x, N * C, 1.0), fill(&rng, w, OC * C, 0.5), fill(&rng, b, OC, 0.5);
    fill(&rng, g, N * OC, 1.0);
    double px[N * C], pw[OC * C], pb[OC];
    for (int i = 0; i < N * C; i++) px[i] = x[i];
    for (int i = 0; i < OC * C; i++) pw[i] = w[i];
    for (int i = 0; i < OC; i++) pb[i] = b[i];

    /* Forward, as stored and with the weights transposed (inference). */
    float wt[C * OC];
    m4_nn_transpose(wt, w, OC, C);
    for (int transposed = 0; transposed < 2; transposed++) {
        if (transposed) m4_nn_linear_forward_wt(out, x, wt, b, N, C, OC);
        else m4_nn_linear_forward(out, x, w, b, N, C, OC);
        for (int i = 0; i < N; i++)
            for (int o = 0; o < OC; o++) {
                double s = pb[o];
                for (int c = 0; c < C; c++) s += px[i * C + c] * pw[o * C + c];
                CHECK_NEAR(out[i * OC + o], s, 1e-5);
            }
    }

    float dx[N * C] = {0}, dw[OC * C] = {0}, db[OC] = {0};
    m4_nn_linear_backward(dx, dw, db, g, x, w, N, C, OC);
    double *params[3] = {px, pw, pb};
    float *grads[3] = {dx, dw, db};
    int sizes[3] = {N * C, OC * C, OC};
    for (int p = 0; p < 3; p++)
        for (int k = 0; k < sizes[p]; k++) {
            double keep = params[p][k];
            params[p][k] = keep + FD_STEP;
            double lp = linear_loss_ref(x, w, b, g, N, C, OC, px, pw, pb);
            params[p][k] = keep - FD_STEP;
            double lm = linear_loss_ref(x, w, b, g, N, C, OC, px, pw, pb);
            params[p][k] = keep;
            double fd = (lp - lm) / (2 * FD_STEP);
            CHECK_NEAR(grads[p][k], fd, 1e-5 + 1e-4 * fabs(fd));
        }

    /* Backward accumulates: a second call doubles every gradient. */
    float dw2[OC * C];
    for (int k = 0; k < OC * C; k++) dw2[k] = dw[k];
    m4_nn_linear_backward(NULL, dw, NULL, g, x, w, N, C, OC);
    for (int k = 0; k < OC * C; k++) CHECK_NEAR(dw[k], 2 * dw2[k], 1e-5);
}

typedef double (*act_ref)(double);
static double ref_relu(double v) { return v > 0 ? v : 0; }
static double ref_sigmoid(double v) { return 1 / (1 + exp(-v)); }
static double ref_tanh(double v) { return tanh(v); }

static void test_activation_gradients(void)
{
    enum { n = 40 };
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed() + 1);
    float x[n], g[n], out[n];
    fill(&rng, x, n, 3.0), fill(&rng, g, n, 1.0);
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) < 1e-3f) x[i] = 0.5f; /* keep away from the ReLU kink */
    void (*fwd[3])(float *, const float *, int) = {m4_nn_relu_forward, m4_nn_sigmoid_forward,
                                                   m4_nn_tanh_forward};
    void (*bwd[3])(float *, const float *, const float *, int) = {
        m4_nn_relu_backward, m4_nn_sigmoid_backward, m4_nn_tanh_backward};
    act_ref ref[3] = {ref_relu, ref_sigmoid, ref_tanh};
    for (int a = 0; a < 3; a++) {
        float dx[n] = {0};
        fwd[a](out, x, n);
        bwd[a](dx, g, out, n);
        for (int i = 0; i < n; i++) {
            CHECK_NEAR(out[i], ref[a](x[i]), 1e-6);
            double fd = g[i] * (ref[a](x[i] + FD_STEP) - ref[a](x[i] - FD_STEP)) / (2 * FD_STEP);
            CHECK_NEAR(dx[i], fd, 1e-5 + 1e-4 * fabs(fd));
        }
    }
}


/* Independent double GRU (PyTorch gate order r, z, n): L = sum g * hout. */
static double gru_loss_ref(double *const P[6], const float *g, int N, int C, int H)
{
    const double *x = P[0], *h = P[1], *wi = P[2], *wh = P[3], *bi = P[4], *bh = P[5];
    double L = 0;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < H; k++) {
            double a[3], b[3];
            for (int q = 0; q < 3; q++) {
                int row = q * H + k;
                a[q] = bi[row], b[q] = bh[row];
                for (int c = 0; c < C; c++) a[q] += wi[row * C + c] * x[i * C + c];
                for (int c = 0; c < H; c++) b[q] += wh[row * H + c] * h[i * H + c];
            }
            double r = 1 / (1 + exp(-(a[0] + b[0]))), z = 1 / (1 + exp(-(a[1] + b[1])));
            double n = tanh(a[2] + r * b[2]);
            L += g[i * H + k] * ((1 - z) * n + z * h[i * H + k]);
        }
    return L;
}

static void test_gru_gradients(void)
{
    enum { N = 4, C = 3, H = 5 };
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed() + 2);
    int sizes[6] = {N * C, N * H, 3 * H * C, 3 * H * H, 3 * H, 3 * H};
    float f[6][3 * H * H];
    double d[6][3 * H * H];
    float grad[6][3 * H * H];
    double *P[6];
    for (int p = 0; p < 6; p++) {
        fill(&rng, f[p], sizes[p], 1.0);
        for (int k = 0; k < sizes[p]; k++) d[p][k] = f[p][k], grad[p][k] = 0;
        P[p] = d[p];
    }
    float g[N * H], hout[N * H], cache[N * 4 * H], scratch[N * 6 * H];
    fill(&rng, g, N * H, 1.0);
    m4_nn_gru_forward(hout, cache, scratch, f[0], f[1], f[2], f[3], f[4], f[5], N, C, H);
    double L = 0;
    for (int k = 0; k < N * H; k++) L += g[k] * hout[k];
    CHECK_NEAR(L, gru_loss_ref(P, g, N, C, H), 1e-5);
    m4_nn_gru_backward(grad[0], grad[1], grad[2], grad[3], grad[4], grad[5], scratch, g, cache,
                       f[0], f[1], f[2], f[3], N, C, H);
    for (int p = 0; p < 6; p++)
        for (int k = 0; k < sizes[p]; k++) {
            double keep = d[p][k];
            d[p][k] = keep + FD_STEP;
            double lp = gru_loss_ref(P, g, N, C, H);
            d[p][k] = keep - FD_STEP;
            double lm = gru_loss_ref(P, g, N, C, H);
            d[p][k] = keep;
            double fd = (lp - lm) / (2 * FD_STEP);
            CHECK_NEAR(grad[p][k], fd, 1e-5 + 1e-4 * fabs(fd));
        }
}

/* The transposed-weight forwards (inference; the linear one is checked with
 * the gradients above) against the double reference, on a shape where a
 * wrong transpose or leading dimension shows. */
static void test_transposed_forwards(void)
{
    float a[6] = {1, 2, 3, 4, 5, 6}, at[6];
    m4_nn_transpose(at, a, 2, 3);
    const float want[6] = {1, 4, 2, 5, 3, 6};
    for (int k = 0; k < 6; k++) CHECK(at[k] == want[k]);

    /* The GRU with both weight matrices transposed. */
    enum { N = 5, C = 7, H = 6 };
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed() + 7);
    int sizes[6] = {N * C, N * H, 3 * H * C, 3 * H * H, 3 * H, 3 * H};
    /* C > H: the largest tensor is w_ih (3H,C). */
    static float f[6][3 * H * C], wih_t[3 * H * C], whh_t[3 * H * H];
    static double d[6][3 * H * C];
    double *P[6];
    for (int p = 0; p < 6; p++) {
        fill(&rng, f[p], sizes[p], 1.0);
        for (int k = 0; k < sizes[p]; k++) d[p][k] = f[p][k];
        P[p] = d[p];
    }
    float gh[N * H], hout[N * H], cache[N * 4 * H], scratch[N * 6 * H];
    fill(&rng, gh, N * H, 1.0);
    m4_nn_transpose(wih_t, f[2], 3 * H, C);
    m4_nn_transpose(whh_t, f[3], 3 * H, H);
    m4_nn_gru_forward_wt(hout, cache, scratch, f[0], f[1], wih_t, whh_t, f[4], f[5], N, C, H);
    double Lg = 0;
    for (int k = 0; k < N * H; k++) Lg += gh[k] * hout[k];
    CHECK_NEAR(Lg, gru_loss_ref(P, gh, N, C, H), 1e-5);
}

/* Known answer, C = H = 1, all weights 0.5 and biases 0, x = 1, h = 1:
 * r = z = sig(1) = 0.7310585786, n = tanh(0.5 + 0.7310585786*0.5) = tanh(0.8655292893)
 * = 0.6990955480, hout = (1 - z)*n + z*1 = 0.2689414214*0.6990955480 + 0.7310585786 = 0.9190743290. */
static void test_gru_known_answer(void)
{
    float x = 1, h = 1, wi[3] = {0.5f, 0.5f, 0.5f}, wh[3] = {0.5f, 0.5f, 0.5f};
    float bi[3] = {0}, bh[3] = {0}, hout, cache[4], scratch[6];
    m4_nn_gru_forward(&hout, cache, scratch, &x, &h, wi, wh, bi, bh, 1, 1, 1);
    CHECK_NEAR(cache[0], 0.7310585786, 1e-6);
    CHECK_NEAR(cache[2], 0.6990955480, 1e-6);
    CHECK_NEAR(hout, 0.9190743290, 1e-6);
}


static double layernorm_loss_ref(double *const P[3], const float *g, int N, int C)
{
    double L = 0;
    for (int i = 0; i < N; i++) {
        double m = 0, v = 0;
        for (int c = 0; c < C; c++) m += P[0][i * C + c] / C;
        for (int c = 0; c < C; c++) v += (P[0][i * C + c] - m) * (P[0][i * C + c] - m) / C;
        for (int c = 0; c < C; c++)
            L += g[i * C + c] * ((P[0][i * C + c] - m) / sqrt(v + 1e-5) * P[1][c] + P[2][c]);
    }
    return L;
}

static void test_layernorm_gradients(void)
{
    enum { N = 3, C = 6 };
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed() + 3);
    int sizes[3] = {N * C, C, C};
    float f[3][N * C], grad[3][N * C] = {{0}}, g[N * C], out[N * C], mean[N], rstd[N];
    double d[3][N * C], *P[3];
    for (int p = 0; p < 3; p++) {
        fill(&rng, f[p], sizes[p], 1.0);
        for (int k = 0; k < sizes[p]; k++) d[p][k] = f[p][k];
        P[p] = d[p];
    }
    fill(&rng, g, N * C, 1.0);
    m4_nn_layernorm_forward(out, mean, rstd, f[0], f[1], f[2], N, C);
    double L = 0;
    for (int k = 0; k < N * C; k++) L += g[k] * out[k];
    CHECK_NEAR(L, layernorm_loss_ref(P, g, N, C), 1e-5);
    m4_nn_layernorm_backward(grad[0], grad[1], grad[2], g, f[0], f[1], mean, rstd, N, C);
    for (int p = 0; p < 3; p++)
        for (int k = 0; k < sizes[p]; k++) {
            double keep = d[p][k];
            d[p][k] = keep + FD_STEP;
            double lp = layernorm_loss_ref(P, g, N, C);
            d[p][k] = keep - FD_STEP;
            double lm = layernorm_loss_ref(P, g, N, C);
            d[p][k] = keep;
            double fd = (lp - lm) / (2 * FD_STEP);
            CHECK_NEAR(grad[p][k], fd, 1e-4 + 1e-4 * fabs(fd));
        }
}

/* Known answer: x = (1, 2, 3, 4): mean 2.5, variance 1.25, rstd = 1/sqrt(1.25 + 1e-5);
 * with weight 2 and bias 1, out[0] = -1.5 * 2 / sqrt(1.25001) + 1 = -1.6832708. */
static void test_layernorm_known_answer(void)
{
    float x[4] = {1, 2, 3, 4}, w[4] = {2, 2, 2, 2}, b[4] = {1, 1, 1, 1}, out[4], mean, rstd;
    m4_nn_layernorm_forward(out, &mean, &rstd, x, w, b, 1, 4);
    CHECK_NEAR(mean, 2.5, 1e-7);
    CHECK_NEAR(out[0], -1.6832708, 2e-6);
    CHECK_NEAR(out[3], 3.6832708, 2e-6);
    CHECK_NEAR(out[1] + out[2], 2.0, 1e-6);
}


/* Gather then scatter-add are adjoint: <scatter(u), v> == <u, gather(v)>, and hand-checked sums. */
static void test_gather_scatter(void)
{
    float table[3 * 2] = {1, 2, 3, 4, 5, 6}, rows[4 * 2], acc[3 * 2] = {0}, back[4 * 2] = {0};
    int index[4] = {2, 0, 2, 1};
    m4_nn_gather_forward(rows, table, index, 4, 2);
    CHECK_NEAR(rows[0], 5, 0); CHECK_NEAR(rows[3], 2, 0); CHECK_NEAR(rows[7], 4, 0);
    m4_nn_scatter_add_forward(acc, rows, index, 4, 2);
    CHECK_NEAR(acc[4], 10, 0); CHECK_NEAR(acc[5], 12, 0); CHECK_NEAR(acc[0], 1, 0);
    m4_nn_scatter_add_backward(back, acc, index, 4, 2);
    CHECK_NEAR(back[0], 10, 0); CHECK_NEAR(back[2], 1, 0); CHECK_NEAR(back[6], 3, 0);
}

/* Hand-computed: pred (2, 3, 9), target (1, 4, 1), mask (1, 1, 0):
 * rel L1 = (|2-1| + |0.75-1|)/2 = 0.625, gradients (1/2, -1/(4*2), 0);
 * L1 = (1 + 1)/2 = 1, gradients (0.5, -0.5, 0). */
static void test_losses_masked(void)
{
    float pred[3] = {2, 3, 9}, target[3] = {1, 4, 1}, d[3] = {0}, e[3] = {0};
    unsigned char mask[3] = {1, 1, 0};
    CHECK_NEAR(m4_nn_rel_l1_forward(pred, target, mask, 3), 0.625, 1e-7);
    m4_nn_rel_l1_backward(d, pred, target, mask, 3, 1.0f);
    CHECK_NEAR(d[0], 0.5, 1e-7); CHECK_NEAR(d[1], -0.125, 1e-7); CHECK_NEAR(d[2], 0, 0);
    CHECK_NEAR(m4_nn_l1_forward(pred, target, mask, 3), 1.0, 1e-7);
    m4_nn_l1_backward(e, pred, target, mask, 3, 1.0f);
    CHECK_NEAR(e[0], 0.5, 1e-7); CHECK_NEAR(e[1], -0.5, 1e-7); CHECK_NEAR(e[2], 0, 0);
    CHECK_NEAR(m4_nn_l1_forward(pred, target, NULL, 3), 10.0 / 3, 1e-6);
}


static void test_concat_dropout(void)
{
    float a[2] = {1, 2}, b[4] = {3, 4, 5, 6}, out[6], da[2] = {0}, db[4] = {0};
    m4_nn_concat_forward(out, a, b, 2, 1, 2);
    CHECK_NEAR(out[0], 1, 0); CHECK_NEAR(out[2], 4, 0); CHECK_NEAR(out[3], 2, 0);
    m4_nn_concat_backward(da, db, out, 2, 1, 2);
    CHECK_NEAR(da[1], 2, 0); CHECK_NEAR(db[3], 6, 0);
    /* p = 0.25: kept values scaled by 4/3; about a quarter dropped; backward uses the same mask. */
    enum { n = 4000 };
    static float x[n], y[n], keep[n], dx[n];
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed());
    int dropped = 0;
    for (int i = 0; i < n; i++) x[i] = 1;
    m4_nn_dropout_forward(y, keep, x, 0.25f, &rng, n);
    m4_nn_dropout_backward(dx, x, keep, n);
    for (int i = 0; i < n; i++) {
        dropped += y[i] == 0;
        CHECK(y[i] == 0 || fabsf(y[i] - 4.0f / 3) < 1e-6f);
        CHECK(dx[i] == y[i]);
    }
    CHECK_NEAR(dropped, 1000, 160); /* binomial sd 27: 6 sigma */
}

M4_TEST_MAIN(M4_TEST(test_concat_dropout), M4_TEST(test_gather_scatter), M4_TEST(test_losses_masked), M4_TEST(test_layernorm_gradients), M4_TEST(test_layernorm_known_answer), M4_TEST(test_gru_gradients), M4_TEST(test_gru_known_answer), M4_TEST(test_transposed_forwards), M4_TEST(test_linear_gradients), M4_TEST(test_activation_gradients))
