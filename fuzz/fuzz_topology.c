/* libFuzzer target for the topology reader: any input gives a topology or a
 * clean error. Small valid topologies are also routed, measured and written
 * back, and must read back identically. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "net/routing.h"
#include "net/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("topology", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        m4_topology t;
        if (m4_topology_read(&t, path) == 0) {
            if (t.num_nodes <= 300) {
                (void)m4_topology_max_base_rtt_ns(&t);
                m4_routing r;
                if (m4_routing_init(&r, &t) == 0) {
                    for (int32_t a = 0; a + 1 < t.num_hosts && a < 8; a++) {
                        int32_t dl[M4_MAX_HOPS], hops;
                        int32_t src = t.host_nodes[a], dst = t.host_nodes[a + 1];
                        if (m4_route(&r, src, dst, (uint64_t)a, dl, M4_MAX_HOPS, &hops) == 0) {
                            if (hops < 1 || m4_dlink_from(&t, dl[0]) != src || m4_dlink_to(&t, dl[hops - 1]) != dst)
                                __builtin_trap();
                        }
                    }
                    m4_routing_free(&r);
                }
                char out[] = "/tmp/fuzz_topology_XXXXXX";
                int ofd = mkstemp(out);
                if (ofd >= 0) {
                    close(ofd);
                    m4_topology back;
                    if (m4_topology_write(&t, out) != 0 || m4_topology_read(&back, out) != 0) __builtin_trap();
                    if (back.num_nodes != t.num_nodes || back.num_links != t.num_links ||
                        memcmp(back.is_switch, t.is_switch, (size_t)t.num_nodes) != 0)
                        __builtin_trap();
                    for (int32_t i = 0; i < t.num_links; i++)
                        if (back.links[i].a != t.links[i].a || back.links[i].b != t.links[i].b ||
                            back.links[i].rate_bps != t.links[i].rate_bps ||
                            back.links[i].delay_ns != t.links[i].delay_ns ||
                            back.links[i].error_rate != t.links[i].error_rate)
                            __builtin_trap();
                    m4_topology_free(&back);
                    unlink(out);
                }
            }
            m4_topology_free(&t);
        }
    }
    close(fd);
    return 0;
}
