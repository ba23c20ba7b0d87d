/* m4sim app: not built yet. */
#include <stdio.h>

#include "cli.h"

int m4_cmd_app(int argc, char **argv)
{
    if (argc > 1 && m4_cli_is_help(argv[1])) {
        printf("usage: m4sim app ... (not built yet)\n");
        return 0;
    }
    fprintf(stderr, "m4sim app: not built yet\n");
    return 1;
}
