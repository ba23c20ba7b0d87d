/* m4sim train DATA -o MODEL: train the m4 model on a dataset of ground-truth scenarios. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cli.h"
#include "core/error.h"
#include "core/textio.h"
#include "m4/train.h"

static const char *const usage =
    "usage: m4sim train DATA [DATA...] -o MODEL [--hidden H] [--gnn G] [--epochs N]\n"
    "                   [--lr X] [--seed S] [--resume] [options]\n"
    "\n"
    "Trains the m4 model (DESIGN.md section 8) on every finished scenario of DATA (a\n"
    "directory written by `m4sim dataset`; several are trained on as one, e.g. datasets\n"
    "of different fabric sizes). Writes MODEL (the best model by validation\n"
    "loss, rewritten whenever it improves), MODEL.ckpt (the full training state after\n"
    "each epoch: a killed run continues from it with --resume) and MODEL.log.txt (one\n"
    "line per epoch: epoch train_loss val_loss val_slowdown_err lr seconds).\n"
    "\n"
    "A sample is a stretch of one scenario's ground-truth events replayed through the\n"
    "model: --burn-in events forward only, then --sample-events with gradient in\n"
    "windows of --window events (truncated back-propagation; the state is carried\n"
    "across windows without gradient). Starts are balanced over busy-period length.\n"
    "Loss: mean |slowdown_hat/slowdown - 1| + 0.1 x L1 remaining fraction + 0.1 x L1\n"
    "cube-root queue (KB). Adam, gradient clipping, learning rate x0.2 after\n"
    "--patience epochs without a better validation loss, early stop after --early-stop.\n"
    "\n"
    "options (defaults in brackets):\n"
    "  -o MODEL            output model file (required)\n"
    "  --hidden H          [48] flow/link state width (paper: 200)\n"
    "  --gnn G             [64] graph layer width (paper: 300)\n"
    "  --mlp M             [100] hidden width of the slowdown MLP\n"
    "  --path-load 0|1     [0] 1: feed each flow the load of the busiest link on its path\n"
    "                      (the other flows' max-min rates over its capacity) as well\n"
    "                      (with --init: as the init model)\n"
    "  --flow-inputs X     [2] what each flow sees beyond its state: 2 = its max-min share\n"
    "                      and flowSim's slowdown; 3 = those and the path load; 4 = those\n"
    "                      and its age, log2(1 + time in the network / ideal FCT); with\n"
    "                      --init and more than the init model has, the new inputs\n"
    "                      start from zero weights (the init model's outputs)\n"
    "  --neighbourhood N   [links] what an event updates, kept in MODEL for the backend:\n"
    "                      'links': the flows on the event's links and those links (the\n"
    "                      paper's star); 'flows': those flows and all their links;\n"
    "                      'component': every flow coupled to them, transitively\n"
    "                      (with --init: the init model's unless given)\n"
    "  --epochs N          [40] at most N epochs\n"
    "  --lr X              [0.0003] initial learning rate\n"
    "  --seed S            [1] seed of initialisation, split and sampling\n"
    "  --resume            continue from MODEL.ckpt if it exists\n"
    "  --threads T         [2] samples processed in parallel (results depend on T)\n"
    "  --batch B           [4] samples per optimiser step\n"
    "  --samples N         [2 x training scenarios] samples per epoch\n"
    "  --window W          [128] events per back-propagation window\n"
    "  --sample-events N   [384] events with gradient per sample\n"
    "  --burn-in N         [128] forward-only events before them\n"
    "  --uniform-fraction X [0.5] share of samples started uniformly over all events\n"
    "                      instead of balanced over busy-period length\n"
    "  --init FILE         start from this model (its dimensions and weights; fine-tuning);\n"
    "                      with --epochs 0 it is only rewritten (with --shrink)\n"
    "  --closed-loop X     [0] share of samples (training and validation) run closed\n"
    "                      loop: after the burn-in, completions come from the model's own\n"
    "                      predictions, as in the m4 backend (slowdown loss only)\n"
    "  --closed-burn-in B  [0] 1: a closed-loop sample's burn-in runs closed loop too\n"
    "                      (its events up to the sample's start), so that the sample\n"
    "                      starts from states the model's own completions led to\n"
    "  --loss-weight W     [event] slowdown loss over every (event, flow) pair ('event')\n"
    "                      or each flow's mean over its events, every flow counting once\n"
    "                      ('flow', as the per-flow error that eval reports), or each\n"
    "                      flow's latest prediction in the window ('last': in closed loop\n"
    "                      the one its completion comes from, when it ends there)\n"
    "  --tail-weight X     [0] pull harder on the flows in the error's tail: the slowdown\n"
    "                      gradient is that of e + X max(0, e - T), e the relative error;\n"
    "                      the logged losses (and the choice of the best epoch) stay e\n"
    "  --tail-threshold T  [0.1] where the tail starts\n"
    "  --val-fraction X    [0.05] scenarios held out for validation\n"
    "  --val-samples N     [64] validation samples (fixed positions)\n"
    "  --patience N        [5] plateau patience in epochs\n"
    "  --early-stop N      [12] stop after N epochs without improvement (0 = never)\n"
    "  --max-scenarios N   [all] use only the first N scenarios\n"
    "  --time-limit S      [none] stop after the epoch that passes S seconds\n"
    "  --shrink X          [1] scale the learned correction of flowSim's slowdown in the\n"
    "                      final MODEL by X (0..1; MODEL.ckpt keeps the trained weights)\n"
    "  --ema D             [0 = off] validate and save an exponential moving average of\n"
    "                      the weights over the optimiser steps (decay D in (0, 1), e.g.\n"
    "                      0.998: about the last 500 steps), started from the initial\n"
    "                      weights; training itself goes on from the raw weights\n"
    "  --plot FILE.png     draw the loss curves from MODEL.log.txt at the end (gnuplot)\n"
    "\n"
    "Progress goes to stderr. exit status: 0 success, 2 bad input, 1 other failure\n";

static int parse_int(const char *opt, const char *v, long lo, long hi, int *out)
{
    int64_t x;
    if (m4_cli_parse_int(v, lo, hi, &x))
        return m4_cli_usage_error("train", "%s: '%s' is not an integer in [%ld, %ld]", opt, v,
                                  lo, hi);
    *out = (int)x;
    return 0;
}

static int parse_float(const char *opt, const char *v, double lo, double hi, double *out)
{
    double x;
    if (m4_parse_double(v, &x) || !(x >= lo && x <= hi))
        return m4_cli_usage_error("train", "%s: '%s' is not a number in [%g, %g]", opt, v, lo,
                                  hi);
    *out = x;
    return 0;
}

static int plot_log(const char *log_path, const char *png)
{
    char script[] = "/tmp/m4sim-train-plot-XXXXXX";
    int fd = mkstemp(script);
    if (fd < 0) return 1;
    FILE *f = fdopen(fd, "w");
    if (!f) return 1;
    char tmp_png[1100];
    snprintf(tmp_png, sizeof tmp_png, "%s.tmp.png", png);
    fprintf(f,
            "set terminal pngcairo size 900,560\nset output '%s'\n"
            "set xlabel 'epoch'\nset ylabel 'loss'\nset key top right\nset grid\n"
            "plot '%s' using 1:2 with linespoints title 'train loss', "
            "'' using 1:3 with linespoints title 'validation loss', "
            "'' using 1:4 with linespoints title 'validation slowdown error'\n",
            tmp_png, log_path);
    fclose(f);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "gnuplot '%s' 1>&2", script);
    int rc = system(cmd);
    remove(script);
    if (rc != 0 || rename(tmp_png, png) != 0) {
        remove(tmp_png);
        fprintf(stderr, "m4sim train: --plot: gnuplot failed\n");
        return 1;
    }
    return 0;
}

int m4_cmd_train(int argc, char **argv)
{
    m4_train_options o;
    m4_train_options_default(&o);
    o.log = stderr;
    enum { MAX_DATASETS = 16 };
    const char *data[MAX_DATASETS];
    int num_data = 0;
    const char *model = NULL, *plot = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (m4_cli_is_help(a)) {
            fputs(usage, stdout);
            return 0;
        }
        if (a[0] != '-') {
            if (num_data == MAX_DATASETS)
                return m4_cli_usage_error("train", "at most %d dataset directories", MAX_DATASETS);
            data[num_data++] = a;
            continue;
        }
        if (!strcmp(a, "--resume")) {
            o.resume = 1;
            continue;
        }
        if (i + 1 >= argc) return m4_cli_usage_error("train", "%s needs a value", a);
        const char *v = argv[++i];
        double x;
        int rc = 0;
        if (!strcmp(a, "-o")) model = v;
        else if (!strcmp(a, "--plot")) plot = v;
        else if (!strcmp(a, "--hidden")) rc = parse_int(a, v, 4, 1024, &o.dims.hidden);
        else if (!strcmp(a, "--gnn")) rc = parse_int(a, v, 1, 1024, &o.dims.gnn);
        else if (!strcmp(a, "--neighbourhood")) {
            o.neighbourhood = m4_neighbourhood_parse(v);
            if (o.neighbourhood < 0)
                rc = m4_cli_usage_error("train", "--neighbourhood: '%s' is not links, flows or component", v);
        }
        else if (!strcmp(a, "--mlp")) rc = parse_int(a, v, 1, 1024, &o.dims.mlp_hidden);
        else if (!strcmp(a, "--path-load")) {
            int on = 0;
            rc = parse_int(a, v, 0, 1, &on);
            o.dims.flow_extra = on ? 3 : 2;
        }
        else if (!strcmp(a, "--flow-inputs")) {
            rc = parse_int(a, v, 2, M4_MODEL_FLOW_EXTRA_MAX, &o.dims.flow_extra);
            o.flow_extra = o.dims.flow_extra;
        }
        else if (!strcmp(a, "--epochs")) rc = parse_int(a, v, 0, 100000, &o.epochs);
        else if (!strcmp(a, "--threads")) rc = parse_int(a, v, 1, 64, &o.threads);
        else if (!strcmp(a, "--batch")) rc = parse_int(a, v, 1, 4096, &o.batch);
        else if (!strcmp(a, "--samples")) rc = parse_int(a, v, 1, 100000000, &o.samples_per_epoch);
        else if (!strcmp(a, "--window")) rc = parse_int(a, v, 1, 100000, &o.window_events);
        else if (!strcmp(a, "--sample-events")) rc = parse_int(a, v, 1, 10000000, &o.sample_events);
        else if (!strcmp(a, "--burn-in")) rc = parse_int(a, v, 0, 10000000, &o.burn_in_events);
        else if (!strcmp(a, "--val-samples")) rc = parse_int(a, v, 1, 1000000, &o.val_samples);
        else if (!strcmp(a, "--patience")) rc = parse_int(a, v, 0, 100000, &o.plateau_patience);
        else if (!strcmp(a, "--early-stop")) rc = parse_int(a, v, 0, 100000, &o.early_stop);
        else if (!strcmp(a, "--max-scenarios")) rc = parse_int(a, v, 2, 100000000, &o.max_scenarios);
        else if (!strcmp(a, "--lr")) {
            if (!(rc = parse_float(a, v, 1e-8, 1.0, &x))) o.lr = (float)x;
        } else if (!strcmp(a, "--uniform-fraction")) {
            if (!(rc = parse_float(a, v, 0, 1, &x))) o.uniform_fraction = (float)x;
        } else if (!strcmp(a, "--init")) {
            o.init_path = v;
        } else if (!strcmp(a, "--closed-loop")) {
            if (!(rc = parse_float(a, v, 0, 1, &x))) o.closed_loop_fraction = (float)x;
        } else if (!strcmp(a, "--shrink")) {
            if (!(rc = parse_float(a, v, 0, 1, &x))) o.shrink = (float)x;
        } else if (!strcmp(a, "--ema")) {
            if (!(rc = parse_float(a, v, 0, 0.999999, &x))) o.ema_decay = (float)x;
        } else if (!strcmp(a, "--loss-weight")) {
            if (!strcmp(v, "flow")) o.loss_weight = M4_LOSS_WEIGHT_FLOW;
            else if (!strcmp(v, "event")) o.loss_weight = M4_LOSS_WEIGHT_EVENT;
            else if (!strcmp(v, "last")) o.loss_weight = M4_LOSS_WEIGHT_LAST;
            else rc = m4_cli_usage_error("train", "--loss-weight: '%s' is not 'event', 'flow' or 'last'", v);
        } else if (!strcmp(a, "--closed-burn-in")) {
            rc = parse_int(a, v, 0, 1, &o.closed_loop_burn_in);
        } else if (!strcmp(a, "--tail-weight")) {
            if (!(rc = parse_float(a, v, 0, 100, &x))) o.tail_weight = (float)x;
        } else if (!strcmp(a, "--tail-threshold")) {
            if (!(rc = parse_float(a, v, 0, 100, &x))) o.tail_threshold = (float)x;
        } else if (!strcmp(a, "--val-fraction")) {
            if (!(rc = parse_float(a, v, 1e-6, 0.9, &x))) o.val_fraction = (float)x;
        } else if (!strcmp(a, "--time-limit")) {
            if (!(rc = parse_float(a, v, 0, 1e9, &x))) o.time_limit_s = x;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            o.seed = strtoull(v, &end, 10);
            if (!*v || *end) rc = m4_cli_usage_error("train", "--seed: '%s' is not an unsigned integer", v);
        } else {
            return m4_cli_usage_error("train", "unknown option '%s'", a);
        }
        if (rc) return rc;
    }
    if (!num_data) return m4_cli_usage_error("train", "missing DATA directory");
    if (!model) return m4_cli_usage_error("train", "missing -o MODEL");
    openblas_set_num_threads(1);
    int err = m4_train(data, num_data, model, &o);
    if (err) return m4_cli_fail("train", err);
    if (plot) {
        char log_path[1100];
        snprintf(log_path, sizeof log_path, "%s.log.txt", model);
        if (plot_log(log_path, plot)) return 1;
    }
    return 0;
}
