#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "textio.h"

static const char *const dtype_names[] = {"<f4", "<f8", "<i4", "<i8"};

size_t m4_npy_dtype_size(m4_npy_dtype dtype)
{
    return dtype == M4_NPY_F32 || dtype == M4_NPY_I32 ? 4 : 8;
}

int64_t m4_npy_count(const m4_npy_array *array)
{
    int64_t n = 1;
    for (int i = 0; i < array->ndim; i++)
        n *= array->shape[i];
    return n;
}

int m4_npy_write(const char *path, m4_npy_dtype dtype, int ndim, const int64_t *shape,
                 const void *data)
{
    if (ndim < 0 || ndim > M4_NPY_MAX_DIMS)
        return m4_error_set(M4_EINVAL, "%s: npy arrays have at most %d dimensions", path,
                            M4_NPY_MAX_DIMS);
    char header[256];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     dtype_names[dtype]);
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        n += snprintf(header + n, sizeof header - (size_t)n, "%lld,%s", (long long)shape[i],
                      i + 1 < ndim ? " " : "");
        count *= shape[i];
    }
    if (ndim > 1)
        n--; /* numpy writes (3,) for one dimension and (3, 4) for more */
    n += snprintf(header + n, sizeof header - (size_t)n, "), }");
    /* magic(6) + version(2) + length(2) + header, padded with spaces to 64 bytes, ending '\n' */
    int total = 10 + n + 1;
    int padded = (total + 63) / 64 * 64;
    while (n < padded - 10 - 1)
        header[n++] = ' ';
    header[n++] = '\n';

    m4_atomic_file out;
    int err = m4_atomic_open(&out, path);
    if (err)
        return err;
    unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                  (unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
    fwrite(preamble, 1, sizeof preamble, out.file);
    fwrite(header, 1, (size_t)n, out.file);
    if (count > 0)
        fwrite(data, m4_npy_dtype_size(dtype), (size_t)count, out.file);
    return m4_atomic_commit(&out);
}

static int parse_header(const char *path, const char *header, m4_npy_array *out)
{
    const char *descr = strstr(header, "'descr':");
    const char *fortran = strstr(header, "'fortran_order':");
    const char *shape = strstr(header, "'shape':");
    if (!descr || !fortran || !shape)
        return m4_error_set(M4_EFORMAT, "%s: npy header lacks descr/fortran_order/shape", path);
    int found = 0;
    for (int i = 0; i < 4; i++) {
        char quoted[8];
        snprintf(quoted, sizeof quoted, "'%s'", dtype_names[i]);
        if (strncmp(descr + 8 + strspn(descr + 8, " "), quoted, strlen(quoted)) == 0) {
            out->dtype = (m4_npy_dtype)i;
            found = 1;
        }
    }
    if (!found)
        return m4_error_set(M4_EFORMAT, "%s: npy dtype not one of <f4 <f8 <i4 <i8", path);
    if (strncmp(fortran + 16 + strspn(fortran + 16, " "), "False", 5) != 0)
        return m4_error_set(M4_EFORMAT, "%s: Fortran-order npy arrays are not supported", path);
    const char *p = strchr(shape, '(');
    if (!p)
        return m4_error_set(M4_EFORMAT, "%s: npy shape is not a tuple", path);
    p++;
    out->ndim = 0;
    for (;;) {
        p += strspn(p, " ,");
        if (*p == ')')
            break;
        char *end;
        long long dim = strtoll(p, &end, 10);
        if (end == p || dim < 0 || out->ndim == M4_NPY_MAX_DIMS)
            return m4_error_set(M4_EFORMAT, "%s: bad npy shape", path);
        out->shape[out->ndim++] = dim;
        p = end;
    }
    return M4_OK;
}

int m4_npy_read(const char *path, m4_npy_array *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return m4_error_set(M4_EIO, "%s: cannot open", path);
    unsigned char preamble[10];
    int err = M4_OK;
    char *header = NULL;
    if (fread(preamble, 1, 10, f) != 10 || memcmp(preamble, "\x93NUMPY", 6) != 0 ||
        preamble[6] != 1) {
        err = m4_error_set(M4_EFORMAT, "%s: not a version-1 .npy file", path);
        goto done;
    }
    size_t header_length = preamble[8] | (size_t)preamble[9] << 8;
    header = malloc(header_length + 1);
    if (!header) {
        err = M4_ENOMEM;
        goto done;
    }
    if (fread(header, 1, header_length, f) != header_length) {
        err = m4_error_set(M4_EFORMAT, "%s: truncated npy header", path);
        goto done;
    }
    header[header_length] = '\0';
    if ((err = parse_header(path, header, out)))
        goto done;
    /* The shape must fit what the file holds: checked before the product can
     * overflow and before allocating, so a forged header costs nothing. */
    long data_start = ftell(f);
    long file_end = -1;
    if (data_start >= 0 && fseek(f, 0, SEEK_END) == 0)
        file_end = ftell(f);
    if (file_end < 0 || fseek(f, data_start, SEEK_SET) != 0) {
        err = m4_error_set(M4_EIO, "%s: cannot measure the file", path);
        goto done;
    }
    int64_t available = (int64_t)(file_end - data_start) / (int64_t)m4_npy_dtype_size(out->dtype);
    int64_t count = 1;
    for (int i = 0; i < out->ndim; i++) {
        if (out->shape[i] == 0) {
            count = 0;
            break;
        }
    }
    for (int i = 0; i < out->ndim && count > 0; i++) {
        if (out->shape[i] > available / count) {
            err = m4_error_set(M4_EFORMAT, "%s: npy data shorter than its shape", path);
            goto done;
        }
        count *= out->shape[i];
    }
    size_t bytes = (size_t)count * m4_npy_dtype_size(out->dtype);
    out->data = malloc(bytes ? bytes : 1);
    if (!out->data) {
        err = M4_ENOMEM;
        goto done;
    }
    if (fread(out->data, 1, bytes, f) != bytes) {
        err = m4_error_set(M4_EFORMAT, "%s: npy data shorter than its shape", path);
        goto done;
    }
done:
    free(header);
    fclose(f);
    if (err)
        m4_npy_free(out);
    return err;
}

void m4_npy_free(m4_npy_array *array)
{
    free(array->data);
    memset(array, 0, sizeof *array);
}
