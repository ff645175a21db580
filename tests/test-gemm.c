// GEMM: alrp_gemm_f32 against the naive reference alrp__gemm_f32_naive on many shapes (sizes 1,
// odd sizes, sizes across the MR/NR/KC/MC/NC block edges), all four transposition combinations,
// padded leading dimensions, alpha/beta (beta == 0 must ignore NaN garbage in C), K == 0, and
// 1, 2 and 3 threads, with and without a caller workspace. Also checks that C's row padding
// (columns N .. ldc) is never written. Exits non-zero on any mismatch.
#define ALRP_INTERNAL   // the naive reference GEMM, the kernel info
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX(a, b) ((a) > (b) ? (a) : (b))

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float frand(void) {   // uniform in [-1, 1)
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (float) ((rng_state >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

static int n_fail = 0, n_ok = 0;

static void run_case(struct alrp_threadpool * tp, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                     float alpha, float beta, int64_t pad, bool give_work) {
    const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    const int64_t na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb, nc = M * ldc;
    float * A = malloc(sizeof(float) * (size_t) MAX(na, 1));
    float * B = malloc(sizeof(float) * (size_t) MAX(nb, 1));
    float * C = malloc(sizeof(float) * (size_t) nc);
    float * R = malloc(sizeof(float) * (size_t) nc);
    for (int64_t i = 0; i < na; i++) A[i] = frand();
    for (int64_t i = 0; i < nb; i++) B[i] = frand();
    for (int64_t i = 0; i < nc; i++) C[i] = R[i] = beta == 0.0f ? NAN : frand();
    for (int64_t i = 0; i < M; i++) for (int64_t j = N; j < ldc; j++) C[i * ldc + j] = R[i * ldc + j] = 1234.5f;
    void * work = NULL;
    if (give_work) work = malloc(alrp_gemm_work_size(M, N, K, alrp_threadpool_n_threads(tp)));
    alrp_gemm_f32(tp, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, work);
    alrp__gemm_f32_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    double err = 0.0, mag = 0.0;
    bool pad_ok = true;
    for (int64_t i = 0; i < M; i++) {
        for (int64_t j = 0; j < N; j++) {
            const double e = fabs((double) C[i * ldc + j] - (double) R[i * ldc + j]);
            err = isnan(e) ? INFINITY : MAX(err, e);
            mag = MAX(mag, fabs((double) R[i * ldc + j]));
        }
        for (int64_t j = N; j < ldc; j++) pad_ok = pad_ok && C[i * ldc + j] == 1234.5f;
    }
    const double rel = err / MAX(mag, 1.0);
    const bool ok = rel <= 1e-5 && pad_ok;
    if (!ok || getenv("VERBOSE"))
        printf("%s gemm nt=%d ta=%d tb=%d M=%lld N=%lld K=%lld alpha=%g beta=%g pad=%lld work=%d: max err %.3g (rel %.3g)%s\n",
               ok ? "OK  " : "FAIL", alrp_threadpool_n_threads(tp), ta, tb, (long long) M, (long long) N, (long long) K,
               alpha, beta, (long long) pad, give_work, err, rel, pad_ok ? "" : " (wrote into C's row padding)");
    ok ? n_ok++ : n_fail++;
    free(A); free(B); free(C); free(R); free(work);
}

int main(void) {
    struct alrp_threadpool * pools[3] = { NULL, alrp_threadpool_new(2), alrp_threadpool_new(3) };
    static const int64_t shapes[][3] = {
        {1, 1, 1}, {1, 1, 7}, {1, 17, 1}, {19, 1, 3}, {1, 40, 33}, {33, 1, 40},
        {2, 3, 4}, {5, 7, 3}, {12, 32, 8}, {11, 31, 9}, {13, 33, 257}, {25, 65, 256},
        {24, 64, 512}, {37, 29, 300}, {7, 100, 31}, {100, 7, 31}, {64, 147, 20},
        {70, 530, 17}, {800, 20, 9}, {130, 90, 600},
        {3, 5, 2100}, {20, 40, 1600}, {1, 1, 1100},    // small C, long K: cut along K on threads
    };
    const int n_shapes = (int) (sizeof(shapes) / sizeof(shapes[0]));
    for (int s = 0; s < n_shapes; s++) {
        for (int t = 0; t < 4; t++) {
            const int p = (s + t) % 3;
            run_case(pools[p], t & 1, t & 2, shapes[s][0], shapes[s][1], shapes[s][2], 1.0f, 0.0f, 0, s % 2);
            run_case(pools[(p + 1) % 3], t & 1, t & 2, shapes[s][0], shapes[s][1], shapes[s][2], -0.75f, 1.0f, 3, true);
            run_case(pools[(p + 2) % 3], t & 1, t & 2, shapes[s][0], shapes[s][1], shapes[s][2], 2.0f, 0.5f, 1, false);
        }
    }
    // K == 0: C = beta C
    for (int p = 0; p < 3; p++) {
        run_case(pools[p], false, false, 9, 35, 0, 1.0f, 0.0f, 0, false);
        run_case(pools[p], true, true, 9, 35, 0, 1.0f, 0.5f, 2, true);
    }
    // alpha == 0: A and B are not read, so infinities in them must not turn C into NaN
    for (int p = 0; p < 3; p++) {
        const int64_t M = 7, N = 40, K = 13;
        float A[7 * 13], B[13 * 40], C[7 * 40];
        for (int i = 0; i < M * K; i++) A[i] = INFINITY;
        for (int i = 0; i < K * N; i++) B[i] = 1.0f;
        for (int i = 0; i < M * N; i++) C[i] = (float) i;
        alrp_gemm_f32(pools[p], false, false, M, N, K, 0.0f, A, K, B, N, 0.5f, C, N, NULL);
        bool ok = true;
        for (int i = 0; i < M * N; i++) ok = ok && C[i] == 0.5f * (float) i;
        printf("%s gemm nt=%d alpha=0 with inf in A: C = beta C\n", ok ? "OK  " : "FAIL", alrp_threadpool_n_threads(pools[p]));
        ok ? n_ok++ : n_fail++;
    }
    // a larger square one, threaded
    run_case(pools[1], false, false, 256, 256, 256, 1.0f, 0.0f, 0, true);
    run_case(pools[2], true, false, 200, 300, 260, 1.0f, 1.0f, 0, false);
    for (int p = 1; p < 3; p++) alrp_threadpool_free(pools[p]);
    int gemm[5];
    const char * simd = alrp__kernel_info(gemm);
    printf("gemm: %d OK, %d FAIL (SIMD: %s, micro-tile %dx%d)\n", n_ok, n_fail, simd, gemm[0], gemm[1]);
    return n_fail ? 1 : 0;
}
