/* Error codes live in the public header; this adds the per-thread detail. */
#ifndef M4_CORE_ERROR_H
#define M4_CORE_ERROR_H

#include "m4sim.h"

/* Record a printf-style detail for m4_last_error() and return err, so that
 * failures read `return m4_error_set(M4_EPARSE, "%s:%d: bad rate", path, line);` */
int m4_error_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void m4_error_clear(void);

#endif
