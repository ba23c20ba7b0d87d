/* Flow-level backend (flowSim, DESIGN.md section 7): max-min fair rates by
 * progressive filling, recomputed at every arrival and transmission end over
 * the connected component (flows sharing directed links, transitively) that
 * the event touches; between events each flow's remaining bits drop by
 * rate x elapsed.
 *
 * A flow transmits size + ceil(size/1000) * 48 header bytes; its work is the
 * bits its bottleneck r_min sends in tx_alone, the time the ideal-FCT formula
 * gives those bytes at r_min (with its per-term truncations, so that work
 * and formula agree exactly). Its last byte arrives at the receiver a fixed
 * delay after its transmission ends:
 *   extra = ideal_fct - tx_alone
 * = the path's base delay: propagation plus the first packet's
 * store-and-forward on every hop but the bottleneck. A flow alone on its path
 * therefore finishes at exactly its ideal FCT, and never earlier when shared
 * (its rate never exceeds r_min).
 *
 * Components are taken over coupling links only: a link whose flows' own
 * bottleneck rates sum to at most its capacity can never be saturated (no
 * flow exceeds its bottleneck), so it constrains nobody and does not tie its
 * flows together; the recompute keeps each flow's bottleneck as a cap. An
 * event recomputes the flows on the links it changes that couple (before or
 * after), and everything reachable from them through coupling links. The
 * result equals a global recompute (tests/test_flow.c checks this against an
 * independent implementation).
 *
 * Two kinds of events: a transmission end frees bandwidth (rates of its
 * component are recomputed); a delivery reports the completion to the driver.
 * Predicted transmission ends live in a heap with lazy invalidation: an entry
 * carries the generation of its flow slot and is ignored once the flow's rate
 * has changed since. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/heap.h"
#include "sim/sim.h"

/* Predictions further out than this are treated as "not before a recompute". */
#define FAR_FUTURE_NS (INT64_MAX / 4)

typedef struct link_member {
    int32_t slot; /* flow slot using the link */
    int32_t hop;  /* index of the link on that flow's path */
} link_member;

typedef struct link_state {
    double capacity;      /* bits per ns */
    int64_t capacity_bps;
    /* Sum of the bottleneck rates of the flows crossing the link: when it
     * does not exceed the capacity, the link can never constrain them. */
    int64_t demand_bps;
    link_member *members; /* active flows crossing the link (any order) */
    int32_t count, capacity_members;
    /* Scratch for progressive filling. */
    double remaining_capacity;
    int32_t unfrozen;
    uint32_t epoch;
} link_state;

typedef struct flow_slot {
    /* Fields read while collecting a component first, to share a cache line. */
    uint32_t epoch;           /* component search mark */
    int8_t active;
    int8_t frozen;
    int16_t num_hops;
    int32_t hops[M4_MAX_HOPS];
    double rate;              /* bits per ns; 0 until first computed */
    double bottleneck;        /* the smallest capacity on the path, bits per ns */
    int64_t bottleneck_bps;
    double remaining_bits;    /* as of last_update_ns */
    int64_t last_update_ns;
    int64_t predicted_end_ns; /* transmission end at the current rate */
    uint32_t generation;      /* bumped whenever the prediction changes or the slot is freed */
    int64_t handle;
    int64_t start_ns;
    int64_t ideal_fct_ns;
    int64_t extra_ns;         /* transmission end -> last byte at receiver */
    int32_t positions[M4_MAX_HOPS]; /* index of this flow in each hop's member list */
} flow_slot;

typedef struct share_entry {
    double share;
    int32_t link;
} share_entry;

typedef struct flow_backend {
    const m4_topology *topology;
    link_state *links;
    int32_t num_links;
    flow_slot *slots;
    int32_t num_slots, slot_capacity;
    int32_t *free_slots;
    int32_t num_free;
    m4_heap tx_ends;    /* time = predicted transmission end, data = slot | generation << 32 */
    m4_heap deliveries; /* time = end_ns, data = handle */
    int64_t now;
    uint32_t epoch;
    /* What must be recomputed at pending_time: links (>= 0) and new flows
     * (-1 - slot). */
    int32_t *seeds;
    int32_t num_seeds, seed_capacity;
    int64_t pending_time;
    int error; /* sticky: a failed recompute in next_event_time surfaces in advance */
    /* Scratch for a recompute. */
    int32_t *component_links, *component_flows;
    int32_t component_links_capacity, component_flows_capacity;
    share_entry *share_heap;
    int32_t share_heap_capacity;
    share_entry *caps; /* per-flow caps of a recompute, sorted */
    int32_t caps_capacity;
} flow_backend;

static void flow_destroy(void *state)
{
    flow_backend *b = state;
    if (!b)
        return;
    for (int32_t i = 0; i < b->num_links; i++)
        free(b->links[i].members);
    free(b->links);
    free(b->slots);
    free(b->free_slots);
    m4_heap_free(&b->tx_ends);
    m4_heap_free(&b->deliveries);
    free(b->seeds);
    free(b->component_links);
    free(b->component_flows);
    free(b->share_heap);
    free(b->caps);
    free(b);
}

static int flow_create(void **state, const m4_scenario *scenario, const m4_backend_params *params)
{
    (void)params;
    *state = NULL;
    flow_backend *b = calloc(1, sizeof *b);
    if (!b)
        return M4_ENOMEM;
    const m4_topology *t = &scenario->topology;
    b->topology = t;
    b->num_links = m4_num_dlinks(t);
    b->links = calloc((size_t)(b->num_links ? b->num_links : 1), sizeof *b->links);
    if (!b->links) {
        flow_destroy(b);
        return M4_ENOMEM;
    }
    for (int32_t i = 0; i < b->num_links; i++) {
        double rate = m4_dlink_rate_bps(t, i);
        if (!(rate > 0)) {
            flow_destroy(b);
            return m4_error_set(M4_EINVAL, "flow backend: link %d has rate %g", i >> 1, rate);
        }
        b->links[i].capacity = rate / 1e9;
        b->links[i].capacity_bps = (int64_t)llround(rate);
    }
    m4_heap_init(&b->tx_ends);
    m4_heap_init(&b->deliveries);
    b->pending_time = -1;
    *state = b;
    return M4_OK;
}

static int add_seed(flow_backend *b, int32_t link)
{
    int err = m4_array_reserve32(&b->seeds, &b->seed_capacity, b->num_seeds + 1, sizeof *b->seeds,
                                 16);
    if (err)
        return err;
    b->seeds[b->num_seeds++] = link;
    return M4_OK;
}

/* Time the flow needs to send remaining_bits at rate, rounded up so that a
 * flow never finishes early. */
static int64_t transmission_ns(double remaining_bits, double rate)
{
    if (remaining_bits <= 0)
        return 0;
    double ns = ceil(remaining_bits / rate);
    return ns < (double)FAR_FUTURE_NS ? (int64_t)ns : FAR_FUTURE_NS;
}

/* Time the bottleneck needs for the flow's bytes, size + ceil(size/1000) * 48
 * headers, with the truncations of the ideal-FCT formula (DESIGN.md section 3):
 * the first packet, the rest of the payload, and one header per further
 * packet, each floored. */
static int64_t bottleneck_transmission_ns(int64_t size_bytes, double capacity)
{
    int64_t first_payload = size_bytes < M4_MTU_BYTES ? size_bytes : M4_MTU_BYTES;
    int64_t packets = (size_bytes + M4_MTU_BYTES - 1) / M4_MTU_BYTES;
    return (int64_t)floor((double)(first_payload + M4_HEADER_BYTES) * 8.0 / capacity) +
           (int64_t)floor((double)(size_bytes - first_payload) * 8.0 / capacity) +
           (packets - 1) * (int64_t)floor((double)M4_HEADER_BYTES * 8.0 / capacity);
}

/* The bits a flow must move: what its bottleneck sends in alone_ns, adjusted
 * down by float ulps so that the event loop's own rounding gives back exactly
 * alone_ns for a flow alone on its path. */
static double flow_work_bits(int64_t alone_ns, double capacity)
{
    double bits = (double)alone_ns * capacity;
    while (bits > 0 && transmission_ns(bits, capacity) > alone_ns)
        bits = nextafter(bits, 0);
    return bits;
}

/* ---- progressive filling over one set of components ------------------------------ */

/* Ties come out in an order fixed by the sequence of heap operations, so
 * runs stay deterministic without a tie-breaker. */
static int share_before(const share_entry *a, const share_entry *b)
{
    return a->share < b->share;
}

/* A 4-ary heap: half the depth of a binary one, and the four children
 * share a cache line. */
static void share_push(share_entry *heap, int32_t *count, share_entry item)
{
    int32_t i = (*count)++;
    while (i > 0) {
        int32_t parent = (i - 1) / 4;
        if (!share_before(&item, &heap[parent]))
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = item;
}

static void share_sift_down(share_entry *heap, int32_t n, int32_t i)
{
    share_entry item = heap[i];
    for (;;) {
        int32_t first = 4 * i + 1;
        if (first >= n)
            break;
        int32_t best = first, end = first + 4 < n ? first + 4 : n;
        for (int32_t c = first + 1; c < end; c++)
            if (heap[c].share < heap[best].share)
                best = c;
        if (!share_before(&heap[best], &item))
            break;
        heap[i] = heap[best];
        i = best;
    }
    heap[i] = item;
}

static share_entry share_pop(share_entry *heap, int32_t *count)
{
    share_entry top = heap[0];
    int32_t n = --*count;
    if (n > 0) {
        heap[0] = heap[n];
        share_sift_down(heap, n, 0);
    }
    return top;
}

/* A link couples its flows' rates only if it can be saturated: if the flows'
 * own bottleneck rates sum to at most its capacity, no allocation (every rate
 * is at most its flow's bottleneck) fills it, so it constrains nobody. */
static int link_couples(const link_state *l) { return l->demand_bps > l->capacity_bps; }

static int push_component_link(flow_backend *b, int32_t link, int32_t *num_links)
{
    int err = m4_array_reserve32(&b->component_links, &b->component_links_capacity,
                                 *num_links + 1, sizeof *b->component_links, 16);
    if (err)
        return err;
    b->component_links[(*num_links)++] = link;
    return M4_OK;
}

/* Add a flow to the component, queueing its coupling links. */
static int collect_flow(flow_backend *b, int32_t slot_index, uint32_t epoch, int32_t *num_links,
                        int32_t *num_flows)
{
    flow_slot *f = &b->slots[slot_index];
    if (f->epoch == epoch || !f->active)
        return M4_OK;
    f->epoch = epoch;
    int err = m4_array_reserve32(&b->component_flows, &b->component_flows_capacity,
                                 *num_flows + 1, sizeof *b->component_flows, 16);
    if (err)
        return err;
    b->component_flows[(*num_flows)++] = slot_index;
    for (int32_t h = 0; h < f->num_hops; h++) {
        link_state *next = &b->links[f->hops[h]];
        if (next->epoch == epoch || !link_couples(next))
            continue;
        next->epoch = epoch;
        err = push_component_link(b, f->hops[h], num_links);
        if (err)
            return err;
    }
    return M4_OK;
}

/* Collect the flows whose rates the event can change: the seed flows (new
 * arrivals), every flow on a seed link (a link that coupled its flows before
 * or after the event), and transitively every flow sharing a coupling link
 * with a collected flow. component_links gets the coupling links among them,
 * each with all of its flows collected. */
static int collect_component(flow_backend *b, int32_t *num_links_out, int32_t *num_flows_out)
{
    uint32_t epoch = ++b->epoch;
    if (epoch == 0) { /* wrapped: clear every mark once */
        for (int32_t i = 0; i < b->num_links; i++)
            b->links[i].epoch = 0;
        for (int32_t i = 0; i < b->num_slots; i++)
            b->slots[i].epoch = 0;
        epoch = b->epoch = 1;
    }
    int32_t num_links = 0, num_flows = 0, scanned = 0;
    for (int32_t s = 0; s < b->num_seeds; s++) {
        int32_t seed = b->seeds[s];
        int err;
        if (seed < 0) {
            err = collect_flow(b, -1 - seed, epoch, &num_links, &num_flows);
        } else {
            link_state *l = &b->links[seed];
            if (l->epoch == epoch)
                continue;
            l->epoch = epoch;
            err = M4_OK;
            if (link_couples(l)) {
                err = push_component_link(b, seed, &num_links);
            } else {
                /* No longer coupling: its flows are collected, the link not kept. */
                for (int32_t m = 0; m < l->count && !err; m++)
                    err = collect_flow(b, l->members[m].slot, epoch, &num_links, &num_flows);
            }
        }
        if (err)
            return err;
        /* Breadth-first through the coupling links queued so far. */
        while (scanned < num_links) {
            const link_state *l = &b->links[b->component_links[scanned++]];
            for (int32_t m = 0; m < l->count; m++) {
                err = collect_flow(b, l->members[m].slot, epoch, &num_links, &num_flows);
                if (err)
                    return err;
            }
        }
    }
    *num_links_out = num_links;
    *num_flows_out = num_flows;
    return M4_OK;
}

static int compare_heap_entries(const void *a, const void *b)
{
    const m4_heap_entry *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Drop stale predictions (rates changed since) so the heap stays
 * proportional to the active flows; entries keep their order keys. */
static void compact_tx_ends(flow_backend *b)
{
    m4_heap *heap = &b->tx_ends;
    int64_t kept = 0;
    for (int64_t i = 0; i < heap->count; i++) {
        const m4_heap_entry *e = &heap->entries[i];
        const flow_slot *f = &b->slots[(uint32_t)e->data];
        if (f->active && f->generation == (uint32_t)(e->data >> 32))
            heap->entries[kept++] = *e;
    }
    /* A sorted array is a valid min-heap; order by (time, seq) as the heap does. */
    heap->count = kept;
    qsort(heap->entries, (size_t)kept, sizeof *heap->entries, compare_heap_entries);
}

static void set_rate(flow_backend *b, int32_t slot_index, double rate, int64_t now, int *err)
{
    flow_slot *f = &b->slots[slot_index];
    if (rate == f->rate)
        return; /* prediction still valid; remaining bits stay lazily accounted */
    if (f->rate > 0 && now > f->last_update_ns) {
        f->remaining_bits -= f->rate * (double)(now - f->last_update_ns);
        if (f->remaining_bits < 0)
            f->remaining_bits = 0;
    }
    f->last_update_ns = now;
    f->rate = rate;
    f->generation++;
    f->predicted_end_ns = now + transmission_ns(f->remaining_bits, rate);
    if (m4_heap_count(&b->tx_ends) > 4 * (int64_t)(b->num_slots - b->num_free) + 4096)
        compact_tx_ends(b);
    int e = m4_heap_push(&b->tx_ends, f->predicted_end_ns,
                         (uint64_t)(uint32_t)slot_index | (uint64_t)f->generation << 32);
    if (e && !*err)
        *err = e;
}


static void freeze_flow(flow_backend *b, int32_t slot_index, double rate, uint32_t epoch,
                        int64_t now, int *err)
{
    flow_slot *f = &b->slots[slot_index];
    f->frozen = 1;
    for (int32_t h = 0; h < f->num_hops; h++) {
        link_state *other = &b->links[f->hops[h]];
        if (other->epoch != epoch || !link_couples(other))
            continue; /* not part of this computation */
        other->remaining_capacity -= rate;
        if (other->remaining_capacity < 0)
            other->remaining_capacity = 0;
        other->unfrozen--;
    }
    set_rate(b, slot_index, rate, now, err);
}

static int compare_caps(const void *a, const void *b)
{
    const share_entry *x = a, *y = b;
    if (x->share != y->share)
        return x->share < y->share ? -1 : 1;
    return (x->link > y->link) - (x->link < y->link);
}

/* Sort caps by value (then slot). They usually all share one value (the
 * host link rate), in which case they are already in order of collection,
 * which is deterministic. */
static void sort_caps(share_entry *caps, int32_t n)
{
    for (int32_t i = 1; i < n; i++) {
        if (caps[i].share != caps[0].share) {
            qsort(caps, (size_t)n, sizeof *caps, compare_caps);
            return;
        }
    }
}

/* Max-min rates by progressive filling over the flows the seeds reach. */
static int recompute(flow_backend *b, int64_t now)
{
    int32_t num_links, num_flows;
    int err = collect_component(b, &num_links, &num_flows);
    b->num_seeds = 0;
    if (err)
        return err;
    err = m4_array_reserve32(&b->share_heap, &b->share_heap_capacity, num_links + 1,
                             sizeof *b->share_heap, 16);
    if (!err)
        err = m4_array_reserve32(&b->caps, &b->caps_capacity, num_flows + 1, sizeof *b->caps, 16);
    if (err)
        return err;
    int32_t heap_count = 0, num_caps = 0;
    for (int32_t i = 0; i < num_links; i++) {
        int32_t id = b->component_links[i];
        link_state *l = &b->links[id];
        l->remaining_capacity = l->capacity;
        l->unfrozen = l->count;
        b->share_heap[heap_count++] = (share_entry){l->capacity / l->count, id};
    }
    /* Links that cannot saturate are left out, but they still cap each flow
     * at its bottleneck: a flow whose bottleneck link is left out gets that
     * cap as its own entry (link = the flow's slot) in caps. */
    for (int32_t i = 0; i < num_flows; i++) {
        int32_t slot_index = b->component_flows[i];
        flow_slot *f = &b->slots[slot_index];
        f->frozen = 0;
        /* Flows on no coupling link are settled by the last loop below. */
        int capped = 0, coupled = 0;
        for (int32_t h = 0; h < f->num_hops && !capped; h++) {
            const link_state *l = &b->links[f->hops[h]];
            int couples = link_couples(l);
            coupled |= couples;
            capped = couples && l->capacity_bps == f->bottleneck_bps;
        }
        if (coupled && !capped)
            b->caps[num_caps++] = (share_entry){f->bottleneck, slot_index};
    }
    for (int32_t i = (heap_count - 2) / 4; i >= 0; i--)
        share_sift_down(b->share_heap, heap_count, i);
    sort_caps(b->caps, num_caps);
    uint32_t epoch = b->epoch;
    /* Freezing flows on other links only raises a link's fair share, so a
     * popped entry is either current or too low: recompute and re-queue.
     * The flow caps (constant, sorted) merge in ahead of equal shares. */
    int32_t next_cap = 0;
    while (heap_count > 0 || next_cap < num_caps) {
        if (next_cap < num_caps &&
            (heap_count == 0 || b->caps[next_cap].share <= b->share_heap[0].share)) {
            share_entry cap = b->caps[next_cap++];
            if (!b->slots[cap.link].frozen)
                freeze_flow(b, cap.link, cap.share, epoch, now, &err);
            continue;
        }
        share_entry top = share_pop(b->share_heap, &heap_count);
        link_state *l = &b->links[top.link];
        if (l->unfrozen == 0)
            continue;
        double share = l->remaining_capacity / l->unfrozen;
        if (share > top.share) {
            share_push(b->share_heap, &heap_count, (share_entry){share, top.link});
            continue;
        }
        if (!(share > 0)) /* rounding left nothing: keep the flows moving */
            share = l->capacity * 1e-9;
        for (int32_t m = 0; m < l->count; m++) {
            int32_t slot_index = l->members[m].slot;
            if (!b->slots[slot_index].frozen)
                freeze_flow(b, slot_index, share, epoch, now, &err);
        }
    }
    /* Flows on no coupling link run at their own bottleneck. */
    for (int32_t i = 0; i < num_flows; i++) {
        int32_t slot_index = b->component_flows[i];
        if (!b->slots[slot_index].frozen)
            set_rate(b, slot_index, b->slots[slot_index].bottleneck, now, &err);
    }
    return err;
}

static int flush(flow_backend *b)
{
    if (b->num_seeds == 0)
        return M4_OK;
    return recompute(b, b->pending_time);
}

/* ---- flow lifecycle ---------------------------------------------------------------- */

static void link_remove(flow_backend *b, int32_t link_id, int32_t position, int64_t demand_bps)
{
    link_state *l = &b->links[link_id];
    l->demand_bps -= demand_bps;
    link_member last = l->members[--l->count];
    if (position < l->count) {
        l->members[position] = last;
        b->slots[last.slot].positions[last.hop] = position;
    }
}

/* Transmission of the slot's flow ended at `now`: free its links, queue its delivery. */
static int end_transmission(flow_backend *b, int32_t slot_index, int64_t now)
{
    flow_slot *f = &b->slots[slot_index];
    for (int32_t h = 0; h < f->num_hops; h++) {
        /* A link that did not couple its flows before the departure changes
         * nobody's rate by losing one. */
        if (link_couples(&b->links[f->hops[h]])) {
            int err = add_seed(b, f->hops[h]);
            if (err)
                return err;
        }
        link_remove(b, f->hops[h], f->positions[h], f->bottleneck_bps);
    }
    int64_t end_ns = now + (f->extra_ns > 0 ? f->extra_ns : 0);
    if (end_ns < f->start_ns + f->ideal_fct_ns)
        end_ns = f->start_ns + f->ideal_fct_ns;
    int err = m4_heap_push(&b->deliveries, end_ns, (uint64_t)f->handle);
    if (err)
        return err;
    f->active = 0;
    f->generation++;
    b->free_slots[b->num_free++] = slot_index;
    return M4_OK;
}

/* The earliest valid predicted transmission end (dropping stale entries). */
static int64_t next_tx_end(flow_backend *b)
{
    while (m4_heap_count(&b->tx_ends) > 0) {
        const m4_heap_entry *top = &b->tx_ends.entries[0];
        const flow_slot *f = &b->slots[(uint32_t)top->data];
        if (f->active && f->generation == (uint32_t)(top->data >> 32))
            return top->time;
        m4_heap_entry dropped;
        m4_heap_pop(&b->tx_ends, &dropped);
    }
    return INT64_MAX;
}

/* End every transmission predicted at exactly time t, then recompute. */
static int process_tx_ends_at(flow_backend *b, int64_t t)
{
    int err = flush(b);
    if (err)
        return err;
    while (next_tx_end(b) == t) {
        m4_heap_entry e;
        m4_heap_pop(&b->tx_ends, &e);
        err = end_transmission(b, (int32_t)(uint32_t)e.data, t);
        if (err)
            return err;
    }
    b->pending_time = t;
    b->now = t;
    return flush(b);
}

static int flow_add(void *state, const m4_flow_start *start)
{
    flow_backend *b = state;
    int64_t t = start->start_ns;
    if (t < b->now)
        return m4_error_set(M4_ESTATE, "flow backend: flow %lld starts at %lld ns, before %lld ns",
                            (long long)start->flow_id, (long long)t, (long long)b->now);
    if (start->num_hops <= 0 || start->num_hops > M4_MAX_HOPS)
        return m4_error_set(M4_EINVAL, "flow backend: flow %lld has %d hops",
                            (long long)start->flow_id, start->num_hops);
    if (start->size_bytes <= 0)
        return m4_error_set(M4_EINVAL, "flow backend: flow %lld has size %lld",
                            (long long)start->flow_id, (long long)start->size_bytes);
    for (int32_t h = 0; h < start->num_hops; h++)
        if (start->path[h] < 0 || start->path[h] >= b->num_links)
            return m4_error_set(M4_EINVAL, "flow backend: flow %lld uses unknown link %d",
                                (long long)start->flow_id, start->path[h]);
    /* Transmissions ending before or at the arrival free their bandwidth first. */
    int err;
    if (b->num_seeds > 0 && b->pending_time < t) {
        err = flush(b);
        if (err)
            return err;
    }
    for (int64_t next = next_tx_end(b); next <= t; next = next_tx_end(b)) {
        err = process_tx_ends_at(b, next);
        if (err)
            return err;
    }
    int32_t slot_index;
    if (b->num_free > 0) {
        slot_index = b->free_slots[--b->num_free];
    } else {
        if (b->num_slots == b->slot_capacity) {
            /* free_slots must hold every slot: the capacity moves only when both grew */
            int32_t cap = (int32_t)m4_array_grown_capacity(b->slot_capacity, b->num_slots + 1, 16);
            if (m4_array_resize(&b->slots, cap, sizeof *b->slots) ||
                m4_array_resize(&b->free_slots, cap, sizeof *b->free_slots))
                return M4_ENOMEM;
            b->slot_capacity = cap;
        }
        slot_index = b->num_slots++;
        b->slots[slot_index].generation = 0;
        b->slots[slot_index].epoch = 0;
    }
    flow_slot *f = &b->slots[slot_index];
    double bottleneck = INFINITY;
    int64_t bottleneck_bps = INT64_MAX;
    for (int32_t h = 0; h < start->num_hops; h++) {
        const link_state *l = &b->links[start->path[h]];
        if (l->capacity < bottleneck)
            bottleneck = l->capacity;
        if (l->capacity_bps < bottleneck_bps)
            bottleneck_bps = l->capacity_bps;
    }
    int64_t alone_ns = bottleneck_transmission_ns(start->size_bytes, bottleneck);
    double bits = flow_work_bits(alone_ns, bottleneck);
    f->handle = start->handle;
    f->start_ns = t;
    f->ideal_fct_ns = start->ideal_fct_ns;
    f->extra_ns = start->ideal_fct_ns - alone_ns;
    f->remaining_bits = bits;
    f->bottleneck = bottleneck;
    f->bottleneck_bps = bottleneck_bps;
    f->rate = 0;
    f->last_update_ns = t;
    f->predicted_end_ns = FAR_FUTURE_NS;
    f->generation++;
    f->num_hops = (int16_t)start->num_hops;
    f->active = 1;
    f->frozen = 0;
    for (int32_t h = 0; h < start->num_hops; h++) {
        int32_t id = start->path[h];
        link_state *l = &b->links[id];
        err = m4_array_reserve32(&l->members, &l->capacity_members, l->count + 1,
                                 sizeof *l->members, 16);
        if (err) {
            for (int32_t undo = 0; undo < h; undo++)
                link_remove(b, f->hops[undo], f->positions[undo], f->bottleneck_bps);
            f->active = 0;
            b->free_slots[b->num_free++] = slot_index;
            return err;
        }
        f->hops[h] = id;
        f->positions[h] = l->count;
        l->members[l->count++] = (link_member){slot_index, h};
        l->demand_bps += f->bottleneck_bps;
    }
    /* The new flow needs a rate; the flows of a link it joins are affected
     * only if the link now couples them (it cannot have coupled before and
     * not now). */
    err = add_seed(b, -1 - slot_index);
    for (int32_t h = 0; h < f->num_hops && !err; h++)
        if (link_couples(&b->links[f->hops[h]]))
            err = add_seed(b, f->hops[h]);
    if (err)
        return err;
    b->pending_time = t;
    b->now = t;
    return M4_OK;
}

static int64_t flow_next_event_time(void *state)
{
    flow_backend *b = state;
    int err = flush(b);
    if (err) {
        b->error = err;
        return b->now; /* the driver calls advance next, which reports it */
    }
    int64_t tx = next_tx_end(b);
    int64_t delivery = m4_heap_peek_time(&b->deliveries);
    return tx < delivery ? tx : delivery;
}

static int flow_advance(void *state, int64_t until_ns, m4_completion_list *completed)
{
    flow_backend *b = state;
    if (b->error)
        return b->error;
    int err = flush(b);
    if (err)
        return err;
    for (;;) {
        int64_t tx = next_tx_end(b);
        int64_t delivery = m4_heap_peek_time(&b->deliveries);
        int64_t t = tx < delivery ? tx : delivery;
        if (t > until_ns || t == INT64_MAX)
            return M4_OK;
        if (tx == t) {
            err = process_tx_ends_at(b, t);
            if (err)
                return err;
        }
        b->now = t;
        int delivered = 0;
        while (m4_heap_peek_time(&b->deliveries) == t) {
            m4_heap_entry e;
            m4_heap_pop(&b->deliveries, &e);
            err = m4_completion_push(completed, (int64_t)e.data, t);
            if (err)
                return err;
            delivered = 1;
        }
        if (delivered)
            return M4_OK;
    }
}

const m4_backend_ops m4_flow_backend = {
    .name = "flow",
    .create = flow_create,
    .destroy = flow_destroy,
    .add_flow = flow_add,
    .next_event_time = flow_next_event_time,
    .advance = flow_advance,
    .finish = NULL,
};
