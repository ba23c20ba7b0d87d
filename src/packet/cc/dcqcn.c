/* DCQCN (the fork's Mellanox model): a CNP (ECN echo on an ACK) sets flags
 * that three timers consume: every alpha interval alpha moves towards 1 (CNP
 * seen) or 0 (g = 1/256); every decrease interval a seen CNP cuts the rate by
 * alpha/2, remembering the old rate as target (not clamped while in the first
 * stage); the increase timer then runs fast recovery, additive and hyper
 * increase stages. Timers start at the first CNP. */
#include "cc.h"

void m4_dcqcn_init(m4_cc_state *s, const m4_cc_params *p)
{
    s->rate = p->line_rate_bps;
    s->u.dcqcn.alpha = 1.0;
    s->u.dcqcn.target = p->line_rate_bps;
    s->u.dcqcn.first_cnp = 1;
    s->u.dcqcn.alpha_cnp = 0;
    s->u.dcqcn.decrease_cnp = 0;
    s->u.dcqcn.stage = 0;
    s->u.dcqcn.alpha_at = s->u.dcqcn.decrease_at = s->u.dcqcn.increase_at = INT64_MAX;
}

void m4_dcqcn_on_ack(m4_cc_state *s, const m4_cc_params *p, const m4_cc_ack *ack)
{
    if (!ack->ecn)
        return;
    s->u.dcqcn.alpha_cnp = 1;
    s->u.dcqcn.decrease_cnp = 1;
    if (s->u.dcqcn.first_cnp) {
        s->u.dcqcn.first_cnp = 0;
        s->u.dcqcn.alpha = 1.0;
        s->u.dcqcn.target = s->rate;
        s->u.dcqcn.alpha_at = ack->now + p->dcqcn_alpha_interval_ns;
        s->u.dcqcn.decrease_at = ack->now + 1;
    }
}

static void rate_increase(m4_cc_state *s, const m4_cc_params *p)
{
    if (s->u.dcqcn.stage < p->dcqcn_fast_recovery_times) {
        /* fast recovery: towards the target */
    } else if (s->u.dcqcn.stage == p->dcqcn_fast_recovery_times) {
        s->u.dcqcn.target += p->dcqcn_ai_bps;
    } else {
        s->u.dcqcn.target += p->dcqcn_hai_bps;
    }
    if (s->u.dcqcn.target > p->line_rate_bps)
        s->u.dcqcn.target = p->line_rate_bps;
    s->rate = m4_cc_clamp_rate((s->rate + s->u.dcqcn.target) / 2, p);
}

int64_t m4_dcqcn_on_timer(m4_cc_state *s, const m4_cc_params *p, int64_t now)
{
    if (s->u.dcqcn.alpha_at <= now) {
        double g = p->dcqcn_g;
        s->u.dcqcn.alpha = (1 - g) * s->u.dcqcn.alpha + (s->u.dcqcn.alpha_cnp ? g : 0.0);
        s->u.dcqcn.alpha_cnp = 0;
        s->u.dcqcn.alpha_at = now + p->dcqcn_alpha_interval_ns;
    }
    if (s->u.dcqcn.decrease_at <= now) {
        s->u.dcqcn.decrease_at = now + p->dcqcn_decrease_interval_ns;
        if (s->u.dcqcn.decrease_cnp) {
            /* CLAMP_TARGET_RATE 0: the target only follows the rate after increases began */
            if (s->u.dcqcn.stage != 0)
                s->u.dcqcn.target = s->rate;
            s->rate = m4_cc_clamp_rate(s->rate * (1 - s->u.dcqcn.alpha / 2), p);
            s->u.dcqcn.stage = 0;
            s->u.dcqcn.decrease_cnp = 0;
            s->u.dcqcn.increase_at = now + p->dcqcn_rp_timer_ns;
        }
    }
    if (s->u.dcqcn.increase_at <= now) {
        s->u.dcqcn.increase_at = now + p->dcqcn_rp_timer_ns;
        rate_increase(s, p);
        s->u.dcqcn.stage++;
    }
    return m4_dcqcn_next_timer(s);
}

int64_t m4_dcqcn_next_timer(const m4_cc_state *s)
{
    int64_t t = s->u.dcqcn.alpha_at;
    if (s->u.dcqcn.decrease_at < t)
        t = s->u.dcqcn.decrease_at;
    if (s->u.dcqcn.increase_at < t)
        t = s->u.dcqcn.increase_at;
    return t;
}
