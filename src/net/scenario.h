/* A scenario: topology + routing + flows + config, as loaded from a directory. */
#ifndef M4_NET_SCENARIO_H
#define M4_NET_SCENARIO_H

#include "m4sim.h"
#include "config.h"
#include "flows.h"
#include "routing.h"
#include "topology.h"

struct m4_scenario {
    m4_topology topology;
    m4_routing routing;
    m4_flowset flows;
    m4_config config;
    int64_t window_bytes; /* in force: config's, or the largest BDP */
};

/* Window in force for a config on a topology: WINDOW_BYTES if set, else
 * host rate x max base RTT / 8. */
int64_t m4_resolved_window_bytes(const m4_topology *t, const m4_config *cfg);

#endif
