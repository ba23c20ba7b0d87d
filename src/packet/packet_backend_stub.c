/* Placeholder until the packet backend lands: every call says it is not built. */
#include "core/error.h"
#include "sim/sim.h"

static int stub_create(void **state, const m4_scenario *scenario, const m4_backend_params *params)
{
    (void)scenario;
    (void)params;
    *state = NULL;
    return m4_error_set(M4_ENOTSUP, "the packet backend is not built yet");
}

const m4_backend_ops m4_packet_backend = {.name = "packet", .create = stub_create};
