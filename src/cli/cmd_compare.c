/* m4sim compare REF EST: per-flow slowdown error of an estimate against a
 * reference (DESIGN.md section 3), overall and per flow-size bucket. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/error.h"
#include "core/textio.h"
#include "sim/fct.h"

static const char *const usage =
    "usage: m4sim compare REF EST [--json] [--plot FILE.png] [--allow-missing]\n"
    "\n"
    "Joins two fct files by flow id and reports the per-flow slowdown error\n"
    "  error = |slowdown_EST - slowdown_REF| / slowdown_REF,  slowdown = max(1, fct / ideal_fct)\n"
    "(each side's slowdown from its own fct and ideal columns): n, mean, p50, p90, p99, over all\n"
    "flows and per size bucket (0-10KB, 10KB-100KB, 100KB-1MB, 1MB+; KB = 1000 bytes, lower\n"
    "bound inclusive), plus both sides' slowdown statistics. Percentiles are nearest-rank:\n"
    "pX = the ceil(X/100 * n)-th smallest value.\n"
    "\n"
    "REF and EST are fct.txt files as m4sim run writes them (header \"id src dst size start_ns\n"
    "fct_ns ideal_fct_ns slowdown\") or the HPCC ns-3 fork's output (\"flowId sip dip sport dport\n"
    "size_B start_ns fct_ns ideal_fct_ns\", ips in hex).\n"
    "\n"
    "options:\n"
    "  --json            print one JSON object instead of the table: keys n, mean, p50, p90,\n"
    "                    p99 (error), buckets (a list with name, min_bytes, max_bytes and the\n"
    "                    same statistics; null where a bucket is empty), ref_slowdown and\n"
    "                    est_slowdown (n, mean, p50, p90, p99), missing (flows of REF not in EST)\n"
    "  --plot FILE.png   draw the slowdown CDFs of both sides and the error CDF (gnuplot)\n"
    "  --allow-missing   skip flows of REF that EST lacks instead of failing\n"
    "\n"
    "Flows in REF but not in EST are an error naming them; flows only in EST are ignored; a flow\n"
    "with different sizes in the two files is an error (different scenarios).\n"
    "exit status: 0 success, 2 bad input, 1 other failure\n";

typedef m4_stats stats;

static stats compute_stats(double *values, int64_t n)
{
    stats s;
    m4_stats_compute(values, n, &s);
    return s;
}

static const struct bucket {
    const char *name;
    int64_t min_bytes, max_bytes; /* [min, max), max -1 = unbounded */
} buckets[] = {
    {"0-10KB", 0, 10000},
    {"10KB-100KB", 10000, 100000},
    {"100KB-1MB", 100000, 1000000},
    {"1MB+", 1000000, -1},
};
enum { NUM_BUCKETS = sizeof buckets / sizeof buckets[0] };

static int bucket_of(int64_t size)
{
    for (int b = 0; b < NUM_BUCKETS; b++)
        if (size >= buckets[b].min_bytes && (buckets[b].max_bytes < 0 || size < buckets[b].max_bytes))
            return b;
    return NUM_BUCKETS - 1;
}

static void json_number(FILE *out, double value)
{
    if (isnan(value))
        fprintf(out, "null");
    else
        fprintf(out, "%.6g", value);
}

static void json_stats(FILE *out, const stats *s)
{
    fprintf(out, "\"n\":%lld,\"mean\":", (long long)s->n);
    json_number(out, s->mean);
    fprintf(out, ",\"p50\":");
    json_number(out, s->p50);
    fprintf(out, ",\"p90\":");
    json_number(out, s->p90);
    fprintf(out, ",\"p99\":");
    json_number(out, s->p99);
}

static void table_row(FILE *out, const char *what, const char *name, const stats *s)
{
    fprintf(out, "%-10s %-11s %8lld", what, name, (long long)s->n);
    if (s->n == 0) {
        fprintf(out, " %10s %10s %10s %10s\n", "-", "-", "-", "-");
        return;
    }
    fprintf(out, " %10.4f %10.4f %10.4f %10.4f\n", s->mean, s->p50, s->p90, s->p99);
}

/* Write the sorted values as "value cumulative_fraction" lines. */
static int write_cdf(const char *path, const double *sorted, int64_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return m4_error_set(M4_EIO, "%s: cannot write", path);
    for (int64_t i = 0; i < n; i++)
        fprintf(f, "%.9g %.9g\n", sorted[i], (double)(i + 1) / (double)n);
    int bad = ferror(f);
    bad |= fclose(f);
    return bad ? m4_error_set(M4_EIO, "%s: write failed", path) : M4_OK;
}

static int plot(const char *png_path, const char *ref_name, const char *est_name,
                const double *ref_sorted, const double *est_sorted, const double *err_sorted,
                int64_t n)
{
    char dir[] = "/tmp/m4sim-plot-XXXXXX";
    if (!mkdtemp(dir))
        return m4_error_set(M4_EIO, "cannot create a temporary directory for --plot");
    char *ref_data = m4_path_join(dir, "ref.dat"), *est_data = m4_path_join(dir, "est.dat");
    char *err_data = m4_path_join(dir, "err.dat"), *script = m4_path_join(dir, "plot.gp");
    char *temp_png = malloc(strlen(png_path) + 16);
    int err = ref_data && est_data && err_data && script && temp_png ? M4_OK : M4_ENOMEM;
    if (!err) {
        sprintf(temp_png, "%s.tmp%d", png_path, (int)getpid());
        err = write_cdf(ref_data, ref_sorted, n);
    }
    if (!err)
        err = write_cdf(est_data, est_sorted, n);
    if (!err)
        err = write_cdf(err_data, err_sorted, n);
    if (!err) {
        FILE *gp = fopen(script, "w");
        if (!gp) {
            err = m4_error_set(M4_EIO, "%s: cannot write", script);
        } else {
            /* File names go into gnuplot strings: single quotes, no escapes needed
             * except the quote itself, which we refuse. */
            fprintf(gp,
                    "set terminal pngcairo size 1200,500 font ',10' noenhanced\n"
                    "set output '%s'\n"
                    "set multiplot layout 1,2\n"
                    "set key bottom right\n"
                    "set grid\n"
                    "set logscale x\n"
                    "set xlabel 'slowdown'\n"
                    "set ylabel 'CDF'\n"
                    "set yrange [0:1]\n"
                    "set title 'slowdown (n = %lld)'\n"
                    "plot '%s' using 1:2 with steps lw 2 title 'REF %s', \\\n"
                    "     '%s' using 1:2 with steps lw 2 title 'EST %s'\n"
                    "unset logscale x\n"
                    "set xlabel 'per-flow slowdown error |est - ref| / ref'\n"
                    "set title 'error'\n"
                    "set xrange [0:*]\n"
                    "plot '%s' using 1:2 with steps lw 2 title 'error'\n"
                    "unset multiplot\n",
                    temp_png, (long long)n, ref_data, ref_name, est_data, est_name, err_data);
            if (fclose(gp))
                err = m4_error_set(M4_EIO, "%s: write failed", script);
        }
    }
    if (!err) {
        char *command = malloc(strlen(script) + 64);
        if (!command) {
            err = M4_ENOMEM;
        } else {
            sprintf(command, "gnuplot '%s' 1>&2", script);
            int status = system(command);
            free(command);
            if (status != 0 || !m4_file_exists(temp_png))
                err = m4_error_set(M4_EIO,
                                   "--plot: gnuplot failed (is gnuplot with the pngcairo "
                                   "terminal installed? apt-get install gnuplot-nox)");
            else if (rename(temp_png, png_path) != 0)
                err = m4_error_set(M4_EIO, "%s: cannot write", png_path);
        }
    }
    if (temp_png)
        unlink(temp_png);
    const char *files[] = {ref_data, est_data, err_data, script};
    for (int i = 0; i < 4; i++)
        if (files[i])
            unlink(files[i]);
    rmdir(dir);
    free(ref_data);
    free(est_data);
    free(err_data);
    free(script);
    free(temp_png);
    return err;
}

static int has_quote(const char *text) { return strchr(text, '\'') != NULL; }

int m4_cmd_compare(int argc, char **argv)
{
    const char *ref_path = NULL, *est_path = NULL, *plot_path = NULL;
    int json = 0, allow_missing = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (m4_cli_is_help(arg)) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(arg, "--json") == 0) {
            json = 1;
        } else if (strcmp(arg, "--allow-missing") == 0) {
            allow_missing = 1;
        } else if (strcmp(arg, "--plot") == 0) {
            if (++i >= argc)
                return m4_cli_usage_error("compare", "--plot needs a file name");
            plot_path = argv[i];
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return m4_cli_usage_error("compare", "unknown option '%s'", arg);
        } else if (!ref_path) {
            ref_path = arg;
        } else if (!est_path) {
            est_path = arg;
        } else {
            return m4_cli_usage_error("compare", "unexpected argument '%s'", arg);
        }
    }
    if (!ref_path || !est_path)
        return m4_cli_usage_error("compare", "needs two fct files, REF and EST");
    if (plot_path && (has_quote(plot_path) || has_quote(ref_path) || has_quote(est_path)))
        return m4_cli_usage_error("compare", "--plot: file names must not contain a quote");

    m4_fct_table ref, est;
    int err = m4_fct_read(&ref, ref_path);
    if (err)
        return m4_cli_fail("compare", err);
    err = m4_fct_read(&est, est_path);
    if (err) {
        m4_fct_table_free(&ref);
        return m4_cli_fail("compare", err);
    }

    int64_t n_max = ref.count ? ref.count : 1;
    double *errors = malloc((size_t)n_max * sizeof *errors);
    double *ref_slowdown = malloc((size_t)n_max * sizeof *ref_slowdown);
    double *est_slowdown = malloc((size_t)n_max * sizeof *est_slowdown);
    double *bucket_values = malloc((size_t)n_max * sizeof *bucket_values);
    int *bucket = malloc((size_t)n_max * sizeof *bucket);
    int status = 0;
    if (!errors || !ref_slowdown || !est_slowdown || !bucket_values || !bucket) {
        status = m4_cli_fail("compare", M4_ENOMEM);
        goto done;
    }
    /* Both tables are sorted by id: merge. */
    int64_t n = 0, missing = 0, j = 0;
    for (int64_t i = 0; i < ref.count; i++) {
        const m4_fct_row *r = &ref.rows[i];
        while (j < est.count && est.rows[j].id < r->id)
            j++;
        if (j == est.count || est.rows[j].id != r->id) {
            if (!allow_missing && missing < 5)
                fprintf(stderr, "m4sim compare: %s: flow %lld (%s line %lld) is missing\n",
                        est_path, (long long)r->id, ref_path, (long long)r->line);
            missing++;
            continue;
        }
        const m4_fct_row *e = &est.rows[j];
        if (e->size_bytes != r->size_bytes) {
            fprintf(stderr,
                    "m4sim compare: %s:%lld: flow %lld has size %lld, but %lld in %s:%lld "
                    "(different scenarios?)\n",
                    est_path, (long long)e->line, (long long)e->id, (long long)e->size_bytes,
                    (long long)r->size_bytes, ref_path, (long long)r->line);
            status = 2;
            goto done;
        }
        ref_slowdown[n] = m4_fct_slowdown(r);
        est_slowdown[n] = m4_fct_slowdown(e);
        errors[n] = fabs(est_slowdown[n] - ref_slowdown[n]) / ref_slowdown[n];
        bucket[n] = bucket_of(r->size_bytes);
        n++;
    }
    if (missing && !allow_missing) {
        fprintf(stderr,
                "m4sim compare: %s lacks %lld of the %lld flows of %s%s (--allow-missing skips "
                "them)\n",
                est_path, (long long)missing, (long long)ref.count, ref_path,
                missing > 5 ? "; first 5 named above" : "");
        status = 2;
        goto done;
    }
    if (n == 0) {
        fprintf(stderr, "m4sim compare: no flow of %s is in %s\n", ref_path, est_path);
        status = 2;
        goto done;
    }

    stats bucket_stats[NUM_BUCKETS];
    for (int b = 0; b < NUM_BUCKETS; b++) {
        int64_t count = 0;
        for (int64_t i = 0; i < n; i++)
            if (bucket[i] == b)
                bucket_values[count++] = errors[i];
        bucket_stats[b] = compute_stats(bucket_values, count);
    }
    stats overall = compute_stats(errors, n);
    stats ref_stats = compute_stats(ref_slowdown, n);
    stats est_stats = compute_stats(est_slowdown, n);

    if (json) {
        printf("{");
        json_stats(stdout, &overall);
        printf(",\"missing\":%lld,\"buckets\":[", (long long)missing);
        for (int b = 0; b < NUM_BUCKETS; b++) {
            printf("%s{\"name\":\"%s\",\"min_bytes\":%lld,\"max_bytes\":", b ? "," : "",
                   buckets[b].name, (long long)buckets[b].min_bytes);
            if (buckets[b].max_bytes < 0)
                printf("null,");
            else
                printf("%lld,", (long long)buckets[b].max_bytes);
            json_stats(stdout, &bucket_stats[b]);
            printf("}");
        }
        printf("],\"ref_slowdown\":{");
        json_stats(stdout, &ref_stats);
        printf("},\"est_slowdown\":{");
        json_stats(stdout, &est_stats);
        printf("}}\n");
    } else {
        printf("REF %s\nEST %s\n", ref_path, est_path);
        if (missing)
            printf("(%lld flows of REF missing in EST, skipped)\n", (long long)missing);
        printf("%-10s %-11s %8s %10s %10s %10s %10s\n", "", "size", "n", "mean", "p50", "p90",
               "p99");
        table_row(stdout, "error", "all", &overall);
        for (int b = 0; b < NUM_BUCKETS; b++)
            table_row(stdout, "error", buckets[b].name, &bucket_stats[b]);
        table_row(stdout, "slowdown", "REF", &ref_stats);
        table_row(stdout, "slowdown", "EST", &est_stats);
    }
    fflush(stdout);
    if (plot_path) {
        /* compute_stats sorted each array in place. */
        err = plot(plot_path, ref_path, est_path, ref_slowdown, est_slowdown, errors, n);
        if (err)
            status = m4_cli_fail("compare", err);
    }

done:
    free(errors);
    free(ref_slowdown);
    free(est_slowdown);
    free(bucket_values);
    free(bucket);
    m4_fct_table_free(&ref);
    m4_fct_table_free(&est);
    return status;
}
