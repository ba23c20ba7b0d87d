/* Neural-network layers in the manner of llm.c: plain functions over float
 * arrays, outputs first, dimensions last. Row-major; shapes in comments.
 * Backward functions ACCUMULATE (+=) into every gradient they write, so
 * callers zero gradients once per backward pass. Matrix products use
 * cblas_sgemm. The graph layer and MLP are in graph.h, Adam in adam.h. */
#ifndef M4_NN_LAYERS_H
#define M4_NN_LAYERS_H

/* out (N,OC) = inp (N,C) @ weight(OC,C)^T + bias(OC); bias may be NULL. */
void m4_nn_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                          int N, int C, int OC);
/* The same with the weights stored transposed, weight_t (C,OC): for the few
 * rows of an m4 event OpenBLAS's small-matrix kernel runs this layout about
 * 1.6x faster (8 x 144 x 48: 1.05 against 1.74 us). Equal to the above up to
 * float rounding (another order of the sums); forward only, for inference. */
void m4_nn_linear_forward_wt(float *out, const float *inp, const float *weight_t,
                             const float *bias, int N, int C, int OC);
/* out (cols,rows) = inp (rows,cols)^T. */
void m4_nn_transpose(float *out, const float *inp, int rows, int cols);
/* dinp (N,C) += dout @ weight; dweight (OC,C) += dout^T @ inp; dbias (OC) += sum rows of dout.
 * dinp and dbias may be NULL. */
void m4_nn_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, int N, int C, int OC);

/* Elementwise activations over n values; backward uses the forward OUTPUT. */
void m4_nn_relu_forward(float *out, const float *inp, int n);
void m4_nn_relu_backward(float *dinp, const float *dout, const float *out, int n);
void m4_nn_sigmoid_forward(float *out, const float *inp, int n);
void m4_nn_sigmoid_backward(float *dinp, const float *dout, const float *out, int n);
void m4_nn_tanh_forward(float *out, const float *inp, int n);
void m4_nn_tanh_backward(float *dinp, const float *dout, const float *out, int n);



/* GRU cell, PyTorch semantics; gate rows of w_ih (3H,C), w_hh (3H,H), b_ih, b_hh (3H) are r, z, n:
 * r = sig(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in + r*(W_hn h + b_hn)),
 * hout = (1-z)*n + z*h. cache (N,4H) keeps r, z, n, W_hn h + b_hn for backward.
 * scratch for the forward and backward: (N,6H) floats. */
void m4_nn_gru_forward(float *hout, float *cache, float *scratch, const float *x, const float *h,
                       const float *w_ih, const float *w_hh, const float *b_ih, const float *b_hh,
                       int N, int C, int H);
/* The same with w_ih_t (C,3H) and w_hh_t (H,3H) stored transposed (see
 * m4_nn_linear_forward_wt). */
void m4_nn_gru_forward_wt(float *hout, float *cache, float *scratch, const float *x,
                          const float *h, const float *w_ih_t, const float *w_hh_t,
                          const float *b_ih, const float *b_hh, int N, int C, int H);
/* dx (N,C), dh (N,H) += ; parameter gradients += . dx/dh may be NULL. */
void m4_nn_gru_backward(float *dx, float *dh, float *dw_ih, float *dw_hh, float *db_ih,
                        float *db_hh, float *scratch, const float *dhout, const float *cache,
                        const float *x, const float *h, const float *w_ih, const float *w_hh, int N,
                        int C, int H);

/* LayerNorm over the last dimension, eps 1e-5 (PyTorch default):
 * out (N,C) = (inp - mean) * rstd * weight(C) + bias(C); mean, rstd (N) kept for backward. */
void m4_nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                             const float *weight, const float *bias, int N, int C);
void m4_nn_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                              const float *inp, const float *weight, const float *mean,
                              const float *rstd, int N, int C);

/* out (N,C) = inp[index[i]] rows; backward: dinp[index[i]] += dout[i]. */
void m4_nn_gather_forward(float *out, const float *inp, const int *index, int N, int C);
/* out[index[i]] += inp (N,C) rows (message passing); backward: dinp[i] += dout[index[i]]. */
void m4_nn_scatter_add_forward(float *out, const float *inp, const int *index, int N, int C);
#define m4_nn_gather_backward(dinp, dout, index, N, C) m4_nn_scatter_add_forward(dinp, dout, index, N, C)
void m4_nn_scatter_add_backward(float *dinp, const float *dout, const int *index, int N, int C);

/* Masked losses over n values (mask may be NULL = all present; mask[i] == 0 = missing target):
 * relative L1 mean |pred/target - 1|, L1 mean |pred - target|, mean over present entries.
 * Return the loss; backward adds dloss/dpred * scale into dpred. */
float m4_nn_rel_l1_forward(const float *pred, const float *target, const unsigned char *mask,
                           int n);
void m4_nn_rel_l1_backward(float *dpred, const float *pred, const float *target,
                           const unsigned char *mask, int n, float scale);
float m4_nn_l1_forward(const float *pred, const float *target, const unsigned char *mask, int n);
void m4_nn_l1_backward(float *dpred, const float *pred, const float *target,
                       const unsigned char *mask, int n, float scale);

/* out (N,A+B) = [a (N,A) | b (N,B)]; backward adds the halves back into da, db. */
void m4_nn_concat_forward(float *out, const float *a, const float *b, int N, int A, int B);
void m4_nn_concat_backward(float *da, float *db, const float *dout, int N, int A, int B);

struct m4_rng;
/* Inverted dropout (training only): keep[i] = 0 or 1/(1-p), drawn from rng; out = inp * keep. */
void m4_nn_dropout_forward(float *out, float *keep, const float *inp, float p, struct m4_rng *rng,
                           int n);
void m4_nn_dropout_backward(float *dinp, const float *dout, const float *keep, int n);
#endif
