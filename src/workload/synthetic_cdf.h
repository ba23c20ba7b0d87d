/* Synthetic flow-size distributions for training data. m4 trained on
 * thousands of random size distributions so the model does not memorise the
 * few published ones; these are drawn from parametric families with random
 * parameters and returned as the same piecewise-linear `bytes percentile`
 * tables the published CDFs use. */
#ifndef M4_WORKLOAD_SYNTHETIC_CDF_H
#define M4_WORKLOAD_SYNTHETIC_CDF_H

#include <stdint.h>

#include "core/rng.h"

typedef enum m4_synthetic_family {
    M4_SYNTH_LOGNORMAL = 0, /* median in [500 B, 500 KB], sigma in [0.5, 2.5] */
    M4_SYNTH_PARETO = 1,    /* Pareto, shape in [1.05, 2], minimum in [100 B, 10 KB] */
    M4_SYNTH_BIMODAL = 2,   /* mix of a short and a long log-normal mode */
    M4_SYNTH_LOGUNIFORM = 3 /* log-uniform between two bounds */
} m4_synthetic_family;

#define M4_SYNTH_FAMILIES 4
#define M4_SYNTH_POINTS 64
#define M4_SYNTH_MIN_BYTES 64.0
#define M4_SYNTH_MAX_BYTES 30e6

typedef struct m4_synthetic_cdf {
    m4_synthetic_family family;
    int num_points;
    double bytes[M4_SYNTH_POINTS];   /* increasing; first M4_SYNTH_MIN_BYTES - 1, last MAX */
    double percent[M4_SYNTH_POINTS]; /* nondecreasing; first 0, last 100 */
} m4_synthetic_cdf;

/* Draw a family and its parameters from rng and tabulate its CDF at
 * log-spaced sizes between M4_SYNTH_MIN_BYTES and M4_SYNTH_MAX_BYTES. The
 * probability below the minimum is placed at the minimum and the tail beyond
 * the maximum in the last segment, so every drawn size lies in the range. */
void m4_synthetic_cdf_draw(m4_synthetic_cdf *out, m4_rng *rng);
/* Mean of the piecewise-linear distribution the table describes. */
double m4_synthetic_cdf_mean(const m4_synthetic_cdf *cdf);

#endif
