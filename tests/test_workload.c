/* Workload generator: CDF parsing and built-in tables, means, sampling
 * statistics, arrivals, spatial patterns, achieved load, determinism. */
#include "scratch.h"
#include "testlib.h"

#include "core/error.h"
#include "net/routing.h"
#include "workload/cdf.h"
#include "workload/generator.h"
#include "workload/pattern.h"

/* A file with this text in the scratch directory; its path. */
static const char *write_temp(const char *name, const char *text)
{
    m4t_scratch_make("/tmp/m4sim-test-workload-XXXXXX");
    m4t_write_text(name, text);
    return m4t_path(name);
}

/* The error detail names path:line. */
static int error_names(const char *path, int line)
{
    char expect[600];
    snprintf(expect, sizeof expect, "%s:%d:", path, line);
    const char *detail = m4_last_error();
    if (!strstr(detail, expect)) {
        fprintf(stderr, "  detail '%s' does not name %s\n", detail, expect);
        return 0;
    }
    return 1;
}

static void test_cdf_parse_errors(void)
{
    static const struct {
        const char *text;
        int line;
    } cases[] = {
        {"0 0\n100 50\n", 2},                 /* does not end at 100 */
        {"0 0\n100 50\n50 100\n", 3},         /* sizes decrease */
        {"0 0\n100 60\n200 50\n300 100\n", 3}, /* percent decreases */
        {"# c\n0 0\n100 abc\n", 3},           /* not a number */
        {"0 0\n1e3\n", 2},                    /* one field */
        {"0 0\n10 10 10\n20 100\n", 2},       /* three fields */
        {"0 0\n\n-5 10\n20 100\n", 3},        /* negative size */
        {"0 0\n10 101\n", 2},                 /* percent above 100 */
        {"0 0\n10 nan\n", 2},                 /* not finite */
        {"0 0\n0 100\n", 2},                  /* largest size 0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = write_temp("bad_cdf.txt", cases[i].text);
        m4_cdf cdf;
        CHECK_INT_EQ(m4_cdf_read(&cdf, path), M4_EPARSE);
        CHECK(error_names(path, cases[i].line));
    }
    m4_cdf cdf;
    const char *empty = write_temp("empty_cdf.txt", "# nothing\n\n");
    CHECK_INT_EQ(m4_cdf_read(&cdf, empty), M4_EPARSE);
    CHECK(strstr(m4_last_error(), empty) != NULL);
    CHECK(m4_cdf_read(&cdf, "/nonexistent/cdf.txt") < 0);
    CHECK_INT_EQ(m4_cdf_load(&cdf, "no-such-workload"), M4_EINVAL);
    CHECK(strstr(m4_last_error(), "websearch") != NULL);
}

/* A hand-checked table: 25% at 100 B (point mass), uniform to 1100 B up to
 * 75%, uniform to 2100 B up to 100%. Mean = .25*100 + .5*600 + .25*1600 =
 * 725; the 50th percentile is 100 + (25/50)*1000 = 600. */
static void test_cdf_hand_computed(void)
{
    const char *path = write_temp("hand_cdf.txt", "# sizes and percent\n100 25\n1100 75\n\n2100 100\n");
    m4_cdf cdf;
    CHECK_INT_EQ(m4_cdf_read(&cdf, path), 0);
    CHECK_INT_EQ(cdf.num_points, 3);
    CHECK_NEAR(m4_cdf_mean(&cdf), 725.0, 1e-9);
    CHECK_NEAR(m4_cdf_quantile(&cdf, 50), 600.0, 1e-9);
    CHECK_NEAR(m4_cdf_quantile(&cdf, 10), 100.0, 0);
    CHECK_NEAR(m4_cdf_quantile(&cdf, 87.5), 1600.0, 1e-9);
    CHECK_NEAR(m4_cdf_quantile(&cdf, 100), 2100.0, 0);
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed());
    int64_t at_min = 0, n = 100000;
    for (int64_t i = 0; i < n; i++) {
        int64_t s = m4_cdf_sample(&cdf, &rng);
        CHECK(s >= 100 && s <= 2100);
        at_min += s == 100;
    }
    /* Point mass 25% (plus a sliver of width 0.5 B of the first segment, 0.025%):
     * binomial sd = sqrt(n p (1-p)) ~ 137; allow 6 sd. */
    CHECK_NEAR((double)at_min, 0.25025 * n, 6 * 137.0);
    m4_cdf_free(&cdf);

    /* A single point: every flow has that size. */
    m4_cdf one;
    double b = 4096, p = 100;
    CHECK_INT_EQ(m4_cdf_from_points(&one, &b, &p, 1, "one"), 0);
    CHECK_INT_EQ(m4_cdf_sample(&one, &rng), 4096);
    CHECK_NEAR(m4_cdf_mean(&one), 4096, 0);
    m4_cdf_free(&one);
    /* Sizes below half a byte round up to 1. */
    double tb[2] = {0, 0.4}, tp[2] = {0, 100};
    CHECK_INT_EQ(m4_cdf_from_points(&one, tb, tp, 2, "tiny"), 0);
    CHECK_INT_EQ(m4_cdf_sample(&one, &rng), 1);
    m4_cdf_free(&one);
}

/* Each built-in table equals its data/cdf file exactly, so they cannot drift. */
static void test_builtin_tables_match_files(void)
{
    for (int i = 0; i < M4_CDF_BUILTIN_COUNT; i++) {
        const m4_cdf_builtin_table *t = &m4_cdf_builtin_tables[i];
        char path[256];
        snprintf(path, sizeof path, "data/cdf/%s", t->file);
        m4_cdf from_file, built_in;
        CHECK_INT_EQ(m4_cdf_read(&from_file, path), 0);
        CHECK_INT_EQ(m4_cdf_builtin(&built_in, t->name), 0);
        CHECK_INT_EQ(from_file.num_points, t->num_points);
        CHECK_INT_EQ(built_in.num_points, t->num_points);
        int same = from_file.num_points == built_in.num_points;
        for (int32_t k = 0; same && k < t->num_points; k++)
            same = from_file.bytes[k] == built_in.bytes[k] &&
                   from_file.percent[k] == built_in.percent[k];
        if (!same)
            fprintf(stderr, "  built-in %s differs from %s\n", t->name, path);
        CHECK(same);
        /* m4_cdf_load prefers the name, and a path loads the file. */
        m4_cdf loaded;
        CHECK_INT_EQ(m4_cdf_load(&loaded, path), 0);
        CHECK_INT_EQ(loaded.num_points, t->num_points);
        m4_cdf_free(&loaded);
        m4_cdf_free(&from_file);
        m4_cdf_free(&built_in);
    }
}

/* DESIGN.md section 5 quotes the means to two or three significant digits;
 * each must hold to half a unit of its last quoted digit. */
static void test_builtin_means(void)
{
    static const struct {
        const char *name;
        double stated, half_unit;
    } expected[] = {
        {"websearch", 1.7e6, 0.05e6},   /* table gives 1711250 */
        {"fbhdp", 120e3, 0.5e3},        /* 120420.8 */
        {"alistorage", 41e3, 0.5e3},    /* 40869.8 */
        {"googlerpc", 2.9e3, 0.05e3},   /* 2891.6 */
        {"webserver", 91e3, 0.5e3},     /* 91343.0 */
        {"hadoop", 569e3, 0.5e3},       /* 568754.6 */
        {"cachefollower", 610e3, 0.5e3}, /* 609883.0 */
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        m4_cdf cdf;
        CHECK_INT_EQ(m4_cdf_builtin(&cdf, expected[i].name), 0);
        double mean = m4_cdf_mean(&cdf);
        printf("  %-14s analytic mean %.1f B\n", expected[i].name, mean);
        CHECK_NEAR(mean, expected[i].stated, expected[i].half_unit);
        m4_cdf_free(&cdf);
    }
    /* WebSearch: median ~73 KB, max 30 MB (DESIGN.md). */
    m4_cdf ws;
    CHECK_INT_EQ(m4_cdf_builtin(&ws, "websearch"), 0);
    CHECK_NEAR(m4_cdf_quantile(&ws, 50), 73e3, 0.5e3);
    CHECK_NEAR(ws.bytes[ws.num_points - 1], 30e6, 0);
    m4_cdf_free(&ws);
}

/* Independent second moment of the piecewise-linear law: point mass plus a
 * uniform on each segment, E[X^2] = (a^2 + ab + b^2) / 3. */
static double cdf_second_moment(const m4_cdf *c)
{
    double sum = c->percent[0] / 100 * c->bytes[0] * c->bytes[0];
    for (int32_t i = 1; i < c->num_points; i++) {
        double a = c->bytes[i - 1], b = c->bytes[i];
        sum += (c->percent[i] - c->percent[i - 1]) / 100 * (a * a + a * b + b * b) / 3;
    }
    return sum;
}

/* Forward CDF in percent, independent of the library's inverse: the last
 * point at or below x, interpolated towards the next. */
static double cdf_forward(const m4_cdf *c, double x)
{
    int32_t last = -1;
    for (int32_t i = 0; i < c->num_points; i++)
        if (c->bytes[i] <= x)
            last = i;
    if (last < 0)
        return 0;
    if (last == c->num_points - 1)
        return 100;
    double b0 = c->bytes[last], b1 = c->bytes[last + 1];
    return c->percent[last] + (x - b0) / (b1 - b0) * (c->percent[last + 1] - c->percent[last]);
}

/* Sample mean against the analytic mean: within 5 standard errors plus the
 * rounding to whole bytes (at most 0.5 B either way, +1 B for the clamp at 1).
 * And at table points, the fraction of samples at or below the point matches
 * the forward CDF (at the rounding boundary) within 5 binomial standard
 * deviations. */
static void test_sampler_statistics(void)
{
    uint64_t seed = m4t_seed();
    const int64_t n = 200000;
    int64_t *samples = malloc(sizeof(int64_t) * (size_t)n);
    for (int i = 0; i < M4_CDF_BUILTIN_COUNT; i++) {
        m4_cdf cdf;
        CHECK_INT_EQ(m4_cdf_builtin(&cdf, m4_cdf_builtin_tables[i].name), 0);
        m4_rng rng;
        m4_rng_seed(&rng, seed + (uint64_t)i);
        double sum = 0;
        for (int64_t k = 0; k < n; k++) {
            samples[k] = m4_cdf_sample(&cdf, &rng);
            CHECK(samples[k] >= 1);
            sum += (double)samples[k];
        }
        double mean = m4_cdf_mean(&cdf);
        double sd = sqrt(cdf_second_moment(&cdf) - mean * mean);
        double bound = 5 * sd / sqrt((double)n) + 1.5;
        printf("  %-14s sample mean %.1f vs %.1f (bound %.1f)\n", m4_cdf_builtin_tables[i].name,
               sum / (double)n, mean, bound);
        CHECK_NEAR(sum / (double)n, mean, bound);
        for (int32_t p = 0; p < cdf.num_points; p += 1 + cdf.num_points / 40) {
            int64_t below = 0;
            double threshold = floor(cdf.bytes[p]);
            for (int64_t k = 0; k < n; k++)
                below += (double)samples[k] <= threshold;
            /* A sample is <= threshold (>= 1) when the unrounded size is
             * below threshold + 0.5. */
            double q = threshold < 1 ? 0 : cdf_forward(&cdf, threshold + 0.5) / 100;
            double tolerance = 5 * sqrt((double)n * q * (1 - q)) + 1;
            CHECK_NEAR((double)below, q * (double)n, tolerance);
        }
        m4_cdf_free(&cdf);
    }
    free(samples);
}

/* Independent load measurement: route every flow, sum wire bytes per
 * directed link, busiest link's transmission time over the arrival span. */
static double independent_load(const m4_topology *t, const m4_flowset *flows)
{
    m4_routing r;
    if (m4_routing_init(&r, t))
        return -1;
    double *bytes = calloc((size_t)m4_num_dlinks(t), sizeof(double));
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (int64_t i = 0; i < flows->count; i++) {
        const m4_flow *f = &flows->flows[i];
        int32_t path[M4_MAX_HOPS], hops = 0;
        if (m4_route(&r, f->src, f->dst, (uint64_t)f->id, path, M4_MAX_HOPS, &hops))
            return -1;
        int64_t packets = f->size_bytes / 1000 + (f->size_bytes % 1000 != 0);
        for (int32_t h = 0; h < hops; h++)
            bytes[path[h]] += (double)(f->size_bytes + 48 * packets);
        if (f->start_ns < first) first = f->start_ns;
        if (f->start_ns > last) last = f->start_ns;
    }
    double worst = 0;
    for (int32_t l = 0; l < m4_num_dlinks(t); l++)
        worst = fmax(worst, bytes[l] * 8 / m4_dlink_rate_bps(t, l));
    free(bytes);
    m4_routing_free(&r);
    return worst / ((double)(last - first) * 1e-9);
}

static void test_achieved_load(void)
{
    const char *matrix = write_temp("racks.txt", "# rack to rack\n0 1 3\n1 0 1\n");
    static const char *const sets[] = {"BUFFER_KB=4000"};
    struct {
        const char *topo, *workload, *pattern;
        double load, sigma;
        int64_t flows;
    } cases[] = {
        {"fabric:pods=2,racks=4,hosts=4", "websearch", "uniform", 0.5, 1, 2000},
        {"fattree:k=4", "fbhdp", "incast:4", 0.3, 2, 3001},
        {"star:hosts=8", "googlerpc", "uniform", 0.8, 0, 5000},
        {"dumbbell:left=4,right=4,bottleneck_rate=10G", "hadoop", "matrix:", 0.6, 1, 1500},
        {"fabric:pods=2,racks=2,hosts=8,oversub=2", "alistorage", "uniform", 0.7, 1.5, 4000},
        {"line:switches=3,hosts=2", "cachefollower", "incast:3", 0.9, 1, 999},
        {"fabric:pods=2,racks=4,hosts=4", "webserver", "uniform", 0.05, 1, 300},
    };
    char matrix_pattern[600];
    snprintf(matrix_pattern, sizeof matrix_pattern, "matrix:%s", matrix);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        m4_gen_params p;
        m4_gen_params_defaults(&p);
        p.topology = cases[i].topo;
        p.workload = cases[i].workload;
        p.pattern = strcmp(cases[i].pattern, "matrix:") ? cases[i].pattern : matrix_pattern;
        p.load = cases[i].load;
        p.sigma = cases[i].sigma;
        p.num_flows = cases[i].flows;
        p.seed = m4t_seed() + i;
        p.config_sets = sets;
        p.num_config_sets = 1;
        m4_gen_result r;
        int err = m4_generate(&p, &r);
        CHECK_INT_EQ(err, 0);
        if (err) {
            fprintf(stderr, "  %s\n", m4_last_error());
            continue;
        }
        CHECK_INT_EQ(r.flows.count, cases[i].flows);
        CHECK_INT_EQ(r.flows.flows[0].start_ns, 1000000000);
        CHECK_NEAR(r.config.buffer_kb, 4000, 0);
        double load = independent_load(&r.topology, &r.flows);
        printf("  %s %s %s sigma %g: target %g achieved %.6f (span %.6f s)\n", cases[i].topo,
               cases[i].workload, cases[i].pattern, cases[i].sigma, cases[i].load, load,
               (double)r.span_ns * 1e-9);
        CHECK_REL(load, cases[i].load, 0.05);
        /* Only the rounding of the span to a nanosecond separates them. */
        CHECK_REL(load, cases[i].load, 1e-6);
        CHECK_REL(r.achieved_load, load, 1e-9);
        m4_routing routing;
        CHECK_INT_EQ(m4_routing_init(&routing, &r.topology), 0);
        double measured;
        int32_t busiest;
        CHECK_INT_EQ(m4_flows_max_link_load(&r.topology, &routing, &r.flows, &measured, &busiest), 0);
        CHECK_REL(measured, load, 1e-9);
        CHECK_INT_EQ(busiest, r.busiest_dlink);
        m4_routing_free(&routing);
        int ordered = 1, ids = 1, valid = 1;
        for (int64_t k = 0; k < r.flows.count; k++) {
            const m4_flow *f = &r.flows.flows[k];
            ids &= f->id == k;
            valid &= f->src != f->dst && f->size_bytes >= 1 && f->priority == 3 && f->dport == 100;
            valid &= !r.topology.is_switch[f->src] && !r.topology.is_switch[f->dst];
            if (k)
                ordered &= f->start_ns >= r.flows.flows[k - 1].start_ns;
        }
        CHECK(ordered);
        CHECK(ids);
        CHECK(valid);
        m4_gen_result_free(&r);
    }
}

static int same_flows(const m4_flowset *a, const m4_flowset *b, int compare_times)
{
    if (a->count != b->count)
        return 0;
    for (int64_t i = 0; i < a->count; i++) {
        const m4_flow *x = &a->flows[i], *y = &b->flows[i];
        if (x->src != y->src || x->dst != y->dst || x->size_bytes != y->size_bytes)
            return 0;
        if (compare_times && x->start_ns != y->start_ns)
            return 0;
    }
    return 1;
}

static void test_determinism(void)
{
    m4_gen_params p;
    m4_gen_params_defaults(&p);
    p.num_flows = 500;
    m4_gen_result a, b, c, d;
    CHECK_INT_EQ(m4_generate(&p, &a), 0);
    CHECK_INT_EQ(m4_generate(&p, &b), 0);
    CHECK(same_flows(&a.flows, &b.flows, 1));
    p.seed = 2;
    CHECK_INT_EQ(m4_generate(&p, &c), 0);
    CHECK(!same_flows(&a.flows, &c.flows, 0));
    /* A different load keeps sizes and pairs (separate streams) and scales
     * the span by the ratio of loads. */
    p.seed = 1;
    p.load = 0.25;
    CHECK_INT_EQ(m4_generate(&p, &d), 0);
    CHECK(same_flows(&a.flows, &d.flows, 0));
    CHECK_REL((double)d.span_ns, 2.0 * (double)a.span_ns, 1e-8);
    m4_gen_result_free(&a);
    m4_gen_result_free(&b);
    m4_gen_result_free(&c);
    m4_gen_result_free(&d);
}

/* Coefficient of variation of the gaps between distinct arrivals: 1 for
 * exponential (sigma 0), sqrt(e^(sigma^2) - 1) for log-normal (1.311 at 1). */
static void test_interarrival_shape(void)
{
    const double sigmas[2] = {0, 1};
    const double expected_cv[2] = {1.0, sqrt(exp(1.0) - 1)};
    for (int s = 0; s < 2; s++) {
        m4_gen_params p;
        m4_gen_params_defaults(&p);
        p.topology = "star:hosts=16";
        p.workload = "googlerpc";
        p.sigma = sigmas[s];
        p.num_flows = 40000;
        p.seed = m4t_seed() + 100 + (uint64_t)s;
        m4_gen_result r;
        CHECK_INT_EQ(m4_generate(&p, &r), 0);
        double sum = 0, sum2 = 0;
        int64_t n = r.flows.count - 1;
        for (int64_t k = 1; k <= n; k++) {
            double gap = (double)(r.flows.flows[k].start_ns - r.flows.flows[k - 1].start_ns);
            sum += gap;
            sum2 += gap * gap;
        }
        double mean = sum / (double)n;
        double cv = sqrt(sum2 / (double)n - mean * mean) / mean;
        printf("  sigma %g: gap cv %.3f (expected %.3f)\n", sigmas[s], cv, expected_cv[s]);
        /* Standard error of the sample cv at n = 40000 is ~0.5% (exponential)
         * and ~2% (log-normal, sigma 1); allow 10%. */
        CHECK_REL(cv, expected_cv[s], 0.10);
        m4_gen_result_free(&r);
    }
}

static void test_incast_events(void)
{
    m4_gen_params p;
    m4_gen_params_defaults(&p);
    p.pattern = "incast:5";
    p.num_flows = 1003; /* 200 full events and one of 3 */
    p.seed = m4t_seed();
    m4_gen_result r;
    CHECK_INT_EQ(m4_generate(&p, &r), 0);
    int ok = 1;
    for (int64_t e = 0; e * 5 < r.flows.count; e++) {
        const m4_flow *first = &r.flows.flows[e * 5];
        int64_t end = e * 5 + 5 < r.flows.count ? e * 5 + 5 : r.flows.count;
        for (int64_t k = e * 5; k < end; k++) {
            const m4_flow *f = &r.flows.flows[k];
            ok &= f->dst == first->dst && f->start_ns == first->start_ns && f->src != f->dst;
            for (int64_t j = e * 5; j < k; j++)
                ok &= r.flows.flows[j].src != f->src;
        }
        if (e > 0)
            ok &= first->start_ns > r.flows.flows[e * 5 - 1].start_ns ||
                  first->dst != r.flows.flows[e * 5 - 1].dst;
    }
    CHECK(ok);
    m4_gen_result_free(&r);
    /* N must leave a receiver; one event cannot define a load. */
    p.pattern = "incast:32";
    CHECK_INT_EQ(m4_generate(&p, &r), M4_EINVAL);
    p.pattern = "incast:31";
    p.num_flows = 31;
    CHECK_INT_EQ(m4_generate(&p, &r), M4_EINVAL);
    p.num_flows = 32;
    CHECK_INT_EQ(m4_generate(&p, &r), 0);
    m4_gen_result_free(&r);
}

static void test_matrix_pattern(void)
{
    m4_topology t;
    CHECK_INT_EQ(m4_topology_from_spec(&t, "fabric:pods=2,racks=4,hosts=4"), 0);
    int32_t racks_of[32];
    CHECK_INT_EQ(m4_host_racks(&t, racks_of), 8);
    for (int h = 0; h < 32; h++)
        CHECK_INT_EQ(racks_of[h], h / 4);
    /* Rack 2 -> rack 5 with weight 1, rack 7 -> itself with weight 3. */
    const char *path = write_temp("m.txt", "racks\n2 5 1\n# intra\n7 7 3.0\n0 1 0\n");
    m4_pattern pat;
    CHECK_INT_EQ(m4_pattern_parse(&pat, "matrix:", &t), M4_EINVAL);
    char spec[600];
    snprintf(spec, sizeof spec, "matrix:%s", path);
    CHECK_INT_EQ(m4_pattern_parse(&pat, spec, &t), 0);
    m4_rng rng;
    m4_rng_seed(&rng, m4t_seed());
    int n = 40000, intra = 0, ok = 1;
    for (int i = 0; i < n; i++) {
        int32_t s, d;
        m4_pattern_draw(&pat, &t, &rng, 1, &s, &d);
        int rs = racks_of[t.host_index[s]], rd = racks_of[t.host_index[d]];
        ok &= s != d && ((rs == 2 && rd == 5) || (rs == 7 && rd == 7));
        intra += rs == 7;
    }
    CHECK(ok);
    /* p = 3/4, sd = sqrt(n p (1-p)) ~ 87; allow 6 sd. */
    CHECK_NEAR(intra, 0.75 * n, 6 * 87.0);
    m4_pattern_free(&pat);

    /* Host units. */
    path = write_temp("h.txt", "hosts\n3 30 1\n");
    snprintf(spec, sizeof spec, "matrix:%s", path);
    CHECK_INT_EQ(m4_pattern_parse(&pat, spec, &t), 0);
    int32_t s, d;
    m4_pattern_draw(&pat, &t, &rng, 1, &s, &d);
    CHECK_INT_EQ(s, t.host_nodes[3]);
    CHECK_INT_EQ(d, t.host_nodes[30]);
    m4_pattern_free(&pat);

    static const struct {
        const char *text;
        int line;
    } bad[] = {
        {"0 8 1\n", 1},               /* rack out of range */
        {"racks\n0 1\n", 2},          /* two fields */
        {"0 1 -1\n", 1},              /* negative weight */
        {"0 1 x\n", 1},               /* not a number */
        {"0 1 1\n1 0 1\n0 1 2\n", 3}, /* duplicate pair */
        {"hosts\n4 4 1\n", 2},        /* host to itself */
        {"0 1 1\nhosts\n", 2},        /* units line after entries */
        {"0 1 0\n\n", 2},             /* no positive weight */
        {"hosts\n-1 2 1\n", 2},       /* negative index */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        path = write_temp("bad.txt", bad[i].text);
        m4_traffic_matrix m;
        CHECK_INT_EQ(m4_traffic_matrix_read(&m, path, &t), M4_EPARSE);
        CHECK(error_names(path, bad[i].line));
    }
    /* Racks of a single host cannot talk to themselves. */
    m4_topology line;
    CHECK_INT_EQ(m4_topology_from_spec(&line, "line:switches=2,hosts=1"), 0);
    path = write_temp("self.txt", "0 1 1\n1 1 1\n");
    m4_traffic_matrix m;
    CHECK_INT_EQ(m4_traffic_matrix_read(&m, path, &line), M4_EPARSE);
    CHECK(error_names(path, 2));
    m4_topology_free(&line);
    m4_topology_free(&t);
}

static void test_bad_params(void)
{
    m4_gen_params p;
    m4_gen_result r;
    static const char *const bad_set[] = {"NOPE=1"};
    static const char *const no_eq[] = {"BUFFER_KB"};
    static const char *const twice[] = {"BUFFER_KB=10", "buffer_kb=20"};
    static const char *const inverted[] = {"DCQCN_KMIN_KB=50"};
    for (int c = 0; c < 11; c++) {
        m4_gen_params_defaults(&p);
        p.num_flows = 100;
        switch (c) {
        case 0: p.load = 0; break;
        case 1: p.load = 1.5; break;
        case 2: p.sigma = -1; break;
        case 3: p.num_flows = 1; break;
        case 4: p.pattern = "diagonal"; break;
        case 5: p.cc = "reno"; break;
        case 6: p.config_sets = bad_set; p.num_config_sets = 1; break;
        case 7: p.config_sets = no_eq; p.num_config_sets = 1; break;
        case 8: p.config_sets = twice; p.num_config_sets = 2; break;
        case 9: p.config_sets = inverted; p.num_config_sets = 1; break;
        case 10: p.topology = "star:hosts=1"; break;
        }
        int err = m4_generate(&p, &r);
        if (err == 0) {
            fprintf(stderr, "  case %d accepted\n", c);
            m4_gen_result_free(&r);
        }
        CHECK(err < 0);
        CHECK(m4_last_error()[0] != 0);
    }
}

M4_TEST_MAIN(M4_TEST(test_cdf_parse_errors), M4_TEST(test_cdf_hand_computed),
             M4_TEST(test_builtin_tables_match_files), M4_TEST(test_builtin_means),
             M4_TEST(test_sampler_statistics), M4_TEST(test_achieved_load),
             M4_TEST(test_determinism), M4_TEST(test_interarrival_shape),
             M4_TEST(test_incast_events), M4_TEST(test_matrix_pattern),
             M4_TEST(test_bad_params))
