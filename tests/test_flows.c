/* flows.txt reader/writer and the ideal FCT against the fork's own column. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "net/flows.h"
#include "net/routing.h"
#include "testlib.h"

#define REF "tests/data/ns3-reference"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void ideal_worked_examples(void)
{
    m4_topology t;
    CHECK_INT_EQ(m4_topology_from_spec(&t, "star:hosts=2,rate=10G,delay=1us"), 0);
    int32_t path[2] = {0, 3}; /* host 0 -> switch, switch -> host 1 */
    CHECK_INT_EQ(m4_dlink_to(&t, path[1]), 1);
    CHECK_INT_EQ(m4_ideal_fct_ns(&t, path, 2, 5444), 7421);
    CHECK_INT_EQ(m4_ideal_fct_ns(&t, path, 2, 70220), 61712);
    /* 500 B: one packet of 548 B stored and forwarded twice: 2000 + 2*438. */
    CHECK_INT_EQ(m4_ideal_fct_ns(&t, path, 2, 500), 2876);
    m4_topology_free(&t);
    /* Mixed 10G host links, 40G fabric: host-ToR-fabric-ToR-host in one pod. */
    CHECK_INT_EQ(m4_topology_from_spec(&t, "fabric:pods=1,racks=2,hosts=1"), 0);
    m4_routing r;
    CHECK_INT_EQ(m4_routing_init(&r, &t), 0);
    int32_t hops = 0, dl[M4_MAX_HOPS];
    CHECK_INT_EQ(m4_route(&r, 0, 1, 7, dl, M4_MAX_HOPS, &hops), 0);
    CHECK_INT_EQ(hops, 4);
    /* 4000 + 2*floor(8384/10) + 2*floor(8384/40) + floor(9000*8/10) + 9*floor(384/10)
     * = 4000 + 1676 + 418 + 7200 + 342 */
    CHECK_INT_EQ(m4_ideal_fct_ns(&t, dl, hops, 10000), 13636);
    m4_routing_free(&r);
    m4_topology_free(&t);
}

static int64_t parse_node(const char *hex) { return (strtoll(hex, NULL, 16) >> 8) & 0xffff; }

/* Every flow of the reference run: the fork's ideal column reproduced on the
 * read topology and on the generated one. */
static void ideal_matches_reference_column(void)
{
    const char *topologies[2] = {REF "/medium/topology.txt", "fabric:pods=2,racks=4,hosts=4"};
    for (int which = 0; which < 2; which++) {
        m4_topology t;
        CHECK_INT_EQ(m4_topology_from_spec(&t, topologies[which]), 0);
        m4_routing r;
        CHECK_INT_EQ(m4_routing_init(&r, &t), 0);
        m4_flowset flows;
        CHECK_INT_EQ(m4_flows_read(&flows, REF "/medium/flows.txt", &t), 0);
        CHECK_INT_EQ(flows.count, 2000);
        FILE *f = fopen(REF "/medium/fct_dctcp.txt", "r");
        CHECK(f != NULL);
        if (!f) return;
        char sip[32], dip[32];
        long long id, sport, dport, size, start, fct, ideal;
        int rows = 0, matched = 0;
        while (fscanf(f, "%lld %31s %31s %lld %lld %lld %lld %lld %lld", &id, sip, dip, &sport,
                      &dport, &size, &start, &fct, &ideal) == 9) {
            rows++;
            int32_t src = (int32_t)parse_node(sip), dst = (int32_t)parse_node(dip);
            int32_t dl[M4_MAX_HOPS], hops = 0;
            if (m4_route(&r, src, dst, (uint64_t)id, dl, M4_MAX_HOPS, &hops) != 0) continue;
            int64_t mine = m4_ideal_fct_ns(&t, dl, hops, size);
            if (mine == ideal) matched++;
            else if (matched + 5 > rows) fprintf(stderr, "  flow %lld: %lld vs %lld\n", id, (long long)mine, ideal);
        }
        fclose(f);
        CHECK_INT_EQ(rows, 2000);
        CHECK_INT_EQ(matched, 2000);
        m4_flows_free(&flows);
        m4_routing_free(&r);
        m4_topology_free(&t);
    }
}

static void reads_both_forms_and_round_trips(void)
{
    m4_topology t;
    CHECK_INT_EQ(m4_topology_from_spec(&t, "star:hosts=4"), 0);
    char path[] = "/tmp/m4t_flowsXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    write_file(path, "2\n0 1 3 100 2699 1.0\n2 3 3 100 1 1.000245319\n");
    m4_flowset set, back;
    CHECK_INT_EQ(m4_flows_read(&set, path, &t), 0);
    CHECK_INT_EQ(set.count, 2);
    CHECK_INT_EQ(set.flows[1].id, 1);
    CHECK_INT_EQ(set.flows[1].start_ns, 1000245319);
    CHECK_INT_EQ(set.flows[0].size_bytes, 2699);
    write_file(path, "3\n7 0 1 3 100 2699 1.0\n# comment\n5 2 3 3 100 10 0.000000001\n9 3 0 0 0 5 12\n");
    m4_flows_free(&set);
    CHECK_INT_EQ(m4_flows_read(&set, path, &t), 0);
    CHECK_INT_EQ(set.flows[0].id, 7);
    CHECK_INT_EQ(set.flows[1].start_ns, 1);
    CHECK_INT_EQ(set.flows[2].start_ns, 12000000000LL);
    CHECK_INT_EQ(m4_flows_write(&set, path), 0);
    FILE *f = fopen(path, "r");
    char text[256] = {0};
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    CHECK(n > 0);
    CHECK(strcmp(text, "3\n7 0 1 3 100 2699 1.000000000\n5 2 3 3 100 10 0.000000001\n9 3 0 0 0 5 12.000000000\n") == 0);
    CHECK_INT_EQ(m4_flows_read(&back, path, &t), 0);
    CHECK_INT_EQ(back.count, 3);
    CHECK(memcmp(back.flows, set.flows, sizeof(m4_flow) * 3) == 0);
    m4_flows_free(&set);
    m4_flows_free(&back);
    m4_topology_free(&t);
    unlink(path);
}

static void check_bad(const char *text, int line, const char *needle)
{
    m4_topology t;
    CHECK_INT_EQ(m4_topology_from_spec(&t, "star:hosts=4"), 0);
    char path[] = "/tmp/m4t_badflowsXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    write_file(path, text);
    m4_flowset set;
    CHECK_INT_EQ(m4_flows_read(&set, path, &t), M4_EPARSE);
    CHECK(set.flows == NULL);
    char want[256];
    snprintf(want, sizeof want, "%s:%d:", path, line);
    if (!strstr(m4_last_error(), want) || !strstr(m4_last_error(), needle)) {
        fprintf(stderr, "  wanted '%s' and '%s' in '%s'\n", want, needle, m4_last_error());
        CHECK(0);
    }
    unlink(path);
    m4_topology_free(&t);
}

static void bad_inputs_name_file_and_line(void)
{
    check_bad("", 1, "empty");
    check_bad("x\n", 1, "count");
    check_bad("2\n0 1 3 100 10 0\n", 3, "count line says 2");
    check_bad("1\n0 1 3 100 10 0\n1 2 3 100 10 0\n", 3, "more flows");
    check_bad("1\n0 4 3 100 10 0\n", 2, "not a host");
    check_bad("1\n0 9 3 100 10 0\n", 2, "not a host");
    check_bad("1\n1 1 3 100 10 0\n", 2, "src == dst");
    check_bad("1\n0 1 3 100 0 0\n", 2, "size");
    check_bad("1\n0 1 3 100 10 -1\n", 2, "start");
    check_bad("1\n0 1 3 100 10 soon\n", 2, "start");
    check_bad("1\n0 1 3 100\n", 2, "expected");
    check_bad("2\n4 0 1 3 100 10 0\n4 1 2 3 100 10 0\n", 3, "duplicate flow id 4");
    check_bad("2\n4 0 1 3 100 10 0\n1 2 3 100 10 0\n", 3, "same form");
}

/* Two stars with no link between them: a flow across is named by its line;
 * flows within either star, and a flow over a direct host-host link, pass. */
static void disconnected_pairs_name_their_line(void)
{
    char topo[] = "/tmp/m4t_disctopoXXXXXX", flows[] = "/tmp/m4t_discflowsXXXXXX";
    close(mkstemp(topo));
    close(mkstemp(flows));
    write_file(topo, "7 2 5\n4 5\n0 4 10Gbps 1us 0\n1 4 10Gbps 1us 0\n2 5 10Gbps 1us 0\n"
                     "3 5 10Gbps 1us 0\n6 3 10Gbps 1us 0\n");
    m4_topology t;
    CHECK_INT_EQ(m4_topology_read(&t, topo), 0);
    m4_flowset set;
    write_file(flows, "3\n0 0 1 3 100 10 0\n1 2 3 3 100 10 0\n2 3 6 3 100 10 0\n");
    if (m4_flows_read(&set, flows, &t) != 0)
        fprintf(stderr, "  %s\n", m4_last_error());
    CHECK_INT_EQ(set.count, 3);
    m4_flows_free(&set);
    write_file(flows, "3\n# a comment line\n0 0 1 3 100 10 0\n1 1 2 3 100 10 0\n2 6 0 3 100 10 0\n");
    CHECK_INT_EQ(m4_flows_read(&set, flows, &t), M4_EPARSE);
    char want[256];
    snprintf(want, sizeof want, "%s:4: no path from host 1 to host 2", flows);
    CHECK(strstr(m4_last_error(), want) != NULL);
    m4_topology_free(&t);
    unlink(topo);
    unlink(flows);
}

M4_TEST_MAIN(M4_TEST(ideal_worked_examples), M4_TEST(ideal_matches_reference_column),
             M4_TEST(reads_both_forms_and_round_trips), M4_TEST(bad_inputs_name_file_and_line),
             M4_TEST(disconnected_pairs_name_their_line))
