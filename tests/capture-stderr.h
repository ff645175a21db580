// Shared by the tests that check a message printed with a returned status (not an abort):
// stderr of a call, captured into a buffer (trailing newlines dropped).
//     struct capture c; capture_begin(&c); ... call ...; capture_end(&c, buf, sizeof buf);
#ifndef TESTS_CAPTURE_STDERR_H
#define TESTS_CAPTURE_STDERR_H

#include <stdio.h>
#include <unistd.h>

struct capture { int saved; FILE * f; };
static void capture_begin(struct capture * c) { fflush(stderr); c->f = tmpfile(); c->saved = dup(2); dup2(fileno(c->f), 2); }
static void capture_end(struct capture * c, char * buf, size_t n) {
    fflush(stderr); dup2(c->saved, 2); close(c->saved);
    rewind(c->f);
    size_t k = fread(buf, 1, n - 1, c->f);
    buf[k] = 0;
    while (k && buf[k - 1] == '\n') buf[--k] = 0;
    fclose(c->f);
}
#endif
