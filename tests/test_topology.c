/* Topology reader/writer, generators and base RTT. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "net/topology.h"
#include "testlib.h"

#define REF "tests/data/ns3-reference"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static int degree(const m4_topology *t, int32_t v) { return t->adj_start[v + 1] - t->adj_start[v]; }

/* Sorted multiset of (degree, is_switch, sum of attached link rates in Gb/s). */
static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void signature(const m4_topology *t, int64_t *out)
{
    for (int32_t v = 0; v < t->num_nodes; v++) {
        int64_t rate_sum = 0;
        for (int32_t i = t->adj_start[v]; i < t->adj_start[v + 1]; i++)
            rate_sum += (int64_t)(m4_dlink_rate_bps(t, t->adj_dlinks[i]) / 1e9);
        out[v] = ((int64_t)degree(t, v) * 1000000 + rate_sum) * 2 + t->is_switch[v];
    }
    qsort(out, (size_t)t->num_nodes, sizeof(int64_t), compare_i64);
}

static void reads_reference_topologies(void)
{
    m4_topology t;
    CHECK_INT_EQ(m4_topology_read(&t, REF "/medium/topology.txt"), 0);
    CHECK_INT_EQ(t.num_nodes, 52);
    CHECK_INT_EQ(t.num_switches, 20);
    CHECK_INT_EQ(t.num_links, 64);
    CHECK_INT_EQ(t.num_hosts, 32);
    CHECK_INT_EQ(t.host_nodes[31], 31);
    CHECK_INT_EQ(t.host_index[40], -1);
    CHECK_INT_EQ(m4_topology_max_base_rtt_ns(&t), 12000);
    m4_topology_free(&t);
    CHECK_INT_EQ(m4_topology_read(&t, REF "/case1/topology.txt"), 0);
    CHECK_INT_EQ(t.num_hosts, 2);
    CHECK_INT_EQ(m4_topology_max_base_rtt_ns(&t), 4000);
    m4_topology_free(&t);
}

static void fabric_matches_reference_shape(void)
{
    m4_topology ref, gen;
    CHECK_INT_EQ(m4_topology_read(&ref, REF "/medium/topology.txt"), 0);
    CHECK_INT_EQ(m4_topology_from_spec(&gen, "fabric:pods=2,racks=4,hosts=4"), 0);
    CHECK_INT_EQ(gen.num_nodes, 52);
    CHECK_INT_EQ(gen.num_switches, 20);
    CHECK_INT_EQ(gen.num_links, 64);
    for (int32_t h = 0; h < 32; h++) CHECK(!gen.is_switch[h]);
    int64_t a[52], b[52];
    signature(&ref, a);
    signature(&gen, b);
    int same = 1;
    for (int i = 0; i < 52; i++) same &= a[i] == b[i];
    CHECK(same);
    CHECK_INT_EQ(m4_topology_max_base_rtt_ns(&gen), 12000);
    m4_topology_free(&ref);
    m4_topology_free(&gen);
}

static void generator_shapes(void)
{
    m4_topology t;
    /* fat-tree k=4: 16 hosts, 8 edge + 8 agg + 4 core, 16 + 16 + 16 links. */
    CHECK_INT_EQ(m4_topology_from_spec(&t, "fattree:k=4"), 0);
    CHECK_INT_EQ(t.num_hosts, 16);
    CHECK_INT_EQ(t.num_switches, 20);
    CHECK_INT_EQ(t.num_links, 48);
    for (int32_t v = 16; v < t.num_nodes; v++) CHECK_INT_EQ(degree(&t, v), 4);
    /* host - edge - agg - core - agg - edge - host: 6 links of 1 us. */
    CHECK_INT_EQ(m4_topology_max_base_rtt_ns(&t), 12000);
    m4_topology_free(&t);
    CHECK_INT_EQ(m4_topology_from_spec(&t, "star:hosts=5,rate=25G,delay=2us"), 0);
    CHECK_INT_EQ(t.num_nodes, 6);
    CHECK_INT_EQ(t.num_links, 5);
    CHECK_NEAR(t.links[0].rate_bps, 25e9, 0);
    CHECK_INT_EQ(m4_topology_max_base_rtt_ns(&t), 8000);
    m4_topology_free(&t);
    CHECK_INT_EQ(m4_topology_from_spec(&t, "dumbbell:left=3,right=2,bottleneck_rate=1G"), 0);
    CHECK_INT_EQ(t.num_hosts, 5);
    CHECK_INT_EQ(t.num_switches, 2);
    CHECK_INT_EQ(t.num_links, 6);
    CHECK_NEAR(t.links[5].rate_bps, 1e9, 0);
    CHECK_INT_EQ(m4_topology_max_base_rtt_ns(&t), 6000);
    m4_topology_free(&t);
    CHECK_INT_EQ(m4_topology_from_spec(&t, "line:switches=4"), 0);
    CHECK_INT_EQ(t.num_hosts, 4);
    CHECK_INT_EQ(t.num_links, 7);
    /* end hosts: 1 + 3 + 1 links */
    CHECK_INT_EQ(m4_topology_max_base_rtt_ns(&t), 10000);
    m4_topology_free(&t);
    /* oversub 2 on 4 hosts x 10G with 2 fabric switches: uplinks at 10G. */
    CHECK_INT_EQ(m4_topology_from_spec(&t, "fabric:pods=1,racks=2,hosts=4,oversub=2"), 0);
    int uplinks = 0;
    for (int32_t i = 0; i < t.num_links; i++) {
        int32_t a = t.links[i].a, b = t.links[i].b;
        if (a >= 8 && a < 10 && t.is_switch[b]) { /* ToRs are nodes 8 and 9 */
            CHECK_NEAR(t.links[i].rate_bps, 10e9, 0);
            uplinks++;
        }
    }
    CHECK_INT_EQ(uplinks, 4);
    m4_topology_free(&t);
    CHECK_INT_EQ(m4_topology_from_spec(&t, "fabric:pods=3,racks=2,hosts=2,fabrics=3,spines=2"), 0);
    CHECK_INT_EQ(t.num_hosts, 12);
    CHECK_INT_EQ(t.num_switches, 6 + 9 + 6);
    CHECK_INT_EQ(t.num_links, 12 + 6 * 3 + 9 * 2);
    m4_topology_free(&t);
    CHECK_INT_EQ(m4_topology_from_spec(&t, "fabric:pods=2"), M4_EINVAL);
    CHECK_INT_EQ(m4_topology_from_spec(&t, "fabric:pods=2,racks=1,hosts=1,bogus=3"), M4_EINVAL);
    CHECK_INT_EQ(m4_topology_from_spec(&t, "fattree:k=3"), M4_EINVAL);
    CHECK_INT_EQ(m4_topology_from_spec(&t, "star:hosts=4,rate=fast"), M4_EINVAL);
    CHECK_INT_EQ(m4_topology_from_spec(&t, "nothing:here"), M4_EINVAL);
    /* an empty key (found by fuzz_spec: it walked strstr past the key list) */
    CHECK_INT_EQ(m4_topology_from_spec(&t, "line:=i"), M4_EINVAL);
    CHECK_INT_EQ(m4_topology_from_spec(&t, "star:hosts=2,=3"), M4_EINVAL);
}

static void round_trip(void)
{
    m4_topology t, back;
    CHECK_INT_EQ(m4_topology_from_spec(&t, "fabric:pods=2,racks=2,hosts=3,oversub=3,delay=1.5us"), 0);
    char path[] = "/tmp/m4t_topoXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_INT_EQ(m4_topology_write(&t, path), 0);
    CHECK_INT_EQ(m4_topology_read(&back, path), 0);
    CHECK_INT_EQ(back.num_nodes, t.num_nodes);
    CHECK_INT_EQ(back.num_links, t.num_links);
    int same = 1;
    for (int32_t i = 0; i < t.num_links; i++) {
        same &= t.links[i].a == back.links[i].a && t.links[i].b == back.links[i].b &&
                t.links[i].rate_bps == back.links[i].rate_bps &&
                t.links[i].delay_ns == back.links[i].delay_ns;
    }
    for (int32_t v = 0; v < t.num_nodes; v++) same &= t.is_switch[v] == back.is_switch[v];
    CHECK(same);
    m4_topology_free(&t);
    m4_topology_free(&back);
    unlink(path);
}

static void check_bad(const char *text, int expected_line, const char *needle)
{
    char path[] = "/tmp/m4t_badtopoXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    write_file(path, text);
    m4_topology t;
    CHECK_INT_EQ(m4_topology_read(&t, path), M4_EPARSE);
    char want[256];
    snprintf(want, sizeof want, "%s:%d:", path, expected_line);
    if (!strstr(m4_last_error(), want) || !strstr(m4_last_error(), needle)) {
        fprintf(stderr, "  wanted '%s' and '%s' in '%s'\n", want, needle, m4_last_error());
        CHECK(0);
    }
    unlink(path);
}

static void bad_inputs_name_file_and_line(void)
{
    check_bad("", 1, "empty");
    check_bad("3 1\n", 1, "expected");
    check_bad("3 1 2\n2\n0 2 10Gbps 1us\n", 3, "got");
    check_bad("3 1 2\n2\n0 2 10Gbps 1us 0\n1 7 10Gbps 1us 0\n", 4, "unknown node");
    check_bad("3 1 2\n2\n0 2 10Gbps 1us 0\nx 2 10Gbps 1us 0\n", 4, "bad node id");
    check_bad("3 2 2\n2 2\n0 2 10Gbps 1us 0\n1 2 10Gbps 1us 0\n", 2, "duplicate switch");
    /* a huge link count on a short file: an error, not a 3 GB allocation (found by fuzz_topology) */
    check_bad("20 2 100000000\n18 19\n0 18 10Gbps 1us 0\n", 4, "1 links, header says 100000000");
    check_bad("3 1 2\n2\n0 0 10Gbps 1us 0\n1 2 10Gbps 1us 0\n", 3, "self loop");
    check_bad("3 1 2\n2\n0 2 0Gbps 1us 0\n1 2 10Gbps 1us 0\n", 3, "bad rate");
    check_bad("3 1 2\n2\n0 2 -1Gbps 1us 0\n1 2 10Gbps 1us 0\n", 3, "bad rate");
    check_bad("3 1 2\n2\n0 2 10Gbps -1us 0\n1 2 10Gbps 1us 0\n", 3, "bad delay");
    check_bad("3 1 2\n2\n0 2 10Gbps 1us 0\n", 4, "header says 2");
    check_bad("3 1 1\n2\n0 2 10Gbps 1us 0\n1 2 10Gbps 1us 0\n", 4, "trailing");
    check_bad("3 2 1\n2\n0 2 10Gbps 1us 0\n", 2, "switch ids");
    check_bad("3 1 1\n5\n0 2 10Gbps 1us 0\n", 2, "not a node");
    check_bad("3 1 1\n2\n0 2 10Gbps 1us 0 junk\n", 3, "more than 5");
    check_bad("-3 1 1\n2\n", 1, "bad counts");
    m4_topology t;
    CHECK_INT_EQ(m4_topology_read(&t, "/nonexistent/topology.txt"), M4_EIO);
}

M4_TEST_MAIN(M4_TEST(reads_reference_topologies), M4_TEST(fabric_matches_reference_shape),
             M4_TEST(generator_shapes), M4_TEST(round_trip), M4_TEST(bad_inputs_name_file_and_line))
