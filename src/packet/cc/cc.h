/* Congestion control of the packet backend: one small interface, one file per
 * algorithm (dctcp.c, dcqcn.c, hpcc.c, timely.c). Each follows the HPCC ns-3
 * fork's rdma-hw behaviour (DESIGN.md section 6).
 *
 * The NIC owns the flow; the CC owns only the sending rate (bits/s) and its
 * own state. It reacts to ACK/NACKs (on_ack) and, for DCQCN, to timers
 * (on_timer returns the next time it wants to be called, INT64_MAX = none). */
#ifndef M4_PACKET_CC_CC_H
#define M4_PACKET_CC_CC_H

#include <stdint.h>

#include "net/config.h"

#define M4_INT_MAX_HOPS 5

/* One INT record stamped by a switch at dequeue (HPCC). */
typedef struct m4_int_hop {
    int64_t time_ns;
    int64_t tx_bytes;   /* cumulative bytes sent by the port, this packet included */
    int64_t qlen_bytes; /* bytes queued at the port after the dequeue */
    double rate_bps;
} m4_int_hop;

typedef struct m4_cc_params {
    m4_cc_kind kind;
    double line_rate_bps, min_rate_bps;
    int64_t base_rtt_ns;
    int64_t window_bytes;
    int mtu;
    /* DCTCP */
    double dctcp_g, dctcp_ai_bps;
    /* DCQCN */
    double dcqcn_g, dcqcn_ai_bps, dcqcn_hai_bps;
    int64_t dcqcn_alpha_interval_ns, dcqcn_decrease_interval_ns, dcqcn_rp_timer_ns;
    int dcqcn_fast_recovery_times;
    /* HPCC */
    double hpcc_eta, hpcc_ai_bps;
    int hpcc_max_stage;
    /* TIMELY */
    double timely_tlow_ns, timely_thigh_ns, timely_beta, timely_ewma, timely_min_rtt_ns;
    double timely_ai_bps, timely_hai_bps;
} m4_cc_params;

typedef struct m4_cc_ack {
    int64_t now;
    int64_t ack_seq;   /* next byte the receiver expects */
    int64_t snd_nxt;   /* sender's next byte at the time of the ACK */
    int ecn;           /* ECN echo (CNP) */
    int nack;
    int num_hops;      /* INT records (HPCC) */
    const m4_int_hop *hops;
    int64_t send_ts;   /* timestamp of the data packet (TIMELY) */
} m4_cc_ack;

typedef struct m4_cc_state {
    double rate;       /* current sending rate, bits/s */
    union {
        struct { double alpha; int64_t last_update_seq, batch_size, ecn_count, high_seq; int cwr; } dctcp;
        struct {
            double alpha, target;
            int first_cnp, alpha_cnp, decrease_cnp, stage;
            int64_t alpha_at, decrease_at, increase_at;
        } dcqcn;
        struct {
            double u, cur_rate;
            int inc_stage, have_hops, num_hops;
            int64_t last_update_seq;
            m4_int_hop hops[M4_INT_MAX_HOPS];
        } hpcc;
        struct {
            double cur_rate, rtt_diff;
            int64_t last_rtt, last_update_seq;
            int inc_stage;
        } timely;
    } u;
} m4_cc_state;

/* Fill the fork's presets for cfg's CC (window and base RTT as given). */
void m4_cc_params_from_config(m4_cc_params *p, const m4_config *cfg, double line_rate_bps,
                              int64_t base_rtt_ns, int64_t window_bytes);

void m4_cc_init(m4_cc_state *s, const m4_cc_params *p);
void m4_cc_on_ack(m4_cc_state *s, const m4_cc_params *p, const m4_cc_ack *ack);
/* Timers due at `now`; returns the next timer time (INT64_MAX = none). */
int64_t m4_cc_on_timer(m4_cc_state *s, const m4_cc_params *p, int64_t now);
/* Time of the first timer after init/an ACK (INT64_MAX = none). */
int64_t m4_cc_next_timer(const m4_cc_state *s, const m4_cc_params *p);

/* Per-algorithm entry points (cc.c dispatches). */
void m4_dctcp_init(m4_cc_state *s, const m4_cc_params *p);
void m4_dctcp_on_ack(m4_cc_state *s, const m4_cc_params *p, const m4_cc_ack *ack);
void m4_dcqcn_init(m4_cc_state *s, const m4_cc_params *p);
void m4_dcqcn_on_ack(m4_cc_state *s, const m4_cc_params *p, const m4_cc_ack *ack);
int64_t m4_dcqcn_on_timer(m4_cc_state *s, const m4_cc_params *p, int64_t now);
int64_t m4_dcqcn_next_timer(const m4_cc_state *s);
void m4_hpcc_init(m4_cc_state *s, const m4_cc_params *p);
void m4_hpcc_on_ack(m4_cc_state *s, const m4_cc_params *p, const m4_cc_ack *ack);
void m4_timely_init(m4_cc_state *s, const m4_cc_params *p);
void m4_timely_on_ack(m4_cc_state *s, const m4_cc_params *p, const m4_cc_ack *ack);

static inline double m4_cc_clamp_rate(double rate, const m4_cc_params *p)
{
    if (rate < p->min_rate_bps)
        rate = p->min_rate_bps;
    if (rate > p->line_rate_bps)
        rate = p->line_rate_bps;
    return rate;
}

#endif
