/* The options `m4sim run` and `m4sim app` share, parsed in one place so the
 * two commands take and check them alike. */
#include <stdint.h>
#include <string.h>

#include "cli.h"

void m4_cli_sim_args_init(m4_cli_sim_args *a)
{
    memset(a, 0, sizeof *a);
    a->backend_name = "flow";
    a->threads = 1;
}

int m4_cli_sim_arg(const char *command, int argc, char **argv, int *i, m4_cli_sim_args *a)
{
    const char *arg = argv[*i];
    if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0) {
        a->quiet = 1;
        return 1;
    }
    static const char *const with_value[] = {"--backend", "--model", "-o", "--threads",
                                             "--max-inflight"};
    int known = 0;
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
        known |= strcmp(arg, with_value[k]) == 0;
    if (!known)
        return 0;
    if (*i + 1 >= argc)
        return m4_cli_usage_error(command, "%s needs a value", arg);
    const char *value = argv[++*i];
    int64_t number = 0;
    if (strcmp(arg, "--backend") == 0) {
        a->backend_name = value;
    } else if (strcmp(arg, "--model") == 0) {
        a->model = value;
    } else if (strcmp(arg, "-o") == 0) {
        a->outdir = value;
    } else if (strcmp(arg, "--threads") == 0) {
        if (m4_cli_parse_int(value, 1, 1024, &number))
            return m4_cli_usage_error(command, "--threads must be an integer in 1..1024, not '%s'",
                                      value);
        a->threads = (int)number;
    } else {
        if (m4_cli_parse_int(value, 1, INT32_MAX, &number))
            return m4_cli_usage_error(command, "--max-inflight must be a positive integer, not "
                                      "'%s'", value);
        a->max_inflight = (int32_t)number;
    }
    return 1;
}

int m4_cli_sim_args_check(const char *command, const m4_cli_sim_args *a, m4_backend_kind *kind)
{
    if (m4_backend_from_name(a->backend_name, kind))
        return m4_cli_usage_error(command, "unknown backend '%s' (flow, packet or m4)",
                                  a->backend_name);
    if (a->model && *kind != M4_BACKEND_M4)
        return m4_cli_usage_error(command, "--model is for the m4 backend");
    return 0;
}
