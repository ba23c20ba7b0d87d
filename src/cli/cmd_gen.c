/* m4sim gen -o DIR: generate a scenario (topology, flows, config). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/error.h"
#include "core/textio.h"
#include "workload/cdf.h"
#include "workload/generator.h"

static const char *const usage =
    "usage: m4sim gen -o DIR [--topo SPEC] [--workload NAME|FILE] [--load X] [--sigma S]\n"
    "                 [--flows N] [--pattern uniform|incast:N|matrix:FILE]\n"
    "                 [--cc dctcp|dcqcn|hpcc|timely] [--set KEY=VALUE]... [--seed N]\n"
    "\n"
    "Writes DIR/topology.txt, DIR/flows.txt (\"id src dst pg dport size start_s\", pg 3,\n"
    "dport 100, the first flow at 1 s) and DIR/config.txt, creating DIR if missing. The same\n"
    "options and seed give the same files, byte for byte. Nothing is written when an option\n"
    "or input file is bad.\n"
    "\n"
    "options (defaults in brackets):\n"
    "  -o DIR            output directory (required)\n"
    "  --topo SPEC       [fabric:pods=2,racks=4,hosts=4] one of\n"
    "                      fabric:pods=P,racks=R,hosts=H[,fabrics=F][,spines=S][,oversub=O]\n"
    "                      fattree:k=K    star:hosts=N    dumbbell:left=L,right=R\n"
    "                      line:switches=N[,hosts=H]\n"
    "                    each with optional rates/delays (fabric/fattree: host_rate=,\n"
    "                    fabric_rate=, delay=; star/dumbbell/line: rate=, delay=; dumbbell:\n"
    "                    bottleneck_rate=), e.g. host_rate=25G,delay=1us; or a topology.txt path.\n"
    "                    Defaults: hosts 10 Gb/s, fabric 40 Gb/s, 1 us per link.\n"
    "  --workload W      [websearch] flow-size CDF: websearch, fbhdp, alistorage, googlerpc,\n"
    "                    webserver, hadoop, cachefollower (built in), or a file of\n"
    "                    `bytes percent` lines (percent 0..100 nondecreasing, sizes\n"
    "                    nondecreasing, last percent 100), interpolated linearly\n"
    "  --load X          [0.5] utilisation of the most loaded directed link over the span of\n"
    "                    arrivals, in (0, 1]; bytes on the wire count one 48-byte header per\n"
    "                    1000-byte packet; hit to within a nanosecond of rounding\n"
    "  --sigma S         [1] shape of the log-normal inter-arrival times, in [0, 5]; 0 gives\n"
    "                    exponential (Poisson) arrivals, 1-2 bursty ones\n"
    "  --flows N         [2000] number of flows, 2..100000000\n"
    "  --pattern P       [uniform] uniform: random distinct source and destination hosts;\n"
    "                    incast:N: each arrival is one receiver and N distinct senders starting\n"
    "                    together (flows/N arrivals); matrix:FILE: lines `SRC DST WEIGHT` over\n"
    "                    racks (0-based, in host order; an optional first line `hosts` makes\n"
    "                    them host indices), pairs drawn in proportion to weight\n"
    "  --cc NAME         [dctcp] congestion control, picks config.txt defaults\n"
    "  --set KEY=VALUE   override one config.txt key (BUFFER_KB, WINDOW_BYTES, PFC, DCTCP_K_KB,\n"
    "                    DCQCN_KMIN_KB, DCQCN_KMAX_KB, HPCC_ETA, HPCC_AI_MBPS, TIMELY_TLOW_US,\n"
    "                    TIMELY_THIGH_US, ECN_KMIN_KB, ECN_KMAX_KB, ECN_PMAX, CC); repeatable\n"
    "  --seed N          [1] random seed (unsigned 64-bit)\n"
    "\n"
    "Prints one summary line: flows, achieved load, span of arrivals, mean flow size.\n"
    "exit status: 0 success, 2 bad input (the message names the option or file:line),\n"
    "1 other failure\n";

#define MAX_SETS 64

static int parse_number(const char *option, const char *text, double *out)
{
    if (m4_parse_double(text, out))
        return m4_cli_usage_error("gen", "%s: '%s' is not a number", option, text);
    return 0;
}

int m4_cmd_gen(int argc, char **argv)
{
    m4_gen_params params;
    m4_gen_params_defaults(&params);
    const char *out_dir = NULL;
    const char *sets[MAX_SETS];
    int num_sets = 0;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (m4_cli_is_help(arg)) {
            fputs(usage, stdout);
            return 0;
        }
        if (arg[0] != '-')
            return m4_cli_usage_error("gen", "unexpected argument '%s'", arg);
        /* --opt=value or --opt value */
        char option[32];
        const char *value = NULL;
        const char *eq = strchr(arg, '=');
        if (eq && arg[1] == '-') {
            size_t len = (size_t)(eq - arg);
            if (len >= sizeof option)
                return m4_cli_usage_error("gen", "unknown option '%s'", arg);
            memcpy(option, arg, len);
            option[len] = 0;
            value = eq + 1;
        } else {
            if (strlen(arg) >= sizeof option)
                return m4_cli_usage_error("gen", "unknown option '%s'", arg);
            strcpy(option, arg);
        }
        static const char *const known[] = {"-o",     "--out",   "--topo", "--workload",
                                            "--load", "--sigma", "--flows", "--pattern",
                                            "--cc",   "--set",   "--seed"};
        int is_known = 0;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            if (!strcmp(option, known[k]))
                is_known = 1;
        if (!is_known)
            return m4_cli_usage_error("gen", "unknown option '%s'", arg);
        if (!value) {
            if (i + 1 >= argc)
                return m4_cli_usage_error("gen", "%s needs a value", option);
            value = argv[++i];
        }
        if (!value[0])
            return m4_cli_usage_error("gen", "%s needs a non-empty value", option);

        if (!strcmp(option, "-o") || !strcmp(option, "--out")) {
            out_dir = value;
        } else if (!strcmp(option, "--topo")) {
            params.topology = value;
        } else if (!strcmp(option, "--workload")) {
            params.workload = value;
        } else if (!strcmp(option, "--load")) {
            if (parse_number(option, value, &params.load))
                return 2;
            if (!(params.load > 0 && params.load <= M4_GEN_MAX_LOAD))
                return m4_cli_usage_error("gen", "--load must be in (0, 1], got %s", value);
        } else if (!strcmp(option, "--sigma")) {
            if (parse_number(option, value, &params.sigma))
                return 2;
            if (!(params.sigma >= 0 && params.sigma <= M4_GEN_MAX_SIGMA))
                return m4_cli_usage_error("gen", "--sigma must be in [0, 5], got %s", value);
        } else if (!strcmp(option, "--flows")) {
            int64_t n;
            if (m4_parse_i64(value, &n) || n < 2 || n > M4_GEN_MAX_FLOWS)
                return m4_cli_usage_error("gen", "--flows must be an integer in 2..%lld, got '%s'",
                                          (long long)M4_GEN_MAX_FLOWS, value);
            params.num_flows = n;
        } else if (!strcmp(option, "--pattern")) {
            params.pattern = value;
        } else if (!strcmp(option, "--cc")) {
            params.cc = value;
        } else if (!strcmp(option, "--set")) {
            if (num_sets == MAX_SETS)
                return m4_cli_usage_error("gen", "more than %d --set options", MAX_SETS);
            sets[num_sets++] = value;
        } else if (!strcmp(option, "--seed")) {
            char *end;
            if (value[0] == '-' || value[0] == '+')
                return m4_cli_usage_error("gen", "--seed must be an unsigned integer, got '%s'",
                                          value);
            errno = 0;
            unsigned long long seed = strtoull(value, &end, 10);
            if (*end || errno)
                return m4_cli_usage_error("gen", "--seed must be an unsigned integer, got '%s'",
                                          value);
            params.seed = seed;
        }
    }
    if (!out_dir)
        return m4_cli_usage_error("gen", "-o DIR is required");
    params.config_sets = sets;
    params.num_config_sets = num_sets;

    m4_gen_result result;
    int err = m4_generate(&params, &result);
    if (err)
        return m4_cli_fail("gen", err);
    err = m4_gen_write(&result, out_dir);
    if (err) {
        m4_gen_result_free(&result);
        return m4_cli_fail("gen", err);
    }
    printf("wrote %s: %lld flows, load %.4f on the busiest link (target %g), arrivals over "
           "%.6f s, mean size %.0f B (%s)\n",
           out_dir, (long long)result.flows.count, result.achieved_load, params.load,
           (double)result.span_ns * 1e-9, result.mean_size_bytes, params.workload);
    m4_gen_result_free(&result);
    return 0;
}
