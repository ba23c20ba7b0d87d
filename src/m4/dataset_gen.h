/* Generation of the m4 training set: many scenarios drawn at random from the
 * documented ranges, each run through the packet backend with the dense
 * supervision trace. The loader (src/m4/dataset.h) reads what this writes.
 *
 * On-disk layout of a dataset directory DATA (a contract with the loader):
 *   DATA/dataset.txt          "key value" lines: format, generator, seed, flows, topo,
 *                             scenarios and the ranges below (informational)
 *   DATA/sNNNNN/              scenario NNNNN (5 digits, 0-based)
 *     cdf.txt                 the flow-size distribution the sizes were drawn from
 *     topology.txt flows.txt config.txt   as m4sim gen writes them
 *     scenario.txt            "key value": index, seed, workload (built-in name or
 *                             "synthetic:<family>"), load, sigma, cc, achieved_load, flows
 *     packet/fct.txt packet/summary.txt   as m4sim run --backend packet writes them
 *     packet/trace/{events,flow_state,queue}.npy, stats.txt   (src/packet/trace.h);
 *                             samples_{queue,rate}.npy only with keep_samples
 *     DONE                    created last, atomically: the scenario is complete
 *
 * Scenario i is a function of (dataset seed, i, flows, topo) only: neither the
 * number of scenarios nor the number of workers changes it. */
#ifndef M4_M4_DATASET_GEN_H
#define M4_M4_DATASET_GEN_H

#include <stdint.h>

#include "net/config.h"
#include "workload/synthetic_cdf.h"

/* Version of the drawing rules; a dataset written under another refuses to
 * be extended. */
#define M4_DSGEN_VERSION 3 /* 3: TIMELY's ranges reach the fork's defaults */
#define M4_DSGEN_MAX_SCENARIOS 100000 /* five digits in sNNNNN */
#define M4_DSGEN_DEFAULT_TOPO "fabric:pods=2,racks=4,hosts=4"

/* The ranges (closed intervals, uniform draws). */
#define M4_DSGEN_P_SYNTHETIC 0.75
#define M4_DSGEN_LOAD_MIN 0.35
#define M4_DSGEN_LOAD_MAX 0.80
#define M4_DSGEN_SIGMA_MIN 1.0
#define M4_DSGEN_SIGMA_MAX 2.0
/* Switch buffers: with probability P_SMALL_BUFFER m4's range [100, 200] KB
 * (uniform), else log-uniform over [200, 4000] KB so that deployed sizes
 * (the fork's default 3000 KB, which the evaluation uses) are inside the
 * training range too. */
#define M4_DSGEN_P_SMALL_BUFFER 0.5
#define M4_DSGEN_BUFFER_KB_MIN 100.0
#define M4_DSGEN_BUFFER_KB_MID 200.0
#define M4_DSGEN_BUFFER_KB_MAX 4000.0
#define M4_DSGEN_P_DEFAULT_WINDOW 0.5
#define M4_DSGEN_WINDOW_MIN 10000
#define M4_DSGEN_WINDOW_MAX 20000
#define M4_DSGEN_DCTCP_K_MIN 10.0
#define M4_DSGEN_DCTCP_K_MAX 30.0
/* DESIGN gives DCQCN's Kmin [5, 20] and Kmax [25, 40] KB at 25 Gb/s; config
 * keys are KB at 10 Gb/s, hence x 10/25. */
#define M4_DSGEN_DCQCN_KMIN_MIN (5.0 * 10.0 / 25.0)
#define M4_DSGEN_DCQCN_KMIN_MAX (20.0 * 10.0 / 25.0)
#define M4_DSGEN_DCQCN_KMAX_MIN (25.0 * 10.0 / 25.0)
#define M4_DSGEN_DCQCN_KMAX_MAX (40.0 * 10.0 / 25.0)
#define M4_DSGEN_HPCC_ETA_MIN 0.70
#define M4_DSGEN_HPCC_ETA_MAX 0.95
#define M4_DSGEN_HPCC_AI_MIN 500.0
#define M4_DSGEN_HPCC_AI_MAX 1000.0
/* TIMELY: m4's Tlow [40, 60] and Thigh [100, 150] us stretched up to the
 * fork's defaults (100 and 200 us, m4sim's, which the evaluation uses), as
 * the buffers are: on a TIMELY eval scenario the previous model's error was
 * 0.0199 fed the real 100 / 200, from outside its training range, and
 * 0.0130 fed 50 / 125 from inside it (README). Thigh is kept above Tlow. */
#define M4_DSGEN_TIMELY_TLOW_MIN 40.0
#define M4_DSGEN_TIMELY_TLOW_MAX 100.0
#define M4_DSGEN_TIMELY_THIGH_MIN 100.0
#define M4_DSGEN_TIMELY_THIGH_MAX 200.0

/* Built-in workloads used for training (the others are held out). */
#define M4_DSGEN_BUILTIN_COUNT 4
extern const char *const m4_dsgen_builtin_workloads[M4_DSGEN_BUILTIN_COUNT];

typedef struct m4_dsgen_spec {
    uint64_t seed;
    int64_t num_flows;
    const char *topology; /* spec or topology.txt path */
    int keep_samples;     /* keep trace/samples_{queue,rate}.npy */
} m4_dsgen_spec;

/* What scenario i is. Drawn values are rounded (KB to 0.01, eta to 0.001,
 * AI to 1 Mb/s, times to 0.1 us, load and sigma to 1e-4) so that the
 * text files hold them exactly. */
typedef struct m4_dsgen_draw {
    int64_t index;
    uint64_t gen_seed;          /* seed of the scenario generator */
    int synthetic;              /* 1: sizes from `cdf`; 0: built-in `workload` */
    m4_synthetic_cdf cdf;
    char workload[48];          /* built-in name or "synthetic:<family>" */
    double load, sigma;
    m4_config config;           /* CC, its parameters, buffer, window, PFC on */
} m4_dsgen_draw;

/* Draw scenario `index` of the dataset with seed `seed` (pure function). */
void m4_dsgen_draw_scenario(uint64_t seed, int64_t index, m4_dsgen_draw *out);

/* Name of a synthetic family ("lognormal", "pareto", "bimodal", "loguniform"). */
const char *m4_dsgen_family_name(m4_synthetic_family family);

/* DATA/sNNNNN for index (newly allocated; free it). */
char *m4_dsgen_scenario_dir(const char *data_dir, int64_t index);
/* 1 if the scenario directory has its DONE file. */
int m4_dsgen_scenario_done(const char *scenario_dir);

/* Build scenario `index` in scenario_dir from scratch: wipe whatever is
 * there, generate, run the packet backend with the trace, DONE last. On
 * success *num_flows and *wall_s (packet run) are set when not NULL. */
int m4_dsgen_build_scenario(const m4_dsgen_spec *spec, int64_t index, const char *scenario_dir,
                            int64_t *num_flows, double *wall_s);

/* Write DATA/dataset.txt for spec with `scenarios`, or, if it exists, check
 * that it describes the same dataset (M4_EINVAL naming the differing key
 * otherwise) and raise its scenarios to max(old, scenarios). Creates DATA.
 * A DATA that exists, is not empty and has no dataset.txt is refused. */
int m4_dsgen_open_dataset(const char *data_dir, const m4_dsgen_spec *spec, int64_t scenarios);

/* Remove a directory tree (like rm -rf); a missing path is fine. */
int m4_dsgen_remove_tree(const char *path);
/* Bytes allocated on disk under path (like du -sb of blocks). */
int64_t m4_dsgen_disk_bytes(const char *path);

#endif
