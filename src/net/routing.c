/* Shortest-path ECMP routing over hop-count distances to each host. */
#include "net/routing.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"

void m4_routing_free(m4_routing *r)
{
    if (!r) return;
    free(r->dist_to_host);
    memset(r, 0, sizeof *r);
}

/* One BFS per destination host. Traffic is never forwarded through a host,
 * so a host other than the BFS root is reached but not expanded. */
int m4_routing_init(m4_routing *r, const m4_topology *t)
{
    memset(r, 0, sizeof *r);
    r->topology = t;
    int32_t n = t->num_nodes;
    size_t cells = (size_t)t->num_hosts * (size_t)n;
    r->dist_to_host = malloc(sizeof(int16_t) * (cells ? cells : 1));
    int32_t *queue = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    if (!r->dist_to_host || !queue) {
        free(queue);
        m4_routing_free(r);
        return m4_error_set(M4_ENOMEM, "routing: out of memory for %d x %d distances", t->num_hosts, n);
    }
    for (int32_t h = 0; h < t->num_hosts; h++) {
        int16_t *dist = r->dist_to_host + (size_t)h * (size_t)n;
        for (int32_t v = 0; v < n; v++) dist[v] = -1;
        int32_t root = t->host_nodes[h];
        int32_t head = 0, tail = 0;
        dist[root] = 0;
        queue[tail++] = root;
        while (head < tail) {
            int32_t v = queue[head++];
            if (v != root && !t->is_switch[v]) continue;
            if (dist[v] >= M4_MAX_HOPS) continue; /* longer paths are not routable */
            for (int32_t i = t->adj_start[v]; i < t->adj_start[v + 1]; i++) {
                int32_t w = m4_dlink_to(t, t->adj_dlinks[i]);
                if (dist[w] < 0) {
                    dist[w] = (int16_t)(dist[v] + 1);
                    queue[tail++] = w;
                }
            }
        }
    }
    free(queue);
    return M4_OK;
}

int m4_route(const m4_routing *r, int32_t src, int32_t dst, uint64_t flow_id, int32_t *out_dlinks,
             int32_t max_hops, int32_t *num_hops)
{
    const m4_topology *t = r->topology;
    *num_hops = 0;
    if (src < 0 || src >= t->num_nodes || dst < 0 || dst >= t->num_nodes || t->is_switch[src] ||
        t->is_switch[dst])
        return m4_error_set(M4_EINVAL, "route: %d -> %d: both ends must be hosts", src, dst);
    if (src == dst) return m4_error_set(M4_EINVAL, "route: source and destination are both %d", src);
    const int16_t *dist = r->dist_to_host + (size_t)t->host_index[dst] * (size_t)t->num_nodes;
    if (dist[src] < 0) return m4_error_set(M4_ENOROUTE, "route: no path from %d to %d", src, dst);
    if (dist[src] > max_hops)
        return m4_error_set(M4_EINVAL, "route: %d -> %d needs %d hops, room for %d", src, dst,
                            dist[src], max_hops);
    uint64_t flow_key = m4_mix64(m4_mix64(m4_mix64((uint64_t)(uint32_t)src) ^ (uint64_t)(uint32_t)dst) ^ flow_id);
    int32_t v = src, hops = 0;
    while (v != dst) {
        int16_t want = (int16_t)(dist[v] - 1);
        int32_t candidates = 0;
        for (int32_t i = t->adj_start[v]; i < t->adj_start[v + 1]; i++) {
            int32_t w = m4_dlink_to(t, t->adj_dlinks[i]);
            if (dist[w] == want && (w == dst || t->is_switch[w])) candidates++;
        }
        if (candidates == 0) return m4_error_set(M4_ENOROUTE, "route: stuck at %d towards %d", v, dst);
        int32_t pick = (int32_t)(m4_mix64(flow_key ^ (uint64_t)(uint32_t)v) % (uint64_t)candidates);
        for (int32_t i = t->adj_start[v]; i < t->adj_start[v + 1]; i++) {
            int32_t dl = t->adj_dlinks[i];
            int32_t w = m4_dlink_to(t, dl);
            if (dist[w] == want && (w == dst || t->is_switch[w])) {
                if (pick-- == 0) {
                    out_dlinks[hops++] = dl;
                    v = w;
                    break;
                }
            }
        }
    }
    *num_hops = hops;
    return M4_OK;
}
