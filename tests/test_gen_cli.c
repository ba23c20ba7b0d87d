/* m4sim gen through the binary: defaults, determinism byte for byte, the
 * files read back, and bad input (exit 2, one message, no output). */
#include "testlib.h"
#include "scratch.h"

#include <sys/stat.h>

#include "net/config.h"
#include "net/flows.h"
#include "net/topology.h"

static int gen(const char *args) { return m4t_run_cli("gen", args); }

static void setup(void) { m4t_scratch_make("/tmp/m4sim-test-gen-XXXXXX"); }

static int same_file(const char *a, const char *b)
{
    size_t na, nb;
    char *x = m4t_slurp(m4t_path(a), &na), *y = m4t_slurp(m4t_path(b), &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static void test_help(void)
{
    setup();
    CHECK_INT_EQ(gen("--help"), 0);
    size_t n;
    char *out = m4t_slurp(m4t_path("out.txt"), &n);
    CHECK(out && strstr(out, "fabric:pods=2,racks=4,hosts=4") && strstr(out, "[websearch]") &&
          strstr(out, "[0.5]") && strstr(out, "[2000]") && strstr(out, "[uniform]") &&
          strstr(out, "[dctcp]") && strstr(out, "incast:N") && strstr(out, "matrix:FILE") &&
          strstr(out, "--set KEY=VALUE"));
    free(out);
}

static void test_default_scenario_deterministic(void)
{
    setup();
    CHECK_INT_EQ(gen("-o a"), 0);
    CHECK_INT_EQ(gen("-o b --seed 1 --topo fabric:pods=2,racks=4,hosts=4 --workload websearch "
                     "--load 0.5 --sigma 1 --flows 2000 --pattern uniform --cc dctcp"),
                 0);
    size_t n;
    char *out = m4t_slurp(m4t_path("out.txt"), &n);
    CHECK(out && strstr(out, "2000 flows") && strstr(out, "load 0.5000"));
    free(out);
    const char *files[3] = {"topology.txt", "flows.txt", "config.txt"};
    for (int i = 0; i < 3; i++) {
        char a[64], b[64];
        snprintf(a, sizeof a, "a/%s", files[i]);
        snprintf(b, sizeof b, "b/%s", files[i]);
        CHECK(same_file(a, b));
    }
    CHECK_INT_EQ(gen("-o c --seed 2"), 0);
    CHECK(!same_file("a/flows.txt", "c/flows.txt"));
    CHECK(same_file("a/topology.txt", "c/topology.txt"));

    /* The files read back: 32 hosts, 2000 flows, DCTCP defaults. */
    m4_topology t;
    CHECK_INT_EQ(m4_topology_read(&t, m4t_path("a/topology.txt")), 0);
    CHECK_INT_EQ(t.num_hosts, 32);
    m4_flowset flows;
    CHECK_INT_EQ(m4_flows_read(&flows, m4t_path("a/flows.txt"), &t), 0);
    CHECK_INT_EQ(flows.count, 2000);
    CHECK_INT_EQ(flows.flows[0].start_ns, 1000000000);
    m4_config cfg, defaults;
    CHECK_INT_EQ(m4_config_read(&cfg, m4t_path("a/config.txt")), 0);
    m4_config_defaults(&defaults, M4_CC_DCTCP);
    CHECK(memcmp(&cfg, &defaults, sizeof cfg) == 0);
    m4_flows_free(&flows);
    m4_topology_free(&t);

    /* --cc and --set reach config.txt; --opt=value works too. */
    CHECK_INT_EQ(gen("-o d --cc=hpcc --set HPCC_ETA=0.9 --set BUFFER_KB=5000 --flows 100 "
                     "--workload fbhdp --pattern incast:4 --topo star:hosts=8"),
                 0);
    CHECK_INT_EQ(m4_config_read(&cfg, m4t_path("d/config.txt")), 0);
    CHECK_INT_EQ(cfg.cc, M4_CC_HPCC);
    CHECK_NEAR(cfg.hpcc_eta, 0.9, 0);
    CHECK_NEAR(cfg.buffer_kb, 5000, 0);
    m4_config_defaults(&defaults, M4_CC_HPCC);
    CHECK_NEAR(cfg.hpcc_ai_mbps, defaults.hpcc_ai_mbps, 0);
}

static void test_user_files(void)
{
    setup();
    m4t_write_text("my_cdf.txt", "0 0\n1000 50\n3000 100\n");
    m4t_write_text("my_matrix.txt", "racks\n0 1 1\n");
    CHECK_INT_EQ(gen("-o u --workload my_cdf.txt --pattern matrix:my_matrix.txt "
                     "--topo dumbbell:left=3,right=3 --flows 300 --sigma 0 --load 0.9"),
                 0);
    m4_topology t;
    CHECK_INT_EQ(m4_topology_read(&t, m4t_path("u/topology.txt")), 0);
    m4_flowset flows;
    CHECK_INT_EQ(m4_flows_read(&flows, m4t_path("u/flows.txt"), &t), 0);
    int ok = 1;
    for (int64_t i = 0; i < flows.count; i++)
        ok &= flows.flows[i].src < 3 && flows.flows[i].dst >= 3 &&
              flows.flows[i].size_bytes <= 3000;
    CHECK(ok);
    m4_flows_free(&flows);
    /* A topology file as --topo. */
    CHECK_INT_EQ(gen("-o v --topo u/topology.txt --flows 50"), 0);
    CHECK(same_file("u/topology.txt", "v/topology.txt"));
    m4_topology_free(&t);
}

static void test_bad_input(void)
{
    setup();
    m4t_write_text("bad_cdf.txt", "0 0\n100 50\n50 100\n");
    m4t_write_text("bad_matrix.txt", "0 1 1\n0 9 1\n");
    static const struct {
        const char *args;
        const char *expect; /* in the message */
    } cases[] = {
        {"", "-o DIR"},
        {"-o x --load 0", "--load"},
        {"-o x --load 1.5", "--load"},
        {"-o x --load abc", "--load"},
        {"-o x --sigma -1", "--sigma"},
        {"-o x --flows 1", "--flows"},
        {"-o x --flows 2.5", "--flows"},
        {"-o x --seed -3", "--seed"},
        {"-o x --pattern ring", "ring"},
        {"-o x --pattern incast:32", "incast"},
        {"-o x --pattern incast:0", "incast"},
        {"-o x --workload nosuch", "nosuch"},
        {"-o x --workload bad_cdf.txt", "bad_cdf.txt:3"},
        {"-o x --pattern matrix:bad_matrix.txt", "bad_matrix.txt:2"},
        {"-o x --pattern matrix:missing.txt", "missing.txt"},
        {"-o x --cc reno", "reno"},
        {"-o x --set FOO=1", "FOO"},
        {"-o x --set BUFFER_KB=-1", "BUFFER_KB"},
        {"-o x --set BUFFER_KB", "KEY=VALUE"},
        {"-o x --topo ring:n=3", "ring"},
        {"-o x --topo star:hosts=1", "host"},
        {"-o x --frobnicate 1", "--frobnicate"},
        {"-o x stray", "stray"},
        {"-o x --flows", "--flows"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = gen(cases[i].args);
        size_t n;
        char *err = m4t_slurp(m4t_path("err.txt"), &n);
        int one_line = err && n > 0 && strchr(err, '\n') == err + n - 1;
        if (rc != 2 || !one_line || !strstr(err, cases[i].expect) || m4t_exists("x"))
            fprintf(stderr, "  gen %s: rc %d, stderr '%s'\n", cases[i].args, rc, err ? err : "");
        CHECK_INT_EQ(rc, 2);
        CHECK(one_line);
        CHECK(err && strstr(err, "m4sim gen") && strstr(err, cases[i].expect));
        CHECK(!m4t_exists("x"));
        free(err);
    }
}

M4_TEST_MAIN(M4_TEST(test_help), M4_TEST(test_default_scenario_deterministic),
             M4_TEST(test_user_files), M4_TEST(test_bad_input))
