/* m4sim run: a hand-computed scenario end to end, determinism, and bad input
 * (exit 2, a message naming file and line, no output files). */
#include "testlib.h"
#include "scratch.h"

#include <sys/stat.h>

static int run_cli(const char *args) { return m4t_run_cli("run", args); }

/* Three hosts (0, 1, 2) on switch 3, 10 Gb/s, 1 us. */
static const char *star_topology = "4 1 3\n3\n0 3 10Gbps 0.001ms 0\n1 3 10Gbps 1us 0\n"
                                   "2 3 10Gbps 1000ns 0\n";

static void setup(void) { m4t_scratch_make("/tmp/m4sim-test-run-XXXXXX"); }

static void two_flows_share_a_receiver(void)
{
    /* Flows 0 -> 2 and 1 -> 2, 100000 B each at t = 0: 5 Gb/s each on the
     * link into host 2. Work: 838 + 79200 + 99 x 38 = 83800 ns at 10G =
     * 838000 bits, so both transmissions end at 167600 ns; the base delay is
     * ideal - 83800 = 2838 (ideal = 2000 + 2 x 838 + 79200 + 3762 = 86638).
     * FCT = 170438. A third flow, 2 -> 0 later and alone: its ideal. */
    mkdir(m4t_path("sc"), 0755);
    m4t_write_text("sc/topology.txt", star_topology);
    m4t_write_text("sc/flows.txt", "3\n0 0 2 3 100 100000 0\n1 1 2 3 100 100000 0\n"
                                   "7 2 0 3 100 5444 0.001\n");
    CHECK_INT_EQ(run_cli("sc --backend flow --quiet"), 0);
    const char *fct = m4t_read_text("sc/flow/fct.txt");
    CHECK(strcmp(fct, "id src dst size start_ns fct_ns ideal_fct_ns slowdown\n"
                      "0 0 2 100000 0 170438 86638 1.967243\n"
                      "1 1 2 100000 0 170438 86638 1.967243\n"
                      "7 2 0 5444 1000000 7421 7421 1.000000\n") == 0);
    const char *summary = m4t_read_text("sc/flow/summary.txt");
    CHECK(strstr(summary, "backend flow\n") != NULL);
    CHECK(strstr(summary, "flows 3\n") != NULL);
    CHECK(strstr(summary, "completed 3\n") != NULL);
    CHECK(strstr(summary, "slowdown_p50 1.9672\n") != NULL); /* 2nd of 3 */
    CHECK(strstr(summary, "slowdown_p99 1.9672\n") != NULL);
    /* -o and determinism: a second run elsewhere gives the same bytes. */
    CHECK_INT_EQ(run_cli("sc --backend flow --quiet -o again"), 0);
    CHECK(strcmp(m4t_read_text("again/fct.txt"), m4t_read_text("sc/flow/fct.txt")) == 0);
    /* Without --quiet the summary is echoed. */
    CHECK_INT_EQ(run_cli("sc"), 0);
    CHECK(strstr(m4t_read_text("out.txt"), "slowdown_mean") != NULL);
}

static void bad_input_leaves_no_output(void)
{
    static const struct {
        const char *flows, *expect;
    } cases[] = {
        {"2\n0 0 2 3 100 100000 0\n1 1 9 3 100 100000 0\n", "flows.txt:3"},
        {"1\n0 0 2 3 100 -5 0\n", "flows.txt:2"},
        {"1\n0 0 2 3 100 abc 0\n", "flows.txt:2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "bad%zu", i);
        mkdir(m4t_path(name), 0755);
        char file[128];
        snprintf(file, sizeof file, "%s/topology.txt", name);
        m4t_write_text(file, star_topology);
        snprintf(file, sizeof file, "%s/flows.txt", name);
        m4t_write_text(file, cases[i].flows);
        char args[128];
        snprintf(args, sizeof args, "%s --backend flow", name);
        CHECK_INT_EQ(run_cli(args), 2);
        const char *err = m4t_read_text("err.txt");
        if (!strstr(err, cases[i].expect)) {
            fprintf(stderr, "  case %zu: stderr '%s' lacks '%s'\n", i, err, cases[i].expect);
            CHECK(0);
        }
        snprintf(file, sizeof file, "%s/flow", name);
        CHECK(!m4t_exists(file));
    }
    mkdir(m4t_path("badtopo"), 0755);
    m4t_write_text("badtopo/topology.txt", "4 1 3\n3\n0 3 10Gbps 1us 0\n1 3 -10Gbps 1us 0\n"
                                           "2 3 10Gbps 1us 0\n");
    CHECK_INT_EQ(run_cli("badtopo"), 2);
    CHECK(strstr(m4t_read_text("err.txt"), "topology.txt:4") != NULL);
    CHECK(!m4t_exists("badtopo/flow"));

    CHECK_INT_EQ(run_cli("no-such-dir --backend flow"), 2);
    CHECK(strstr(m4t_read_text("err.txt"), "no-such-dir") != NULL);
    CHECK(!m4t_exists("no-such-dir"));
    CHECK_INT_EQ(run_cli("sc --backend warp"), 2);
    CHECK_INT_EQ(run_cli("sc --threads 0"), 2);
    CHECK_INT_EQ(run_cli("sc --bogus"), 2);
    CHECK_INT_EQ(run_cli(""), 2);
    CHECK_INT_EQ(run_cli("sc --model m.bin --backend flow"), 2);
    CHECK_INT_EQ(run_cli("sc --max-inflight -3"), 2);
    CHECK(strstr(m4t_read_text("err.txt"), "--max-inflight must be a positive integer") != NULL);
    CHECK_INT_EQ(run_cli("sc -o"), 2);
    CHECK(strstr(m4t_read_text("err.txt"), "-o needs a value") != NULL);
}

static void packet_and_m4_backends_run(void)
{
    CHECK_INT_EQ(run_cli("sc --backend packet --quiet -o pout"), 0);
    CHECK(m4t_exists("pout/fct.txt"));
    /* m4 with the default model: runs when models/default.m4 is there, and
     * otherwise says which model is missing and writes nothing. */
    int status = run_cli("sc --backend m4 --quiet -o m4out");
    if (status == 0) {
        CHECK(m4t_exists("m4out/fct.txt"));
    } else {
        CHECK(strstr(m4t_read_text("err.txt"), "model") != NULL);
        CHECK(!m4t_exists("m4out"));
    }
    /* An explicit model file that is missing or not a model. */
    CHECK(run_cli("sc --backend m4 --model no-such-model.m4 --quiet -o m4bad") != 0);
    CHECK(strstr(m4t_read_text("err.txt"), "no-such-model.m4") != NULL);
    CHECK(!m4t_exists("m4bad"));
    CHECK(run_cli("sc --backend m4 --model sc/flows.txt --quiet -o m4bad") != 0);
    CHECK(strstr(m4t_read_text("err.txt"), "flows.txt") != NULL);
    CHECK(!m4t_exists("m4bad"));
}

/* m4's 100-200 KB training buffers leave the 32-host fabric little shared
 * buffer after the PFC headroom, so PFC pauses constantly. This scenario once
 * "deadlocked": a packet that went through one switch's headroom was released
 * from the next switch's headroom too, leaking shared-buffer bytes until the
 * dynamic thresholds reached zero. Up-down routing has no cyclic buffer
 * dependency, so every flow must complete (and the backend checks that the
 * buffer accounting is back at zero at the end of the run). */
static void small_buffer_under_pfc_completes(void)
{
    char command[2048];
    snprintf(command, sizeof command,
             "cd %s && '%s' gen -o dl --workload websearch --load 0.73 --sigma 1.5 --flows 2000 "
             "--seed 100 --cc dctcp --set BUFFER_KB=148 >/dev/null 2>&1", m4t_scratch, m4t_cli());
    CHECK_INT_EQ(system(command), 0);
    CHECK_INT_EQ(run_cli("dl --backend packet --trace --quiet -o dl/packet"), 0);
    FILE *fct = fopen(m4t_path("dl/packet/fct.txt"), "r");
    int lines = 0;
    for (int c; fct && (c = getc(fct)) != EOF;)
        lines += c == '\n';
    if (fct)
        fclose(fct);
    CHECK_INT_EQ(lines, 2000 + 1); /* header + one line per flow */
    const char *stats = m4t_read_text("dl/packet/trace/stats.txt");
    const char *pauses = strstr(stats, "pfc_pauses ");
    CHECK(pauses != NULL);
    if (pauses) {
        long long n = atoll(pauses + strlen("pfc_pauses "));
        printf("  148 KB buffers, load 0.73: %lld PFC pauses, %d flows completed\n", n, lines - 1);
        CHECK(n > 100);
    }
}

static void help_documents_options(void)
{
    CHECK_INT_EQ(run_cli("--help"), 0);
    const char *help = m4t_read_text("out.txt");
    const char *options[] = {"--backend", "--model", "--trace", "-o OUTDIR", "--threads",
                             "fct.txt", "summary.txt"};
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        CHECK(strstr(help, options[i]) != NULL);
}

static void cleanup(void) { m4t_scratch_remove(); }

M4_TEST_MAIN(M4_TEST(setup), M4_TEST(two_flows_share_a_receiver),
             M4_TEST(bad_input_leaves_no_output), M4_TEST(packet_and_m4_backends_run),
             M4_TEST(small_buffer_under_pfc_completes), M4_TEST(help_documents_options), M4_TEST(cleanup))
