/* m4sim run DIR: simulate a scenario with one backend, write fct.txt and
 * summary.txt. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/textio.h"
#include "sim/fct.h"
#include "sim/sim.h"

static const char *const usage =
    "usage: m4sim run DIR [--backend flow|packet|m4] [--model FILE] [--trace] [-o OUTDIR]\n"
    "                     [--threads N] [--max-inflight N] [--quiet]\n"
    "\n"
    "Simulates the scenario in DIR (topology.txt; flows.txt and config.txt, both optional, as\n"
    "m4sim gen writes them) and writes\n"
    "  OUTDIR/fct.txt      header \"id src dst size start_ns fct_ns ideal_fct_ns slowdown\", then\n"
    "                      one row per flow sorted by id; fct_ns from start to the arrival of\n"
    "                      the last byte, slowdown = max(1, fct / ideal)\n"
    "  OUTDIR/summary.txt  \"key value\" lines: backend, flows, wall_s, sim_end_ns, peak_rss_mb,\n"
    "                      slowdown_mean/p50/p90/p99 (nearest-rank percentiles)\n"
    "Both appear only when the run completes.\n"
    "\n"
    "options:\n"
    "  --backend NAME  flow: max-min fair flow-level simulation (default);\n"
    "                  packet: packet-level ground truth (DESIGN.md section 6);\n"
    "                  m4: the learned flow-level simulator\n"
    "                  (a backend not built into this binary fails with a clear message)\n"
    "  --model FILE    m4 model file (m4 backend; default: its built-in default model)\n"
    "  --trace         packet backend: also write the dense-supervision trace to OUTDIR/trace\n"
    "  -o OUTDIR       output directory (default DIR/BACKEND), created if missing\n"
    "  --threads N     worker threads for backends that use them (default 1)\n"
    "  --max-inflight N  closed loop: at most N active flows per source host; a flow arriving\n"
    "                  at a full host waits and starts (start_ns) when one of its flows ends\n"
    "  --quiet         no progress report (otherwise a bar on a terminal, a line every 5 s\n"
    "                  on stderr when not a terminal)\n"
    "exit status: 0 success, 2 bad input (the message names file and line), 1 other failure\n"
    "(including a backend that is not built)\n";

int m4_cmd_run(int argc, char **argv)
{
    const char *dir = NULL;
    int trace = 0;
    m4_cli_sim_args args;
    m4_cli_sim_args_init(&args);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (m4_cli_is_help(arg)) {
            fputs(usage, stdout);
            return 0;
        }
        int taken = m4_cli_sim_arg("run", argc, argv, &i, &args);
        if (taken == 2)
            return 2;
        if (taken) {
            continue;
        } else if (strcmp(arg, "--trace") == 0) {
            trace = 1;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return m4_cli_usage_error("run", "unknown option '%s'", arg);
        } else if (!dir) {
            dir = arg;
        } else {
            return m4_cli_usage_error("run", "unexpected argument '%s'", arg);
        }
    }
    if (!dir)
        return m4_cli_usage_error("run", "needs a scenario directory");
    m4_backend_kind kind;
    if (m4_cli_sim_args_check("run", &args, &kind))
        return 2;
    if (trace && kind != M4_BACKEND_PACKET)
        return m4_cli_usage_error("run", "--trace is for the packet backend");
    const char *backend_name = args.backend_name, *model = args.model, *outdir_arg = args.outdir;
    const int threads = args.threads, quiet = args.quiet;
    const int32_t max_inflight = args.max_inflight;

    m4_scenario *scenario = NULL;
    m4_sim *sim = NULL;
    char *outdir = outdir_arg ? strdup(outdir_arg) : m4_path_join(dir, backend_name);
    char *trace_dir = NULL, *fct_path = NULL, *summary_path = NULL;
    int status = 0;
    if (!outdir) {
        status = m4_cli_fail("run", M4_ENOMEM);
        goto done;
    }
    int err = m4_scenario_load(&scenario, dir);
    if (err) {
        status = m4_cli_fail("run", err);
        goto done;
    }
    fct_path = m4_path_join(outdir, "fct.txt");
    summary_path = m4_path_join(outdir, "summary.txt");
    trace_dir = trace ? m4_path_join(outdir, "trace") : NULL;
    if (!fct_path || !summary_path || (trace && !trace_dir)) {
        status = m4_cli_fail("run", M4_ENOMEM);
        goto done;
    }
    m4_sim_options options = {.backend = kind, .model_path = model, .threads = threads,
                              .max_inflight = max_inflight};
    m4_backend_params params = {.model_path = model, .trace_dir = trace_dir, .threads = threads,
                                .log = quiet ? NULL : stderr};
    err = m4_sim_create_ex(&sim, scenario, &options, &params);
    if (err == M4_ENOTSUP) {
        fprintf(stderr, "m4sim run: %s\n", m4_last_error()[0] ? m4_last_error()
                                                              : "backend not built");
        status = 1;
        goto done;
    }
    if (err) {
        status = m4_cli_fail("run", err);
        goto done;
    }
    /* The output directory appears only once the run has succeeded, except
     * that a trace needs its directory while the run writes it. */
    if (trace_dir) {
        err = m4_mkdir_p(trace_dir);
        if (err) {
            status = m4_cli_fail("run", err);
            goto done;
        }
    }
    double started = m4_now_seconds();
    err = m4_sim_start_scenario_flows(sim);
    if (!err)
        err = m4_sim_run(sim);
    double wall_s = m4_now_seconds() - started;
    if (err) {
        status = err == M4_ENOTSUP ? 1 : m4_cli_fail("run", err);
        if (err == M4_ENOTSUP)
            fprintf(stderr, "m4sim run: %s\n", m4_last_error());
        goto done;
    }
    err = m4_mkdir_p(outdir);
    if (!err)
        err = m4_fct_write(fct_path, sim);
    if (!err)
        err = m4_summary_write(summary_path, backend_name, dir, sim, wall_s, quiet ? NULL : stdout);
    if (err) {
        status = m4_cli_fail("run", err);
        goto done;
    }
    if (!quiet)
        printf("wrote %s and %s\n", fct_path, summary_path);

done:
    m4_sim_free(sim);
    m4_scenario_free(scenario);
    free(outdir);
    free(trace_dir);
    free(fct_path);
    free(summary_path);
    return status;
}
