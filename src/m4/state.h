/* The m4 simulation state shared by the trainer and the learned backend:
 * which flows are active on which directed links, each flow's and link's
 * state vector and last update time, and the connected component an event
 * touches (flows sharing links, transitively).
 *
 * Flows live in caller-chosen slots (the trainer uses the flow's index, the
 * backend reuses slots of completed flows so memory follows the active
 * flows). */
#ifndef M4_M4_STATE_H
#define M4_M4_STATE_H

#include <stdint.h>

#include "m4/model.h"
#include "nn/arena.h"
#include "net/routing.h"

typedef struct m4_link_flows {
    int32_t *slots;
    int32_t count, capacity;
} m4_link_flows;

typedef struct m4_state {
    int H;
    int32_t num_links;
    /* per flow slot */
    int32_t flow_capacity;
    float *flow_h;                 /* [capacity * H] */
    int64_t *flow_last_ns;
    int32_t *flow_num_hops;
    int32_t *flow_path;            /* [capacity * M4_MAX_HOPS] */
    uint32_t *flow_mark;
    unsigned char *flow_active;
    /* the fluid (flowSim) view of each flow, advanced lazily per component */
    double *flow_fluid_bits;       /* bits left under max-min rates */
    double *flow_wire_bits;        /* its whole size on the wire, in bits */
    double *flow_fluid_bps;        /* current max-min rate */
    double *flow_bottleneck_bps;
    int64_t *flow_fluid_ns;        /* time the fluid view was last advanced */
    int64_t *flow_tx_done_ns;      /* when its bits ran out in the fluid view (-1: not yet) */
    int64_t *flow_start_ns, *flow_ideal_ns, *flow_extra_ns;
    /* per directed link */
    float *link_z;                 /* [num_links * H] */
    int64_t *link_last_ns;
    uint32_t *link_mark;
    m4_link_flows *link_flows;
    uint32_t mark;
    /* the last component (m4_state_component) */
    int32_t comp_num_flows, comp_num_links, comp_num_pairs;
    /* The part the model's graph sees: the first comp_graph_links link rows
     * and the first comp_graph_pairs pairs (all of them unless the
     * neighbourhood is LINKS, where they are the event's links). */
    int32_t comp_graph_links, comp_graph_pairs;
    int32_t *comp_flows;           /* slots */
    int32_t *comp_links;           /* link ids */
    int32_t *comp_link_row;        /* [num_links] row of a link in the component */
    int *pair_flow, *pair_link;    /* rows */
    int32_t comp_capacity_flows, comp_capacity_pairs;
    double *link_bps;              /* [num_links] rates for the fair shares (default 1) */
    double *link_demand_bps;       /* [num_links] sum of its active flows' bottleneck rates */
    /* Each link's work-conserving backlog: the wire bits of every flow
     * that entered it, drained at the full link rate (m4_state_capacity_floor). */
    double *link_backlog_bits;
    int64_t *link_backlog_ns;      /* when it was last drained */
    /* Components through coupling links only (set by the trainer and the
     * backend): a link whose flows' bottleneck rates add up to at most its
     * capacity can never be the constraint of any of them, so it does not
     * tie them together (the flow backend's rule). Its flows still list it
     * as a node of the graph. 0 = every shared link couples. */
    int couple_only;
    m4_neighbourhood neighbourhood;
    double *fair_capacity;         /* [num_links] scratch of m4_state_fair_share */
    double *link_rate_sum;         /* [num_links] scratch of m4_state_path_load */
    int32_t *fair_unfrozen;
    int32_t *fair_link_offset;     /* [num_links + 1] CSR of pairs by link row */
    int32_t *fair_link_pairs;
    unsigned char *fair_frozen;    /* per component flow row */
    int32_t fair_capacity_rows, fair_capacity_pairs;
    struct end_row *floor_scratch; /* m4_state_capacity_floor, by pair */
    unsigned char *floor_taken;
    int32_t floor_capacity;
    /* links reset by the last m4_state_remove_flow */
    int32_t num_reset_links;
    int32_t reset_links[M4_MAX_HOPS];
} m4_state;

int m4_state_init(m4_state *s, int H, int32_t num_links, int32_t flow_capacity);
void m4_state_free(m4_state *s);
/* Make room for slots < capacity. */
int m4_state_reserve_flows(m4_state *s, int32_t capacity);
/* A flow arrives at now_ns: initial state, on its links' lists. Links that
 * had no flow start from their initial state at now_ns. */
int m4_state_add_flow(m4_state *s, int32_t slot, const int32_t *path, int32_t num_hops,
                      int64_t size_bytes, int64_t now_ns);
/* A flow leaves; links left without flows are reset to their initial state
 * (listed in reset_links). */
void m4_state_remove_flow(m4_state *s, int32_t slot);
/* The flows and links an event on these links updates (see
 * m4_neighbourhood): fills comp_flows / comp_links / pairs, the seed links
 * first. Under COMPONENT the seed links always spread to their flows, other
 * links only when they couple (see couple_only). */
int m4_state_component(m4_state *s, const int32_t *seed_links, int32_t num_seed_links);

/* Link rates in bits/s for the fair shares (copied). */
int m4_state_set_link_rates(m4_state *s, const double *link_bps);
/* Max-min fair rates of the component's flows by progressive filling over
 * its links, each divided by the flow's bottleneck rate: out (N) in (0, 1].
 * Flows whose fluid bits have run out take no bandwidth (out = 1). */
int m4_state_fair_share(m4_state *s, float *out);

/* The flow's ideal FCT (for the fluid estimate; default: its transmission
 * time alone at the bottleneck). */
void m4_state_set_flow_ideal(m4_state *s, int32_t slot, int64_t ideal_ns);
/* Correct a flow that enters mid-way (a burn-in start): its true start and
 * the bytes it still has to deliver. */
void m4_state_set_flow_progress(m4_state *s, int32_t slot, int64_t start_ns, int64_t remaining_bytes);
/* The fluid (flowSim) step for the component at now: advance each flow's
 * bits left at its previous max-min rate, recompute the rates, and give per
 * flow fair (N) = rate / bottleneck and base (N) = max(1, (end of
 * transmission + path delay - start) / ideal), the slowdown flowSim would
 * predict now; the end of transmission is now + bits left / rate, or the
 * moment the bits ran out, which stays fixed (as flowSim's would). */
int m4_state_fluid(m4_state *s, int64_t now_ns, float *fair, float *base);

/* After m4_state_fluid: per component flow row, out (N) = the busiest link
 * on its path by the other flows' current max-min rates, sum over the
 * link's other active flows of their rates / the link's capacity, in
 * [0, 1]. A small flow's queueing grows with the load its packets meet on
 * the way (an M/D/1 port waits rho / 2(1 - rho) packet times), which
 * max-min rates, by giving the small flow its share at once, leave out. */
void m4_state_path_load(m4_state *s, float *out);

/* Link capacity as a floor under predicted completions, after m4_state_fluid
 * at now. On a link whose flows are all in the component, fill the end slots
 * from the last back: whoever ends in slot j cannot end before now +
 * (backlog - wire bits of the flows in later slots) / capacity, the backlog
 * being the link's work-conserving queue of everything its flows brought (no
 * network delivers more). Each slot goes to the latest predicted flow left
 * when that one meets its floor (so feasible predictions stay as they are),
 * else to the flow the floor stretches least relative to its predicted time
 * in the network: a wrong predicted order does not queue a tiny flow behind
 * a bulk flow's bits. On a
 * sender's NIC uplink that the fluid view saturates, the NIC's round-robin
 * adds: a flow at the link's fair level cannot end before now + sum over
 * the flows at that level of min(their bits left, its bits left) /
 * capacity. end_ns (N, by component row) is raised in place where lower. */
int m4_state_capacity_floor(m4_state *s, int64_t now_ns, int64_t *end_ns);

/* Gather the component's graph part into a step input; buffers are the
 * caller's and must hold comp_num_flows (resp. comp_graph_links) rows:
 * flow_h (N,H), link_z (L,H), flow_dt (N), link_dt (L), path_length (N). */
void m4_state_gather(const m4_state *s, int64_t now_ns, const float *config, float *flow_h,
                     float *link_z, float *flow_dt, float *link_dt, float *path_length,
                     m4_step_input *in);
/* Everything the model's step reads for the component at now, in arena
 * buffers: m4_state_gather, then m4_state_fluid (fair share and flowSim's
 * slowdown), and for flow_extra >= 3 the path load (m4_state_path_load),
 * for flow_extra 4 also the age (m4_state_flow_age). */
int m4_state_step_input(m4_state *s, int64_t now_ns, const float *config, int flow_extra,
                        m4_nn_arena *arena, m4_step_input *in);
/* Per component flow row, out (N) = log2(1 + (now - start) / ideal): how
 * long it has been in the network in units of its ideal FCT (0 on arrival,
 * 1 at its ideal end). */
void m4_state_flow_age(const m4_state *s, int64_t now_ns, float *out);
/* Write new states back (flows and graph links) and stamp their update time. */
void m4_state_scatter(m4_state *s, int64_t now_ns, const float *flow_h_out,
                      const float *link_z_out);

#endif
