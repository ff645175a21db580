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
