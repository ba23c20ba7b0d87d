/* Text input with file:line tracking, strict number parsing, and output files
 * that appear only when complete (written under a temporary name, renamed). */
#ifndef M4_CORE_TEXTIO_H
#define M4_CORE_TEXTIO_H

#include <stdint.h>
#include <stdio.h>

typedef struct m4_line_reader {
    FILE *file;
    const char *path;
    int64_t line_number; /* of the line last returned, 1-based */
    char *line;
    size_t capacity;
} m4_line_reader;

/* Open path for reading; M4_EIO with detail when it cannot be opened. */
int m4_line_reader_open(m4_line_reader *reader, const char *path);
/* Next line with its newline (and a trailing '\r') removed. Returns 1 when a
 * line was read, 0 at end of file, negative on error. Blank lines and lines
 * starting with '#' are returned too; callers decide. */
int m4_line_reader_next(m4_line_reader *reader, char **line);
/* The same, skipping blank lines and lines whose first non-blank is '#'. */
int m4_line_reader_next_content(m4_line_reader *reader, char **line);
void m4_line_reader_close(m4_line_reader *reader);

/* Split line in place on spaces/tabs into at most max_fields fields; returns
 * the number of fields found (max_fields + 1 means "more than max_fields"). */
int m4_split_fields(char *line, char **fields, int max_fields);

/* Strict parsers: the whole string must be consumed. Return 0 or M4_EPARSE
 * (without setting detail: callers know the file and line). */
int m4_parse_i64(const char *text, int64_t *out);
int m4_parse_double(const char *text, double *out);
/* Decimal seconds ("1.000245319", "2", "1e-3") to integer nanoseconds, exact
 * for plain decimals with up to 9 fractional digits. */
int m4_parse_seconds_ns(const char *text, int64_t *out_ns);
/* Rates: "10Gbps", "40000000000bps", "100Mbps", "1Kbps", "25G" -> bits/s. */
int m4_parse_rate_bps(const char *text, double *out_bps);
/* Delays: "1000ns", "1us", "0.001ms", "1e-6s" -> ns (rounded). */
int m4_parse_delay_ns(const char *text, int64_t *out_ns);

/* An output file that only appears at its final path on commit. */
typedef struct m4_atomic_file {
    FILE *file;
    char *final_path;
    char *temp_path;
} m4_atomic_file;

int m4_atomic_open(m4_atomic_file *out, const char *path);
/* Flush, close, rename into place. On failure the temporary is removed. */
int m4_atomic_commit(m4_atomic_file *out);
/* Close and remove the temporary; the final path is untouched. */
void m4_atomic_abort(m4_atomic_file *out);

/* Create a directory and its parents (like mkdir -p). */
int m4_mkdir_p(const char *path);
/* Join dir and name into a newly allocated string (free it). */
char *m4_path_join(const char *dir, const char *name);
int m4_file_exists(const char *path);

#endif
