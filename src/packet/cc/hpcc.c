/* HPCC: per ACK, per hop utilisation u = txRate/B + min(qlen)*lineRate/(B*W)
 * from consecutive INT records; the max hop's u is smoothed over one base
 * RTT; rate = reference/(U/eta) + AI (maxStage 0 makes that the only branch in
 * the fork's preset, but the additive stage is kept for maxStage > 0). The
 * reference rate updates once per RTT (ACK beyond the sequence sent at the
 * last update); ACKs in between react without moving the reference. */
#include "cc.h"

void m4_hpcc_init(m4_cc_state *s, const m4_cc_params *p)
{
    s->rate = p->line_rate_bps;
    s->u.hpcc.u = 1.0;
    s->u.hpcc.cur_rate = p->line_rate_bps;
    s->u.hpcc.inc_stage = 0;
    s->u.hpcc.have_hops = 0;
    s->u.hpcc.num_hops = 0;
    s->u.hpcc.last_update_seq = 0;
}

void m4_hpcc_on_ack(m4_cc_state *s, const m4_cc_params *p, const m4_cc_ack *ack)
{
    int full_update = ack->ack_seq > s->u.hpcc.last_update_seq;
    if (!s->u.hpcc.have_hops) {
        if (!full_update)
            return;
        s->u.hpcc.last_update_seq = ack->snd_nxt;
        s->u.hpcc.num_hops = ack->num_hops;
        for (int i = 0; i < ack->num_hops; i++)
            s->u.hpcc.hops[i] = ack->hops[i];
        s->u.hpcc.have_hops = 1;
        return;
    }
    if (ack->num_hops > M4_INT_MAX_HOPS)
        return;
    double max_u = 0;
    int64_t dt = 0;
    int n = ack->num_hops < s->u.hpcc.num_hops ? ack->num_hops : s->u.hpcc.num_hops;
    for (int i = 0; i < n; i++) {
        const m4_int_hop *now = &ack->hops[i], *old = &s->u.hpcc.hops[i];
        int64_t tau = now->time_ns - old->time_ns;
        if (tau <= 0)
            tau = 1;
        double tx_rate = (double)(now->tx_bytes - old->tx_bytes) * 8.0 * 1e9 / (double)tau;
        int64_t qlen = now->qlen_bytes < old->qlen_bytes ? now->qlen_bytes : old->qlen_bytes;
        double u = tx_rate / now->rate_bps +
                   (double)qlen * p->line_rate_bps / now->rate_bps / (double)p->window_bytes;
        if (u > max_u) {
            max_u = u;
            dt = tau;
        }
    }
    for (int i = 0; i < ack->num_hops; i++)
        s->u.hpcc.hops[i] = ack->hops[i];
    s->u.hpcc.num_hops = ack->num_hops;
    if (dt > p->base_rtt_ns)
        dt = p->base_rtt_ns;
    s->u.hpcc.u = (s->u.hpcc.u * (double)(p->base_rtt_ns - dt) + max_u * (double)dt) /
                  (double)p->base_rtt_ns;
    double max_c = s->u.hpcc.u / p->hpcc_eta;
    double new_rate;
    int new_stage;
    if (max_c >= 1 || s->u.hpcc.inc_stage >= p->hpcc_max_stage) {
        new_rate = (max_c > 0 ? s->u.hpcc.cur_rate / max_c : p->line_rate_bps) + p->hpcc_ai_bps;
        new_stage = 0;
    } else {
        new_rate = s->u.hpcc.cur_rate + p->hpcc_ai_bps;
        new_stage = s->u.hpcc.inc_stage + 1;
    }
    new_rate = m4_cc_clamp_rate(new_rate, p);
    if (full_update) {
        s->u.hpcc.cur_rate = new_rate;
        s->u.hpcc.inc_stage = new_stage;
        if (ack->snd_nxt > s->u.hpcc.last_update_seq)
            s->u.hpcc.last_update_seq = ack->snd_nxt;
    }
    s->rate = new_rate;
}
