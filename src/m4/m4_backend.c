/* The learned backend (m4, DESIGN.md section 8) behind the one simulation
 * interface.
 *
 * Events are flow arrivals (add_flow) and predicted completions. Each active
 * flow's completion is predicted as start + max(1, slowdown_hat) x ideal FCT
 * (never before now); the next event is the earliest prediction. An event
 * updates only the neighbourhood of the arriving or departing flow that the
 * model was trained for (m4_neighbourhood in m4/model.h; the shipped model's
 * is the paper's: the flows on the event flow's links, and those links):
 * temporal GRUs for the time since each was last touched, three graph
 * layers, the rate GRUs, and the slowdown MLP, whose outputs replace those
 * flows' predictions.
 *
 * Predictions live in a heap with lazy invalidation (an entry carries its
 * slot's generation); slots of finished flows are reused and the heap is
 * compacted when stale entries dominate, so memory follows the active flows. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/array.h"
#include "core/error.h"
#include "core/heap.h"
#include "m4/model.h"
#include "m4/state.h"
#include "sim/sim.h"

typedef struct m4_slot {
    int64_t handle;
    int64_t start_ns, ideal_ns, predicted_end_ns;
    uint32_t generation;
} m4_slot;

typedef struct m4_backend {
    const m4_scenario *scenario;
    m4_model model;
    m4_state state;
    float config[M4_MODEL_CONFIG];
    m4_nn_arena arena;
    m4_slot *slots;
    int32_t num_slots, slot_capacity;
    int32_t *free_slots;
    int32_t num_free;
    int32_t active;
    m4_heap predictions; /* data = slot << 32 | generation */
    int64_t *ends;       /* predicted completions of the neighbourhood, by row */
    int32_t ends_capacity;
    int64_t now;
} m4_backend;

static void backend_destroy(void *p)
{
    m4_backend *b = p;
    if (!b) return;
    m4_model_free(&b->model);
    m4_state_free(&b->state);
    m4_nn_arena_free(&b->arena);
    free(b->slots);
    free(b->free_slots);
    free(b->ends);
    m4_heap_free(&b->predictions);
    free(b);
}

int m4_default_model_path(char *out, size_t cap);

static int backend_create(void **state, const m4_scenario *scenario,
                          const m4_backend_params *params)
{
    *state = NULL;
    m4_backend *b = calloc(1, sizeof *b);
    if (!b) return M4_ENOMEM;
    b->scenario = scenario;
    /* The products are small: more BLAS threads only spin (half the time of
     * a 256-host run went to sched_yield). threads > 1 asks for them.
     * (Debian's single-threaded OpenBLAS would not spin at all, but it is not
     * safe to call from two threads at once: the trainer's two workers gave
     * different models from the same seed with it.) */
    openblas_set_num_threads(params && params->threads > 1 ? params->threads : 1);
    char path[1024];
    const char *model_path = params ? params->model_path : NULL;
    int err = M4_OK;
    if (!model_path) {
        if ((err = m4_default_model_path(path, sizeof path))) goto fail;
        model_path = path;
    }
    if ((err = m4_model_load(&b->model, model_path))) goto fail;
    if ((err = m4_model_prepare_inference(&b->model))) goto fail;
    if ((err = m4_state_init(&b->state, b->model.dims.hidden, m4_num_dlinks(&scenario->topology),
                             256)))
        goto fail;
    {
        int32_t L = m4_num_dlinks(&scenario->topology);
        double *bps = malloc(sizeof(double) * (size_t)(L > 0 ? L : 1));
        if (!bps) { err = M4_ENOMEM; goto fail; }
        for (int32_t l = 0; l < L; l++) bps[l] = m4_dlink_rate_bps(&scenario->topology, l);
        err = m4_state_set_link_rates(&b->state, bps);
        free(bps);
        if (err) goto fail;
        b->state.couple_only = 1;
        b->state.neighbourhood = (m4_neighbourhood)b->model.dims.neighbourhood;
    }
    m4_config_features(&scenario->config, scenario->window_bytes, b->config);
    m4_nn_arena_init(&b->arena, 1 << 18);
    m4_heap_init(&b->predictions);
    *state = b;
    return M4_OK;
fail:
    backend_destroy(b);
    return err;
}

static int slot_alloc(m4_backend *b, int32_t *out)
{
    if (b->num_free > 0) {
        *out = b->free_slots[--b->num_free];
        return M4_OK;
    }
    if (b->num_slots == b->slot_capacity) {
        int32_t cap = (int32_t)m4_array_grown_capacity(b->slot_capacity, b->num_slots + 1, 256);
        if (m4_array_resize(&b->slots, cap, sizeof *b->slots) ||
            m4_array_resize(&b->free_slots, cap, sizeof *b->free_slots))
            return M4_ENOMEM;
        b->slot_capacity = cap;
    }
    b->slots[b->num_slots].generation = 0;
    *out = b->num_slots++;
    return M4_OK;
}

/* A heap entry is live while its slot's generation is unchanged: every new
 * prediction and every completion bumps it. */
static int entry_live(const m4_backend *b, uint64_t data)
{
    return (uint32_t)data == b->slots[(int32_t)(data >> 32)].generation;
}

/* Rebuild the heap from the live predictions when stale entries dominate. */
static int compact_predictions(m4_backend *b)
{
    m4_heap fresh;
    m4_heap_init(&fresh);
    m4_heap_entry e;
    while (m4_heap_pop(&b->predictions, &e) == M4_OK) {
        if (!entry_live(b, e.data)) continue;
        int err = m4_heap_push(&fresh, e.time, e.data);
        if (err) {
            m4_heap_free(&fresh);
            return err;
        }
    }
    m4_heap_free(&b->predictions);
    b->predictions = fresh;
    return M4_OK;
}

/* Update the neighbourhood of path at now and re-predict its flows. */
static int update_component(m4_backend *b, const int32_t *path, int32_t hops)
{
    m4_state *st = &b->state;
    int err = m4_state_component(st, path, hops);
    if (err) return err;
    const int N = st->comp_num_flows;
    if (N == 0) return M4_OK;
    m4_nn_arena_reset(&b->arena);
    m4_step_input in;
    if ((err = m4_state_step_input(st, b->now, b->config, b->model.dims.flow_extra, &b->arena, &in)))
        return err;
    m4_step_record rec;
    if ((err = m4_step_forward(&rec, &b->model, &in, &b->arena, 0))) return err;
    m4_state_scatter(st, b->now, rec.flow_h_out, rec.link_z_out);
    if (m4_array_reserve32(&b->ends, &b->ends_capacity, N, sizeof *b->ends, 64)) return M4_ENOMEM;
    int64_t *ends = b->ends;
    for (int r = 0; r < N; r++) {
        m4_slot *s = &b->slots[st->comp_flows[r]];
        double slowdown = rec.slowdown[r] > 1.0f ? rec.slowdown[r] : 1.0;
        int64_t end = s->start_ns + (int64_t)(slowdown * (double)s->ideal_ns + 0.5);
        ends[r] = end < b->now ? b->now : end;
    }
    if ((err = m4_state_capacity_floor(st, b->now, ends))) return err;
    for (int r = 0; r < N; r++) {
        m4_slot *s = &b->slots[st->comp_flows[r]];
        int64_t end = ends[r];
        s->predicted_end_ns = end;
        s->generation++;
        int32_t slot = st->comp_flows[r];
        if ((err = m4_heap_push(&b->predictions, end, (uint64_t)slot << 32 | s->generation)))
            return err;
    }
    if (m4_heap_count(&b->predictions) > 4 * (int64_t)b->active + 1024)
        return compact_predictions(b);
    return M4_OK;
}

static int backend_add_flow(void *p, const m4_flow_start *f)
{
    m4_backend *b = p;
    int32_t slot;
    int err = slot_alloc(b, &slot);
    if (err) return err;
    m4_slot *s = &b->slots[slot];
    s->handle = f->handle;
    s->start_ns = f->start_ns;
    s->ideal_ns = f->ideal_fct_ns;
    if (f->start_ns > b->now) b->now = f->start_ns;
    if ((err = m4_state_add_flow(&b->state, slot, f->path, f->num_hops, f->size_bytes, b->now)))
        return err;
    m4_state_set_flow_ideal(&b->state, slot, f->ideal_fct_ns);
    b->active++;
    return update_component(b, f->path, f->num_hops);
}

/* Drop stale heap entries from the top. */
static void skip_stale(m4_backend *b)
{
    while (m4_heap_count(&b->predictions) > 0) {
        if (entry_live(b, b->predictions.entries[0].data)) return;
        m4_heap_entry dropped;
        m4_heap_pop(&b->predictions, &dropped);
    }
}

static int64_t backend_next_event_time(void *p)
{
    m4_backend *b = p;
    skip_stale(b);
    return m4_heap_peek_time(&b->predictions);
}

static int backend_advance(void *p, int64_t until_ns, m4_completion_list *completed)
{
    m4_backend *b = p;
    skip_stale(b);
    if (m4_heap_count(&b->predictions) == 0 || m4_heap_peek_time(&b->predictions) > until_ns) {
        if (until_ns > b->now && until_ns != INT64_MAX) b->now = until_ns;
        return M4_OK;
    }
    m4_heap_entry e;
    m4_heap_pop(&b->predictions, &e);
    int32_t slot = (int32_t)(e.data >> 32);
    m4_slot *s = &b->slots[slot];
    if (e.time > b->now) b->now = e.time;
    int err = m4_completion_push(completed, s->handle, e.time);
    if (err) return err;
    int32_t path[M4_MAX_HOPS];
    int32_t hops = b->state.flow_num_hops[slot];
    memcpy(path, b->state.flow_path + (size_t)slot * M4_MAX_HOPS, sizeof(int32_t) * hops);
    m4_state_remove_flow(&b->state, slot);
    s->handle = -1;
    s->generation++;
    b->free_slots[b->num_free++] = slot;
    b->active--;
    return update_component(b, path, hops);
}

const m4_backend_ops m4_m4_backend = {
    .name = "m4",
    .create = backend_create,
    .destroy = backend_destroy,
    .add_flow = backend_add_flow,
    .next_event_time = backend_next_event_time,
    .advance = backend_advance,
};
