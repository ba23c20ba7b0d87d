/* DCTCP, the fork's rate-based "hardware" variant: alpha (initially 1) is an
 * EWMA (gain g) of the fraction of marked ACKs per window of data; a marked ACK
 * outside a reduction window cuts the rate by alpha/2 and opens a reduction
 * window that ends when ACKs pass the sequence sent at the cut; every new
 * window without a reduction adds AI. */
#include "cc.h"

void m4_dctcp_init(m4_cc_state *s, const m4_cc_params *p)
{
    s->rate = p->line_rate_bps;
    s->u.dctcp.alpha = 1.0;
    s->u.dctcp.last_update_seq = 0;
    s->u.dctcp.batch_size = 1;
    s->u.dctcp.ecn_count = 0;
    s->u.dctcp.high_seq = 0;
    s->u.dctcp.cwr = 0;
}

void m4_dctcp_on_ack(m4_cc_state *s, const m4_cc_params *p, const m4_cc_ack *ack)
{
    int new_batch = 0;
    s->u.dctcp.ecn_count += ack->ecn != 0;
    if (ack->ack_seq > s->u.dctcp.last_update_seq) {
        new_batch = 1;
        if (s->u.dctcp.last_update_seq == 0) {
            s->u.dctcp.batch_size = ack->snd_nxt / p->mtu + 1;
        } else {
            double frac = (double)s->u.dctcp.ecn_count / (double)s->u.dctcp.batch_size;
            if (frac > 1)
                frac = 1;
            s->u.dctcp.alpha = (1 - p->dctcp_g) * s->u.dctcp.alpha + p->dctcp_g * frac;
            s->u.dctcp.ecn_count = 0;
            s->u.dctcp.batch_size = (ack->snd_nxt - ack->ack_seq) / p->mtu + 1;
        }
        s->u.dctcp.last_update_seq = ack->snd_nxt;
    }
    if (s->u.dctcp.cwr && ack->ack_seq > s->u.dctcp.high_seq)
        s->u.dctcp.cwr = 0;
    if (ack->ecn && !s->u.dctcp.cwr) {
        s->u.dctcp.cwr = 1;
        s->u.dctcp.high_seq = ack->snd_nxt;
        s->rate = m4_cc_clamp_rate(s->rate * (1 - s->u.dctcp.alpha / 2), p);
    }
    if (new_batch && !s->u.dctcp.cwr)
        s->rate = m4_cc_clamp_rate(s->rate + p->dctcp_ai_bps, p);
}
