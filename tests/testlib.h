/* A plain test runner: each tests/test_*.c defines test functions, lists them
 * in M4_TEST_MAIN, and prints "N passed, N failed" at the end. Randomized
 * tests take their seed from M4_TEST_SEED (or pick one) and print it. */
#ifndef M4_TESTLIB_H
#define M4_TESTLIB_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int m4t_failures_in_case;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            m4t_failures_in_case++;                                                     \
        }                                                                               \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                                    \
    do {                                                                                      \
        long long m4t_a = (long long)(a), m4t_b = (long long)(b);                             \
        if (m4t_a != m4t_b) {                                                                 \
            fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, \
                    #a, m4t_a, #b, m4t_b);                                                    \
            m4t_failures_in_case++;                                                           \
        }                                                                                     \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                 \
    do {                                                                                      \
        double m4t_a = (double)(a), m4t_b = (double)(b), m4t_t = (double)(tol);               \
        if (!(fabs(m4t_a - m4t_b) <= m4t_t)) {                                                \
            fprintf(stderr, "  %s:%d: %s = %.9g, expected %s = %.9g within %.3g\n", __FILE__, \
                    __LINE__, #a, m4t_a, #b, m4t_b, m4t_t);                                   \
            m4t_failures_in_case++;                                                           \
        }                                                                                     \
    } while (0)

/* Relative closeness: |a - b| <= rel * max(|b|, tiny). */
#define CHECK_REL(a, b, rel) CHECK_NEAR(a, b, (rel) * fmax(fabs((double)(b)), 1e-30))

typedef struct m4t_case {
    const char *name;
    void (*fn)(void);
} m4t_case;

/* Seed for randomized tests: M4_TEST_SEED if set, else from the clock. Printed
 * so a failure can be replayed with M4_TEST_SEED=<seed>. */
static inline uint64_t m4t_seed(void)
{
    static uint64_t seed;
    static int chosen;
    if (!chosen) {
        const char *env = getenv("M4_TEST_SEED");
        seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
        chosen = 1;
        fprintf(stderr, "  (seed %llu; rerun with M4_TEST_SEED=%llu)\n", (unsigned long long)seed,
                (unsigned long long)seed);
    }
    return seed;
}

/* Path of the CLI binary under test and a scratch directory. */
static inline const char *m4t_cli(void)
{
    const char *p = getenv("M4SIM");
    return p ? p : "build/m4sim";
}

static inline int m4t_run_cases(const char *file, const m4t_case *cases, int n)
{
    int passed = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        m4t_failures_in_case = 0;
        cases[i].fn();
        if (m4t_failures_in_case) {
            failed++;
            printf("FAIL %s: %s\n", file, cases[i].name);
        } else {
            passed++;
            printf("ok   %s: %s\n", file, cases[i].name);
        }
        fflush(stdout);
    }
    printf("%s: %d passed, %d failed\n", file, passed, failed);
    return failed ? 1 : 0;
}

#define M4_TEST(fn) {#fn, fn}
#define M4_TEST_MAIN(...)                                                              \
    int main(void)                                                                     \
    {                                                                                  \
        static const m4t_case cases[] = {__VA_ARGS__};                                 \
        return m4t_run_cases(__FILE__, cases, (int)(sizeof cases / sizeof cases[0])); \
    }

#endif
