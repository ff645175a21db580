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

// ---- FMA peak: per thread PEAK_CHAINS independent accumulators, FMAs only, PEAK_EPR floats
// wide: the register alrp.h's SIMD layer picks under the same conditions (that layer is private
// to the implementation, compiled once in alrp.o, so the benchmarks spell out their own loop)
#define PEAK_CHAINS 24
#define PEAK_ITERS  (1 << 20)

#if defined(__AVX512F__)
#include <immintrin.h>
#define PEAK_EPR 16
typedef __m512 peak_vec;
#define PEAK_SET1(x)       _mm512_set1_ps(x)
#define PEAK_FMA(a, b, c)  _mm512_fmadd_ps(a, b, c)
#define PEAK_ADD(a, b)     _mm512_add_ps(a, b)
#define PEAK_REDUCE(v)     _mm512_reduce_add_ps(v)
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define PEAK_EPR 8
typedef __m256 peak_vec;
#define PEAK_SET1(x)       _mm256_set1_ps(x)
#define PEAK_FMA(a, b, c)  _mm256_fmadd_ps(a, b, c)
#define PEAK_ADD(a, b)     _mm256_add_ps(a, b)
#define PEAK_REDUCE(v)     peak_reduce256(v)
static float peak_reduce256(__m256 v) { float f[8]; _mm256_storeu_ps(f, v); return f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7]; }
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#define PEAK_EPR 4
typedef float32x4_t peak_vec;
#define PEAK_SET1(x)       vdupq_n_f32(x)
#define PEAK_FMA(a, b, c)  vfmaq_f32(c, a, b)
#define PEAK_ADD(a, b)     vaddq_f32(a, b)
#define PEAK_REDUCE(v)     (vgetq_lane_f32(v, 0) + vgetq_lane_f32(v, 1) + vgetq_lane_f32(v, 2) + vgetq_lane_f32(v, 3))
#else
#define PEAK_EPR 1
typedef float peak_vec;
#define PEAK_SET1(x)       (x)
#define PEAK_FMA(a, b, c)  ((a) * (b) + (c))
#define PEAK_ADD(a, b)     ((a) + (b))
#define PEAK_REDUCE(v)     (v)
#endif
#if defined(__clang__)
#define PEAK_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define PEAK_UNROLL _Pragma("GCC unroll 32")
#else
#define PEAK_UNROLL
#endif

static void peak_worker(void * arg, int ith, int nth) {
    (void) nth;
    float * out = (float *) arg;
    peak_vec acc[PEAK_CHAINS];
    const peak_vec m = PEAK_SET1(0.999999f), a = PEAK_SET1(1e-7f);
    for (int i = 0; i < PEAK_CHAINS; i++) acc[i] = PEAK_SET1((float) (i + ith));
    for (int it = 0; it < PEAK_ITERS; it++) {
        PEAK_UNROLL for (int i = 0; i < PEAK_CHAINS; i++) acc[i] = PEAK_FMA(acc[i], m, a);
    }
    peak_vec s = acc[0];
    for (int i = 1; i < PEAK_CHAINS; i++) s = PEAK_ADD(s, acc[i]);
    out[ith % 64] = PEAK_REDUCE(s);   // keeps the loop alive
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
        if (t < best) best = t;
        total += t;
    }
    return 2.0 * PEAK_EPR * PEAK_CHAINS * (double) PEAK_ITERS * alrp_threadpool_n_threads(tp) / best * 1e-9;
}
#endif
