#include "m4/state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"

int m4_state_reserve_flows(m4_state *s, int32_t capacity)
{
    if (capacity <= s->flow_capacity) return M4_OK;
    int32_t n = (int32_t)m4_array_grown_capacity(s->flow_capacity, capacity, 64);
    int32_t o = s->flow_capacity;
    /* the per-flow arrays, each row_size bytes a flow; new rows zeroed, as
     * calloc would give them */
    const struct {
        void *array_address;
        size_t row_size;
    } arrays[] = {
        {&s->flow_h, sizeof(float) * (size_t)s->H},
        {&s->flow_last_ns, sizeof(int64_t)},
        {&s->flow_num_hops, sizeof(int32_t)},
        {&s->flow_path, sizeof(int32_t) * M4_MAX_HOPS},
        {&s->flow_mark, sizeof(uint32_t)},
        {&s->flow_active, 1},
        {&s->flow_fluid_bits, sizeof(double)},
        {&s->flow_wire_bits, sizeof(double)},
        {&s->flow_fluid_bps, sizeof(double)},
        {&s->flow_bottleneck_bps, sizeof(double)},
        {&s->flow_fluid_ns, sizeof(int64_t)},
        {&s->flow_tx_done_ns, sizeof(int64_t)},
        {&s->flow_start_ns, sizeof(int64_t)},
        {&s->flow_ideal_ns, sizeof(int64_t)},
        {&s->flow_extra_ns, sizeof(int64_t)},
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        if (m4_array_resize_zeroed(arrays[i].array_address, o, n, arrays[i].row_size))
            return M4_ENOMEM;
    s->flow_capacity = n;
    return M4_OK;
}

int m4_state_init(m4_state *s, int H, int32_t num_links, int32_t flow_capacity)
{
    memset(s, 0, sizeof *s);
    s->H = H;
    s->num_links = num_links;
    size_t L = (size_t)(num_links > 0 ? num_links : 1);
    s->link_z = calloc(L * H, sizeof(float));
    s->link_last_ns = calloc(L, sizeof(int64_t));
    s->link_mark = calloc(L, sizeof(uint32_t));
    s->link_flows = calloc(L, sizeof(m4_link_flows));
    s->comp_links = calloc(L, sizeof(int32_t));
    s->comp_link_row = calloc(L, sizeof(int32_t));
    s->link_bps = calloc(L, sizeof(double));
    s->link_demand_bps = calloc(L, sizeof(double));
    s->link_backlog_bits = calloc(L, sizeof(double));
    s->link_backlog_ns = calloc(L, sizeof(int64_t));
    s->fair_capacity = calloc(L, sizeof(double));
    s->link_rate_sum = calloc(L, sizeof(double));
    s->fair_unfrozen = calloc(L, sizeof(int32_t));
    s->fair_link_offset = calloc(L + 1, sizeof(int32_t));
    if (!s->link_bps || !s->link_demand_bps || !s->link_backlog_bits || !s->link_rate_sum ||
        !s->link_backlog_ns || !s->fair_capacity || !s->fair_unfrozen || !s->fair_link_offset ||
        !s->link_z || !s->link_last_ns || !s->link_mark || !s->link_flows || !s->comp_links ||
        !s->comp_link_row) {
        m4_state_free(s);
        return M4_ENOMEM;
    }
    for (int32_t l = 0; l < num_links; l++) {
        m4_model_link_init(s->link_z + (size_t)l * H, H);
        s->link_bps[l] = 1.0;
    }
    int err = m4_state_reserve_flows(s, flow_capacity > 0 ? flow_capacity : 64);
    if (err) m4_state_free(s);
    return err;
}

void m4_state_free(m4_state *s)
{
    if (s->link_flows)
        for (int32_t l = 0; l < s->num_links; l++) free(s->link_flows[l].slots);
    free(s->flow_h), free(s->flow_last_ns), free(s->flow_num_hops), free(s->flow_path);
    free(s->flow_mark), free(s->flow_active);
    free(s->flow_fluid_bits), free(s->flow_wire_bits), free(s->flow_fluid_bps), free(s->flow_bottleneck_bps);
    free(s->flow_fluid_ns), free(s->flow_tx_done_ns), free(s->flow_start_ns), free(s->flow_ideal_ns), free(s->flow_extra_ns);
    free(s->link_z), free(s->link_last_ns), free(s->link_mark), free(s->link_flows);
    free(s->comp_flows), free(s->comp_links), free(s->comp_link_row);
    free(s->pair_flow), free(s->pair_link);
    free(s->link_bps), free(s->link_demand_bps);
    free(s->link_backlog_bits), free(s->link_backlog_ns), free(s->fair_capacity), free(s->link_rate_sum), free(s->fair_unfrozen), free(s->fair_link_offset);
    free(s->fair_link_pairs), free(s->fair_frozen), free(s->floor_scratch);
    free(s->floor_taken);
    memset(s, 0, sizeof *s);
}

/* The work-conserving backlog of a link at now: everything its flows
 * brought, drained at the full link rate whenever there was any. */
static void drain_backlog(m4_state *s, int32_t link, int64_t now_ns)
{
    if (now_ns <= s->link_backlog_ns[link]) return;
    double left = s->link_backlog_bits[link] -
                  s->link_bps[link] * (double)(now_ns - s->link_backlog_ns[link]) * 1e-9;
    s->link_backlog_bits[link] = left > 0 ? left : 0;
    s->link_backlog_ns[link] = now_ns;
}

int m4_state_add_flow(m4_state *s, int32_t slot, const int32_t *path, int32_t num_hops,
                      int64_t size_bytes, int64_t now_ns)
{
    if (slot < 0 || num_hops < 1 || num_hops > M4_MAX_HOPS)
        return m4_error_set(M4_EINVAL, "m4 state: bad flow slot %d or hop count %d", slot,
                            num_hops);
    int err = m4_state_reserve_flows(s, slot + 1);
    if (err) return err;
    if (s->flow_active[slot])
        return m4_error_set(M4_ESTATE, "m4 state: slot %d already active", slot);
    for (int32_t i = 0; i < num_hops; i++) {
        int32_t l = path[i];
        if (l < 0 || l >= s->num_links)
            return m4_error_set(M4_EINVAL, "m4 state: link %d out of range", l);
    }
    for (int32_t i = 0; i < num_hops; i++) {
        m4_link_flows *lf = &s->link_flows[path[i]];
        if (m4_array_reserve32(&lf->slots, &lf->capacity, lf->count + 1, sizeof *lf->slots, 8))
            return M4_ENOMEM;
        if (lf->count == 0) s->link_last_ns[path[i]] = now_ns;
        lf->slots[lf->count++] = slot;
    }
    s->flow_active[slot] = 1;
    s->flow_num_hops[slot] = num_hops;
    memcpy(s->flow_path + (size_t)slot * M4_MAX_HOPS, path, sizeof(int32_t) * num_hops);
    s->flow_last_ns[slot] = now_ns;
    double bottleneck = INFINITY;
    for (int32_t i = 0; i < num_hops; i++)
        if (s->link_bps[path[i]] < bottleneck) bottleneck = s->link_bps[path[i]];
    /* Payload plus one 48-byte header per 1000-byte packet, as on the wire. */
    double wire_bytes = (double)size_bytes + (double)((size_bytes + 999) / 1000) * 48.0;
    s->flow_fluid_bits[slot] = wire_bytes * 8.0;
    s->flow_wire_bits[slot] = wire_bytes * 8.0;
    for (int32_t i = 0; i < num_hops; i++) {
        drain_backlog(s, path[i], now_ns);
        s->link_backlog_bits[path[i]] += wire_bytes * 8.0;
    }
    s->flow_fluid_bps[slot] = 0.0;
    s->flow_bottleneck_bps[slot] = bottleneck;
    for (int32_t i = 0; i < num_hops; i++) s->link_demand_bps[path[i]] += bottleneck;
    s->flow_fluid_ns[slot] = now_ns;
    s->flow_tx_done_ns[slot] = -1;
    s->flow_start_ns[slot] = now_ns;
    s->flow_ideal_ns[slot] = (int64_t)(wire_bytes * 8.0 / bottleneck * 1e9) + 1;
    s->flow_extra_ns[slot] = 0;
    m4_model_flow_init(s->flow_h + (size_t)slot * s->H, s->H, size_bytes, num_hops);
    return M4_OK;
}

void m4_state_remove_flow(m4_state *s, int32_t slot)
{
    s->num_reset_links = 0;
    if (slot < 0 || slot >= s->flow_capacity || !s->flow_active[slot]) return;
    const int32_t *path = s->flow_path + (size_t)slot * M4_MAX_HOPS;
    for (int32_t i = 0; i < s->flow_num_hops[slot]; i++) {
        m4_link_flows *lf = &s->link_flows[path[i]];
        /* Keep the list in arrival order: components come out the same
         * whatever the removal history, which keeps runs reproducible. */
        for (int32_t k = 0; k < lf->count; k++) {
            if (lf->slots[k] == slot) {
                memmove(lf->slots + k, lf->slots + k + 1, sizeof(int32_t) * (lf->count - k - 1));
                lf->count--;
                break;
            }
        }
        s->link_demand_bps[path[i]] -= s->flow_bottleneck_bps[slot];
        if (lf->count == 0) {
            s->link_demand_bps[path[i]] = 0; /* no rounding left behind */
            m4_model_link_init(s->link_z + (size_t)path[i] * s->H, s->H);
            s->reset_links[s->num_reset_links++] = path[i];
        }
    }
    s->flow_active[slot] = 0;
}

static int comp_reserve(m4_state *s, int32_t flows, int32_t pairs)
{
    if (m4_array_reserve32(&s->comp_flows, &s->comp_capacity_flows, flows, sizeof *s->comp_flows,
                           64))
        return M4_ENOMEM;
    if (pairs > s->comp_capacity_pairs) {
        int32_t n = (int32_t)m4_array_grown_capacity(s->comp_capacity_pairs, pairs, 256);
        if (m4_array_resize(&s->pair_flow, n, sizeof *s->pair_flow) ||
            m4_array_resize(&s->pair_link, n, sizeof *s->pair_link))
            return M4_ENOMEM;
        s->comp_capacity_pairs = n;
    }
    return M4_OK;
}

int m4_state_component(m4_state *s, const int32_t *seed_links, int32_t num_seed_links)
{
    uint32_t mark = ++s->mark;
    if (mark == 0) { /* wrapped: clear the stamps once every 4 billion events */
        memset(s->flow_mark, 0, sizeof(uint32_t) * (size_t)s->flow_capacity);
        memset(s->link_mark, 0, sizeof(uint32_t) * (size_t)s->num_links);
        mark = s->mark = 1;
    }
    s->comp_num_flows = s->comp_num_links = s->comp_num_pairs = 0;
    /* Breadth-first over links; comp_links doubles as the queue. */
    for (int32_t i = 0; i < num_seed_links; i++) {
        int32_t l = seed_links[i];
        if (s->link_mark[l] == mark || s->link_flows[l].count == 0) continue;
        s->link_mark[l] = mark;
        s->comp_link_row[l] = s->comp_num_links;
        s->comp_links[s->comp_num_links++] = l;
    }
    const int32_t num_seeds = s->comp_num_links;
    /* Under FLOWS and LINKS only the seed links spread to their flows. */
    const int32_t spread_end = s->neighbourhood == M4_NEIGHBOURHOOD_COMPONENT ? INT32_MAX : num_seeds;
    for (int32_t head = 0; head < s->comp_num_links && head < spread_end; head++) {
        int32_t hl = s->comp_links[head];
        if (s->couple_only && head >= num_seeds &&
            !(s->link_demand_bps[hl] > s->link_bps[hl] * (1.0 + 1e-9)))
            continue;
        const m4_link_flows *lf = &s->link_flows[hl];
        for (int32_t k = 0; k < lf->count; k++) {
            int32_t f = lf->slots[k];
            if (s->flow_mark[f] == mark) continue;
            s->flow_mark[f] = mark;
            int err = comp_reserve(s, s->comp_num_flows + 1, 0);
            if (err) return err;
            s->comp_flows[s->comp_num_flows++] = f;
            const int32_t *path = s->flow_path + (size_t)f * M4_MAX_HOPS;
            for (int32_t i = 0; i < s->flow_num_hops[f]; i++) {
                int32_t l = path[i];
                if (s->link_mark[l] == mark) continue;
                s->link_mark[l] = mark;
                s->comp_link_row[l] = s->comp_num_links;
                s->comp_links[s->comp_num_links++] = l;
            }
        }
    }
    int32_t pairs = 0;
    for (int32_t r = 0; r < s->comp_num_flows; r++) pairs += s->flow_num_hops[s->comp_flows[r]];
    int err = comp_reserve(s, s->comp_num_flows, pairs);
    if (err) return err;
    /* The graph's links are the seed rows under LINKS; their pairs go first
     * (two passes), so the graph part is a prefix of both lists. */
    const int32_t graph_links =
        s->neighbourhood == M4_NEIGHBOURHOOD_LINKS ? num_seeds : s->comp_num_links;
    for (int pass = 0; pass < 2; pass++) {
        for (int32_t r = 0; r < s->comp_num_flows; r++) {
            int32_t f = s->comp_flows[r];
            const int32_t *path = s->flow_path + (size_t)f * M4_MAX_HOPS;
            for (int32_t i = 0; i < s->flow_num_hops[f]; i++) {
                int32_t row = s->comp_link_row[path[i]];
                if ((row < graph_links) != (pass == 0)) continue;
                s->pair_flow[s->comp_num_pairs] = r;
                s->pair_link[s->comp_num_pairs] = row;
                s->comp_num_pairs++;
            }
        }
        if (pass == 0) s->comp_graph_pairs = s->comp_num_pairs;
    }
    s->comp_graph_links = graph_links;
    return M4_OK;
}

void m4_state_gather(const m4_state *s, int64_t now_ns, const float *config, float *flow_h,
                     float *link_z, float *flow_dt, float *link_dt, float *path_length,
                     m4_step_input *in)
{
    const int H = s->H;
    for (int32_t r = 0; r < s->comp_num_flows; r++) {
        int32_t f = s->comp_flows[r];
        memcpy(flow_h + (size_t)r * H, s->flow_h + (size_t)f * H, sizeof(float) * H);
        flow_dt[r] = m4_model_dt_feature(now_ns - s->flow_last_ns[f]);
        path_length[r] = (float)s->flow_num_hops[f];
    }
    for (int32_t r = 0; r < s->comp_graph_links; r++) {
        int32_t l = s->comp_links[r];
        memcpy(link_z + (size_t)r * H, s->link_z + (size_t)l * H, sizeof(float) * H);
        link_dt[r] = m4_model_dt_feature(now_ns - s->link_last_ns[l]);
    }
    *in = (m4_step_input){.num_flows = s->comp_num_flows,
                          .num_links = s->comp_graph_links,
                          .num_pairs = s->comp_graph_pairs,
                          .flow_h = flow_h,
                          .link_z = link_z,
                          .flow_dt = flow_dt,
                          .link_dt = link_dt,
                          .flow_path_length = path_length,
                          .config = config,
                          .pair_flow = s->pair_flow,
                          .pair_link = s->pair_link};
}

void m4_state_flow_age(const m4_state *s, int64_t now_ns, float *out)
{
    for (int32_t r = 0; r < s->comp_num_flows; r++) {
        int32_t f = s->comp_flows[r];
        double age = (double)(now_ns - s->flow_start_ns[f]) / (double)s->flow_ideal_ns[f];
        out[r] = (float)log2(1.0 + (age > 0 ? age : 0.0));
    }
}

int m4_state_step_input(m4_state *s, int64_t now_ns, const float *config, int flow_extra,
                        m4_nn_arena *arena, m4_step_input *in)
{
    const int H = s->H;
    const size_t N = (size_t)s->comp_num_flows, L = (size_t)s->comp_graph_links;
    /* One spare float each: no zero-sized requests. */
    float *flow_h = m4_nn_arena_alloc(arena, N * H + 1);
    float *link_z = m4_nn_arena_alloc(arena, L * H + 1);
    float *flow_dt = m4_nn_arena_alloc(arena, N + 1);
    float *link_dt = m4_nn_arena_alloc(arena, L + 1);
    float *path_length = m4_nn_arena_alloc(arena, N + 1);
    float *fair = m4_nn_arena_alloc(arena, N + 1);
    float *base = m4_nn_arena_alloc(arena, N + 1);
    float *load = flow_extra > 2 ? m4_nn_arena_alloc(arena, N + 1) : NULL;
    float *age = flow_extra > 3 ? m4_nn_arena_alloc(arena, N + 1) : NULL;
    if (!flow_h || !link_z || !flow_dt || !link_dt || !path_length || !fair || !base ||
        (flow_extra > 2 && !load) || (flow_extra > 3 && !age))
        return M4_ENOMEM;
    m4_state_gather(s, now_ns, config, flow_h, link_z, flow_dt, link_dt, path_length, in);
    int err = m4_state_fluid(s, now_ns, fair, base);
    if (err) return err;
    in->flow_fair_share = fair;
    in->flow_base_slowdown = base;
    if (load) {
        m4_state_path_load(s, load);
        in->flow_path_load = load;
    }
    if (age) {
        m4_state_flow_age(s, now_ns, age);
        in->flow_age = age;
    }
    return M4_OK;
}

void m4_state_scatter(m4_state *s, int64_t now_ns, const float *flow_h_out,
                      const float *link_z_out)
{
    const int H = s->H;
    for (int32_t r = 0; r < s->comp_num_flows; r++) {
        int32_t f = s->comp_flows[r];
        memcpy(s->flow_h + (size_t)f * H, flow_h_out + (size_t)r * H, sizeof(float) * H);
        s->flow_last_ns[f] = now_ns;
    }
    for (int32_t r = 0; r < s->comp_graph_links; r++) {
        int32_t l = s->comp_links[r];
        memcpy(s->link_z + (size_t)l * H, link_z_out + (size_t)r * H, sizeof(float) * H);
        s->link_last_ns[l] = now_ns;
    }
}

int m4_state_set_link_rates(m4_state *s, const double *link_bps)
{
    for (int32_t l = 0; l < s->num_links; l++) {
        if (!(link_bps[l] > 0))
            return m4_error_set(M4_EINVAL, "m4 state: link %d has rate %g", l, link_bps[l]);
        s->link_bps[l] = link_bps[l];
    }
    return M4_OK;
}

int m4_state_fair_share(m4_state *s, float *out)
{
    const int32_t N = s->comp_num_flows, L = s->comp_num_links, E = s->comp_num_pairs;
    if (m4_array_reserve32(&s->fair_frozen, &s->fair_capacity_rows, N, sizeof *s->fair_frozen,
                           64) ||
        m4_array_reserve32(&s->fair_link_pairs, &s->fair_capacity_pairs, E,
                           sizeof *s->fair_link_pairs, 64))
        return M4_ENOMEM;
    /* Pairs grouped by link row (counting sort), unfrozen counts, capacities. */
    int32_t *off = s->fair_link_offset;
    memset(off, 0, sizeof(int32_t) * (size_t)(L + 1));
    for (int32_t e = 0; e < E; e++) off[s->pair_link[e] + 1]++;
    for (int32_t r = 0; r < L; r++) {
        off[r + 1] += off[r];
        s->fair_unfrozen[r] = off[r + 1] - off[r];
        s->fair_capacity[r] = s->link_bps[s->comp_links[r]];
    }
    if (s->neighbourhood != M4_NEIGHBOURHOOD_COMPONENT) {
        /* A link beyond the event's path also carries flows outside the
         * neighbourhood: they keep their max-min rates, and the
         * neighbourhood shares what they leave (at least a twentieth, so
         * that a stale overshoot cannot starve it). */
        for (int32_t r = 0; r < L; r++) {
            const m4_link_flows *lf = &s->link_flows[s->comp_links[r]];
            if (lf->count == off[r + 1] - off[r]) continue;
            double outside_bps = 0;
            for (int32_t k = 0; k < lf->count; k++)
                if (s->flow_mark[lf->slots[k]] != s->mark)
                    outside_bps += s->flow_fluid_bps[lf->slots[k]];
            double left = s->fair_capacity[r] - outside_bps;
            s->fair_capacity[r] = fmax(left, 0.05 * s->fair_capacity[r]);
        }
    }
    for (int32_t e = 0; e < E; e++) s->fair_link_pairs[off[s->pair_link[e]]++] = e;
    for (int32_t r = L; r > 0; r--) off[r] = off[r - 1];
    off[0] = 0;
    memset(s->fair_frozen, 0, (size_t)N);
    int32_t frozen = 0;
    for (int32_t r = 0; r < N; r++) {
        int32_t f = s->comp_flows[r];
        if (s->flow_fluid_bits[f] > 0) continue;
        s->fair_frozen[r] = 1;
        frozen++;
        out[r] = 1.0f;
        const int32_t *path = s->flow_path + (size_t)f * M4_MAX_HOPS;
        for (int32_t i = 0; i < s->flow_num_hops[f]; i++) s->fair_unfrozen[s->comp_link_row[path[i]]]--;
    }
    while (frozen < N) {
        /* The link with the smallest fair share freezes its flows at it. */
        int32_t best = -1;
        double best_share = 0;
        for (int32_t r = 0; r < L; r++) {
            if (s->fair_unfrozen[r] == 0) continue;
            double share = s->fair_capacity[r] / s->fair_unfrozen[r];
            if (best < 0 || share < best_share) best = r, best_share = share;
        }
        if (best < 0) break;
        if (best_share < 0) best_share = 0;
        for (int32_t k = off[best]; k < off[best + 1]; k++) {
            int32_t row = s->pair_flow[s->fair_link_pairs[k]];
            if (s->fair_frozen[row]) continue;
            s->fair_frozen[row] = 1;
            frozen++;
            int32_t f = s->comp_flows[row];
            const int32_t *path = s->flow_path + (size_t)f * M4_MAX_HOPS;
            double bottleneck = INFINITY;
            for (int32_t i = 0; i < s->flow_num_hops[f]; i++) {
                int32_t r2 = s->comp_link_row[path[i]];
                s->fair_capacity[r2] -= best_share;
                s->fair_unfrozen[r2]--;
                if (s->link_bps[path[i]] < bottleneck) bottleneck = s->link_bps[path[i]];
            }
            double x = best_share / bottleneck;
            out[row] = (float)(x > 1.0 ? 1.0 : x < 1e-6 ? 1e-6 : x);
        }
    }
    return M4_OK;
}

void m4_state_path_load(m4_state *s, float *out)
{
    /* Every link of the component's flows is one of its links: sum each
     * once over all its active flows (those outside the component at the
     * rates they were last given). */
    for (int32_t r = 0; r < s->comp_num_links; r++) {
        const int32_t link = s->comp_links[r];
        const m4_link_flows *lf = &s->link_flows[link];
        double sum = 0;
        for (int32_t k = 0; k < lf->count; k++) sum += s->flow_fluid_bps[lf->slots[k]];
        s->link_rate_sum[link] = sum;
    }
    for (int32_t row = 0; row < s->comp_num_flows; row++) {
        const int32_t f = s->comp_flows[row];
        const int32_t *path = s->flow_path + (size_t)f * M4_MAX_HOPS;
        double busiest = 0;
        for (int32_t i = 0; i < s->flow_num_hops[f]; i++) {
            double load = (s->link_rate_sum[path[i]] - s->flow_fluid_bps[f]) / s->link_bps[path[i]];
            if (load > busiest) busiest = load;
        }
        out[row] = (float)(busiest < 1.0 ? busiest : 1.0);
    }
}

typedef struct end_row {
    int64_t end_ns;
    int32_t row;
} end_row;

static int by_end_then_row(const void *a, const void *b)
{
    const end_row *x = a, *y = b;
    if (x->end_ns != y->end_ns) return x->end_ns < y->end_ns ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* On a sender's NIC uplink (the first hop of all its flows) that the fluid
 * view saturates, the flows at the link's fair level are the ones the NIC
 * holds back; it serves them round-robin, so flow i cannot end before each
 * of them has sent as much as i has left, or all it has left: end_i >= now +
 * sum_j min(bits_j, bits_i) / capacity. Equal flows leaving one host thus
 * end together, as they do on the wire. Flows held back elsewhere (below
 * the fair level) are left out: they send less, which only speeds i up. */
static void nic_share_floor(m4_state *s, int32_t link_row, int32_t n, int64_t now_ns,
                            double ns_per_bit, int64_t *end_ns)
{
    /* One flow: its own bits, which the backlog bound already covers. */
    if (n < 2) return;
    const int32_t link = s->comp_links[link_row];
    const int32_t *pairs = s->fair_link_pairs + s->fair_link_offset[link_row];
    double top_bps = 0, sum_bps = 0;
    for (int32_t k = 0; k < n; k++) {
        int32_t f = s->comp_flows[s->pair_flow[pairs[k]]];
        if (s->flow_path[(size_t)f * M4_MAX_HOPS] != link) return; /* not an uplink */
        sum_bps += s->flow_fluid_bps[f];
        if (s->flow_fluid_bps[f] > top_bps) top_bps = s->flow_fluid_bps[f];
    }
    if (sum_bps < s->link_bps[link] * (1.0 - 1e-6)) return;
    const double fair_level_bps = top_bps * (1.0 - 1e-6);
    for (int32_t k = 0; k < n; k++) {
        int32_t row = s->pair_flow[pairs[k]], f = s->comp_flows[row];
        if (s->flow_fluid_bps[f] < fair_level_bps) continue;
        double mine = s->flow_fluid_bits[f], bits = 0;
        for (int32_t q = 0; q < n; q++) {
            int32_t g = s->comp_flows[s->pair_flow[pairs[q]]];
            if (s->flow_fluid_bps[g] >= fair_level_bps) bits += fmin(s->flow_fluid_bits[g], mine);
        }
        int64_t floor_ns = now_ns + (int64_t)ceil(bits * ns_per_bit);
        if (end_ns[row] < floor_ns) end_ns[row] = floor_ns;
    }
}

/* Which of the flows not yet placed takes the latest open slot, whose floor
 * is floor_ns: the latest predicted (rows[last], the predicted order) when it
 * ends at or after the floor, which leaves a feasible prediction as it is.
 * Otherwise someone must be raised to the floor, and it is the flow it
 * stretches least relative to its predicted time in the network (at least
 * its ideal time, which flow_ideal_ns keeps positive), since
 * slowdown errors are relative: a bulk flow raised by a tiny flow's time
 * barely changes, the tiny flow queued behind the bulk flow's bits would be
 * many times late. */
static int32_t floor_pick(const m4_state *s, const end_row *rows, const unsigned char *taken,
                          int32_t last, int64_t floor_ns)
{
    if (rows[last].end_ns >= floor_ns) return last;
    int32_t best = last;
    double best_stretch = INFINITY;
    for (int32_t k = last; k >= 0; k--) {
        if (taken[k]) continue;
        const int32_t f = s->comp_flows[rows[k].row];
        /* Never less than its ideal time: a prediction below it is not one
         * to measure relative error against. */
        const double in_network = fmax((double)(rows[k].end_ns - s->flow_start_ns[f]),
                                       (double)s->flow_ideal_ns[f]);
        const double stretch = (double)(floor_ns - rows[k].end_ns) / in_network;
        if (stretch < best_stretch) best_stretch = stretch, best = k;
    }
    return best;
}

int m4_state_capacity_floor(m4_state *s, int64_t now_ns, int64_t *end_ns)
{
    /* fair_link_offset / fair_link_pairs still group the component's pairs
     * by link row (m4_state_fluid built them). */
    const int32_t L = s->comp_num_links, E = s->comp_num_pairs;
    if (E > s->floor_capacity) {
        int32_t capacity = (int32_t)m4_array_grown_capacity(s->floor_capacity, E, 64);
        if (m4_array_resize(&s->floor_scratch, capacity, sizeof(end_row)) ||
            m4_array_resize(&s->floor_taken, capacity, sizeof *s->floor_taken))
            return M4_ENOMEM;
        s->floor_capacity = capacity;
    }
    end_row *rows = s->floor_scratch;
    unsigned char *taken = s->floor_taken;
    for (int32_t r = 0; r < L; r++) {
        const int32_t link = s->comp_links[r];
        const int32_t n = s->fair_link_offset[r + 1] - s->fair_link_offset[r];
        /* Only where the component holds every flow of the link: the bound
         * subtracts the sizes of all that end later. */
        if (n == 0 || n != s->link_flows[link].count) continue;
        double active_bits = 0; /* wire bits of the flows on the link now */
        for (int32_t k = 0; k < n; k++) {
            int32_t row = s->pair_flow[s->fair_link_pairs[s->fair_link_offset[r] + k]];
            rows[k] = (end_row){end_ns[row], row};
            active_bits += s->flow_wire_bits[s->comp_flows[row]];
        }
        drain_backlog(s, link, now_ns);
        /* A completed flow has delivered all its bits, so what can still be
         * queued is at most the bits of the flows on the link now. Without
         * this cap, flows the model ended sooner than the link could carry
         * them (their last update floored them on other links) left their
         * bits behind, and a later flow, even alone on the link, was held
         * behind that phantom backlog (a 2 KB flow 96x late). */
        if (s->link_backlog_bits[link] > active_bits) s->link_backlog_bits[link] = active_bits;
        const double backlog = s->link_backlog_bits[link];
        if (!(backlog > 0)) continue;
        qsort(rows, (size_t)n, sizeof *rows, by_end_then_row);
        memset(taken, 0, (size_t)n);
        const double ns_per_bit = 1e9 / s->link_bps[link];
        /* Slots from the last end back: whoever ends last cannot end before
         * the link has delivered the whole backlog; the one before it, the
         * backlog less the last one's bits; and so on. */
        double after_bits = 0; /* wire bits of the flows placed in later slots */
        int32_t last = n - 1;  /* latest predicted flow not yet placed */
        for (int32_t slot = n - 1; slot >= 0; slot--) {
            while (taken[last]) last--;
            double owed = backlog - after_bits;
            if (owed <= 0) break; /* and for every earlier slot: after_bits only grows */
            int64_t floor_ns = now_ns + (int64_t)ceil(owed * ns_per_bit);
            int32_t k = floor_pick(s, rows, taken, last, floor_ns);
            if (end_ns[rows[k].row] < floor_ns) end_ns[rows[k].row] = floor_ns;
            taken[k] = 1;
            after_bits += s->flow_wire_bits[s->comp_flows[rows[k].row]];
        }
        nic_share_floor(s, r, n, now_ns, ns_per_bit, end_ns);
    }
    return M4_OK;
}

void m4_state_set_flow_ideal(m4_state *s, int32_t slot, int64_t ideal_ns)
{
    double tx_alone_ns = s->flow_fluid_bits[slot] / s->flow_bottleneck_bps[slot] * 1e9;
    s->flow_ideal_ns[slot] = ideal_ns > 0 ? ideal_ns : 1;
    double extra = (double)ideal_ns - tx_alone_ns;
    s->flow_extra_ns[slot] = extra > 0 ? (int64_t)extra : 0;
}

void m4_state_set_flow_progress(m4_state *s, int32_t slot, int64_t start_ns, int64_t remaining_bytes)
{
    s->flow_start_ns[slot] = start_ns;
    double wire = (double)remaining_bytes + (double)((remaining_bytes + 999) / 1000) * 48.0;
    /* What it delivered before is not in its links' backlogs. */
    double delivered = s->flow_fluid_bits[slot] - wire * 8.0;
    const int32_t *path = s->flow_path + (size_t)slot * M4_MAX_HOPS;
    for (int32_t i = 0; i < s->flow_num_hops[slot]; i++) {
        double left = s->link_backlog_bits[path[i]] - delivered;
        s->link_backlog_bits[path[i]] = left > 0 ? left : 0;
    }
    s->flow_fluid_bits[slot] = wire * 8.0;
    s->flow_tx_done_ns[slot] = remaining_bytes > 0 ? -1 : s->flow_fluid_ns[slot];
}

int m4_state_fluid(m4_state *s, int64_t now_ns, float *fair, float *base)
{
    const int32_t N = s->comp_num_flows;
    for (int32_t r = 0; r < N; r++) {
        int32_t f = s->comp_flows[r];
        double bits = s->flow_fluid_bits[f], rate = s->flow_fluid_bps[f];
        double left = bits - rate * (double)(now_ns - s->flow_fluid_ns[f]) * 1e-9;
        if (left <= 0 && bits > 0) {
            /* Ran out in between: when, exactly, as flowSim's transmission end. */
            s->flow_tx_done_ns[f] = s->flow_fluid_ns[f] + (int64_t)(bits / rate * 1e9);
            left = 0;
        }
        s->flow_fluid_bits[f] = left > 0 ? left : 0;
        s->flow_fluid_ns[f] = now_ns;
    }
    int err = m4_state_fair_share(s, fair);
    if (err) return err;
    for (int32_t r = 0; r < N; r++) {
        int32_t f = s->comp_flows[r];
        double end;
        if (s->flow_fluid_bits[f] > 0) {
            double rate = fair[r] * s->flow_bottleneck_bps[f];
            s->flow_fluid_bps[f] = rate;
            end = (double)(now_ns - s->flow_start_ns[f]) + s->flow_fluid_bits[f] / rate * 1e9;
        } else {
            s->flow_fluid_bps[f] = 0;
            int64_t done = s->flow_tx_done_ns[f] >= 0 ? s->flow_tx_done_ns[f] : now_ns;
            end = (double)(done - s->flow_start_ns[f]);
        }
        end += (double)s->flow_extra_ns[f];
        double sd = end / (double)s->flow_ideal_ns[f];
        base[r] = (float)(sd > 1.0 ? sd : 1.0);
    }
    return M4_OK;
}
