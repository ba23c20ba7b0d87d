/* Public API: scenarios built in code rather than loaded from a directory. */
#include <stdlib.h>
#include <strings.h>

#include "core/error.h"
#include "net/scenario.h"

int m4_scenario_build(m4_scenario **out, const char *topology_spec, const char *cc)
{
    *out = NULL;
    if (!topology_spec)
        return m4_error_set(M4_EINVAL, "scenario: no topology spec");
    m4_cc_kind kind = M4_CC_DCTCP;
    if (cc) {
        int err = m4_cc_from_name(cc, &kind);
        if (err)
            return err;
    }
    m4_scenario *s = calloc(1, sizeof *s);
    if (!s)
        return m4_error_set(M4_ENOMEM, "scenario: out of memory");
    int err = m4_topology_from_spec(&s->topology, topology_spec);
    if (!err)
        err = m4_routing_init(&s->routing, &s->topology);
    if (err) {
        m4_scenario_free(s);
        return err;
    }
    m4_config_defaults(&s->config, kind);
    s->window_bytes = m4_resolved_window_bytes(&s->topology, &s->config);
    *out = s;
    return M4_OK;
}

int m4_scenario_set(m4_scenario *s, const char *key, const char *value)
{
    if (!s || !key || !value)
        return m4_error_set(M4_EINVAL, "m4_scenario_set: NULL argument");
    m4_config updated = s->config;
    if (strcasecmp(key, "CC") == 0) {
        /* As in config.txt, the CC picks the defaults of every other key. */
        m4_cc_kind kind;
        if (m4_cc_from_name(value, &kind))
            return m4_error_set(M4_EINVAL, "m4_scenario_set: CC must be dctcp|dcqcn|hpcc|timely, "
                                "got '%s'", value);
        m4_config_defaults(&updated, kind);
    }
    int err = m4_config_set(&updated, key, value, "m4_scenario_set");
    if (err)
        return err;
    s->config = updated;
    s->window_bytes = m4_resolved_window_bytes(&s->topology, &s->config);
    return M4_OK;
}
