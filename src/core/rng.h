/* Seeded pseudo-random numbers: xoshiro256** seeded through splitmix64.
 * Every random choice in m4sim draws from one of these, so a seed fixes a run. */
#ifndef M4_CORE_RNG_H
#define M4_CORE_RNG_H

#include <stdint.h>

typedef struct m4_rng {
    uint64_t s[4];
} m4_rng;

void m4_rng_seed(m4_rng *rng, uint64_t seed);
uint64_t m4_rng_u64(m4_rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
double m4_rng_uniform(m4_rng *rng);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t m4_rng_below(m4_rng *rng, uint64_t n);
/* Standard normal (Box-Muller, no cached second value so streams stay simple). */
double m4_rng_normal(m4_rng *rng);
/* Exponential with the given mean. */
double m4_rng_exponential(m4_rng *rng, double mean);
/* splitmix64 finaliser: a good 64-bit mix, also used for ECMP hashing. */
uint64_t m4_mix64(uint64_t x);

#endif
