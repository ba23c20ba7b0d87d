#include "nn/graph.h"

#include <string.h>

#include "nn/layers.h"

size_t m4_nn_graph_cache_floats(int N, int C, int OC)
{
    return (size_t)N * (2 * (size_t)C + OC + 2);
}

size_t m4_nn_graph_scratch_floats(int N, int C, int OC)
{
    return (size_t)N * (2 * (size_t)C + OC);
}

/* to[dst[e]] += from[src[e]] for every edge: the message passing itself. */
static void edges_sum(float *to, const float *from, const int *src, const int *dst, int E, int C)
{
    for (int e = 0; e < E; e++) {
        const float *a = from + (size_t)src[e] * C;
        float *b = to + (size_t)dst[e] * C;
        for (int k = 0; k < C; k++) b[k] += a[k];
    }
}

void m4_nn_graph_forward(float *out, float *cache, const float *x, const int *src, const int *dst,
                         int E, const m4_nn_graph_weights *w, int N, int C, int OC)
{
    float *msg = cache, *agg = msg + (size_t)N * C, *pre = agg + (size_t)N * C;
    float *mean = pre + (size_t)N * OC, *rstd = mean + N;
    void (*linear)(float *, const float *, const float *, const float *, int, int, int) =
        w->transposed ? m4_nn_linear_forward_wt : m4_nn_linear_forward;
    linear(msg, x, w->w_p, w->b_p, N, C, C);
    m4_nn_relu_forward(msg, msg, N * C);
    memset(agg, 0, (size_t)N * C * sizeof *agg);
    edges_sum(agg, msg, src, dst, E, C);
    linear(pre, agg, w->w_l, w->b_l, N, C, OC);
    /* pre += x W_r^T: a second product into the same output. */
    float *root = out; /* out is free until LayerNorm writes it */
    linear(root, x, w->w_r, NULL, N, C, OC);
    for (size_t i = 0; i < (size_t)N * OC; i++) pre[i] += root[i];
    m4_nn_layernorm_forward(out, mean, rstd, pre, w->ln_w, w->ln_b, N, OC);
}

void m4_nn_graph_backward(float *dx, const m4_nn_graph_weights *g, float *scratch,
                          const float *dout, const float *cache, const float *x, const int *src,
                          const int *dst, int E, const m4_nn_graph_weights *w, int N, int C,
                          int OC)
{
    const float *msg = cache, *agg = msg + (size_t)N * C, *pre = agg + (size_t)N * C;
    const float *mean = pre + (size_t)N * OC, *rstd = mean + N;
    float *dpre = scratch, *dagg = dpre + (size_t)N * OC, *dmsg = dagg + (size_t)N * C;
    memset(scratch, 0, m4_nn_graph_scratch_floats(N, C, OC) * sizeof *scratch);
    m4_nn_layernorm_backward(dpre, g->ln_w, g->ln_b, dout, pre, w->ln_w, mean, rstd, N, OC);
    m4_nn_linear_backward(dagg, g->w_l, g->b_l, dpre, agg, w->w_l, N, C, OC);
    m4_nn_linear_backward(dx, g->w_r, NULL, dpre, x, w->w_r, N, C, OC);
    /* The transpose of the message passing: each edge sends the gradient back. */
    edges_sum(dmsg, dagg, dst, src, E, C);
    for (size_t i = 0; i < (size_t)N * C; i++)
        if (msg[i] <= 0.0f) dmsg[i] = 0.0f;
    m4_nn_linear_backward(dx, g->w_p, g->b_p, dmsg, x, w->w_p, N, C, C);
}

void m4_nn_mlp2_forward(float *out, float *hidden, const float *x, const float *w1,
                        const float *b1, const float *w2, const float *b2, int N, int C, int Hd,
                        int O)
{
    m4_nn_linear_forward(hidden, x, w1, b1, N, C, Hd);
    m4_nn_relu_forward(hidden, hidden, N * Hd);
    m4_nn_linear_forward(out, hidden, w2, b2, N, Hd, O);
}

void m4_nn_mlp2_forward_wt(float *out, float *hidden, const float *x, const float *w1_t,
                           const float *b1, const float *w2_t, const float *b2, int N, int C,
                           int Hd, int O)
{
    m4_nn_linear_forward_wt(hidden, x, w1_t, b1, N, C, Hd);
    m4_nn_relu_forward(hidden, hidden, N * Hd);
    m4_nn_linear_forward_wt(out, hidden, w2_t, b2, N, Hd, O);
}

void m4_nn_mlp2_backward(float *dx, float *dw1, float *db1, float *dw2, float *db2,
                         float *scratch, const float *dout, const float *hidden, const float *x,
                         const float *w1, const float *w2, int N, int C, int Hd, int O)
{
    memset(scratch, 0, (size_t)N * Hd * sizeof *scratch);
    m4_nn_linear_backward(scratch, dw2, db2, dout, hidden, w2, N, Hd, O);
    for (size_t i = 0; i < (size_t)N * Hd; i++)
        if (hidden[i] <= 0.0f) scratch[i] = 0.0f;
    m4_nn_linear_backward(dx, dw1, db1, scratch, x, w1, N, C, Hd);
}
