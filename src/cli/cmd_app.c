/* m4sim app: run a closed-loop application (a dependency graph of flows) on a
 * scenario's topology and config with any backend; or write a ring
 * all-reduce application file. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/textio.h"
#include "net/scenario.h"
#include "sim/sim.h"

static const char *const usage =
    "usage: m4sim app FILE --scenario DIR [--backend flow|packet|m4] [--model FILE]\n"
    "                      [--max-inflight N] [--bin TIME] [-o OUTDIR] [--threads N] [--quiet]\n"
    "       m4sim app --ring-allreduce HOSTS --size SIZE [--think TIME] -o FILE\n"
    "\n"
    "Runs the application in FILE on the topology and config of scenario DIR (topology.txt,\n"
    "config.txt optional; DIR/flows.txt is not used) and writes, only when the run completes,\n"
    "  OUTDIR/fct.txt         one row per flow, as m4sim run writes it (id = the flow's number,\n"
    "                         0.. in file order; start_ns = when it entered the network)\n"
    "  OUTDIR/throughput.txt  \"start_ns end_ns bytes gbps\": bytes delivered per time bin (each\n"
    "                         flow's bytes spread evenly over its lifetime) and their rate\n"
    "  OUTDIR/app.txt         \"key value\": backend, flows, bytes, completion_ns (the end of the\n"
    "                         last flow), throughput_gbps (bytes x 8 / completion_ns), wall_s\n"
    "\n"
    "Application file: one directive per line, '#' starts a comment:\n"
    "  flow NAME SRC DST SIZE [after=DEP[,DEP...]] [think=TIME]\n"
    "NAME: letters, digits, _ . - : (unique). SRC, DST: host node ids (as in flows.txt).\n"
    "SIZE: bytes, or with KB MB GB (10^3) or KiB MiB GiB (2^10). DEP: names of flows defined\n"
    "on earlier lines (the graph cannot have cycles). TIME: 0 or a number with ns, us, ms, s.\n"
    "A flow starts when all its DEPs have completed plus its think (compute) time; a flow\n"
    "without DEPs starts at its think time after time 0. Examples: examples/apps/*.txt.\n"
    "\n"
    "options:\n"
    "  --scenario DIR      topology and config to run on (required)\n"
    "  --backend NAME      flow (default), packet or m4 (as in m4sim run)\n"
    "  --model FILE        m4 model file (m4 backend)\n"
    "  --max-inflight N    at most N active flows per source host; later ones wait (default:\n"
    "                      unlimited)\n"
    "  --bin TIME          throughput bin width (default: completion time / 100, rounded up)\n"
    "  -o OUTDIR           output directory (default DIR/app-BACKEND), created if missing\n"
    "  --threads N         worker threads for backends that use them (default 1)\n"
    "  --quiet             no progress and no summary on stdout\n"
    "  --ring-allreduce HOSTS  instead of running, write to FILE (-o) a ring all-reduce of SIZE\n"
    "                      bytes over HOSTS (node ids: \"0-7\", \"0,4,8,12\", \"0-3,16-19\"):\n"
    "                      2(N-1) steps, host i sending ceil(SIZE/N) bytes to host i+1 per step;\n"
    "                      a send waits for the host's previous send and the chunk it received,\n"
    "                      plus --think (the reduction, steps 1..N-1; default 0)\n"
    "exit status: 0 success, 2 bad input (the message names file and line), 1 other failure\n"
    "(including a backend that is not built)\n";

static int write_ring(const char *hosts_text, const char *size_text, const char *think_text,
                      const char *out_path)
{
    if (!size_text)
        return m4_cli_usage_error("app", "--ring-allreduce needs --size");
    if (!out_path)
        return m4_cli_usage_error("app", "--ring-allreduce needs -o FILE");
    int32_t *hosts = NULL, count = 0;
    if (m4_app_parse_hosts(hosts_text, &hosts, &count))
        return m4_cli_usage_error("app", "--ring-allreduce: bad host list '%s'", hosts_text);
    int64_t size, think = 0;
    if (m4_app_parse_size(size_text, &size) || size <= 0) {
        free(hosts);
        return m4_cli_usage_error("app", "--size: bad size '%s'", size_text);
    }
    if (think_text && strcmp(think_text, "0") != 0 && m4_parse_delay_ns(think_text, &think)) {
        free(hosts);
        return m4_cli_usage_error("app", "--think: bad time '%s' (0 or a number with ns, us, "
                                  "ms, s)", think_text);
    }
    m4_app *app = NULL;
    int err = m4_app_ring_allreduce(&app, hosts, count, size, think);
    free(hosts);
    if (!err)
        err = m4_app_write(app, out_path);
    m4_app_free(app);
    return err ? m4_cli_fail("app", err) : 0;
}

int m4_cmd_app(int argc, char **argv)
{
    const char *file = NULL, *dir = NULL;
    const char *ring = NULL, *size_text = NULL, *think_text = NULL, *bin_text = NULL;
    m4_cli_sim_args args;
    m4_cli_sim_args_init(&args);
    static const char *const with_value[] = {"--scenario", "--bin", "--ring-allreduce", "--size",
                                             "--think"};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (m4_cli_is_help(arg)) {
            fputs(usage, stdout);
            return 0;
        }
        int taken = m4_cli_sim_arg("app", argc, argv, &i, &args);
        if (taken == 2)
            return 2;
        if (taken)
            continue;
        int needs_value = 0;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            needs_value |= strcmp(arg, with_value[k]) == 0;
        if (needs_value && i + 1 >= argc)
            return m4_cli_usage_error("app", "%s needs a value", arg);
        if (strcmp(arg, "--scenario") == 0) {
            dir = argv[++i];
        } else if (strcmp(arg, "--bin") == 0) {
            bin_text = argv[++i];
        } else if (strcmp(arg, "--ring-allreduce") == 0) {
            ring = argv[++i];
        } else if (strcmp(arg, "--size") == 0) {
            size_text = argv[++i];
        } else if (strcmp(arg, "--think") == 0) {
            think_text = argv[++i];
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return m4_cli_usage_error("app", "unknown option '%s'", arg);
        } else if (!file) {
            file = arg;
        } else {
            return m4_cli_usage_error("app", "unexpected argument '%s'", arg);
        }
    }
    const char *backend_name = args.backend_name, *model = args.model, *outdir_arg = args.outdir;
    if (ring) {
        if (file || dir)
            return m4_cli_usage_error("app", "--ring-allreduce writes a file and runs nothing");
        return write_ring(ring, size_text, think_text, outdir_arg);
    }
    if (size_text || think_text)
        return m4_cli_usage_error("app", "--size and --think go with --ring-allreduce");
    if (!file)
        return m4_cli_usage_error("app", "needs an application file");
    if (!dir)
        return m4_cli_usage_error("app", "needs --scenario DIR (topology and config)");
    m4_backend_kind kind;
    if (m4_cli_sim_args_check("app", &args, &kind))
        return 2;
    int64_t bin_ns = 0;
    if (bin_text && (m4_parse_delay_ns(bin_text, &bin_ns) || bin_ns <= 0))
        return m4_cli_usage_error("app", "--bin must be a positive time with ns, us, ms or s, "
                                  "not '%s'", bin_text);

    m4_app *app = NULL;
    m4_scenario *scenario = NULL;
    char *outdir = NULL, *topology = NULL, *config = NULL;
    int status = 0;
    int err = m4_app_load(&app, file);
    if (err) {
        status = m4_cli_fail("app", err);
        goto done;
    }
    topology = m4_path_join(dir, "topology.txt");
    config = m4_path_join(dir, "config.txt");
    if (outdir_arg) {
        outdir = strdup(outdir_arg);
    } else {
        char name[64];
        snprintf(name, sizeof name, "app-%s", backend_name);
        outdir = m4_path_join(dir, name);
    }
    if (!topology || !config || !outdir) {
        status = m4_cli_fail("app", M4_ENOMEM);
        goto done;
    }
    err = m4_scenario_load_files(&scenario, topology, NULL, m4_file_exists(config) ? config : NULL);
    if (!err)
        err = m4_app_check_hosts(app, scenario);
    if (err) {
        status = m4_cli_fail("app", err);
        goto done;
    }
    m4_sim_options options = {.backend = kind, .model_path = model, .threads = args.threads,
                              .max_inflight = args.max_inflight};
    m4_backend_params params = {.model_path = model, .threads = args.threads,
                                .log = args.quiet ? NULL : stderr};
    double started = m4_now_seconds();
    err = m4_app__run_ex(app, scenario, &options, &params);
    double wall_s = m4_now_seconds() - started;
    if (err == M4_ENOTSUP) {
        fprintf(stderr, "m4sim app: %s\n", m4_last_error()[0] ? m4_last_error()
                                                              : "backend not built");
        status = 1;
        goto done;
    }
    if (!err)
        err = m4_app__write_results(app, outdir, bin_ns, wall_s);
    if (err) {
        status = m4_cli_fail("app", err);
        goto done;
    }
    if (!args.quiet) {
        int64_t completion = m4_app_completion_ns(app), bytes = 0;
        for (int64_t i = 0; i < m4_app_num_flows(app); i++)
            bytes += m4_app_flow_at(app, i)->size_bytes;
        printf("backend %s\nflows %" PRId64 "\ncompletion_ns %" PRId64 "\nthroughput_gbps %.4f\n"
               "wall_s %.3f\nwrote %s/{fct,throughput,app}.txt\n",
               backend_name, m4_app_num_flows(app), completion,
               completion > 0 ? (double)bytes * 8.0 / (double)completion : 0.0, wall_s, outdir);
    }

done:
    m4_app_free(app);
    m4_scenario_free(scenario);
    free(outdir);
    free(topology);
    free(config);
    return status;
}
