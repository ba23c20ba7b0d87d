/* Embedding m4sim: a ring all-reduce driven from completion callbacks.
 *
 * Built by `make examples` against the public header alone; after
 * `make install` it builds with
 *   cc ring_allreduce.c $(pkg-config --cflags --libs m4sim)
 *
 *   ring_allreduce [--backend flow|packet] [--topo SPEC] [--hosts N] [--bytes B]
 *
 * N hosts (the first N of the topology) reduce B bytes: 2(N-1) steps, in each
 * of which host i sends a chunk of ceil(B/N) bytes to host i+1 mod N. A host
 * sends its step-k chunk once its own step k-1 send has completed and the
 * step k-1 chunk from its left neighbour has arrived, so the next flows are
 * started from inside the completion callback, the way a training simulator
 * would drive the network. Prints the time of each step and the total. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m4sim.h"

typedef struct ring {
    int32_t n, steps;
    int64_t chunk;
    int32_t *node;      /* node id of ring position i */
    int32_t *sent;      /* sends completed by position i */
    int32_t *received;  /* chunks received by position i */
    int32_t *started;   /* sends started by position i */
    int64_t *step_end;  /* latest end of a step-k flow */
    int error;
} ring;

/* Start position i's next send if both of its conditions hold. */
static void try_send(m4_sim *sim, ring *r, int32_t i)
{
    int32_t k = r->started[i];
    if (k >= r->steps || r->sent[i] < k || r->received[i] < k)
        return;
    r->started[i]++;
    uint64_t tag = (uint64_t)k * (uint64_t)r->n + (uint64_t)i;
    int err = m4_sim_start_flow(sim, r->node[i], r->node[(i + 1) % r->n], r->chunk,
                                m4_sim_now(sim), tag);
    if (err && !r->error) {
        r->error = err;
        fprintf(stderr, "ring_allreduce: %s\n", m4_last_error());
    }
}

static void on_complete(m4_sim *sim, void *user, uint64_t tag, int32_t src, int32_t dst,
                        int64_t size_bytes, int64_t start_ns, int64_t end_ns)
{
    ring *r = user;
    int32_t k = (int32_t)(tag / (uint64_t)r->n), i = (int32_t)(tag % (uint64_t)r->n);
    int32_t next = (i + 1) % r->n;
    r->sent[i] = k + 1;
    r->received[next] = k + 1;
    if (end_ns > r->step_end[k])
        r->step_end[k] = end_ns;
    try_send(sim, r, i);
    try_send(sim, r, next);
}

int main(int argc, char **argv)
{
    const char *backend_name = "flow", *topo = "star:hosts=8,rate=10Gbps,delay=1us";
    int32_t n = 8;
    int64_t bytes = 8000000;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
            printf("usage: ring_allreduce [--backend flow|packet|m4] [--topo SPEC] [--hosts N] "
                   "[--bytes B]\n(defaults: flow, %s, 8 hosts, 8000000 bytes)\n", topo);
            return 0;
        }
        if (a + 1 >= argc) {
            fprintf(stderr, "ring_allreduce: %s needs a value (see --help)\n", argv[a]);
            return 2;
        }
        if (strcmp(argv[a], "--backend") == 0)
            backend_name = argv[++a];
        else if (strcmp(argv[a], "--topo") == 0)
            topo = argv[++a];
        else if (strcmp(argv[a], "--hosts") == 0)
            n = (int32_t)atoi(argv[++a]);
        else if (strcmp(argv[a], "--bytes") == 0)
            bytes = atoll(argv[++a]);
        else {
            fprintf(stderr, "ring_allreduce: unknown option '%s' (see --help)\n", argv[a]);
            return 2;
        }
    }
    m4_backend_kind kind;
    if (strcmp(backend_name, "flow") == 0)
        kind = M4_BACKEND_FLOW;
    else if (strcmp(backend_name, "packet") == 0)
        kind = M4_BACKEND_PACKET;
    else if (strcmp(backend_name, "m4") == 0)
        kind = M4_BACKEND_M4;
    else {
        fprintf(stderr, "ring_allreduce: unknown backend '%s'\n", backend_name);
        return 2;
    }

    m4_scenario *scenario = NULL;
    int err = m4_scenario_build(&scenario, topo, "dctcp");
    if (err) {
        fprintf(stderr, "ring_allreduce: %s: %s\n", m4_strerror(err), m4_last_error());
        return 2;
    }
    if (n < 2 || n > m4_scenario_num_hosts(scenario) || bytes <= 0) {
        fprintf(stderr, "ring_allreduce: need 2 <= hosts <= %d and bytes > 0\n",
                m4_scenario_num_hosts(scenario));
        m4_scenario_free(scenario);
        return 2;
    }
    ring r = {.n = n, .steps = 2 * (n - 1), .chunk = (bytes + n - 1) / n};
    r.node = calloc((size_t)n, sizeof *r.node);
    r.sent = calloc((size_t)n, sizeof *r.sent);
    r.received = calloc((size_t)n, sizeof *r.received);
    r.started = calloc((size_t)n, sizeof *r.started);
    r.step_end = calloc((size_t)r.steps, sizeof *r.step_end);
    if (!r.node || !r.sent || !r.received || !r.started || !r.step_end) {
        fprintf(stderr, "ring_allreduce: out of memory\n");
        return 1;
    }
    for (int32_t i = 0; i < n; i++)
        r.node[i] = m4_scenario_host_node(scenario, i);

    m4_sim_options options = {.backend = kind, .on_complete = on_complete, .user = &r};
    m4_sim *sim = NULL;
    err = m4_sim_create(&sim, scenario, &options);
    for (int32_t i = 0; !err && i < n; i++)
        try_send(sim, &r, i);
    if (!err)
        err = r.error ? r.error : m4_sim_run(sim);
    int status = 0;
    if (err) {
        fprintf(stderr, "ring_allreduce: %s: %s\n", m4_strerror(err), m4_last_error());
        status = err == M4_ENOTSUP ? 1 : 2;
    } else {
        printf("m4sim %s, backend %s, %d hosts, %lld bytes, chunk %lld\n", M4SIM_VERSION_STRING,
               backend_name, n, (long long)bytes, (long long)r.chunk);
        for (int32_t k = 0; k < r.steps; k++)
            printf("step %d ends at %lld ns\n", k, (long long)r.step_end[k]);
        printf("completion_ns %lld\n", (long long)m4_sim_now(sim));
    }
    m4_sim_free(sim);
    m4_scenario_free(scenario);
    free(r.node);
    free(r.sent);
    free(r.received);
    free(r.started);
    free(r.step_end);
    return status;
}
