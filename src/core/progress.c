#include "progress.h"

#include <time.h>
#include <unistd.h>

double m4_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void m4_progress_start(m4_progress *progress, FILE *stream, const char *label, int64_t total)
{
    progress->stream = stream;
    progress->label = label;
    progress->total = total;
    progress->is_terminal = stream && isatty(fileno(stream));
    progress->start_time = m4_now_seconds();
    progress->last_report_time = progress->start_time;
}

static void report(m4_progress *progress, int64_t done, int final)
{
    double now = m4_now_seconds();
    double elapsed = now - progress->start_time;
    double fraction = progress->total > 0 ? (double)done / (double)progress->total : 0.0;
    if (fraction > 1)
        fraction = 1;
    if (progress->is_terminal) {
        char bar[31];
        int filled = (int)(fraction * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[30] = '\0';
        fprintf(progress->stream, "\r%s [%s] %5.1f%% %lld/%lld %.1fs%s", progress->label, bar,
                100 * fraction, (long long)done, (long long)progress->total, elapsed,
                final ? "\n" : "");
    } else {
        fprintf(progress->stream, "%s: %lld/%lld (%.1f%%) after %.1fs\n", progress->label,
                (long long)done, (long long)progress->total, 100 * fraction, elapsed);
    }
    fflush(progress->stream);
    progress->last_report_time = now;
}

void m4_progress_update(m4_progress *progress, int64_t done)
{
    if (!progress->stream)
        return;
    double now = m4_now_seconds();
    double interval = progress->is_terminal ? 0.2 : 5.0;
    if (now - progress->last_report_time >= interval)
        report(progress, done, 0);
}

void m4_progress_finish(m4_progress *progress)
{
    if (!progress->stream)
        return;
    if (progress->is_terminal || m4_now_seconds() - progress->start_time >= 5.0)
        report(progress, progress->total, 1);
}

double m4_peak_rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    double result = -1;
    while (fgets(line, sizeof line, f)) {
        long long kb;
        if (sscanf(line, "VmHWM: %lld kB", &kb) == 1) {
            result = (double)kb / 1024.0;
            break;
        }
    }
    fclose(f);
    return result;
}
