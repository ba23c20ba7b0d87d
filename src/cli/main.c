/* m4sim: entry point and command dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cblas.h>

#include "cli.h"
#include "core/error.h"
#include "core/textio.h"
#include "m4sim.h"

static const m4_command commands[] = {
    {"gen", "generate a scenario (topology, flows, config)", m4_cmd_gen},
    {"run", "simulate a scenario with the flow, packet or m4 backend", m4_cmd_run},
    {"compare", "per-flow slowdown error of an estimate against a reference", m4_cmd_compare},
    {"dataset", "generate and simulate training scenarios with packet-level traces", m4_cmd_dataset},
    {"train", "train an m4 model from a dataset", m4_cmd_train},
    {"app", "run a closed-loop application (dependency graph of flows)", m4_cmd_app},
};

static void print_help(FILE *out)
{
    fprintf(out,
            "m4sim %s - a learned flow-level network simulator for data-center networks\n\n"
            "usage: m4sim COMMAND [options]    (m4sim COMMAND --help for details)\n\n"
            "commands:\n",
            M4SIM_VERSION_STRING);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-9s %s\n  %-9s %s\n", "help", "this message", "version",
            "print the version");
    fprintf(out, "\nexit status: 0 success, 2 bad input or usage, 1 other failure\n");
}

int m4_cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int m4_cli_fail(const char *command, int err)
{
    const char *detail = m4_last_error();
    fprintf(stderr, "m4sim %s: %s\n", command, detail[0] ? detail : m4_strerror(err));
    return err == M4_ENOMEM ? 1 : 2;
}

int m4_cli_parse_int(const char *text, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t value;
    if (m4_parse_i64(text, &value) || value < lo || value > hi)
        return M4_EINVAL;
    *out = value;
    return M4_OK;
}

int m4_cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "m4sim %s: ", command);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see m4sim %s --help)\n", command);
    return 2;
}

/* OpenBLAS settles two things when it loads, before main, that this program
 * wants otherwise, so it sets them in the environment and starts again (once:
 * the second start finds them set; what the user set always wins):
 *
 * - Kernels. Debian's OpenBLAS 0.3.21 does not recognise some recent CPUs and
 *   falls back to its SSE3 "Prescott" kernels, 2-3x slower on the model's
 *   products (bench/nn.sh). Kernels of another CPU type round float sums
 *   differently, so m4 results can differ in the last nanosecond between a
 *   program that keeps the fallback and this CLI; runs of the CLI on one
 *   machine stay identical.
 * - Threads. It starts a helper thread for each core beyond the first, which
 *   spins in sched_yield for a while after start even when every product runs
 *   on one thread, as the m4 backend's do (its products have a few rows;
 *   openblas_set_num_threads raises the count again where --threads asks for
 *   more): a tenth of the CPU time of the 1024-host, 20,000-flow m4 runs
 *   (README), taken from whatever else runs on the other core. */
static void prefer_blas_settings(char **argv)
{
    int restart = 0;
    if (!getenv("OPENBLAS_NUM_THREADS") && !getenv("GOTO_NUM_THREADS") &&
        !getenv("OMP_NUM_THREADS") && openblas_get_num_threads() > 1) {
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        restart = 1;
    }
    const char *core = openblas_get_corename();
    if (!getenv("OPENBLAS_CORETYPE") && core && strcasecmp(core, "prescott") == 0) {
        __builtin_cpu_init();
        const char *want = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                           : __builtin_cpu_supports("avx2")  ? "Haswell"
                                                             : NULL;
        if (want) {
            setenv("OPENBLAS_CORETYPE", want, 1);
            restart = 1;
        }
    }
    /* On failure, carry on with the library's choices. */
    if (restart) execv("/proc/self/exe", argv);
}

int main(int argc, char **argv)
{
    prefer_blas_settings(argv);
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || m4_cli_is_help(name)) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
                if (strcmp(argv[2], commands[i].name) == 0) {
                    char *help_argv[] = {argv[2], "--help", NULL};
                    return commands[i].run(2, help_argv);
                }
            }
        }
        print_help(stdout);
        return 0;
    }
    if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0) {
        printf("m4sim %s\n", M4SIM_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "m4sim: unknown command '%s' (see m4sim help)\n", name);
    return 2;
}
