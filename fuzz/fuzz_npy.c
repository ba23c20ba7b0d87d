/* libFuzzer target for the .npy reader: any input gives an array or a clean
 * error. An accepted array must hold exactly shape-product elements, and
 * writing it back and reading that again must give the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("npy", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        m4_npy_array a;
        if (m4_npy_read(path, &a) == 0) {
            int64_t count = m4_npy_count(&a);
            size_t bytes = (size_t)count * m4_npy_dtype_size(a.dtype);
            if (count < 0 || bytes > size)
                __builtin_trap(); /* the data cannot be larger than the file */
            char out[] = "/tmp/fuzz_npy_XXXXXX";
            int ofd = mkstemp(out);
            if (ofd >= 0) {
                close(ofd);
                m4_npy_array back;
                if (m4_npy_write(out, a.dtype, a.ndim, a.shape, a.data) != 0 || m4_npy_read(out, &back) != 0)
                    __builtin_trap();
                if (back.dtype != a.dtype || back.ndim != a.ndim ||
                    memcmp(back.shape, a.shape, (size_t)a.ndim * sizeof a.shape[0]) != 0 ||
                    (bytes && memcmp(back.data, a.data, bytes) != 0))
                    __builtin_trap();
                m4_npy_free(&back);
                unlink(out);
            }
            m4_npy_free(&a);
        }
    }
    close(fd);
    return 0;
}
