/* Spatial traffic patterns: which hosts talk to which.
 *
 *   uniform     every flow: a source and a different destination, each
 *               uniformly random over the hosts.
 *   incast:N    arrivals are incast events: each event picks one random
 *               receiver and N distinct random senders (all different from
 *               the receiver); its N flows start at the same instant. The
 *               flow count is split into ceil(flows/N) events, the last one
 *               smaller when N does not divide it. 1 <= N < hosts.
 *   matrix:FILE a weight matrix: each flow picks an entry with probability
 *               proportional to its weight, then a random host of the source
 *               and a different random host of the destination group.
 *
 * Matrix file: '#' comments and blank lines allowed; an optional first line
 * `racks` (the default) or `hosts` names what the indices count; then
 * `SRC DST WEIGHT` lines, indices 0-based, weight >= 0, each (SRC, DST) at
 * most once, at least one positive weight. A rack is the set of hosts on one
 * switch (the node a host's first link reaches); racks are numbered in order
 * of their lowest host, which for the generated topologies is rack by rack.
 * SRC == DST is allowed for racks with at least two hosts (intra-rack
 * traffic), never for hosts. Errors name FILE:line. */
#ifndef M4_WORKLOAD_PATTERN_H
#define M4_WORKLOAD_PATTERN_H

#include <stdint.h>

#include "core/rng.h"
#include "net/topology.h"

typedef enum m4_pattern_kind {
    M4_PATTERN_UNIFORM = 0,
    M4_PATTERN_INCAST = 1,
    M4_PATTERN_MATRIX = 2,
} m4_pattern_kind;

typedef struct m4_traffic_matrix {
    int by_hosts;          /* 0: indices are racks, 1: hosts */
    int32_t num_entries;
    int32_t *src, *dst;    /* [num_entries] rack or host indices */
    double *cumulative;    /* [num_entries] running sum of the weights */
} m4_traffic_matrix;

typedef struct m4_pattern {
    m4_pattern_kind kind;
    int32_t incast_senders;      /* N of incast:N */
    m4_traffic_matrix matrix;    /* matrix:FILE */
    /* Host grouping, filled by m4_pattern_parse from the topology. */
    int32_t num_hosts;
    int32_t num_racks;
    int32_t *rack_start;         /* [num_racks + 1] into rack_hosts */
    int32_t *rack_hosts;         /* [num_hosts] host indices, rack by rack */
    int32_t *shuffle;            /* [num_hosts] scratch for incast draws */
} m4_pattern;

/* Rack index of every host ([num_hosts]); returns the number of racks or a
 * negative error. */
int32_t m4_host_racks(const m4_topology *t, int32_t *rack_of_host);

/* Parse "uniform", "incast:N" or "matrix:FILE" against a topology. */
int m4_pattern_parse(m4_pattern *p, const char *spec, const m4_topology *t);
/* Read a matrix file (format above) against the topology's hosts/racks. */
int m4_traffic_matrix_read(m4_traffic_matrix *m, const char *path, const m4_topology *t);
void m4_traffic_matrix_free(m4_traffic_matrix *m);
void m4_pattern_free(m4_pattern *p);

/* Flows per arrival event: N for incast, 1 otherwise. */
int32_t m4_pattern_flows_per_event(const m4_pattern *p);
/* Draw one event's (src, dst) node ids: `count` pairs (count <= flows per
 * event; all share the receiver for incast). */
void m4_pattern_draw(m4_pattern *p, const m4_topology *t, m4_rng *rng, int32_t count,
                     int32_t *src_nodes, int32_t *dst_nodes);

#endif
