/* Scenario loading: topology + routing + flows + config. */
#include "net/scenario.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/textio.h"

int64_t m4_resolved_window_bytes(const m4_topology *t, const m4_config *cfg)
{
    if (cfg && cfg->window_bytes > 0) return cfg->window_bytes;
    double max_host_rate = 0;
    for (int32_t h = 0; h < t->num_hosts; h++) {
        int32_t v = t->host_nodes[h];
        for (int32_t i = t->adj_start[v]; i < t->adj_start[v + 1]; i++) {
            double rate = m4_dlink_rate_bps(t, t->adj_dlinks[i]);
            if (rate > max_host_rate) max_host_rate = rate;
        }
    }
    /* rate (bits/s) x RTT (ns) / 8 / 1e9, computed in ns to stay exact for
     * whole-Gb/s rates. */
    double bytes = max_host_rate / 1e9 * (double)m4_topology_max_base_rtt_ns(t) / 8.0;
    return (int64_t)(bytes + 0.5);
}

int m4_scenario_load_files(m4_scenario **out, const char *topology_path, const char *flows_path,
                           const char *config_path)
{
    *out = NULL;
    m4_scenario *s = calloc(1, sizeof *s);
    if (!s) return m4_error_set(M4_ENOMEM, "scenario: out of memory");
    int err = m4_topology_read(&s->topology, topology_path);
    if (err) goto fail;
    err = m4_routing_init(&s->routing, &s->topology);
    if (err) goto fail;
    m4_config_defaults(&s->config, M4_CC_DCTCP);
    if (config_path) {
        err = m4_config_read(&s->config, config_path);
        if (err) goto fail;
    }
    if (flows_path) {
        err = m4_flows_read(&s->flows, flows_path, &s->topology);
        if (err) goto fail;
    }
    s->window_bytes = m4_resolved_window_bytes(&s->topology, &s->config);
    *out = s;
    return M4_OK;
fail:
    m4_scenario_free(s);
    return err;
}

int m4_scenario_load(m4_scenario **out, const char *dir)
{
    char *topo = m4_path_join(dir, "topology.txt");
    char *flows = m4_path_join(dir, "flows.txt");
    char *config = m4_path_join(dir, "config.txt");
    int err;
    if (!topo || !flows || !config) {
        err = m4_error_set(M4_ENOMEM, "scenario: out of memory");
    } else {
        err = m4_scenario_load_files(out, topo, m4_file_exists(flows) ? flows : NULL,
                                     m4_file_exists(config) ? config : NULL);
    }
    free(topo);
    free(flows);
    free(config);
    return err;
}

void m4_scenario_free(m4_scenario *s)
{
    if (!s) return;
    m4_flows_free(&s->flows);
    m4_routing_free(&s->routing);
    m4_topology_free(&s->topology);
    free(s);
}

int32_t m4_scenario_num_hosts(const m4_scenario *s) { return s ? s->topology.num_hosts : 0; }

int32_t m4_scenario_host_node(const m4_scenario *s, int32_t host_index)
{
    if (!s || host_index < 0 || host_index >= s->topology.num_hosts) return -1;
    return s->topology.host_nodes[host_index];
}

int64_t m4_scenario_num_flows(const m4_scenario *s) { return s ? s->flows.count : 0; }
