/* Running an application graph through the simulation driver: flows start
 * from the completion callback when their last dependency completes, and the
 * results (fct.txt, throughput over time, the completion time) are written
 * from the finished run. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/error.h"
#include "core/textio.h"
#include "net/scenario.h"
#include "sim/sim.h"

static void clear_run(m4_app *app)
{
    m4_sim_free(app->sim);
    app->sim = NULL;
    free(app->start_ns);
    free(app->end_ns);
    free(app->ready_ns);
    free(app->deps_left);
    free(app->dependents);
    free(app->first_dependent);
    app->start_ns = app->end_ns = app->ready_ns = NULL;
    app->deps_left = NULL;
    app->dependents = app->first_dependent = NULL;
    app->completion_ns = -1;
}

/* Defined here, used by m4_app_free in app.c. */
void m4_app__clear_run(m4_app *app) { clear_run(app); }

static int start_app_flow(m4_app *app, m4_sim *sim, int64_t index, int64_t at_ns)
{
    const m4_app_flow *f = &app->flows[index];
    return m4_sim_start_flow_id(sim, index, f->src, f->dst, f->size_bytes, at_ns,
                                M4_APP_TAG_BIT | (uint64_t)index);
}

static void on_complete(m4_sim *sim, void *user, uint64_t tag, int32_t src, int32_t dst,
                        int64_t size_bytes, int64_t start_ns, int64_t end_ns)
{
    m4_app *app = user;
    if (tag & M4_APP_TAG_BIT) {
        int64_t index = (int64_t)(tag & ~M4_APP_TAG_BIT);
        app->start_ns[index] = start_ns;
        app->end_ns[index] = end_ns;
        if (end_ns > app->completion_ns)
            app->completion_ns = end_ns;
        for (int64_t e = app->first_dependent[index]; e < app->first_dependent[index + 1]; e++) {
            int64_t next = app->dependents[e];
            if (end_ns > app->ready_ns[next])
                app->ready_ns[next] = end_ns;
            if (--app->deps_left[next] == 0 && !app->callback_error)
                app->callback_error =
                    start_app_flow(app, sim, next, app->ready_ns[next] + app->flows[next].think_ns);
        }
    }
    if (app->user_cb)
        app->user_cb(sim, app->user, tag, src, dst, size_bytes, start_ns, end_ns);
}

/* Reverse edges (who waits for flow i) as CSR, and the dependency counters. */
static int build_dependents(m4_app *app)
{
    int64_t n = app->count;
    app->first_dependent = calloc((size_t)n + 1, sizeof *app->first_dependent);
    app->dependents = malloc((size_t)(app->num_deps ? app->num_deps : 1) * sizeof *app->dependents);
    app->deps_left = malloc((size_t)(n ? n : 1) * sizeof *app->deps_left);
    app->ready_ns = malloc((size_t)(n ? n : 1) * sizeof *app->ready_ns);
    app->start_ns = malloc((size_t)(n ? n : 1) * sizeof *app->start_ns);
    app->end_ns = malloc((size_t)(n ? n : 1) * sizeof *app->end_ns);
    if (!app->first_dependent || !app->dependents || !app->deps_left || !app->ready_ns ||
        !app->start_ns || !app->end_ns)
        return m4_error_set(M4_ENOMEM, "app: out of memory");
    for (int64_t i = 0; i < n; i++) {
        const m4_app_flow *f = &app->flows[i];
        for (int32_t d = 0; d < f->num_deps; d++)
            app->first_dependent[app->deps[f->first_dep + d] + 1]++;
        app->deps_left[i] = f->num_deps;
        app->ready_ns[i] = 0;
        app->start_ns[i] = app->end_ns[i] = -1;
    }
    for (int64_t i = 0; i < n; i++)
        app->first_dependent[i + 1] += app->first_dependent[i];
    int64_t *fill = malloc((size_t)(n ? n : 1) * sizeof *fill);
    if (!fill)
        return m4_error_set(M4_ENOMEM, "app: out of memory");
    memcpy(fill, app->first_dependent, (size_t)(n ? n : 1) * sizeof *fill);
    for (int64_t i = 0; i < n; i++) {
        const m4_app_flow *f = &app->flows[i];
        for (int32_t d = 0; d < f->num_deps; d++)
            app->dependents[fill[app->deps[f->first_dep + d]]++] = i;
    }
    free(fill);
    return M4_OK;
}

int m4_app__run_ex(m4_app *app, const m4_scenario *scenario, const m4_sim_options *options,
                   const struct m4_backend_params *params)
{
    if (!app || !scenario || !options)
        return m4_error_set(M4_EINVAL, "m4_app_run: NULL argument");
    clear_run(app);
    int err = m4_app_check_hosts(app, scenario);
    if (err)
        return err;
    err = build_dependents(app);
    if (err)
        return err;
    app->user_cb = options->on_complete;
    app->user = options->user;
    app->callback_error = 0;
    app->backend = options->backend;
    app->max_inflight = options->max_inflight;
    m4_sim_options mine = *options;
    mine.on_complete = on_complete;
    mine.user = app;
    err = m4_sim_create_ex(&app->sim, scenario, &mine, params);
    for (int64_t i = 0; !err && i < app->count; i++)
        if (app->flows[i].num_deps == 0)
            err = start_app_flow(app, app->sim, i, app->flows[i].think_ns);
    if (!err)
        err = m4_sim_run(app->sim);
    if (!err && app->callback_error)
        err = app->callback_error;
    for (int64_t i = 0; !err && i < app->count; i++)
        if (app->end_ns[i] < 0)
            err = m4_error_set(M4_ESTATE, "app: flow '%s' never completed", app->flows[i].name);
    if (err) {
        m4_sim_free(app->sim);
        app->sim = NULL;
        app->completion_ns = -1;
    }
    return err;
}

int m4_app_run(m4_app *app, const m4_scenario *scenario, const m4_sim_options *options)
{
    return m4_app__run_ex(app, scenario, options, NULL);
}

int64_t m4_app_completion_ns(const m4_app *app) { return app && app->sim ? app->completion_ns : -1; }

int m4_app_flow_times(const m4_app *app, int64_t index, int64_t *start_ns, int64_t *end_ns)
{
    if (!app || !app->sim)
        return m4_error_set(M4_ESTATE, "m4_app_flow_times: no completed run");
    if (index < 0 || index >= app->count)
        return m4_error_set(M4_EINVAL, "m4_app_flow_times: index %" PRId64 " out of range",
                            index);
    *start_ns = app->start_ns[index];
    *end_ns = app->end_ns[index];
    return M4_OK;
}

const m4_sim *m4_app_sim(const m4_app *app) { return app ? app->sim : NULL; }

static int64_t total_bytes(const m4_app *app)
{
    int64_t bytes = 0;
    for (int64_t i = 0; i < app->count; i++)
        bytes += app->flows[i].size_bytes;
    return bytes;
}

static int write_throughput(const m4_app *app, const char *path, int64_t bin_ns)
{
    int64_t horizon = app->completion_ns;
    if (bin_ns <= 0)
        bin_ns = horizon > 100 ? (horizon + 99) / 100 : 1;
    int64_t bins = horizon > 0 ? (horizon + bin_ns - 1) / bin_ns : 1;
    if (bins > 10000000)
        return m4_error_set(M4_EINVAL, "throughput bins of %" PRId64 " ns give %" PRId64
                            " rows (at most 10^7)", bin_ns, bins);
    double *bytes = calloc((size_t)bins, sizeof *bytes);
    if (!bytes)
        return m4_error_set(M4_ENOMEM, "app: out of memory");
    /* Each flow's bytes are spread evenly over [start, end): the flow level
     * only knows when a flow began and ended, so this is its average rate. */
    for (int64_t i = 0; i < app->count; i++) {
        int64_t s = app->start_ns[i], e = app->end_ns[i];
        double size = (double)app->flows[i].size_bytes;
        if (e <= s) {
            bytes[s / bin_ns < bins ? s / bin_ns : bins - 1] += size;
            continue;
        }
        double per_ns = size / (double)(e - s);
        for (int64_t b = s / bin_ns; b < bins && b * bin_ns < e; b++) {
            int64_t lo = b * bin_ns > s ? b * bin_ns : s;
            int64_t hi = (b + 1) * bin_ns < e ? (b + 1) * bin_ns : e;
            bytes[b] += per_ns * (double)(hi - lo);
        }
    }
    m4_atomic_file out;
    int err = m4_atomic_open(&out, path);
    if (err) {
        free(bytes);
        return err;
    }
    fprintf(out.file, "start_ns end_ns bytes gbps\n");
    for (int64_t b = 0; b < bins; b++) {
        int64_t lo = b * bin_ns, hi = (b + 1) * bin_ns;
        /* bits per ns is Gb/s; the last bin ends at the completion time. */
        if (hi > horizon && horizon > lo)
            hi = horizon;
        fprintf(out.file, "%" PRId64 " %" PRId64 " %.1f %.6f\n", lo, hi, bytes[b],
                bytes[b] * 8.0 / (double)(hi - lo));
    }
    free(bytes);
    return m4_atomic_commit(&out);
}

static int write_summary(const m4_app *app, const char *path, double wall_s)
{
    m4_atomic_file out;
    int err = m4_atomic_open(&out, path);
    if (err)
        return err;
    static const char *const names[] = {"flow", "packet", "m4"};
    int64_t bytes = total_bytes(app);
    fprintf(out.file, "backend %s\nflows %" PRId64 "\nbytes %" PRId64 "\ncompletion_ns %" PRId64
            "\nthroughput_gbps %.6f\nmax_inflight %d\n",
            (unsigned)app->backend < 3 ? names[app->backend] : "?", app->count, bytes,
            app->completion_ns,
            app->completion_ns > 0 ? (double)bytes * 8.0 / (double)app->completion_ns : 0.0,
            (int)app->max_inflight);
    if (wall_s >= 0)
        fprintf(out.file, "wall_s %.3f\n", wall_s);
    return m4_atomic_commit(&out);
}

int m4_app__write_results(const m4_app *app, const char *dir, int64_t bin_ns, double wall_s)
{
    if (!app || !app->sim)
        return m4_error_set(M4_ESTATE, "m4_app_write_results: no completed run");
    char *fct = m4_path_join(dir, "fct.txt"), *tput = m4_path_join(dir, "throughput.txt"),
         *summary = m4_path_join(dir, "app.txt");
    int err = fct && tput && summary ? M4_OK : m4_error_set(M4_ENOMEM, "app: out of memory");
    if (!err)
        err = m4_mkdir_p(dir);
    if (!err)
        err = m4_fct_write(fct, app->sim);
    if (!err)
        err = write_throughput(app, tput, bin_ns);
    if (!err)
        err = write_summary(app, summary, wall_s);
    free(fct);
    free(tput);
    free(summary);
    return err;
}

int m4_app_write_results(const m4_app *app, const char *dir, int64_t bin_ns)
{
    return m4_app__write_results(app, dir, bin_ns, -1);
}
