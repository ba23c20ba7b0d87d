/* libFuzzer target for the application-file reader: any input gives an
 * application or a clean error; a valid one written back reads back with the
 * same number of flows. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "m4sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("app", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        m4_app *app = NULL;
        if (m4_app_load(&app, path) == 0) {
            char out[] = "/tmp/fuzz_app_XXXXXX";
            int ofd = mkstemp(out);
            if (ofd >= 0) {
                close(ofd);
                m4_app *back = NULL;
                if (m4_app_write(app, out) != 0 || m4_app_load(&back, out) != 0) __builtin_trap();
                if (m4_app_num_flows(back) != m4_app_num_flows(app)) __builtin_trap();
                m4_app_free(back);
                unlink(out);
            }
            m4_app_free(app);
        }
    }
    close(fd);
    return 0;
}
