/* TIMELY: per RTT (an ACK beyond the sequence sent at the last update) take
 * the RTT sample, update an EWMA of RTT differences, then: below Tlow add AI
 * (HAI after 5 increases in a row), above Thigh cut by beta*(1 - Thigh/RTT),
 * otherwise follow the gradient normalised by minRTT. */
#include "cc.h"

void m4_timely_init(m4_cc_state *s, const m4_cc_params *p)
{
    s->rate = p->line_rate_bps;
    s->u.timely.cur_rate = p->line_rate_bps;
    s->u.timely.rtt_diff = 0;
    s->u.timely.last_rtt = 0;
    s->u.timely.last_update_seq = 0;
    s->u.timely.inc_stage = 0;
}

void m4_timely_on_ack(m4_cc_state *s, const m4_cc_params *p, const m4_cc_ack *ack)
{
    if (ack->ack_seq <= s->u.timely.last_update_seq)
        return;
    int64_t rtt = ack->now - ack->send_ts;
    if (s->u.timely.last_update_seq != 0) {
        double new_diff = (double)(rtt - s->u.timely.last_rtt);
        double rtt_diff = (1 - p->timely_ewma) * s->u.timely.rtt_diff + p->timely_ewma * new_diff;
        double gradient = rtt_diff / p->timely_min_rtt_ns;
        double new_rate;
        if ((double)rtt < p->timely_tlow_ns || ((double)rtt <= p->timely_thigh_ns && gradient <= 0)) {
            new_rate = s->u.timely.cur_rate +
                       (s->u.timely.inc_stage < 5 ? p->timely_ai_bps : p->timely_hai_bps);
            s->u.timely.inc_stage++;
        } else {
            double c;
            if ((double)rtt > p->timely_thigh_ns)
                c = 1 - p->timely_beta * (1 - p->timely_thigh_ns / (double)rtt);
            else
                c = 1 - p->timely_beta * gradient;
            if (c < 0)
                c = 0;
            new_rate = s->u.timely.cur_rate * c;
            s->u.timely.inc_stage = 0;
        }
        new_rate = m4_cc_clamp_rate(new_rate, p);
        s->u.timely.cur_rate = new_rate;
        s->u.timely.rtt_diff = rtt_diff;
        s->rate = new_rate;
    }
    s->u.timely.last_update_seq = ack->snd_nxt;
    s->u.timely.last_rtt = rtt;
}
