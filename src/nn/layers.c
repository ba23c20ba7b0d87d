#include "nn/layers.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/rng.h"

/* glibc's vector expf (libmvec): declared here so that GCC, with
 * -fno-math-errno at -O3, turns the elementwise loops below into 4-wide
 * calls; the GRU gates were two fifths of the m4 backend's time with the
 * scalar expf. Elsewhere the scalar one is used. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
__attribute__((simd("notinbranch"))) float expf(float);
#endif

/* tanh through one expf: glibc's tanhf goes through expm1f and was a third of
 * the m4 backend's time; the absolute error stays near float rounding. */
static inline float tanh_by_exp(float x) { return 2.0f / (1.0f + expf(-2.0f * x)) - 1.0f; }

/* weight is (OC,C), or (C,OC) when transposed. */
static void linear_forward(float *out, const float *inp, const float *weight, int transposed,
                           const float *bias, int N, int C, int OC)
{
    /* Rows start from the bias and the product adds on (beta = 1); a row copy,
     * not a per-element branch, since this runs on every event. */
    if (bias)
        for (int i = 0; i < N; i++) memcpy(out + (long)i * OC, bias, sizeof(float) * (size_t)OC);
    else if (N > 0)
        memset(out, 0, sizeof(float) * (size_t)N * (size_t)OC);
    if (N <= 0) return;
    if (C == 1) {
        /* One input feature (the temporal GRU's elapsed time, every event):
         * an outer product, where a BLAS call costs more than the work. */
        for (int i = 0; i < N; i++) {
            float *restrict o = out + (long)i * OC;
            for (int k = 0; k < OC; k++) o[k] += inp[i] * weight[k];
        }
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, transposed ? CblasNoTrans : CblasTrans, N, OC, C,
                1.0f, inp, C, weight, transposed ? OC : C, 1.0f, out, OC);
}

void m4_nn_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                          int N, int C, int OC)
{
    linear_forward(out, inp, weight, 0, bias, N, C, OC);
}

void m4_nn_linear_forward_wt(float *out, const float *inp, const float *weight_t,
                             const float *bias, int N, int C, int OC)
{
    linear_forward(out, inp, weight_t, 1, bias, N, C, OC);
}

void m4_nn_transpose(float *out, const float *inp, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) out[(long)c * rows + r] = inp[(long)r * cols + c];
}

void m4_nn_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, int N, int C, int OC)
{
    if (N <= 0) return;
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, weight,
                    C, 1.0f, dinp, C);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f,
                dweight, C);
    if (dbias)
        for (int i = 0; i < N; i++)
            for (int o = 0; o < OC; o++) dbias[o] += dout[(long)i * OC + o];
}

void m4_nn_relu_forward(float *out, const float *inp, int n)
{
    for (int i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void m4_nn_relu_backward(float *dinp, const float *dout, const float *out, int n)
{
    for (int i = 0; i < n; i++) dinp[i] += out[i] > 0.0f ? dout[i] : 0.0f;
}

void m4_nn_sigmoid_forward(float *out, const float *inp, int n)
{
    for (int i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-inp[i]));
}

void m4_nn_sigmoid_backward(float *dinp, const float *dout, const float *out, int n)
{
    for (int i = 0; i < n; i++) dinp[i] += dout[i] * out[i] * (1.0f - out[i]);
}

void m4_nn_tanh_forward(float *out, const float *inp, int n)
{
    for (int i = 0; i < n; i++) out[i] = tanh_by_exp(inp[i]);
}

void m4_nn_tanh_backward(float *dinp, const float *dout, const float *out, int n)
{
    for (int i = 0; i < n; i++) dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
}

/* One row of the GRU cell from its pre-activations a = x W_ih + b_ih and
 * b = h W_hh + b_hh (3H each, gates r z n): out (H), cache (4H: r z n and
 * the n part of b). Separate restrict arrays so that GCC vectorizes it. */
static inline __attribute__((always_inline)) void
gru_gates_body(float *restrict out, float *restrict cache, const float *restrict a,
               const float *restrict b, const float *restrict h, int H)
{
    const float *restrict a_z = a + H, *restrict a_n = a + 2 * H;
    const float *restrict b_z = b + H, *restrict b_n = b + 2 * H;
    float *restrict c_z = cache + H, *restrict c_n = cache + 2 * H, *restrict c_hn = cache + 3 * H;
    for (int k = 0; k < H; k++) {
        float r = 1.0f / (1.0f + expf(-(a[k] + b[k])));
        float z = 1.0f / (1.0f + expf(-(a_z[k] + b_z[k])));
        float n = tanh_by_exp(a_n[k] + r * b_n[k]);
        cache[k] = r, c_z[k] = z, c_n[k] = n, c_hn[k] = b_n[k];
        out[k] = (1.0f - z) * n + z * h[k];
    }
}

/* Training's: the 4-wide expf, as before, so that `make model` still gives
 * the shipped model's file byte for byte. */
static void gru_gates(float *restrict out, float *restrict cache, const float *restrict a,
                      const float *restrict b, const float *restrict h, int H)
{
    gru_gates_body(out, cache, a, b, h, H);
}

/* Inference's (the transposed-weight forward): one copy per vector width,
 * picked at load time; libmvec's 8- and 16-wide expf made the m4 backend's
 * run of a 1024-host scenario 14% faster (1.11 -> 0.97 s, median of 7),
 * the exponentials differing from the 4-wide ones in the last bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void gru_gates_wide(float *restrict out, float *restrict cache, const float *restrict a,
                           const float *restrict b, const float *restrict h, int H)
{
    gru_gates_body(out, cache, a, b, h, H);
}

static void gru_forward(float *hout, float *cache, float *scratch, const float *x, const float *h,
                        const float *w_ih, const float *w_hh, int transposed, const float *b_ih,
                        const float *b_hh, int N, int C, int H)
{
    float *gi = scratch, *gh = scratch + (long)N * 3 * H;
    linear_forward(gi, x, w_ih, transposed, b_ih, N, C, 3 * H);
    linear_forward(gh, h, w_hh, transposed, b_hh, N, H, 3 * H);
    void (*gates)(float *restrict, float *restrict, const float *restrict,
                  const float *restrict, const float *restrict, int) =
        transposed ? gru_gates_wide : gru_gates;
    for (int i = 0; i < N; i++)
        gates(hout + (long)i * H, cache + (long)i * 4 * H, gi + (long)i * 3 * H,
              gh + (long)i * 3 * H, h + (long)i * H, H);
}

void m4_nn_gru_forward(float *hout, float *cache, float *scratch, const float *x, const float *h,
                       const float *w_ih, const float *w_hh, const float *b_ih, const float *b_hh,
                       int N, int C, int H)
{
    gru_forward(hout, cache, scratch, x, h, w_ih, w_hh, 0, b_ih, b_hh, N, C, H);
}

void m4_nn_gru_forward_wt(float *hout, float *cache, float *scratch, const float *x,
                          const float *h, const float *w_ih_t, const float *w_hh_t,
                          const float *b_ih, const float *b_hh, int N, int C, int H)
{
    gru_forward(hout, cache, scratch, x, h, w_ih_t, w_hh_t, 1, b_ih, b_hh, N, C, H);
}

void m4_nn_gru_backward(float *dx, float *dh, float *dw_ih, float *dw_hh, float *db_ih,
                        float *db_hh, float *scratch, const float *dhout, const float *cache,
                        const float *x, const float *h, const float *w_ih, const float *w_hh, int N,
                        int C, int H)
{
    float *dgi = scratch, *dgh = scratch + (long)N * 3 * H;
    for (int i = 0; i < N; i++) {
        const float *c = cache + (long)i * 4 * H;
        float *a = dgi + (long)i * 3 * H, *b = dgh + (long)i * 3 * H;
        for (int k = 0; k < H; k++) {
            float r = c[k], z = c[H + k], n = c[2 * H + k], ghn = c[3 * H + k];
            float g = dhout[(long)i * H + k], hv = h[(long)i * H + k];
            float dn_pre = g * (1.0f - z) * (1.0f - n * n);
            float dz_pre = g * (hv - n) * z * (1.0f - z);
            float dr_pre = dn_pre * ghn * r * (1.0f - r);
            a[k] = b[k] = dr_pre;
            a[H + k] = b[H + k] = dz_pre;
            a[2 * H + k] = dn_pre;
            b[2 * H + k] = dn_pre * r;
            if (dh) dh[(long)i * H + k] += g * z;
        }
    }
    m4_nn_linear_backward(dx, dw_ih, db_ih, dgi, x, w_ih, N, C, 3 * H);
    m4_nn_linear_backward(dh, dw_hh, db_hh, dgh, h, w_hh, N, H, 3 * H);
}

/* Row sums over eight independent partial sums: a single running sum is a
 * chain of dependent adds that GCC may not reorder, and that chain was a
 * tenth of the m4 backend's time; eight lanes vectorize. */
static float add_lanes(const float lane[8])
{
    return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

static float sum_by_lanes(const float *restrict x, int n)
{
    float lane[8] = {0};
    int c = 0;
    for (; c + 8 <= n; c += 8)
        for (int k = 0; k < 8; k++) lane[k] += x[c + k];
    for (; c < n; c++) lane[c & 7] += x[c];
    return add_lanes(lane);
}

/* Sum of (x - m)^2 the same way. */
static float sum_sq_dev_by_lanes(const float *restrict x, float m, int n)
{
    float lane[8] = {0};
    int c = 0;
    for (; c + 8 <= n; c += 8)
        for (int k = 0; k < 8; k++) lane[k] += (x[c + k] - m) * (x[c + k] - m);
    for (; c < n; c++) lane[c & 7] += (x[c] - m) * (x[c] - m);
    return add_lanes(lane);
}

void m4_nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                             const float *weight, const float *bias, int N, int C)
{
    for (int i = 0; i < N; i++) {
        const float *x = inp + (long)i * C;
        float m = sum_by_lanes(x, C) / (float)C;
        float v = sum_sq_dev_by_lanes(x, m, C) / (float)C;
        float s = 1.0f / sqrtf(v + 1e-5f);
        float *restrict o = out + (long)i * C;
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * s * weight[c] + bias[c];
        mean[i] = m, rstd[i] = s;
    }
}

void m4_nn_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                              const float *inp, const float *weight, const float *mean,
                              const float *rstd, int N, int C)
{
    for (int i = 0; i < N; i++) {
        const float *x = inp + (long)i * C, *g = dout + (long)i * C;
        float m = mean[i], s = rstd[i];
        /* dxhat = g * w; dx = s * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) */
        float sum_d = 0, sum_dx = 0;
        for (int c = 0; c < C; c++) {
            float xhat = (x[c] - m) * s, d = g[c] * weight[c];
            sum_d += d, sum_dx += d * xhat;
            dweight[c] += g[c] * xhat;
            dbias[c] += g[c];
        }
        sum_d /= C, sum_dx /= C;
        for (int c = 0; c < C; c++) {
            float xhat = (x[c] - m) * s;
            dinp[(long)i * C + c] += s * (g[c] * weight[c] - sum_d - xhat * sum_dx);
        }
    }
}

void m4_nn_gather_forward(float *out, const float *inp, const int *index, int N, int C)
{
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) out[(long)i * C + c] = inp[(long)index[i] * C + c];
}

void m4_nn_scatter_add_forward(float *out, const float *inp, const int *index, int N, int C)
{
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) out[(long)index[i] * C + c] += inp[(long)i * C + c];
}

void m4_nn_scatter_add_backward(float *dinp, const float *dout, const int *index, int N, int C)
{
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) dinp[(long)i * C + c] += dout[(long)index[i] * C + c];
}

static int count_present(const unsigned char *mask, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++) k += !mask || mask[i];
    return k;
}

float m4_nn_rel_l1_forward(const float *pred, const float *target, const unsigned char *mask,
                           int n)
{
    int k = count_present(mask, n);
    double s = 0;
    for (int i = 0; i < n; i++)
        if (!mask || mask[i]) s += fabs((double)pred[i] / target[i] - 1.0);
    return k ? (float)(s / k) : 0.0f;
}

void m4_nn_rel_l1_backward(float *dpred, const float *pred, const float *target,
                           const unsigned char *mask, int n, float scale)
{
    int k = count_present(mask, n);
    if (!k) return;
    for (int i = 0; i < n; i++) {
        if (mask && !mask[i]) continue;
        float d = pred[i] / target[i] - 1.0f;
        float sign = d > 0 ? 1.0f : d < 0 ? -1.0f : 0.0f;
        dpred[i] += scale * sign / (target[i] * k);
    }
}

float m4_nn_l1_forward(const float *pred, const float *target, const unsigned char *mask, int n)
{
    int k = count_present(mask, n);
    double s = 0;
    for (int i = 0; i < n; i++)
        if (!mask || mask[i]) s += fabs((double)pred[i] - target[i]);
    return k ? (float)(s / k) : 0.0f;
}

void m4_nn_l1_backward(float *dpred, const float *pred, const float *target,
                       const unsigned char *mask, int n, float scale)
{
    int k = count_present(mask, n);
    if (!k) return;
    for (int i = 0; i < n; i++) {
        if (mask && !mask[i]) continue;
        float d = pred[i] - target[i];
        dpred[i] += scale * (d > 0 ? 1.0f : d < 0 ? -1.0f : 0.0f) / k;
    }
}

void m4_nn_concat_forward(float *out, const float *a, const float *b, int N, int A, int B)
{
    for (int i = 0; i < N; i++) {
        for (int c = 0; c < A; c++) out[(long)i * (A + B) + c] = a[(long)i * A + c];
        for (int c = 0; c < B; c++) out[(long)i * (A + B) + A + c] = b[(long)i * B + c];
    }
}

void m4_nn_concat_backward(float *da, float *db, const float *dout, int N, int A, int B)
{
    for (int i = 0; i < N; i++) {
        for (int c = 0; c < A; c++) da[(long)i * A + c] += dout[(long)i * (A + B) + c];
        for (int c = 0; c < B; c++) db[(long)i * B + c] += dout[(long)i * (A + B) + A + c];
    }
}

void m4_nn_dropout_forward(float *out, float *keep, const float *inp, float p, struct m4_rng *rng,
                           int n)
{
    float scale = 1.0f / (1.0f - p);
    for (int i = 0; i < n; i++) {
        keep[i] = m4_rng_uniform(rng) < p ? 0.0f : scale;
        out[i] = inp[i] * keep[i];
    }
}

void m4_nn_dropout_backward(float *dinp, const float *dout, const float *keep, int n)
{
    for (int i = 0; i < n; i++) dinp[i] += dout[i] * keep[i];
}
