/* config.txt, defaults, features, and scenario loading. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "net/scenario.h"
#include "testlib.h"

#define REF "tests/data/ns3-reference"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void defaults_per_cc(void)
{
    m4_config c;
    m4_config_defaults(&c, M4_CC_DCTCP);
    CHECK_NEAR(c.buffer_kb, 3000, 0);
    CHECK_INT_EQ(c.window_bytes, 0);
    CHECK_INT_EQ(c.pfc, 1);
    CHECK_NEAR(c.dctcp_k_kb, 30, 0);
    CHECK_NEAR(c.ecn_pmax, 1.0, 0);
    m4_config_defaults(&c, M4_CC_DCQCN);
    CHECK_NEAR(c.dcqcn_kmin_kb, 8, 0);
    CHECK_NEAR(c.dcqcn_kmax_kb, 12, 0);
    CHECK_NEAR(c.ecn_pmax, 0.2, 0);
    m4_config_defaults(&c, M4_CC_HPCC);
    CHECK_NEAR(c.hpcc_eta, 0.95, 0);
    CHECK_NEAR(c.hpcc_ai_mbps, 1000, 0);
    CHECK_NEAR(c.ecn_kmin_kb, 4, 0);
    CHECK_NEAR(c.ecn_kmax_kb, 16, 0);
    m4_config_defaults(&c, M4_CC_TIMELY);
    CHECK_NEAR(c.timely_tlow_us, 100, 0);
    CHECK_NEAR(c.timely_thigh_us, 200, 0);
    m4_cc_kind cc;
    CHECK_INT_EQ(m4_cc_from_name("hpcc", &cc), 0);
    CHECK_INT_EQ(cc, M4_CC_HPCC);
    CHECK(m4_cc_from_name("reno", &cc) != 0);
    CHECK(strcmp(m4_cc_name(M4_CC_TIMELY), "timely") == 0);
}

static void reads_writes_round_trip(void)
{
    char path[] = "/tmp/m4t_cfgXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    write_file(path, "# test\n\nBUFFER_KB 150\nCC dcqcn   # after a key: still picks its defaults\n"
                     "WINDOW_BYTES=15000\nPFC 0\nDCQCN_KMIN_KB 5\nDCQCN_KMAX_KB 40\n");
    m4_config c, back;
    CHECK_INT_EQ(m4_config_read(&c, path), 0);
    CHECK_INT_EQ(c.cc, M4_CC_DCQCN);
    CHECK_NEAR(c.buffer_kb, 150, 0);
    CHECK_INT_EQ(c.window_bytes, 15000);
    CHECK_INT_EQ(c.pfc, 0);
    CHECK_NEAR(c.dcqcn_kmin_kb, 5, 0);
    CHECK_NEAR(c.ecn_pmax, 0.2, 0);
    c.hpcc_eta = 0.7123456789;
    c.timely_tlow_us = 0.1 + 0.2; /* 0.30000000000000004: needs all 17 digits */
    CHECK_INT_EQ(m4_config_write(&c, path), 0);
    CHECK_INT_EQ(m4_config_read(&back, path), 0);
    CHECK(memcmp(&c, &back, sizeof c) == 0);
    /* written in the shortest form that reads back exactly */
    FILE *text = fopen(path, "r");
    char buf[4096] = {0};
    CHECK(text != NULL);
    if (text) {
        CHECK(fread(buf, 1, sizeof buf - 1, text) > 0);
        fclose(text);
    }
    CHECK(strstr(buf, "\nECN_PMAX 0.2\n") != NULL);
    CHECK(strstr(buf, "\nHPCC_ETA 0.7123456789\n") != NULL);
    CHECK(strstr(buf, "\nTIMELY_TLOW_US 0.30000000000000004\n") != NULL);
    float features[M4_CONFIG_FEATURES];
    m4_config_features(&c, 15000, features);
    CHECK_NEAR(features[0], 0.15, 1e-6);
    CHECK_NEAR(features[1], 1.5, 1e-6);
    CHECK_NEAR(features[2] + features[3] + features[4] + features[5], 1, 0);
    CHECK_NEAR(features[3], 1, 0);
    CHECK_NEAR(features[7], 0.5, 1e-6);
    CHECK_NEAR(features[8], 4.0, 1e-6);
    CHECK_NEAR(features[6] + features[9] + features[10] + features[11] + features[12], 0, 0);
    unlink(path);
}

static void check_bad(const char *text, int line, const char *needle)
{
    char path[] = "/tmp/m4t_badcfgXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    write_file(path, text);
    m4_config c;
    m4_config_defaults(&c, M4_CC_HPCC);
    m4_config before = c;
    CHECK_INT_EQ(m4_config_read(&c, path), M4_EPARSE);
    CHECK(memcmp(&c, &before, sizeof c) == 0);
    char want[256];
    if (line > 0) snprintf(want, sizeof want, "%s:%d:", path, line);
    else snprintf(want, sizeof want, "%s:", path);
    if (!strstr(m4_last_error(), want) || !strstr(m4_last_error(), needle)) {
        fprintf(stderr, "  wanted '%s' and '%s' in '%s'\n", want, needle, m4_last_error());
        CHECK(0);
    }
    unlink(path);
}

static void bad_inputs_name_file_and_line(void)
{
    check_bad("# x\nSPEED 3\n", 2, "unknown key");
    check_bad("CC reno\n", 1, "CC");
    check_bad("BUFFER_KB 5\n", 1, "BUFFER_KB");
    check_bad("BUFFER_KB 200000\n", 1, "BUFFER_KB");
    check_bad("BUFFER_KB lots\n", 1, "bad number");
    check_bad("WINDOW_BYTES 999\n", 1, "WINDOW_BYTES");
    check_bad("WINDOW_BYTES 20000000\n", 1, "WINDOW_BYTES");
    check_bad("PFC 2\n", 1, "PFC");
    check_bad("\nDCTCP_K_KB 0\n", 2, "DCTCP_K_KB");
    check_bad("HPCC_ETA 0\n", 1, "HPCC_ETA");
    check_bad("HPCC_ETA 1.5\n", 1, "HPCC_ETA");
    check_bad("HPCC_AI_MBPS -1\n", 1, "HPCC_AI_MBPS");
    check_bad("ECN_PMAX 0\n", 1, "ECN_PMAX");
    check_bad("PFC\n", 1, "expected");
    check_bad("PFC 1 2\n", 1, "expected");
    check_bad("PFC 1\nPFC 0\n", 2, "already set");
    check_bad("DCQCN_KMIN_KB 20\nDCQCN_KMAX_KB 10\n", 0, "DCQCN_KMIN_KB");
    check_bad("TIMELY_TLOW_US 300\n", 0, "TIMELY_TLOW_US");
    m4_config c;
    CHECK_INT_EQ(m4_config_read(&c, "/nonexistent/config.txt"), M4_EIO);
    m4_config_defaults(&c, M4_CC_DCTCP);
    CHECK_INT_EQ(m4_config_set(&c, "HPCC_ETA", "0.8", "--set"), 0);
    CHECK_NEAR(c.hpcc_eta, 0.8, 0);
    CHECK_INT_EQ(m4_config_set(&c, "nope", "1", "--set"), M4_EINVAL);
    CHECK(strstr(m4_last_error(), "--set") != NULL);
}

static void scenario_loads_reference_directories(void)
{
    m4_scenario *s = NULL;
    CHECK_INT_EQ(m4_scenario_load(&s, REF "/medium"), 0);
    if (!s) return;
    CHECK_INT_EQ(m4_scenario_num_hosts(s), 32);
    CHECK_INT_EQ(m4_scenario_num_flows(s), 2000);
    CHECK_INT_EQ(m4_scenario_host_node(s, 5), 5);
    CHECK_INT_EQ(m4_scenario_host_node(s, 32), -1);
    CHECK_INT_EQ(s->window_bytes, 15000); /* 10 Gb/s x 12 us / 8 */
    CHECK_INT_EQ(s->config.cc, M4_CC_DCTCP);
    m4_scenario_free(s);
    CHECK_INT_EQ(m4_scenario_load_files(&s, REF "/case1/topology.txt", NULL, NULL), 0);
    CHECK_INT_EQ(m4_scenario_num_flows(s), 0);
    CHECK_INT_EQ(s->window_bytes, 5000); /* 10 Gb/s x 4 us / 8 */
    m4_scenario_free(s);
    m4_topology t;
    CHECK_INT_EQ(m4_topology_from_spec(&t, "fabric:pods=2,racks=4,hosts=4"), 0);
    m4_config c;
    m4_config_defaults(&c, M4_CC_HPCC);
    CHECK_INT_EQ(m4_resolved_window_bytes(&t, &c), 15000);
    c.window_bytes = 20000;
    CHECK_INT_EQ(m4_resolved_window_bytes(&t, &c), 20000);
    m4_topology_free(&t);
    s = (m4_scenario *)1;
    CHECK(m4_scenario_load(&s, "/nonexistent") == M4_EIO);
    CHECK(s == NULL);
}

M4_TEST_MAIN(M4_TEST(defaults_per_cc), M4_TEST(reads_writes_round_trip),
             M4_TEST(bad_inputs_name_file_and_line), M4_TEST(scenario_loads_reference_directories))
