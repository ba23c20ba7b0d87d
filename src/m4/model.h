/* The m4 model (DESIGN.md section 8): the per-event state update of the
 * flows and links an event touches (its neighbourhood, m4_neighbourhood), and its
 * backward pass.
 *
 * One event updates N flows and L directed links sharing them (E flow-link
 * incidences). With H = hidden, G = gnn width, P = 13 config features:
 *   1. temporal:  h' = GRU_time_flow(dt_flow, h),  z' = GRU_time_link(dt_link, z)
 *                 (input: log2(1 + dt in microseconds), one number per row)
 *   2. spatial:   three graph layers H -> G -> G -> H over the nodes
 *                 [flows ; links] with edges flow<->link both ways
 *   3. rate:      h'' = GRU_rate_flow([gnn_flow, p, x], h'), z'' = GRU_rate_link(gnn_link, z')
 *   4. outputs:   slowdown = base x (1 + MLP([path length, p, h'', x]))  (hidden 100, ReLU)
 *                 remaining fraction = MLP(h''), queue = MLP(z'') predicting
 *                 cbrt(queue bytes / 1000)
 * Beyond DESIGN's model, each flow carries the fluid (flowSim) view kept by
 * m4_state_fluid: x = [fair, log2(base)] with fair = its max-min rate over
 * its bottleneck rate now and base = the slowdown flowSim would predict for
 * it now. The MLP predicts a relative correction of base, so an untrained
 * model starts at flowSim's answer and training only has to learn what
 * flowSim misses (queueing, CC dynamics) instead of rediscovering max-min
 * sharing from scratch. Models with flow_extra 3 also see each flow's path
 * load (m4_state_path_load), the other flows' max-min load on the busiest
 * link of its path: what a small flow's packets queue behind, which the
 * max-min view, serving it at its share at once, does not show.
 * All parameters live in one allocation (m4_model.params); m4_model_weights
 * is a struct of pointers into it, and the same layout over a gradient buffer
 * gives the gradients. */
#ifndef M4_M4_MODEL_H
#define M4_M4_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "net/config.h"
#include "nn/arena.h"
#include "nn/graph.h"

#define M4_MODEL_CONFIG M4_CONFIG_FEATURES /* P */
#define M4_MODEL_GNN_LAYERS 3
/* 5: the flow features x in the file, written only for models with the path
 * load (m4_model_save writes the others as version 4; version 4 files read
 * as 2 features, version 3 files as COMPONENT too) */
#define M4_MODEL_VERSION 5
#define M4_MODEL_FLOW_EXTRA_MAX 4 /* x: fair, log2(base)[, path load[, age]] */

/* Which flows and links an event updates (the model file says which its
 * weights were trained with; trainer and backend must agree):
 *   COMPONENT  every flow connected to the event's links through coupling
 *              links, transitively, and all their links (m4sim's first rule);
 *   FLOWS      the flows on the event's links, and all their links;
 *   LINKS      the flows on the event's links, and those links only: the
 *              graph is a star around the event's path (the paper's m4).
 * Under FLOWS and LINKS the fluid (flowSim) view is recomputed over the
 * event's flows and all their links, the flows beyond keeping their max-min
 * rates (m4_state_fair_share). */
typedef enum m4_neighbourhood {
    M4_NEIGHBOURHOOD_COMPONENT = 0,
    M4_NEIGHBOURHOOD_FLOWS = 1,
    M4_NEIGHBOURHOOD_LINKS = 2,
} m4_neighbourhood;

/* "component" | "flows" | "links" -> m4_neighbourhood, or -1. */
int m4_neighbourhood_parse(const char *name);
const char *m4_neighbourhood_name(int mode);

typedef struct m4_model_dims {
    int hidden;      /* H: flow and link state width */
    int gnn;         /* G: width of the middle graph layers */
    int mlp_hidden;  /* hidden width of the slowdown MLP (100 in the paper) */
    int head_hidden; /* hidden width of the remaining-size and queue heads */
    int neighbourhood; /* m4_neighbourhood: which flows and links an event updates,
                          part of what the weights were trained for */
    int flow_extra;    /* fluid-view features per flow, X: 2 = fair, log2(base);
                          3 = those and the path load (m4_state_path_load);
                          4 = those and the age (m4_state_flow_age) */
} m4_model_dims;

typedef struct m4_gru_weights {
    float *w_ih, *w_hh, *b_ih, *b_hh;
} m4_gru_weights;

typedef struct m4_mlp_weights {
    float *w1, *b1, *w2, *b2;
} m4_mlp_weights;

typedef struct m4_model_weights {
    m4_gru_weights time_flow, time_link, rate_flow, rate_link;
    m4_nn_graph_weights gnn[M4_MODEL_GNN_LAYERS];
    m4_mlp_weights slowdown, remaining, queue;
} m4_model_weights;

typedef struct m4_model {
    m4_model_dims dims;
    size_t num_params;
    float *params;
    m4_model_weights w;
    /* After m4_model_prepare_inference: the same weights with every matrix
     * transposed (vectors copied), which m4_step_forward then uses. */
    float *params_t;
    m4_model_weights w_t;
} m4_model;

/* Default dimensions of the shipped model (small enough to train on 2 cores). */
void m4_model_dims_default(m4_model_dims *d);
/* Allocate with PyTorch default initialisation drawn from seed. */
int m4_model_create(m4_model *m, const m4_model_dims *d, uint64_t seed);
void m4_model_free(m4_model *m);
/* Point a weights struct into any buffer laid out like m->params (gradients). */
void m4_model_weights_at(m4_model_weights *w, float *base, const m4_model_dims *d);
int m4_model_save(const m4_model *m, const char *path);
/* Fails with M4_EFORMAT (and the file name) on a file that is not an m4
 * model of this version. */
int m4_model_load(m4_model *m, const char *path);

/* For a model that only runs forward (the m4 backend): keep the weight
 * matrices transposed as well, the layout the forward pass multiplies about
 * 1.6x faster for an event's few rows (m4_nn_linear_forward_wt); outputs
 * equal the untransposed pass's up to float rounding. Call after the last
 * change to the weights; the trainer, which changes them, never does. */
int m4_model_prepare_inference(m4_model *m);

/* dst = src with flow_extra inputs instead of src's fewer: the weights of
 * the new inputs (columns of the rate GRU's and the slowdown MLP's input
 * matrices) are zero, so dst computes exactly what src does until training
 * moves them; every other weight is src's. dst is created here. */
int m4_model_widen_flow_extra(m4_model *dst, const m4_model *src, int flow_extra);

/* Scale the learned correction of flowSim's slowdown by a factor:
 * slowdown = base x (1 + factor x MLP), by scaling the MLP's last layer.
 * Teacher-forced training learns the correction on ground-truth event times;
 * in a closed loop the errors of the correction feed back through the event
 * times, and a factor below 1 chosen on held-out scenarios trades some of
 * the correction for stability. */
void m4_model_shrink(m4_model *m, float factor);

/* Initial states (DESIGN.md 8): flow [1, 0, log2(size/1000 + 1), path length, 0...],
 * link [0, 1, 1, 0...]. */
void m4_model_flow_init(float *h, int H, int64_t size_bytes, int path_length);
void m4_model_link_init(float *z, int H);
/* What the temporal GRU sees of an elapsed time. */
float m4_model_dt_feature(int64_t dt_ns);
/* Target of the queue head for a queue of q bytes. */
float m4_model_queue_feature(double queue_bytes);

/* One event's inputs. Node rows: flows 0..N-1, links N..N+L-1. */
typedef struct m4_step_input {
    int num_flows, num_links, num_pairs;
    const float *flow_h;       /* (N,H) state before the event */
    const float *link_z;       /* (L,H) */
    const float *flow_dt;      /* (N) m4_model_dt_feature of the time since each was updated */
    const float *link_dt;      /* (L) */
    const float *flow_path_length; /* (N) links on each flow's path */
    const float *flow_fair_share;  /* (N) max-min rate / bottleneck rate, in (0, 1] (NULL: 1) */
    const float *flow_base_slowdown; /* (N) flowSim's slowdown now, >= 1 (NULL: 1) */
    const float *config;       /* (P) m4_config_features */
    const int *pair_flow;      /* (E) flow row of each incidence */
    const int *pair_link;      /* (E) link row (0..L-1) */
    const float *flow_path_load; /* (N) m4_state_path_load, in [0, 1] (NULL: 0; read
                                    when flow_extra is 3 or 4) */
    const float *flow_age;       /* (N) m4_state_flow_age (NULL: 0; read when flow_extra is 4) */
} m4_step_input;

/* What the forward pass keeps (all in the arena) for the backward pass. */
typedef struct m4_step_record {
    int N, L, E;
    float *flow_h_in, *link_z_in, *flow_dt, *link_dt, *config;
    int *edge_src, *edge_dst;            /* 2E edges in node space */
    float *time_flow_cache, *time_link_cache;
    float *x0;                           /* (N+L,H) temporal outputs, flows then links */
    float *gnn_cache[M4_MODEL_GNN_LAYERS], *gnn_out[M4_MODEL_GNN_LAYERS];
    float *base;                         /* (N) */
    float *rate_flow_x;                  /* (N,H+P+X) */
    float *rate_flow_cache, *rate_link_cache;
    float *flow_h_out, *link_z_out;      /* (N,H), (L,H) new states */
    float *slowdown_x, *slowdown_hidden, *slowdown; /* (N,1+P+H+X), (N,100), (N) */
    float *remaining_hidden, *remaining; /* (N,Hh), (N) */
    float *queue_hidden, *queue;         /* (L,Hh), (L) */
} m4_step_record;

/* Run the update; every array of rec lives in arena (valid until its reset).
 * with_heads = 0 skips the remaining-size and queue heads (inference). */
int m4_step_forward(m4_step_record *rec, const m4_model *m, const m4_step_input *in,
                    m4_nn_arena *arena, int with_heads);

/* Backward of one recorded step. d_flow_h_out (N,H) and d_link_z_out (L,H):
 * gradients w.r.t. the new states from later events (may be NULL = zero);
 * d_slowdown (N), d_remaining (N), d_queue (L): loss gradients (NULL = zero).
 * Writes (overwrites) d_flow_h_in (N,H) and d_link_z_in (L,H) when not NULL;
 * accumulates parameter gradients into grads. scratch is reset by the call. */
int m4_step_backward(float *d_flow_h_in, float *d_link_z_in, const m4_model_weights *grads,
                     const m4_model *m, const m4_step_record *rec, const float *d_flow_h_out,
                     const float *d_link_z_out, const float *d_slowdown,
                     const float *d_remaining, const float *d_queue, m4_nn_arena *scratch);

#endif
