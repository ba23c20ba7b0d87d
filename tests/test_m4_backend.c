/* The learned backend (src/m4/m4_backend.c) through the public API and the
 * CLI, with small random models saved to temp files:
 *   - a lone flow finishes at start + max(1, slowdown_hat) x ideal, with
 *     slowdown_hat from one m4_step_forward on the flow's initial state
 *     (dt 0, fair share 1, flowSim slowdown 1: alone, it gets its
 *     bottleneck) -- both above 1 and clamped at 1;
 *   - on a 40-flow scenario every flow completes exactly once, never before
 *     start + ideal, and two runs give the same results;
 *   - each neighbourhood a model file can name (component, flows, links)
 *     runs it to the end, deterministically, with answers of its own;
 *   - `m4sim run --backend m4 --model FILE` writes fct.txt with the expected
 *     columns and the API's numbers; a missing or corrupt model file gives
 *     exit status 1 or 2, one message and no fct.txt. */
#include "testlib.h"
#include "scratch.h"

#include <sys/stat.h>

#include "core/rng.h"
#include "m4/model.h"
#include "m4sim.h"
#include "net/scenario.h"

/* The CLI re-executes itself with native OpenBLAS kernels where Debian's
 * build falls back to Prescott (src/cli/main.c); other kernels round sums
 * differently, which can move a predicted completion by a nanosecond. To
 * compare the CLI's numbers with this process's exactly, it gets our kernels. */
extern char *openblas_get_corename(void);

static char cli[1024];

static const m4_model_dims dims = {8, 6, 5, 4, M4_NEIGHBOURHOOD_LINKS, 3};

/* A random model whose slowdown MLP ends in bias b2 (create zeroes the last
 * layer: random weights there, so the prediction depends on the state). */
static void make_model_for(m4_model *m, uint64_t seed, float b2, int neighbourhood)
{
    m4_model_dims d = dims;
    d.neighbourhood = neighbourhood;
    CHECK_INT_EQ(m4_model_create(m, &d, seed), M4_OK);
    m4_rng r;
    m4_rng_seed(&r, seed + 17);
    for (int j = 0; j < dims.mlp_hidden; j++) m->w.slowdown.w2[j] = (float)(m4_rng_uniform(&r) - 0.5);
    m->w.slowdown.b2[0] = b2;
}

static void make_model(m4_model *m, uint64_t seed, float b2) { make_model_for(m, seed, b2, dims.neighbourhood); }

/* Three hosts (0, 1, 2) on switch 3, 10 Gb/s, 1 us. */
static const char *star = "4 1 3\n3\n0 3 10Gbps 1us 0\n1 3 10Gbps 1us 0\n2 3 10Gbps 1us 0\n";

typedef struct run_result {
    int64_t n;
    int64_t start[64], end[64], ideal[64];
    int completions[64];
    int bad_tags;
} run_result;

static void on_complete(m4_sim *sim, void *user, uint64_t tag, int32_t src, int32_t dst,
                        int64_t size, int64_t start_ns, int64_t end_ns)
{
    run_result *r = user;
    if (tag >= 64) {
        r->bad_tags++;
        return;
    }
    r->completions[tag]++;
}

static int run_api(const m4_scenario *sc, const char *model_path, run_result *out)
{
    memset(out, 0, sizeof *out);
    m4_sim_options o = {.backend = M4_BACKEND_M4, .model_path = model_path,
                        .on_complete = on_complete, .user = out};
    m4_sim *sim;
    int err = m4_sim_create(&sim, sc, &o);
    if (err) return err;
    if (!(err = m4_sim_start_scenario_flows(sim)) && !(err = m4_sim_run(sim))) {
        out->n = m4_sim_num_flows(sim);
        for (int64_t i = 0; i < out->n && i < 64; i++) {
            m4_flow_result fr;
            if ((err = m4_sim_flow_result(sim, i, &fr))) break;
            out->start[fr.tag] = fr.start_ns, out->end[fr.tag] = fr.end_ns;
            out->ideal[fr.tag] = fr.ideal_fct_ns;
        }
    }
    m4_sim_free(sim);
    return err;
}

/* slowdown_hat of a lone flow at its start, straight from the model. */
static double lone_slowdown(const m4_model *m, const m4_scenario *sc, int64_t size, int hops)
{
    const int H = m->dims.hidden;
    float h[64], z[4 * 64], dt[4] = {0}, ldt[4] = {0}, plen = (float)hops, one = 1.0f, cfg[16];
    m4_model_flow_init(h, H, size, hops);
    for (int l = 0; l < hops; l++) m4_model_link_init(z + l * H, H);
    m4_config_features(&sc->config, sc->window_bytes, cfg);
    int pf[4], pl[4];
    for (int l = 0; l < hops; l++) pf[l] = 0, pl[l] = l;
    m4_step_input in = {.num_flows = 1, .num_links = hops, .num_pairs = hops, .flow_h = h,
                        .link_z = z, .flow_dt = dt, .link_dt = ldt, .flow_path_length = &plen,
                        .flow_fair_share = &one, .flow_base_slowdown = &one, .config = cfg,
                        .pair_flow = pf, .pair_link = pl};
    m4_nn_arena arena;
    m4_nn_arena_init(&arena, 1 << 12);
    m4_step_record rec;
    double sd = NAN;
    if (m4_step_forward(&rec, m, &in, &arena, 0) == M4_OK) sd = rec.slowdown[0];
    m4_nn_arena_free(&arena);
    return sd;
}

static void setup(void)
{
    if (!realpath(m4t_cli(), cli)) {
        fprintf(stderr, "  no CLI at %s\n", m4t_cli());
        exit(1);
    }
    m4t_scratch_make("/tmp/m4sim-test-m4backend-XXXXXX");
}

static void lone_flow_follows_the_model(void)
{
    setup();
    mkdir(m4t_path("lone"), 0755);
    m4t_write_text("lone/topology.txt", star);
    /* One flow, 0 -> 2 at 10 us; a second much later on the reverse path
     * (other directed links: its own component). */
    m4t_write_text("lone/flows.txt", "2\n0 0 2 3 100 100000 0.00001\n1 2 0 3 100 3000 0.5\n");
    m4_scenario *sc;
    CHECK_INT_EQ(m4_scenario_load(&sc, m4t_path("lone")), M4_OK);
    const float biases[2] = {0.9f, -5.0f}; /* above 1, and clamped at 1 */
    for (int b = 0; b < 2; b++) {
        m4_model m;
        make_model(&m, 100 + b, biases[b]);
        CHECK_INT_EQ(m4_model_save(&m, m4t_path("lone.m4")), M4_OK);
        run_result r;
        CHECK_INT_EQ(run_api(sc, m4t_path("lone.m4"), &r), M4_OK);
        CHECK_INT_EQ(r.n, 2);
        const int64_t sizes[2] = {100000, 3000};
        for (int f = 0; f < 2; f++) {
            double sd = lone_slowdown(&m, sc, sizes[f], 2);
            double used = sd > 1 ? sd : 1;
            int64_t expected = (int64_t)(used * (double)r.ideal[f] + 0.5);
            fprintf(stderr, "  bias %.1f flow %d: slowdown_hat %.6f, ideal %lld, fct %lld\n",
                    biases[b], f, sd, (long long)r.ideal[f], (long long)(r.end[f] - r.start[f]));
            CHECK(b == 0 ? sd > 1.05 : sd < 1.0);
            CHECK_INT_EQ(r.end[f] - r.start[f], expected);
            CHECK_INT_EQ(r.completions[f], 1);
        }
        CHECK_INT_EQ(r.start[0], 10000);
        CHECK_INT_EQ(r.start[1], 500000000);
        /* The ideal FCT of this flow on this star, as computed by hand in
         * test_run_cli.c: 2000 + 2 x 838 + 79200 + 3762. */
        CHECK_INT_EQ(r.ideal[0], 86638);
        m4_model_free(&m);
    }
    m4_scenario_free(sc);
}

static void scenario_runs_are_sane_and_deterministic(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd %s && '%s' gen -o sc --topo star:hosts=4 --flows 40 --load 0.6 --seed 7 "
             ">/dev/null 2>&1", m4t_scratch, cli);
    CHECK_INT_EQ(m4t_sh(cmd), 0);
    m4_scenario *sc;
    CHECK_INT_EQ(m4_scenario_load(&sc, m4t_path("sc")), M4_OK);
    CHECK_INT_EQ(m4_scenario_num_flows(sc), 40);
    m4_model m;
    make_model(&m, 7, 0.6f);
    CHECK_INT_EQ(m4_model_save(&m, m4t_path("m.m4")), M4_OK);
    m4_model_free(&m);
    static run_result a, b;
    CHECK_INT_EQ(run_api(sc, m4t_path("m.m4"), &a), M4_OK);
    CHECK_INT_EQ(run_api(sc, m4t_path("m.m4"), &b), M4_OK);
    CHECK_INT_EQ(a.n, 40);
    CHECK_INT_EQ(a.bad_tags, 0);
    int once = 1, after_ideal = 1, slowed = 0;
    for (int f = 0; f < 40; f++) {
        once &= a.completions[f] == 1;
        after_ideal &= a.ideal[f] > 0 && a.end[f] >= a.start[f] + a.ideal[f];
        slowed += a.end[f] > a.start[f] + a.ideal[f];
    }
    CHECK(once);
    CHECK(after_ideal);
    CHECK(slowed > 0); /* the model does slow flows down */
    CHECK(memcmp(a.start, b.start, sizeof a.start) == 0 && memcmp(a.end, b.end, sizeof a.end) == 0);

    /* The CLI writes the same numbers into fct.txt. */
    const char *core = openblas_get_corename();
    snprintf(cmd, sizeof cmd,
             "cd %s && OPENBLAS_CORETYPE=%s '%s' run sc --backend m4 --model m.m4 --quiet "
             ">out.txt 2>err.txt", m4t_scratch, core ? core : "", cli);
    CHECK_INT_EQ(m4t_sh(cmd), 0);
    FILE *f = fopen(m4t_path("sc/m4/fct.txt"), "r");
    CHECK(f != NULL);
    if (f) {
        char line[512];
        CHECK(fgets(line, sizeof line, f) &&
              strcmp(line, "id src dst size start_ns fct_ns ideal_fct_ns slowdown\n") == 0);
        int rows = 0, match = 1;
        long long id, src, dst, size, start, fct, ideal;
        double slowdown;
        while (fscanf(f, "%lld %lld %lld %lld %lld %lld %lld %lf", &id, &src, &dst, &size, &start,
                      &fct, &ideal, &slowdown) == 8) {
            /* flows.txt ids are 0..39 in file order, so id = tag here */
            if (id < 0 || id >= 40) { match = 0; break; }
            int same = start == a.start[id] && fct == a.end[id] - a.start[id] && ideal == a.ideal[id];
            if (!same && match)
                fprintf(stderr, "  fct.txt id %lld: start %lld fct %lld ideal %lld; API %lld %lld %lld\n",
                        id, start, fct, ideal, (long long)a.start[id],
                        (long long)(a.end[id] - a.start[id]), (long long)a.ideal[id]);
            match &= same;
            match &= slowdown >= 1.0 && fabs(slowdown - (double)fct / (double)ideal) < 1e-5;
            rows++;
        }
        fclose(f);
        CHECK_INT_EQ(rows, 40);
        CHECK(match);
    }
    m4_scenario_free(sc);
}

/* Each neighbourhood the model file can name runs the 40-flow scenario to
 * the end: every flow once, none before start + ideal, the same twice; and
 * the three give different answers (they update different flows). */
static void every_neighbourhood_runs(void)
{
    static run_result r[3], again;
    for (int n = 0; n < 3; n++) {
        m4_model m;
        make_model_for(&m, 7, 0.6f, n);
        char name[32];
        snprintf(name, sizeof name, "n%d.m4", n);
        CHECK_INT_EQ(m4_model_save(&m, m4t_path(name)), M4_OK);
        m4_model_free(&m);
        m4_scenario *sc;
        CHECK_INT_EQ(m4_scenario_load(&sc, m4t_path("sc")), M4_OK);
        CHECK_INT_EQ(run_api(sc, m4t_path(name), &r[n]), M4_OK);
        CHECK_INT_EQ(run_api(sc, m4t_path(name), &again), M4_OK);
        m4_scenario_free(sc);
        int ok = r[n].n == 40 && r[n].bad_tags == 0;
        for (int f = 0; f < 40; f++)
            ok &= r[n].completions[f] == 1 && r[n].end[f] >= r[n].start[f] + r[n].ideal[f];
        CHECK(ok);
        CHECK(memcmp(r[n].end, again.end, sizeof again.end) == 0);
    }
    CHECK(memcmp(r[0].end, r[2].end, sizeof r[0].end) != 0);
    CHECK(memcmp(r[1].end, r[2].end, sizeof r[1].end) != 0);
}

static void bad_model_files(void)
{
    char cmd[4096];
    /* A corrupt model: the first half of a good one; and a file that is no model at all. */
    snprintf(cmd, sizeof cmd, "cd %s && head -c 300 m.m4 > half.m4 && echo hello > text.m4",
             m4t_scratch);
    CHECK_INT_EQ(m4t_sh(cmd), 0);
    const char *models[] = {"missing.m4", "half.m4", "text.m4"};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "cd %s && rm -rf sc/m4 && '%s' run sc --backend m4 --model %s "
                 ">out.txt 2>err.txt", m4t_scratch, cli, models[i]);
        int rc = m4t_sh(cmd);
        CHECK(rc == 1 || rc == 2);
        CHECK(!m4t_exists("sc/m4/fct.txt"));
        const char *text = m4t_read_text("err.txt");
        int lines = 0;
        for (const char *c = text; *c; c++) lines += *c == '\n';
        if (lines != 1 || !strstr(text, models[i]))
            fprintf(stderr, "  model %s: exit %d, stderr '%s'\n", models[i], rc, text);
        CHECK_INT_EQ(lines, 1);
        CHECK(strstr(text, models[i]) != NULL);
    }
    /* The API says the same: M4_EFORMAT for the corrupt one. */
    m4_scenario *sc;
    CHECK_INT_EQ(m4_scenario_load(&sc, m4t_path("sc")), M4_OK);
    m4_sim_options o = {.backend = M4_BACKEND_M4, .model_path = m4t_path("half.m4")};
    m4_sim *sim = NULL;
    CHECK_INT_EQ(m4_sim_create(&sim, sc, &o), M4_EFORMAT);
    m4_scenario_free(sc);
    m4t_scratch_remove();
}

M4_TEST_MAIN(M4_TEST(lone_flow_follows_the_model), M4_TEST(scenario_runs_are_sane_and_deterministic),
             M4_TEST(every_neighbourhood_runs), M4_TEST(bad_model_files))
