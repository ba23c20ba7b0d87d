#include "core/rng.h"
#include "nn/adam.h"
#include "testlib.h"

/* Hand-checked Adam, lr 0.1, betas (0.9, 0.999), eps 1e-8, p0 = 1:
 * step 1, g = 0.5: m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25 -> p = 1 - 0.1 = 0.9.
 * step 2, g = -1: m = -0.055, v = 0.00124975, mhat = -0.055/0.19 = -0.2894737,
 * vhat = 0.00124975/0.001999 = 0.6251876 -> p = 0.9 + 0.1*0.2894737/0.7906880 = 0.9366104. */
static void adam_matches_formula(void)
{
    float p = 1, m = 0, v = 0, g = 0.5f;
    m4_nn_adam_update(&p, &g, &m, &v, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 1);
    CHECK_NEAR(m, 0.05, 1e-7);
    CHECK_REL(v, 0.00025, 1e-4); /* 1 - 0.999f is 1.3e-5 off in float */
    CHECK_NEAR(p, 0.9, 1e-6);
    g = -1;
    m4_nn_adam_update(&p, &g, &m, &v, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 2);
    CHECK_NEAR(p, 0.9366104, 2e-6);
    /* Decoupled weight decay with zero gradient at step 1: mhat = 0, p -= lr*wd*p. */
    float q = 2, mq = 0, vq = 0, zero = 0;
    m4_nn_adam_update(&q, &zero, &mq, &vq, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f, 1);
    CHECK_NEAR(q, 2 - 0.1 * 0.5 * 2, 1e-6);
}

/* grads (3, 4) have norm 5; clipping to 1 gives (0.6, 0.8); to 10 leaves them. */
static void clip_by_global_norm(void)
{
    float g[2] = {3, 4};
    CHECK_NEAR(m4_nn_clip_grad_norm(g, 2, 10.0f), 5.0, 1e-6);
    CHECK_NEAR(g[0], 3, 0);
    CHECK_NEAR(m4_nn_clip_grad_norm(g, 2, 1.0f), 5.0, 1e-6);
    CHECK_NEAR(g[0], 0.6, 1e-7);
    CHECK_NEAR(g[1], 0.8, 1e-7);
}

/* decay 0.75 toward 3 from 1: 1 + 0.25 x 2 = 1.5, then 1.5 + 0.25 x 1.5 = 1.875;
 * an average that equals the weights stays put. */
static void ema_moves_a_quarter_of_the_way(void)
{
    float average[2] = {1, -2};
    const float params[2] = {3, -2};
    m4_nn_ema_update(average, params, 2, 0.75f);
    CHECK_NEAR(average[0], 1.5, 0);
    CHECK_NEAR(average[1], -2, 0);
    m4_nn_ema_update(average, params, 2, 0.75f);
    CHECK_NEAR(average[0], 1.875, 0);
}

/* lr 1, factor 0.5, patience 2: losses 5, 4, 4, 4 (3rd non-improving step > patience) -> 0.5. */
static void plateau_reduces_after_patience(void)
{
    m4_nn_plateau s;
    m4_nn_plateau_init(&s, 1.0f, 0.5f, 2, 0.1f);
    CHECK_NEAR(m4_nn_plateau_step(&s, 5), 1.0, 0);
    CHECK_NEAR(m4_nn_plateau_step(&s, 4), 1.0, 0);
    CHECK_NEAR(m4_nn_plateau_step(&s, 4), 1.0, 0);
    CHECK_NEAR(m4_nn_plateau_step(&s, 4), 1.0, 0);
    CHECK_NEAR(m4_nn_plateau_step(&s, 4), 0.5, 0);
    for (int i = 0; i < 20; i++) m4_nn_plateau_step(&s, 4);
    CHECK_NEAR(s.lr, 0.1, 1e-7);
}

/* fan_in 25: all values in [-0.2, 0.2], mean near 0, variance near 0.04/3. */
static void init_uniform_bounds(void)
{
    static float w[20000];
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed());
    m4_nn_init_uniform(w, 20000, 25, &rng);
    double s = 0, s2 = 0;
    for (int i = 0; i < 20000; i++) {
        CHECK(fabsf(w[i]) <= 0.2f);
        s += w[i], s2 += (double)w[i] * w[i];
    }
    CHECK_NEAR(s / 20000, 0, 0.005);
    CHECK_NEAR(s2 / 20000, 0.04 / 3, 0.0005); /* ~6 sigma for both */
}

M4_TEST_MAIN(M4_TEST(plateau_reduces_after_patience), M4_TEST(init_uniform_bounds), M4_TEST(adam_matches_formula), M4_TEST(clip_by_global_norm),
             M4_TEST(ema_moves_a_quarter_of_the_way))
