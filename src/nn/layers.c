#include "nn/layers.h"

#include <cblas.h>
#include <math.h>

void m4_nn_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                          int N, int C, int OC)
{
    for (int i = 0; i < N; i++)
        for (int o = 0; o < OC; o++) out[(long)i * OC + o] = bias ? bias[o] : 0.0f;
    if (N > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, weight, C,
                    1.0f, out, OC);
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
    for (int i = 0; i < n; i++) out[i] = tanhf(inp[i]);
}

void m4_nn_tanh_backward(float *dinp, const float *dout, const float *out, int n)
{
    for (int i = 0; i < n; i++) dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
}
