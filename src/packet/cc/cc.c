/* Dispatch to the four algorithms and the fork's presets. */
#include "cc.h"

void m4_cc_params_from_config(m4_cc_params *p, const m4_config *cfg, double line_rate_bps,
                              int64_t base_rtt_ns, int64_t window_bytes)
{
    *p = (m4_cc_params){0};
    p->kind = cfg->cc;
    p->line_rate_bps = line_rate_bps;
    p->min_rate_bps = 1e9 < line_rate_bps ? 1e9 : line_rate_bps; /* MIN_RATE 1000 Mb/s */
    p->base_rtt_ns = base_rtt_ns > 0 ? base_rtt_ns : 1;
    p->window_bytes = window_bytes;
    p->mtu = 1000;
    p->dctcp_g = 1.0 / 16;
    p->dctcp_ai_bps = 615e6;
    /* The fork scales DCQCN's increase steps with the NIC rate (5 and 50 Mb/s at 25G). */
    p->dcqcn_g = 1.0 / 256;
    p->dcqcn_ai_bps = 5e6 * line_rate_bps / 25e9;
    p->dcqcn_hai_bps = 50e6 * line_rate_bps / 25e9;
    p->dcqcn_alpha_interval_ns = 50000;
    p->dcqcn_decrease_interval_ns = 50000;
    p->dcqcn_rp_timer_ns = 55000;
    p->dcqcn_fast_recovery_times = 1;
    p->hpcc_eta = cfg->hpcc_eta;
    p->hpcc_ai_bps = cfg->hpcc_ai_mbps * 1e6;
    p->hpcc_max_stage = 0;
    p->timely_tlow_ns = cfg->timely_tlow_us * 1000.0;
    p->timely_thigh_ns = cfg->timely_thigh_us * 1000.0;
    p->timely_beta = 0.8;
    p->timely_ewma = 0.875;
    p->timely_min_rtt_ns = 20000;
    p->timely_ai_bps = 10e6;
    p->timely_hai_bps = 50e6;
}

void m4_cc_init(m4_cc_state *s, const m4_cc_params *p)
{
    switch (p->kind) {
    case M4_CC_DCTCP: m4_dctcp_init(s, p); break;
    case M4_CC_DCQCN: m4_dcqcn_init(s, p); break;
    case M4_CC_HPCC: m4_hpcc_init(s, p); break;
    case M4_CC_TIMELY: m4_timely_init(s, p); break;
    }
}

void m4_cc_on_ack(m4_cc_state *s, const m4_cc_params *p, const m4_cc_ack *ack)
{
    switch (p->kind) {
    case M4_CC_DCTCP: m4_dctcp_on_ack(s, p, ack); break;
    case M4_CC_DCQCN: m4_dcqcn_on_ack(s, p, ack); break;
    case M4_CC_HPCC: m4_hpcc_on_ack(s, p, ack); break;
    case M4_CC_TIMELY: m4_timely_on_ack(s, p, ack); break;
    }
}

int64_t m4_cc_on_timer(m4_cc_state *s, const m4_cc_params *p, int64_t now)
{
    return p->kind == M4_CC_DCQCN ? m4_dcqcn_on_timer(s, p, now) : INT64_MAX;
}

int64_t m4_cc_next_timer(const m4_cc_state *s, const m4_cc_params *p)
{
    return p->kind == M4_CC_DCQCN ? m4_dcqcn_next_timer(s) : INT64_MAX;
}
