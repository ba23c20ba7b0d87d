/* make eval's scripts at toy size (50 flows per scenario, no applications):
 * the noise-floor input is the scenario with each start 1-50 ns later and
 * nothing else changed, the table's floor columns agree with an independent
 * computation of the error from the two fct.txt files, and a rerun keeps the
 * packet, flow and floor runs. Runs from the repository root (make test). */
#include "testlib.h"
#include "scratch.h"

#include <math.h>

#define FLOWS 50
#define SCENARIO "s256-webserver-dctcp"

typedef struct flow_line {
    long long id, src, dst, pg, dport, size;
    double start_s;
} flow_line;

/* flows.txt (count line, then id src dst pg dport size start_s); the count. */
static int read_flows(const char *name, flow_line *out, int cap)
{
    const char *text = m4t_read_text(name);
    if (!text) return -1;
    int count = 0, used = 0;
    if (sscanf(text, "%d%n", &count, &used) != 1 || count > cap) return -1;
    text += used;
    for (int i = 0; i < count; i++) {
        flow_line *f = &out[i];
        if (sscanf(text, "%lld %lld %lld %lld %lld %lld %lf%n", &f->id, &f->src, &f->dst, &f->pg,
                   &f->dport, &f->size, &f->start_s, &used) != 7)
            return -1;
        text += used;
    }
    return count;
}

/* Slowdowns of fct.txt by row (rows sorted by id): max(1, fct / ideal). */
static int read_slowdowns(const char *name, double *out, int cap)
{
    const char *text = m4t_read_text(name);
    if (!text) return -1;
    const char *line = strchr(text, '\n');
    int n = 0;
    while (line && line[1] && n < cap) {
        long long id, src, dst, size, start, fct, ideal;
        double slowdown;
        if (sscanf(line + 1, "%lld %lld %lld %lld %lld %lld %lld %lf", &id, &src, &dst, &size,
                   &start, &fct, &ideal, &slowdown) != 8)
            return -1;
        double s = (double)fct / (double)ideal;
        out[n++] = s < 1 ? 1 : s;
        line = strchr(line + 1, '\n');
    }
    return n;
}

static int run_eval(void)
{
    char command[4096];
    snprintf(command, sizeof command,
             "EVAL_OUT='%s/ev' EVAL_FLOWS=%d EVAL_APP=0 sh tools/eval.sh '%s' >'%s/eval.out' 2>'%s/eval.err'",
             m4t_scratch, FLOWS, m4t_cli(), m4t_scratch, m4t_scratch);
    return m4t_sh(command);
}

static void setup(void) { m4t_scratch_make("/tmp/m4sim-test-eval-XXXXXX"); }

static void floor_input_only_shifts_starts(void)
{
    CHECK_INT_EQ(run_eval(), 0);
    flow_line a[FLOWS], b[FLOWS];
    int n = read_flows("ev/" SCENARIO "/flows.txt", a, FLOWS);
    CHECK_INT_EQ(n, FLOWS);
    CHECK_INT_EQ(read_flows("ev/" SCENARIO "/jitter-input/flows.txt", b, FLOWS), n);
    int distinct = 0;
    for (int i = 0; i < n && i < FLOWS; i++) {
        CHECK(a[i].id == b[i].id && a[i].src == b[i].src && a[i].dst == b[i].dst &&
              a[i].pg == b[i].pg && a[i].dport == b[i].dport && a[i].size == b[i].size);
        long long shift_ns = llround((b[i].start_s - a[i].start_s) * 1e9);
        CHECK(shift_ns >= 1 && shift_ns <= 50);
        distinct += i > 0 && llround((b[i].start_s - a[i].start_s) * 1e9) !=
                                 llround((b[i - 1].start_s - a[i - 1].start_s) * 1e9);
    }
    CHECK(distinct > 0); /* drawn, not one constant */
    CHECK(strcmp(m4t_read_text("ev/" SCENARIO "/topology.txt"),
                 m4t_read_text("ev/" SCENARIO "/jitter-input/topology.txt")) == 0);
    CHECK(strcmp(m4t_read_text("ev/" SCENARIO "/config.txt"),
                 m4t_read_text("ev/" SCENARIO "/jitter-input/config.txt")) == 0);
}

static void floor_columns_match_the_files(void)
{
    /* The mean error of the floor run against packet, computed here, is the
     * table's floor_mean for the scenario (column 7, to 4 decimals). */
    double packet[FLOWS], jitter[FLOWS];
    int n = read_slowdowns("ev/" SCENARIO "/packet/fct.txt", packet, FLOWS);
    CHECK_INT_EQ(n, FLOWS);
    CHECK_INT_EQ(read_slowdowns("ev/" SCENARIO "/jitter/fct.txt", jitter, FLOWS), n);
    double sum = 0;
    for (int i = 0; i < n && i < FLOWS; i++) sum += fabs(jitter[i] - packet[i]) / packet[i];
    const char *table = m4t_read_text("ev/table.txt");
    const char *row = table ? strstr(table, "\n" SCENARIO " ") : NULL;
    CHECK(row != NULL);
    if (!row) return;
    char name[64];
    int flows = 0;
    double flow_mean, flow_p90, floor_mean = -1, floor_p90 = -1;
    char m4_mean[32], m4_p90[32]; /* n/a where m4 has no model */
    CHECK_INT_EQ(sscanf(row + 1, "%63s %d %lf %lf %31s %31s %lf %lf", name, &flows, &flow_mean,
                        &flow_p90, m4_mean, m4_p90, &floor_mean, &floor_p90),
                 8);
    CHECK_INT_EQ(flows, FLOWS);
    CHECK_NEAR(floor_mean, sum / n, 5e-5);
    CHECK(strstr(table, "noise floor, pooled") != NULL);
}

/* The by-size lines split the pooled flows: their counts add up to OVERALL's
 * and their means, weighted by count, give OVERALL's means (each printed to
 * 4 decimals, so within 1e-4). */
static void size_buckets_add_up_to_the_pooled_errors(void)
{
    const char *table = m4t_read_text("ev/table.txt");
    const char *row = table ? strstr(table, "\nOVERALL(pooled,") : NULL;
    CHECK(row != NULL);
    if (!row) return;
    char name[64], m4_text[32];
    int flows = 0;
    double flow_mean, flow_p90;
    CHECK_INT_EQ(sscanf(row + 1, "%63s %d %lf %lf %31s", name, &flows, &flow_mean, &flow_p90,
                        m4_text), 5);
    const char *head = strstr(table, "\nsize_bucket ");
    CHECK(head != NULL);
    if (!head) return;
    const char *line = strchr(head + 1, '\n');
    int buckets = 0, total = 0;
    double flow_sum = 0, m4_sum = 0;
    while (line) {
        char bucket[32], m4_mean[32];
        int n = 0;
        double f = 0;
        if (sscanf(line + 1, "%31s %d %lf %31s", bucket, &n, &f, m4_mean) != 4 ||
            strchr("0123456789", bucket[0]) == NULL)
            break;
        buckets++, total += n, flow_sum += n * f, m4_sum += n * atof(m4_mean);
        line = strchr(line + 1, '\n');
    }
    CHECK(buckets >= 2); /* the eval's workloads have small and large flows */
    CHECK_INT_EQ(total, flows);
    if (total <= 0) return;
    CHECK_NEAR(flow_sum / total, flow_mean, 1e-4);
    if (strcmp(m4_text, "n/a") != 0) CHECK_NEAR(m4_sum / total, atof(m4_text), 1e-4);
}

static void rerun_keeps_packet_flow_and_floor(void)
{
    CHECK_INT_EQ(run_eval(), 0);
    const char *err = m4t_read_text("eval.err");
    CHECK(err && strstr(err, SCENARIO ": jitter: kept") && strstr(err, SCENARIO ": packet: kept") &&
          strstr(err, SCENARIO ": flow: kept"));
}

int main(void)
{
    setup();
    static const m4t_case cases[] = {M4_TEST(floor_input_only_shifts_starts),
                                     M4_TEST(floor_columns_match_the_files),
                                     M4_TEST(size_buckets_add_up_to_the_pooled_errors),
                                     M4_TEST(rerun_keeps_packet_flow_and_floor)};
    int rc = m4t_run_cases(__FILE__, cases, 4);
    m4t_scratch_remove();
    return rc;
}
