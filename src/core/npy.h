/* NumPy .npy files (format 1.0, little-endian, C order) so that numpy and
 * pandas load m4sim's arrays directly. */
#ifndef M4_CORE_NPY_H
#define M4_CORE_NPY_H

#include <stddef.h>
#include <stdint.h>

typedef enum m4_npy_dtype {
    M4_NPY_F32, /* '<f4' */
    M4_NPY_F64, /* '<f8' */
    M4_NPY_I32, /* '<i4' */
    M4_NPY_I64, /* '<i8' */
} m4_npy_dtype;

#define M4_NPY_MAX_DIMS 4

typedef struct m4_npy_array {
    m4_npy_dtype dtype;
    int ndim;
    int64_t shape[M4_NPY_MAX_DIMS];
    void *data; /* malloc'd, count * element size bytes */
} m4_npy_array;

size_t m4_npy_dtype_size(m4_npy_dtype dtype);
int64_t m4_npy_count(const m4_npy_array *array);
/* Write atomically (temporary file, rename). */
int m4_npy_write(const char *path, m4_npy_dtype dtype, int ndim, const int64_t *shape,
                 const void *data);
/* Read a file written by m4_npy_write or numpy (the four dtypes above, C order). */
int m4_npy_read(const char *path, m4_npy_array *out);
void m4_npy_free(m4_npy_array *array);

#endif
