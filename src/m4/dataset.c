#include "m4/dataset.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/array.h"
#include "core/error.h"
#include "core/npy.h"
#include "net/scenario.h"

void m4_train_scenario_free(m4_train_scenario *s)
{
    free(s->flow_size), free(s->flow_start_ns), free(s->flow_ideal_ns), free(s->flow_slowdown);
    free(s->flow_num_hops), free(s->flow_path), free(s->link_bps);
    free(s->event_time_ns), free(s->event_kind), free(s->event_flow);
    free(s->remaining_offset), free(s->remaining_flow), free(s->remaining_fraction);
    free(s->queue_offset), free(s->queue_link), free(s->queue_target);
    memset(s, 0, sizeof *s);
}

/* Reads an int64 (rows, 3) array. */
static int read_rows3(const char *dir, const char *name, m4_npy_array *a, char *path, size_t cap)
{
    snprintf(path, cap, "%s/packet/trace/%s", dir, name);
    int err = m4_npy_read(path, a);
    if (err) return err;
    if (a->dtype != M4_NPY_I64 || a->ndim != 2 || a->shape[1] != 3) {
        m4_npy_free(a);
        return m4_error_set(M4_EFORMAT, "%s: expected an int64 array of shape (n, 3)", path);
    }
    return M4_OK;
}

/* Counting sort of (event, value) rows into a CSR over events. */
static int build_csr(const int64_t *rows, int64_t n, int64_t num_events, int64_t **offset,
                     const char *path)
{
    int64_t *off = calloc((size_t)num_events + 1, sizeof *off);
    if (!off) return M4_ENOMEM;
    for (int64_t i = 0; i < n; i++) {
        int64_t e = rows[3 * i];
        if (e < 0 || e >= num_events) {
            free(off);
            return m4_error_set(M4_EFORMAT, "%s: row %lld names event %lld of %lld", path,
                                (long long)i, (long long)e, (long long)num_events);
        }
        if (i > 0 && e < rows[3 * (i - 1)]) {
            free(off);
            return m4_error_set(M4_EFORMAT, "%s: rows are not in event order", path);
        }
        off[e + 1]++;
    }
    for (int64_t e = 0; e < num_events; e++) off[e + 1] += off[e];
    *offset = off;
    return M4_OK;
}

#define ALLOC_N(p, n)                                            \
    do {                                                         \
        if (!((p) = calloc((size_t)(n) + 1, sizeof *(p)))) {     \
            err = M4_ENOMEM;                                     \
            goto done;                                           \
        }                                                        \
    } while (0)

int m4_train_scenario_load(m4_train_scenario *s, const char *dir)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    m4_scenario *sc = NULL;
    m4_npy_array ev = {0}, fs = {0}, qu = {0};
    char path[1024];
    int err = m4_scenario_load(&sc, dir);
    if (err) return err;
    const int64_t F = sc->flows.count;
    if (F > INT32_MAX / 2) {
        err = m4_error_set(M4_EINVAL, "%s: too many flows for training", dir);
        goto done;
    }
    s->num_flows = (int32_t)F;
    s->num_links = m4_num_dlinks(&sc->topology);
    m4_config_features(&sc->config, sc->window_bytes, s->config);
    ALLOC_N(s->link_bps, s->num_links);
    for (int32_t l = 0; l < s->num_links; l++) s->link_bps[l] = m4_dlink_rate_bps(&sc->topology, l);
    ALLOC_N(s->flow_size, F);
    ALLOC_N(s->flow_start_ns, F);
    ALLOC_N(s->flow_ideal_ns, F);
    ALLOC_N(s->flow_slowdown, F);
    ALLOC_N(s->flow_num_hops, F);
    ALLOC_N(s->flow_path, F * M4_MAX_HOPS);
    for (int64_t i = 0; i < F; i++) {
        const m4_flow *f = &sc->flows.flows[i];
        int32_t *p = s->flow_path + i * M4_MAX_HOPS;
        err = m4_route(&sc->routing, f->src, f->dst, (uint64_t)f->id, p, M4_MAX_HOPS,
                       &s->flow_num_hops[i]);
        if (err) goto done;
        s->flow_size[i] = f->size_bytes;
        s->flow_start_ns[i] = f->start_ns;
        s->flow_ideal_ns[i] = m4_ideal_fct_ns(&sc->topology, p, s->flow_num_hops[i], f->size_bytes);
    }

    if ((err = read_rows3(dir, "events.npy", &ev, path, sizeof path))) goto done;
    const int64_t E = ev.shape[0];
    const int64_t *evr = ev.data;
    if (E != 2 * F) {
        err = m4_error_set(M4_EFORMAT, "%s: %lld events for %lld flows (expected two per flow)",
                           path, (long long)E, (long long)F);
        goto done;
    }
    s->num_events = E;
    ALLOC_N(s->event_time_ns, E);
    ALLOC_N(s->event_kind, E);
    ALLOC_N(s->event_flow, E);
    unsigned char *seen;
    ALLOC_N(seen, F);
    for (int64_t e = 0; e < E; e++) {
        int64_t t = evr[3 * e], kind = evr[3 * e + 1], h = evr[3 * e + 2];
        if (h < 0 || h >= F || (kind != 0 && kind != 1) || (e > 0 && t < evr[3 * (e - 1)]) ||
            seen[h] != kind) {
            free(seen);
            err = m4_error_set(M4_EFORMAT, "%s: event %lld (time %lld, kind %lld, flow %lld) "
                               "does not fit the scenario", path, (long long)e, (long long)t,
                               (long long)kind, (long long)h);
            goto done;
        }
        seen[h] = (unsigned char)(kind + 1);
        s->event_time_ns[e] = t;
        s->event_kind[e] = (unsigned char)kind;
        s->event_flow[e] = (int32_t)h;
        if (kind == 1) {
            int64_t fct = t - s->flow_start_ns[h];
            double sd = (double)fct / (double)s->flow_ideal_ns[h];
            s->flow_slowdown[h] = (float)(sd > 1.0 ? sd : 1.0);
        }
    }
    free(seen);

    if ((err = read_rows3(dir, "flow_state.npy", &fs, path, sizeof path))) goto done;
    const int64_t RF = fs.shape[0];
    const int64_t *fsr = fs.data;
    if ((err = build_csr(fsr, RF, E, &s->remaining_offset, path))) goto done;
    ALLOC_N(s->remaining_flow, RF);
    ALLOC_N(s->remaining_fraction, RF);
    for (int64_t i = 0; i < RF; i++) {
        int64_t h = fsr[3 * i + 1], got = fsr[3 * i + 2];
        if (h < 0 || h >= F || got < 0 || got > s->flow_size[h]) {
            err = m4_error_set(M4_EFORMAT, "%s: row %lld: flow %lld with %lld bytes received",
                               path, (long long)i, (long long)h, (long long)got);
            goto done;
        }
        s->remaining_flow[i] = (int32_t)h;
        s->remaining_fraction[i] = (float)(1.0 - (double)got / (double)s->flow_size[h]);
    }

    if ((err = read_rows3(dir, "queue.npy", &qu, path, sizeof path))) goto done;
    const int64_t RQ = qu.shape[0];
    const int64_t *qur = qu.data;
    if ((err = build_csr(qur, RQ, E, &s->queue_offset, path))) goto done;
    ALLOC_N(s->queue_link, RQ);
    ALLOC_N(s->queue_target, RQ);
    for (int64_t i = 0; i < RQ; i++) {
        int64_t l = qur[3 * i + 1], q = qur[3 * i + 2];
        if (l < 0 || l >= s->num_links || q < 0) {
            err = m4_error_set(M4_EFORMAT, "%s: row %lld: link %lld queue %lld", path,
                               (long long)i, (long long)l, (long long)q);
            goto done;
        }
        s->queue_link[i] = (int32_t)l;
        s->queue_target[i] = m4_model_queue_feature((double)q);
    }
done:
    m4_npy_free(&ev), m4_npy_free(&fs), m4_npy_free(&qu);
    m4_scenario_free(sc);
    if (err) m4_train_scenario_free(s);
    return err;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int m4_dataset_list(const char *data_dir, char ***dirs, int32_t *count)
{
    *dirs = NULL;
    *count = 0;
    DIR *d = opendir(data_dir);
    if (!d) return m4_error_set(M4_EIO, "%s: cannot open the dataset directory", data_dir);
    char **list = NULL;
    int32_t n = 0, cap = 0;
    struct dirent *de;
    int err = M4_OK;
    while ((de = readdir(d))) {
        if (de->d_name[0] != 's' || strlen(de->d_name) != 6) continue;
        char done[1024];
        struct stat st;
        snprintf(done, sizeof done, "%s/%s/DONE", data_dir, de->d_name);
        if (stat(done, &st) != 0) continue;
        if ((err = m4_array_reserve32(&list, &cap, n + 1, sizeof *list, 256))) break;
        size_t len = strlen(data_dir) + strlen(de->d_name) + 2;
        if (!(list[n] = malloc(len))) { err = M4_ENOMEM; break; }
        snprintf(list[n], len, "%s/%s", data_dir, de->d_name);
        n++;
    }
    closedir(d);
    if (err) {
        for (int32_t i = 0; i < n; i++) free(list[i]);
        free(list);
        return err;
    }
    if (n > 1) qsort(list, (size_t)n, sizeof *list, cmp_str);
    *dirs = list;
    *count = n;
    return M4_OK;
}
