/* Placeholder until the m4 backend lands: every call says it is not built. */
#include "core/error.h"
#include "sim/sim.h"

static int stub_create(void **state, const m4_scenario *scenario, const m4_backend_params *params)
{
    (void)scenario;
    (void)params;
    *state = NULL;
    return m4_error_set(M4_ENOTSUP, "the m4 backend is not built yet");
}

const m4_backend_ops m4_m4_backend = {.name = "m4", .create = stub_create};
