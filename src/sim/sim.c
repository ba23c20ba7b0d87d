#include "sim.h"

#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "sim/fct.h"
#include "core/heap.h"
#include "core/progress.h"
#include "core/textio.h"
#include "workload/generator.h"

struct m4_sim {
    const m4_scenario *scenario;
    const m4_backend_ops *ops;
    void *state;
    m4_sim_options options;
    m4_sim_flow *flows;
    int64_t num_flows, flow_capacity;
    m4_heap pending;          /* future starts, data = handle */
    m4_completion_list completed;
    int64_t now;
    int64_t active;           /* started in the backend, not yet complete */
    int finished;
    m4_progress progress;
    int64_t num_completed;
    /* --max-inflight: flows whose source host already has max_inflight flows
     * active wait in a FIFO per host (linked through wait_next by handle) and
     * are released, one per completion, at the completion's time. */
    int32_t max_inflight;       /* 0 = unlimited */
    int32_t *host_active;       /* per host index: flows begun, not complete */
    int64_t *wait_head, *wait_tail; /* per host index, -1 = empty */
    int64_t *wait_next;         /* per handle */
    uint8_t *reserved;          /* per handle: slot taken at release */
};

const m4_backend_ops *m4_backend_by_kind(m4_backend_kind kind)
{
    switch (kind) {
    case M4_BACKEND_FLOW: return &m4_flow_backend;
    case M4_BACKEND_PACKET: return &m4_packet_backend;
    case M4_BACKEND_M4: return &m4_m4_backend;
    }
    return NULL;
}

int m4_backend_from_name(const char *name, m4_backend_kind *out)
{
    static const struct { const char *name; m4_backend_kind kind; } names[] = {
        {"flow", M4_BACKEND_FLOW}, {"packet", M4_BACKEND_PACKET}, {"m4", M4_BACKEND_M4}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].kind;
            return M4_OK;
        }
    }
    return m4_error_set(M4_EINVAL, "unknown backend '%s' (flow, packet or m4)", name);
}

int m4_sim_create_ex(m4_sim **out, const m4_scenario *scenario, const m4_sim_options *options,
                     const m4_backend_params *params)
{
    *out = NULL;
    const m4_backend_ops *ops = m4_backend_by_kind(options->backend);
    if (!ops)
        return m4_error_set(M4_EINVAL, "unknown backend kind %d", (int)options->backend);
    m4_sim *sim = calloc(1, sizeof *sim);
    if (!sim)
        return M4_ENOMEM;
    sim->scenario = scenario;
    sim->ops = ops;
    sim->options = *options;
    m4_heap_init(&sim->pending);
    m4_backend_params defaults = {0};
    if (!params) {
        defaults.model_path = options->model_path;
        defaults.threads = options->threads;
        params = &defaults;
    }
    int err = ops->create(&sim->state, scenario, params);
    if (err) {
        m4_heap_free(&sim->pending);
        free(sim);
        return err;
    }
    if (options->max_inflight < 0) {
        ops->destroy(sim->state);
        m4_heap_free(&sim->pending);
        free(sim);
        return m4_error_set(M4_EINVAL, "max_inflight must be >= 0 (0 = unlimited), not %d",
                            (int)options->max_inflight);
    }
    sim->max_inflight = options->max_inflight;
    if (sim->max_inflight > 0) {
        int32_t hosts = scenario->topology.num_hosts;
        sim->host_active = calloc((size_t)(hosts ? hosts : 1), sizeof *sim->host_active);
        sim->wait_head = malloc((size_t)(hosts ? hosts : 1) * sizeof *sim->wait_head);
        sim->wait_tail = malloc((size_t)(hosts ? hosts : 1) * sizeof *sim->wait_tail);
        if (!sim->host_active || !sim->wait_head || !sim->wait_tail) {
            m4_sim_free(sim);
            return M4_ENOMEM;
        }
        for (int32_t h = 0; h < hosts; h++)
            sim->wait_head[h] = sim->wait_tail[h] = -1;
    }
    m4_progress_start(&sim->progress, params->log, "simulate", 0);
    *out = sim;
    return M4_OK;
}

int m4_sim_create(m4_sim **out, const m4_scenario *scenario, const m4_sim_options *options)
{
    return m4_sim_create_ex(out, scenario, options, NULL);
}

void m4_sim_free(m4_sim *sim)
{
    if (!sim)
        return;
    if (sim->state)
        sim->ops->destroy(sim->state);
    m4_heap_free(&sim->pending);
    free(sim->completed.items);
    free(sim->flows);
    free(sim->host_active);
    free(sim->wait_head);
    free(sim->wait_tail);
    free(sim->wait_next);
    free(sim->reserved);
    free(sim);
}

static int start_flow(m4_sim *sim, int64_t flow_id, int32_t src, int32_t dst, int64_t size_bytes,
                      int64_t start_ns, int32_t priority, uint64_t tag)
{
    const m4_topology *t = &sim->scenario->topology;
    if (src < 0 || src >= t->num_nodes || t->host_index[src] < 0)
        return m4_error_set(M4_EINVAL, "flow %lld: source %d is not a host", (long long)flow_id,
                            src);
    if (dst < 0 || dst >= t->num_nodes || t->host_index[dst] < 0)
        return m4_error_set(M4_EINVAL, "flow %lld: destination %d is not a host",
                            (long long)flow_id, dst);
    if (src == dst)
        return m4_error_set(M4_EINVAL, "flow %lld: source equals destination", (long long)flow_id);
    if (size_bytes <= 0)
        return m4_error_set(M4_EINVAL, "flow %lld: size must be positive", (long long)flow_id);
    if (start_ns < sim->now)
        return m4_error_set(M4_EINVAL, "flow %lld: start %lld ns is before now (%lld ns)",
                            (long long)flow_id, (long long)start_ns, (long long)sim->now);
    if (sim->num_flows == sim->flow_capacity) {
        /* the parallel arrays grow together; one that grew before a later one
         * failed is only larger than flow_capacity says */
        int64_t capacity = m4_array_grown_capacity(sim->flow_capacity, sim->num_flows + 1, 256);
        if (m4_array_resize(&sim->flows, capacity, sizeof *sim->flows) ||
            (sim->max_inflight > 0 &&
             (m4_array_resize(&sim->wait_next, capacity, sizeof *sim->wait_next) ||
              m4_array_resize(&sim->reserved, capacity, sizeof *sim->reserved))))
            return M4_ENOMEM;
        sim->flow_capacity = capacity;
    }
    int64_t handle = sim->num_flows;
    int err = m4_heap_push(&sim->pending, start_ns, (uint64_t)handle);
    if (err)
        return err;
    sim->flows[handle] = (m4_sim_flow){flow_id, src, dst, size_bytes, start_ns, -1, 0, tag, priority};
    if (sim->max_inflight > 0)
        sim->reserved[handle] = 0;
    sim->num_flows++;
    return M4_OK;
}

/* Flows started from outside the scenario get the generator's priority. */
int m4_sim_start_flow_id(m4_sim *sim, int64_t flow_id, int32_t src, int32_t dst,
                         int64_t size_bytes, int64_t start_ns, uint64_t tag)
{
    return start_flow(sim, flow_id, src, dst, size_bytes, start_ns, M4_GEN_PRIORITY, tag);
}

int m4_sim_start_flow(m4_sim *sim, int32_t src, int32_t dst, int64_t size_bytes,
                      int64_t start_ns, uint64_t tag)
{
    return m4_sim_start_flow_id(sim, sim->num_flows, src, dst, size_bytes, start_ns, tag);
}

int m4_sim_start_scenario_flows(m4_sim *sim)
{
    const m4_flowset *set = &sim->scenario->flows;
    for (int64_t i = 0; i < set->count; i++) {
        const m4_flow *f = &set->flows[i];
        int err = start_flow(sim, f->id, f->src, f->dst, f->size_bytes, f->start_ns, f->priority,
                             (uint64_t)i);
        if (err)
            return err;
    }
    sim->progress.total += set->count;
    return M4_OK;
}

/* A start popped from the queue: begin it, or park it behind its source
 * host's active flows when the host is at max_inflight. */
static int begin_flow(m4_sim *sim, int64_t handle)
{
    m4_sim_flow *f = &sim->flows[handle];
    const m4_scenario *sc = sim->scenario;
    if (sim->max_inflight > 0) {
        int32_t host = sc->topology.host_index[f->src];
        if (!sim->reserved[handle]) {
            if (sim->host_active[host] >= sim->max_inflight) {
                sim->wait_next[handle] = -1;
                if (sim->wait_tail[host] >= 0)
                    sim->wait_next[sim->wait_tail[host]] = handle;
                else
                    sim->wait_head[host] = handle;
                sim->wait_tail[host] = handle;
                return M4_OK;
            }
            sim->host_active[host]++;
        }
    }
    int32_t path[M4_MAX_HOPS];
    int32_t hops;
    int err = m4_route(&sc->routing, f->src, f->dst, (uint64_t)f->flow_id, path, M4_MAX_HOPS,
                       &hops);
    if (err)
        return err;
    f->ideal_fct_ns = m4_ideal_fct_ns(&sc->topology, path, hops, f->size_bytes);
    m4_flow_start start = {handle, f->flow_id, f->src, f->dst, f->size_bytes, f->start_ns,
                           path, hops, f->ideal_fct_ns, f->priority};
    err = sim->ops->add_flow(sim->state, &start);
    if (err)
        return err;
    sim->active++;
    return M4_OK;
}

/* A slot of host freed at time t: the oldest waiting flow takes it and starts
 * at t (its start_ns moves from its requested arrival to t, so its FCT counts
 * from when it really entered the network). The slot is reserved now so that
 * a later arrival at the same instant cannot take it. */
static int release_waiting(m4_sim *sim, int32_t host, int64_t t)
{
    sim->host_active[host]--;
    int64_t handle = sim->wait_head[host];
    if (handle < 0)
        return M4_OK;
    sim->wait_head[host] = sim->wait_next[handle];
    if (sim->wait_head[host] < 0)
        sim->wait_tail[host] = -1;
    sim->host_active[host]++;
    sim->reserved[handle] = 1;
    sim->flows[handle].start_ns = t;
    return m4_heap_push(&sim->pending, t, (uint64_t)handle);
}

static int deliver_completions(m4_sim *sim)
{
    /* Callbacks may start flows, which only touches the pending heap. */
    for (int64_t i = 0; i < sim->completed.count; i++) {
        m4_completion c = sim->completed.items[i];
        m4_sim_flow *f = &sim->flows[c.handle];
        if (f->end_ns >= 0)
            return m4_error_set(M4_ESTATE, "backend %s completed flow %lld twice", sim->ops->name,
                                (long long)f->flow_id);
        f->end_ns = c.end_ns;
        sim->active--;
        sim->num_completed++;
        if (c.end_ns > sim->now)
            sim->now = c.end_ns;
        if (sim->max_inflight > 0) {
            /* now >= end_ns here; a start never goes behind the backend's clock. */
            int err = release_waiting(sim, sim->scenario->topology.host_index[f->src], sim->now);
            if (err)
                return err;
            f = &sim->flows[c.handle];
        }
        if (sim->options.on_complete)
            sim->options.on_complete(sim, sim->options.user, f->tag, f->src, f->dst, f->size_bytes,
                                     f->start_ns, c.end_ns);
    }
    sim->completed.count = 0;
    m4_progress_update(&sim->progress, sim->num_completed);
    return M4_OK;
}

int m4_sim_run_until(m4_sim *sim, int64_t until_ns)
{
    if (sim->finished)
        return m4_error_set(M4_ESTATE, "simulation already finished");
    for (;;) {
        int64_t next_start = m4_heap_peek_time(&sim->pending);
        int64_t next_backend = sim->ops->next_event_time(sim->state);
        /* INT64_MAX means "nothing": stop even when until_ns is INT64_MAX. */
        if ((next_start > until_ns || next_start == INT64_MAX) &&
            (next_backend > until_ns || next_backend == INT64_MAX))
            break;
        if (next_start <= next_backend) {
            /* Starts come before backend events at the same instant. */
            m4_heap_entry entry;
            m4_heap_pop(&sim->pending, &entry);
            sim->now = entry.time;
            int err = begin_flow(sim, (int64_t)entry.data);
            if (err)
                return err;
            continue;
        }
        int64_t limit = next_start <= until_ns ? next_start - 1 : until_ns;
        int err = sim->ops->advance(sim->state, limit, &sim->completed);
        if (err)
            return err;
        if (next_backend > sim->now)
            sim->now = next_backend;
        err = deliver_completions(sim);
        if (err)
            return err;
    }
    if (until_ns > sim->now && until_ns != INT64_MAX)
        sim->now = until_ns;
    return M4_OK;
}

int m4_sim_run(m4_sim *sim)
{
    int err = m4_sim_run_until(sim, INT64_MAX);
    if (err)
        return err;
    if (sim->active > 0)
        return m4_error_set(M4_ESTATE, "backend %s went idle with %lld flows unfinished",
                            sim->ops->name, (long long)sim->active);
    m4_progress_finish(&sim->progress);
    return m4_sim_finish(sim);
}

int m4_sim_finish(m4_sim *sim)
{
    if (sim->finished)
        return M4_OK;
    sim->finished = 1;
    return sim->ops->finish ? sim->ops->finish(sim->state) : M4_OK;
}

int64_t m4_sim_now(const m4_sim *sim) { return sim->now; }
int64_t m4_sim_active_flows(const m4_sim *sim) { return sim->active; }
int64_t m4_sim_num_flows(const m4_sim *sim) { return sim->num_flows; }

const m4_sim_flow *m4_sim_flow_at(const m4_sim *sim, int64_t handle)
{
    return handle >= 0 && handle < sim->num_flows ? &sim->flows[handle] : NULL;
}

static int compare_by_id(const void *a, const void *b)
{
    const m4_sim_flow *x = *(const m4_sim_flow *const *)a, *y = *(const m4_sim_flow *const *)b;
    return (x->flow_id > y->flow_id) - (x->flow_id < y->flow_id);
}

int m4_fct_write(const char *path, const m4_sim *sim)
{
    const m4_sim_flow **order = malloc((size_t)(sim->num_flows ? sim->num_flows : 1) * sizeof *order);
    if (!order)
        return M4_ENOMEM;
    int64_t n = 0;
    for (int64_t i = 0; i < sim->num_flows; i++)
        if (sim->flows[i].end_ns >= 0)
            order[n++] = &sim->flows[i];
    qsort(order, (size_t)n, sizeof *order, compare_by_id);
    m4_atomic_file out;
    int err = m4_atomic_open(&out, path);
    if (err) {
        free(order);
        return err;
    }
    fprintf(out.file, "id src dst size start_ns fct_ns ideal_fct_ns slowdown\n");
    for (int64_t i = 0; i < n; i++) {
        const m4_sim_flow *f = order[i];
        int64_t fct = f->end_ns - f->start_ns;
        double slowdown = f->ideal_fct_ns > 0 ? (double)fct / (double)f->ideal_fct_ns : 1.0;
        if (slowdown < 1.0)
            slowdown = 1.0;
        fprintf(out.file, "%lld %d %d %lld %lld %lld %lld %.6f\n", (long long)f->flow_id, f->src,
                f->dst, (long long)f->size_bytes, (long long)f->start_ns, (long long)fct,
                (long long)f->ideal_fct_ns, slowdown);
    }
    free(order);
    return m4_atomic_commit(&out);
}

int m4_sim_flow_result(const m4_sim *sim, int64_t index, m4_flow_result *out)
{
    if (!sim || index < 0 || index >= sim->num_flows)
        return m4_error_set(M4_EINVAL, "flow index %lld out of range (%lld flows)",
                            (long long)index, (long long)(sim ? sim->num_flows : 0));
    const m4_sim_flow *f = &sim->flows[index];
    *out = (m4_flow_result){f->tag, f->flow_id, f->src, f->dst, f->size_bytes,
                            f->start_ns, f->end_ns, f->ideal_fct_ns};
    return M4_OK;
}

int m4_summary_write(const char *path, const char *backend, const char *scenario,
                     const m4_sim *sim, double wall_s, FILE *echo)
{
    int64_t n = m4_sim_num_flows(sim), completed = 0;
    double *slowdowns = malloc((size_t)(n ? n : 1) * sizeof *slowdowns);
    if (!slowdowns)
        return M4_ENOMEM;
    int64_t sim_end = 0;
    for (int64_t i = 0; i < n; i++) {
        const m4_sim_flow *f = m4_sim_flow_at(sim, i);
        if (f->end_ns < 0)
            continue;
        double slowdown = f->ideal_fct_ns > 0
                              ? (double)(f->end_ns - f->start_ns) / (double)f->ideal_fct_ns
                              : 1.0;
        slowdowns[completed++] = slowdown > 1 ? slowdown : 1;
        if (f->end_ns > sim_end)
            sim_end = f->end_ns;
    }
    m4_stats stats;
    m4_stats_compute(slowdowns, completed, &stats);
    free(slowdowns);
    m4_atomic_file out;
    int err = m4_atomic_open(&out, path);
    if (err)
        return err;
    FILE *targets[2] = {out.file, echo};
    for (int t = 0; t < 2; t++) {
        FILE *o = targets[t];
        if (!o)
            continue;
        fprintf(o, "backend %s\nscenario %s\nflows %lld\ncompleted %lld\nwall_s %.3f\n", backend,
                scenario, (long long)n, (long long)completed, wall_s);
        fprintf(o, "sim_end_ns %lld\npeak_rss_mb %.1f\n", (long long)sim_end, m4_peak_rss_mb());
        fprintf(o, "slowdown_mean %.4f\nslowdown_p50 %.4f\nslowdown_p90 %.4f\nslowdown_p99 %.4f\n",
                stats.mean, stats.p50, stats.p90, stats.p99);
    }
    return m4_atomic_commit(&out);
}

int m4_sim_write_fct(const m4_sim *sim, const char *path) { return m4_fct_write(path, sim); }
