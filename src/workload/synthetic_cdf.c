#include "synthetic_cdf.h"

#include <math.h>

typedef struct family_params {
    m4_synthetic_family family;
    double median_or_min, shape; /* first mode (or bounds for log-uniform) */
    double median2, shape2;      /* second mode of the bimodal family */
    double weight;               /* probability of the first mode */
} family_params;

static double uniform_between(m4_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * m4_rng_uniform(rng);
}

static double log_uniform_between(m4_rng *rng, double lo, double hi)
{
    return exp(uniform_between(rng, log(lo), log(hi)));
}

static double lognormal_cdf(double x, double median, double sigma)
{
    return 0.5 * erfc(-(log(x) - log(median)) / (sigma * sqrt(2.0)));
}

static double family_cdf(const family_params *p, double x)
{
    switch (p->family) {
    case M4_SYNTH_LOGNORMAL:
        return lognormal_cdf(x, p->median_or_min, p->shape);
    case M4_SYNTH_PARETO:
        return x <= p->median_or_min ? 0.0 : 1.0 - pow(p->median_or_min / x, p->shape);
    case M4_SYNTH_BIMODAL:
        return p->weight * lognormal_cdf(x, p->median_or_min, p->shape) +
               (1 - p->weight) * lognormal_cdf(x, p->median2, p->shape2);
    case M4_SYNTH_LOGUNIFORM: /* median_or_min = lower bound, median2 = upper bound */
        if (x <= p->median_or_min)
            return 0.0;
        if (x >= p->median2)
            return 1.0;
        return log(x / p->median_or_min) / log(p->median2 / p->median_or_min);
    }
    return 0.0;
}

static family_params draw_params(m4_rng *rng)
{
    family_params p = {(m4_synthetic_family)m4_rng_below(rng, M4_SYNTH_FAMILIES), 0, 0, 0, 0, 1};
    switch (p.family) {
    case M4_SYNTH_LOGNORMAL:
        p.median_or_min = log_uniform_between(rng, 500, 500e3);
        p.shape = uniform_between(rng, 0.5, 2.5);
        break;
    case M4_SYNTH_PARETO:
        p.median_or_min = log_uniform_between(rng, 100, 10e3);
        p.shape = uniform_between(rng, 1.05, 2.0);
        break;
    case M4_SYNTH_BIMODAL:
        p.median_or_min = log_uniform_between(rng, 200, 10e3);
        p.shape = uniform_between(rng, 0.3, 1.2);
        p.median2 = log_uniform_between(rng, 100e3, 5e6);
        p.shape2 = uniform_between(rng, 0.3, 1.2);
        p.weight = uniform_between(rng, 0.5, 0.95);
        break;
    case M4_SYNTH_LOGUNIFORM:
        p.median_or_min = log_uniform_between(rng, M4_SYNTH_MIN_BYTES, 5e3);
        p.median2 = log_uniform_between(rng, 50e3, 10e6);
        break;
    }
    return p;
}

void m4_synthetic_cdf_draw(m4_synthetic_cdf *out, m4_rng *rng)
{
    family_params p = draw_params(rng);
    out->family = p.family;
    out->num_points = M4_SYNTH_POINTS;
    out->bytes[0] = M4_SYNTH_MIN_BYTES - 1;
    out->percent[0] = 0.0;
    for (int i = 1; i < M4_SYNTH_POINTS; i++) {
        double x = M4_SYNTH_MIN_BYTES *
                   pow(M4_SYNTH_MAX_BYTES / M4_SYNTH_MIN_BYTES, (double)(i - 1) / (M4_SYNTH_POINTS - 2));
        out->bytes[i] = round(x);
        out->percent[i] = i == M4_SYNTH_POINTS - 1 ? 100.0 : 100.0 * family_cdf(&p, x);
    }
}

double m4_synthetic_cdf_mean(const m4_synthetic_cdf *cdf)
{
    double mean = 0.0;
    for (int i = 1; i < cdf->num_points; i++) {
        double mass = (cdf->percent[i] - cdf->percent[i - 1]) / 100.0;
        mean += mass * 0.5 * (cdf->bytes[i] + cdf->bytes[i - 1]);
    }
    return mean;
}
