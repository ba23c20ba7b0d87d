/* flows.txt reader/writer and the ideal FCT formula. */
#include "net/flows.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/textio.h"

void m4_flows_free(m4_flowset *set)
{
    if (!set) return;
    free(set->flows);
    set->flows = NULL;
    set->count = 0;
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

#define MAX_FLOWS 100000000LL

/* Connected components of the switches (over switch-switch links), so that
 * a flow between hosts with no path is named by its line here rather than
 * failing later in routing without one. Hosts do not forward: -1. */
static int32_t *switch_components(const m4_topology *t)
{
    int32_t n = t->num_nodes;
    int32_t *comp = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    int32_t *queue = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    if (!comp || !queue) {
        free(comp);
        free(queue);
        return NULL;
    }
    for (int32_t v = 0; v < n; v++) comp[v] = -1;
    for (int32_t root = 0; root < n; root++) {
        if (!t->is_switch[root] || comp[root] >= 0) continue;
        int32_t head = 0, tail = 0;
        comp[root] = root;
        queue[tail++] = root;
        while (head < tail) {
            int32_t v = queue[head++];
            for (int32_t k = t->adj_start[v]; k < t->adj_start[v + 1]; k++) {
                int32_t w = m4_dlink_to(t, t->adj_dlinks[k]);
                if (t->is_switch[w] && comp[w] < 0) {
                    comp[w] = root;
                    queue[tail++] = w;
                }
            }
        }
    }
    free(queue);
    return comp;
}

/* Hosts a and b are joined directly or through switches of one component. */
static int hosts_connected(const m4_topology *t, const int32_t *comp, int32_t a, int32_t b)
{
    for (int32_t i = t->adj_start[a]; i < t->adj_start[a + 1]; i++) {
        int32_t u = m4_dlink_to(t, t->adj_dlinks[i]);
        if (u == b) return 1;
        if (!t->is_switch[u]) continue;
        for (int32_t j = t->adj_start[b]; j < t->adj_start[b + 1]; j++) {
            int32_t w = m4_dlink_to(t, t->adj_dlinks[j]);
            if (t->is_switch[w] && comp[w] == comp[u]) return 1;
        }
    }
    return 0;
}

int m4_flows_read(m4_flowset *set, const char *path, const m4_topology *t)
{
    set->count = 0;
    set->flows = NULL;
    m4_line_reader r;
    int err = m4_line_reader_open(&r, path);
    if (err) return err;
    char *line;
    char *fields[8];
    int64_t declared = 0;
    int64_t *ids = NULL;
    int64_t *id_lines = NULL;
    int got = m4_line_reader_next_content(&r, &line);
    if (got < 0) {
        err = got;
        goto fail;
    }
    if (got == 0) {
        err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": empty file, expected the flow count", path,
                           r.line_number + 1);
        goto fail;
    }
    if (m4_split_fields(line, fields, 1) != 1 || m4_parse_i64(fields[0], &declared) ||
        declared < 0 || declared > MAX_FLOWS) {
        err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": expected the flow count (0..%lld)", path,
                           r.line_number, MAX_FLOWS);
        goto fail;
    }
    /* Grow with the lines actually present, so a huge count line on a short
     * file costs nothing. */
    int64_t capacity = 0;
    int columns = 0;
    for (int64_t i = 0; i < declared; i++) {
        if (i == capacity) {
            int64_t grown = m4_array_grown_capacity(capacity, i + 1, 1024);
            if (grown > declared) grown = declared;
            if (m4_array_resize(&set->flows, grown, sizeof *set->flows) ||
                m4_array_resize(&id_lines, grown, sizeof *id_lines)) {
                err = m4_error_set(M4_ENOMEM, "%s: out of memory for %" PRId64 " flows", path, grown);
                goto fail;
            }
            capacity = grown;
        }
        got = m4_line_reader_next_content(&r, &line);
        if (got < 0) {
            err = got;
            goto fail;
        }
        if (got == 0) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": %" PRId64 " flows, count line says %" PRId64,
                               path, r.line_number + 1, i, declared);
            goto fail;
        }
        int nf = m4_split_fields(line, fields, 7);
        if ((nf != 6 && nf != 7) || (columns && nf != columns)) {
            err = m4_error_set(M4_EPARSE,
                               "%s:%" PRId64 ": expected 'id src dst pg dport size start_s' or "
                               "'src dst pg dport size start_s'%s",
                               path, r.line_number, columns ? " (same form on every line)" : "");
            goto fail;
        }
        columns = nf;
        char **f = fields;
        m4_flow *fl = &set->flows[i];
        int64_t v[5];
        if (nf == 7) {
            if (m4_parse_i64(f[0], &fl->id) || fl->id < 0) {
                err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": bad flow id '%s'", path, r.line_number, f[0]);
                goto fail;
            }
            f++;
        } else {
            fl->id = i;
        }
        static const char *names[5] = {"src", "dst", "pg", "dport", "size"};
        for (int k = 0; k < 5; k++) {
            if (m4_parse_i64(f[k], &v[k])) {
                err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": bad %s '%s'", path, r.line_number,
                                   names[k], f[k]);
                goto fail;
            }
        }
        for (int k = 0; k < 2; k++) {
            if (v[k] < 0 || v[k] >= t->num_nodes || t->is_switch[v[k]]) {
                err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": %s %" PRId64 " is not a host", path,
                                   r.line_number, names[k], v[k]);
                goto fail;
            }
        }
        if (v[0] == v[1]) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": src == dst (%" PRId64 ")", path,
                               r.line_number, v[0]);
            goto fail;
        }
        if (v[2] < 0 || v[2] > INT32_MAX || v[3] < 0 || v[3] > INT32_MAX) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": pg/dport out of range", path, r.line_number);
            goto fail;
        }
        if (v[4] <= 0 || v[4] > (INT64_C(1) << 50)) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": size must be > 0 bytes, got '%s'", path,
                               r.line_number, f[4]);
            goto fail;
        }
        if (m4_parse_seconds_ns(f[5], &fl->start_ns) || fl->start_ns < 0) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": bad start time '%s' (seconds >= 0)", path,
                               r.line_number, f[5]);
            goto fail;
        }
        fl->src = (int32_t)v[0];
        fl->dst = (int32_t)v[1];
        fl->priority = (int32_t)v[2];
        fl->dport = (int32_t)v[3];
        fl->size_bytes = v[4];
        id_lines[i] = r.line_number;
        set->count = i + 1;
    }
    got = m4_line_reader_next_content(&r, &line);
    if (got < 0) {
        err = got;
        goto fail;
    }
    if (got == 1) {
        err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": more flows than the count line's %" PRId64,
                           path, r.line_number, declared);
        goto fail;
    }
    /* Unique ids: sort (id, index) pairs and look for neighbours. */
    ids = malloc(sizeof(int64_t) * 2 * (size_t)(set->count > 0 ? set->count : 1));
    if (!ids) {
        err = m4_error_set(M4_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (int64_t i = 0; i < set->count; i++) {
        ids[2 * i] = set->flows[i].id;
        ids[2 * i + 1] = i;
    }
    qsort(ids, (size_t)set->count, 2 * sizeof(int64_t), compare_i64);
    for (int64_t i = 1; i < set->count; i++) {
        if (ids[2 * i] == ids[2 * i - 2]) {
            int64_t a = ids[2 * i - 1], b = ids[2 * i + 1];
            int64_t later = a > b ? a : b, earlier = a > b ? b : a;
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": duplicate flow id %" PRId64 " (first on line %" PRId64 ")",
                               path, id_lines[later], ids[2 * i], id_lines[earlier]);
            goto fail;
        }
    }
    free(ids);
    ids = NULL;
    int32_t *comp = switch_components(t);
    if (!comp) {
        err = m4_error_set(M4_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (int64_t i = 0; i < set->count; i++) {
        const m4_flow *fl = &set->flows[i];
        if (!hosts_connected(t, comp, fl->src, fl->dst)) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": no path from host %d to host %d in the topology",
                               path, id_lines[i], fl->src, fl->dst);
            free(comp);
            goto fail;
        }
    }
    free(comp);
    free(id_lines);
    m4_line_reader_close(&r);
    return M4_OK;
fail:
    free(ids);
    free(id_lines);
    m4_line_reader_close(&r);
    m4_flows_free(set);
    return err;
}

int m4_flows_write(const m4_flowset *set, const char *path)
{
    m4_atomic_file f;
    int err = m4_atomic_open(&f, path);
    if (err) return err;
    fprintf(f.file, "%" PRId64 "\n", set->count);
    for (int64_t i = 0; i < set->count; i++) {
        const m4_flow *fl = &set->flows[i];
        fprintf(f.file, "%" PRId64 " %d %d %d %d %" PRId64 " %" PRId64 ".%09" PRId64 "\n", fl->id,
                fl->src, fl->dst, fl->priority, fl->dport, fl->size_bytes,
                fl->start_ns / 1000000000, fl->start_ns % 1000000000);
    }
    return m4_atomic_commit(&f);
}

/* Rates are in bits per ns (Gb/s) and each term is truncated, as the HPCC
 * fork computes its ideal column. */
int64_t m4_ideal_fct_ns(const m4_topology *t, const int32_t *path_dlinks, int32_t num_hops,
                        int64_t size_bytes)
{
    if (num_hops <= 0 || size_bytes <= 0) return 0;
    int64_t first_payload = size_bytes < M4_MTU_BYTES ? size_bytes : M4_MTU_BYTES;
    int64_t first = first_payload + M4_HEADER_BYTES;
    int64_t packets = (size_bytes + M4_MTU_BYTES - 1) / M4_MTU_BYTES;
    int64_t total = 0;
    double r_min = 0;
    for (int32_t i = 0; i < num_hops; i++) {
        double gbps = m4_dlink_rate_bps(t, path_dlinks[i]) / 1e9;
        total += m4_dlink_delay_ns(t, path_dlinks[i]);
        total += (int64_t)((double)(first * 8) / gbps);
        if (i == 0 || gbps < r_min) r_min = gbps;
    }
    total += (int64_t)((double)((size_bytes - first_payload) * 8) / r_min);
    total += (packets - 1) * (int64_t)((double)(M4_HEADER_BYTES * 8) / r_min);
    return total;
}
