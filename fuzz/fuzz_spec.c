/* libFuzzer target for the command-line spec parsers: the topology spec of
 * `m4sim gen --topo` (fabric:, fattree:, star:, dumbbell:, line:) and, on the
 * topology it gives, the pattern spec of `--pattern` (uniform, incast:N; the
 * matrix file reader has its own target). Input: "TOPO\nPATTERN". Any input
 * gives a topology or a clean error; an accepted topology is connected through
 * its links (every link names two distinct nodes in range), and an accepted
 * pattern draws distinct host pairs.
 *
 * Integers in the input are limited to two digits, so that valid specs stay
 * small enough for the fuzzer's memory limit (the generators' own limits allow
 * 10M nodes, which is a lot of memory but not a bug). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workload/pattern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    int run = 0;
    for (size_t i = 0; i < size; i++) {
        run = isdigit((unsigned char)text[i]) ? run + 1 : 0;
        if (run > 2 || text[i] == '/' || text[i] == '\0') { /* no big numbers, no file paths */
            free(text);
            return 0;
        }
    }
    char *pattern_spec = strchr(text, '\n');
    if (pattern_spec)
        *pattern_spec++ = '\0';
    m4_topology t;
    if (m4_topology_from_spec(&t, text) == 0) {
        for (int32_t l = 0; l < t.num_links; l++)
            if (t.links[l].a < 0 || t.links[l].a >= t.num_nodes || t.links[l].b < 0 ||
                t.links[l].b >= t.num_nodes || t.links[l].a == t.links[l].b || !(t.links[l].rate_bps > 0))
                __builtin_trap();
        if (pattern_spec && t.num_hosts >= 2 && t.num_nodes <= 100000) {
            m4_pattern p;
            if (m4_pattern_parse(&p, pattern_spec, &t) == 0) {
                m4_rng rng;
                m4_rng_seed(&rng, size);
                int32_t n = m4_pattern_flows_per_event(&p);
                if (n < 1 || n >= t.num_hosts)
                    __builtin_trap();
                int32_t *src = malloc((size_t)n * sizeof *src), *dst = malloc((size_t)n * sizeof *dst);
                if (src && dst) {
                    for (int k = 0; k < 8; k++) {
                        m4_pattern_draw(&p, &t, &rng, n, src, dst);
                        for (int32_t i = 0; i < n; i++)
                            if (src[i] == dst[i] || t.is_switch[src[i]] || t.is_switch[dst[i]] ||
                                dst[i] != dst[0])
                                __builtin_trap();
                    }
                }
                free(src);
                free(dst);
                m4_pattern_free(&p);
            }
        }
        m4_topology_free(&t);
    }
    free(text);
    return 0;
}
