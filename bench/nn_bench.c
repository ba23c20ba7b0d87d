/* Speed of m4's full per-event update on the nn core (make bench, via
 * bench/nn.sh). For R rows (R/2 flows, R/2 links, each flow on 4 links, edges
 * both ways): the two time GRUs (input dt, dim 1), three graph layers
 * H -> G -> G -> H over [flows; links], the flow rate GRU (input H + 13), the
 * link rate GRU (input H) and the output MLP (1 + 13 + H -> 100 -> 1).
 * Forward records into an arena as training does; forward+backward adds the
 * full backward into zeroed gradients. GFLOP/s counts matrix-product FLOPs
 * only (2 M N K per product; backward = the dx and dW products). The sgemm
 * peak is a 1024^3 single-thread sgemm measured in the same run. BLAS runs
 * on one thread; the last line checks that two threads give the same
 * outputs up to float rounding. OpenBLAS picks its kernels from the CPU model
 * (OPENBLAS_CORETYPE overrides that): the name is printed with the peak. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "nn/arena.h"
#include "nn/graph.h"
#include "nn/layers.h"

enum { P = 13, MLP_HIDDEN = 100, LINKS_PER_FLOW = 4 };

typedef struct gru_w {
    float *w_ih, *w_hh, *b_ih, *b_hh;
} gru_w;

typedef struct model {
    int H, G;
    gru_w time_f, time_l, rate_f, rate_l;
    m4_nn_graph_weights gl[3];
    float *w1, *b1, *w2, *b2;
    float *params;
    size_t num_params;
} model;

/* Bump allocation from one flat array, so a gradient model mirrors the weights. */
static float *take(model *m, size_t n, m4_rng *rng, float lo, float hi)
{
    float *p = m->params + m->num_params;
    if (rng)
        for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * (float)m4_rng_uniform(rng);
    m->num_params += n;
    return p;
}

static size_t model_floats(int H, int G)
{
    size_t gru = 0;
    gru += 2 * (3 * (size_t)H * 1 + 3 * (size_t)H * H + 6 * (size_t)H);
    gru += 3 * (size_t)H * (H + P) + 3 * (size_t)H * H + 6 * (size_t)H;
    gru += 3 * (size_t)H * H * 2 + 6 * (size_t)H;
    size_t graph = 0;
    int in[3] = {H, G, G}, out[3] = {G, G, H};
    for (int k = 0; k < 3; k++)
        graph += (size_t)in[k] * in[k] + in[k] + 2 * (size_t)out[k] * in[k] + 3 * (size_t)out[k];
    return gru + graph + (size_t)MLP_HIDDEN * (1 + P + H) + MLP_HIDDEN + MLP_HIDDEN + 1;
}

static void gru_make(model *m, gru_w *g, int C, m4_rng *rng)
{
    int H = m->H;
    float a = 1.0f / sqrtf((float)H);
    g->w_ih = take(m, 3 * (size_t)H * C, rng, -a, a), g->w_hh = take(m, 3 * (size_t)H * H, rng, -a, a);
    g->b_ih = take(m, 3 * (size_t)H, rng, -a, a), g->b_hh = take(m, 3 * (size_t)H, rng, -a, a);
}

static void model_make(model *m, float *storage, int H, int G, m4_rng *rng)
{
    memset(m, 0, sizeof *m);
    m->H = H, m->G = G, m->params = storage;
    gru_make(m, &m->time_f, 1, rng), gru_make(m, &m->time_l, 1, rng);
    int in[3] = {H, G, G}, out[3] = {G, G, H};
    for (int k = 0; k < 3; k++) {
        float a = 1.0f / sqrtf((float)in[k]);
        m4_nn_graph_weights *w = &m->gl[k];
        w->w_p = take(m, (size_t)in[k] * in[k], rng, -a, a), w->b_p = take(m, in[k], rng, -a, a);
        w->w_l = take(m, (size_t)out[k] * in[k], rng, -a, a), w->b_l = take(m, out[k], rng, -a, a);
        w->w_r = take(m, (size_t)out[k] * in[k], rng, -a, a);
        w->ln_w = take(m, out[k], rng, 1, 1), w->ln_b = take(m, out[k], rng, 0, 0);
    }
    gru_make(m, &m->rate_f, H + P, rng), gru_make(m, &m->rate_l, H, rng);
    float a = 1.0f / sqrtf((float)(1 + P + H)), b = 1.0f / sqrtf((float)MLP_HIDDEN);
    m->w1 = take(m, (size_t)MLP_HIDDEN * (1 + P + H), rng, -a, a);
    m->b1 = take(m, MLP_HIDDEN, rng, -a, a);
    m->w2 = take(m, MLP_HIDDEN, rng, -b, b), m->b2 = take(m, 1, rng, -b, b);
}

typedef struct event {
    int nf, nl, E, *src, *dst;
    float *dt_f, *dt_l, *h, *z, *cfg, *pathlen;
} event;

typedef struct record {
    float *x0, *tf_cache, *tl_cache, *g[3], *g_cache[3], *rin, *h2, *z2, *rf_cache, *rl_cache;
    float *mlp_a, *mlp_in, *hidden, *y;
} record;

static void forward(record *r, m4_nn_arena *tape, float *gs, const model *m, const event *e)
{
    int H = m->H, G = m->G, nf = e->nf, nl = e->nl, N = nf + nl;
    int in[3] = {H, G, G}, out[3] = {G, G, H};
    m4_nn_arena_reset(tape);
    r->x0 = m4_nn_arena_alloc(tape, (size_t)N * H);
    r->tf_cache = m4_nn_arena_alloc(tape, (size_t)nf * 4 * H);
    r->tl_cache = m4_nn_arena_alloc(tape, (size_t)nl * 4 * H);
    m4_nn_gru_forward(r->x0, r->tf_cache, gs, e->dt_f, e->h, m->time_f.w_ih, m->time_f.w_hh,
                      m->time_f.b_ih, m->time_f.b_hh, nf, 1, H);
    m4_nn_gru_forward(r->x0 + (size_t)nf * H, r->tl_cache, gs, e->dt_l, e->z, m->time_l.w_ih,
                      m->time_l.w_hh, m->time_l.b_ih, m->time_l.b_hh, nl, 1, H);
    const float *x = r->x0;
    for (int k = 0; k < 3; k++) {
        r->g[k] = m4_nn_arena_alloc(tape, (size_t)N * out[k]);
        r->g_cache[k] = m4_nn_arena_alloc(tape, m4_nn_graph_cache_floats(N, in[k], out[k]));
        m4_nn_graph_forward(r->g[k], r->g_cache[k], x, e->src, e->dst, e->E, &m->gl[k], N, in[k],
                            out[k]);
        x = r->g[k];
    }
    r->rin = m4_nn_arena_alloc(tape, (size_t)nf * (H + P));
    m4_nn_concat_forward(r->rin, r->g[2], e->cfg, nf, H, P);
    r->h2 = m4_nn_arena_alloc(tape, (size_t)nf * H), r->z2 = m4_nn_arena_alloc(tape, (size_t)nl * H);
    r->rf_cache = m4_nn_arena_alloc(tape, (size_t)nf * 4 * H);
    r->rl_cache = m4_nn_arena_alloc(tape, (size_t)nl * 4 * H);
    m4_nn_gru_forward(r->h2, r->rf_cache, gs, r->rin, r->x0, m->rate_f.w_ih, m->rate_f.w_hh,
                      m->rate_f.b_ih, m->rate_f.b_hh, nf, H + P, H);
    m4_nn_gru_forward(r->z2, r->rl_cache, gs, r->g[2] + (size_t)nf * H, r->x0 + (size_t)nf * H,
                      m->rate_l.w_ih, m->rate_l.w_hh, m->rate_l.b_ih, m->rate_l.b_hh, nl, H, H);
    r->mlp_a = m4_nn_arena_alloc(tape, (size_t)nf * (1 + P));
    r->mlp_in = m4_nn_arena_alloc(tape, (size_t)nf * (1 + P + H));
    m4_nn_concat_forward(r->mlp_a, e->pathlen, e->cfg, nf, 1, P);
    m4_nn_concat_forward(r->mlp_in, r->mlp_a, r->h2, nf, 1 + P, H);
    r->hidden = m4_nn_arena_alloc(tape, (size_t)nf * MLP_HIDDEN);
    r->y = m4_nn_arena_alloc(tape, (size_t)nf);
    m4_nn_mlp2_forward(r->y, r->hidden, r->mlp_in, m->w1, m->b1, m->w2, m->b2, nf, 1 + P + H,
                       MLP_HIDDEN, 1);
}

/* d (the gradient model) is zeroed here; dy = 1 for every flow's output. */
static void backward(model *d, m4_nn_arena *scr, float *gs, const record *r, const model *m,
                     const event *e)
{
    int H = m->H, G = m->G, nf = e->nf, nl = e->nl, N = nf + nl;
    int in[3] = {H, G, G}, out[3] = {G, G, H};
    memset(d->params, 0, d->num_params * sizeof(float));
    m4_nn_arena_reset(scr);
    float *dy = m4_nn_arena_alloc(scr, (size_t)nf);
    for (int i = 0; i < nf; i++) dy[i] = 1;
    float *dmlp_in = m4_nn_arena_zalloc(scr, (size_t)nf * (1 + P + H));
    float *mscr = m4_nn_arena_alloc(scr, (size_t)nf * MLP_HIDDEN);
    m4_nn_mlp2_backward(dmlp_in, d->w1, d->b1, d->w2, d->b2, mscr, dy, r->hidden, r->mlp_in,
                        m->w1, m->w2, nf, 1 + P + H, MLP_HIDDEN, 1);
    float *dmlp_a = m4_nn_arena_zalloc(scr, (size_t)nf * (1 + P));
    float *dh2 = m4_nn_arena_zalloc(scr, (size_t)nf * H), *dz2 = m4_nn_arena_zalloc(scr, (size_t)nl * H);
    m4_nn_concat_backward(dmlp_a, dh2, dmlp_in, nf, 1 + P, H);
    float *dx0 = m4_nn_arena_zalloc(scr, (size_t)N * H);
    float *drin = m4_nn_arena_zalloc(scr, (size_t)nf * (H + P));
    float *dg[3];
    for (int k = 0; k < 3; k++) dg[k] = m4_nn_arena_zalloc(scr, (size_t)N * out[k]);
    m4_nn_gru_backward(drin, dx0, d->rate_f.w_ih, d->rate_f.w_hh, d->rate_f.b_ih, d->rate_f.b_hh,
                       gs, dh2, r->rf_cache, r->rin, r->x0, m->rate_f.w_ih, m->rate_f.w_hh, nf,
                       H + P, H);
    m4_nn_gru_backward(dg[2] + (size_t)nf * H, dx0 + (size_t)nf * H, d->rate_l.w_ih,
                       d->rate_l.w_hh, d->rate_l.b_ih, d->rate_l.b_hh, gs, dz2, r->rl_cache,
                       r->g[2] + (size_t)nf * H, r->x0 + (size_t)nf * H, m->rate_l.w_ih,
                       m->rate_l.w_hh, nl, H, H);
    float *dcfg = m4_nn_arena_zalloc(scr, (size_t)nf * P);
    m4_nn_concat_backward(dg[2], dcfg, drin, nf, H, P);
    for (int k = 2; k >= 0; k--) {
        float *gscr = m4_nn_arena_alloc(scr, m4_nn_graph_scratch_floats(N, in[k], out[k]));
        m4_nn_graph_backward(k ? dg[k - 1] : dx0, &d->gl[k], gscr, dg[k], r->g_cache[k],
                             k ? r->g[k - 1] : r->x0, e->src, e->dst, e->E, &m->gl[k], N, in[k],
                             out[k]);
    }
    float *dh = m4_nn_arena_zalloc(scr, (size_t)nf * H), *dz = m4_nn_arena_zalloc(scr, (size_t)nl * H);
    m4_nn_gru_backward(NULL, dh, d->time_f.w_ih, d->time_f.w_hh, d->time_f.b_ih, d->time_f.b_hh,
                       gs, dx0, r->tf_cache, e->dt_f, e->h, m->time_f.w_ih, m->time_f.w_hh, nf, 1, H);
    m4_nn_gru_backward(NULL, dz, d->time_l.w_ih, d->time_l.w_hh, d->time_l.b_ih, d->time_l.b_hh,
                       gs, dx0 + (size_t)nf * H, r->tl_cache, e->dt_l, e->z, m->time_l.w_ih,
                       m->time_l.w_hh, nl, 1, H);
}

/* Matrix-product FLOPs of one forward. */
static double forward_flops(int H, int G, int nf, int nl)
{
    double N = nf + nl, f = 0;
    f += 2.0 * (nf + nl) * (1 + H) * 3 * H;                     /* time GRUs */
    int in[3] = {H, G, G}, out[3] = {G, G, H};
    for (int k = 0; k < 3; k++) f += 2.0 * N * in[k] * (in[k] + 2.0 * out[k]); /* W_p, W_l, W_r */
    f += 2.0 * nf * (H + P + H) * 3 * H + 2.0 * nl * (2.0 * H) * 3 * H;      /* rate GRUs */
    f += 2.0 * nf * ((1 + P + H) * MLP_HIDDEN + MLP_HIDDEN);                 /* MLP */
    return f;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double sgemm_peak(void)
{
    int n = 1024;
    float *a = malloc(sizeof(float) * n * n * 3), *b = a + n * n, *c = b + n * n;
    for (int i = 0; i < n * n; i++) a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
    double best = 1e30;
    for (int rep = 0; rep < 8; rep++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double t = now() - t0;
        if (t < best) best = t;
    }
    free(a);
    return 2.0 * n * n * n / best / 1e9;
}

typedef struct bench_case {
    model m, d;
    event e;
    m4_nn_arena tape, scr;
    float *gs;
} bench_case;

static void case_make(bench_case *c, int H, int G, int rows, m4_rng *rng)
{
    size_t np = model_floats(H, G);
    model_make(&c->m, malloc(np * sizeof(float)), H, G, rng);
    model_make(&c->d, malloc(np * sizeof(float)), H, G, NULL);
    if (c->m.num_params != np) fprintf(stderr, "nn_bench: parameter count mismatch\n"), exit(1);
    event *e = &c->e;
    e->nf = rows / 2, e->nl = rows - rows / 2;
    e->E = 2 * LINKS_PER_FLOW * e->nf;
    e->src = malloc(sizeof(int) * e->E), e->dst = malloc(sizeof(int) * e->E);
    for (int i = 0, k = 0; i < e->nf; i++)
        for (int j = 0; j < LINKS_PER_FLOW; j++) {
            int link = e->nf + (i * LINKS_PER_FLOW + j) % e->nl;
            e->src[k] = i, e->dst[k++] = link;
            e->src[k] = link, e->dst[k++] = i;
        }
    e->dt_f = malloc(sizeof(float) * e->nf), e->dt_l = malloc(sizeof(float) * e->nl);
    e->h = malloc(sizeof(float) * e->nf * H), e->z = malloc(sizeof(float) * e->nl * H);
    e->cfg = malloc(sizeof(float) * e->nf * P), e->pathlen = malloc(sizeof(float) * e->nf);
    for (int i = 0; i < e->nf; i++) e->dt_f[i] = (float)m4_rng_uniform(rng), e->pathlen[i] = 4;
    for (int i = 0; i < e->nl; i++) e->dt_l[i] = (float)m4_rng_uniform(rng);
    for (int i = 0; i < e->nf * H; i++) e->h[i] = (float)m4_rng_uniform(rng) - 0.5f;
    for (int i = 0; i < e->nl * H; i++) e->z[i] = (float)m4_rng_uniform(rng) - 0.5f;
    for (int i = 0; i < e->nf * P; i++) e->cfg[i] = (float)m4_rng_uniform(rng);
    m4_nn_arena_init(&c->tape, 1 << 16), m4_nn_arena_init(&c->scr, 1 << 16);
    int wide = H + P > G ? H + P : G;
    c->gs = malloc(sizeof(float) * (size_t)rows * 6 * wide);
}

static void case_free(bench_case *c)
{
    event *e = &c->e;
    free(c->m.params), free(c->d.params), free(e->src), free(e->dst), free(e->dt_f);
    free(e->dt_l), free(e->h), free(e->z), free(e->cfg), free(e->pathlen), free(c->gs);
    m4_nn_arena_free(&c->tape), m4_nn_arena_free(&c->scr);
}

/* Best (least disturbed by a concurrent load) of 7 batches, each >= 50 ms. */
static double time_per_call(bench_case *c, int with_backward)
{
    record r;
    int reps = 1;
    for (;;) {
        double t0 = now();
        for (int i = 0; i < reps; i++) {
            forward(&r, &c->tape, c->gs, &c->m, &c->e);
            if (with_backward) backward(&c->d, &c->scr, c->gs, &r, &c->m, &c->e);
        }
        if (now() - t0 > 0.05) break;
        reps *= 2;
    }
    double best = 1e30;
    for (int b = 0; b < 7; b++) {
        double t0 = now();
        for (int i = 0; i < reps; i++) {
            forward(&r, &c->tape, c->gs, &c->m, &c->e);
            if (with_backward) backward(&c->d, &c->scr, c->gs, &r, &c->m, &c->e);
        }
        double t = (now() - t0) / reps;
        if (t < best) best = t;
    }
    return best;
}

int main(void)
{
    openblas_set_num_threads(1);
    double peak = sgemm_peak();
    printf("OpenBLAS kernels: %s; sgemm 1024^3, 1 thread: %.1f GFLOP/s (peak for the %% column)\n",
           openblas_get_corename(), peak);
    printf("%-9s %5s %11s %9s %7s %13s %9s %7s\n", "H,G", "rows", "fwd_us", "GFLOP/s", "%peak",
           "fwd+bwd_us", "GFLOP/s", "%peak");
    const int sizes[2][2] = {{200, 300}, {64, 96}}, rows[3] = {8, 64, 512};
    m4_rng rng;
    m4_rng_seed(&rng, 1);
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 3; k++) {
            bench_case c;
            case_make(&c, sizes[s][0], sizes[s][1], rows[k], &rng);
            double f = forward_flops(sizes[s][0], sizes[s][1], c.e.nf, c.e.nl);
            double tf = time_per_call(&c, 0), tb = time_per_call(&c, 1);
            char hg[16];
            snprintf(hg, sizeof hg, "%d,%d", sizes[s][0], sizes[s][1]);
            printf("%-9s %5d %11.1f %9.2f %6.1f%% %13.1f %9.2f %6.1f%%\n", hg, rows[k], tf * 1e6,
                   f / tf / 1e9, 100 * f / tf / 1e9 / peak, tb * 1e6, 3 * f / tb / 1e9,
                   100 * 3 * f / tb / 1e9 / peak);
            case_free(&c);
        }
    /* The peak again at the end: under a concurrent load the better of the two
     * is the closer to what the machine can do. */
    double peak_end = sgemm_peak();
    printf("sgemm 1024^3 again at the end: %.1f GFLOP/s\n", peak_end);
    /* Thread count: same outputs up to float rounding. */
    bench_case c;
    case_make(&c, 200, 300, 512, &rng);
    record r;
    forward(&r, &c.tape, c.gs, &c.m, &c.e);
    float *one = malloc(sizeof(float) * c.e.nf);
    memcpy(one, r.y, sizeof(float) * c.e.nf);
    openblas_set_num_threads(2);
    forward(&r, &c.tape, c.gs, &c.m, &c.e);
    double worst = 0;
    for (int i = 0; i < c.e.nf; i++) {
        double d = fabs((double)one[i] - r.y[i]) / (fabs((double)one[i]) + 1e-6);
        if (d > worst) worst = d;
    }
    double t2 = time_per_call(&c, 1);
    openblas_set_num_threads(1);
    double t1 = time_per_call(&c, 1);
    printf("H=200,G=300, 512 rows: 2 BLAS threads vs 1: outputs differ by at most %.2g relative; "
           "fwd+bwd %.1f us vs %.1f us\n", worst, t2 * 1e6, t1 * 1e6);
    free(one);
    case_free(&c);
    return 0;
}
