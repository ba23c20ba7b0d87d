/* m4sim compare and the fct reader: statistics on hand-made files (exact
 * mean and nearest-rank percentiles), both input formats, and bad input. */
#include "testlib.h"
#include "scratch.h"

#include "m4sim.h"
#include "sim/fct.h"

static int compare_cli(const char *args) { return m4t_run_cli("compare", args); }

/* Value of "key": in the top level of the JSON object on the last stdout line
 * (the first occurrence, which precedes the nested objects). */
static double json_value(const char *json, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(json, pattern);
    return at ? strtod(at + strlen(pattern), NULL) : NAN;
}

static const char *header = "id src dst size start_ns fct_ns ideal_fct_ns slowdown\n";

static void stats_are_nearest_rank(void)
{
    double values[] = {5, 1, 4, 2, 3};
    m4_stats s;
    m4_stats_compute(values, 5, &s);
    CHECK_INT_EQ(s.n, 5);
    CHECK_NEAR(s.mean, 3.0, 1e-12);
    CHECK_NEAR(s.p50, 3.0, 0); /* ceil(2.5) = 3rd */
    CHECK_NEAR(s.p90, 5.0, 0); /* ceil(4.5) = 5th */
    CHECK_NEAR(s.p99, 5.0, 0);
    double ten[10];
    for (int i = 0; i < 10; i++)
        ten[i] = 10 - i;
    m4_stats_compute(ten, 10, &s);
    CHECK_NEAR(s.p50, 5.0, 0); /* 5th */
    CHECK_NEAR(s.p90, 9.0, 0); /* 9th */
    CHECK_NEAR(s.p99, 10.0, 0);
    m4_stats_compute(ten, 0, &s);
    CHECK(isnan(s.mean) && isnan(s.p50));
}

static void errors_of_hand_made_files(void)
{
    /* Reference slowdown 1 everywhere; estimate fct 110..200 over ideal 100:
     * errors 0.1, 0.2, ..., 1.0 -> mean 0.55, p50 0.5 (5th), p90 0.9 (9th),
     * p99 1.0. Sizes put 4 flows in 0-10KB, 3 in 10KB-100KB, 3 in 1MB+. */
    static const int64_t sizes[10] = {1, 999, 1000, 9999, 10000, 50000, 99999, 1000000,
                                      5000000, 30000000};
    char ref[4096], est[4096];
    int r = snprintf(ref, sizeof ref, "%s", header), e = snprintf(est, sizeof est, "%s", header);
    for (int i = 9; i >= 0; i--) { /* rows in any order */
        r += snprintf(ref + r, sizeof ref - (size_t)r, "%d 0 1 %lld 0 80 100 1\n", i,
                      (long long)sizes[i]);
        e += snprintf(est + e, sizeof est - (size_t)e, "%d 0 1 %lld 0 %d 100 %.1f\n", i,
                      (long long)sizes[i], 110 + 10 * i, 1.1 + 0.1 * i);
    }
    m4t_write_text("ref.txt", ref);
    m4t_write_text("est.txt", est);
    CHECK_INT_EQ(compare_cli("ref.txt est.txt --json"), 0);
    const char *json = m4t_read_text("out.txt");
    CHECK_NEAR(json_value(json, "n"), 10, 0);
    CHECK_NEAR(json_value(json, "mean"), 0.55, 1e-6);
    CHECK_NEAR(json_value(json, "p50"), 0.5, 1e-6);
    CHECK_NEAR(json_value(json, "p90"), 0.9, 1e-6);
    CHECK_NEAR(json_value(json, "p99"), 1.0, 1e-6);
    /* Bucket 10KB-100KB holds flows 4, 5, 6: errors 0.5, 0.6, 0.7. */
    const char *bucket = strstr(json, "\"name\":\"10KB-100KB\"");
    CHECK(bucket != NULL);
    if (bucket) {
        CHECK_NEAR(json_value(bucket, "n"), 3, 0);
        CHECK_NEAR(json_value(bucket, "mean"), 0.6, 1e-6);
        CHECK_NEAR(json_value(bucket, "p50"), 0.6, 1e-6);
    }
    const char *empty = strstr(json, "\"name\":\"100KB-1MB\"");
    CHECK(empty && strstr(empty, "\"n\":0,\"mean\":null") != NULL);
    const char *est_stats = strstr(json, "\"est_slowdown\"");
    CHECK(est_stats && fabs(json_value(est_stats, "mean") - 1.55) < 1e-6);
    /* The JSON object is the last line and the only one. */
    CHECK(json[0] == '{' && strchr(json, '\n') == json + strlen(json) - 1);
    /* Text table mentions every bucket. */
    CHECK_INT_EQ(compare_cli("ref.txt est.txt"), 0);
    const char *table = m4t_read_text("out.txt");
    CHECK(strstr(table, "0-10KB") && strstr(table, "1MB+") && strstr(table, "0.5500"));
}

static void reads_the_hpcc_format(void)
{
    /* The ns-3 fork's rows: ips 0b000001 -> node 0, 0b000101 -> node 1. Its
     * own slowdowns 8558/7421 and 83236/61712 against ours at the ideal. */
    m4t_write_text("hpcc.txt", "0 0b000001 0b000101 10000 100 5444 1000000000 8558 7421\n"
                               "1 0b000001 0b000101 10001 100 70220 1500000000 83236 61712\n");
    m4t_write_text("ours.txt", "id src dst size start_ns fct_ns ideal_fct_ns slowdown\n"
                               "0 0 1 5444 1000000000 7421 7421 1.000000\n"
                               "1 0 1 70220 1500000000 61712 61712 1.000000\n");
    CHECK_INT_EQ(compare_cli("hpcc.txt ours.txt --json"), 0);
    const char *json = m4t_read_text("out.txt");
    double e0 = (8558.0 / 7421 - 1) / (8558.0 / 7421), e1 = (83236.0 / 61712 - 1) / (83236.0 / 61712);
    CHECK_NEAR(json_value(json, "mean"), (e0 + e1) / 2, 1e-5);
    m4_fct_table table;
    CHECK(m4_fct_read(&table, m4t_path("hpcc.txt")) == M4_OK);
    CHECK_INT_EQ(table.count, 2);
    if (table.count == 2) {
        CHECK_INT_EQ(table.rows[1].src, 0);
        CHECK_INT_EQ(table.rows[1].dst, 1);
        CHECK_INT_EQ(table.rows[1].fct_ns, 83236);
        CHECK_INT_EQ(table.rows[1].ideal_fct_ns, 61712);
    }
    m4_fct_table_free(&table);
}

static void missing_flows_are_named(void)
{
    m4t_write_text("ref3.txt", "id src dst size start_ns fct_ns ideal_fct_ns slowdown\n"
                               "1 0 1 100 0 200 100 2\n7 0 1 100 0 200 100 2\n"
                               "9 0 1 100 0 300 100 3\n");
    m4t_write_text("est2.txt", "id src dst size start_ns fct_ns ideal_fct_ns slowdown\n"
                               "1 0 1 100 0 200 100 2\n9 0 1 100 0 150 100 1.5\n"
                               "42 0 1 5 0 1 1 1\n");
    CHECK_INT_EQ(compare_cli("ref3.txt est2.txt"), 2);
    const char *err = m4t_read_text("err.txt");
    CHECK(strstr(err, "flow 7 ") != NULL);
    CHECK(strstr(err, "ref3.txt line 3") != NULL);
    CHECK_INT_EQ(compare_cli("ref3.txt est2.txt --allow-missing --json"), 0);
    const char *json = m4t_read_text("out.txt");
    CHECK_NEAR(json_value(json, "n"), 2, 0);
    CHECK_NEAR(json_value(json, "missing"), 1, 0);
    CHECK_NEAR(json_value(json, "mean"), 0.25, 1e-9); /* errors 0 and 0.5 */
}

static void bad_input_names_file_and_line(void)
{
    static const struct {
        const char *text, *expect;
    } cases[] = {
        {"id src dst size start_ns fct_ns ideal_fct_ns slowdown\n1 0 1 100 0 200 100 2\n"
         "2 0 1 x 0 200 100 2\n",
         "bad.txt:3: size is not a number"},
        {"id src dst size start_ns fct_ns ideal_fct_ns slowdown\n1 0 1 100 0 200 100\n",
         "bad.txt:2: expected 8 columns"},
        {"id src dst size start_ns fct_ns ideal_fct_ns slowdown\n1 0 1 0 0 200 100 2\n",
         "bad.txt:2: size must be positive"},
        {"id src dst size start_ns fct_ns ideal_fct_ns slowdown\n1 0 1 10 0 200 0 2\n",
         "bad.txt:2: ideal_fct_ns must be positive"},
        {"id src dst size start_ns fct_ns ideal_fct_ns slowdown\n1 0 1 10 0 -5 10 2\n",
         "bad.txt:2: fct_ns must not be negative"},
        {"id src dst size start_ns fct_ns ideal_fct_ns slowdown\n5 0 1 10 0 5 10 2\n"
         "5 0 1 10 0 5 10 2\n",
         "bad.txt:3: flow id 5 already on line 2"},
        {"id src dst size\n", "bad.txt:1: header must be"},
        {"hello world\n", "bad.txt:1: not an fct file"},
        {"", "bad.txt: empty"},
        {"0 zz 0b000101 10000 100 5444 1000000000 8558 7421\n", "bad.txt:1: sip is not a number"},
    };
    m4t_write_text("good.txt", "id src dst size start_ns fct_ns ideal_fct_ns slowdown\n"
                               "1 0 1 100 0 200 100 2\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        m4t_write_text("bad.txt", cases[i].text);
        CHECK_INT_EQ(compare_cli("good.txt bad.txt"), 2);
        const char *err = m4t_read_text("err.txt");
        if (!strstr(err, cases[i].expect)) {
            fprintf(stderr, "  case %zu: stderr '%s' lacks '%s'\n", i, err, cases[i].expect);
            CHECK(0);
        }
        CHECK_INT_EQ(compare_cli("bad.txt good.txt"), 2);
    }
    CHECK_INT_EQ(compare_cli("good.txt no-such-file.txt"), 2);
    CHECK(strstr(m4t_read_text("err.txt"), "no-such-file.txt: cannot open") != NULL);
    CHECK_INT_EQ(compare_cli("good.txt"), 2);
    CHECK_INT_EQ(compare_cli("good.txt good.txt --bogus"), 2);
    /* Same id, different sizes: different scenarios. */
    m4t_write_text("other.txt", "id src dst size start_ns fct_ns ideal_fct_ns slowdown\n"
                                "1 0 1 101 0 200 100 2\n");
    CHECK_INT_EQ(compare_cli("good.txt other.txt"), 2);
    CHECK(strstr(m4t_read_text("err.txt"), "other.txt:2: flow 1 has size 101") != NULL);
    /* A failed plot leaves no file behind: the directory does not exist. */
    CHECK_INT_EQ(compare_cli("good.txt good.txt --plot nodir/x.png"), 2);
    CHECK(!m4t_exists("nodir/x.png"));
}

static void plot_writes_a_png(void)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr, "  (gnuplot not installed: skipping the image check)\n");
        return;
    }
    m4t_write_text("a.txt", "id src dst size start_ns fct_ns ideal_fct_ns slowdown\n"
                            "1 0 1 100 0 200 100 2\n2 0 1 100 0 300 100 3\n"
                            "3 0 1 100 0 100 100 1\n");
    m4t_write_text("b.txt", "id src dst size start_ns fct_ns ideal_fct_ns slowdown\n"
                            "1 0 1 100 0 250 100 2.5\n2 0 1 100 0 300 100 3\n"
                            "3 0 1 100 0 120 100 1.2\n");
    CHECK_INT_EQ(compare_cli("a.txt b.txt --json --plot cdf.png"), 0);
    FILE *f = fopen(m4t_path("cdf.png"), "rb");
    unsigned char magic[8] = {0};
    CHECK(f != NULL);
    if (f) {
        CHECK(fread(magic, 1, 8, f) == 8);
        fclose(f);
    }
    CHECK(magic[0] == 0x89 && magic[1] == 'P' && magic[2] == 'N' && magic[3] == 'G');
    /* stdout stays one JSON line even with gnuplot's chatter. */
    const char *json = m4t_read_text("out.txt");
    CHECK(json[0] == '{' && strchr(json, '\n') == json + strlen(json) - 1);
}

static void setup(void) { m4t_scratch_make("/tmp/m4sim-test-compare-XXXXXX"); }

static void cleanup(void) { m4t_scratch_remove(); }

M4_TEST_MAIN(M4_TEST(setup), M4_TEST(stats_are_nearest_rank), M4_TEST(errors_of_hand_made_files),
             M4_TEST(reads_the_hpcc_format), M4_TEST(missing_flows_are_named),
             M4_TEST(bad_input_names_file_and_line), M4_TEST(plot_writes_a_png),
             M4_TEST(cleanup))
