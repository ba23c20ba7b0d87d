/* config.txt: "KEY value" settings with range checks. */
#include "net/config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/textio.h"

static const char *const cc_names[M4_CC_COUNT] = {"dctcp", "dcqcn", "hpcc", "timely"};

const char *m4_cc_name(m4_cc_kind cc)
{
    return (cc >= 0 && cc < M4_CC_COUNT) ? cc_names[cc] : "unknown";
}

int m4_cc_from_name(const char *name, m4_cc_kind *out)
{
    for (int i = 0; i < M4_CC_COUNT; i++) {
        if (name && !strcasecmp(name, cc_names[i])) {
            *out = (m4_cc_kind)i;
            return M4_OK;
        }
    }
    return M4_EINVAL;
}

void m4_config_defaults(m4_config *cfg, m4_cc_kind cc)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->cc = cc;
    cfg->buffer_kb = 3000;
    cfg->window_bytes = 0;
    cfg->pfc = 1;
    cfg->dctcp_k_kb = 30;
    cfg->dcqcn_kmin_kb = 8;
    cfg->dcqcn_kmax_kb = 12;
    cfg->hpcc_eta = 0.95;
    cfg->hpcc_ai_mbps = 1000;
    cfg->timely_tlow_us = 100;
    cfg->timely_thigh_us = 200;
    /* The generic ECN thresholds follow the table of DESIGN.md section 6. */
    switch (cc) {
    case M4_CC_DCTCP: cfg->ecn_kmin_kb = 30; cfg->ecn_kmax_kb = 30; break;
    case M4_CC_DCQCN: cfg->ecn_kmin_kb = 8; cfg->ecn_kmax_kb = 12; break;
    default: cfg->ecn_kmin_kb = 4; cfg->ecn_kmax_kb = 16; break;
    }
    cfg->ecn_pmax = cc == M4_CC_DCTCP ? 1.0 : 0.2;
}

typedef enum { KIND_DOUBLE, KIND_WINDOW, KIND_FLAG, KIND_CC } key_kind;

typedef struct key_spec {
    const char *name;
    key_kind kind;
    size_t offset;
    double min, max;     /* inclusive unless min_open */
    int min_open;
    const char *doc;
} key_spec;

#define OFF(field) offsetof(m4_config, field)
static const key_spec keys[] = {
    {"CC", KIND_CC, OFF(cc), 0, 0, 0, "congestion control: dctcp|dcqcn|hpcc|timely"},
    {"BUFFER_KB", KIND_DOUBLE, OFF(buffer_kb), 10, 100000, 0, "shared buffer per switch, KB (10..100000)"},
    {"WINDOW_BYTES", KIND_WINDOW, OFF(window_bytes), 1000, 1e7, 0, "window in bytes, 0 = largest BDP (or 1000..10000000)"},
    {"PFC", KIND_FLAG, OFF(pfc), 0, 1, 0, "priority flow control 0|1"},
    {"DCTCP_K_KB", KIND_DOUBLE, OFF(dctcp_k_kb), 0, 1e6, 1, "DCTCP marking threshold, KB at 10 Gb/s (> 0)"},
    {"DCQCN_KMIN_KB", KIND_DOUBLE, OFF(dcqcn_kmin_kb), 0, 1e6, 1, "DCQCN Kmin, KB at 10 Gb/s (> 0)"},
    {"DCQCN_KMAX_KB", KIND_DOUBLE, OFF(dcqcn_kmax_kb), 0, 1e6, 1, "DCQCN Kmax, KB at 10 Gb/s (>= Kmin)"},
    {"HPCC_ETA", KIND_DOUBLE, OFF(hpcc_eta), 0, 1, 1, "HPCC target utilisation (0,1]"},
    {"HPCC_AI_MBPS", KIND_DOUBLE, OFF(hpcc_ai_mbps), 0, 1e6, 1, "HPCC additive increase, Mb/s (> 0)"},
    {"TIMELY_TLOW_US", KIND_DOUBLE, OFF(timely_tlow_us), 0, 1e6, 1, "TIMELY Tlow, us (> 0, < Thigh)"},
    {"TIMELY_THIGH_US", KIND_DOUBLE, OFF(timely_thigh_us), 0, 1e6, 1, "TIMELY Thigh, us"},
    {"ECN_KMIN_KB", KIND_DOUBLE, OFF(ecn_kmin_kb), 0, 1e6, 1, "ECN Kmin for HPCC/TIMELY, KB at 10 Gb/s (> 0)"},
    {"ECN_KMAX_KB", KIND_DOUBLE, OFF(ecn_kmax_kb), 0, 1e6, 1, "ECN Kmax for HPCC/TIMELY, KB at 10 Gb/s (>= Kmin)"},
    {"ECN_PMAX", KIND_DOUBLE, OFF(ecn_pmax), 0, 1, 1, "ECN marking probability at Kmax (0,1]"},
};
#define NUM_KEYS (sizeof keys / sizeof keys[0])

int m4_config_set(m4_config *cfg, const char *key, const char *value, const char *where)
{
    if (!where) where = "config";
    const key_spec *k = NULL;
    for (size_t i = 0; i < NUM_KEYS; i++)
        if (!strcasecmp(key, keys[i].name)) k = &keys[i];
    if (!k) return m4_error_set(M4_EINVAL, "%s: unknown key '%s'", where, key);
    char *base = (char *)cfg + k->offset;
    switch (k->kind) {
    case KIND_CC: {
        m4_cc_kind cc;
        if (m4_cc_from_name(value, &cc))
            return m4_error_set(M4_EINVAL, "%s: CC must be dctcp|dcqcn|hpcc|timely, got '%s'", where, value);
        cfg->cc = cc;
        return M4_OK;
    }
    case KIND_FLAG: {
        int64_t v;
        if (m4_parse_i64(value, &v) || (v != 0 && v != 1))
            return m4_error_set(M4_EINVAL, "%s: %s must be 0 or 1, got '%s'", where, k->name, value);
        *(int *)base = (int)v;
        return M4_OK;
    }
    case KIND_WINDOW: {
        int64_t v;
        if (m4_parse_i64(value, &v))
            return m4_error_set(M4_EINVAL, "%s: %s: bad integer '%s'", where, k->name, value);
        if (v != 0 && (v < (int64_t)k->min || v > (int64_t)k->max))
            return m4_error_set(M4_EINVAL, "%s: %s must be 0 or %g..%g, got %" PRId64, where, k->name,
                                k->min, k->max, v);
        *(int64_t *)base = v;
        return M4_OK;
    }
    case KIND_DOUBLE: {
        double v;
        if (m4_parse_double(value, &v))
            return m4_error_set(M4_EINVAL, "%s: %s: bad number '%s'", where, k->name, value);
        int ok = k->min_open ? v > k->min : v >= k->min;
        if (!ok || !(v <= k->max))
            return m4_error_set(M4_EINVAL, "%s: %s out of range (%s), got '%s'", where, k->name, k->doc, value);
        *(double *)base = v;
        return M4_OK;
    }
    }
    return M4_EINVAL;
}

/* Relations between keys are checked once the whole file is read. */
static int check_relations(const m4_config *cfg, const char *path)
{
    if (cfg->dcqcn_kmin_kb > cfg->dcqcn_kmax_kb)
        return m4_error_set(M4_EINVAL, "%s: DCQCN_KMIN_KB %g > DCQCN_KMAX_KB %g", path, cfg->dcqcn_kmin_kb,
                            cfg->dcqcn_kmax_kb);
    if (cfg->ecn_kmin_kb > cfg->ecn_kmax_kb)
        return m4_error_set(M4_EINVAL, "%s: ECN_KMIN_KB %g > ECN_KMAX_KB %g", path, cfg->ecn_kmin_kb,
                            cfg->ecn_kmax_kb);
    if (!(cfg->timely_tlow_us < cfg->timely_thigh_us))
        return m4_error_set(M4_EINVAL, "%s: TIMELY_TLOW_US %g must be < TIMELY_THIGH_US %g", path,
                            cfg->timely_tlow_us, cfg->timely_thigh_us);
    return M4_OK;
}

/* Two passes: CC first (it picks the defaults), then every key over them. */
int m4_config_read(m4_config *cfg, const char *path)
{
    m4_config result;
    m4_config_defaults(&result, M4_CC_DCTCP);
    int err = M4_OK;
    for (int pass = 0; pass < 2 && !err; pass++) {
        m4_line_reader r;
        err = m4_line_reader_open(&r, path);
        if (err) return err;
        char *line;
        int got;
        int64_t key_lines[NUM_KEYS] = {0};
        while ((got = m4_line_reader_next(&r, &line)) == 1) {
            char *hash = strchr(line, '#');
            if (hash) *hash = '\0';
            char *eq = strchr(line, '=');
            if (eq) *eq = ' ';
            char *fields[3];
            int nf = m4_split_fields(line, fields, 2);
            if (nf == 0) continue;
            char where[600];
            snprintf(where, sizeof where, "%s:%" PRId64, path, r.line_number);
            if (nf != 2) {
                err = m4_error_set(M4_EPARSE, "%s: expected 'KEY value'", where);
                break;
            }
            int is_cc = !strcasecmp(fields[0], "CC");
            if (pass == 0 && !is_cc) continue;
            if (pass == 1) {
                for (size_t i = 0; i < NUM_KEYS; i++) {
                    if (!strcasecmp(fields[0], keys[i].name)) {
                        if (key_lines[i]) {
                            err = m4_error_set(M4_EPARSE, "%s: %s already set on line %" PRId64, where,
                                               keys[i].name, key_lines[i]);
                        }
                        key_lines[i] = r.line_number;
                    }
                }
                if (err) break;
            }
            err = m4_config_set(&result, fields[0], fields[1], where);
            if (err) {
                err = M4_EPARSE;
                break;
            }
            if (pass == 0) m4_config_defaults(&result, result.cc);
        }
        if (got < 0 && !err) err = got;
        m4_line_reader_close(&r);
    }
    if (!err) err = check_relations(&result, path) ? M4_EPARSE : M4_OK;
    if (!err) *cfg = result;
    return err;
}

/* The shortest of %.15g..%.17g that reads back to the same double, so that
 * 0.95 is written as 0.95 and still round-trips exactly. */
static void write_double(FILE *out, const char *name, double value)
{
    char text[64];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, value);
        if (strtod(text, NULL) == value) break;
    }
    fprintf(out, "%s %s\n", name, text);
}

int m4_config_write(const m4_config *cfg, const char *path)
{
    m4_atomic_file f;
    int err = m4_atomic_open(&f, path);
    if (err) return err;
    fprintf(f.file, "# m4sim network configuration: KEY value per line, '#' starts a comment.\n"
                    "# ECN thresholds are KB at 10 Gb/s, scaled linearly with each port's rate.\n");
    for (size_t i = 0; i < NUM_KEYS; i++) {
        const key_spec *k = &keys[i];
        const char *base = (const char *)cfg + k->offset;
        fprintf(f.file, "# %s\n", k->doc);
        switch (k->kind) {
        case KIND_CC: fprintf(f.file, "%s %s\n", k->name, m4_cc_name(cfg->cc)); break;
        case KIND_FLAG: fprintf(f.file, "%s %d\n", k->name, *(const int *)base); break;
        case KIND_WINDOW: fprintf(f.file, "%s %" PRId64 "\n", k->name, *(const int64_t *)base); break;
        case KIND_DOUBLE: write_double(f.file, k->name, *(const double *)base); break;
        }
    }
    return m4_atomic_commit(&f);
}

void m4_config_features(const m4_config *cfg, int64_t window_bytes, float *out)
{
    for (int i = 0; i < M4_CONFIG_FEATURES; i++) out[i] = 0;
    out[0] = (float)(cfg->buffer_kb / 1000.0);
    out[1] = (float)((double)window_bytes / 1e4);
    if (cfg->cc >= 0 && cfg->cc < M4_CC_COUNT) out[2 + cfg->cc] = 1;
    switch (cfg->cc) {
    case M4_CC_DCTCP: out[6] = (float)(cfg->dctcp_k_kb / 10.0); break;
    case M4_CC_DCQCN:
        out[7] = (float)(cfg->dcqcn_kmin_kb / 10.0);
        out[8] = (float)(cfg->dcqcn_kmax_kb / 10.0);
        break;
    case M4_CC_HPCC:
        out[9] = (float)cfg->hpcc_eta;
        out[10] = (float)(cfg->hpcc_ai_mbps / 1000.0);
        break;
    case M4_CC_TIMELY:
        out[11] = (float)(cfg->timely_tlow_us / 100.0);
        out[12] = (float)(cfg->timely_thigh_us / 100.0);
        break;
    }
}
