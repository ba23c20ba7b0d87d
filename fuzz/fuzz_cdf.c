/* libFuzzer target for the flow-size CDF reader: any input gives a CDF or a
 * clean error; an accepted CDF has a mean inside its range and samples
 * inside [1, rounded largest size]. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "workload/cdf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("cdf", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        m4_cdf cdf;
        if (m4_cdf_read(&cdf, path) == 0) {
            double lo = cdf.bytes[0], hi = cdf.bytes[cdf.num_points - 1];
            double mean = m4_cdf_mean(&cdf);
            if (!(mean >= lo * (1 - 1e-12) && mean <= hi * (1 + 1e-12))) __builtin_trap();
            m4_rng rng;
            m4_rng_seed(&rng, size);
            int64_t largest = (int64_t)floor(hi + 0.5);
            if (largest < 1) largest = 1;
            double previous = -1;
            for (int i = 0; i < 64; i++) {
                int64_t s = m4_cdf_sample(&cdf, &rng);
                if (s < 1 || s > largest) __builtin_trap();
                double q = m4_cdf_quantile(&cdf, i * (100.0 / 63));
                if (q < previous || q < lo || q > hi) __builtin_trap();
                previous = q;
            }
            m4_cdf_free(&cdf);
        }
    }
    close(fd);
    return 0;
}
