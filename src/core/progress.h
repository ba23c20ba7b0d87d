/* Progress report for long runs: a redrawn bar on a terminal, otherwise a
 * plain line every few seconds (so logs of background jobs stay readable). */
#ifndef M4_CORE_PROGRESS_H
#define M4_CORE_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct m4_progress {
    FILE *stream; /* NULL = silent */
    const char *label;
    int64_t total;
    int is_terminal;
    double start_time;
    double last_report_time;
} m4_progress;

/* stream NULL turns reporting off (library use, tests). */
void m4_progress_start(m4_progress *progress, FILE *stream, const char *label, int64_t total);
/* done = work finished so far; reads the clock, so call it every few thousand
 * events, not per packet. */
void m4_progress_update(m4_progress *progress, int64_t done);
void m4_progress_finish(m4_progress *progress);
/* Peak resident set size of this process in MiB (Linux VmHWM), -1 if unknown. */
double m4_peak_rss_mb(void);
/* Seconds on a monotonic clock. */
double m4_now_seconds(void);

#endif
