/* m4 model files: the nn model-file container (magic, version, dimensions,
 * checksum) with kind "m4", dims [hidden, gnn, mlp_hidden, head_hidden,
 * neighbourhood, flow_extra] and the parameters in m4_model's layout.
 * Version 4 files (five dims) have two flow features (written for models
 * without the path load); version 3 files (four) also predate the
 * neighbourhood and were trained on components. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "m4/model.h"
#include "nn/modelfile.h"

#define M4_MODEL_KIND "m4"
#define M4_MODEL_NUM_DIMS 6
#define M4_MODEL_V4_NUM_DIMS 5
#define M4_MODEL_V3_NUM_DIMS 4

int m4_model_save(const m4_model *m, const char *path)
{
    m4_nn_model_file f;
    memset(&f, 0, sizeof f);
    snprintf(f.kind, sizeof f.kind, "%s", M4_MODEL_KIND);
    /* The oldest version that holds the model: one without the path load
     * is a version 4 file, which builds before version 5 read too (and the
     * shipped model stays the file `make model` writes). */
    const int v4 = m->dims.flow_extra == 2;
    f.version = v4 ? 4 : M4_MODEL_VERSION;
    f.num_dims = v4 ? M4_MODEL_V4_NUM_DIMS : M4_MODEL_NUM_DIMS;
    f.dims[0] = m->dims.hidden, f.dims[1] = m->dims.gnn;
    f.dims[2] = m->dims.mlp_hidden, f.dims[3] = m->dims.head_hidden;
    f.dims[4] = m->dims.neighbourhood;
    if (!v4) f.dims[5] = m->dims.flow_extra;
    f.num_weights = m->num_params;
    f.weights = m->params;
    return m4_nn_model_file_write(path, &f);
}

int m4_model_load(m4_model *m, const char *path)
{
    memset(m, 0, sizeof *m);
    m4_nn_model_file f;
    int err = m4_nn_model_file_read(&f, path);
    if (err) return err;
    if (strcmp(f.kind, M4_MODEL_KIND) != 0) {
        err = m4_error_set(M4_EFORMAT, "%s: a '%s' file, not an m4 model", path, f.kind);
        goto done;
    }
    const int v3 = f.version == 3 && f.num_dims == M4_MODEL_V3_NUM_DIMS;
    const int v4 = f.version == 4 && f.num_dims == M4_MODEL_V4_NUM_DIMS;
    if (!v3 && !v4 && (f.version != M4_MODEL_VERSION || f.num_dims != M4_MODEL_NUM_DIMS)) {
        err = m4_error_set(M4_EFORMAT,
                           "%s: m4 model version %u with %d dims, this build reads versions 3-%d",
                           path, f.version, f.num_dims, M4_MODEL_VERSION);
        goto done;
    }
    m4_model_dims d = {f.dims[0], f.dims[1], f.dims[2], f.dims[3],
                       v3 ? M4_NEIGHBOURHOOD_COMPONENT : f.dims[4], v3 || v4 ? 2 : f.dims[5]};
    if ((err = m4_model_create(m, &d, 0))) {
        err = m4_error_set(M4_EFORMAT, "%s: bad model dimensions (%s)", path, m4_last_error());
        goto done;
    }
    if (f.num_weights != m->num_params) {
        err = m4_error_set(M4_EFORMAT, "%s: %llu weights, dimensions need %zu", path,
                           (unsigned long long)f.num_weights, m->num_params);
        m4_model_free(m);
        goto done;
    }
    memcpy(m->params, f.weights, sizeof(float) * m->num_params);
done:
    m4_nn_model_file_free(&f);
    return err;
}

#ifndef M4SIM_MODEL_DIR
#define M4SIM_MODEL_DIR "models"
#endif

/* The default model: $M4SIM_MODEL, else the models/ directory of the source
 * tree the library was built in (or installed to). */
int m4_default_model_path(char *out, size_t cap)
{
    const char *env = getenv("M4SIM_MODEL");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return M4_OK;
    }
    snprintf(out, cap, "%s/default.m4", M4SIM_MODEL_DIR);
    if (access(out, R_OK) == 0) return M4_OK;
    return m4_error_set(M4_EIO, "no default m4 model at %s (set M4SIM_MODEL or pass --model)",
                        out);
}
