#include "busy_period.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "m4sim.h"

typedef struct sweep_event {
    int64_t time;
    int32_t is_arrival; /* completions (0) sort before arrivals (1) at equal times */
    int64_t flow;
} sweep_event;

static int compare_events(const void *a, const void *b)
{
    const sweep_event *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->is_arrival != y->is_arrival)
        return x->is_arrival - y->is_arrival;
    return (x->flow > y->flow) - (x->flow < y->flow);
}

/* Union-find over flows; each root also carries its member list and the
 * number of its flows still active. */
typedef struct components {
    int64_t *parent;
    int64_t *active;      /* per root */
    int64_t *member_head; /* per root */
    int64_t *member_tail; /* per root */
    int64_t *member_next; /* per flow */
} components;

static int64_t find_root(components *c, int64_t x)
{
    while (c->parent[x] != x) {
        c->parent[x] = c->parent[c->parent[x]];
        x = c->parent[x];
    }
    return x;
}

static int64_t merge(components *c, int64_t a, int64_t b)
{
    a = find_root(c, a);
    b = find_root(c, b);
    if (a == b)
        return a;
    if (a > b) { /* the smaller index stays root: deterministic and stable */
        int64_t t = a;
        a = b;
        b = t;
    }
    c->parent[b] = a;
    c->active[a] += c->active[b];
    c->member_next[c->member_tail[a]] = c->member_head[b];
    c->member_tail[a] = c->member_tail[b];
    return a;
}

typedef struct period_ref {
    int64_t start_ns;
    int64_t first_flow;
    int64_t offset, count;
} period_ref;

static int compare_periods(const void *a, const void *b)
{
    const period_ref *x = a, *y = b;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return (x->first_flow > y->first_flow) - (x->first_flow < y->first_flow);
}

static const int64_t *sort_starts;

static int compare_flows_by_start(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    if (sort_starts[x] != sort_starts[y])
        return sort_starts[x] < sort_starts[y] ? -1 : 1;
    return (x > y) - (x < y);
}

int m4_busy_periods_split(m4_busy_periods *out, const m4_busy_period_input *in)
{
    memset(out, 0, sizeof *out);
    int64_t n = in->num_flows;
    for (int64_t i = 0; i < n; i++) {
        if (in->end_ns[i] <= in->start_ns[i])
            return m4_error_set(M4_EINVAL, "busy periods: flow %lld ends before it starts",
                                (long long)i);
        for (int64_t k = in->path_offset[i]; k < in->path_offset[i + 1]; k++)
            if (in->path_dlinks[k] < 0 || in->path_dlinks[k] >= in->num_dlinks)
                return m4_error_set(M4_EINVAL, "busy periods: flow %lld uses link %d of %d",
                                    (long long)i, in->path_dlinks[k], in->num_dlinks);
    }
    size_t flows_bytes = (size_t)(n ? n : 1) * sizeof(int64_t);
    sweep_event *events = malloc((size_t)(2 * n + 1) * sizeof *events);
    components c = {malloc(flows_bytes), malloc(flows_bytes), malloc(flows_bytes),
                    malloc(flows_bytes), malloc(flows_bytes)};
    int64_t *link_active = calloc((size_t)in->num_dlinks + 1, sizeof *link_active);
    int64_t *link_owner = malloc(((size_t)in->num_dlinks + 1) * sizeof *link_owner);
    period_ref *refs = malloc((size_t)(n ? n : 1) * sizeof *refs);
    int64_t *ordered = malloc(flows_bytes);
    out->flows = malloc(flows_bytes);
    int err = M4_OK;
    if (!events || !c.parent || !c.active || !c.member_head || !c.member_tail || !c.member_next ||
        !link_active || !link_owner || !refs || !ordered || !out->flows) {
        err = M4_ENOMEM;
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        events[2 * i] = (sweep_event){in->start_ns[i], 1, i};
        events[2 * i + 1] = (sweep_event){in->end_ns[i], 0, i};
        c.parent[i] = i;
        c.active[i] = 0;
        c.member_head[i] = c.member_tail[i] = i;
        c.member_next[i] = -1;
    }
    qsort(events, (size_t)(2 * n), sizeof *events, compare_events);

    /* Closed periods are written to `ordered` in closing order, then sorted. */
    int64_t num_periods = 0, written = 0;
    for (int64_t e = 0; e < 2 * n; e++) {
        int64_t f = events[e].flow;
        const int32_t *path = in->path_dlinks + in->path_offset[f];
        int64_t hops = in->path_offset[f + 1] - in->path_offset[f];
        if (events[e].is_arrival) {
            int64_t root = f;
            c.active[f] = 1;
            for (int64_t k = 0; k < hops; k++) {
                if (link_active[path[k]] > 0)
                    root = merge(&c, root, link_owner[path[k]]);
            }
            for (int64_t k = 0; k < hops; k++) {
                link_active[path[k]]++;
                link_owner[path[k]] = root;
            }
            continue;
        }
        for (int64_t k = 0; k < hops; k++)
            link_active[path[k]]--;
        int64_t root = find_root(&c, f);
        if (--c.active[root] > 0)
            continue;
        period_ref *ref = &refs[num_periods++];
        ref->offset = written;
        for (int64_t m = c.member_head[root]; m >= 0; m = c.member_next[m])
            ordered[written++] = m;
        ref->count = written - ref->offset;
        sort_starts = in->start_ns;
        qsort(ordered + ref->offset, (size_t)ref->count, sizeof *ordered, compare_flows_by_start);
        ref->first_flow = ordered[ref->offset];
        ref->start_ns = in->start_ns[ref->first_flow];
    }
    qsort(refs, (size_t)num_periods, sizeof *refs, compare_periods);

    out->count = num_periods;
    out->flow_offset = malloc((size_t)(num_periods + 1) * sizeof *out->flow_offset);
    out->start_ns = malloc((size_t)(num_periods ? num_periods : 1) * sizeof *out->start_ns);
    out->end_ns = malloc((size_t)(num_periods ? num_periods : 1) * sizeof *out->end_ns);
    if (!out->flow_offset || !out->start_ns || !out->end_ns) {
        err = M4_ENOMEM;
        goto done;
    }
    int64_t position = 0;
    for (int64_t p = 0; p < num_periods; p++) {
        out->flow_offset[p] = position;
        out->start_ns[p] = refs[p].start_ns;
        int64_t end = 0;
        for (int64_t k = 0; k < refs[p].count; k++) {
            int64_t flow = ordered[refs[p].offset + k];
            out->flows[position++] = flow;
            if (in->end_ns[flow] > end)
                end = in->end_ns[flow];
        }
        out->end_ns[p] = end;
    }
    out->flow_offset[num_periods] = position;
done:
    free(events);
    free(c.parent);
    free(c.active);
    free(c.member_head);
    free(c.member_tail);
    free(c.member_next);
    free(link_active);
    free(link_owner);
    free(refs);
    free(ordered);
    if (err)
        m4_busy_periods_free(out);
    return err;
}

void m4_busy_periods_free(m4_busy_periods *periods)
{
    free(periods->flow_offset);
    free(periods->flows);
    free(periods->start_ns);
    free(periods->end_ns);
    memset(periods, 0, sizeof *periods);
}
