// Shared by the benchmarks (include after alrp.h): a monotonic clock and the machine's FP32 FMA
// peak, measured in the same run as the kernels it is compared with.
#ifndef ALRP_BENCH_COMMON_H
#define ALRP_BENCH_COMMON_H
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

// ---- FMA peak: per thread PEAK_CHAINS independent accumulators, FMAs only
#define PEAK_CHAINS 24
#define PEAK_ITERS  (1 << 20)

static void peak_worker(void * arg, int ith, int nth) {
    (void) nth;
    float * out = (float *) arg;
    ALRP_F32_VEC acc[PEAK_CHAINS];
    const ALRP_F32_VEC m = ALRP_F32_VEC_SET1(0.999999f), a = ALRP_F32_VEC_SET1(1e-7f);
    for (int i = 0; i < PEAK_CHAINS; i++) acc[i] = ALRP_F32_VEC_SET1((float) (i + ith));
    for (int it = 0; it < PEAK_ITERS; it++) {
        ALRP__UNROLL for (int i = 0; i < PEAK_CHAINS; i++) acc[i] = ALRP_F32_VEC_FMA(acc[i], m, a);
    }
    ALRP_F32_VEC s = acc[0];
    for (int i = 1; i < PEAK_CHAINS; i++) s = ALRP_F32_VEC_ADD(s, acc[i]);
    out[ith % 64] = ALRP_F32_VEC_REDUCE(s);   // keeps the loop alive
}

// GFLOP/s on all of tp's threads: best of many ~7 ms runs over >= 0.3 s, so that a short
// disturbance does not count
static double measure_peak(struct alrp_threadpool * tp) {
    float out[64];
    double best = 1e30, total = 0.0;
    for (int rep = 0; rep < 200 && (rep < 10 || total < 0.3); rep++) {
        const double t0 = now_s();
        alrp_threadpool_run(tp, peak_worker, out);
        const double t = now_s() - t0;
        best = ALRP_MIN(best, t);
        total += t;
    }
    return 2.0 * ALRP_F32_EPR * PEAK_CHAINS * (double) PEAK_ITERS * alrp_threadpool_n_threads(tp) / best * 1e-9;
}
#endif
