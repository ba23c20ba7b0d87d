#include "m4/train.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/heap.h"
#include "core/progress.h"
#include "core/rng.h"
#include "m4/busy_period.h"
#include "m4/state.h"
#include "nn/adam.h"
#include "nn/modelfile.h"

void m4_train_options_default(m4_train_options *o)
{
    memset(o, 0, sizeof *o);
    m4_model_dims_default(&o->dims);
    o->neighbourhood = -1;
    o->epochs = 40;
    o->lr = 3e-4f;
    o->weight_decay = 0.0f;
    o->clip_norm = 1.0f;
    o->seed = 1;
    o->threads = 2;
    o->batch = 4;
    o->samples_per_epoch = 0;
    o->window_events = 128;
    o->sample_events = 384;
    o->burn_in_events = 128;
    o->uniform_fraction = 0.5f;
    o->closed_loop_fraction = 0.0f;
    o->shrink = 1.0f;
    o->tail_weight = 0.0f;
    o->tail_threshold = 0.1f;
    o->ema_decay = 0.0f;
    o->val_fraction = 0.05f;
    o->val_samples = 64;
    o->plateau_patience = 5;
    o->early_stop = 12;
}

double m4_sample_loss_total(const m4_sample_loss *l)
{
    double t = 0;
    if (l->slowdown_count) t += l->slowdown_sum / (double)l->slowdown_count;
    if (l->remaining_count) t += 0.1 * l->remaining_sum / (double)l->remaining_count;
    if (l->queue_count) t += 0.1 * l->queue_sum / (double)l->queue_count;
    return t;
}

/* ---- one worker: replays ground-truth events through the model ---------- */

typedef struct event_record {
    m4_step_record step;
    int32_t *flows, *links;        /* component slots / link ids */
    int32_t event_flow, completion;
    int32_t num_reset;
    int32_t reset[M4_MAX_HOPS];
    float *slowdown_target;        /* (N) */
    float *remaining_target;       /* (N), NAN = none */
    float *queue_target;           /* (L), NAN = none */
} event_record;

struct m4_trainer_worker {
    const m4_model *m;
    m4_state state;
    int state_ready;
    m4_nn_arena tape, scratch, dbuf;
    event_record *events;
    int events_capacity;
    float *dh_flow, *dz_link;
    int32_t dh_flows, dz_links;
    int64_t *remaining_stamp, *queue_stamp;
    float *remaining_value, *queue_value;
    /* closed-loop samples: each flow's latest predicted completion, as the
     * m4 backend keeps them (heap entries carry flow << 32 | generation) */
    int track_predictions;
    uint32_t *prediction_generation;
    int64_t *completion_ns;        /* closed loop: when each flow completed, -1 = not */
    int64_t *ends;                 /* predicted completions of the component, by row */
    int32_t ends_capacity;
    int32_t prediction_flows;
    m4_heap predictions;
    /* the slowdown loss by flow (M4_LOSS_WEIGHT_FLOW, _LAST): per flow, its
     * error sum and event count in the current window (valid where
     * flow_window_stamp = window_stamp), and the flows touched in it */
    int loss_weight;
    float tail_weight, tail_threshold; /* see m4_train_options */
    int closed_loop_burn_in;           /* see m4_train_options */
    uint32_t window_stamp;
    uint32_t *flow_window_stamp;
    double *flow_error_sum;
    int32_t *flow_window_events;
    int32_t *flow_last_event;   /* LAST weighting: the window event of its latest error */
    int32_t window_event;       /* the window event being run forward */
    int32_t *window_flows;
    int32_t num_window_flows, window_flow_capacity;
};

int m4_trainer_worker_create(m4_trainer_worker **out, const m4_model *m)
{
    m4_trainer_worker *w = calloc(1, sizeof *w);
    if (!w) return M4_ENOMEM;
    w->m = m;
    m4_nn_arena_init(&w->tape, 1 << 20);
    m4_nn_arena_init(&w->scratch, 1 << 18);
    m4_nn_arena_init(&w->dbuf, 1 << 16);
    m4_heap_init(&w->predictions);
    *out = w;
    return M4_OK;
}

void m4_trainer_worker_free(m4_trainer_worker *w)
{
    if (!w) return;
    if (w->state_ready) m4_state_free(&w->state);
    m4_nn_arena_free(&w->tape), m4_nn_arena_free(&w->scratch), m4_nn_arena_free(&w->dbuf);
    free(w->events), free(w->dh_flow), free(w->dz_link);
    free(w->remaining_stamp), free(w->queue_stamp), free(w->remaining_value), free(w->queue_value);
    free(w->prediction_generation), free(w->completion_ns), free(w->ends);
    free(w->flow_window_stamp), free(w->flow_error_sum), free(w->flow_window_events);
    free(w->flow_last_event);
    free(w->window_flows);
    m4_heap_free(&w->predictions);
    free(w);
}

void m4_trainer_worker_set_loss_weight(m4_trainer_worker *w, int loss_weight)
{
    w->loss_weight = loss_weight;
}

void m4_trainer_worker_set_tail(m4_trainer_worker *w, float weight, float threshold)
{
    w->tail_weight = weight;
    w->tail_threshold = threshold;
}

void m4_trainer_worker_set_closed_loop_burn_in(m4_trainer_worker *w, int on)
{
    w->closed_loop_burn_in = on != 0;
}

/* Per-row gradient (H floats), target stamp and target value for n rows. */
static int grow_rows(float **grad, int64_t **stamp, float **value, int32_t *have, int32_t n, int H)
{
    if (n <= *have) return M4_OK;
    free(*grad), free(*stamp), free(*value);
    *grad = malloc(sizeof(float) * (size_t)n * H);
    *stamp = malloc(sizeof(int64_t) * (size_t)n);
    *value = malloc(sizeof(float) * (size_t)n);
    *have = 0;
    if (!*grad || !*stamp || !*value) return M4_ENOMEM;
    *have = n;
    return M4_OK;
}

/* A fresh state sized for the scenario, and per-flow/link scratch. */
static int worker_prepare(m4_trainer_worker *w, const m4_train_scenario *s)
{
    const int H = w->m->dims.hidden;
    if (w->state_ready) m4_state_free(&w->state);
    w->state_ready = 0;
    int err = m4_state_init(&w->state, H, s->num_links, s->num_flows);
    if (err) return err;
    w->state_ready = 1;
    if (s->link_bps && (err = m4_state_set_link_rates(&w->state, s->link_bps))) return err;
    w->state.couple_only = 1;
    w->state.neighbourhood = (m4_neighbourhood)w->m->dims.neighbourhood;
    if ((err = grow_rows(&w->dh_flow, &w->remaining_stamp, &w->remaining_value, &w->dh_flows,
                         s->num_flows, H)) ||
        (err = grow_rows(&w->dz_link, &w->queue_stamp, &w->queue_value, &w->dz_links,
                         s->num_links, H)))
        return err;
    for (int32_t i = 0; i < s->num_flows; i++) w->remaining_stamp[i] = -1;
    for (int32_t i = 0; i < s->num_links; i++) w->queue_stamp[i] = -1;
    w->track_predictions = 0;
    w->predictions.count = 0;
    if (w->prediction_flows < s->num_flows) {
        size_t n = (size_t)(s->num_flows > 0 ? s->num_flows : 1);
        free(w->prediction_generation), free(w->completion_ns);
        w->prediction_generation = malloc(sizeof(uint32_t) * n);
        w->completion_ns = malloc(sizeof(int64_t) * n);
        w->prediction_flows = 0;
        if (!w->prediction_generation || !w->completion_ns) return M4_ENOMEM;
        w->prediction_flows = s->num_flows;
    }
    memset(w->prediction_generation, 0, sizeof(uint32_t) * (size_t)s->num_flows);
    for (int32_t i = 0; i < s->num_flows; i++) w->completion_ns[i] = -1;
    if (w->window_flow_capacity < s->num_flows) {
        size_t n = (size_t)(s->num_flows > 0 ? s->num_flows : 1);
        free(w->flow_window_stamp), free(w->flow_error_sum), free(w->flow_window_events);
        free(w->flow_last_event), free(w->window_flows);
        w->flow_window_stamp = malloc(sizeof(uint32_t) * n);
        w->flow_error_sum = malloc(sizeof(double) * n);
        w->flow_window_events = malloc(sizeof(int32_t) * n);
        w->flow_last_event = malloc(sizeof(int32_t) * n);
        w->window_flows = malloc(sizeof(int32_t) * n);
        w->window_flow_capacity = 0;
        if (!w->flow_window_stamp || !w->flow_error_sum || !w->flow_window_events ||
            !w->flow_last_event || !w->window_flows)
            return M4_ENOMEM;
        w->window_flow_capacity = s->num_flows;
    }
    memset(w->flow_window_stamp, 0, sizeof(uint32_t) * (size_t)s->num_flows);
    w->window_stamp = 0;
    return M4_OK;
}

/* A new window of the flow-weighted loss: no flow touched yet. */
static void window_begin(m4_trainer_worker *w)
{
    if (++w->window_stamp == 0) { /* wrapped: clear the stamps */
        memset(w->flow_window_stamp, 0, sizeof(uint32_t) * (size_t)w->window_flow_capacity);
        w->window_stamp = 1;
    }
    w->num_window_flows = 0;
}

/* One (event, flow) error of the slowdown loss. */
static void slowdown_error_add(m4_trainer_worker *w, int32_t flow, double error,
                               m4_sample_loss *loss)
{
    if (w->loss_weight == M4_LOSS_WEIGHT_EVENT) {
        loss->slowdown_sum += error;
        loss->slowdown_count++;
        return;
    }
    if (w->flow_window_stamp[flow] != w->window_stamp) {
        w->flow_window_stamp[flow] = w->window_stamp;
        w->flow_error_sum[flow] = 0;
        w->flow_window_events[flow] = 0;
        w->window_flows[w->num_window_flows++] = flow;
    }
    if (w->loss_weight == M4_LOSS_WEIGHT_LAST) {
        w->flow_error_sum[flow] = error;
        w->flow_window_events[flow] = 1;
        w->flow_last_event[flow] = w->window_event;
        return;
    }
    w->flow_error_sum[flow] += error;
    w->flow_window_events[flow]++;
}

/* End of a window: with flow weighting, each touched flow adds its mean. */
static void window_end(const m4_trainer_worker *w, m4_sample_loss *loss)
{
    if (w->loss_weight == M4_LOSS_WEIGHT_EVENT) return;
    for (int32_t k = 0; k < w->num_window_flows; k++) {
        int32_t f = w->window_flows[k];
        loss->slowdown_sum += w->flow_error_sum[f] / w->flow_window_events[f];
        loss->slowdown_count++;
    }
}

/* The flows active after event e-1 enter the state fresh at that time (the
 * start of a burn-in in the middle of a scenario). */
static int seed_active_flows(m4_trainer_worker *w, const m4_train_scenario *s, int64_t from)
{
    if (from <= 0) return M4_OK;
    int64_t e = from - 1, t = s->event_time_ns[e];
    for (int64_t r = s->remaining_offset[e]; r < s->remaining_offset[e + 1]; r++) {
        int32_t f = s->remaining_flow[r];
        if (s->event_kind[e] == 1 && s->event_flow[e] == f) continue;
        int err = m4_state_add_flow(&w->state, f, s->flow_path + (size_t)f * M4_MAX_HOPS,
                                    s->flow_num_hops[f], s->flow_size[f], t);
        if (err) return err;
        m4_state_set_flow_ideal(&w->state, f, s->flow_ideal_ns[f]);
        int64_t left = (int64_t)((double)s->remaining_fraction[r] * (double)s->flow_size[f] + 0.5);
        m4_state_set_flow_progress(&w->state, f, s->flow_start_ns[f], left);
    }
    return M4_OK;
}

#define ARENA_FLOATS(arena, p, n)                                   \
    do {                                                            \
        if (!((p) = m4_nn_arena_alloc((arena), (size_t)(n) + 1)))   \
            return M4_ENOMEM;                                       \
    } while (0)

/* One event of a sample: flow f arrives (kind 0) or completes (kind 1) at t. */
typedef struct sample_event {
    int64_t time_ns;
    int32_t flow;
    int kind;
    int64_t truth; /* the ground-truth event whose remaining/queue targets hold, -1: none */
} sample_event;

static sample_event truth_event(const m4_train_scenario *s, int64_t e)
{
    return (sample_event){s->event_time_ns[e], s->event_flow[e], s->event_kind[e], e};
}

/* The m4 backend's prediction for the component's flows: completion at
 * start + max(1, slowdown) x ideal, never before now, and never sooner than
 * the links can carry the bits (m4_state_capacity_floor). */
static int push_predictions(m4_trainer_worker *w, const m4_train_scenario *s, int64_t now_ns,
                            const float *slowdown)
{
    m4_state *st = &w->state;
    const int N = st->comp_num_flows;
    if (m4_array_reserve32(&w->ends, &w->ends_capacity, N, sizeof *w->ends, 64)) return M4_ENOMEM;
    for (int r = 0; r < N; r++) {
        int32_t g = st->comp_flows[r];
        double sd = slowdown[r] > 1.0f ? slowdown[r] : 1.0;
        int64_t end = s->flow_start_ns[g] + (int64_t)(sd * (double)s->flow_ideal_ns[g] + 0.5);
        w->ends[r] = end < now_ns ? now_ns : end;
    }
    int err = m4_state_capacity_floor(st, now_ns, w->ends);
    for (int r = 0; r < N && !err; r++) {
        int32_t g = st->comp_flows[r];
        uint32_t gen = ++w->prediction_generation[g];
        err = m4_heap_push(&w->predictions, w->ends[r], (uint64_t)g << 32 | gen);
    }
    return err;
}

/* Forward through one event; rec (may be NULL) keeps what backward needs. */
static int forward_event(m4_trainer_worker *w, const m4_train_scenario *s, sample_event ev,
                         m4_nn_arena *arena, event_record *rec, int with_heads,
                         m4_sample_loss *loss)
{
    m4_state *st = &w->state;
    const int64_t t = ev.time_ns, e = ev.truth;
    const int32_t f = ev.flow;
    const int32_t *path = s->flow_path + (size_t)f * M4_MAX_HOPS;
    const int32_t hops = s->flow_num_hops[f];
    int err;
    if (w->track_predictions) w->prediction_generation[f]++; /* its old prediction is void */
    if (ev.kind == 0) {
        if ((err = m4_state_add_flow(st, f, path, hops, s->flow_size[f], t))) return err;
        m4_state_set_flow_ideal(st, f, s->flow_ideal_ns[f]);
        st->num_reset_links = 0;
    } else {
        m4_state_remove_flow(st, f);
    }
    if ((err = m4_state_component(st, path, hops))) return err;
    const int N = st->comp_num_flows, L = st->comp_graph_links;
    if (rec) {
        memset(rec, 0, sizeof *rec);
        rec->event_flow = f;
        rec->completion = ev.kind == 1;
        rec->num_reset = st->num_reset_links;
        memcpy(rec->reset, st->reset_links, sizeof(int32_t) * st->num_reset_links);
    }
    if (N == 0) return M4_OK;

    m4_step_input in;
    if ((err = m4_state_step_input(st, t, s->config, w->m->dims.flow_extra, arena, &in))) return err;
    m4_step_record local, *step = rec ? &rec->step : &local;
    if ((err = m4_step_forward(step, w->m, &in, arena, with_heads))) return err;
    m4_state_scatter(st, t, step->flow_h_out, step->link_z_out);
    if (w->track_predictions && (err = push_predictions(w, s, t, step->slowdown))) return err;

    /* targets of this event (a closed-loop event, e = -1, has only the final
     * slowdowns) */
    if (e >= 0) {
        for (int64_t r = s->remaining_offset[e]; r < s->remaining_offset[e + 1]; r++) {
            w->remaining_stamp[s->remaining_flow[r]] = e;
            w->remaining_value[s->remaining_flow[r]] = s->remaining_fraction[r];
        }
        for (int64_t r = s->queue_offset[e]; r < s->queue_offset[e + 1]; r++) {
            w->queue_stamp[s->queue_link[r]] = e;
            w->queue_value[s->queue_link[r]] = s->queue_target[r];
        }
    }
    float *sd_t = NULL, *rem_t = NULL, *q_t = NULL;
    if (rec) {
        int32_t *flows = m4_nn_arena_alloc_int(arena, (size_t)N);
        int32_t *links = m4_nn_arena_alloc_int(arena, (size_t)L);
        if (!flows || !links) return M4_ENOMEM;
        memcpy(flows, st->comp_flows, sizeof(int32_t) * N);
        memcpy(links, st->comp_links, sizeof(int32_t) * L);
        rec->flows = flows, rec->links = links;
        ARENA_FLOATS(arena, sd_t, N);
        ARENA_FLOATS(arena, rem_t, N);
        ARENA_FLOATS(arena, q_t, L);
        rec->slowdown_target = sd_t, rec->remaining_target = rem_t, rec->queue_target = q_t;
    }
    for (int r = 0; r < N; r++) {
        int32_t g = st->comp_flows[r];
        float target = s->flow_slowdown[g];
        if (loss) slowdown_error_add(w, g, fabs(step->slowdown[r] / target - 1.0), loss);
        if (sd_t) sd_t[r] = target;
        float rem = e >= 0 && w->remaining_stamp[g] == e ? w->remaining_value[g] : NAN;
        if (rem_t) rem_t[r] = rem;
        if (with_heads && !isnan(rem) && loss) {
            loss->remaining_sum += fabs(step->remaining[r] - rem);
            loss->remaining_count++;
        }
    }
    for (int r = 0; r < L; r++) {
        int32_t l = st->comp_links[r];
        float q = e >= 0 && w->queue_stamp[l] == e ? w->queue_value[l] : NAN;
        if (q_t) q_t[r] = q;
        if (with_heads && !isnan(q) && loss) {
            loss->queue_sum += fabs(step->queue[r] - q);
            loss->queue_count++;
        }
    }
    return M4_OK;
}

static float sign_of(float x) { return x > 0 ? 1.0f : x < 0 ? -1.0f : 0.0f; }

/* Back-propagate a recorded window, last event first. */
static int backward_window(m4_trainer_worker *w, const m4_train_scenario *s, int n,
                           const m4_sample_loss *window_loss, float weight, float *grads)
{
    const m4_model *m = w->m;
    const int H = m->dims.hidden;
    m4_model_weights gw;
    m4_model_weights_at(&gw, grads, &m->dims);
    memset(w->dh_flow, 0, sizeof(float) * (size_t)s->num_flows * H);
    memset(w->dz_link, 0, sizeof(float) * (size_t)s->num_links * H);
    const float sd_scale = window_loss->slowdown_count ? weight / window_loss->slowdown_count : 0;
    const float rem_scale =
        window_loss->remaining_count ? 0.1f * weight / window_loss->remaining_count : 0;
    const float q_scale = window_loss->queue_count ? 0.1f * weight / window_loss->queue_count : 0;
    for (int i = n - 1; i >= 0; i--) {
        const event_record *rec = &w->events[i];
        const m4_step_record *st = &rec->step;
        const int N = st->N, L = st->L;
        if (N > 0) {
            m4_nn_arena_reset(&w->dbuf);
            float *dh_out, *dz_out, *dh_in, *dz_in, *d_sd, *d_rem, *d_q;
            ARENA_FLOATS(&w->dbuf, dh_out, N * H);
            ARENA_FLOATS(&w->dbuf, dz_out, L * H);
            ARENA_FLOATS(&w->dbuf, dh_in, N * H);
            ARENA_FLOATS(&w->dbuf, dz_in, L * H);
            ARENA_FLOATS(&w->dbuf, d_sd, N);
            ARENA_FLOATS(&w->dbuf, d_rem, N);
            ARENA_FLOATS(&w->dbuf, d_q, L);
            for (int r = 0; r < N; r++) {
                memcpy(dh_out + (size_t)r * H, w->dh_flow + (size_t)rec->flows[r] * H,
                       sizeof(float) * H);
                float t = rec->slowdown_target[r];
                /* flow weighting: the flow's mean over its events in the window;
                 * last: its latest prediction in the window alone */
                const int32_t g = rec->flows[r];
                float share = 1.0f;
                if (w->loss_weight == M4_LOSS_WEIGHT_FLOW)
                    share = 1.0f / w->flow_window_events[g];
                else if (w->loss_weight == M4_LOSS_WEIGHT_LAST)
                    share = w->flow_last_event[g] == i ? 1.0f : 0.0f;
                const float rel = st->slowdown[r] / t - 1.0f;
                /* d/d rel of |rel| + tail_weight max(0, |rel| - tail_threshold) */
                const float pull = fabsf(rel) > w->tail_threshold ? 1.0f + w->tail_weight : 1.0f;
                d_sd[r] = sign_of(rel) * pull / t * sd_scale * share;
                float rt = rec->remaining_target[r];
                d_rem[r] = isnan(rt) ? 0.0f : sign_of(st->remaining[r] - rt) * rem_scale;
            }
            for (int r = 0; r < L; r++) {
                memcpy(dz_out + (size_t)r * H, w->dz_link + (size_t)rec->links[r] * H,
                       sizeof(float) * H);
                float qt = rec->queue_target[r];
                d_q[r] = isnan(qt) ? 0.0f : sign_of(st->queue[r] - qt) * q_scale;
            }
            int err = m4_step_backward(dh_in, dz_in, &gw, m, st, dh_out, dz_out, d_sd, d_rem, d_q,
                                       &w->scratch);
            if (err) return err;
            for (int r = 0; r < N; r++)
                memcpy(w->dh_flow + (size_t)rec->flows[r] * H, dh_in + (size_t)r * H,
                       sizeof(float) * H);
            for (int r = 0; r < L; r++)
                memcpy(w->dz_link + (size_t)rec->links[r] * H, dz_in + (size_t)r * H,
                       sizeof(float) * H);
        }
        /* A reset link's old state and a finished flow's state feed nothing later. */
        for (int k = 0; k < rec->num_reset; k++)
            memset(w->dz_link + (size_t)rec->reset[k] * H, 0, sizeof(float) * H);
        if (rec->completion)
            memset(w->dh_flow + (size_t)rec->event_flow * H, 0, sizeof(float) * H);
    }
    return M4_OK;
}

static void loss_add(m4_sample_loss *a, const m4_sample_loss *b)
{
    a->slowdown_sum += b->slowdown_sum, a->slowdown_count += b->slowdown_count;
    a->remaining_sum += b->remaining_sum, a->remaining_count += b->remaining_count;
    a->queue_sum += b->queue_sum, a->queue_count += b->queue_count;
}

/* Where a sample's events come from: the ground-truth sequence (teacher
 * forcing), or, closed loop, the ground-truth arrivals merged with the
 * model's own predicted completions, exactly as the m4 backend orders them
 * (an arrival before a completion at the same instant). */
typedef struct event_source {
    int closed_loop;
    int64_t next_truth;  /* teacher: next event; closed loop: scan for the next arrival */
    int64_t now_ns;
} event_source;

static int live_prediction(const m4_trainer_worker *w, uint64_t data)
{
    return (uint32_t)data == w->prediction_generation[(int32_t)(data >> 32)];
}

/* Closed loop: drops the predictions later events made void, then says
 * when the next arrival (index *arrival, num_events if none) and the next
 * predicted completion happen (INT64_MAX: none). */
static void closed_loop_peek(m4_trainer_worker *w, const m4_train_scenario *s, event_source *src,
                             int64_t *arrival_ns, int64_t *completion_ns)
{
    while (src->next_truth < s->num_events && s->event_kind[src->next_truth] != 0)
        src->next_truth++;
    while (m4_heap_count(&w->predictions) > 0 && !live_prediction(w, w->predictions.entries[0].data)) {
        m4_heap_entry stale;
        m4_heap_pop(&w->predictions, &stale);
    }
    *arrival_ns = src->next_truth < s->num_events ? s->event_time_ns[src->next_truth] : INT64_MAX;
    *completion_ns = m4_heap_peek_time(&w->predictions);
}

/* Next event, or 0 when the source is exhausted. */
static int next_event(m4_trainer_worker *w, const m4_train_scenario *s, event_source *src,
                      sample_event *out)
{
    if (!src->closed_loop) {
        if (src->next_truth >= s->num_events) return 0;
        *out = truth_event(s, src->next_truth++);
        return 1;
    }
    int64_t arrival, completion;
    closed_loop_peek(w, s, src, &arrival, &completion);
    if (arrival == INT64_MAX && completion == INT64_MAX) return 0;
    if (arrival <= completion) {
        int64_t e = src->next_truth++;
        *out = (sample_event){arrival, s->event_flow[e], 0, -1};
    } else {
        m4_heap_entry top;
        m4_heap_pop(&w->predictions, &top);
        *out = (sample_event){completion, (int32_t)(top.data >> 32), 1, -1};
    }
    if (out->time_ns < src->now_ns) out->time_ns = src->now_ns;
    src->now_ns = out->time_ns;
    if (out->kind == 1) w->completion_ns[out->flow] = out->time_ns;
    return 1;
}

/* The most events a closed-loop run from here can have: every flow active
 * or still to arrive (from ground-truth event `next_truth` on) completes
 * exactly once. */
static int64_t closed_loop_event_bound(const m4_trainer_worker *w, const m4_train_scenario *s,
                                       int64_t next_truth)
{
    int64_t active = 0, arrivals = 0;
    for (int32_t g = 0; g < s->num_flows; g++) active += w->state.flow_active[g] != 0;
    for (int64_t e = next_truth; e < s->num_events; e++) arrivals += s->event_kind[e] == 0;
    return active + 2 * arrivals;
}

/* Switch to closed loop at ground-truth event `from`: every active flow the
 * burn-in left without a prediction gets its true completion (the state a
 * closed-loop run would have reached is unknown; the truth is the nearest). */
static int start_closed_loop(m4_trainer_worker *w, const m4_train_scenario *s, int64_t from,
                             event_source *src)
{
    int64_t now = from > 0 ? s->event_time_ns[from - 1] : 0;
    for (int32_t g = 0; g < s->num_flows; g++) {
        if (!w->state.flow_active[g] || w->prediction_generation[g] != 0) continue;
        int64_t end = s->flow_start_ns[g] +
                      (int64_t)((double)s->flow_slowdown[g] * (double)s->flow_ideal_ns[g] + 0.5);
        if (end < now) end = now;
        uint32_t gen = ++w->prediction_generation[g];
        int err = m4_heap_push(&w->predictions, end, (uint64_t)g << 32 | gen);
        if (err) return err;
    }
    *src = (event_source){1, from, now};
    return M4_OK;
}

/* The burn-in from `begin` to `from`, forward only: the ground truth, or
 * with closed_loop_burn_in (closed-loop samples only) the model's own
 * completions from `begin` on, every event before the time of event `from`,
 * so that the sample starts from the states a closed-loop run reaches, as
 * the backend's are, not from teacher-forced ones. */
static int run_burn_in(m4_trainer_worker *w, const m4_train_scenario *s, int64_t begin, int64_t from,
                       int closed_loop, event_source *src)
{
    int err;
    if (!closed_loop || !w->closed_loop_burn_in || begin == from) {
        for (int64_t e = begin; e < from; e++) {
            m4_nn_arena_reset(&w->tape);
            if ((err = forward_event(w, s, truth_event(s, e), &w->tape, NULL, 0, NULL))) return err;
        }
        *src = (event_source){0, from, 0};
        return closed_loop ? start_closed_loop(w, s, from, src) : M4_OK;
    }
    if ((err = start_closed_loop(w, s, begin, src))) return err;
    const int64_t until = from < s->num_events ? s->event_time_ns[from] : INT64_MAX;
    for (;;) {
        int64_t arrival, completion;
        closed_loop_peek(w, s, src, &arrival, &completion);
        if ((arrival < completion ? arrival : completion) >= until) break;
        sample_event ev;
        if (!next_event(w, s, src, &ev)) break;
        m4_nn_arena_reset(&w->tape);
        if ((err = forward_event(w, s, ev, &w->tape, NULL, 0, NULL))) return err;
    }
    return M4_OK;
}

static int run_sample(m4_trainer_worker *w, const m4_train_scenario *s, int64_t from,
                      int64_t burn_in, int64_t events, int window, int closed_loop, float *grads,
                      m4_sample_loss *loss)
{
    if (from < 0) from = 0;
    if (from > s->num_events) from = s->num_events;
    if (burn_in > from) burn_in = from;
    int64_t begin = from - burn_in;
    if (!closed_loop && from + events > s->num_events) events = s->num_events - from;
    if (window < 1) window = 1;
    int err = worker_prepare(w, s);
    if (err) return err;
    if ((err = seed_active_flows(w, s, begin))) return err;
    w->track_predictions = closed_loop;
    event_source src;
    if ((err = run_burn_in(w, s, begin, from, closed_loop, &src))) return err;
    if (closed_loop) {
        int64_t most = closed_loop_event_bound(w, s, src.next_truth);
        if (events > most) events = most;
    }
    if (m4_array_reserve32(&w->events, &w->events_capacity, window, sizeof *w->events, 64))
        return M4_ENOMEM;
    int64_t num_windows = (events + window - 1) / window;
    for (int64_t done = 0; done < events; done += window) {
        int n = (int)(events - done < window ? events - done : window);
        m4_nn_arena_reset(&w->tape);
        m4_sample_loss wl = {0};
        int i = 0;
        sample_event ev;
        window_begin(w);
        for (; i < n && next_event(w, s, &src, &ev); i++) {
            if (!grads) m4_nn_arena_reset(&w->tape);
            w->window_event = i;
            err = forward_event(w, s, ev, &w->tape, grads ? &w->events[i] : NULL, 1, &wl);
            if (err) return err;
        }
        window_end(w, &wl);
        if (grads && (err = backward_window(w, s, i, &wl, 1.0f / (float)num_windows, grads)))
            return err;
        loss_add(loss, &wl);
        if (i < n) break;
    }
    return M4_OK;
}

int m4_trainer_run_sample(m4_trainer_worker *w, const m4_train_scenario *s, int64_t from,
                          int64_t burn_in, int64_t events, int window, float *grads,
                          m4_sample_loss *loss)
{
    return run_sample(w, s, from, burn_in, events, window, 0, grads, loss);
}

const int64_t *m4_trainer_completions(const m4_trainer_worker *w) { return w->completion_ns; }

int m4_trainer_run_closed_loop_sample(m4_trainer_worker *w, const m4_train_scenario *s,
                                      int64_t from, int64_t burn_in, int64_t events, int window,
                                      float *grads, m4_sample_loss *loss)
{
    return run_sample(w, s, from, burn_in, events, window, 1, grads, loss);
}

/* ---- the training loop ---------------------------------------------------- */

typedef struct period_ref {
    int32_t scenario;
    int64_t first_event, last_event;
} period_ref;

typedef struct sample_pos {
    int32_t scenario;
    int64_t from;
    int closed_loop;
} sample_pos;

#define SIZE_CLASSES 24

typedef struct trainer {
    const m4_train_options *o;
    m4_train_scenario *scenarios;
    int32_t num_scenarios;
    int32_t *train_ids, num_train, *val_ids, num_val;
    period_ref *periods;
    int64_t num_periods;
    int64_t *class_periods[SIZE_CLASSES]; /* period indices per size class */
    int64_t class_count[SIZE_CLASSES];
} trainer;

static int size_class(int64_t flows)
{
    int c = 0;
    while (flows > 1 && c < SIZE_CLASSES - 1) flows >>= 1, c++;
    return c;
}

static int add_periods(trainer *tr, int32_t id)
{
    const m4_train_scenario *s = &tr->scenarios[id];
    const int64_t F = s->num_flows;
    int64_t *start = malloc(sizeof(int64_t) * (F + 1)), *end = malloc(sizeof(int64_t) * (F + 1));
    int64_t *arrive_ev = malloc(sizeof(int64_t) * (F + 1)), *done_ev = malloc(sizeof(int64_t) * (F + 1));
    int64_t *offset = malloc(sizeof(int64_t) * (F + 1));
    int err = M4_OK;
    if (!start || !end || !arrive_ev || !done_ev || !offset) { err = M4_ENOMEM; goto done; }
    for (int64_t e = 0; e < s->num_events; e++) {
        int32_t f = s->event_flow[e];
        if (s->event_kind[e] == 0) arrive_ev[f] = e, start[f] = s->event_time_ns[e];
        else done_ev[f] = e, end[f] = s->event_time_ns[e];
    }
    /* The splitter works on the packed paths: reuse flow_path with a stride. */
    int64_t total = 0;
    for (int64_t f = 0; f < F; f++) offset[f] = total, total += s->flow_num_hops[f];
    offset[F] = total;
    int32_t *packed = malloc(sizeof(int32_t) * (size_t)(total + 1));
    if (!packed) { err = M4_ENOMEM; goto done; }
    for (int64_t f = 0; f < F; f++)
        memcpy(packed + offset[f], s->flow_path + f * M4_MAX_HOPS,
               sizeof(int32_t) * s->flow_num_hops[f]);
    m4_busy_period_input in = {F, s->num_links, start, end, offset, packed};
    m4_busy_periods bp = {0};
    err = m4_busy_periods_split(&bp, &in);
    free(packed);
    if (err) goto done;
    period_ref *grown = realloc(tr->periods, sizeof *grown * (size_t)(tr->num_periods + bp.count));
    if (!grown) { m4_busy_periods_free(&bp); err = M4_ENOMEM; goto done; }
    tr->periods = grown;
    for (int64_t p = 0; p < bp.count; p++) {
        int64_t first = INT64_MAX, last = 0;
        for (int64_t k = bp.flow_offset[p]; k < bp.flow_offset[p + 1]; k++) {
            int64_t f = bp.flows[k];
            if (arrive_ev[f] < first) first = arrive_ev[f];
            if (done_ev[f] > last) last = done_ev[f];
        }
        int64_t idx = tr->num_periods++;
        tr->periods[idx] = (period_ref){id, first, last};
        int c = size_class(bp.flow_offset[p + 1] - bp.flow_offset[p]);
        int64_t *cl = realloc(tr->class_periods[c], sizeof(int64_t) * (size_t)(tr->class_count[c] + 1));
        if (!cl) { m4_busy_periods_free(&bp); err = M4_ENOMEM; goto done; }
        tr->class_periods[c] = cl;
        cl[tr->class_count[c]++] = idx;
    }
    m4_busy_periods_free(&bp);
done:
    free(start), free(end), free(arrive_ev), free(done_ev), free(offset);
    return err;
}

static sample_pos draw_start(const trainer *tr, m4_rng *rng)
{
    if (m4_rng_uniform(rng) < tr->o->uniform_fraction) {
        int32_t id = tr->train_ids[m4_rng_below(rng, (uint64_t)tr->num_train)];
        int64_t span = tr->scenarios[id].num_events - tr->o->sample_events / 2;
        return (sample_pos){id, span > 0 ? (int64_t)m4_rng_below(rng, (uint64_t)span) : 0, 0};
    }
    int classes[SIZE_CLASSES], n = 0;
    for (int c = 0; c < SIZE_CLASSES; c++)
        if (tr->class_count[c]) classes[n++] = c;
    int c = classes[m4_rng_below(rng, (uint64_t)n)];
    const period_ref *p = &tr->periods[tr->class_periods[c][m4_rng_below(rng, (uint64_t)tr->class_count[c])]];
    int64_t last_start = p->last_event - tr->o->sample_events / 2;
    if (last_start < p->first_event) last_start = p->first_event;
    int64_t from = p->first_event + (int64_t)m4_rng_below(rng, (uint64_t)(last_start - p->first_event + 1));
    return (sample_pos){p->scenario, from, 0};
}

/* A training sample; with closed_loop_fraction > 0 a share of them run
 * closed loop (the flag is drawn only then, so runs without it keep their
 * samples). */
static sample_pos draw_sample(const trainer *tr, m4_rng *rng)
{
    sample_pos p = draw_start(tr, rng);
    if (tr->o->closed_loop_fraction > 0)
        p.closed_loop = m4_rng_uniform(rng) < tr->o->closed_loop_fraction;
    return p;
}

typedef struct job {
    trainer *tr;
    m4_trainer_worker *worker;
    const sample_pos *samples;
    int count, stride, first;
    float *grads;              /* NULL: validation */
    size_t num_params;
    m4_sample_loss loss;
    double loss_sum;           /* sum over samples of their total loss */
    int err;
} job;

static void *job_run(void *arg)
{
    job *j = arg;
    const m4_train_options *o = j->tr->o;
    if (j->grads) memset(j->grads, 0, sizeof(float) * j->num_params);
    for (int i = j->first; i < j->count; i += j->stride) {
        const sample_pos *p = &j->samples[i];
        m4_sample_loss l = {0};
        j->err = run_sample(j->worker, &j->tr->scenarios[p->scenario], p->from, o->burn_in_events,
                            o->sample_events, o->window_events, p->closed_loop, j->grads, &l);
        if (j->err) break;
        loss_add(&j->loss, &l);
        j->loss_sum += m4_sample_loss_total(&l);
    }
    return NULL;
}

/* Run samples over the workers; returns the mean sample loss; grads summed
 * in worker order into out_grads when training. */
static int run_samples(trainer *tr, m4_trainer_worker **workers, float **grads, int threads,
                       const sample_pos *samples, int count, size_t num_params,
                       float *out_grads, double *mean_loss, m4_sample_loss *loss)
{
    job jobs[64];
    pthread_t tid[64];
    for (int t = 0; t < threads; t++) {
        jobs[t] = (job){.tr = tr, .worker = workers[t], .samples = samples, .count = count,
                        .stride = threads, .first = t, .grads = out_grads ? grads[t] : NULL,
                        .num_params = num_params};
        if (t > 0) pthread_create(&tid[t], NULL, job_run, &jobs[t]);
    }
    job_run(&jobs[0]);
    for (int t = 1; t < threads; t++) pthread_join(tid[t], NULL);
    double sum = 0;
    if (out_grads) memset(out_grads, 0, sizeof(float) * num_params);
    for (int t = 0; t < threads; t++) {
        if (jobs[t].err) return jobs[t].err;
        sum += jobs[t].loss_sum;
        if (loss) loss_add(loss, &jobs[t].loss);
        if (out_grads)
            for (size_t k = 0; k < num_params; k++) out_grads[k] += grads[t][k];
    }
    if (out_grads)
        for (size_t k = 0; k < num_params; k++) out_grads[k] /= (float)count;
    *mean_loss = count ? sum / count : 0;
    return M4_OK;
}

/* Forward-only loss over the fixed validation samples, and its slowdown part. */
static int validate(trainer *tr, m4_trainer_worker **workers, float **grads, int threads,
                    const sample_pos *val, size_t num_params, double *loss, double *slowdown_err)
{
    m4_sample_loss vl = {0};
    int err = run_samples(tr, workers, grads, threads, val, tr->o->val_samples, num_params, NULL,
                          loss, &vl);
    *slowdown_err = vl.slowdown_count ? vl.slowdown_sum / vl.slowdown_count : 0;
    return err;
}

/* Checkpoint: the model, Adam's moments and the loop's counters. */
enum { CK_EPOCH = 4, CK_STEP, CK_BAD, CK_SINCE_BEST, CK_NEIGHBOURHOOD, CK_DIMS };
enum { CK_LR, CK_PLATEAU_BEST, CK_BEST_VAL, CK_ELAPSED, CK_NORMS };

/* Exchange the weights being trained with their moving average, so that
 * validation and saving see the average; a second call swaps them back. */
static void swap_weights(m4_model *m, float *ema)
{
    if (!ema) return;
    for (size_t i = 0; i < m->num_params; i++) {
        float t = m->params[i];
        m->params[i] = ema[i];
        ema[i] = t;
    }
}

/* Checkpoint: the model, Adam's moments, the weights' moving average when
 * there is one (ema, NULL: none) and the loop's counters. */
static int checkpoint_write(const char *path, const m4_model *m, const float *adam_m,
                            const float *adam_v, const float *ema, int epoch, int step,
                            const m4_nn_plateau *pl, float best_val, int since_best,
                            double elapsed)
{
    m4_nn_model_file f;
    memset(&f, 0, sizeof f);
    snprintf(f.kind, sizeof f.kind, "m4-checkpoint");
    f.version = M4_MODEL_VERSION;
    f.num_dims = CK_DIMS;
    f.dims[0] = m->dims.hidden, f.dims[1] = m->dims.gnn, f.dims[2] = m->dims.mlp_hidden;
    f.dims[3] = m->dims.head_hidden;
    f.dims[CK_EPOCH] = epoch, f.dims[CK_STEP] = step, f.dims[CK_BAD] = pl->bad_steps;
    f.dims[CK_SINCE_BEST] = since_best;
    f.dims[CK_NEIGHBOURHOOD] = m->dims.neighbourhood;
    f.num_norm = CK_NORMS;
    f.norm[CK_LR] = pl->lr, f.norm[CK_PLATEAU_BEST] = pl->best, f.norm[CK_BEST_VAL] = best_val;
    f.norm[CK_ELAPSED] = (float)elapsed;
    f.num_weights = (ema ? 4 : 3) * (uint64_t)m->num_params;
    f.weights = malloc(sizeof(float) * f.num_weights);
    if (!f.weights) return M4_ENOMEM;
    memcpy(f.weights, m->params, sizeof(float) * m->num_params);
    memcpy(f.weights + m->num_params, adam_m, sizeof(float) * m->num_params);
    memcpy(f.weights + 2 * m->num_params, adam_v, sizeof(float) * m->num_params);
    if (ema) memcpy(f.weights + 3 * m->num_params, ema, sizeof(float) * m->num_params);
    int err = m4_nn_model_file_write(path, &f);
    free(f.weights);
    return err;
}

static int checkpoint_read(const char *path, m4_model *m, float *adam_m, float *adam_v,
                           float *ema, int *epoch, int *step, m4_nn_plateau *pl, float *best_val,
                           int *since_best, double *elapsed)
{
    m4_nn_model_file f;
    int err = m4_nn_model_file_read(&f, path);
    if (err) return err;
    if (strcmp(f.kind, "m4-checkpoint") != 0 || f.num_dims != CK_DIMS || f.num_norm != CK_NORMS ||
        f.dims[0] != m->dims.hidden || f.dims[1] != m->dims.gnn ||
        f.dims[2] != m->dims.mlp_hidden || f.dims[3] != m->dims.head_hidden ||
        f.dims[CK_NEIGHBOURHOOD] != m->dims.neighbourhood ||
        f.num_weights != (ema ? 4 : 3) * (uint64_t)m->num_params) {
        const char *why = f.num_weights == (ema ? 3 : 4) * (uint64_t)m->num_params
                              ? (ema ? " (written without --ema)" : " (written with --ema)")
                              : "";
        m4_nn_model_file_free(&f);
        return m4_error_set(M4_EFORMAT, "%s: checkpoint of another model shape%s", path, why);
    }
    memcpy(m->params, f.weights, sizeof(float) * m->num_params);
    memcpy(adam_m, f.weights + m->num_params, sizeof(float) * m->num_params);
    memcpy(adam_v, f.weights + 2 * m->num_params, sizeof(float) * m->num_params);
    if (ema) memcpy(ema, f.weights + 3 * m->num_params, sizeof(float) * m->num_params);
    *epoch = f.dims[CK_EPOCH], *step = f.dims[CK_STEP], pl->bad_steps = f.dims[CK_BAD];
    *since_best = f.dims[CK_SINCE_BEST];
    pl->lr = f.norm[CK_LR], pl->best = f.norm[CK_PLATEAU_BEST], *best_val = f.norm[CK_BEST_VAL];
    *elapsed = f.norm[CK_ELAPSED];
    m4_nn_model_file_free(&f);
    return M4_OK;
}

static int append_log(const char *path, const char *line, int truncate)
{
    FILE *f = fopen(path, truncate ? "w" : "a");
    if (!f) return m4_error_set(M4_EIO, "%s: cannot write the training log", path);
    fputs(line, f);
    int bad = fclose(f) != 0;
    return bad ? m4_error_set(M4_EIO, "%s: write failed", path) : M4_OK;
}

/* The scenarios of every dataset directory, one after the other (each
 * directory's in name order), and the directories' names joined by '+'
 * for the log. */
static int list_datasets(const char *const *data_dirs, int num_data_dirs, char ***dirs,
                         int32_t *num_dirs, char *names, size_t names_size)
{
    *dirs = NULL, *num_dirs = 0;
    names[0] = '\0';
    for (int d = 0; d < num_data_dirs; d++) {
        char **more = NULL;
        int32_t n = 0;
        int err = m4_dataset_list(data_dirs[d], &more, &n);
        if (err) return err;
        char **grown = n ? realloc(*dirs, sizeof **dirs * (size_t)(*num_dirs + n)) : *dirs;
        if (!grown) {
            for (int32_t i = 0; i < n; i++) free(more[i]);
            free(more);
            return M4_ENOMEM;
        }
        if (n) memcpy(grown + *num_dirs, more, sizeof *more * (size_t)n);
        *dirs = grown, *num_dirs += n;
        free(more);
        size_t used = strlen(names);
        snprintf(names + used, names_size - used, "%s%s", d ? "+" : "", data_dirs[d]);
    }
    return M4_OK;
}

int m4_train(const char *const *data_dirs, int num_data_dirs, const char *model_path,
             const m4_train_options *o)
{
    trainer tr = {0};
    tr.o = o;
    m4_model model = {0};
    m4_trainer_worker *workers[64] = {0};
    float *thread_grads[64] = {0};
    float *grads = NULL, *adam_m = NULL, *adam_v = NULL, *ema = NULL;
    sample_pos *samples = NULL, *val = NULL;
    char **dirs = NULL;
    int32_t num_dirs = 0;
    char ckpt[1100], logp[1100], line[512];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", model_path);
    snprintf(logp, sizeof logp, "%s.log.txt", model_path);
    const int threads = o->threads < 1 ? 1 : o->threads > 64 ? 64 : o->threads;

    char data_dir[1024]; /* the names, for messages and the log */
    int err = list_datasets(data_dirs, num_data_dirs, &dirs, &num_dirs, data_dir, sizeof data_dir);
    if (err) goto done;
    if (o->max_scenarios > 0 && num_dirs > o->max_scenarios) {
        for (int32_t i = o->max_scenarios; i < num_dirs; i++) free(dirs[i]);
        num_dirs = o->max_scenarios;
    }
    if (num_dirs < 2) {
        err = m4_error_set(M4_EINVAL, "%s: %d finished scenarios; training needs at least 2",
                           data_dir, num_dirs);
        goto done;
    }
    tr.scenarios = calloc((size_t)num_dirs, sizeof *tr.scenarios);
    if (!tr.scenarios) { err = M4_ENOMEM; goto done; }
    m4_progress prog;
    m4_progress_start(&prog, o->log, "load", num_dirs);
    for (int32_t i = 0; i < num_dirs; i++) {
        if ((err = m4_train_scenario_load(&tr.scenarios[i], dirs[i]))) goto done;
        tr.num_scenarios++;
        m4_progress_update(&prog, i + 1);
    }
    m4_progress_finish(&prog);

    /* Hold out a seeded random subset of scenarios. */
    int32_t *order = malloc(sizeof(int32_t) * (size_t)num_dirs);
    if (!order) { err = M4_ENOMEM; goto done; }
    for (int32_t i = 0; i < num_dirs; i++) order[i] = i;
    m4_rng rng;
    m4_rng_seed(&rng, o->seed ^ 0x5eed5eedULL);
    for (int32_t i = num_dirs - 1; i > 0; i--) {
        int32_t j = (int32_t)m4_rng_below(&rng, (uint64_t)i + 1), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    tr.num_val = (int32_t)ceil(o->val_fraction * num_dirs);
    if (tr.num_val < 1) tr.num_val = 1;
    if (tr.num_val >= num_dirs) tr.num_val = num_dirs - 1;
    tr.val_ids = order;
    tr.train_ids = order + tr.num_val;
    tr.num_train = num_dirs - tr.num_val;
    for (int32_t i = 0; i < tr.num_train; i++)
        if ((err = add_periods(&tr, tr.train_ids[i]))) goto done;

    /* Fine-tuning takes the dimensions and weights of an existing model. */
    m4_model init = {0};
    if (o->init_path && (err = m4_model_load(&init, o->init_path))) goto done;
    if (o->init_path && o->flow_extra > init.dims.flow_extra) {
        m4_model wide;
        err = m4_model_widen_flow_extra(&wide, &init, o->flow_extra);
        m4_model_free(&init);
        if (err) goto done;
        init = wide;
    }
    m4_model_dims dims = o->init_path ? init.dims : o->dims;
    if (o->neighbourhood >= 0) dims.neighbourhood = o->neighbourhood;
    err = m4_model_create(&model, &dims, o->seed);
    if (!err && o->init_path) memcpy(model.params, init.params, sizeof(float) * model.num_params);
    m4_model_free(&init);
    if (err) goto done;
    const size_t P = model.num_params;
    grads = calloc(P, sizeof *grads);
    adam_m = calloc(P, sizeof *adam_m);
    adam_v = calloc(P, sizeof *adam_v);
    if (!grads || !adam_m || !adam_v) { err = M4_ENOMEM; goto done; }
    if (o->ema_decay > 0) {
        if (!(ema = malloc(sizeof(float) * P))) { err = M4_ENOMEM; goto done; }
        memcpy(ema, model.params, sizeof(float) * P);
    }
    for (int t = 0; t < threads; t++) {
        if ((err = m4_trainer_worker_create(&workers[t], &model))) goto done;
        m4_trainer_worker_set_loss_weight(workers[t], o->loss_weight);
        m4_trainer_worker_set_tail(workers[t], o->tail_weight, o->tail_threshold);
        m4_trainer_worker_set_closed_loop_burn_in(workers[t], o->closed_loop_burn_in);
        if (!(thread_grads[t] = calloc(P, sizeof(float)))) { err = M4_ENOMEM; goto done; }
    }

    /* Validation positions: fixed for the whole run. */
    val = malloc(sizeof *val * (size_t)(o->val_samples > 0 ? o->val_samples : 1));
    if (!val) { err = M4_ENOMEM; goto done; }
    m4_rng vrng;
    m4_rng_seed(&vrng, o->seed ^ 0x7a1da7e5ULL);
    for (int i = 0; i < o->val_samples; i++) {
        int32_t id = tr.val_ids[i % tr.num_val];
        int64_t span = tr.scenarios[id].num_events - o->sample_events;
        val[i] = (sample_pos){id, span > 0 ? (int64_t)m4_rng_below(&vrng, (uint64_t)span) : 0, 0};
        /* the closed-loop share spread evenly over the fixed positions */
        val[i].closed_loop = (int)floor((i + 1) * o->closed_loop_fraction) >
                             (int)floor(i * o->closed_loop_fraction);
    }

    int spe = o->samples_per_epoch > 0 ? o->samples_per_epoch : 2 * tr.num_train;
    int batch = o->batch < 1 ? 1 : o->batch;
    samples = malloc(sizeof *samples * (size_t)spe);
    if (!samples) { err = M4_ENOMEM; goto done; }

    m4_nn_plateau plateau;
    m4_nn_plateau_init(&plateau, o->lr, 0.2f, o->plateau_patience, 1e-6f);
    int epoch = 0, step = 0, since_best = 0;
    float best_val = INFINITY;
    double elapsed_before = 0;
    if (o->resume) {
        FILE *probe = fopen(ckpt, "rb");
        if (probe) {
            fclose(probe);
            if ((err = checkpoint_read(ckpt, &model, adam_m, adam_v, ema, &epoch, &step, &plateau,
                                       &best_val, &since_best, &elapsed_before)))
                goto done;
            if (o->log)
                fprintf(o->log, "train: resuming after epoch %d (best val %.4f)\n", epoch,
                        best_val);
        }
    }
    if (epoch == 0) {
        snprintf(line, sizeof line,
                 "# epoch train_loss val_loss val_slowdown_err lr seconds (data %s, %d train "
                 "+ %d val scenarios, H %d G %d, neighbourhood %s)\n",
                 data_dir, tr.num_train, tr.num_val, model.dims.hidden, model.dims.gnn,
                 m4_neighbourhood_name(model.dims.neighbourhood));
        if ((err = append_log(logp, line, 1))) goto done;
    }
    if (o->log)
        fprintf(o->log, "train: %d train + %d val scenarios, %lld busy periods, %zu parameters, "
                "%d samples/epoch, %d threads\n", tr.num_train, tr.num_val,
                (long long)tr.num_periods, P, spe, threads);

    double t0 = m4_now_seconds();
    if (epoch == 0) {
        /* Epoch 0: the untrained model (flowSim's answer, see model.h), or the
         * --init one, as the reference. */
        double val_loss, val_sd;
        if ((err = validate(&tr, workers, thread_grads, threads, val, P, &val_loss, &val_sd)))
            goto done;
        best_val = (float)val_loss;
        if ((err = m4_model_save(&model, model_path))) goto done;
        snprintf(line, sizeof line, "0 nan %.6f %.6f %.3g 0\n", val_loss, val_sd, plateau.lr);
        if ((err = append_log(logp, line, 0))) goto done;
        if (o->log)
            fprintf(o->log, "train: %s val %.4f (slowdown err %.4f)\n",
                    o->init_path ? "initial" : "untrained", val_loss, val_sd);
    }
    for (; epoch < o->epochs; ) {
        m4_rng erng;
        m4_rng_seed(&erng, m4_mix64(o->seed * 1000003ULL + (uint64_t)epoch));
        for (int i = 0; i < spe; i++) samples[i] = draw_sample(&tr, &erng);
        double train_sum = 0;
        int train_n = 0;
        m4_progress_start(&prog, o->log, "epoch", spe);
        for (int b = 0; b < spe; b += batch) {
            int n = spe - b < batch ? spe - b : batch;
            double mean;
            if ((err = run_samples(&tr, workers, thread_grads, threads, samples + b, n, P, grads,
                                   &mean, NULL)))
                goto done;
            if (o->clip_norm > 0) m4_nn_clip_grad_norm(grads, P, o->clip_norm);
            step++;
            m4_nn_adam_update(model.params, grads, adam_m, adam_v, P, plateau.lr, 0.9f, 0.999f,
                              1e-8f, o->weight_decay, step);
            if (ema) m4_nn_ema_update(ema, model.params, P, o->ema_decay);
            train_sum += mean * n;
            train_n += n;
            m4_progress_update(&prog, b + n);
        }
        m4_progress_finish(&prog);
        double val_loss, val_sd;
        swap_weights(&model, ema); /* validate and save the average */
        if ((err = validate(&tr, workers, thread_grads, threads, val, P, &val_loss, &val_sd))) {
            swap_weights(&model, ema);
            goto done;
        }
        epoch++;
        float lr_used = plateau.lr;
        m4_nn_plateau_step(&plateau, (float)val_loss);
        double elapsed = elapsed_before + m4_now_seconds() - t0;
        if (val_loss < best_val) {
            best_val = (float)val_loss;
            since_best = 0;
            err = m4_model_save(&model, model_path);
        } else {
            since_best++;
        }
        swap_weights(&model, ema);
        if (err) goto done;
        snprintf(line, sizeof line, "%d %.6f %.6f %.6f %.3g %.1f\n", epoch,
                 train_n ? train_sum / train_n : 0, val_loss, val_sd, lr_used, elapsed);
        if ((err = append_log(logp, line, 0))) goto done;
        if (o->log)
            fprintf(o->log, "train: epoch %d train %.4f val %.4f (slowdown err %.4f) lr %.3g "
                    "%.0f s\n", epoch, train_n ? train_sum / train_n : 0, val_loss, val_sd,
                    lr_used, elapsed);
        if ((err = checkpoint_write(ckpt, &model, adam_m, adam_v, ema, epoch, step, &plateau,
                                    best_val, since_best, elapsed)))
            goto done;
        if (o->early_stop > 0 && since_best >= o->early_stop) {
            if (o->log) fprintf(o->log, "train: no improvement for %d epochs, stopping\n", since_best);
            break;
        }
        if (o->time_limit_s > 0 && elapsed >= o->time_limit_s) {
            if (o->log) fprintf(o->log, "train: time limit reached after epoch %d\n", epoch);
            break;
        }
    }
    if (!err && o->shrink != 1.0f) {
        m4_model best;
        if ((err = m4_model_load(&best, model_path))) goto done;
        m4_model_shrink(&best, o->shrink);
        err = m4_model_save(&best, model_path);
        m4_model_free(&best);
        if (!err && o->log) fprintf(o->log, "train: learned correction scaled by %g in %s\n", o->shrink, model_path);
    }
done:
    for (int t = 0; t < 64; t++) {
        m4_trainer_worker_free(workers[t]);
        free(thread_grads[t]);
    }
    free(grads), free(adam_m), free(adam_v), free(ema), free(samples), free(val);
    m4_model_free(&model);
    for (int32_t i = 0; i < tr.num_scenarios; i++) m4_train_scenario_free(&tr.scenarios[i]);
    free(tr.scenarios);
    free(tr.val_ids);
    free(tr.periods);
    for (int c = 0; c < SIZE_CLASSES; c++) free(tr.class_periods[c]);
    for (int32_t i = 0; i < num_dirs; i++) free(dirs[i]);
    free(dirs);
    return err;
}
