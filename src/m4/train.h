/* Training the m4 model on ground-truth scenarios (DESIGN.md section 8).
 *
 * A sample is a stretch of one scenario's ground-truth event sequence
 * (arrivals and completions in the packet-level order, i.e. teacher forcing):
 * burn_in events forward only, to bring the state of the flows already
 * active near the truth, then sample_events events with gradient, cut into
 * windows of window_events for truncated back-propagation through time (the
 * state is carried from one window to the next without gradient). Starts are
 * drawn balanced over busy-period length: a busy period is picked by first
 * drawing a size class (log2 of its flow count) uniformly among the classes
 * present, then a period of that class, then a start inside it; a share
 * uniform_fraction of the samples instead starts anywhere (a scenario, then
 * an event, uniformly), so the long congested periods that dominate a
 * closed-loop run are not underweighted.
 *
 * Loss of a sample = mean over every (event, updated flow) of
 * |slowdown_hat / slowdown - 1| + 0.1 x mean L1 of the remaining-fraction
 * head + 0.1 x mean L1 of the queue head (cube root of KB); with several
 * windows the gradient is the mean of each window's own normalised loss,
 * while the logged losses pool the terms of all windows. Samples of a
 * batch are spread over the threads; their gradients are summed in a fixed
 * order, so a run is reproducible for a given seed and thread count. */
#ifndef M4_M4_TRAIN_H
#define M4_M4_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "m4/dataset.h"
#include "m4/model.h"

/* How the slowdown loss weighs the (event, flow) errors of a window. */
enum {
    M4_LOSS_WEIGHT_EVENT = 0, /* every pair alike: a long flow in a large component
                                 outweighs hundreds of short ones */
    M4_LOSS_WEIGHT_FLOW = 1,  /* each flow once, by its mean over its events (as the
                                 per-flow error the evaluation reports) */
    M4_LOSS_WEIGHT_LAST = 2,  /* each flow once, by its latest prediction in the window:
                                 in closed loop the one its completion comes from, if
                                 it ends there */
};

typedef struct m4_train_options {
    m4_model_dims dims;     /* ignored with init_path */
    const char *init_path;  /* start from this model's weights (NULL: seeded init) */
    int neighbourhood;      /* m4_neighbourhood to train for; -1: dims' (or the init
                               model's) */
    int flow_extra;         /* flow inputs X (m4_model_dims) with init_path: 0 = the
                               init model's; more than it = the init model widened
                               (m4_model_widen_flow_extra) */
    int epochs;             /* at most this many epochs */
    float lr;               /* initial Adam learning rate */
    float weight_decay;
    float clip_norm;        /* global gradient norm bound, 0 = off */
    uint64_t seed;
    int threads;            /* worker threads (samples in parallel) */
    int batch;              /* samples per Adam step */
    int samples_per_epoch;  /* 0 = 2 x training scenarios */
    int window_events;      /* truncated BPTT window */
    int sample_events;      /* events with gradient per sample */
    int burn_in_events;     /* forward-only events before them */
    float uniform_fraction; /* share of samples started uniformly over all events
                               (the rest balanced over busy-period length) */
    float closed_loop_fraction; /* share of samples run closed loop (training and
                               validation; see m4_trainer_run_closed_loop_sample) */
    int loss_weight;        /* M4_LOSS_WEIGHT_*: how the slowdown loss weighs a
                               window's (event, flow) errors */
    float tail_weight;      /* 0: the slowdown loss is the relative error e; X > 0: its
                               gradient is that of e + X max(0, e - tail_threshold), more
                               pull on the flows in the error's tail (the logged
                               losses stay e, so validation judges by e) */
    float tail_threshold;
    int closed_loop_burn_in; /* 1: a closed-loop sample's burn-in runs closed loop too
                               (the model's own completions from its start on), so the
                               sample starts from the states the backend reaches */
    float val_fraction;     /* scenarios held out for validation */
    int val_samples;        /* validation samples (fixed positions) */
    int plateau_patience;   /* epochs without improvement before lr x0.2 */
    int early_stop;         /* epochs without improvement before stopping */
    int max_scenarios;      /* 0 = all */
    int resume;             /* continue from MODEL.ckpt when present */
    double time_limit_s;    /* stop after the epoch that crosses it, 0 = none */
    float shrink;           /* scale of the learned correction in the final model
                               file (1 = as trained; see m4_model_shrink) */
    float ema_decay;        /* 0: validate and save the weights as trained; in (0, 1):
                               an exponential moving average of them over the
                               optimiser steps (m4_nn_ema_update, from the start
                               weights), which validation and the saved model use */
    FILE *log;              /* progress (NULL = silent) */
} m4_train_options;

void m4_train_options_default(m4_train_options *o);

/* Train on every finished scenario under the num_data_dirs dataset
 * directories (their union: the validation split is drawn over all of
 * them). Writes, atomically:
 * model_path (the best model by validation loss), model_path.ckpt (the last
 * epoch's full training state, for --resume) and model_path.log.txt (one
 * line per epoch: epoch train_loss val_loss val_slowdown_err lr seconds). */
int m4_train(const char *const *data_dirs, int num_data_dirs, const char *model_path,
             const m4_train_options *o);

/* Per-sample losses, for tests and validation. */
typedef struct m4_sample_loss {
    double slowdown_sum, remaining_sum, queue_sum;
    int64_t slowdown_count, remaining_count, queue_count;
} m4_sample_loss;

double m4_sample_loss_total(const m4_sample_loss *l);

typedef struct m4_trainer_worker m4_trainer_worker;
int m4_trainer_worker_create(m4_trainer_worker **out, const m4_model *m);
void m4_trainer_worker_free(m4_trainer_worker *w);
/* How the slowdown loss weighs the errors (M4_LOSS_WEIGHT_*; EVENT at
 * creation). */
void m4_trainer_worker_set_loss_weight(m4_trainer_worker *w, int loss_weight);
/* The tail term of the slowdown gradient (m4_train_options.tail_weight; 0 at
 * creation). */
void m4_trainer_worker_set_tail(m4_trainer_worker *w, float weight, float threshold);
/* m4_train_options.closed_loop_burn_in for this worker's closed-loop samples. */
void m4_trainer_worker_set_closed_loop_burn_in(m4_trainer_worker *w, int on);
/* Run one sample: burn_in events from event `from` forward only, then
 * `events` with gradient (accumulated into grads, which is laid out like
 * m->params; grads NULL = forward only). The loss of the gradient events is
 * added to *loss. */
int m4_trainer_run_sample(m4_trainer_worker *w, const m4_train_scenario *s, int64_t from,
                          int64_t burn_in, int64_t events, int window, float *grads,
                          m4_sample_loss *loss);
/* The same sample closed loop: the burn-in replays the ground truth (or,
 * with m4_trainer_worker_set_closed_loop_burn_in, runs closed loop from its
 * start up to the time of event `from`), then
 * the `events` events are the true arrivals merged with the model's own
 * predicted completions, ordered and timed exactly as the m4 backend does
 * (active flows the burn-in did not predict start from their true
 * completion). Only the slowdown loss applies (the remaining and queue
 * targets belong to the true event times). This trains the model on the
 * states its own errors lead to, which teacher forcing never shows it. */
int m4_trainer_run_closed_loop_sample(m4_trainer_worker *w, const m4_train_scenario *s,
                                      int64_t from, int64_t burn_in, int64_t events, int window,
                                      float *grads, m4_sample_loss *loss);
/* After a closed-loop sample: per flow of the scenario, the time its
 * predicted completion fired, -1 where it did not within the sample. */
const int64_t *m4_trainer_completions(const m4_trainer_worker *w);

#endif
