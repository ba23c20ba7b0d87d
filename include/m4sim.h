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
#define M4SIM_VERSION_MINOR 1
#define M4SIM_VERSION_PATCH 0
#define M4SIM_VERSION_STRING "0.1.0"

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
int64_t m4_sim_active_flows(const m4_sim *sim);

#ifdef __cplusplus
}
#endif
#endif
