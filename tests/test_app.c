/* Closed-loop applications and max-inflight: the ring all-reduce against a
 * hand-computed completion time, random dependency graphs (every flow starts
 * at max(end of deps) + think), max-inflight checked by an independent count
 * over the per-flow start/end times, throughput conservation, the text
 * format (round trip, sizes, bad files through the CLI: exit 2, file:line,
 * no output), and the shipped examples. */
#include "testlib.h"
#include "scratch.h"

#include <sys/stat.h>

#include "app/app.h"
#include "core/error.h"
#include "core/rng.h"
#include "net/scenario.h"
#include "sim/sim.h"

static void setup(void)
{
    m4t_scratch_make("/tmp/m4sim-test-app-XXXXXX");
    /* Four hosts (0..3) on switch 4, 10 Gb/s, 1 us. */
    mkdir(m4t_path("star"), 0755);
    m4t_write_text("star/topology.txt", "5 1 4\n4\n0 4 10Gbps 1us 0\n1 4 10Gbps 1us 0\n"
                                        "2 4 10Gbps 1us 0\n3 4 10Gbps 1us 0\n");
}

static m4_scenario *scenario(const char *spec)
{
    m4_scenario *s = NULL;
    CHECK(m4_scenario_build(&s, spec, "dctcp") == M4_OK);
    return s;
}

/* Ideal FCT on a 2-link 10 Gb/s 1 us path (DESIGN.md section 3's formula). */
static int64_t ideal_two_hops(int64_t size)
{
    int64_t first = (size < 1000 ? size : 1000) + 48, packets = (size + 999) / 1000;
    return 2000 + 2 * (first * 8 / 10) + (size - (size < 1000 ? size : 1000)) * 8 / 10 +
           (packets - 1) * (48 * 8 / 10);
}

static void ring_allreduce_on_a_star_takes_the_hand_computed_time(void)
{
    /* Every step's n flows use n distinct uplinks and n distinct downlinks,
     * so each runs alone at line rate and takes its ideal FCT: 100000 B ->
     * 2000 + 2 x 838 + 79200 + 99 x 38 = 86638 ns; 200000 B -> 2000 + 1676 +
     * 159200 + 199 x 38 = 170438 ns. The completion is 2(n-1) of those plus
     * n-1 reductions. */
    CHECK_INT_EQ(ideal_two_hops(100000), 86638);
    CHECK_INT_EQ(ideal_two_hops(200000), 170438);
    struct { int32_t n; int64_t bytes, think, expected; } cases[] = {
        {4, 400000, 1000, 6 * 86638 + 3 * 1000},
        {5, 1000000, 500, 8 * 170438 + 4 * 500},
        {2, 399999, 0, 2 * 170438 + 0}, /* chunk ceil(399999/2) = 200000 */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char spec[64];
        snprintf(spec, sizeof spec, "star:hosts=%d,rate=10Gbps,delay=1us", cases[c].n);
        m4_scenario *sc = scenario(spec);
        int32_t hosts[8];
        for (int32_t i = 0; i < cases[c].n; i++)
            hosts[i] = m4_scenario_host_node(sc, i);
        m4_app *app = NULL;
        CHECK(m4_app_ring_allreduce(&app, hosts, cases[c].n, cases[c].bytes, cases[c].think) ==
              M4_OK);
        CHECK_INT_EQ(m4_app_num_flows(app), 2 * (cases[c].n - 1) * cases[c].n);
        m4_sim_options options = {.backend = M4_BACKEND_FLOW};
        CHECK(m4_app_run(app, sc, &options) == M4_OK);
        CHECK_INT_EQ(m4_app_completion_ns(app), cases[c].expected);
        /* Step k starts at k ideal FCTs plus the reductions so far. */
        int64_t ideal = ideal_two_hops((cases[c].bytes + cases[c].n - 1) / cases[c].n);
        for (int64_t i = 0; i < m4_app_num_flows(app); i++) {
            int64_t k = i / cases[c].n, s, e;
            m4_app_flow_times(app, i, &s, &e);
            int64_t reductions = k < cases[c].n ? k : cases[c].n - 1;
            CHECK_INT_EQ(s, k * ideal + reductions * cases[c].think);
            CHECK_INT_EQ(e - s, ideal);
        }
        m4_app_free(app);
        m4_scenario_free(sc);
    }
}

/* Random DAG over the hosts of sc: n flows, each with up to 3 deps among the
 * earlier ones. */
static m4_app *random_app(m4_rng *rng, const m4_scenario *sc, int n, int64_t max_size)
{
    m4_app *app = NULL;
    CHECK(m4_app_new(&app) == M4_OK);
    int32_t hosts = m4_scenario_num_hosts(sc);
    for (int i = 0; i < n; i++) {
        char name[16], dep_names[3][16];
        const char *deps[3];
        int wanted = i == 0 ? 0 : (int)m4_rng_below(rng, 4), num_deps = 0;
        int64_t picked[3];
        for (int d = 0; d < wanted; d++) {
            int64_t dep = (int64_t)m4_rng_below(rng, (uint64_t)i);
            int repeat = 0;
            for (int e = 0; e < num_deps; e++)
                repeat |= picked[e] == dep;
            if (repeat)
                continue;
            picked[num_deps] = dep;
            snprintf(dep_names[num_deps], 16, "f%lld", (long long)dep);
            deps[num_deps] = dep_names[num_deps];
            num_deps++;
        }
        int32_t src = (int32_t)m4_rng_below(rng, (uint64_t)hosts);
        int32_t dst = (int32_t)((src + 1 + (int32_t)m4_rng_below(rng, (uint64_t)hosts - 1)) % hosts);
        int64_t size = 1 + (int64_t)m4_rng_below(rng, (uint64_t)max_size);
        int64_t think = (int64_t)m4_rng_below(rng, 3) * (int64_t)m4_rng_below(rng, 5000);
        snprintf(name, sizeof name, "f%d", i);
        int64_t index;
        CHECK(m4_app_add_flow(app, name, m4_scenario_host_node(sc, src),
                              m4_scenario_host_node(sc, dst), size, deps, num_deps, think,
                              &index) == M4_OK);
        CHECK_INT_EQ(index, i);
    }
    return app;
}

/* Every flow starts at max(end of its deps) + think: exactly, or (exact = 0,
 * under max-inflight) at the earliest then. Returns the number of flows that
 * started later than that. */
static int64_t check_dependency_order(const m4_app *app, int exact)
{
    int64_t late = 0;
    for (int64_t i = 0; i < m4_app_num_flows(app); i++) {
        const m4_app_flow *f = m4_app_flow_at(app, i);
        int64_t ready = 0, s, e, ds, de;
        for (int32_t d = 0; d < f->num_deps; d++) {
            m4_app_flow_times(app, app->deps[f->first_dep + d], &ds, &de);
            CHECK(de > ds);
            if (de > ready)
                ready = de;
        }
        m4_app_flow_times(app, i, &s, &e);
        CHECK(e > s);
        if (exact)
            CHECK_INT_EQ(s, ready + f->think_ns);
        else
            CHECK(s >= ready + f->think_ns);
        late += s > ready + f->think_ns;
    }
    return late;
}

/* Independent count: for each source host, sweep the flows' [start, end)
 * intervals (an end at t frees its slot before a start at t) and return the
 * largest number active at once over all hosts. */
static int max_concurrent_per_source(const m4_sim *sim)
{
    int64_t n = m4_sim_num_flows(sim);
    int64_t (*events)[3] = malloc((size_t)(2 * n + 1) * sizeof *events);
    for (int64_t i = 0; i < n; i++) {
        m4_flow_result r;
        m4_sim_flow_result(sim, i, &r);
        CHECK(r.end_ns > r.start_ns);
        events[2 * i][0] = r.src, events[2 * i][1] = r.start_ns, events[2 * i][2] = +1;
        events[2 * i + 1][0] = r.src, events[2 * i + 1][1] = r.end_ns, events[2 * i + 1][2] = -1;
    }
    /* Insertion-free O(n^2) sweep keeps this independent of any sort code. */
    int worst = 0;
    for (int64_t a = 0; a < 2 * n; a++) {
        if (events[a][2] != +1)
            continue;
        int64_t host = events[a][0], t = events[a][1];
        int count = 0;
        for (int64_t i = 0; i < n; i++)
            if (events[2 * i][0] == host && events[2 * i][1] <= t && t < events[2 * i + 1][1])
                count++;
        if (count > worst)
            worst = count;
    }
    free(events);
    return worst;
}

static void random_graphs_respect_dependencies_on_every_backend(void)
{
    uint64_t seed = m4t_seed();
    m4_rng rng;
    m4_rng_seed(&rng, seed);
    for (int backend = 0; backend < 2; backend++) {
        m4_scenario *sc = scenario(backend == 0 ? "fabric:pods=2,racks=2,hosts=2"
                                                : "star:hosts=4,rate=10Gbps,delay=1us");
        m4_app *app = random_app(&rng, sc, backend == 0 ? 120 : 30, backend == 0 ? 300000 : 20000);
        m4_sim_options options = {.backend = backend == 0 ? M4_BACKEND_FLOW : M4_BACKEND_PACKET};
        CHECK(m4_app_run(app, sc, &options) == M4_OK);
        CHECK_INT_EQ(check_dependency_order(app, 1), 0);
        /* With one flow per host at a time, some flows must wait beyond
         * their dependencies, and none may start before them. */
        options.max_inflight = 1;
        CHECK(m4_app_run(app, sc, &options) == M4_OK);
        CHECK(check_dependency_order(app, 0) > 0);
        CHECK_INT_EQ(max_concurrent_per_source(m4_app_sim(app)), 1);
        m4_app_free(app);
        m4_scenario_free(sc);
    }
}

static void max_inflight_is_honoured_at_every_instant(void)
{
    uint64_t seed = m4t_seed() + 1;
    for (int backend = 0; backend < 2; backend++) {
        m4_rng rng;
        m4_rng_seed(&rng, seed);
        m4_scenario *sc = scenario("star:hosts=4,rate=10Gbps,delay=1us");
        int n = backend == 0 ? 300 : 60;
        for (int limit = 1; limit <= 3; limit++) {
            m4_sim_options options = {.backend = backend == 0 ? M4_BACKEND_FLOW
                                                              : M4_BACKEND_PACKET,
                                      .max_inflight = limit};
            m4_sim *sim = NULL;
            CHECK(m4_sim_create(&sim, sc, &options) == M4_OK);
            int64_t *arrival = malloc((size_t)n * sizeof *arrival);
            /* Arrivals far denser than the hosts can serve: the limit binds. */
            for (int i = 0; i < n; i++) {
                int32_t src = (int32_t)m4_rng_below(&rng, 4);
                int32_t dst = (src + 1 + (int32_t)m4_rng_below(&rng, 3)) % 4;
                arrival[i] = (int64_t)m4_rng_below(&rng, 20000);
                CHECK(m4_sim_start_flow(sim, src, dst, 1000 + (int64_t)m4_rng_below(&rng, 30000),
                                        arrival[i], (uint64_t)i) == M4_OK);
            }
            CHECK(m4_sim_run(sim) == M4_OK);
            CHECK_INT_EQ(max_concurrent_per_source(sim), limit);
            /* Nobody starts early; whoever waited started the instant a flow
             * of its host ended (no idle slot while flows wait). */
            int64_t waited = 0;
            for (int i = 0; i < n; i++) {
                m4_flow_result r;
                m4_sim_flow_result(sim, i, &r);
                CHECK(r.start_ns >= arrival[i]);
                if (r.start_ns == arrival[i])
                    continue;
                waited++;
                int freed = 0;
                for (int j = 0; j < n && !freed; j++) {
                    m4_flow_result o;
                    m4_sim_flow_result(sim, j, &o);
                    freed = o.src == r.src && o.end_ns == r.start_ns;
                }
                CHECK(freed);
            }
            CHECK(waited > n / 4);
            free(arrival);
            m4_sim_free(sim);
        }
        m4_scenario_free(sc);
    }
}

static void throughput_table_conserves_bytes(void)
{
    m4_scenario *sc = scenario("fabric:pods=2,racks=2,hosts=2");
    m4_rng rng;
    m4_rng_seed(&rng, 7);
    m4_app *app = random_app(&rng, sc, 50, 200000);
    m4_sim_options options = {.backend = M4_BACKEND_FLOW};
    CHECK(m4_app_run(app, sc, &options) == M4_OK);
    CHECK(m4_app_write_results(app, m4t_path("tput"), 0) == M4_OK);
    FILE *f = fopen(m4t_path("tput/throughput.txt"), "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char header[128];
    CHECK(fgets(header, sizeof header, f) && strcmp(header, "start_ns end_ns bytes gbps\n") == 0);
    long long lo, hi, previous_hi = 0;
    double bytes, gbps, sum = 0;
    int rows = 0;
    while (fscanf(f, "%lld %lld %lf %lf", &lo, &hi, &bytes, &gbps) == 4) {
        CHECK_INT_EQ(lo, previous_hi);
        CHECK_REL(gbps, bytes * 8 / (double)(hi - lo), 1e-5);
        /* No bin can carry more than the 8 hosts' 10 Gb/s uplinks. */
        CHECK(gbps <= 80.0 + 1e-6);
        previous_hi = hi;
        sum += bytes;
        rows++;
    }
    fclose(f);
    int64_t total = 0;
    for (int64_t i = 0; i < m4_app_num_flows(app); i++)
        total += m4_app_flow_at(app, i)->size_bytes;
    CHECK_REL(sum, (double)total, 1e-6);
    CHECK_INT_EQ(previous_hi, m4_app_completion_ns(app));
    CHECK_INT_EQ(rows, 100);
    m4_app_free(app);
    m4_scenario_free(sc);
}

static void text_format_round_trips(void)
{
    int32_t hosts[3] = {0, 2, 3};
    m4_app *ring = NULL, *back = NULL;
    CHECK(m4_app_ring_allreduce(&ring, hosts, 3, 3000000, 7000) == M4_OK);
    CHECK(m4_app_write(ring, m4t_path("ring.txt")) == M4_OK);
    CHECK(m4_app_load(&back, m4t_path("ring.txt")) == M4_OK);
    if (!ring || !back)
        return;
    CHECK_INT_EQ(m4_app_num_flows(back), 12);
    for (int64_t i = 0; i < m4_app_num_flows(ring); i++) {
        const m4_app_flow *a = m4_app_flow_at(ring, i), *b = m4_app_flow_at(back, i);
        CHECK(strcmp(a->name, b->name) == 0);
        CHECK(a->src == b->src && a->dst == b->dst && a->size_bytes == b->size_bytes);
        CHECK_INT_EQ(a->think_ns, b->think_ns);
        CHECK_INT_EQ(a->num_deps, b->num_deps);
        for (int32_t d = 0; d < a->num_deps; d++)
            CHECK_INT_EQ(ring->deps[a->first_dep + d], back->deps[b->first_dep + d]);
        CHECK_INT_EQ(b->line, i + 2); /* after the comment line */
    }
    /* s1h1 (host 2) waits for its own s0 send and the chunk from host 0. */
    const m4_app_flow *f = m4_app_flow_at(back, 4);
    CHECK(strcmp(f->name, "s1h1") == 0 && f->src == 2 && f->dst == 3 && f->think_ns == 7000);
    CHECK(f->num_deps == 2 && back->deps[f->first_dep] == 1 && back->deps[f->first_dep + 1] == 0);
    m4_app_free(ring);
    m4_app_free(back);
    int64_t v;
    CHECK(m4_app_parse_size("8MB", &v) == 0 && v == 8000000);
    CHECK(m4_app_parse_size("1MiB", &v) == 0 && v == 1048576);
    CHECK(m4_app_parse_size("1.5KB", &v) == 0 && v == 1500);
    CHECK(m4_app_parse_size("4096", &v) == 0 && v == 4096);
    CHECK(m4_app_parse_size("1.5B", &v) != 0);
    CHECK(m4_app_parse_size("KB", &v) != 0);
    int32_t *list, count;
    CHECK(m4_app_parse_hosts("0-3,16-17,9", &list, &count) == 0 && count == 7 && list[4] == 16 &&
          list[6] == 9);
    free(list);
    CHECK(m4_app_parse_hosts("3-1", &list, &count) != 0);
}

static int run_cli(const char *args) { return m4t_run_cli("app", args); }

static void bad_application_files_exit_2_naming_the_line(void)
{
    static const struct { const char *text, *where, *what; } cases[] = {
        {"flow a 0 1 100\nflw b 1 2 100\n", "bad.txt:2:", "unknown directive"},
        {"flow a 0 1 100\nflow b 1 2 lots\n", "bad.txt:2:", "SIZE"},
        {"flow a 0 1 100\nflow b 1 2 100 after=c\n", "bad.txt:2:", "'c'"},
        {"flow b 1 2 100 after=a\nflow a 0 1 100\n", "bad.txt:1:", "earlier line"},
        {"flow a 0 1 100\n\n# x\nflow a 1 2 100\n", "bad.txt:4:", "line 1"},
        {"flow a 2 2 100\n", "bad.txt:1:", "source equals destination"},
        {"flow a 0 1 100 think=5\n", "bad.txt:1:", "unit"},
        {"flow a 0 1 100\nflow b 0 1 100 after=a,a\n", "bad.txt:2:", "twice"},
        {"flow a 0 1 100 after=a think=1us x y\n", "bad.txt:1:", "too many"},
        {"flow a 0 1 100 color=red\n", "bad.txt:1:", "unexpected field"},
        {"flow a 0 1\n", "bad.txt:1:", "expected"},
        {"flow a 0 1 100\nflow b 1 4 100\n", "bad.txt:2:", "not a host"}, /* 4 is the switch */
        {"flow a 0 1 100\nflow b 1 9 100\n", "bad.txt:2:", "not a host"},
        {"flow a/b 0 1 100\n", "bad.txt:1:", "name"},
        {"# nothing\n", "bad.txt", "no flows"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        m4t_write_text("bad.txt", cases[c].text);
        CHECK_INT_EQ(run_cli("bad.txt --scenario star -o badout --quiet"), 2);
        const char *err = m4t_read_text("err.txt");
        if (!strstr(err, cases[c].where) || !strstr(err, cases[c].what)) {
            fprintf(stderr, "  case %zu: stderr '%s' lacks '%s' or '%s'\n", c, err,
                    cases[c].where, cases[c].what);
            m4t_failures_in_case++;
        }
        CHECK(strchr(err, '\n') == err + strlen(err) - 1); /* one message */
        CHECK(!m4t_exists("badout"));
        CHECK(m4t_read_text("out.txt")[0] == '\0');
    }
    m4t_write_text("ok.txt", "flow a 0 1 100\n");
    CHECK_INT_EQ(run_cli("ok.txt --scenario star --backend warp"), 2);
    CHECK_INT_EQ(run_cli("ok.txt --scenario star --max-inflight 0"), 2);
    CHECK_INT_EQ(run_cli("ok.txt --scenario star --threads 2000"), 2);
    CHECK(strstr(m4t_read_text("err.txt"), "--threads must be an integer in 1..1024") != NULL);
    CHECK_INT_EQ(run_cli("ok.txt --scenario star --model m.m4"), 2);
    CHECK(strstr(m4t_read_text("err.txt"), "--model is for the m4 backend") != NULL);
    CHECK_INT_EQ(run_cli("ok.txt --scenario"), 2);
    CHECK(strstr(m4t_read_text("err.txt"), "--scenario needs a value") != NULL);
    CHECK_INT_EQ(run_cli("ok.txt --scenario star --bin 5"), 2);
    CHECK_INT_EQ(run_cli("ok.txt"), 2);
    CHECK_INT_EQ(run_cli("missing.txt --scenario star"), 2);
    CHECK_INT_EQ(run_cli("--ring-allreduce 0-0 --size 1MB -o r.txt"), 2);
    CHECK(!m4t_exists("r.txt"));
    CHECK_INT_EQ(run_cli("--help"), 0);
    CHECK(strstr(m4t_read_text("out.txt"), "after=DEP") != NULL);
    CHECK(!m4t_exists("star/app-flow"));
}

static void cli_runs_an_application_and_writes_every_output(void)
{
    CHECK_INT_EQ(run_cli("--ring-allreduce 0-3 --size 400000 --think 1us -o ring.txt"), 0);
    CHECK_INT_EQ(run_cli("ring.txt --scenario star --quiet"), 0);
    const char *summary = m4t_read_text("star/app-flow/app.txt");
    CHECK(strstr(summary, "completion_ns 522828\n") != NULL); /* 6 x 86638 + 3 x 1000 */
    CHECK(strstr(summary, "bytes 2400000\n") != NULL);
    CHECK(strstr(m4t_read_text("star/app-flow/fct.txt"),
                 "id src dst size start_ns fct_ns ideal_fct_ns slowdown\n"
                 "0 0 1 100000 0 86638 86638 1.000000\n") != NULL);
    CHECK(strstr(m4t_read_text("star/app-flow/throughput.txt"), "start_ns end_ns bytes gbps\n") !=
          NULL);
}

static void shipped_examples_run_in_order(void)
{
    static const char *const files[] = {"examples/apps/ring_allreduce_8.txt",
                                        "examples/apps/parameter_server.txt",
                                        "examples/apps/rpc_chain.txt"};
    static const int64_t counts[] = {112, 32, 24};
    m4_scenario *sc = scenario("fabric:pods=2,racks=4,hosts=4");
    for (int i = 0; i < 3; i++) {
        m4_app *app = NULL;
        CHECK(m4_app_load(&app, files[i]) == M4_OK);
        if (!app) {
            fprintf(stderr, "  %s\n", m4_last_error());
            continue;
        }
        CHECK_INT_EQ(m4_app_num_flows(app), counts[i]);
        m4_sim_options options = {.backend = M4_BACKEND_FLOW};
        CHECK(m4_app_run(app, sc, &options) == M4_OK);
        CHECK_INT_EQ(check_dependency_order(app, 1), 0);
        m4_app_free(app);
    }
    m4_scenario_free(sc);
}

M4_TEST_MAIN(M4_TEST(setup), M4_TEST(ring_allreduce_on_a_star_takes_the_hand_computed_time),
             M4_TEST(random_graphs_respect_dependencies_on_every_backend),
             M4_TEST(max_inflight_is_honoured_at_every_instant),
             M4_TEST(throughput_table_conserves_bytes), M4_TEST(text_format_round_trips),
             M4_TEST(bad_application_files_exit_2_naming_the_line),
             M4_TEST(cli_runs_an_application_and_writes_every_output),
             M4_TEST(shipped_examples_run_in_order))
