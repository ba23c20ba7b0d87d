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
/* Exponential moving average of the parameters (Polyak averaging):
 * average <- decay * average + (1 - decay) * params. */
void m4_nn_ema_update(float *average, const float *params, size_t n, float decay);


/* Reduce-on-plateau (PyTorch semantics, mode min, relative threshold): after more than
 * `patience` consecutive steps without loss < best * (1 - threshold), lr *= factor (not below min_lr). */
typedef struct m4_nn_plateau {
    float lr, factor, min_lr, threshold, best;
    int patience, bad_steps;
} m4_nn_plateau;
void m4_nn_plateau_init(m4_nn_plateau *s, float lr, float factor, int patience, float min_lr);
/* Returns the learning rate to use next. */
float m4_nn_plateau_step(m4_nn_plateau *s, float loss);

struct m4_rng;
/* PyTorch default init for linear and GRU weights/biases: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
void m4_nn_init_uniform(float *w, size_t n, int fan_in, struct m4_rng *rng);
#endif
