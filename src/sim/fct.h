/* Reading per-flow results (fct.txt) back, in either of two formats:
 *   ours:  header "id src dst size start_ns fct_ns ideal_fct_ns slowdown",
 *          then one row per flow (m4_fct_write);
 *   HPCC:  "flowId sip dip sport dport size_B start_ns fct_ns ideal_fct_ns"
 *          rows without a header, ips in hex, node = (ip >> 8) & 0xffff
 *          (the ns-3 fork's output).
 * The format is chosen by the first non-comment line. */
#ifndef M4_SIM_FCT_H
#define M4_SIM_FCT_H

#include <stdint.h>

typedef struct m4_fct_row {
    int64_t id;
    int32_t src, dst;
    int64_t size_bytes;
    int64_t start_ns;
    int64_t fct_ns;
    int64_t ideal_fct_ns;
    int64_t line; /* line number in the file, for messages */
} m4_fct_row;

typedef struct m4_fct_table {
    m4_fct_row *rows; /* sorted by id on return */
    int64_t count;
} m4_fct_table;

/* Errors (M4_EPARSE, M4_EIO) name path:line: wrong column count, a number
 * that does not parse, size <= 0, fct < 0, ideal <= 0, a duplicate id. */
int m4_fct_read(m4_fct_table *table, const char *path);
void m4_fct_table_free(m4_fct_table *table);

/* Slowdown of a row: max(1, fct / ideal). */
double m4_fct_slowdown(const m4_fct_row *row);

/* Summary statistics of a sample; percentiles are nearest-rank: pX is the
 * ceil(X/100 * n)-th smallest value. NaN fields when n == 0. */
typedef struct m4_stats {
    int64_t n;
    double mean, p50, p90, p99;
} m4_stats;

/* Sorts values in place (ascending), then fills *out. */
void m4_stats_compute(double *values, int64_t n, m4_stats *out);
/* The nearest-rank percent-th percentile of sorted values (n >= 1). */
double m4_percentile_sorted(const double *sorted, int64_t n, double percent);

#endif
