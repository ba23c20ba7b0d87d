/* Busy periods: the training samples of m4 (DESIGN.md section 8).
 *
 * A busy period is a maximal set of flows connected through shared links
 * while active: two flows belong to the same period when they are active at
 * the same time on a common directed link, or are linked through a chain of
 * such flows. A period closes the moment its last active flow completes;
 * a flow that starts on a link afterwards opens a new period. */
#ifndef M4_M4_BUSY_PERIOD_H
#define M4_M4_BUSY_PERIOD_H

#include <stdint.h>

typedef struct m4_busy_period_input {
    int64_t num_flows;
    int32_t num_dlinks;
    const int64_t *start_ns;     /* [num_flows] */
    const int64_t *end_ns;       /* [num_flows], > start */
    const int64_t *path_offset;  /* [num_flows + 1] CSR into path_dlinks */
    const int32_t *path_dlinks;
} m4_busy_period_input;

typedef struct m4_busy_periods {
    int64_t count;
    int64_t *flow_offset;        /* [count + 1] CSR into flows */
    int64_t *flows;              /* [num_flows] flow indices, each period by start time */
    int64_t *start_ns;           /* [count] first arrival */
    int64_t *end_ns;             /* [count] last completion */
} m4_busy_periods;

/* Split flows into busy periods, ordered by their first arrival. At equal
 * times completions are processed before arrivals (a flow ending exactly when
 * another starts does not share the link with it). */
int m4_busy_periods_split(m4_busy_periods *out, const m4_busy_period_input *in);
void m4_busy_periods_free(m4_busy_periods *periods);

#endif
