/* libFuzzer target for the traffic-matrix reader (matrix:FILE patterns) on
 * the 32-host fabric: any input gives a matrix or a clean error; pairs drawn
 * from an accepted one are distinct hosts of the listed racks/hosts. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "workload/pattern.h"

static m4_topology topology;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (m4_topology_from_spec(&topology, "fabric:pods=2,racks=4,hosts=4") != 0)
            __builtin_trap();
        ready = 1;
    }
    int fd = memfd_create("matrix", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char spec[80];
        snprintf(spec, sizeof spec, "matrix:/proc/self/fd/%d", fd);
        m4_pattern pattern;
        if (m4_pattern_parse(&pattern, spec, &topology) == 0) {
            m4_rng rng;
            m4_rng_seed(&rng, size);
            for (int i = 0; i < 32; i++) {
                int32_t src, dst;
                m4_pattern_draw(&pattern, &topology, &rng, 1, &src, &dst);
                if (src == dst || topology.is_switch[src] || topology.is_switch[dst])
                    __builtin_trap();
            }
            m4_pattern_free(&pattern);
        }
    }
    close(fd);
    return 0;
}
