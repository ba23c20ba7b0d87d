/* Test helper for the packet backend: builds scenarios and drives the backend
 * through m4_backend_ops directly (so tests can also read its counters and
 * sample queues/throughput while it runs). */
#ifndef M4_TESTS_PACKET_DRIVER_H
#define M4_TESTS_PACKET_DRIVER_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The tests carry their own small topology reader, star generator, ECMP
 * router, ideal-FCT formula and config presets (independent of src/net), so
 * they check the backend against hand-written references. */
static inline double pd_parse_rate(const char *s)
{
    double v = 0;
    char unit[32] = "";
    if (sscanf(s, "%lf%31s", &v, unit) < 1)
        return -1;
    if (!strncmp(unit, "Gbps", 4) || !strcmp(unit, "G"))
        return v * 1e9;
    if (!strncmp(unit, "Mbps", 4))
        return v * 1e6;
    if (!strncmp(unit, "Kbps", 4))
        return v * 1e3;
    return v;
}

static inline int64_t pd_parse_delay(const char *s)
{
    double v = 0;
    char unit[32] = "";
    if (sscanf(s, "%lf%31s", &v, unit) < 1)
        return -1;
    if (!strcmp(unit, "ms"))
        return (int64_t)llround(v * 1e6);
    if (!strcmp(unit, "us"))
        return (int64_t)llround(v * 1e3);
    if (!strcmp(unit, "s"))
        return (int64_t)llround(v * 1e9);
    return (int64_t)llround(v);
}

static inline void pd_topology_index(m4_topology *t)
{
    t->host_index = malloc(sizeof(int32_t) * (size_t)t->num_nodes);
    t->host_nodes = malloc(sizeof(int32_t) * (size_t)t->num_nodes);
    t->num_hosts = 0;
    for (int32_t i = 0; i < t->num_nodes; i++) {
        if (t->is_switch[i]) {
            t->host_index[i] = -1;
        } else {
            t->host_index[i] = t->num_hosts;
            t->host_nodes[t->num_hosts++] = i;
        }
    }
    t->adj_start = calloc((size_t)t->num_nodes + 1, sizeof(int32_t));
    /* through uint32_t: a link count is never negative, and GCC, told so, no
     * longer warns of a huge allocation */
    t->adj_dlinks = malloc(sizeof(int32_t) * (size_t)(2 * (int64_t)(uint32_t)t->num_links + 1));
    for (int32_t l = 0; l < t->num_links; l++) {
        t->adj_start[t->links[l].a + 1]++;
        t->adj_start[t->links[l].b + 1]++;
    }
    for (int32_t i = 0; i < t->num_nodes; i++)
        t->adj_start[i + 1] += t->adj_start[i];
    int32_t *fill = calloc((size_t)t->num_nodes, sizeof(int32_t));
    for (int32_t d = 0; d < 2 * t->num_links; d++) {
        int32_t v = m4_dlink_from(t, d);
        t->adj_dlinks[t->adj_start[v] + fill[v]++] = d;
    }
    free(fill);
}

/* "star:hosts=N" (10 Gb/s, 1 us; hosts 0..N-1, switch N) or a topology.txt path */
static inline int pd_topology(m4_topology *t, const char *spec)
{
    memset(t, 0, sizeof *t);
    int hosts;
    if (sscanf(spec, "star:hosts=%d", &hosts) == 1) {
        t->num_nodes = hosts + 1;
        t->num_switches = 1;
        t->num_links = hosts;
        t->is_switch = calloc((size_t)hosts + 1, 1);
        t->is_switch[hosts] = 1;
        t->links = calloc((size_t)hosts, sizeof(m4_link));
        for (int i = 0; i < hosts; i++)
            t->links[i] = (m4_link){i, hosts, 10e9, 1000, 0};
        pd_topology_index(t);
        return 0;
    }
    FILE *f = fopen(spec, "r");
    if (!f)
        return -1;
    int n, sw, l;
    if (fscanf(f, "%d %d %d", &n, &sw, &l) != 3) {
        fclose(f);
        return -1;
    }
    t->num_nodes = n;
    t->num_switches = sw;
    t->num_links = l;
    t->is_switch = calloc((size_t)n, 1);
    t->links = calloc((size_t)l, sizeof(m4_link));
    for (int i = 0; i < sw; i++) {
        int id;
        if (fscanf(f, "%d", &id) != 1) {
            fclose(f);
            return -1;
        }
        t->is_switch[id] = 1;
    }
    for (int i = 0; i < l; i++) {
        char rate[64], delay[64];
        double e;
        if (fscanf(f, "%d %d %63s %63s %lf", &t->links[i].a, &t->links[i].b, rate, delay, &e) != 5) {
            fclose(f);
            return -1;
        }
        t->links[i].rate_bps = pd_parse_rate(rate);
        t->links[i].delay_ns = pd_parse_delay(delay);
    }
    fclose(f);
    pd_topology_index(t);
    return 0;
}

/* hop distance of every node to host dst (hosts other than dst do not forward) */
static inline void pd_distances(const m4_topology *t, int32_t dst, int32_t *dist)
{
    int32_t *queue = malloc(sizeof(int32_t) * (size_t)t->num_nodes);
    for (int32_t i = 0; i < t->num_nodes; i++)
        dist[i] = -1;
    int32_t head = 0, tail = 0;
    dist[dst] = 0;
    queue[tail++] = dst;
    while (head < tail) {
        int32_t v = queue[head++];
        if (v != dst && !t->is_switch[v])
            continue;
        for (int32_t k = t->adj_start[v]; k < t->adj_start[v + 1]; k++) {
            int32_t w = m4_dlink_to(t, t->adj_dlinks[k]);
            if (dist[w] < 0) {
                dist[w] = dist[v] + 1;
                queue[tail++] = w;
            }
        }
    }
    free(queue);
}

/* shortest path with ECMP: each hop picks among next hops by a hash of (flow, node) */
static inline int pd_route(const m4_scenario *sc, int32_t src, int32_t dst, uint64_t flow_id, int32_t *path,
                           int32_t max_hops, int32_t *num_hops)
{
    const m4_topology *t = &sc->topology;
    int32_t *dist = malloc(sizeof(int32_t) * (size_t)t->num_nodes);
    pd_distances(t, dst, dist);
    int32_t v = src, h = 0;
    int err = dist[src] < 0 ? M4_ENOROUTE : 0;
    while (!err && v != dst) {
        int32_t choices[64], nc = 0;
        for (int32_t k = t->adj_start[v]; k < t->adj_start[v + 1] && nc < 64; k++) {
            int32_t d = t->adj_dlinks[k], w = m4_dlink_to(t, d);
            if (dist[w] == dist[v] - 1 && (t->is_switch[w] || w == dst))
                choices[nc++] = d;
        }
        if (nc == 0 || h >= max_hops) {
            err = M4_ENOROUTE;
            break;
        }
        uint64_t x = flow_id * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)v << 32) ^ ((uint64_t)src << 16) ^ (uint64_t)dst;
        x ^= x >> 31;
        x *= 0xbf58476d1ce4e5b9ULL;
        x ^= x >> 29;
        path[h++] = choices[x % (uint64_t)nc];
        v = m4_dlink_to(t, path[h - 1]);
    }
    *num_hops = h;
    free(dist);
    return err;
}

/* DESIGN.md section 3 */
static inline int64_t pd_ideal(const m4_topology *t, const int32_t *path, int32_t hops, int64_t size)
{
    int64_t first_payload = size < 1000 ? size : 1000, first = first_payload + 48, n = (size + 999) / 1000;
    double rmin = 1e300;
    int64_t total = 0;
    for (int32_t i = 0; i < hops; i++) {
        double gbps = m4_dlink_rate_bps(t, path[i]) / 1e9;
        total += m4_dlink_delay_ns(t, path[i]) + (int64_t)floor((double)first * 8 / gbps);
        if (gbps < rmin)
            rmin = gbps;
    }
    return total + (int64_t)floor((double)(size - first_payload) * 8 / rmin) + (n - 1) * (int64_t)floor(48 * 8 / rmin);
}

/* largest 2 x path delay over host pairs (shortest paths by hops) */
static inline int64_t pd_max_base_rtt(const m4_topology *t)
{
    int32_t *dist = malloc(sizeof(int32_t) * (size_t)t->num_nodes);
    int64_t best = 0;
    for (int32_t a = 0; a < t->num_hosts; a++) {
        int32_t dst = t->host_nodes[a];
        pd_distances(t, dst, dist);
        for (int32_t b = 0; b < t->num_hosts; b++) {
            int32_t v = t->host_nodes[b];
            if (v == dst || dist[v] < 0)
                continue;
            int64_t delay = 0;
            while (v != dst) {
                for (int32_t k = t->adj_start[v]; k < t->adj_start[v + 1]; k++) {
                    int32_t d = t->adj_dlinks[k], w = m4_dlink_to(t, d);
                    if (dist[w] == dist[v] - 1 && (t->is_switch[w] || w == dst)) {
                        delay += m4_dlink_delay_ns(t, d);
                        v = w;
                        break;
                    }
                }
            }
            if (2 * delay > best)
                best = 2 * delay;
        }
    }
    free(dist);
    return best;
}

/* The fork's presets (DESIGN.md section 6) */
static inline void pd_config_defaults(m4_config *c, m4_cc_kind cc)
{
    memset(c, 0, sizeof *c);
    c->cc = cc;
    c->buffer_kb = 3000;
    c->pfc = 1;
    c->dctcp_k_kb = 30;
    c->dcqcn_kmin_kb = 8;
    c->dcqcn_kmax_kb = 12;
    c->hpcc_eta = 0.95;
    c->hpcc_ai_mbps = 1000;
    c->timely_tlow_us = 100;
    c->timely_thigh_us = 200;
    c->ecn_kmin_kb = 4;
    c->ecn_kmax_kb = 16;
    c->ecn_pmax = cc == M4_CC_DCTCP ? 1.0 : 0.2;
}

/* topo: "star:hosts=N" or a topology.txt path. window 0 = largest BDP. */
static inline m4_scenario *pd_scenario(const char *topo, m4_cc_kind cc, int64_t window, double buffer_kb,
                                       int pfc)
{
    m4_scenario *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    if (pd_topology(&sc->topology, topo) != 0) {
        fprintf(stderr, "  cannot read topology %s\n", topo);
        free(sc);
        return NULL;
    }
    pd_config_defaults(&sc->config, cc);
    sc->config.window_bytes = window;
    if (buffer_kb > 0)
        sc->config.buffer_kb = buffer_kb;
    sc->config.pfc = pfc;
    sc->window_bytes = window > 0 ? window : (int64_t)(10e9 * (double)pd_max_base_rtt(&sc->topology) / 8e9);
    return sc;
}

static inline void pd_scenario_free(m4_scenario *sc)
{
    if (!sc)
        return;
    m4_topology *t = &sc->topology;
    free(t->is_switch);
    free(t->links);
    free(t->host_nodes);
    free(t->host_index);
    free(t->adj_start);
    free(t->adj_dlinks);
    free(sc);
}

typedef void (*pd_observe_fn)(void *state, int64_t now, void *user);

/* Runs flows (sorted by start; handle = index) to completion, flow i in
 * priority group prio[i] (prio NULL: all in group 3). Calls obs every
 * sample_ns from the first start until every flow completed (0 = never).
 * Returns 0 or the backend's error. */
static inline int pd_run_prio(const m4_scenario *sc, tflow *fl, const int32_t *prio, int n,
                              const char *trace_dir, m4_packet_stats_t *stats, int64_t sample_ns,
                              pd_observe_fn obs, void *user)
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
            err = pd_route(sc, fl[next].src, fl[next].dst, (uint64_t)next, path, M4_MAX_HOPS, &hops);
            if (err)
                break;
            fl[next].hops = hops;
            fl[next].ideal = pd_ideal(&sc->topology, path, hops, fl[next].size);
            m4_flow_start fs = {next, next, fl[next].src, fl[next].dst, fl[next].size, fl[next].start,
                                path, hops, fl[next].ideal, prio ? prio[next] : 3};
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

static inline int pd_run(const m4_scenario *sc, tflow *fl, int n, const char *trace_dir,
                         m4_packet_stats_t *stats, int64_t sample_ns, pd_observe_fn obs, void *user)
{
    return pd_run_prio(sc, fl, NULL, n, trace_dir, stats, sample_ns, obs, user);
}

#endif
