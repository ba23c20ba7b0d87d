#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error_detail[512];

const char *m4_strerror(int err)
{
    switch (err) {
    case M4_OK: return "success";
    case M4_EINVAL: return "invalid argument";
    case M4_ENOMEM: return "out of memory";
    case M4_EIO: return "input/output error";
    case M4_EPARSE: return "malformed input";
    case M4_ENOTSUP: return "not supported";
    case M4_ENOROUTE: return "no route between hosts";
    case M4_EFORMAT: return "bad file format";
    case M4_ESTATE: return "invalid state";
    default: return "unknown error";
    }
}

const char *m4_last_error(void)
{
    return last_error_detail;
}

int m4_error_set(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error_detail, sizeof last_error_detail, fmt, ap);
    va_end(ap);
    return err;
}

void m4_error_clear(void)
{
    last_error_detail[0] = '\0';
}
