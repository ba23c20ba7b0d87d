#include "nn/adam.h"

#include <math.h>

#include "core/rng.h"

void m4_nn_adam_update(float *params, const float *grads, float *m, float *v, size_t n, float lr,
                       float beta1, float beta2, float eps, float weight_decay, int step)
{
    float c1 = 1.0f - powf(beta1, (float)step), c2 = 1.0f - powf(beta2, (float)step);
    for (size_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * grads[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * grads[i] * grads[i];
        float mhat = m[i] / c1, vhat = v[i] / c2;
        params[i] -= lr * (mhat / (sqrtf(vhat) + eps) + weight_decay * params[i]);
    }
}

float m4_nn_clip_grad_norm(float *grads, size_t n, float max_norm)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)grads[i] * grads[i];
    float norm = (float)sqrt(s);
    if (norm > max_norm && norm > 0) {
        float k = max_norm / norm;
        for (size_t i = 0; i < n; i++) grads[i] *= k;
    }
    return norm;
}

void m4_nn_ema_update(float *average, const float *params, size_t n, float decay)
{
    const float keep = 1.0f - decay;
    for (size_t i = 0; i < n; i++) average[i] += keep * (params[i] - average[i]);
}

void m4_nn_plateau_init(m4_nn_plateau *s, float lr, float factor, int patience, float min_lr)
{
    s->lr = lr, s->factor = factor, s->patience = patience, s->min_lr = min_lr;
    s->threshold = 1e-4f, s->best = INFINITY, s->bad_steps = 0;
}

float m4_nn_plateau_step(m4_nn_plateau *s, float loss)
{
    if (loss < s->best * (1.0f - s->threshold)) {
        s->best = loss, s->bad_steps = 0;
    } else if (++s->bad_steps > s->patience) {
        s->lr = fmaxf(s->lr * s->factor, s->min_lr);
        s->bad_steps = 0;
    }
    return s->lr;
}

void m4_nn_init_uniform(float *w, size_t n, int fan_in, struct m4_rng *rng)
{
    double bound = 1.0 / sqrt((double)fan_in);
    for (size_t i = 0; i < n; i++) w[i] = (float)((m4_rng_uniform(rng) * 2.0 - 1.0) * bound);
}
