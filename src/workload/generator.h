/* Scenario generator: a topology, flows drawn from a size CDF with log-normal
 * inter-arrivals and a spatial pattern, and a config, written as
 * DIR/topology.txt, DIR/flows.txt and DIR/config.txt.
 *
 * Load is the utilisation of the most loaded directed link over the span of
 * arrivals [first start, last start]: for link l,
 *     load_l = sum over flows crossing l of wire_bytes * 8 / (rate_l * span),
 *     wire_bytes = size + ceil(size / 1000) * 48 (one header per MTU packet).
 * The generator draws every size and pair first, routes every flow (the same
 * ECMP routing the simulators use, by flow id), and then sets the span so the
 * busiest link sits exactly at the target: span = max_l(bytes_l * 8 / rate_l)
 * / load. Inter-arrival gaps are drawn log-normal with shape sigma (sigma 0:
 * exponential) and scaled so they add up to that span; start times are whole
 * nanoseconds, the first at 1 s. The achieved load therefore differs from the
 * target only by the rounding of the span to a nanosecond. */
#ifndef M4_WORKLOAD_GENERATOR_H
#define M4_WORKLOAD_GENERATOR_H

#include <stdint.h>

#include "net/config.h"
#include "net/flows.h"
#include "net/routing.h"
#include "net/topology.h"

#define M4_GEN_FIRST_START_NS 1000000000LL
#define M4_GEN_MAX_FLOWS 100000000LL
#define M4_GEN_MAX_SIGMA 5.0
#define M4_GEN_MAX_LOAD 1.0
#define M4_GEN_PRIORITY 3
#define M4_GEN_DPORT 100

typedef struct m4_gen_params {
    const char *topology;      /* spec or topology.txt path */
    const char *workload;      /* built-in CDF name or CDF file */
    double load;               /* (0, 1] */
    double sigma;              /* [0, 5] */
    int64_t num_flows;         /* >= 2 (incast: >= 2 events) */
    const char *pattern;       /* uniform | incast:N | matrix:FILE */
    const char *cc;            /* dctcp | dcqcn | hpcc | timely */
    const char *const *config_sets; /* "KEY=VALUE" overrides, applied after the CC defaults */
    int num_config_sets;
    uint64_t seed;
} m4_gen_params;

/* The default scenario: the 32-host fabric, websearch, load 0.5, sigma 1,
 * 2000 flows, uniform, dctcp, seed 1. */
void m4_gen_params_defaults(m4_gen_params *p);

typedef struct m4_gen_result {
    m4_topology topology;
    m4_flowset flows;
    m4_config config;
    double achieved_load;      /* measured as above */
    int32_t busiest_dlink;
    int64_t span_ns;           /* last start - first start */
    double mean_size_bytes;    /* of the CDF (analytic) */
} m4_gen_result;

/* Generate in memory; nothing is written. Errors name the bad parameter (or
 * file:line of a bad CDF/matrix/topology file). */
int m4_generate(const m4_gen_params *p, m4_gen_result *out);
/* Create DIR (and parents) and write the three files, each atomically. */
int m4_gen_write(const m4_gen_result *r, const char *dir);
void m4_gen_result_free(m4_gen_result *r);

/* Load of the busiest directed link over [first start, last start], as
 * defined above, flows routed by their ids; *busiest_dlink (may be NULL) is
 * set. Needs >= 2 distinct start times (else M4_EINVAL). */
int m4_flows_max_link_load(const m4_topology *t, const m4_routing *r, const m4_flowset *flows,
                           double *load, int32_t *busiest_dlink);

/* Bytes on the wire of a flow: payload plus one header per MTU packet. */
static inline int64_t m4_wire_bytes(int64_t size_bytes)
{
    return size_bytes + (size_bytes + M4_MTU_BYTES - 1) / M4_MTU_BYTES * M4_HEADER_BYTES;
}

#endif
