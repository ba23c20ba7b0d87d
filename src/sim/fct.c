#include "fct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/textio.h"
#include "m4sim.h"

enum fct_format { FORMAT_UNKNOWN, FORMAT_OURS, FORMAT_HPCC };

static const char *const our_header[] = {"id", "src", "dst", "size", "start_ns",
                                         "fct_ns", "ideal_fct_ns", "slowdown"};

static int parse_hex_ip_node(const char *text, int32_t *node)
{
    if (!*text || strlen(text) > 8)
        return M4_EPARSE;
    uint32_t ip = 0;
    for (const char *c = text; *c; c++) {
        int digit;
        if (*c >= '0' && *c <= '9')
            digit = *c - '0';
        else if (*c >= 'a' && *c <= 'f')
            digit = *c - 'a' + 10;
        else if (*c >= 'A' && *c <= 'F')
            digit = *c - 'A' + 10;
        else
            return M4_EPARSE;
        ip = ip << 4 | (uint32_t)digit;
    }
    *node = (int32_t)((ip >> 8) & 0xffff);
    return M4_OK;
}

static int parse_node(const char *text, int32_t *node)
{
    int64_t value;
    if (m4_parse_i64(text, &value) || value < 0 || value > INT32_MAX)
        return M4_EPARSE;
    *node = (int32_t)value;
    return M4_OK;
}

static int compare_rows_by_id(const void *a, const void *b)
{
    const m4_fct_row *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int parse_row(char **fields, int count, enum fct_format format, m4_fct_row *row,
                     const char *path, int64_t line)
{
    int expected = format == FORMAT_OURS ? 8 : 9;
    if (count != expected)
        return m4_error_set(M4_EPARSE, "%s:%lld: expected %d columns, found %d%s", path,
                            (long long)line, expected, count > expected ? expected + 1 : count,
                            count > expected ? " or more" : "");
    const char *what = "id";
    int bad;
    if (format == FORMAT_OURS) {
        bad = m4_parse_i64(fields[0], &row->id);
        if (!bad && (what = "src", bad = parse_node(fields[1], &row->src)) == 0 &&
            (what = "dst", bad = parse_node(fields[2], &row->dst)) == 0 &&
            (what = "size", bad = m4_parse_i64(fields[3], &row->size_bytes)) == 0 &&
            (what = "start_ns", bad = m4_parse_i64(fields[4], &row->start_ns)) == 0 &&
            (what = "fct_ns", bad = m4_parse_i64(fields[5], &row->fct_ns)) == 0 &&
            (what = "ideal_fct_ns", bad = m4_parse_i64(fields[6], &row->ideal_fct_ns)) == 0) {
            double slowdown;
            what = "slowdown";
            bad = m4_parse_double(fields[7], &slowdown);
        }
    } else {
        int64_t port;
        bad = m4_parse_i64(fields[0], &row->id);
        if (!bad && (what = "sip", bad = parse_hex_ip_node(fields[1], &row->src)) == 0 &&
            (what = "dip", bad = parse_hex_ip_node(fields[2], &row->dst)) == 0 &&
            (what = "sport", bad = m4_parse_i64(fields[3], &port)) == 0 &&
            (what = "dport", bad = m4_parse_i64(fields[4], &port)) == 0 &&
            (what = "size", bad = m4_parse_i64(fields[5], &row->size_bytes)) == 0 &&
            (what = "start_ns", bad = m4_parse_i64(fields[6], &row->start_ns)) == 0 &&
            (what = "fct_ns", bad = m4_parse_i64(fields[7], &row->fct_ns)) == 0) {
            what = "ideal_fct_ns";
            bad = m4_parse_i64(fields[8], &row->ideal_fct_ns);
        }
    }
    if (bad)
        return m4_error_set(M4_EPARSE, "%s:%lld: %s is not a number", path, (long long)line,
                            what);
    if (row->size_bytes <= 0)
        return m4_error_set(M4_EPARSE, "%s:%lld: size must be positive", path, (long long)line);
    if (row->start_ns < 0)
        return m4_error_set(M4_EPARSE, "%s:%lld: start_ns must not be negative", path,
                            (long long)line);
    if (row->fct_ns < 0)
        return m4_error_set(M4_EPARSE, "%s:%lld: fct_ns must not be negative", path,
                            (long long)line);
    if (row->ideal_fct_ns <= 0)
        return m4_error_set(M4_EPARSE, "%s:%lld: ideal_fct_ns must be positive", path,
                            (long long)line);
    row->line = line;
    return M4_OK;
}

int m4_fct_read(m4_fct_table *table, const char *path)
{
    table->rows = NULL;
    table->count = 0;
    m4_line_reader reader;
    int err = m4_line_reader_open(&reader, path);
    if (err)
        return err;
    enum fct_format format = FORMAT_UNKNOWN;
    int64_t capacity = 0;
    char *line;
    char *fields[10];
    while ((err = m4_line_reader_next(&reader, &line)) == 1) {
        int count = m4_split_fields(line, fields, 9);
        if (count == 0 || fields[0][0] == '#')
            continue;
        if (format == FORMAT_UNKNOWN) {
            if (strcmp(fields[0], "id") == 0) {
                int matches = count == 8;
                for (int i = 0; matches && i < 8; i++)
                    matches = strcmp(fields[i], our_header[i]) == 0;
                if (!matches) {
                    err = m4_error_set(M4_EPARSE,
                                       "%s:%lld: header must be \"id src dst size start_ns fct_ns "
                                       "ideal_fct_ns slowdown\"",
                                       path, (long long)reader.line_number);
                    break;
                }
                format = FORMAT_OURS;
                continue;
            }
            if (count == 9) {
                format = FORMAT_HPCC;
            } else {
                err = m4_error_set(M4_EPARSE,
                                   "%s:%lld: not an fct file (expected the header \"id src dst "
                                   "size start_ns fct_ns ideal_fct_ns slowdown\" or 9-column "
                                   "HPCC rows)",
                                   path, (long long)reader.line_number);
                break;
            }
        }
        err = m4_array_reserve(&table->rows, &capacity, table->count + 1, sizeof *table->rows, 1024);
        if (err)
            break;
        err = parse_row(fields, count, format, &table->rows[table->count], path,
                        reader.line_number);
        if (err)
            break;
        table->count++;
    }
    m4_line_reader_close(&reader);
    if (err == 0 && format == FORMAT_UNKNOWN)
        err = m4_error_set(M4_EPARSE, "%s: empty (no header, no rows)", path);
    if (err == 0) {
        qsort(table->rows, (size_t)table->count, sizeof *table->rows, compare_rows_by_id);
        for (int64_t i = 1; i < table->count; i++) {
            if (table->rows[i].id == table->rows[i - 1].id) {
                const m4_fct_row *a = &table->rows[i - 1], *b = &table->rows[i];
                err = m4_error_set(M4_EPARSE, "%s:%lld: flow id %lld already on line %lld", path,
                                   (long long)(a->line > b->line ? a->line : b->line),
                                   (long long)a->id,
                                   (long long)(a->line > b->line ? b->line : a->line));
                break;
            }
        }
    }
    if (err < 0) {
        m4_fct_table_free(table);
        return err;
    }
    return M4_OK;
}

void m4_fct_table_free(m4_fct_table *table)
{
    free(table->rows);
    table->rows = NULL;
    table->count = 0;
}

double m4_fct_slowdown(const m4_fct_row *row)
{
    double slowdown = (double)row->fct_ns / (double)row->ideal_fct_ns;
    return slowdown > 1.0 ? slowdown : 1.0;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double m4_percentile_sorted(const double *sorted, int64_t n, double percent)
{
    int64_t rank = (int64_t)ceil(percent / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

void m4_stats_compute(double *values, int64_t n, m4_stats *out)
{
    *out = (m4_stats){n, NAN, NAN, NAN, NAN};
    if (n <= 0)
        return;
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += values[i];
    out->mean = sum / (double)n;
    out->p50 = m4_percentile_sorted(values, n, 50);
    out->p90 = m4_percentile_sorted(values, n, 90);
    out->p99 = m4_percentile_sorted(values, n, 99);
}
