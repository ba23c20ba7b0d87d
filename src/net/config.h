/* Network configuration of a scenario: congestion control and switch settings,
 * read from config.txt ("KEY value" lines, '#' comments). Unknown keys and
 * out-of-range values are errors naming file:line.
 *
 * ECN thresholds are given in KB (1000 bytes) at a 10 Gb/s link and scaled
 * linearly with each port's rate (30 KB at 10G is 120 KB at 40G), as the HPCC
 * fork does. */
#ifndef M4_NET_CONFIG_H
#define M4_NET_CONFIG_H

#include <stdint.h>
#include <stdio.h>

typedef enum m4_cc_kind {
    M4_CC_DCTCP = 0,
    M4_CC_DCQCN = 1,
    M4_CC_HPCC = 2,
    M4_CC_TIMELY = 3,
} m4_cc_kind;

#define M4_CC_COUNT 4

typedef struct m4_config {
    m4_cc_kind cc;             /* CC: dctcp|dcqcn|hpcc|timely (default dctcp) */
    double buffer_kb;          /* BUFFER_KB shared buffer per switch, KiB (default 3000) */
    int64_t window_bytes;      /* WINDOW_BYTES, 0 = largest BDP of the topology (default 0) */
    int pfc;                   /* PFC 0|1 (default 1) */
    double dctcp_k_kb;         /* DCTCP_K_KB (default 30) */
    double dcqcn_kmin_kb;      /* DCQCN_KMIN_KB (default 8) */
    double dcqcn_kmax_kb;      /* DCQCN_KMAX_KB (default 12) */
    double hpcc_eta;           /* HPCC_ETA (default 0.95) */
    double hpcc_ai_mbps;       /* HPCC_AI_MBPS (default 1000) */
    double timely_tlow_us;     /* TIMELY_TLOW_US (default 100) */
    double timely_thigh_us;    /* TIMELY_THIGH_US (default 200) */
    /* ECN thresholds for HPCC and TIMELY (they do not use them for control
     * but the switches still mark), KB at 10 Gb/s. */
    double ecn_kmin_kb;        /* ECN_KMIN_KB (default 4) */
    double ecn_kmax_kb;        /* ECN_KMAX_KB (default 16) */
    double ecn_pmax;           /* ECN_PMAX (default: 1.0 for DCTCP, 0.2 otherwise) */
} m4_config;

/* Defaults for a CC (the HPCC fork's presets, DESIGN.md section 6). */
void m4_config_defaults(m4_config *cfg, m4_cc_kind cc);
int m4_config_read(m4_config *cfg, const char *path);
/* Apply one "KEY=VALUE" or "KEY value" setting; `where` prefixes errors
 * (e.g. "config.txt:3" or "--set"). */
int m4_config_set(m4_config *cfg, const char *key, const char *value, const char *where);
int m4_config_write(const m4_config *cfg, const char *path); /* atomic, every key */
int m4_cc_from_name(const char *name, m4_cc_kind *out);
const char *m4_cc_name(m4_cc_kind cc);

/* The 13 numbers the m4 model takes (DESIGN.md section 8), each scaled to
 * order 1: [buffer, window, onehot(dctcp,dcqcn,hpcc,timely), dctcp K,
 * dcqcn Kmin, Kmax, hpcc eta, hpcc AI, timely Tlow, Thigh]; zeros for the CC
 * parameters not in use. window_bytes is the window in force (resolved).
 * Scaling: buffer KB/1000, window bytes/10^4, one-hot as 0/1, K values KB/10,
 * eta as is, AI Mb/s / 1000, Tlow/Thigh us / 100. Indices: 0 buffer,
 * 1 window, 2..5 one-hot, 6 DCTCP K, 7 DCQCN Kmin, 8 Kmax, 9 eta, 10 AI,
 * 11 Tlow, 12 Thigh.
 * Accepted ranges (m4_config_set/read): BUFFER_KB 10..100000, WINDOW_BYTES 0
 * or 1000..10^7, PFC 0|1, K values > 0 with Kmin <= Kmax, HPCC_ETA and
 * ECN_PMAX in (0,1], HPCC_AI_MBPS > 0, 0 < TIMELY_TLOW_US < TIMELY_THIGH_US.
 * "KEY=value" is accepted as well; a key may appear once; CC may appear
 * anywhere in the file and picks the defaults the other keys override. */
#define M4_CONFIG_FEATURES 13
void m4_config_features(const m4_config *cfg, int64_t window_bytes, float *out);

#endif
