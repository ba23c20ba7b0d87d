/* m4sim dataset: the per-scenario draw (deterministic, inside the documented
 * ranges, held-out workloads never drawn) and the command end to end at toy
 * size (layout, loadable traces, independence of N and J, resume after an
 * interruption, refusal of mixed parameters, bad options -> exit 2 and no
 * DATA, a failing worker -> exit 1 naming the scenario). */
#include "testlib.h"
#include "scratch.h"

#include <sys/stat.h>
#include <unistd.h>

#include "core/npy.h"
#include "m4/dataset_gen.h"

/* summary.txt with the two lines that measure the machine (wall_s,
 * peak_rss_mb) removed; everything else must repeat exactly. */
static void strip_measured(char *text)
{
    char *out = text;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line + 1) : strlen(line);
        if (strncmp(line, "wall_s ", 7) && strncmp(line, "peak_rss_mb ", 12)) {
            memmove(out, line, len);
            out += len;
        }
        line += len;
    }
    *out = 0;
}

static int same_file(const char *a, const char *b, int is_summary)
{
    size_t na, nb;
    char *x = m4t_slurp(a, &na), *y = m4t_slurp(b, &nb);
    int same = x && y;
    if (same && is_summary) {
        strip_measured(x);
        strip_measured(y);
        same = strcmp(x, y) == 0;
    } else if (same) {
        same = na == nb && memcmp(x, y, na) == 0;
    }
    if (!same)
        fprintf(stderr, "  %s and %s differ\n", a, b);
    free(x);
    free(y);
    return same;
}

static const char *const scenario_files[] = {
    "cdf.txt", "topology.txt", "flows.txt", "config.txt", "scenario.txt", "DONE",
    "packet/fct.txt", "packet/trace/events.npy", "packet/trace/flow_state.npy",
    "packet/trace/queue.npy", "packet/trace/stats.txt", "packet/summary.txt"};
#define NUM_SCENARIO_FILES ((int)(sizeof scenario_files / sizeof scenario_files[0]))

/* data_a, data_b: dataset directories in the scratch directory. */
static int same_scenario(const char *data_a, const char *data_b, const char *scenario)
{
    int same = 1;
    for (int k = 0; k < NUM_SCENARIO_FILES; k++) {
        char a[640], b[640];
        snprintf(a, sizeof a, "%s/%s/%s/%s", m4t_scratch, data_a, scenario, scenario_files[k]);
        snprintf(b, sizeof b, "%s/%s/%s/%s", m4t_scratch, data_b, scenario, scenario_files[k]);
        same &= same_file(a, b, strstr(scenario_files[k], "summary") != NULL);
    }
    return same;
}

static int run_dataset(const char *args) { return m4t_run_cli("dataset", args); }

static int on_step(double x, double step)
{
    return fabs(x / step - round(x / step)) < 1e-6;
}

static void draw_is_a_function_of_seed_and_index(void)
{
    m4_dsgen_draw a, b, c;
    m4_dsgen_draw_scenario(7, 42, &a);
    m4_dsgen_draw_scenario(7, 42, &b);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    m4_dsgen_draw_scenario(7, 43, &c);
    CHECK(a.gen_seed != c.gen_seed);
    m4_dsgen_draw_scenario(8, 42, &c);
    CHECK(a.gen_seed != c.gen_seed);
    CHECK_INT_EQ(a.index, 42);
}

static void draws_stay_inside_the_ranges(void)
{
    uint64_t seed = m4t_seed();
    enum { DRAWS = 1000 };
    int cc_count[M4_CC_COUNT] = {0}, builtin_count[M4_DSGEN_BUILTIN_COUNT] = {0};
    int synthetic = 0, default_window = 0, family_count[M4_SYNTH_FAMILIES] = {0};
    int small_buffer = 0, large_above_geomean = 0, timely_tlow_above_90 = 0, timely_thigh_above_180 = 0;
    for (int i = 0; i < DRAWS; i++) {
        m4_dsgen_draw d;
        m4_dsgen_draw_scenario(seed, i, &d);
        const m4_config *c = &d.config;
        CHECK(d.load >= 0.35 && d.load <= 0.80);
        CHECK(d.sigma >= 1.0 && d.sigma <= 2.0);
        CHECK(c->buffer_kb >= M4_DSGEN_BUFFER_KB_MIN && c->buffer_kb <= M4_DSGEN_BUFFER_KB_MAX &&
              on_step(c->buffer_kb, 1));
        small_buffer += c->buffer_kb < 200;
        /* log-uniform over [200, 4000]: half above the geometric mean 894 */
        large_above_geomean += c->buffer_kb > 894.4;
        CHECK(c->pfc == 1);
        CHECK(c->window_bytes == 0 || (c->window_bytes >= 10000 && c->window_bytes <= 20000));
        default_window += c->window_bytes == 0;
        CHECK((int)c->cc >= 0 && (int)c->cc < M4_CC_COUNT);
        cc_count[c->cc]++;
        switch (c->cc) {
        case M4_CC_DCTCP:
            CHECK(c->dctcp_k_kb >= 10 && c->dctcp_k_kb <= 30 && on_step(c->dctcp_k_kb, 0.01));
            break;
        case M4_CC_DCQCN: /* m4's [5, 20] and [25, 40] KB at 25 Gb/s, x 10/25 */
            CHECK(c->dcqcn_kmin_kb >= 2 && c->dcqcn_kmin_kb <= 8);
            CHECK(c->dcqcn_kmax_kb >= 10 && c->dcqcn_kmax_kb <= 16);
            break;
        case M4_CC_HPCC:
            CHECK(c->hpcc_eta >= 0.70 - 1e-12 && c->hpcc_eta <= 0.95 + 1e-12);
            CHECK(c->hpcc_ai_mbps >= 500 && c->hpcc_ai_mbps <= 1000);
            break;
        case M4_CC_TIMELY:
            CHECK(c->timely_tlow_us >= 40 && c->timely_tlow_us <= 100);
            CHECK(c->timely_thigh_us >= 100 && c->timely_thigh_us <= 200);
            CHECK(c->timely_thigh_us > c->timely_tlow_us);
            timely_tlow_above_90 += c->timely_tlow_us > 90;
            timely_thigh_above_180 += c->timely_thigh_us > 180;
            break;
        }
        if (d.synthetic) {
            synthetic++;
            family_count[d.cdf.family]++;
            CHECK(strncmp(d.workload, "synthetic:", 10) == 0);
            CHECK(strcmp(d.workload + 10, m4_dsgen_family_name(d.cdf.family)) == 0);
        } else {
            int which = -1;
            for (int k = 0; k < M4_DSGEN_BUILTIN_COUNT; k++)
                if (!strcmp(d.workload, m4_dsgen_builtin_workloads[k]))
                    which = k;
            CHECK(which >= 0); /* so never webserver, hadoop or cachefollower */
            if (which >= 0)
                builtin_count[which]++;
        }
        CHECK(!strstr(d.workload, "webserver") && !strstr(d.workload, "hadoop") &&
              !strstr(d.workload, "cachefollower"));
    }
    /* Binomial(1000, p): the bounds are more than 5 standard deviations out. */
    for (int k = 0; k < M4_CC_COUNT; k++)
        CHECK(cc_count[k] > 250 - 70 && cc_count[k] < 250 + 70);
    CHECK(synthetic > 750 - 70 && synthetic < 750 + 70);
    CHECK(default_window > 500 - 80 && default_window < 500 + 80);
    CHECK(small_buffer > 500 - 80 && small_buffer < 500 + 80);
    CHECK(large_above_geomean > 250 - 60 && large_above_geomean < 250 + 60);
    /* of about 250 TIMELY draws, a sixth and a fifth (uniform over the stretched ranges) */
    CHECK(timely_tlow_above_90 > 15 && timely_tlow_above_90 < 80);
    CHECK(timely_thigh_above_180 > 20 && timely_thigh_above_180 < 90);
    for (int k = 0; k < M4_DSGEN_BUILTIN_COUNT; k++)
        CHECK(builtin_count[k] > 20); /* expected 62.5 each */
    for (int k = 0; k < M4_SYNTH_FAMILIES; k++)
        CHECK(family_count[k] > 100); /* expected 187.5 each */
}

/* A model trained on the dataset should not have to extrapolate on the
 * configuration m4sim gen writes by default (and make eval uses): each CC's
 * defaults lie inside the drawn ranges. */
static void defaults_lie_inside_the_ranges(void)
{
    for (int cc = 0; cc < M4_CC_COUNT; cc++) {
        m4_config c;
        m4_config_defaults(&c, (m4_cc_kind)cc);
        CHECK(c.buffer_kb >= M4_DSGEN_BUFFER_KB_MIN && c.buffer_kb <= M4_DSGEN_BUFFER_KB_MAX);
        switch (c.cc) {
        case M4_CC_DCTCP:
            CHECK(c.dctcp_k_kb >= M4_DSGEN_DCTCP_K_MIN && c.dctcp_k_kb <= M4_DSGEN_DCTCP_K_MAX);
            break;
        case M4_CC_DCQCN:
            CHECK(c.dcqcn_kmin_kb >= M4_DSGEN_DCQCN_KMIN_MIN - 1e-9 &&
                  c.dcqcn_kmin_kb <= M4_DSGEN_DCQCN_KMIN_MAX + 1e-9);
            CHECK(c.dcqcn_kmax_kb >= M4_DSGEN_DCQCN_KMAX_MIN - 1e-9 &&
                  c.dcqcn_kmax_kb <= M4_DSGEN_DCQCN_KMAX_MAX + 1e-9);
            break;
        case M4_CC_HPCC:
            CHECK(c.hpcc_eta >= M4_DSGEN_HPCC_ETA_MIN && c.hpcc_eta <= M4_DSGEN_HPCC_ETA_MAX);
            CHECK(c.hpcc_ai_mbps >= M4_DSGEN_HPCC_AI_MIN && c.hpcc_ai_mbps <= M4_DSGEN_HPCC_AI_MAX);
            break;
        case M4_CC_TIMELY:
            CHECK(c.timely_tlow_us >= M4_DSGEN_TIMELY_TLOW_MIN &&
                  c.timely_tlow_us <= M4_DSGEN_TIMELY_TLOW_MAX);
            CHECK(c.timely_thigh_us >= M4_DSGEN_TIMELY_THIGH_MIN &&
                  c.timely_thigh_us <= M4_DSGEN_TIMELY_THIGH_MAX);
            break;
        default: CHECK(0);
        }
    }
}

static void check_npy(const char *name, int64_t min_rows)
{
    m4_npy_array a;
    int err = m4_npy_read(m4t_path(name), &a);
    CHECK_INT_EQ(err, 0);
    if (err)
        return;
    CHECK_INT_EQ(a.dtype, M4_NPY_I64);
    CHECK_INT_EQ(a.ndim, 2);
    CHECK_INT_EQ(a.shape[1], 3);
    CHECK(a.shape[0] >= min_rows);
    m4_npy_free(&a);
}

static void toy_run_writes_the_layout(void)
{
    CHECK_INT_EQ(run_dataset("-o A --scenarios 3 --flows 20 --jobs 2 --seed 5"), 0);
    for (int s = 0; s < 3; s++) {
        for (int k = 0; k < NUM_SCENARIO_FILES; k++) {
            char name[128];
            snprintf(name, sizeof name, "A/s%05d/%s", s, scenario_files[k]);
            CHECK(m4t_exists(name));
        }
        char name[128];
        snprintf(name, sizeof name, "A/s%05d/packet/trace/samples_rate.npy", s);
        CHECK(!m4t_exists(name));
        snprintf(name, sizeof name, "A/s%05d/packet/trace/samples_queue.npy", s);
        CHECK(!m4t_exists(name));
    }
    CHECK(!m4t_exists("A/s00003"));
    /* 20 flows: one arrival and one completion each. */
    m4_npy_array events;
    CHECK_INT_EQ(m4_npy_read(m4t_path("A/s00001/packet/trace/events.npy"), &events), 0);
    CHECK_INT_EQ(events.shape[0], 40);
    m4_npy_free(&events);
    check_npy("A/s00001/packet/trace/flow_state.npy", 40);
    check_npy("A/s00001/packet/trace/queue.npy", 40);
    char *scenario = m4t_slurp(m4t_path("A/s00002/scenario.txt"), NULL);
    CHECK(scenario && strstr(scenario, "index 2\n") && strstr(scenario, "flows 20\n"));
    free(scenario);
    char *dataset = m4t_slurp(m4t_path("A/dataset.txt"), NULL);
    CHECK(dataset && strstr(dataset, "seed 5\n") && strstr(dataset, "flows 20\n") &&
          strstr(dataset, "scenarios 3\n"));
    free(dataset);
    char *out = m4t_slurp(m4t_path("out.txt"), NULL);
    CHECK(out && strstr(out, "3/3 scenarios done") && strstr(out, "60 flows"));
    free(out);
    /* fct.txt: the header and one row per flow. */
    char *fct = m4t_slurp(m4t_path("A/s00000/packet/fct.txt"), NULL);
    int lines = 0;
    for (char *p = fct; p && *p; p++)
        lines += *p == '\n';
    CHECK_INT_EQ(lines, 21);
    free(fct);
}

/* A 33-port switch (star:hosts=33, 10 Gb/s, 1 us) reserves 33 x 8456 bytes
 * = 272.5 KB of PFC headroom (test_packet.c's min_buffer case): drawn
 * buffers at or below that move up by ceil(272.5) + 1 - 100 = 174 KB, the
 * others stay, and every scenario runs. */
static void small_buffers_move_above_the_headroom(void)
{
    CHECK_INT_EQ(run_dataset("-o R --scenarios 6 --flows 20 --jobs 2 --seed 5 --topo star:hosts=33"), 0);
    int moved = 0, kept = 0;
    for (int i = 0; i < 6; i++) {
        m4_dsgen_draw d;
        m4_dsgen_draw_scenario(5, i, &d);
        char name[64];
        snprintf(name, sizeof name, "R/s%05d/config.txt", i);
        char *config = m4t_slurp(m4t_path(name), NULL);
        const char *line = config ? strstr(config, "\nBUFFER_KB ") : NULL;
        double kb = -1;
        CHECK(line && sscanf(line, "\nBUFFER_KB %lf", &kb) == 1);
        free(config);
        double headroom_kb = 33.0 * 8456.0 / 1024.0;
        double expected = d.config.buffer_kb <= headroom_kb ? d.config.buffer_kb + 174.0 : d.config.buffer_kb;
        printf("  scenario %d: drawn %.2f KB, used %.2f KB\n", i, d.config.buffer_kb, kb);
        CHECK(fabs(kb - expected) < 1e-9);
        CHECK(kb > headroom_kb);
        moved += d.config.buffer_kb <= headroom_kb;
        kept += d.config.buffer_kb > headroom_kb;
    }
    CHECK(moved > 0 && kept > 0); /* both branches seen */
}

static void scenarios_do_not_depend_on_n_or_jobs(void)
{
    /* B: fewer scenarios, one worker; its scenarios equal A's byte for byte. */
    CHECK_INT_EQ(run_dataset("-o B --scenarios 2 --flows 20 --jobs 1 --seed 5"), 0);
    CHECK(same_scenario("A", "B", "s00000"));
    CHECK(same_scenario("A", "B", "s00001"));
    CHECK(!m4t_exists("B/s00002"));
    /* A larger --scenarios extends B; the new one equals A's too. */
    CHECK_INT_EQ(run_dataset("-o B --scenarios 3 --flows 20 --jobs 2 --seed 5"), 0);
    CHECK(same_scenario("A", "B", "s00002"));
    char *dataset = m4t_slurp(m4t_path("B/dataset.txt"), NULL);
    CHECK(dataset && strstr(dataset, "scenarios 3\n"));
    free(dataset);
}

static void resume_redoes_only_unfinished_scenarios(void)
{
    struct stat done0, done2, after0, after2;
    CHECK_INT_EQ(stat(m4t_path("B/s00000/DONE"), &done0), 0);
    CHECK_INT_EQ(stat(m4t_path("B/s00002/DONE"), &done2), 0);
    /* s00001 as a kill -9 would leave it: no DONE, a stray half-written file. */
    CHECK_INT_EQ(unlink(m4t_path("B/s00001/DONE")), 0);
    m4t_write_text("B/s00001/packet/fct.txt.tmp", "");
    CHECK_INT_EQ(run_dataset("-o B --scenarios 3 --flows 20 --jobs 2 --seed 5"), 0);
    CHECK(m4t_exists("B/s00001/DONE"));
    CHECK(!m4t_exists("B/s00001/packet/fct.txt.tmp"));
    CHECK(same_scenario("A", "B", "s00001"));
    /* The finished ones were not rewritten (a rewrite renames a new inode in). */
    CHECK_INT_EQ(stat(m4t_path("B/s00000/DONE"), &after0), 0);
    CHECK_INT_EQ(stat(m4t_path("B/s00002/DONE"), &after2), 0);
    CHECK(after0.st_ino == done0.st_ino && after2.st_ino == done2.st_ino);
    char *err = m4t_slurp(m4t_path("err.txt"), NULL);
    CHECK(err && strstr(err, "2 already done, 1 to run"));
    free(err);
}

static void other_parameters_on_the_same_data_are_refused(void)
{
    char *before = m4t_slurp(m4t_path("A/dataset.txt"), NULL);
    CHECK_INT_EQ(run_dataset("-o A --scenarios 3 --flows 30 --jobs 2 --seed 5"), 2);
    char *err = m4t_slurp(m4t_path("err.txt"), NULL);
    CHECK(err && strstr(err, "dataset.txt") && strstr(err, "flows 20") && strstr(err, "flows 30"));
    free(err);
    CHECK_INT_EQ(run_dataset("-o A --scenarios 3 --flows 20 --seed 6"), 2);
    char *after = m4t_slurp(m4t_path("A/dataset.txt"), NULL);
    CHECK(before && after && strcmp(before, after) == 0);
    free(before);
    free(after);
    /* A directory with other things in it is not a dataset. */
    mkdir(m4t_path("other"), 0755);
    m4t_write_text("other/notes.txt", "");
    CHECK_INT_EQ(run_dataset("-o other --scenarios 1 --flows 20"), 2);
    CHECK(!m4t_exists("other/dataset.txt"));
}

static void bad_options_exit_2_and_write_nothing(void)
{
    static const char *const bad[] = {
        "-o C --scenarios 0",   "-o C --scenarios 100001", "-o C --flows 1",
        "-o C --jobs 0",        "-o C --seed -1",          "-o C --scenarios x",
        "-o C --topo bogus:1",  "-o C --frobnicate",       "--scenarios 3",
        "-o C --flows",         "-o C extra",              "-o C --mem-limit-mb 10",
        "-o C --timeout-s -5",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int rc = run_dataset(bad[k]);
        if (rc != 2)
            fprintf(stderr, "  '%s' exited %d\n", bad[k], rc);
        CHECK_INT_EQ(rc, 2);
        CHECK(!m4t_exists("C"));
        char *err = m4t_slurp(m4t_path("err.txt"), NULL);
        int lines = 0;
        for (char *p = err; p && *p; p++)
            lines += *p == '\n';
        CHECK_INT_EQ(lines, 1); /* one message */
        free(err);
    }
    CHECK_INT_EQ(run_dataset("--help"), 0);
    char *out = m4t_slurp(m4t_path("out.txt"), NULL);
    CHECK(out && strstr(out, "DCQCN_KMIN_KB [2, 8]") && strstr(out, "--keep-samples") &&
          strstr(out, "cachefollower"));
    free(out);
}

static void failing_worker_exits_1_and_names_the_scenario(void)
{
    /* Hosts 0 and 1 on separate switches: no route, so generation fails. */
    m4t_write_text("split.txt", "4 2 2\n2 3\n0 2 10Gbps 1us 0\n1 3 10Gbps 1us 0\n");
    CHECK_INT_EQ(run_dataset("-o D --scenarios 2 --flows 20 --jobs 2 --topo split.txt"), 1);
    char *err = m4t_slurp(m4t_path("err.txt"), NULL);
    CHECK(err && strstr(err, "scenario 0") && strstr(err, "scenario 1") &&
          strstr(err, "not connected"));
    free(err);
    CHECK(!m4t_exists("D/s00000/DONE") && !m4t_exists("D/s00001/DONE"));
}

int main(void)
{
    m4t_scratch_make("/tmp/m4sim-test-dataset-XXXXXX");
    static const m4t_case cases[] = {
        M4_TEST(draw_is_a_function_of_seed_and_index),
        M4_TEST(draws_stay_inside_the_ranges),
        M4_TEST(defaults_lie_inside_the_ranges),
        M4_TEST(toy_run_writes_the_layout), M4_TEST(small_buffers_move_above_the_headroom),
        M4_TEST(scenarios_do_not_depend_on_n_or_jobs),
        M4_TEST(resume_redoes_only_unfinished_scenarios),
        M4_TEST(other_parameters_on_the_same_data_are_refused),
        M4_TEST(bad_options_exit_2_and_write_nothing),
        M4_TEST(failing_worker_exits_1_and_names_the_scenario),
    };
    int status = m4t_run_cases(__FILE__, cases, (int)(sizeof cases / sizeof cases[0]));
    m4t_scratch_remove();
    return status;
}
