// Shared by the detector tests (test-anchors.c, test-assign.c, test-nms.c): the reference file
// tests/data/detector-host.safetensors (tools/gen-ref-detector.py) and the check counters.
// Include after alrp.h.
#ifndef TESTS_DETECTOR_REF_H
#define TESTS_DETECTOR_REF_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_PATH "tests/data/detector-host.safetensors"

#include "ref-file.h"

static int n_checks, n_fail;

static void ref_open(void) { ref_open_file(REF_PATH, "gen-ref-detector.py"); }

// a malloc'd int64 copy of an I64 tensor
static inline int64_t * ref_i64(const char * name, int64_t * numel) {
    const struct alrp_st_tensor * t = ref_get(name);
    if (strcmp(t->dtype, "I64") != 0) { fprintf(stderr, "%s: %s is %s, not I64\n", REF_PATH, name, t->dtype); exit(1); }
    int64_t * a = (int64_t *) malloc(sizeof(int64_t) * (size_t) (t->numel ? t->numel : 1));
    if (!a) exit(1);
    memcpy(a, t->data, t->nbytes);
    if (numel) *numel = t->numel;
    return a;
}

static void check(const char * what, int ok) {
    n_checks++;
    if (!ok) n_fail++;
    printf("%-4s %s\n", ok ? "OK" : "FAIL", what);
}

// |got - want| <= tol * max(1, |want|) everywhere; prints the worst
static inline void check_close(const char * what, const float * got, const float * want, int64_t n, double tol) {
    double worst = 0.0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        const double e = fabs((double) got[i] - (double) want[i]) / fmax(1.0, fabs((double) want[i]));
        if (!(e <= worst)) { worst = e == e ? e : INFINITY; at = i; }
    }
    n_checks++;
    const int ok = worst <= tol;
    if (!ok) n_fail++;
    printf("%-4s %-56s max rel err %.3g", ok ? "OK" : "FAIL", what, worst);
    if (!ok) printf("  (at %lld: got %.9g want %.9g)", (long long) at, (double) got[at], (double) want[at]);
    printf("\n");
}

static int finish(const char * name) {
    printf("%s: %d checks, %d failed\n", name, n_checks, n_fail);
    if (ref_file) alrp_st_close(ref_file);
    return n_fail ? 1 : 0;
}

// a small deterministic generator (xorshift64*) for the random cases
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline double rng_uniform(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double) ((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
