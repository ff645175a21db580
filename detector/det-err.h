// det-err.h - the detector's one-line error messages: det_errf formats a message into the
// caller's err buffer (if any) and returns -1, so that `return det_errf(err, size, ...)` is the
// whole error path of a function that never aborts on data.
#ifndef DET_ERR_H
#define DET_ERR_H
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline int det_errf(char * err, size_t err_size, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (err && err_size) vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return -1;
}
#endif
