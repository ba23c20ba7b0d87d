/* Core utilities: event heap order, RNG determinism and moments, number
 * parsers, .npy round trip, atomic files, growing arrays, line reading. */
#include "testlib.h"

#include <unistd.h>

#include "core/array.h"
#include "core/error.h"
#include "core/heap.h"
#include "core/npy.h"
#include "core/rng.h"
#include "core/textio.h"

static void heap_orders_by_time_then_insertion(void)
{
    m4_heap heap;
    m4_heap_init(&heap);
    m4_rng rng;
    uint64_t seed = m4t_seed();
    m4_rng_seed(&rng, seed);
    enum { N = 5000 };
    for (uint64_t i = 0; i < N; i++)
        CHECK(m4_heap_push(&heap, (int64_t)m4_rng_below(&rng, 50), i) == M4_OK);
    m4_heap_entry prev = {-1, 0, 0}, e;
    int64_t popped = 0;
    while (m4_heap_pop(&heap, &e) == M4_OK) {
        CHECK(e.time > prev.time || (e.time == prev.time && e.data > prev.data));
        prev = e;
        popped++;
    }
    CHECK_INT_EQ(popped, N);
    CHECK_INT_EQ(m4_heap_peek_time(&heap), INT64_MAX);
    m4_heap_free(&heap);
}

static void rng_is_deterministic_and_uniform(void)
{
    m4_rng a, b;
    m4_rng_seed(&a, 42);
    m4_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        CHECK(m4_rng_u64(&a) == m4_rng_u64(&b));
    double sum = 0, sum_sq = 0, exp_sum = 0;
    enum { N = 200000 };
    for (int i = 0; i < N; i++) {
        double u = m4_rng_uniform(&a);
        CHECK(u >= 0 && u < 1);
        double z = m4_rng_normal(&a);
        sum += z;
        sum_sq += z * z;
        exp_sum += m4_rng_exponential(&a, 3.0);
    }
    /* Standard errors: mean 1/sqrt(N) ~ 0.0022, so 0.01 is ~4.5 sigma. */
    CHECK_NEAR(sum / N, 0.0, 0.01);
    CHECK_NEAR(sum_sq / N, 1.0, 0.02);
    CHECK_NEAR(exp_sum / N, 3.0, 0.05);
}

static void parsers_accept_units_and_reject_junk(void)
{
    double bps;
    int64_t ns;
    CHECK(m4_parse_rate_bps("10Gbps", &bps) == 0 && bps == 10e9);
    CHECK(m4_parse_rate_bps("40000000000bps", &bps) == 0 && bps == 40e9);
    CHECK(m4_parse_rate_bps("100Mbps", &bps) == 0 && bps == 100e6);
    CHECK(m4_parse_rate_bps("10Gbpsx", &bps) != 0);
    CHECK(m4_parse_rate_bps("", &bps) != 0);
    CHECK(m4_parse_delay_ns("0.001ms", &ns) == 0 && ns == 1000);
    CHECK(m4_parse_delay_ns("1us", &ns) == 0 && ns == 1000);
    CHECK(m4_parse_delay_ns("1000ns", &ns) == 0 && ns == 1000);
    CHECK(m4_parse_delay_ns("1", &ns) != 0);
    CHECK(m4_parse_seconds_ns("1.000245319", &ns) == 0 && ns == 1000245319LL);
    CHECK(m4_parse_seconds_ns("2", &ns) == 0 && ns == 2000000000LL);
    CHECK(m4_parse_seconds_ns("1.5", &ns) == 0 && ns == 1500000000LL);
    CHECK(m4_parse_seconds_ns("1e-3", &ns) == 0 && ns == 1000000LL);
    CHECK(m4_parse_seconds_ns("-1", &ns) != 0);
    CHECK(m4_parse_seconds_ns("abc", &ns) != 0);
    int64_t v;
    CHECK(m4_parse_i64("123", &v) == 0 && v == 123);
    CHECK(m4_parse_i64("12x", &v) != 0);
    char line[] = "  a\tbb  c ";
    char *fields[4];
    CHECK_INT_EQ(m4_split_fields(line, fields, 4), 3);
    CHECK(strcmp(fields[1], "bb") == 0);
}

static void npy_round_trip(void)
{
    char path[] = "/tmp/m4t_npy_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    int64_t shape[2] = {3, 4};
    float data[12];
    for (int i = 0; i < 12; i++)
        data[i] = (float)i * 0.5f;
    CHECK(m4_npy_write(path, M4_NPY_F32, 2, shape, data) == M4_OK);
    m4_npy_array a;
    CHECK(m4_npy_read(path, &a) == M4_OK);
    CHECK_INT_EQ(a.ndim, 2);
    CHECK_INT_EQ(a.shape[0], 3);
    CHECK_INT_EQ(a.shape[1], 4);
    CHECK(a.dtype == M4_NPY_F32);
    CHECK(a.data && memcmp(a.data, data, sizeof data) == 0);
    m4_npy_free(&a);
    /* The header is padded so data starts at a multiple of 64 bytes. */
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    CHECK_INT_EQ((ftell(f) - (long)sizeof data) % 64, 0);
    fclose(f);
    int64_t one[1] = {2};
    int64_t ints[2] = {-7, 1LL << 40};
    CHECK(m4_npy_write(path, M4_NPY_I64, 1, one, ints) == M4_OK);
    CHECK(m4_npy_read(path, &a) == M4_OK);
    CHECK(a.ndim == 1 && a.shape[0] == 2 && ((int64_t *)a.data)[1] == (1LL << 40));
    m4_npy_free(&a);
    f = fopen(path, "wb");
    fputs("not numpy", f);
    fclose(f);
    CHECK(m4_npy_read(path, &a) == M4_EFORMAT);
    /* Forged shapes: one whose product overflows int64, one far larger than
     * the file, one just one element short; each a clean error before any
     * allocation of that size. */
    static const char *shapes[] = {"(4611686018427387904, 4)", "(1000000000000,)", "(3,)"};
    for (int k = 0; k < 3; k++) {
        char header[128];
        int n = snprintf(header, sizeof header, "{'descr': '<i8', 'fortran_order': False, 'shape': %s, }\n",
                         shapes[k]);
        f = fopen(path, "wb");
        fwrite("\x93NUMPY\x01\x00", 1, 8, f);
        fputc(n & 0xff, f);
        fputc(n >> 8, f);
        fwrite(header, 1, (size_t)n, f);
        fwrite(ints, sizeof ints, 1, f); /* 2 elements */
        fclose(f);
        CHECK(m4_npy_read(path, &a) == M4_EFORMAT);
        CHECK(strstr(m4_last_error(), "shorter than its shape") != NULL);
        CHECK(a.data == NULL);
    }
    remove(path);
}

static void atomic_file_appears_only_on_commit(void)
{
    const char *path = "/tmp/m4t_atomic_out.txt";
    remove(path);
    m4_atomic_file out;
    CHECK(m4_atomic_open(&out, path) == M4_OK);
    fputs("partial", out.file);
    CHECK(!m4_file_exists(path));
    m4_atomic_abort(&out);
    CHECK(!m4_file_exists(path));
    CHECK(m4_atomic_open(&out, path) == M4_OK);
    fputs("whole\n", out.file);
    CHECK(m4_atomic_commit(&out) == M4_OK);
    CHECK(m4_file_exists(path));
    remove(path);
    CHECK(strcmp(m4_strerror(M4_EPARSE), "malformed input") == 0);
    CHECK(m4_error_set(M4_EINVAL, "x:%d: bad", 3) == M4_EINVAL);
    CHECK(strcmp(m4_last_error(), "x:3: bad") == 0);
}

/* The line reader numbers every line, and the content reader skips blank
 * and comment lines (also indented ones, and a last line without newline). */
static void line_reader_counts_lines_and_skips_comments(void)
{
    const char *path = "/tmp/m4t_lines.txt";
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("a 1\r\n\n  # note\n\t\nb # not a comment\n   \n#x\nc", f);
    fclose(f);
    m4_line_reader r;
    char *line;
    CHECK(m4_line_reader_open(&r, path) == M4_OK);
    int all = 0;
    while (m4_line_reader_next(&r, &line) == 1)
        all++;
    CHECK_INT_EQ(all, 8);
    m4_line_reader_close(&r);
    CHECK(m4_line_reader_open(&r, path) == M4_OK);
    static const char *want[] = {"a 1", "b # not a comment", "c"};
    static const int64_t want_line[] = {1, 5, 8};
    int got = 0;
    while (m4_line_reader_next_content(&r, &line) == 1) {
        CHECK(got < 3);
        if (got >= 3)
            break;
        CHECK(strcmp(line, want[got]) == 0);
        CHECK_INT_EQ(r.line_number, want_line[got]);
        got++;
    }
    CHECK_INT_EQ(got, 3);
    m4_line_reader_close(&r);
    remove(path);
}

/* Capacities double from the initial one and stop at the first that holds
 * the need; a reserve keeps the items and leaves everything as it was when
 * the request cannot be met. */
static void arrays_double_and_keep_their_items(void)
{
    CHECK_INT_EQ(m4_array_grown_capacity(0, 1, 64), 64);
    CHECK_INT_EQ(m4_array_grown_capacity(0, 65, 64), 128);
    CHECK_INT_EQ(m4_array_grown_capacity(64, 64, 16), 64);
    CHECK_INT_EQ(m4_array_grown_capacity(64, 65, 16), 128);
    CHECK_INT_EQ(m4_array_grown_capacity(3, 100, 16), 192);
    CHECK_INT_EQ(m4_array_grown_capacity(0, 5, 0), 8);
    CHECK_INT_EQ(m4_array_grown_capacity(INT64_MAX / 2 + 1, INT64_MAX, 1), INT64_MAX);

    int32_t *items = NULL;
    int64_t capacity = 0;
    for (int32_t i = 0; i < 1000; i++) {
        CHECK(m4_array_reserve(&items, &capacity, i + 1, sizeof *items, 16) == M4_OK);
        CHECK(capacity >= i + 1 && capacity <= 2 * (i + 1) + 16);
        items[i] = 3 * i;
    }
    CHECK_INT_EQ(capacity, 1024);
    int64_t sum = 0;
    for (int32_t i = 0; i < 1000; i++)
        sum += items[i];
    CHECK_INT_EQ(sum, 3 * 999 * 1000 / 2);
    /* more bytes than size_t holds: refused, array and capacity untouched */
    int32_t *before = items;
    CHECK(m4_array_reserve(&items, &capacity, INT64_MAX, sizeof *items, 16) == M4_ENOMEM);
    CHECK(items == before);
    CHECK_INT_EQ(capacity, 1024);
    CHECK(m4_array_resize(&items, -1, sizeof *items) == M4_ENOMEM);
    CHECK(m4_array_resize(&items, 2, sizeof *items) == M4_OK);
    CHECK_INT_EQ(items[0] + items[1], 3);
    free(items);

    /* the int32_t-counted twin, and a resize that zeroes what it adds */
    int64_t *wide = NULL;
    int32_t capacity32 = 0;
    CHECK(m4_array_reserve32(&wide, &capacity32, 5, sizeof *wide, 4) == M4_OK);
    CHECK_INT_EQ(capacity32, 8);
    for (int i = 0; i < 5; i++)
        wide[i] = -1;
    CHECK(m4_array_reserve32(&wide, &capacity32, 3, sizeof *wide, 4) == M4_OK);
    CHECK_INT_EQ(capacity32, 8);
    CHECK(m4_array_reserve32(&wide, &capacity32, 9, SIZE_MAX / 4, 4) == M4_ENOMEM);
    CHECK_INT_EQ(capacity32, 8);
    CHECK(m4_array_resize_zeroed(&wide, 5, 40, sizeof *wide) == M4_OK);
    int64_t kept = 0, zeros = 0;
    for (int i = 0; i < 40; i++) {
        kept += wide[i] == -1;
        zeros += wide[i] == 0;
    }
    CHECK_INT_EQ(kept, 5);
    CHECK_INT_EQ(zeros, 35);
    free(wide);
}

M4_TEST_MAIN(M4_TEST(heap_orders_by_time_then_insertion), M4_TEST(rng_is_deterministic_and_uniform),
             M4_TEST(parsers_accept_units_and_reject_junk), M4_TEST(npy_round_trip),
             M4_TEST(atomic_file_appears_only_on_commit),
             M4_TEST(arrays_double_and_keep_their_items),
             M4_TEST(line_reader_counts_lines_and_skips_comments))
