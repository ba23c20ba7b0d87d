/* Neural-network layers in the manner of llm.c: plain functions over float
 * arrays, outputs first, dimensions last. Row-major; shapes in comments.
 * Backward functions ACCUMULATE (+=) into every gradient they write, so
 * callers zero gradients once per backward pass. Matrix products use
 * cblas_sgemm. Work in progress (issue 4): GRU, LayerNorm, graph layer,
 * tape, Adam and model files are not here yet. */
#ifndef M4_NN_LAYERS_H
#define M4_NN_LAYERS_H

/* out (N,OC) = inp (N,C) @ weight(OC,C)^T + bias(OC); bias may be NULL. */
void m4_nn_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                          int N, int C, int OC);
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

#endif
