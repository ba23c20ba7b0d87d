/* Shared pieces of the command-line front end. Each command lives in its own
 * cmd_<name>.c and returns the process exit status: 0 success, 2 bad input
 * (message already printed), 1 any other failure. */
#ifndef M4_CLI_CLI_H
#define M4_CLI_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "sim/sim.h"

typedef struct m4_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} m4_command;

int m4_cmd_gen(int argc, char **argv);
int m4_cmd_run(int argc, char **argv);
int m4_cmd_compare(int argc, char **argv);
int m4_cmd_dataset(int argc, char **argv);
int m4_cmd_train(int argc, char **argv);
int m4_cmd_app(int argc, char **argv);

/* Print "m4sim CMD: <detail or message>" to stderr and return the exit status
 * for err (2 for input errors, 1 otherwise). */
int m4_cli_fail(const char *command, int err);
/* Print a usage error ("m4sim CMD: ...; see m4sim CMD --help") and return 2. */
int m4_cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* An integer option value in [lo, hi] (m4_parse_i64 syntax): 0, else M4_EINVAL. */
int m4_cli_parse_int(const char *text, int64_t lo, int64_t hi, int64_t *out);
/* True if argv[i] is -h or --help. */
int m4_cli_is_help(const char *arg);

/* The options of the commands that simulate (run, app): --backend, --model,
 * -o, --threads, --max-inflight, --quiet. */
typedef struct m4_cli_sim_args {
    const char *backend_name; /* "flow" unless given */
    const char *model;        /* NULL: the backend's default */
    const char *outdir;       /* NULL: the command's default */
    int threads;              /* 1 unless given */
    int32_t max_inflight;     /* 0: no cap */
    int quiet;
} m4_cli_sim_args;
void m4_cli_sim_args_init(m4_cli_sim_args *a);
/* Takes argv[*i] (and its value: *i moves past it) when it is one of those
 * options: 1 when taken, 0 when it is not one of them, 2 after printing a
 * usage error for command. */
int m4_cli_sim_arg(const char *command, int argc, char **argv, int *i, m4_cli_sim_args *a);
/* After parsing: the backend named, and --model only with m4. 0, or 2 after
 * printing a usage error. */
int m4_cli_sim_args_check(const char *command, const m4_cli_sim_args *a, m4_backend_kind *kind);

#endif
