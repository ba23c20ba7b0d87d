/* Packet-level backend: a discrete-event model of the HPCC ns-3 fork's RDMA
 * network (DESIGN.md section 6).
 *
 * Hosts: one queue pair per flow, paced at the CC rate, window = the scenario's
 * window scaled by rate/line rate, round-robin among eligible flows, ACK per
 * packet (ECN echo, INT, timestamp), NACK + go-back-N on a sequence gap.
 * Switches: 8 strict-priority output queues per port (7 = ACK/NACK/PFC and
 * the ACKs of DCTCP/TIMELY; 0..6 = data of flows with that pg, plus the ACKs
 * of DCQCN/HPCC, which share their flow's data queue), one shared buffer per
 * switch with dynamic thresholds, PFC accounted and paused per (ingress port,
 * priority) with headroom per port, ECN marking from the egress queue's own
 * length and INT stamping (all queues of the port) at dequeue. A flow's pg
 * must be 0..6: 7 is reserved for control, and add_flow rejects the rest.
 * Packets travel the path the driver routed.
 *
 * Events are (time, insertion order) in one heap; the payload packs an index
 * and an event kind. Packets live in a pool with a free list, so the steady
 * state does no allocation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/npy.h"
#include "core/rng.h"
#include "core/textio.h"
#include "packet/cc/cc.h"
#include "packet/event_heap.h"
#include "packet/packet.h"
#include "packet/trace.h"
#include "sim/sim.h"

enum { EV_PORT_FREE, EV_ARRIVE, EV_NIC_WAKE, EV_CC_TIMER, EV_RTO, EV_PAUSE_END, EV_SAMPLE };
#define EV_BITS 3
enum { PK_DATA, PK_ACK, PK_NACK, PK_PAUSE, PK_RESUME };
#define NPRIO M4_PACKET_PRIORITIES
#define PRIO_CTRL M4_PACKET_CTRL_PRIORITY

#define NACK_INTERVAL_NS 500000     /* NACK resend suppression */
/* No data packet delivered anywhere for this long while flows are active:
 * 50 retransmission timeouts with PFC on, far beyond any pause or queue. */
#define STALL_NS 500000000
#define PFC_FRAME_BYTES 64
/* PFC resume (the fork's SONiC-style MMU, xon and xon_offset): an ingress
 * queue out of headroom resumes once it holds under XON bytes or sits
 * XON_OFFSET below the dynamic threshold. */
#define PFC_XON_BYTES 1248
#define PFC_XON_OFFSET_BYTES 2496
#define HPCC_DATA_EXTRA 42          /* INT header: 5 hops x 8 B + 2 B */
#define HPCC_ACK_BYTES 88           /* measured from case1: the ACK echoes the INT */
#define TIMELY_DATA_EXTRA 8         /* timestamp header */

typedef struct packet {
    int32_t next;       /* queue link / free list */
    int32_t flow;       /* flow slot */
    uint32_t gen;       /* slot generation: stale packets are discarded */
    uint8_t kind, hop, ecn, num_int, prio; /* prio: queue (and PFC class) at switches */
    uint8_t pfc_prio;   /* PFC frames: the priority paused or resumed */
    int32_t size;       /* bytes on the wire */
    int32_t payload;
    int32_t dlink;      /* link it is on / queued for */
    int32_t in_dlink;   /* switch ingress link for buffer accounting, -1 = none */
    int32_t target;     /* PFC frames: the directed link whose sender pauses */
    int64_t seq;
    int64_t ts;
    m4_int_hop ints[M4_INT_MAX_HOPS];
} packet;

typedef struct port {
    /* hot: every kick and transmission */
    int64_t busy_until;    /* the port serialises a packet until then */
    uint32_t nonempty;     /* bit q: queue q holds packets */
    uint32_t paused;       /* bit q: priority q paused by the downstream's PFC */
    int free_pending;      /* an EV_PORT_FREE is scheduled at busy_until */
    int from_switch, to_switch;
    int32_t num_flows;
    int64_t qtotal;        /* bytes in all queues */
    int64_t tx_bytes;
    double rate_bps;
    int64_t delay_ns;
    int64_t kmin, kmax;    /* ECN thresholds in bytes at this port's rate */
    int64_t wake_at;       /* host NIC pacing wake-up already scheduled */
    /* host NIC: its flows in round-robin order */
    int32_t *flows;
    int32_t flow_capacity, rr;
    int32_t head[NPRIO], tail[NPRIO];
    int64_t qbytes[NPRIO];
    /* ingress accounting at the switch this link leads into */
    uint32_t pause_sent;   /* bit q: PAUSE for priority q sent upstream */
    int64_t headroom;
} port;

/* PFC accounting per (ingress link, priority) at the switch the link leads
 * into, in its own array (one cache line per link) to keep ports small.
 * Bytes fit in 32 bits: packet_create caps BUFFER_KB at 2000000 (config.txt
 * at 100000), and neither the shared part nor the headroom exceeds it. */
typedef struct ingress {
    int32_t bytes[NPRIO]; /* all bytes held, headroom included */
    int32_t hdrm[NPRIO];  /* the part in headroom */
} ingress;

typedef struct flow {
    int64_t handle, size, start;
    int32_t path[M4_MAX_HOPS];
    int32_t hops;
    uint32_t gen;
    int prio;           /* data priority (pg), 0..6 */
    int live, rx_done, tx_done;
    int64_t snd_nxt, snd_una, rcv_nxt, next_avail;
    int64_t nack_seq, nack_until;
    int64_t cc_timer_at, rto_at, rto_una;
    int32_t active_pos, next_free;
    m4_cc_state cc;
} flow;

typedef struct vec3 {
    int64_t *v;
    int64_t n, cap; /* rows */
} vec3;

typedef struct pkt_sim {
    const m4_scenario *sc;
    const m4_topology *t;
    m4_config cfg;
    pk_heap heap;
    int64_t now;
    m4_rng rng;
    int err;
    port *ports;
    ingress *ing;           /* per directed link */
    int32_t num_dlinks;
    m4_cc_params *ccp;      /* per directed link (used for host NIC links) */
    int64_t *sw_shared, *sw_used, *sw_pool, *sw_buffer; /* per node: shared part, all bytes held, shared pool, buffer */
    packet *pkts;
    int32_t num_pkts, pkt_capacity, free_pkt;
    flow *flows;
    int32_t num_slots, slot_capacity, free_slot, live_flows;
    int64_t window_bytes, base_rtt_ns;
    int ack_high_prio, data_extra, ack_bytes, pfc;
    int64_t rto_ns;
    m4_completion_list *out;
    int64_t completed_at;
    /* statistics */
    int64_t events, data_pkts, drops, pauses, resumes, nacks, timeouts, max_sw_bytes;
    int64_t pkts_in_use, max_pkts_in_use;
    /* trace */
    char *trace_dir;
    FILE *log;
    int32_t *active;
    int32_t num_active, active_capacity;
    vec3 tr_events, tr_flow, tr_queue, tr_sq, tr_sr;
    int64_t num_trace_events;
    int sample_scheduled;
    int64_t last_delivery_ns; /* last data packet to reach a receiver (or flow start) */
} pkt_sim;

/* ---- small helpers ------------------------------------------------------- */

static void fail(pkt_sim *s, int err)
{
    if (!s->err)
        s->err = err;
}

static void vec3_push(pkt_sim *s, vec3 *v, int64_t a, int64_t b, int64_t c)
{
    if (m4_array_reserve(&v->v, &v->cap, v->n + 1, 3 * sizeof *v->v, 1024)) {
        fail(s, M4_ENOMEM);
        return;
    }
    v->v[3 * v->n] = a;
    v->v[3 * v->n + 1] = b;
    v->v[3 * v->n + 2] = c;
    v->n++;
}

static void schedule(pkt_sim *s, int64_t time, int64_t index, int kind)
{
    if ((uint64_t)index >> (PK_PAYLOAD_BITS - EV_BITS)) {
        fail(s, m4_error_set(M4_EINVAL, "packet backend: event index %lld exceeds the event queue's %d bits "
                                        "(too many links, flows or packets in flight)",
                             (long long)index, PK_PAYLOAD_BITS - EV_BITS));
        return;
    }
    int err = pk_heap_push(&s->heap, time, ((uint64_t)index << EV_BITS) | (uint64_t)kind);
    if (err)
        fail(s, err);
}

/* The quotient is positive, so truncation is the floor (no libm call). */
static int64_t tx_time_ns(double rate_bps, int64_t bytes)
{
    return (int64_t)((double)bytes * 8e9 / rate_bps + 1e-6);
}

/* The pool only grows between events (pool_reserve), so packet pointers stay
 * valid while one event is processed. One event allocates at most a handful of
 * packets (a data packet or an ACK plus PFC frames). */
#define POOL_SLACK 64
static int pool_reserve(pkt_sim *s)
{
    if (s->pkt_capacity - s->pkts_in_use >= POOL_SLACK)
        return M4_OK;
    return m4_array_reserve32(&s->pkts, &s->pkt_capacity, (int32_t)s->pkts_in_use + POOL_SLACK,
                              sizeof *s->pkts, 4096);
}

static int32_t pkt_alloc(pkt_sim *s)
{
    if (s->free_pkt < 0) {
        if (s->num_pkts == s->pkt_capacity) {
            fail(s, m4_error_set(M4_ESTATE, "packet backend: packet pool exhausted within one event"));
            return -1;
        }
        s->pkts[s->num_pkts].next = -1;
        s->free_pkt = s->num_pkts++;
    }
    int32_t i = s->free_pkt;
    s->free_pkt = s->pkts[i].next;
    packet *p = &s->pkts[i];
    p->next = -1;
    p->num_int = 0;
    p->ecn = 0;
    p->in_dlink = -1;
    p->hop = 0;
    p->seq = 0;
    p->ts = 0;
    p->payload = 0;
    if (++s->pkts_in_use > s->max_pkts_in_use)
        s->max_pkts_in_use = s->pkts_in_use;
    return i;
}

static void pkt_free(pkt_sim *s, int32_t i)
{
    s->pkts[i].next = s->free_pkt;
    s->free_pkt = i;
    s->pkts_in_use--;
}

static void queue_push(pkt_sim *s, port *pt, int prio, int32_t i)
{
    packet *p = &s->pkts[i];
    p->next = -1;
    if (pt->tail[prio] >= 0)
        s->pkts[pt->tail[prio]].next = i;
    else
        pt->head[prio] = i;
    pt->tail[prio] = i;
    pt->qbytes[prio] += p->size;
    pt->qtotal += p->size;
    pt->nonempty |= 1u << prio;
}

static int32_t queue_pop(pkt_sim *s, port *pt, int prio)
{
    int32_t i = pt->head[prio];
    pt->head[prio] = s->pkts[i].next;
    if (pt->head[prio] < 0) {
        pt->tail[prio] = -1;
        pt->nonempty &= ~(1u << prio);
    }
    pt->qbytes[prio] -= s->pkts[i].size;
    pt->qtotal -= s->pkts[i].size;
    return i;
}

/* Directed link a packet takes at hop h of its route. */
static int32_t route_dlink(const flow *f, const packet *p, int h)
{
    return p->kind == PK_DATA ? f->path[h] : (f->path[f->hops - 1 - h] ^ 1);
}

static int64_t flow_window(const pkt_sim *s, const flow *f)
{
    const m4_cc_params *cp = &s->ccp[f->path[0]];
    int64_t w = (int64_t)((double)s->window_bytes * f->cc.rate / cp->line_rate_bps);
    return w < 1 ? 1 : w;
}

static void port_kick(pkt_sim *s, int32_t d);

static void port_wake_when_free(pkt_sim *s, int32_t d)
{
    port *pt = &s->ports[d];
    if (!pt->free_pending) {
        pt->free_pending = 1;
        schedule(s, pt->busy_until, d, EV_PORT_FREE);
    }
}

/* ---- switch buffer and PFC ---------------------------------------------- */

/* Dynamic threshold (alpha 1) of an ingress queue: what is left of the
 * shared pool, which excludes the headroom reserved per port. */
static int64_t pfc_threshold(const pkt_sim *s, int32_t sw)
{
    int64_t thr = s->sw_pool[sw] - s->sw_shared[sw];
    return thr > 0 ? thr : 0;
}

static void send_pfc(pkt_sim *s, int32_t in_dlink, int kind, int prio)
{
    int32_t i = pkt_alloc(s);
    if (i < 0)
        return;
    packet *p = &s->pkts[i];
    p->kind = (uint8_t)kind;
    p->flow = -1;
    p->gen = 0;
    p->size = PFC_FRAME_BYTES;
    p->prio = PRIO_CTRL;
    p->pfc_prio = (uint8_t)prio;
    p->target = in_dlink;
    p->dlink = in_dlink ^ 1;
    queue_push(s, &s->ports[in_dlink ^ 1], PRIO_CTRL, i);
    port_kick(s, in_dlink ^ 1);
}

/* Admit a packet into switch `sw` (arrived over in_dlink) for egress port e;
 * returns 0 when it must be dropped.
 *
 * With PFC, the accounting is the fork's (SONiC-style) lossless MMU: an
 * ingress queue whose bytes exceed the dynamic threshold starts filling its
 * headroom and pauses its upstream; once in headroom, every arrival goes
 * there until departures have drained it (they drain the headroom first).
 * So headroom bytes are a count per ingress queue, not a mark on packets:
 * a packet's place is decided by the queue's state when it leaves. */
static int switch_admit(pkt_sim *s, int32_t sw, int32_t in_dlink, int32_t e, packet *p)
{
    port *in = &s->ports[in_dlink];
    ingress *ig = &s->ing[in_dlink];
    int q = p->prio;
    int64_t thr = pfc_threshold(s, sw);
    if (s->pfc) {
        if (ig->hdrm[q] > 0 && p->size + ig->hdrm[q] > in->headroom)
            return 0;
        if (s->sw_used[sw] + p->size > s->sw_buffer[sw])
            return 0;
        ig->bytes[q] += p->size;
        s->sw_used[sw] += p->size;
        if (ig->hdrm[q] > 0 || ig->bytes[q] > thr)
            ig->hdrm[q] += p->size;
        else
            s->sw_shared[sw] += p->size;
    } else {
        if (s->sw_shared[sw] + p->size > s->sw_pool[sw] || s->ports[e].qbytes[q] + p->size > thr)
            return 0;
        ig->bytes[q] += p->size;
        s->sw_used[sw] += p->size;
        s->sw_shared[sw] += p->size;
    }
    p->in_dlink = in_dlink;
    if (s->sw_used[sw] > s->max_sw_bytes)
        s->max_sw_bytes = s->sw_used[sw];
    if (s->pfc && !(in->pause_sent >> q & 1) && ig->hdrm[q] > 0) {
        in->pause_sent |= 1u << q;
        s->pauses++;
        send_pfc(s, in_dlink, PK_PAUSE, q);
    }
    return 1;
}

static void switch_release(pkt_sim *s, packet *p)
{
    int32_t in_dlink = p->in_dlink;
    if (in_dlink < 0)
        return;
    port *in = &s->ports[in_dlink];
    ingress *ig = &s->ing[in_dlink];
    int32_t sw = m4_dlink_to(s->t, in_dlink);
    int q = p->prio;
    int32_t from_hdrm = ig->hdrm[q] < p->size ? ig->hdrm[q] : p->size;
    ig->hdrm[q] -= from_hdrm;
    ig->bytes[q] -= p->size;
    s->sw_used[sw] -= p->size;
    s->sw_shared[sw] -= p->size - from_hdrm;
    p->in_dlink = -1;
    if ((in->pause_sent >> q & 1) && ig->hdrm[q] == 0 &&
        (ig->bytes[q] < PFC_XON_BYTES ||
         ig->bytes[q] + PFC_XON_OFFSET_BYTES <= pfc_threshold(s, sw))) {
        in->pause_sent &= ~(1u << q);
        s->resumes++;
        send_pfc(s, in_dlink, PK_RESUME, q);
    }
}

/* ---- transmission --------------------------------------------------------- */

static void transmit(pkt_sim *s, int32_t d, int32_t i)
{
    port *pt = &s->ports[d];
    packet *p = &s->pkts[i];
    p->dlink = d;
    if (pt->from_switch) {
        switch_release(s, p);
        if (p->kind == PK_DATA) {
            int64_t q = pt->qbytes[p->prio];
            if (q > pt->kmax) {
                p->ecn = 1;
            } else if (q > pt->kmin) {
                double prob = s->cfg.ecn_pmax * (double)(q - pt->kmin) / (double)(pt->kmax - pt->kmin);
                if (m4_rng_uniform(&s->rng) < prob)
                    p->ecn = 1;
            }
        }
    }
    pt->tx_bytes += p->size;
    if (pt->from_switch && p->kind == PK_DATA && s->cfg.cc == M4_CC_HPCC &&
        p->num_int < M4_INT_MAX_HOPS) {
        m4_int_hop *h = &p->ints[p->num_int++];
        h->time_ns = s->now;
        h->tx_bytes = pt->tx_bytes;
        h->qlen_bytes = pt->qtotal;
        h->rate_bps = pt->rate_bps;
    }
    int64_t tx = tx_time_ns(pt->rate_bps, p->size);
    pt->busy_until = s->now + tx;
    schedule(s, s->now + tx + pt->delay_ns, i, EV_ARRIVE);
    /* A port-free event only when something already waits; otherwise the
     * next packet finds the port idle by its busy_until (half the events). */
    if (pt->nonempty || pt->num_flows > 0)
        port_wake_when_free(s, d);
}

/* Host NIC: the next flow (round robin) that may send now; sets *wake to the
 * earliest pacing time of a flow that could send later. */
static int32_t nic_pick(pkt_sim *s, port *pt, int64_t *wake)
{
    *wake = INT64_MAX;
    int32_t n = pt->num_flows;
    for (int32_t k = 0; k < n; k++) {
        int32_t idx = (pt->rr + k) % n;
        flow *f = &s->flows[pt->flows[idx]];
        if (pt->paused >> f->prio & 1)
            continue;
        if (f->snd_nxt >= f->size || f->snd_nxt - f->snd_una >= flow_window(s, f))
            continue;
        if (f->next_avail <= s->now) {
            pt->rr = (idx + 1) % n;
            return pt->flows[idx];
        }
        if (f->next_avail < *wake)
            *wake = f->next_avail;
    }
    return -1;
}

static void send_data(pkt_sim *s, int32_t d, int32_t slot)
{
    flow *f = &s->flows[slot];
    int32_t i = pkt_alloc(s);
    if (i < 0)
        return;
    packet *p = &s->pkts[i];
    int64_t left = f->size - f->snd_nxt;
    p->kind = PK_DATA;
    p->flow = slot;
    p->gen = f->gen;
    p->prio = (uint8_t)f->prio;
    p->seq = f->snd_nxt;
    p->payload = (int32_t)(left < M4_MTU_BYTES ? left : M4_MTU_BYTES);
    p->size = p->payload + M4_HEADER_BYTES + s->data_extra;
    p->ts = s->now;
    f->snd_nxt += p->payload;
    f->next_avail = s->now + tx_time_ns(f->cc.rate, p->size);
    s->data_pkts++;
    transmit(s, d, i);
}

static void port_kick(pkt_sim *s, int32_t d)
{
    port *pt = &s->ports[d];
    if (s->now < pt->busy_until) {
        port_wake_when_free(s, d);
        return;
    }
    /* Strict priority: the highest non-empty queue that is not paused
     * (the control queue never is), then the NIC's own flows. */
    uint32_t ready = pt->nonempty & ~pt->paused;
    if (ready) {
        transmit(s, d, queue_pop(s, pt, 31 - __builtin_clz(ready)));
        return;
    }
    if (pt->num_flows > 0) {
        int64_t wake;
        int32_t slot = nic_pick(s, pt, &wake);
        if (slot >= 0) {
            send_data(s, d, slot);
        } else if (wake != INT64_MAX && (pt->wake_at <= s->now || wake < pt->wake_at)) {
            pt->wake_at = wake;
            schedule(s, wake, d, EV_NIC_WAKE);
        }
    }
}

/* ---- flows ---------------------------------------------------------------- */

static void trace_event(pkt_sim *s, int kind, const flow *f)
{
    int64_t ev = s->num_trace_events++;
    vec3_push(s, &s->tr_events, s->now, kind, f->handle);
    for (int32_t k = 0; k < s->num_active; k++) {
        const flow *a = &s->flows[s->active[k]];
        vec3_push(s, &s->tr_flow, ev, a->handle, a->rcv_nxt);
    }
    for (int32_t h = 0; h < f->hops; h++) {
        const port *pt = &s->ports[f->path[h]];
        vec3_push(s, &s->tr_queue, ev, f->path[h], pt->qtotal);
    }
}

static void active_remove(pkt_sim *s, flow *f)
{
    int32_t pos = f->active_pos;
    int32_t last = s->active[--s->num_active];
    s->active[pos] = last;
    s->flows[last].active_pos = pos;
    f->active_pos = -1;
}

static void maybe_free_slot(pkt_sim *s, int32_t slot)
{
    flow *f = &s->flows[slot];
    if (!f->rx_done || !f->tx_done)
        return;
    f->live = 0;
    s->live_flows--;
    f->gen++;
    f->cc_timer_at = INT64_MAX;
    f->rto_at = INT64_MAX;
    f->next_free = s->free_slot;
    s->free_slot = slot;
}

static void nic_remove(pkt_sim *s, int32_t slot)
{
    port *pt = &s->ports[s->flows[slot].path[0]];
    for (int32_t k = 0; k < pt->num_flows; k++) {
        if (pt->flows[k] == slot) {
            memmove(&pt->flows[k], &pt->flows[k + 1], (size_t)(pt->num_flows - k - 1) * sizeof(int32_t));
            pt->num_flows--;
            if (pt->rr > k)
                pt->rr--;
            if (pt->num_flows == 0 || pt->rr >= pt->num_flows)
                pt->rr = 0;
            return;
        }
    }
}

static void send_ack(pkt_sim *s, flow *f, const packet *data, int kind)
{
    int32_t i = pkt_alloc(s);
    if (i < 0)
        return;
    packet *p = &s->pkts[i];
    p->ecn = data->ecn;
    p->num_int = data->num_int;
    p->ts = data->ts;
    if (data->num_int)
        memcpy(p->ints, data->ints, (size_t)data->num_int * sizeof p->ints[0]);
    p->kind = (uint8_t)kind;
    p->flow = (int32_t)(f - s->flows);
    p->gen = f->gen;
    p->size = s->ack_bytes;
    p->prio = (uint8_t)(s->ack_high_prio ? PRIO_CTRL : f->prio);
    p->seq = f->rcv_nxt;
    queue_push(s, &s->ports[f->path[f->hops - 1] ^ 1], PRIO_CTRL, i);
}

static void receive_data(pkt_sim *s, int32_t i)
{
    s->last_delivery_ns = s->now;
    packet *p = &s->pkts[i];
    flow *f = &s->flows[p->flow];
    int kind = -1;
    if (p->seq == f->rcv_nxt) {
        f->rcv_nxt += p->payload;
        kind = PK_ACK;
    } else if (p->seq > f->rcv_nxt) {
        if (!(f->nack_seq == f->rcv_nxt && s->now < f->nack_until)) {
            f->nack_seq = f->rcv_nxt;
            f->nack_until = s->now + NACK_INTERVAL_NS;
            kind = PK_NACK;
            s->nacks++;
        }
    } else {
        kind = PK_ACK; /* duplicate after a timeout: re-ACK so the sender catches up */
    }
    if (kind >= 0) {
        send_ack(s, f, p, kind);
        port_kick(s, f->path[f->hops - 1] ^ 1);
    }
    pkt_free(s, i);
    if (!f->rx_done && f->rcv_nxt >= f->size) {
        f->rx_done = 1;
        if (s->trace_dir)
            trace_event(s, 1, f);
        if (f->active_pos >= 0)
            active_remove(s, f);
        int err = m4_completion_push(s->out, f->handle, s->now);
        if (err)
            fail(s, err);
        s->completed_at = s->now;
        maybe_free_slot(s, (int32_t)(f - s->flows));
    }
}

static void update_cc_timer(pkt_sim *s, int32_t slot)
{
    flow *f = &s->flows[slot];
    int64_t next = m4_cc_next_timer(&f->cc, &s->ccp[f->path[0]]);
    if (next != INT64_MAX && next < f->cc_timer_at) {
        f->cc_timer_at = next;
        schedule(s, next, slot, EV_CC_TIMER);
    }
}

static void receive_ack(pkt_sim *s, int32_t i)
{
    packet *p = &s->pkts[i];
    int32_t slot = p->flow;
    flow *f = &s->flows[slot];
    if (f->tx_done) {
        pkt_free(s, i);
        return;
    }
    m4_cc_ack ack = {s->now, p->seq, f->snd_nxt, p->ecn, p->kind == PK_NACK, p->num_int, p->ints, p->ts};
    if (p->seq > f->snd_una)
        f->snd_una = p->seq;
    if (p->kind == PK_NACK && f->snd_nxt > p->seq)
        f->snd_nxt = p->seq > f->snd_una ? p->seq : f->snd_una;
    m4_cc_on_ack(&f->cc, &s->ccp[f->path[0]], &ack);
    pkt_free(s, i);
    if (f->snd_una >= f->size) {
        f->tx_done = 1;
        f->cc_timer_at = INT64_MAX;
        f->rto_at = INT64_MAX;
        int32_t nic = f->path[0];
        nic_remove(s, slot);
        maybe_free_slot(s, slot);
        port_kick(s, nic);
        return;
    }
    update_cc_timer(s, slot);
    port_kick(s, f->path[0]);
}

static void arrive(pkt_sim *s, int32_t i)
{
    packet *p = &s->pkts[i];
    if (p->kind == PK_PAUSE || p->kind == PK_RESUME) {
        port *up = &s->ports[p->target];
        int32_t target = p->target;
        if (p->kind == PK_PAUSE) {
            /* Held until the RESUME: with a 5 us expiry the upstream would
             * resume into a still-full headroom and an incast would lose packets. */
            up->paused |= 1u << p->pfc_prio;
        } else {
            up->paused &= ~(1u << p->pfc_prio);
        }
        pkt_free(s, i);
        port_kick(s, target);
        return;
    }
    flow *f = &s->flows[p->flow];
    if (!f->live || f->gen != p->gen) {
        pkt_free(s, i); /* the flow finished: a stale duplicate */
        return;
    }
    if (p->hop + 1 >= f->hops) {
        if (p->kind == PK_DATA)
            receive_data(s, i);
        else
            receive_ack(s, i);
        return;
    }
    int32_t in_dlink = p->dlink;
    int32_t sw = m4_dlink_to(s->t, in_dlink);
    p->hop++;
    int32_t e = route_dlink(f, p, p->hop);
    if (p->prio != PRIO_CTRL && !switch_admit(s, sw, in_dlink, e, p)) {
        s->drops++;
        pkt_free(s, i);
        return;
    }
    queue_push(s, &s->ports[e], p->prio, i);
    port_kick(s, e);
}

static void sample(pkt_sim *s)
{
    for (int32_t d = 0; d < s->num_dlinks; d++) {
        int64_t q = s->ports[d].qtotal;
        if (q > 0)
            vec3_push(s, &s->tr_sq, s->now, d, q);
    }
    for (int32_t k = 0; k < s->num_active; k++) {
        const flow *f = &s->flows[s->active[k]];
        if (!f->tx_done)
            vec3_push(s, &s->tr_sr, s->now, f->handle, (int64_t)f->cc.rate);
    }
    if (s->num_active > 0)
        schedule(s, s->now + M4_PACKET_SAMPLE_INTERVAL_NS, 0, EV_SAMPLE);
    else
        s->sample_scheduled = 0;
}

static void process(pkt_sim *s, uint64_t data)
{
    int kind = (int)(data & ((1u << EV_BITS) - 1));
    int64_t index = (int64_t)(data >> EV_BITS);
    s->events++;
    switch (kind) {
    case EV_PORT_FREE:
        s->ports[index].free_pending = 0;
        port_kick(s, (int32_t)index);
        break;
    case EV_ARRIVE:
        arrive(s, (int32_t)index);
        break;
    case EV_NIC_WAKE:
        if (s->ports[index].wake_at == s->now) {
            s->ports[index].wake_at = 0;
            port_kick(s, (int32_t)index);
        }
        break;
    case EV_CC_TIMER: {
        flow *f = &s->flows[index];
        if (f->live && f->cc_timer_at == s->now) {
            f->cc_timer_at = INT64_MAX;
            m4_cc_on_timer(&f->cc, &s->ccp[f->path[0]], s->now);
            update_cc_timer(s, (int32_t)index);
            port_kick(s, f->path[0]);
        }
        break;
    }
    case EV_RTO: {
        flow *f = &s->flows[index];
        if (f->live && !f->tx_done && f->rto_at == s->now) {
            if (f->snd_una == f->rto_una && f->snd_nxt > f->snd_una) {
                f->snd_nxt = f->snd_una; /* go back: nothing came back for a whole timeout */
                s->timeouts++;
                port_kick(s, f->path[0]);
            }
            f->rto_una = f->snd_una;
            f->rto_at = s->now + s->rto_ns;
            schedule(s, f->rto_at, index, EV_RTO);
        }
        break;
    }
    case EV_PAUSE_END: /* unused: a pause holds until its RESUME */
        break;
    case EV_SAMPLE:
        sample(s);
        break;
    }
}

/* ---- backend interface ---------------------------------------------------- */

static void packet_destroy(void *state)
{
    pkt_sim *s = state;
    if (!s)
        return;
    pk_heap_free(&s->heap);
    if (s->ports)
        for (int32_t d = 0; d < s->num_dlinks; d++)
            free(s->ports[d].flows);
    free(s->ports);
    free(s->ing);
    free(s->ccp);
    free(s->sw_shared);
    free(s->sw_used);
    free(s->sw_pool);
    free(s->sw_buffer);
    free(s->pkts);
    free(s->flows);
    free(s->active);
    free(s->trace_dir);
    free(s->tr_events.v);
    free(s->tr_flow.v);
    free(s->tr_queue.v);
    free(s->tr_sq.v);
    free(s->tr_sr.v);
    free(s);
}

/* The fork's base RTT: 2 x the propagation delay of the longest shortest path
 * (in hops) between two hosts; the same value for every flow (HPCC's T). One
 * BFS per host; hosts do not forward. */
static int64_t max_base_rtt_ns(const m4_topology *t, int *err)
{
    int32_t n = t->num_nodes;
    int32_t *hops = malloc((size_t)(n ? n : 1) * sizeof *hops);
    int64_t *delay = malloc((size_t)(n ? n : 1) * sizeof *delay);
    int32_t *queue = malloc((size_t)(n ? n : 1) * sizeof *queue);
    int64_t best = 0;
    *err = 0;
    if (!hops || !delay || !queue) {
        *err = M4_ENOMEM;
    } else {
        for (int32_t src = 0; src < n; src++) {
            if (t->is_switch[src])
                continue;
            for (int32_t v = 0; v < n; v++)
                hops[v] = -1;
            int32_t head = 0, tail = 0, far_hops = 0;
            int64_t far_delay = 0;
            hops[src] = 0;
            delay[src] = 0;
            queue[tail++] = src;
            while (head < tail) {
                int32_t v = queue[head++];
                if (v != src && !t->is_switch[v]) {
                    if (hops[v] > far_hops || (hops[v] == far_hops && delay[v] > far_delay)) {
                        far_hops = hops[v];
                        far_delay = delay[v];
                    }
                    continue;
                }
                for (int32_t k = t->adj_start[v]; k < t->adj_start[v + 1]; k++) {
                    int32_t d = t->adj_dlinks[k], w = m4_dlink_to(t, d);
                    if (hops[w] < 0) {
                        hops[w] = hops[v] + 1;
                        delay[w] = delay[v] + m4_dlink_delay_ns(t, d);
                        queue[tail++] = w;
                    }
                }
            }
            if (2 * far_delay > best)
                best = 2 * far_delay;
        }
    }
    free(hops);
    free(delay);
    free(queue);
    return best;
}

/* PFC headroom of one ingress port: what can still arrive after it sends
 * PAUSE (a packet being sent each way, the PAUSE's own processing, and the
 * bits on the wire both ways, at most 10 Gb/s of them as in the fork). */
static int64_t pfc_headroom_bytes(double rate_bps, int64_t delay_ns)
{
    double r = rate_bps < 1e10 ? rate_bps : 1e10;
    return (int64_t)(2.0 * (M4_MTU_BYTES + M4_HEADER_BYTES) + 3860.0 +
                     2.0 * r * ((double)delay_ns * 1e-9) / 8.0);
}

int m4_packet_min_buffer_kb(const m4_topology *t, double *out_kb)
{
    *out_kb = 0;
    double *reserved = calloc((size_t)t->num_nodes + 1, sizeof *reserved);
    if (!reserved) return M4_ENOMEM;
    for (int32_t d = 0; d < m4_num_dlinks(t); d++)
        reserved[m4_dlink_to(t, d)] +=
            (double)pfc_headroom_bytes(m4_dlink_rate_bps(t, d), m4_dlink_delay_ns(t, d));
    double worst = 0;
    for (int32_t n = 0; n < t->num_nodes; n++)
        if (t->is_switch[n] && reserved[n] > worst) worst = reserved[n];
    free(reserved);
    *out_kb = worst / 1024.0;
    return M4_OK;
}

static int packet_create(void **state, const m4_scenario *sc, const m4_backend_params *params)
{
    *state = NULL;
    if (!sc)
        return m4_error_set(M4_EINVAL, "packet backend: no scenario");
    const m4_topology *t = &sc->topology;
    const m4_config *cfg = &sc->config;
    if (!(cfg->buffer_kb > 0) || cfg->buffer_kb > 2000000)
        return m4_error_set(M4_EINVAL, "packet backend: BUFFER_KB must be in (0, 2000000] (got %g)",
                            cfg->buffer_kb);
    if (sc->window_bytes <= 0)
        return m4_error_set(M4_EINVAL, "packet backend: window must be positive (got %lld bytes)",
                            (long long)sc->window_bytes);
    for (int32_t l = 0; l < t->num_links; l++)
        if (!(t->links[l].rate_bps > 0) || t->links[l].delay_ns < 0)
            return m4_error_set(M4_EINVAL, "packet backend: link %d (%d-%d) needs a positive rate and a delay >= 0",
                                l, t->links[l].a, t->links[l].b);
    pkt_sim *s = calloc(1, sizeof *s);
    if (!s)
        return M4_ENOMEM;
    s->sc = sc;
    s->t = t;
    s->cfg = *cfg;
    m4_rng_seed(&s->rng, 0x6d3473696dULL);
    s->free_pkt = -1;
    s->free_slot = -1;
    s->window_bytes = sc->window_bytes;
    int err = 0;
    s->base_rtt_ns = max_base_rtt_ns(t, &err);
    if (err) {
        packet_destroy(s);
        return err;
    }
    s->pfc = cfg->pfc;
    s->rto_ns = cfg->pfc ? 10000000 : 1000000;
    s->ack_high_prio = cfg->cc == M4_CC_DCTCP || cfg->cc == M4_CC_TIMELY;
    s->data_extra = cfg->cc == M4_CC_HPCC ? HPCC_DATA_EXTRA : cfg->cc == M4_CC_TIMELY ? TIMELY_DATA_EXTRA : 0;
    s->ack_bytes = cfg->cc == M4_CC_HPCC ? HPCC_ACK_BYTES : M4_ACK_BYTES;
    s->num_dlinks = m4_num_dlinks(t);
    s->ports = calloc((size_t)(s->num_dlinks ? s->num_dlinks : 1), sizeof *s->ports);
    s->ing = calloc((size_t)(s->num_dlinks ? s->num_dlinks : 1), sizeof *s->ing);
    s->ccp = calloc((size_t)(s->num_dlinks ? s->num_dlinks : 1), sizeof *s->ccp);
    s->sw_shared = calloc((size_t)t->num_nodes + 1, sizeof *s->sw_shared);
    s->sw_used = calloc((size_t)t->num_nodes + 1, sizeof *s->sw_used);
    s->sw_pool = calloc((size_t)t->num_nodes + 1, sizeof *s->sw_pool);
    s->sw_buffer = calloc((size_t)t->num_nodes + 1, sizeof *s->sw_buffer);
    if (!s->ports || !s->ing || !s->ccp || !s->sw_shared || !s->sw_used || !s->sw_pool ||
        !s->sw_buffer) {
        packet_destroy(s);
        return M4_ENOMEM;
    }
    double kmin_kb, kmax_kb;
    switch (cfg->cc) {
    case M4_CC_DCTCP: kmin_kb = kmax_kb = cfg->dctcp_k_kb; break;
    case M4_CC_DCQCN: kmin_kb = cfg->dcqcn_kmin_kb; kmax_kb = cfg->dcqcn_kmax_kb; break;
    default: kmin_kb = cfg->ecn_kmin_kb; kmax_kb = cfg->ecn_kmax_kb; break;
    }
    int64_t buffer = (int64_t)(cfg->buffer_kb * 1024.0);
    for (int32_t n = 0; n < t->num_nodes; n++)
        if (t->is_switch[n])
            s->sw_buffer[n] = s->sw_pool[n] = buffer;
    for (int32_t d = 0; d < s->num_dlinks; d++) {
        port *pt = &s->ports[d];
        for (int q = 0; q < NPRIO; q++)
            pt->head[q] = pt->tail[q] = -1;
        pt->rate_bps = m4_dlink_rate_bps(t, d);
        pt->delay_ns = m4_dlink_delay_ns(t, d);
        pt->from_switch = t->is_switch[m4_dlink_from(t, d)];
        pt->to_switch = t->is_switch[m4_dlink_to(t, d)];
        double scale = pt->rate_bps / 1e10;
        pt->kmin = (int64_t)(kmin_kb * 1000.0 * scale);
        pt->kmax = (int64_t)(kmax_kb * 1000.0 * scale);
        if (pt->to_switch) {
            pt->headroom = pfc_headroom_bytes(pt->rate_bps, pt->delay_ns);
            if (s->pfc)
                s->sw_pool[m4_dlink_to(t, d)] -= pt->headroom;
        }
        m4_cc_params_from_config(&s->ccp[d], cfg, pt->rate_bps, s->base_rtt_ns, s->window_bytes);
    }
    for (int32_t n = 0; n < t->num_nodes; n++) {
        if (t->is_switch[n] && s->sw_pool[n] <= 0) {
            packet_destroy(s);
            return m4_error_set(M4_EINVAL,
                                "packet backend: BUFFER_KB %.0f is smaller than the PFC headroom of switch %d",
                                cfg->buffer_kb, n);
        }
    }
    if (params)
        s->log = params->log;
    if (params && params->trace_dir) {
        s->trace_dir = strdup(params->trace_dir);
        if (!s->trace_dir) {
            packet_destroy(s);
            return M4_ENOMEM;
        }
    }
    *state = s;
    return M4_OK;
}

static int packet_add_flow(void *state, const m4_flow_start *fs)
{
    pkt_sim *s = state;
    const m4_topology *t = s->t;
    if (s->err)
        return s->err;
    if (s->num_active == 0 || fs->start_ns > s->last_delivery_ns) s->last_delivery_ns = fs->start_ns;
    int err = pool_reserve(s);
    if (err)
        return err;
    if (fs->num_hops < 1 || fs->num_hops > M4_MAX_HOPS || fs->num_hops > 255)
        return m4_error_set(M4_EINVAL, "packet backend: flow %lld has %d hops", (long long)fs->flow_id,
                            fs->num_hops);
    if (fs->size_bytes <= 0)
        return m4_error_set(M4_EINVAL, "packet backend: flow %lld has size %lld", (long long)fs->flow_id,
                            (long long)fs->size_bytes);
    if (fs->start_ns < s->now)
        return m4_error_set(M4_EINVAL, "packet backend: flow %lld starts in the past", (long long)fs->flow_id);
    if (fs->priority < 0 || fs->priority >= PRIO_CTRL)
        return m4_error_set(M4_EINVAL,
                            "packet backend: flow %lld has priority (pg) %d; data priorities are 0..%d "
                            "(%d is reserved for ACK/NACK/PFC)",
                            (long long)fs->flow_id, fs->priority, PRIO_CTRL - 1, PRIO_CTRL);
    int32_t at = fs->src;
    for (int32_t h = 0; h < fs->num_hops; h++) {
        int32_t d = fs->path[h];
        if (d < 0 || d >= s->num_dlinks || m4_dlink_from(t, d) != at ||
            (h + 1 < fs->num_hops && !t->is_switch[m4_dlink_to(t, d)]))
            return m4_error_set(M4_EINVAL, "packet backend: flow %lld has a broken path at hop %d",
                                (long long)fs->flow_id, h);
        at = m4_dlink_to(t, d);
    }
    if (at != fs->dst || t->is_switch[fs->src] || t->is_switch[fs->dst])
        return m4_error_set(M4_EINVAL, "packet backend: flow %lld path does not join host %d to host %d",
                            (long long)fs->flow_id, fs->src, fs->dst);
    int32_t slot;
    if (s->free_slot >= 0) {
        slot = s->free_slot;
        s->free_slot = s->flows[slot].next_free;
    } else {
        int err = m4_array_reserve32(&s->flows, &s->slot_capacity, s->num_slots + 1,
                                     sizeof *s->flows, 256);
        if (err)
            return err;
        slot = s->num_slots++;
        s->flows[slot].gen = 0;
    }
    port *nic = &s->ports[fs->path[0]];
    if (m4_array_reserve32(&nic->flows, &nic->flow_capacity, nic->num_flows + 1,
                           sizeof *nic->flows, 8) ||
        m4_array_reserve32(&s->active, &s->active_capacity, s->num_active + 1, sizeof *s->active,
                           256))
        return M4_ENOMEM;
    flow *f = &s->flows[slot];
    uint32_t gen = f->gen;
    memset(f, 0, sizeof *f);
    f->gen = gen;
    f->live = 1;
    s->live_flows++;
    f->handle = fs->handle;
    f->prio = fs->priority;
    f->size = fs->size_bytes;
    f->start = fs->start_ns;
    f->hops = fs->num_hops;
    memcpy(f->path, fs->path, (size_t)fs->num_hops * sizeof(int32_t));
    f->nack_seq = -1;
    f->cc_timer_at = INT64_MAX;
    f->next_free = -1;
    m4_cc_init(&f->cc, &s->ccp[fs->path[0]]);
    s->now = fs->start_ns;
    f->active_pos = s->num_active;
    s->active[s->num_active++] = slot;
    nic->flows[nic->num_flows++] = slot;
    f->rto_una = 0;
    f->rto_at = s->now + s->rto_ns;
    schedule(s, f->rto_at, slot, EV_RTO);
    if (s->trace_dir) {
        trace_event(s, 0, f);
        if (!s->sample_scheduled) {
            s->sample_scheduled = 1;
            int64_t next = (s->now / M4_PACKET_SAMPLE_INTERVAL_NS + 1) * M4_PACKET_SAMPLE_INTERVAL_NS;
            schedule(s, next, 0, EV_SAMPLE);
        }
    }
    port_kick(s, fs->path[0]);
    return s->err;
}

/* With no packet left in the network at the end of a run, every switch's
 * buffer accounting must be back at zero; a leak shrinks the dynamic
 * thresholds as the run goes on (one did, and deadlocked small buffers), so it
 * is an error, not a drift. Checked once, in packet_finish, because a scan of
 * every ingress queue per idle moment would cost O(links) per flow. */
static int check_buffers_empty(const pkt_sim *s)
{
    for (int32_t d = 0; d < s->num_dlinks; d++)
        for (int q = 0; q < NPRIO; q++)
            if (s->ing[d].bytes[q] != 0 || s->ing[d].hdrm[q] != 0)
                return m4_error_set(M4_ESTATE,
                                    "packet backend: internal error: ingress %d priority %d holds %d "
                                    "bytes (%d in headroom) with no packet in the network",
                                    d, q, s->ing[d].bytes[q], s->ing[d].hdrm[q]);
    for (int32_t n = 0; n < s->t->num_nodes; n++)
        if (s->sw_used[n] != 0 || s->sw_shared[n] != 0)
            return m4_error_set(M4_ESTATE,
                                "packet backend: internal error: switch %d holds %lld bytes "
                                "(%lld shared) with no packet in the network",
                                n, (long long)s->sw_used[n], (long long)s->sw_shared[n]);
    return M4_OK;
}

static int64_t packet_next_event_time(void *state)
{
    pkt_sim *s = state;
    return pk_heap_peek_time(&s->heap);
}

static int packet_advance(void *state, int64_t until_ns, m4_completion_list *completed)
{
    pkt_sim *s = state;
    s->out = completed;
    s->completed_at = -1;
    pk_event e;
    while (!s->err) {
        int64_t t = pk_heap_peek_time(&s->heap);
        if (t == INT64_MAX || t > until_ns || (s->completed_at >= 0 && t > s->completed_at))
            break;
        int err = pool_reserve(s);
        if (err)
            return err;
        e = pk_heap_pop(&s->heap);
        s->now = (int64_t)e.time;
        if (s->num_active > 0 && s->now - s->last_delivery_ns > STALL_NS)
            return m4_error_set(M4_ESTATE,
                                "packet backend: no data packet delivered for %lld ms of simulated "
                                "time with %d flows active (at %lld ns): PFC deadlock or livelock",
                                (long long)(STALL_NS / 1000000), s->num_active,
                                (long long)s->now);
        process(s, pk_event_payload(&e));
    }
    /* Only bookkeeping events (timers of finished work, samples) may remain when
     * every flow is done; drop them so the driver sees the backend idle. */
    if (!s->err && s->pkts_in_use == 0) {
        int err = check_buffers_empty(s);
        if (err)
            return err;
    }
    if (!s->err && s->num_active == 0 && s->live_flows == 0 && s->pkts_in_use == 0 &&
        s->heap.count > 0) {
        s->heap.count = 0;
        s->sample_scheduled = 0;
        for (int32_t d = 0; d < s->num_dlinks; d++)
            s->ports[d].wake_at = 0;
    }
    return s->err;
}

static int write_vec3(const char *dir, const char *name, const vec3 *v)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int64_t shape[2] = {v->n, 3};
    static const int64_t empty = 0;
    return m4_npy_write(path, M4_NPY_I64, 2, shape, v->v ? (const void *)v->v : (const void *)&empty);
}

static int packet_finish(void *state)
{
    pkt_sim *s = state;
    if (s->err)
        return s->err;
    if (s->pkts_in_use == 0) {
        int err = check_buffers_empty(s);
        if (err)
            return err;
    }
    if (s->log)
        fprintf(s->log,
                "packet: %lld events, %lld data packets, %lld drops, %lld PFC pauses, %lld NACKs, "
                "%lld timeouts, peak %lld packets alive\n",
                (long long)s->events, (long long)s->data_pkts, (long long)s->drops, (long long)s->pauses,
                (long long)s->nacks, (long long)s->timeouts, (long long)s->max_pkts_in_use);
    if (!s->trace_dir)
        return M4_OK;
    int err = write_vec3(s->trace_dir, "events.npy", &s->tr_events);
    if (!err)
        err = write_vec3(s->trace_dir, "flow_state.npy", &s->tr_flow);
    if (!err)
        err = write_vec3(s->trace_dir, "queue.npy", &s->tr_queue);
    if (!err)
        err = write_vec3(s->trace_dir, "samples_queue.npy", &s->tr_sq);
    if (!err)
        err = write_vec3(s->trace_dir, "samples_rate.npy", &s->tr_sr);
    if (err)
        return err;
    char path[4096];
    snprintf(path, sizeof path, "%s/stats.txt", s->trace_dir);
    m4_atomic_file out;
    err = m4_atomic_open(&out, path);
    if (err)
        return err;
    fprintf(out.file,
            "events %lld\ndata_packets %lld\ndrops %lld\npfc_pauses %lld\npfc_resumes %lld\n"
            "nacks %lld\ntimeouts %lld\nmax_switch_buffer_bytes %lld\nmax_packets_in_flight %lld\n",
            (long long)s->events, (long long)s->data_pkts, (long long)s->drops, (long long)s->pauses,
            (long long)s->resumes, (long long)s->nacks, (long long)s->timeouts,
            (long long)s->max_sw_bytes, (long long)s->max_pkts_in_use);
    return m4_atomic_commit(&out);
}

const m4_backend_ops m4_packet_backend = {
    .name = "packet",
    .create = packet_create,
    .destroy = packet_destroy,
    .add_flow = packet_add_flow,
    .next_event_time = packet_next_event_time,
    .advance = packet_advance,
    .finish = packet_finish,
};

/* Statistics for tests and benchmarks (declared in packet/packet.h). */
int m4_packet_stats(const void *state, m4_packet_stats_t *out)
{
    const pkt_sim *s = state;
    if (!s || !out)
        return M4_EINVAL;
    out->events = s->events;
    out->data_packets = s->data_pkts;
    out->drops = s->drops;
    out->pfc_pauses = s->pauses;
    out->pfc_resumes = s->resumes;
    out->nacks = s->nacks;
    out->timeouts = s->timeouts;
    out->max_switch_buffer_bytes = s->max_sw_bytes;
    out->max_packets_in_flight = s->max_pkts_in_use;
    return M4_OK;
}

int64_t m4_packet_queue_bytes(const void *state, int32_t dlink)
{
    const pkt_sim *s = state;
    if (!s || dlink < 0 || dlink >= s->num_dlinks)
        return -1;
    return s->ports[dlink].qtotal;
}

int64_t m4_packet_tx_bytes(const void *state, int32_t dlink)
{
    const pkt_sim *s = state;
    if (!s || dlink < 0 || dlink >= s->num_dlinks)
        return -1;
    return s->ports[dlink].tx_bytes;
}

int64_t m4_packet_queue_prio_bytes(const void *state, int32_t dlink, int prio)
{
    const pkt_sim *s = state;
    if (!s || dlink < 0 || dlink >= s->num_dlinks || prio < 0 || prio >= NPRIO)
        return -1;
    return s->ports[dlink].qbytes[prio];
}

int64_t m4_packet_paused_mask(const void *state, int32_t dlink)
{
    const pkt_sim *s = state;
    if (!s || dlink < 0 || dlink >= s->num_dlinks)
        return -1;
    return s->ports[dlink].paused;
}
