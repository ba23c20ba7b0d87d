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

    m4_nn_linear_forward(out, x, w, b, N, C, OC);
    for (int i = 0; i < N; i++)
        for (int o = 0; o < OC; o++) {
            double s = pb[o];
            for (int c = 0; c < C; c++) s += px[i * C + c] * pw[o * C + c];
            CHECK_NEAR(out[i * OC + o], s, 1e-5);
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

M4_TEST_MAIN(M4_TEST(test_linear_gradients), M4_TEST(test_activation_gradients))
