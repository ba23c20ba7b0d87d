/* Packet backend extras beyond the m4_backend_ops interface (sim/sim.h):
 * counters and per-link state for tests, benchmarks and stats.txt. `state` is
 * the pointer m4_packet_backend.create returned. */
#ifndef M4_PACKET_PACKET_H
#define M4_PACKET_PACKET_H

#include <stdint.h>

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
/* Bytes queued at the egress port of a directed link (all priorities), and
 * bytes that port has sent so far; -1 for a bad link id. */
int64_t m4_packet_queue_bytes(const void *state, int32_t dlink);
int64_t m4_packet_tx_bytes(const void *state, int32_t dlink);

#endif
