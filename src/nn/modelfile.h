/* Model files: one small header, the model's dimensions and input
 * normalisation constants, then its float32 weights, all little-endian, and a
 * checksum. Layout (byte offsets):
 *     0  magic "M4SIMNN1"                          8 bytes
 *     8  kind, NUL padded (e.g. "m4")             16 bytes
 *    24  u32 format version (M4_NN_MODEL_FILE_VERSION)
 *    28  u32 model version (the caller's: what the weights mean)
 *    32  i32 num_dims (0..32)   36  i32 num_norm (0..32)   40  u64 num_weights
 *    48  i32 dims[num_dims], f32 norm[num_norm], f32 weights[num_weights]
 *   end  u64 FNV-1a-64 of every byte before it
 * Integers and floats are written byte by byte in little-endian order, so the
 * files are the same on any host (IEEE-754 binary32 floats assumed).
 * The reader checks magic, format version, counts, that the file size is
 * exactly what the header implies (before allocating the weights, so a corrupt
 * count cannot cause a huge allocation) and the checksum; each failure is
 * M4_EFORMAT with "path: what is wrong". Whether dims and version match the
 * model being loaded is the caller's check. */
#ifndef M4_NN_MODELFILE_H
#define M4_NN_MODELFILE_H

#include <stdint.h>

#define M4_NN_MODEL_FILE_VERSION 1u
#define M4_NN_MODEL_FILE_MAX_DIMS 32
#define M4_NN_MODEL_FILE_MAX_NORM 32

typedef struct m4_nn_model_file {
    char kind[16]; /* NUL terminated inside the 16 bytes */
    uint32_t version;
    int32_t num_dims;
    int32_t dims[32];
    int32_t num_norm;
    float norm[32];
    uint64_t num_weights;
    float *weights;
} m4_nn_model_file;

/* Atomic: written under a temporary name and renamed into place. */
int m4_nn_model_file_write(const char *path, const m4_nn_model_file *m);
/* Fills out and allocates out->weights (NULL when there are none); on failure
 * out holds no allocation. */
int m4_nn_model_file_read(m4_nn_model_file *out, const char *path);
void m4_nn_model_file_free(m4_nn_model_file *m);

#endif
