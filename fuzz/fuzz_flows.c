/* libFuzzer target for the flows reader on an 8-host star: any input gives a
 * flow set or a clean error; a valid set written back reads back the same. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "net/flows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static m4_topology topology;
    static int ready;
    if (!ready) {
        if (m4_topology_from_spec(&topology, "star:hosts=8") != 0) __builtin_trap();
        ready = 1;
    }
    int fd = memfd_create("flows", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        m4_flowset set;
        if (m4_flows_read(&set, path, &topology) == 0) {
            char out[] = "/tmp/fuzz_flows_XXXXXX";
            int ofd = mkstemp(out);
            if (ofd >= 0) {
                close(ofd);
                m4_flowset back;
                if (m4_flows_write(&set, out) != 0 || m4_flows_read(&back, out, &topology) != 0) __builtin_trap();
                if (back.count != set.count ||
                    (set.count && memcmp(back.flows, set.flows, sizeof(m4_flow) * (size_t)set.count) != 0))
                    __builtin_trap();
                m4_flows_free(&back);
                unlink(out);
            }
            m4_flows_free(&set);
        }
    }
    close(fd);
    return 0;
}
