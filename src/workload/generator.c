#include "generator.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/textio.h"
#include "workload/cdf.h"
#include "workload/pattern.h"

/* Longest span we generate: ~3 years, far from int64 ns overflow. */
#define MAX_SPAN_NS 100000000000000000LL

/* Independent streams for sizes, pairs and gaps: the same seed gives the same
 * sizes and pairs whatever the load or sigma, only the times change. */
enum { STREAM_SIZES = 1, STREAM_PAIRS = 2, STREAM_GAPS = 3 };

static void seed_stream(m4_rng *rng, uint64_t seed, uint64_t stream)
{
    m4_rng_seed(rng, m4_mix64(seed ^ m4_mix64(stream * 0x9e3779b97f4a7c15ULL)));
}

void m4_gen_params_defaults(m4_gen_params *p)
{
    memset(p, 0, sizeof *p);
    p->topology = "fabric:pods=2,racks=4,hosts=4";
    p->workload = "websearch";
    p->load = 0.5;
    p->sigma = 1.0;
    p->num_flows = 2000;
    p->pattern = "uniform";
    p->cc = "dctcp";
    p->seed = 1;
}

void m4_gen_result_free(m4_gen_result *r)
{
    m4_topology_free(&r->topology);
    m4_flows_free(&r->flows);
    memset(r, 0, sizeof *r);
}

static int build_config(const m4_gen_params *p, m4_config *cfg)
{
    m4_cc_kind cc;
    if (!p->cc || m4_cc_from_name(p->cc, &cc))
        return m4_error_set(M4_EINVAL, "--cc must be dctcp, dcqcn, hpcc or timely, got '%s'",
                            p->cc ? p->cc : "(none)");
    /* A CC among the overrides picks the defaults, as in config.txt. */
    for (int i = 0; i < p->num_config_sets; i++) {
        const char *s = p->config_sets[i];
        const char *eq = strchr(s, '=');
        if (eq && eq - s == 2 && !strncasecmp(s, "CC", 2) && m4_cc_from_name(eq + 1, &cc))
            return m4_error_set(M4_EINVAL, "--set %s: CC must be dctcp|dcqcn|hpcc|timely", s);
    }
    m4_config_defaults(cfg, cc);
    for (int i = 0; i < p->num_config_sets; i++) {
        const char *s = p->config_sets[i];
        const char *eq = strchr(s, '=');
        if (!eq || eq == s)
            return m4_error_set(M4_EINVAL, "--set '%s': expected KEY=VALUE", s);
        char key[64];
        size_t key_len = (size_t)(eq - s);
        if (key_len >= sizeof key)
            return m4_error_set(M4_EINVAL, "--set '%s': unknown key", s);
        memcpy(key, s, key_len);
        key[key_len] = 0;
        for (int j = 0; j < i; j++) {
            const char *prev = p->config_sets[j];
            if (!strncasecmp(prev, key, key_len) && prev[key_len] == '=')
                return m4_error_set(M4_EINVAL, "--set %s: key %s is set twice", s, key);
        }
        int err = m4_config_set(cfg, key, eq + 1, "--set");
        if (err)
            return err;
    }
    if (cfg->dcqcn_kmin_kb > cfg->dcqcn_kmax_kb)
        return m4_error_set(M4_EINVAL, "--set: DCQCN_KMIN_KB %g is above DCQCN_KMAX_KB %g",
                            cfg->dcqcn_kmin_kb, cfg->dcqcn_kmax_kb);
    if (cfg->ecn_kmin_kb > cfg->ecn_kmax_kb)
        return m4_error_set(M4_EINVAL, "--set: ECN_KMIN_KB %g is above ECN_KMAX_KB %g",
                            cfg->ecn_kmin_kb, cfg->ecn_kmax_kb);
    if (!(cfg->timely_tlow_us < cfg->timely_thigh_us))
        return m4_error_set(M4_EINVAL, "--set: TIMELY_TLOW_US %g must be below TIMELY_THIGH_US %g",
                            cfg->timely_tlow_us, cfg->timely_thigh_us);
    return 0;
}

static int route_error(int err, const m4_flow *f)
{
    if (err == M4_ENOROUTE)
        return m4_error_set(M4_ENOROUTE, "hosts %d and %d are not connected in the topology",
                            f->src, f->dst);
    return err;
}

/* Per directed link: seconds of transmission the flows put on it. */
static int link_busy_seconds(const m4_topology *t, const m4_routing *r, const m4_flowset *flows,
                             double *busy)
{
    int32_t dlinks = m4_num_dlinks(t);
    int64_t *bytes = calloc((size_t)(dlinks > 0 ? dlinks : 1), sizeof(int64_t));
    if (!bytes)
        return m4_error_set(M4_ENOMEM, "out of memory");
    int32_t path[M4_MAX_HOPS];
    for (int64_t i = 0; i < flows->count; i++) {
        const m4_flow *f = &flows->flows[i];
        int32_t hops;
        int err = m4_route(r, f->src, f->dst, (uint64_t)f->id, path, M4_MAX_HOPS, &hops);
        if (err) {
            free(bytes);
            return route_error(err, f);
        }
        int64_t wire = m4_wire_bytes(f->size_bytes);
        for (int32_t h = 0; h < hops; h++)
            bytes[path[h]] += wire;
    }
    for (int32_t l = 0; l < dlinks; l++)
        busy[l] = (double)bytes[l] * 8.0 / m4_dlink_rate_bps(t, l);
    free(bytes);
    return 0;
}

static int busiest(const double *busy, int32_t dlinks, int32_t *which)
{
    int32_t best = 0;
    for (int32_t l = 1; l < dlinks; l++)
        if (busy[l] > busy[best])
            best = l;
    *which = best;
    return 0;
}

int m4_flows_max_link_load(const m4_topology *t, const m4_routing *r, const m4_flowset *flows,
                           double *load, int32_t *busiest_dlink)
{
    if (flows->count < 2)
        return m4_error_set(M4_EINVAL, "load needs at least two flows");
    int64_t first = flows->flows[0].start_ns, last = first;
    for (int64_t i = 1; i < flows->count; i++) {
        int64_t s = flows->flows[i].start_ns;
        if (s < first) first = s;
        if (s > last) last = s;
    }
    if (last == first)
        return m4_error_set(M4_EINVAL, "load needs flows starting at two different times");
    int32_t dlinks = m4_num_dlinks(t);
    double *busy = malloc(sizeof(double) * (size_t)(dlinks > 0 ? dlinks : 1));
    if (!busy)
        return m4_error_set(M4_ENOMEM, "out of memory");
    int err = link_busy_seconds(t, r, flows, busy);
    if (!err) {
        int32_t best;
        busiest(busy, dlinks, &best);
        *load = busy[best] / ((double)(last - first) * 1e-9);
        if (busiest_dlink)
            *busiest_dlink = best;
    }
    free(busy);
    return err;
}

static int check_params(const m4_gen_params *p)
{
    if (!(p->load > 0 && p->load <= M4_GEN_MAX_LOAD))
        return m4_error_set(M4_EINVAL, "--load must be in (0, 1], got %g", p->load);
    if (!(p->sigma >= 0 && p->sigma <= M4_GEN_MAX_SIGMA))
        return m4_error_set(M4_EINVAL, "--sigma must be in [0, 5], got %g", p->sigma);
    if (p->num_flows < 2 || p->num_flows > M4_GEN_MAX_FLOWS)
        return m4_error_set(M4_EINVAL, "--flows must be in 2..%lld, got %lld",
                            (long long)M4_GEN_MAX_FLOWS, (long long)p->num_flows);
    if (!p->topology || !p->workload || !p->pattern)
        return m4_error_set(M4_EINVAL, "topology, workload and pattern are required");
    return 0;
}

/* Start times of `events` arrivals: log-normal gaps (exponential for sigma
 * 0) scaled so the last start is exactly span_ns after the first. */
static int arrival_times(int64_t events, double sigma, int64_t span_ns, uint64_t seed,
                         int64_t *starts)
{
    double *cumulative = malloc(sizeof(double) * (size_t)events);
    if (!cumulative)
        return m4_error_set(M4_ENOMEM, "out of memory");
    m4_rng rng;
    seed_stream(&rng, seed, STREAM_GAPS);
    cumulative[0] = 0;
    for (int64_t e = 1; e < events; e++) {
        /* The gaps' mean does not matter (they are rescaled); their shape
         * does: exp(sigma * N(0,1)) is log-normal with shape sigma. */
        double gap = sigma > 0 ? exp(sigma * m4_rng_normal(&rng)) : m4_rng_exponential(&rng, 1.0);
        cumulative[e] = cumulative[e - 1] + gap;
    }
    double total = cumulative[events - 1];
    for (int64_t e = 0; e < events; e++) {
        double fraction = total > 0 ? cumulative[e] / total : (double)e / (double)(events - 1);
        starts[e] = M4_GEN_FIRST_START_NS + llround((double)span_ns * fraction);
    }
    starts[events - 1] = M4_GEN_FIRST_START_NS + span_ns;
    free(cumulative);
    return 0;
}

int m4_generate(const m4_gen_params *p, m4_gen_result *out)
{
    memset(out, 0, sizeof *out);
    int err = check_params(p);
    if (err)
        return err;
    err = build_config(p, &out->config);
    if (err)
        return err;
    m4_cdf cdf;
    err = m4_cdf_load(&cdf, p->workload);
    if (err)
        return err;
    out->mean_size_bytes = m4_cdf_mean(&cdf);
    err = m4_topology_from_spec(&out->topology, p->topology);
    if (err) {
        m4_cdf_free(&cdf);
        return err;
    }
    m4_pattern pattern;
    err = m4_pattern_parse(&pattern, p->pattern, &out->topology);
    if (err) {
        m4_cdf_free(&cdf);
        m4_gen_result_free(out);
        return err;
    }
    m4_routing routing;
    memset(&routing, 0, sizeof routing);
    int64_t *event_starts = NULL;
    double *busy = NULL;
    int32_t *src_nodes = NULL, *dst_nodes = NULL;

    int64_t n = p->num_flows;
    int32_t per_event = m4_pattern_flows_per_event(&pattern);
    int64_t events = (n + per_event - 1) / per_event;
    if (events < 2) {
        err = m4_error_set(M4_EINVAL,
                           "%lld flows in incasts of %d make one arrival; load needs at least "
                           "two (raise --flows)",
                           (long long)n, per_event);
        goto done;
    }
    err = m4_routing_init(&routing, &out->topology);
    if (err)
        goto done;
    out->flows.flows = calloc((size_t)n, sizeof(m4_flow));
    src_nodes = malloc(sizeof(int32_t) * (size_t)per_event);
    dst_nodes = malloc(sizeof(int32_t) * (size_t)per_event);
    event_starts = malloc(sizeof(int64_t) * (size_t)events);
    int32_t dlinks = m4_num_dlinks(&out->topology);
    busy = malloc(sizeof(double) * (size_t)(dlinks > 0 ? dlinks : 1));
    if (!out->flows.flows || !src_nodes || !dst_nodes || !event_starts || !busy) {
        err = m4_error_set(M4_ENOMEM, "out of memory for %lld flows", (long long)n);
        goto done;
    }
    out->flows.count = n;

    m4_rng size_rng, pair_rng;
    seed_stream(&size_rng, p->seed, STREAM_SIZES);
    seed_stream(&pair_rng, p->seed, STREAM_PAIRS);
    for (int64_t e = 0, i = 0; e < events; e++) {
        int32_t count = (int32_t)(n - i < per_event ? n - i : per_event);
        m4_pattern_draw(&pattern, &out->topology, &pair_rng, count, src_nodes, dst_nodes);
        for (int32_t k = 0; k < count; k++, i++) {
            m4_flow *f = &out->flows.flows[i];
            f->id = i;
            f->src = src_nodes[k];
            f->dst = dst_nodes[k];
            f->priority = M4_GEN_PRIORITY;
            f->dport = M4_GEN_DPORT;
            f->size_bytes = m4_cdf_sample(&cdf, &size_rng);
        }
    }

    err = link_busy_seconds(&out->topology, &routing, &out->flows, busy);
    if (err)
        goto done;
    int32_t best;
    busiest(busy, dlinks, &best);
    double span_s = busy[best] / p->load;
    if (!(span_s * 1e9 < (double)MAX_SPAN_NS)) {
        err = m4_error_set(M4_EINVAL, "the flows would span %g s at load %g; too long", span_s,
                           p->load);
        goto done;
    }
    int64_t span_ns = llround(span_s * 1e9);
    if (span_ns < 1)
        span_ns = 1;
    err = arrival_times(events, p->sigma, span_ns, p->seed, event_starts);
    if (err)
        goto done;
    for (int64_t i = 0; i < n; i++)
        out->flows.flows[i].start_ns = event_starts[i / per_event];
    out->span_ns = span_ns;
    out->busiest_dlink = best;
    out->achieved_load = busy[best] / ((double)span_ns * 1e-9);

done:
    free(src_nodes);
    free(dst_nodes);
    free(event_starts);
    free(busy);
    m4_routing_free(&routing);
    m4_pattern_free(&pattern);
    m4_cdf_free(&cdf);
    if (err)
        m4_gen_result_free(out);
    return err;
}

int m4_gen_write(const m4_gen_result *r, const char *dir)
{
    int err = m4_mkdir_p(dir);
    if (err)
        return err;
    static const char *const names[3] = {"topology.txt", "flows.txt", "config.txt"};
    for (int k = 0; k < 3 && !err; k++) {
        char *path = m4_path_join(dir, names[k]);
        if (!path)
            return m4_error_set(M4_ENOMEM, "out of memory");
        if (k == 0)
            err = m4_topology_write(&r->topology, path);
        else if (k == 1)
            err = m4_flows_write(&r->flows, path);
        else
            err = m4_config_write(&r->config, path);
        free(path);
    }
    return err;
}
