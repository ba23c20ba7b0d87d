#include "textio.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

int m4_line_reader_open(m4_line_reader *reader, const char *path)
{
    memset(reader, 0, sizeof *reader);
    reader->path = path;
    reader->file = fopen(path, "r");
    if (!reader->file)
        return m4_error_set(M4_EIO, "%s: cannot open: %s", path, strerror(errno));
    return M4_OK;
}

int m4_line_reader_next(m4_line_reader *reader, char **line)
{
    size_t length = 0;
    if (!reader->line) {
        reader->capacity = 256;
        reader->line = malloc(reader->capacity);
        if (!reader->line)
            return M4_ENOMEM;
    }
    int c;
    int got_any = 0;
    while ((c = fgetc(reader->file)) != EOF) {
        got_any = 1;
        if (c == '\n')
            break;
        if (length + 1 >= reader->capacity) {
            size_t capacity = reader->capacity * 2;
            char *grown = realloc(reader->line, capacity);
            if (!grown)
                return M4_ENOMEM;
            reader->line = grown;
            reader->capacity = capacity;
        }
        reader->line[length++] = (char)c;
    }
    if (ferror(reader->file))
        return m4_error_set(M4_EIO, "%s: read error", reader->path);
    if (!got_any)
        return 0;
    if (length > 0 && reader->line[length - 1] == '\r')
        length--;
    reader->line[length] = '\0';
    reader->line_number++;
    *line = reader->line;
    return 1;
}

int m4_line_reader_next_content(m4_line_reader *reader, char **line)
{
    for (;;) {
        int got = m4_line_reader_next(reader, line);
        if (got <= 0)
            return got;
        const char *p = *line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '\0' && *p != '#')
            return 1;
    }
}

void m4_line_reader_close(m4_line_reader *reader)
{
    if (reader->file)
        fclose(reader->file);
    free(reader->line);
    memset(reader, 0, sizeof *reader);
}

int m4_split_fields(char *line, char **fields, int max_fields)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return n;
        if (n == max_fields)
            return max_fields + 1;
        fields[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
}

int m4_parse_i64(const char *text, int64_t *out)
{
    if (!text || !*text)
        return M4_EPARSE;
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno || *end != '\0')
        return M4_EPARSE;
    *out = value;
    return M4_OK;
}

int m4_parse_double(const char *text, double *out)
{
    if (!text || !*text)
        return M4_EPARSE;
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno || *end != '\0' || !isfinite(value))
        return M4_EPARSE;
    *out = value;
    return M4_OK;
}

int m4_parse_seconds_ns(const char *text, int64_t *out_ns)
{
    /* Plain decimals are converted digit by digit so "1.000245319" is exact. */
    const char *p = text;
    if (!p || !*p)
        return M4_EPARSE;
    int64_t whole = 0, frac = 0;
    int frac_digits = 0, digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (whole >= 900000000LL) /* keeps whole * 1e9 + frac below INT64_MAX */
            return M4_EPARSE;
        whole = whole * 10 + (*p++ - '0');
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (frac_digits < 9) {
                frac = frac * 10 + (*p - '0');
                frac_digits++;
            }
            p++;
            digits++;
        }
    }
    if (*p == '\0' && digits > 0) {
        for (int i = frac_digits; i < 9; i++)
            frac *= 10;
        *out_ns = whole * 1000000000LL + frac;
        return M4_OK;
    }
    double seconds;
    if (m4_parse_double(text, &seconds) || seconds < 0 || seconds > 9e9)
        return M4_EPARSE;
    *out_ns = (int64_t)llround(seconds * 1e9);
    return M4_OK;
}

static int parse_with_unit(const char *text, double *value, const char **unit)
{
    if (!text || !*text)
        return M4_EPARSE;
    char *end;
    errno = 0;
    *value = strtod(text, &end);
    if (errno || end == text || !isfinite(*value))
        return M4_EPARSE;
    *unit = end;
    return M4_OK;
}

int m4_parse_rate_bps(const char *text, double *out_bps)
{
    double value;
    const char *unit;
    if (parse_with_unit(text, &value, &unit))
        return M4_EPARSE;
    static const struct { const char *name; double scale; } units[] = {
        {"bps", 1}, {"Kbps", 1e3}, {"Mbps", 1e6}, {"Gbps", 1e9}, {"Tbps", 1e12},
        {"kbps", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"", 1},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(unit, units[i].name) == 0) {
            *out_bps = value * units[i].scale;
            return M4_OK;
        }
    }
    return M4_EPARSE;
}

int m4_parse_delay_ns(const char *text, int64_t *out_ns)
{
    double value;
    const char *unit;
    if (parse_with_unit(text, &value, &unit))
        return M4_EPARSE;
    static const struct { const char *name; double scale; } units[] = {
        {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(unit, units[i].name) == 0) {
            double ns = value * units[i].scale;
            if (ns < 0 || ns > 9e18)
                return M4_EPARSE;
            *out_ns = (int64_t)llround(ns);
            return M4_OK;
        }
    }
    return M4_EPARSE;
}

int m4_atomic_open(m4_atomic_file *out, const char *path)
{
    memset(out, 0, sizeof *out);
    size_t n = strlen(path);
    out->final_path = malloc(n + 1);
    out->temp_path = malloc(n + 32);
    if (!out->final_path || !out->temp_path) {
        free(out->final_path);
        free(out->temp_path);
        return M4_ENOMEM;
    }
    memcpy(out->final_path, path, n + 1);
    snprintf(out->temp_path, n + 32, "%s.tmp.%ld", path, (long)getpid());
    out->file = fopen(out->temp_path, "wb");
    if (!out->file) {
        int err = m4_error_set(M4_EIO, "%s: cannot create: %s", out->temp_path, strerror(errno));
        free(out->final_path);
        free(out->temp_path);
        memset(out, 0, sizeof *out);
        return err;
    }
    return M4_OK;
}

int m4_atomic_commit(m4_atomic_file *out)
{
    int failed = ferror(out->file);
    failed |= fclose(out->file) != 0;
    int err = M4_OK;
    if (failed) {
        err = m4_error_set(M4_EIO, "%s: write failed", out->final_path);
        remove(out->temp_path);
    } else if (rename(out->temp_path, out->final_path) != 0) {
        err = m4_error_set(M4_EIO, "%s: cannot rename into place: %s", out->final_path,
                           strerror(errno));
        remove(out->temp_path);
    }
    free(out->final_path);
    free(out->temp_path);
    memset(out, 0, sizeof *out);
    return err;
}

void m4_atomic_abort(m4_atomic_file *out)
{
    if (out->file) {
        fclose(out->file);
        remove(out->temp_path);
    }
    free(out->final_path);
    free(out->temp_path);
    memset(out, 0, sizeof *out);
}

int m4_mkdir_p(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return M4_ENOMEM;
    for (char *p = copy + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(copy, 0777);
            *p = '/';
        }
    }
    int ok = mkdir(copy, 0777) == 0 || errno == EEXIST;
    struct stat st;
    ok = ok && stat(copy, &st) == 0 && S_ISDIR(st.st_mode);
    int err = ok ? M4_OK : m4_error_set(M4_EIO, "%s: cannot create directory", path);
    free(copy);
    return err;
}

char *m4_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *out = malloc(a + b + 2);
    if (!out)
        return NULL;
    memcpy(out, dir, a);
    size_t n = a;
    if (a > 0 && dir[a - 1] != '/')
        out[n++] = '/';
    memcpy(out + n, name, b + 1);
    return out;
}

int m4_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}
