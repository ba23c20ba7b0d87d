/* libFuzzer target for the config reader: any input gives a config or a clean
 * error; a valid config written back reads back identically. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "net/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("config", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        m4_config cfg;
        if (m4_config_read(&cfg, path) == 0) {
            float features[M4_CONFIG_FEATURES];
            m4_config_features(&cfg, cfg.window_bytes, features);
            char out[] = "/tmp/fuzz_config_XXXXXX";
            int ofd = mkstemp(out);
            if (ofd >= 0) {
                close(ofd);
                m4_config back;
                if (m4_config_write(&cfg, out) != 0 || m4_config_read(&back, out) != 0) __builtin_trap();
                if (memcmp(&back, &cfg, sizeof cfg) != 0) __builtin_trap();
                unlink(out);
            }
        }
    }
    close(fd);
    return 0;
}
