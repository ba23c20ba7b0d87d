/* The graph layer of m4 (DESIGN.md section 8) and a two-layer MLP, as
 * forward/backward pairs over float arrays (outputs first, dimensions last).
 *
 * Graph layer, SAGE-style with sum aggregation and projection, over N nodes
 * with C input and OC output features and E directed edges src[e] -> dst[e]:
 *     msg_j = relu(W_p x_j + b_p)                       (N,C)
 *     agg_i = sum over edges e with dst[e] = i of msg_src[e]   (N,C)
 *     pre_i = W_l agg_i + b_l + W_r x_i                  (N,OC)
 *     out_i = LayerNorm(pre_i) with affine ln_w, ln_b    (N,OC)
 * W_p (C,C), b_p (C), W_l (OC,C), b_l (OC), W_r (OC,C) without bias,
 * ln_w, ln_b (OC). */
#ifndef M4_NN_GRAPH_H
#define M4_NN_GRAPH_H

#include <stddef.h>

typedef struct m4_nn_graph_weights {
    float *w_p, *b_p, *w_l, *b_l, *w_r, *ln_w, *ln_b;
    /* 1: w_p, w_l, w_r hold their transposes, (C,C), (C,OC), (C,OC), which the
     * forward pass multiplies faster (m4_nn_linear_forward_wt); forward only. */
    int transposed;
} m4_nn_graph_weights;

/* Floats of the forward cache (msg, agg, pre, mean, rstd) and of the backward scratch. */
size_t m4_nn_graph_cache_floats(int N, int C, int OC);
size_t m4_nn_graph_scratch_floats(int N, int C, int OC);

void m4_nn_graph_forward(float *out, float *cache, const float *x, const int *src, const int *dst,
                         int E, const m4_nn_graph_weights *w, int N, int C, int OC);
/* dx (N,C) += (may be NULL); every gradient in g += . */
void m4_nn_graph_backward(float *dx, const m4_nn_graph_weights *g, float *scratch,
                          const float *dout, const float *cache, const float *x, const int *src,
                          const int *dst, int E, const m4_nn_graph_weights *w, int N, int C,
                          int OC);

/* Two-layer MLP: hidden (N,Hd) = relu(x (N,C) W1^T + b1), out (N,O) = hidden W2^T + b2.
 * W1 (Hd,C), b1 (Hd), W2 (O,Hd), b2 (O). hidden is kept for backward. */
void m4_nn_mlp2_forward(float *out, float *hidden, const float *x, const float *w1,
                        const float *b1, const float *w2, const float *b2, int N, int C, int Hd,
                        int O);
/* The same with w1_t (C,Hd) and w2_t (Hd,O) stored transposed. */
void m4_nn_mlp2_forward_wt(float *out, float *hidden, const float *x, const float *w1_t,
                           const float *b1, const float *w2_t, const float *b2, int N, int C,
                           int Hd, int O);
/* scratch (N,Hd); dx (N,C) += (may be NULL); dw1, db1, dw2, db2 += . */
void m4_nn_mlp2_backward(float *dx, float *dw1, float *db1, float *dw2, float *db2,
                         float *scratch, const float *dout, const float *hidden, const float *x,
                         const float *w1, const float *w2, int N, int C, int Hd, int O);

#endif
