/* The one simulation interface every backend implements.
 *
 * The driver (sim.c) owns the queue of future flow starts, routes each flow,
 * and delivers completion callbacks; a backend only has to
 *   - accept a flow starting now (add_flow, called with start_ns >= the time
 *     of every event it has processed),
 *   - say when its next internal event is (next_event_time), and
 *   - process its events up to a time (advance), returning early right after
 *     an event time at which one or more flows completed, so the driver can
 *     run callbacks that start new flows before the backend moves on.
 * A backend therefore never has to be re-entrant. */
#ifndef M4_SIM_SIM_H
#define M4_SIM_SIM_H

#include <stdio.h>

#include "m4sim.h"
#include "net/scenario.h"

typedef struct m4_completion {
    int64_t handle;
    int64_t end_ns; /* arrival of the last byte at the receiver */
} m4_completion;

typedef struct m4_completion_list {
    m4_completion *items;
    int64_t count, capacity;
} m4_completion_list;

int m4_completion_push(m4_completion_list *list, int64_t handle, int64_t end_ns);

typedef struct m4_backend_params {
    const char *model_path; /* m4: model file (NULL = default) */
    const char *trace_dir;  /* packet: write dense-supervision trace here (NULL = off) */
    int threads;
    FILE *log;              /* progress/diagnostics, NULL = silent */
} m4_backend_params;

typedef struct m4_flow_start {
    int64_t handle;         /* dense 0.. index assigned by the driver */
    int64_t flow_id;        /* id used for ECMP hashing and output */
    int32_t src, dst;
    int64_t size_bytes;
    int64_t start_ns;
    const int32_t *path;    /* directed links, valid only during the call */
    int32_t num_hops;
    int64_t ideal_fct_ns;
    int32_t priority;       /* the flow's pg (flows.txt), M4_GEN_PRIORITY for flows started
                               through m4_sim_start_flow; only the packet backend uses it
                               (0..6, its data queue) */
} m4_flow_start;

typedef struct m4_backend_ops {
    const char *name;
    int (*create)(void **state, const m4_scenario *scenario, const m4_backend_params *params);
    void (*destroy)(void *state);
    int (*add_flow)(void *state, const m4_flow_start *flow);
    int64_t (*next_event_time)(void *state); /* INT64_MAX when idle */
    int (*advance)(void *state, int64_t until_ns, m4_completion_list *completed);
    /* Optional: called once when the driver is done (write traces/stats). */
    int (*finish)(void *state);
} m4_backend_ops;

extern const m4_backend_ops m4_flow_backend;
extern const m4_backend_ops m4_packet_backend;
extern const m4_backend_ops m4_m4_backend;

const m4_backend_ops *m4_backend_by_kind(m4_backend_kind kind);
int m4_backend_from_name(const char *name, m4_backend_kind *out);

/* Driver internals exposed to the CLI (per-flow results for fct.txt). */
typedef struct m4_sim_flow {
    int64_t flow_id;
    int32_t src, dst;
    int64_t size_bytes;
    int64_t start_ns;
    int64_t end_ns;         /* -1 until complete */
    int64_t ideal_fct_ns;
    uint64_t tag;
    int32_t priority;       /* pg, passed to the backend in m4_flow_start */
} m4_sim_flow;

/* Create with explicit backend parameters (trace dir etc.). */
int m4_sim_create_ex(m4_sim **out, const m4_scenario *scenario, const m4_sim_options *options,
                     const m4_backend_params *params);
/* Start a flow with an explicit id (used for ECMP hashing and output). */
int m4_sim_start_flow_id(m4_sim *sim, int64_t flow_id, int32_t src, int32_t dst,
                         int64_t size_bytes, int64_t start_ns, uint64_t tag);
int64_t m4_sim_num_flows(const m4_sim *sim);
const m4_sim_flow *m4_sim_flow_at(const m4_sim *sim, int64_t handle);
/* Tell the backend the run is over (writes traces); m4_sim_run calls it at idle. */
int m4_sim_finish(m4_sim *sim);

/* fct.txt: header "id src dst size start_ns fct_ns ideal_fct_ns slowdown",
 * one row per completed flow sorted by id. Atomic. */
int m4_fct_write(const char *path, const m4_sim *sim);
/* summary.txt: "key value" lines backend, scenario, flows, completed, wall_s,
 * sim_end_ns, peak_rss_mb, slowdown_mean/p50/p90/p99 over the completed
 * flows. Atomic; echo (may be NULL) gets the same lines. */
int m4_summary_write(const char *path, const char *backend, const char *scenario,
                     const m4_sim *sim, double wall_s, FILE *echo);

#endif
