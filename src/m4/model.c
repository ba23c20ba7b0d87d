#include "m4/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "nn/adam.h"
#include "nn/layers.h"

void m4_model_dims_default(m4_model_dims *d)
{
    d->hidden = 48;
    d->gnn = 64;
    d->mlp_hidden = 100;
    d->head_hidden = 32;
    d->neighbourhood = M4_NEIGHBOURHOOD_LINKS; /* the paper's */
    d->flow_extra = 2; /* m4sim train --path-load 1: 3 */
}

int m4_neighbourhood_parse(const char *name)
{
    for (int mode = 0; mode <= M4_NEIGHBOURHOOD_LINKS; mode++)
        if (strcmp(name, m4_neighbourhood_name(mode)) == 0) return mode;
    return -1;
}

const char *m4_neighbourhood_name(int mode)
{
    switch (mode) {
    case M4_NEIGHBOURHOOD_COMPONENT: return "component";
    case M4_NEIGHBOURHOOD_FLOWS: return "flows";
    case M4_NEIGHBOURHOOD_LINKS: return "links";
    default: return "?";
    }
}

/* Lays the tensors out one after another; with rng set, also initialises
 * them as PyTorch would (uniform +-1/sqrt(fan_in), LayerNorm weight 1 bias 0). */
typedef struct layout {
    float *base;
    size_t used;
    m4_rng *rng;
} layout;

enum init_kind { INIT_UNIFORM, INIT_ONES, INIT_ZEROS };

static float *take(layout *l, size_t n, enum init_kind kind, int fan_in)
{
    float *p = l->base ? l->base + l->used : NULL;
    l->used += n;
    if (p && l->rng) {
        if (kind == INIT_UNIFORM) m4_nn_init_uniform(p, n, fan_in, l->rng);
        else for (size_t i = 0; i < n; i++) p[i] = kind == INIT_ONES ? 1.0f : 0.0f;
    }
    return p;
}

static void take_gru(layout *l, m4_gru_weights *g, int C, int H)
{
    /* PyTorch's GRU draws every tensor from +-1/sqrt(hidden). */
    g->w_ih = take(l, (size_t)3 * H * C, INIT_UNIFORM, H);
    g->w_hh = take(l, (size_t)3 * H * H, INIT_UNIFORM, H);
    g->b_ih = take(l, (size_t)3 * H, INIT_UNIFORM, H);
    g->b_hh = take(l, (size_t)3 * H, INIT_UNIFORM, H);
}

static void take_mlp(layout *l, m4_mlp_weights *m, int C, int Hd, int O)
{
    m->w1 = take(l, (size_t)Hd * C, INIT_UNIFORM, C);
    m->b1 = take(l, (size_t)Hd, INIT_UNIFORM, C);
    m->w2 = take(l, (size_t)O * Hd, INIT_UNIFORM, Hd);
    m->b2 = take(l, (size_t)O, INIT_UNIFORM, Hd);
}

static void take_graph(layout *l, m4_nn_graph_weights *g, int C, int OC)
{
    g->w_p = take(l, (size_t)C * C, INIT_UNIFORM, C);
    g->b_p = take(l, (size_t)C, INIT_UNIFORM, C);
    g->w_l = take(l, (size_t)OC * C, INIT_UNIFORM, C);
    g->b_l = take(l, (size_t)OC, INIT_UNIFORM, C);
    g->w_r = take(l, (size_t)OC * C, INIT_UNIFORM, C);
    g->ln_w = take(l, (size_t)OC, INIT_ONES, 1);
    g->ln_b = take(l, (size_t)OC, INIT_ZEROS, 1);
}

static int gnn_in(const m4_model_dims *d, int k) { return k == 0 ? d->hidden : d->gnn; }
static int gnn_outw(const m4_model_dims *d, int k)
{
    return k == M4_MODEL_GNN_LAYERS - 1 ? d->hidden : d->gnn;
}

static size_t lay_out(m4_model_weights *w, float *base, m4_rng *rng, const m4_model_dims *d)
{
    layout l = {base, 0, rng};
    const int H = d->hidden, P = M4_MODEL_CONFIG;
    take_gru(&l, &w->time_flow, 1, H);
    take_gru(&l, &w->time_link, 1, H);
    for (int k = 0; k < M4_MODEL_GNN_LAYERS; k++)
        take_graph(&l, &w->gnn[k], gnn_in(d, k), gnn_outw(d, k));
    take_gru(&l, &w->rate_flow, H + P + d->flow_extra, H);
    take_gru(&l, &w->rate_link, H, H);
    take_mlp(&l, &w->slowdown, 1 + P + H + d->flow_extra, d->mlp_hidden, 1);
    /* A zero last layer: the untrained model answers flowSim's slowdown. */
    if (base && rng) {
        memset(w->slowdown.w2, 0, sizeof(float) * (size_t)d->mlp_hidden);
        w->slowdown.b2[0] = 0.0f;
    }
    take_mlp(&l, &w->remaining, H, d->head_hidden, 1);
    take_mlp(&l, &w->queue, H, d->head_hidden, 1);
    return l.used;
}

void m4_model_weights_at(m4_model_weights *w, float *base, const m4_model_dims *d)
{
    lay_out(w, base, NULL, d);
}

static int dims_valid(const m4_model_dims *d)
{
    return d->hidden >= 4 && d->hidden <= 4096 && d->gnn >= 1 && d->gnn <= 4096 &&
           d->mlp_hidden >= 1 && d->mlp_hidden <= 4096 && d->head_hidden >= 1 &&
           d->head_hidden <= 4096 && d->neighbourhood >= M4_NEIGHBOURHOOD_COMPONENT &&
           d->neighbourhood <= M4_NEIGHBOURHOOD_LINKS && d->flow_extra >= 2 &&
           d->flow_extra <= M4_MODEL_FLOW_EXTRA_MAX;
}

int m4_model_create(m4_model *m, const m4_model_dims *d, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    if (!dims_valid(d))
        return m4_error_set(M4_EINVAL, "model dimensions out of range (hidden %d, gnn %d)",
                            d->hidden, d->gnn);
    m->dims = *d;
    m4_model_weights scratch;
    m->num_params = lay_out(&scratch, NULL, NULL, d);
    m->params = malloc(m->num_params * sizeof *m->params);
    if (!m->params) return M4_ENOMEM;
    m4_rng rng;
    m4_rng_seed(&rng, seed);
    lay_out(&m->w, m->params, &rng, d);
    return M4_OK;
}

static void transpose_gru(m4_gru_weights *t, const m4_gru_weights *g, int C, int H)
{
    m4_nn_transpose(t->w_ih, g->w_ih, 3 * H, C);
    m4_nn_transpose(t->w_hh, g->w_hh, 3 * H, H);
}

static void transpose_mlp(m4_mlp_weights *t, const m4_mlp_weights *m, int C, int Hd, int O)
{
    m4_nn_transpose(t->w1, m->w1, Hd, C);
    m4_nn_transpose(t->w2, m->w2, O, Hd);
}

int m4_model_prepare_inference(m4_model *m)
{
    free(m->params_t);
    if (!(m->params_t = malloc(m->num_params * sizeof *m->params_t))) return M4_ENOMEM;
    memcpy(m->params_t, m->params, m->num_params * sizeof *m->params_t);
    const m4_model_dims *d = &m->dims;
    const int H = d->hidden, P = M4_MODEL_CONFIG;
    m4_model_weights *t = &m->w_t;
    lay_out(t, m->params_t, NULL, d);
    transpose_gru(&t->time_flow, &m->w.time_flow, 1, H);
    transpose_gru(&t->time_link, &m->w.time_link, 1, H);
    for (int k = 0; k < M4_MODEL_GNN_LAYERS; k++) {
        const int C = gnn_in(d, k), OC = gnn_outw(d, k);
        m4_nn_transpose(t->gnn[k].w_p, m->w.gnn[k].w_p, C, C);
        m4_nn_transpose(t->gnn[k].w_l, m->w.gnn[k].w_l, OC, C);
        m4_nn_transpose(t->gnn[k].w_r, m->w.gnn[k].w_r, OC, C);
        t->gnn[k].transposed = 1;
    }
    transpose_gru(&t->rate_flow, &m->w.rate_flow, H + P + d->flow_extra, H);
    transpose_gru(&t->rate_link, &m->w.rate_link, H, H);
    transpose_mlp(&t->slowdown, &m->w.slowdown, 1 + P + H + d->flow_extra, d->mlp_hidden,
                  1);
    transpose_mlp(&t->remaining, &m->w.remaining, H, d->head_hidden, 1);
    transpose_mlp(&t->queue, &m->w.queue, H, d->head_hidden, 1);
    return M4_OK;
}

void m4_model_free(m4_model *m)
{
    free(m->params);
    free(m->params_t);
    memset(m, 0, sizeof *m);
}

/* rows x old_cols -> rows x new_cols, the extra columns zero. */
static void widen_columns(float *dst, const float *src, int rows, int old_cols, int new_cols)
{
    for (int r = 0; r < rows; r++) {
        memcpy(dst + (size_t)r * new_cols, src + (size_t)r * old_cols, sizeof(float) * old_cols);
        memset(dst + (size_t)r * new_cols + old_cols, 0, sizeof(float) * (new_cols - old_cols));
    }
}

static void copy_floats(float *dst, const float *src, size_t n) { memcpy(dst, src, sizeof(float) * n); }

int m4_model_widen_flow_extra(m4_model *dst, const m4_model *src, int flow_extra)
{
    const m4_model_dims *sd = &src->dims;
    if (flow_extra < sd->flow_extra || flow_extra > M4_MODEL_FLOW_EXTRA_MAX)
        return m4_error_set(M4_EINVAL, "m4 model: cannot widen %d flow inputs to %d",
                            sd->flow_extra, flow_extra);
    m4_model_dims d = *sd;
    d.flow_extra = flow_extra;
    int err = m4_model_create(dst, &d, 0);
    if (err) return err;
    /* Only the input matrices of the two layers that read the flow inputs
     * change shape; in lay_out's order every other tensor keeps its size,
     * so the runs between them copy as they are. */
    const int H = d.hidden, P = M4_MODEL_CONFIG, X0 = sd->flow_extra;
    const m4_model_weights *s = &src->w;
    m4_model_weights *w = &dst->w;
    copy_floats(dst->params, src->params, (size_t)(s->rate_flow.w_ih - src->params));
    widen_columns(w->rate_flow.w_ih, s->rate_flow.w_ih, 3 * H, H + P + X0, H + P + flow_extra);
    copy_floats(w->rate_flow.w_hh, s->rate_flow.w_hh, (size_t)(s->slowdown.w1 - s->rate_flow.w_hh));
    widen_columns(w->slowdown.w1, s->slowdown.w1, d.mlp_hidden, 1 + P + H + X0,
                  1 + P + H + flow_extra);
    copy_floats(w->slowdown.b1, s->slowdown.b1,
                (size_t)(src->params + src->num_params - s->slowdown.b1));
    return M4_OK;
}

void m4_model_shrink(m4_model *m, float factor)
{
    for (int i = 0; i < m->dims.mlp_hidden; i++) m->w.slowdown.w2[i] *= factor;
    m->w.slowdown.b2[0] *= factor;
}

void m4_model_flow_init(float *h, int H, int64_t size_bytes, int path_length)
{
    memset(h, 0, (size_t)H * sizeof *h);
    h[0] = 1.0f;
    h[2] = (float)log2((double)size_bytes / 1000.0 + 1.0);
    h[3] = (float)path_length;
}

void m4_model_link_init(float *z, int H)
{
    memset(z, 0, (size_t)H * sizeof *z);
    z[1] = 1.0f;
    z[2] = 1.0f;
}

float m4_model_dt_feature(int64_t dt_ns)
{
    /* DESIGN feeds dt in microseconds; its logarithm keeps the GRU out of
     * saturation across the 1 ns .. 100 ms range of gaps between events. */
    return (float)log2(1.0 + (double)(dt_ns > 0 ? dt_ns : 0) / 1000.0);
}

float m4_model_queue_feature(double queue_bytes)
{
    return (float)cbrt(queue_bytes > 0 ? queue_bytes / 1000.0 : 0.0);
}

static void flow_extra(float *x, int X, const m4_step_input *in, const float *base, int i)
{
    x[0] = in->flow_fair_share ? in->flow_fair_share[i] : 1.0f;
    x[1] = log2f(base[i]);
    if (X > 2) x[2] = in->flow_path_load ? in->flow_path_load[i] : 0.0f;
    if (X > 3) x[3] = in->flow_age ? in->flow_age[i] : 0.0f;
}

#define ALLOC(p, n)                                           \
    do {                                                      \
        if (!((p) = m4_nn_arena_alloc(arena, (size_t)(n))))   \
            return M4_ENOMEM;                                 \
    } while (0)

int m4_step_forward(m4_step_record *rec, const m4_model *m, const m4_step_input *in,
                    m4_nn_arena *arena, int with_heads)
{
    const m4_model_dims *d = &m->dims;
    /* The transposed weights where prepared (their graph weights say so). */
    const int transposed = m->params_t != NULL;
    const m4_model_weights *w = transposed ? &m->w_t : &m->w;
    void (*gru)(float *, float *, float *, const float *, const float *, const float *,
                const float *, const float *, const float *, int, int, int) =
        transposed ? m4_nn_gru_forward_wt : m4_nn_gru_forward;
    void (*mlp2)(float *, float *, const float *, const float *, const float *, const float *,
                 const float *, int, int, int, int) =
        transposed ? m4_nn_mlp2_forward_wt : m4_nn_mlp2_forward;
    const int H = d->hidden, P = M4_MODEL_CONFIG;
    const int N = in->num_flows, L = in->num_links, E = in->num_pairs, R = N + L;
    memset(rec, 0, sizeof *rec);
    rec->N = N, rec->L = L, rec->E = E;

    ALLOC(rec->flow_h_in, N * H);
    ALLOC(rec->link_z_in, L * H);
    ALLOC(rec->flow_dt, N);
    ALLOC(rec->link_dt, L);
    ALLOC(rec->config, P);
    memcpy(rec->flow_h_in, in->flow_h, sizeof(float) * N * H);
    memcpy(rec->link_z_in, in->link_z, sizeof(float) * L * H);
    memcpy(rec->flow_dt, in->flow_dt, sizeof(float) * N);
    memcpy(rec->link_dt, in->link_dt, sizeof(float) * L);
    memcpy(rec->config, in->config, sizeof(float) * P);
    if (!(rec->edge_src = m4_nn_arena_alloc_int(arena, 2 * (size_t)E)) ||
        !(rec->edge_dst = m4_nn_arena_alloc_int(arena, 2 * (size_t)E)))
        return M4_ENOMEM;
    for (int e = 0; e < E; e++) {
        int f = in->pair_flow[e], l = N + in->pair_link[e];
        rec->edge_src[2 * e] = f, rec->edge_dst[2 * e] = l;
        rec->edge_src[2 * e + 1] = l, rec->edge_dst[2 * e + 1] = f;
    }

    float *scratch;
    ALLOC(scratch, (size_t)(R > 0 ? R : 1) * 6 * H);

    /* 1. temporal */
    ALLOC(rec->time_flow_cache, N * 4 * H);
    ALLOC(rec->time_link_cache, L * 4 * H);
    ALLOC(rec->x0, R * H);
    gru(rec->x0, rec->time_flow_cache, scratch, rec->flow_dt, rec->flow_h_in,
        w->time_flow.w_ih, w->time_flow.w_hh, w->time_flow.b_ih,
        w->time_flow.b_hh, N, 1, H);
    gru(rec->x0 + (size_t)N * H, rec->time_link_cache, scratch, rec->link_dt,
        rec->link_z_in, w->time_link.w_ih, w->time_link.w_hh, w->time_link.b_ih,
        w->time_link.b_hh, L, 1, H);

    /* 2. spatial */
    const float *x = rec->x0;
    for (int k = 0; k < M4_MODEL_GNN_LAYERS; k++) {
        int C = gnn_in(d, k), OC = gnn_outw(d, k);
        ALLOC(rec->gnn_cache[k], m4_nn_graph_cache_floats(R, C, OC));
        ALLOC(rec->gnn_out[k], (size_t)R * OC);
        m4_nn_graph_forward(rec->gnn_out[k], rec->gnn_cache[k], x, rec->edge_src, rec->edge_dst,
                            2 * E, &w->gnn[k], R, C, OC);
        x = rec->gnn_out[k];
    }
    const float *gnn_flow = x, *gnn_link = x + (size_t)N * H;

    /* 3. rate */
    const int RX = H + P + d->flow_extra;
    ALLOC(rec->base, N);
    for (int i = 0; i < N; i++) {
        float b = in->flow_base_slowdown ? in->flow_base_slowdown[i] : 1.0f;
        rec->base[i] = b >= 1.0f ? b : 1.0f;
    }
    ALLOC(rec->rate_flow_x, N * RX);
    for (int i = 0; i < N; i++) {
        float *row = rec->rate_flow_x + (size_t)i * RX;
        memcpy(row, gnn_flow + (size_t)i * H, sizeof(float) * H);
        memcpy(row + H, rec->config, sizeof(float) * P);
        flow_extra(row + H + P, d->flow_extra, in, rec->base, i);
    }
    ALLOC(rec->rate_flow_cache, N * 4 * H);
    ALLOC(rec->rate_link_cache, L * 4 * H);
    ALLOC(rec->flow_h_out, N * H);
    ALLOC(rec->link_z_out, L * H);
    gru(rec->flow_h_out, rec->rate_flow_cache, scratch, rec->rate_flow_x, rec->x0,
        w->rate_flow.w_ih, w->rate_flow.w_hh, w->rate_flow.b_ih,
        w->rate_flow.b_hh, N, RX, H);
    gru(rec->link_z_out, rec->rate_link_cache, scratch, gnn_link,
        rec->x0 + (size_t)N * H, w->rate_link.w_ih, w->rate_link.w_hh,
        w->rate_link.b_ih, w->rate_link.b_hh, L, H, H);

    /* 4. outputs */
    const int SX = 1 + P + H + d->flow_extra;
    ALLOC(rec->slowdown_x, N * SX);
    ALLOC(rec->slowdown_hidden, N * d->mlp_hidden);
    ALLOC(rec->slowdown, N);
    for (int i = 0; i < N; i++) {
        float *row = rec->slowdown_x + (size_t)i * SX;
        row[0] = in->flow_path_length[i];
        memcpy(row + 1, rec->config, sizeof(float) * P);
        memcpy(row + 1 + P, rec->flow_h_out + (size_t)i * H, sizeof(float) * H);
        flow_extra(row + 1 + P + H, d->flow_extra, in, rec->base, i);
    }
    mlp2(rec->slowdown, rec->slowdown_hidden, rec->slowdown_x, w->slowdown.w1,
         w->slowdown.b1, w->slowdown.w2, w->slowdown.b2, N, SX, d->mlp_hidden, 1);
    for (int i = 0; i < N; i++) rec->slowdown[i] = rec->base[i] * (1.0f + rec->slowdown[i]);
    if (with_heads) {
        ALLOC(rec->remaining_hidden, N * d->head_hidden);
        ALLOC(rec->remaining, N);
        ALLOC(rec->queue_hidden, L * d->head_hidden);
        ALLOC(rec->queue, L);
        mlp2(rec->remaining, rec->remaining_hidden, rec->flow_h_out,
             w->remaining.w1, w->remaining.b1, w->remaining.w2, w->remaining.b2, N,
             H, d->head_hidden, 1);
        mlp2(rec->queue, rec->queue_hidden, rec->link_z_out, w->queue.w1,
             w->queue.b1, w->queue.w2, w->queue.b2, L, H, d->head_hidden, 1);
    }
    return M4_OK;
}

#undef ALLOC
#define ALLOC(p, n)                                           \
    do {                                                      \
        if (!((p) = m4_nn_arena_zalloc(scratch, (size_t)(n))))  \
            return M4_ENOMEM;                                 \
    } while (0)

int m4_step_backward(float *d_flow_h_in, float *d_link_z_in, const m4_model_weights *g,
                     const m4_model *m, const m4_step_record *rec, const float *d_flow_h_out,
                     const float *d_link_z_out, const float *d_slowdown,
                     const float *d_remaining, const float *d_queue, m4_nn_arena *scratch)
{
    const m4_model_dims *d = &m->dims;
    const m4_model_weights *w = &m->w;
    const int H = d->hidden, P = M4_MODEL_CONFIG, SX = 1 + P + H + d->flow_extra,
              RX = H + P + d->flow_extra;
    const int N = rec->N, L = rec->L, E = rec->E, R = N + L;
    m4_nn_arena_reset(scratch);

    float *dh_out, *dz_out, *tmp;
    ALLOC(dh_out, N * H);
    ALLOC(dz_out, L * H);
    ALLOC(tmp, (size_t)(R > 0 ? R : 1) * 6 * H + (size_t)N * d->mlp_hidden + 1);
    if (d_flow_h_out) memcpy(dh_out, d_flow_h_out, sizeof(float) * N * H);
    if (d_link_z_out) memcpy(dz_out, d_link_z_out, sizeof(float) * L * H);

    /* 4. outputs */
    if (d_slowdown) {
        float *dsx, *draw;
        ALLOC(dsx, N * SX);
        ALLOC(draw, N);
        for (int i = 0; i < N; i++) draw[i] = d_slowdown[i] * rec->base[i];
        m4_nn_mlp2_backward(dsx, g->slowdown.w1, g->slowdown.b1, g->slowdown.w2, g->slowdown.b2,
                            tmp, draw, rec->slowdown_hidden, rec->slowdown_x,
                            w->slowdown.w1, w->slowdown.w2, N, SX, d->mlp_hidden, 1);
        for (int i = 0; i < N; i++)
            for (int k = 0; k < H; k++) dh_out[(size_t)i * H + k] += dsx[(size_t)i * SX + 1 + P + k];
    }
    if (d_remaining && rec->remaining)
        m4_nn_mlp2_backward(dh_out, g->remaining.w1, g->remaining.b1, g->remaining.w2,
                            g->remaining.b2, tmp, d_remaining, rec->remaining_hidden,
                            rec->flow_h_out, w->remaining.w1, w->remaining.w2, N, H,
                            d->head_hidden, 1);
    if (d_queue && rec->queue)
        m4_nn_mlp2_backward(dz_out, g->queue.w1, g->queue.b1, g->queue.w2, g->queue.b2, tmp,
                            d_queue, rec->queue_hidden, rec->link_z_out, w->queue.w1,
                            w->queue.w2, L, H, d->head_hidden, 1);

    /* 3. rate */
    float *dx0, *d_rate_flow_x, *dgnn;
    ALLOC(dx0, R * H);
    ALLOC(d_rate_flow_x, N * RX);
    ALLOC(dgnn, R * H);
    m4_nn_gru_backward(d_rate_flow_x, dx0, g->rate_flow.w_ih, g->rate_flow.w_hh,
                       g->rate_flow.b_ih, g->rate_flow.b_hh, tmp, dh_out, rec->rate_flow_cache,
                       rec->rate_flow_x, rec->x0, w->rate_flow.w_ih, w->rate_flow.w_hh, N, RX,
                       H);
    for (int i = 0; i < N; i++)
        memcpy(dgnn + (size_t)i * H, d_rate_flow_x + (size_t)i * RX, sizeof(float) * H);
    m4_nn_gru_backward(dgnn + (size_t)N * H, dx0 + (size_t)N * H, g->rate_link.w_ih,
                       g->rate_link.w_hh, g->rate_link.b_ih, g->rate_link.b_hh, tmp, dz_out,
                       rec->rate_link_cache, rec->gnn_out[M4_MODEL_GNN_LAYERS - 1] + (size_t)N * H,
                       rec->x0 + (size_t)N * H, w->rate_link.w_ih, w->rate_link.w_hh, L, H, H);

    /* 2. spatial, last layer first */
    const float *dout = dgnn;
    for (int k = M4_MODEL_GNN_LAYERS - 1; k >= 0; k--) {
        int C = gnn_in(d, k), OC = gnn_outw(d, k);
        float *dx;
        if (k == 0) {
            dx = dx0;
        } else {
            ALLOC(dx, (size_t)R * C);
        }
        float *gscratch;
        ALLOC(gscratch, m4_nn_graph_scratch_floats(R, C, OC));
        const float *x = k == 0 ? rec->x0 : rec->gnn_out[k - 1];
        m4_nn_graph_backward(dx, &g->gnn[k], gscratch, dout, rec->gnn_cache[k], x, rec->edge_src,
                             rec->edge_dst, 2 * E, &w->gnn[k], R, C, OC);
        dout = dx;
    }

    /* 1. temporal */
    if (d_flow_h_in) memset(d_flow_h_in, 0, sizeof(float) * N * H);
    if (d_link_z_in) memset(d_link_z_in, 0, sizeof(float) * L * H);
    float *dh_in;
    ALLOC(dh_in, R * H);
    m4_nn_gru_backward(NULL, dh_in, g->time_flow.w_ih, g->time_flow.w_hh, g->time_flow.b_ih,
                       g->time_flow.b_hh, tmp, dx0, rec->time_flow_cache, rec->flow_dt,
                       rec->flow_h_in, w->time_flow.w_ih, w->time_flow.w_hh, N, 1, H);
    m4_nn_gru_backward(NULL, dh_in + (size_t)N * H, g->time_link.w_ih, g->time_link.w_hh,
                       g->time_link.b_ih, g->time_link.b_hh, tmp, dx0 + (size_t)N * H,
                       rec->time_link_cache, rec->link_dt, rec->link_z_in, w->time_link.w_ih,
                       w->time_link.w_hh, L, 1, H);
    if (d_flow_h_in) memcpy(d_flow_h_in, dh_in, sizeof(float) * N * H);
    if (d_link_z_in) memcpy(d_link_z_in, dh_in + (size_t)N * H, sizeof(float) * L * H);
    return M4_OK;
}
