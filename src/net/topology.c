/* Topology: HPCC topology.txt reader/writer, derived arrays, generators. */
#include "net/topology.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/textio.h"

void m4_topology_free(m4_topology *t)
{
    if (!t) return;
    free(t->is_switch);
    free(t->links);
    free(t->host_nodes);
    free(t->host_index);
    free(t->adj_start);
    free(t->adj_dlinks);
    memset(t, 0, sizeof *t);
}

static void free_derived(m4_topology *t)
{
    free(t->host_nodes);
    free(t->host_index);
    free(t->adj_start);
    free(t->adj_dlinks);
    t->host_nodes = t->host_index = t->adj_start = t->adj_dlinks = NULL;
    t->num_hosts = 0;
}

int m4_topology_finish(m4_topology *t)
{
    free_derived(t);
    if (t->num_nodes <= 0 || t->num_links < 0 || !t->is_switch)
        return m4_error_set(M4_EINVAL, "topology: no nodes");
    int32_t n = t->num_nodes;
    int32_t switches = 0;
    for (int32_t v = 0; v < n; v++) switches += t->is_switch[v] ? 1 : 0;
    if (switches != t->num_switches)
        return m4_error_set(M4_EINVAL, "topology: %d switches marked, %d declared", switches,
                            t->num_switches);
    for (int32_t i = 0; i < t->num_links; i++) {
        const m4_link *l = &t->links[i];
        if (l->a < 0 || l->a >= n || l->b < 0 || l->b >= n)
            return m4_error_set(M4_EINVAL, "topology: link %d: node id out of range", i);
        if (l->a == l->b) return m4_error_set(M4_EINVAL, "topology: link %d: self loop", i);
        if (!(l->rate_bps > 0) || l->rate_bps > 1e15)
            return m4_error_set(M4_EINVAL, "topology: link %d: rate must be > 0", i);
        if (l->delay_ns < 0) return m4_error_set(M4_EINVAL, "topology: link %d: negative delay", i);
        if (!(l->error_rate >= 0 && l->error_rate <= 1))
            return m4_error_set(M4_EINVAL, "topology: link %d: error rate outside [0,1]", i);
    }
    t->num_hosts = n - switches;
    t->host_nodes = malloc(sizeof(int32_t) * (size_t)(t->num_hosts > 0 ? t->num_hosts : 1));
    t->host_index = malloc(sizeof(int32_t) * (size_t)n);
    t->adj_start = calloc((size_t)n + 1, sizeof(int32_t));
    t->adj_dlinks = malloc(sizeof(int32_t) * (size_t)(2 * t->num_links + 1));
    if (!t->host_nodes || !t->host_index || !t->adj_start || !t->adj_dlinks) {
        free_derived(t);
        return m4_error_set(M4_ENOMEM, "topology: out of memory");
    }
    int32_t h = 0;
    for (int32_t v = 0; v < n; v++) {
        if (t->is_switch[v]) {
            t->host_index[v] = -1;
        } else {
            t->host_index[v] = h;
            t->host_nodes[h++] = v;
        }
    }
    for (int32_t i = 0; i < t->num_links; i++) {
        t->adj_start[t->links[i].a + 1]++;
        t->adj_start[t->links[i].b + 1]++;
    }
    for (int32_t v = 0; v < n; v++) t->adj_start[v + 1] += t->adj_start[v];
    int32_t *fill = malloc(sizeof(int32_t) * (size_t)n);
    if (!fill) {
        free_derived(t);
        return m4_error_set(M4_ENOMEM, "topology: out of memory");
    }
    memcpy(fill, t->adj_start, sizeof(int32_t) * (size_t)n);
    for (int32_t i = 0; i < t->num_links; i++) {
        t->adj_dlinks[fill[t->links[i].a]++] = 2 * i;
        t->adj_dlinks[fill[t->links[i].b]++] = 2 * i + 1;
    }
    free(fill);
    return M4_OK;
}

/* ---- reading -------------------------------------------------------------- */

static int parse_count(const char *text, int64_t max, int32_t *out)
{
    int64_t v;
    if (m4_parse_i64(text, &v) != 0 || v < 0 || v > max) return M4_EPARSE;
    *out = (int32_t)v;
    return M4_OK;
}

#define MAX_TOPOLOGY_NODES 10000000

int m4_topology_read(m4_topology *t, const char *path)
{
    memset(t, 0, sizeof *t);
    m4_line_reader r;
    int err = m4_line_reader_open(&r, path);
    if (err) return err;
    char *line;
    char *fields[8];
    int got = m4_line_reader_next_content(&r, &line);
    if (got < 0) {
        err = got;
        goto fail;
    }
    if (got == 0) {
        err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": empty file, expected 'nodes switches links'",
                           path, r.line_number + 1);
        goto fail;
    }
    int nf = m4_split_fields(line, fields, 3);
    if (nf != 3) {
        err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": expected 'nodes switches links', got %d fields",
                           path, r.line_number, nf);
        goto fail;
    }
    if (parse_count(fields[0], MAX_TOPOLOGY_NODES, &t->num_nodes) || t->num_nodes == 0 ||
        parse_count(fields[1], t->num_nodes, &t->num_switches) ||
        parse_count(fields[2], 10LL * MAX_TOPOLOGY_NODES, &t->num_links)) {
        err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": bad counts (need nodes > 0, 0 <= switches <= nodes, links >= 0)",
                           path, r.line_number);
        goto fail;
    }
    t->is_switch = calloc((size_t)t->num_nodes, 1);
    /* The link array grows with the lines actually present, so a huge count
     * on a short file costs nothing (found by fuzz_topology). */
    int32_t link_capacity = t->num_links < 1024 ? (t->num_links > 0 ? t->num_links : 1) : 1024;
    t->links = calloc((size_t)link_capacity, sizeof(m4_link));
    if (!t->is_switch || !t->links) {
        err = m4_error_set(M4_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    if (t->num_switches > 0) {
        /* The switch id line may be long: split it into a growing array. */
        got = m4_line_reader_next_content(&r, &line);
        if (got <= 0) {
            err = got < 0 ? got
                          : m4_error_set(M4_EPARSE, "%s:%" PRId64 ": missing switch id line", path,
                                         r.line_number + 1);
            goto fail;
        }
        int32_t count = 0;
        char *p = line;
        for (;;) {
            while (*p == ' ' || *p == '\t') p++;
            if (*p == '\0') break;
            char *start = p;
            while (*p && *p != ' ' && *p != '\t') p++;
            char saved = *p;
            *p = '\0';
            int64_t id;
            if (m4_parse_i64(start, &id) != 0) {
                err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": bad switch id '%s'", path,
                                   r.line_number, start);
                goto fail;
            }
            if (id < 0 || id >= t->num_nodes) {
                err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": switch id %" PRId64 " is not a node (0..%d)",
                                   path, r.line_number, id, t->num_nodes - 1);
                goto fail;
            }
            if (t->is_switch[id]) {
                err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": duplicate switch id %" PRId64, path,
                                   r.line_number, id);
                goto fail;
            }
            if (count == t->num_switches) {
                err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": more than %d switch ids", path,
                                   r.line_number, t->num_switches);
                goto fail;
            }
            t->is_switch[id] = 1;
            count++;
            *p = saved;
        }
        if (count != t->num_switches) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": %d switch ids, header says %d", path,
                               r.line_number, count, t->num_switches);
            goto fail;
        }
    }
    for (int32_t i = 0; i < t->num_links; i++) {
        got = m4_line_reader_next_content(&r, &line);
        if (got < 0) {
            err = got;
            goto fail;
        }
        if (got == 0) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": %d links, header says %d", path,
                               r.line_number + 1, i, t->num_links);
            goto fail;
        }
        if (i == link_capacity) {
            int64_t grown = 2 * (int64_t)link_capacity;
            if (grown > t->num_links) grown = t->num_links;
            if (m4_array_resize(&t->links, grown, sizeof *t->links)) {
                err = m4_error_set(M4_ENOMEM, "%s: out of memory for %" PRId64 " links", path, grown);
                goto fail;
            }
            link_capacity = (int32_t)grown;
        }
        nf = m4_split_fields(line, fields, 5);
        if (nf != 5) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": expected 'a b rate delay error_rate', got %s fields",
                               path, r.line_number, nf > 5 ? "more than 5" : (nf == 4 ? "4" : "too few"));
            goto fail;
        }
        m4_link *l = &t->links[i];
        int64_t a, b;
        if (m4_parse_i64(fields[0], &a) || m4_parse_i64(fields[1], &b)) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": bad node id", path, r.line_number);
            goto fail;
        }
        if (a < 0 || a >= t->num_nodes || b < 0 || b >= t->num_nodes) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": unknown node id (nodes are 0..%d)", path,
                               r.line_number, t->num_nodes - 1);
            goto fail;
        }
        if (a == b) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": self loop on node %" PRId64, path,
                               r.line_number, a);
            goto fail;
        }
        l->a = (int32_t)a;
        l->b = (int32_t)b;
        if (m4_parse_rate_bps(fields[2], &l->rate_bps) || !(l->rate_bps > 0) || l->rate_bps > 1e15) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": bad rate '%s' (must be > 0, e.g. 10Gbps)",
                               path, r.line_number, fields[2]);
            goto fail;
        }
        if (m4_parse_delay_ns(fields[3], &l->delay_ns) || l->delay_ns < 0 ||
            l->delay_ns > 1000000000000LL) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": bad delay '%s' (must be >= 0, e.g. 1us)",
                               path, r.line_number, fields[3]);
            goto fail;
        }
        if (m4_parse_double(fields[4], &l->error_rate) || !(l->error_rate >= 0 && l->error_rate <= 1)) {
            err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": bad error rate '%s' (must be in [0,1])",
                               path, r.line_number, fields[4]);
            goto fail;
        }
    }
    got = m4_line_reader_next_content(&r, &line);
    if (got < 0) {
        err = got;
        goto fail;
    }
    if (got == 1) {
        err = m4_error_set(M4_EPARSE, "%s:%" PRId64 ": trailing content after %d links", path,
                           r.line_number, t->num_links);
        goto fail;
    }
    m4_line_reader_close(&r);
    err = m4_topology_finish(t);
    if (err) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", m4_last_error());
        m4_topology_free(t);
        return m4_error_set(M4_EPARSE, "%s: %s", path, detail);
    }
    return M4_OK;
fail:
    m4_line_reader_close(&r);
    m4_topology_free(t);
    return err;
}

/* ---- writing -------------------------------------------------------------- */

static void format_delay(char *out, size_t cap, int64_t ns) { snprintf(out, cap, "%" PRId64 "ns", ns); }

int m4_topology_write(const m4_topology *t, const char *path)
{
    m4_atomic_file f;
    int err = m4_atomic_open(&f, path);
    if (err) return err;
    fprintf(f.file, "%d %d %d\n", t->num_nodes, t->num_switches, t->num_links);
    int first = 1;
    for (int32_t v = 0; v < t->num_nodes; v++) {
        if (!t->is_switch[v]) continue;
        fprintf(f.file, first ? "%d" : " %d", v);
        first = 0;
    }
    fputc('\n', f.file);
    for (int32_t i = 0; i < t->num_links; i++) {
        const m4_link *l = &t->links[i];
        char delay[64];
        format_delay(delay, sizeof delay, l->delay_ns);
        /* %.17g round-trips any double; integer rates print as plain digits. */
        char rate[64];
        if (l->rate_bps == (double)(int64_t)l->rate_bps)
            snprintf(rate, sizeof rate, "%" PRId64 "bps", (int64_t)l->rate_bps);
        else
            snprintf(rate, sizeof rate, "%.17gbps", l->rate_bps);
        fprintf(f.file, "%d %d %s %s %.17g\n", l->a, l->b, rate, delay, l->error_rate);
    }
    return m4_atomic_commit(&f);
}

/* ---- generators ----------------------------------------------------------- */

typedef struct builder {
    m4_topology *t;
    int32_t cap_links;
    int failed;
} builder;

static int builder_init(builder *b, m4_topology *t, int64_t num_nodes, int64_t expected_links)
{
    memset(t, 0, sizeof *t);
    b->t = t;
    b->failed = 0;
    if (num_nodes <= 0 || num_nodes > MAX_TOPOLOGY_NODES || expected_links > 10LL * MAX_TOPOLOGY_NODES)
        return m4_error_set(M4_EINVAL, "topology spec: %" PRId64 " nodes is out of range", num_nodes);
    t->num_nodes = (int32_t)num_nodes;
    t->is_switch = calloc((size_t)num_nodes, 1);
    b->cap_links = (int32_t)(expected_links > 0 ? expected_links : 1);
    t->links = calloc((size_t)b->cap_links, sizeof(m4_link));
    if (!t->is_switch || !t->links) {
        m4_topology_free(t);
        return m4_error_set(M4_ENOMEM, "topology spec: out of memory");
    }
    return M4_OK;
}

static void add_link(builder *b, int32_t a, int32_t c, double rate, int64_t delay)
{
    m4_topology *t = b->t;
    if (t->num_links == b->cap_links) {
        b->failed = 1;
        return;
    }
    m4_link *l = &t->links[t->num_links++];
    l->a = a;
    l->b = c;
    l->rate_bps = rate;
    l->delay_ns = delay;
    l->error_rate = 0;
}

static void mark_switch(builder *b, int32_t v)
{
    b->t->is_switch[v] = 1;
    b->t->num_switches++;
}

static int builder_done(builder *b)
{
    if (b->failed) {
        m4_topology_free(b->t);
        return m4_error_set(M4_EINVAL, "topology spec: internal link count mismatch");
    }
    int err = m4_topology_finish(b->t);
    if (err) m4_topology_free(b->t);
    return err;
}

typedef struct spec_params {
    int64_t pods, racks, hosts, fabrics, spines, k, left, right, switches;
    double oversub;
    double host_rate, fabric_rate, rate, bottleneck_rate;
    int64_t delay;
} spec_params;

/* Parse "key=value,key=value" against the keys a generator accepts. */
static int parse_spec_params(const char *kind, const char *text, const char *allowed,
                             spec_params *p)
{
    char *copy = strdup(text);
    if (!copy) return m4_error_set(M4_ENOMEM, "out of memory");
    int err = M4_OK;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) {
            err = m4_error_set(M4_EINVAL, "topology spec %s: '%s' is not key=value", kind, item);
            break;
        }
        *eq = '\0';
        const char *key = item, *value = eq + 1;
        /* allowed is a space-separated list of keys */
        size_t key_len = strlen(key);
        const char *hit = allowed;
        int known = 0;
        /* an empty key would match everywhere and walk strstr off the end */
        while (key_len > 0 && (hit = strstr(hit, key)) != NULL) {
            if ((hit == allowed || hit[-1] == ' ') && (hit[key_len] == ' ' || hit[key_len] == '\0')) {
                known = 1;
                break;
            }
            hit += key_len;
        }
        if (!known || key_len == 0) {
            err = m4_error_set(M4_EINVAL, "topology spec %s: unknown key '%s' (accepted: %s)", kind,
                               key, allowed);
            break;
        }
        int bad = 0;
        int64_t iv = 0;
        double dv = 0;
        if (!strcmp(key, "host_rate") || !strcmp(key, "fabric_rate") || !strcmp(key, "rate") ||
            !strcmp(key, "bottleneck_rate")) {
            bad = m4_parse_rate_bps(value, &dv) != 0 || !(dv > 0) || dv > 1e15;
            if (!bad) {
                if (!strcmp(key, "host_rate")) p->host_rate = dv;
                else if (!strcmp(key, "fabric_rate")) p->fabric_rate = dv;
                else if (!strcmp(key, "rate")) p->rate = dv;
                else p->bottleneck_rate = dv;
            }
        } else if (!strcmp(key, "delay")) {
            bad = m4_parse_delay_ns(value, &iv) != 0 || iv < 0 || iv > 1000000000000LL;
            if (!bad) p->delay = iv;
        } else if (!strcmp(key, "oversub")) {
            bad = m4_parse_double(value, &dv) != 0 || !(dv > 0) || dv > 1e6;
            if (!bad) p->oversub = dv;
        } else {
            bad = m4_parse_i64(value, &iv) != 0 || iv <= 0 || iv > 1000000;
            if (!bad) {
                if (!strcmp(key, "pods")) p->pods = iv;
                else if (!strcmp(key, "racks")) p->racks = iv;
                else if (!strcmp(key, "hosts")) p->hosts = iv;
                else if (!strcmp(key, "fabrics")) p->fabrics = iv;
                else if (!strcmp(key, "spines")) p->spines = iv;
                else if (!strcmp(key, "k")) p->k = iv;
                else if (!strcmp(key, "left")) p->left = iv;
                else if (!strcmp(key, "right")) p->right = iv;
                else if (!strcmp(key, "switches")) p->switches = iv;
            }
        }
        if (bad) {
            err = m4_error_set(M4_EINVAL, "topology spec %s: bad value '%s' for %s", kind, value, key);
            break;
        }
    }
    free(copy);
    return err;
}

#define DEFAULT_HOST_RATE 10e9
#define DEFAULT_FABRIC_RATE 40e9
#define DEFAULT_DELAY_NS 1000

/* Meta-style fabric (DESIGN.md section 5). Numbering: hosts 0..N-1 (rack by
 * rack), then ToRs, then fabric switches (pod by pod), then spines (plane by
 * plane). Oversubscription O shrinks each ToR uplink so that
 * hosts*host_rate / (fabrics*uplink_rate) = O; without oversub the uplinks
 * run at fabric_rate. */
static int gen_fabric(m4_topology *t, spec_params *p)
{
    if (!p->pods || !p->racks || !p->hosts)
        return m4_error_set(M4_EINVAL, "topology spec fabric: pods, racks and hosts are required");
    int64_t F = p->fabrics ? p->fabrics : 2, S = p->spines ? p->spines : 4;
    int64_t tors = p->pods * p->racks, hosts = tors * p->hosts;
    int64_t fabs = p->pods * F, spines = F * S;
    int64_t nodes = hosts + tors + fabs + spines;
    int64_t links = hosts + tors * F + fabs * S;
    if (nodes > MAX_TOPOLOGY_NODES || links > 10LL * MAX_TOPOLOGY_NODES)
        return m4_error_set(M4_EINVAL, "topology spec fabric: too large");
    double uplink = p->fabric_rate;
    if (p->oversub > 0) uplink = (double)p->hosts * p->host_rate / ((double)F * p->oversub);
    builder b;
    int err = builder_init(&b, t, nodes, links);
    if (err) return err;
    int32_t tor0 = (int32_t)hosts, fab0 = (int32_t)(hosts + tors), spine0 = (int32_t)(hosts + tors + fabs);
    for (int32_t v = tor0; v < nodes; v++) mark_switch(&b, v);
    for (int64_t h = 0; h < hosts; h++) add_link(&b, (int32_t)h, tor0 + (int32_t)(h / p->hosts), p->host_rate, p->delay);
    for (int64_t tor = 0; tor < tors; tor++) {
        int64_t pod = tor / p->racks;
        for (int64_t f = 0; f < F; f++) add_link(&b, tor0 + (int32_t)tor, fab0 + (int32_t)(pod * F + f), uplink, p->delay);
    }
    for (int64_t pod = 0; pod < p->pods; pod++)
        for (int64_t f = 0; f < F; f++)
            for (int64_t s = 0; s < S; s++)
                add_link(&b, fab0 + (int32_t)(pod * F + f), spine0 + (int32_t)(f * S + s), p->fabric_rate, p->delay);
    return builder_done(&b);
}

/* k-ary fat-tree: hosts, then edge switches (pod by pod), aggregation
 * switches, cores. Aggregation switch j of a pod links to cores
 * j*k/2 .. j*k/2 + k/2 - 1. */
static int gen_fattree(m4_topology *t, spec_params *p)
{
    int64_t k = p->k;
    if (k < 2 || k % 2 || k > 200) return m4_error_set(M4_EINVAL, "topology spec fattree: k must be even, 2..200");
    int64_t half = k / 2, hosts = k * k * k / 4, edges = k * half, aggs = k * half, cores = half * half;
    int64_t nodes = hosts + edges + aggs + cores, links = hosts + k * half * half * 2;
    builder b;
    int err = builder_init(&b, t, nodes, links);
    if (err) return err;
    int32_t edge0 = (int32_t)hosts, agg0 = (int32_t)(hosts + edges), core0 = (int32_t)(hosts + edges + aggs);
    for (int32_t v = edge0; v < nodes; v++) mark_switch(&b, v);
    for (int64_t h = 0; h < hosts; h++) add_link(&b, (int32_t)h, edge0 + (int32_t)(h / half), p->host_rate, p->delay);
    for (int64_t pod = 0; pod < k; pod++)
        for (int64_t e = 0; e < half; e++)
            for (int64_t a = 0; a < half; a++)
                add_link(&b, edge0 + (int32_t)(pod * half + e), agg0 + (int32_t)(pod * half + a), p->fabric_rate, p->delay);
    for (int64_t pod = 0; pod < k; pod++)
        for (int64_t a = 0; a < half; a++)
            for (int64_t c = 0; c < half; c++)
                add_link(&b, agg0 + (int32_t)(pod * half + a), core0 + (int32_t)(a * half + c), p->fabric_rate, p->delay);
    return builder_done(&b);
}

static int gen_star(m4_topology *t, spec_params *p)
{
    if (p->hosts < 2) return m4_error_set(M4_EINVAL, "topology spec star: hosts >= 2 required");
    builder b;
    int err = builder_init(&b, t, p->hosts + 1, p->hosts);
    if (err) return err;
    mark_switch(&b, (int32_t)p->hosts);
    for (int64_t h = 0; h < p->hosts; h++) add_link(&b, (int32_t)h, (int32_t)p->hosts, p->rate, p->delay);
    return builder_done(&b);
}

/* Hosts 0..L-1 on the left switch (id L+R), L..L+R-1 on the right (L+R+1). */
static int gen_dumbbell(m4_topology *t, spec_params *p)
{
    if (!p->left || !p->right) return m4_error_set(M4_EINVAL, "topology spec dumbbell: left and right are required");
    int64_t hosts = p->left + p->right;
    builder b;
    int err = builder_init(&b, t, hosts + 2, hosts + 1);
    if (err) return err;
    int32_t sl = (int32_t)hosts, sr = (int32_t)hosts + 1;
    mark_switch(&b, sl);
    mark_switch(&b, sr);
    for (int64_t h = 0; h < hosts; h++) add_link(&b, (int32_t)h, h < p->left ? sl : sr, p->rate, p->delay);
    add_link(&b, sl, sr, p->bottleneck_rate > 0 ? p->bottleneck_rate : p->rate, p->delay);
    return builder_done(&b);
}

/* A chain of N switches; each switch has `hosts` hosts (default 1), so the
 * first and last host are N+1 links apart. Hosts first: host i sits on
 * switch i / hosts. */
static int gen_line(m4_topology *t, spec_params *p)
{
    if (!p->switches) return m4_error_set(M4_EINVAL, "topology spec line: switches is required");
    int64_t per = p->hosts ? p->hosts : 1, hosts = p->switches * per;
    builder b;
    int err = builder_init(&b, t, hosts + p->switches, hosts + p->switches - 1);
    if (err) return err;
    int32_t sw0 = (int32_t)hosts;
    for (int64_t s = 0; s < p->switches; s++) mark_switch(&b, sw0 + (int32_t)s);
    for (int64_t h = 0; h < hosts; h++) add_link(&b, (int32_t)h, sw0 + (int32_t)(h / per), p->rate, p->delay);
    for (int64_t s = 0; s + 1 < p->switches; s++) add_link(&b, sw0 + (int32_t)s, sw0 + (int32_t)s + 1, p->rate, p->delay);
    return builder_done(&b);
}

int m4_topology_from_spec(m4_topology *t, const char *spec)
{
    memset(t, 0, sizeof *t);
    if (!spec || !*spec) return m4_error_set(M4_EINVAL, "topology spec: empty");
    const char *colon = strchr(spec, ':');
    static const struct {
        const char *name, *keys;
        int (*gen)(m4_topology *, spec_params *);
    } kinds[] = {
        {"fabric", "pods racks hosts fabrics spines oversub host_rate fabric_rate delay", gen_fabric},
        {"fattree", "k host_rate fabric_rate delay", gen_fattree},
        {"star", "hosts rate delay", gen_star},
        {"dumbbell", "left right rate bottleneck_rate delay", gen_dumbbell},
        {"line", "switches hosts rate delay", gen_line},
    };
    if (colon) {
        size_t len = (size_t)(colon - spec);
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
            if (strlen(kinds[i].name) == len && !strncmp(kinds[i].name, spec, len)) {
                spec_params p = {0};
                p.host_rate = DEFAULT_HOST_RATE;
                p.fabric_rate = DEFAULT_FABRIC_RATE;
                p.rate = DEFAULT_HOST_RATE;
                p.delay = DEFAULT_DELAY_NS;
                int err = parse_spec_params(kinds[i].name, colon + 1, kinds[i].keys, &p);
                if (err) return err;
                return kinds[i].gen(t, &p);
            }
        }
    }
    if (m4_file_exists(spec)) return m4_topology_read(t, spec);
    return m4_error_set(M4_EINVAL,
                        "topology spec '%s': not fabric:/fattree:/star:/dumbbell:/line: nor a file", spec);
}

/* ---- base RTT ------------------------------------------------------------- */

/* BFS from every host; among the shortest (hop count) paths to each node take
 * the largest delay sum, then the maximum over host pairs. */
int64_t m4_topology_max_base_rtt_ns(const m4_topology *t)
{
    if (!t || t->num_nodes <= 0 || !t->adj_start) return 0;
    int32_t n = t->num_nodes;
    int32_t *dist = malloc(sizeof(int32_t) * (size_t)n);
    int64_t *delay = malloc(sizeof(int64_t) * (size_t)n);
    int32_t *queue = malloc(sizeof(int32_t) * (size_t)n);
    int64_t best = 0;
    if (!dist || !delay || !queue) goto out;
    /* Hosts under the same switch with identical link delays give identical
     * answers; dedupe sources by (attached node, delay) signature to keep big
     * fabrics fast. */
    int64_t *seen_key = calloc((size_t)n, sizeof(int64_t));
    if (!seen_key) goto out;
    for (int32_t h = 0; h < t->num_hosts; h++) {
        int32_t src = t->host_nodes[h];
        int32_t deg = t->adj_start[src + 1] - t->adj_start[src];
        if (deg == 1) {
            int32_t dl = t->adj_dlinks[t->adj_start[src]];
            int32_t nb = m4_dlink_to(t, dl);
            if (t->is_switch[nb]) {
                int64_t key = m4_dlink_delay_ns(t, dl) + 1;
                if (seen_key[nb] == key) continue;
                seen_key[nb] = key;
            }
        }
        for (int32_t v = 0; v < n; v++) dist[v] = -1;
        int32_t head = 0, tail = 0;
        dist[src] = 0;
        delay[src] = 0;
        queue[tail++] = src;
        while (head < tail) {
            int32_t v = queue[head++];
            /* Hosts do not forward traffic. */
            if (v != src && !t->is_switch[v]) continue;
            for (int32_t i = t->adj_start[v]; i < t->adj_start[v + 1]; i++) {
                int32_t dl = t->adj_dlinks[i];
                int32_t w = m4_dlink_to(t, dl);
                int64_t d = delay[v] + m4_dlink_delay_ns(t, dl);
                if (dist[w] < 0) {
                    dist[w] = dist[v] + 1;
                    delay[w] = d;
                    queue[tail++] = w;
                } else if (dist[w] == dist[v] + 1 && d > delay[w]) {
                    delay[w] = d;
                }
            }
        }
        for (int32_t g = 0; g < t->num_hosts; g++) {
            int32_t dst = t->host_nodes[g];
            if (dst != src && dist[dst] >= 0 && delay[dst] > best) best = delay[dst];
        }
    }
    free(seen_key);
out:
    free(dist);
    free(delay);
    free(queue);
    return 2 * best;
}
