/* The simulation driver with the flow backend: lone flows at their ideal FCT,
 * completion callbacks that start new flows, run_until stepping, bad starts,
 * and the fct.txt writer. */
#include "testlib.h"

#include <unistd.h>

#include "core/error.h"
#include "core/rng.h"
#include "net/scenario.h"
#include "sim/sim.h"

static int make_scenario(m4_scenario *sc, const char *spec)
{
    memset(sc, 0, sizeof *sc);
    int err = m4_topology_from_spec(&sc->topology, spec);
    if (!err)
        err = m4_routing_init(&sc->routing, &sc->topology);
    m4_config_defaults(&sc->config, M4_CC_DCTCP);
    return err;
}

static void free_scenario(m4_scenario *sc)
{
    m4_routing_free(&sc->routing);
    m4_topology_free(&sc->topology);
}

static m4_sim *new_sim(const m4_scenario *sc, m4_completion_cb cb, void *user)
{
    m4_sim_options options = {.backend = M4_BACKEND_FLOW, .on_complete = cb, .user = user};
    m4_sim *sim = NULL;
    if (m4_sim_create(&sim, sc, &options) != M4_OK)
        return NULL;
    return sim;
}

static void lone_flows_take_their_ideal_fct(void)
{
    /* Two hosts on one switch, 10 Gb/s and 1 us links: DESIGN.md's examples. */
    m4_scenario sc;
    CHECK(make_scenario(&sc, "star:hosts=2,rate=10Gbps,delay=1us") == M4_OK);
    m4_sim *sim = new_sim(&sc, NULL, NULL);
    CHECK(sim != NULL);
    if (!sim)
        return;
    int32_t a = sc.topology.host_nodes[0], b = sc.topology.host_nodes[1];
    CHECK(m4_sim_start_flow(sim, a, b, 5444, 1000000000, 0) == M4_OK);
    CHECK(m4_sim_start_flow(sim, a, b, 70220, 1500000000, 1) == M4_OK);
    CHECK(m4_sim_run(sim) == M4_OK);
    const m4_sim_flow *f0 = m4_sim_flow_at(sim, 0), *f1 = m4_sim_flow_at(sim, 1);
    CHECK_INT_EQ(f0->ideal_fct_ns, 7421);
    CHECK_INT_EQ(f1->ideal_fct_ns, 61712);
    CHECK_INT_EQ(f0->end_ns - f0->start_ns, 7421);
    CHECK_INT_EQ(f1->end_ns - f1->start_ns, 61712);
    m4_sim_free(sim);
    free_scenario(&sc);
}

typedef struct chain {
    int64_t remaining;
    int64_t last_end;
    int64_t ends[16];
    int count;
    int32_t a, b;
} chain;

static void start_next(m4_sim *sim, void *user, uint64_t tag, int32_t src, int32_t dst,
                       int64_t size, int64_t start_ns, int64_t end_ns)
{
    chain *c = user;
    CHECK(end_ns >= c->last_end);
    CHECK_INT_EQ(m4_sim_now(sim), end_ns);
    c->last_end = end_ns;
    if (c->count < 16)
        c->ends[c->count] = end_ns;
    c->count++;
    if (c->remaining-- > 0)
        CHECK(m4_sim_start_flow(sim, dst, src, size, end_ns, tag + 1) == M4_OK);
}

static void callbacks_start_new_flows(void)
{
    /* A ping-pong of 10 lone flows: each starts when the previous one ends,
     * so flow k ends at (k + 1) x ideal. */
    m4_scenario sc;
    CHECK(make_scenario(&sc, "star:hosts=2,rate=10Gbps,delay=1us") == M4_OK);
    chain c = {9, 0, {0}, 0, 0, 0};
    m4_sim *sim = new_sim(&sc, start_next, &c);
    if (!sim)
        return;
    CHECK(m4_sim_start_flow(sim, sc.topology.host_nodes[0], sc.topology.host_nodes[1], 5444, 0,
                            0) == M4_OK);
    CHECK(m4_sim_run(sim) == M4_OK);
    CHECK_INT_EQ(c.count, 10);
    for (int k = 0; k < 10; k++)
        CHECK_INT_EQ(c.ends[k], (k + 1) * 7421);
    CHECK_INT_EQ(m4_sim_num_flows(sim), 10);
    CHECK_INT_EQ(m4_sim_active_flows(sim), 0);
    m4_sim_free(sim);
    free_scenario(&sc);
}

static void random_flows(m4_sim *sim, const m4_scenario *sc, uint64_t seed, int n)
{
    m4_rng rng;
    m4_rng_seed(&rng, seed);
    int64_t t = 0;
    for (int i = 0; i < n; i++) {
        int32_t hosts = sc->topology.num_hosts;
        int32_t s = (int32_t)m4_rng_below(&rng, (uint64_t)hosts);
        int32_t d = (int32_t)m4_rng_below(&rng, (uint64_t)(hosts - 1));
        if (d >= s)
            d++;
        t += (int64_t)m4_rng_below(&rng, 3000);
        CHECK(m4_sim_start_flow(sim, sc->topology.host_nodes[s], sc->topology.host_nodes[d],
                                1 + (int64_t)m4_rng_below(&rng, 300000), t, (uint64_t)i) == M4_OK);
    }
}

static void run_until_steps_match_one_run(void)
{
    m4_scenario sc;
    CHECK(make_scenario(&sc, "fabric:pods=2,racks=2,hosts=4") == M4_OK);
    uint64_t seed = m4t_seed();
    enum { N = 300 };
    m4_sim *whole = new_sim(&sc, NULL, NULL), *stepped = new_sim(&sc, NULL, NULL);
    if (!whole || !stepped)
        return;
    random_flows(whole, &sc, seed, N);
    random_flows(stepped, &sc, seed, N);
    CHECK(m4_sim_run(whole) == M4_OK);
    int64_t t = 0;
    while (m4_sim_active_flows(stepped) > 0 || t < 2000000) {
        t += 7919;
        CHECK(m4_sim_run_until(stepped, t) == M4_OK);
        CHECK_INT_EQ(m4_sim_now(stepped), t);
        /* Every flow that ended by t is complete; none after. */
        for (int64_t i = 0; i < N; i++) {
            const m4_sim_flow *w = m4_sim_flow_at(whole, i), *s = m4_sim_flow_at(stepped, i);
            CHECK((s->end_ns >= 0) == (w->end_ns <= t));
        }
        if (t > 1000000000)
            break;
    }
    CHECK(m4_sim_run(stepped) == M4_OK);
    for (int64_t i = 0; i < N; i++) {
        const m4_sim_flow *w = m4_sim_flow_at(whole, i), *s = m4_sim_flow_at(stepped, i);
        CHECK_INT_EQ(s->end_ns, w->end_ns);
        CHECK(w->end_ns - w->start_ns >= w->ideal_fct_ns);
    }
    m4_sim_free(whole);
    m4_sim_free(stepped);
    free_scenario(&sc);
}

static void bad_starts_are_rejected(void)
{
    m4_scenario sc;
    CHECK(make_scenario(&sc, "star:hosts=3") == M4_OK);
    m4_sim *sim = new_sim(&sc, NULL, NULL);
    if (!sim)
        return;
    int32_t h0 = sc.topology.host_nodes[0], h1 = sc.topology.host_nodes[1];
    int32_t sw = -1;
    for (int32_t v = 0; v < sc.topology.num_nodes; v++)
        if (sc.topology.is_switch[v])
            sw = v;
    CHECK(m4_sim_start_flow(sim, h0, h0, 100, 0, 0) == M4_EINVAL);
    CHECK(m4_sim_start_flow(sim, h0, sw, 100, 0, 0) == M4_EINVAL);
    CHECK(m4_sim_start_flow(sim, h0, h1, 0, 0, 0) == M4_EINVAL);
    CHECK(m4_sim_start_flow(sim, h0, 999, 100, 0, 0) == M4_EINVAL);
    CHECK(m4_sim_run_until(sim, 5000) == M4_OK);
    CHECK(m4_sim_start_flow(sim, h0, h1, 100, 4999, 0) == M4_EINVAL);
    CHECK(strstr(m4_last_error(), "before now") != NULL);
    CHECK(m4_sim_start_flow(sim, h0, h1, 100, 5000, 0) == M4_OK);
    CHECK(m4_sim_run(sim) == M4_OK);
    CHECK_INT_EQ(m4_sim_num_flows(sim), 1);
    m4_sim_free(sim);
    free_scenario(&sc);
}

static void fct_file_is_sorted_and_deterministic(void)
{
    m4_scenario sc;
    CHECK(make_scenario(&sc, "fabric:pods=2,racks=2,hosts=4") == M4_OK);
    char dir[] = "/tmp/m4sim-test-sim-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char paths[2][600];
    for (int run = 0; run < 2; run++) {
        m4_sim *sim = new_sim(&sc, NULL, NULL);
        if (!sim)
            return;
        /* Ids in reverse order of start, so sorting by id is visible. */
        for (int i = 0; i < 50; i++)
            CHECK(m4_sim_start_flow_id(sim, 1000 - i, sc.topology.host_nodes[i % 16],
                                       sc.topology.host_nodes[(i * 7 + 3) % 16 == i % 16
                                                                  ? (i + 1) % 16
                                                                  : (i * 7 + 3) % 16],
                                       1000 + 977 * i, 100 * i, 0) == M4_OK);
        CHECK(m4_sim_run(sim) == M4_OK);
        snprintf(paths[run], sizeof paths[run], "%s/fct%d.txt", dir, run);
        CHECK(m4_fct_write(paths[run], sim) == M4_OK);
        m4_sim_free(sim);
    }
    FILE *a = fopen(paths[0], "r"), *b = fopen(paths[1], "r");
    CHECK(a && b);
    if (a && b) {
        char la[256], lb[256];
        int lines = 0;
        long long prev = -1;
        while (fgets(la, sizeof la, a)) {
            CHECK(fgets(lb, sizeof lb, b) != NULL);
            CHECK(strcmp(la, lb) == 0);
            if (lines == 0)
                CHECK(strcmp(la, "id src dst size start_ns fct_ns ideal_fct_ns slowdown\n") == 0);
            else {
                long long id = atoll(la);
                CHECK(id > prev);
                prev = id;
            }
            lines++;
        }
        CHECK_INT_EQ(lines, 51);
    }
    if (a)
        fclose(a);
    if (b)
        fclose(b);
    unlink(paths[0]);
    unlink(paths[1]);
    rmdir(dir);
    free_scenario(&sc);
}

M4_TEST_MAIN(M4_TEST(lone_flows_take_their_ideal_fct), M4_TEST(callbacks_start_new_flows),
             M4_TEST(run_until_steps_match_one_run), M4_TEST(bad_starts_are_rejected),
             M4_TEST(fct_file_is_sorted_and_deterministic))
