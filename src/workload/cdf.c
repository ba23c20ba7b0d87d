#include "cdf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/textio.h"

/* Sizes above this are not flow sizes but typos (1 PB). */
#define CDF_MAX_BYTES 1e15

static int validate_points(const double *bytes, const double *percent, int32_t n,
                           const char *where, const int64_t *line_numbers)
{
    if (n < 1)
        return m4_error_set(M4_EPARSE, "%s: no `bytes percent` points", where);
    for (int32_t i = 0; i < n; i++) {
        long long line = line_numbers ? (long long)line_numbers[i] : (long long)i + 1;
        if (!isfinite(bytes[i]) || bytes[i] < 0 || bytes[i] > CDF_MAX_BYTES)
            return m4_error_set(M4_EPARSE, "%s:%lld: size %g is not in [0, 1e15] bytes", where,
                                line, bytes[i]);
        if (!isfinite(percent[i]) || percent[i] < 0 || percent[i] > 100)
            return m4_error_set(M4_EPARSE, "%s:%lld: percent %g is not in [0, 100]", where, line,
                                percent[i]);
        if (i > 0 && bytes[i] < bytes[i - 1])
            return m4_error_set(M4_EPARSE, "%s:%lld: size %g is smaller than the previous %g",
                                where, line, bytes[i], bytes[i - 1]);
        if (i > 0 && percent[i] < percent[i - 1])
            return m4_error_set(M4_EPARSE,
                                "%s:%lld: percent %g is smaller than the previous %g", where,
                                line, percent[i], percent[i - 1]);
    }
    long long last = line_numbers ? (long long)line_numbers[n - 1] : (long long)n;
    if (percent[n - 1] != 100)
        return m4_error_set(M4_EPARSE, "%s:%lld: the last point must be at 100 percent, not %g",
                            where, last, percent[n - 1]);
    if (bytes[n - 1] <= 0)
        return m4_error_set(M4_EPARSE, "%s:%lld: the largest size must be positive", where,
                            last);
    return 0;
}

static int cdf_take(m4_cdf *cdf, double *bytes, double *percent, int32_t n)
{
    cdf->num_points = n;
    cdf->bytes = bytes;
    cdf->percent = percent;
    return 0;
}

int m4_cdf_from_points(m4_cdf *cdf, const double *bytes, const double *percent, int32_t n,
                       const char *where)
{
    memset(cdf, 0, sizeof *cdf);
    int err = validate_points(bytes, percent, n, where, NULL);
    if (err)
        return err;
    double *b = malloc(sizeof(double) * (size_t)n);
    double *p = malloc(sizeof(double) * (size_t)n);
    if (!b || !p) {
        free(b);
        free(p);
        return m4_error_set(M4_ENOMEM, "%s: out of memory", where);
    }
    memcpy(b, bytes, sizeof(double) * (size_t)n);
    memcpy(p, percent, sizeof(double) * (size_t)n);
    return cdf_take(cdf, b, p, n);
}

int m4_cdf_read(m4_cdf *cdf, const char *path)
{
    memset(cdf, 0, sizeof *cdf);
    m4_line_reader reader;
    int err = m4_line_reader_open(&reader, path);
    if (err)
        return err;
    double *bytes = NULL, *percent = NULL;
    int64_t *lines = NULL;
    int32_t n = 0, capacity = 0;
    char *line;
    int got;
    while ((got = m4_line_reader_next(&reader, &line)) == 1) {
        char *fields[3];
        int nf = m4_split_fields(line, fields, 2);
        if (nf == 0 || fields[0][0] == '#')
            continue;
        long long ln = (long long)reader.line_number;
        if (nf != 2) {
            err = m4_error_set(M4_EPARSE, "%s:%lld: expected `bytes percent`, got %d fields",
                               path, ln, nf > 2 ? 3 : nf);
            goto fail;
        }
        double b, p;
        if (m4_parse_double(fields[0], &b)) {
            err = m4_error_set(M4_EPARSE, "%s:%lld: size '%s' is not a number", path, ln,
                               fields[0]);
            goto fail;
        }
        if (m4_parse_double(fields[1], &p)) {
            err = m4_error_set(M4_EPARSE, "%s:%lld: percent '%s' is not a number", path, ln,
                               fields[1]);
            goto fail;
        }
        if (n == capacity) {
            if (capacity >= (1 << 24)) {
                err = m4_error_set(M4_EPARSE, "%s:%lld: more than %d points", path, ln,
                                   1 << 24);
                goto fail;
            }
            int32_t grown = (int32_t)m4_array_grown_capacity(capacity, n + 1, 64);
            if (m4_array_resize(&bytes, grown, sizeof *bytes) ||
                m4_array_resize(&percent, grown, sizeof *percent) ||
                m4_array_resize(&lines, grown, sizeof *lines)) {
                err = m4_error_set(M4_ENOMEM, "%s: out of memory", path);
                goto fail;
            }
            capacity = grown;
        }
        bytes[n] = b;
        percent[n] = p;
        lines[n] = reader.line_number;
        n++;
    }
    if (got < 0) {
        err = got;
        goto fail;
    }
    err = validate_points(bytes, percent, n, path, lines);
    if (err)
        goto fail;
    m4_line_reader_close(&reader);
    free(lines);
    return cdf_take(cdf, bytes, percent, n);
fail:
    m4_line_reader_close(&reader);
    free(bytes);
    free(percent);
    free(lines);
    return err;
}

int m4_cdf_is_builtin_name(const char *name)
{
    for (int i = 0; i < M4_CDF_BUILTIN_COUNT; i++)
        if (strcmp(name, m4_cdf_builtin_tables[i].name) == 0)
            return 1;
    return 0;
}

int m4_cdf_builtin(m4_cdf *cdf, const char *name)
{
    memset(cdf, 0, sizeof *cdf);
    for (int i = 0; i < M4_CDF_BUILTIN_COUNT; i++) {
        const m4_cdf_builtin_table *t = &m4_cdf_builtin_tables[i];
        if (strcmp(name, t->name) != 0)
            continue;
        double *b = malloc(sizeof(double) * (size_t)t->num_points);
        double *p = malloc(sizeof(double) * (size_t)t->num_points);
        if (!b || !p) {
            free(b);
            free(p);
            return m4_error_set(M4_ENOMEM, "out of memory");
        }
        for (int32_t k = 0; k < t->num_points; k++) {
            b[k] = t->points[k][0];
            p[k] = t->points[k][1];
        }
        int err = validate_points(b, p, t->num_points, t->name, NULL);
        if (err) {
            free(b);
            free(p);
            return err;
        }
        return cdf_take(cdf, b, p, t->num_points);
    }
    return m4_error_set(M4_EINVAL,
                        "unknown workload '%s' (built-in: websearch, fbhdp, alistorage, "
                        "googlerpc, webserver, hadoop, cachefollower; or a CDF file path)",
                        name);
}

int m4_cdf_load(m4_cdf *cdf, const char *name_or_path)
{
    if (m4_cdf_is_builtin_name(name_or_path))
        return m4_cdf_builtin(cdf, name_or_path);
    if (!m4_file_exists(name_or_path))
        return m4_cdf_builtin(cdf, name_or_path); /* its error lists the names */
    return m4_cdf_read(cdf, name_or_path);
}

void m4_cdf_free(m4_cdf *cdf)
{
    free(cdf->bytes);
    free(cdf->percent);
    memset(cdf, 0, sizeof *cdf);
}

double m4_cdf_mean(const m4_cdf *cdf)
{
    /* Point mass percent[0] at bytes[0], then a uniform density on every
     * segment: its mass times its midpoint. */
    double sum = cdf->percent[0] * cdf->bytes[0];
    for (int32_t i = 1; i < cdf->num_points; i++)
        sum += (cdf->percent[i] - cdf->percent[i - 1]) * 0.5 * (cdf->bytes[i] + cdf->bytes[i - 1]);
    return sum / 100.0;
}

double m4_cdf_quantile(const m4_cdf *cdf, double percent)
{
    const double *p = cdf->percent, *b = cdf->bytes;
    int32_t n = cdf->num_points;
    if (percent <= p[0])
        return b[0];
    /* First point with p[i] >= percent; p[i-1] < percent, so the segment has
     * positive width. */
    int32_t lo = 1, hi = n - 1;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (p[mid] >= percent)
            hi = mid;
        else
            lo = mid + 1;
    }
    double width = p[lo] - p[lo - 1];
    double frac = (percent - p[lo - 1]) / width;
    if (frac > 1)
        frac = 1;
    return b[lo - 1] + frac * (b[lo] - b[lo - 1]);
}

int64_t m4_cdf_sample(const m4_cdf *cdf, m4_rng *rng)
{
    double size = floor(m4_cdf_quantile(cdf, 100.0 * m4_rng_uniform(rng)) + 0.5);
    return size < 1 ? 1 : (int64_t)size;
}
