/* Flow-size distributions: piecewise-linear CDFs given as `bytes percent`
 * points, either built in (the published tables) or read from a user file.
 *
 * Semantics: percent[i] % of flows are no larger than bytes[i], sizes in
 * between are interpolated linearly (as HPCC's traffic generator does). The
 * probability below the first point, percent[0], sits on bytes[0]. A drawn
 * size is rounded to the nearest whole byte and is at least 1. */
#ifndef M4_WORKLOAD_CDF_H
#define M4_WORKLOAD_CDF_H

#include <stdint.h>

#include "core/rng.h"

typedef struct m4_cdf {
    int32_t num_points;
    double *bytes;   /* [num_points] nondecreasing, >= 0, last > 0 */
    double *percent; /* [num_points] nondecreasing in [0, 100], last == 100 */
} m4_cdf;

/* Read a CDF file: one `bytes percent` pair per line, '#' comments and blank
 * lines allowed. Errors (M4_EPARSE, M4_EIO) name path:line. */
int m4_cdf_read(m4_cdf *cdf, const char *path);
/* Build a CDF from points and validate it; `where` prefixes errors. */
int m4_cdf_from_points(m4_cdf *cdf, const double *bytes, const double *percent, int32_t n,
                       const char *where);
/* A built-in CDF by name (websearch, fbhdp, alistorage, googlerpc, webserver,
 * hadoop, cachefollower); M4_EINVAL (with detail) for other names. */
int m4_cdf_builtin(m4_cdf *cdf, const char *name);
/* A built-in name, or else a path to a CDF file. */
int m4_cdf_load(m4_cdf *cdf, const char *name_or_path);
int m4_cdf_is_builtin_name(const char *name);
void m4_cdf_free(m4_cdf *cdf);

/* Mean of the piecewise-linear distribution (before rounding to bytes). */
double m4_cdf_mean(const m4_cdf *cdf);
/* Inverse-CDF sample: one uniform draw, linear interpolation, rounded, >= 1. */
int64_t m4_cdf_sample(const m4_cdf *cdf, m4_rng *rng);
/* The size at cumulative percent p in [0, 100] (unrounded). */
double m4_cdf_quantile(const m4_cdf *cdf, double percent);

/* The built-in tables (src/workload/cdf_builtin.c), data/cdf/<file> exactly. */
typedef struct m4_cdf_builtin_table {
    const char *name;
    const char *file;
    int32_t num_points;
    const double (*points)[2]; /* {bytes, percent} */
} m4_cdf_builtin_table;

#define M4_CDF_BUILTIN_COUNT 7
extern const m4_cdf_builtin_table m4_cdf_builtin_tables[M4_CDF_BUILTIN_COUNT];

#endif
