/* Test helper for the packet backend: builds scenarios and drives the backend
 * through m4_backend_ops directly (so tests can also read its counters and
 * sample queues/throughput while it runs). */
#ifndef M4_TESTS_PACKET_DRIVER_H
#define M4_TESTS_PACKET_DRIVER_H

#include <stdlib.h>

#include "core/error.h"
#include "net/scenario.h"
#include "packet/packet.h"
#include "sim/sim.h"

typedef struct tflow {
    int32_t src, dst;
    int64_t size, start;
    int64_t end, ideal;
    int32_t hops;
    int completions;
} tflow;

/* topo: a generator spec or a topology.txt path. window 0 = largest BDP. */
static inline m4_scenario *pd_scenario(const char *topo, m4_cc_kind cc, int64_t window, double buffer_kb,
                                       int pfc)
{
    m4_scenario *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    if (m4_topology_from_spec(&sc->topology, topo) != M4_OK) {
        fprintf(stderr, "  topology %s: %s\n", topo, m4_last_error());
        free(sc);
        return NULL;
    }
    if (m4_routing_init(&sc->routing, &sc->topology) != M4_OK) {
        m4_topology_free(&sc->topology);
        free(sc);
        return NULL;
    }
    m4_config_defaults(&sc->config, cc);
    sc->config.window_bytes = window;
    if (buffer_kb > 0)
        sc->config.buffer_kb = buffer_kb;
    sc->config.pfc = pfc;
    sc->window_bytes = m4_resolved_window_bytes(&sc->topology, &sc->config);
    return sc;
}

static inline void pd_scenario_free(m4_scenario *sc)
{
    if (!sc)
        return;
    m4_routing_free(&sc->routing);
    m4_topology_free(&sc->topology);
    free(sc);
}

typedef void (*pd_observe_fn)(void *state, int64_t now, void *user);

/* Runs flows (sorted by start; handle = index) to completion. Calls obs every
 * sample_ns from the first start until every flow completed (0 = never).
 * Returns 0 or the backend's error. */
static inline int pd_run(const m4_scenario *sc, tflow *fl, int n, const char *trace_dir,
                         m4_packet_stats_t *stats, int64_t sample_ns, pd_observe_fn obs, void *user)
{
    const m4_backend_ops *ops = &m4_packet_backend;
    m4_backend_params params = {0};
    params.trace_dir = trace_dir;
    void *st = NULL;
    int err = ops->create(&st, sc, &params);
    if (err)
        return err;
    m4_completion_list done = {0};
    int next = 0, completed = 0;
    int64_t next_sample = (sample_ns > 0 && n > 0) ? fl[0].start : INT64_MAX;
    for (int i = 0; i < n; i++) {
        fl[i].end = -1;
        fl[i].completions = 0;
    }
    while (!err) {
        int64_t ts = next < n ? fl[next].start : INT64_MAX;
        int64_t tb = ops->next_event_time(st);
        if (ts == INT64_MAX && tb == INT64_MAX)
            break;
        if (next_sample <= ts && next_sample <= tb) {
            obs(st, next_sample, user);
            next_sample = completed == n ? INT64_MAX : next_sample + sample_ns;
            continue;
        }
        if (ts <= tb) {
            int32_t path[M4_MAX_HOPS], hops = 0;
            err = m4_route(&sc->routing, fl[next].src, fl[next].dst, (uint64_t)next, path, M4_MAX_HOPS, &hops);
            if (err)
                break;
            fl[next].hops = hops;
            fl[next].ideal = m4_ideal_fct_ns(&sc->topology, path, hops, fl[next].size);
            m4_flow_start fs = {next, next, fl[next].src, fl[next].dst, fl[next].size, fl[next].start,
                                path, hops, fl[next].ideal};
            err = ops->add_flow(st, &fs);
            next++;
            continue;
        }
        int64_t until = ts < next_sample ? ts : next_sample;
        err = ops->advance(st, until == INT64_MAX ? INT64_MAX : until - 1, &done);
        for (int64_t k = 0; k < done.count; k++) {
            tflow *f = &fl[done.items[k].handle];
            f->end = done.items[k].end_ns;
            f->completions++;
            completed++;
        }
        done.count = 0;
    }
    if (!err && trace_dir && ops->finish)
        err = ops->finish(st);
    if (stats)
        m4_packet_stats(st, stats);
    free(done.items);
    ops->destroy(st);
    return err;
}

#endif
