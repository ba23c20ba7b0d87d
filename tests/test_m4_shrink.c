/* m4_model_shrink scales the learned correction of flowSim's slowdown:
 * slowdown = base x (1 + factor x MLP), checked against the unshrunk model on
 * a small random component. */
#include "testlib.h"

#include "core/rng.h"
#include "m4/model.h"

static void shrink_scales_the_correction_only(void)
{
    uint64_t seed = m4t_seed();
    m4_model_dims d = {8, 6, 5, 4, M4_NEIGHBOURHOOD_LINKS, 3};
    m4_model m;
    CHECK_INT_EQ(m4_model_create(&m, &d, seed), 0);
    /* A nonzero last layer, so the correction is not zero to begin with. */
    m4_rng rng;
    m4_rng_seed(&rng, seed + 1);
    for (int i = 0; i < d.mlp_hidden; i++) m.w.slowdown.w2[i] = (float)(m4_rng_uniform(&rng) - 0.5);
    m.w.slowdown.b2[0] = 0.3f;
    enum { N = 3, L = 2, E = 4, H = 8 };
    float flow_h[N * H], link_z[L * H], flow_dt[N] = {0.5f, 1, 2}, link_dt[L] = {0.1f, 3};
    float path[N] = {2, 1, 1}, fair[N] = {0.5f, 1, 0.25f}, base[N] = {1.5f, 1.0f, 3.0f};
    float config[M4_MODEL_CONFIG] = {0};
    for (int i = 0; i < N * H; i++) flow_h[i] = (float)m4_rng_uniform(&rng);
    for (int i = 0; i < L * H; i++) link_z[i] = (float)m4_rng_uniform(&rng);
    int pf[E] = {0, 0, 1, 2}, pl[E] = {0, 1, 0, 1};
    m4_step_input in = {N, L, E, flow_h, link_z, flow_dt, link_dt, path, fair, base, config, pf, pl};
    m4_nn_arena arena;
    m4_nn_arena_init(&arena, 4096);
    m4_step_record a, b;
    CHECK_INT_EQ(m4_step_forward(&a, &m, &in, &arena, 0), 0);
    float before[N];
    for (int i = 0; i < N; i++) before[i] = a.slowdown[i];
    m4_model_shrink(&m, 0.25f);
    CHECK_INT_EQ(m4_step_forward(&b, &m, &in, &arena, 0), 0);
    for (int i = 0; i < N; i++) {
        double corr_before = before[i] / base[i] - 1.0, corr_after = b.slowdown[i] / base[i] - 1.0;
        CHECK(fabs(corr_before) > 1e-3);
        CHECK_NEAR(corr_after, 0.25 * corr_before, 1e-5);
    }
    m4_model_shrink(&m, 0.0f);
    m4_nn_arena_reset(&arena);
    CHECK_INT_EQ(m4_step_forward(&b, &m, &in, &arena, 0), 0);
    for (int i = 0; i < N; i++) CHECK_NEAR(b.slowdown[i], base[i], 1e-6);
    m4_nn_arena_free(&arena);
    m4_model_free(&m);
}

M4_TEST_MAIN(M4_TEST(shrink_scales_the_correction_only))
