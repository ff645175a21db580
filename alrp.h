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
//
// Everything here works on plain CPU arrays and needs no context or graph. Shapes are given in
// PyTorch order; "(n, 4)" is n rows of 4 contiguous floats. Conventions:
//     * Forward kernels OVERWRITE their outputs.
//     * Backward kernels of the element-wise / box losses ACCUMULATE (+=) into dL/dinput (the
//       graph's autograd accumulates); zero the buffer first when calling them on their own.
//     * The ranking losses (aLRP, AP) compute the loss AND the error-driven logit update in one
//       call (it is not a derivative: see docs/ranking-losses.md); their grad outputs are
//       overwritten.
//     * Results do not depend on the number of threads (bit-identical for any pool size).
//     * Bad arguments: a one-line message on stderr naming the argument, and -1 (ranking losses)
//       or a non-zero return; nothing aborts.
//
// ---- ranking losses (docs/ranking-losses.md sections 1-3, computed per section 5) ----------
//
// The plain-array contract (docs/architecture.md). n entries (anchor-major, anchor*C + class);
// labels: 1 positive, 0 negative, -1 ignored. loc_err[k] is E_loc of the k-th positive in index
// order (NULL: all zero). Outputs (each may be NULL to skip it):
//     loss_cls     (1,)     1 - mean precision                              (section 2.2)
//     loss_loc     (1,)     hard-order cumsum of E_loc / smoothed rank      (section 2.4)
//     grad_logits  (n,)     the error-driven update d(loss_cls)/d(logits), [A] rules: own
//                           E_loc left out, no update when N_FP <= 1e-5, / |P| (section 2.3);
//                           0 on ignored entries and on negatives below min(pos) - delta
//     grad_loc     (n_pos,) d(loss_loc)/d(loc_err) with the rank held constant
// delta: the smoothing of the step function (1.0 in every published config).
// Returns the number of positives (0: every output is 0, no error), or -1 on bad arguments
// (n < 0, NULL logits/labels, delta <= 0, a label not in {1, 0, -1}, a non-finite logit on a
// non-ignored entry, a non-finite loc_err). Ties in the hard order of loss_loc: positives with
// equal logits are ordered as torch.argsort(fg, stable=True).flip(0) orders them (the later
// index first). Runs on alrp_n_cores() threads: a pool is created for the call when n is large
// (>= 2^16 entries), smaller inputs run on the calling thread.
ALRPDEF int64_t alrp_loss_alrp_f32(int64_t n, const float * logits, const int8_t * labels,
                                   const float * loc_err, float delta,
                                   float * loss_cls, float * loss_loc,
                                   float * grad_logits, float * grad_loc);
// AP Loss (section 3): loss = 1 - mean interpolated precision, grad_logits (n,) its
// error-driven update (overwritten). Same arguments and return value as above.
ALRPDEF int64_t alrp_loss_ap_f32(int64_t n, const float * logits, const int8_t * labels,
                                 float delta, float * loss, float * grad_logits);

// The same on an explicit pool (NULL: the calling thread only), for the graph ops, with one more
// optional output: rank (n_pos,), the smoothed rank(i) = rank+(i) + N_FP(i) of each positive in
// index order (the denominator of precision and of the localisation part).
ALRPDEF int64_t alrp_loss_alrp_f32_tp(struct alrp_threadpool * tp,
                                      int64_t n, const float * logits, const int8_t * labels,
                                      const float * loc_err, float delta,
                                      float * loss_cls, float * loss_loc,
                                      float * grad_logits, float * grad_loc, float * rank);
ALRPDEF int64_t alrp_loss_ap_f32_tp(struct alrp_threadpool * tp,
                                    int64_t n, const float * logits, const int8_t * labels,
                                    float delta, float * loss, float * grad_logits, float * rank);

// number of entries with label 1 (the size of loc_err / grad_loc / rank); -1 if labels is NULL
// with n > 0 or n < 0
ALRPDEF int64_t alrp_loss_count_positives(int64_t n, const int8_t * labels);

// ---- self-balance weight of aLRP (section 2.5, [A]) ----------------------------------------
// L = loss_cls + weight * loss_loc. The weight starts at 50. Every iteration with >= 1 positive
// adds its unscaled loss_cls and loss_loc; after `period` such iterations the weight becomes
// (mean loss_cls + mean loss_loc) / mean loss_loc and the sums restart. If the mean loss_loc is
// 0 (nothing to divide by) the weight is kept. The struct is plain data: save it in checkpoints.
#define ALRP_SB_INIT_WEIGHT 50.0f
struct alrp_sb {
    int64_t period;     // counted iterations between updates (one epoch: alrp_sb_period())
    int64_t count;      // counted iterations since the last update
    int64_t n_updates;  // how many times the weight was recomputed
    double  sum_cls;    // sum of loss_cls over the counted iterations
    double  sum_loc;    // sum of loss_loc over the counted iterations
    float   weight;     // current w_SB
};
// period >= 1; returns 0, or -1 (message on stderr, period set to 1) for a bad period
ALRPDEF int   alrp_sb_init(struct alrp_sb * sb, int64_t period);
// call once per iteration with the unscaled parts; returns true when the weight was recomputed
ALRPDEF bool  alrp_sb_update(struct alrp_sb * sb, float loss_cls, float loss_loc, int64_t n_pos);
ALRPDEF float alrp_sb_weight(const struct alrp_sb * sb);
// iterations per epoch: ceil(n_images / batch_size) (COCO train2017 at batch 32: 3665);
// -1 on bad arguments
ALRPDEF int64_t alrp_sb_period(int64_t n_images, int64_t batch_size);

// ---- element-wise and box losses -----------------------------------------------------------
enum alrp_loss_reduction {
    ALRP_LOSS_REDUCTION_NONE = 0,   // out is (n,), grad_out is (n,)
    ALRP_LOSS_REDUCTION_SUM  = 1,   // out is (1,), grad_out is (1,)
    ALRP_LOSS_REDUCTION_MEAN = 2,   // out is (1,), grad_out is (1,); n = 0 gives 0
};

// Sigmoid focal loss, torchvision.ops.sigmoid_focal_loss semantics: p = sigmoid(x),
// ce = BCE-with-logits(x, t), p_t = p t + (1 - p)(1 - t),
// loss = alpha_t * ce * (1 - p_t)^gamma with alpha_t = alpha t + (1 - alpha)(1 - t), and no
// alpha_t when alpha < 0. gamma >= 0. Computed in double, stable for large |x|.
// logits, targets are (n,) (targets may be soft, in [0, 1]); out as the reduction says.
// The backward adds dL/dlogits (n,) into grad_logits. Return 0, or -1 on bad arguments.
ALRPDEF int alrp_sigmoid_focal_loss_f32(int64_t n, const float * logits, const float * targets,
                                        float alpha, float gamma, enum alrp_loss_reduction red,
                                        float * out);
ALRPDEF int alrp_sigmoid_focal_loss_backward_f32(int64_t n, const float * logits,
                                                 const float * targets, float alpha, float gamma,
                                                 enum alrp_loss_reduction red,
                                                 const float * grad_out, float * grad_logits);
// on a pool (NULL: calling thread); sums are taken per fixed block, so results do not depend
// on the number of threads
ALRPDEF int alrp_sigmoid_focal_loss_f32_tp(struct alrp_threadpool * tp, int64_t n,
                                           const float * logits, const float * targets,
                                           float alpha, float gamma,
                                           enum alrp_loss_reduction red, float * out);
ALRPDEF int alrp_sigmoid_focal_loss_backward_f32_tp(struct alrp_threadpool * tp, int64_t n,
                                                    const float * logits, const float * targets,
                                                    float alpha, float gamma,
                                                    enum alrp_loss_reduction red,
                                                    const float * grad_out, float * grad_logits);

// Smooth L1 (torch.nn.functional.smooth_l1_loss): d = pred - target,
// 0.5 d^2 / beta if |d| < beta, else |d| - 0.5 beta; beta = 0 is L1. beta >= 0.
// pred, target are (n,) (e.g. (n_pos, 4) flattened); backward adds dL/dpred (n,), using
// sign(0) = 0. L1 is |d| with gradient sign(d).
ALRPDEF int alrp_smooth_l1_loss_f32(int64_t n, const float * pred, const float * target,
                                    float beta, enum alrp_loss_reduction red, float * out);
ALRPDEF int alrp_smooth_l1_loss_backward_f32(int64_t n, const float * pred, const float * target,
                                             float beta, enum alrp_loss_reduction red,
                                             const float * grad_out, float * grad_pred);
ALRPDEF int alrp_l1_loss_f32(int64_t n, const float * pred, const float * target,
                             enum alrp_loss_reduction red, float * out);
ALRPDEF int alrp_l1_loss_backward_f32(int64_t n, const float * pred, const float * target,
                                      enum alrp_loss_reduction red,
                                      const float * grad_out, float * grad_pred);

// GIoU loss, torchvision.ops.generalized_box_iou_loss semantics: 1 - GIoU, with
// iou = inter / (union + eps) and GIoU = iou - (area_c - union) / (area_c + eps), eps 1e-7
// (ALRP_GIOU_EPS). [A] uses mmdet's max(union, 1e-6) instead; the two agree to ~1e-6 for
// boxes of size ~1. pred, target are (n, 4) boxes (x1, y1, x2, y2); out as the reduction says.
// The backward adds dL/dpred (n, 4) into grad_pred and, when grad_target is not NULL,
// dL/dtarget into grad_target. At min/max ties the gradient is split in half between the two
// sides (torch.minimum/maximum autograd).
#define ALRP_GIOU_EPS 1e-7f
ALRPDEF int alrp_giou_loss_f32(int64_t n, const float * pred, const float * target, float eps,
                               enum alrp_loss_reduction red, float * out);
ALRPDEF int alrp_giou_loss_backward_f32(int64_t n, const float * pred, const float * target,
                                        float eps, enum alrp_loss_reduction red,
                                        const float * grad_out, float * grad_pred,
                                        float * grad_target);

// ---- box delta coding (mmdet DeltaXYWHBBoxCoder, no +1; docs/ranking-losses.md section 4) --
// encode: (dx, dy, dw, dh) = ((gx - px) / pw, (gy - py) / ph, ln(gw / pw), ln(gh / ph)),
// then (d - mean) / std. decode: d = delta * std + mean, |dw|, |dh| clamped to max_ratio
// (ALRP_BOX_MAX_RATIO = |ln(16/1000)|; <= 0: no clamp), x1 = px + pw dx - pw e^dw / 2, ...
// anchors, boxes, deltas are (n, 4); anchors NULL = the canonical unit anchor (centre 0,
// width = height = 1), which is how E_loc is computed. means, stds are (4,); NULL = 0 and 1
// (ALRP_BOX_STDS_ALRP = 0.1, 0.1, 0.2, 0.2 for every aLRP config).
// decode_backward adds dL/ddeltas (n, 4) into grad_deltas given dL/dboxes (n, 4); the clamp
// passes the gradient where the value is inside [-max_ratio, max_ratio] (bounds included).
#define ALRP_BOX_MAX_RATIO 4.135166556742356f
// initialiser for a float[4]: float stds[4] = ALRP_BOX_STDS_ALRP;
#define ALRP_BOX_STDS_ALRP { 0.1f, 0.1f, 0.2f, 0.2f }
ALRPDEF void alrp_box_encode_f32(int64_t n, const float * anchors, const float * boxes,
                                 const float * means, const float * stds, float * deltas);
ALRPDEF void alrp_box_decode_f32(int64_t n, const float * anchors, const float * deltas,
                                 const float * means, const float * stds, float max_ratio,
                                 float * boxes);
ALRPDEF void alrp_box_decode_backward_f32(int64_t n, const float * anchors, const float * deltas,
                                          const float * means, const float * stds,
                                          float max_ratio, const float * grad_boxes,
                                          float * grad_deltas);

// E_loc of aLRP (section 1, [A]): E_loc(k) = 1 - GIoU(decode(pred_k), decode(target_k)), both
// decoded against the unit anchor with the given stds (means 0) and ALRP_BOX_MAX_RATIO.
// pred_deltas, target_deltas are (n_pos, 4); loc_err is (n_pos,). The backward adds
// dL/dpred_deltas (n_pos, 4) given dL/dloc_err (n_pos,) (e.g. w_SB * grad_loc of aLRP).
ALRPDEF void alrp_loc_err_giou_f32(int64_t n_pos, const float * pred_deltas,
                                   const float * target_deltas, const float * stds,
                                   float * loc_err);
ALRPDEF void alrp_loc_err_giou_backward_f32(int64_t n_pos, const float * pred_deltas,
                                            const float * target_deltas, const float * stds,
                                            const float * grad_loc_err, float * grad_pred_deltas);

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
//
// ---- ranking losses: the O((P + N) log P) engine (docs/ranking-losses.md section 5) --------
//
// H(x) = clamp(x / (2 delta) + 1/2, 0, 1) is piecewise linear, so with the positives sorted
// once (ascending t[0..P)), everything the reference loop sums is a few prefix sums:
//   * positive vs positive: rank+ and sum_k H(s_k - s_i) E_k from two searches per positive
//     (the window s_i - delta < t < s_i + delta) and prefix sums of 1, t, E, E t;
//   * N_FP: each relevant negative j gives H = 1 to the positives with t <= s_j - delta and
//     (s_j - t)/(2 delta) + 1/2 to those inside its window: it is scattered into difference
//     arrays over sorted positions (full count, window count, window constant);
//   * the update of negative j, sum_i w_i H(s_j - s_i), is a prefix sum of w plus the window
//     part from prefix sums of w and w t.
// A negative x needs a(x) = #{p : t_p + delta <= x} (H = 1 below a) and b(x) = #{p : t_p - delta
// < x} (H > 0 below b). Both come from bucket tables over [t_0 - delta, t_last + delta]: with
// f(z) = floor((z - lo) * scale), which is monotone, breakpoints in other buckets than f(x)
// compare with x as their buckets do, so only the few in x's own bucket are compared (the count
// is exact, not an estimate). Relevant negatives are first compacted branch-free per chunk.
// Scores are taken relative to t[0] (the smallest positive) so that the sums stay small.
// All of it in double. Work is split into fixed blocks of entries whose size depends only on n
// and P (never on the thread count), and every floating-point sum runs in a fixed order, so
// any number of threads gives bit-identical results.
//
// Phases: scan (validate, count positives per block) -> gather positives -> sort, positive
// sums (serial, P log P) -> scatter negatives into per-block difference arrays -> merge, the
// loss and the per-positive weights (serial, O(P * n_blocks)) -> the update of every entry.

#define ALRP__RANK_BLOCK_MIN   (1 << 14)   // entries per block, at least
#define ALRP__RANK_MAX_BLOCKS  1024
#define ALRP__RANK_DIFF_BUDGET (1 << 20)   // at most n_blocks * (P + 1) cells per array
#define ALRP__RANK_EPS         1e-5        // [A]: no aLRP update when N_FP <= eps
#define ALRP__RANK_MT_MIN      (1 << 16)   // the contract functions start a pool from here

enum alrp__rank_kind { ALRP__RANK_KIND_ALRP, ALRP__RANK_KIND_AP };

struct alrp__rank {
    // inputs
    const char   * fname;       // for messages
    int64_t        n;
    const float  * logits;      // (n,)
    const int8_t * labels;      // (n,)
    const float  * loc_err;     // (P,) or NULL
    double         delta, inv2d;
    // fixed blocks of entries
    int64_t   block, n_blocks;
    int64_t * blk_pos;          // (n_blocks + 1,) positives per block, then the exclusive prefix
    int64_t * blk_bad;          // (n_blocks,) first bad entry of the block or -1
    // positives
    int64_t   P;
    int64_t * pos_idx;          // (P,) entry index of the k-th positive (index order)
    float   * pos_s;            // (P,) its logit
    int64_t * order;            // (P,) sorted position p -> k (ascending logit, ties by k)
    double  * t;                // (P,) sorted logits
    double    ref;              // t[0]
    float     skip_below;       // a negative below this has H = 0 against every positive
    // the negatives' windows: 2P breakpoints, t_p - delta ("lower", counted when < x) and
    // t_p + delta ("upper", counted when <= x), ascending, uppers first among equal values; when
    // the first j are counted, a = cnt_a[j] (H = 1 below a) and b = cnt_b[j] (H > 0 below b)
    double    bp_lo, bp_hi;     // t[0] - delta, t[P-1] + delta
    double    bp_scale;         // buckets per unit of score
    int64_t   n_buckets;
    double  * bp;               // (2P + 1,), bp[2P] = +inf
    uint8_t * bp_upper;         // (2P + 1,)
    int32_t * cnt_a, * cnt_b;   // (2P + 1,)
    int32_t * bp_first;         // (n_buckets + 1,) #{j : bucket(bp_j) < v}
    int64_t * bkt_ab;           // (n_buckets,) a | b << 32 of a bucket without breakpoints, else -1
    // per-block difference arrays over sorted positions, (n_blocks, P + 1) each
    int64_t * d_full;           // d_full[a] += 1: H = 1 for positions < a
    int64_t * d_win;            // +1 at a, -1 at b: window [a, b)
    double  * d_c;              // +c at a, -c at b, c = (s - ref)/(2 delta) + 1/2
    // per sorted position
    double  * W;                // (P + 1,) prefix sums of w (weight of p in a negative's update)
    double  * WT;               // (P + 1,) prefix sums of w (t - ref)
    float   * g_pos;            // (P,) update of the k-th positive (index order)
    float   * grad;             // (n,) output or NULL
};

static inline int alrp__f32_is_finite(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof(u));
    return (u & 0x7f800000u) != 0x7f800000u;
}

static void alrp__rank_block_range(const struct alrp__rank * r, int ith, int nth, int64_t * b0, int64_t * b1) {
    *b0 = r->n_blocks * ith / nth;
    *b1 = r->n_blocks * (ith + 1) / nth;
}

// #{p : t[p] < x} (strict) or #{p : t[p] <= x}: plain binary search (positives only)
static inline int64_t alrp__rank_count(const struct alrp__rank * r, double x, int strict) {
    const double * t = r->t;
    int64_t lo = 0, hi = r->P;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (strict ? t[mid] < x : t[mid] <= x) lo = mid + 1; else hi = mid;
    }
    return lo;
}

// the window tables, copied into locals by each thread (so that the compiler keeps them in
// registers across the stores into the difference arrays)
struct alrp__rank_win {
    double          lo, hi, scale;
    int64_t         P, top;        // top = n_buckets - 1
    const double  * bp;
    const uint8_t * bp_upper;
    const int32_t * first, * cnt_a, * cnt_b;
    const int64_t * bkt_ab;
};

static inline struct alrp__rank_win alrp__rank_win_of(const struct alrp__rank * r) {
    struct alrp__rank_win w;
    w.lo = r->bp_lo; w.hi = r->bp_hi; w.scale = r->bp_scale; w.P = r->P; w.top = r->n_buckets - 1;
    w.bp = r->bp; w.bp_upper = r->bp_upper; w.first = r->bp_first; w.cnt_a = r->cnt_a; w.cnt_b = r->cnt_b;
    w.bkt_ab = r->bkt_ab;
    return w;
}

// bucket of z >= lo; monotone in z
static inline int64_t alrp__rank_bucket(const struct alrp__rank_win * w, double z) {
    double u = (z - w->lo) * w->scale;
    return u <= 0.0 ? 0 : (u >= (double) w->top ? w->top : (int64_t) u);
}

// is breakpoint j counted for x (lower: t - delta < x, upper: t + delta <= x); branch-free.
// bp[2P] = +inf is a sentinel that is never counted.
static inline int64_t alrp__rank_bp_counted(const struct alrp__rank_win * w, int64_t j, double x) {
    double v = w->bp[j];
    return (int64_t) ((v < x) | (w->bp_upper[j] & (v == x)));
}

// window of a relevant negative x (x > lo): H = 1 for sorted positions < *a, linear in
// [*a, *b), 0 from *b on. The counted breakpoints are a prefix of the ascending list; every
// breakpoint of a lower bucket than x's is counted, none of a higher one, so only x's own
// bucket is searched.
static inline void alrp__rank_window(const struct alrp__rank_win * w, double x, int64_t * a, int64_t * b) {
    if (x >= w->hi) { *a = *b = w->P; return; }
    int64_t v = alrp__rank_bucket(w, x);
    int64_t ab = w->bkt_ab[v];
    if (ab >= 0) { *a = ab & 0xffffffff; *b = ab >> 32; return; }   // no breakpoint in the bucket
    int64_t i = w->first[v], e = w->first[v + 1];
    if (e - i > 8) {
        while (i < e) {
            int64_t mid = i + (e - i) / 2;
            if (alrp__rank_bp_counted(w, mid, x)) i = mid + 1; else e = mid;
        }
    } else {
        while (i < e && alrp__rank_bp_counted(w, i, x)) i++;
    }
    int64_t aa = w->cnt_a[i], bb = w->cnt_b[i];
    *a = aa < bb ? aa : bb;   // a <= b unless t - delta and t + delta round to one double
    *b = bb;
}

#define ALRP__RANK_CHUNK 2048   // entries compacted at a time (on the stack)

// (GCC/Clang builtins __builtin_popcount / __builtin_ctz are used on this path)
#if !defined(ALRP_NO_SIMD) && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    (defined(__GNUC__) || defined(__clang__))
#define ALRP__RANK_AVX512 1
#endif

// labels (n,), logits (n,) of one block: number of positives, and whether an entry is bad
// (label not in {1, 0, -1}, or a non-finite logit that is not ignored)
static void alrp__rank_scan_block(const int8_t * lab, const float * s, int64_t n, int64_t * cnt, int * bad) {
    int64_t i = 0, c = 0;
    int     bd = 0;
#ifdef ALRP__RANK_AVX512
    {
        const __m512i expm = _mm512_set1_epi32(0x7f800000);
        const __m128i one = _mm_set1_epi8(1), two = _mm_set1_epi8(2), zero = _mm_setzero_si128();
        unsigned vbad = 0;
        for (; i + 16 <= n; i += 16) {
            __m128i l = _mm_loadu_si128((const __m128i *) (lab + i));
            __m512  v = _mm512_loadu_ps(s + i);
            __mmask16 pos    = _mm_cmpeq_epi8_mask(l, one);
            __mmask16 nonneg = _mm_cmpge_epi8_mask(l, zero);
            __mmask16 valid  = _mm_cmple_epu8_mask(_mm_add_epi8(l, one), two);
            __mmask16 nonfin = _mm512_cmpeq_epi32_mask(_mm512_and_si512(_mm512_castps_si512(v), expm), expm);
            vbad |= (~(unsigned) valid | ((unsigned) nonneg & (unsigned) nonfin)) & 0xffffu;
            c += __builtin_popcount((unsigned) pos);
        }
        bd = vbad != 0;
    }
#endif
    for (; i < n; i++) {
        int8_t l = lab[i];
        float  v = s[i];
        bd |= ((uint8_t) (l + 1) > 2) | ((l >= 0) & !alrp__f32_is_finite(v));
        c += l == 1;
    }
    *cnt = c; *bad = bd;
}

// phase 1: per block: count positives, first bad entry
static void alrp__rank_scan(void * arg, int ith, int nth) {
    struct alrp__rank * r = (struct alrp__rank *) arg;
    int64_t b0, b1;
    alrp__rank_block_range(r, ith, nth, &b0, &b1);
    for (int64_t b = b0; b < b1; b++) {
        int64_t i0 = b * r->block, i1 = ALRP_MIN(r->n, i0 + r->block);
        int bad;
        alrp__rank_scan_block(r->labels + i0, r->logits + i0, i1 - i0, &r->blk_pos[b], &bad);
        r->blk_bad[b] = -1;
        if (bad) {
            for (int64_t i = i0; i < i1; i++) {
                int8_t l = r->labels[i];
                if (l < -1 || l > 1 || (l >= 0 && !alrp__f32_is_finite(r->logits[i]))) { r->blk_bad[b] = i; break; }
            }
        }
    }
}

// phase 2: positives in index order
static void alrp__rank_gather(void * arg, int ith, int nth) {
    struct alrp__rank * r = (struct alrp__rank *) arg;
    int64_t b0, b1;
    alrp__rank_block_range(r, ith, nth, &b0, &b1);
    for (int64_t b = b0; b < b1; b++) {
        int64_t i = b * r->block, i1 = ALRP_MIN(r->n, i + r->block);
        int64_t k = r->blk_pos[b];
#ifdef ALRP__RANK_AVX512
        const __m512i one = _mm512_set1_epi8(1);
        for (; i + 64 <= i1; i += 64) {
            uint64_t pos = (uint64_t) _mm512_cmpeq_epi8_mask(_mm512_loadu_si512((const void *) (r->labels + i)), one);
            while (pos) {
                int j = __builtin_ctzll(pos);
                pos &= pos - 1;
                r->pos_idx[k] = i + j; r->pos_s[k] = r->logits[i + j]; k++;
            }
        }
#endif
        for (; i < i1; i++) {
            if (r->labels[i] == 1) { r->pos_idx[k] = i; r->pos_s[k] = r->logits[i]; k++; }
        }
    }
}

// logits of the negatives (label 0) with logit >= skip among lab, s (n,) into buf
// (n + 16 slots); returns how many
static int alrp__rank_compact_values(const int8_t * lab, const float * s, int n, float skip, float * buf) {
    int i = 0, m = 0;
#ifdef ALRP__RANK_AVX512
    const __m128i zero = _mm_setzero_si128();
    const __m512  vskip = _mm512_set1_ps(skip);
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(s + i);
        __mmask16 mk = _mm_cmpeq_epi8_mask(_mm_loadu_si128((const __m128i *) (lab + i)), zero) &
                       _mm512_cmp_ps_mask(v, vskip, _CMP_GE_OQ);
        _mm512_storeu_ps(buf + m, _mm512_maskz_compress_ps(mk, v));
        m += __builtin_popcount((unsigned) mk);
    }
#endif
    for (; i < n; i++) {
        buf[m] = s[i];
        m += (lab[i] == 0) & (s[i] >= skip);
    }
    return m;
}

// writes grad (n,): 0 everywhere, g_pos[*k...] on positives (index order, *k advanced);
// offsets of the negatives with logit >= skip into idx (n + 16 slots); returns how many
static int alrp__rank_compact_grad(const int8_t * lab, const float * s, int n, float skip, const float * g_pos,
                                   int64_t * k, float * grad, int32_t * idx) {
    int i = 0, m = 0;
    int64_t kk = *k;
#ifdef ALRP__RANK_AVX512
    const __m128i zero = _mm_setzero_si128(), one = _mm_set1_epi8(1);
    const __m512  vskip = _mm512_set1_ps(skip), vzero = _mm512_setzero_ps();
    const __m512i step = _mm512_set1_epi32(16);
    __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; i + 16 <= n; i += 16) {
        __m128i l = _mm_loadu_si128((const __m128i *) (lab + i));
        __m512  v = _mm512_loadu_ps(s + i);
        _mm512_storeu_ps(grad + i, vzero);
        unsigned pos = (unsigned) _mm_cmpeq_epi8_mask(l, one);
        while (pos) { int j = __builtin_ctz(pos); pos &= pos - 1; grad[i + j] = g_pos[kk++]; }
        __mmask16 mk = _mm_cmpeq_epi8_mask(l, zero) & _mm512_cmp_ps_mask(v, vskip, _CMP_GE_OQ);
        _mm512_storeu_si512((void *) (idx + m), _mm512_maskz_compress_epi32(mk, iota));
        m += __builtin_popcount((unsigned) mk);
        iota = _mm512_add_epi32(iota, step);
    }
#endif
    for (; i < n; i++) {
        int8_t l = lab[i];
        float  g = 0.0f;
        if (l == 1) g = g_pos[kk++];
        grad[i] = g;
        idx[m] = i;
        m += (l == 0) & (s[i] >= skip);
    }
    *k = kk;
    return m;
}

// phase 4: scatter the relevant negatives of each block into its difference arrays. Most
// relevant negatives lie below every positive's upper breakpoint (a = 0): their +1 / +c at
// position 0 are summed in registers, not through memory.
static void alrp__rank_scatter(void * arg, int ith, int nth) {
    const struct alrp__rank * r = (const struct alrp__rank *) arg;
    const struct alrp__rank_win w = alrp__rank_win_of(r);
    const int64_t P = r->P;
    const double  ref = r->ref, inv2d = r->inv2d;
    const float   skip = r->skip_below;
    float buf[ALRP__RANK_CHUNK + 16];
    int64_t b0, b1;
    alrp__rank_block_range(r, ith, nth, &b0, &b1);
    for (int64_t b = b0; b < b1; b++) {
        int64_t * df = r->d_full + b * (P + 1);
        int64_t * dw = r->d_win  + b * (P + 1);
        double  * dc = r->d_c    + b * (P + 1);
        memset(df, 0, sizeof(*df) * (size_t) (P + 1));
        memset(dw, 0, sizeof(*dw) * (size_t) (P + 1));
        memset(dc, 0, sizeof(*dc) * (size_t) (P + 1));
        int64_t w0 = 0;     // window opens at position 0: count and constants
        double  c0 = 0.0;
        int64_t i0 = b * r->block, i1 = ALRP_MIN(r->n, i0 + r->block);
        for (int64_t ch = i0; ch < i1; ch += ALRP__RANK_CHUNK) {
            int cn = (int) ALRP_MIN(i1 - ch, ALRP__RANK_CHUNK);
            int m = alrp__rank_compact_values(r->labels + ch, r->logits + ch, cn, skip, buf);
            for (int q = 0; q < m; q++) {
                double x = (double) buf[q];
                if (!(x > w.lo)) continue;          // H = 0 against every positive
                int64_t a, bb;
                alrp__rank_window(&w, x, &a, &bb);
                if (bb == a) { df[a]++; continue; }
                double c = (x - ref) * inv2d + 0.5;
                if (a == 0) { w0++; c0 += c; }
                else        { df[a]++; dw[a]++; dc[a] += c; }
                dw[bb]--; dc[bb] -= c;
            }
        }
        dw[0] += w0;
        dc[0] += c0;
    }
}

// phase 6: the update of every entry
static void alrp__rank_write_grad(void * arg, int ith, int nth) {
    const struct alrp__rank * r = (const struct alrp__rank *) arg;
    const struct alrp__rank_win w = alrp__rank_win_of(r);
    const double * W = r->W, * WT = r->WT;
    const double   ref = r->ref, inv2d = r->inv2d;
    const float    skip = r->skip_below;
    const float  * logits = r->logits;
    float        * grad = r->grad;
    int32_t idx[ALRP__RANK_CHUNK + 16];
    int64_t b0, b1;
    alrp__rank_block_range(r, ith, nth, &b0, &b1);
    for (int64_t b = b0; b < b1; b++) {
        int64_t i0 = b * r->block, i1 = ALRP_MIN(r->n, i0 + r->block);
        int64_t k = r->blk_pos[b];
        for (int64_t ch = i0; ch < i1; ch += ALRP__RANK_CHUNK) {
            int cn = (int) ALRP_MIN(i1 - ch, ALRP__RANK_CHUNK);
            int m = alrp__rank_compact_grad(r->labels + ch, logits + ch, cn, skip, r->g_pos, &k, grad + ch, idx);
            for (int q = 0; q < m; q++) {
                int64_t i = ch + idx[q];
                double  x = (double) logits[i];
                if (!(x > w.lo)) continue;
                int64_t a, bb;
                alrp__rank_window(&w, x, &a, &bb);
                double gd = W[a];
                if (bb > a) gd += ((x - ref) * inv2d + 0.5) * (W[bb] - W[a]) - inv2d * (WT[bb] - WT[a]);
                grad[i] = (float) gd;
            }
        }
    }
}

static void alrp__rank_zero_grad(void * arg, int ith, int nth) {
    struct alrp__rank * r = (struct alrp__rank *) arg;
    int64_t i0 = r->n * ith / nth, i1 = r->n * (ith + 1) / nth;
    if (i1 > i0) memset(r->grad + i0, 0, sizeof(float) * (size_t) (i1 - i0));
}

struct alrp__rank_key { double s; int64_t k; };

static int alrp__rank_key_cmp(const void * pa, const void * pb) {
    const struct alrp__rank_key * a = (const struct alrp__rank_key *) pa;
    const struct alrp__rank_key * b = (const struct alrp__rank_key *) pb;
    if (a->s < b->s) return -1;
    if (a->s > b->s) return  1;
    return (a->k > b->k) - (a->k < b->k);
}

static void * alrp__rank_alloc(struct alrp__rank * r, void ** list, int * n_list, size_t size) {
    void * p = ALRP_MALLOC(size > 0 ? size : 1);
    if (!p) {
        fprintf(stderr, "%s: out of memory (%zu bytes) for n = %lld, %lld positives\n",
                r->fname, size, (long long) r->n, (long long) r->P);
        return NULL;
    }
    list[(*n_list)++] = p;
    return p;
}

// The whole computation for both losses. Outputs: kind ALRP: out_a = loss_cls, out_b = loss_loc,
// grad_loc (P,); kind AP: out_a = loss. rank (P,). Any output may be NULL.
static int64_t alrp__rank_loss(struct alrp_threadpool * tp, enum alrp__rank_kind kind, const char * fname,
                               int64_t n, const float * logits, const int8_t * labels,
                               const float * loc_err, float delta,
                               float * out_a, float * out_b, float * grad, float * grad_loc, float * rank_out) {
    if (out_a) *out_a = 0.0f;
    if (out_b) *out_b = 0.0f;
    if (n < 0) { fprintf(stderr, "%s: n = %lld is negative: pass the number of entries\n", fname, (long long) n); return -1; }
    if (n > 0 && (!logits || !labels)) {
        fprintf(stderr, "%s: %s is NULL with n = %lld: pass the (n,) array\n", fname, !logits ? "logits" : "labels", (long long) n);
        return -1;
    }
    if (!(delta > 0.0f) || !alrp__f32_is_finite(delta)) {
        fprintf(stderr, "%s: delta = %g: must be a finite value > 0 (1.0 in every published config)\n", fname, (double) delta);
        return -1;
    }
    if (n == 0) return 0;

    struct alrp__rank R;
    memset(&R, 0, sizeof(R));
    struct alrp__rank * r = &R;
    void * mem[32];
    int n_mem = 0;
    int64_t ret = -1;
    r->fname = fname; r->n = n; r->logits = logits; r->labels = labels; r->loc_err = loc_err;
    r->delta = (double) delta; r->inv2d = 0.5 / (double) delta;
    r->grad = grad;

    // blocks for the scan (P not known yet): the scan only needs per-block counts, and the
    // block size chosen below from P is a multiple of this one, so the counts are re-summed
    r->block = ALRP__RANK_BLOCK_MIN;
    r->n_blocks = (n + r->block - 1) / r->block;
    int64_t scan_blocks = r->n_blocks;
    if (!(r->blk_pos = (int64_t *) alrp__rank_alloc(r, mem, &n_mem, sizeof(int64_t) * (size_t) (scan_blocks + 1)))) goto done;
    if (!(r->blk_bad = (int64_t *) alrp__rank_alloc(r, mem, &n_mem, sizeof(int64_t) * (size_t) scan_blocks))) goto done;
    alrp_threadpool_run(tp, alrp__rank_scan, r);

    int64_t P = 0;
    for (int64_t b = 0; b < scan_blocks; b++) {
        if (r->blk_bad[b] >= 0) {
            int64_t i = r->blk_bad[b];
            if (labels[i] < -1 || labels[i] > 1) {
                fprintf(stderr, "%s: labels[%lld] = %d: expected 1 (positive), 0 (negative) or -1 (ignored)\n",
                        fname, (long long) i, (int) labels[i]);
            } else {
                fprintf(stderr, "%s: logits[%lld] = %g is not finite (label %d): check the network output for NaN/inf\n",
                        fname, (long long) i, (double) logits[i], (int) labels[i]);
            }
            goto done;
        }
        P += r->blk_pos[b];
    }
    r->P = P;
    if (P >= INT32_MAX) {
        fprintf(stderr, "%s: %lld positives: at most %d are supported\n", fname, (long long) P, INT32_MAX - 1);
        goto done;
    }
    if (P == 0) {
        // section 6: no positive -> losses 0, every update 0, no error
        if (grad) alrp_threadpool_run(tp, alrp__rank_zero_grad, r);
        ret = 0;
        goto done;
    }

    // final blocks: a multiple of the scan block, sized from n and P only
    {
        int64_t max_blocks = ALRP__RANK_DIFF_BUDGET / (P + 1);
        max_blocks = ALRP_MAX(1, ALRP_MIN(ALRP__RANK_MAX_BLOCKS, max_blocks));
        int64_t mult = (scan_blocks + max_blocks - 1) / max_blocks;
        for (int64_t b = 0; b * mult < scan_blocks; b++) {
            int64_t sum = 0;
            for (int64_t q = b * mult; q < ALRP_MIN(scan_blocks, (b + 1) * mult); q++) sum += r->blk_pos[q];
            r->blk_pos[b] = sum;
        }
        r->block = ALRP__RANK_BLOCK_MIN * mult;
        r->n_blocks = (n + r->block - 1) / r->block;
        int64_t acc = 0;
        for (int64_t b = 0; b < r->n_blocks; b++) { int64_t c = r->blk_pos[b]; r->blk_pos[b] = acc; acc += c; }
        r->blk_pos[r->n_blocks] = acc;
    }

    if (!(r->pos_idx = (int64_t *) alrp__rank_alloc(r, mem, &n_mem, sizeof(int64_t) * (size_t) P))) goto done;
    if (!(r->pos_s   = (float *)   alrp__rank_alloc(r, mem, &n_mem, sizeof(float)   * (size_t) P))) goto done;
    alrp_threadpool_run(tp, alrp__rank_gather, r);

    if (kind == ALRP__RANK_KIND_ALRP && loc_err) {
        for (int64_t k = 0; k < P; k++) {
            if (!alrp__f32_is_finite(loc_err[k])) {
                fprintf(stderr, "%s: loc_err[%lld] = %g is not finite: check the box regression output\n",
                        fname, (long long) k, (double) loc_err[k]);
                goto done;
            }
        }
    }

    // sort the positives once: ascending logit, ties by index (a stable argsort)
    struct alrp__rank_key * keys;
    double * E, * S1, * SE, * SET, * rank_plus, * rank, * w;
    if (!(keys = (struct alrp__rank_key *) alrp__rank_alloc(r, mem, &n_mem, sizeof(*keys) * (size_t) P))) goto done;
    if (!(r->order = (int64_t *) alrp__rank_alloc(r, mem, &n_mem, sizeof(int64_t) * (size_t) P))) goto done;
    if (!(r->t  = (double *) alrp__rank_alloc(r, mem, &n_mem, sizeof(double) * (size_t) P))) goto done;
    if (!(E     = (double *) alrp__rank_alloc(r, mem, &n_mem, sizeof(double) * (size_t) P))) goto done;
    if (!(S1    = (double *) alrp__rank_alloc(r, mem, &n_mem, sizeof(double) * (size_t) (P + 1)))) goto done;
    if (!(SE    = (double *) alrp__rank_alloc(r, mem, &n_mem, sizeof(double) * (size_t) (P + 1)))) goto done;
    if (!(SET   = (double *) alrp__rank_alloc(r, mem, &n_mem, sizeof(double) * (size_t) (P + 1)))) goto done;
    if (!(rank_plus = (double *) alrp__rank_alloc(r, mem, &n_mem, sizeof(double) * (size_t) P))) goto done;
    if (!(rank  = (double *) alrp__rank_alloc(r, mem, &n_mem, sizeof(double) * (size_t) P))) goto done;
    if (!(w     = (double *) alrp__rank_alloc(r, mem, &n_mem, sizeof(double) * (size_t) P))) goto done;
    if (!(r->W  = (double *) alrp__rank_alloc(r, mem, &n_mem, sizeof(double) * (size_t) (P + 1)))) goto done;
    if (!(r->WT = (double *) alrp__rank_alloc(r, mem, &n_mem, sizeof(double) * (size_t) (P + 1)))) goto done;
    if (!(r->g_pos = (float *) alrp__rank_alloc(r, mem, &n_mem, sizeof(float) * (size_t) P))) goto done;
    for (int64_t k = 0; k < P; k++) { keys[k].s = (double) r->pos_s[k]; keys[k].k = k; }
    qsort(keys, (size_t) P, sizeof(*keys), alrp__rank_key_cmp);
    for (int64_t p = 0; p < P; p++) {
        r->order[p] = keys[p].k;
        r->t[p] = keys[p].s;
        E[p] = (kind == ALRP__RANK_KIND_ALRP && loc_err) ? (double) loc_err[keys[p].k] : 0.0;
    }
    r->ref = r->t[0];
    {
        // a float threshold surely below min(pos) - delta: the exact test is done in double
        float thr = (float) (r->t[0] - r->delta);
        r->skip_below = nextafterf(nextafterf(thr, -INFINITY), -INFINITY);
    }

    // breakpoints of the negatives' windows (merged lower/upper lists), ~8 buckets each
    r->bp_lo = r->t[0] - r->delta;
    r->bp_hi = r->t[P - 1] + r->delta;
    r->n_buckets = ALRP_MIN(16 * P + 16, (int64_t) 1 << 20);
    r->bp_scale  = (double) (r->n_buckets - 1) / (r->bp_hi - r->bp_lo);
    if (!(r->bp       = (double *)  alrp__rank_alloc(r, mem, &n_mem, sizeof(double) * (size_t) (2 * P + 1)))) goto done;
    if (!(r->bp_upper = (uint8_t *) alrp__rank_alloc(r, mem, &n_mem, (size_t) (2 * P + 1)))) goto done;
    if (!(r->cnt_a    = (int32_t *) alrp__rank_alloc(r, mem, &n_mem, sizeof(int32_t) * (size_t) (2 * P + 1)))) goto done;
    if (!(r->cnt_b    = (int32_t *) alrp__rank_alloc(r, mem, &n_mem, sizeof(int32_t) * (size_t) (2 * P + 1)))) goto done;
    if (!(r->bp_first = (int32_t *) alrp__rank_alloc(r, mem, &n_mem, sizeof(int32_t) * (size_t) (r->n_buckets + 1)))) goto done;
    if (!(r->bkt_ab   = (int64_t *) alrp__rank_alloc(r, mem, &n_mem, sizeof(int64_t) * (size_t) r->n_buckets))) goto done;
    {
        int64_t il = 0, iu = 0;
        r->cnt_a[0] = r->cnt_b[0] = 0;
        for (int64_t j = 0; j < 2 * P; j++) {
            double lo_v = il < P ? r->t[il] - r->delta : INFINITY;
            double up_v = iu < P ? r->t[iu] + r->delta : INFINITY;
            if (up_v <= lo_v) { r->bp[j] = up_v; r->bp_upper[j] = 1; iu++; }
            else              { r->bp[j] = lo_v; r->bp_upper[j] = 0; il++; }
            r->cnt_a[j + 1] = (int32_t) iu;
            r->cnt_b[j + 1] = (int32_t) il;
        }
        r->bp[2 * P] = INFINITY;   // sentinel
        r->bp_upper[2 * P] = 0;
        const struct alrp__rank_win win = alrp__rank_win_of(r);
        int64_t j = 0;
        for (int64_t v = 0; v <= r->n_buckets; v++) {
            while (j < 2 * P && alrp__rank_bucket(&win, r->bp[j]) < v) j++;
            r->bp_first[v] = (int32_t) j;
        }
        for (int64_t v = 0; v < r->n_buckets; v++) {
            int64_t i = r->bp_first[v];
            int64_t aa = r->cnt_a[i], bb = r->cnt_b[i];
            r->bkt_ab[v] = r->bp_first[v + 1] > i ? -1 : (ALRP_MIN(aa, bb) | (bb << 32));
        }
    }

    // positive vs positive: rank+ and sum_{k != i} H(s_k - s_i) E_k
    S1[0] = SE[0] = SET[0] = 0.0;
    for (int64_t p = 0; p < P; p++) {
        double tr = r->t[p] - r->ref;
        S1[p + 1]  = S1[p]  + tr;
        SE[p + 1]  = SE[p]  + E[p];
        SET[p + 1] = SET[p] + E[p] * tr;
    }
    double * hpe = w;   // sum_{k != i} H(s_k - s_i) E_k, per sorted position (w reuses it below)
    for (int64_t p = 0; p < P; p++) {
        double  tv = r->t[p], tr = tv - r->ref;
        int64_t lo = alrp__rank_count(r, tv - r->delta, 0);   // H = 0 for positions < lo
        int64_t hi = alrp__rank_count(r, tv + r->delta, 1);   // H = 1 for positions >= hi
        double  nw = (double) (hi - lo);
        double  sum_h = (double) (P - hi) + ((S1[hi] - S1[lo]) - nw * tr) * r->inv2d + 0.5 * nw;
        rank_plus[p] = 0.5 + sum_h;                            // 1 + sum_all - H(0)
        double ew = SE[hi] - SE[lo];
        hpe[p] = (SE[P] - SE[hi]) + ((SET[hi] - SET[lo]) - tr * ew) * r->inv2d + 0.5 * ew - 0.5 * E[p];
    }

    // N_FP per sorted position from the relevant negatives
    {
        int64_t nb = r->n_blocks;
        size_t  cells = (size_t) nb * (size_t) (P + 1);
        if (!(r->d_full = (int64_t *) alrp__rank_alloc(r, mem, &n_mem, sizeof(int64_t) * cells))) goto done;
        if (!(r->d_win  = (int64_t *) alrp__rank_alloc(r, mem, &n_mem, sizeof(int64_t) * cells))) goto done;
        if (!(r->d_c    = (double *)  alrp__rank_alloc(r, mem, &n_mem, sizeof(double)  * cells))) goto done;
        alrp_threadpool_run(tp, alrp__rank_scatter, r);
        // merge in block order (into block 0's arrays)
        for (int64_t b = 1; b < nb; b++) {
            const int64_t * df = r->d_full + b * (P + 1);
            const int64_t * dw = r->d_win  + b * (P + 1);
            const double  * dc = r->d_c    + b * (P + 1);
            for (int64_t p = 0; p <= P; p++) { r->d_full[p] += df[p]; r->d_win[p] += dw[p]; r->d_c[p] += dc[p]; }
        }
    }
    double * nfp = r->d_c;   // reuse: position p < P after the scan below
    {
        int64_t full = 0, win = 0;
        for (int64_t q = 1; q <= P; q++) full += r->d_full[q];
        double c = 0.0;
        for (int64_t p = 0; p < P; p++) {
            // full = #{negatives with a > p}; win = #{a <= p < b}; c = their constants
            win += r->d_win[p];
            c   += r->d_c[p];
            double lin = 0.0;
            if (win > 0) {
                lin = c - (double) win * (r->t[p] - r->ref) * r->inv2d;
                if (lin < 0.0) lin = 0.0;
            }
            nfp[p] = (double) full + lin;
            full -= r->d_full[p + 1];
        }
    }

    // the loss and each positive's weight on the negatives
    double loss_a = 0.0, loss_b = 0.0;
    const double inv_P = 1.0 / (double) P;
    if (kind == ALRP__RANK_KIND_ALRP) {
        double sum_prec = 0.0;
        for (int64_t p = 0; p < P; p++) {
            rank[p] = rank_plus[p] + nfp[p];
            sum_prec += rank_plus[p] / rank[p];
            double g = 0.0, wp = 0.0;
            if (nfp[p] > ALRP__RANK_EPS) {
                double e = (nfp[p] + hpe[p]) / rank[p];   // own E_loc left out ([A])
                g  = -e * inv_P;
                wp = e * inv_P / nfp[p];
            }
            r->g_pos[r->order[p]] = (float) g;
            w[p] = wp;
        }
        loss_a = 1.0 - sum_prec * inv_P;
        // localisation part: descending hard order (the reverse of the stable ascending sort),
        // cumsum of E over it divided by the smoothed rank
        double cum = 0.0;
        for (int64_t p = P - 1; p >= 0; p--) { cum += E[p]; loss_b += cum / rank[p]; }
        loss_b *= inv_P;
        if (grad_loc) {
            // d(loss_loc)/dE of the positive at sorted p: (1/P) sum_{q <= p} 1/rank[q]
            double acc = 0.0;
            for (int64_t p = 0; p < P; p++) { acc += 1.0 / rank[p]; grad_loc[r->order[p]] = (float) (acc * inv_P); }
        }
    } else {
        // AP: interpolated precision = running max over ascending scores
        double p_max = 0.0, sum_interp = 0.0;
        for (int64_t p = 0; p < P; p++) {
            rank[p] = rank_plus[p] + nfp[p];
            double prec = rank_plus[p] / rank[p];
            double c = 1.0;
            if (prec >= p_max) p_max = prec; else c = (1.0 - p_max) / (1.0 - prec);
            sum_interp += p_max;
            r->g_pos[r->order[p]] = (float) (-(1.0 - p_max) * inv_P);
            w[p] = c / rank[p] * inv_P;
        }
        loss_a = 1.0 - sum_interp * inv_P;
    }
    if (out_a) *out_a = (float) loss_a;
    if (out_b) *out_b = (float) loss_b;
    if (rank_out) for (int64_t p = 0; p < P; p++) rank_out[r->order[p]] = (float) rank[p];

    if (grad) {
        r->W[0] = r->WT[0] = 0.0;
        for (int64_t p = 0; p < P; p++) {
            r->W[p + 1]  = r->W[p]  + w[p];
            r->WT[p + 1] = r->WT[p] + w[p] * (r->t[p] - r->ref);
        }
        alrp_threadpool_run(tp, alrp__rank_write_grad, r);
    }
    ret = P;

done:
    for (int i = n_mem - 1; i >= 0; i--) ALRP_FREE(mem[i]);
    return ret;
}

ALRPDEF int64_t alrp_loss_count_positives(int64_t n, const int8_t * labels) {
    if (n < 0 || (n > 0 && !labels)) return -1;
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) c += labels[i] == 1;
    return c;
}

ALRPDEF int64_t alrp_loss_alrp_f32_tp(struct alrp_threadpool * tp,
                                      int64_t n, const float * logits, const int8_t * labels,
                                      const float * loc_err, float delta,
                                      float * loss_cls, float * loss_loc,
                                      float * grad_logits, float * grad_loc, float * rank) {
    return alrp__rank_loss(tp, ALRP__RANK_KIND_ALRP, "alrp_loss_alrp_f32", n, logits, labels, loc_err, delta,
                           loss_cls, loss_loc, grad_logits, grad_loc, rank);
}

ALRPDEF int64_t alrp_loss_ap_f32_tp(struct alrp_threadpool * tp,
                                    int64_t n, const float * logits, const int8_t * labels,
                                    float delta, float * loss, float * grad_logits, float * rank) {
    return alrp__rank_loss(tp, ALRP__RANK_KIND_AP, "alrp_loss_ap_f32", n, logits, labels, NULL, delta,
                           loss, NULL, grad_logits, NULL, rank);
}

// a pool of alrp_n_cores() threads for this call only, when the input is large enough
static struct alrp_threadpool * alrp__loss_pool_for(int64_t n) {
    int nc = alrp_n_cores();
    return (n >= ALRP__RANK_MT_MIN && nc > 1) ? alrp_threadpool_new(nc) : NULL;
}

ALRPDEF int64_t alrp_loss_alrp_f32(int64_t n, const float * logits, const int8_t * labels,
                                   const float * loc_err, float delta,
                                   float * loss_cls, float * loss_loc,
                                   float * grad_logits, float * grad_loc) {
    struct alrp_threadpool * tp = alrp__loss_pool_for(n);
    int64_t ret = alrp_loss_alrp_f32_tp(tp, n, logits, labels, loc_err, delta, loss_cls, loss_loc, grad_logits, grad_loc, NULL);
    alrp_threadpool_free(tp);
    return ret;
}

ALRPDEF int64_t alrp_loss_ap_f32(int64_t n, const float * logits, const int8_t * labels,
                                 float delta, float * loss, float * grad_logits) {
    struct alrp_threadpool * tp = alrp__loss_pool_for(n);
    int64_t ret = alrp_loss_ap_f32_tp(tp, n, logits, labels, delta, loss, grad_logits, NULL);
    alrp_threadpool_free(tp);
    return ret;
}

// ---- self-balance ----------------------------------------------------------------------------

ALRPDEF int alrp_sb_init(struct alrp_sb * sb, int64_t period) {
    memset(sb, 0, sizeof(*sb));
    sb->weight = ALRP_SB_INIT_WEIGHT;
    sb->period = period;
    if (period < 1) {
        fprintf(stderr, "alrp_sb_init: period = %lld: must be >= 1 (iterations per epoch, see alrp_sb_period)\n", (long long) period);
        sb->period = 1;
        return -1;
    }
    return 0;
}

ALRPDEF bool alrp_sb_update(struct alrp_sb * sb, float loss_cls, float loss_loc, int64_t n_pos) {
    if (n_pos <= 0) return false;   // [A]: only iterations with a positive are counted
    sb->sum_cls += (double) loss_cls;
    sb->sum_loc += (double) loss_loc;
    sb->count++;
    if (sb->count < sb->period) return false;
    bool updated = false;
    if (sb->sum_loc > 0.0) {
        // (mean cls + mean loc) / mean loc; the counts cancel
        sb->weight = (float) ((sb->sum_cls + sb->sum_loc) / sb->sum_loc);
        sb->n_updates++;
        updated = true;
    }
    sb->sum_cls = sb->sum_loc = 0.0;
    sb->count = 0;
    return updated;
}

ALRPDEF float alrp_sb_weight(const struct alrp_sb * sb) { return sb->weight; }

ALRPDEF int64_t alrp_sb_period(int64_t n_images, int64_t batch_size) {
    if (n_images < 1 || batch_size < 1) {
        fprintf(stderr, "alrp_sb_period: n_images = %lld, batch_size = %lld: both must be >= 1\n",
                (long long) n_images, (long long) batch_size);
        return -1;
    }
    return (n_images + batch_size - 1) / batch_size;
}

// ---- element-wise losses ---------------------------------------------------------------------

static int alrp__loss_check(const char * fname, int64_t n, const void * a, const char * an,
                            const void * b, const char * bn, enum alrp_loss_reduction red, const void * out, const char * on) {
    if (n < 0) { fprintf(stderr, "%s: n = %lld is negative\n", fname, (long long) n); return -1; }
    if (red != ALRP_LOSS_REDUCTION_NONE && red != ALRP_LOSS_REDUCTION_SUM && red != ALRP_LOSS_REDUCTION_MEAN) {
        fprintf(stderr, "%s: reduction %d: use ALRP_LOSS_REDUCTION_NONE, _SUM or _MEAN\n", fname, (int) red);
        return -1;
    }
    if (!out) { fprintf(stderr, "%s: %s is NULL\n", fname, on); return -1; }
    if (n > 0 && (!a || !b)) { fprintf(stderr, "%s: %s is NULL with n = %lld\n", fname, !a ? an : bn, (long long) n); return -1; }
    return 0;
}

// the upstream gradient of element i: grad_out is (n,) for NONE, (1,) otherwise
static inline double alrp__loss_upstream(const float * grad_out, int64_t i, int64_t n, enum alrp_loss_reduction red) {
    if (red == ALRP_LOSS_REDUCTION_NONE) return (double) grad_out[i];
    if (red == ALRP_LOSS_REDUCTION_SUM)  return (double) grad_out[0];
    return (double) grad_out[0] / (double) n;
}

// sigmoid focal loss of one element, in double; *dldx gets d(loss)/dx when not NULL
static inline double alrp__focal_one(double x, double t, double alpha, double gamma, double * dldx) {
    double ex = exp(-fabs(x));                        // e^-|x| in (0, 1]
    double p  = x >= 0.0 ? 1.0 / (1.0 + ex) : ex / (1.0 + ex);   // sigmoid(x)
    double q  = x >= 0.0 ? ex / (1.0 + ex) : 1.0 / (1.0 + ex);   // 1 - sigmoid(x)
    double ce = (x > 0.0 ? x : 0.0) - x * t + log1p(ex);         // BCE with logits
    double m  = t * q + (1.0 - t) * p;                // 1 - p_t, without cancellation
    double mg = gamma == 0.0 ? 1.0 : pow(m, gamma);
    double at = alpha >= 0.0 ? alpha * t + (1.0 - alpha) * (1.0 - t) : 1.0;
    if (dldx) {
        // dce/dx = p - t; dm/dx = p q (1 - 2t); d(m^gamma)/dx = gamma m^(gamma-1) dm/dx
        double dmg = 0.0;
        if (gamma != 0.0 && m > 0.0) dmg = gamma * pow(m, gamma - 1.0) * p * q * (1.0 - 2.0 * t);
        *dldx = at * ((p - t) * mg + ce * dmg);
    }
    return at * ce * mg;
}

#define ALRP__EW_BLOCK (1 << 14)

struct alrp__focal_job {
    int64_t n, n_blocks;
    const float * x, * t, * grad_out;
    double alpha, gamma;
    enum alrp_loss_reduction red;
    float  * out;        // NONE forward: (n,)
    double * partial;    // SUM/MEAN forward: (n_blocks,)
    float  * grad;       // backward: (n,), accumulated
};

static void alrp__focal_fwd_thread(void * arg, int ith, int nth) {
    struct alrp__focal_job * j = (struct alrp__focal_job *) arg;
    for (int64_t b = j->n_blocks * ith / nth; b < j->n_blocks * (ith + 1) / nth; b++) {
        int64_t i0 = b * ALRP__EW_BLOCK, i1 = ALRP_MIN(j->n, i0 + ALRP__EW_BLOCK);
        double acc = 0.0;
        for (int64_t i = i0; i < i1; i++) {
            double l = alrp__focal_one(j->x[i], j->t[i], j->alpha, j->gamma, NULL);
            if (j->red == ALRP_LOSS_REDUCTION_NONE) j->out[i] = (float) l; else acc += l;
        }
        if (j->partial) j->partial[b] = acc;
    }
}

static void alrp__focal_bwd_thread(void * arg, int ith, int nth) {
    struct alrp__focal_job * j = (struct alrp__focal_job *) arg;
    int64_t i0 = j->n * ith / nth, i1 = j->n * (ith + 1) / nth;
    for (int64_t i = i0; i < i1; i++) {
        double d;
        alrp__focal_one(j->x[i], j->t[i], j->alpha, j->gamma, &d);
        j->grad[i] += (float) (d * alrp__loss_upstream(j->grad_out, i, j->n, j->red));
    }
}

static int alrp__focal_check(const char * fname, float alpha, float gamma) {
    if (!(gamma >= 0.0f) || !alrp__f32_is_finite(gamma) || !alrp__f32_is_finite(alpha) || alpha > 1.0f) {
        fprintf(stderr, "%s: gamma = %g, alpha = %g: need gamma >= 0 and alpha <= 1 (alpha < 0: no alpha weighting)\n",
                fname, (double) gamma, (double) alpha);
        return -1;
    }
    return 0;
}

ALRPDEF int alrp_sigmoid_focal_loss_f32_tp(struct alrp_threadpool * tp, int64_t n,
                                           const float * logits, const float * targets,
                                           float alpha, float gamma,
                                           enum alrp_loss_reduction red, float * out) {
    const char * fn = "alrp_sigmoid_focal_loss_f32";
    if (alrp__loss_check(fn, n, logits, "logits", targets, "targets", red, out, "out") || alrp__focal_check(fn, alpha, gamma)) return -1;
    struct alrp__focal_job j;
    memset(&j, 0, sizeof(j));
    j.n = n; j.x = logits; j.t = targets; j.alpha = alpha; j.gamma = gamma; j.red = red; j.out = out;
    j.n_blocks = (n + ALRP__EW_BLOCK - 1) / ALRP__EW_BLOCK;
    if (red != ALRP_LOSS_REDUCTION_NONE) {
        j.partial = (double *) ALRP_MALLOC(sizeof(double) * (size_t) (j.n_blocks > 0 ? j.n_blocks : 1));
        if (!j.partial) { fprintf(stderr, "%s: out of memory\n", fn); return -1; }
    }
    if (n > 0) alrp_threadpool_run(tp, alrp__focal_fwd_thread, &j);
    if (j.partial) {
        double s = 0.0;
        for (int64_t b = 0; b < j.n_blocks; b++) s += j.partial[b];
        out[0] = (float) (red == ALRP_LOSS_REDUCTION_MEAN ? (n > 0 ? s / (double) n : 0.0) : s);
        ALRP_FREE(j.partial);
    }
    return 0;
}

ALRPDEF int alrp_sigmoid_focal_loss_backward_f32_tp(struct alrp_threadpool * tp, int64_t n,
                                                    const float * logits, const float * targets,
                                                    float alpha, float gamma,
                                                    enum alrp_loss_reduction red,
                                                    const float * grad_out, float * grad_logits) {
    const char * fn = "alrp_sigmoid_focal_loss_backward_f32";
    if (alrp__loss_check(fn, n, logits, "logits", targets, "targets", red, grad_out, "grad_out") || alrp__focal_check(fn, alpha, gamma)) return -1;
    if (n > 0 && !grad_logits) { fprintf(stderr, "%s: grad_logits is NULL\n", fn); return -1; }
    struct alrp__focal_job j;
    memset(&j, 0, sizeof(j));
    j.n = n; j.x = logits; j.t = targets; j.alpha = alpha; j.gamma = gamma; j.red = red;
    j.grad_out = grad_out; j.grad = grad_logits;
    if (n > 0) alrp_threadpool_run(tp, alrp__focal_bwd_thread, &j);
    return 0;
}

ALRPDEF int alrp_sigmoid_focal_loss_f32(int64_t n, const float * logits, const float * targets,
                                        float alpha, float gamma, enum alrp_loss_reduction red,
                                        float * out) {
    return alrp_sigmoid_focal_loss_f32_tp(NULL, n, logits, targets, alpha, gamma, red, out);
}

ALRPDEF int alrp_sigmoid_focal_loss_backward_f32(int64_t n, const float * logits,
                                                 const float * targets, float alpha, float gamma,
                                                 enum alrp_loss_reduction red,
                                                 const float * grad_out, float * grad_logits) {
    return alrp_sigmoid_focal_loss_backward_f32_tp(NULL, n, logits, targets, alpha, gamma, red, grad_out, grad_logits);
}

// smooth L1 of one difference d; beta = 0 is L1. *g gets d(loss)/dd (sign(0) = 0)
static inline double alrp__smooth_l1_one(double d, double beta, double * g) {
    double ad = fabs(d);
    if (ad < beta) { *g = d / beta; return 0.5 * d * d / beta; }
    *g = (d > 0.0) - (d < 0.0);
    return ad - 0.5 * beta;
}

static void alrp__reduce_out(const double * vals_sum, int64_t n, enum alrp_loss_reduction red, float * out) {
    if (red == ALRP_LOSS_REDUCTION_SUM)  out[0] = (float) *vals_sum;
    if (red == ALRP_LOSS_REDUCTION_MEAN) out[0] = (float) (n > 0 ? *vals_sum / (double) n : 0.0);
}

ALRPDEF int alrp_smooth_l1_loss_f32(int64_t n, const float * pred, const float * target,
                                    float beta, enum alrp_loss_reduction red, float * out) {
    const char * fn = "alrp_smooth_l1_loss_f32";
    if (alrp__loss_check(fn, n, pred, "pred", target, "target", red, out, "out")) return -1;
    if (!(beta >= 0.0f) || !alrp__f32_is_finite(beta)) { fprintf(stderr, "%s: beta = %g: must be >= 0\n", fn, (double) beta); return -1; }
    double sum = 0.0, g;
    for (int64_t i = 0; i < n; i++) {
        double l = alrp__smooth_l1_one((double) pred[i] - (double) target[i], beta, &g);
        if (red == ALRP_LOSS_REDUCTION_NONE) out[i] = (float) l; else sum += l;
    }
    alrp__reduce_out(&sum, n, red, out);
    return 0;
}

ALRPDEF int alrp_smooth_l1_loss_backward_f32(int64_t n, const float * pred, const float * target,
                                             float beta, enum alrp_loss_reduction red,
                                             const float * grad_out, float * grad_pred) {
    const char * fn = "alrp_smooth_l1_loss_backward_f32";
    if (alrp__loss_check(fn, n, pred, "pred", target, "target", red, grad_out, "grad_out")) return -1;
    if (!(beta >= 0.0f) || !alrp__f32_is_finite(beta)) { fprintf(stderr, "%s: beta = %g: must be >= 0\n", fn, (double) beta); return -1; }
    if (n > 0 && !grad_pred) { fprintf(stderr, "%s: grad_pred is NULL\n", fn); return -1; }
    for (int64_t i = 0; i < n; i++) {
        double g;
        alrp__smooth_l1_one((double) pred[i] - (double) target[i], beta, &g);
        grad_pred[i] += (float) (g * alrp__loss_upstream(grad_out, i, n, red));
    }
    return 0;
}

ALRPDEF int alrp_l1_loss_f32(int64_t n, const float * pred, const float * target,
                             enum alrp_loss_reduction red, float * out) {
    return alrp_smooth_l1_loss_f32(n, pred, target, 0.0f, red, out);
}

ALRPDEF int alrp_l1_loss_backward_f32(int64_t n, const float * pred, const float * target,
                                      enum alrp_loss_reduction red,
                                      const float * grad_out, float * grad_pred) {
    return alrp_smooth_l1_loss_backward_f32(n, pred, target, 0.0f, red, grad_out, grad_pred);
}

// ---- GIoU loss -------------------------------------------------------------------------------

// d max(a, b)/da: 1, 1/2 at a tie, 0 (torch.maximum autograd); d min(a, b)/da likewise
static inline double alrp__dmax_a(double a, double b) { return a > b ? 1.0 : (a == b ? 0.5 : 0.0); }
static inline double alrp__dmin_a(double a, double b) { return a < b ? 1.0 : (a == b ? 0.5 : 0.0); }

// 1 - GIoU of one box pair; b, g are (4,) boxes (x1, y1, x2, y2). With gb / gg not NULL, adds
// go * d(loss)/db into gb (4,) and go * d(loss)/dg into gg (4,).
static double alrp__giou_one(const float * bf, const float * gf, double eps, double go, double * gb, double * gg) {
    double x1 = bf[0], y1 = bf[1], x2 = bf[2], y2 = bf[3];
    double X1 = gf[0], Y1 = gf[1], X2 = gf[2], Y2 = gf[3];
    double ix1 = x1 > X1 ? x1 : X1, iy1 = y1 > Y1 ? y1 : Y1;
    double ix2 = x2 < X2 ? x2 : X2, iy2 = y2 < Y2 ? y2 : Y2;
    double iw = ix2 - ix1, ih = iy2 - iy1;
    int    overlap = iw > 0.0 && ih > 0.0;
    double I  = overlap ? iw * ih : 0.0;
    double a1 = (x2 - x1) * (y2 - y1), a2 = (X2 - X1) * (Y2 - Y1);
    double U  = a1 + a2 - I;
    double cx1 = x1 < X1 ? x1 : X1, cy1 = y1 < Y1 ? y1 : Y1;
    double cx2 = x2 > X2 ? x2 : X2, cy2 = y2 > Y2 ? y2 : Y2;
    double cw = cx2 - cx1, ch = cy2 - cy1;
    double A  = cw * ch;
    double loss = 1.0 - (I / (U + eps) - (A - U) / (A + eps));
    if (gb) {
        // loss = 1 - I/(U+e) + (A-U)/(A+e)
        double dU = go * (I / ((U + eps) * (U + eps)) - 1.0 / (A + eps));
        double dI = go * (-1.0 / (U + eps)) - dU;          // U = a1 + a2 - I
        double dA = go * (U + eps) / ((A + eps) * (A + eps));
        double d_iw = overlap ? dI * ih : 0.0, d_ih = overlap ? dI * iw : 0.0;
        double d_cw = dA * ch, d_ch = dA * cw;
        // a1 = (x2 - x1)(y2 - y1), a2 likewise; iw = min(x2, X2) - max(x1, X1); cw = max - min
        gb[0] += -dU * (y2 - y1) - d_iw * alrp__dmax_a(x1, X1) - d_cw * alrp__dmin_a(x1, X1);
        gb[2] +=  dU * (y2 - y1) + d_iw * alrp__dmin_a(x2, X2) + d_cw * alrp__dmax_a(x2, X2);
        gb[1] += -dU * (x2 - x1) - d_ih * alrp__dmax_a(y1, Y1) - d_ch * alrp__dmin_a(y1, Y1);
        gb[3] +=  dU * (x2 - x1) + d_ih * alrp__dmin_a(y2, Y2) + d_ch * alrp__dmax_a(y2, Y2);
        if (gg) {
            gg[0] += -dU * (Y2 - Y1) - d_iw * alrp__dmax_a(X1, x1) - d_cw * alrp__dmin_a(X1, x1);
            gg[2] +=  dU * (Y2 - Y1) + d_iw * alrp__dmin_a(X2, x2) + d_cw * alrp__dmax_a(X2, x2);
            gg[1] += -dU * (X2 - X1) - d_ih * alrp__dmax_a(Y1, y1) - d_ch * alrp__dmin_a(Y1, y1);
            gg[3] +=  dU * (X2 - X1) + d_ih * alrp__dmin_a(Y2, y2) + d_ch * alrp__dmax_a(Y2, y2);
        }
    }
    return loss;
}

ALRPDEF int alrp_giou_loss_f32(int64_t n, const float * pred, const float * target, float eps,
                               enum alrp_loss_reduction red, float * out) {
    const char * fn = "alrp_giou_loss_f32";
    if (alrp__loss_check(fn, n, pred, "pred", target, "target", red, out, "out")) return -1;
    if (!(eps >= 0.0f)) { fprintf(stderr, "%s: eps = %g: must be >= 0 (ALRP_GIOU_EPS)\n", fn, (double) eps); return -1; }
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double l = alrp__giou_one(pred + 4 * i, target + 4 * i, (double) eps, 0.0, NULL, NULL);
        if (red == ALRP_LOSS_REDUCTION_NONE) out[i] = (float) l; else sum += l;
    }
    alrp__reduce_out(&sum, n, red, out);
    return 0;
}

ALRPDEF int alrp_giou_loss_backward_f32(int64_t n, const float * pred, const float * target,
                                        float eps, enum alrp_loss_reduction red,
                                        const float * grad_out, float * grad_pred,
                                        float * grad_target) {
    const char * fn = "alrp_giou_loss_backward_f32";
    if (alrp__loss_check(fn, n, pred, "pred", target, "target", red, grad_out, "grad_out")) return -1;
    if (!(eps >= 0.0f)) { fprintf(stderr, "%s: eps = %g: must be >= 0 (ALRP_GIOU_EPS)\n", fn, (double) eps); return -1; }
    if (n > 0 && !grad_pred) { fprintf(stderr, "%s: grad_pred is NULL\n", fn); return -1; }
    for (int64_t i = 0; i < n; i++) {
        double gb[4] = { 0, 0, 0, 0 }, gg[4] = { 0, 0, 0, 0 };
        alrp__giou_one(pred + 4 * i, target + 4 * i, (double) eps, alrp__loss_upstream(grad_out, i, n, red), gb, grad_target ? gg : NULL);
        for (int c = 0; c < 4; c++) {
            grad_pred[4 * i + c] += (float) gb[c];
            if (grad_target) grad_target[4 * i + c] += (float) gg[c];
        }
    }
    return 0;
}

// ---- box delta coding ------------------------------------------------------------------------

// centre and size of anchor i (the unit anchor when anchors is NULL)
static inline void alrp__anchor_cwh(const float * anchors, int64_t i, double * px, double * py, double * pw, double * ph) {
    if (!anchors) { *px = 0.0; *py = 0.0; *pw = 1.0; *ph = 1.0; return; }
    const float * a = anchors + 4 * i;
    *px = 0.5 * ((double) a[0] + (double) a[2]);
    *py = 0.5 * ((double) a[1] + (double) a[3]);
    *pw = (double) a[2] - (double) a[0];
    *ph = (double) a[3] - (double) a[1];
}

ALRPDEF void alrp_box_encode_f32(int64_t n, const float * anchors, const float * boxes,
                                 const float * means, const float * stds, float * deltas) {
    for (int64_t i = 0; i < n; i++) {
        double px, py, pw, ph;
        alrp__anchor_cwh(anchors, i, &px, &py, &pw, &ph);
        const float * b = boxes + 4 * i;
        double gx = 0.5 * ((double) b[0] + (double) b[2]), gy = 0.5 * ((double) b[1] + (double) b[3]);
        double gw = (double) b[2] - (double) b[0],         gh = (double) b[3] - (double) b[1];
        double d[4] = { (gx - px) / pw, (gy - py) / ph, log(gw / pw), log(gh / ph) };
        for (int c = 0; c < 4; c++) {
            double m = means ? (double) means[c] : 0.0, s = stds ? (double) stds[c] : 1.0;
            deltas[4 * i + c] = (float) ((d[c] - m) / s);
        }
    }
}

// de-normalised, clamped deltas of row i; inside[c] = 1 where the clamp passes the gradient
static inline void alrp__box_denorm(const float * deltas, int64_t i, const float * means, const float * stds,
                                    double max_ratio, double d[4], int inside[4]) {
    for (int c = 0; c < 4; c++) {
        double m = means ? (double) means[c] : 0.0, s = stds ? (double) stds[c] : 1.0;
        d[c] = (double) deltas[4 * i + c] * s + m;
        inside[c] = 1;
        if (c >= 2 && max_ratio > 0.0) {
            if (d[c] > max_ratio)  { d[c] = max_ratio;  inside[c] = 0; }
            if (d[c] < -max_ratio) { d[c] = -max_ratio; inside[c] = 0; }
        }
    }
}

ALRPDEF void alrp_box_decode_f32(int64_t n, const float * anchors, const float * deltas,
                                 const float * means, const float * stds, float max_ratio,
                                 float * boxes) {
    for (int64_t i = 0; i < n; i++) {
        double px, py, pw, ph, d[4];
        int inside[4];
        alrp__anchor_cwh(anchors, i, &px, &py, &pw, &ph);
        alrp__box_denorm(deltas, i, means, stds, (double) max_ratio, d, inside);
        double gx = px + pw * d[0], gy = py + ph * d[1];
        double gw = pw * exp(d[2]), gh = ph * exp(d[3]);
        boxes[4 * i + 0] = (float) (gx - 0.5 * gw);
        boxes[4 * i + 1] = (float) (gy - 0.5 * gh);
        boxes[4 * i + 2] = (float) (gx + 0.5 * gw);
        boxes[4 * i + 3] = (float) (gy + 0.5 * gh);
    }
}

ALRPDEF void alrp_box_decode_backward_f32(int64_t n, const float * anchors, const float * deltas,
                                          const float * means, const float * stds,
                                          float max_ratio, const float * grad_boxes,
                                          float * grad_deltas) {
    for (int64_t i = 0; i < n; i++) {
        double px, py, pw, ph, d[4];
        int inside[4];
        alrp__anchor_cwh(anchors, i, &px, &py, &pw, &ph);
        alrp__box_denorm(deltas, i, means, stds, (double) max_ratio, d, inside);
        const float * gbx = grad_boxes + 4 * i;
        double gw = pw * exp(d[2]), gh = ph * exp(d[3]);
        // x1 = gx - gw/2, x2 = gx + gw/2 -> dL/dgx = g0 + g2, dL/dgw = (g2 - g0)/2
        double g[4] = {
            pw * ((double) gbx[0] + (double) gbx[2]),
            ph * ((double) gbx[1] + (double) gbx[3]),
            inside[2] ? gw * 0.5 * ((double) gbx[2] - (double) gbx[0]) : 0.0,
            inside[3] ? gh * 0.5 * ((double) gbx[3] - (double) gbx[1]) : 0.0,
        };
        for (int c = 0; c < 4; c++) {
            double s = stds ? (double) stds[c] : 1.0;
            grad_deltas[4 * i + c] += (float) (g[c] * s);
        }
    }
}

ALRPDEF void alrp_loc_err_giou_f32(int64_t n_pos, const float * pred_deltas,
                                   const float * target_deltas, const float * stds,
                                   float * loc_err) {
    for (int64_t k = 0; k < n_pos; k++) {
        float bp[4], bt[4];
        alrp_box_decode_f32(1, NULL, pred_deltas + 4 * k, NULL, stds, ALRP_BOX_MAX_RATIO, bp);
        alrp_box_decode_f32(1, NULL, target_deltas + 4 * k, NULL, stds, ALRP_BOX_MAX_RATIO, bt);
        loc_err[k] = (float) alrp__giou_one(bp, bt, (double) ALRP_GIOU_EPS, 0.0, NULL, NULL);
    }
}

ALRPDEF void alrp_loc_err_giou_backward_f32(int64_t n_pos, const float * pred_deltas,
                                            const float * target_deltas, const float * stds,
                                            const float * grad_loc_err, float * grad_pred_deltas) {
    for (int64_t k = 0; k < n_pos; k++) {
        float bp[4], bt[4], gbf[4];
        double gb[4] = { 0, 0, 0, 0 };
        alrp_box_decode_f32(1, NULL, pred_deltas + 4 * k, NULL, stds, ALRP_BOX_MAX_RATIO, bp);
        alrp_box_decode_f32(1, NULL, target_deltas + 4 * k, NULL, stds, ALRP_BOX_MAX_RATIO, bt);
        alrp__giou_one(bp, bt, (double) ALRP_GIOU_EPS, (double) grad_loc_err[k], gb, NULL);
        for (int c = 0; c < 4; c++) gbf[c] = (float) gb[c];
        alrp_box_decode_backward_f32(1, NULL, pred_deltas + 4 * k, NULL, stds, ALRP_BOX_MAX_RATIO, gbf, grad_pred_deltas + 4 * k);
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
