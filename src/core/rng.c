#include "rng.h"

#include <math.h>

uint64_t m4_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void m4_rng_seed(m4_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ULL;
        rng->s[i] = m4_mix64(x);
    }
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t m4_rng_u64(m4_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double m4_rng_uniform(m4_rng *rng)
{
    return (double)(m4_rng_u64(rng) >> 11) * 0x1.0p-53;
}

uint64_t m4_rng_below(m4_rng *rng, uint64_t n)
{
    /* Rejection keeps every value equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = m4_rng_u64(rng);
    } while (x >= limit);
    return x % n;
}

double m4_rng_normal(m4_rng *rng)
{
    double u1 = m4_rng_uniform(rng);
    double u2 = m4_rng_uniform(rng);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double m4_rng_exponential(m4_rng *rng, double mean)
{
    return -mean * log(1.0 - m4_rng_uniform(rng));
}
