/* Shortest-path routing with ECMP. A flow's path is fixed by hashing
 * (src, dst, flow id) together with each switch's id, so it is deterministic
 * and independent of the order flows are routed in. */
#ifndef M4_NET_ROUTING_H
#define M4_NET_ROUTING_H

#include <stdint.h>

#include "topology.h"

typedef struct m4_routing {
    const m4_topology *topology;
    /* Hop distance from every node to every host: dist[host_index * num_nodes + node],
     * -1 when unreachable. Computed by one BFS per host. */
    int16_t *dist_to_host;
} m4_routing;

int m4_routing_init(m4_routing *r, const m4_topology *t);
void m4_routing_free(m4_routing *r);

/* Path of a flow as directed link ids, first hop (leaving src) first.
 * out_dlinks must hold max_hops entries; *num_hops is set. M4_ENOROUTE when
 * dst is unreachable, M4_EINVAL when src/dst is not a host or src == dst. */
int m4_route(const m4_routing *r, int32_t src, int32_t dst, uint64_t flow_id,
             int32_t *out_dlinks, int32_t max_hops, int32_t *num_hops);

#define M4_MAX_HOPS 32

#endif
