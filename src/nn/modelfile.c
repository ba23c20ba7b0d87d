#include "nn/modelfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/textio.h"

/* Floats are moved as their 32-bit patterns; the byte order is explicit. */
_Static_assert(sizeof(float) == 4, "model files store IEEE-754 binary32 floats");

#define MAGIC "M4SIMNN1"
#define HEADER_BYTES 48
#define CHECKSUM_BYTES 8
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define BLOCK_FLOATS 4096

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Total file size the header implies; 0 when it does not fit in 64 bits. */
static uint64_t implied_size(int32_t num_dims, int32_t num_norm, uint64_t num_weights)
{
    uint64_t fixed = HEADER_BYTES + 4ull * (uint64_t)(num_dims + num_norm) + CHECKSUM_BYTES;
    if (num_weights > (UINT64_MAX - fixed) / 4) return 0;
    return fixed + 4 * num_weights;
}

static int kind_ok(const char *kind)
{
    size_t len = strnlen(kind, sizeof ((m4_nn_model_file *)0)->kind);
    if (len == sizeof ((m4_nn_model_file *)0)->kind) return 0;
    for (size_t i = len; i < sizeof ((m4_nn_model_file *)0)->kind; i++)
        if (kind[i]) return 0;
    return 1;
}

/* Writes n bytes and folds them into the checksum. */
static void emit(m4_atomic_file *f, uint64_t *hash, const unsigned char *p, size_t n)
{
    *hash = fnv1a(*hash, p, n);
    fwrite(p, 1, n, f->file);
}

int m4_nn_model_file_write(const char *path, const m4_nn_model_file *m)
{
    if (m->num_dims < 0 || m->num_dims > M4_NN_MODEL_FILE_MAX_DIMS || m->num_norm < 0 ||
        m->num_norm > M4_NN_MODEL_FILE_MAX_NORM)
        return m4_error_set(M4_EINVAL, "%s: num_dims %d / num_norm %d out of range 0..32", path,
                            m->num_dims, m->num_norm);
    if (m->num_weights && !m->weights)
        return m4_error_set(M4_EINVAL, "%s: %llu weights but no weight array", path,
                            (unsigned long long)m->num_weights);
    if (!implied_size(m->num_dims, m->num_norm, m->num_weights))
        return m4_error_set(M4_EINVAL, "%s: %llu weights is too many", path,
                            (unsigned long long)m->num_weights);
    /* The reader insists on a NUL-padded kind, so never write another. */
    char kind[16] = {0};
    size_t kind_len = strnlen(m->kind, sizeof m->kind);
    if (kind_len == sizeof m->kind)
        return m4_error_set(M4_EINVAL, "%s: kind is not NUL terminated within 16 bytes", path);
    memcpy(kind, m->kind, kind_len);

    m4_atomic_file f;
    int err = m4_atomic_open(&f, path);
    if (err) return err;
    uint64_t hash = FNV_OFFSET;
    unsigned char head[HEADER_BYTES];
    memcpy(head, MAGIC, 8);
    memcpy(head + 8, kind, 16);
    put_u32(head + 24, M4_NN_MODEL_FILE_VERSION);
    put_u32(head + 28, m->version);
    put_u32(head + 32, (uint32_t)m->num_dims);
    put_u32(head + 36, (uint32_t)m->num_norm);
    put_u64(head + 40, m->num_weights);
    emit(&f, &hash, head, sizeof head);

    unsigned char small[4 * (M4_NN_MODEL_FILE_MAX_DIMS + M4_NN_MODEL_FILE_MAX_NORM)];
    size_t at = 0;
    for (int i = 0; i < m->num_dims; i++, at += 4) put_u32(small + at, (uint32_t)m->dims[i]);
    for (int i = 0; i < m->num_norm; i++, at += 4) put_u32(small + at, float_bits(m->norm[i]));
    emit(&f, &hash, small, at);

    static _Thread_local unsigned char block[4 * BLOCK_FLOATS];
    for (uint64_t i = 0; i < m->num_weights; i += BLOCK_FLOATS) {
        size_t n = m->num_weights - i < BLOCK_FLOATS ? (size_t)(m->num_weights - i) : BLOCK_FLOATS;
        for (size_t k = 0; k < n; k++) put_u32(block + 4 * k, float_bits(m->weights[i + k]));
        emit(&f, &hash, block, 4 * n);
    }
    unsigned char sum[CHECKSUM_BYTES];
    put_u64(sum, hash);
    fwrite(sum, 1, sizeof sum, f.file);
    return m4_atomic_commit(&f);
}

void m4_nn_model_file_free(m4_nn_model_file *m)
{
    free(m->weights);
    m->weights = NULL;
    m->num_weights = 0;
}

/* Reads exactly n bytes (the size was checked, so a short read is an I/O error
 * or a file that changed under us) and folds them into the checksum. */
static int take(FILE *file, const char *path, uint64_t *hash, unsigned char *p, size_t n)
{
    if (fread(p, 1, n, file) != n)
        return m4_error_set(M4_EIO, "%s: read failed%s", path, ferror(file) ? "" : " (file shrank)");
    *hash = fnv1a(*hash, p, n);
    return M4_OK;
}

static int read_open(m4_nn_model_file *out, const char *path, FILE *file)
{
    struct stat st;
    if (fstat(fileno(file), &st) != 0)
        return m4_error_set(M4_EIO, "%s: cannot stat: %s", path, strerror(errno));
    uint64_t size = (uint64_t)st.st_size;
    if (size == 0) return m4_error_set(M4_EFORMAT, "%s: empty file, not a model file", path);
    if (size < HEADER_BYTES + CHECKSUM_BYTES)
        return m4_error_set(M4_EFORMAT, "%s: truncated: %llu bytes, a model file has at least %d",
                            path, (unsigned long long)size, HEADER_BYTES + CHECKSUM_BYTES);
    uint64_t hash = FNV_OFFSET;
    unsigned char head[HEADER_BYTES];
    int err = take(file, path, &hash, head, sizeof head);
    if (err) return err;
    if (memcmp(head, MAGIC, 8) != 0)
        return m4_error_set(M4_EFORMAT, "%s: bad magic, not an m4sim model file", path);
    memcpy(out->kind, head + 8, 16);
    if (!kind_ok(out->kind))
        return m4_error_set(M4_EFORMAT, "%s: model kind is not a NUL-padded name", path);
    uint32_t format = get_u32(head + 24);
    if (format != M4_NN_MODEL_FILE_VERSION)
        return m4_error_set(M4_EFORMAT, "%s: format version %u, this build reads version %u", path,
                            format, M4_NN_MODEL_FILE_VERSION);
    out->version = get_u32(head + 28);
    out->num_dims = (int32_t)get_u32(head + 32);
    out->num_norm = (int32_t)get_u32(head + 36);
    uint64_t num_weights = get_u64(head + 40);
    if (out->num_dims < 0 || out->num_dims > M4_NN_MODEL_FILE_MAX_DIMS)
        return m4_error_set(M4_EFORMAT, "%s: num_dims %d outside 0..%d", path, out->num_dims,
                            M4_NN_MODEL_FILE_MAX_DIMS);
    if (out->num_norm < 0 || out->num_norm > M4_NN_MODEL_FILE_MAX_NORM)
        return m4_error_set(M4_EFORMAT, "%s: num_norm %d outside 0..%d", path, out->num_norm,
                            M4_NN_MODEL_FILE_MAX_NORM);
    uint64_t want = implied_size(out->num_dims, out->num_norm, num_weights);
    if (!want)
        return m4_error_set(M4_EFORMAT, "%s: num_weights %llu is impossibly large", path,
                            (unsigned long long)num_weights);
    if (size < want)
        return m4_error_set(M4_EFORMAT, "%s: truncated: %llu bytes, header says %llu", path,
                            (unsigned long long)size, (unsigned long long)want);
    if (size > want)
        return m4_error_set(M4_EFORMAT, "%s: %llu bytes, header says %llu (trailing data)", path,
                            (unsigned long long)size, (unsigned long long)want);
    if (num_weights > SIZE_MAX / sizeof(float))
        return m4_error_set(M4_ENOMEM, "%s: %llu weights do not fit in memory", path,
                            (unsigned long long)num_weights);

    unsigned char small[4 * (M4_NN_MODEL_FILE_MAX_DIMS + M4_NN_MODEL_FILE_MAX_NORM)];
    size_t small_bytes = 4 * (size_t)(out->num_dims + out->num_norm);
    if ((err = take(file, path, &hash, small, small_bytes))) return err;
    for (int i = 0; i < out->num_dims; i++) out->dims[i] = (int32_t)get_u32(small + 4 * i);
    for (int i = 0; i < out->num_norm; i++)
        out->norm[i] = bits_float(get_u32(small + 4 * (out->num_dims + i)));

    if (num_weights) {
        /* Safe now: the file really holds 4 * num_weights bytes of weights. */
        out->weights = malloc((size_t)num_weights * sizeof(float));
        if (!out->weights)
            return m4_error_set(M4_ENOMEM, "%s: no memory for %llu weights", path,
                                (unsigned long long)num_weights);
        out->num_weights = num_weights;
        unsigned char *bytes = (unsigned char *)out->weights;
        if ((err = take(file, path, &hash, bytes, (size_t)num_weights * 4))) return err;
        /* In place: weight i's bytes are exactly where float i goes. */
        for (uint64_t i = 0; i < num_weights; i++)
            out->weights[i] = bits_float(get_u32(bytes + 4 * i));
    }
    unsigned char sum[CHECKSUM_BYTES];
    if (fread(sum, 1, sizeof sum, file) != sizeof sum)
        return m4_error_set(M4_EIO, "%s: read failed", path);
    if (get_u64(sum) != hash)
        return m4_error_set(M4_EFORMAT, "%s: checksum mismatch (file corrupt)", path);
    return M4_OK;
}

int m4_nn_model_file_read(m4_nn_model_file *out, const char *path)
{
    memset(out, 0, sizeof *out);
    FILE *file = fopen(path, "rb");
    if (!file) return m4_error_set(M4_EIO, "%s: cannot open: %s", path, strerror(errno));
    int err = read_open(out, path, file);
    fclose(file);
    if (err) {
        m4_nn_model_file_free(out);
        memset(out, 0, sizeof *out);
    }
    return err;
}
