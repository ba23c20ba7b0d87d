/* Adam over one flat parameter array (all parameters of a model live in one allocation,
 * gradients and the moments m, v mirror it). Weight decay is decoupled (AdamW):
 * p -= lr * (mhat / (sqrt(vhat) + eps) + weight_decay * p). step counts from 1. */
#ifndef M4_NN_ADAM_H
#define M4_NN_ADAM_H

#include <stddef.h>

void m4_nn_adam_update(float *params, const float *grads, float *m, float *v, size_t n, float lr,
                       float beta1, float beta2, float eps, float weight_decay, int step);
/* Scales grads so their global L2 norm is at most max_norm; returns the norm before clipping. */
float m4_nn_clip_grad_norm(float *grads, size_t n, float max_norm);

#endif
