#include "dataset_gen.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/textio.h"
#include "net/scenario.h"
#include "net/topology.h"
#include "packet/packet.h"
#include "sim/fct.h"
#include "sim/sim.h"
#include "workload/cdf.h"
#include "workload/generator.h"

const char *const m4_dsgen_builtin_workloads[M4_DSGEN_BUILTIN_COUNT] = {
    "websearch", "fbhdp", "alistorage", "googlerpc"};

static const char *const family_names[M4_SYNTH_FAMILIES] = {"lognormal", "pareto", "bimodal",
                                                            "loguniform"};

const char *m4_dsgen_family_name(m4_synthetic_family family)
{
    return (unsigned)family < M4_SYNTH_FAMILIES ? family_names[family] : "unknown";
}

static double uniform_in(m4_rng *rng, double lo, double hi, double step)
{
    double x = lo + (hi - lo) * m4_rng_uniform(rng);
    return round(x / step) * step;
}

void m4_dsgen_draw_scenario(uint64_t seed, int64_t index, m4_dsgen_draw *out)
{
    memset(out, 0, sizeof *out);
    /* Seeded by (seed, index) alone so scenario i never depends on how many
     * scenarios or workers there are. */
    m4_rng rng;
    m4_rng_seed(&rng, m4_mix64(m4_mix64(seed) ^ m4_mix64((uint64_t)index * 0x9e3779b97f4a7c15ULL +
                                                         0x6a09e667f3bcc909ULL)));
    out->index = index;
    /* Every draw below happens whatever the branch, so adding a branch's
     * consumer never shifts the others. */
    double workload_u = m4_rng_uniform(&rng);
    uint64_t builtin = m4_rng_below(&rng, M4_DSGEN_BUILTIN_COUNT);
    m4_synthetic_cdf_draw(&out->cdf, &rng);
    out->synthetic = workload_u < M4_DSGEN_P_SYNTHETIC;
    if (out->synthetic)
        snprintf(out->workload, sizeof out->workload, "synthetic:%s",
                 m4_dsgen_family_name(out->cdf.family));
    else
        snprintf(out->workload, sizeof out->workload, "%s", m4_dsgen_builtin_workloads[builtin]);
    out->load = uniform_in(&rng, M4_DSGEN_LOAD_MIN, M4_DSGEN_LOAD_MAX, 1e-4);
    out->sigma = uniform_in(&rng, M4_DSGEN_SIGMA_MIN, M4_DSGEN_SIGMA_MAX, 1e-4);
    m4_cc_kind cc = (m4_cc_kind)m4_rng_below(&rng, M4_CC_COUNT);
    m4_config *cfg = &out->config;
    m4_config_defaults(cfg, cc);
    cfg->pfc = 1;
    double buffer_branch_u = m4_rng_uniform(&rng), buffer_u = m4_rng_uniform(&rng);
    cfg->buffer_kb =
        buffer_branch_u < M4_DSGEN_P_SMALL_BUFFER
            ? round(M4_DSGEN_BUFFER_KB_MIN + buffer_u * (M4_DSGEN_BUFFER_KB_MID - M4_DSGEN_BUFFER_KB_MIN))
            : round(M4_DSGEN_BUFFER_KB_MID *
                    pow(M4_DSGEN_BUFFER_KB_MAX / M4_DSGEN_BUFFER_KB_MID, buffer_u));
    double window_u = m4_rng_uniform(&rng);
    int64_t window = M4_DSGEN_WINDOW_MIN +
                     (int64_t)m4_rng_below(&rng, M4_DSGEN_WINDOW_MAX - M4_DSGEN_WINDOW_MIN + 1);
    cfg->window_bytes = window_u < M4_DSGEN_P_DEFAULT_WINDOW ? 0 : window;
    double a = m4_rng_uniform(&rng), b = m4_rng_uniform(&rng);
    switch (cc) {
    case M4_CC_DCTCP:
        cfg->dctcp_k_kb = round((M4_DSGEN_DCTCP_K_MIN +
                                 a * (M4_DSGEN_DCTCP_K_MAX - M4_DSGEN_DCTCP_K_MIN)) * 100) / 100;
        break;
    case M4_CC_DCQCN:
        cfg->dcqcn_kmin_kb = round((M4_DSGEN_DCQCN_KMIN_MIN +
                                    a * (M4_DSGEN_DCQCN_KMIN_MAX - M4_DSGEN_DCQCN_KMIN_MIN)) * 100) / 100;
        cfg->dcqcn_kmax_kb = round((M4_DSGEN_DCQCN_KMAX_MIN +
                                    b * (M4_DSGEN_DCQCN_KMAX_MAX - M4_DSGEN_DCQCN_KMAX_MIN)) * 100) / 100;
        break;
    case M4_CC_HPCC:
        cfg->hpcc_eta = round((M4_DSGEN_HPCC_ETA_MIN +
                               a * (M4_DSGEN_HPCC_ETA_MAX - M4_DSGEN_HPCC_ETA_MIN)) * 1000) / 1000;
        cfg->hpcc_ai_mbps = round(M4_DSGEN_HPCC_AI_MIN + b * (M4_DSGEN_HPCC_AI_MAX - M4_DSGEN_HPCC_AI_MIN));
        break;
    case M4_CC_TIMELY:
        cfg->timely_tlow_us = round((M4_DSGEN_TIMELY_TLOW_MIN +
                                     a * (M4_DSGEN_TIMELY_TLOW_MAX - M4_DSGEN_TIMELY_TLOW_MIN)) * 10) / 10;
        cfg->timely_thigh_us = round((M4_DSGEN_TIMELY_THIGH_MIN +
                                      b * (M4_DSGEN_TIMELY_THIGH_MAX - M4_DSGEN_TIMELY_THIGH_MIN)) * 10) / 10;
        /* The ranges meet at 100 us; the config wants Tlow < Thigh. */
        if (cfg->timely_thigh_us <= cfg->timely_tlow_us)
            cfg->timely_thigh_us = cfg->timely_tlow_us + 0.1;
        break;
    }
    out->gen_seed = m4_rng_u64(&rng);
}

char *m4_dsgen_scenario_dir(const char *data_dir, int64_t index)
{
    char name[32];
    snprintf(name, sizeof name, "s%05lld", (long long)index);
    return m4_path_join(data_dir, name);
}

int m4_dsgen_scenario_done(const char *scenario_dir)
{
    char *path = m4_path_join(scenario_dir, "DONE");
    int done = path && m4_file_exists(path);
    free(path);
    return done;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path) == 0 ? 0 : -1;
}

int m4_dsgen_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : m4_error_set(M4_EIO, "%s: %s", path, strerror(errno));
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return m4_error_set(M4_EIO, "%s: cannot remove: %s", path, strerror(errno));
    return 0;
}

static int64_t disk_total;

static int add_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    disk_total += (int64_t)st->st_blocks * 512;
    return 0;
}

int64_t m4_dsgen_disk_bytes(const char *path)
{
    disk_total = 0;
    if (nftw(path, add_entry, 16, FTW_PHYS) != 0)
        return -1;
    return disk_total;
}

/* Write one file atomically with the text built by `fill`. */
typedef void (*fill_fn)(FILE *f, const void *context);

static int write_file(const char *dir, const char *name, fill_fn fill, const void *context)
{
    char *path = m4_path_join(dir, name);
    if (!path)
        return m4_error_set(M4_ENOMEM, "out of memory");
    m4_atomic_file out;
    int err = m4_atomic_open(&out, path);
    free(path);
    if (err)
        return err;
    fill(out.file, context);
    return m4_atomic_commit(&out);
}

static void fill_cdf(FILE *f, const void *context)
{
    const m4_cdf *cdf = context;
    fprintf(f, "# bytes percent: the flow-size distribution of this scenario\n");
    /* %.17g: the generator reads back exactly the doubles it was given. */
    for (int32_t i = 0; i < cdf->num_points; i++)
        fprintf(f, "%.17g %.17g\n", cdf->bytes[i], cdf->percent[i]);
}

typedef struct scenario_info {
    const m4_dsgen_draw *draw;
    const m4_gen_result *result;
} scenario_info;

static void fill_scenario(FILE *f, const void *context)
{
    const scenario_info *info = context;
    const m4_dsgen_draw *d = info->draw;
    fprintf(f, "index %lld\nseed %" PRIu64 "\nworkload %s\nload %.10g\nsigma %.10g\ncc %s\n",
            (long long)d->index, d->gen_seed, d->workload, d->load, d->sigma,
            m4_cc_name(d->config.cc));
    fprintf(f, "achieved_load %.6f\nflows %lld\n", info->result->achieved_load,
            (long long)info->result->flows.count);
}

static void fill_done(FILE *f, const void *context)
{
    fprintf(f, "index %lld\n", (long long)*(const int64_t *)context);
}

/* The packet run of `m4sim run DIR --backend packet --trace`. */
static int run_packet(const char *dir, const char *name, int keep_samples, double *wall_s)
{
    m4_scenario *scenario = NULL;
    m4_sim *sim = NULL;
    char *outdir = m4_path_join(dir, "packet");
    char *trace_dir = outdir ? m4_path_join(outdir, "trace") : NULL;
    char *fct_path = outdir ? m4_path_join(outdir, "fct.txt") : NULL;
    int err = !outdir || !trace_dir || !fct_path ? m4_error_set(M4_ENOMEM, "out of memory") : 0;
    if (!err)
        err = m4_scenario_load(&scenario, dir);
    if (!err) {
        m4_sim_options options = {.backend = M4_BACKEND_PACKET, .threads = 1};
        m4_backend_params params = {.trace_dir = trace_dir, .threads = 1, .log = NULL};
        err = m4_sim_create_ex(&sim, scenario, &options, &params);
    }
    if (!err)
        err = m4_mkdir_p(trace_dir);
    double started = m4_now_seconds();
    if (!err)
        err = m4_sim_start_scenario_flows(sim);
    if (!err)
        err = m4_sim_run(sim);
    double elapsed = m4_now_seconds() - started;
    if (!err)
        err = m4_fct_write(fct_path, sim);
    if (!err) {
        /* The scenario named relative to the dataset, so the file does not
         * depend on where DATA lives. */
        char *summary = m4_path_join(outdir, "summary.txt");
        err = summary ? m4_summary_write(summary, "packet", name, sim, elapsed, NULL)
                      : m4_error_set(M4_ENOMEM, "out of memory");
        free(summary);
    }
    /* The 10 us samples are for plots only and take ~20 MB a scenario. */
    static const char *const samples[2] = {"samples_queue.npy", "samples_rate.npy"};
    for (int k = 0; k < 2 && !err && !keep_samples; k++) {
        char *path = m4_path_join(trace_dir, samples[k]);
        if (!path)
            err = m4_error_set(M4_ENOMEM, "out of memory");
        else if (unlink(path) != 0 && errno != ENOENT)
            err = m4_error_set(M4_EIO, "%s: cannot remove: %s", path, strerror(errno));
        free(path);
    }
    if (!err && wall_s)
        *wall_s = elapsed;
    m4_sim_free(sim);
    m4_scenario_free(scenario);
    free(outdir);
    free(trace_dir);
    free(fct_path);
    return err;
}

int m4_dsgen_build_scenario(const m4_dsgen_spec *spec, int64_t index, const char *scenario_dir,
                            int64_t *num_flows, double *wall_s)
{
    m4_dsgen_draw draw;
    m4_dsgen_draw_scenario(spec->seed, index, &draw);
    int err = m4_dsgen_remove_tree(scenario_dir);
    if (!err)
        err = m4_mkdir_p(scenario_dir);
    if (err)
        return err;

    m4_cdf cdf;
    if (draw.synthetic)
        err = m4_cdf_from_points(&cdf, draw.cdf.bytes, draw.cdf.percent, draw.cdf.num_points,
                                 draw.workload);
    else
        err = m4_cdf_builtin(&cdf, draw.workload);
    if (err)
        return err;
    err = write_file(scenario_dir, "cdf.txt", fill_cdf, &cdf);
    m4_cdf_free(&cdf);
    char *cdf_path = m4_path_join(scenario_dir, "cdf.txt");
    if (!err && !cdf_path)
        err = m4_error_set(M4_ENOMEM, "out of memory");
    if (err) {
        free(cdf_path);
        return err;
    }

    m4_gen_params params;
    m4_gen_params_defaults(&params);
    params.topology = spec->topology;
    params.workload = draw.synthetic ? cdf_path : draw.workload;
    params.load = draw.load;
    params.sigma = draw.sigma;
    params.num_flows = spec->num_flows;
    params.pattern = "uniform";
    params.cc = m4_cc_name(draw.config.cc);
    params.seed = draw.gen_seed;
    m4_gen_result result;
    err = m4_generate(&params, &result);
    free(cdf_path);
    if (err)
        return err;
    /* A switch with many ports reserves more PFC headroom than the draw's
     * small buffers hold, and the packet backend would refuse the scenario:
     * such a draw moves up by that headroom, [100, 200] KB becoming
     * [min + 1, min + 101] KB, a shared pool of 1-101 KB on the most
     * connected switch. Feasible draws stay as they are. */
    double min_buffer_kb = 0;
    if ((err = m4_packet_min_buffer_kb(&result.topology, &min_buffer_kb))) {
        m4_gen_result_free(&result);
        return err;
    }
    /* The backend keeps whole bytes: buffer_kb x 1024 truncated must exceed
     * the headroom, so a draw within a byte above it moves too. */
    if (draw.config.pfc && draw.config.buffer_kb * 1024.0 < min_buffer_kb * 1024.0 + 1.0)
        draw.config.buffer_kb =
            round((draw.config.buffer_kb - M4_DSGEN_BUFFER_KB_MIN + ceil(min_buffer_kb) + 1.0) *
                  100.0) / 100.0;
    /* The flows do not depend on the config, so the drawn one replaces the
     * generator's CC defaults as is. */
    result.config = draw.config;
    err = m4_gen_write(&result, scenario_dir);
    scenario_info info = {&draw, &result};
    if (!err)
        err = write_file(scenario_dir, "scenario.txt", fill_scenario, &info);
    if (!err && num_flows)
        *num_flows = result.flows.count;
    m4_gen_result_free(&result);
    if (err)
        return err;

    const char *name = strrchr(scenario_dir, '/');
    name = name ? name + 1 : scenario_dir;
    err = run_packet(scenario_dir, name, spec->keep_samples, wall_s);
    if (!err)
        err = write_file(scenario_dir, "DONE", fill_done, &index);
    return err;
}

/* dataset.txt: what makes two datasets the same. Everything but the
 * `scenarios` line must match for a run to extend an existing one. */
static void fill_dataset_identity(FILE *f, const m4_dsgen_spec *spec)
{
    fprintf(f, "format 1\ngenerator %d\nseed %" PRIu64 "\nflows %lld\ntopo %s\n",
            M4_DSGEN_VERSION, spec->seed, (long long)spec->num_flows, spec->topology);
    fprintf(f, "pattern uniform\n");
    fprintf(f, "workloads synthetic:%.2f websearch fbhdp alistorage googlerpc\n",
            M4_DSGEN_P_SYNTHETIC);
    fprintf(f, "load %.2f %.2f\nsigma %g %g\ncc dctcp dcqcn hpcc timely\n", M4_DSGEN_LOAD_MIN,
            M4_DSGEN_LOAD_MAX, M4_DSGEN_SIGMA_MIN, M4_DSGEN_SIGMA_MAX);
    fprintf(f, "BUFFER_KB %g %g:%.2f %g:log\n", M4_DSGEN_BUFFER_KB_MIN, M4_DSGEN_BUFFER_KB_MID,
            M4_DSGEN_P_SMALL_BUFFER, M4_DSGEN_BUFFER_KB_MAX);
    fprintf(f, "WINDOW_BYTES 0:%.2f %d %d\nPFC 1\n", M4_DSGEN_P_DEFAULT_WINDOW, M4_DSGEN_WINDOW_MIN,
            M4_DSGEN_WINDOW_MAX);
    fprintf(f, "DCTCP_K_KB %g %g\nDCQCN_KMIN_KB %g %g\nDCQCN_KMAX_KB %g %g\n",
            M4_DSGEN_DCTCP_K_MIN, M4_DSGEN_DCTCP_K_MAX, M4_DSGEN_DCQCN_KMIN_MIN,
            M4_DSGEN_DCQCN_KMIN_MAX, M4_DSGEN_DCQCN_KMAX_MIN, M4_DSGEN_DCQCN_KMAX_MAX);
    fprintf(f, "HPCC_ETA %g %g\nHPCC_AI_MBPS %g %g\nTIMELY_TLOW_US %g %g\nTIMELY_THIGH_US %g %g\n",
            M4_DSGEN_HPCC_ETA_MIN, M4_DSGEN_HPCC_ETA_MAX, M4_DSGEN_HPCC_AI_MIN,
            M4_DSGEN_HPCC_AI_MAX, M4_DSGEN_TIMELY_TLOW_MIN, M4_DSGEN_TIMELY_TLOW_MAX,
            M4_DSGEN_TIMELY_THIGH_MIN, M4_DSGEN_TIMELY_THIGH_MAX);
}

typedef struct dataset_info {
    const m4_dsgen_spec *spec;
    int64_t scenarios;
} dataset_info;

static void fill_dataset(FILE *f, const void *context)
{
    const dataset_info *info = context;
    fill_dataset_identity(f, info->spec);
    fprintf(f, "scenarios %lld\n", (long long)info->scenarios);
}

/* 1 if path has no entries besides . and .. (or cannot be listed). */
static int dir_is_empty(const char *path)
{
    DIR *dir = opendir(path);
    if (!dir)
        return 1;
    int empty = 1;
    struct dirent *entry;
    while (empty && (entry = readdir(dir)))
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, ".."))
            empty = 0;
    closedir(dir);
    return empty;
}

int m4_dsgen_open_dataset(const char *data_dir, const m4_dsgen_spec *spec, int64_t scenarios)
{
    char *path = m4_path_join(data_dir, "dataset.txt");
    if (!path)
        return m4_error_set(M4_ENOMEM, "out of memory");
    int err = 0;
    int64_t old_scenarios = 0;
    if (m4_file_exists(path)) {
        /* Compare line by line against what this spec would write. */
        char *expected = NULL;
        size_t expected_len = 0;
        FILE *mem = open_memstream(&expected, &expected_len);
        if (!mem) {
            free(path);
            return m4_error_set(M4_ENOMEM, "out of memory");
        }
        fill_dataset_identity(mem, spec);
        fclose(mem);
        m4_line_reader reader;
        err = m4_line_reader_open(&reader, path);
        const char *cursor = expected;
        char *line;
        int r;
        while (!err && (r = m4_line_reader_next(&reader, &line)) > 0) {
            if (!strncmp(line, "scenarios ", 10)) {
                if (m4_parse_i64(line + 10, &old_scenarios) || old_scenarios < 0)
                    err = m4_error_set(M4_EPARSE, "%s:%lld: bad scenarios count '%s'", path,
                                       (long long)reader.line_number, line + 10);
                continue;
            }
            const char *nl = strchr(cursor, '\n');
            size_t want_len = nl ? (size_t)(nl - cursor) : strlen(cursor);
            if (strlen(line) != want_len || strncmp(line, cursor, want_len) != 0) {
                err = m4_error_set(M4_EINVAL,
                                   "%s:%lld: the dataset there was made with '%s', this run "
                                   "would use '%.*s'; use another -o or the same parameters",
                                   path, (long long)reader.line_number, line, (int)want_len,
                                   *cursor ? cursor : "(nothing)");
                break;
            }
            cursor = nl ? nl + 1 : cursor + want_len;
        }
        if (!err && r < 0)
            err = r;
        if (!err && *cursor) {
            const char *nl = strchr(cursor, '\n');
            err = m4_error_set(M4_EINVAL, "%s: ends early; this run would also use '%.*s'", path,
                               (int)(nl ? nl - cursor : (long)strlen(cursor)), cursor);
        }
        m4_line_reader_close(&reader);
        free(expected);
    } else {
        struct stat st;
        if (stat(data_dir, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                err = m4_error_set(M4_EINVAL, "%s exists and is not a directory", data_dir);
            else if (!dir_is_empty(data_dir))
                err = m4_error_set(M4_EINVAL,
                                   "%s is not empty and has no dataset.txt: not a dataset; "
                                   "use another -o",
                                   data_dir);
        }
    }
    if (!err) {
        err = m4_mkdir_p(data_dir);
        dataset_info info = {spec, scenarios > old_scenarios ? scenarios : old_scenarios};
        if (!err)
            err = write_file(data_dir, "dataset.txt", fill_dataset, &info);
    }
    free(path);
    return err;
}
