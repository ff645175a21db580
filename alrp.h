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

// ============================================================================================
// ===== declarations: io (safetensors) and optimizer kernels
// ============================================================================================

// ---- safetensors ---------------------------------------------------------------------------
// The file format of weights and reference tensors, compatible with the official safetensors
// spec (PyTorch users read and write it with safetensors.torch, or with tools/ref_safetensors.py):
//     8 bytes  N, the JSON header's length, as a little-endian u64
//     N bytes  a UTF-8 JSON object, padded at the end with spaces:
//                {"__metadata__": {"key": "value", ...},                       (optional)
//                 "conv1.weight": {"dtype": "F32", "shape": [64, 3, 7, 7], "data_offsets": [0, 37632]},
//                 ...}
//     the data section: every tensor's raw little-endian bytes in C (row-major) order, at
//              [begin, end) relative to the start of this section, with no holes or overlaps.
// Shapes are PyTorch's (outermost dimension first). The reader is raw: it knows nothing of
// contexts; copy the data where it belongs (alrp_st_to_f32 converts F16/BF16/... on the way).
#define ALRP_ST_MAX_DIMS 8
#define ALRP_ST_MAX_NAME 128   // bytes of a tensor name, with its NUL

struct alrp_st_tensor {
    char         name[ALRP_ST_MAX_NAME];  // NUL-terminated UTF-8, at most 127 bytes
    char         dtype[8];                // "F32", "F16", "BF16", "F64", "I64", "I32", "I16",
                                          // "I8", "U64", "U32", "U16", "U8" or "BOOL"
    int          n_dims;                  // 0 (a scalar, numel 1) .. ALRP_ST_MAX_DIMS
    int64_t      shape[ALRP_ST_MAX_DIMS]; // PyTorch order: shape[0] is the outermost dimension
    int64_t      numel;                   // product of the shape (the writer computes it)
    const void * data;                    // raw little-endian bytes, numel * element size
    size_t       nbytes;                  // numel * element size (the writer computes it)
};

struct alrp_st_file;

// Reads and validates a whole file. Returns NULL on any problem, with a one-line message in err
// (if err != NULL) naming the file and the problem, e.g.
//   "w.safetensors: tensor 'conv1.weight': data_offsets [0, 100] exceed the data section (64 bytes)".
// The data section is placed 64-byte aligned in memory, so a tensor's data is aligned to its
// element size whenever its offset is (always true for files of alrp_st_save and safetensors).
ALRPDEF struct alrp_st_file * alrp_st_load(const char * path, char * err, size_t err_size);
// Same, from bytes in memory (copied; label names the source in error messages).
ALRPDEF struct alrp_st_file * alrp_st_load_buffer(const void * buf, size_t size, const char * label,
                                                  char * err, size_t err_size);
ALRPDEF void alrp_st_close(struct alrp_st_file * f);
// the tensor called name, or NULL (binary search over the names)
ALRPDEF const struct alrp_st_tensor * alrp_st_get(const struct alrp_st_file * f, const char * name);
// tensors in the order of their data offsets (for files from alrp_st_save: the written order)
ALRPDEF int  alrp_st_count(const struct alrp_st_file * f);
ALRPDEF const struct alrp_st_tensor * alrp_st_at(const struct alrp_st_file * f, int i);
// the "__metadata__" map (string -> string): value of key or NULL; and iteration by index
ALRPDEF const char * alrp_st_metadata(const struct alrp_st_file * f, const char * key);
ALRPDEF int  alrp_st_metadata_count(const struct alrp_st_file * f);
ALRPDEF void alrp_st_metadata_at(const struct alrp_st_file * f, int i, const char ** key, const char ** value);
// bytes per element of a dtype name, or 0 if the name is not a known dtype
ALRPDEF int64_t alrp_st_dtype_size(const char * dtype);
// Converts t's numel values to f32 into dst (F32, F16, BF16, F64 and the integer dtypes).
// Returns 0, or -1 if the dtype has no conversion (BOOL).
ALRPDEF int alrp_st_to_f32(const struct alrp_st_tensor * t, float * dst);

// Writes n tensors (name, dtype, n_dims, shape and data are read; numel and nbytes are
// computed) and optional metadata, a NULL-terminated list of key, value string pairs
// ({"format", "pt", "step", "1200", NULL}), to path. The data section is laid out stably
// sorted by element size, largest first (so every tensor is aligned to its element size):
// tensors of one dtype size keep the given order. The header keys follow the same order,
// after "__metadata__"; the header is padded with spaces to a multiple of 8 bytes. The file
// is written to "<path>.tmp", fsync'ed, then renamed over path, so a crash never leaves a
// half-written path. Returns 0, or -1 with a one-line message in err (and no file written).
ALRPDEF int alrp_st_save(const char * path, int n, const struct alrp_st_tensor * tensors,
                         const char * const * metadata, char * err, size_t err_size);

// ---- optimizer kernels (raw arrays) --------------------------------------------------------
// One update of n parameters, with PyTorch's exact semantics; thread them by splitting [0, n).

// torch.optim.SGD(lr, momentum, dampening=0, weight_decay=wd, nesterov=False):
//     d = g + wd * p;  buf = (step <= 1) ? d : momentum * buf + d;  p -= lr * buf
// (with momentum == 0: p -= lr * d, and mom_buf is not used and may be NULL).
// p, g, mom_buf are (n,); step is 1-based: step 1 initialises the buffer, as PyTorch does.
ALRPDEF void alrp_sgd_step_f32(int64_t n, float * p, const float * g, float * mom_buf,
                               float lr, float momentum, float wd, int64_t step);

// torch.optim.AdamW(lr, betas=(beta1, beta2), eps, weight_decay=wd, amsgrad=False):
//     p *= 1 - lr * wd;  m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g
//     p -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
// p, g, m, v are (n,); m and v start at 0; step is 1-based (the step being taken).
ALRPDEF void alrp_adamw_step_f32(int64_t n, float * p, const float * g, float * m, float * v,
                                 float lr, float beta1, float beta2, float eps, float wd,
                                 int64_t step);

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

// ============================================================================================
// ===== implementation: io (safetensors) and optimizer kernels
// ============================================================================================

#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/types.h>
#include <sys/stat.h>

// ---- safetensors: dtypes and small helpers -------------------------------------------------

#define ALRP__ST_MAX_HEADER ((uint64_t) 100 * 1024 * 1024)  // the official reader's limit too

struct alrp__st_dtype { const char * name; int64_t size; };
static const struct alrp__st_dtype alrp__st_dtypes[] = {
    { "F64", 8 }, { "I64", 8 }, { "U64", 8 }, { "F32", 4 }, { "I32", 4 }, { "U32", 4 },
    { "F16", 2 }, { "BF16", 2 }, { "I16", 2 }, { "U16", 2 }, { "I8", 1 }, { "U8", 1 }, { "BOOL", 1 },
};
#define ALRP__ST_N_DTYPES ((int) (sizeof(alrp__st_dtypes) / sizeof(alrp__st_dtypes[0])))

ALRPDEF int64_t alrp_st_dtype_size(const char * dtype) {
    if (!dtype) return 0;
    for (int i = 0; i < ALRP__ST_N_DTYPES; i++) {
        if (strcmp(dtype, alrp__st_dtypes[i].name) == 0) return alrp__st_dtypes[i].size;
    }
    return 0;
}

static void alrp__st_errf(char * err, size_t err_size, const char * fmt, ...) {
    if (!err || err_size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

static int alrp__st_little_endian(void) {
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

// numel of a shape, or -1 if a dimension is negative or the product overflows int64
static int64_t alrp__st_numel(int n_dims, const int64_t * shape) {
    int64_t numel = 1;
    for (int d = 0; d < n_dims; d++) {
        if (shape[d] < 0) return -1;
        if (shape[d] != 0 && numel > INT64_MAX / shape[d]) return -1;
        numel *= shape[d];
    }
    return numel;
}

// Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0 if invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid, as in RFC 3629).
static size_t alrp__utf8_len(const uint8_t * s, size_t n) {
    if (n == 0) return 0;
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    size_t len; uint8_t lo = 0x80, hi = 0xBF;
    if      (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0)              { len = 3; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) len = 3;
    else if (c == 0xED)              { len = 3; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) len = 3;
    else if (c == 0xF0)              { len = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4)              { len = 4; hi = 0x8F; }
    else return 0;
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < len; k++) if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return len;
}

// ---- safetensors: a strict JSON parser for the header ---------------------------------------
// Accepts exactly what the header may hold: one object whose values are either tensor objects
// {"dtype": string, "shape": [ints], "data_offsets": [int, int]} or, for "__metadata__", an
// object of strings. Decoded strings go to a scratch buffer as large as the header (a decoded
// string plus its NUL is never longer than its quoted form).

struct alrp__jp {
    const char * s;        // the header, n bytes
    size_t       n, i;
    char       * out;      // decoded strings
    size_t       out_used;
    const char * label;    // the file, for messages
    char       * err;
    size_t       err_size;
};

static int alrp__jp_fail(struct alrp__jp * jp, const char * what) {
    alrp__st_errf(jp->err, jp->err_size, "%s: bad JSON header at byte %zu: %s (corrupt file, or not safetensors)",
                  jp->label, jp->i, what);
    return -1;
}

static void alrp__jp_ws(struct alrp__jp * jp) {
    while (jp->i < jp->n) {
        char c = jp->s[jp->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        jp->i++;
    }
}

// skips whitespace and consumes c; -1 (with a message) if the next character is not c
static int alrp__jp_expect(struct alrp__jp * jp, char c) {
    alrp__jp_ws(jp);
    if (jp->i >= jp->n) {
        char msg[48]; snprintf(msg, sizeof(msg), "unexpected end, expected '%c'", c);
        return alrp__jp_fail(jp, msg);
    }
    if (jp->s[jp->i] != c) {
        char msg[48]; snprintf(msg, sizeof(msg), "expected '%c'", c);
        return alrp__jp_fail(jp, msg);
    }
    jp->i++;
    return 0;
}

static int alrp__jp_hex4(struct alrp__jp * jp, uint32_t * u) {
    if (jp->n - jp->i < 4) return alrp__jp_fail(jp, "truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        char c = jp->s[jp->i + k];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0) return alrp__jp_fail(jp, "bad hex digit in \\u escape");
        v = v * 16 + (uint32_t) d;
    }
    jp->i += 4;
    *u = v;
    return 0;
}

static size_t alrp__utf8_put(char * o, uint32_t u) {
    if (u < 0x80)    { o[0] = (char) u; return 1; }
    if (u < 0x800)   { o[0] = (char) (0xC0 | (u >> 6)); o[1] = (char) (0x80 | (u & 0x3F)); return 2; }
    if (u < 0x10000) { o[0] = (char) (0xE0 | (u >> 12)); o[1] = (char) (0x80 | ((u >> 6) & 0x3F));
                       o[2] = (char) (0x80 | (u & 0x3F)); return 3; }
    o[0] = (char) (0xF0 | (u >> 18)); o[1] = (char) (0x80 | ((u >> 12) & 0x3F));
    o[2] = (char) (0x80 | ((u >> 6) & 0x3F)); o[3] = (char) (0x80 | (u & 0x3F));
    return 4;
}

// parses a string; *str points to its NUL-terminated decoded bytes in the scratch buffer
static int alrp__jp_string(struct alrp__jp * jp, const char ** str, size_t * len) {
    if (alrp__jp_expect(jp, '"')) return -1;
    char * o = jp->out + jp->out_used;
    size_t k = 0;
    for (;;) {
        if (jp->i >= jp->n) return alrp__jp_fail(jp, "unterminated string");
        uint8_t c = (uint8_t) jp->s[jp->i];
        if (c == '"') { jp->i++; break; }
        if (c < 0x20) return alrp__jp_fail(jp, "control character in a string (must be escaped)");
        if (c == '\\') {
            if (jp->i + 1 >= jp->n) return alrp__jp_fail(jp, "unterminated escape");
            char e = jp->s[jp->i + 1];
            jp->i += 2;
            switch (e) {
                case '"':  o[k++] = '"';  break;
                case '\\': o[k++] = '\\'; break;
                case '/':  o[k++] = '/';  break;
                case 'b':  o[k++] = '\b'; break;
                case 'f':  o[k++] = '\f'; break;
                case 'n':  o[k++] = '\n'; break;
                case 'r':  o[k++] = '\r'; break;
                case 't':  o[k++] = '\t'; break;
                case 'u': {
                    uint32_t u;
                    if (alrp__jp_hex4(jp, &u)) return -1;
                    if (u >= 0xDC00 && u <= 0xDFFF) return alrp__jp_fail(jp, "lone low surrogate in \\u escape");
                    if (u >= 0xD800 && u <= 0xDBFF) {
                        uint32_t lo;
                        if (jp->n - jp->i < 2 || jp->s[jp->i] != '\\' || jp->s[jp->i + 1] != 'u') {
                            return alrp__jp_fail(jp, "high surrogate not followed by a \\u low surrogate");
                        }
                        jp->i += 2;
                        if (alrp__jp_hex4(jp, &lo)) return -1;
                        if (lo < 0xDC00 || lo > 0xDFFF) return alrp__jp_fail(jp, "high surrogate not followed by a low surrogate");
                        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    if (u == 0) return alrp__jp_fail(jp, "\\u0000 (NUL) in a string is not supported");
                    k += alrp__utf8_put(o + k, u);
                    break;
                }
                default: jp->i--; return alrp__jp_fail(jp, "bad escape in a string");
            }
            continue;
        }
        size_t l = alrp__utf8_len((const uint8_t *) jp->s + jp->i, jp->n - jp->i);
        if (l == 0) return alrp__jp_fail(jp, "invalid UTF-8 in a string");
        memcpy(o + k, jp->s + jp->i, l);
        k += l; jp->i += l;
    }
    o[k] = '\0';
    jp->out_used += k + 1;
    *str = o;
    if (len) *len = k;
    return 0;
}

// a non-negative JSON integer (no sign, fraction or exponent; no leading zeros)
static int alrp__jp_uint(struct alrp__jp * jp, int64_t * val) {
    alrp__jp_ws(jp);
    if (jp->i < jp->n && jp->s[jp->i] == '-') return alrp__jp_fail(jp, "negative number where a size or offset is expected");
    if (jp->i >= jp->n || jp->s[jp->i] < '0' || jp->s[jp->i] > '9') return alrp__jp_fail(jp, "expected a non-negative integer");
    if (jp->s[jp->i] == '0' && jp->i + 1 < jp->n && jp->s[jp->i + 1] >= '0' && jp->s[jp->i + 1] <= '9') {
        return alrp__jp_fail(jp, "number with a leading zero");
    }
    int64_t v = 0;
    while (jp->i < jp->n && jp->s[jp->i] >= '0' && jp->s[jp->i] <= '9') {
        int d = jp->s[jp->i] - '0';
        if (v > (INT64_MAX - d) / 10) return alrp__jp_fail(jp, "integer too large");
        v = v * 10 + d;
        jp->i++;
    }
    if (jp->i < jp->n && (jp->s[jp->i] == '.' || jp->s[jp->i] == 'e' || jp->s[jp->i] == 'E')) {
        return alrp__jp_fail(jp, "expected an integer, found a fraction or exponent");
    }
    *val = v;
    return 0;
}

// [int, int, ...] with at most cap entries; more: returns -2 without a message
static int alrp__jp_uint_array(struct alrp__jp * jp, int64_t * vals, int cap, int * count) {
    if (alrp__jp_expect(jp, '[')) return -1;
    int k = 0;
    alrp__jp_ws(jp);
    if (jp->i < jp->n && jp->s[jp->i] == ']') { jp->i++; *count = 0; return 0; }
    for (;;) {
        if (k == cap) return -2;
        if (alrp__jp_uint(jp, &vals[k])) return -1;
        k++;
        alrp__jp_ws(jp);
        if (jp->i < jp->n && jp->s[jp->i] == ',') { jp->i++; continue; }
        if (alrp__jp_expect(jp, ']')) return -1;
        break;
    }
    *count = k;
    return 0;
}

// after a member: ',' (returns 1: another member follows) or '}' (returns 0)
static int alrp__jp_next_member(struct alrp__jp * jp) {
    alrp__jp_ws(jp);
    if (jp->i < jp->n && jp->s[jp->i] == ',') { jp->i++; return 1; }
    if (alrp__jp_expect(jp, '}')) return -1;
    return 0;
}

// ---- safetensors: reader ---------------------------------------------------------------------

struct alrp_st_file {
    uint8_t               * block;      // owns the file bytes and everything below
    const uint8_t         * data;       // the data section (64-byte aligned)
    uint64_t                data_size;
    int                     n_tensors;
    struct alrp_st_tensor * tensors;    // sorted by data offset
    uint64_t              * offs;       // 2 per tensor: [begin, end)
    const struct alrp_st_tensor ** by_name;
    int                     n_meta;
    const char           ** meta;       // 2 per entry: key, value (in the scratch buffer)
    char                  * scratch;    // decoded JSON strings
};

ALRPDEF void alrp_st_close(struct alrp_st_file * f) {
    if (!f) return;
    ALRP_FREE(f->block);
    ALRP_FREE(f->tensors);
    ALRP_FREE(f->offs);
    ALRP_FREE(f->by_name);
    ALRP_FREE(f->meta);
    ALRP_FREE(f->scratch);
    ALRP_FREE(f);
}

// grows an array of elem-byte items to hold at least need items (doubling)
static int alrp__st_grow(void ** arr, int * cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int nc = *cap ? *cap * 2 : 16;
    while (nc < need) nc *= 2;
    void * p = ALRP_MALLOC((size_t) nc * elem);
    if (!p) return -1;
    if (*arr) { memcpy(p, *arr, (size_t) *cap * elem); ALRP_FREE(*arr); }
    *arr = p; *cap = nc;
    return 0;
}

static int alrp__st_cmp_name(const void * a, const void * b) {
    const struct alrp_st_tensor * ta = *(const struct alrp_st_tensor * const *) a;
    const struct alrp_st_tensor * tb = *(const struct alrp_st_tensor * const *) b;
    return strcmp(ta->name, tb->name);
}

struct alrp__st_span { uint64_t begin, end; int idx; };
static int alrp__st_cmp_span(const void * a, const void * b) {
    const struct alrp__st_span * x = (const struct alrp__st_span *) a;
    const struct alrp__st_span * y = (const struct alrp__st_span *) b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end   != y->end)   return x->end   < y->end   ? -1 : 1;
    return x->idx - y->idx;
}

static void alrp__st_fmt_shape(char * buf, size_t size, const struct alrp_st_tensor * t) {
    size_t k = (size_t) snprintf(buf, size, "[");
    for (int d = 0; d < t->n_dims && k < size; d++) {
        k += (size_t) snprintf(buf + k, size - k, d ? ", %lld" : "%lld", (long long) t->shape[d]);
    }
    if (k < size) snprintf(buf + k, size - k, "]");
}

// Parses the header of f (whose block holds the file: 8 bytes, header, data) and fills the
// tensor table. hdr points to the header bytes.
static int alrp__st_parse(struct alrp_st_file * f, const char * hdr, size_t hdr_len, const char * label,
                          char * err, size_t err_size) {
    struct alrp__jp jp = { hdr, hdr_len, 0, NULL, 0, label, err, err_size };
    f->scratch = (char *) ALRP_MALLOC(hdr_len + 1);
    if (!f->scratch) { alrp__st_errf(err, err_size, "%s: out of memory for a %zu-byte header", label, hdr_len); return -1; }
    jp.out = f->scratch;

    int cap_t = 0, cap_o = 0, cap_m = 0, seen_meta = 0;
    if (alrp__jp_expect(&jp, '{')) return -1;
    alrp__jp_ws(&jp);
    int more = 1;
    if (jp.i < jp.n && jp.s[jp.i] == '}') { jp.i++; more = 0; }
    while (more) {
        const char * key; size_t key_len;
        if (alrp__jp_string(&jp, &key, &key_len)) return -1;
        if (alrp__jp_expect(&jp, ':')) return -1;
        if (strcmp(key, "__metadata__") == 0) {
            if (seen_meta) return alrp__jp_fail(&jp, "\"__metadata__\" appears twice");
            seen_meta = 1;
            if (alrp__jp_expect(&jp, '{')) return -1;
            alrp__jp_ws(&jp);
            int mmore = 1;
            if (jp.i < jp.n && jp.s[jp.i] == '}') { jp.i++; mmore = 0; }
            while (mmore) {
                const char * mk, * mv;
                if (alrp__jp_string(&jp, &mk, NULL)) return -1;
                if (alrp__jp_expect(&jp, ':')) return -1;
                alrp__jp_ws(&jp);
                if (jp.i >= jp.n || jp.s[jp.i] != '"') return alrp__jp_fail(&jp, "a \"__metadata__\" value is not a string");
                if (alrp__jp_string(&jp, &mv, NULL)) return -1;
                for (int k = 0; k < f->n_meta; k++) {
                    if (strcmp(f->meta[2 * k], mk) == 0) {
                        alrp__st_errf(err, err_size, "%s: \"__metadata__\" key '%s' appears twice", label, mk);
                        return -1;
                    }
                }
                if (alrp__st_grow((void **) &f->meta, &cap_m, 2 * (f->n_meta + 1), sizeof(const char *))) {
                    alrp__st_errf(err, err_size, "%s: out of memory", label); return -1;
                }
                f->meta[2 * f->n_meta] = mk; f->meta[2 * f->n_meta + 1] = mv; f->n_meta++;
                if ((mmore = alrp__jp_next_member(&jp)) < 0) return -1;
            }
        } else {
            if (key_len >= ALRP_ST_MAX_NAME) {
                alrp__st_errf(err, err_size, "%s: tensor name '%.40s...' is %zu bytes long, at most %d are supported",
                              label, key, key_len, ALRP_ST_MAX_NAME - 1);
                return -1;
            }
            if (alrp__st_grow((void **) &f->tensors, &cap_t, f->n_tensors + 1, sizeof(struct alrp_st_tensor)) ||
                alrp__st_grow((void **) &f->offs, &cap_o, 2 * (f->n_tensors + 1), sizeof(uint64_t))) {
                alrp__st_errf(err, err_size, "%s: out of memory", label); return -1;
            }
            struct alrp_st_tensor * t = &f->tensors[f->n_tensors];
            memset(t, 0, sizeof(*t));
            memcpy(t->name, key, key_len + 1);
            int has_dtype = 0, has_shape = 0, has_offs = 0;
            int64_t offs[2] = { 0, 0 };
            if (alrp__jp_expect(&jp, '{')) return -1;
            alrp__jp_ws(&jp);
            int tmore = 1;
            if (jp.i < jp.n && jp.s[jp.i] == '}') { jp.i++; tmore = 0; }
            while (tmore) {
                const char * fk;
                if (alrp__jp_string(&jp, &fk, NULL)) return -1;
                if (alrp__jp_expect(&jp, ':')) return -1;
                if (strcmp(fk, "dtype") == 0 && !has_dtype) {
                    const char * dt; size_t dt_len;
                    alrp__jp_ws(&jp);
                    if (jp.i >= jp.n || jp.s[jp.i] != '"') return alrp__jp_fail(&jp, "\"dtype\" is not a string");
                    if (alrp__jp_string(&jp, &dt, &dt_len)) return -1;
                    if (dt_len >= sizeof(t->dtype) || alrp_st_dtype_size(dt) == 0) {
                        alrp__st_errf(err, err_size, "%s: tensor '%s': unknown dtype '%.16s' (known: F64 F32 F16 BF16 "
                                      "I64 I32 I16 I8 U64 U32 U16 U8 BOOL)", label, t->name, dt);
                        return -1;
                    }
                    memcpy(t->dtype, dt, dt_len + 1);
                    has_dtype = 1;
                } else if (strcmp(fk, "shape") == 0 && !has_shape) {
                    int64_t dims[ALRP_ST_MAX_DIMS];
                    int nd, rc = alrp__jp_uint_array(&jp, dims, ALRP_ST_MAX_DIMS, &nd);
                    if (rc == -2) {
                        alrp__st_errf(err, err_size, "%s: tensor '%s': shape has more than %d dims (at most %d are "
                                      "supported)", label, t->name, ALRP_ST_MAX_DIMS, ALRP_ST_MAX_DIMS);
                    }
                    if (rc) return -1;
                    t->n_dims = nd;
                    memcpy(t->shape, dims, sizeof(int64_t) * (size_t) nd);
                    has_shape = 1;
                } else if (strcmp(fk, "data_offsets") == 0 && !has_offs) {
                    int no, rc = alrp__jp_uint_array(&jp, offs, 2, &no);
                    if (rc == -2 || (rc == 0 && no != 2)) {
                        alrp__st_errf(err, err_size, "%s: tensor '%s': data_offsets must hold exactly 2 integers",
                                      label, t->name);
                        return -1;
                    }
                    if (rc) return -1;
                    has_offs = 1;
                } else if (strcmp(fk, "dtype") == 0 || strcmp(fk, "shape") == 0 || strcmp(fk, "data_offsets") == 0) {
                    alrp__st_errf(err, err_size, "%s: tensor '%s': field \"%s\" appears twice", label, t->name, fk);
                    return -1;
                } else {
                    alrp__st_errf(err, err_size, "%s: tensor '%s': unknown field \"%.40s\" (expected dtype, shape, "
                                  "data_offsets)", label, t->name, fk);
                    return -1;
                }
                if ((tmore = alrp__jp_next_member(&jp)) < 0) return -1;
            }
            if (!has_dtype || !has_shape || !has_offs) {
                alrp__st_errf(err, err_size, "%s: tensor '%s': missing \"%s\"", label, t->name,
                              !has_dtype ? "dtype" : !has_shape ? "shape" : "data_offsets");
                return -1;
            }
            t->numel = alrp__st_numel(t->n_dims, t->shape);
            int64_t es = alrp_st_dtype_size(t->dtype);
            if (t->numel < 0 || t->numel > INT64_MAX / es) {
                alrp__st_errf(err, err_size, "%s: tensor '%s': shape overflows 64-bit sizes", label, t->name);
                return -1;
            }
            t->nbytes = (size_t) (t->numel * es);
            f->offs[2 * f->n_tensors]     = (uint64_t) offs[0];
            f->offs[2 * f->n_tensors + 1] = (uint64_t) offs[1];
            f->n_tensors++;
        }
        if ((more = alrp__jp_next_member(&jp)) < 0) return -1;
    }
    alrp__jp_ws(&jp);
    if (jp.i != jp.n) return alrp__jp_fail(&jp, "text after the header's closing '}'");
    return 0;
}

// checks every tensor against the data section; orders the tensors by offset, indexes names
static int alrp__st_validate(struct alrp_st_file * f, const char * label, char * err, size_t err_size) {
    int n = f->n_tensors;
    size_t cnt = n > 0 ? (size_t) n : 1;   // allocation count (never 0)
    char sh[160];
    for (int k = 0; k < n; k++) {
        const struct alrp_st_tensor * t = &f->tensors[k];
        uint64_t b = f->offs[2 * k], e = f->offs[2 * k + 1];
        if (e < b) {
            alrp__st_errf(err, err_size, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", label,
                          t->name, (unsigned long long) b, (unsigned long long) e);
            return -1;
        }
        if (e > f->data_size) {
            alrp__st_errf(err, err_size, "%s: tensor '%s': data_offsets [%llu, %llu] exceed the data section (%llu bytes)"
                          "; the file is truncated or corrupt", label, t->name, (unsigned long long) b,
                          (unsigned long long) e, (unsigned long long) f->data_size);
            return -1;
        }
        if (e - b != (uint64_t) t->nbytes) {
            alrp__st_fmt_shape(sh, sizeof(sh), t);
            alrp__st_errf(err, err_size, "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but shape %s of %s "
                          "needs %llu", label, t->name, (unsigned long long) b, (unsigned long long) e,
                          (unsigned long long) (e - b), sh, t->dtype, (unsigned long long) t->nbytes);
            return -1;
        }
    }
    // the data section must be covered exactly: no overlaps, no holes (as the official reader)
    struct alrp__st_span * sp = (struct alrp__st_span *) ALRP_MALLOC(sizeof(*sp) * cnt);
    if (!sp) { alrp__st_errf(err, err_size, "%s: out of memory", label); return -1; }
    for (int k = 0; k < n; k++) { sp[k].begin = f->offs[2 * k]; sp[k].end = f->offs[2 * k + 1]; sp[k].idx = k; }
    qsort(sp, (size_t) n, sizeof(*sp), alrp__st_cmp_span);
    uint64_t pos = 0;
    int bad = 0;
    for (int k = 0; k < n && !bad; k++) {
        if (sp[k].begin < pos) {
            const struct alrp__st_span * p = &sp[k - 1];
            alrp__st_errf(err, err_size, "%s: tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap", label,
                          f->tensors[p->idx].name, (unsigned long long) p->begin, (unsigned long long) p->end,
                          f->tensors[sp[k].idx].name, (unsigned long long) sp[k].begin, (unsigned long long) sp[k].end);
            bad = 1;
        } else if (sp[k].begin > pos) {
            alrp__st_errf(err, err_size, "%s: data section bytes [%llu, %llu) belong to no tensor (before '%s')", label,
                          (unsigned long long) pos, (unsigned long long) sp[k].begin, f->tensors[sp[k].idx].name);
            bad = 1;
        }
        pos = sp[k].end;
    }
    if (!bad && pos != f->data_size) {
        alrp__st_errf(err, err_size, "%s: data section has %llu bytes after the last tensor's end (%llu); the file "
                      "is corrupt", label, (unsigned long long) (f->data_size - pos), (unsigned long long) pos);
        bad = 1;
    }
    if (bad) { ALRP_FREE(sp); return -1; }
    // reorder by offset, set the data pointers
    struct alrp_st_tensor * ts = (struct alrp_st_tensor *) ALRP_MALLOC(sizeof(*ts) * cnt);
    uint64_t * os = (uint64_t *) ALRP_MALLOC(sizeof(uint64_t) * 2 * cnt);
    f->by_name = (const struct alrp_st_tensor **) ALRP_MALLOC(sizeof(*f->by_name) * cnt);
    if (!ts || !os || !f->by_name) {
        ALRP_FREE(sp); ALRP_FREE(ts); ALRP_FREE(os);
        alrp__st_errf(err, err_size, "%s: out of memory", label);
        return -1;
    }
    for (int k = 0; k < n; k++) {
        ts[k] = f->tensors[sp[k].idx];
        os[2 * k] = sp[k].begin; os[2 * k + 1] = sp[k].end;
        ts[k].data = f->data + sp[k].begin;
        f->by_name[k] = &ts[k];
    }
    ALRP_FREE(sp);
    ALRP_FREE(f->tensors); f->tensors = ts;
    ALRP_FREE(f->offs);    f->offs = os;
    qsort(f->by_name, (size_t) n, sizeof(*f->by_name), alrp__st_cmp_name);
    for (int k = 1; k < n; k++) {
        if (strcmp(f->by_name[k - 1]->name, f->by_name[k]->name) == 0) {
            alrp__st_errf(err, err_size, "%s: tensor '%s' appears twice in the header", label, f->by_name[k]->name);
            return -1;
        }
    }
    return 0;
}

// Builds a file from its first 8 bytes (hdr8) and a reader of the rest; shared by both loaders.
// read_rest(ctx, dst, n) copies the n bytes after the first 8; returns 0 or -1 (with err).
typedef int (*alrp__st_read_fn)(void * ctx, uint8_t * dst, uint64_t n, char * err, size_t err_size);

static struct alrp_st_file * alrp__st_open(uint64_t size, alrp__st_read_fn read_rest, void * ctx, const char * label,
                                           char * err, size_t err_size) {
    if (!alrp__st_little_endian()) {
        alrp__st_errf(err, err_size, "%s: safetensors is little-endian; big-endian hosts are not supported", label);
        return NULL;
    }
    if (size < 8) {
        alrp__st_errf(err, err_size, "%s: file is %llu bytes, too short for a safetensors header (at least 8 bytes)",
                      label, (unsigned long long) size);
        return NULL;
    }
    if (size > (uint64_t) SIZE_MAX - 128) {
        alrp__st_errf(err, err_size, "%s: file of %llu bytes does not fit in memory", label, (unsigned long long) size);
        return NULL;
    }
    uint8_t first[8];
    // the first 8 bytes come through the same reader: read them into a temporary block
    struct alrp_st_file * f = (struct alrp_st_file *) ALRP_MALLOC(sizeof(*f));
    if (!f) { alrp__st_errf(err, err_size, "%s: out of memory", label); return NULL; }
    memset(f, 0, sizeof(*f));
    if (read_rest(ctx, first, 8, err, err_size)) { alrp_st_close(f); return NULL; }
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--) hlen = (hlen << 8) | first[k];
    if (hlen > size - 8) {
        alrp__st_errf(err, err_size, "%s: header length %llu exceeds the file size (%llu bytes); the file is truncated "
                      "or not safetensors", label, (unsigned long long) hlen, (unsigned long long) size);
        alrp_st_close(f); return NULL;
    }
    if (hlen > ALRP__ST_MAX_HEADER) {
        alrp__st_errf(err, err_size, "%s: header length %llu is larger than 100 MB; not a safetensors file?", label,
                      (unsigned long long) hlen);
        alrp_st_close(f); return NULL;
    }
    if (hlen < 2) {
        alrp__st_errf(err, err_size, "%s: header length %llu is too small for a JSON object; not a safetensors file?",
                      label, (unsigned long long) hlen);
        alrp_st_close(f); return NULL;
    }
    // place the file so that its data section (at 8 + hlen) is 64-byte aligned in memory
    f->block = (uint8_t *) ALRP_MALLOC((size_t) size + 64);
    if (!f->block) {
        alrp__st_errf(err, err_size, "%s: out of memory reading %llu bytes", label, (unsigned long long) size);
        alrp_st_close(f); return NULL;
    }
    uintptr_t want = ((uintptr_t) f->block + 8 + (uintptr_t) hlen + 63) & ~(uintptr_t) 63;
    uint8_t * bytes = (uint8_t *) (want - 8 - (uintptr_t) hlen);
    memcpy(bytes, first, 8);
    if (read_rest(ctx, bytes + 8, size - 8, err, err_size)) { alrp_st_close(f); return NULL; }
    f->data = bytes + 8 + hlen;
    f->data_size = size - 8 - hlen;
    const char * hdr = (const char *) bytes + 8;
    if (hdr[0] != '{') {
        alrp__st_errf(err, err_size, "%s: header does not start with '{'; not a safetensors file?", label);
        alrp_st_close(f); return NULL;
    }
    if (alrp__st_parse(f, hdr, (size_t) hlen, label, err, err_size) ||
        alrp__st_validate(f, label, err, err_size)) {
        alrp_st_close(f); return NULL;
    }
    return f;
}

struct alrp__st_mem { const uint8_t * p; uint64_t pos; };
static int alrp__st_read_mem(void * ctx, uint8_t * dst, uint64_t n, char * err, size_t err_size) {
    struct alrp__st_mem * m = (struct alrp__st_mem *) ctx;
    ALRP_UNUSED(err); ALRP_UNUSED(err_size);
    if (n) memcpy(dst, m->p + m->pos, (size_t) n);
    m->pos += n;
    return 0;
}

struct alrp__st_fd { int fd; const char * path; };
static int alrp__st_read_fd(void * ctx, uint8_t * dst, uint64_t n, char * err, size_t err_size) {
    struct alrp__st_fd * c = (struct alrp__st_fd *) ctx;
    while (n > 0) {
        size_t chunk = n > ((uint64_t) 1 << 30) ? ((size_t) 1 << 30) : (size_t) n;
        ssize_t r = read(c->fd, dst, chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            alrp__st_errf(err, err_size, "%s: read failed: %s", c->path, r < 0 ? strerror(errno) : "file shrank while reading");
            return -1;
        }
        dst += r; n -= (uint64_t) r;
    }
    return 0;
}

ALRPDEF struct alrp_st_file * alrp_st_load_buffer(const void * buf, size_t size, const char * label,
                                                  char * err, size_t err_size) {
    if (!label) label = "(buffer)";
    if (!buf && size) { alrp__st_errf(err, err_size, "%s: NULL buffer", label); return NULL; }
    struct alrp__st_mem m = { (const uint8_t *) buf, 0 };
    return alrp__st_open((uint64_t) size, alrp__st_read_mem, &m, label, err, err_size);
}

ALRPDEF struct alrp_st_file * alrp_st_load(const char * path, char * err, size_t err_size) {
    if (!path) { alrp__st_errf(err, err_size, "alrp_st_load: NULL path"); return NULL; }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        alrp__st_errf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        alrp__st_errf(err, err_size, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    struct alrp__st_fd c = { fd, path };
    struct alrp_st_file * f = alrp__st_open((uint64_t) st.st_size, alrp__st_read_fd, &c, path, err, err_size);
    close(fd);
    return f;
}

ALRPDEF const struct alrp_st_tensor * alrp_st_get(const struct alrp_st_file * f, const char * name) {
    if (!f || !name) return NULL;
    int lo = 0, hi = f->n_tensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(f->by_name[mid]->name, name);
        if (c == 0) return f->by_name[mid];
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return NULL;
}

ALRPDEF int alrp_st_count(const struct alrp_st_file * f) { return f ? f->n_tensors : 0; }

ALRPDEF const struct alrp_st_tensor * alrp_st_at(const struct alrp_st_file * f, int i) {
    if (!f || i < 0 || i >= f->n_tensors) return NULL;
    return &f->tensors[i];
}

ALRPDEF const char * alrp_st_metadata(const struct alrp_st_file * f, const char * key) {
    if (!f || !key) return NULL;
    for (int k = 0; k < f->n_meta; k++) if (strcmp(f->meta[2 * k], key) == 0) return f->meta[2 * k + 1];
    return NULL;
}

ALRPDEF int alrp_st_metadata_count(const struct alrp_st_file * f) { return f ? f->n_meta : 0; }

ALRPDEF void alrp_st_metadata_at(const struct alrp_st_file * f, int i, const char ** key, const char ** value) {
    int ok = f && i >= 0 && i < f->n_meta;
    if (key)   *key   = ok ? f->meta[2 * i]     : NULL;
    if (value) *value = ok ? f->meta[2 * i + 1] : NULL;
}

static float alrp__f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t) (h & 0x8000) << 16, e = (h >> 10) & 0x1F, m = h & 0x3FF, bits;
    if (e == 0x1F) {
        bits = sign | 0x7F800000u | (m << 13);                      // inf / nan
    } else if (e == 0) {
        float v = ldexpf((float) m, -24);                            // zero / subnormal
        return sign ? -v : v;
    } else {
        bits = sign | ((e + 112) << 23) | (m << 13);
    }
    float f; memcpy(&f, &bits, 4);
    return f;
}

ALRPDEF int alrp_st_to_f32(const struct alrp_st_tensor * t, float * dst) {
    const uint8_t * s = (const uint8_t *) t->data;
    int64_t n = t->numel;
    // memcpy per element: the data may be unaligned in files from other writers
    #define ALRP__ST_CONV(T) for (int64_t k = 0; k < n; k++) { T x; memcpy(&x, s + k * (int64_t) sizeof(T), sizeof(T)); dst[k] = (float) x; }
    if      (strcmp(t->dtype, "F32") == 0) { if (n) memcpy(dst, s, (size_t) n * 4); }
    else if (strcmp(t->dtype, "F64") == 0) { ALRP__ST_CONV(double) }
    else if (strcmp(t->dtype, "I64") == 0) { ALRP__ST_CONV(int64_t) }
    else if (strcmp(t->dtype, "U64") == 0) { ALRP__ST_CONV(uint64_t) }
    else if (strcmp(t->dtype, "I32") == 0) { ALRP__ST_CONV(int32_t) }
    else if (strcmp(t->dtype, "U32") == 0) { ALRP__ST_CONV(uint32_t) }
    else if (strcmp(t->dtype, "I16") == 0) { ALRP__ST_CONV(int16_t) }
    else if (strcmp(t->dtype, "U16") == 0) { ALRP__ST_CONV(uint16_t) }
    else if (strcmp(t->dtype, "I8")  == 0) { ALRP__ST_CONV(int8_t) }
    else if (strcmp(t->dtype, "U8")  == 0) { ALRP__ST_CONV(uint8_t) }
    else if (strcmp(t->dtype, "F16") == 0) {
        for (int64_t k = 0; k < n; k++) { uint16_t h; memcpy(&h, s + 2 * k, 2); dst[k] = alrp__f16_to_f32(h); }
    } else if (strcmp(t->dtype, "BF16") == 0) {
        for (int64_t k = 0; k < n; k++) {
            uint16_t h; memcpy(&h, s + 2 * k, 2);
            uint32_t bits = (uint32_t) h << 16; float f; memcpy(&f, &bits, 4); dst[k] = f;
        }
    } else {
        return -1;
    }
    #undef ALRP__ST_CONV
    return 0;
}

// ---- safetensors: writer ---------------------------------------------------------------------

struct alrp__sb { char * p; size_t n, cap; int oom; };   // a growing string

static void alrp__sb_put(struct alrp__sb * b, const char * s, size_t len) {
    if (b->oom) return;
    if (b->n + len + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 1024;
        while (nc < b->n + len + 1) nc *= 2;
        char * p = (char *) ALRP_MALLOC(nc);
        if (!p) { b->oom = 1; return; }
        if (b->p) { memcpy(p, b->p, b->n); ALRP_FREE(b->p); }
        b->p = p; b->cap = nc;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void alrp__sb_puts(struct alrp__sb * b, const char * s) { alrp__sb_put(b, s, strlen(s)); }

// a JSON string: escapes '"', '\\' and control characters (as Python's json.dumps with
// ensure_ascii=False does, so both writers make identical bytes); UTF-8 passes through
static void alrp__sb_json_str(struct alrp__sb * b, const char * s) {
    alrp__sb_put(b, "\"", 1);
    for (const unsigned char * c = (const unsigned char *) s; *c; c++) {
        char esc[8];
        switch (*c) {
            case '"':  alrp__sb_put(b, "\\\"", 2); break;
            case '\\': alrp__sb_put(b, "\\\\", 2); break;
            case '\n': alrp__sb_put(b, "\\n", 2);  break;
            case '\r': alrp__sb_put(b, "\\r", 2);  break;
            case '\t': alrp__sb_put(b, "\\t", 2);  break;
            case '\b': alrp__sb_put(b, "\\b", 2);  break;
            case '\f': alrp__sb_put(b, "\\f", 2);  break;
            default:
                if (*c < 0x20) { snprintf(esc, sizeof(esc), "\\u%04x", *c); alrp__sb_puts(b, esc); }
                else alrp__sb_put(b, (const char *) c, 1);
        }
    }
    alrp__sb_put(b, "\"", 1);
}

static int alrp__utf8_valid(const char * s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n; ) {
        size_t l = alrp__utf8_len((const uint8_t *) s + i, n - i);
        if (l == 0) return 0;
        i += l;
    }
    return 1;
}

static int alrp__write_all(int fd, const void * p, size_t n) {
    const uint8_t * q = (const uint8_t *) p;
    while (n > 0) {
        size_t chunk = n > ((size_t) 1 << 30) ? ((size_t) 1 << 30) : n;
        ssize_t w = write(fd, q, chunk);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        q += w; n -= (size_t) w;
    }
    return 0;
}

ALRPDEF int alrp_st_save(const char * path, int n, const struct alrp_st_tensor * tensors,
                         const char * const * metadata, char * err, size_t err_size) {
    if (!path) { alrp__st_errf(err, err_size, "alrp_st_save: NULL path"); return -1; }
    if (n < 0 || (n > 0 && !tensors)) { alrp__st_errf(err, err_size, "%s: bad tensor list (n = %d)", path, n); return -1; }
    if (!alrp__st_little_endian()) {
        alrp__st_errf(err, err_size, "%s: safetensors is little-endian; big-endian hosts are not supported", path);
        return -1;
    }
    // validate the inputs before touching the disk
    for (int k = 0; k < n; k++) {
        const struct alrp_st_tensor * t = &tensors[k];
        if (!memchr(t->name, '\0', sizeof(t->name))) {
            alrp__st_errf(err, err_size, "%s: tensor %d: name is not NUL-terminated within %d bytes", path, k, ALRP_ST_MAX_NAME);
            return -1;
        }
        if (strcmp(t->name, "__metadata__") == 0 || !alrp__utf8_valid(t->name)) {
            alrp__st_errf(err, err_size, "%s: tensor %d: name '%s' is reserved or not valid UTF-8", path, k, t->name);
            return -1;
        }
        if (!memchr(t->dtype, '\0', sizeof(t->dtype)) || alrp_st_dtype_size(t->dtype) == 0) {
            alrp__st_errf(err, err_size, "%s: tensor '%s': unknown dtype '%.8s'", path, t->name, t->dtype);
            return -1;
        }
        if (t->n_dims < 0 || t->n_dims > ALRP_ST_MAX_DIMS) {
            alrp__st_errf(err, err_size, "%s: tensor '%s': n_dims %d is outside 0..%d", path, t->name, t->n_dims, ALRP_ST_MAX_DIMS);
            return -1;
        }
        int64_t numel = alrp__st_numel(t->n_dims, t->shape);
        if (numel < 0 || numel > INT64_MAX / alrp_st_dtype_size(t->dtype)) {
            alrp__st_errf(err, err_size, "%s: tensor '%s': negative or overflowing shape", path, t->name);
            return -1;
        }
        if (numel > 0 && !t->data) {
            alrp__st_errf(err, err_size, "%s: tensor '%s': NULL data for %lld elements", path, t->name, (long long) numel);
            return -1;
        }
        for (int j = 0; j < k; j++) {
            if (strcmp(tensors[j].name, t->name) == 0) {
                alrp__st_errf(err, err_size, "%s: tensor name '%s' is used twice", path, t->name);
                return -1;
            }
        }
    }
    for (int k = 0; metadata && metadata[k]; k += 2) {
        if (!metadata[k + 1]) {
            alrp__st_errf(err, err_size, "%s: metadata key '%s' has a NULL value (the list is key, value, ..., NULL)", path, metadata[k]);
            return -1;
        }
        if (!alrp__utf8_valid(metadata[k]) || !alrp__utf8_valid(metadata[k + 1])) {
            alrp__st_errf(err, err_size, "%s: metadata '%s' is not valid UTF-8", path, metadata[k]);
            return -1;
        }
    }

    // order: stable by element size, largest first
    int * order = (int *) ALRP_MALLOC(sizeof(int) * (n > 0 ? (size_t) n : 1));
    if (!order) { alrp__st_errf(err, err_size, "%s: out of memory", path); return -1; }
    int n_ord = 0;
    for (int64_t es = 8; es >= 1; es /= 2) {
        for (int k = 0; k < n; k++) if (alrp_st_dtype_size(tensors[k].dtype) == es) order[n_ord++] = k;
    }

    struct alrp__sb h = { NULL, 0, 0, 0 };
    char num[64];
    alrp__sb_puts(&h, "{");
    if (metadata && metadata[0]) {
        alrp__sb_puts(&h, "\"__metadata__\":{");
        for (int k = 0; metadata[k]; k += 2) {
            if (k) alrp__sb_puts(&h, ",");
            alrp__sb_json_str(&h, metadata[k]);
            alrp__sb_puts(&h, ":");
            alrp__sb_json_str(&h, metadata[k + 1]);
        }
        alrp__sb_puts(&h, "}");
        if (n) alrp__sb_puts(&h, ",");
    }
    uint64_t off = 0;
    for (int j = 0; j < n; j++) {
        const struct alrp_st_tensor * t = &tensors[order[j]];
        uint64_t nb = (uint64_t) alrp__st_numel(t->n_dims, t->shape) * (uint64_t) alrp_st_dtype_size(t->dtype);
        if (j) alrp__sb_puts(&h, ",");
        alrp__sb_json_str(&h, t->name);
        alrp__sb_puts(&h, ":{\"dtype\":");
        alrp__sb_json_str(&h, t->dtype);
        alrp__sb_puts(&h, ",\"shape\":[");
        for (int d = 0; d < t->n_dims; d++) {
            snprintf(num, sizeof(num), d ? ",%lld" : "%lld", (long long) t->shape[d]);
            alrp__sb_puts(&h, num);
        }
        snprintf(num, sizeof(num), "],\"data_offsets\":[%llu,%llu]}", (unsigned long long) off, (unsigned long long) (off + nb));
        alrp__sb_puts(&h, num);
        off += nb;
    }
    alrp__sb_puts(&h, "}");
    while (h.n % 8 != 0) alrp__sb_puts(&h, " ");
    if (h.oom) {
        ALRP_FREE(order); ALRP_FREE(h.p);
        alrp__st_errf(err, err_size, "%s: out of memory building the header", path);
        return -1;
    }

    // write <path>.tmp, fsync, rename over path, fsync the directory
    size_t plen = strlen(path);
    char * tmp = (char *) ALRP_MALLOC(plen + 5);
    if (!tmp) { ALRP_FREE(order); ALRP_FREE(h.p); alrp__st_errf(err, err_size, "%s: out of memory", path); return -1; }
    memcpy(tmp, path, plen); memcpy(tmp + plen, ".tmp", 5);
    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        alrp__st_errf(err, err_size, "%s: cannot create: %s (does the folder exist and is it writable?)", tmp, strerror(errno));
        goto done;
    }
    uint8_t len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (uint8_t) ((uint64_t) h.n >> (8 * k));
    int werr = alrp__write_all(fd, len8, 8) || alrp__write_all(fd, h.p, h.n);
    for (int j = 0; j < n && !werr; j++) {
        const struct alrp_st_tensor * t = &tensors[order[j]];
        size_t nb = (size_t) alrp__st_numel(t->n_dims, t->shape) * (size_t) alrp_st_dtype_size(t->dtype);
        if (nb) werr = alrp__write_all(fd, t->data, nb);
    }
    if (werr || fsync(fd) != 0) {
        alrp__st_errf(err, err_size, "%s: write failed: %s (disk full?)", tmp, strerror(errno));
        close(fd); unlink(tmp);
        goto done;
    }
    if (close(fd) != 0) {
        alrp__st_errf(err, err_size, "%s: close failed: %s", tmp, strerror(errno));
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        alrp__st_errf(err, err_size, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
        unlink(tmp);
        goto done;
    }
    {   // make the rename itself durable (best effort: not every file system allows it)
        const char * slash = strrchr(path, '/');
        char * dir = (char *) ALRP_MALLOC(plen + 2);
        if (dir) {
            if (slash == path)  strcpy(dir, "/");
            else if (slash)     { memcpy(dir, path, (size_t) (slash - path)); dir[slash - path] = '\0'; }
            else                strcpy(dir, ".");
            int dfd = open(dir, O_RDONLY);
            if (dfd >= 0) { (void) fsync(dfd); close(dfd); }
            ALRP_FREE(dir);
        }
    }
    rc = 0;
done:
    ALRP_FREE(tmp); ALRP_FREE(order); ALRP_FREE(h.p);
    return rc;
}

// ---- optimizer kernels -----------------------------------------------------------------------
// SQRT and DIV for the AdamW kernel, beside the shared SIMD layer (which has neither); where a
// layer lacks them (32-bit NEON) the kernel runs its scalar loop.
#if ALRP_F32_EPR == 16
#define ALRP__F32_VEC_SQRT(a)    _mm512_sqrt_ps(a)
#define ALRP__F32_VEC_DIV(a, b)  _mm512_div_ps(a, b)
#elif ALRP_F32_EPR == 8
#define ALRP__F32_VEC_SQRT(a)    _mm256_sqrt_ps(a)
#define ALRP__F32_VEC_DIV(a, b)  _mm256_div_ps(a, b)
#elif ALRP_F32_EPR == 4 && defined(__aarch64__)
#define ALRP__F32_VEC_SQRT(a)    vsqrtq_f32(a)
#define ALRP__F32_VEC_DIV(a, b)  vdivq_f32(a, b)
#elif ALRP_F32_EPR == 1
#define ALRP__F32_VEC_SQRT(a)    sqrtf(a)
#define ALRP__F32_VEC_DIV(a, b)  ((a) / (b))
#endif

// Naive references: PyTorch's single-tensor loops, one rounding per tensor op, in its order.
ALRPDEF void alrp__sgd_step_f32_naive(int64_t n, float * p, const float * g, float * mom_buf,
                                      float lr, float momentum, float wd, int64_t step);
ALRPDEF void alrp__adamw_step_f32_naive(int64_t n, float * p, const float * g, float * m, float * v,
                                        float lr, float beta1, float beta2, float eps, float wd,
                                        int64_t step);

// p, g, mom_buf are (n,)
ALRPDEF void alrp__sgd_step_f32_naive(int64_t n, float * p, const float * g, float * mom_buf,
                                      float lr, float momentum, float wd, int64_t step) {
    for (int64_t i = 0; i < n; i++) {
        float d = g[i];
        if (wd != 0.0f) d = d + wd * p[i];                       // d_p.add(param, alpha=wd)
        if (momentum != 0.0f) {
            if (step <= 1) mom_buf[i] = d;                       // buf = clone(d_p)
            else           mom_buf[i] = mom_buf[i] * momentum + d; // buf.mul_(m).add_(d_p)
            d = mom_buf[i];
        }
        p[i] = p[i] + (-lr) * d;                                 // param.add_(d_p, alpha=-lr)
    }
}

// p, g, mom_buf are (n,)
ALRPDEF void alrp_sgd_step_f32(int64_t n, float * p, const float * g, float * mom_buf,
                               float lr, float momentum, float wd, int64_t step) {
    const int use_wd = wd != 0.0f, use_mom = momentum != 0.0f, first = step <= 1;
    ALRP_ASSERTM(!use_mom || mom_buf || n == 0, "alrp_sgd_step_f32: momentum %g needs a momentum buffer", (double) momentum);
    int64_t i = 0;
    const ALRP_F32_VEC wdv = ALRP_F32_VEC_SET1(wd), mv = ALRP_F32_VEC_SET1(momentum), nlr = ALRP_F32_VEC_SET1(-lr);
    for (; i + ALRP_F32_EPR <= n; i += ALRP_F32_EPR) {
        ALRP_F32_VEC pv = ALRP_F32_VEC_LOAD(p + i);
        ALRP_F32_VEC d  = ALRP_F32_VEC_LOAD(g + i);
        if (use_wd) d = ALRP_F32_VEC_FMA(pv, wdv, d);
        if (use_mom) {
            if (!first) d = ALRP_F32_VEC_FMA(ALRP_F32_VEC_LOAD(mom_buf + i), mv, d);
            ALRP_F32_VEC_STORE(mom_buf + i, d);
        }
        ALRP_F32_VEC_STORE(p + i, ALRP_F32_VEC_FMA(d, nlr, pv));
    }
    for (; i < n; i++) {
        float d = g[i];
        if (use_wd) d = d + wd * p[i];
        if (use_mom) {
            if (!first) d = mom_buf[i] * momentum + d;
            mom_buf[i] = d;
        }
        p[i] = p[i] - lr * d;
    }
}

// the per-step scalars of AdamW, computed in double as PyTorch computes them in Python
struct alrp__adamw_k { float decay, b1, omb1, b2, omb2, step_size, bc2_sqrt, eps; };
static struct alrp__adamw_k alrp__adamw_consts(float lr, float beta1, float beta2, float eps, float wd, int64_t step) {
    ALRP_ASSERTM(step >= 1, "alrp_adamw_step_f32: step is 1-based (the step being taken), got %lld", (long long) step);
    struct alrp__adamw_k k;
    double bc1 = 1.0 - pow((double) beta1, (double) step);
    double bc2 = 1.0 - pow((double) beta2, (double) step);
    k.decay     = (float) (1.0 - (double) lr * (double) wd);
    k.b1        = beta1;
    k.omb1      = (float) (1.0 - (double) beta1);
    k.b2        = beta2;
    k.omb2      = (float) (1.0 - (double) beta2);
    k.step_size = (float) ((double) lr / bc1);
    k.bc2_sqrt  = (float) sqrt(bc2);
    k.eps       = eps;
    return k;
}

// p, g, m, v are (n,)
ALRPDEF void alrp__adamw_step_f32_naive(int64_t n, float * p, const float * g, float * m, float * v,
                                        float lr, float beta1, float beta2, float eps, float wd,
                                        int64_t step) {
    const struct alrp__adamw_k k = alrp__adamw_consts(lr, beta1, beta2, eps, wd, step);
    for (int64_t i = 0; i < n; i++) {
        p[i] = p[i] * k.decay;                                   // param.mul_(1 - lr*wd)
        m[i] = m[i] * k.b1;  m[i] = m[i] + k.omb1 * g[i];        // exp_avg.mul_(b1).add_(g, alpha=1-b1)
        v[i] = v[i] * k.b2;  v[i] = v[i] + k.omb2 * g[i] * g[i]; // exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2)
        float denom = sqrtf(v[i]) / k.bc2_sqrt + k.eps;          // (v.sqrt() / bc2_sqrt).add_(eps)
        p[i] = p[i] + (-k.step_size) * (m[i] / denom);           // param.addcdiv_(m, denom, -step_size)
    }
}

// p, g, m, v are (n,)
ALRPDEF void alrp_adamw_step_f32(int64_t n, float * p, const float * g, float * m, float * v,
                                 float lr, float beta1, float beta2, float eps, float wd,
                                 int64_t step) {
    const struct alrp__adamw_k k = alrp__adamw_consts(lr, beta1, beta2, eps, wd, step);
    int64_t i = 0;
#ifdef ALRP__F32_VEC_SQRT
    const ALRP_F32_VEC decay = ALRP_F32_VEC_SET1(k.decay);
    const ALRP_F32_VEC b1 = ALRP_F32_VEC_SET1(k.b1), omb1 = ALRP_F32_VEC_SET1(k.omb1);
    const ALRP_F32_VEC b2 = ALRP_F32_VEC_SET1(k.b2), omb2 = ALRP_F32_VEC_SET1(k.omb2);
    const ALRP_F32_VEC nss = ALRP_F32_VEC_SET1(-k.step_size), bc2 = ALRP_F32_VEC_SET1(k.bc2_sqrt);
    const ALRP_F32_VEC epsv = ALRP_F32_VEC_SET1(k.eps);
    for (; i + ALRP_F32_EPR <= n; i += ALRP_F32_EPR) {
        ALRP_F32_VEC gv = ALRP_F32_VEC_LOAD(g + i);
        ALRP_F32_VEC mv = ALRP_F32_VEC_FMA(gv, omb1, ALRP_F32_VEC_MUL(ALRP_F32_VEC_LOAD(m + i), b1));
        ALRP_F32_VEC vv = ALRP_F32_VEC_FMA(ALRP_F32_VEC_MUL(gv, omb2), gv, ALRP_F32_VEC_MUL(ALRP_F32_VEC_LOAD(v + i), b2));
        ALRP_F32_VEC den = ALRP_F32_VEC_ADD(ALRP__F32_VEC_DIV(ALRP__F32_VEC_SQRT(vv), bc2), epsv);
        ALRP_F32_VEC pv = ALRP_F32_VEC_MUL(ALRP_F32_VEC_LOAD(p + i), decay);
        ALRP_F32_VEC_STORE(m + i, mv);
        ALRP_F32_VEC_STORE(v + i, vv);
        ALRP_F32_VEC_STORE(p + i, ALRP_F32_VEC_FMA(ALRP__F32_VEC_DIV(mv, den), nss, pv));
    }
#endif
    for (; i < n; i++) {
        float mi = m[i] * k.b1 + k.omb1 * g[i];
        float vi = v[i] * k.b2 + k.omb2 * g[i] * g[i];
        m[i] = mi; v[i] = vi;
        p[i] = p[i] * k.decay - k.step_size * (mi / (sqrtf(vi) / k.bc2_sqrt + k.eps));
    }
}

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
