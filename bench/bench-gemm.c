// Benchmark of alrp_gemm_f32: GFLOP/s and % of the FP32 FMA peak measured in the same run (an
// FMA-throughput loop with independent accumulator chains per thread), for square, skinny and
// small shapes and all four transpositions, at 1 and 2 threads (or the counts given).
// Times are the best of several runs (the machine may be shared). Usage: bench-gemm [n_threads ...]
#define ALRP_INTERNAL   // the kernel info
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench-common.h"

struct shape { const char * what; int64_t M, N, K; };
static const struct shape shapes[] = {
    { "square",              1024, 1024, 1024 },
    { "square, large",       2048, 2048, 2048 },
    { "linear 4096x256x1024", 4096,  256, 1024 },
    { "skinny N",            2048,   64, 2048 },
    { "skinny M",              64, 4096, 2048 },
    { "small",                128,  128,  128 },
    { "odd",                  999,  777,  555 },
};

static float * rand_buf(int64_t n) {
    float * p = (float *) malloc(sizeof(float) * (size_t) n);
    uint32_t s = 777u;
    for (int64_t i = 0; i < n; i++) { s = s * 1664525u + 1013904223u; p[i] = (float) (s >> 8) / 8388608.0f - 1.0f; }
    return p;
}

int main(int argc, char ** argv) {
    int nts[8], n_nts = 0;
    for (int i = 1; i < argc && n_nts < 8; i++) { const int v = atoi(argv[i]); if (v >= 1 && v < 64) nts[n_nts++] = v; }
    if (n_nts == 0) { nts[0] = 1; nts[1] = 2; n_nts = 2; }
    int gemm[5];
    const char * simd = alrp__kernel_info(gemm);
    printf("bench-gemm: SIMD %s, micro-tile %dx%d, KC %d MC %d NC %d; best of up to 10 runs\n",
           simd, gemm[0], gemm[1], gemm[2], gemm[3], gemm[4]);
    for (int t = 0; t < n_nts; t++) {
        struct alrp_threadpool * tp = alrp_threadpool_new(nts[t]);
        const double peak = measure_peak(tp);
        printf("\n== %d thread%s: measured FP32 FMA peak %.1f GFLOP/s\n", nts[t], nts[t] > 1 ? "s" : "", peak);
        for (int s = 0; s < (int) (sizeof(shapes) / sizeof(shapes[0])); s++) {
            const struct shape * sh = &shapes[s];
            float * A = rand_buf(sh->M * sh->K), * B = rand_buf(sh->K * sh->N), * C = rand_buf(sh->M * sh->N);
            void * work = malloc(alrp_gemm_work_size(sh->M, sh->N, sh->K, nts[t]));
            const double flop = 2.0 * (double) sh->M * (double) sh->N * (double) sh->K;
            for (int tr = 0; tr < 4; tr++) {
                const bool ta = tr & 1, tb = tr & 2;
                double best = 1e30, total = 0.0;
                for (int rep = 0; rep < 11 && (rep < 4 || total < 1.0); rep++) {
                    const double t0 = now_s();
                    alrp_gemm_f32(tp, ta, tb, sh->M, sh->N, sh->K, 1.0f, A, ta ? sh->M : sh->K, B, tb ? sh->K : sh->N,
                                  0.0f, C, sh->N, work);
                    const double el = now_s() - t0;
                    if (rep > 0) best = fmin(best, el);
                    total += el;
                }
                printf("  %-22s M=%-5lld N=%-5lld K=%-5lld %s%s  %8.3f ms %7.1f GFLOP/s %5.1f%% of peak\n", sh->what,
                       (long long) sh->M, (long long) sh->N, (long long) sh->K, ta ? "A^T" : "A  ", tb ? " B^T" : " B  ",
                       best * 1e3, flop / best * 1e-9, 100.0 * flop / best * 1e-9 / peak);
            }
            free(A); free(B); free(C); free(work);
        }
        alrp_threadpool_free(tp);
    }
    return 0;
}
