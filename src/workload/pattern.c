#include "pattern.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/textio.h"

int32_t m4_host_racks(const m4_topology *t, int32_t *rack_of_host)
{
    int32_t *rack_of_node = malloc(sizeof(int32_t) * (size_t)(t->num_nodes > 0 ? t->num_nodes : 1));
    if (!rack_of_node)
        return m4_error_set(M4_ENOMEM, "out of memory");
    for (int32_t v = 0; v < t->num_nodes; v++)
        rack_of_node[v] = -1;
    int32_t racks = 0;
    for (int32_t h = 0; h < t->num_hosts; h++) {
        int32_t node = t->host_nodes[h];
        /* A host without links forms a rack of its own (it cannot be routed
         * to; routing reports that). */
        int32_t key = node;
        if (t->adj_start[node] < t->adj_start[node + 1])
            key = m4_dlink_to(t, t->adj_dlinks[t->adj_start[node]]);
        if (rack_of_node[key] < 0)
            rack_of_node[key] = racks++;
        rack_of_host[h] = rack_of_node[key];
    }
    free(rack_of_node);
    return racks;
}

static int build_racks(m4_pattern *p, const m4_topology *t)
{
    int32_t h_count = t->num_hosts;
    int32_t *rack_of_host = malloc(sizeof(int32_t) * (size_t)(h_count > 0 ? h_count : 1));
    p->rack_hosts = malloc(sizeof(int32_t) * (size_t)(h_count > 0 ? h_count : 1));
    p->shuffle = malloc(sizeof(int32_t) * (size_t)(h_count > 0 ? h_count : 1));
    if (!rack_of_host || !p->rack_hosts || !p->shuffle) {
        free(rack_of_host);
        return m4_error_set(M4_ENOMEM, "out of memory");
    }
    int32_t racks = m4_host_racks(t, rack_of_host);
    if (racks < 0) {
        free(rack_of_host);
        return racks;
    }
    p->num_hosts = h_count;
    p->num_racks = racks;
    p->rack_start = calloc((size_t)racks + 1, sizeof(int32_t));
    if (!p->rack_start) {
        free(rack_of_host);
        return m4_error_set(M4_ENOMEM, "out of memory");
    }
    for (int32_t h = 0; h < h_count; h++)
        p->rack_start[rack_of_host[h] + 1]++;
    for (int32_t r = 0; r < racks; r++)
        p->rack_start[r + 1] += p->rack_start[r];
    int32_t *fill = malloc(sizeof(int32_t) * (size_t)(racks > 0 ? racks : 1));
    if (!fill) {
        free(rack_of_host);
        return m4_error_set(M4_ENOMEM, "out of memory");
    }
    memcpy(fill, p->rack_start, sizeof(int32_t) * (size_t)racks);
    for (int32_t h = 0; h < h_count; h++)
        p->rack_hosts[fill[rack_of_host[h]]++] = h;
    for (int32_t h = 0; h < h_count; h++)
        p->shuffle[h] = h;
    free(fill);
    free(rack_of_host);
    return 0;
}

void m4_traffic_matrix_free(m4_traffic_matrix *m)
{
    free(m->src);
    free(m->dst);
    free(m->cumulative);
    memset(m, 0, sizeof *m);
}

typedef struct pair_key {
    int32_t src, dst;
    int64_t line;
} pair_key;

static int compare_pairs(const void *a, const void *b)
{
    const pair_key *x = a, *y = b;
    if (x->src != y->src) return x->src < y->src ? -1 : 1;
    if (x->dst != y->dst) return x->dst < y->dst ? -1 : 1;
    return x->line < y->line ? -1 : (x->line > y->line);
}

int m4_traffic_matrix_read(m4_traffic_matrix *m, const char *path, const m4_topology *t)
{
    memset(m, 0, sizeof *m);
    m4_pattern groups;
    memset(&groups, 0, sizeof groups);
    int err = build_racks(&groups, t);
    if (err) {
        m4_pattern_free(&groups);
        return err;
    }
    m4_line_reader reader;
    err = m4_line_reader_open(&reader, path);
    if (err) {
        m4_pattern_free(&groups);
        return err;
    }
    int32_t capacity = 0;
    int64_t *lines = NULL;
    int seen_entry = 0;
    double total = 0;
    char *line;
    int got;
    while ((got = m4_line_reader_next(&reader, &line)) == 1) {
        char *fields[4];
        int nf = m4_split_fields(line, fields, 3);
        if (nf == 0 || fields[0][0] == '#')
            continue;
        long long ln = (long long)reader.line_number;
        if (nf == 1 && !seen_entry && (!strcmp(fields[0], "racks") || !strcmp(fields[0], "hosts"))) {
            m->by_hosts = !strcmp(fields[0], "hosts");
            seen_entry = 1;
            continue;
        }
        seen_entry = 1;
        if (nf != 3) {
            err = m4_error_set(M4_EPARSE, "%s:%lld: expected `SRC DST WEIGHT`%s", path, ln,
                               nf == 1 ? " (a `racks`/`hosts` line may only come first)" : "");
            goto fail;
        }
        int32_t groups_count = m->by_hosts ? groups.num_hosts : groups.num_racks;
        const char *unit = m->by_hosts ? "host" : "rack";
        int64_t ends[2];
        for (int k = 0; k < 2; k++) {
            if (m4_parse_i64(fields[k], &ends[k]) || ends[k] < 0 || ends[k] >= groups_count) {
                err = m4_error_set(M4_EPARSE, "%s:%lld: %s '%s' is not a %s index in 0..%d", path,
                                   ln, k ? "DST" : "SRC", fields[k], unit, groups_count - 1);
                goto fail;
            }
        }
        double weight;
        if (m4_parse_double(fields[2], &weight) || !isfinite(weight) || weight < 0 ||
            weight > 1e15) {
            err = m4_error_set(M4_EPARSE, "%s:%lld: weight '%s' is not a number in [0, 1e15]",
                               path, ln, fields[2]);
            goto fail;
        }
        if (ends[0] == ends[1]) {
            int32_t r = (int32_t)ends[0];
            if (m->by_hosts || groups.rack_start[r + 1] - groups.rack_start[r] < 2) {
                err = m4_error_set(M4_EPARSE, "%s:%lld: %s %d sends to itself", path, ln, unit,
                                   r);
                goto fail;
            }
        }
        if (m->num_entries == capacity) {
            if (capacity >= (1 << 26)) {
                err = m4_error_set(M4_EPARSE, "%s:%lld: too many entries", path, ln);
                goto fail;
            }
            int32_t grown = (int32_t)m4_array_grown_capacity(capacity, m->num_entries + 1, 64);
            if (m4_array_resize(&m->src, grown, sizeof *m->src) ||
                m4_array_resize(&m->dst, grown, sizeof *m->dst) ||
                m4_array_resize(&m->cumulative, grown, sizeof *m->cumulative) ||
                m4_array_resize(&lines, grown, sizeof *lines)) {
                err = m4_error_set(M4_ENOMEM, "%s: out of memory", path);
                goto fail;
            }
            capacity = grown;
        }
        total += weight;
        m->src[m->num_entries] = (int32_t)ends[0];
        m->dst[m->num_entries] = (int32_t)ends[1];
        m->cumulative[m->num_entries] = total;
        lines[m->num_entries] = reader.line_number;
        m->num_entries++;
    }
    if (got < 0) {
        err = got;
        goto fail;
    }
    if (!(total > 0)) {
        err = m4_error_set(M4_EPARSE, "%s:%lld: no entry with a positive weight", path,
                           (long long)reader.line_number);
        goto fail;
    }
    /* Duplicate pairs: sort a copy and compare neighbours. */
    pair_key *keys = malloc(sizeof(pair_key) * (size_t)m->num_entries);
    if (!keys) {
        err = m4_error_set(M4_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (int32_t i = 0; i < m->num_entries; i++)
        keys[i] = (pair_key){m->src[i], m->dst[i], lines[i]};
    qsort(keys, (size_t)m->num_entries, sizeof *keys, compare_pairs);
    for (int32_t i = 1; i < m->num_entries; i++) {
        if (keys[i].src == keys[i - 1].src && keys[i].dst == keys[i - 1].dst) {
            err = m4_error_set(M4_EPARSE, "%s:%lld: pair %d %d already given on line %lld", path,
                               (long long)keys[i].line, keys[i].src, keys[i].dst,
                               (long long)keys[i - 1].line);
            free(keys);
            goto fail;
        }
    }
    free(keys);
    free(lines);
    m4_line_reader_close(&reader);
    m4_pattern_free(&groups);
    return 0;
fail:
    free(lines);
    m4_line_reader_close(&reader);
    m4_pattern_free(&groups);
    m4_traffic_matrix_free(m);
    return err;
}

void m4_pattern_free(m4_pattern *p)
{
    m4_traffic_matrix_free(&p->matrix);
    free(p->rack_start);
    free(p->rack_hosts);
    free(p->shuffle);
    memset(p, 0, sizeof *p);
}

int m4_pattern_parse(m4_pattern *p, const char *spec, const m4_topology *t)
{
    memset(p, 0, sizeof *p);
    if (t->num_hosts < 2)
        return m4_error_set(M4_EINVAL, "the topology has %d host(s); at least 2 are needed",
                            t->num_hosts);
    int err = build_racks(p, t);
    if (err) {
        m4_pattern_free(p);
        return err;
    }
    if (!strcmp(spec, "uniform")) {
        p->kind = M4_PATTERN_UNIFORM;
        return 0;
    }
    if (!strncmp(spec, "incast:", 7)) {
        int64_t n;
        if (m4_parse_i64(spec + 7, &n) || n < 1 || n >= t->num_hosts) {
            m4_pattern_free(p);
            return m4_error_set(M4_EINVAL,
                                "pattern '%s': N of incast:N must be an integer in 1..%d "
                                "(hosts - 1)",
                                spec, t->num_hosts - 1);
        }
        p->kind = M4_PATTERN_INCAST;
        p->incast_senders = (int32_t)n;
        return 0;
    }
    if (!strncmp(spec, "matrix:", 7) && spec[7]) {
        p->kind = M4_PATTERN_MATRIX;
        err = m4_traffic_matrix_read(&p->matrix, spec + 7, t);
        if (err)
            m4_pattern_free(p);
        return err;
    }
    m4_pattern_free(p);
    return m4_error_set(M4_EINVAL, "unknown pattern '%s' (uniform, incast:N or matrix:FILE)",
                        spec);
}

int32_t m4_pattern_flows_per_event(const m4_pattern *p)
{
    return p->kind == M4_PATTERN_INCAST ? p->incast_senders : 1;
}

static int32_t random_host_of_rack(const m4_pattern *p, int32_t rack, m4_rng *rng)
{
    int32_t size = p->rack_start[rack + 1] - p->rack_start[rack];
    return p->rack_hosts[p->rack_start[rack] + (int32_t)m4_rng_below(rng, (uint64_t)size)];
}

void m4_pattern_draw(m4_pattern *p, const m4_topology *t, m4_rng *rng, int32_t count,
                     int32_t *src_nodes, int32_t *dst_nodes)
{
    int32_t hosts = p->num_hosts;
    if (p->kind == M4_PATTERN_INCAST) {
        /* A partial Fisher-Yates shuffle of the first count + 1 places gives
         * distinct uniform hosts from any starting permutation, so the
         * scratch array is never reset. */
        for (int32_t i = 0; i <= count; i++) {
            int32_t j = i + (int32_t)m4_rng_below(rng, (uint64_t)(hosts - i));
            int32_t tmp = p->shuffle[i];
            p->shuffle[i] = p->shuffle[j];
            p->shuffle[j] = tmp;
        }
        int32_t receiver = t->host_nodes[p->shuffle[0]];
        for (int32_t i = 0; i < count; i++) {
            src_nodes[i] = t->host_nodes[p->shuffle[i + 1]];
            dst_nodes[i] = receiver;
        }
        return;
    }
    for (int32_t i = 0; i < count; i++) {
        int32_t src, dst;
        if (p->kind == M4_PATTERN_UNIFORM) {
            src = (int32_t)m4_rng_below(rng, (uint64_t)hosts);
            dst = (int32_t)m4_rng_below(rng, (uint64_t)(hosts - 1));
            if (dst >= src)
                dst++;
        } else {
            const m4_traffic_matrix *m = &p->matrix;
            double total = m->cumulative[m->num_entries - 1];
            double u = m4_rng_uniform(rng) * total;
            /* First entry whose running sum exceeds u (zero weights never). */
            int32_t lo = 0, hi = m->num_entries - 1;
            while (lo < hi) {
                int32_t mid = lo + (hi - lo) / 2;
                if (m->cumulative[mid] > u)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            if (m->by_hosts) {
                src = m->src[lo];
                dst = m->dst[lo];
            } else {
                int32_t rs = m->src[lo], rd = m->dst[lo];
                src = random_host_of_rack(p, rs, rng);
                if (rs != rd) {
                    dst = random_host_of_rack(p, rd, rng);
                } else {
                    int32_t start = p->rack_start[rs];
                    int32_t size = p->rack_start[rs + 1] - start;
                    int32_t pos = -1;
                    for (int32_t k = 0; k < size; k++)
                        if (p->rack_hosts[start + k] == src)
                            pos = k;
                    int32_t other = (int32_t)m4_rng_below(rng, (uint64_t)(size - 1));
                    if (other >= pos)
                        other++;
                    dst = p->rack_hosts[start + other];
                }
            }
        }
        src_nodes[i] = t->host_nodes[src];
        dst_nodes[i] = t->host_nodes[dst];
    }
}
