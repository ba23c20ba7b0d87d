/* The library as an embedding program sees it: this file includes only the
 * public header m4sim.h (the Makefile builds it without -Isrc) and links
 * libm4sim. Callbacks that start flows, run_until stepping, errors without
 * printing, the same results from the CLI and the library for the same input
 * (app and run --max-inflight, flow and packet), a ring all-reduce written
 * directly against the callbacks agreeing with the application layer, the
 * example program, and `make install` to a temporary PREFIX used through
 * pkg-config. */
#include "testlib.h"
#include "scratch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "m4sim.h"

#if M4SIM_VERSION < 200
#error "these tests need the 0.2 API"
#endif

static int same_file(const char *a, const char *b)
{
    char *x = m4t_slurp(a, NULL), *y = m4t_slurp(b, NULL);
    int same = x && y && strcmp(x, y) == 0;
    if (!same)
        fprintf(stderr, "  %s and %s differ (or are missing)\n", a, b);
    free(x);
    free(y);
    return same;
}

static int shell(const char *fmt, const char *a, const char *b)
{
    char command[8192];
    snprintf(command, sizeof command, fmt, a, b);
    return m4t_sh(command);
}

static void setup(void)
{
    m4t_scratch_make("/tmp/m4sim-test-library-XXXXXX");
    /* Four hosts (0..3) on switch 4, 10 Gb/s, 1 us. */
    mkdir(m4t_path("star"), 0755);
    m4t_write_text("star/topology.txt", "5 1 4\n4\n0 4 10Gbps 1us 0\n1 4 10Gbps 1us 0\n"
                                        "2 4 10Gbps 1us 0\n3 4 10Gbps 1us 0\n");
    m4t_write_text("star/config.txt", "CC dctcp\nWINDOW_BYTES 20000\n");
}

static void errors_come_back_as_codes_without_printing(void)
{
    /* Point stdout and stderr at a file while calling failing functions. */
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int sink = open(m4t_path("quiet.txt"), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    dup2(sink, 1);
    dup2(sink, 2);
    m4_scenario *sc = NULL;
    int bad_spec = m4_scenario_build(&sc, "star:hosts=-3", NULL);
    int bad_cc = m4_scenario_build(&sc, "star:hosts=2", "reno");
    char missing_detail[256] = "";
    int missing = m4_scenario_load(&sc, m4t_path("no-such-dir"));
    snprintf(missing_detail, sizeof missing_detail, "%s", m4_last_error());
    m4_app *app = NULL;
    int missing_app = m4_app_load(&app, m4t_path("no-such-app.txt"));
    CHECK(m4_scenario_build(&sc, "star:hosts=2,rate=10Gbps,delay=1us", "hpcc") == M4_OK);
    int bad_key = m4_scenario_set(sc, "COLOR", "red");
    int bad_value = m4_scenario_set(sc, "BUFFER_KB", "-5");
    int good = m4_scenario_set(sc, "CC", "timely");
    m4_sim *sim = NULL;
    m4_sim_options options = {.backend = M4_BACKEND_FLOW, .max_inflight = -1};
    int bad_limit = m4_sim_create(&sim, sc, &options);
    options.max_inflight = 0;
    CHECK(m4_sim_create(&sim, sc, &options) == M4_OK);
    int32_t a = m4_scenario_host_node(sc, 0), b = m4_scenario_host_node(sc, 1);
    int self = m4_sim_start_flow(sim, a, a, 100, 0, 0);
    int not_host = m4_sim_start_flow(sim, a, 2, 100, 0, 0); /* node 2 is the switch */
    int empty = m4_sim_start_flow(sim, a, b, 0, 0, 0);
    CHECK(m4_sim_run_until(sim, 5000) == M4_OK);
    int past = m4_sim_start_flow(sim, a, b, 100, 4999, 0);
    m4_flow_result r;
    int out_of_range = m4_sim_flow_result(sim, 0, &r);
    m4_sim_free(sim);
    m4_scenario_free(sc);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    close(sink);
    struct stat st;
    CHECK(stat(m4t_path("quiet.txt"), &st) == 0 && st.st_size == 0);
    CHECK(bad_spec < 0 && bad_cc < 0 && missing == M4_EIO && missing_app == M4_EIO);
    CHECK(strstr(missing_detail, "no-such-dir") != NULL);
    CHECK(bad_key == M4_EINVAL && bad_value == M4_EINVAL && good == M4_OK);
    CHECK(bad_limit == M4_EINVAL && self == M4_EINVAL && not_host == M4_EINVAL);
    CHECK(empty == M4_EINVAL && past == M4_EINVAL && out_of_range == M4_EINVAL);
    CHECK(strcmp(m4_strerror(M4_EPARSE), m4_strerror(M4_EINVAL)) != 0);
    CHECK(strcmp(M4SIM_VERSION_STRING, "0.2.0") == 0 && M4SIM_VERSION == 200);
}

typedef struct ping_pong {
    int remaining;
    int64_t ends[8];
    int count;
} ping_pong;

static void bounce(m4_sim *sim, void *user, uint64_t tag, int32_t src, int32_t dst,
                   int64_t size_bytes, int64_t start_ns, int64_t end_ns)
{
    ping_pong *p = user;
    CHECK_INT_EQ(m4_sim_now(sim), end_ns);
    CHECK_INT_EQ((int64_t)tag, p->count);
    if (p->count < 8)
        p->ends[p->count] = end_ns;
    p->count++;
    if (p->remaining-- > 0)
        CHECK(m4_sim_start_flow(sim, dst, src, size_bytes, end_ns, tag + 1) == M4_OK);
}

static void callbacks_start_new_flows(void)
{
    /* 5444 B alone on 2 x (10 Gb/s, 1 us): 7421 ns (DESIGN.md section 3); each
     * completion sends it back, so flow k ends at (k + 1) x 7421. */
    m4_scenario *sc = NULL;
    CHECK(m4_scenario_build(&sc, "star:hosts=2,rate=10Gbps,delay=1us", NULL) == M4_OK);
    ping_pong p = {.remaining = 4};
    m4_sim_options options = {.backend = M4_BACKEND_FLOW, .on_complete = bounce, .user = &p};
    m4_sim *sim = NULL;
    CHECK(m4_sim_create(&sim, sc, &options) == M4_OK);
    CHECK(m4_sim_start_flow(sim, m4_scenario_host_node(sc, 0), m4_scenario_host_node(sc, 1), 5444,
                            0, 0) == M4_OK);
    CHECK(m4_sim_run_until(sim, 10000) == M4_OK);
    CHECK_INT_EQ(m4_sim_now(sim), 10000);
    CHECK_INT_EQ(p.count, 1);
    CHECK_INT_EQ(m4_sim_active_flows(sim), 1);
    CHECK(m4_sim_run(sim) == M4_OK);
    CHECK_INT_EQ(p.count, 5);
    for (int k = 0; k < 5; k++)
        CHECK_INT_EQ(p.ends[k], (k + 1) * 7421);
    CHECK_INT_EQ(m4_sim_now(sim), 5 * 7421);
    CHECK_INT_EQ(m4_sim_num_flows(sim), 5);
    m4_flow_result r;
    CHECK(m4_sim_flow_result(sim, 3, &r) == M4_OK);
    CHECK(r.tag == 3 && r.id == 3 && r.start_ns == 3 * 7421 && r.end_ns == 4 * 7421 &&
          r.ideal_fct_ns == 7421 && r.src == m4_scenario_host_node(sc, 1));
    CHECK_INT_EQ(m4_sim_active_flows(sim), 0);
    m4_sim_free(sim);
    m4_scenario_free(sc);
}

/* A ring all-reduce written straight against the callbacks (as an embedding
 * simulator would): position i sends step k once its step k-1 send is done
 * and the step k-1 chunk from i-1 has arrived. Tag = k * n + i, the same
 * numbering as m4_app_ring_allreduce's flows. */
typedef struct ring {
    int32_t n, sent[8], received[8], started[8];
    int64_t chunk;
    const m4_scenario *sc;
} ring;

static void ring_try(m4_sim *sim, ring *r, int32_t i)
{
    int32_t k = r->started[i];
    if (k >= 2 * (r->n - 1) || r->sent[i] < k || r->received[i] < k)
        return;
    r->started[i]++;
    CHECK(m4_sim_start_flow(sim, m4_scenario_host_node(r->sc, i),
                            m4_scenario_host_node(r->sc, (i + 1) % r->n), r->chunk,
                            m4_sim_now(sim), (uint64_t)(k * r->n + i)) == M4_OK);
}

static void ring_done(m4_sim *sim, void *user, uint64_t tag, int32_t src, int32_t dst,
                      int64_t size_bytes, int64_t start_ns, int64_t end_ns)
{
    ring *r = user;
    int32_t k = (int32_t)(tag / (uint64_t)r->n), i = (int32_t)(tag % (uint64_t)r->n);
    r->sent[i] = k + 1;
    r->received[(i + 1) % r->n] = k + 1;
    ring_try(sim, r, i);
    ring_try(sim, r, (i + 1) % r->n);
}

static void cli_and_library_agree(void)
{
    const char *cli = m4t_cli();
    CHECK_INT_EQ(shell("'%s' app --ring-allreduce 0-3 --size 400000 -o %s/ring.txt", cli,
                       m4t_scratch), 0);
    m4_scenario *sc = NULL;
    CHECK(m4_scenario_load(&sc, m4t_path("star")) == M4_OK);
    if (!sc)
        return;
    static const char *const names[] = {"flow", "packet"};
    for (int b = 0; b < 2; b++) {
        char args[600];
        snprintf(args, sizeof args, "%s/ring.txt --scenario %s/star --quiet --backend %s -o %s/cli-%s",
                 m4t_scratch, m4t_scratch, names[b], m4t_scratch, names[b]);
        CHECK_INT_EQ(shell("'%s' app %s", cli, args), 0);
        m4_app *app = NULL;
        CHECK(m4_app_load(&app, m4t_path("ring.txt")) == M4_OK);
        m4_sim_options options = {.backend = b ? M4_BACKEND_PACKET : M4_BACKEND_FLOW};
        CHECK(m4_app_run(app, sc, &options) == M4_OK);
        char dir[512];
        snprintf(dir, sizeof dir, "%s/lib-%s", m4t_scratch, names[b]);
        CHECK(m4_app_write_results(app, dir, 0) == M4_OK);
        char x[600], y[600];
        snprintf(x, sizeof x, "%s/cli-%s/fct.txt", m4t_scratch, names[b]);
        snprintf(y, sizeof y, "%s/fct.txt", dir);
        CHECK(same_file(x, y));
        snprintf(x, sizeof x, "%s/cli-%s/throughput.txt", m4t_scratch, names[b]);
        snprintf(y, sizeof y, "%s/throughput.txt", dir);
        CHECK(same_file(x, y));
        snprintf(x, sizeof x, "%s/cli-%s/app.txt", m4t_scratch, names[b]);
        char *summary = m4t_slurp(x, NULL), line[64];
        snprintf(line, sizeof line, "completion_ns %lld\n", (long long)m4_app_completion_ns(app));
        CHECK(summary && strstr(summary, line));
        free(summary);

        /* The hand-written callback ring gives the same flow times (flow
         * backend: the order in which equal-time flows enter does not
         * matter there). */
        if (b == 0) {
            CHECK_INT_EQ(m4_app_completion_ns(app), 6 * 86638);
            ring r = {.n = 4, .chunk = 100000, .sc = sc};
            m4_sim_options direct = {.backend = M4_BACKEND_FLOW, .on_complete = ring_done,
                                     .user = &r};
            m4_sim *sim = NULL;
            CHECK(m4_sim_create(&sim, sc, &direct) == M4_OK);
            for (int32_t i = 0; i < 4; i++)
                ring_try(sim, &r, i);
            CHECK(m4_sim_run(sim) == M4_OK);
            CHECK_INT_EQ(m4_sim_num_flows(sim), m4_app_num_flows(app));
            for (int64_t i = 0; i < m4_sim_num_flows(sim); i++) {
                m4_flow_result f;
                int64_t s, e;
                m4_sim_flow_result(sim, i, &f);
                m4_app_flow_times(app, (int64_t)f.tag, &s, &e);
                CHECK_INT_EQ(f.start_ns, s);
                CHECK_INT_EQ(f.end_ns, e);
            }
            m4_sim_free(sim);
        }
        m4_app_free(app);
    }
    m4_scenario_free(sc);
}

static void run_with_max_inflight_matches_the_library(void)
{
    /* 12 flows from host 0 at t = 0 (and 2 from host 1): with two slots per
     * source they go in pairs. */
    m4t_write_text("star/flows.txt", "14\n"
                   "0 0 1 3 100 20000 0\n1 0 2 3 100 20000 0\n2 0 3 3 100 20000 0\n"
                   "3 0 1 3 100 20000 0\n4 0 2 3 100 20000 0\n5 0 3 3 100 20000 0\n"
                   "6 0 1 3 100 20000 0\n7 0 2 3 100 20000 0\n8 0 3 3 100 20000 0\n"
                   "9 0 1 3 100 20000 0\n10 0 2 3 100 20000 0\n11 0 3 3 100 20000 0\n"
                   "12 1 2 3 100 5000 0\n13 1 3 3 100 5000 0.000001\n");
    static const char *const names[] = {"flow", "packet"};
    for (int b = 0; b < 2; b++) {
        char args[600];
        snprintf(args, sizeof args, "%s/star --quiet --max-inflight 2 --backend %s -o %s/run-cli",
                 m4t_scratch, names[b], m4t_scratch);
        CHECK_INT_EQ(shell("'%s' run %s", m4t_cli(), args), 0);
        m4_scenario *sc = NULL;
        CHECK(m4_scenario_load(&sc, m4t_path("star")) == M4_OK);
        m4_sim_options options = {.backend = b ? M4_BACKEND_PACKET : M4_BACKEND_FLOW,
                                  .max_inflight = 2};
        m4_sim *sim = NULL;
        CHECK(m4_sim_create(&sim, sc, &options) == M4_OK);
        CHECK(m4_sim_start_scenario_flows(sim) == M4_OK);
        CHECK(m4_sim_run(sim) == M4_OK);
        CHECK(m4_sim_write_fct(sim, m4t_path("run-lib.txt")) == M4_OK);
        CHECK(same_file(m4t_path("run-cli/fct.txt"), m4t_path("run-lib.txt")));
        /* Host 0's flows enter in pairs: flow 2k and 2k+1 start together,
         * when the previous pair ends. */
        m4_flow_result f[14];
        for (int i = 0; i < 14; i++)
            m4_sim_flow_result(sim, i, &f[i]);
        CHECK_INT_EQ(f[0].start_ns, 0);
        for (int k = 1; k < 6; k++) {
            int64_t pair_end = f[2 * k - 2].end_ns > f[2 * k - 1].end_ns ? f[2 * k - 1].end_ns
                                                                          : f[2 * k - 2].end_ns;
            CHECK_INT_EQ(f[2 * k].start_ns, pair_end);
            CHECK(f[2 * k + 1].start_ns >= f[2 * k].start_ns);
        }
        if (b == 0) {
            /* Flow level: each pair shares host 0's uplink at 5 Gb/s. */
            CHECK_INT_EQ(f[2].start_ns, f[0].end_ns);
            CHECK_INT_EQ(f[0].end_ns, f[1].end_ns);
        }
        CHECK_INT_EQ(f[12].start_ns, 0);
        CHECK_INT_EQ(f[13].start_ns, 1000);
        m4_sim_free(sim);
        m4_scenario_free(sc);
    }
}

static const char *build_dir(void)
{
    const char *b = getenv("BUILD");
    return b ? b : "build";
}

static void example_program_drives_a_ring_allreduce(void)
{
    char out[600];
    snprintf(out, sizeof out, "%s/example.txt", m4t_scratch);
    CHECK_INT_EQ(shell("'%s/examples/ring_allreduce' --hosts 4 --bytes 400000 > %s", build_dir(),
                       out), 0);
    char *text = m4t_slurp(out, NULL);
    /* 6 steps of 100000 B at line rate, 86638 ns each. */
    CHECK(text && strstr(text, "step 5 ends at 519828 ns\ncompletion_ns 519828\n"));
    free(text);
    CHECK_INT_EQ(shell("'%s/examples/ring_allreduce' --backend warp > %s 2>&1", build_dir(), out),
                 2);
}

static void installed_library_builds_the_example(void)
{
    /* make install to a temporary PREFIX, then build the example against the
     * installed header and shared library alone, through pkg-config. */
    int san = strstr(build_dir(), "san") != NULL;
    char prefix[600], cmd[4096];
    snprintf(prefix, sizeof prefix, "%s/prefix", m4t_scratch);
    snprintf(cmd, sizeof cmd, "make -s install SAN=%d PREFIX=%s > %s/install.log 2>&1", san,
             prefix, m4t_scratch);
    CHECK_INT_EQ(shell("%s%s", cmd, ""), 0);
    snprintf(cmd, sizeof cmd,
             "PKG_CONFIG_PATH=%s/lib/pkgconfig && export PKG_CONFIG_PATH && "
             "test \"$(pkg-config --modversion m4sim)\" = %s && "
             "cc -std=c17 %s -o %s/ring examples/ring_allreduce.c $(pkg-config --cflags --libs m4sim) "
             "-Wl,-rpath,%s/lib && %s/ring --hosts 4 --bytes 400000 | tail -n 1",
             prefix, M4SIM_VERSION_STRING, san ? "-fsanitize=address,undefined" : "", m4t_scratch,
             prefix, m4t_scratch);
    char full[4600];
    snprintf(full, sizeof full, "(%s) > %s/installed.txt 2>&1", cmd, m4t_scratch);
    CHECK_INT_EQ(shell("%s%s", full, ""), 0);
    char *text = m4t_slurp(m4t_path("installed.txt"), NULL);
    CHECK(text && strcmp(text, "completion_ns 519828\n") == 0);
    if (text && strcmp(text, "completion_ns 519828\n") != 0)
        fprintf(stderr, "  %s\n", text);
    free(text);
    /* It ran against the installed shared object, and the rest is there. */
    CHECK_INT_EQ(shell("ldd %s/ring | grep -q '%s/lib/libm4sim.so.0'", m4t_scratch, prefix), 0);
    char path[700];
    snprintf(path, sizeof path, "%s/include/m4sim.h", prefix);
    CHECK(same_file(path, "include/m4sim.h"));
    snprintf(path, sizeof path, "%s/share/man/man1/m4sim.1", prefix);
    CHECK(access(path, R_OK) == 0);
    snprintf(path, sizeof path, "%s/lib/libm4sim.a", prefix);
    CHECK(access(path, R_OK) == 0);
    snprintf(path, sizeof path, "%s/bin/m4sim", prefix);
    CHECK(access(path, X_OK) == 0);
}

M4_TEST_MAIN(M4_TEST(setup), M4_TEST(errors_come_back_as_codes_without_printing),
             M4_TEST(callbacks_start_new_flows), M4_TEST(cli_and_library_agree),
             M4_TEST(run_with_max_inflight_matches_the_library),
             M4_TEST(example_program_drives_a_ring_allreduce),
             M4_TEST(installed_library_builds_the_example))
