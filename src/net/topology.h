/* Topology: nodes (hosts and switches) and bidirectional links, read from and
 * written to the HPCC topology.txt format, or generated from a spec.
 *
 * Every bidirectional link i yields two directed links: 2i (a -> b) and
 * 2i + 1 (b -> a). Simulators keep per-direction state (queues, rates) indexed
 * by directed link id. */
#ifndef M4_NET_TOPOLOGY_H
#define M4_NET_TOPOLOGY_H

#include <stdint.h>

typedef struct m4_link {
    int32_t a, b;
    double rate_bps;
    int64_t delay_ns;
    double error_rate;
} m4_link;

typedef struct m4_topology {
    int32_t num_nodes;
    int32_t num_switches;
    int32_t num_links;    /* bidirectional */
    uint8_t *is_switch;   /* [num_nodes] */
    m4_link *links;       /* [num_links] */
    int32_t num_hosts;
    int32_t *host_nodes;  /* [num_hosts] node id of each host, ascending */
    int32_t *host_index;  /* [num_nodes] index into host_nodes, -1 for switches */
    /* Outgoing directed links per node, CSR: adj_dlinks[adj_start[v] .. adj_start[v+1]) */
    int32_t *adj_start;   /* [num_nodes + 1] */
    int32_t *adj_dlinks;  /* [2 * num_links] */
} m4_topology;

static inline int32_t m4_dlink_from(const m4_topology *t, int32_t dlink)
{
    const m4_link *l = &t->links[dlink >> 1];
    return (dlink & 1) ? l->b : l->a;
}
static inline int32_t m4_dlink_to(const m4_topology *t, int32_t dlink)
{
    const m4_link *l = &t->links[dlink >> 1];
    return (dlink & 1) ? l->a : l->b;
}
static inline double m4_dlink_rate_bps(const m4_topology *t, int32_t dlink)
{
    return t->links[dlink >> 1].rate_bps;
}
static inline int64_t m4_dlink_delay_ns(const m4_topology *t, int32_t dlink)
{
    return t->links[dlink >> 1].delay_ns;
}
static inline int32_t m4_num_dlinks(const m4_topology *t) { return 2 * t->num_links; }

/* Build the derived arrays (hosts, adjacency) after nodes/links are filled;
 * validates ids, rates > 0, delays >= 0, no self-loops. */
int m4_topology_finish(m4_topology *t);
/* HPCC topology.txt: "nodes switches links", the switch ids, then "a b rate
 * delay error_rate" per link. Errors name path:line. */
int m4_topology_read(m4_topology *t, const char *path);
int m4_topology_write(const m4_topology *t, const char *path); /* atomic */
void m4_topology_free(m4_topology *t);

/* Generators. spec is one of
 *   fabric:pods=P,racks=R,hosts=H[,fabrics=F][,spines=S][,oversub=O][,host_rate=..][,fabric_rate=..][,delay=..]
 *   fattree:k=K[,host_rate=..][,fabric_rate=..][,delay=..]
 *   star:hosts=N[,rate=..][,delay=..]
 *   dumbbell:left=L,right=R[,rate=..][,bottleneck_rate=..][,delay=..]
 *   line:switches=N[,hosts=H per end..][,rate=..][,delay=..]
 * or a path to a topology.txt file. Rates accept 10Gbps/10G, delays 1us/1000ns.
 * Defaults: hosts 10G, fabric 40G, 1 us per link; rate= is the host link rate.
 * Node ids: hosts first (0..N-1, rack by rack), then switches.
 *   fabric: one ToR per rack, F fabric switches per pod (default 2), F spine
 *     planes of S spines (default 4); fabric switch f of every pod links to
 *     all spines of plane f; every ToR links to all fabric switches of its
 *     pod. oversub=O sets the ToR uplink rate to hosts*host_rate/(F*O) (the
 *     spine links stay at fabric_rate); without it uplinks run at fabric_rate.
 *     pods=2,racks=4,hosts=4 has the shape of the fork's 32-host fabric.
 *   fattree: edge switch e of a pod holds k/2 hosts; aggregation switch j of
 *     every pod links to cores j*k/2 .. j*k/2+k/2-1.
 *   dumbbell: hosts 0..L-1 on the left switch, the rest on the right; the
 *     switch-switch link runs at bottleneck_rate (default rate).
 *   line: N switches in a chain, `hosts` hosts (default 1) on each switch. */
int m4_topology_from_spec(m4_topology *t, const char *spec);

/* The largest base RTT over host pairs: 2 x the sum of propagation delays of
 * the longest shortest path (hop count), as the HPCC fork computes it. */
int64_t m4_topology_max_base_rtt_ns(const m4_topology *t);

#endif
