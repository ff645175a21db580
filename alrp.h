// alrp.h - v0.1 - a header-only tensor/autograd library for training one-stage detectors
//          with the aLRP loss (NeurIPS 2020), in C11. Public domain / MIT, see end of file.
//
// Do this:
//     #define ALRP_IMPLEMENTATION
// before you include this file in *one* C file to create the implementation.
//
//     // i.e. it should look like this:
//     #include ...
//     #define ALRP_IMPLEMENTATION
//     #include "alrp.h"
//
// Optional config macros (define before the implementation include):
//     ALRP_ASSERT(x)          assert used by the library (default: prints and aborts)
//     ALRP_MALLOC(sz)/ALRP_FREE(p)  allocator for context buffers (default malloc/free)
//     ALRP_NO_SIMD            use the scalar fallback instead of AVX-512/AVX2/NEON
//     ALRP_STATIC             make every function static (private to the including file)
//
// Conventions:
//     * f32 tensors, up to 4 dims, in PyTorch's dimension order: ne[0] is the OUTERMOST
//       dimension (N of NCHW), ne[n_dims-1] the innermost, contiguous one. Conv weights are
//       (O, I/groups, kH, kW), as in PyTorch, so reference tensors compare without transposes.
//     * Contexts are arenas: alrp_init() owns one block, tensors and graphs are bump-allocated
//       in it, alrp_free() releases it. Keep parameters in one context, per-step activations in
//       another that is reset each iteration.
//     * Graphs are lazy: op builders record nodes; alrp_build_forward / alrp_build_backward make
//       the graph, a backend computes it.
//
// Usage example, f(x) = a*x^2 + b and its gradient:
//
//     struct alrp_init_params ip = { .mem_size = 16*1024*1024 };
//     struct alrp_context * ctx = alrp_init(ip);
//     struct alrp_tensor * x = alrp_new_tensor_1d(ctx, 1);  alrp_set_param(ctx, x);
//     struct alrp_tensor * a = alrp_new_tensor_1d(ctx, 1);
//     struct alrp_tensor * b = alrp_new_tensor_1d(ctx, 1);
//     struct alrp_tensor * f = alrp_add(ctx, alrp_mul(ctx, a, alrp_mul(ctx, x, x)), b);
//     alrp_set_loss(ctx, f);
//     struct alrp_graph * gf = alrp_new_graph(ctx, 64);
//     alrp_build_forward(gf, f);
//     alrp_build_backward(ctx, gf);        // appends the backward nodes to the same graph
//     alrp_set_f32_1d(x, 0, 2.0f); alrp_set_f32_1d(a, 0, 3.0f); alrp_set_f32_1d(b, 0, 4.0f);
//     alrp_graph_reset_grads(gf);          // zero the gradients, seed d(loss) = 1
//     alrp_graph_compute(gf, 2);           // 2 threads
//     printf("f = %f, df/dx = %f\n", alrp_get_f32_1d(f, 0), alrp_get_f32_1d(alrp_graph_grad(gf, x), 0));
//     // f = 16.0, df/dx = 12.0
//     alrp_free(ctx);
//
// Sections (search for "// ====="):
//     declarations: core, threads, tensors, ops, graphs, backends, optimizers, io, losses
//     implementation: core/arena, threads, SIMD, GEMM + conv kernels, tensors+ops, graph +
//     autograd, CPU ops, ranking losses, optimizers, io (safetensors)

#ifndef ALRP_H
#define ALRP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef ALRP_STATIC
#define ALRPDEF static
#else
#define ALRPDEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

// ============================================================================================
// ===== declarations: threads
// ============================================================================================

// A fixed pool of worker threads. alrp_threadpool_run(tp, fn, arg) runs fn(arg, ith, nth) on
// all nth threads (the caller is ith = 0) and returns when every thread has finished. Inside
// fn, alrp_threadpool_barrier(tp) waits until all nth threads reach it.
struct alrp_threadpool;
typedef void (*alrp_thread_fn)(void * arg, int ith, int nth);

ALRPDEF struct alrp_threadpool * alrp_threadpool_new(int n_threads);
ALRPDEF void alrp_threadpool_free(struct alrp_threadpool * tp);
ALRPDEF int  alrp_threadpool_n_threads(const struct alrp_threadpool * tp);
ALRPDEF void alrp_threadpool_run(struct alrp_threadpool * tp, alrp_thread_fn fn, void * arg);
ALRPDEF void alrp_threadpool_barrier(struct alrp_threadpool * tp);
// number of online CPU cores (>= 1)
ALRPDEF int  alrp_n_cores(void);

// ============================================================================================
// ===== declarations: GEMM and conv kernels (raw arrays)
// ============================================================================================

// Dense f32 kernels on plain row-major arrays with PyTorch layouts; the graph ops matmul and
// conv2d call these. Every kernel:
//   * takes a thread pool `tp` and runs on all of its threads (tp == NULL: the calling thread);
//   * takes a workspace `work` of at least the bytes that the matching *_work_size() query
//     returns for the same shape and the pool's thread count (alrp_threadpool_n_threads(tp),
//     which is 1 for NULL); any alignment will do. work == NULL makes the kernel malloc and
//     free its own: pass one in training loops so that steps never allocate. A workspace may
//     be reused by later calls (of any kernel it is big enough for), not by concurrent ones;
//   * takes `beta`: 0 overwrites the output without reading it (NaN garbage does not leak),
//     1 accumulates into it (any other value scales the old contents);
//   * needs outputs that do not overlap its inputs.
// Bad arguments stop the program with a one-line message that names the bad value.
//
//     size_t ws = alrp_conv2d_work_size(&d, alrp_threadpool_n_threads(tp));
//     void * work = malloc(ws);                                    // once, outside the loop
//     alrp_conv2d_f32(tp, &d, x, w, b, 0.0f, y, work);                        // forward
//     alrp_conv2d_backward_data_f32(tp, &d, dy, w, 1.0f, dx, work);            // dx += ...
//     alrp_conv2d_backward_weight_f32(tp, &d, x, dy, 1.0f, dw, db, work);      // dw, db += ...
//
// Speed (2-core Zen 4, AVX-512; bench/bench-conv, bench/bench-gemm): a packed GEMM with a
// 12x32 micro-kernel (~98% of the FMA peak alone); convs are batched GEMMs with im2col done
// while packing (no column matrix in memory), 1x1 stride-1 convs skip im2col, stride-1 data
// gradients run as a forward conv with the flipped weight, strided ones use GEMM + col2im, and
// 3x3 stride-1 weight gradients with <= 32 output channels per group use a direct kernel.

// C (M, N) = alpha * op(A) @ op(B) + beta * C, all row-major.
// op(A) is (M, K): A is (M, K) with row stride lda, or (K, M) when trans_a.
// op(B) is (K, N): B is (K, N) with row stride ldb, or (N, K) when trans_b. C has row stride ldc.
// K == 0 or alpha == 0 gives C = beta * C (A and B are then not read).
ALRPDEF size_t alrp_gemm_work_size(int64_t M, int64_t N, int64_t K, int n_threads);
ALRPDEF void   alrp_gemm_f32(struct alrp_threadpool * tp, bool trans_a, bool trans_b,
                             int64_t M, int64_t N, int64_t K,
                             float alpha, const float * A, int64_t lda, const float * B, int64_t ldb,
                             float beta, float * C, int64_t ldc, void * work);

// 2-D convolution as in torch.nn.functional.conv2d (cross-correlation, zero padding).
struct alrp_conv2d_desc {
    int64_t n, c, h, w;         // input x (N, C, H, W)
    int64_t o, kh, kw;          // weight w (O, C/groups, kH, kW), bias (O)
    int64_t sh, sw;             // stride      (>= 1)
    int64_t ph, pw;             // zero padding (>= 0)
    int64_t dh, dw;             // dilation    (>= 1)
    int64_t groups;             // >= 1, divides C and O (groups == C == O: depthwise)
};
// OH = (H + 2 ph - dh (kH - 1) - 1) / sh + 1, and likewise OW.
ALRPDEF int64_t alrp_conv2d_out_h(const struct alrp_conv2d_desc * d);
ALRPDEF int64_t alrp_conv2d_out_w(const struct alrp_conv2d_desc * d);
// true when d describes a valid conv (positive sizes, groups divide C and O, output >= 1x1);
// otherwise false with a one-line reason in err (err may be NULL).
ALRPDEF bool    alrp_conv2d_check(const struct alrp_conv2d_desc * d, char * err, size_t err_size);
// bytes of workspace enough for each of the three conv kernels below with d and n_threads
ALRPDEF size_t  alrp_conv2d_work_size(const struct alrp_conv2d_desc * d, int n_threads);

// y (N, O, OH, OW) = beta * y + conv(x (N, C, H, W), w (O, C/g, kH, kW)) + b (O); b may be NULL.
ALRPDEF void alrp_conv2d_f32(struct alrp_threadpool * tp, const struct alrp_conv2d_desc * d,
                             const float * x, const float * w, const float * b,
                             float beta, float * y, void * work);
// dx (N, C, H, W) = beta * dx + conv_transpose(dy (N, O, OH, OW), w (O, C/g, kH, kW))
ALRPDEF void alrp_conv2d_backward_data_f32(struct alrp_threadpool * tp, const struct alrp_conv2d_desc * d,
                                           const float * dy, const float * w,
                                           float beta, float * dx, void * work);
// dw (O, C/g, kH, kW) = beta * dw + sum over N, OH, OW of dy (x) im2col(x);
// db (O) = beta * db + sum over N, OH, OW of dy (db may be NULL: skipped)
ALRPDEF void alrp_conv2d_backward_weight_f32(struct alrp_threadpool * tp, const struct alrp_conv2d_desc * d,
                                             const float * x, const float * dy,
                                             float beta, float * dw, float * db, void * work);

// Naive references (direct loops, double accumulators, single thread): what the tests compare
// the fast kernels with. Same arguments and semantics as the kernels above.
ALRPDEF void alrp__gemm_f32_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                                  float alpha, const float * A, int64_t lda, const float * B, int64_t ldb,
                                  float beta, float * C, int64_t ldc);
ALRPDEF void alrp__conv2d_f32_naive(const struct alrp_conv2d_desc * d, const float * x, const float * w,
                                    const float * b, float beta, float * y);
ALRPDEF void alrp__conv2d_backward_data_f32_naive(const struct alrp_conv2d_desc * d, const float * dy,
                                                  const float * w, float beta, float * dx);
ALRPDEF void alrp__conv2d_backward_weight_f32_naive(const struct alrp_conv2d_desc * d, const float * x,
                                                    const float * dy, float beta, float * dw, float * db);

// ============================================================================================
// ===== declarations: ranking losses and box losses (raw arrays)
// ============================================================================================

#ifdef __cplusplus
}
#endif
#endif // ALRP_H

// ############################################################################################
// ############################################################################################
#ifdef ALRP_IMPLEMENTATION
#ifndef ALRP_IMPLEMENTATION_DONE
#define ALRP_IMPLEMENTATION_DONE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <float.h>
#include <stdatomic.h>
#include <pthread.h>
#include <unistd.h>
#include <sched.h>

#ifndef ALRP_ASSERT
#define ALRP_ASSERT(x) do { if (!(x)) { fprintf(stderr, "alrp: %s:%d: assertion failed: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)
#endif
// assertion with a message that tells the user what to do
#define ALRP_ASSERTM(x, ...) do { if (!(x)) { fprintf(stderr, "alrp: %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); abort(); } } while (0)
#ifndef ALRP_MALLOC
#define ALRP_MALLOC(sz) malloc(sz)
#define ALRP_FREE(p)    free(p)
#endif

#define ALRP_UNUSED(x) (void)(x)
#define ALRP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ALRP_MAX(a, b) ((a) > (b) ? (a) : (b))

// ============================================================================================
// ===== implementation: threads
// ============================================================================================

struct alrp_threadpool {
    int               n_threads;
    pthread_t       * threads;
    pthread_mutex_t   mutex;
    pthread_cond_t    cond_job;     // workers wait here for a new job
    pthread_cond_t    cond_done;    // the caller waits here for the workers
    alrp_thread_fn    fn;
    void            * arg;
    int64_t           job;          // job generation, bumped per run
    int               n_done;       // workers finished with the current job
    int               stop;
    atomic_int        bar_count;    // barrier: threads arrived in this phase
    atomic_int        bar_phase;    // barrier: generation
};

struct alrp__worker_arg { struct alrp_threadpool * tp; int ith; };

static void * alrp__worker_main(void * p) {
    struct alrp__worker_arg wa = *(struct alrp__worker_arg *) p;
    ALRP_FREE(p);
    struct alrp_threadpool * tp = wa.tp;
    int64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&tp->mutex);
        while (tp->job == seen && !tp->stop) pthread_cond_wait(&tp->cond_job, &tp->mutex);
        if (tp->stop) { pthread_mutex_unlock(&tp->mutex); return NULL; }
        seen = tp->job;
        alrp_thread_fn fn = tp->fn; void * arg = tp->arg;
        pthread_mutex_unlock(&tp->mutex);

        fn(arg, wa.ith, tp->n_threads);

        pthread_mutex_lock(&tp->mutex);
        if (++tp->n_done == tp->n_threads - 1) pthread_cond_signal(&tp->cond_done);
        pthread_mutex_unlock(&tp->mutex);
    }
}

ALRPDEF int alrp_n_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int) n;
}

ALRPDEF struct alrp_threadpool * alrp_threadpool_new(int n_threads) {
    if (n_threads < 1) n_threads = alrp_n_cores();
    struct alrp_threadpool * tp = (struct alrp_threadpool *) ALRP_MALLOC(sizeof(*tp));
    ALRP_ASSERT(tp);
    memset(tp, 0, sizeof(*tp));
    tp->n_threads = n_threads;
    pthread_mutex_init(&tp->mutex, NULL);
    pthread_cond_init(&tp->cond_job, NULL);
    pthread_cond_init(&tp->cond_done, NULL);
    atomic_init(&tp->bar_count, 0);
    atomic_init(&tp->bar_phase, 0);
    tp->threads = (pthread_t *) ALRP_MALLOC(sizeof(pthread_t) * (size_t) n_threads);
    ALRP_ASSERT(tp->threads);
    for (int i = 1; i < n_threads; i++) {
        struct alrp__worker_arg * wa = (struct alrp__worker_arg *) ALRP_MALLOC(sizeof(*wa));
        ALRP_ASSERT(wa);
        wa->tp = tp; wa->ith = i;
        int rc = pthread_create(&tp->threads[i], NULL, alrp__worker_main, wa);
        ALRP_ASSERTM(rc == 0, "pthread_create failed (%d): cannot start %d threads", rc, n_threads);
    }
    return tp;
}

ALRPDEF void alrp_threadpool_free(struct alrp_threadpool * tp) {
    if (!tp) return;
    pthread_mutex_lock(&tp->mutex);
    tp->stop = 1;
    pthread_cond_broadcast(&tp->cond_job);
    pthread_mutex_unlock(&tp->mutex);
    for (int i = 1; i < tp->n_threads; i++) pthread_join(tp->threads[i], NULL);
    pthread_mutex_destroy(&tp->mutex);
    pthread_cond_destroy(&tp->cond_job);
    pthread_cond_destroy(&tp->cond_done);
    ALRP_FREE(tp->threads);
    ALRP_FREE(tp);
}

ALRPDEF int alrp_threadpool_n_threads(const struct alrp_threadpool * tp) { return tp ? tp->n_threads : 1; }

ALRPDEF void alrp_threadpool_run(struct alrp_threadpool * tp, alrp_thread_fn fn, void * arg) {
    if (!tp || tp->n_threads == 1) { fn(arg, 0, 1); return; }
    pthread_mutex_lock(&tp->mutex);
    tp->fn = fn; tp->arg = arg; tp->n_done = 0; tp->job++;
    pthread_cond_broadcast(&tp->cond_job);
    pthread_mutex_unlock(&tp->mutex);

    fn(arg, 0, tp->n_threads);

    pthread_mutex_lock(&tp->mutex);
    while (tp->n_done < tp->n_threads - 1) pthread_cond_wait(&tp->cond_done, &tp->mutex);
    pthread_mutex_unlock(&tp->mutex);
}

// Spin barrier (sense via a phase counter); yields after a while so that oversubscribed
// machines make progress.
ALRPDEF void alrp_threadpool_barrier(struct alrp_threadpool * tp) {
    if (!tp || tp->n_threads == 1) return;
    int phase = atomic_load_explicit(&tp->bar_phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&tp->bar_count, 1, memory_order_acq_rel) == tp->n_threads - 1) {
        atomic_store_explicit(&tp->bar_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&tp->bar_phase, 1, memory_order_release);
        return;
    }
    for (int spin = 0; atomic_load_explicit(&tp->bar_phase, memory_order_acquire) == phase; spin++) {
        if (spin > 1000) sched_yield();
    }
}

// ============================================================================================
// ===== implementation: SIMD macro layer
// ============================================================================================
// ALRP_F32_EPR: floats per register; ALRP_F32_VEC: the register type. Primitives:
// LOAD/STORE (unaligned), SET1, ZERO, ADD, MUL, FMA(a, b, c) = a*b + c, MAX, REDUCE (sum).

#if !defined(ALRP_NO_SIMD) && defined(__AVX512F__)
#include <immintrin.h>
#define ALRP_SIMD_NAME "AVX-512"
#define ALRP_F32_EPR 16
#define ALRP_F32_VEC __m512
#define ALRP_F32_VEC_LOAD(p)      _mm512_loadu_ps(p)
#define ALRP_F32_VEC_STORE(p, v)  _mm512_storeu_ps(p, v)
#define ALRP_F32_VEC_SET1(x)      _mm512_set1_ps(x)
#define ALRP_F32_VEC_ZERO()       _mm512_setzero_ps()
#define ALRP_F32_VEC_ADD(a, b)    _mm512_add_ps(a, b)
#define ALRP_F32_VEC_MUL(a, b)    _mm512_mul_ps(a, b)
#define ALRP_F32_VEC_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define ALRP_F32_VEC_MAX(a, b)    _mm512_max_ps(a, b)
#define ALRP_F32_VEC_REDUCE(v)    _mm512_reduce_add_ps(v)
#elif !defined(ALRP_NO_SIMD) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define ALRP_SIMD_NAME "AVX2+FMA"
#define ALRP_F32_EPR 8
#define ALRP_F32_VEC __m256
#define ALRP_F32_VEC_LOAD(p)      _mm256_loadu_ps(p)
#define ALRP_F32_VEC_STORE(p, v)  _mm256_storeu_ps(p, v)
#define ALRP_F32_VEC_SET1(x)      _mm256_set1_ps(x)
#define ALRP_F32_VEC_ZERO()       _mm256_setzero_ps()
#define ALRP_F32_VEC_ADD(a, b)    _mm256_add_ps(a, b)
#define ALRP_F32_VEC_MUL(a, b)    _mm256_mul_ps(a, b)
#define ALRP_F32_VEC_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define ALRP_F32_VEC_MAX(a, b)    _mm256_max_ps(a, b)
static inline float alrp__reduce256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}
#define ALRP_F32_VEC_REDUCE(v)    alrp__reduce256(v)
#elif !defined(ALRP_NO_SIMD) && defined(__ARM_NEON)
#include <arm_neon.h>
#define ALRP_SIMD_NAME "NEON"
#define ALRP_F32_EPR 4
#define ALRP_F32_VEC float32x4_t
#define ALRP_F32_VEC_LOAD(p)      vld1q_f32(p)
#define ALRP_F32_VEC_STORE(p, v)  vst1q_f32(p, v)
#define ALRP_F32_VEC_SET1(x)      vdupq_n_f32(x)
#define ALRP_F32_VEC_ZERO()       vdupq_n_f32(0.0f)
#define ALRP_F32_VEC_ADD(a, b)    vaddq_f32(a, b)
#define ALRP_F32_VEC_MUL(a, b)    vmulq_f32(a, b)
#define ALRP_F32_VEC_FMA(a, b, c) vfmaq_f32(c, a, b)
#define ALRP_F32_VEC_MAX(a, b)    vmaxq_f32(a, b)
#define ALRP_F32_VEC_REDUCE(v)    vaddvq_f32(v)
#else
#define ALRP_SIMD_NAME "scalar"
#define ALRP_F32_EPR 1
#define ALRP_F32_VEC float
#define ALRP_F32_VEC_LOAD(p)      (*(p))
#define ALRP_F32_VEC_STORE(p, v)  (*(p) = (v))
#define ALRP_F32_VEC_SET1(x)      (x)
#define ALRP_F32_VEC_ZERO()       0.0f
#define ALRP_F32_VEC_ADD(a, b)    ((a) + (b))
#define ALRP_F32_VEC_MUL(a, b)    ((a) * (b))
#define ALRP_F32_VEC_FMA(a, b, c) ((a) * (b) + (c))
#define ALRP_F32_VEC_MAX(a, b)    ((a) > (b) ? (a) : (b))
#define ALRP_F32_VEC_REDUCE(v)    (v)
#endif

// ============================================================================================
// ===== implementation: GEMM and conv kernels (CPU)
// ============================================================================================

// Design (BLIS-style, for row-major C, so vectors run along N and A is broadcast):
//   tile of C (a range of rows, columns and KC slices of one batch item), on one thread:
//     for ic in MC rows:                       A block (MC x KC): MR-row micro-panels, k-major,
//       for kb in the tile's KC slices:          packed once per (ic, kb), or once per call
//         for jc in NC columns:                B block (KC x NC): NR-column micro-panels, k-major,
//           for each MR micro-panel of A         packed once per (ic, kb, jc); stays in L2
//             for each NR micro-panel of B     (the A micro-panel is reused across them)
//               micro-kernel: C (MR x NR) (+)= a (MR x kc) @ b (kc x NR), register-blocked
// Each thread takes a contiguous run of tiles and packs B (and usually A) into its own
// buffers, so tiles need no locks or barriers. The only shared data is A when it is the same
// for many tiles (conv weights): then all threads pack it once, in a phase before the tiles
// (see struct alrp__gemm_plan). The operands are "sources" that pack themselves: plain
// matrices (any transposition), a conv input read through im2col on the fly (the
// (C kH kW, OH OW) column matrix is never written out), its transpose for the weight gradient,
// and the flipped conv weight for the data gradient.
// Measured on the 2-core Zen 4 this was tuned on: the micro-kernel alone runs at ~98% of the
// FMA peak, the macro-kernel loop at ~96%; the rest of the gap is packing.

#if ALRP_F32_EPR == 16
#define ALRP__GEMM_MR  12       // 12 x 32 tile: 24 zmm accumulators + 2 for B + 1 broadcast
#define ALRP__GEMM_NRV 2
#elif ALRP_F32_EPR == 8
#define ALRP__GEMM_MR  6        // 6 x 16: 12 ymm accumulators (16 registers on AVX2)
#define ALRP__GEMM_NRV 2
#elif ALRP_F32_EPR == 4
#define ALRP__GEMM_MR  8        // 8 x 12: 24 of NEON's 32 q registers
#define ALRP__GEMM_NRV 3
#else
#define ALRP__GEMM_MR  4        // scalar 4 x 4
#define ALRP__GEMM_NRV 4
#endif
#define ALRP__GEMM_NR  (ALRP__GEMM_NRV * ALRP_F32_EPR)
// Blocking, tuned by interleaved best-of runs on the 2-core Zen 4 (1 MB L2 per core): a long
// k slice (the A micro-panel, 54 KB, then streams from L2 with B) means fewer passes over C,
// which beat keeping A in L1 by 1-2% on the conv shapes; 1152 = 128 channels x 3 x 3.
#ifndef ALRP__GEMM_KC
#define ALRP__GEMM_KC  1152                     // k slice
#endif
#ifndef ALRP__GEMM_MC
#define ALRP__GEMM_MC  (ALRP__GEMM_MR * 64)     // rows of A per block
#endif
#ifndef ALRP__GEMM_NC
#define ALRP__GEMM_NC  (ALRP__GEMM_NR * 2)      // columns of B per block: KC x NC (295 KB) in L2
#endif

#if defined(__clang__)
#define ALRP__UNROLL _Pragma("unroll")
#define ALRP__FORCE_INLINE static inline __attribute__((always_inline))
#elif defined(__GNUC__)
#define ALRP__UNROLL _Pragma("GCC unroll 32")
#define ALRP__FORCE_INLINE static inline __attribute__((always_inline))
#else
#define ALRP__UNROLL
#define ALRP__FORCE_INLINE static inline
#endif

#define ALRP__ROUNDUP(x, m) ((((x) + (m) - 1) / (m)) * (m))
#define ALRP__CEILDIV(x, m) (((x) + (m) - 1) / (m))

// With AVX-512 the short copies below use masked loads/stores: one pass, no scalar tails, and
// no loop that the compiler would turn into a memcpy call (a call per 32 floats is too slow).
#if !defined(ALRP_NO_SIMD) && defined(__AVX512F__)
#define ALRP__AVX512 1
static inline __mmask16 alrp__mask16(int64_t n) {   // lanes [0, n), n clamped to [0, 16]
    return n >= 16 ? (__mmask16) 0xFFFF : n <= 0 ? (__mmask16) 0 : (__mmask16) ((1u << n) - 1u);
}
#endif

// d[0..n) = s[0..n)
static inline void alrp__copy_f32(float * restrict d, const float * restrict s, int64_t n) {
#ifdef ALRP__AVX512
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = alrp__mask16(n - i);
        _mm512_mask_storeu_ps(d + i, m, _mm512_maskz_loadu_ps(m, s + i));
    }
#else
    int64_t i = 0;
    for (; i + ALRP_F32_EPR <= n; i += ALRP_F32_EPR) ALRP_F32_VEC_STORE(d + i, ALRP_F32_VEC_LOAD(s + i));
    for (; i < n; i++) d[i] = s[i];
#endif
}

// d[0..n) = 0
static inline void alrp__zero_f32(float * d, int64_t n) {
#ifdef ALRP__AVX512
    for (int64_t i = 0; i < n; i += 16) _mm512_mask_storeu_ps(d + i, alrp__mask16(n - i), _mm512_setzero_ps());
#else
    int64_t i = 0;
    for (; i + ALRP_F32_EPR <= n; i += ALRP_F32_EPR) ALRP_F32_VEC_STORE(d + i, ALRP_F32_VEC_ZERO());
    for (; i < n; i++) d[i] = 0.0f;
#endif
}

// d[0..n) *= beta (beta == 0: = 0, without reading d)
static void alrp__scale_f32(float * d, int64_t n, float beta) {
    if (beta == 1.0f) return;
    if (beta == 0.0f) { alrp__zero_f32(d, n); return; }
    for (int64_t i = 0; i < n; i++) d[i] *= beta;
}

// Micro-kernel. a: packed A micro-panel (kc, MR); b: packed B micro-panel (kc, NR);
// c: C tile (mr, nr) with row stride ldc, mr <= MR and nr <= NR.
// c = alpha * a @ b + beta * c + bias[r] (bias: mr values or NULL; beta == 0: c not read).
// mr is a compile-time constant in each instance (alrp__ukr_1 ... alrp__ukr_MR below).
ALRP__FORCE_INLINE void alrp__ukr(const int mr, int64_t kc, const float * restrict a, const float * restrict b,
                                  float * restrict c, int64_t ldc, int nr, float alpha, float beta,
                                  const float * bias) {
    ALRP_F32_VEC acc[ALRP__GEMM_MR][ALRP__GEMM_NRV];
    ALRP__UNROLL for (int r = 0; r < mr; r++) {
        ALRP__UNROLL for (int v = 0; v < ALRP__GEMM_NRV; v++) acc[r][v] = ALRP_F32_VEC_ZERO();
    }
    for (int64_t k = 0; k < kc; k++) {
        ALRP_F32_VEC bv[ALRP__GEMM_NRV];
        ALRP__UNROLL for (int v = 0; v < ALRP__GEMM_NRV; v++) bv[v] = ALRP_F32_VEC_LOAD(b + v * ALRP_F32_EPR);
        ALRP__UNROLL for (int r = 0; r < mr; r++) {
            ALRP_F32_VEC av = ALRP_F32_VEC_SET1(a[r]);
            ALRP__UNROLL for (int v = 0; v < ALRP__GEMM_NRV; v++) acc[r][v] = ALRP_F32_VEC_FMA(av, bv[v], acc[r][v]);
        }
        a += ALRP__GEMM_MR;
        b += ALRP__GEMM_NR;
    }
    if (nr == ALRP__GEMM_NR) {
        const ALRP_F32_VEC va = ALRP_F32_VEC_SET1(alpha), vb = ALRP_F32_VEC_SET1(beta);
        ALRP__UNROLL for (int r = 0; r < mr; r++) {
            ALRP__UNROLL for (int v = 0; v < ALRP__GEMM_NRV; v++) {
                float * cp = c + r * ldc + v * ALRP_F32_EPR;
                ALRP_F32_VEC t = acc[r][v];
                if (alpha != 1.0f) t = ALRP_F32_VEC_MUL(t, va);
                if (beta == 1.0f)      t = ALRP_F32_VEC_ADD(t, ALRP_F32_VEC_LOAD(cp));
                else if (beta != 0.0f) t = ALRP_F32_VEC_FMA(ALRP_F32_VEC_LOAD(cp), vb, t);
                if (bias) t = ALRP_F32_VEC_ADD(t, ALRP_F32_VEC_SET1(bias[r]));
                ALRP_F32_VEC_STORE(cp, t);
            }
        }
    } else {
        float tmp[ALRP__GEMM_MR * ALRP__GEMM_NR];
        ALRP__UNROLL for (int r = 0; r < mr; r++) {
            ALRP__UNROLL for (int v = 0; v < ALRP__GEMM_NRV; v++) ALRP_F32_VEC_STORE(tmp + r * ALRP__GEMM_NR + v * ALRP_F32_EPR, acc[r][v]);
        }
        for (int r = 0; r < mr; r++) {
            float * cp = c + r * ldc;
            const float * tp = tmp + r * ALRP__GEMM_NR;
            const float bi = bias ? bias[r] : 0.0f;
            for (int j = 0; j < nr; j++) cp[j] = alpha * tp[j] + (beta == 0.0f ? 0.0f : beta * cp[j]) + bi;
        }
    }
}

typedef void (*alrp__ukr_fn)(int64_t kc, const float * a, const float * b, float * c, int64_t ldc, int nr,
                             float alpha, float beta, const float * bias);
#define ALRP__UKR_DEF(R) \
    static void alrp__ukr_##R(int64_t kc, const float * a, const float * b, float * c, int64_t ldc, int nr, \
                              float alpha, float beta, const float * bias) { \
        alrp__ukr(R, kc, a, b, c, ldc, nr, alpha, beta, bias); \
    }
ALRP__UKR_DEF(1) ALRP__UKR_DEF(2) ALRP__UKR_DEF(3) ALRP__UKR_DEF(4)
#if ALRP__GEMM_MR >= 6
ALRP__UKR_DEF(5) ALRP__UKR_DEF(6)
#endif
#if ALRP__GEMM_MR >= 8
ALRP__UKR_DEF(7) ALRP__UKR_DEF(8)
#endif
#if ALRP__GEMM_MR >= 12
ALRP__UKR_DEF(9) ALRP__UKR_DEF(10) ALRP__UKR_DEF(11) ALRP__UKR_DEF(12)
#endif
static const alrp__ukr_fn alrp__ukr_table[ALRP__GEMM_MR + 1] = {
    NULL, alrp__ukr_1, alrp__ukr_2, alrp__ukr_3, alrp__ukr_4,
#if ALRP__GEMM_MR >= 6
    alrp__ukr_5, alrp__ukr_6,
#endif
#if ALRP__GEMM_MR >= 8
    alrp__ukr_7, alrp__ukr_8,
#endif
#if ALRP__GEMM_MR >= 12
    alrp__ukr_9, alrp__ukr_10, alrp__ukr_11, alrp__ukr_12,
#endif
};

// ---- operand sources ----------------------------------------------------------------------
// A GEMM operand is seen as a (rows, K) matrix X: rows are the M rows of op(A) for the A side,
// and the N columns of op(B) for the B side. A source packs a block X[r0 .. r0 + nr, p0 .. p0 + kc)
// into ceil(nr / W) micro-panels of W rows, k-major:
//     dst[(panel * kc + k) * W + t] = X(r0 + panel * W + t, p0 + k), 0 for rows past nr.

enum alrp__src_kind {
    ALRP__SRC_MAT,      // a strided matrix
    ALRP__SRC_IM2COL,   // X(j = (oh, ow), k = (c, ki, kj)) = x[c, oh sh - ph + ki dh, ow sw - pw + kj dw]
    ALRP__SRC_COLT,     // X(j = (c, ki, kj), k = (n, oh, ow)) = the same element of image n
    ALRP__SRC_FLIPW,    // X(c, k = (o, ki, kj)) = w[o, c, kH-1-ki, kW-1-kj] of group b2: conv weight
                        // (O, Cg, kH, kW) at p, flipped for the stride-1 data gradient
};

// conv geometry for the im2col sources; image (C', H, W) of batch item (b1, b2) at
// x + b1 * xs1 + b2 * xs2 (COLT: the image index n comes from K and adds n * xs1)
struct alrp__cgeo {
    const float * x;
    int64_t xs1, xs2;
    int64_t h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
};

struct alrp__src {
    enum alrp__src_kind kind;
    // MAT: X(r, k) of batch (b1, b2) at p + b1 s1 + b2 s2 + (kmajor ? k ld + r : r ld + k).
    // With kcat > 0 (row-major only) K runs over several images: k = n kcat + q adds n kcat_s
    // and uses q in place of k.
    const float * p;
    int64_t ld, s1, s2, kcat, kcat_s;
    bool kmajor;
    const struct alrp__cgeo * geo;  // IM2COL, COLT
    int64_t og, cg, khw;            // FLIPW: group sizes, kernel taps
};

// d[t] = row[iw0 + t s] where 0 <= iw0 + t s < w, else 0, for t in [0, run)
ALRP__FORCE_INLINE void alrp__gather_row(float * restrict d, const float * restrict row, int64_t w, int64_t iw0, int64_t s, int64_t run) {
#ifdef ALRP__AVX512
    if (s == 1) {
        for (int64_t t = 0; t < run; t += 16) {   // lanes i valid when 0 <= iw0 + t + i < w
            const int64_t b = iw0 + t;
            if (b >= 0 && b + 16 <= w && t + 16 <= run) { _mm512_storeu_ps(d + t, _mm512_loadu_ps(row + b)); continue; }
            // partial masks make Zen 4 loads ~2x slower: only at the edges
            const __mmask16 m = (__mmask16) (alrp__mask16(ALRP_MIN(w - b, run - t)) & ~alrp__mask16(-b));
            _mm512_mask_storeu_ps(d + t, alrp__mask16(run - t), _mm512_maskz_loadu_ps(m, row + b));
        }
        return;
    }
    if (s == 2) {
        const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
        for (int64_t t = 0; t < run; t += 16) {   // d[t + i] = row[b + 2 i], b = iw0 + 2 t
            const int64_t b = iw0 + 2 * t;
            const __mmask16 m0 = (__mmask16) (alrp__mask16(w - b) & ~alrp__mask16(-b));
            const __mmask16 m1 = (__mmask16) (alrp__mask16(w - b - 16) & ~alrp__mask16(-b - 16));
            const __m512 v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m0, row + b), even, _mm512_maskz_loadu_ps(m1, row + b + 16));
            _mm512_mask_storeu_ps(d + t, alrp__mask16(run - t), v);
        }
        return;
    }
#endif
    int64_t lo = iw0 >= 0 ? 0 : (-iw0 + s - 1) / s;
    int64_t hi = iw0 >= w ? 0 : (w - iw0 + s - 1) / s;
    lo = ALRP_MIN(lo, run);
    hi = ALRP_MAX(lo, ALRP_MIN(hi, run));
    alrp__zero_f32(d, lo);
    if (s == 1) alrp__copy_f32(d + lo, row + iw0 + lo, hi - lo);
    else for (int64_t t = lo; t < hi; t++) d[t] = row[iw0 + t * s];
    alrp__zero_f32(d + hi, run - hi);
}

#ifdef ALRP__AVX512
// r[i][j] <- r[j][i] for a 16 x 16 block in 16 registers
ALRP__FORCE_INLINE void alrp__transpose16(__m512 r[16]) {
    __m512 t[16], u[16];   // fully unrolled, so that all of this stays in registers
    ALRP__UNROLL for (int i = 0; i < 16; i += 2) { t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]); t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]); }
    ALRP__UNROLL for (int i = 0; i < 16; i += 4) {   // u[i + c], 128-bit lane L = rows i..i+3 of column 4 L + c
        u[i + 0] = _mm512_shuffle_ps(t[i + 0], t[i + 2], 0x44);
        u[i + 1] = _mm512_shuffle_ps(t[i + 0], t[i + 2], 0xEE);
        u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    ALRP__UNROLL for (int c = 0; c < 4; c++) {
        const __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), w0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
        const __m512 v1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88), w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
        r[c]      = _mm512_shuffle_f32x4(v0, v1, 0x88);
        r[8 + c]  = _mm512_shuffle_f32x4(v0, v1, 0xDD);
        r[4 + c]  = _mm512_shuffle_f32x4(w0, w1, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(w0, w1, 0xDD);
    }
}
#endif

// One panel from w row-major rows (a transposition): dst (kc, W)[k][t] = src[t ld + k] for t < w,
// 0 for w <= t < W.
static void alrp__pack_rows(float * restrict dst, int W, const float * restrict src, int64_t ld, int64_t w, int64_t kc) {
#ifdef ALRP__AVX512
    for (int t0 = 0; t0 < W; t0 += 16) {
        const __mmask16 sm = alrp__mask16(W - t0);
        const int64_t tv = ALRP_MIN(16, w - t0);
        const float * s = src + t0 * ld;
        int64_t k0 = 0;
        if (tv == 16 && sm == 0xFFFF) {   // full 16 x 16 blocks: no masks
            for (; k0 + 16 <= kc; k0 += 16) {
                __m512 r[16];
                ALRP__UNROLL for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(s + i * ld + k0);
                alrp__transpose16(r);
                ALRP__UNROLL for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + (k0 + i) * W + t0, r[i]);
            }
        }
        for (; k0 < kc; k0 += 16) {
            const __mmask16 lm = alrp__mask16(kc - k0);
            __m512 r[16];
            ALRP__UNROLL for (int i = 0; i < 16; i++) r[i] = _mm512_maskz_loadu_ps(i < tv ? lm : 0, s + i * ld + k0);
            alrp__transpose16(r);
            const int64_t kn = ALRP_MIN(16, kc - k0);
            ALRP__UNROLL for (int i = 0; i < 16; i++) if (i < kn) _mm512_mask_storeu_ps(dst + (k0 + i) * W + t0, sm, r[i]);
        }
    }
#else
    for (int t = 0; t < W; t++) {
        float * d = dst + t;
        if (t >= w) { for (int64_t k = 0; k < kc; k++) d[k * W] = 0.0f; continue; }
        const float * s = src + t * ld;
        for (int64_t k = 0; k < kc; k++) d[k * W] = s[k];
    }
#endif
}

// One panel from w k-major columns: dst (kc, W)[k][t] = src[k ld + t] for t < w, 0 past w.
static void alrp__pack_cols(float * restrict dst, int W, const float * restrict src, int64_t ld, int64_t w, int64_t kc) {
    if (w == ALRP__GEMM_NR && W == ALRP__GEMM_NR) {
        for (int64_t k = 0; k < kc; k++, dst += W, src += ld) {
            ALRP__UNROLL for (int v = 0; v < ALRP__GEMM_NRV; v++) ALRP_F32_VEC_STORE(dst + v * ALRP_F32_EPR, ALRP_F32_VEC_LOAD(src + v * ALRP_F32_EPR));
        }
        return;
    }
    for (int64_t k = 0; k < kc; k++, dst += W, src += ld) {
#ifdef ALRP__AVX512
        for (int t = 0; t < W; t += 16) _mm512_mask_storeu_ps(dst + t, alrp__mask16(W - t), _mm512_maskz_loadu_ps(alrp__mask16(w - t), src + t));
#else
        for (int64_t t = 0; t < w; t++) dst[t] = src[t];
        for (int64_t t = w; t < W; t++) dst[t] = 0.0f;
#endif
    }
}

static void alrp__pack_mat(const struct alrp__src * m, int64_t b1, int64_t b2, float * restrict dst,
                           int64_t r0, int64_t nr, int64_t p0, int64_t kc, int W) {
    const float * base = m->p + b1 * m->s1 + b2 * m->s2;
    if (m->kmajor && W == ALRP__GEMM_NR) {
        // k rows outermost: each k reads one contiguous run of the row (k-major sources are often
        // (C, H W) images, whose rows are 4 KB apart: a panel-major walk touches a page per k)
        const float * s = base + p0 * m->ld + r0;
        const int64_t full = nr / W, tail = nr % W;
        for (int64_t k = 0; k < kc; k++, s += m->ld) {
            float * d = dst + k * W;
            for (int64_t p = 0; p < full; p++, d += kc * W) {
                ALRP__UNROLL for (int v = 0; v < ALRP__GEMM_NRV; v++)
                    ALRP_F32_VEC_STORE(d + v * ALRP_F32_EPR, ALRP_F32_VEC_LOAD(s + p * W + v * ALRP_F32_EPR));
            }
            if (tail) alrp__pack_cols(d, W, s + full * W, m->ld, tail, 1);
        }
        return;
    }
    for (int64_t pr = 0; pr < nr; pr += W) {
        const int64_t w = ALRP_MIN(W, nr - pr);
        float * d = dst + pr * kc;
        if (m->kmajor) {
            alrp__pack_cols(d, W, base + p0 * m->ld + r0 + pr, m->ld, w, kc);
        } else if (m->kcat <= 0) {
            alrp__pack_rows(d, W, base + (r0 + pr) * m->ld + p0, m->ld, w, kc);
        } else {   // K runs over images: one transposition per image segment
            int64_t n = p0 / m->kcat, q = p0 % m->kcat;
            for (int64_t k = 0; k < kc; n++, q = 0) {
                const int64_t run = ALRP_MIN(m->kcat - q, kc - k);
                alrp__pack_rows(d + k * W, W, base + n * m->kcat_s + (r0 + pr) * m->ld + q, m->ld, w, run);
                k += run;
            }
        }
    }
}

#ifdef ALRP__AVX512
// The AVX-512 body of alrp__pack_im2col for stride 1 or 2, kernels up to 16 x 16 and panels of
// at most 4 runs of at most 32 columns: the row offset of every (run, ki) and the load masks of
// every (run, kj) are computed once per panel, so a k row is only masked loads and stores.
#define ALRP__IM2COL_FAST_RUNS 4
static bool alrp__pack_im2col_avx512(const struct alrp__cgeo * g, const float * x, float * restrict d, int64_t p0, int64_t kc, int W,
                                     int ns, const int64_t * st, const int64_t * soh, const int64_t * sow, const int64_t * sn, int64_t w) {
    if ((g->sw != 1 && g->sw != 2) || g->kh > 16 || g->kw > 16 || ns > ALRP__IM2COL_FAST_RUNS) return false;
    for (int s = 0; s < ns; s++) if (sn[s] > 32) return false;
    int64_t rowoff[ALRP__IM2COL_FAST_RUNS][16];            // ih * w, or -1 when row ih is padding
    int64_t iwo[ALRP__IM2COL_FAST_RUNS][16];               // first input column of the run
    __mmask16 lm[ALRP__IM2COL_FAST_RUNS][16][4];           // load masks: 2 chunks (stride 2: x 2 loads)
    for (int s = 0; s < ns; s++) {
        for (int64_t ki = 0; ki < g->kh; ki++) {
            const int64_t ih = soh[s] + ki * g->dh - g->ph;
            rowoff[s][ki] = ih >= 0 && ih < g->h ? ih * g->w : -1;
        }
        for (int64_t kj = 0; kj < g->kw; kj++) {
            const int64_t b = sow[s] + kj * g->dw - g->pw;
            iwo[s][kj] = b;
            for (int l = 0; l < 4; l++) {                  // lanes [16 l, 16 l + 16) of the input span
                const int64_t lo = b + 16 * l;              // input column of lane 0 of load l
                const int64_t span = g->sw * sn[s];         // input columns the run reads (stride 2: + 1 unused)
                lm[s][kj][l] = (__mmask16) (alrp__mask16(ALRP_MIN(g->w - lo, span - 16 * l)) & ~alrp__mask16(-lo));
            }
        }
    }
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const int64_t khw = g->kh * g->kw, hw = g->h * g->w, kw = g->kw, kh = g->kh;
    int64_t c = p0 / khw, ki = (p0 % khw) / kw, kj = p0 % kw;
    const float * xc = x + c * hw;
    if (ns == 1 && sn[0] == 32 && W == 32) {
        // the common case, a panel that is 32 columns of one output row: a tight loop with
        // everything in locals (the general loop below is ~5x slower per element)
        const __m512 zero = _mm512_setzero_ps();
        if (g->sw == 1) {
            for (int64_t k = 0; k < kc; k++, d += 32) {
                const int64_t ro = rowoff[0][ki];
                __m512 v0 = zero, v1 = zero;
                if (ro >= 0) {
                    const float * src = xc + ro + iwo[0][kj];
                    v0 = _mm512_maskz_loadu_ps(lm[0][kj][0], src);
                    v1 = _mm512_maskz_loadu_ps(lm[0][kj][1], src + 16);
                }
                _mm512_storeu_ps(d, v0);
                _mm512_storeu_ps(d + 16, v1);
                if (++kj == kw) { kj = 0; if (++ki == kh) { ki = 0; xc += hw; } }
            }
        } else {
            for (int64_t k = 0; k < kc; k++, d += 32) {
                const int64_t ro = rowoff[0][ki];
                __m512 v0 = zero, v1 = zero;
                if (ro >= 0) {
                    const float * src = xc + ro + iwo[0][kj];
                    v0 = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(lm[0][kj][0], src), even, _mm512_maskz_loadu_ps(lm[0][kj][1], src + 16));
                    v1 = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(lm[0][kj][2], src + 32), even, _mm512_maskz_loadu_ps(lm[0][kj][3], src + 48));
                }
                _mm512_storeu_ps(d, v0);
                _mm512_storeu_ps(d + 16, v1);
                if (++kj == kw) { kj = 0; if (++ki == kh) { ki = 0; xc += hw; } }
            }
        }
        return true;
    }
    for (int64_t k = 0; k < kc; k++, d += W) {
        for (int s = 0; s < ns; s++) {
            float * dd = d + st[s];
            const int64_t ro = rowoff[s][ki];
            for (int64_t t = 0; t < sn[s]; t += 16) {
                const __mmask16 sm = alrp__mask16(sn[s] - t);
                __m512 v = _mm512_setzero_ps();
                if (ro >= 0) {
                    const float * src = xc + ro + iwo[s][kj];
                    if (g->sw == 1) {
                        const __mmask16 m = lm[s][kj][t / 16];
                        v = m == 0xFFFF ? _mm512_loadu_ps(src + t) : _mm512_maskz_loadu_ps(m, src + t);
                    } else {
                        const __mmask16 m0 = lm[s][kj][t / 8], m1 = lm[s][kj][t / 8 + 1];
                        v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m0, src + 2 * t), even, _mm512_maskz_loadu_ps(m1, src + 2 * t + 16));
                    }
                }
                _mm512_mask_storeu_ps(dd + t, sm, v);
            }
        }
        if (w < W) alrp__zero_f32(d + w, W - w);
        if (++kj == g->kw) { kj = 0; if (++ki == g->kh) { ki = 0; xc += hw; } }
    }
    return true;
}
#endif

// IM2COL: rows j are output positions of one image, k = (c, ki, kj). Panel by panel: the
// panel's columns are cut once into runs along output rows, then each k row is a few copies.
#define ALRP__IM2COL_MAXW 64
static void alrp__pack_im2col(const struct alrp__cgeo * g, int64_t b1, int64_t b2, float * restrict dst,
                              int64_t r0, int64_t nr, int64_t p0, int64_t kc, int W) {
    ALRP_ASSERT(W <= ALRP__IM2COL_MAXW);
    const float * x = g->x + b1 * g->xs1 + b2 * g->xs2;
    const int64_t khw = g->kh * g->kw, hw = g->h * g->w;
    int64_t oh = r0 / g->ow, ow = r0 % g->ow;
    for (int64_t pr = 0; pr < nr; pr += W) {
        int64_t st[ALRP__IM2COL_MAXW], soh[ALRP__IM2COL_MAXW], sow[ALRP__IM2COL_MAXW], sn[ALRP__IM2COL_MAXW];
        int ns = 0;
        const int64_t w = ALRP_MIN(W, nr - pr);
        for (int64_t t = 0; t < w; ns++) {   // run ns: panel columns st .. st + sn = output row soh from sow
            const int64_t run = ALRP_MIN(g->ow - ow, w - t);
            st[ns] = t; soh[ns] = oh * g->sh; sow[ns] = ow * g->sw; sn[ns] = run;
            t += run; ow += run;
            if (ow == g->ow) { ow = 0; oh++; }
        }
        float * d = dst + pr * kc;
#ifdef ALRP__AVX512
        if (alrp__pack_im2col_avx512(g, x, d, p0, kc, W, ns, st, soh, sow, sn, w)) continue;
#endif
        int64_t c = p0 / khw, ki = (p0 % khw) / g->kw, kj = p0 % g->kw;
        const float * xc = x + c * hw;
        for (int64_t k = 0; k < kc; k++, d += W) {
            const int64_t ihb = ki * g->dh - g->ph, iwb = kj * g->dw - g->pw;
            for (int s = 0; s < ns; s++) {
                const int64_t ih = soh[s] + ihb, iw0 = sow[s] + iwb;
                if (ih < 0 || ih >= g->h) { alrp__zero_f32(d + st[s], sn[s]); continue; }
                const float * row = xc + ih * g->w;
                if (g->sw == 1 && sn[s] == ALRP__GEMM_NR && iw0 >= 0 && iw0 + ALRP__GEMM_NR <= g->w) {
                    // the common case: a whole panel row inside the image
                    ALRP__UNROLL for (int v = 0; v < ALRP__GEMM_NRV; v++)
                        ALRP_F32_VEC_STORE(d + v * ALRP_F32_EPR, ALRP_F32_VEC_LOAD(row + iw0 + v * ALRP_F32_EPR));
                } else {
                    alrp__gather_row(d + st[s], row, g->w, iw0, g->sw, sn[s]);
                }
            }
            if (w < W) alrp__zero_f32(d + w, W - w);   // rows past nr in the last panel
            if (++kj == g->kw) { kj = 0; if (++ki == g->kh) { ki = 0; c++; xc += hw; } }
        }
    }
}

#ifdef ALRP__AVX512
// The AVX-512 gather of alrp__pack_colt for stride 1 or 2: the K range is cut once into runs
// along output rows; all runs but the first and the last are whole rows, so the load masks
// exist for three run shapes per kernel column and are computed once per call. Returns false
// (nothing done) outside its limits.
#define ALRP__COLT_MAXLD 32   // loads per run: OW sw <= 512
static bool alrp__pack_colt_avx512(const struct alrp__cgeo * g, const float * xg, float * restrict dst,
                                   int64_t r0, int64_t nr, int64_t p0, int64_t kc, int W, float * restrict tmp) {
    const int64_t sw = g->sw, OW = g->ow, ohw = g->oh * g->ow;
    if ((sw != 1 && sw != 2) || g->kw > 16 || OW * sw > 16 * ALRP__COLT_MAXLD) return false;
    // run shapes: 0 = the first run (may start inside a row), 1 = whole rows, 2 = the last run
    const int64_t first_ow = p0 % OW, first_len = ALRP_MIN(OW - first_ow, kc);
    const int64_t rest = kc - first_len, last_len = rest > 0 ? (rest % OW ? rest % OW : OW) : 0;
    const int64_t shp_ow[3] = { first_ow, 0, 0 }, shp_len[3] = { first_len, OW, last_len };
    __mmask16 lm[3][16][ALRP__COLT_MAXLD + 1];
    for (int r = 0; r < 3; r++) {
        for (int64_t kj = 0; kj < g->kw; kj++) {
            const int64_t b = shp_ow[r] * sw + kj * g->dw - g->pw, span = sw * shp_len[r];
            // one mask past the span (0): the stride-2 loop loads in pairs
            for (int64_t l = 0; l <= ALRP__CEILDIV(span, 16); l++)
                lm[r][kj][l] = (__mmask16) (alrp__mask16(ALRP_MIN(g->w - b - 16 * l, span - 16 * l)) & ~alrp__mask16(-b - 16 * l));
        }
    }
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const int64_t khw = g->kh * g->kw, hw = g->h * g->w, n0 = p0 / ohw, oh0 = (p0 % ohw) / OW;
    int64_t c = r0 / khw, ki = (r0 % khw) / g->kw, kj = r0 % g->kw;
    if (sw == 1 && W % 16 == 0) {
        // stride 1: 16 rows (taps) x 16 positions go straight from x into registers and are
        // transposed there, with no scratch round trip
        for (int64_t pr = 0; pr < nr; pr += W) {
            for (int64_t t0 = 0; t0 < W; t0 += 16) {
                const int64_t tv = ALRP_MAX(0, ALRP_MIN(16, nr - pr - t0));   // real rows in this half
                const float * src[16];      // row i at image n = 0, output row 0, output column 0
                int64_t ihb[16], kjs[16];
                for (int i = 0; i < 16; i++) {
                    ihb[i] = -1000000000; kjs[i] = 0; src[i] = xg;
                    if (i >= tv) continue;
                    const int64_t j = r0 + pr + t0 + i, cj = j / khw, kij = (j % khw) / g->kw, kjj = j % g->kw;
                    ihb[i] = kij * g->dh - g->ph; kjs[i] = kjj;
                    src[i] = xg + cj * hw + ihb[i] * g->w + kjj * g->dw - g->pw;
                }
                float * dpanel = dst + pr * kc + t0;
                int64_t n = n0, oh = oh0;
                for (int64_t k = 0; k < kc; ) {
                    const int64_t len = k == 0 ? first_len : ALRP_MIN(OW, kc - k);
                    const int shp = k == 0 ? 0 : (k + len == kc && len != OW ? 2 : 1);
                    const int64_t off = n * g->xs1 + oh * g->sh * g->w + shp_ow[shp];
                    __mmask16 rowok = 0;   // rows whose input row is inside the image
                    for (int i = 0; i < 16; i++) {
                        const int64_t ih = oh * g->sh + ihb[i];
                        if (ih >= 0 && ih < g->h) rowok = (__mmask16) (rowok | (1u << i));
                    }
                    for (int64_t u = 0; u < len; u += 16) {
                        __m512 r[16];
                        ALRP__UNROLL for (int i = 0; i < 16; i++) {
                            const __mmask16 m = (rowok >> i) & 1 ? lm[shp][kjs[i]][u / 16] : 0;
                            r[i] = _mm512_maskz_loadu_ps(m, src[i] + off + u);
                        }
                        alrp__transpose16(r);
                        const int64_t qn = ALRP_MIN(16, len - u);
                        float * d = dpanel + (k + u) * W;
                        ALRP__UNROLL for (int q = 0; q < 16; q++) if (q < qn) _mm512_storeu_ps(d + q * W, r[q]);
                    }
                    k += len;
                    if (++oh == g->oh) { oh = 0; n++; }
                }
            }
        }
        return true;
    }
    for (int64_t pr = 0; pr < nr; pr += W) {
        const int64_t w = ALRP_MIN(W, nr - pr);
        for (int64_t t = 0; t < w; t++) {
            float * d = tmp + t * kc;
            const float * xc = xg + c * hw;
            const int64_t ihb = ki * g->dh - g->ph, iwb = kj * g->dw - g->pw;
            int64_t n = n0, oh = oh0;
            for (int64_t k = 0; k < kc; ) {
                const int64_t len = k == 0 ? first_len : ALRP_MIN(OW, kc - k);
                const int shp = k == 0 ? 0 : (k + len == kc && len != OW ? 2 : 1);
                const int64_t ih = oh * g->sh + ihb;
                if (ih < 0 || ih >= g->h) {
                    alrp__zero_f32(d + k, len);
                } else {
                    const float * src = xc + n * g->xs1 + ih * g->w + shp_ow[shp] * sw + iwb;
                    const __mmask16 * m = lm[shp][kj];
                    if (sw == 1) {
                        for (int64_t u = 0; u < len; u += 16)
                            _mm512_mask_storeu_ps(d + k + u, alrp__mask16(len - u), _mm512_maskz_loadu_ps(m[u / 16], src + u));
                    } else {
                        for (int64_t u = 0; u < len; u += 16) {
                            const __m512 v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m[u / 8], src + 2 * u), even,
                                                                    _mm512_maskz_loadu_ps(m[u / 8 + 1], src + 2 * u + 16));
                            _mm512_mask_storeu_ps(d + k + u, alrp__mask16(len - u), v);
                        }
                    }
                }
                k += len;
                if (++oh == g->oh) { oh = 0; n++; }
            }
            if (++kj == g->kw) { kj = 0; if (++ki == g->kh) { ki = 0; c++; } }
        }
        alrp__pack_rows(dst + pr * kc, W, tmp, kc, w, kc);
    }
    return true;
}
#endif

// COLT: rows j = (c, ki, kj), k = (n, oh, ow) over the whole batch (image n at x + n * xs1).
// Each row is gathered contiguously into tmp (W x kc floats), then the panel is transposed.
static void alrp__pack_colt(const struct alrp__cgeo * g, int64_t b2, float * restrict dst,
                            int64_t r0, int64_t nr, int64_t p0, int64_t kc, int W, float * restrict tmp) {
    const float * xg = g->x + b2 * g->xs2;
#ifdef ALRP__AVX512
    if (alrp__pack_colt_avx512(g, xg, dst, r0, nr, p0, kc, W, tmp)) return;
#endif
    const int64_t khw = g->kh * g->kw, ohw = g->oh * g->ow;
    const int64_t n0 = p0 / ohw, oh0 = (p0 % ohw) / g->ow, ow0 = p0 % g->ow;
    int64_t c = r0 / khw, ki = (r0 % khw) / g->kw, kj = r0 % g->kw;
    for (int64_t pr = 0; pr < nr; pr += W) {
        const int64_t w = ALRP_MIN(W, nr - pr);
        for (int64_t t = 0; t < w; t++) {
            const int64_t ihb = ki * g->dh - g->ph, iwb = kj * g->dw - g->pw;
            float * d = tmp + t * kc;
            int64_t n = n0, oh = oh0, ow = ow0;
            for (int64_t k = 0; k < kc; ) {
                const int64_t run = ALRP_MIN(g->ow - ow, kc - k), ih = oh * g->sh + ihb;
                if (ih < 0 || ih >= g->h) alrp__zero_f32(d + k, run);
                else alrp__gather_row(d + k, xg + n * g->xs1 + (c * g->h + ih) * g->w, g->w, ow * g->sw + iwb, g->sw, run);
                k += run; ow += run;
                if (ow == g->ow) { ow = 0; if (++oh == g->oh) { oh = 0; n++; } }
            }
            if (++kj == g->kw) { kj = 0; if (++ki == g->kh) { ki = 0; c++; } }
        }
        alrp__pack_rows(dst + pr * kc, W, tmp, kc, w, kc);
    }
}

// packs with source s; tmp: scratch of W * kc floats (COLT)
static void alrp__src_pack(const struct alrp__src * s, int64_t b1, int64_t b2, float * dst,
                           int64_t r0, int64_t nr, int64_t p0, int64_t kc, int W, float * tmp) {
    switch (s->kind) {
        case ALRP__SRC_MAT:    alrp__pack_mat(s, b1, b2, dst, r0, nr, p0, kc, W); break;
        case ALRP__SRC_IM2COL: alrp__pack_im2col(s->geo, b1, b2, dst, r0, nr, p0, kc, W); break;
        case ALRP__SRC_COLT:   alrp__pack_colt(s->geo, b2, dst, r0, nr, p0, kc, W, tmp); break;
        case ALRP__SRC_FLIPW:  ALRP_ASSERT(!"FLIPW is packed by alrp__pack_a_block"); break;
    }
}

// ---- driver --------------------------------------------------------------------------------
// One (batched) GEMM: for each b1 < nb1, b2 < nb2:
//   C_b (M, N) = alpha * A_b (M, K) @ B_b^T (N, K)^T + beta * C_b + bias_b[i]
// with C_b = c + b1 cs1 + b2 cs2 (row stride ldc), bias_b = bias + b2 bias_s2 (or none).
struct alrp__gemm_op {
    int64_t M, N, K, nb1, nb2;
    float alpha, beta;
    struct alrp__src a, b;
    float * c;
    int64_t ldc, cs1, cs2;
    const float * bias;
    int64_t bias_s2;
};

// One thread's buffers for an (M, N, K) GEMM: packed A block, packed B block, packing scratch.
static int64_t alrp__gemm_pa_floats(int64_t M, int64_t K) {
    const int64_t kc = ALRP_MAX(1, ALRP_MIN(ALRP__GEMM_KC, K));
    const int64_t mc = ALRP_MIN(ALRP__GEMM_MC, ALRP__ROUNDUP(ALRP_MAX(M, 1), ALRP__GEMM_MR));
    return ALRP__ROUNDUP(mc * kc, 16);
}
static int64_t alrp__gemm_pb_floats(int64_t N, int64_t K) {
    const int64_t kc = ALRP_MAX(1, ALRP_MIN(ALRP__GEMM_KC, K));
    const int64_t nc = ALRP_MIN(ALRP__GEMM_NC, ALRP__ROUNDUP(ALRP_MAX(N, 1), ALRP__GEMM_NR));
    return ALRP__ROUNDUP(kc * nc, 16);
}
static int64_t alrp__gemm_thread_floats(int64_t M, int64_t N, int64_t K) {
    const int64_t kc = ALRP_MAX(1, ALRP_MIN(ALRP__GEMM_KC, K));
    return alrp__gemm_pa_floats(M, K) + alrp__gemm_pb_floats(N, K) + ALRP__ROUNDUP(ALRP_MAX(ALRP__GEMM_MR, ALRP__GEMM_NR) * kc, 16);
}

static float * alrp__align64(void * p) {
    return (float *) (((uintptr_t) p + 63) & ~(uintptr_t) 63);
}

// How a (batched) GEMM is cut. M is cut into npan micro-panels of MR or MR - 1 rows (rows
// [p M / npan, (p + 1) M / npan)), so that there is no thin last panel (256 rows: 14 panels of
// 12 and 8 of 11, not 21 of 12 and one of 4). Each of the nb1 nb2 GEMMs is cut into
// tm x tn x tk tiles: ranges of panels x ranges of NR columns x ranges of KC slices of K. A
// thread takes a contiguous run of tiles. K parts after the first accumulate into partial
// buffers (part) that a last phase adds to C: a K cut is for small outputs with a long K (the
// weight gradient of a conv with few channels), where cutting M or N would make every thread
// pack the whole of the expensive operand. When A does not depend on b1 and several tiles use
// it, A is packed once by all threads into apack (per b2, per KC slice, per panel: MR x kc
// floats) before the tiles run.
struct alrp__gemm_plan {
    int64_t npan, tm, tn, tk;
    bool prepack;
    float * apack;
    float * part;    // tk - 1 partial results, each nb1 nb2 M N floats
};

#define ALRP__GEMM_PREPACK_MAX (16 * 1024 * 1024)   // floats
#define ALRP__GEMM_PART_MAX    (1024 * 1024)        // floats of C that may be cut along K
#define ALRP__GEMM_SHARED_L3   (8.0 * 1024 * 1024)  // bytes of shared packed A still read from L3

// packing cost of a source, in FMA lanes per packed element (measured cycles per element x 16)
static double alrp__src_cost(const struct alrp__src * s, int W) {
    switch (s->kind) {
        case ALRP__SRC_MAT:    return s->kmajor ? 5.0 : (W == ALRP__GEMM_NR ? 8.0 : 9.0);
        case ALRP__SRC_IM2COL: return 5.0;
        case ALRP__SRC_COLT:   return s->geo->sw == 1 ? 9.0 : 15.0;
        case ALRP__SRC_FLIPW:  return 16.0;
    }
    return 16.0;
}

static void alrp__gemm_plan_make(int64_t M, int64_t N, int64_t K, int64_t nb1, int64_t nb2, bool a_shared,
                                 double a_cost, double b_cost, int nth, struct alrp__gemm_plan * pl) {
    pl->npan = ALRP__CEILDIV(ALRP_MAX(M, 1), ALRP__GEMM_MR);
    pl->tm = pl->tn = pl->tk = 1;
    pl->apack = pl->part = NULL;
    const int64_t np = ALRP__CEILDIV(ALRP_MAX(N, 1), ALRP__GEMM_NR), nbatch = nb1 * nb2;
    const int64_t nkb = K > 0 ? ALRP__CEILDIV(K, ALRP__GEMM_KC) : 1;
    const bool prepackable = a_shared && K > 0 && nb2 * pl->npan * ALRP__GEMM_MR * K <= ALRP__GEMM_PREPACK_MAX;
    const int64_t tkmax = nbatch * M * N <= ALRP__GEMM_PART_MAX ? ALRP_MIN(nkb, 4 * nth) : 1;
    const double apack_bytes = 4.0 * (double) (nb2 * pl->npan * ALRP__GEMM_MR) * (double) K;
    // the busiest thread's FMA lanes plus packing, plus the reduction of K parts
    double best = -1.0;
    for (int64_t tk = 1; nth > 1 && tk <= tkmax; tk++) {
        for (int64_t tm = 1; tm <= ALRP_MIN(pl->npan, 8 * nth); tm++) {
            for (int64_t tn = 1; tn <= ALRP_MIN(np, 8 * nth) && tm * tn * tk <= 8 * nth; tn++) {
                const int64_t units = nbatch * tm * tn * tk, per = ALRP__CEILDIV(units, nth);
                const double mt = (double) ALRP__CEILDIV(pl->npan, tm) * ALRP__GEMM_MR;
                const double nt = (double) ALRP__CEILDIV(np, tn) * ALRP__GEMM_NR;
                const double kt = (double) ALRP_MIN(K, ALRP__CEILDIV(nkb, tk) * ALRP__GEMM_KC) + 1.0;
                const bool pre = prepackable && (nb1 > 1 || tn > 1);
                // packed A is read again for every NC columns: cheap from a thread's own block or
                // a shared buffer that stays in L3, dear from a big shared one (memory). Without
                // this term the planner cut tall-A GEMMs by N (2048x64x2048: 93 vs 172 GFLOP/s)
                const double njc = (double) ALRP__CEILDIV((int64_t) nt, ALRP__GEMM_NC);
                const double a_stream = pre && apack_bytes > ALRP__GEMM_SHARED_L3 ? 8.0 : 2.0;
                const double unit = kt * (mt * nt + (pre ? 0.0 : a_cost) * mt + b_cost * nt + a_stream * mt * njc + 64.0);
                const double shared = pre ? a_cost * (double) (nb2 * pl->npan * ALRP__GEMM_MR) * (double) K / nth : 0.0;
                const double cost = (double) per * unit + shared + (double) (tk - 1) * (double) (nbatch * M * N) * 16.0 / nth;
                if (best < 0 || cost < best * 0.999) { best = cost; pl->tm = tm; pl->tn = tn; pl->tk = tk; }
            }
        }
    }
    pl->prepack = prepackable && (nb1 > 1 || pl->tn > 1);
}

// workspace floats of a plan: the shared packed A, the K parts, then nth threads' buffers
static int64_t alrp__gemm_plan_floats(const struct alrp__gemm_plan * pl, int64_t M, int64_t N, int64_t K, int64_t nb1, int64_t nb2, int nth) {
    const int64_t apack = pl->prepack ? ALRP__ROUNDUP(nb2 * pl->npan * ALRP__GEMM_MR * K, 16) : 0;
    const int64_t part = ALRP__ROUNDUP((pl->tk - 1) * nb1 * nb2 * M * N, 16);
    return apack + part + (int64_t) ALRP_MAX(nth, 1) * alrp__gemm_thread_floats(M, N, K);
}

// Packs A's panels pc0 .. pc1 (rows [p M / npan, (p + 1) M / npan) each) for the K slice k0 .. k0 + kc
// into dst, panel p at dst + (p - pc0) MR kc. k-major matrices are copied k row by k row across
// all panels (their k rows are far apart: one page per k row, not one per k row and panel).
static void alrp__pack_a_block(const struct alrp__src * a, int64_t b1, int64_t b2, float * restrict dst,
                               int64_t M, int64_t npan, int64_t pc0, int64_t pc1, int64_t k0, int64_t kc, float * tmp) {
    const int W = ALRP__GEMM_MR;
    if (a->kind == ALRP__SRC_MAT && a->kmajor) {
        const float * s = a->p + b1 * a->s1 + b2 * a->s2 + k0 * a->ld;
        for (int64_t k = 0; k < kc; k++, s += a->ld) {
            for (int64_t p = pc0; p < pc1; p++) {
                const int64_t rs = p * M / npan, re = (p + 1) * M / npan;
                float * d = dst + ((p - pc0) * kc + k) * W;
#ifdef ALRP__AVX512
                _mm512_mask_storeu_ps(d, alrp__mask16(W), _mm512_maskz_loadu_ps(alrp__mask16(re - rs), s + rs));
#else
                for (int64_t t = 0; t < re - rs; t++) d[t] = s[rs + t];
                for (int64_t t = re - rs; t < W; t++) d[t] = 0.0f;
#endif
            }
        }
        return;
    }
    if (a->kind == ALRP__SRC_FLIPW) {
        // k = (o, r) outermost as well: w[o] (Cg kH kW floats) stays in L1 while all panels
        // take their 12 values from it; panel by panel, each k touched a new w[o] (a miss)
        const int64_t khw = a->khw;
        int64_t r = k0 % khw;
        const float * wo = a->p + (b2 * a->og + k0 / khw) * a->cg * khw;   // w[o, 0, 0]
        for (int64_t k = 0; k < kc; k++) {
            const float * src = wo + (khw - 1 - r);   // channel c at src[c khw]
            for (int64_t p = pc0; p < pc1; p++) {
                const int64_t rs = p * M / npan, re = (p + 1) * M / npan;
                float * d = dst + ((p - pc0) * kc + k) * W;
                const float * sp = src + rs * khw;
                if (re - rs == W) {
                    ALRP__UNROLL for (int t = 0; t < ALRP__GEMM_MR; t++) d[t] = sp[t * khw];
                } else {
                    for (int64_t t = 0; t < re - rs; t++) d[t] = sp[t * khw];
                    for (int64_t t = re - rs; t < W; t++) d[t] = 0.0f;
                }
            }
            if (++r == khw) { r = 0; wo += a->cg * khw; }
        }
        return;
    }
    for (int64_t p = pc0; p < pc1; p++) {
        const int64_t rs = p * M / npan, re = (p + 1) * M / npan;
        alrp__src_pack(a, b1, b2, dst + (p - pc0) * W * kc, rs, re - rs, k0, kc, W, tmp);
    }
}

// C[panels pp0 .. pp1, columns j0 .. j1) (+)= the KC slices kb0 .. kb1 of A_b @ B_b of batch item
// (b1, b2), on the calling thread: the first slice scales C by beta (and adds the bias, if
// `bias`), the others accumulate. buf: one thread's buffers, alrp__gemm_thread_floats(M, N, K).
static void alrp__gemm_tile(const struct alrp__gemm_op * op, const struct alrp__gemm_plan * pl, int64_t b1, int64_t b2,
                            int64_t pp0, int64_t pp1, int64_t j0, int64_t j1, int64_t kb0, int64_t kb1,
                            float * C, int64_t ldc, float beta0, const float * bias, float * buf) {
    const int64_t M = op->M, npan = pl->npan, mcp = ALRP__GEMM_MC / ALRP__GEMM_MR;
    float * pa = buf;
    float * pb = pa + alrp__gemm_pa_floats(M, op->K);
    float * pt = pb + alrp__gemm_pb_floats(op->N, op->K);
    for (int64_t pc0 = pp0; pc0 < pp1; pc0 += mcp) {
        const int64_t pc1 = ALRP_MIN(pp1, pc0 + mcp);
        for (int64_t kb = kb0; kb < kb1; kb++) {
            const int64_t k0 = kb * ALRP__GEMM_KC, kc = ALRP_MIN(ALRP__GEMM_KC, op->K - k0);
            const float beta = kb == kb0 ? beta0 : 1.0f;
            const float * ablk = pa;   // panel p at ablk + (p - pc0) MR kc
            if (pl->prepack) {
                ablk = pl->apack + (b2 * npan * op->K + k0 * npan + pc0 * kc) * ALRP__GEMM_MR;
            } else {
                alrp__pack_a_block(&op->a, b1, b2, pa, M, npan, pc0, pc1, k0, kc, pt);
            }
            for (int64_t jc = j0; jc < j1; jc += ALRP__GEMM_NC) {
                const int64_t nc = ALRP_MIN(ALRP__GEMM_NC, j1 - jc);
                alrp__src_pack(&op->b, b1, b2, pb, jc, nc, k0, kc, ALRP__GEMM_NR, pt);
                for (int64_t p = pc0; p < pc1; p++) {
                    const int64_t rs = p * M / npan, re = (p + 1) * M / npan;
                    const alrp__ukr_fn ukr = alrp__ukr_table[re - rs];
                    const float * a = ablk + (p - pc0) * ALRP__GEMM_MR * kc;
                    const float * bi = kb == kb0 && bias ? bias + rs : NULL;
                    float * crow = C + rs * ldc + jc;
                    for (int64_t jr = 0; jr < nc; jr += ALRP__GEMM_NR) {
                        const int nr = (int) ALRP_MIN(ALRP__GEMM_NR, nc - jr);
                        ukr(kc, a, pb + jr * kc, crow + jr, ldc, nr, op->alpha, beta, bi);
                    }
                }
            }
        }
    }
}

struct alrp__gemm_job {
    const struct alrp__gemm_op * op;
    const struct alrp__gemm_plan * pl;
    float * work;          // nth threads' buffers
    int64_t per_thread;    // floats per thread
    struct alrp_threadpool * tp;
};

// phase 1 (when pl->prepack): units (b2, KC slice, 1/nth of the panels) of A, packed into pl->apack
static void alrp__gemm_prepack_worker(void * arg, int ith, int nth) {
    const struct alrp__gemm_job * job = (const struct alrp__gemm_job *) arg;
    const struct alrp__gemm_op * op = job->op;
    const struct alrp__gemm_plan * pl = job->pl;
    const int64_t nkb = ALRP__CEILDIV(op->K, ALRP__GEMM_KC), units = op->nb2 * nkb * nth;
    float * tmp = job->work + ith * job->per_thread;
    for (int64_t u = units * ith / nth; u < units * (ith + 1) / nth; u++) {
        const int64_t b2 = u / (nkb * nth), kb = (u / nth) % nkb, part = u % nth;
        const int64_t k0 = kb * ALRP__GEMM_KC, kc = ALRP_MIN(ALRP__GEMM_KC, op->K - k0);
        const int64_t pc0 = part * pl->npan / nth, pc1 = (part + 1) * pl->npan / nth;
        if (pc0 >= pc1) continue;
        float * dst = pl->apack + (b2 * pl->npan * op->K + k0 * pl->npan + pc0 * kc) * ALRP__GEMM_MR;
        alrp__pack_a_block(&op->a, 0, b2, dst, op->M, pl->npan, pc0, pc1, k0, kc, tmp);
    }
}

// phase 2: the tiles
static void alrp__gemm_worker(void * arg, int ith, int nth) {
    const struct alrp__gemm_job * job = (const struct alrp__gemm_job *) arg;
    const struct alrp__gemm_op * op = job->op;
    const struct alrp__gemm_plan * pl = job->pl;
    const int64_t np = ALRP__CEILDIV(op->N, ALRP__GEMM_NR), nkb = op->K > 0 ? ALRP__CEILDIV(op->K, ALRP__GEMM_KC) : 1;
    const int64_t tiles = pl->tm * pl->tn * pl->tk, units = op->nb1 * op->nb2 * tiles, nbatch = op->nb1 * op->nb2;
    float * buf = job->work + ith * job->per_thread;
    for (int64_t u = units * ith / nth; u < units * (ith + 1) / nth; u++) {
        const int64_t b = u / tiles, t = u % tiles;
        const int64_t im = t / (pl->tn * pl->tk), in = (t / pl->tk) % pl->tn, ik = t % pl->tk;
        const int64_t b1 = b / op->nb2, b2 = b % op->nb2;
        const int64_t pp0 = im * pl->npan / pl->tm, pp1 = (im + 1) * pl->npan / pl->tm;
        const int64_t j0 = (in * np / pl->tn) * ALRP__GEMM_NR, j1 = ALRP_MIN(op->N, ((in + 1) * np / pl->tn) * ALRP__GEMM_NR);
        const int64_t kb0 = ik * nkb / pl->tk, kb1 = (ik + 1) * nkb / pl->tk;
        if (pp0 >= pp1 || j0 >= j1 || kb0 >= kb1) continue;
        if (ik == 0) {
            alrp__gemm_tile(op, pl, b1, b2, pp0, pp1, j0, j1, kb0, kb1, op->c + b1 * op->cs1 + b2 * op->cs2, op->ldc,
                            op->beta, op->bias ? op->bias + b2 * op->bias_s2 : NULL, buf);
        } else {
            float * part = pl->part + ((ik - 1) * nbatch + b) * op->M * op->N;
            alrp__gemm_tile(op, pl, b1, b2, pp0, pp1, j0, j1, kb0, kb1, part, op->N, 0.0f, NULL, buf);
        }
    }
}

// phase 3 (when pl->tk > 1): C += the K parts, rows split among threads
static void alrp__gemm_reduce_worker(void * arg, int ith, int nth) {
    const struct alrp__gemm_job * job = (const struct alrp__gemm_job *) arg;
    const struct alrp__gemm_op * op = job->op;
    const struct alrp__gemm_plan * pl = job->pl;
    const int64_t nbatch = op->nb1 * op->nb2, rows = nbatch * op->M, N = op->N;
    const int64_t nkb = ALRP__CEILDIV(op->K, ALRP__GEMM_KC);
    for (int64_t r = rows * ith / nth; r < rows * (ith + 1) / nth; r++) {
        const int64_t b = r / op->M, i = r % op->M;
        float * c = op->c + (b / op->nb2) * op->cs1 + (b % op->nb2) * op->cs2 + i * op->ldc;
        for (int64_t ik = 1; ik < pl->tk; ik++) {
            if (ik * nkb / pl->tk >= (ik + 1) * nkb / pl->tk) continue;   // an empty part wrote nothing
            const float * p = pl->part + ((ik - 1) * nbatch + b) * op->M * N + i * N;
            int64_t j = 0;
            for (; j + ALRP_F32_EPR <= N; j += ALRP_F32_EPR) ALRP_F32_VEC_STORE(c + j, ALRP_F32_VEC_ADD(ALRP_F32_VEC_LOAD(c + j), ALRP_F32_VEC_LOAD(p + j)));
            for (; j < N; j++) c[j] += p[j];
        }
    }
}

// all phases in one pool run (waking the pool costs more than its spin barrier)
static void alrp__gemm_phases(void * arg, int ith, int nth) {
    const struct alrp__gemm_job * job = (const struct alrp__gemm_job *) arg;
    if (job->pl->prepack) {
        alrp__gemm_prepack_worker(arg, ith, nth);
        alrp_threadpool_barrier(job->tp);
    }
    alrp__gemm_worker(arg, ith, nth);
    if (job->pl->tk > 1) {
        alrp_threadpool_barrier(job->tp);
        alrp__gemm_reduce_worker(arg, ith, nth);
    }
}

// A does not depend on b1 (required for packing it once)
static bool alrp__gemm_a_shared(const struct alrp__gemm_op * op) {
    return (op->a.kind == ALRP__SRC_MAT && (op->a.s1 == 0 || op->nb1 == 1)) || op->a.kind == ALRP__SRC_FLIPW;
}

static void alrp__gemm_op_plan(const struct alrp__gemm_op * op, int nth, struct alrp__gemm_plan * pl) {
    alrp__gemm_plan_make(op->M, op->N, op->K, op->nb1, op->nb2, alrp__gemm_a_shared(op),
                         alrp__src_cost(&op->a, ALRP__GEMM_MR), alrp__src_cost(&op->b, ALRP__GEMM_NR), nth, pl);
}

// workspace floats that alrp__gemm_run needs for op with nth threads
static int64_t alrp__gemm_op_floats(const struct alrp__gemm_op * op, int nth) {
    struct alrp__gemm_plan pl;
    alrp__gemm_op_plan(op, nth, &pl);
    return alrp__gemm_plan_floats(&pl, op->M, op->N, op->K, op->nb1, op->nb2, nth);
}

// runs op on the pool; work: alrp__gemm_op_floats(op, nth) floats, 64-byte aligned
static void alrp__gemm_run(struct alrp_threadpool * tp, const struct alrp__gemm_op * op, float * work) {
    if (op->M <= 0 || op->N <= 0 || op->nb1 <= 0 || op->nb2 <= 0) return;
    const int nth = alrp_threadpool_n_threads(tp);
    struct alrp__gemm_plan pl;
    alrp__gemm_op_plan(op, nth, &pl);
    struct alrp__gemm_job job;
    job.op = op; job.pl = &pl;
    job.per_thread = alrp__gemm_thread_floats(op->M, op->N, op->K);
    if (pl.prepack) { pl.apack = work; work += ALRP__ROUNDUP(op->nb2 * pl.npan * ALRP__GEMM_MR * op->K, 16); }
    if (pl.tk > 1)  { pl.part = work;  work += ALRP__ROUNDUP((pl.tk - 1) * op->nb1 * op->nb2 * op->M * op->N, 16); }
    job.work = work;
    job.tp = tp;
    alrp_threadpool_run(tp, alrp__gemm_phases, &job);
}

// a workspace of `bytes` from the caller, or a fresh one to free (returned in *owned)
static void * alrp__work_get(void * work, size_t bytes, void ** owned) {
    *owned = NULL;
    if (work) return work;
    *owned = ALRP_MALLOC(bytes);
    ALRP_ASSERTM(*owned, "out of memory: cannot allocate a %zu-byte kernel workspace", bytes);
    return *owned;
}

// the GEMM op of alrp_gemm_f32 (pointers may be NULL for a size query)
static void alrp__gemm_make_op(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                               const float * A, int64_t lda, const float * B, int64_t ldb,
                               float beta, float * C, int64_t ldc, struct alrp__gemm_op * op) {
    memset(op, 0, sizeof(*op));
    op->M = M; op->N = N; op->K = K; op->nb1 = 1; op->nb2 = 1;
    op->alpha = alpha; op->beta = beta;
    op->a.kind = ALRP__SRC_MAT; op->a.p = A; op->a.ld = lda; op->a.kmajor = trans_a;
    op->b.kind = ALRP__SRC_MAT; op->b.p = B; op->b.ld = ldb; op->b.kmajor = !trans_b;
    op->c = C; op->ldc = ldc;
}

// enough for any transposition (the plan may depend on it)
ALRPDEF size_t alrp_gemm_work_size(int64_t M, int64_t N, int64_t K, int n_threads) {
    int64_t best = 0;
    for (int t = 0; t < 4; t++) {
        struct alrp__gemm_op op;
        alrp__gemm_make_op(t & 1, t & 2, M, N, K, 1.0f, NULL, 0, NULL, 0, 0.0f, NULL, 0, &op);
        best = ALRP_MAX(best, alrp__gemm_op_floats(&op, n_threads));
    }
    return (size_t) best * sizeof(float) + 64;
}

ALRPDEF void alrp_gemm_f32(struct alrp_threadpool * tp, bool trans_a, bool trans_b,
                           int64_t M, int64_t N, int64_t K,
                           float alpha, const float * A, int64_t lda, const float * B, int64_t ldb,
                           float beta, float * C, int64_t ldc, void * work) {
    ALRP_ASSERTM(M >= 0 && N >= 0 && K >= 0, "alrp_gemm_f32: negative size M=%lld N=%lld K=%lld",
                 (long long) M, (long long) N, (long long) K);
    if (M == 0 || N == 0) return;
    ALRP_ASSERTM(ldc >= N, "alrp_gemm_f32: ldc=%lld < N=%lld", (long long) ldc, (long long) N);
    if (K > 0) {
        ALRP_ASSERTM(lda >= (trans_a ? M : K), "alrp_gemm_f32: lda=%lld too small for %s A", (long long) lda, trans_a ? "transposed" : "");
        ALRP_ASSERTM(ldb >= (trans_b ? K : N), "alrp_gemm_f32: ldb=%lld too small for %s B", (long long) ldb, trans_b ? "transposed" : "");
    }
    if (alpha == 0.0f) K = 0;   // as in BLAS: A and B are not read (no NaN from 0 * inf)
    struct alrp__gemm_op op;
    alrp__gemm_make_op(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, &op);
    void * owned;
    void * w = alrp__work_get(work, alrp_gemm_work_size(M, N, K, alrp_threadpool_n_threads(tp)), &owned);
    alrp__gemm_run(tp, &op, alrp__align64(w));
    if (owned) ALRP_FREE(owned);
}

ALRPDEF void alrp__gemm_f32_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                                  float alpha, const float * A, int64_t lda, const float * B, int64_t ldb,
                                  float beta, float * C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        for (int64_t j = 0; j < N; j++) {
            double s = 0.0;
            for (int64_t k = 0; k < K; k++) {
                const float a = trans_a ? A[k * lda + i] : A[i * lda + k];
                const float b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
                s += (double) a * (double) b;
            }
            float * c = C + i * ldc + j;
            *c = (float) (alpha * s + (beta == 0.0f ? 0.0 : (double) beta * *c));
        }
    }
}

// ---- conv2d ----------------------------------------------------------------------------------
// All three conv kernels are batched GEMMs over (image n, group g), with the im2col matrix
// produced inside the B packing (never written out):
//   forward        y[n,g] (Og, OH OW)     = w[g] (Og, Cg kH kW) @ im2col(x[n,g]) (Cg kH kW, OH OW)
//   weight grad    dw[g]  (Og, Cg kH kW)  = dy[:,g] (Og, N OH OW) @ im2col(x[:,g])^T, the batch in K
//   data grad, stride 1: the forward conv of dy with the flipped, (O, C)-swapped weight
//                  w'[c, o, i, j] = w[o, c, kH-1-i, kW-1-j] (flipped while it is packed) and
//                  padding d (k - 1) - p (a "full" correlation; negative padding crops), so it
//                  runs as fast as the forward;
//   data grad, stride > 1: dcol (Cg kH kW, OH OW) = w[g]^T @ dy[n,g] in chunks, then col2im.
// 1x1 stride-1 unpadded convs skip im2col: the image already is the (C, H W) matrix.

ALRPDEF int64_t alrp_conv2d_out_h(const struct alrp_conv2d_desc * d) {
    return (d->h + 2 * d->ph - d->dh * (d->kh - 1) - 1) / d->sh + 1;
}

ALRPDEF int64_t alrp_conv2d_out_w(const struct alrp_conv2d_desc * d) {
    return (d->w + 2 * d->pw - d->dw * (d->kw - 1) - 1) / d->sw + 1;
}

ALRPDEF bool alrp_conv2d_check(const struct alrp_conv2d_desc * d, char * err, size_t err_size) {
    char buf[256];
    buf[0] = 0;
    if (!d) snprintf(buf, sizeof(buf), "conv2d: NULL descriptor");
    else if (d->n < 1 || d->c < 1 || d->h < 1 || d->w < 1)
        snprintf(buf, sizeof(buf), "conv2d: input (N, C, H, W) = (%lld, %lld, %lld, %lld) must be >= 1",
                 (long long) d->n, (long long) d->c, (long long) d->h, (long long) d->w);
    else if (d->o < 1 || d->kh < 1 || d->kw < 1)
        snprintf(buf, sizeof(buf), "conv2d: weight O=%lld kH=%lld kW=%lld must be >= 1", (long long) d->o, (long long) d->kh, (long long) d->kw);
    else if (d->sh < 1 || d->sw < 1 || d->dh < 1 || d->dw < 1)
        snprintf(buf, sizeof(buf), "conv2d: stride (%lld, %lld) and dilation (%lld, %lld) must be >= 1",
                 (long long) d->sh, (long long) d->sw, (long long) d->dh, (long long) d->dw);
    else if (d->ph < 0 || d->pw < 0)
        snprintf(buf, sizeof(buf), "conv2d: padding (%lld, %lld) must be >= 0", (long long) d->ph, (long long) d->pw);
    else if (d->groups < 1 || d->c % d->groups || d->o % d->groups)
        snprintf(buf, sizeof(buf), "conv2d: groups=%lld must be >= 1 and divide C=%lld and O=%lld",
                 (long long) d->groups, (long long) d->c, (long long) d->o);
    else if (d->h + 2 * d->ph < d->dh * (d->kh - 1) + 1 || d->w + 2 * d->pw < d->dw * (d->kw - 1) + 1)
        snprintf(buf, sizeof(buf), "conv2d: dilated kernel %lldx%lld larger than the padded input %lldx%lld",
                 (long long) (d->dh * (d->kh - 1) + 1), (long long) (d->dw * (d->kw - 1) + 1),
                 (long long) (d->h + 2 * d->ph), (long long) (d->w + 2 * d->pw));
    if (err && err_size) snprintf(err, err_size, "%s", buf);
    return buf[0] == 0;
}

static void alrp__conv_assert(const struct alrp_conv2d_desc * d, const char * who) {
    char err[256];
    ALRP_ASSERTM(alrp_conv2d_check(d, err, sizeof(err)), "%s: %s", who, err);
}

static bool alrp__conv_pointwise(const struct alrp_conv2d_desc * d) {
    return d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 && d->ph == 0 && d->pw == 0;
}

// im2col geometry of x (N, C, H, W) under d, images (n, g) at x + n C H W + g Cg H W
static struct alrp__cgeo alrp__conv_geo(const struct alrp_conv2d_desc * d, const float * x) {
    struct alrp__cgeo g;
    g.x = x;
    g.xs1 = d->c * d->h * d->w; g.xs2 = (d->c / d->groups) * d->h * d->w;
    g.h = d->h; g.w = d->w; g.kh = d->kh; g.kw = d->kw; g.sh = d->sh; g.sw = d->sw;
    g.ph = d->ph; g.pw = d->pw; g.dh = d->dh; g.dw = d->dw;
    g.oh = alrp_conv2d_out_h(d); g.ow = alrp_conv2d_out_w(d);
    return g;
}

enum { ALRP__CONV_FWD, ALRP__CONV_BWD_DATA, ALRP__CONV_BWD_WEIGHT };

// The batched GEMM of a conv kernel (the data gradient only for stride 1). geo: storage for
// the im2col geometry that op points to. Pointers may be NULL for a size query.
static void alrp__conv_make_op(const struct alrp_conv2d_desc * d, int which, const float * x, const float * w,
                               const float * b, const float * dy, float beta, float * out,
                               struct alrp__gemm_op * op, struct alrp__cgeo * geo) {
    const int64_t G = d->groups, cg = d->c / G, og = d->o / G, khw = d->kh * d->kw;
    const int64_t OH = alrp_conv2d_out_h(d), OW = alrp_conv2d_out_w(d), ohw = OH * OW, hw = d->h * d->w;
    const bool pointwise = alrp__conv_pointwise(d);
    memset(op, 0, sizeof(*op));
    op->alpha = 1.0f; op->beta = beta; op->c = out;
    if (which == ALRP__CONV_FWD) {
        // y[n, g] (Og, OH OW) = w[g] (Og, Cg kH kW) @ im2col(x[n, g])
        op->M = og; op->N = ohw; op->K = cg * khw; op->nb1 = d->n; op->nb2 = G;
        op->a.kind = ALRP__SRC_MAT; op->a.p = w; op->a.ld = cg * khw; op->a.s2 = og * cg * khw;
        if (pointwise) {   // x[n, g] already is the (Cg, H W) matrix
            op->b.kind = ALRP__SRC_MAT; op->b.p = x; op->b.kmajor = true; op->b.ld = hw; op->b.s1 = d->c * hw; op->b.s2 = cg * hw;
        } else {
            *geo = alrp__conv_geo(d, x);
            op->b.kind = ALRP__SRC_IM2COL; op->b.geo = geo;
        }
        op->ldc = ohw; op->cs1 = d->o * ohw; op->cs2 = og * ohw;
        op->bias = b; op->bias_s2 = og;
    } else if (which == ALRP__CONV_BWD_DATA) {
        op->M = cg; op->N = hw; op->K = og * khw; op->nb1 = d->n; op->nb2 = G;
        op->ldc = hw; op->cs1 = d->c * hw; op->cs2 = cg * hw;
        if (pointwise) {
            // dx[n, g] (Cg, HW) = w[g]^T (Cg, Og) @ dy[n, g] (Og, HW)
            op->a.kind = ALRP__SRC_MAT; op->a.kmajor = true; op->a.p = w; op->a.ld = cg; op->a.s2 = og * cg;
            op->b.kind = ALRP__SRC_MAT; op->b.kmajor = true; op->b.p = dy; op->b.ld = ohw; op->b.s1 = d->o * ohw; op->b.s2 = og * ohw;
        } else {
            // dx[n, g] (Cg, HW) = w'[g] (Cg, Og kH kW) @ im2col(dy[n, g]) with the "full" padding
            op->a.kind = ALRP__SRC_FLIPW; op->a.p = w; op->a.og = og; op->a.cg = cg; op->a.khw = khw;
            geo->x = dy; geo->xs1 = d->o * ohw; geo->xs2 = og * ohw;
            geo->h = OH; geo->w = OW; geo->kh = d->kh; geo->kw = d->kw; geo->sh = 1; geo->sw = 1;
            geo->ph = d->dh * (d->kh - 1) - d->ph; geo->pw = d->dw * (d->kw - 1) - d->pw;
            geo->dh = d->dh; geo->dw = d->dw; geo->oh = d->h; geo->ow = d->w;
            op->b.kind = ALRP__SRC_IM2COL; op->b.geo = geo;
        }
    } else {
        // dw[g] (Og, Cg kH kW) = dy[:, g] (Og, N OH OW) @ im2col(x[:, g])^T, the batch along K
        op->M = og; op->N = cg * khw; op->K = d->n * ohw; op->nb1 = 1; op->nb2 = G;
        op->a.kind = ALRP__SRC_MAT; op->a.p = dy; op->a.ld = ohw; op->a.s2 = og * ohw; op->a.kcat = ohw; op->a.kcat_s = d->o * ohw;
        if (pointwise) {
            op->b.kind = ALRP__SRC_MAT; op->b.p = x; op->b.ld = hw; op->b.s2 = cg * hw; op->b.kcat = hw; op->b.kcat_s = d->c * hw;
        } else {
            *geo = alrp__conv_geo(d, x);
            op->b.kind = ALRP__SRC_COLT; op->b.geo = geo;
        }
        op->ldc = cg * khw; op->cs2 = og * cg * khw;
    }
}

// strided data gradient: input channels per col chunk, and output positions per chunk
static void alrp__conv_col_chunks(const struct alrp_conv2d_desc * d, int64_t * cc, int64_t * qc) {
    const int64_t khw = d->kh * d->kw, cg = d->c / d->groups;
    const int64_t ohw = alrp_conv2d_out_h(d) * alrp_conv2d_out_w(d);
    *cc = ALRP_MIN(cg, ALRP_MAX(1, 256 / khw));
    const int64_t rows = *cc * khw;
    *qc = ALRP_MAX(ALRP__GEMM_NR, ((128 * 1024 / rows) / ALRP__GEMM_NR) * ALRP__GEMM_NR);
    *qc = ALRP_MIN(*qc, ALRP__ROUNDUP(ohw, ALRP__GEMM_NR));
}

static bool alrp__conv_direct_dw(const struct alrp_conv2d_desc * d);
static int64_t alrp__conv_direct_dw_floats(const struct alrp_conv2d_desc * d);

// workspace floats of one conv kernel with nth threads
static int64_t alrp__conv_work_floats(const struct alrp_conv2d_desc * d, int which, int nth) {
    if (which == ALRP__CONV_BWD_WEIGHT && alrp__conv_direct_dw(d)) return (int64_t) ALRP_MAX(nth, 1) * alrp__conv_direct_dw_floats(d);
    if (which == ALRP__CONV_BWD_DATA && (d->sh > 1 || d->sw > 1)) {
        int64_t cc, qc;
        const int64_t khw = d->kh * d->kw, og = d->o / d->groups;
        alrp__conv_col_chunks(d, &cc, &qc);
        return (int64_t) ALRP_MAX(nth, 1) * (alrp__gemm_thread_floats(cc * khw, qc, og) + ALRP__ROUNDUP(cc * khw * qc, 16));
    }
    struct alrp__gemm_op op;
    struct alrp__cgeo geo;
    alrp__conv_make_op(d, which, NULL, NULL, NULL, NULL, 0.0f, NULL, &op, &geo);
    return alrp__gemm_op_floats(&op, nth);
}

ALRPDEF size_t alrp_conv2d_work_size(const struct alrp_conv2d_desc * d, int n_threads) {
    alrp__conv_assert(d, "alrp_conv2d_work_size");
    int64_t best = 0;
    for (int which = 0; which < 3; which++) best = ALRP_MAX(best, alrp__conv_work_floats(d, which, n_threads));
    return (size_t) best * sizeof(float) + 64;
}

// the caller's workspace or an owned one, 64-byte aligned
static float * alrp__conv_work(const struct alrp_conv2d_desc * d, struct alrp_threadpool * tp, int which,
                               void * work, void ** owned) {
    const size_t bytes = (size_t) alrp__conv_work_floats(d, which, alrp_threadpool_n_threads(tp)) * sizeof(float) + 64;
    return alrp__align64(alrp__work_get(work, bytes, owned));
}

// y (N, O, OH, OW) = beta y + conv(x (N, C, H, W), w (O, C/g, kH, kW)) + b (O)
ALRPDEF void alrp_conv2d_f32(struct alrp_threadpool * tp, const struct alrp_conv2d_desc * d,
                             const float * x, const float * w, const float * b,
                             float beta, float * y, void * work) {
    alrp__conv_assert(d, "alrp_conv2d_f32");
    struct alrp__gemm_op op;
    struct alrp__cgeo geo;
    alrp__conv_make_op(d, ALRP__CONV_FWD, x, w, b, NULL, beta, y, &op, &geo);
    void * owned;
    float * wk = alrp__conv_work(d, tp, ALRP__CONV_FWD, work, &owned);
    alrp__gemm_run(tp, &op, wk);
    if (owned) ALRP_FREE(owned);
}

// ---- data gradient

struct alrp__col_job {
    const struct alrp_conv2d_desc * d;
    const float * dy, * w;
    float * dx, * work;
    float beta;
    int64_t per_thread, tm, cc, qc;
};

// row[iw0 + t s] += src[t] where 0 <= iw0 + t s < w, for t in [0, run)
static inline void alrp__scatter_row_add(float * restrict row, int64_t w, int64_t iw0, int64_t s, const float * restrict src, int64_t run) {
    int64_t lo = iw0 >= 0 ? 0 : (-iw0 + s - 1) / s;
    int64_t hi = iw0 >= w ? 0 : (w - iw0 + s - 1) / s;
    lo = ALRP_MIN(lo, run);
    hi = ALRP_MIN(hi, run);
    int64_t t = lo;
#ifdef ALRP__AVX512
    if (s == 1) {
        for (; t < hi; t += 16) {
            const __mmask16 m = alrp__mask16(hi - t);
            float * d = row + iw0 + t;
            _mm512_mask_storeu_ps(d, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, d), _mm512_maskz_loadu_ps(m, src + t)));
        }
    } else if (s == 2) {   // 16 sources go to the even lanes of 32 row floats
        const __m512i lo8 = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
        const __m512i hi8 = _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
        for (; t < hi; t += 16) {
            const int64_t n = ALRP_MIN(16, hi - t);
            const __m512 v = _mm512_maskz_loadu_ps(alrp__mask16(n), src + t);
            float * d = row + iw0 + 2 * t;
            const __mmask16 m0 = (__mmask16) (0x5555 & alrp__mask16(2 * n)), m1 = (__mmask16) (0x5555 & alrp__mask16(2 * n - 16));
            _mm512_mask_storeu_ps(d, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, d), _mm512_permutexvar_ps(lo8, v)));
            if (m1) _mm512_mask_storeu_ps(d + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, d + 16), _mm512_permutexvar_ps(hi8, v)));
        }
    }
#endif
    for (; t < hi; t++) row[iw0 + t * s] += src[t];
}

// one thread's share of the strided data gradient: units (n, g, channel block)
static void alrp__conv_col_worker(void * arg, int ith, int nth) {
    const struct alrp__col_job * job = (const struct alrp__col_job *) arg;
    const struct alrp_conv2d_desc * d = job->d;
    const int64_t G = d->groups, cg = d->c / G, og = d->o / G, khw = d->kh * d->kw;
    const int64_t OH = alrp_conv2d_out_h(d), OW = alrp_conv2d_out_w(d), ohw = OH * OW, hw = d->h * d->w;
    float * buf = job->work + ith * job->per_thread;
    float * col = buf + alrp__gemm_thread_floats(job->cc * khw, job->qc, og);
    struct alrp__gemm_plan pl;
    memset(&pl, 0, sizeof(pl));
    const int64_t units = d->n * G * job->tm;
    for (int64_t u = units * ith / nth; u < units * (ith + 1) / nth; u++) {
        const int64_t n = u / (G * job->tm), g = (u / job->tm) % G, im = u % job->tm;
        const int64_t c0 = im * cg / job->tm, c1 = (im + 1) * cg / job->tm;
        float * dxg = job->dx + (n * d->c + g * cg) * hw;
        alrp__scale_f32(dxg + c0 * hw, (c1 - c0) * hw, job->beta);
        for (int64_t cs = c0; cs < c1; cs += job->cc) {
            const int64_t ce = ALRP_MIN(c1, cs + job->cc), rows = (ce - cs) * khw;
            for (int64_t q0 = 0; q0 < ohw; q0 += job->qc) {
                const int64_t qn = ALRP_MIN(job->qc, ohw - q0);
                // col (rows, qn) = w[g][:, cs..ce]^T (rows, Og) @ dy[n, g][:, q0..] (Og, qn)
                struct alrp__gemm_op op;
                memset(&op, 0, sizeof(op));
                op.M = rows; op.N = qn; op.K = og; op.nb1 = op.nb2 = 1; op.alpha = 1.0f; op.beta = 0.0f;
                op.a.kind = ALRP__SRC_MAT; op.a.kmajor = true; op.a.p = job->w + g * og * cg * khw + cs * khw; op.a.ld = cg * khw;
                op.b.kind = ALRP__SRC_MAT; op.b.kmajor = true; op.b.p = job->dy + (n * d->o + g * og) * ohw + q0; op.b.ld = ohw;
                op.c = col; op.ldc = qn;
                pl.npan = ALRP__CEILDIV(rows, ALRP__GEMM_MR);
                pl.tm = pl.tn = pl.tk = 1;
                alrp__gemm_tile(&op, &pl, 0, 0, 0, pl.npan, 0, qn, 0, ALRP__CEILDIV(og, ALRP__GEMM_KC), col, qn, 0.0f, NULL, buf);
                // col2im: dx[cs + c, oh sh - ph + ki dh, ow sw - pw + kj dw] += col[(c, ki, kj), q]
                for (int64_t r = 0; r < rows; r++) {
                    const int64_t c = cs + r / khw, ki = (r % khw) / d->kw, kj = r % d->kw;
                    const int64_t ihb = ki * d->dh - d->ph, iwb = kj * d->dw - d->pw;
                    float * dxc = dxg + c * hw;
                    const float * src = col + r * qn;
                    int64_t oh = q0 / OW, ow = q0 % OW;
                    for (int64_t q = 0; q < qn; ) {
                        const int64_t run = ALRP_MIN(OW - ow, qn - q), ih = oh * d->sh + ihb;
                        if (ih >= 0 && ih < d->h) alrp__scatter_row_add(dxc + ih * d->w, d->w, ow * d->sw + iwb, d->sw, src + q, run);
                        q += run; ow = 0; oh++;
                    }
                }
            }
        }
    }
}

// dx (N, C, H, W) = beta dx + conv_transpose(dy (N, O, OH, OW), w (O, C/g, kH, kW))
ALRPDEF void alrp_conv2d_backward_data_f32(struct alrp_threadpool * tp, const struct alrp_conv2d_desc * d,
                                           const float * dy, const float * w,
                                           float beta, float * dx, void * work) {
    alrp__conv_assert(d, "alrp_conv2d_backward_data_f32");
    void * owned;
    float * wk = alrp__conv_work(d, tp, ALRP__CONV_BWD_DATA, work, &owned);
    if (d->sh == 1 && d->sw == 1) {
        struct alrp__gemm_op op;
        struct alrp__cgeo geo;
        alrp__conv_make_op(d, ALRP__CONV_BWD_DATA, NULL, w, NULL, dy, beta, dx, &op, &geo);
        alrp__gemm_run(tp, &op, wk);
    } else {
        struct alrp__col_job job;
        const int nth = alrp_threadpool_n_threads(tp);
        const int64_t cg = d->c / d->groups;
        job.d = d; job.dy = dy; job.w = w; job.dx = dx; job.work = wk; job.beta = beta;
        alrp__conv_col_chunks(d, &job.cc, &job.qc);
        job.per_thread = alrp__gemm_thread_floats(job.cc * d->kh * d->kw, job.qc, d->o / d->groups) +
                         ALRP__ROUNDUP(job.cc * d->kh * d->kw * job.qc, 16);
        // split channels too when the (n, g) units alone would leave threads idle
        job.tm = 1;
        while (job.tm < cg && (d->n * d->groups * job.tm) % nth != 0 && d->n * d->groups * job.tm < 4 * nth) job.tm++;
        alrp_threadpool_run(tp, alrp__conv_col_worker, &job);
    }
    if (owned) ALRP_FREE(owned);
}

// ---- weight gradient

struct alrp__db_job { const struct alrp_conv2d_desc * d; const float * dy; float * db; float beta; };

// db[o] = beta db[o] + sum over n, q of dy[n, o, q]
static void alrp__conv_db_worker(void * arg, int ith, int nth) {
    const struct alrp__db_job * job = (const struct alrp__db_job *) arg;
    const struct alrp_conv2d_desc * d = job->d;
    const int64_t ohw = alrp_conv2d_out_h(d) * alrp_conv2d_out_w(d);
    for (int64_t o = d->o * ith / nth; o < d->o * (ith + 1) / nth; o++) {
        ALRP_F32_VEC acc = ALRP_F32_VEC_ZERO();
        float s = 0.0f;
        for (int64_t n = 0; n < d->n; n++) {
            const float * p = job->dy + (n * d->o + o) * ohw;
            int64_t q = 0;
            for (; q + ALRP_F32_EPR <= ohw; q += ALRP_F32_EPR) acc = ALRP_F32_VEC_ADD(acc, ALRP_F32_VEC_LOAD(p + q));
            for (; q < ohw; q++) s += p[q];
        }
        s += ALRP_F32_VEC_REDUCE(acc);
        job->db[o] = job->beta == 0.0f ? s : job->beta * job->db[o] + s;
    }
}

// ---- direct weight gradient for 3x3 stride-1 convs with few output channels per group
// (ResNeXt: 4 to 32). There the GEMM form packs far more than it computes (each gathered
// element feeds only Og FMA lanes), so this path gathers nothing: per (group, input channel)
// it copies the channel's N planes into a zero-padded buffer once, then for 2 output channels
// at a time accumulates the 9 taps as vector partial sums along ow and reduces them at the end.
//   dw[o, c, ki, kj] = sum_{n, oh, ow} dy[n, o, oh, ow] x[n, c, oh - ph + ki dh, ow - pw + kj dw]

#define ALRP__DW_OB 2   // output channels per pass: 2 x 9 accumulators
// keeps a loaded vector in a register: otherwise GCC folds the load into each FMA that uses it,
// and the loop becomes bound by (mostly cache-line-split) loads
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(ALRP_NO_SIMD) && ALRP_F32_EPR > 1
#define ALRP__IN_REGISTER(v) __asm__("" : "+v"(v))
#else
#define ALRP__IN_REGISTER(v) ((void) 0)
#endif

#ifndef ALRP__DW_DIRECT_MAX_OG
#define ALRP__DW_DIRECT_MAX_OG 32
#endif
static bool alrp__conv_direct_dw(const struct alrp_conv2d_desc * d) {
    return d->kh == 3 && d->kw == 3 && d->sh == 1 && d->sw == 1 && d->o / d->groups <= ALRP__DW_DIRECT_MAX_OG;
}

// per-thread floats: the padded planes of one input channel and, when OW is not a multiple of
// the vector width, the dy planes of ALRP__DW_OB output channels with rows padded with zeros
static int64_t alrp__conv_direct_dw_floats(const struct alrp_conv2d_desc * d) {
    const int64_t OH = alrp_conv2d_out_h(d), OW = alrp_conv2d_out_w(d), wp = d->w + 2 * d->pw + ALRP_F32_EPR;
    const int64_t dyp = OW % ALRP_F32_EPR ? ALRP__DW_OB * d->n * OH * ALRP__ROUNDUP(OW, ALRP_F32_EPR) : 0;
    return ALRP__ROUNDUP(d->n * (d->h + 2 * d->ph) * wp, 16) + ALRP__ROUNDUP(dyp, 16);
}

struct alrp__dw_job {
    const struct alrp_conv2d_desc * d;
    const float * x, * dy;
    float * dw, * work;
    float beta;
    int64_t per_thread;
};

static void alrp__conv_direct_dw_worker(void * arg, int ith, int nth) {
    const struct alrp__dw_job * job = (const struct alrp__dw_job *) arg;
    const struct alrp_conv2d_desc * d = job->d;
    const int64_t G = d->groups, cg = d->c / G, og = d->o / G, hw = d->h * d->w;
    const int64_t OH = alrp_conv2d_out_h(d), OW = alrp_conv2d_out_w(d), ohw = OH * OW;
    const int64_t hp = d->h + 2 * d->ph, wp = d->w + 2 * d->pw + ALRP_F32_EPR;   // + EPR: reads past OW
    const int64_t owv = ALRP__ROUNDUP(OW, ALRP_F32_EPR);
    const bool pad_dy = OW % ALRP_F32_EPR != 0;
    float * xp = job->work + ith * job->per_thread;
    float * dyp = xp + ALRP__ROUNDUP(d->n * hp * wp, 16);   // pad_dy: [ALRP__DW_OB][N][OH][owv]
    for (int64_t u = G * cg * ith / nth; u < G * cg * (ith + 1) / nth; u++) {
        const int64_t g = u / cg, c = u % cg;
        // xp[n][ih + ph][iw + pw] = x[n, g cg + c, ih, iw], 0 in the padding
        alrp__zero_f32(xp, d->n * hp * wp);
        for (int64_t n = 0; n < d->n; n++) {
            const float * xs = job->x + (n * d->c + g * cg + c) * hw;
            for (int64_t ih = 0; ih < d->h; ih++) alrp__copy_f32(xp + (n * hp + ih + d->ph) * wp + d->pw, xs + ih * d->w, d->w);
        }
        for (int64_t o0 = 0; o0 < og; o0 += ALRP__DW_OB) {
            const int ob = (int) ALRP_MIN(ALRP__DW_OB, og - o0);
            ALRP_F32_VEC acc[ALRP__DW_OB][9];
            ALRP__UNROLL for (int i = 0; i < ALRP__DW_OB; i++) { ALRP__UNROLL for (int t = 0; t < 9; t++) acc[i][t] = ALRP_F32_VEC_ZERO(); }
            // dy row (n, oh) of output channel o0 + i at dyb[i] + (n OH + oh) dys; a missing
            // channel (ob < ALRP__DW_OB) reads channel o0 again and its sums are dropped
            const float * dyb[ALRP__DW_OB];
            int64_t dys = OW;
            for (int i = 0; i < ALRP__DW_OB; i++) dyb[i] = job->dy + (g * og + o0 + (i < ob ? i : 0)) * ohw;
            if (pad_dy) {   // rows padded to owv with zeros, so the last vector reads no garbage
                dys = owv;
                for (int i = 0; i < ALRP__DW_OB; i++) {
                    float * dst = dyp + i * d->n * OH * owv;
                    for (int64_t n = 0; n < d->n; n++) {
                        for (int64_t oh = 0; oh < OH; oh++) {
                            float * row = dst + (n * OH + oh) * owv;
                            alrp__copy_f32(row, dyb[i] + n * d->o * ohw + oh * OW, OW);
                            alrp__zero_f32(row + OW, owv - OW);
                        }
                    }
                    dyb[i] = dst;
                }
            }
            const int64_t dyn = pad_dy ? OH * owv : d->o * ohw;   // image stride of the dy rows
            for (int64_t n = 0; n < d->n; n++) {
                for (int64_t oh = 0; oh < OH; oh++) {
                    const float * x0 = xp + (n * hp + oh) * wp;   // padded row oh + ki dh
                    const int64_t dyo = n * dyn + oh * dys;
                    for (int64_t ow = 0; ow < owv; ow += ALRP_F32_EPR) {
                        ALRP_F32_VEC gy[ALRP__DW_OB];
                        ALRP__UNROLL for (int i = 0; i < ALRP__DW_OB; i++) gy[i] = ALRP_F32_VEC_LOAD(dyb[i] + dyo + ow);
                        ALRP__UNROLL for (int ki = 0; ki < 3; ki++) {
                            const float * xr = x0 + ki * d->dh * wp + ow;
                            ALRP__UNROLL for (int kj = 0; kj < 3; kj++) {
                                ALRP_F32_VEC xv = ALRP_F32_VEC_LOAD(xr + kj * d->dw);
                                ALRP__IN_REGISTER(xv);
                                ALRP__UNROLL for (int i = 0; i < ALRP__DW_OB; i++) acc[i][ki * 3 + kj] = ALRP_F32_VEC_FMA(gy[i], xv, acc[i][ki * 3 + kj]);
                            }
                        }
                    }
                }
            }
            for (int i = 0; i < ob; i++) {
                float * dwp = job->dw + ((g * og + o0 + i) * cg + c) * 9;
                for (int t = 0; t < 9; t++) {
                    const float s = ALRP_F32_VEC_REDUCE(acc[i][t]);
                    dwp[t] = job->beta == 0.0f ? s : job->beta * dwp[t] + s;
                }
            }
        }
    }
}

// dw (O, C/g, kH, kW) = beta dw + sum_n dy[n] (O, OH OW) @ im2col(x[n])^T; db (O) likewise
ALRPDEF void alrp_conv2d_backward_weight_f32(struct alrp_threadpool * tp, const struct alrp_conv2d_desc * d,
                                             const float * x, const float * dy,
                                             float beta, float * dw, float * db, void * work) {
    alrp__conv_assert(d, "alrp_conv2d_backward_weight_f32");
    void * owned;
    float * wk = alrp__conv_work(d, tp, ALRP__CONV_BWD_WEIGHT, work, &owned);
    if (alrp__conv_direct_dw(d)) {
        struct alrp__dw_job job = { d, x, dy, dw, wk, beta, alrp__conv_direct_dw_floats(d) };
        alrp_threadpool_run(tp, alrp__conv_direct_dw_worker, &job);
    } else {
        struct alrp__gemm_op op;
        struct alrp__cgeo geo;
        alrp__conv_make_op(d, ALRP__CONV_BWD_WEIGHT, x, NULL, NULL, dy, beta, dw, &op, &geo);
        alrp__gemm_run(tp, &op, wk);
    }
    if (owned) ALRP_FREE(owned);
    if (db) {
        struct alrp__db_job job = { d, dy, db, beta };
        alrp_threadpool_run(tp, alrp__conv_db_worker, &job);
    }
}

// ---- naive references

ALRPDEF void alrp__conv2d_f32_naive(const struct alrp_conv2d_desc * d, const float * x, const float * w,
                                    const float * b, float beta, float * y) {
    alrp__conv_assert(d, "alrp__conv2d_f32_naive");
    const int64_t cg = d->c / d->groups, og = d->o / d->groups;
    const int64_t OH = alrp_conv2d_out_h(d), OW = alrp_conv2d_out_w(d);
    for (int64_t n = 0; n < d->n; n++)
    for (int64_t o = 0; o < d->o; o++)
    for (int64_t oh = 0; oh < OH; oh++)
    for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t g = o / og;
        double s = b ? b[o] : 0.0;
        for (int64_t c = 0; c < cg; c++)
        for (int64_t ki = 0; ki < d->kh; ki++)
        for (int64_t kj = 0; kj < d->kw; kj++) {
            const int64_t ih = oh * d->sh - d->ph + ki * d->dh, iw = ow * d->sw - d->pw + kj * d->dw;
            if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) continue;
            s += (double) w[((o * cg + c) * d->kh + ki) * d->kw + kj] *
                 (double) x[((n * d->c + g * cg + c) * d->h + ih) * d->w + iw];
        }
        float * yp = y + ((n * d->o + o) * OH + oh) * OW + ow;
        *yp = (float) (s + (beta == 0.0f ? 0.0 : (double) beta * *yp));
    }
}

ALRPDEF void alrp__conv2d_backward_data_f32_naive(const struct alrp_conv2d_desc * d, const float * dy,
                                                  const float * w, float beta, float * dx) {
    alrp__conv_assert(d, "alrp__conv2d_backward_data_f32_naive");
    const int64_t cg = d->c / d->groups, og = d->o / d->groups;
    const int64_t OH = alrp_conv2d_out_h(d), OW = alrp_conv2d_out_w(d), nx = d->n * d->c * d->h * d->w;
    double * acc = (double *) ALRP_MALLOC((size_t) nx * sizeof(double));
    ALRP_ASSERTM(acc, "out of memory in alrp__conv2d_backward_data_f32_naive");
    for (int64_t i = 0; i < nx; i++) acc[i] = 0.0;
    for (int64_t n = 0; n < d->n; n++)
    for (int64_t o = 0; o < d->o; o++)
    for (int64_t oh = 0; oh < OH; oh++)
    for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t g = o / og;
        const double gy = dy[((n * d->o + o) * OH + oh) * OW + ow];
        for (int64_t c = 0; c < cg; c++)
        for (int64_t ki = 0; ki < d->kh; ki++)
        for (int64_t kj = 0; kj < d->kw; kj++) {
            const int64_t ih = oh * d->sh - d->ph + ki * d->dh, iw = ow * d->sw - d->pw + kj * d->dw;
            if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) continue;
            acc[((n * d->c + g * cg + c) * d->h + ih) * d->w + iw] += gy * w[((o * cg + c) * d->kh + ki) * d->kw + kj];
        }
    }
    for (int64_t i = 0; i < nx; i++) dx[i] = (float) (acc[i] + (beta == 0.0f ? 0.0 : (double) beta * dx[i]));
    ALRP_FREE(acc);
}

ALRPDEF void alrp__conv2d_backward_weight_f32_naive(const struct alrp_conv2d_desc * d, const float * x,
                                                    const float * dy, float beta, float * dw, float * db) {
    alrp__conv_assert(d, "alrp__conv2d_backward_weight_f32_naive");
    const int64_t cg = d->c / d->groups, og = d->o / d->groups;
    const int64_t OH = alrp_conv2d_out_h(d), OW = alrp_conv2d_out_w(d);
    for (int64_t o = 0; o < d->o; o++) {
        const int64_t g = o / og;
        for (int64_t c = 0; c < cg; c++)
        for (int64_t ki = 0; ki < d->kh; ki++)
        for (int64_t kj = 0; kj < d->kw; kj++) {
            double s = 0.0;
            for (int64_t n = 0; n < d->n; n++)
            for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t ih = oh * d->sh - d->ph + ki * d->dh, iw = ow * d->sw - d->pw + kj * d->dw;
                if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) continue;
                s += (double) dy[((n * d->o + o) * OH + oh) * OW + ow] * (double) x[((n * d->c + g * cg + c) * d->h + ih) * d->w + iw];
            }
            float * p = dw + ((o * cg + c) * d->kh + ki) * d->kw + kj;
            *p = (float) (s + (beta == 0.0f ? 0.0 : (double) beta * *p));
        }
        if (db) {
            double s = 0.0;
            for (int64_t n = 0; n < d->n; n++)
                for (int64_t q = 0; q < OH * OW; q++) s += dy[(n * d->o + o) * OH * OW + q];
            db[o] = (float) (s + (beta == 0.0f ? 0.0 : (double) beta * db[o]));
        }
    }
}

// ============================================================================================
// ===== implementation: ranking losses and box losses (CPU)
// ============================================================================================

#endif // ALRP_IMPLEMENTATION_DONE
#endif // ALRP_IMPLEMENTATION

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
ALTERNATIVE A - MIT License. Copyright (c) 2026 the alrp.h authors.
Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions: The above copyright notice
and this permission notice shall be included in all copies or substantial portions of the
Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
ALTERNATIVE B - Public Domain (www.unlicense.org).
------------------------------------------------------------------------------
*/
