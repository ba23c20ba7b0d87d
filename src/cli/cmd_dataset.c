/* m4sim dataset -o DATA: generate the m4 training set, one child process per
 * scenario, at most --jobs at once; resumable (scenarios with DONE are kept,
 * others are redone). The drawing and the per-scenario work live in
 * src/m4/dataset_gen.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/textio.h"
#include "m4/dataset_gen.h"
#include "net/topology.h"

static const char *const usage =
    "usage: m4sim dataset -o DATA [--scenarios N] [--flows F] [--jobs J] [--seed S]\n"
    "                     [--topo SPEC] [--keep-samples] [--mem-limit-mb M] [--timeout-s T]\n"
    "\n"
    "Generates the m4 training set: N scenarios drawn at random, each run through the\n"
    "packet backend with the dense-supervision trace (as m4sim run --backend packet --trace).\n"
    "\n"
    "options:\n"
    "  -o DATA         dataset directory (created; an existing dataset is resumed/extended)\n"
    "  --scenarios N   number of scenarios, 1..100000 (default 2000); a larger N on the same\n"
    "                  DATA extends it\n"
    "  --flows F       flows per scenario, 2..1000000 (default 2000)\n"
    "  --jobs J        scenarios run at once, one process each (default: the number of CPUs)\n"
    "  --seed S        dataset seed, 0..2^63-1 (default 1); scenario i is drawn from (S, i)\n"
    "                  alone, so it is the same whatever N or J\n"
    "  --topo SPEC     topology spec or topology.txt (default fabric:pods=2,racks=4,hosts=4,\n"
    "                  the 32-host fabric)\n"
    "  --keep-samples  keep trace/samples_queue.npy and samples_rate.npy (10 us samples for\n"
    "                  plots, ~20 MB a scenario); deleted otherwise\n"
    "  --mem-limit-mb M  address-space limit of each worker, 0 = none (default 4096): a\n"
    "                  scenario whose run would take more fails alone (out of memory) instead\n"
    "                  of bringing the machine's OOM killer onto every worker\n"
    "  --timeout-s T   a scenario running longer than T seconds is killed and counted as\n"
    "                  failed, 0 = none (default 600; typical 2000-flow runs take 1-15 s)\n"
    "\n"
    "Each scenario draws, uniformly unless said otherwise:\n"
    "  sizes      with probability 0.75 a synthetic distribution (log-normal, Pareto,\n"
    "             bimodal or log-uniform with random parameters, src/workload/synthetic_cdf.h),\n"
    "             else one of websearch, fbhdp, alistorage, googlerpc (webserver, hadoop and\n"
    "             cachefollower are held out for evaluation)\n"
    "  load       [0.35, 0.80] on the busiest link; sigma [1, 2] (log-normal gaps);\n"
    "             pattern uniform (random host pairs)\n"
    "  CC         dctcp, dcqcn, hpcc or timely, with (KB at 10 Gb/s)\n"
    "             DCTCP_K_KB [10, 30]; DCQCN_KMIN_KB [2, 8] and DCQCN_KMAX_KB [10, 16]\n"
    "             (m4's [5, 20] and [25, 40] KB at 25 Gb/s); HPCC_ETA [0.70, 0.95],\n"
    "             HPCC_AI_MBPS [500, 1000]; TIMELY_TLOW_US [40, 100], TIMELY_THIGH_US\n"
    "             [100, 200] above Tlow (m4's [40, 60] and [100, 150] stretched to the\n"
    "             defaults 100 and 200); the other keys at the CC's defaults\n"
    "  switches   BUFFER_KB [100, 200] (m4's range) with probability 0.5, else\n"
    "             log-uniform [200, 4000] (deployed sizes such as the default 3000); PFC 1;\n"
    "             a draw the PFC headroom of the topology's largest switch would use up\n"
    "             (H = 149 KB for racks of 16 hosts) moves up: [100, 200] -> [H + 1, H + 101]\n"
    "  window     WINDOW_BYTES 0 (the largest BDP) with probability 0.5, else [10000, 20000]\n"
    "\n"
    "Layout: DATA/dataset.txt (the parameters; a rerun with other ones is refused), and per\n"
    "scenario DATA/sNNNNN/ (5 digits, from 0): cdf.txt, topology.txt, flows.txt, config.txt,\n"
    "scenario.txt (index, seed, workload, load, sigma, cc, achieved_load, flows),\n"
    "packet/fct.txt, packet/summary.txt, packet/trace/{events,flow_state,queue}.npy and\n"
    "stats.txt (src/packet/trace.h), and DONE, written last. A scenario with DONE is never\n"
    "redone; one without it (an interrupted run) is wiped and redone.\n"
    "\n"
    "Progress goes to stderr (a bar on a terminal, a line every 5 s otherwise); the totals\n"
    "(scenarios, flows, wall time, bytes on disk) to stdout at the end.\n"
    "exit status: 0 success, 2 bad options or a DATA of other parameters (nothing written),\n"
    "1 a scenario failed (named on stderr; the others still finish)\n";

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int signo) { stop_requested = signo; }

static int parse_range(const char *text, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t value;
    if (m4_parse_i64(text, &value) || value < lo || value > hi)
        return -1;
    *out = value;
    return 0;
}

static void format_duration(char *buf, size_t size, double seconds)
{
    long s = seconds < 0 ? 0 : (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%ldh%02ldm%02lds", s / 3600, s / 60 % 60, s % 60);
    else if (s >= 60)
        snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, size, "%lds", s);
}

typedef struct progress_state {
    int is_terminal;
    double start, last;
    int64_t total, done_before;
} progress_state;

static void report_progress(progress_state *p, int64_t done, int running, int final)
{
    double now = m4_now_seconds();
    if (!final && now - p->last < (p->is_terminal ? 0.5 : 5.0))
        return;
    p->last = now;
    double elapsed = now - p->start;
    int64_t done_here = done - p->done_before;
    char elapsed_text[32], eta_text[32];
    format_duration(elapsed_text, sizeof elapsed_text, elapsed);
    if (done_here > 0)
        format_duration(eta_text, sizeof eta_text,
                        elapsed / (double)done_here * (double)(p->total - done));
    else
        snprintf(eta_text, sizeof eta_text, "?");
    double fraction = p->total > 0 ? (double)done / (double)p->total : 1.0;
    if (p->is_terminal) {
        char bar[31];
        for (int i = 0; i < 30; i++)
            bar[i] = i < (int)(fraction * 30) ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\rdataset [%s] %lld/%lld scenarios, %d running, %s elapsed, ETA %s   %s",
                bar, (long long)done, (long long)p->total, running, elapsed_text, eta_text,
                final ? "\n" : "");
    } else {
        fprintf(stderr, "dataset: %lld/%lld scenarios (%.1f%%), %d running, %s elapsed, ETA %s\n",
                (long long)done, (long long)p->total, 100 * fraction, running, elapsed_text,
                eta_text);
    }
    fflush(stderr);
}

typedef struct worker {
    pid_t pid;
    int64_t index;
    double started;
    int killed_for_time;
} worker;

/* Child: build one scenario and exit; the message goes straight to stderr. */
static void run_child(const m4_dsgen_spec *spec, const char *data_dir, int64_t index,
                      int64_t mem_limit_mb)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's shadow memory reserves terabytes of address space, so a limit
     * would fail every allocation; sanitizer builds run unlimited. */
    mem_limit_mb = 0;
#endif
    if (mem_limit_mb > 0) {
        struct rlimit limit = {(rlim_t)mem_limit_mb << 20, (rlim_t)mem_limit_mb << 20};
        setrlimit(RLIMIT_AS, &limit);
    }
    char *dir = m4_dsgen_scenario_dir(data_dir, index);
    int err = dir ? m4_dsgen_build_scenario(spec, index, dir, NULL, NULL) : M4_ENOMEM;
    if (err) {
        const char *detail = m4_last_error();
        fprintf(stderr, "\nm4sim dataset: scenario %lld (%s) failed: %s%s\n", (long long)index,
                dir ? dir : "?", detail && detail[0] ? detail : m4_strerror(err),
                err == M4_ENOMEM && mem_limit_mb > 0 ? " (over the worker's --mem-limit-mb)" : "");
        fflush(stderr);
    }
    free(dir);
    _exit(err ? 1 : 0);
}

int m4_cmd_dataset(int argc, char **argv)
{
    const char *data_dir = NULL, *topo = M4_DSGEN_DEFAULT_TOPO;
    int64_t scenarios = 2000, flows = 2000, seed = 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t jobs = cpus > 0 ? cpus : 1;
    int keep_samples = 0;
    int64_t mem_limit_mb = 4096, timeout_s = 600;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (m4_cli_is_help(arg)) {
            fputs(usage, stdout);
            return 0;
        }
        int needs_value = !strcmp(arg, "-o") || !strcmp(arg, "--scenarios") ||
                          !strcmp(arg, "--flows") || !strcmp(arg, "--jobs") ||
                          !strcmp(arg, "--seed") || !strcmp(arg, "--topo") ||
                          !strcmp(arg, "--mem-limit-mb") || !strcmp(arg, "--timeout-s");
        if (needs_value && i + 1 >= argc)
            return m4_cli_usage_error("dataset", "%s needs a value", arg);
        if (!strcmp(arg, "-o")) {
            data_dir = argv[++i];
        } else if (!strcmp(arg, "--scenarios")) {
            if (parse_range(argv[++i], 1, M4_DSGEN_MAX_SCENARIOS, &scenarios))
                return m4_cli_usage_error("dataset", "--scenarios must be an integer in 1..%d, not '%s'",
                                          M4_DSGEN_MAX_SCENARIOS, argv[i]);
        } else if (!strcmp(arg, "--flows")) {
            if (parse_range(argv[++i], 2, 1000000, &flows))
                return m4_cli_usage_error("dataset", "--flows must be an integer in 2..1000000, not '%s'",
                                          argv[i]);
        } else if (!strcmp(arg, "--jobs")) {
            if (parse_range(argv[++i], 1, 1024, &jobs))
                return m4_cli_usage_error("dataset", "--jobs must be an integer in 1..1024, not '%s'",
                                          argv[i]);
        } else if (!strcmp(arg, "--seed")) {
            if (parse_range(argv[++i], 0, INT64_MAX, &seed))
                return m4_cli_usage_error("dataset", "--seed must be a non-negative integer, not '%s'",
                                          argv[i]);
        } else if (!strcmp(arg, "--mem-limit-mb")) {
            if (parse_range(argv[++i], 0, 1 << 24, &mem_limit_mb) || (mem_limit_mb > 0 && mem_limit_mb < 64))
                return m4_cli_usage_error("dataset", "--mem-limit-mb must be 0 or an integer in 64..%d, not '%s'",
                                          1 << 24, argv[i]);
        } else if (!strcmp(arg, "--timeout-s")) {
            if (parse_range(argv[++i], 0, 100000000, &timeout_s))
                return m4_cli_usage_error("dataset", "--timeout-s must be an integer in 0..100000000, not '%s'",
                                          argv[i]);
        } else if (!strcmp(arg, "--topo")) {
            topo = argv[++i];
        } else if (!strcmp(arg, "--keep-samples")) {
            keep_samples = 1;
        } else {
            return m4_cli_usage_error("dataset", "unexpected argument '%s'", arg);
        }
    }
    if (!data_dir || !data_dir[0])
        return m4_cli_usage_error("dataset", "needs -o DATA");
    m4_topology topology;
    int err = m4_topology_from_spec(&topology, topo);
    if (err)
        return m4_cli_fail("dataset", err);
    m4_topology_free(&topology);

    m4_dsgen_spec spec = {.seed = (uint64_t)seed, .num_flows = flows, .topology = topo,
                          .keep_samples = keep_samples};
    err = m4_dsgen_open_dataset(data_dir, &spec, scenarios);
    if (err)
        return m4_cli_fail("dataset", err);

    /* One generation at a time per DATA; children inherit the lock, so a
     * killed parent's leftover workers still hold it until they finish. */
    char *lock_path = m4_path_join(data_dir, ".lock");
    int lock_fd = lock_path ? open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
    free(lock_path);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "m4sim dataset: %s is in use by another m4sim dataset (or its "
                        "workers); wait for it to finish\n", data_dir);
        if (lock_fd >= 0)
            close(lock_fd);
        return 1;
    }

    int64_t *pending = malloc(sizeof(int64_t) * (size_t)scenarios);
    worker *workers = calloc((size_t)jobs, sizeof *workers);
    if (!pending || !workers) {
        free(pending);
        free(workers);
        close(lock_fd);
        return m4_cli_fail("dataset", m4_error_set(M4_ENOMEM, "out of memory"));
    }
    int64_t num_pending = 0, done = 0;
    for (int64_t i = 0; i < scenarios; i++) {
        char *dir = m4_dsgen_scenario_dir(data_dir, i);
        if (dir && m4_dsgen_scenario_done(dir))
            done++;
        else
            pending[num_pending++] = i;
        free(dir);
    }
    fprintf(stderr, "dataset: %s: %lld scenarios, %lld already done, %lld to run on %lld workers\n",
            data_dir, (long long)scenarios, (long long)done, (long long)num_pending,
            (long long)jobs);

    struct sigaction action = {0};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    struct sigaction old_int, old_term;
    sigaction(SIGINT, &action, &old_int);
    sigaction(SIGTERM, &action, &old_term);

    progress_state progress = {.is_terminal = isatty(STDERR_FILENO), .start = m4_now_seconds(),
                               .total = scenarios, .done_before = done};
    progress.last = progress.start;
    int64_t next = 0, failed = 0, ran = 0;
    int running = 0, spawn_error = 0;
    while ((next < num_pending && !stop_requested && !spawn_error) || running > 0) {
        while (running < jobs && next < num_pending && !stop_requested && !spawn_error) {
            fflush(stdout);
            fflush(stderr);
            pid_t pid = fork();
            if (pid < 0) {
                fprintf(stderr, "\nm4sim dataset: cannot start a worker: %s\n", strerror(errno));
                spawn_error = 1;
                break;
            }
            if (pid == 0)
                run_child(&spec, data_dir, pending[next], mem_limit_mb);
            for (int64_t w = 0; w < jobs; w++)
                if (workers[w].pid == 0) {
                    workers[w] = (worker){pid, pending[next], m4_now_seconds(), 0};
                    break;
                }
            next++;
            running++;
        }
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (int64_t w = 0; w < jobs; w++) {
                if (workers[w].pid != pid)
                    continue;
                running--;
                ran++;
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                    done++;
                } else {
                    failed++;
                    if (workers[w].killed_for_time)
                        fprintf(stderr, "\nm4sim dataset: scenario %lld: killed after --timeout-s %lld s\n",
                                (long long)workers[w].index, (long long)timeout_s);
                    else if (!WIFEXITED(status))
                        fprintf(stderr, "\nm4sim dataset: scenario %lld: worker killed by signal %d\n",
                                (long long)workers[w].index, WTERMSIG(status));
                }
                workers[w].pid = 0;
                break;
            }
            continue;
        }
        double now = m4_now_seconds();
        for (int64_t w = 0; w < jobs && timeout_s > 0; w++)
            if (workers[w].pid > 0 && !workers[w].killed_for_time &&
                now - workers[w].started > (double)timeout_s) {
                kill(workers[w].pid, SIGKILL);
                workers[w].killed_for_time = 1;
            }
        if (stop_requested)
            for (int64_t w = 0; w < jobs; w++)
                if (workers[w].pid > 0)
                    kill(workers[w].pid, SIGTERM);
        report_progress(&progress, done, running, 0);
        struct timespec nap = {0, 100 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    report_progress(&progress, done, 0, 1);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);

    double wall = m4_now_seconds() - progress.start;
    char wall_text[32];
    format_duration(wall_text, sizeof wall_text, wall);
    int64_t bytes = m4_dsgen_disk_bytes(data_dir);
    printf("dataset %s: %lld/%lld scenarios done (%lld run now in %s, %.1f s each per worker), "
           "%lld flows, %.1f MB on disk (%.2f MB per scenario)\n",
           data_dir, (long long)done, (long long)scenarios, (long long)(ran - failed), wall_text,
           ran > 0 ? wall * (double)(jobs < ran ? jobs : ran) / (double)ran : 0.0,
           (long long)(done * flows), (double)bytes / 1e6,
           done > 0 ? (double)bytes / 1e6 / (double)done : 0.0);
    free(pending);
    free(workers);
    close(lock_fd);
    if (stop_requested) {
        fprintf(stderr, "m4sim dataset: stopped by signal %d; rerun the same command to resume\n",
                (int)stop_requested);
        return 1;
    }
    if (failed || spawn_error) {
        fprintf(stderr, "m4sim dataset: %lld scenario(s) failed (see above); rerun to retry them\n",
                (long long)failed);
        return 1;
    }
    return 0;
}
