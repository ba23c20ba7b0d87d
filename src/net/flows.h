/* Flows of a scenario, in the HPCC flows.txt format: a count line, then
 * "id src dst pg dport size start_s" (m4 fork) or "src dst pg dport size
 * start_s" (original HPCC, ids = line order). */
#ifndef M4_NET_FLOWS_H
#define M4_NET_FLOWS_H

#include <stdint.h>

#include "topology.h"

typedef struct m4_flow {
    int64_t id;
    int32_t src, dst;     /* node ids (hosts) */
    int32_t priority;     /* "pg" column */
    int32_t dport;
    int64_t size_bytes;   /* > 0 */
    int64_t start_ns;
} m4_flow;

typedef struct m4_flowset {
    int64_t count;
    m4_flow *flows;       /* in file order */
} m4_flowset;

/* Validates against the topology (src/dst are hosts, src != dst, size > 0,
 * start >= 0, ids unique). Errors name path:line. */
int m4_flows_read(m4_flowset *set, const char *path, const m4_topology *t);
/* Writes the 7-column form; start seconds with 9 decimals (exact ns). Atomic. */
int m4_flows_write(const m4_flowset *set, const char *path);
void m4_flows_free(m4_flowset *set);

/* Packets of MTU payload and per-packet header, HPCC conventions. */
#define M4_MTU_BYTES 1000
#define M4_HEADER_BYTES 48
#define M4_ACK_BYTES 60

/* Ideal FCT in integer ns of a flow alone on its path (DESIGN.md section 3):
 * sum d_i + sum floor(first*8/r_i) + floor((size-first_payload)*8/r_min)
 * + (n-1)*floor(48*8/r_min), first = min(size,1000)+48. */
int64_t m4_ideal_fct_ns(const m4_topology *t, const int32_t *path_dlinks, int32_t num_hops,
                        int64_t size_bytes);

#endif
