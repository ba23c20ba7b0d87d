/* libFuzzer target for the model-file reader: any bytes give a model or a
 * clean error, never a crash or a huge allocation. Each input is read twice:
 * as it is, and with its correct FNV-1a-64 checksum appended, so that the
 * fuzzer also reaches the accepted path (it could not guess checksums). An
 * accepted file must have its counts in range and survive a write and re-read
 * bit for bit; the m4 model reader then takes it or refuses it cleanly
 * (kind, version 3-5, dimensions, neighbourhood, flow features, weight
 * count), and a model it takes gets its transposed copy (the backend's). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "m4/model.h"
#include "nn/modelfile.h"

static void check_one(const uint8_t *data, size_t size)
{
    int fd = memfd_create("model", 0);
    if (fd < 0) return;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        m4_nn_model_file m;
        if (m4_nn_model_file_read(&m, path) == 0) {
            if (m.num_dims < 0 || m.num_dims > 32 || m.num_norm < 0 || m.num_norm > 32)
                __builtin_trap();
            if ((m.num_weights > 0) != (m.weights != NULL)) __builtin_trap();
            if (memchr(m.kind, 0, sizeof m.kind) == NULL) __builtin_trap();
            if (48 + 4 * (uint64_t)(m.num_dims + m.num_norm) + 4 * m.num_weights + 8 != size)
                __builtin_trap();
            char out[64];
            snprintf(out, sizeof out, "/tmp/fuzz_modelfile.%d.bin", (int)getpid());
            m4_nn_model_file again;
            if (m4_nn_model_file_write(out, &m) != 0 || m4_nn_model_file_read(&again, out) != 0)
                __builtin_trap();
            if (again.num_weights != m.num_weights || again.version != m.version ||
                memcmp(again.dims, m.dims, sizeof m.dims[0] * (size_t)m.num_dims) ||
                (m.num_weights &&
                 memcmp(again.weights, m.weights, sizeof(float) * (size_t)m.num_weights)))
                __builtin_trap();
            remove(out);
            m4_model model;
            if (m4_model_load(&model, path) == 0) {
                if (model.num_params != m.num_weights || model.dims.neighbourhood < M4_NEIGHBOURHOOD_COMPONENT ||
                    model.dims.neighbourhood > M4_NEIGHBOURHOOD_LINKS || model.dims.flow_extra < 2 ||
                    model.dims.flow_extra > M4_MODEL_FLOW_EXTRA_MAX)
                    __builtin_trap();
                /* The backend's transposed copy stays inside its allocation
                 * whatever the (accepted) dimensions. */
                if (m4_model_prepare_inference(&model) == 0 &&
                    model.w_t.queue.b2 != model.params_t + model.num_params - 1)
                    __builtin_trap();
                m4_model_free(&model);
            }
            m4_nn_model_file_free(&again);
            m4_nn_model_file_free(&m);
        }
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_one(data, size);
    uint8_t *sealed = malloc(size + 8);
    if (!sealed) return 0;
    memcpy(sealed, data, size);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 0x100000001b3ull;
    for (int i = 0; i < 8; i++) sealed[size + i] = (uint8_t)(h >> (8 * i));
    check_one(sealed, size + 8);
    free(sealed);
    return 0;
}
