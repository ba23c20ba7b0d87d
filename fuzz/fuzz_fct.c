/* libFuzzer target for the fct reader (both formats): any input must give a
 * table or a clean error, never a crash. The reader takes a path, so the input
 * goes through an in-memory file. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim/fct.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fct", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        m4_fct_table table;
        if (m4_fct_read(&table, path) == 0) {
            for (int64_t i = 0; i < table.count; i++)
                if (m4_fct_slowdown(&table.rows[i]) < 1.0)
                    __builtin_trap();
            for (int64_t i = 1; i < table.count; i++)
                if (table.rows[i].id <= table.rows[i - 1].id)
                    __builtin_trap();
            m4_fct_table_free(&table);
        }
    }
    close(fd);
    return 0;
}
