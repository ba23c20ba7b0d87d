/* Tests for src/nn/modelfile.c: round trips are bit-exact and the bytes on
 * disk follow the documented little-endian layout (checked byte by byte and
 * with a checksum computed here); every kind of damage is refused with
 * M4_EFORMAT (or M4_EIO for a missing file) and a message naming the file and
 * the fault, leaving no allocation behind. */
#include <dirent.h>
#include <unistd.h>

#include "core/error.h"
#include "core/rng.h"
#include "nn/modelfile.h"
#include "testlib.h"

static char scratch[] = "/tmp/m4sim-test-modelfile-XXXXXX";
static char path_buf[512];

static const char *path_of(const char *name)
{
    snprintf(path_buf, sizeof path_buf, "%s/%s", scratch, name);
    return path_buf;
}

/* FNV-1a-64 as published (offset basis 14695981039346656037, prime 2^40 + 435). */
static uint64_t fnv1a_ref(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    *size = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n)
{
    /* A fresh file, not a truncated one: ext4 flushes a file truncated and
     * rewritten in place (auto_da_alloc), which made this test take seconds. */
    unlink(path);
    FILE *f = fopen(path, "wb");
    if (n) fwrite(b, 1, n, f);
    fclose(f);
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void make_model(m4_nn_model_file *m, uint64_t num_weights, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    strcpy(m->kind, "m4");
    m->version = 7;
    m->num_dims = 5;
    const int32_t dims[5] = {200, 300, 13, 100, -1};
    memcpy(m->dims, dims, sizeof dims);
    m->num_norm = 3;
    m->norm[0] = 1e-6f, m->norm[1] = -2.5f, m->norm[2] = 3e38f;
    m->num_weights = num_weights;
    m->weights = malloc((num_weights ? num_weights : 1) * sizeof(float));
    m4_rng rng;
    m4_rng_seed(&rng, seed);
    for (uint64_t i = 0; i < num_weights; i++) m->weights[i] = (float)m4_rng_normal(&rng);
    if (num_weights >= 4) {
        m->weights[0] = 1.0f;    /* bytes 00 00 80 3f */
        m->weights[1] = -0.0f;   /* sign bit only */
        m->weights[2] = 1e-45f;  /* smallest subnormal */
        m->weights[3] = INFINITY;
    }
}

static int bits_equal(const float *a, const float *b, size_t n)
{
    return n == 0 || memcmp(a, b, n * sizeof(float)) == 0;
}

static int count_dir_entries(void)
{
    DIR *d = opendir(scratch);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_fnv_reference(void)
{
    /* Published FNV-1a-64 test vectors. */
    CHECK(fnv1a_ref((const unsigned char *)"", 0) == 0xcbf29ce484222325ull);
    CHECK(fnv1a_ref((const unsigned char *)"a", 1) == 0xaf63dc4c8601ec8cull);
    CHECK(fnv1a_ref((const unsigned char *)"foobar", 6) == 0x85944171f73967e8ull);
}

static void test_round_trip_and_layout(void)
{
    m4_nn_model_file m, r;
    make_model(&m, 10000, m4t_seed());
    const char *p = path_of("model.bin");
    int entries = count_dir_entries();
    CHECK_INT_EQ(m4_nn_model_file_write(p, &m), 0);
    CHECK_INT_EQ(count_dir_entries(), entries + 1); /* no temporary left behind */
    CHECK_INT_EQ(m4_nn_model_file_read(&r, p), 0);
    CHECK(strcmp(r.kind, "m4") == 0);
    CHECK_INT_EQ(r.version, 7);
    CHECK_INT_EQ(r.num_dims, 5);
    CHECK(memcmp(r.dims, m.dims, 5 * sizeof(int32_t)) == 0);
    CHECK_INT_EQ(r.num_norm, 3);
    CHECK(bits_equal(r.norm, m.norm, 3));
    CHECK_INT_EQ(r.num_weights, 10000);
    CHECK(r.weights && bits_equal(r.weights, m.weights, 10000));

    size_t n;
    unsigned char *b = slurp(p, &n);
    CHECK_INT_EQ(n, 48 + 4 * 5 + 4 * 3 + 4 * 10000 + 8);
    CHECK(memcmp(b, "M4SIMNN1", 8) == 0);
    CHECK(memcmp(b + 8, "m4\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0);
    const unsigned char fixed[24] = {1, 0, 0, 0, 7, 0, 0, 0, 5, 0, 0, 0, 3, 0, 0, 0,
                                     0x10, 0x27, 0, 0, 0, 0, 0, 0}; /* 10000 = 0x2710 */
    CHECK(memcmp(b + 24, fixed, 24) == 0);
    const unsigned char dim0[4] = {200, 0, 0, 0}, dim4[4] = {0xff, 0xff, 0xff, 0xff};
    CHECK(memcmp(b + 48, dim0, 4) == 0 && memcmp(b + 64, dim4, 4) == 0);
    const unsigned char norm1[4] = {0, 0, 0x20, 0xc0}; /* -2.5f = 0xc0200000 */
    CHECK(memcmp(b + 72, norm1, 4) == 0);
    const unsigned char one[4] = {0, 0, 0x80, 0x3f}, negzero[4] = {0, 0, 0, 0x80};
    const unsigned char subnormal[4] = {1, 0, 0, 0}, inf[4] = {0, 0, 0x80, 0x7f};
    CHECK(memcmp(b + 80, one, 4) == 0 && memcmp(b + 84, negzero, 4) == 0);
    CHECK(memcmp(b + 88, subnormal, 4) == 0 && memcmp(b + 92, inf, 4) == 0);
    CHECK(le64(b + n - 8) == fnv1a_ref(b, n - 8));
    free(b);
    m4_nn_model_file_free(&r);
    CHECK(r.weights == NULL && r.num_weights == 0);
    m4_nn_model_file_free(&r); /* twice is harmless */

    /* No weights and no dims at all is a valid file too. */
    m4_nn_model_file e = {.kind = "empty", .version = 1};
    CHECK_INT_EQ(m4_nn_model_file_write(path_of("none.bin"), &e), 0);
    CHECK_INT_EQ(m4_nn_model_file_read(&r, path_of("none.bin")), 0);
    CHECK(r.weights == NULL && r.num_weights == 0 && r.num_dims == 0 && !strcmp(r.kind, "empty"));
    /* Overwriting replaces the file. */
    CHECK_INT_EQ(m4_nn_model_file_write(path_of("none.bin"), &m), 0);
    CHECK_INT_EQ(m4_nn_model_file_read(&r, path_of("none.bin")), 0);
    CHECK_INT_EQ(r.num_weights, 10000);
    m4_nn_model_file_free(&r);
    m4_nn_model_file_free(&m);
}

/* Reads path, expecting err and a message holding both the file name and want. */
static void expect_fail(const char *path, int err, const char *want)
{
    m4_nn_model_file r;
    memset(&r, 0x5a, sizeof r);
    int got = m4_nn_model_file_read(&r, path);
    CHECK_INT_EQ(got, err);
    const char *msg = m4_last_error();
    if (getenv("M4_TEST_VERBOSE")) fprintf(stderr, "  %s\n", msg);
    if (!strstr(msg, path) || !strstr(msg, want)) {
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", msg, want);
        m4t_failures_in_case++;
    }
    CHECK(r.weights == NULL);
}

static void test_corruptions(void)
{
    m4_nn_model_file m;
    make_model(&m, 1000, m4t_seed() + 1);
    CHECK_INT_EQ(m4_nn_model_file_write(path_of("good.bin"), &m), 0);
    size_t n;
    unsigned char *good = slurp(path_of("good.bin"), &n);
    unsigned char *b = malloc(n + 16);
    char p[512], want[128];
    snprintf(p, sizeof p, "%s", path_of("bad.bin")); /* path_of's buffer is reused */

    memcpy(b, good, n), b[48 + 32 + 4 * 500] ^= 0x01; /* one bit of weight 500 */
    spit(p, b, n), expect_fail(p, M4_EFORMAT, "checksum mismatch");
    memcpy(b, good, n), b[n - 1] ^= 0x80; /* the checksum itself */
    spit(p, b, n), expect_fail(p, M4_EFORMAT, "checksum mismatch");
    memcpy(b, good, n), b[60] ^= 0x10; /* dims[3]: 100 -> 116, size unchanged */
    spit(p, b, n), expect_fail(p, M4_EFORMAT, "checksum mismatch");

    spit(p, good, n - 100);
    snprintf(want, sizeof want, "truncated: %zu bytes, header says %zu", n - 100, n);
    expect_fail(p, M4_EFORMAT, want);
    memcpy(b, good, n), b[n] = 0;
    spit(p, b, n + 1), expect_fail(p, M4_EFORMAT, "trailing data");

    memcpy(b, good, n), b[7] = '2';
    spit(p, b, n), expect_fail(p, M4_EFORMAT, "bad magic");
    memcpy(b, good, n), b[24] = 2;
    spit(p, b, n), expect_fail(p, M4_EFORMAT, "format version 2, this build reads version 1");

    /* Absurd weight counts: refused from the size alone, nothing allocated. */
    memcpy(b, good, n), b[47] = 0x10; /* num_weights += 2^60 */
    spit(p, b, n), expect_fail(p, M4_EFORMAT, "truncated");
    memcpy(b, good, n), memset(b + 40, 0xff, 8); /* UINT64_MAX */
    spit(p, b, n), expect_fail(p, M4_EFORMAT, "impossibly large");
    memcpy(b, good, n), b[32] = 33;
    spit(p, b, n), expect_fail(p, M4_EFORMAT, "num_dims 33 outside 0..32");
    memcpy(b, good, n), memset(b + 36, 0xff, 4);
    spit(p, b, n), expect_fail(p, M4_EFORMAT, "num_norm -1 outside 0..32");
    memcpy(b, good, n), memset(b + 8, 'x', 16); /* kind without a NUL */
    spit(p, b, n), expect_fail(p, M4_EFORMAT, "kind");

    spit(p, b, 0), expect_fail(p, M4_EFORMAT, "empty file");
    spit(p, good, 10), expect_fail(p, M4_EFORMAT, "truncated: 10 bytes");
    expect_fail(path_of("missing.bin"), M4_EIO, "cannot open");

    /* Every single-byte change anywhere in a small file is refused: FNV-1a's
     * steps are bijections of its state, so one changed byte always changes
     * the final hash, and a change to a count changes the implied size. */
    m4_nn_model_file s = {.kind = "tiny", .version = 3, .num_dims = 2, .dims = {4, 5},
                          .num_norm = 1, .norm = {0.5f}, .num_weights = 3,
                          .weights = (float[]){1, 2, 3}};
    CHECK_INT_EQ(m4_nn_model_file_write(path_of("tiny.bin"), &s), 0);
    size_t tn;
    unsigned char *tiny = slurp(path_of("tiny.bin"), &tn);
    CHECK_INT_EQ(tn, 80);
    int accepted = 0;
    for (size_t at = 0; at < tn; at++)
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(b, tiny, tn), b[at] ^= (unsigned char)(1 << bit);
            spit(p, b, tn);
            m4_nn_model_file r;
            int err = m4_nn_model_file_read(&r, p);
            accepted += err == 0;
            CHECK(err == M4_EFORMAT);
            m4_nn_model_file_free(&r);
        }
    CHECK_INT_EQ(accepted, 0);
    free(tiny);
    free(good);
    free(b);
    m4_nn_model_file_free(&m);
}

static void test_write_errors(void)
{
    m4_nn_model_file m = {.kind = "m4", .num_dims = 33};
    CHECK_INT_EQ(m4_nn_model_file_write(path_of("x.bin"), &m), M4_EINVAL);
    m.num_dims = 0;
    m.num_weights = 4; /* but no array */
    CHECK_INT_EQ(m4_nn_model_file_write(path_of("x.bin"), &m), M4_EINVAL);
    m.num_weights = 0;
    memset(m.kind, 'k', 16);
    CHECK_INT_EQ(m4_nn_model_file_write(path_of("x.bin"), &m), M4_EINVAL);
    strcpy(m.kind, "m4");
    CHECK_INT_EQ(m4_nn_model_file_write(path_of("no/such/dir.bin"), &m), M4_EIO);
    CHECK(access(path_of("x.bin"), F_OK) != 0);
}

static void cleanup(void)
{
    DIR *d = opendir(scratch);
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') unlink(path_of(e->d_name));
    if (d) closedir(d);
    rmdir(scratch);
}

int main(void)
{
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 1;
    }
    static const m4t_case cases[] = {M4_TEST(test_fnv_reference), M4_TEST(test_round_trip_and_layout),
                                     M4_TEST(test_corruptions), M4_TEST(test_write_errors)};
    int rc = m4t_run_cases(__FILE__, cases, (int)(sizeof cases / sizeof cases[0]));
    cleanup();
    return rc;
}
