/* Training samples: one ground-truth scenario (a directory written by
 * `m4sim dataset` or by `m4sim run DIR --backend packet --trace`) loaded into
 * the arrays the trainer replays: every flow with its path, ideal FCT and
 * true slowdown, the ground truth's sequence of arrivals and completions,
 * and at each event the dense-supervision targets (remaining fraction of
 * every active flow, queue of every link on the event flow's path). */
#ifndef M4_M4_DATASET_H
#define M4_M4_DATASET_H

#include <stdint.h>

#include "m4/model.h"
#include "net/routing.h"

typedef struct m4_train_scenario {
    char dir[512];
    int32_t num_flows, num_links;
    float config[M4_MODEL_CONFIG];
    double *link_bps;               /* [num_links] directed link rates */
    int64_t *flow_size, *flow_start_ns, *flow_ideal_ns;
    float *flow_slowdown;           /* true, max(1, fct / ideal) */
    int32_t *flow_num_hops, *flow_path; /* path: [num_flows * M4_MAX_HOPS] */
    int64_t num_events;
    int64_t *event_time_ns;
    unsigned char *event_kind;      /* 0 arrival, 1 completion */
    int32_t *event_flow;
    int64_t *remaining_offset;      /* [num_events + 1] CSR */
    int32_t *remaining_flow;
    float *remaining_fraction;      /* 1 - received / size */
    int64_t *queue_offset;          /* [num_events + 1] CSR */
    int32_t *queue_link;
    float *queue_target;            /* m4_model_queue_feature(bytes) */
} m4_train_scenario;

/* Reads DIR/{topology,flows,config}.txt and DIR/packet/trace/{events,
 * flow_state,queue}.npy. A trace that does not match the scenario (flow
 * handles out of range, an event list that does not arrive and complete
 * every flow once) fails with M4_EFORMAT naming the file. */
int m4_train_scenario_load(m4_train_scenario *s, const char *dir);
void m4_train_scenario_free(m4_train_scenario *s);

/* Every DIR/sNNNNN with a DONE file, sorted; *dirs is malloc'd (free each
 * and the array). */
int m4_dataset_list(const char *data_dir, char ***dirs, int32_t *count);

#endif
