/* Packet backend extras beyond the m4_backend_ops interface (sim/sim.h):
 * counters and per-link state for tests, benchmarks and stats.txt. `state` is
 * the pointer m4_packet_backend.create returned. */
#ifndef M4_PACKET_PACKET_H
#define M4_PACKET_PACKET_H

#include <stdint.h>

#include "net/topology.h"

/* Output queues per switch port, served in strict priority (highest first).
 * The top one carries ACK/NACK/PFC (and the ACKs of DCTCP and TIMELY); data
 * of a flow with pg p goes in queue p, so a flow's pg must be 0..6. */
#define M4_PACKET_PRIORITIES 8
#define M4_PACKET_CTRL_PRIORITY 7

typedef struct m4_packet_stats_t {
    int64_t events;          /* events processed */
    int64_t data_packets;    /* data packets sent by NICs (retransmissions included) */
    int64_t drops;           /* packets dropped at switches (buffer exhausted) */
    int64_t pfc_pauses;      /* PAUSE frames sent */
    int64_t pfc_resumes;     /* RESUME frames sent */
    int64_t nacks;           /* NACKs sent by receivers */
    int64_t timeouts;        /* go-back-N after a stalled timeout (only after losses) */
    int64_t max_switch_buffer_bytes; /* peak shared-buffer use of any switch */
    int64_t max_packets_in_flight;   /* peak packets alive (queued or on the wire) */
} m4_packet_stats_t;

int m4_packet_stats(const void *state, m4_packet_stats_t *out);
/* Bytes queued in one priority queue of a port's egress (-1 for bad ids). */
int64_t m4_packet_queue_prio_bytes(const void *state, int32_t dlink, int prio);
/* Priorities (bit q = priority q) the sender of a directed link holds back
 * because the switch it leads into sent PFC PAUSE frames; -1 for a bad id. */
int64_t m4_packet_paused_mask(const void *state, int32_t dlink);
/* Bytes queued at the egress port of a directed link (all priorities), and
 * bytes that port has sent so far; -1 for a bad link id. */
int64_t m4_packet_queue_bytes(const void *state, int32_t dlink);
int64_t m4_packet_tx_bytes(const void *state, int32_t dlink);

/* *out_kb = the PFC headroom, in KB, that the most connected switch of t
 * reserves for its ingress ports (a whole number of bytes / 1024): with PFC
 * on, the packet backend refuses a BUFFER_KB whose bytes, truncated, do not
 * exceed it (no shared buffer would be left). */
int m4_packet_min_buffer_kb(const m4_topology *t, double *out_kb);

#endif
