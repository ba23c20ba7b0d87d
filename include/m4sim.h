/* m4sim: a learned flow-level network simulator for data-center networks.
 *
 * The one public header of the library. Every function returns 0 (M4_OK) or a
 * negative error code; m4_strerror() turns a code into a short message and
 * m4_last_error() gives the detail of the last failure in this thread
 * ("file:line: what is wrong"). The library never exits the process and never
 * prints unless asked.
 */
#ifndef M4SIM_H
#define M4SIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define M4SIM_VERSION_MAJOR 0
#define M4SIM_VERSION_MINOR 2
#define M4SIM_VERSION_PATCH 0
#define M4SIM_VERSION_STRING "0.2.0"
/* One number for compile-time checks: MAJOR * 10000 + MINOR * 100 + PATCH.
 * 0.2.0 added max_inflight, m4_scenario_build/m4_scenario_set, per-flow
 * results and the application (m4_app_*) API. */
#define M4SIM_VERSION (M4SIM_VERSION_MAJOR * 10000 + M4SIM_VERSION_MINOR * 100 + M4SIM_VERSION_PATCH)

/* ---- errors ------------------------------------------------------------ */

enum m4_error {
    M4_OK = 0,
    M4_EINVAL = -1,   /* invalid argument or value out of range */
    M4_ENOMEM = -2,   /* out of memory */
    M4_EIO = -3,      /* file could not be opened, read or written */
    M4_EPARSE = -4,   /* malformed input file */
    M4_ENOTSUP = -5,  /* not supported (e.g. a backend not built) */
    M4_ENOROUTE = -6, /* no path between two hosts */
    M4_EFORMAT = -7,  /* binary file of the wrong format, version or checksum */
    M4_ESTATE = -8,   /* call not allowed in the current state */
};

/* Short message for an error code ("invalid argument", ...). */
const char *m4_strerror(int err);
/* Detail of the last error set in this thread, or "" if none. */
const char *m4_last_error(void);

/* ---- scenarios ------------------------------------------------------------ */

typedef struct m4_scenario m4_scenario;

/* Load DIR/topology.txt, DIR/flows.txt (optional: missing = no flows) and
 * DIR/config.txt (optional: missing = defaults). */
int m4_scenario_load(m4_scenario **out, const char *dir);
/* Build from explicit files; flows_path and config_path may be NULL. */
int m4_scenario_load_files(m4_scenario **out, const char *topology_path,
                           const char *flows_path, const char *config_path);
void m4_scenario_free(m4_scenario *scenario);
int32_t m4_scenario_num_hosts(const m4_scenario *scenario);
/* Node id of the i-th host (hosts are the non-switch nodes, in id order). */
int32_t m4_scenario_host_node(const m4_scenario *scenario, int32_t host_index);
int64_t m4_scenario_num_flows(const m4_scenario *scenario);
/* Build a scenario without files: topology_spec is what `m4sim gen --topo`
 * takes ("fabric:pods=2,racks=4,hosts=4", "star:hosts=8,rate=10Gbps,delay=1us",
 * ... or a path to a topology.txt); cc is "dctcp", "dcqcn", "hpcc" or "timely"
 * (NULL = dctcp) and selects that CC's default settings. No flows. */
int m4_scenario_build(m4_scenario **out, const char *topology_spec, const char *cc);
/* Change one config.txt setting (key and value as in config.txt, e.g.
 * "BUFFER_KB", "600"). Setting CC resets the other keys to that CC's
 * defaults. Only before a simulator is created on the scenario. */
int m4_scenario_set(m4_scenario *scenario, const char *key, const char *value);

/* ---- simulation --------------------------------------------------------- */

typedef enum m4_backend_kind {
    M4_BACKEND_FLOW = 0,   /* max-min fair flow-level simulation */
    M4_BACKEND_PACKET = 1, /* packet-level ground truth */
    M4_BACKEND_M4 = 2,     /* learned flow-level simulation */
} m4_backend_kind;

typedef struct m4_sim m4_sim;

/* Called once per completed flow, from inside m4_sim_run_*(). The callback may
 * start new flows (at the current time or later) with m4_sim_start_flow(). */
typedef void (*m4_completion_cb)(m4_sim *sim, void *user, uint64_t tag,
                                 int32_t src, int32_t dst, int64_t size_bytes,
                                 int64_t start_ns, int64_t end_ns);

typedef struct m4_sim_options {
    m4_backend_kind backend;
    const char *model_path; /* m4 backend: model file, NULL = default model */
    int threads;            /* 0 = 1 thread */
    m4_completion_cb on_complete;
    void *user;
    /* Closed loop: at most this many active flows per source host (0 =
     * unlimited). A flow whose source is at the limit when it should start
     * waits (first come, first served) and starts when one of that host's
     * flows completes; its start time is then that completion time. */
    int32_t max_inflight;
} m4_sim_options;

/* Create a simulator over the scenario's topology and config. The scenario's
 * own flows are not started: see m4_sim_start_scenario_flows(). The scenario
 * must outlive the simulator. */
int m4_sim_create(m4_sim **out, const m4_scenario *scenario, const m4_sim_options *options);
void m4_sim_free(m4_sim *sim);
/* Start a flow of size_bytes from host node src to host node dst at start_ns
 * (>= the current time; later times are queued). tag comes back in the
 * completion callback. */
int m4_sim_start_flow(m4_sim *sim, int32_t src, int32_t dst, int64_t size_bytes,
                      int64_t start_ns, uint64_t tag);
/* Queue every flow of the scenario at its start time; tag = index in the file. */
int m4_sim_start_scenario_flows(m4_sim *sim);
/* Process every event with time <= until_ns, then set the clock to until_ns. */
int m4_sim_run_until(m4_sim *sim, int64_t until_ns);
/* Run until no flow is active or queued. */
int m4_sim_run(m4_sim *sim);
int64_t m4_sim_now(const m4_sim *sim);
/* Flows started in the network and not yet complete (not counting flows
 * queued for a later start or waiting for a max_inflight slot). */
int64_t m4_sim_active_flows(const m4_sim *sim);

/* Per-flow results, in the order the flows were started (index 0..n-1). */
typedef struct m4_flow_result {
    uint64_t tag;
    int64_t id;            /* flow id (ECMP hash, fct.txt id column) */
    int32_t src, dst;
    int64_t size_bytes;
    int64_t start_ns;      /* when it entered the network */
    int64_t end_ns;        /* arrival of its last byte; -1 while not complete */
    int64_t ideal_fct_ns;  /* 0 until it has started */
} m4_flow_result;

int64_t m4_sim_num_flows(const m4_sim *sim);
int m4_sim_flow_result(const m4_sim *sim, int64_t index, m4_flow_result *out);
/* fct.txt of the completed flows (header "id src dst size start_ns fct_ns
 * ideal_fct_ns slowdown", sorted by id), written atomically. */
int m4_sim_write_fct(const m4_sim *sim, const char *path);

/* ---- closed-loop applications ------------------------------------------- */

/* A dependency graph of flows: each flow starts when every flow it depends on
 * has completed, plus its think (compute) time; a flow without dependencies
 * starts at its think time after the application's start (time 0). The text
 * format is described in README.md ("Closed-loop applications") and by
 * `m4sim app --help`. Flows are numbered 0.. in the order they were added;
 * that number is their flow id and tag in the simulation. */
typedef struct m4_app m4_app;

int m4_app_new(m4_app **out);
/* Parse an application file; errors name "path:line". */
int m4_app_load(m4_app **out, const char *path);
void m4_app_free(m4_app *app);
/* Add a flow; deps are names of flows added before (so the graph has no
 * cycles); *index_out (may be NULL) receives its number. */
int m4_app_add_flow(m4_app *app, const char *name, int32_t src, int32_t dst, int64_t size_bytes,
                    const char *const *deps, int num_deps, int64_t think_ns, int64_t *index_out);
/* Ring all-reduce of bytes over hosts[0..n-1] (node ids, n >= 2): 2(n-1)
 * steps (reduce-scatter, then all-gather) in which host i sends one chunk of
 * ceil(bytes/n) to host i+1 mod n; a host's step-k send depends on its own
 * step k-1 send and on the step k-1 chunk it received, plus think_ns (the
 * reduction). Flow names: "s<step>h<i>". */
int m4_app_ring_allreduce(m4_app **out, const int32_t *hosts, int32_t n, int64_t bytes,
                          int64_t think_ns);
/* Write the application in the text format (atomic). */
int m4_app_write(const m4_app *app, const char *path);
int64_t m4_app_num_flows(const m4_app *app);

/* Simulate the application on a scenario's topology and config (the
 * scenario's own flows are not used). options->on_complete, if set, is
 * called after the application's own bookkeeping for every completed flow
 * and may start further (non-application) flows. The results stay in app
 * until the next run or m4_app_free. */
int m4_app_run(m4_app *app, const m4_scenario *scenario, const m4_sim_options *options);
/* Completion time of the last run: the end of its last flow, ns. */
int64_t m4_app_completion_ns(const m4_app *app);
/* Start and end of flow index in the last run. */
int m4_app_flow_times(const m4_app *app, int64_t index, int64_t *start_ns, int64_t *end_ns);
/* The simulator of the last run (for m4_sim_flow_result, m4_sim_write_fct). */
const m4_sim *m4_app_sim(const m4_app *app);
/* Write DIR/fct.txt, DIR/throughput.txt (header "start_ns end_ns bytes gbps",
 * bins of bin_ns, 0 = completion/100 rounded up; each flow's bytes spread
 * evenly over its lifetime) and DIR/app.txt ("key value" lines: flows,
 * bytes, completion_ns, throughput_gbps), each atomically; DIR is created. */
int m4_app_write_results(const m4_app *app, const char *dir, int64_t bin_ns);

#ifdef __cplusplus
}
#endif
#endif
