/* Closed-loop applications: a dependency graph of flows (m4_app in the
 * public header) read from a text file or built in code, and its run on any
 * backend through the simulation driver. Sits above sim, below cli.
 *
 * File format (one directive per line, '#' starts a comment, blank lines
 * ignored):
 *   flow NAME SRC DST SIZE [after=DEP[,DEP...]] [think=TIME]
 * NAME: letters, digits and _ . - : (unique); SRC, DST: host node ids as in
 * flows.txt; SIZE: bytes, or with a suffix KB MB GB (10^3) or KiB MiB GiB
 * (2^10); DEP: names of flows defined on earlier lines (so the graph has no
 * cycles); TIME: 0 or a number with ns, us, ms or s. A flow starts at
 * max(end of its deps) + think, a flow without deps at think after time 0. */
#ifndef M4_APP_APP_H
#define M4_APP_APP_H

#include <stdint.h>

#include "m4sim.h"

/* Application flows carry this bit in their completion tags (low bits: the
 * flow's index), so a user callback can tell them from its own flows. */
#define M4_APP_TAG_BIT ((uint64_t)1 << 63)

typedef struct m4_app_flow {
    char *name;
    int32_t src, dst;
    int64_t size_bytes;
    int64_t think_ns;
    int64_t first_dep;  /* into m4_app.deps */
    int32_t num_deps;
    int64_t line;       /* line in the file it came from, 0 if built in code */
} m4_app_flow;

struct m4_app {
    m4_app_flow *flows;
    int64_t count, capacity;
    int64_t *deps;              /* dependency indices, flows[i] owns a range */
    int64_t num_deps, deps_capacity;
    int64_t *name_slots;        /* open-addressing table of flow index + 1 */
    int64_t name_slot_count;
    char *path;                 /* file it was read from (errors), NULL if built */
    /* Last run. */
    struct m4_sim *sim;
    m4_backend_kind backend;
    int32_t max_inflight;
    int64_t *start_ns, *end_ns; /* per flow, -1 = not yet */
    int64_t *ready_ns;          /* per flow: latest end among its deps so far */
    int32_t *deps_left;
    int64_t *dependents, *first_dependent; /* reverse edges, CSR */
    m4_completion_cb user_cb;
    void *user;
    int callback_error;
    int64_t completion_ns;
};

/* Parse a size ("4096", "8MB", "1MiB"); 0 or M4_EPARSE. */
int m4_app_parse_size(const char *text, int64_t *out);
/* Parse a host list "0-7" or "0,4,8" or "0-3,16-19" into a new array. */
int m4_app_parse_hosts(const char *text, int32_t **hosts_out, int32_t *count_out);

/* Check every flow's endpoints against a topology's hosts; errors name
 * file:line (or the flow's name when built in code). */
int m4_app_check_hosts(const m4_app *app, const m4_scenario *scenario);

const m4_app_flow *m4_app_flow_at(const m4_app *app, int64_t index);

/* Internals shared by app.c, app_run.c and the CLI. */
struct m4_backend_params;
void m4_app__clear_run(m4_app *app);
/* m4_app_run with explicit backend parameters (progress log, threads). */
int m4_app__run_ex(m4_app *app, const m4_scenario *scenario, const m4_sim_options *options,
                   const struct m4_backend_params *params);
/* m4_app_write_results, plus wall_s in app.txt when >= 0. */
int m4_app__write_results(const m4_app *app, const char *dir, int64_t bin_ns, double wall_s);

#endif
