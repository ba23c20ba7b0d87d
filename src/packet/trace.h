/* Trace files of the packet backend (written when m4_backend_params.trace_dir
 * is set), for the m4 trainer and for plots. All arrays are .npy int64, C order.
 *
 *   events.npy      [E, 3]  time_ns, kind (0 = flow arrival, 1 = completion), flow handle
 *                           (handles are the driver's dense indices, in start order)
 *   flow_state.npy  [R, 3]  event index, flow handle, bytes received so far:
 *                           one row per active flow (arrived, not yet complete) at each
 *                           event, taken after the event (an arriving flow: 0 bytes;
 *                           a completing flow is listed with its full size)
 *   queue.npy       [Q, 3]  event index, directed link id, bytes queued at that link's
 *                           egress port: one row per link of the event flow's path
 *   samples_queue.npy [S,3] time_ns, directed link id, queued bytes: every sample
 *                           interval (10 us) while flows are active, nonzero queues only
 *   samples_rate.npy  [T,3] time_ns, flow handle, current CC rate in bits/s, every
 *                           sample interval for each active sender
 *   stats.txt               "key value" lines: events, packets, drops, pfc_pauses,
 *                           pfc_resumes, nacks, timeouts, max_switch_buffer_bytes
 */
#ifndef M4_PACKET_TRACE_H
#define M4_PACKET_TRACE_H

#define M4_PACKET_SAMPLE_INTERVAL_NS 10000

#endif
