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
//     ALRP_MALLOC(sz)/ALRP_FREE(p)  allocator for context buffers (default malloc/free; both or neither)
//     ALRP_NO_SIMD            use the scalar fallback instead of AVX-512/AVX2/NEON
//     ALRP_STATIC             make every function static (private to the including file)
//     ALRP_INTERNAL           declares the library's private reference kernels, for its own tests
//                             (any file: the definitions are always compiled in)
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
// Usage example, f(x) = a*x^2 + b and its gradient, computed on the CPU backend (a complete
// program; tests/test-header-example.sh compiles and runs it verbatim):
//
// ---- example begin
//     #define ALRP_IMPLEMENTATION
//     #include "alrp.h"
//     #include <stdio.h>
//
//     int main(void) {
//         struct alrp_init_params ip = { 1 << 20, NULL, true };  // no_alloc: data goes in the backend
//         struct alrp_context * ctx = alrp_init(ip);
//         struct alrp_tensor * x = alrp_new_tensor_1d(ctx, 1);  alrp_set_param(ctx, x);
//         struct alrp_tensor * a = alrp_new_tensor_1d(ctx, 1);  alrp_set_input(a);
//         struct alrp_tensor * b = alrp_new_tensor_1d(ctx, 1);  alrp_set_input(b);
//         struct alrp_tensor * f = alrp_add(ctx, alrp_mul(ctx, a, alrp_mul(ctx, x, x)), b);
//         alrp_set_loss(ctx, f);
//         struct alrp_graph * g = alrp_new_graph(ctx, 64);
//         alrp_build_forward(g, f);
//         alrp_build_backward(ctx, g);                         // appends df/dx to the same graph
//         struct alrp_backend * be = alrp_backend_cpu_init(2);  // 2 threads
//         struct alrp_gallocr * ga = alrp_gallocr_new(be);
//         alrp_gallocr_alloc_graph(ga, g);                     // places x, a, b and every node
//         float vx = 2.0f, va = 3.0f, vb = 4.0f;
//         alrp_backend_set_f32(be, x, &vx);
//         alrp_backend_set_f32(be, a, &va);
//         alrp_backend_set_f32(be, b, &vb);
//         if (alrp_backend_graph_compute(be, g) != ALRP_STATUS_SUCCESS) return 1;
//         printf("f = %.1f, df/dx = %.1f\n", alrp_backend_get_f32_1(be, f, 0),
//                alrp_backend_get_f32_1(be, alrp_graph_grad(g, x), 0));   // f = 16.0, df/dx = 12.0
//         alrp_gallocr_free(ga);
//         alrp_backend_free(be);
//         alrp_free(ctx);
//         return 0;
//     }
// ---- example end
//
// Build: link with -lm -lpthread (POSIX threads; Linux, macOS, BSDs). SIMD kernels need the
// target's vector units enabled at compile time: -march=native, or -mavx2 -mfma (x86), or
// AArch64 (NEON is always on); otherwise the scalar fallback is used (also with ALRP_NO_SIMD).
// The header also compiles as C++17.
//
// Sections (search for "// ====="):
//     declarations: threads, core (contexts, tensors), ops, graphs/autograd/allocator/backends,
//     optimizers and named-tensor files, GEMM and conv kernels, ranking and box losses, io
//     (safetensors) and optimizer kernels
//     implementation: threads, SIMD macro layer, core, ops, graphs and autograd, graph
//     allocator, CPU ops, CPU backend, optimizers, GEMM and conv kernels, ranking and box
//     losses, io and optimizer kernels

#ifndef ALRP_H
#define ALRP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef ALRP_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define ALRPDEF static __attribute__((unused))
#else
#define ALRPDEF static
#endif
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
// ===== declarations: core (contexts and tensors)
// ============================================================================================
// Shapes are given and reported in PyTorch order (shape[0] outermost). Internally ne[] is
// stored right-aligned in 4 slots: a (5, 7) tensor has ne = {1, 1, 5, 7}, n_dims = 2, so that
// broadcasting follows PyTorch's rule (align trailing dims) with no special cases. Strides nb[]
// are in elements (not bytes) and 0 for a broadcast (expanded) dim.

#define ALRP_MAX_DIMS      4
#define ALRP_MAX_SRC       6
#define ALRP_MAX_OP_PARAMS 16
#define ALRP_MAX_NAME      64

enum alrp_type { ALRP_TYPE_F32, ALRP_TYPE_I32, ALRP_TYPE_I8, ALRP_TYPE_COUNT }; // I8: ranking-loss labels

enum alrp_tensor_flag {
    ALRP_FLAG_PARAM  = 1,  // trainable: build_backward computes its gradient
    ALRP_FLAG_LOSS   = 2,  // a (scalar or not) value to minimise: the backward is seeded with 1
    ALRP_FLAG_INPUT  = 4,  // filled by the user before compute (never reused by the allocator)
    ALRP_FLAG_OUTPUT = 8,  // read by the user after compute (its buffer is never reused)
    ALRP_FLAG_GRAD   = 16, // (internal) depends on a parameter
    ALRP_FLAG_BWD    = 32, // (internal) build_backward: a new node that a gradient needs
};

enum alrp_op {
    ALRP_OP_NONE = 0,          // leaf
    ALRP_OP_FILL,              // every element = p0 (float)
    ALRP_OP_CONT,              // contiguous copy of a strided / broadcast view
    ALRP_OP_ADD,               // a + b, broadcasting
    ALRP_OP_SUB,               // a - b
    ALRP_OP_MUL,               // a * b
    ALRP_OP_DIV,               // a / b
    ALRP_OP_SCALE,             // a * p0 (float)
    ALRP_OP_SUM_TO,            // sum a down to a broadcast-compatible shape
    ALRP_OP_UNARY,             // elementwise f(a), p0 = enum alrp_unary_op
    ALRP_OP_UNARY_BACK,        // dx = dy * f'(x): src = dy, x or NULL, f(x) or NULL; p0 = enum alrp_unary_op
    ALRP_OP_CLAMP,             // clamp(a, p0, p1)
    ALRP_OP_CLAMP_BACK,        // dx = dy * [p0 <= x <= p1]: src = dy, x
    ALRP_OP_MATMUL,            // op(a) @ op(b), batched; p0 = trans_a, p1 = trans_b
    ALRP_OP_CONV2D,            // conv(x, w) (+ b); p = stride h,w, pad h,w, dil h,w, groups
    ALRP_OP_CONV2D_BACK_DATA,  // dx from dy, w; same params
    ALRP_OP_CONV2D_BACK_WEIGHT,// dw from x, dy; same params
    ALRP_OP_BN_STATS,          // (2, C): mean, 1/sqrt(var+eps); train mode updates running stats
    ALRP_OP_BN_APPLY,          // (x - mean) * invstd * w + b
    ALRP_OP_BN_BACK,           // dx; src = dy, x, stats, w; p0 = mode
    ALRP_OP_BN_BACK_PARAMS,    // (2, C): dweight, dbias; src = dy, x, stats
    ALRP_OP_MAX_POOL2D,        // p = kernel, stride, pad
    ALRP_OP_MAX_POOL2D_BACK,   // dx; src = dy, x
    ALRP_OP_UPSAMPLE,          // nearest, integer factor p0
    ALRP_OP_UPSAMPLE_BACK,     // dx: sums each p0 x p0 block of dy
    ALRP_OP_RESHAPE,           // view
    ALRP_OP_PERMUTE,           // view; p0..3 = axes (PyTorch semantics)
    ALRP_OP_SLICE,             // view; p0 = axis, p1 = start (PyTorch axis)
    ALRP_OP_EXPAND,            // view with stride 0 on broadcast dims
    ALRP_OP_PAD_SLICE,         // zeros of the source shape with dy written at the slice
    ALRP_OP_CONCAT,            // concat of 2..ALRP_MAX_SRC tensors along p0 (PyTorch axis)
    ALRP_OP_GATHER_ROWS,       // a (R, D), idx (K) i32 -> (K, D)
    ALRP_OP_SCATTER_ADD_ROWS,  // zeros (R, D) then row idx[k] += a[k]; p0 = R
    ALRP_OP_ALRP_LOSS,         // packed (3 + n + A): loss_cls, loss_loc, P, grad_logits (n), grad_loc (A; 0 without loc_err)
    ALRP_OP_AP_LOSS,           // packed (2 + n): loss, P, grad_logits (n)
    ALRP_OP_RANK_LOSS_BACK,    // dy[p0] * packed[p1 ...]: the stored update scaled by the incoming gradient
    ALRP_OP_FOCAL_LOSS,        // element-wise sigmoid focal loss; src = logits, targets; p = alpha, gamma
    ALRP_OP_FOCAL_LOSS_BACK,   // d/dlogits; src = dy, logits, targets
    ALRP_OP_SMOOTH_L1,         // element-wise smooth L1 (beta p0; 0 = L1); src = pred, target
    ALRP_OP_SMOOTH_L1_BACK,    // d/dpred; src = dy, pred, target
    ALRP_OP_GIOU_LOSS,         // (n) = 1 - GIoU of (n, 4) boxes; src = pred, target
    ALRP_OP_GIOU_LOSS_BACK,    // d/dpred; src = dy, pred, target
    ALRP_OP_LOC_ERR_GIOU,      // (P) E_loc of deltas decoded on the unit anchor; p0..3 = stds
    ALRP_OP_LOC_ERR_GIOU_BACK, // d/dpred_deltas; src = dy, pred, target
    ALRP_OP_CONV2D_AFFINE,     // conv(x, w) * scale[o] + shift[o], then ReLU if p7; src = x, w, scale, shift
    ALRP_OP_SUM_SQ,            // (1) sum of squares
    ALRP_OP_OPT_STEP_SGD,      // view of param, updated in place; src = param, grad, momentum (or NULL), hp, grad_scale
    ALRP_OP_OPT_STEP_ADAMW,    // view of param, updated in place; src = param, grad, m, v, hp, grad_scale
    ALRP_OP_COUNT
};

enum alrp_unary_op {
    ALRP_UNARY_NEG, ALRP_UNARY_EXP, ALRP_UNARY_LOG, ALRP_UNARY_RELU, ALRP_UNARY_SIGMOID,
    ALRP_UNARY_SQR, ALRP_UNARY_SQRT, ALRP_UNARY_COUNT
};

enum alrp_bn_mode {
    ALRP_BN_TRAIN  = 0, // batch statistics; running statistics updated (PyTorch momentum rule)
    ALRP_BN_EVAL   = 1, // running statistics, as in inference
    ALRP_BN_FROZEN = 2, // running statistics, never updated; weight/bias may still be params
                        // (mmdet's norm_eval=True). Same compute as EVAL.
};

struct alrp_buffer;

struct alrp_tensor {
    enum alrp_type type;
    int            n_dims;
    int64_t        ne[ALRP_MAX_DIMS];   // right-aligned shape
    int64_t        nb[ALRP_MAX_DIMS];   // strides in elements
    enum alrp_op   op;
    int32_t        op_params[ALRP_MAX_OP_PARAMS];
    struct alrp_tensor * src[ALRP_MAX_SRC];
    struct alrp_tensor * view_src;      // views: the tensor whose memory this one reads
    int64_t        view_offs;           // views: element offset into view_src
    void         * data;                // in t->buffer (or the context's host arena when NULL)
    struct alrp_buffer * buffer;        // the backend buffer that holds data, or NULL
    uint32_t       flags;
    char           name[ALRP_MAX_NAME];
    struct alrp_tensor * next;          // (internal) the context's list of tensors
};

struct alrp_init_params {
    size_t mem_size;    // bytes of the arena
    void * mem_buffer;  // NULL: allocated (and freed) by the library
    bool   no_alloc;    // tensors get no data: a graph allocator (alrp_gallocr) places them
};

struct alrp_context;

ALRPDEF struct alrp_context * alrp_init(struct alrp_init_params params);
ALRPDEF void   alrp_free(struct alrp_context * ctx);
ALRPDEF void   alrp_reset(struct alrp_context * ctx);          // forget every object, keep the arena
ALRPDEF size_t alrp_used_mem(const struct alrp_context * ctx);
ALRPDEF size_t alrp_tensor_overhead(void);                       // bytes per tensor, excluding data
ALRPDEF size_t alrp_graph_overhead(int max_nodes);               // bytes per graph of that capacity
ALRPDEF bool   alrp_get_no_alloc(const struct alrp_context * ctx);
ALRPDEF void   alrp_set_no_alloc(struct alrp_context * ctx, bool no_alloc);

// shape in PyTorch order, 1..4 dims
ALRPDEF struct alrp_tensor * alrp_new_tensor(struct alrp_context * ctx, enum alrp_type type, int n_dims, const int64_t * shape);
ALRPDEF struct alrp_tensor * alrp_new_tensor_1d(struct alrp_context * ctx, int64_t d0);
ALRPDEF struct alrp_tensor * alrp_new_tensor_2d(struct alrp_context * ctx, int64_t d0, int64_t d1);
ALRPDEF struct alrp_tensor * alrp_new_tensor_3d(struct alrp_context * ctx, int64_t d0, int64_t d1, int64_t d2);
ALRPDEF struct alrp_tensor * alrp_new_tensor_4d(struct alrp_context * ctx, int64_t d0, int64_t d1, int64_t d2, int64_t d3);
ALRPDEF struct alrp_tensor * alrp_new_i32_1d(struct alrp_context * ctx, int64_t d0);
ALRPDEF struct alrp_tensor * alrp_dup_tensor(struct alrp_context * ctx, const struct alrp_tensor * a); // same shape, new data

ALRPDEF int64_t alrp_dim(const struct alrp_tensor * t, int i);   // PyTorch-order size; i < 0 counts from the end
ALRPDEF int64_t alrp_nelements(const struct alrp_tensor * t);
ALRPDEF size_t  alrp_nbytes(const struct alrp_tensor * t);       // of the contiguous layout
ALRPDEF bool    alrp_is_contiguous(const struct alrp_tensor * t);
ALRPDEF bool    alrp_same_shape(const struct alrp_tensor * a, const struct alrp_tensor * b);
ALRPDEF float * alrp_data_f32(const struct alrp_tensor * t);      // asserts data is there
ALRPDEF float   alrp_get_f32_1d(const struct alrp_tensor * t, int64_t i); // i-th element in logical order
ALRPDEF void    alrp_set_f32_1d(struct alrp_tensor * t, int64_t i, float v);
ALRPDEF void    alrp_tensor_fill(struct alrp_tensor * t, float v);
ALRPDEF struct alrp_tensor * alrp_set_name(struct alrp_tensor * t, const char * name);
ALRPDEF struct alrp_tensor * alrp_format_name(struct alrp_tensor * t, const char * fmt, ...);
ALRPDEF const char * alrp_op_name(enum alrp_op op);
ALRPDEF void    alrp_set_param(struct alrp_context * ctx, struct alrp_tensor * t);
ALRPDEF void    alrp_set_loss(struct alrp_context * ctx, struct alrp_tensor * t);
ALRPDEF void    alrp_set_input(struct alrp_tensor * t);
ALRPDEF void    alrp_set_output(struct alrp_tensor * t);

// Random numbers with an explicit state (no hidden global; a fixed seed gives a fixed stream):
// splitmix64. struct alrp_rng r = { seed };
struct alrp_rng { uint64_t state; };
ALRPDEF uint64_t alrp_rng_u64(struct alrp_rng * r);
ALRPDEF double   alrp_rng_uniform(struct alrp_rng * r);   // [0, 1), 53 bits
ALRPDEF double   alrp_rng_normal(struct alrp_rng * r);    // N(0, 1), Box-Muller on two uniforms in order

// ============================================================================================
// ===== declarations: ops (builders only record nodes)
// ============================================================================================
// Binary ops broadcast as PyTorch does. Every op has a backward unless noted.

ALRPDEF struct alrp_tensor * alrp_add  (struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * b);
ALRPDEF struct alrp_tensor * alrp_sub  (struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * b);
ALRPDEF struct alrp_tensor * alrp_mul  (struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * b);
ALRPDEF struct alrp_tensor * alrp_div  (struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * b);
ALRPDEF struct alrp_tensor * alrp_scale(struct alrp_context * ctx, struct alrp_tensor * a, float s);
ALRPDEF struct alrp_tensor * alrp_fill (struct alrp_context * ctx, enum alrp_type type, int n_dims, const int64_t * shape, float v);
ALRPDEF struct alrp_tensor * alrp_cont (struct alrp_context * ctx, struct alrp_tensor * a);
// reductions: sum/mean of everything -> shape (1); along axis (PyTorch axis, may be < 0)
ALRPDEF struct alrp_tensor * alrp_sum  (struct alrp_context * ctx, struct alrp_tensor * a);
ALRPDEF struct alrp_tensor * alrp_mean (struct alrp_context * ctx, struct alrp_tensor * a);
ALRPDEF struct alrp_tensor * alrp_sum_axis (struct alrp_context * ctx, struct alrp_tensor * a, int axis, bool keepdim);
ALRPDEF struct alrp_tensor * alrp_mean_axis(struct alrp_context * ctx, struct alrp_tensor * a, int axis, bool keepdim);
ALRPDEF struct alrp_tensor * alrp_sum_to(struct alrp_context * ctx, struct alrp_tensor * a, int n_dims, const int64_t * shape);
// element-wise
ALRPDEF struct alrp_tensor * alrp_unary  (struct alrp_context * ctx, struct alrp_tensor * a, enum alrp_unary_op op);
ALRPDEF struct alrp_tensor * alrp_neg    (struct alrp_context * ctx, struct alrp_tensor * a);
ALRPDEF struct alrp_tensor * alrp_exp    (struct alrp_context * ctx, struct alrp_tensor * a);
ALRPDEF struct alrp_tensor * alrp_log    (struct alrp_context * ctx, struct alrp_tensor * a);
ALRPDEF struct alrp_tensor * alrp_relu   (struct alrp_context * ctx, struct alrp_tensor * a);
ALRPDEF struct alrp_tensor * alrp_sigmoid(struct alrp_context * ctx, struct alrp_tensor * a);
ALRPDEF struct alrp_tensor * alrp_sqr    (struct alrp_context * ctx, struct alrp_tensor * a);
ALRPDEF struct alrp_tensor * alrp_sqrt   (struct alrp_context * ctx, struct alrp_tensor * a);
ALRPDEF struct alrp_tensor * alrp_clamp  (struct alrp_context * ctx, struct alrp_tensor * a, float min, float max);
// matmul: a (..., M, K) @ b (..., K, N) -> (..., M, N); batch dims broadcast. trans_* transposes
// the last two dims of that operand.
ALRPDEF struct alrp_tensor * alrp_matmul   (struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * b);
ALRPDEF struct alrp_tensor * alrp_matmul_ex(struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * b, bool trans_a, bool trans_b);
// conv2d: x (N, C, H, W), w (O, C/groups, kH, kW), b (O) or NULL -> (N, O, OH, OW)
ALRPDEF struct alrp_tensor * alrp_conv2d(struct alrp_context * ctx, struct alrp_tensor * x, struct alrp_tensor * w, struct alrp_tensor * b,
                                         int stride, int pad, int dilation, int groups);
ALRPDEF struct alrp_tensor * alrp_conv2d_ex(struct alrp_context * ctx, struct alrp_tensor * x, struct alrp_tensor * w, struct alrp_tensor * b,
                                            int sh, int sw, int ph, int pw, int dh, int dw, int groups);
// Fused conv + per-output-channel affine + optional ReLU: relu?(conv(x, w) * scale + shift), with
// scale, shift (O). The affine and the ReLU are applied as the GEMM writes its result (no extra
// pass over the output). The backbone's frozen batch norm is this op with scale = weight *
// rsqrt(running_var + eps) and shift = bias - running_mean * scale (alrp_frozen_bn_affine builds
// both from the BN tensors, so its weight and bias stay trainable). Differentiable in x, w,
// scale and shift.
ALRPDEF struct alrp_tensor * alrp_conv2d_affine(struct alrp_context * ctx, struct alrp_tensor * x, struct alrp_tensor * w,
                                                struct alrp_tensor * scale, struct alrp_tensor * shift, bool relu,
                                                int stride, int pad, int dilation, int groups);
// scale = weight / sqrt(running_var + eps), shift = bias - running_mean * scale, as graph ops
ALRPDEF void alrp_frozen_bn_affine(struct alrp_context * ctx, struct alrp_tensor * weight, struct alrp_tensor * bias,
                                   struct alrp_tensor * running_mean, struct alrp_tensor * running_var, float eps,
                                   struct alrp_tensor ** scale, struct alrp_tensor ** shift);
// Inference: folds a frozen BN into the preceding conv's weights, on plain host arrays:
// w (O, K) <- w * s[o], b (O) <- (b (or 0) - mean) * s + beta, s = gamma / sqrt(var + eps).
ALRPDEF void alrp_fold_bn_f32(int64_t O, int64_t K, float * w, float * b, const float * gamma, const float * beta,
                              const float * mean, const float * var, float eps);
// batch norm 2d: x (N, C, H, W); weight, bias, running_mean, running_var (C)
ALRPDEF struct alrp_tensor * alrp_batch_norm(struct alrp_context * ctx, struct alrp_tensor * x, struct alrp_tensor * weight, struct alrp_tensor * bias,
                                             struct alrp_tensor * running_mean, struct alrp_tensor * running_var,
                                             enum alrp_bn_mode mode, float momentum, float eps);
// max pool 2d: x (N, C, H, W), padding with -inf, floor mode
ALRPDEF struct alrp_tensor * alrp_max_pool2d(struct alrp_context * ctx, struct alrp_tensor * x, int kernel, int stride, int pad);
// nearest upsample by an integer factor: (N, C, H, W) -> (N, C, H*f, W*f)
ALRPDEF struct alrp_tensor * alrp_upsample_nearest(struct alrp_context * ctx, struct alrp_tensor * x, int factor);
// views and copies (shapes in PyTorch order)
ALRPDEF struct alrp_tensor * alrp_reshape(struct alrp_context * ctx, struct alrp_tensor * a, int n_dims, const int64_t * shape);
ALRPDEF struct alrp_tensor * alrp_reshape_1d(struct alrp_context * ctx, struct alrp_tensor * a, int64_t d0);
ALRPDEF struct alrp_tensor * alrp_reshape_2d(struct alrp_context * ctx, struct alrp_tensor * a, int64_t d0, int64_t d1);
ALRPDEF struct alrp_tensor * alrp_reshape_4d(struct alrp_context * ctx, struct alrp_tensor * a, int64_t d0, int64_t d1, int64_t d2, int64_t d3);
ALRPDEF struct alrp_tensor * alrp_permute(struct alrp_context * ctx, struct alrp_tensor * a, const int * axes); // n_dims axes, as torch.permute
ALRPDEF struct alrp_tensor * alrp_slice(struct alrp_context * ctx, struct alrp_tensor * a, int axis, int64_t start, int64_t len);
ALRPDEF struct alrp_tensor * alrp_expand(struct alrp_context * ctx, struct alrp_tensor * a, int n_dims, const int64_t * shape);
ALRPDEF struct alrp_tensor * alrp_concat(struct alrp_context * ctx, int n, struct alrp_tensor ** ts, int axis);
// gather/scatter rows by int32 index: a (R, D), idx (K) -> (K, D); scatter: a (K, D) -> (R, D)
ALRPDEF struct alrp_tensor * alrp_gather_rows(struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * idx);
ALRPDEF struct alrp_tensor * alrp_scatter_add_rows(struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * idx, int64_t n_rows);

// ---- losses as graph ops (kernels: the "ranking losses and box losses" section)
// aLRP Loss over every entry of logits (any shape, n entries); labels: an i8 tensor of n entries
// (1 positive, 0 negative, -1 ignored); loc_err: E_loc for each of A anchors (n = A * C: entry i
// belongs to anchor i / C), or NULL. Only the positives' E_loc are read (the others may hold
// anything finite or not), so the graph's shapes do not depend on the data: compute E_loc for
// every anchor and let the labels select. Returns the two parts and the number of positives P
// as (1,) tensors (P is a float, for logging). The forward computes the error-driven update of
// the logits (not a derivative: do not finite-difference it) and the backward scales it by the
// incoming gradient of cls; loc_err gets d(loc)/d(loc_err) with the ranks held constant (zero
// off the positives), scaled by the incoming gradient of loc (so L = cls + w_SB * loc trains as
// [A] does). A batch with no positive gives zeros.
struct alrp_rank_loss { struct alrp_tensor * cls, * loc, * n_pos; };
ALRPDEF struct alrp_rank_loss alrp_alrp_loss(struct alrp_context * ctx, struct alrp_tensor * logits, struct alrp_tensor * labels,
                                             struct alrp_tensor * loc_err, float delta);
// AP Loss: same conventions; .cls is the loss, .loc is NULL
ALRPDEF struct alrp_rank_loss alrp_ap_loss(struct alrp_context * ctx, struct alrp_tensor * logits, struct alrp_tensor * labels, float delta);
// element-wise sigmoid focal loss (torchvision semantics), same shape as logits; targets constant
ALRPDEF struct alrp_tensor * alrp_sigmoid_focal_loss(struct alrp_context * ctx, struct alrp_tensor * logits, struct alrp_tensor * targets,
                                                     float alpha, float gamma);
// element-wise smooth L1 (beta; 0 gives L1), same shape as pred; target constant
ALRPDEF struct alrp_tensor * alrp_smooth_l1_loss(struct alrp_context * ctx, struct alrp_tensor * pred, struct alrp_tensor * target, float beta);
// GIoU loss 1 - GIoU of (n, 4) boxes (x1, y1, x2, y2) -> (n); target constant
ALRPDEF struct alrp_tensor * alrp_giou_loss(struct alrp_context * ctx, struct alrp_tensor * pred, struct alrp_tensor * target);
// E_loc = 1 - GIoU of (P, 4) deltas decoded on the unit anchor with stds (means 0) -> (P)
ALRPDEF struct alrp_tensor * alrp_loc_err_giou(struct alrp_context * ctx, struct alrp_tensor * pred_deltas, struct alrp_tensor * target_deltas,
                                               const float * stds);

// ============================================================================================
// ===== declarations: graphs, autograd, allocator, backends
// ============================================================================================

struct alrp_graph;

ALRPDEF struct alrp_graph  * alrp_new_graph(struct alrp_context * ctx, int max_nodes);
ALRPDEF void                 alrp_build_forward(struct alrp_graph * g, struct alrp_tensor * t);  // adds t and its ancestors
// Appends the backward of every LOSS node to g: the gradient of each PARAM (sum over every path).
ALRPDEF void                 alrp_build_backward(struct alrp_context * ctx, struct alrp_graph * g);
ALRPDEF struct alrp_tensor * alrp_graph_grad(const struct alrp_graph * g, const struct alrp_tensor * t); // NULL if none
ALRPDEF int                  alrp_graph_n_nodes(const struct alrp_graph * g);
ALRPDEF struct alrp_tensor * alrp_graph_node(const struct alrp_graph * g, int i);
ALRPDEF int                  alrp_graph_n_params(const struct alrp_graph * g);
ALRPDEF struct alrp_tensor * alrp_graph_param(const struct alrp_graph * g, int i);
ALRPDEF void                 alrp_graph_print(const struct alrp_graph * g);
// ---- backends, buffers and placement --------------------------------------------------------
// A backend computes graphs in its own memory (host memory for the CPU backend, device memory
// for CUDA). Its memory comes in buffers: one block that holds many tensors' data. A tensor
// records the buffer that holds its data (t->buffer); tensors made in a context with
// no_alloc = false live in that context's host arena instead (t->buffer == NULL), which only the
// CPU backend can read. Generic code reaches tensor data only through alrp_backend_tensor_set /
// _get / _memset, never through t->data (a device address on a GPU backend).
//
// Typical placement for training (as ggml does it):
//     ctx_w  = alrp_init({ size, NULL, .no_alloc = true });   // parameters, optimizer state
//     ... make the parameters in ctx_w, alrp_optimizer_new(ctx_w, ...) ...
//     buf_w  = alrp_backend_alloc_ctx_tensors(ctx_w, be);      // one buffer in the backend
//     ctx_c  = alrp_init({ size, NULL, .no_alloc = true });   // inputs, graph nodes
//     ... build the step graph in ctx_c ...
//     ga     = alrp_gallocr_new(be);
//     alrp_gallocr_reserve(ga, g);                             // once, for the largest graph
//     loop: alrp_backend_tensor_set(be, images, ...); alrp_backend_graph_compute(be, g); ...
enum alrp_status {
    ALRP_STATUS_SUCCESS      =  0,
    ALRP_STATUS_FAILED       = -1, // a kernel refused its input (NaN in a loss, ...): a message was printed
    ALRP_STATUS_ALLOC_FAILED = -2, // out of backend memory
    ALRP_STATUS_UNSUPPORTED  = -3, // a node the backend cannot compute (see alrp_backend_supports_op)
};
ALRPDEF const char * alrp_status_name(enum alrp_status s);
// CPU compute of every node in order, on host memory; tp may be NULL (one thread). A
// convenience for programs that use only the CPU: library code goes through a backend
// (alrp_backend_graph_compute), which is what every test does.
ALRPDEF enum alrp_status     alrp_graph_compute(struct alrp_graph * g, struct alrp_threadpool * tp);


struct alrp_backend;
struct alrp_backend_i {
    const char * (*name)(struct alrp_backend * be);
    void   (*free)(struct alrp_backend * be);
    bool   (*supports_op)(struct alrp_backend * be, const struct alrp_tensor * t);
    // memory: a block of size bytes (NULL when out of memory); alignment of what it returns
    void * (*buffer_alloc)(struct alrp_backend * be, size_t size);
    void   (*buffer_free)(struct alrp_backend * be, void * base);
    size_t alignment;
    bool   is_host;            // buffers are host memory that the CPU may read directly
    // copies between host memory and a tensor's bytes [offset, offset + size)
    void   (*tensor_set)(struct alrp_backend * be, struct alrp_tensor * t, const void * data, size_t offset, size_t size);
    void   (*tensor_get)(struct alrp_backend * be, const struct alrp_tensor * t, void * data, size_t offset, size_t size);
    void   (*tensor_memset)(struct alrp_backend * be, struct alrp_tensor * t, uint8_t value, size_t offset, size_t size);
    // optional (NULL: the synchronous versions are used): queued behind earlier work
    void   (*tensor_set_async)(struct alrp_backend * be, struct alrp_tensor * t, const void * data, size_t offset, size_t size);
    void   (*tensor_get_async)(struct alrp_backend * be, const struct alrp_tensor * t, void * data, size_t offset, size_t size);
    void   (*synchronize)(struct alrp_backend * be);   // optional: waits for queued work
    enum alrp_status (*graph_compute)(struct alrp_backend * be, struct alrp_graph * g);
};
struct alrp_backend { struct alrp_backend_i iface; void * context; int64_t n_buffer_allocs; };

ALRPDEF struct alrp_backend * alrp_backend_cpu_init(int n_threads);     // n_threads <= 0: all cores
ALRPDEF bool alrp_backend_is_cpu(const struct alrp_backend * be);
ALRPDEF struct alrp_threadpool * alrp_backend_cpu_pool(struct alrp_backend * be);
ALRPDEF const char * alrp_backend_name(struct alrp_backend * be);
ALRPDEF void alrp_backend_free(struct alrp_backend * be);
ALRPDEF bool alrp_backend_supports_op(struct alrp_backend * be, const struct alrp_tensor * t);
ALRPDEF void alrp_backend_tensor_set(struct alrp_backend * be, struct alrp_tensor * t, const void * data, size_t offset, size_t size);
ALRPDEF void alrp_backend_tensor_get(struct alrp_backend * be, const struct alrp_tensor * t, void * data, size_t offset, size_t size);
ALRPDEF void alrp_backend_tensor_memset(struct alrp_backend * be, struct alrp_tensor * t, uint8_t value, size_t offset, size_t size);
ALRPDEF void alrp_backend_tensor_set_async(struct alrp_backend * be, struct alrp_tensor * t, const void * data, size_t offset, size_t size);
ALRPDEF void alrp_backend_tensor_get_async(struct alrp_backend * be, const struct alrp_tensor * t, void * data, size_t offset, size_t size);
ALRPDEF void alrp_backend_synchronize(struct alrp_backend * be);
ALRPDEF enum alrp_status alrp_backend_graph_compute(struct alrp_backend * be, struct alrp_graph * g);
// whole-tensor helpers (the tensor must be contiguous): n = alrp_nelements(t) values
ALRPDEF void alrp_backend_set_f32(struct alrp_backend * be, struct alrp_tensor * t, const float * v);
ALRPDEF void alrp_backend_get_f32(struct alrp_backend * be, const struct alrp_tensor * t, float * v);
ALRPDEF float alrp_backend_get_f32_1(struct alrp_backend * be, const struct alrp_tensor * t, int64_t i); // element i

// Buffers. The allocation counter (alrp_backend_n_buffer_allocs) lets a training loop check
// that it allocates nothing after its first step.
ALRPDEF struct alrp_buffer  * alrp_backend_alloc_buffer(struct alrp_backend * be, size_t size); // NULL: out of memory
ALRPDEF void                  alrp_buffer_free(struct alrp_buffer * buf);
ALRPDEF size_t                alrp_buffer_size(const struct alrp_buffer * buf);
ALRPDEF struct alrp_backend * alrp_buffer_backend(const struct alrp_buffer * buf);
ALRPDEF void                  alrp_buffer_clear(struct alrp_buffer * buf, uint8_t value);
ALRPDEF int64_t               alrp_backend_n_buffer_allocs(const struct alrp_backend * be);
// Places t (no data yet, not a view) at offset bytes into buf (aligned by the caller).
ALRPDEF void                  alrp_buffer_place(struct alrp_buffer * buf, struct alrp_tensor * t, size_t offset);
// Every tensor of ctx that has no data and is not a view, placed in one new buffer of be
// (parameters, optimizer state, constant inputs); views of them follow. NULL if there was none
// (or out of memory: check alrp_ctx_n_unplaced).
ALRPDEF struct alrp_buffer  * alrp_backend_alloc_ctx_tensors(struct alrp_context * ctx, struct alrp_backend * be);
ALRPDEF int                   alrp_ctx_n_unplaced(const struct alrp_context * ctx);   // tensors with no data

// Graph allocator: places every data-less node and leaf of a graph in one buffer of its
// backend, reusing the memory of nodes whose consumers have all run (element-wise nodes run in
// place over a source that dies with them). Views share memory with their source. PARAM, LOSS,
// INPUT and OUTPUT nodes, data-less leafs and nodes with no consumer keep their own memory.
// alrp_gallocr_reserve sizes the buffer once for a worst-case graph; alrp_gallocr_alloc_graph
// places a graph, growing the buffer only when it needs more (stats.n_reallocs counts that).
// Its planning arrays are kept between calls, so a loop of alloc_graph + compute does not
// allocate once the largest graph has been seen. One allocator may serve several graphs in
// turn: call alloc_graph for a graph before computing it whenever another graph was placed
// since (growing the buffer moves every tensor it placed).
struct alrp_gallocr;
struct alrp_gallocr_stats { size_t peak_bytes; size_t sum_bytes; int n_allocated; int n_reallocs; };
ALRPDEF struct alrp_gallocr * alrp_gallocr_new(struct alrp_backend * be);
ALRPDEF void   alrp_gallocr_free(struct alrp_gallocr * ga);
ALRPDEF bool   alrp_gallocr_reserve(struct alrp_gallocr * ga, struct alrp_graph * g);
ALRPDEF bool   alrp_gallocr_alloc_graph(struct alrp_gallocr * ga, struct alrp_graph * g);
ALRPDEF struct alrp_gallocr_stats alrp_gallocr_get_stats(const struct alrp_gallocr * ga);

// Run-time allocation hook for the library's own host allocations (contexts, host buffers,
// workspaces, planning arrays) when ALRP_MALLOC/ALRP_FREE are not defined at compile time.
// Process-wide (the library's only global setting): set it before any other call, and make
// fn_free accept pointers from malloc too (forward to malloc/free, e.g. to count calls).
// NULL functions restore malloc/free.
ALRPDEF void alrp_set_alloc_hook(void * (*fn_malloc)(size_t size, void * ud), void (*fn_free)(void * p, void * ud), void * ud);

// ============================================================================================
// ===== declarations: optimizers and named-tensor files (graph level)
// ============================================================================================
// The optimizer update is a graph op, appended to the training graph, so that a whole step
// (forward, backward, update) is one graph compute that can stay on the device. Its state (SGD
// momentum, AdamW m and v) are tensors in a persistent context, one per PARAM of the graph,
// named "<param>.momentum_buffer", "<param>.exp_avg", "<param>.exp_avg_sq" (PyTorch's state
// names), zero until the first step. What changes from step to step (the lr, the step count
// that drives SGD's first-step rule and AdamW's bias corrections) lives in a small
// hyper-parameter input tensor, so the graph is built once:
//
//     opt = alrp_optimizer_new(ctx_w, g, alrp_opt_default_params(ALRP_OPT_SGD));  // after build_backward
//     buf_w = alrp_backend_alloc_ctx_tensors(ctx_w, be); alrp_optimizer_reset(opt, be);
//     alrp_optimizer_build(opt, ctx_c, g, 0.0f);          // appends the update nodes to g
//     loop: alrp_optimizer_set_lr(opt, lr); alrp_optimizer_prepare(opt, be);  // step++, uploads
//           alrp_backend_graph_compute(be, g);
//
// The raw kernels (alrp_sgd_step_f32, alrp_adamw_step_f32) are in the io section below.

enum alrp_opt_type { ALRP_OPT_SGD, ALRP_OPT_ADAMW };

struct alrp_opt_params {
    enum alrp_opt_type type;
    float lr;
    float momentum;      // SGD
    float weight_decay;  // SGD: added to the gradient; AdamW: decoupled
    float beta1, beta2;  // AdamW
    float eps;           // AdamW
};
// SGD: lr 0.01, momentum 0.9, wd 1e-4 (the recipe's); AdamW: lr 1e-3, (0.9, 0.999), 1e-8, wd 1e-2
ALRPDEF struct alrp_opt_params alrp_opt_default_params(enum alrp_opt_type type);

// The hyper-parameter tensor of the update ops: (ALRP_OPT_HP_COUNT) f32, slots below.
enum alrp_opt_hp {
    ALRP_OPT_HP_LR, ALRP_OPT_HP_MOMENTUM, ALRP_OPT_HP_WEIGHT_DECAY, ALRP_OPT_HP_BETA1, ALRP_OPT_HP_BETA2,
    ALRP_OPT_HP_EPS, ALRP_OPT_HP_STEP,  // the step being taken, 1 for the first (a float: exact to 2^24)
    ALRP_OPT_HP_COUNT
};
// The update ops. Each returns a view of param whose computation updates param in place (and
// the state); grad_scale, a (1) tensor or NULL, multiplies the gradient first (clipping).
ALRPDEF struct alrp_tensor * alrp_opt_step_sgd(struct alrp_context * ctx, struct alrp_tensor * param, struct alrp_tensor * grad,
                                               struct alrp_tensor * momentum_buf, struct alrp_tensor * hp, struct alrp_tensor * grad_scale);
ALRPDEF struct alrp_tensor * alrp_opt_step_adamw(struct alrp_context * ctx, struct alrp_tensor * param, struct alrp_tensor * grad,
                                                 struct alrp_tensor * m, struct alrp_tensor * v, struct alrp_tensor * hp,
                                                 struct alrp_tensor * grad_scale);
// sum of squares of every element -> (1); and the global L2 norm of n tensors -> (1)
ALRPDEF struct alrp_tensor * alrp_sum_sq(struct alrp_context * ctx, struct alrp_tensor * a);
ALRPDEF struct alrp_tensor * alrp_global_norm(struct alrp_context * ctx, int n, struct alrp_tensor * const * ts);

struct alrp_optimizer;
// state and the hp tensor in ctx (placed later if ctx is no_alloc); g must have its backward
ALRPDEF struct alrp_optimizer * alrp_optimizer_new(struct alrp_context * ctx, const struct alrp_graph * g, struct alrp_opt_params params);
// Appends to g the update of every parameter that has a gradient, after the global gradient
// norm (alrp_optimizer_grad_norm; an output). max_grad_norm > 0 clips the gradients to that
// norm first, as torch.nn.utils.clip_grad_norm_ does. Call once per graph.
ALRPDEF void    alrp_optimizer_build(struct alrp_optimizer * opt, struct alrp_context * ctx, struct alrp_graph * g, float max_grad_norm);
ALRPDEF void    alrp_optimizer_reset(struct alrp_optimizer * opt, struct alrp_backend * be);   // zero state, step 0
// before each compute of the graph: step++, and the hyper-parameters uploaded to the backend
ALRPDEF void    alrp_optimizer_prepare(struct alrp_optimizer * opt, struct alrp_backend * be);
ALRPDEF void    alrp_optimizer_set_lr(struct alrp_optimizer * opt, float lr);
ALRPDEF float   alrp_optimizer_get_lr(const struct alrp_optimizer * opt);
ALRPDEF int64_t alrp_optimizer_n_steps(const struct alrp_optimizer * opt);
ALRPDEF void    alrp_optimizer_set_n_steps(struct alrp_optimizer * opt, int64_t n); // when resuming
ALRPDEF struct alrp_tensor * alrp_optimizer_grad_norm(const struct alrp_optimizer * opt); // after build
ALRPDEF struct alrp_tensor * alrp_optimizer_hparams(const struct alrp_optimizer * opt);
// the state tensors (for checkpoints): n of them in *out (a pointer into the optimizer)
ALRPDEF int     alrp_optimizer_state(const struct alrp_optimizer * opt, struct alrp_tensor *** out);
// the parameters and the gradients the updates read, one each (a gradient is NULL for a
// parameter that does not reach the loss): n in *params, *grads (pointers into the optimizer).
// Before alrp_optimizer_build, a caller may replace a gradient by another node of the same
// shape (gradient accumulation: the updates then read that node).
ALRPDEF int     alrp_optimizer_grads(struct alrp_optimizer * opt, struct alrp_tensor *** params, struct alrp_tensor *** grads);

// Saves n f32 tensors by name to a safetensors file, atomically (temp file + rename); metadata is
// a NULL-terminated list of key, value pairs or NULL. Data is read through be (NULL: host
// tensors). Returns 0, or -1 with a message in err.
ALRPDEF int alrp_save_tensors(struct alrp_backend * be, const char * path, int n, struct alrp_tensor * const * ts, const char * const * metadata, char * err, size_t err_size);
// Loads the tensors of that name from a safetensors file into ts (shapes must match), written
// through be (NULL: host tensors). An F32 tensor takes any dtype but BOOL (F16, BF16, F64 and
// the integers are converted to f32); an I32 or I8 tensor takes the integer dtypes and BOOL,
// converted exactly: a float dtype, or a value outside the tensor type's range, is an error (and
// that tensor is left unchanged). Missing names are an error unless allow_missing. Returns the
// number loaded, or -1 with a one-line message in err naming the file and the tensor (and both
// dtypes if they do not go together).
ALRPDEF int alrp_load_tensors(struct alrp_backend * be, const char * path, int n, struct alrp_tensor * const * ts, bool allow_missing, char * err, size_t err_size);

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
// The plain-array contract (docs/library.md). n entries (anchor-major, anchor*C + class);
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
ALRPDEF int alrp_loss_sigmoid_focal_f32(int64_t n, const float * logits, const float * targets,
                                        float alpha, float gamma, enum alrp_loss_reduction red,
                                        float * out);
ALRPDEF int alrp_loss_sigmoid_focal_backward_f32(int64_t n, const float * logits,
                                                 const float * targets, float alpha, float gamma,
                                                 enum alrp_loss_reduction red,
                                                 const float * grad_out, float * grad_logits);
// on a pool (NULL: calling thread); sums are taken per fixed block, so results do not depend
// on the number of threads
ALRPDEF int alrp_loss_sigmoid_focal_f32_tp(struct alrp_threadpool * tp, int64_t n,
                                           const float * logits, const float * targets,
                                           float alpha, float gamma,
                                           enum alrp_loss_reduction red, float * out);
ALRPDEF int alrp_loss_sigmoid_focal_backward_f32_tp(struct alrp_threadpool * tp, int64_t n,
                                                    const float * logits, const float * targets,
                                                    float alpha, float gamma,
                                                    enum alrp_loss_reduction red,
                                                    const float * grad_out, float * grad_logits);

// Smooth L1 (torch.nn.functional.smooth_l1_loss): d = pred - target,
// 0.5 d^2 / beta if |d| < beta, else |d| - 0.5 beta; beta = 0 is L1. beta >= 0.
// pred, target are (n,) (e.g. (n_pos, 4) flattened); backward adds dL/dpred (n,), using
// sign(0) = 0. L1 is |d| with gradient sign(d).
ALRPDEF int alrp_loss_smooth_l1_f32(int64_t n, const float * pred, const float * target,
                                    float beta, enum alrp_loss_reduction red, float * out);
ALRPDEF int alrp_loss_smooth_l1_backward_f32(int64_t n, const float * pred, const float * target,
                                             float beta, enum alrp_loss_reduction red,
                                             const float * grad_out, float * grad_pred);
ALRPDEF int alrp_loss_l1_f32(int64_t n, const float * pred, const float * target,
                             enum alrp_loss_reduction red, float * out);
ALRPDEF int alrp_loss_l1_backward_f32(int64_t n, const float * pred, const float * target,
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
ALRPDEF int alrp_loss_giou_f32(int64_t n, const float * pred, const float * target, float eps,
                               enum alrp_loss_reduction red, float * out);
ALRPDEF int alrp_loss_giou_backward_f32(int64_t n, const float * pred, const float * target,
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
// the "__metadata__" map (string -> string): value of key or NULL (binary search); and
// iteration by index, in the file's order
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
// half-written path. Tensor names and metadata keys must be unique (as the reader requires).
// Returns 0, or -1 with a one-line message in err (and no file written).
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

#ifdef ALRP_INTERNAL
// ---- private, for the library's own tests and benchmarks (ALRP_INTERNAL) ------------------
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
// PyTorch's single-tensor optimizer loops, one rounding per tensor op, in its order
ALRPDEF void alrp__sgd_step_f32_naive(int64_t n, float * p, const float * g, float * mom_buf,
                                      float lr, float momentum, float wd, int64_t step);
ALRPDEF void alrp__adamw_step_f32_naive(int64_t n, float * p, const float * g, float * m, float * v,
                                        float lr, float beta1, float beta2, float eps, float wd,
                                        int64_t step);
// the per-element loss kernels, in double (what the raw loss functions call for each element)
ALRPDEF double alrp__focal_one(double x, double t, double alpha, double gamma, double * dldx);
ALRPDEF double alrp__smooth_l1_one(double d, double beta, double * g);
ALRPDEF double alrp__giou_one(const float * bf, const float * gf, double eps, double go, double * gb, double * gg);
// the SIMD layer compiled into the implementation ("AVX-512", "AVX2+FMA", "NEON", "scalar")
// and, when gemm is not NULL, its GEMM blocking {MR, NR, KC, MC, NC}: tests and benchmarks print it
ALRPDEF const char * alrp__kernel_info(int gemm[5]);
// what the safetensors checks for duplicate names and keys cost (the tests check that it grows
// as n log n, not n^2): filled for a loaded file, and by alrp__st_save_ex
#define ALRP__ST_STATS_DECLARED
struct alrp__st_stats {
    uint64_t key_cmps;   // comparisons of two tensor names or two metadata keys
};
ALRPDEF void alrp__st_file_stats(const struct alrp_st_file * f, struct alrp__st_stats * out);
ALRPDEF int  alrp__st_save_ex(const char * path, int n, const struct alrp_st_tensor * tensors, const char * const * metadata,
                              char * err, size_t err_size, struct alrp__st_stats * stats);
#endif // ALRP_INTERNAL

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
#include <assert.h>   // static_assert in C11
#include <pthread.h>
// C11 atomics; in C++ the same free functions and memory orders from <atomic>
#ifdef __cplusplus
#include <atomic>
typedef std::atomic<long long> alrp__atomic_llong;
typedef std::atomic<int>       alrp__atomic_int;
using std::atomic_init; using std::atomic_load; using std::atomic_load_explicit; using std::atomic_store;
using std::atomic_store_explicit; using std::atomic_fetch_add; using std::atomic_fetch_add_explicit;
using std::atomic_fetch_sub; using std::memory_order_relaxed; using std::memory_order_acquire;
using std::memory_order_release; using std::memory_order_acq_rel;
#else
#include <stdatomic.h>
typedef atomic_llong alrp__atomic_llong;
typedef atomic_int   alrp__atomic_int;
#endif
#include <unistd.h>
#include <sched.h>

#ifndef ALRP_ASSERT
#define ALRP_ASSERT(x) do { if (!(x)) { fprintf(stderr, "alrp: %s:%d: assertion failed: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)
#endif
// assertion with a message that tells the user what to do
#define ALRP_ASSERTM(x, ...) do { if (!(x)) { fprintf(stderr, "alrp: %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); abort(); } } while (0)
#if defined(ALRP_MALLOC) != defined(ALRP_FREE)
#error "define both ALRP_MALLOC and ALRP_FREE, or neither"
#endif
#ifndef ALRP_MALLOC
// the default allocator, which alrp_set_alloc_hook can redirect at run time
#define ALRP_MALLOC(sz) alrp__hooked_malloc(sz)
#define ALRP_FREE(p)    alrp__hooked_free(p)
#endif

// The library's one process-wide setting (see alrp_set_alloc_hook).
static struct { void * (*fn_malloc)(size_t, void *); void (*fn_free)(void *, void *); void * ud; } alrp__alloc_hook;
static inline void * alrp__hooked_malloc(size_t size) {
    return alrp__alloc_hook.fn_malloc ? alrp__alloc_hook.fn_malloc(size, alrp__alloc_hook.ud) : malloc(size);
}
static inline void alrp__hooked_free(void * p) {
    if (alrp__alloc_hook.fn_free) alrp__alloc_hook.fn_free(p, alrp__alloc_hook.ud); else free(p);
}
ALRPDEF void alrp_set_alloc_hook(void * (*fn_malloc)(size_t size, void * ud), void (*fn_free)(void * p, void * ud), void * ud) {
    alrp__alloc_hook.fn_malloc = fn_malloc;
    alrp__alloc_hook.fn_free = fn_free;
    alrp__alloc_hook.ud = ud;
}

#define ALRP_UNUSED(x) (void)(x)
#ifdef __cplusplus
#define ALRP__RESTRICT __restrict
#else
#define ALRP__RESTRICT restrict
#endif
#define ALRP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ALRP_MAX(a, b) ((a) > (b) ? (a) : (b))

// ============================================================================================
// ===== implementation: threads
// ============================================================================================

struct alrp_threadpool {
    int               n_threads;
    pthread_t       * threads;
    pthread_mutex_t   mutex;
    pthread_cond_t    cond_job;     // workers sleep here when no job came while they spun
    pthread_cond_t    cond_done;    // the caller sleeps here when the workers are slow to finish
    alrp_thread_fn    fn;
    void            * arg;
    alrp__atomic_llong job;         // job generation, bumped per run (after fn and arg are set)
    alrp__atomic_int  n_done;       // workers finished with the current job
    alrp__atomic_int  n_sleeping;   // workers waiting on cond_job
    alrp__atomic_int  stop;
    alrp__atomic_int  bar_count;    // barrier: threads arrived in this phase
    alrp__atomic_int  bar_phase;    // barrier: generation
    void            * work;         // scratch for kernels run through this pool (grows, never shrinks)
    size_t            work_size;
};

// Spinning before sleeping: a graph runs one pool job per node, and a condition-variable wake-up
// costs tens of microseconds; a short spin catches the next job (or the workers' end) first.
#define ALRP__SPIN 20000

static inline void alrp__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

struct alrp__worker_arg { struct alrp_threadpool * tp; int ith; };

static void * alrp__worker_main(void * p) {
    struct alrp__worker_arg wa = *(struct alrp__worker_arg *) p;
    ALRP_FREE(p);
    struct alrp_threadpool * tp = wa.tp;
    long long seen = 0;
    for (;;) {
        long long job = atomic_load_explicit(&tp->job, memory_order_acquire);
        for (int spin = 0; job == seen && spin < ALRP__SPIN && !atomic_load_explicit(&tp->stop, memory_order_relaxed); spin++) {
            alrp__cpu_relax();
            job = atomic_load_explicit(&tp->job, memory_order_acquire);
        }
        if (job == seen) {
            pthread_mutex_lock(&tp->mutex);
            atomic_fetch_add(&tp->n_sleeping, 1);
            while ((job = atomic_load(&tp->job)) == seen && !atomic_load(&tp->stop)) pthread_cond_wait(&tp->cond_job, &tp->mutex);
            atomic_fetch_sub(&tp->n_sleeping, 1);
            pthread_mutex_unlock(&tp->mutex);
        }
        if (atomic_load(&tp->stop)) return NULL;
        seen = job;
        tp->fn(tp->arg, wa.ith, tp->n_threads);
        if (atomic_fetch_add_explicit(&tp->n_done, 1, memory_order_acq_rel) == tp->n_threads - 2) {
            pthread_mutex_lock(&tp->mutex);   // the last worker: wake the caller if it sleeps
            pthread_cond_signal(&tp->cond_done);
            pthread_mutex_unlock(&tp->mutex);
        }
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
    memset((void *) tp, 0, sizeof(*tp));   // (void *): the atomics are set by atomic_init below
    tp->n_threads = n_threads;
    pthread_mutex_init(&tp->mutex, NULL);
    pthread_cond_init(&tp->cond_job, NULL);
    pthread_cond_init(&tp->cond_done, NULL);
    atomic_init(&tp->job, 0);
    atomic_init(&tp->n_done, 0);
    atomic_init(&tp->n_sleeping, 0);
    atomic_init(&tp->stop, 0);
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
    atomic_store(&tp->stop, 1);
    pthread_cond_broadcast(&tp->cond_job);
    pthread_mutex_unlock(&tp->mutex);
    for (int i = 1; i < tp->n_threads; i++) pthread_join(tp->threads[i], NULL);
    pthread_mutex_destroy(&tp->mutex);
    pthread_cond_destroy(&tp->cond_job);
    pthread_cond_destroy(&tp->cond_done);
    ALRP_FREE(tp->threads);
    if (tp->work) ALRP_FREE(tp->work);
    ALRP_FREE(tp);
}

ALRPDEF int alrp_threadpool_n_threads(const struct alrp_threadpool * tp) { return tp ? tp->n_threads : 1; }

ALRPDEF void alrp_threadpool_run(struct alrp_threadpool * tp, alrp_thread_fn fn, void * arg) {
    if (!tp || tp->n_threads == 1) { fn(arg, 0, 1); return; }
    tp->fn = fn; tp->arg = arg;
    atomic_store_explicit(&tp->n_done, 0, memory_order_relaxed);
    atomic_fetch_add(&tp->job, 1);   // seq_cst: publishes fn, arg, n_done; ordered before the n_sleeping check
    if (atomic_load(&tp->n_sleeping) > 0) {
        pthread_mutex_lock(&tp->mutex);
        pthread_cond_broadcast(&tp->cond_job);
        pthread_mutex_unlock(&tp->mutex);
    }

    fn(arg, 0, tp->n_threads);

    for (int spin = 0; spin < ALRP__SPIN && atomic_load_explicit(&tp->n_done, memory_order_acquire) < tp->n_threads - 1; spin++) alrp__cpu_relax();
    if (atomic_load_explicit(&tp->n_done, memory_order_acquire) < tp->n_threads - 1) {
        pthread_mutex_lock(&tp->mutex);
        while (atomic_load(&tp->n_done) < tp->n_threads - 1) pthread_cond_wait(&tp->cond_done, &tp->mutex);
        pthread_mutex_unlock(&tp->mutex);
    }
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

// A bump allocator over a caller's block; `need` adds up every request, so that the caller can
// size the block for the next call when it was too small.
struct alrp__bump { char * base; size_t size, used, need; };

// Scratch memory of at least size bytes owned by the pool (NULL if tp is NULL: the kernel then
// allocates its own). Kernels of one graph run one after another, so they can share it.
static void * alrp__tp_work(struct alrp_threadpool * tp, size_t size) {
    if (!tp || size == 0) return NULL;
    if (size > tp->work_size) {
        if (tp->work) ALRP_FREE(tp->work);
        tp->work = ALRP_MALLOC(size);
        ALRP_ASSERTM(tp->work, "cannot allocate %zu bytes of kernel workspace", size);
        tp->work_size = size;
    }
    return tp->work;
}

// ============================================================================================
// ===== implementation: SIMD macro layer
// ============================================================================================
// ALRP_F32_EPR: floats per register; ALRP_F32_VEC: the register type. Primitives:
// LOAD/STORE (unaligned), SET1, ZERO, ADD, MUL, FMA(a, b, c) = a*b + c, MAX, REDUCE (sum),
// SQRT and DIV (absent on 32-bit NEON: test #ifdef ALRP_F32_VEC_SQRT).

#if !defined(ALRP_NO_SIMD) && defined(__AVX512F__)
#if defined(__cplusplus) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
// g++ 12 warns at -O2 inside its own headers (the __Y = __Y of _mm512_undefined_ps)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
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
#define ALRP_F32_VEC_SQRT(a)      _mm512_sqrt_ps(a)
#define ALRP_F32_VEC_DIV(a, b)    _mm512_div_ps(a, b)
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
#define ALRP_F32_VEC_SQRT(a)      _mm256_sqrt_ps(a)
#define ALRP_F32_VEC_DIV(a, b)    _mm256_div_ps(a, b)
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
#if defined(__aarch64__) // 32-bit NEON has no vector sqrt/div: kernels test #ifdef ALRP_F32_VEC_SQRT
#define ALRP_F32_VEC_SQRT(a)      vsqrtq_f32(a)
#define ALRP_F32_VEC_DIV(a, b)    vdivq_f32(a, b)
#endif
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
#define ALRP_F32_VEC_SQRT(a)      sqrtf(a)
#define ALRP_F32_VEC_DIV(a, b)    ((a) / (b))
#endif

// ============================================================================================
// ===== implementation: core (contexts and tensors)
// ============================================================================================

#include <stdarg.h>

struct alrp_context {
    size_t mem_size;
    char * mem;          // 64-byte aligned start
    void * mem_alloc;    // what ALRP_MALLOC returned (NULL if the user owns mem)
    bool   no_alloc;
    size_t offs;
    struct alrp_tensor * first, * last;   // every tensor made in the context, in order
};

// A block of a backend's memory that holds the data of many tensors.
struct alrp_buffer {
    struct alrp_backend * be;
    void * base;         // backend address (host memory for the CPU backend)
    size_t size;
};

#define ALRP__ALIGN 64

ALRPDEF struct alrp_context * alrp_init(struct alrp_init_params params) {
    struct alrp_context * ctx = (struct alrp_context *) ALRP_MALLOC(sizeof(*ctx));
    ALRP_ASSERTM(ctx, "alrp_init: out of host memory");
    memset(ctx, 0, sizeof(*ctx));
    ctx->no_alloc = params.no_alloc;
    if (params.mem_buffer) {
        uintptr_t p = (uintptr_t) params.mem_buffer, a = (p + ALRP__ALIGN - 1) & ~(uintptr_t) (ALRP__ALIGN - 1);
        ALRP_ASSERTM(params.mem_size > (size_t) (a - p), "alrp_init: mem_buffer of %zu bytes is too small", params.mem_size);
        ctx->mem = (char *) a;
        ctx->mem_size = params.mem_size - (size_t) (a - p);
    } else {
        size_t size = params.mem_size ? params.mem_size : 1024 * 1024;
        ctx->mem_alloc = ALRP_MALLOC(size + ALRP__ALIGN);
        ALRP_ASSERTM(ctx->mem_alloc, "alrp_init: cannot allocate %zu bytes for the context: lower mem_size", size);
        uintptr_t p = (uintptr_t) ctx->mem_alloc;
        ctx->mem = (char *) ((p + ALRP__ALIGN - 1) & ~(uintptr_t) (ALRP__ALIGN - 1));
        ctx->mem_size = size;
    }
    return ctx;
}

ALRPDEF void alrp_free(struct alrp_context * ctx) {
    if (!ctx) return;
    if (ctx->mem_alloc) ALRP_FREE(ctx->mem_alloc);
    ALRP_FREE(ctx);
}

ALRPDEF void   alrp_reset(struct alrp_context * ctx) { ctx->offs = 0; ctx->first = ctx->last = NULL; }
ALRPDEF size_t alrp_used_mem(const struct alrp_context * ctx) { return ctx->offs; }
ALRPDEF bool   alrp_get_no_alloc(const struct alrp_context * ctx) { return ctx->no_alloc; }
ALRPDEF void   alrp_set_no_alloc(struct alrp_context * ctx, bool no_alloc) { ctx->no_alloc = no_alloc; }
ALRPDEF size_t alrp_tensor_overhead(void) { return (sizeof(struct alrp_tensor) + ALRP__ALIGN - 1) & ~(size_t) (ALRP__ALIGN - 1); }

static void * alrp__ctx_alloc(struct alrp_context * ctx, size_t size) {
    size_t off = (ctx->offs + ALRP__ALIGN - 1) & ~(size_t) (ALRP__ALIGN - 1);
    ALRP_ASSERTM(off + size <= ctx->mem_size,
        "context out of memory: %zu more bytes needed, %zu of %zu used; raise alrp_init_params.mem_size "
        "(alrp_used_mem and alrp_tensor_overhead help to size it)", size, ctx->offs, ctx->mem_size);
    ctx->offs = off + size;
    return ctx->mem + off;
}

static size_t alrp__type_size(enum alrp_type type) { return type == ALRP_TYPE_I8 ? 1 : 4; }
static size_t alrp__align_up(size_t x, size_t a) { return a > 1 ? (x + a - 1) / a * a : x; }
// the address of a tensor's data, views resolved (a device address on a GPU backend)
static char * alrp__data_addr(const struct alrp_tensor * t) {
    if (t->view_src && t->view_src->data) return (char *) t->view_src->data + t->view_offs * (int64_t) alrp__type_size(t->type);
    return (char *) t->data;
}
// a view takes its source's current address and buffer (the source may have been placed, or
// moved by the graph allocator, since the view was made)
static void alrp__view_follow(struct alrp_tensor * t) {
    if (t->view_src && t->view_src->data) { t->data = alrp__data_addr(t); t->buffer = t->view_src->buffer; }
}

static void alrp__set_contiguous_strides(struct alrp_tensor * t) {
    t->nb[3] = 1;
    for (int d = 2; d >= 0; d--) t->nb[d] = t->nb[d + 1] * t->ne[d + 1];
}

// ne4: right-aligned shape. A view shares view_src's memory at element offset view_offs.
static struct alrp_tensor * alrp__new_tensor_impl(struct alrp_context * ctx, enum alrp_type type, int n_dims,
                                                  const int64_t * ne4, struct alrp_tensor * view_src, int64_t view_offs) {
    ALRP_ASSERTM(n_dims >= 1 && n_dims <= ALRP_MAX_DIMS, "tensors have 1..4 dims, asked for %d", n_dims);
    struct alrp_tensor * t = (struct alrp_tensor *) alrp__ctx_alloc(ctx, sizeof(struct alrp_tensor));
    memset(t, 0, sizeof(*t));
    if (ctx->last) ctx->last->next = t; else ctx->first = t;
    ctx->last = t;
    t->type = type;
    t->n_dims = n_dims;
    for (int d = 0; d < 4; d++) {
        ALRP_ASSERTM(ne4[d] >= 1, "tensor dims must be >= 1 (got %lld)", (long long) ne4[d]);
        t->ne[d] = ne4[d];
    }
    alrp__set_contiguous_strides(t);
    if (view_src) {
        while (view_src->view_src) { view_offs += view_src->view_offs; view_src = view_src->view_src; }
        t->view_src = view_src;
        t->view_offs = view_offs;
        alrp__view_follow(t);
    } else if (!ctx->no_alloc) {
        t->data = alrp__ctx_alloc(ctx, alrp_nbytes(t));
    }
    return t;
}

static void alrp__ne_from_shape(int n_dims, const int64_t * shape, int64_t * ne4) {
    ALRP_ASSERTM(n_dims >= 1 && n_dims <= ALRP_MAX_DIMS, "tensors have 1..4 dims, asked for %d", n_dims);
    for (int d = 0; d < 4; d++) ne4[d] = 1;
    for (int i = 0; i < n_dims; i++) ne4[4 - n_dims + i] = shape[i];
}

ALRPDEF struct alrp_tensor * alrp_new_tensor(struct alrp_context * ctx, enum alrp_type type, int n_dims, const int64_t * shape) {
    int64_t ne[4];
    alrp__ne_from_shape(n_dims, shape, ne);
    return alrp__new_tensor_impl(ctx, type, n_dims, ne, NULL, 0);
}
ALRPDEF struct alrp_tensor * alrp_new_tensor_1d(struct alrp_context * ctx, int64_t d0) { int64_t s[1] = { d0 }; return alrp_new_tensor(ctx, ALRP_TYPE_F32, 1, s); }
ALRPDEF struct alrp_tensor * alrp_new_tensor_2d(struct alrp_context * ctx, int64_t d0, int64_t d1) { int64_t s[2] = { d0, d1 }; return alrp_new_tensor(ctx, ALRP_TYPE_F32, 2, s); }
ALRPDEF struct alrp_tensor * alrp_new_tensor_3d(struct alrp_context * ctx, int64_t d0, int64_t d1, int64_t d2) { int64_t s[3] = { d0, d1, d2 }; return alrp_new_tensor(ctx, ALRP_TYPE_F32, 3, s); }
ALRPDEF struct alrp_tensor * alrp_new_tensor_4d(struct alrp_context * ctx, int64_t d0, int64_t d1, int64_t d2, int64_t d3) { int64_t s[4] = { d0, d1, d2, d3 }; return alrp_new_tensor(ctx, ALRP_TYPE_F32, 4, s); }
ALRPDEF struct alrp_tensor * alrp_new_i32_1d(struct alrp_context * ctx, int64_t d0) { int64_t s[1] = { d0 }; return alrp_new_tensor(ctx, ALRP_TYPE_I32, 1, s); }
ALRPDEF struct alrp_tensor * alrp_dup_tensor(struct alrp_context * ctx, const struct alrp_tensor * a) {
    return alrp__new_tensor_impl(ctx, a->type, a->n_dims, a->ne, NULL, 0);
}

ALRPDEF int64_t alrp_dim(const struct alrp_tensor * t, int i) {
    if (i < 0) i += t->n_dims;
    ALRP_ASSERTM(i >= 0 && i < t->n_dims, "alrp_dim: axis %d out of range for a %d-d tensor", i, t->n_dims);
    return t->ne[4 - t->n_dims + i];
}
ALRPDEF int64_t alrp_nelements(const struct alrp_tensor * t) { return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]; }
ALRPDEF size_t  alrp_nbytes(const struct alrp_tensor * t) { return (size_t) alrp_nelements(t) * alrp__type_size(t->type); }
ALRPDEF bool alrp_is_contiguous(const struct alrp_tensor * t) {
    int64_t expect = 1;
    for (int d = 3; d >= 0; d--) {
        if (t->ne[d] != 1 && t->nb[d] != expect) return false;
        expect *= t->ne[d];
    }
    return true;
}
ALRPDEF bool alrp_same_shape(const struct alrp_tensor * a, const struct alrp_tensor * b) {
    for (int d = 0; d < 4; d++) if (a->ne[d] != b->ne[d]) return false;
    return true;
}

// "(2, 3, 4)" into buf
static const char * alrp__shape_str(const struct alrp_tensor * t, char * buf, size_t size) {
    int n = snprintf(buf, size, "(");
    for (int i = 0; i < t->n_dims && n < (int) size; i++)
        n += snprintf(buf + n, size - (size_t) n, i ? ", %lld" : "%lld", (long long) alrp_dim(t, i));
    if (n < (int) size) snprintf(buf + n, size - (size_t) n, ")");
    return buf;
}

static void alrp__assert_host(const struct alrp_tensor * t) {
    ALRP_ASSERTM(t->data, "tensor '%s' has no data: allocate the graph (alrp_gallocr_alloc_graph) or use a context with no_alloc = false", t->name);
    ALRP_ASSERTM(!t->buffer || t->buffer->be->iface.is_host, "tensor '%s' is in device memory: read and write it with "
                 "alrp_backend_tensor_get / _set", t->name);
}
ALRPDEF float * alrp_data_f32(const struct alrp_tensor * t) {
    alrp__assert_host(t);
    return (float *) t->data;
}
static int64_t alrp__logical_offset(const struct alrp_tensor * t, int64_t i) {
    int64_t off = 0;
    for (int d = 3; d >= 0; d--) { off += (i % t->ne[d]) * t->nb[d]; i /= t->ne[d]; }
    return off;
}
ALRPDEF float alrp_get_f32_1d(const struct alrp_tensor * t, int64_t i) {
    ALRP_ASSERTM(i >= 0 && i < alrp_nelements(t), "alrp_get_f32_1d: index %lld out of range", (long long) i);
    alrp__assert_host(t);
    int64_t off = alrp__logical_offset(t, i);
    if (t->type == ALRP_TYPE_I32) return (float) ((const int32_t *) t->data)[off];
    if (t->type == ALRP_TYPE_I8)  return (float) ((const int8_t *) t->data)[off];
    return alrp_data_f32(t)[off];
}
ALRPDEF void alrp_set_f32_1d(struct alrp_tensor * t, int64_t i, float v) {
    ALRP_ASSERTM(i >= 0 && i < alrp_nelements(t), "alrp_set_f32_1d: index %lld out of range", (long long) i);
    alrp__assert_host(t);
    int64_t off = alrp__logical_offset(t, i);
    if (t->type == ALRP_TYPE_I32) ((int32_t *) t->data)[off] = (int32_t) v;
    else if (t->type == ALRP_TYPE_I8) ((int8_t *) t->data)[off] = (int8_t) v;
    else alrp_data_f32(t)[off] = v;
}
ALRPDEF void alrp_tensor_fill(struct alrp_tensor * t, float v) {
    int64_t n = alrp_nelements(t);
    for (int64_t i = 0; i < n; i++) alrp_set_f32_1d(t, i, v);
}
ALRPDEF struct alrp_tensor * alrp_set_name(struct alrp_tensor * t, const char * name) {
    snprintf(t->name, sizeof(t->name), "%s", name);
    return t;
}
ALRPDEF struct alrp_tensor * alrp_format_name(struct alrp_tensor * t, const char * fmt, ...) {
    va_list ap; va_start(ap, fmt);
    vsnprintf(t->name, sizeof(t->name), fmt, ap);
    va_end(ap);
    return t;
}
ALRPDEF void alrp_set_param(struct alrp_context * ctx, struct alrp_tensor * t) {
    ALRP_UNUSED(ctx);
    ALRP_ASSERTM(t->op == ALRP_OP_NONE, "alrp_set_param: '%s' is the result of op %s; only leaf tensors can be parameters", t->name, alrp_op_name(t->op));
    ALRP_ASSERTM(t->type == ALRP_TYPE_F32, "alrp_set_param: '%s' is not f32", t->name);
    t->flags |= ALRP_FLAG_PARAM;
}
ALRPDEF void alrp_set_loss(struct alrp_context * ctx, struct alrp_tensor * t) { ALRP_UNUSED(ctx); t->flags |= ALRP_FLAG_LOSS | ALRP_FLAG_OUTPUT; }
ALRPDEF void alrp_set_input(struct alrp_tensor * t)  { t->flags |= ALRP_FLAG_INPUT; }
ALRPDEF void alrp_set_output(struct alrp_tensor * t) { t->flags |= ALRP_FLAG_OUTPUT; }

ALRPDEF uint64_t alrp_rng_u64(struct alrp_rng * r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
ALRPDEF double alrp_rng_uniform(struct alrp_rng * r) { return (double) (alrp_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }
ALRPDEF double alrp_rng_normal(struct alrp_rng * r) {
    double u = alrp_rng_uniform(r) + 1e-300, v = alrp_rng_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static const char * alrp__op_names[ALRP_OP_COUNT] = {
    "NONE", "FILL", "CONT", "ADD", "SUB", "MUL", "DIV", "SCALE", "SUM_TO", "UNARY", "UNARY_BACK",
    "CLAMP", "CLAMP_BACK", "MATMUL", "CONV2D", "CONV2D_BACK_DATA", "CONV2D_BACK_WEIGHT",
    "BN_STATS", "BN_APPLY", "BN_BACK", "BN_BACK_PARAMS", "MAX_POOL2D", "MAX_POOL2D_BACK",
    "UPSAMPLE", "UPSAMPLE_BACK", "RESHAPE", "PERMUTE", "SLICE", "EXPAND", "PAD_SLICE", "CONCAT",
    "GATHER_ROWS", "SCATTER_ADD_ROWS", "ALRP_LOSS", "AP_LOSS", "RANK_LOSS_BACK", "FOCAL_LOSS",
    "FOCAL_LOSS_BACK", "SMOOTH_L1", "SMOOTH_L1_BACK", "GIOU_LOSS", "GIOU_LOSS_BACK", "LOC_ERR_GIOU",
    "LOC_ERR_GIOU_BACK", "CONV2D_AFFINE", "SUM_SQ", "OPT_STEP_SGD", "OPT_STEP_ADAMW",
};
static_assert(ALRP_OP_COUNT == 48, "update alrp__op_names when adding an op");

ALRPDEF const char * alrp_op_name(enum alrp_op op) { return (op >= 0 && op < ALRP_OP_COUNT) ? alrp__op_names[op] : "?"; }

static bool alrp__is_view_op(enum alrp_op op) {
    return op == ALRP_OP_RESHAPE || op == ALRP_OP_PERMUTE || op == ALRP_OP_SLICE || op == ALRP_OP_EXPAND;
}

static void    alrp__set_op_f32(struct alrp_tensor * t, int i, float v) { memcpy(&t->op_params[i], &v, sizeof(float)); }
static float   alrp__get_op_f32(const struct alrp_tensor * t, int i) { float v; memcpy(&v, &t->op_params[i], sizeof(float)); return v; }

// ============================================================================================
// ===== implementation: ops (builders)
// ============================================================================================

// a new result node of op with the given right-aligned shape
static struct alrp_tensor * alrp__op_new(struct alrp_context * ctx, enum alrp_op op, enum alrp_type type, int n_dims, const int64_t * ne4,
                                         struct alrp_tensor * a, struct alrp_tensor * b, struct alrp_tensor * c) {
    struct alrp_tensor * t = alrp__new_tensor_impl(ctx, type, n_dims, ne4, NULL, 0);
    t->op = op; t->src[0] = a; t->src[1] = b; t->src[2] = c;
    return t;
}

// contiguous version of t (itself when already contiguous)
static struct alrp_tensor * alrp__c(struct alrp_context * ctx, struct alrp_tensor * t) {
    return alrp_is_contiguous(t) ? t : alrp_cont(ctx, t);
}

static void alrp__check_f32(const struct alrp_tensor * t, const char * what) {
    ALRP_ASSERTM(t->type == ALRP_TYPE_F32, "%s: tensor '%s' must be f32", what, t->name);
}

ALRPDEF struct alrp_tensor * alrp_cont(struct alrp_context * ctx, struct alrp_tensor * a) {
    return alrp__op_new(ctx, ALRP_OP_CONT, a->type, a->n_dims, a->ne, a, NULL, NULL);
}

static struct alrp_tensor * alrp__binary(struct alrp_context * ctx, enum alrp_op op, struct alrp_tensor * a, struct alrp_tensor * b) {
    alrp__check_f32(a, alrp_op_name(op)); alrp__check_f32(b, alrp_op_name(op));
    int64_t ne[4];
    for (int d = 0; d < 4; d++) {
        if (a->ne[d] == b->ne[d] || b->ne[d] == 1) ne[d] = a->ne[d];
        else if (a->ne[d] == 1) ne[d] = b->ne[d];
        else {
            char sa[96], sb[96];
            ALRP_ASSERTM(false, "%s: shapes %s and %s do not broadcast", alrp_op_name(op), alrp__shape_str(a, sa, sizeof sa), alrp__shape_str(b, sb, sizeof sb));
        }
    }
    return alrp__op_new(ctx, op, ALRP_TYPE_F32, ALRP_MAX(a->n_dims, b->n_dims), ne, a, b, NULL);
}
ALRPDEF struct alrp_tensor * alrp_add(struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * b) { return alrp__binary(ctx, ALRP_OP_ADD, a, b); }
ALRPDEF struct alrp_tensor * alrp_sub(struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * b) { return alrp__binary(ctx, ALRP_OP_SUB, a, b); }
ALRPDEF struct alrp_tensor * alrp_mul(struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * b) { return alrp__binary(ctx, ALRP_OP_MUL, a, b); }
ALRPDEF struct alrp_tensor * alrp_div(struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * b) { return alrp__binary(ctx, ALRP_OP_DIV, a, b); }

ALRPDEF struct alrp_tensor * alrp_scale(struct alrp_context * ctx, struct alrp_tensor * a, float s) {
    a = alrp__c(ctx, a);
    struct alrp_tensor * t = alrp__op_new(ctx, ALRP_OP_SCALE, ALRP_TYPE_F32, a->n_dims, a->ne, a, NULL, NULL);
    alrp__set_op_f32(t, 0, s);
    return t;
}

ALRPDEF struct alrp_tensor * alrp_fill(struct alrp_context * ctx, enum alrp_type type, int n_dims, const int64_t * shape, float v) {
    int64_t ne[4];
    alrp__ne_from_shape(n_dims, shape, ne);
    struct alrp_tensor * t = alrp__op_new(ctx, ALRP_OP_FILL, type, n_dims, ne, NULL, NULL, NULL);
    alrp__set_op_f32(t, 0, v);
    return t;
}

static struct alrp_tensor * alrp__sum_to_ne(struct alrp_context * ctx, struct alrp_tensor * a, int n_dims, const int64_t * ne) {
    bool same = true;
    for (int d = 0; d < 4; d++) {
        ALRP_ASSERTM(ne[d] == a->ne[d] || ne[d] == 1, "sum_to: target dim %d (%lld) must be 1 or equal to the source's (%lld)", d, (long long) ne[d], (long long) a->ne[d]);
        same = same && ne[d] == a->ne[d];
    }
    a = alrp__c(ctx, a);
    if (same && n_dims == a->n_dims) return a;
    return alrp__op_new(ctx, ALRP_OP_SUM_TO, ALRP_TYPE_F32, n_dims, ne, a, NULL, NULL);
}
ALRPDEF struct alrp_tensor * alrp_sum_to(struct alrp_context * ctx, struct alrp_tensor * a, int n_dims, const int64_t * shape) {
    int64_t ne[4];
    alrp__ne_from_shape(n_dims, shape, ne);
    return alrp__sum_to_ne(ctx, a, n_dims, ne);
}
ALRPDEF struct alrp_tensor * alrp_sum(struct alrp_context * ctx, struct alrp_tensor * a) {
    int64_t ne[4] = { 1, 1, 1, 1 };
    return alrp__op_new(ctx, ALRP_OP_SUM_TO, ALRP_TYPE_F32, 1, ne, alrp__c(ctx, a), NULL, NULL);
}
ALRPDEF struct alrp_tensor * alrp_mean(struct alrp_context * ctx, struct alrp_tensor * a) {
    return alrp_scale(ctx, alrp_sum(ctx, a), 1.0f / (float) alrp_nelements(a));
}
ALRPDEF struct alrp_tensor * alrp_sum_axis(struct alrp_context * ctx, struct alrp_tensor * a, int axis, bool keepdim) {
    if (axis < 0) axis += a->n_dims;
    ALRP_ASSERTM(axis >= 0 && axis < a->n_dims, "alrp_sum_axis: axis %d out of range for a %d-d tensor", axis, a->n_dims);
    int64_t ne[4];
    memcpy(ne, a->ne, sizeof(ne));
    ne[4 - a->n_dims + axis] = 1;
    struct alrp_tensor * s = alrp__sum_to_ne(ctx, a, a->n_dims, ne);
    if (keepdim || a->n_dims == 1) return s;
    int64_t shape[4]; int k = 0;
    for (int i = 0; i < a->n_dims; i++) if (i != axis) shape[k++] = alrp_dim(a, i);
    return alrp_reshape(ctx, s, k, shape);
}
ALRPDEF struct alrp_tensor * alrp_mean_axis(struct alrp_context * ctx, struct alrp_tensor * a, int axis, bool keepdim) {
    int ax = axis < 0 ? axis + a->n_dims : axis;
    return alrp_scale(ctx, alrp_sum_axis(ctx, a, axis, keepdim), 1.0f / (float) alrp_dim(a, ax));
}

ALRPDEF struct alrp_tensor * alrp_unary(struct alrp_context * ctx, struct alrp_tensor * a, enum alrp_unary_op op) {
    alrp__check_f32(a, "unary");
    a = alrp__c(ctx, a);
    struct alrp_tensor * t = alrp__op_new(ctx, ALRP_OP_UNARY, ALRP_TYPE_F32, a->n_dims, a->ne, a, NULL, NULL);
    t->op_params[0] = op;
    return t;
}
ALRPDEF struct alrp_tensor * alrp_neg    (struct alrp_context * ctx, struct alrp_tensor * a) { return alrp_unary(ctx, a, ALRP_UNARY_NEG); }
ALRPDEF struct alrp_tensor * alrp_exp    (struct alrp_context * ctx, struct alrp_tensor * a) { return alrp_unary(ctx, a, ALRP_UNARY_EXP); }
ALRPDEF struct alrp_tensor * alrp_log    (struct alrp_context * ctx, struct alrp_tensor * a) { return alrp_unary(ctx, a, ALRP_UNARY_LOG); }
ALRPDEF struct alrp_tensor * alrp_relu   (struct alrp_context * ctx, struct alrp_tensor * a) { return alrp_unary(ctx, a, ALRP_UNARY_RELU); }
ALRPDEF struct alrp_tensor * alrp_sigmoid(struct alrp_context * ctx, struct alrp_tensor * a) { return alrp_unary(ctx, a, ALRP_UNARY_SIGMOID); }
ALRPDEF struct alrp_tensor * alrp_sqr    (struct alrp_context * ctx, struct alrp_tensor * a) { return alrp_unary(ctx, a, ALRP_UNARY_SQR); }
ALRPDEF struct alrp_tensor * alrp_sqrt   (struct alrp_context * ctx, struct alrp_tensor * a) { return alrp_unary(ctx, a, ALRP_UNARY_SQRT); }

ALRPDEF struct alrp_tensor * alrp_clamp(struct alrp_context * ctx, struct alrp_tensor * a, float min, float max) {
    alrp__check_f32(a, "clamp");
    a = alrp__c(ctx, a);
    struct alrp_tensor * t = alrp__op_new(ctx, ALRP_OP_CLAMP, ALRP_TYPE_F32, a->n_dims, a->ne, a, NULL, NULL);
    alrp__set_op_f32(t, 0, min); alrp__set_op_f32(t, 1, max);
    return t;
}

ALRPDEF struct alrp_tensor * alrp_matmul_ex(struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * b, bool trans_a, bool trans_b) {
    alrp__check_f32(a, "matmul"); alrp__check_f32(b, "matmul");
    ALRP_ASSERTM(a->n_dims >= 2 && b->n_dims >= 2, "matmul: operands need >= 2 dims");
    a = alrp__c(ctx, a); b = alrp__c(ctx, b);
    int64_t M = trans_a ? a->ne[3] : a->ne[2], Ka = trans_a ? a->ne[2] : a->ne[3];
    int64_t Kb = trans_b ? b->ne[3] : b->ne[2], N = trans_b ? b->ne[2] : b->ne[3];
    char sa[96], sb[96];
    ALRP_ASSERTM(Ka == Kb, "matmul: inner dims differ: %s @ %s (trans %d %d)", alrp__shape_str(a, sa, sizeof sa), alrp__shape_str(b, sb, sizeof sb), trans_a, trans_b);
    int64_t ne[4] = { 1, 1, M, N };
    for (int d = 0; d < 2; d++) {
        ALRP_ASSERTM(a->ne[d] == b->ne[d] || a->ne[d] == 1 || b->ne[d] == 1, "matmul: batch dims of %s and %s do not broadcast",
                     alrp__shape_str(a, sa, sizeof sa), alrp__shape_str(b, sb, sizeof sb));
        ne[d] = ALRP_MAX(a->ne[d], b->ne[d]);
    }
    struct alrp_tensor * t = alrp__op_new(ctx, ALRP_OP_MATMUL, ALRP_TYPE_F32, ALRP_MAX(a->n_dims, b->n_dims), ne, a, b, NULL);
    t->op_params[0] = trans_a; t->op_params[1] = trans_b;
    return t;
}
ALRPDEF struct alrp_tensor * alrp_matmul(struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * b) { return alrp_matmul_ex(ctx, a, b, false, false); }

static void alrp__conv_desc(const struct alrp_tensor * node, const struct alrp_tensor * x, const struct alrp_tensor * w, struct alrp_conv2d_desc * d) {
    memset(d, 0, sizeof(*d));
    d->n = x->ne[0]; d->c = x->ne[1]; d->h = x->ne[2]; d->w = x->ne[3];
    d->o = w->ne[0]; d->kh = w->ne[2]; d->kw = w->ne[3];
    d->sh = node->op_params[0]; d->sw = node->op_params[1];
    d->ph = node->op_params[2]; d->pw = node->op_params[3];
    d->dh = node->op_params[4]; d->dw = node->op_params[5];
    d->groups = node->op_params[6];
}

ALRPDEF struct alrp_tensor * alrp_conv2d_ex(struct alrp_context * ctx, struct alrp_tensor * x, struct alrp_tensor * w, struct alrp_tensor * b,
                                            int sh, int sw, int ph, int pw, int dh, int dw, int groups) {
    char sx[96], sw_[96];
    ALRP_ASSERTM(x->n_dims == 4 && w->n_dims == 4, "conv2d: x %s must be (N, C, H, W) and w %s (O, C/groups, kH, kW)",
                 alrp__shape_str(x, sx, sizeof sx), alrp__shape_str(w, sw_, sizeof sw_));
    ALRP_ASSERTM(groups >= 1 && x->ne[1] % groups == 0 && w->ne[0] % groups == 0 && w->ne[1] * groups == x->ne[1],
                 "conv2d: x %s, w %s and groups %d do not fit", alrp__shape_str(x, sx, sizeof sx), alrp__shape_str(w, sw_, sizeof sw_), groups);
    ALRP_ASSERTM(sh >= 1 && sw >= 1 && dh >= 1 && dw >= 1 && ph >= 0 && pw >= 0, "conv2d: bad stride/dilation/padding");
    x = alrp__c(ctx, x); w = alrp__c(ctx, w);
    if (b) { ALRP_ASSERTM(alrp_nelements(b) == w->ne[0], "conv2d: bias has %lld elements, expected %lld", (long long) alrp_nelements(b), (long long) w->ne[0]); b = alrp__c(ctx, b); }
    int64_t oh = (x->ne[2] + 2 * ph - dh * (w->ne[2] - 1) - 1) / sh + 1;
    int64_t ow = (x->ne[3] + 2 * pw - dw * (w->ne[3] - 1) - 1) / sw + 1;
    ALRP_ASSERTM(oh >= 1 && ow >= 1, "conv2d: input %s too small for the kernel", alrp__shape_str(x, sx, sizeof sx));
    int64_t ne[4] = { x->ne[0], w->ne[0], oh, ow };
    struct alrp_tensor * t = alrp__op_new(ctx, ALRP_OP_CONV2D, ALRP_TYPE_F32, 4, ne, x, w, b);
    int32_t p[7] = { sh, sw, ph, pw, dh, dw, groups };
    memcpy(t->op_params, p, sizeof(p));
    return t;
}
ALRPDEF struct alrp_tensor * alrp_conv2d(struct alrp_context * ctx, struct alrp_tensor * x, struct alrp_tensor * w, struct alrp_tensor * b,
                                         int stride, int pad, int dilation, int groups) {
    return alrp_conv2d_ex(ctx, x, w, b, stride, stride, pad, pad, dilation, dilation, groups);
}

ALRPDEF struct alrp_tensor * alrp_conv2d_affine(struct alrp_context * ctx, struct alrp_tensor * x, struct alrp_tensor * w,
                                                struct alrp_tensor * scale, struct alrp_tensor * shift, bool relu,
                                                int stride, int pad, int dilation, int groups) {
    struct alrp_tensor * t = alrp_conv2d(ctx, x, w, NULL, stride, pad, dilation, groups); // checks and the shape
    int64_t O = w->ne[0];
    ALRP_ASSERTM(scale && shift && alrp_nelements(scale) == O && alrp_nelements(shift) == O && scale->type == ALRP_TYPE_F32 && shift->type == ALRP_TYPE_F32,
                 "conv2d_affine: scale and shift must be f32 with one value per output channel (%lld)", (long long) O);
    t->op = ALRP_OP_CONV2D_AFFINE;
    t->src[2] = alrp__c(ctx, scale);
    t->src[3] = alrp__c(ctx, shift);
    t->op_params[7] = relu ? 1 : 0;
    return t;
}
ALRPDEF void alrp_frozen_bn_affine(struct alrp_context * ctx, struct alrp_tensor * weight, struct alrp_tensor * bias,
                                   struct alrp_tensor * running_mean, struct alrp_tensor * running_var, float eps,
                                   struct alrp_tensor ** scale, struct alrp_tensor ** shift) {
    int64_t C = alrp_nelements(running_var), s1[1] = { C };
    struct alrp_tensor * e = alrp_fill(ctx, ALRP_TYPE_F32, 1, s1, eps);
    struct alrp_tensor * inv = alrp_div(ctx, alrp_fill(ctx, ALRP_TYPE_F32, 1, s1, 1.0f), alrp_sqrt(ctx, alrp_add(ctx, alrp_reshape_1d(ctx, running_var, C), e)));
    struct alrp_tensor * s = weight ? alrp_mul(ctx, alrp_reshape_1d(ctx, weight, C), inv) : inv;
    struct alrp_tensor * sh = alrp_neg(ctx, alrp_mul(ctx, alrp_reshape_1d(ctx, running_mean, C), s));
    if (bias) sh = alrp_add(ctx, alrp_reshape_1d(ctx, bias, C), sh);
    *scale = s; *shift = sh;
}
ALRPDEF void alrp_fold_bn_f32(int64_t O, int64_t K, float * w, float * b, const float * gamma, const float * beta,
                              const float * mean, const float * var, float eps) {
    for (int64_t o = 0; o < O; o++) {
        float s = (gamma ? gamma[o] : 1.0f) / sqrtf(var[o] + eps);
        for (int64_t k = 0; k < K; k++) w[o * K + k] *= s;
        b[o] = (b[o] - mean[o]) * s + (beta ? beta[o] : 0.0f);
    }
}

ALRPDEF struct alrp_tensor * alrp_sum_sq(struct alrp_context * ctx, struct alrp_tensor * a) {
    alrp__check_f32(a, "sum_sq");
    int64_t ne[4] = { 1, 1, 1, 1 };
    return alrp__op_new(ctx, ALRP_OP_SUM_SQ, ALRP_TYPE_F32, 1, ne, alrp__c(ctx, a), NULL, NULL);
}
ALRPDEF struct alrp_tensor * alrp_global_norm(struct alrp_context * ctx, int n, struct alrp_tensor * const * ts) {
    ALRP_ASSERTM(n >= 1, "global_norm: no tensors");
    struct alrp_tensor * s = alrp_sum_sq(ctx, ts[0]);
    for (int i = 1; i < n; i++) s = alrp_add(ctx, s, alrp_sum_sq(ctx, ts[i]));
    return alrp_sqrt(ctx, s);
}

static struct alrp_tensor * alrp__opt_step(struct alrp_context * ctx, enum alrp_op op, struct alrp_tensor * param, struct alrp_tensor * grad,
                                           struct alrp_tensor * s0, struct alrp_tensor * s1, struct alrp_tensor * hp, struct alrp_tensor * grad_scale) {
    const char * who = op == ALRP_OP_OPT_STEP_SGD ? "opt_step_sgd" : "opt_step_adamw";
    ALRP_ASSERTM(param->op == ALRP_OP_NONE && (param->flags & ALRP_FLAG_PARAM) && alrp_is_contiguous(param),
                 "%s: '%s' must be a contiguous parameter (alrp_set_param)", who, param->name);
    ALRP_ASSERTM(grad && alrp_same_shape(grad, param) && grad->type == ALRP_TYPE_F32, "%s: the gradient of '%s' must have its shape", who, param->name);
    ALRP_ASSERTM((!s0 || (alrp_same_shape(s0, param) && alrp_is_contiguous(s0))) && (!s1 || (alrp_same_shape(s1, param) && alrp_is_contiguous(s1))),
                 "%s: the state of '%s' must be contiguous tensors of its shape", who, param->name);
    ALRP_ASSERTM(hp && alrp_nelements(hp) == ALRP_OPT_HP_COUNT && hp->type == ALRP_TYPE_F32, "%s: hp must be f32 (ALRP_OPT_HP_COUNT)", who);
    ALRP_ASSERTM(!grad_scale || alrp_nelements(grad_scale) == 1, "%s: grad_scale must have one element", who);
    struct alrp_tensor * t = alrp__new_tensor_impl(ctx, param->type, param->n_dims, param->ne, param, 0);
    t->op = op;
    t->src[0] = param; t->src[1] = alrp__c(ctx, grad); t->src[2] = s0; t->src[3] = s1; t->src[4] = hp;
    t->src[5] = grad_scale ? alrp__c(ctx, grad_scale) : NULL;
    alrp_format_name(t, "update(%s)", param->name);
    t->flags |= ALRP_FLAG_OUTPUT;
    return t;
}
ALRPDEF struct alrp_tensor * alrp_opt_step_sgd(struct alrp_context * ctx, struct alrp_tensor * param, struct alrp_tensor * grad,
                                               struct alrp_tensor * momentum_buf, struct alrp_tensor * hp, struct alrp_tensor * grad_scale) {
    return alrp__opt_step(ctx, ALRP_OP_OPT_STEP_SGD, param, grad, momentum_buf, NULL, hp, grad_scale);
}
ALRPDEF struct alrp_tensor * alrp_opt_step_adamw(struct alrp_context * ctx, struct alrp_tensor * param, struct alrp_tensor * grad,
                                                 struct alrp_tensor * m, struct alrp_tensor * v, struct alrp_tensor * hp,
                                                 struct alrp_tensor * grad_scale) {
    ALRP_ASSERTM(m && v, "opt_step_adamw: '%s' needs both moment tensors", param->name);
    return alrp__opt_step(ctx, ALRP_OP_OPT_STEP_ADAMW, param, grad, m, v, hp, grad_scale);
}

ALRPDEF struct alrp_tensor * alrp_batch_norm(struct alrp_context * ctx, struct alrp_tensor * x, struct alrp_tensor * weight, struct alrp_tensor * bias,
                                             struct alrp_tensor * running_mean, struct alrp_tensor * running_var,
                                             enum alrp_bn_mode mode, float momentum, float eps) {
    char sx[96];
    ALRP_ASSERTM(x->n_dims == 4, "batch_norm: x %s must be (N, C, H, W)", alrp__shape_str(x, sx, sizeof sx));
    int64_t C = x->ne[1];
    ALRP_ASSERTM(running_mean && running_var && alrp_nelements(running_mean) == C && alrp_nelements(running_var) == C,
                 "batch_norm: running_mean and running_var must have C = %lld elements", (long long) C);
    ALRP_ASSERTM(!weight || alrp_nelements(weight) == C, "batch_norm: weight must have C = %lld elements", (long long) C);
    ALRP_ASSERTM(!bias   || alrp_nelements(bias)   == C, "batch_norm: bias must have C = %lld elements", (long long) C);
    ALRP_ASSERTM(mode != ALRP_BN_TRAIN || x->ne[0] * x->ne[2] * x->ne[3] > 1, "batch_norm: train mode needs more than one value per channel");
    x = alrp__c(ctx, x);
    int64_t ne_s[4] = { 1, 1, 2, C };
    struct alrp_tensor * stats = alrp__op_new(ctx, ALRP_OP_BN_STATS, ALRP_TYPE_F32, 2, ne_s, x, running_mean, running_var);
    stats->op_params[0] = mode; alrp__set_op_f32(stats, 1, momentum); alrp__set_op_f32(stats, 2, eps);
    struct alrp_tensor * y = alrp__op_new(ctx, ALRP_OP_BN_APPLY, ALRP_TYPE_F32, 4, x->ne, x, stats, weight ? alrp__c(ctx, weight) : NULL);
    y->src[3] = bias ? alrp__c(ctx, bias) : NULL;
    y->op_params[0] = mode;
    return y;
}

ALRPDEF struct alrp_tensor * alrp_max_pool2d(struct alrp_context * ctx, struct alrp_tensor * x, int kernel, int stride, int pad) {
    char sx[96];
    ALRP_ASSERTM(x->n_dims == 4, "max_pool2d: x %s must be (N, C, H, W)", alrp__shape_str(x, sx, sizeof sx));
    ALRP_ASSERTM(kernel >= 1 && stride >= 1 && pad >= 0 && 2 * pad <= kernel, "max_pool2d: bad kernel %d / stride %d / pad %d (pad must be <= kernel/2)", kernel, stride, pad);
    x = alrp__c(ctx, x);
    int64_t oh = (x->ne[2] + 2 * pad - kernel) / stride + 1, ow = (x->ne[3] + 2 * pad - kernel) / stride + 1;
    ALRP_ASSERTM(oh >= 1 && ow >= 1, "max_pool2d: input %s too small", alrp__shape_str(x, sx, sizeof sx));
    int64_t ne[4] = { x->ne[0], x->ne[1], oh, ow };
    struct alrp_tensor * t = alrp__op_new(ctx, ALRP_OP_MAX_POOL2D, ALRP_TYPE_F32, 4, ne, x, NULL, NULL);
    t->op_params[0] = kernel; t->op_params[1] = stride; t->op_params[2] = pad;
    return t;
}

ALRPDEF struct alrp_tensor * alrp_upsample_nearest(struct alrp_context * ctx, struct alrp_tensor * x, int factor) {
    ALRP_ASSERTM(x->n_dims == 4 && factor >= 1, "upsample_nearest: x must be (N, C, H, W) and factor >= 1");
    x = alrp__c(ctx, x);
    int64_t ne[4] = { x->ne[0], x->ne[1], x->ne[2] * factor, x->ne[3] * factor };
    struct alrp_tensor * t = alrp__op_new(ctx, ALRP_OP_UPSAMPLE, ALRP_TYPE_F32, 4, ne, x, NULL, NULL);
    t->op_params[0] = factor;
    return t;
}

static struct alrp_tensor * alrp__view(struct alrp_context * ctx, enum alrp_op op, struct alrp_tensor * a, int n_dims, const int64_t * ne4, int64_t offs) {
    struct alrp_tensor * t = alrp__new_tensor_impl(ctx, a->type, n_dims, ne4, a, offs);
    t->op = op; t->src[0] = a;
    return t;
}

ALRPDEF struct alrp_tensor * alrp_reshape(struct alrp_context * ctx, struct alrp_tensor * a, int n_dims, const int64_t * shape) {
    int64_t ne[4];
    alrp__ne_from_shape(n_dims, shape, ne);
    char sa[96];
    ALRP_ASSERTM(ne[0] * ne[1] * ne[2] * ne[3] == alrp_nelements(a), "reshape: %s cannot become a tensor of %lld elements",
                 alrp__shape_str(a, sa, sizeof sa), (long long) (ne[0] * ne[1] * ne[2] * ne[3]));
    a = alrp__c(ctx, a);
    return alrp__view(ctx, ALRP_OP_RESHAPE, a, n_dims, ne, 0);
}
ALRPDEF struct alrp_tensor * alrp_reshape_1d(struct alrp_context * ctx, struct alrp_tensor * a, int64_t d0) { int64_t s[1] = { d0 }; return alrp_reshape(ctx, a, 1, s); }
ALRPDEF struct alrp_tensor * alrp_reshape_2d(struct alrp_context * ctx, struct alrp_tensor * a, int64_t d0, int64_t d1) { int64_t s[2] = { d0, d1 }; return alrp_reshape(ctx, a, 2, s); }
ALRPDEF struct alrp_tensor * alrp_reshape_4d(struct alrp_context * ctx, struct alrp_tensor * a, int64_t d0, int64_t d1, int64_t d2, int64_t d3) { int64_t s[4] = { d0, d1, d2, d3 }; return alrp_reshape(ctx, a, 4, s); }

ALRPDEF struct alrp_tensor * alrp_permute(struct alrp_context * ctx, struct alrp_tensor * a, const int * axes) {
    int n = a->n_dims, off = 4 - n, seen = 0;
    int64_t ne[4] = { 1, 1, 1, 1 }, nb[4] = { 0, 0, 0, 0 };
    for (int i = 0; i < n; i++) {
        int ax = axes[i] < 0 ? axes[i] + n : axes[i];
        ALRP_ASSERTM(ax >= 0 && ax < n && !(seen & (1 << ax)), "permute: axes must be a permutation of 0..%d", n - 1);
        seen |= 1 << ax;
        ne[off + i] = a->ne[off + ax];
        nb[off + i] = a->nb[off + ax];
    }
    struct alrp_tensor * t = alrp__view(ctx, ALRP_OP_PERMUTE, a, n, ne, 0);
    for (int d = 0; d < off; d++) nb[d] = nb[off] * ne[off]; // leading size-1 dims: any stride
    memcpy(t->nb, nb, sizeof(nb));
    for (int i = 0; i < n; i++) t->op_params[i] = axes[i] < 0 ? axes[i] + n : axes[i];
    return t;
}

ALRPDEF struct alrp_tensor * alrp_slice(struct alrp_context * ctx, struct alrp_tensor * a, int axis, int64_t start, int64_t len) {
    if (axis < 0) axis += a->n_dims;
    ALRP_ASSERTM(axis >= 0 && axis < a->n_dims, "slice: axis %d out of range", axis);
    int d = 4 - a->n_dims + axis;
    ALRP_ASSERTM(start >= 0 && len >= 1 && start + len <= a->ne[d], "slice: [%lld, %lld) out of range 0..%lld on axis %d",
                 (long long) start, (long long) (start + len), (long long) a->ne[d], axis);
    int64_t ne[4];
    memcpy(ne, a->ne, sizeof(ne));
    ne[d] = len;
    struct alrp_tensor * t = alrp__view(ctx, ALRP_OP_SLICE, a, a->n_dims, ne, start * a->nb[d]);
    memcpy(t->nb, a->nb, sizeof(t->nb));
    t->op_params[0] = axis; t->op_params[1] = (int32_t) start;
    return t;
}

ALRPDEF struct alrp_tensor * alrp_expand(struct alrp_context * ctx, struct alrp_tensor * a, int n_dims, const int64_t * shape) {
    int64_t ne[4];
    alrp__ne_from_shape(n_dims, shape, ne);
    ALRP_ASSERTM(n_dims >= a->n_dims, "expand: cannot drop dims");
    struct alrp_tensor * t = alrp__view(ctx, ALRP_OP_EXPAND, a, n_dims, ne, 0);
    for (int d = 0; d < 4; d++) {
        ALRP_ASSERTM(a->ne[d] == ne[d] || a->ne[d] == 1, "expand: dim %lld cannot become %lld", (long long) a->ne[d], (long long) ne[d]);
        t->nb[d] = (a->ne[d] == ne[d]) ? a->nb[d] : 0;
    }
    return t;
}

ALRPDEF struct alrp_tensor * alrp_concat(struct alrp_context * ctx, int n, struct alrp_tensor ** ts, int axis) {
    ALRP_ASSERTM(n >= 1 && n <= ALRP_MAX_SRC, "concat: 1..%d tensors (got %d); concat in several steps", ALRP_MAX_SRC, n);
    if (n == 1) return ts[0];
    int nd = ts[0]->n_dims;
    if (axis < 0) axis += nd;
    ALRP_ASSERTM(axis >= 0 && axis < nd, "concat: axis %d out of range", axis);
    int d = 4 - nd + axis;
    int64_t ne[4];
    memcpy(ne, ts[0]->ne, sizeof(ne));
    ne[d] = 0;
    for (int i = 0; i < n; i++) {
        ALRP_ASSERTM(ts[i]->n_dims == nd && ts[i]->type == ts[0]->type, "concat: every tensor must have the same number of dims and type");
        for (int k = 0; k < 4; k++) ALRP_ASSERTM(k == d || ts[i]->ne[k] == ts[0]->ne[k], "concat: shapes differ outside the axis");
        ne[d] += ts[i]->ne[d];
    }
    struct alrp_tensor * t = alrp__op_new(ctx, ALRP_OP_CONCAT, ts[0]->type, nd, ne, NULL, NULL, NULL);
    for (int i = 0; i < n; i++) t->src[i] = alrp__c(ctx, ts[i]);
    t->op_params[0] = axis;
    return t;
}

ALRPDEF struct alrp_tensor * alrp_gather_rows(struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * idx) {
    ALRP_ASSERTM(a->n_dims == 2 && idx->n_dims == 1 && idx->type == ALRP_TYPE_I32, "gather_rows: a must be (R, D) and idx an i32 (K) tensor");
    int64_t ne[4] = { 1, 1, idx->ne[3], a->ne[3] };
    return alrp__op_new(ctx, ALRP_OP_GATHER_ROWS, a->type, 2, ne, alrp__c(ctx, a), alrp__c(ctx, idx), NULL);
}
ALRPDEF struct alrp_tensor * alrp_scatter_add_rows(struct alrp_context * ctx, struct alrp_tensor * a, struct alrp_tensor * idx, int64_t n_rows) {
    ALRP_ASSERTM(a->n_dims == 2 && idx->n_dims == 1 && idx->type == ALRP_TYPE_I32 && idx->ne[3] == a->ne[2],
                 "scatter_add_rows: a must be (K, D) and idx an i32 (K) tensor");
    int64_t ne[4] = { 1, 1, n_rows, a->ne[3] };
    struct alrp_tensor * t = alrp__op_new(ctx, ALRP_OP_SCATTER_ADD_ROWS, a->type, 2, ne, alrp__c(ctx, a), alrp__c(ctx, idx), NULL);
    t->op_params[0] = (int32_t) n_rows;
    return t;
}

ALRPDEF struct alrp_rank_loss alrp_alrp_loss(struct alrp_context * ctx, struct alrp_tensor * logits, struct alrp_tensor * labels,
                                             struct alrp_tensor * loc_err, float delta) {
    int64_t n = alrp_nelements(logits), A = loc_err ? alrp_nelements(loc_err) : 0;
    ALRP_ASSERTM(logits->type == ALRP_TYPE_F32 && labels->type == ALRP_TYPE_I8 && alrp_nelements(labels) == n,
                 "alrp_loss: logits must be f32 and labels an i8 tensor with as many entries (%lld)", (long long) n);
    ALRP_ASSERTM(delta > 0.0f, "alrp_loss: delta must be > 0 (got %g)", (double) delta);
    ALRP_ASSERTM(!loc_err || (loc_err->type == ALRP_TYPE_F32 && A >= 1 && n % A == 0),
                 "alrp_loss: loc_err has %lld entries, which does not divide the %lld logits: pass one E_loc per anchor "
                 "(logits (A, C) with loc_err (A)), or one per entry", (long long) A, (long long) n);
    int64_t ne[4] = { 1, 1, 1, 3 + n + A };   // loss_cls, loss_loc, P, grad_logits (n), grad_loc (A)
    struct alrp_tensor * t = alrp__op_new(ctx, ALRP_OP_ALRP_LOSS, ALRP_TYPE_F32, 1, ne, alrp__c(ctx, logits), alrp__c(ctx, labels), loc_err ? alrp__c(ctx, loc_err) : NULL);
    alrp__set_op_f32(t, 0, delta);
    alrp_set_name(t, "alrp_loss");
    struct alrp_rank_loss r = { alrp_slice(ctx, t, 0, 0, 1), alrp_slice(ctx, t, 0, 1, 1), alrp_slice(ctx, t, 0, 2, 1) };
    return r;
}
ALRPDEF struct alrp_rank_loss alrp_ap_loss(struct alrp_context * ctx, struct alrp_tensor * logits, struct alrp_tensor * labels, float delta) {
    int64_t n = alrp_nelements(logits);
    ALRP_ASSERTM(logits->type == ALRP_TYPE_F32 && labels->type == ALRP_TYPE_I8 && alrp_nelements(labels) == n,
                 "ap_loss: logits must be f32 and labels an i8 tensor with as many entries (%lld)", (long long) n);
    ALRP_ASSERTM(delta > 0.0f, "ap_loss: delta must be > 0 (got %g)", (double) delta);
    int64_t ne[4] = { 1, 1, 1, 2 + n };       // loss, P, grad_logits (n)
    struct alrp_tensor * t = alrp__op_new(ctx, ALRP_OP_AP_LOSS, ALRP_TYPE_F32, 1, ne, alrp__c(ctx, logits), alrp__c(ctx, labels), NULL);
    alrp__set_op_f32(t, 0, delta);
    alrp_set_name(t, "ap_loss");
    struct alrp_rank_loss r = { alrp_slice(ctx, t, 0, 0, 1), NULL, alrp_slice(ctx, t, 0, 1, 1) };
    return r;
}
// loss of (a, b), inputs of one shape; the result has a's shape, or is (n) for (n, 4) boxes
static struct alrp_tensor * alrp__pair_loss(struct alrp_context * ctx, enum alrp_op op, struct alrp_tensor * a, struct alrp_tensor * b, const char * what, bool per_box) {
    char sa[96], sb[96];
    ALRP_ASSERTM(a->type == ALRP_TYPE_F32 && b->type == ALRP_TYPE_F32 && alrp_same_shape(a, b), "%s: inputs %s and %s must be f32 of one shape",
                 what, alrp__shape_str(a, sa, sizeof sa), alrp__shape_str(b, sb, sizeof sb));
    ALRP_ASSERTM(!per_box || (a->n_dims == 2 && a->ne[3] == 4), "%s: boxes must be (n, 4), got %s", what, alrp__shape_str(a, sa, sizeof sa));
    int64_t ne_box[4] = { 1, 1, 1, a->ne[2] };
    return alrp__op_new(ctx, op, ALRP_TYPE_F32, per_box ? 1 : a->n_dims, per_box ? ne_box : a->ne, alrp__c(ctx, a), alrp__c(ctx, b), NULL);
}
ALRPDEF struct alrp_tensor * alrp_sigmoid_focal_loss(struct alrp_context * ctx, struct alrp_tensor * logits, struct alrp_tensor * targets, float alpha, float gamma) {
    ALRP_ASSERTM(gamma >= 0.0f, "sigmoid_focal_loss: gamma must be >= 0");
    struct alrp_tensor * t = alrp__pair_loss(ctx, ALRP_OP_FOCAL_LOSS, logits, targets, "sigmoid_focal_loss", false);
    alrp__set_op_f32(t, 0, alpha); alrp__set_op_f32(t, 1, gamma);
    return t;
}
ALRPDEF struct alrp_tensor * alrp_smooth_l1_loss(struct alrp_context * ctx, struct alrp_tensor * pred, struct alrp_tensor * target, float beta) {
    ALRP_ASSERTM(beta >= 0.0f, "smooth_l1_loss: beta must be >= 0");
    struct alrp_tensor * t = alrp__pair_loss(ctx, ALRP_OP_SMOOTH_L1, pred, target, "smooth_l1_loss", false);
    alrp__set_op_f32(t, 0, beta);
    return t;
}
ALRPDEF struct alrp_tensor * alrp_giou_loss(struct alrp_context * ctx, struct alrp_tensor * pred, struct alrp_tensor * target) {
    return alrp__pair_loss(ctx, ALRP_OP_GIOU_LOSS, pred, target, "giou_loss", true);
}
ALRPDEF struct alrp_tensor * alrp_loc_err_giou(struct alrp_context * ctx, struct alrp_tensor * pred_deltas, struct alrp_tensor * target_deltas, const float * stds) {
    struct alrp_tensor * t = alrp__pair_loss(ctx, ALRP_OP_LOC_ERR_GIOU, pred_deltas, target_deltas, "loc_err_giou", true);
    for (int i = 0; i < 4; i++) alrp__set_op_f32(t, i, stds ? stds[i] : 1.0f);
    return t;
}

// ============================================================================================
// ===== implementation: graphs and autograd
// ============================================================================================

struct alrp_graph {
    int size;                        // capacity of nodes and of leafs
    int n_nodes, n_leafs, n_params;
    struct alrp_tensor ** nodes;     // computed, in topological order
    struct alrp_tensor ** leafs;     // op NONE
    struct alrp_tensor ** params;    // leafs flagged PARAM (after build_backward)
    int hash_size;                   // power of two
    const struct alrp_tensor ** hkeys;
    struct alrp_tensor ** hgrads;    // gradient of hkeys[i], or NULL
};

ALRPDEF size_t alrp_graph_overhead(int max_nodes) {
    int hs = 16;
    while (hs < 4 * max_nodes) hs *= 2;
    return sizeof(struct alrp_graph) + 3 * sizeof(void *) * (size_t) max_nodes + 2 * sizeof(void *) * (size_t) hs + 5 * ALRP__ALIGN;
}

ALRPDEF struct alrp_graph * alrp_new_graph(struct alrp_context * ctx, int max_nodes) {
    ALRP_ASSERTM(max_nodes >= 1, "alrp_new_graph: max_nodes must be >= 1");
    struct alrp_graph * g = (struct alrp_graph *) alrp__ctx_alloc(ctx, sizeof(struct alrp_graph));
    memset(g, 0, sizeof(*g));
    g->size = max_nodes;
    g->hash_size = 16;
    while (g->hash_size < 4 * max_nodes) g->hash_size *= 2;
    g->nodes  = (struct alrp_tensor **) alrp__ctx_alloc(ctx, sizeof(void *) * (size_t) max_nodes);
    g->leafs  = (struct alrp_tensor **) alrp__ctx_alloc(ctx, sizeof(void *) * (size_t) max_nodes);
    g->params = (struct alrp_tensor **) alrp__ctx_alloc(ctx, sizeof(void *) * (size_t) max_nodes);
    g->hkeys  = (const struct alrp_tensor **) alrp__ctx_alloc(ctx, sizeof(void *) * (size_t) g->hash_size);
    g->hgrads = (struct alrp_tensor **) alrp__ctx_alloc(ctx, sizeof(void *) * (size_t) g->hash_size);
    memset(g->hkeys, 0, sizeof(void *) * (size_t) g->hash_size);
    memset(g->hgrads, 0, sizeof(void *) * (size_t) g->hash_size);
    return g;
}

// slot of t in the hash (its own, or the empty one where it would go)
static int alrp__hash_slot(const struct alrp_graph * g, const struct alrp_tensor * t) {
    uint64_t h = ((uint64_t) (uintptr_t) t >> 4) * 0x9E3779B97F4A7C15ull;
    int i = (int) (h >> 40) & (g->hash_size - 1);
    while (g->hkeys[i] && g->hkeys[i] != t) i = (i + 1) & (g->hash_size - 1);
    return i;
}

static void alrp__visit(struct alrp_graph * g, struct alrp_tensor * t) {
    int slot = alrp__hash_slot(g, t);
    if (g->hkeys[slot]) return;
    ALRP_ASSERTM(g->n_nodes + g->n_leafs < g->hash_size / 2, "graph hash is full: create the graph with a larger max_nodes (now %d)", g->size);
    g->hkeys[slot] = t;
    for (int i = 0; i < ALRP_MAX_SRC; i++) if (t->src[i]) alrp__visit(g, t->src[i]);
    if (t->op == ALRP_OP_NONE) {
        ALRP_ASSERTM(g->n_leafs < g->size, "graph is full (%d leafs): create it with a larger max_nodes in alrp_new_graph", g->size);
        g->leafs[g->n_leafs++] = t;
    } else {
        ALRP_ASSERTM(g->n_nodes < g->size, "graph is full (%d nodes): create it with a larger max_nodes in alrp_new_graph", g->size);
        g->nodes[g->n_nodes++] = t;
    }
}

ALRPDEF void alrp_build_forward(struct alrp_graph * g, struct alrp_tensor * t) { alrp__visit(g, t); }

ALRPDEF struct alrp_tensor * alrp_graph_grad(const struct alrp_graph * g, const struct alrp_tensor * t) {
    int slot = alrp__hash_slot(g, t);
    return g->hkeys[slot] ? g->hgrads[slot] : NULL;
}
ALRPDEF int alrp_graph_n_nodes(const struct alrp_graph * g) { return g->n_nodes; }
ALRPDEF struct alrp_tensor * alrp_graph_node(const struct alrp_graph * g, int i) { if (i < 0) i += g->n_nodes; return g->nodes[i]; }
ALRPDEF int alrp_graph_n_params(const struct alrp_graph * g) { return g->n_params; }
ALRPDEF struct alrp_tensor * alrp_graph_param(const struct alrp_graph * g, int i) { return g->params[i]; }

ALRPDEF void alrp_graph_print(const struct alrp_graph * g) {
    char s[96];
    printf("graph: %d nodes, %d leafs, %d params\n", g->n_nodes, g->n_leafs, g->n_params);
    for (int i = 0; i < g->n_nodes; i++)
        printf("  %4d %-18s %-24s %s\n", i, alrp_op_name(g->nodes[i]->op), alrp__shape_str(g->nodes[i], s, sizeof s), g->nodes[i]->name);
}

// accumulate the gradient contribution c into t's gradient
static void alrp__add_grad(struct alrp_context * ctx, struct alrp_graph * g, struct alrp_tensor * t, struct alrp_tensor * c) {
    if (!t || !(t->flags & ALRP_FLAG_GRAD)) return;
    char st[96], sc[96];
    ALRP_ASSERTM(alrp_same_shape(t, c), "backward: gradient %s does not match tensor '%s' %s", alrp__shape_str(c, sc, sizeof sc), t->name, alrp__shape_str(t, st, sizeof st));
    c = alrp__c(ctx, c);
    int slot = alrp__hash_slot(g, t);
    ALRP_ASSERT(g->hkeys[slot] == t);
    g->hgrads[slot] = g->hgrads[slot] ? alrp_add(ctx, g->hgrads[slot], c) : c;
}

static struct alrp_tensor * alrp__sum_like(struct alrp_context * ctx, struct alrp_tensor * c, const struct alrp_tensor * like) {
    return alrp__sum_to_ne(ctx, c, like->n_dims, like->ne);
}

// gradient contributions of node (whose gradient is dy) to its sources
static void alrp__backward_node(struct alrp_context * ctx, struct alrp_graph * g, struct alrp_tensor * t, struct alrp_tensor * dy) {
    struct alrp_tensor * a = t->src[0], * b = t->src[1];
    switch (t->op) {
    case ALRP_OP_FILL: break;
    case ALRP_OP_CONT: alrp__add_grad(ctx, g, a, dy); break;
    case ALRP_OP_ADD:
        alrp__add_grad(ctx, g, a, alrp__sum_like(ctx, dy, a));
        alrp__add_grad(ctx, g, b, alrp__sum_like(ctx, dy, b));
        break;
    case ALRP_OP_SUB:
        alrp__add_grad(ctx, g, a, alrp__sum_like(ctx, dy, a));
        if (b->flags & ALRP_FLAG_GRAD) alrp__add_grad(ctx, g, b, alrp_scale(ctx, alrp__sum_like(ctx, dy, b), -1.0f));
        break;
    case ALRP_OP_MUL:
        if (a->flags & ALRP_FLAG_GRAD) alrp__add_grad(ctx, g, a, alrp__sum_like(ctx, alrp_mul(ctx, dy, b), a));
        if (b->flags & ALRP_FLAG_GRAD) alrp__add_grad(ctx, g, b, alrp__sum_like(ctx, alrp_mul(ctx, dy, a), b));
        break;
    case ALRP_OP_DIV:
        if (a->flags & ALRP_FLAG_GRAD) alrp__add_grad(ctx, g, a, alrp__sum_like(ctx, alrp_div(ctx, dy, b), a));
        if (b->flags & ALRP_FLAG_GRAD) alrp__add_grad(ctx, g, b, alrp_scale(ctx, alrp__sum_like(ctx, alrp_mul(ctx, dy, alrp_div(ctx, t, b)), b), -1.0f));
        break;
    case ALRP_OP_SCALE: alrp__add_grad(ctx, g, a, alrp_scale(ctx, dy, alrp__get_op_f32(t, 0))); break;
    case ALRP_OP_SUM_TO: {
        int64_t shape[4];
        for (int i = 0; i < a->n_dims; i++) shape[i] = alrp_dim(a, i);
        struct alrp_tensor * d = dy;
        if (dy->n_dims != a->n_dims) d = alrp__view(ctx, ALRP_OP_RESHAPE, dy, a->n_dims, dy->ne, 0); // same ne, other n_dims
        alrp__add_grad(ctx, g, a, alrp_expand(ctx, d, a->n_dims, shape));
    } break;
    case ALRP_OP_UNARY:
        if (t->op_params[0] == ALRP_UNARY_NEG) { alrp__add_grad(ctx, g, a, alrp_scale(ctx, dy, -1.0f)); break; }
        {
            // keep only what f' needs, so that the forward input (or output) can be freed early
            int op = t->op_params[0];
            bool need_x = op == ALRP_UNARY_LOG || op == ALRP_UNARY_SQR;
            struct alrp_tensor * d = alrp__op_new(ctx, ALRP_OP_UNARY_BACK, ALRP_TYPE_F32, a->n_dims, a->ne, dy, need_x ? a : NULL, need_x ? NULL : t);
            d->op_params[0] = t->op_params[0];
            alrp__add_grad(ctx, g, a, d);
        }
        break;
    case ALRP_OP_CLAMP: {
        struct alrp_tensor * d = alrp__op_new(ctx, ALRP_OP_CLAMP_BACK, ALRP_TYPE_F32, a->n_dims, a->ne, dy, a, NULL);
        d->op_params[0] = t->op_params[0]; d->op_params[1] = t->op_params[1];
        alrp__add_grad(ctx, g, a, d);
    } break;
    case ALRP_OP_MATMUL: {
        bool ta = t->op_params[0], tb = t->op_params[1];
        if (a->flags & ALRP_FLAG_GRAD) {
            struct alrp_tensor * da = ta ? alrp_matmul_ex(ctx, b, dy, tb, true) : alrp_matmul_ex(ctx, dy, b, false, !tb);
            alrp__add_grad(ctx, g, a, alrp__sum_like(ctx, da, a));
        }
        if (b->flags & ALRP_FLAG_GRAD) {
            struct alrp_tensor * db = tb ? alrp_matmul_ex(ctx, dy, a, true, ta) : alrp_matmul_ex(ctx, a, dy, !ta, false);
            alrp__add_grad(ctx, g, b, alrp__sum_like(ctx, db, b));
        }
    } break;
    case ALRP_OP_CONV2D: {
        if (a->flags & ALRP_FLAG_GRAD) {
            struct alrp_tensor * dx = alrp__op_new(ctx, ALRP_OP_CONV2D_BACK_DATA, ALRP_TYPE_F32, 4, a->ne, dy, b, NULL);
            memcpy(dx->op_params, t->op_params, sizeof(t->op_params));
            alrp__add_grad(ctx, g, a, dx);
        }
        if (b->flags & ALRP_FLAG_GRAD) {
            struct alrp_tensor * dw = alrp__op_new(ctx, ALRP_OP_CONV2D_BACK_WEIGHT, ALRP_TYPE_F32, 4, b->ne, a, dy, NULL);
            memcpy(dw->op_params, t->op_params, sizeof(t->op_params));
            alrp__add_grad(ctx, g, b, dw);
        }
        struct alrp_tensor * bias = t->src[2];
        if (bias && (bias->flags & ALRP_FLAG_GRAD)) {
            int64_t ne[4] = { 1, dy->ne[1], 1, 1 };
            struct alrp_tensor * s = alrp__sum_to_ne(ctx, dy, 4, ne);
            alrp__add_grad(ctx, g, bias, alrp__view(ctx, ALRP_OP_RESHAPE, s, bias->n_dims, bias->ne, 0));
        }
    } break;
    case ALRP_OP_CONV2D_AFFINE: {
        // y = relu?(c * s + h), c = conv(x, w). dz = dy * [y > 0]; dh = sum dz; dx = conv^T(dz, w * s);
        // dc = dz * s, so dw = s[o] * dW(x, dz) and ds[o] = sum dz c = <w[o], dW(x, dz)[o]>: the
        // raw weight gradient serves both, and c itself is never needed.
        struct alrp_tensor * w = b, * s = t->src[2], * h = t->src[3];
        // the weight-sized products run on (O, K) views: rows of K, not of kW
        int64_t O = w->ne[0], c4[4] = { 1, O, 1, 1 }, k2[2] = { O, alrp_nelements(w) / O }, s2[2] = { O, 1 };
        int64_t wsh[4] = { w->ne[0], w->ne[1], w->ne[2], w->ne[3] };
        struct alrp_tensor * dz = dy;
        if (t->op_params[7]) {
            dz = alrp__op_new(ctx, ALRP_OP_UNARY_BACK, ALRP_TYPE_F32, 4, t->ne, dy, NULL, t);
            dz->op_params[0] = ALRP_UNARY_RELU;
        }
        if (h->flags & ALRP_FLAG_GRAD)
            alrp__add_grad(ctx, g, h, alrp__view(ctx, ALRP_OP_RESHAPE, alrp__sum_to_ne(ctx, dz, 4, c4), h->n_dims, h->ne, 0));
        if (a->flags & ALRP_FLAG_GRAD) {
            // conv^T(dz * s, w) = conv^T(dz, w * s): scale whichever of the two is smaller
            struct alrp_tensor * dzs = dz, * ws = w;
            if (alrp_nelements(w) <= alrp_nelements(dz)) ws = alrp_reshape(ctx, alrp_mul(ctx, alrp_reshape(ctx, w, 2, k2), alrp_reshape(ctx, s, 2, s2)), 4, wsh);
            else dzs = alrp_mul(ctx, dz, alrp_reshape(ctx, s, 4, c4));
            struct alrp_tensor * dx = alrp__op_new(ctx, ALRP_OP_CONV2D_BACK_DATA, ALRP_TYPE_F32, 4, a->ne, dzs, ws, NULL);
            memcpy(dx->op_params, t->op_params, sizeof(int32_t) * 7);
            alrp__add_grad(ctx, g, a, dx);
        }
        if ((w->flags & ALRP_FLAG_GRAD) || (s->flags & ALRP_FLAG_GRAD)) {
            struct alrp_tensor * dwr = alrp__op_new(ctx, ALRP_OP_CONV2D_BACK_WEIGHT, ALRP_TYPE_F32, 4, w->ne, a, dz, NULL);
            memcpy(dwr->op_params, t->op_params, sizeof(int32_t) * 7);
            struct alrp_tensor * r2 = alrp_reshape(ctx, dwr, 2, k2);
            if (w->flags & ALRP_FLAG_GRAD) alrp__add_grad(ctx, g, w, alrp_reshape(ctx, alrp_mul(ctx, r2, alrp_reshape(ctx, s, 2, s2)), 4, wsh));
            if (s->flags & ALRP_FLAG_GRAD) {
                struct alrp_tensor * p = alrp_mul(ctx, r2, alrp_reshape(ctx, w, 2, k2));
                alrp__add_grad(ctx, g, s, alrp__view(ctx, ALRP_OP_RESHAPE, alrp_sum_axis(ctx, p, 1, false), s->n_dims, s->ne, 0));
            }
        }
    } break;
    case ALRP_OP_SUM_SQ: { // d/da = 2 a dy
        int64_t shape[4];
        for (int k = 0; k < a->n_dims; k++) shape[k] = alrp_dim(a, k);
        struct alrp_tensor * d = dy;
        if (dy->n_dims != a->n_dims) d = alrp__view(ctx, ALRP_OP_RESHAPE, dy, a->n_dims, dy->ne, 0);
        alrp__add_grad(ctx, g, a, alrp_scale(ctx, alrp_mul(ctx, a, alrp_expand(ctx, d, a->n_dims, shape)), 2.0f));
    } break;
    case ALRP_OP_BN_STATS: break; // its gradient is folded into BN_BACK (train mode)
    case ALRP_OP_BN_APPLY: {
        struct alrp_tensor * stats = t->src[1], * w = t->src[2], * bias = t->src[3];
        if (a->flags & ALRP_FLAG_GRAD) {
            struct alrp_tensor * dx = alrp__op_new(ctx, ALRP_OP_BN_BACK, ALRP_TYPE_F32, 4, a->ne, dy, a, stats);
            dx->src[3] = w;
            dx->op_params[0] = t->op_params[0];
            alrp__add_grad(ctx, g, a, dx);
        }
        if ((w && (w->flags & ALRP_FLAG_GRAD)) || (bias && (bias->flags & ALRP_FLAG_GRAD))) {
            struct alrp_tensor * p = alrp__op_new(ctx, ALRP_OP_BN_BACK_PARAMS, ALRP_TYPE_F32, 2, stats->ne, dy, a, stats);
            if (w)    alrp__add_grad(ctx, g, w,    alrp__view(ctx, ALRP_OP_RESHAPE, alrp_slice(ctx, p, 0, 0, 1), w->n_dims, w->ne, 0));
            if (bias) alrp__add_grad(ctx, g, bias, alrp__view(ctx, ALRP_OP_RESHAPE, alrp_slice(ctx, p, 0, 1, 1), bias->n_dims, bias->ne, 0));
        }
    } break;
    case ALRP_OP_MAX_POOL2D: {
        struct alrp_tensor * d = alrp__op_new(ctx, ALRP_OP_MAX_POOL2D_BACK, ALRP_TYPE_F32, 4, a->ne, dy, a, NULL);
        memcpy(d->op_params, t->op_params, sizeof(t->op_params));
        alrp__add_grad(ctx, g, a, d);
    } break;
    case ALRP_OP_UPSAMPLE: {
        struct alrp_tensor * d = alrp__op_new(ctx, ALRP_OP_UPSAMPLE_BACK, ALRP_TYPE_F32, 4, a->ne, dy, NULL, NULL);
        d->op_params[0] = t->op_params[0];
        alrp__add_grad(ctx, g, a, d);
    } break;
    case ALRP_OP_RESHAPE: alrp__add_grad(ctx, g, a, alrp__view(ctx, ALRP_OP_RESHAPE, dy, a->n_dims, a->ne, 0)); break;
    case ALRP_OP_PERMUTE: {
        int inv[4];
        for (int i = 0; i < t->n_dims; i++) inv[t->op_params[i]] = i;
        alrp__add_grad(ctx, g, a, alrp_permute(ctx, dy, inv));
    } break;
    case ALRP_OP_SLICE: {
        struct alrp_tensor * d = alrp__op_new(ctx, ALRP_OP_PAD_SLICE, ALRP_TYPE_F32, a->n_dims, a->ne, dy, NULL, NULL);
        d->op_params[0] = t->op_params[0]; d->op_params[1] = t->op_params[1];
        alrp__add_grad(ctx, g, a, d);
    } break;
    case ALRP_OP_EXPAND: alrp__add_grad(ctx, g, a, alrp__sum_like(ctx, dy, a)); break;
    case ALRP_OP_PAD_SLICE: {
        int axis = t->op_params[0];
        alrp__add_grad(ctx, g, a, alrp_slice(ctx, dy, axis, t->op_params[1], a->ne[4 - a->n_dims + axis]));
    } break;
    case ALRP_OP_CONCAT: {
        int axis = t->op_params[0], d = 4 - t->n_dims + axis;
        int64_t off = 0;
        for (int i = 0; i < ALRP_MAX_SRC && t->src[i]; i++) {
            alrp__add_grad(ctx, g, t->src[i], alrp_slice(ctx, dy, axis, off, t->src[i]->ne[d]));
            off += t->src[i]->ne[d];
        }
    } break;
    case ALRP_OP_GATHER_ROWS: alrp__add_grad(ctx, g, a, alrp_scatter_add_rows(ctx, dy, b, a->ne[2])); break;
    case ALRP_OP_SCATTER_ADD_ROWS: alrp__add_grad(ctx, g, a, alrp_gather_rows(ctx, dy, b)); break;
    case ALRP_OP_ALRP_LOSS: case ALRP_OP_AP_LOSS: {
        // the stored updates, scaled by the incoming gradients of the loss parts
        int64_t n = alrp_nelements(a);
        bool alrp = t->op == ALRP_OP_ALRP_LOSS;
        struct alrp_tensor * d = alrp__op_new(ctx, ALRP_OP_RANK_LOSS_BACK, ALRP_TYPE_F32, a->n_dims, a->ne, dy, t, NULL);
        d->op_params[0] = 0; d->op_params[1] = alrp ? 3 : 2;
        alrp__add_grad(ctx, g, a, d);
        struct alrp_tensor * le = t->src[2];
        if (alrp && le && (le->flags & ALRP_FLAG_GRAD)) {
            struct alrp_tensor * dl = alrp__op_new(ctx, ALRP_OP_RANK_LOSS_BACK, ALRP_TYPE_F32, le->n_dims, le->ne, dy, t, NULL);
            dl->op_params[0] = 1; dl->op_params[1] = (int32_t) (3 + n);
            alrp__add_grad(ctx, g, le, dl);
        }
    } break;
    case ALRP_OP_FOCAL_LOSS: case ALRP_OP_SMOOTH_L1: case ALRP_OP_GIOU_LOSS: case ALRP_OP_LOC_ERR_GIOU: {
        enum alrp_op bop = t->op == ALRP_OP_FOCAL_LOSS ? ALRP_OP_FOCAL_LOSS_BACK : t->op == ALRP_OP_SMOOTH_L1 ? ALRP_OP_SMOOTH_L1_BACK :
                           t->op == ALRP_OP_GIOU_LOSS ? ALRP_OP_GIOU_LOSS_BACK : ALRP_OP_LOC_ERR_GIOU_BACK;
        struct alrp_tensor * d = alrp__op_new(ctx, bop, ALRP_TYPE_F32, a->n_dims, a->ne, dy, a, b);
        memcpy(d->op_params, t->op_params, sizeof(t->op_params));
        alrp__add_grad(ctx, g, a, d); // targets are constants
    } break;
    default:
        ALRP_ASSERTM(false, "backward: op %s has no backward (second-order gradients are not supported); "
                     "is a parameter feeding a backward node?", alrp_op_name(t->op));
    }
}

// flags t and what it reads with ALRP_FLAG_BWD, down to the nodes already in g
static void alrp__mark_bwd(struct alrp_graph * g, struct alrp_tensor * t) {
    if ((t->flags & ALRP_FLAG_BWD) || g->hkeys[alrp__hash_slot(g, t)] == t) return;
    t->flags |= ALRP_FLAG_BWD;
    for (int k = 0; k < ALRP_MAX_SRC; k++) if (t->src[k]) alrp__mark_bwd(g, t->src[k]);
    if (t->view_src) alrp__mark_bwd(g, t->view_src);
}

ALRPDEF void alrp_build_backward(struct alrp_context * ctx, struct alrp_graph * g) {
    ALRP_ASSERTM(g->n_params == 0, "alrp_build_backward: the graph already has a backward");
    // which tensors depend on a parameter
    for (int i = 0; i < g->n_leafs; i++) {
        struct alrp_tensor * l = g->leafs[i];
        l->flags &= ~(uint32_t) ALRP_FLAG_GRAD;
        if (l->flags & ALRP_FLAG_PARAM) { l->flags |= ALRP_FLAG_GRAD; g->params[g->n_params++] = l; }
    }
    ALRP_ASSERTM(g->n_params > 0, "alrp_build_backward: no parameter in the graph: did you forget to call alrp_set_param "
                 "on the tensors to train before alrp_build_forward?");
    int n_loss = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        struct alrp_tensor * t = g->nodes[i];
        t->flags &= ~(uint32_t) ALRP_FLAG_GRAD;
        if (t->op == ALRP_OP_BN_STATS) continue; // statistics: constants for autograd (see BN_BACK)
        for (int k = 0; k < ALRP_MAX_SRC; k++) if (t->src[k] && (t->src[k]->flags & ALRP_FLAG_GRAD)) t->flags |= ALRP_FLAG_GRAD;
        if (t->flags & ALRP_FLAG_LOSS) n_loss++;
    }
    ALRP_ASSERTM(n_loss > 0, "alrp_build_backward: no node is marked as a loss: did you forget to call alrp_set_loss "
                 "on the value to minimise before alrp_build_forward?");
    int n_fwd = g->n_nodes;
    struct alrp_tensor * before = ctx->last;   // the backward's tensors are the ones made after it
    for (int i = n_fwd - 1; i >= 0; i--) {
        struct alrp_tensor * t = g->nodes[i];
        if (!(t->flags & ALRP_FLAG_GRAD)) continue;
        int slot = alrp__hash_slot(g, t);
        if (t->flags & ALRP_FLAG_LOSS) {
            int64_t shape[4];
            for (int k = 0; k < t->n_dims; k++) shape[k] = alrp_dim(t, k);
            struct alrp_tensor * seed = alrp_set_name(alrp_fill(ctx, ALRP_TYPE_F32, t->n_dims, shape, 1.0f), "loss_seed");
            g->hgrads[slot] = g->hgrads[slot] ? alrp_add(ctx, g->hgrads[slot], seed) : seed;
        }
        if (g->hgrads[slot]) alrp__backward_node(ctx, g, t, g->hgrads[slot]);
    }
    // The new nodes join the graph in the order they were made, which is reverse-mode order
    // (the gradient of a conv's output, then its input's and its weight's gradients, then the
    // layer below), keeping only those that some parameter's gradient needs. Visiting from each
    // gradient in turn instead would put every input gradient of the chain first and every
    // weight gradient after them, keeping each output gradient alive across the whole backward
    // (ResNet-50 RetinaNet at batch 2: 290 MiB more at the peak).
    for (int i = 0; i < g->n_params; i++) {
        struct alrp_tensor * gr = alrp_graph_grad(g, g->params[i]);
        if (!gr) continue;
        gr->flags |= ALRP_FLAG_OUTPUT;
        if (gr->name[0] == 0) alrp_format_name(gr, "grad(%s)", g->params[i]->name);
        alrp__mark_bwd(g, gr);
    }
    for (struct alrp_tensor * t = before ? before->next : ctx->first; t; t = t->next)
        if (t->flags & ALRP_FLAG_BWD) { t->flags &= ~(uint32_t) ALRP_FLAG_BWD; alrp__visit(g, t); }
}

// ============================================================================================
// ===== implementation: graph allocator
// ============================================================================================

struct alrp__block { size_t offs, size; };

struct alrp_gallocr {
    struct alrp_backend * be;
    struct alrp_buffer  * buf;
    struct alrp_gallocr_stats stats;
    // planning arrays, kept between calls (grown to the largest graph seen)
    int cap;
    size_t * offsets;
    int * refs, * pinned, * heir;
    struct alrp__block * fl;
};

ALRPDEF struct alrp_gallocr * alrp_gallocr_new(struct alrp_backend * be) {
    ALRP_ASSERTM(be, "alrp_gallocr_new: pass the backend whose memory the graph goes in (alrp_backend_cpu_init)");
    struct alrp_gallocr * ga = (struct alrp_gallocr *) ALRP_MALLOC(sizeof(*ga));
    ALRP_ASSERTM(ga, "alrp_gallocr_new: out of host memory");
    memset(ga, 0, sizeof(*ga));
    ga->be = be;
    return ga;
}
static void alrp__gallocr_free_arrays(struct alrp_gallocr * ga) {
    ALRP_FREE(ga->offsets); ALRP_FREE(ga->refs); ALRP_FREE(ga->pinned); ALRP_FREE(ga->heir); ALRP_FREE(ga->fl);
    ga->offsets = NULL; ga->refs = ga->pinned = ga->heir = NULL; ga->fl = NULL; ga->cap = 0;
}
ALRPDEF void alrp_gallocr_free(struct alrp_gallocr * ga) {
    if (!ga) return;
    alrp_buffer_free(ga->buf);
    alrp__gallocr_free_arrays(ga);
    ALRP_FREE(ga);
}
ALRPDEF struct alrp_gallocr_stats alrp_gallocr_get_stats(const struct alrp_gallocr * ga) { return ga->stats; }

static bool alrp__gallocr_arrays(struct alrp_gallocr * ga, int n) {
    if (n <= ga->cap) return true;
    alrp__gallocr_free_arrays(ga);
    ga->offsets = (size_t *) ALRP_MALLOC(sizeof(size_t) * (size_t) (n + 1));
    ga->refs    = (int *) ALRP_MALLOC(sizeof(int) * (size_t) (n + 1));
    ga->pinned  = (int *) ALRP_MALLOC(sizeof(int) * (size_t) (n + 1));   // first: direct readers
    ga->heir    = (int *) ALRP_MALLOC(sizeof(int) * (size_t) (n + 1));   // node that took over a node's block
    ga->fl      = (struct alrp__block *) ALRP_MALLOC(sizeof(struct alrp__block) * (size_t) (n + 2));
    if (!ga->offsets || !ga->refs || !ga->pinned || !ga->heir || !ga->fl) { alrp__gallocr_free_arrays(ga); return false; }
    ga->cap = n;
    return true;
}

// free list sorted by offset; returns the offset of a best-fit block (the end grows if none fits)
static size_t alrp__fl_alloc(struct alrp__block * fl, int * n_fl, size_t * end, size_t size) {
    int best = -1;
    for (int i = 0; i < *n_fl; i++)
        if (fl[i].size >= size && (best < 0 || fl[i].size < fl[best].size)) best = i;
    if (best >= 0) {
        size_t off = fl[best].offs;
        fl[best].offs += size; fl[best].size -= size;
        if (fl[best].size == 0) { memmove(&fl[best], &fl[best + 1], sizeof(*fl) * (size_t) (*n_fl - best - 1)); (*n_fl)--; }
        return off;
    }
    // a free block that touches the end grows into the new space
    if (*n_fl > 0 && fl[*n_fl - 1].offs + fl[*n_fl - 1].size == *end) {
        size_t off = fl[*n_fl - 1].offs;
        *end = off + size;
        (*n_fl)--;
        return off;
    }
    size_t off = *end;
    *end += size;
    return off;
}
static void alrp__fl_free(struct alrp__block * fl, int * n_fl, size_t offs, size_t size) {
    int i = 0;
    while (i < *n_fl && fl[i].offs < offs) i++;
    memmove(&fl[i + 1], &fl[i], sizeof(*fl) * (size_t) (*n_fl - i));
    fl[i].offs = offs; fl[i].size = size; (*n_fl)++;
    if (i + 1 < *n_fl && fl[i].offs + fl[i].size == fl[i + 1].offs) { // merge with the next
        fl[i].size += fl[i + 1].size;
        memmove(&fl[i + 1], &fl[i + 2], sizeof(*fl) * (size_t) (*n_fl - i - 2)); (*n_fl)--;
    }
    if (i > 0 && fl[i - 1].offs + fl[i - 1].size == fl[i].offs) {       // merge with the previous
        fl[i - 1].size += fl[i].size;
        memmove(&fl[i], &fl[i + 1], sizeof(*fl) * (size_t) (*n_fl - i - 1)); (*n_fl)--;
    }
}

static struct alrp_tensor * alrp__root(struct alrp_tensor * t) { return t->view_src ? t->view_src : t; }

// For element-wise ops that read each input element only before writing the same output
// element: the index of a source whose buffer the output may share, or -1.
static int alrp__inplace_src(const struct alrp_tensor * t) {
    switch (t->op) {
    case ALRP_OP_ADD: case ALRP_OP_SUB: case ALRP_OP_MUL: case ALRP_OP_DIV:
        for (int k = 0; k < 2; k++)
            if (alrp_same_shape(t->src[k], t) && alrp_is_contiguous(t->src[k]) && t->src[k] != t->src[1 - k] && t->src[k]->type == t->type) return k;
        return -1;
    case ALRP_OP_SCALE: case ALRP_OP_UNARY: case ALRP_OP_CLAMP:
    case ALRP_OP_UNARY_BACK: case ALRP_OP_CLAMP_BACK: case ALRP_OP_BN_BACK:
        return (alrp_same_shape(t->src[0], t) && alrp_is_contiguous(t->src[0]) && t->src[0] != t->src[1] && t->src[0] != t->src[2]) ? 0 : -1;
    default:
        return -1;
    }
}

// this allocator's own placement (re-planned on every call), or no data yet
static bool alrp__ga_unplaced(const struct alrp_gallocr * ga, const struct alrp_tensor * t) {
    return !t->view_src && (!t->data || (ga->buf && t->buffer == ga->buf));
}

// Plans g: offsets of every node and leaf the allocator places; returns the peak bytes, or
// (size_t) -1 when out of host memory for the planning arrays.
static size_t alrp__gallocr_plan(struct alrp_gallocr * ga, struct alrp_graph * g) {
    int n = g->n_nodes, nl = g->n_leafs;
    if (!alrp__gallocr_arrays(ga, n + nl)) return (size_t) -1;
    size_t * offsets = ga->offsets;             // nodes 0..n-1, then leafs n..n+nl-1
    int * refs = ga->refs, * pinned = ga->pinned, * heir = ga->heir;
    struct alrp__block * fl = ga->fl;
    const size_t align = ALRP_MAX(ga->be->iface.alignment, (size_t) ALRP__ALIGN);
    for (int i = 0; i < n; i++) g->nodes[i]->op_params[ALRP_MAX_OP_PARAMS - 1] = i; // node index (scratch slot)
#define ALRP__IDX(t) ((t)->op_params[ALRP_MAX_OP_PARAMS - 1])
    // refs[i]: how many (non-view node, src) pairs read node i's memory, through views or not
    for (int i = 0; i < n; i++) refs[i] = 0;
    for (int i = 0; i < n; i++) {
        struct alrp_tensor * t = g->nodes[i];
        if (alrp__is_view_op(t->op)) continue;
        for (int k = 0; k < ALRP_MAX_SRC; k++) {
            if (!t->src[k]) continue;
            struct alrp_tensor * r = alrp__root(t->src[k]);
            if (r->op != ALRP_OP_NONE) refs[ALRP__IDX(r)]++;
        }
    }
    // nodes that keep their memory (pinned): the flagged ones and the ones nobody reads (graph
    // outputs); a pinned view pins its root. pinned[] first counts direct readers of each node.
    for (int i = 0; i < n; i++) pinned[i] = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < ALRP_MAX_SRC; k++)
            if (g->nodes[i]->src[k] && g->nodes[i]->src[k]->op != ALRP_OP_NONE) pinned[ALRP__IDX(g->nodes[i]->src[k])]++;
    for (int i = 0; i < n; i++) {
        const struct alrp_tensor * t = g->nodes[i];
        bool keep = (t->flags & (ALRP_FLAG_OUTPUT | ALRP_FLAG_LOSS | ALRP_FLAG_INPUT | ALRP_FLAG_PARAM)) != 0 || pinned[i] == 0;
        pinned[i] = keep ? 1 : 0; // from here on: pinned
    }
    for (int i = 0; i < n; i++) {
        struct alrp_tensor * t = g->nodes[i], * r = alrp__root(t);
        if (pinned[i] && r != t && r->op != ALRP_OP_NONE) pinned[ALRP__IDX(r)] = 1;
    }
    int n_fl = 0;
    size_t end = 0, sum = 0;
    int n_alloc = 0;
    // leafs with no data (inputs, or parameters not placed elsewhere) first, never reused
    for (int i = 0; i < nl; i++) {
        struct alrp_tensor * l = g->leafs[i];
        offsets[n + i] = (size_t) -1;
        if (!alrp__ga_unplaced(ga, l)) continue;
        size_t size = alrp__align_up(alrp_nbytes(l), align);
        offsets[n + i] = end; end += size; sum += size; n_alloc++;
    }
    // nodes in order; a root is freed once its last reader has run. An element-wise node whose
    // source dies with it takes over the source's block (in place).
    for (int i = 0; i < n; i++) {
        struct alrp_tensor * t = g->nodes[i];
        offsets[i] = (size_t) -1;
        if (alrp__is_view_op(t->op)) continue;
        if (alrp__ga_unplaced(ga, t)) {
            size_t size = alrp__align_up(alrp_nbytes(t), align);
            sum += size; n_alloc++;
            int k = alrp__inplace_src(t);
            struct alrp_tensor * s = k >= 0 ? t->src[k] : NULL;
            if (s && s->op != ALRP_OP_NONE && !s->view_src && !pinned[ALRP__IDX(s)] && refs[ALRP__IDX(s)] == 1 && offsets[ALRP__IDX(s)] < (size_t) -2) {
                offsets[i] = offsets[ALRP__IDX(s)];     // s is read for the last time here: reuse its block
                offsets[ALRP__IDX(s)] = (size_t) -2;    // (its block now belongs to t: not freed below)
                heir[ALRP__IDX(s)] = i;
            } else {
                offsets[i] = alrp__fl_alloc(fl, &n_fl, &end, size);
            }
        }
        for (int k = 0; k < ALRP_MAX_SRC; k++) {
            if (!t->src[k]) continue;
            struct alrp_tensor * r = alrp__root(t->src[k]);
            if (r->op == ALRP_OP_NONE) continue;
            int j = ALRP__IDX(r);
            if (--refs[j] == 0 && !pinned[j] && offsets[j] < (size_t) -2) {
                size_t size = alrp__align_up(alrp_nbytes(r), align);
                alrp__fl_free(fl, &n_fl, offsets[j], size);
            }
        }
    }
    for (int i = n - 1; i >= 0; i--) if (offsets[i] == (size_t) -2) offsets[i] = offsets[heir[i]]; // same block as its heir
#undef ALRP__IDX
    ga->stats.peak_bytes = end;
    ga->stats.sum_bytes = sum;
    ga->stats.n_allocated = n_alloc;
    return end;
}

// a buffer of at least size bytes (kept if big enough). Growing keeps the buffer object and
// swaps its memory, so every tensor that this allocator ever placed (in any graph) still counts
// as its own and is placed again by the next alloc_graph of its graph.
static bool alrp__gallocr_ensure(struct alrp_gallocr * ga, size_t size) {
    if (ga->buf && alrp_buffer_size(ga->buf) >= size) return true;
    if (!ga->buf) { ga->buf = alrp_backend_alloc_buffer(ga->be, size); return ga->buf != NULL; }
    ga->stats.n_reallocs++;
    void * base = ga->be->iface.buffer_alloc(ga->be, size ? size : 1);
    if (!base) return false;
    ga->be->iface.buffer_free(ga->be, ga->buf->base);
    ga->buf->base = base;
    ga->buf->size = size;
    ga->be->n_buffer_allocs++;
    return true;
}

ALRPDEF bool alrp_gallocr_reserve(struct alrp_gallocr * ga, struct alrp_graph * g) {
    size_t peak = alrp__gallocr_plan(ga, g);
    return peak != (size_t) -1 && alrp__gallocr_ensure(ga, peak);
}

ALRPDEF bool alrp_gallocr_alloc_graph(struct alrp_gallocr * ga, struct alrp_graph * g) {
    size_t peak = alrp__gallocr_plan(ga, g);
    if (peak == (size_t) -1) return false;
    int n = g->n_nodes, nl = g->n_leafs;
    if (!alrp__gallocr_ensure(ga, peak)) return false;
    for (int i = 0; i < n; i++) if (ga->offsets[i] < (size_t) -2) alrp_buffer_place(ga->buf, g->nodes[i], ga->offsets[i]);
    for (int i = 0; i < nl; i++) if (ga->offsets[n + i] != (size_t) -1) alrp_buffer_place(ga->buf, g->leafs[i], ga->offsets[n + i]);
    for (int i = 0; i < n; i++) alrp__view_follow(g->nodes[i]);
    return true;
}

// ============================================================================================
// ===== implementation: CPU ops
// ============================================================================================
// One dispatch switch (alrp__cpu_compute_node) -> alrp__cpu_<op> -> row/plane kernels run over
// the thread pool by alrp__parallel_for, which splits [0, n) into nth contiguous ranges.

typedef void (*alrp__range_fn)(const struct alrp_tensor * t, int64_t i0, int64_t i1);
struct alrp__par { alrp__range_fn fn; const struct alrp_tensor * t; int64_t n; };

static void alrp__par_worker(void * p, int ith, int nth) {
    const struct alrp__par * q = (const struct alrp__par *) p;
    int64_t d = (q->n + nth - 1) / nth, i0 = d * ith, i1 = ALRP_MIN(q->n, i0 + d);
    if (i0 < i1) q->fn(q->t, i0, i1);
}
// work: rough number of flops per item, to keep tiny jobs on one thread
static void alrp__parallel_for(struct alrp_threadpool * tp, const struct alrp_tensor * t, int64_t n, int64_t work, alrp__range_fn fn) {
    struct alrp__par q = { fn, t, n };
    if (!tp || tp->n_threads == 1 || n < 2 || n * work < 32768) { if (n > 0) fn(t, 0, n); return; }
    alrp_threadpool_run(tp, alrp__par_worker, &q);
}

static inline float * alrp__f(const struct alrp_tensor * t) { return (float *) t->data; }

// ---- FILL, SCALE, CONT, strided copies
static void alrp__k_fill(const struct alrp_tensor * t, int64_t i0, int64_t i1) {
    float v = alrp__get_op_f32(t, 0);
    if (t->type == ALRP_TYPE_I32) { for (int64_t i = i0; i < i1; i++) ((int32_t *) t->data)[i] = (int32_t) v; return; }
    if (t->type == ALRP_TYPE_I8)  { for (int64_t i = i0; i < i1; i++) ((int8_t *) t->data)[i] = (int8_t) v; return; }
    float * y = alrp__f(t);
    for (int64_t i = i0; i < i1; i++) y[i] = v;
}
static void alrp__k_scale(const struct alrp_tensor * t, int64_t i0, int64_t i1) {
    const float * x = alrp__f(t->src[0]); float * y = alrp__f(t); float s = alrp__get_op_f32(t, 0);
    int64_t i = i0;
#if ALRP_F32_EPR > 1
    ALRP_F32_VEC vs = ALRP_F32_VEC_SET1(s);
    for (; i + ALRP_F32_EPR <= i1; i += ALRP_F32_EPR) ALRP_F32_VEC_STORE(y + i, ALRP_F32_VEC_MUL(ALRP_F32_VEC_LOAD(x + i), vs));
#endif
    for (; i < i1; i++) y[i] = x[i] * s;
}
// row r of a (ne0, ne1, ne2) grid of rows -> element offset with strides nb
static inline int64_t alrp__row_offs(int64_t r, const int64_t * ne, const int64_t * nb) {
    int64_t i2 = r % ne[2], i1 = (r / ne[2]) % ne[1], i0 = r / (ne[2] * ne[1]);
    return i0 * nb[0] + i1 * nb[1] + i2 * nb[2];
}
// dst (contiguous, shape t) <- src (strided, same shape); rows [i0, i1)
static void alrp__k_cont(const struct alrp_tensor * t, int64_t i0, int64_t i1) {
    const struct alrp_tensor * s = t->src[0];
    int64_t n3 = t->ne[3], s3 = s->nb[3];
    size_t es = alrp__type_size(t->type);
    for (int64_t r = i0; r < i1; r++) {
        const char * x = (const char *) s->data + alrp__row_offs(r, s->ne, s->nb) * (int64_t) es;
        char * y = (char *) t->data + r * n3 * (int64_t) es;
        if (s3 == 1) memcpy(y, x, (size_t) n3 * es);
        else if (es == 4) for (int64_t i = 0; i < n3; i++) memcpy(y + 4 * i, x + 4 * i * s3, 4);
        else for (int64_t i = 0; i < n3; i++) y[i] = x[i * s3];
    }
}

// ---- binary ops with broadcasting (a, b may be strided views)
static void alrp__k_binary(const struct alrp_tensor * t, int64_t r0, int64_t r1) {
    const struct alrp_tensor * a = t->src[0], * b = t->src[1];
    int64_t sa[4], sb[4];
    for (int d = 0; d < 4; d++) { sa[d] = a->ne[d] == 1 ? 0 : a->nb[d]; sb[d] = b->ne[d] == 1 ? 0 : b->nb[d]; }
    int64_t n3 = t->ne[3];
    for (int64_t r = r0; r < r1; r++) {
        const float * x = alrp__f(a) + alrp__row_offs(r, t->ne, sa);
        const float * z = alrp__f(b) + alrp__row_offs(r, t->ne, sb);
        float * y = alrp__f(t) + r * n3;
        int64_t xa = sa[3], zb = sb[3];
        switch (t->op) {
        case ALRP_OP_ADD:
            if (xa == 1 && zb == 1) { for (int64_t i = 0; i < n3; i++) y[i] = x[i] + z[i]; }
            else if (xa == 1 && zb == 0) { float v = z[0]; for (int64_t i = 0; i < n3; i++) y[i] = x[i] + v; }
            else for (int64_t i = 0; i < n3; i++) y[i] = x[i * xa] + z[i * zb];
            break;
        case ALRP_OP_SUB:
            if (xa == 1 && zb == 1) { for (int64_t i = 0; i < n3; i++) y[i] = x[i] - z[i]; }
            else for (int64_t i = 0; i < n3; i++) y[i] = x[i * xa] - z[i * zb];
            break;
        case ALRP_OP_MUL:
            if (xa == 1 && zb == 1) { for (int64_t i = 0; i < n3; i++) y[i] = x[i] * z[i]; }
            else if (xa == 1 && zb == 0) { float v = z[0]; for (int64_t i = 0; i < n3; i++) y[i] = x[i] * v; }
            else for (int64_t i = 0; i < n3; i++) y[i] = x[i * xa] * z[i * zb];
            break;
        case ALRP_OP_DIV:
            if (xa == 1 && zb == 1) { for (int64_t i = 0; i < n3; i++) y[i] = x[i] / z[i]; }
            else for (int64_t i = 0; i < n3; i++) y[i] = x[i * xa] / z[i * zb];
            break;
        default: ALRP_ASSERT(false);
        }
    }
}

// ---- SUM_TO: output element o sums the input over the dims where the output has size 1
static void alrp__k_sum_to(const struct alrp_tensor * t, int64_t o0, int64_t o1) {
    const struct alrp_tensor * a = t->src[0];
    const float * x = alrp__f(a);
    float * y = alrp__f(t);
    int64_t rn[4];  // reduced extent per dim
    for (int d = 0; d < 4; d++) rn[d] = (t->ne[d] == 1) ? a->ne[d] : 1;
    for (int64_t o = o0; o < o1; o++) {
        int64_t idx[4], rem = o;
        for (int d = 3; d >= 0; d--) { idx[d] = rem % t->ne[d]; rem /= t->ne[d]; }
        int64_t base = 0;
        for (int d = 0; d < 4; d++) base += (t->ne[d] == 1 ? 0 : idx[d]) * a->nb[d];
        double acc = 0.0;
        for (int64_t j0 = 0; j0 < rn[0]; j0++)
        for (int64_t j1 = 0; j1 < rn[1]; j1++)
        for (int64_t j2 = 0; j2 < rn[2]; j2++) {
            const float * p = x + base + j0 * a->nb[0] + j1 * a->nb[1] + j2 * a->nb[2];
            if (rn[3] == 1) { acc += p[0]; continue; }
            float s = 0.0f; // inner contiguous run: float partial sums, vectorised
            int64_t i = 0;
#if ALRP_F32_EPR > 1
            ALRP_F32_VEC v = ALRP_F32_VEC_ZERO();
            for (; i + ALRP_F32_EPR <= rn[3]; i += ALRP_F32_EPR) v = ALRP_F32_VEC_ADD(v, ALRP_F32_VEC_LOAD(p + i));
            s = ALRP_F32_VEC_REDUCE(v);
#endif
            for (; i < rn[3]; i++) s += p[i];
            acc += s;
        }
        y[o] = (float) acc;
    }
}

// ---- element-wise unary, clamp and their backward
static inline float alrp__sigmoid(float x) { return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }
static void alrp__k_unary(const struct alrp_tensor * t, int64_t i0, int64_t i1) {
    const float * x = alrp__f(t->src[0]); float * y = alrp__f(t);
    switch ((enum alrp_unary_op) t->op_params[0]) {
    case ALRP_UNARY_NEG:     for (int64_t i = i0; i < i1; i++) y[i] = -x[i]; break;
    case ALRP_UNARY_EXP:     for (int64_t i = i0; i < i1; i++) y[i] = expf(x[i]); break;
    case ALRP_UNARY_LOG:     for (int64_t i = i0; i < i1; i++) y[i] = logf(x[i]); break;
    case ALRP_UNARY_RELU:    for (int64_t i = i0; i < i1; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f; break;
    case ALRP_UNARY_SIGMOID: for (int64_t i = i0; i < i1; i++) y[i] = alrp__sigmoid(x[i]); break;
    case ALRP_UNARY_SQR:     for (int64_t i = i0; i < i1; i++) y[i] = x[i] * x[i]; break;
    case ALRP_UNARY_SQRT:    for (int64_t i = i0; i < i1; i++) y[i] = sqrtf(x[i]); break;
    default: ALRP_ASSERT(false);
    }
}
// src = dy, x (LOG, SQR) or NULL, y = f(x) (the others) or NULL
static void alrp__k_unary_back(const struct alrp_tensor * t, int64_t i0, int64_t i1) {
    const float * dy = alrp__f(t->src[0]), * x = t->src[1] ? alrp__f(t->src[1]) : NULL, * y = t->src[2] ? alrp__f(t->src[2]) : NULL;
    float * dx = alrp__f(t);
    switch ((enum alrp_unary_op) t->op_params[0]) {
    case ALRP_UNARY_NEG:     for (int64_t i = i0; i < i1; i++) dx[i] = -dy[i]; break;
    case ALRP_UNARY_EXP:     for (int64_t i = i0; i < i1; i++) dx[i] = dy[i] * y[i]; break;
    case ALRP_UNARY_LOG:     for (int64_t i = i0; i < i1; i++) dx[i] = dy[i] / x[i]; break;
    case ALRP_UNARY_RELU:    for (int64_t i = i0; i < i1; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f; break;
    case ALRP_UNARY_SIGMOID: for (int64_t i = i0; i < i1; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]); break;
    case ALRP_UNARY_SQR:     for (int64_t i = i0; i < i1; i++) dx[i] = 2.0f * x[i] * dy[i]; break;
    case ALRP_UNARY_SQRT:    for (int64_t i = i0; i < i1; i++) dx[i] = 0.5f * dy[i] / y[i]; break;
    default: ALRP_ASSERT(false);
    }
}
static void alrp__k_clamp(const struct alrp_tensor * t, int64_t i0, int64_t i1) {
    const float * x = alrp__f(t->src[0]); float * y = alrp__f(t);
    float lo = alrp__get_op_f32(t, 0), hi = alrp__get_op_f32(t, 1);
    for (int64_t i = i0; i < i1; i++) y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
}
// PyTorch: the gradient passes where lo <= x <= hi
static void alrp__k_clamp_back(const struct alrp_tensor * t, int64_t i0, int64_t i1) {
    const float * dy = alrp__f(t->src[0]), * x = alrp__f(t->src[1]); float * dx = alrp__f(t);
    float lo = alrp__get_op_f32(t, 0), hi = alrp__get_op_f32(t, 1);
    for (int64_t i = i0; i < i1; i++) dx[i] = (x[i] >= lo && x[i] <= hi) ? dy[i] : 0.0f;
}

// ---- batch norm. x (N, C, H, W); stats (2, C) = mean, invstd. Parallel over channels.
static void alrp__k_bn_stats(const struct alrp_tensor * t, int64_t c0, int64_t c1) {
    const struct alrp_tensor * x = t->src[0];
    float * rm = alrp__f(t->src[1]), * rv = alrp__f(t->src[2]), * st = alrp__f(t);
    int64_t N = x->ne[0], C = x->ne[1], HW = x->ne[2] * x->ne[3], M = N * HW;
    int mode = t->op_params[0];
    float momentum = alrp__get_op_f32(t, 1), eps = alrp__get_op_f32(t, 2);
    for (int64_t c = c0; c < c1; c++) {
        if (mode != ALRP_BN_TRAIN) { st[c] = rm[c]; st[C + c] = 1.0f / sqrtf(rv[c] + eps); continue; }
        double s = 0.0;
        for (int64_t n = 0; n < N; n++) { const float * p = alrp__f(x) + (n * C + c) * HW; for (int64_t i = 0; i < HW; i++) s += p[i]; }
        double mean = s / (double) M, v = 0.0;
        for (int64_t n = 0; n < N; n++) { const float * p = alrp__f(x) + (n * C + c) * HW; for (int64_t i = 0; i < HW; i++) { double d = p[i] - mean; v += d * d; } }
        double var = v / (double) M;
        st[c] = (float) mean;
        st[C + c] = (float) (1.0 / sqrt(var + (double) eps));
        rm[c] = (1.0f - momentum) * rm[c] + momentum * (float) mean;
        rv[c] = (1.0f - momentum) * rv[c] + momentum * (float) (v / (double) (M - 1));
    }
}
static void alrp__k_bn_apply(const struct alrp_tensor * t, int64_t c0, int64_t c1) {
    const struct alrp_tensor * x = t->src[0], * w = t->src[2], * b = t->src[3];
    const float * st = alrp__f(t->src[1]);
    int64_t N = x->ne[0], C = x->ne[1], HW = x->ne[2] * x->ne[3];
    for (int64_t c = c0; c < c1; c++) {
        float sc = st[C + c] * (w ? alrp__f(w)[c] : 1.0f);
        float sh = (b ? alrp__f(b)[c] : 0.0f) - st[c] * sc;
        for (int64_t n = 0; n < N; n++) {
            const float * p = alrp__f(x) + (n * C + c) * HW; float * q = alrp__f(t) + (n * C + c) * HW;
            for (int64_t i = 0; i < HW; i++) q[i] = p[i] * sc + sh;
        }
    }
}
// dx; src = dy, x, stats, w. Train: dx = w*invstd * (dy - mean(dy) - xhat * mean(dy*xhat)).
static void alrp__k_bn_back(const struct alrp_tensor * t, int64_t c0, int64_t c1) {
    const struct alrp_tensor * dy = t->src[0], * x = t->src[1], * w = t->src[3];
    const float * st = alrp__f(t->src[2]);
    int64_t N = x->ne[0], C = x->ne[1], HW = x->ne[2] * x->ne[3], M = N * HW;
    bool train = t->op_params[0] == ALRP_BN_TRAIN;
    for (int64_t c = c0; c < c1; c++) {
        float mean = st[c], inv = st[C + c], k = inv * (w ? alrp__f(w)[c] : 1.0f);
        double sdy = 0.0, sdyx = 0.0;
        if (train) {
            for (int64_t n = 0; n < N; n++) {
                const float * g = alrp__f(dy) + (n * C + c) * HW, * p = alrp__f(x) + (n * C + c) * HW;
                for (int64_t i = 0; i < HW; i++) { sdy += g[i]; sdyx += g[i] * (p[i] - mean) * inv; }
            }
        }
        float mdy = (float) (sdy / (double) M), mdyx = (float) (sdyx / (double) M);
        for (int64_t n = 0; n < N; n++) {
            const float * g = alrp__f(dy) + (n * C + c) * HW, * p = alrp__f(x) + (n * C + c) * HW;
            float * q = alrp__f(t) + (n * C + c) * HW;
            if (train) for (int64_t i = 0; i < HW; i++) q[i] = k * (g[i] - mdy - (p[i] - mean) * inv * mdyx);
            else       for (int64_t i = 0; i < HW; i++) q[i] = k * g[i];
        }
    }
}
// (2, C): dweight = sum dy * xhat, dbias = sum dy; src = dy, x, stats
static void alrp__k_bn_back_params(const struct alrp_tensor * t, int64_t c0, int64_t c1) {
    const struct alrp_tensor * dy = t->src[0], * x = t->src[1];
    const float * st = alrp__f(t->src[2]);
    int64_t N = x->ne[0], C = x->ne[1], HW = x->ne[2] * x->ne[3];
    for (int64_t c = c0; c < c1; c++) {
        double sdy = 0.0, sdyx = 0.0;
        for (int64_t n = 0; n < N; n++) {
            const float * g = alrp__f(dy) + (n * C + c) * HW, * p = alrp__f(x) + (n * C + c) * HW;
            for (int64_t i = 0; i < HW; i++) { sdy += g[i]; sdyx += g[i] * (p[i] - st[c]) * st[C + c]; }
        }
        alrp__f(t)[c] = (float) sdyx;
        alrp__f(t)[C + c] = (float) sdy;
    }
}

// ---- max pool 2d, planes (n, c) in parallel. Ties: the first maximum in row-major window order.
static void alrp__k_max_pool(const struct alrp_tensor * t, int64_t p0, int64_t p1) {
    bool back = t->op == ALRP_OP_MAX_POOL2D_BACK;
    const struct alrp_tensor * x = back ? t->src[1] : t->src[0];
    int k = t->op_params[0], s = t->op_params[1], pad = t->op_params[2];
    int64_t H = x->ne[2], W = x->ne[3];
    const struct alrp_tensor * out = back ? t->src[0] : t;
    int64_t OH = out->ne[2], OW = out->ne[3];
    for (int64_t p = p0; p < p1; p++) {
        const float * xp = alrp__f(x) + p * H * W;
        if (back) memset(alrp__f(t) + p * H * W, 0, sizeof(float) * (size_t) (H * W));
        for (int64_t oy = 0; oy < OH; oy++) for (int64_t ox = 0; ox < OW; ox++) {
            float best = -INFINITY; int64_t arg = -1;
            for (int ky = 0; ky < k; ky++) {
                int64_t iy = oy * s - pad + ky;
                if (iy < 0 || iy >= H) continue;
                for (int kx = 0; kx < k; kx++) {
                    int64_t ix = ox * s - pad + kx;
                    if (ix < 0 || ix >= W) continue;
                    float v = xp[iy * W + ix];
                    if (v > best || arg < 0 || isnan(v)) { best = v; arg = iy * W + ix; if (isnan(v)) goto found; }
                }
            }
        found:
            if (back) { if (arg >= 0) alrp__f(t)[p * H * W + arg] += alrp__f(out)[p * OH * OW + oy * OW + ox]; }
            else alrp__f(t)[p * OH * OW + oy * OW + ox] = best;
        }
    }
}

// ---- nearest upsample and its backward, planes in parallel
static void alrp__k_upsample(const struct alrp_tensor * t, int64_t p0, int64_t p1) {
    int f = t->op_params[0];
    bool back = t->op == ALRP_OP_UPSAMPLE_BACK;
    const struct alrp_tensor * small = back ? t : t->src[0], * big = back ? t->src[0] : t;
    int64_t H = small->ne[2], W = small->ne[3], BW = W * f;
    for (int64_t p = p0; p < p1; p++) {
        float * sp = alrp__f(small) + p * H * W, * bp = alrp__f(big) + p * H * W * f * f;
        for (int64_t y = 0; y < H; y++) for (int64_t x = 0; x < W; x++) {
            if (back) {
                float s = 0.0f;
                for (int a = 0; a < f; a++) for (int b = 0; b < f; b++) s += bp[(y * f + a) * BW + x * f + b];
                sp[y * W + x] = s;
            } else {
                for (int a = 0; a < f; a++) for (int b = 0; b < f; b++) bp[(y * f + a) * BW + x * f + b] = sp[y * W + x];
            }
        }
    }
}

// ---- strided block copy: dst (strides dnb) <- src (strides snb), shape ne; elements of es bytes (4 or 1)
static void alrp__copy4(void * dst, const int64_t * dnb, const void * src, const int64_t * snb, const int64_t * ne, size_t es) {
    for (int64_t i0 = 0; i0 < ne[0]; i0++) for (int64_t i1 = 0; i1 < ne[1]; i1++) for (int64_t i2 = 0; i2 < ne[2]; i2++) {
        char * d = (char *) dst + (i0 * dnb[0] + i1 * dnb[1] + i2 * dnb[2]) * (int64_t) es;
        const char * s = (const char *) src + (i0 * snb[0] + i1 * snb[1] + i2 * snb[2]) * (int64_t) es;
        if (dnb[3] == 1 && snb[3] == 1) memcpy(d, s, es * (size_t) ne[3]);
        else if (es == 4) for (int64_t i3 = 0; i3 < ne[3]; i3++) memcpy(d + 4 * i3 * dnb[3], s + 4 * i3 * snb[3], 4);
        else for (int64_t i3 = 0; i3 < ne[3]; i3++) d[i3 * dnb[3]] = s[i3 * snb[3]];
    }
}
static void alrp__cpu_pad_slice(const struct alrp_tensor * t) {
    const struct alrp_tensor * dy = t->src[0];
    int d = 4 - t->n_dims + t->op_params[0];
    memset(t->data, 0, alrp_nbytes(t));
    alrp__copy4(alrp__f(t) + (int64_t) t->op_params[1] * t->nb[d], t->nb, alrp__f(dy), dy->nb, dy->ne, sizeof(float));
}
static void alrp__cpu_concat(const struct alrp_tensor * t) {   // any type: labels are concatenated too
    int d = 4 - t->n_dims + t->op_params[0];
    size_t es = alrp__type_size(t->type);
    int64_t off = 0;
    for (int i = 0; i < ALRP_MAX_SRC && t->src[i]; i++) {
        const struct alrp_tensor * s = t->src[i];
        alrp__copy4((char *) t->data + off * t->nb[d] * (int64_t) es, t->nb, s->data, s->nb, s->ne, es);
        off += s->ne[d];
    }
}
// any element type: i8 labels and i32 values are gathered (and added) as what they are
static void alrp__cpu_gather_scatter(const struct alrp_tensor * t) {
    const struct alrp_tensor * a = t->src[0], * idx = t->src[1];
    const int32_t * ix = (const int32_t *) idx->data;
    int64_t K = idx->ne[3], D = a->ne[3];
    size_t es = alrp__type_size(a->type);
    if (t->op == ALRP_OP_GATHER_ROWS) {
        for (int64_t k = 0; k < K; k++) {
            ALRP_ASSERTM(ix[k] >= 0 && ix[k] < a->ne[2], "gather_rows: index %d at %lld is out of range 0..%lld", ix[k], (long long) k, (long long) a->ne[2] - 1);
            memcpy((char *) t->data + k * D * (int64_t) es, (const char *) a->data + ix[k] * D * (int64_t) es, es * (size_t) D);
        }
    } else {
        memset(t->data, 0, alrp_nbytes(t));
        for (int64_t k = 0; k < K; k++) {
            ALRP_ASSERTM(ix[k] >= 0 && ix[k] < t->ne[2], "scatter_add_rows: index %d at %lld is out of range 0..%lld", ix[k], (long long) k, (long long) t->ne[2] - 1);
            if (a->type == ALRP_TYPE_F32) {
                float * y = alrp__f(t) + ix[k] * D; const float * x = alrp__f(a) + k * D;
                for (int64_t j = 0; j < D; j++) y[j] += x[j];
            } else if (a->type == ALRP_TYPE_I32) {   // wrapping, as int32 tensors add in PyTorch
                uint32_t * y = (uint32_t *) t->data + ix[k] * D; const uint32_t * x = (const uint32_t *) a->data + k * D;
                for (int64_t j = 0; j < D; j++) y[j] += x[j];
            } else {
                uint8_t * y = (uint8_t *) t->data + ix[k] * D; const uint8_t * x = (const uint8_t *) a->data + k * D;
                for (int64_t j = 0; j < D; j++) y[j] = (uint8_t) (y[j] + x[j]);
            }
        }
    }
}

// ---- losses: the kernels of the "ranking losses and box losses" section
static int64_t alrp__rank_loss_ws(struct alrp_threadpool * tp, bool alrp, int64_t n, const float * logits, const int8_t * labels,
                                  const float * loc_err, int64_t loc_group, float delta, float * out_a, float * out_b, float * grad,
                                  float * grad_loc, struct alrp__bump * ws);
static void alrp__conv2d_affine_f32(struct alrp_threadpool * tp, const struct alrp_conv2d_desc * d,
                                    const float * x, const float * w, const float * scale, const float * shift, bool relu,
                                    float * y, void * work);

// The ranking losses. Packed output: aLRP (3 + n + A) = loss_cls, loss_loc, P, grad (n), grad_loc
// (A); AP (2 + n) = loss, P, grad (n). The kernel reads loc_err (A) at the positives' anchors
// only and accumulates grad_loc there (zero elsewhere). Its scratch comes from the pool's
// workspace (shared with the conv and GEMM kernels, which run before or after it), grown to what
// the largest call needed, so steady-state steps do not allocate.
static bool alrp__cpu_rank_loss(struct alrp_threadpool * tp, const struct alrp_tensor * t) {
    const struct alrp_tensor * lg = t->src[0], * lb = t->src[1], * le = t->src[2];
    const bool alrp = t->op == ALRP_OP_ALRP_LOSS;
    const int64_t n = alrp_nelements(lg), A = le ? alrp_nelements(le) : 0;
    float * out = alrp__f(t);
    const int8_t * labels = (const int8_t *) lb->data;
    struct alrp__bump ws = { NULL, 0, 0, 0 };
    if (tp) { ws.base = (char *) tp->work; ws.size = tp->work_size; }
    int64_t rc;
    if (alrp) {
        float * gl = le ? out + 3 + n : NULL;
        if (gl) memset(gl, 0, sizeof(float) * (size_t) A);
        rc = alrp__rank_loss_ws(tp, true, n, alrp__f(lg), labels, le ? alrp__f(le) : NULL, A ? n / A : 0, alrp__get_op_f32(t, 0),
                                &out[0], &out[1], out + 3, gl, &ws);
    } else {
        rc = alrp__rank_loss_ws(tp, false, n, alrp__f(lg), labels, NULL, 0, alrp__get_op_f32(t, 0), &out[0], NULL, out + 2, NULL, &ws);
    }
    out[alrp ? 2 : 1] = (float) (rc > 0 ? rc : 0);   // P
    if (tp && ws.need > tp->work_size) alrp__tp_work(tp, ws.need + ws.need / 4);   // grow for next time (+25%: P varies)
    if (rc < 0) {
        fprintf(stderr, "alrp: %s ('%s'): bad input (see the line above): a non-finite logit or E_loc of a positive, or a label outside {1, 0, -1}\n",
                alrp_op_name(t->op), t->name);
        return false;
    }
    return true;
}

// (1) = sum of squares, in double: per fixed block of ALRP__SUMSQ_BLOCK elements, the blocks
// over the pool's threads, then the block sums in order (the same bits for any thread count).
// Run on every gradient each step (the global norm), so it must not be one thread's job.
#define ALRP__SUMSQ_BLOCK 32768
static double alrp__sumsq_block(const float * a, int64_t n, int64_t b) {
    const int64_t i0 = b * ALRP__SUMSQ_BLOCK, i1 = ALRP_MIN(n, i0 + ALRP__SUMSQ_BLOCK);
    double s = 0.0;
    for (int64_t i = i0; i < i1; i++) s += (double) a[i] * a[i];
    return s;
}
struct alrp__sumsq_job { const float * a; int64_t n, nb; double * part; };
static void alrp__sumsq_worker(void * arg, int ith, int nth) {
    const struct alrp__sumsq_job * j = (const struct alrp__sumsq_job *) arg;
    for (int64_t b = j->nb * ith / nth; b < j->nb * (ith + 1) / nth; b++) j->part[b] = alrp__sumsq_block(j->a, j->n, b);
}
static void alrp__cpu_sum_sq(struct alrp_threadpool * tp, const struct alrp_tensor * t) {
    const int64_t n = alrp_nelements(t->src[0]), nb = (n + ALRP__SUMSQ_BLOCK - 1) / ALRP__SUMSQ_BLOCK;
    struct alrp__sumsq_job j = { alrp__f(t->src[0]), n, nb, NULL };
    double s = 0.0;
    if (nb > 1 && tp && tp->n_threads > 1) {
        j.part = (double *) alrp__tp_work(tp, sizeof(double) * (size_t) nb);
        alrp_threadpool_run(tp, alrp__sumsq_worker, &j);
        for (int64_t b = 0; b < nb; b++) s += j.part[b];
    } else {
        for (int64_t b = 0; b < nb; b++) s += alrp__sumsq_block(j.a, n, b);
    }
    alrp__f(t)[0] = (float) s;
}

// The optimizer updates, threaded over [0, n). hp: see enum alrp_opt_hp.
struct alrp__optstep_job { const struct alrp_tensor * t; float scale; };
static void alrp__optstep_worker(void * arg, int ith, int nth) {
    const struct alrp__optstep_job * j = (const struct alrp__optstep_job *) arg;
    const struct alrp_tensor * t = j->t;
    const int64_t n = alrp_nelements(t->src[0]);
    const int64_t d = ((n + nth - 1) / nth + 15) / 16 * 16, i0 = ALRP_MIN(n, d * ith), i1 = ALRP_MIN(n, i0 + d);
    const float * hp = alrp__f(t->src[4]);
    const int64_t step = (int64_t) hp[ALRP_OPT_HP_STEP];
    float * p = alrp__f(t->src[0]);
    const float * g = alrp__f(t->src[1]);
    float * s0 = t->src[2] ? alrp__f(t->src[2]) : NULL, * s1 = t->src[3] ? alrp__f(t->src[3]) : NULL;
    float tmp[1024];
    for (int64_t c0 = i0; c0 < i1; c0 += 1024) {
        const int64_t m = ALRP_MIN((int64_t) 1024, i1 - c0);
        const float * gc = g + c0;
        if (j->scale != 1.0f) { for (int64_t k = 0; k < m; k++) tmp[k] = g[c0 + k] * j->scale; gc = tmp; }
        if (t->op == ALRP_OP_OPT_STEP_SGD)
            alrp_sgd_step_f32(m, p + c0, gc, s0 ? s0 + c0 : NULL, hp[ALRP_OPT_HP_LR], hp[ALRP_OPT_HP_MOMENTUM], hp[ALRP_OPT_HP_WEIGHT_DECAY], step);
        else
            alrp_adamw_step_f32(m, p + c0, gc, s0 + c0, s1 + c0, hp[ALRP_OPT_HP_LR], hp[ALRP_OPT_HP_BETA1], hp[ALRP_OPT_HP_BETA2],
                                hp[ALRP_OPT_HP_EPS], hp[ALRP_OPT_HP_WEIGHT_DECAY], step);
    }
}
static void alrp__cpu_opt_step(struct alrp_threadpool * tp, const struct alrp_tensor * t) {
    struct alrp__optstep_job j = { t, t->src[5] ? alrp__f(t->src[5])[0] : 1.0f };
    if (!tp || alrp_nelements(t) < 65536) alrp__optstep_worker(&j, 0, 1);
    else alrp_threadpool_run(tp, alrp__optstep_worker, &j);
}
static void alrp__cpu_loss_elementwise(struct alrp_threadpool * tp, const struct alrp_tensor * t) {
    bool back = t->op == ALRP_OP_FOCAL_LOSS_BACK || t->op == ALRP_OP_SMOOTH_L1_BACK || t->op == ALRP_OP_GIOU_LOSS_BACK || t->op == ALRP_OP_LOC_ERR_GIOU_BACK;
    const float * a = alrp__f(t->src[back ? 1 : 0]), * b = alrp__f(t->src[back ? 2 : 1]), * dy = back ? alrp__f(t->src[0]) : NULL;
    float * y = alrp__f(t);
    int64_t n = alrp_nelements(t->src[back ? 1 : 0]);
    float p0 = alrp__get_op_f32(t, 0), p1 = alrp__get_op_f32(t, 1);
    float stds[4] = { alrp__get_op_f32(t, 0), alrp__get_op_f32(t, 1), alrp__get_op_f32(t, 2), alrp__get_op_f32(t, 3) };
    if (back) memset(y, 0, alrp_nbytes(t)); // the backward kernels accumulate
    int rc = 0;
    switch (t->op) {
    case ALRP_OP_FOCAL_LOSS:      rc = alrp_loss_sigmoid_focal_f32_tp(tp, n, a, b, p0, p1, ALRP_LOSS_REDUCTION_NONE, y); break;
    case ALRP_OP_FOCAL_LOSS_BACK: rc = alrp_loss_sigmoid_focal_backward_f32_tp(tp, n, a, b, p0, p1, ALRP_LOSS_REDUCTION_NONE, dy, y); break;
    case ALRP_OP_SMOOTH_L1:       rc = alrp_loss_smooth_l1_f32(n, a, b, p0, ALRP_LOSS_REDUCTION_NONE, y); break;
    case ALRP_OP_SMOOTH_L1_BACK:  rc = alrp_loss_smooth_l1_backward_f32(n, a, b, p0, ALRP_LOSS_REDUCTION_NONE, dy, y); break;
    case ALRP_OP_GIOU_LOSS:       rc = alrp_loss_giou_f32(n / 4, a, b, ALRP_GIOU_EPS, ALRP_LOSS_REDUCTION_NONE, y); break;
    case ALRP_OP_GIOU_LOSS_BACK:  rc = alrp_loss_giou_backward_f32(n / 4, a, b, ALRP_GIOU_EPS, ALRP_LOSS_REDUCTION_NONE, dy, y, NULL); break;
    case ALRP_OP_LOC_ERR_GIOU:      alrp_loc_err_giou_f32(n / 4, a, b, stds, y); break;
    case ALRP_OP_LOC_ERR_GIOU_BACK: alrp_loc_err_giou_backward_f32(n / 4, a, b, stds, dy, y); break;
    default: ALRP_ASSERT(false);
    }
    ALRP_ASSERTM(rc == 0, "%s: bad arguments", alrp_op_name(t->op));
}
// out = dy[p0] * packed[p1 + i]
static void alrp__k_rank_loss_back(const struct alrp_tensor * t, int64_t i0, int64_t i1) {
    float s = alrp__f(t->src[0])[t->op_params[0]];
    const float * q = alrp__f(t->src[1]) + t->op_params[1];
    float * y = alrp__f(t);
    for (int64_t i = i0; i < i1; i++) y[i] = s * q[i];
}

static void alrp__cpu_matmul(struct alrp_threadpool * tp, const struct alrp_tensor * t) {
    const struct alrp_tensor * a = t->src[0], * b = t->src[1];
    bool ta = t->op_params[0], tb = t->op_params[1];
    int64_t M = t->ne[2], N = t->ne[3], K = ta ? a->ne[2] : a->ne[3];
    for (int64_t b0 = 0; b0 < t->ne[0]; b0++) for (int64_t b1 = 0; b1 < t->ne[1]; b1++) {
        const float * A = alrp__f(a) + (a->ne[0] == 1 ? 0 : b0) * a->nb[0] + (a->ne[1] == 1 ? 0 : b1) * a->nb[1];
        const float * B = alrp__f(b) + (b->ne[0] == 1 ? 0 : b0) * b->nb[0] + (b->ne[1] == 1 ? 0 : b1) * b->nb[1];
        float * C = alrp__f(t) + b0 * t->nb[0] + b1 * t->nb[1];
        alrp_gemm_f32(tp, ta, tb, M, N, K, 1.0f, A, a->ne[3], B, b->ne[3], 0.0f, C, N,
                      alrp__tp_work(tp, alrp_gemm_work_size(M, N, K, alrp_threadpool_n_threads(tp))));
    }
}

// false when a kernel refused its input (it printed why)
static bool alrp__cpu_compute_node(struct alrp_threadpool * tp, struct alrp_tensor * t) {
    int64_t n = alrp_nelements(t);
    switch (t->op) {
    case ALRP_OP_NONE: break;
    case ALRP_OP_RESHAPE: case ALRP_OP_PERMUTE: case ALRP_OP_SLICE: case ALRP_OP_EXPAND: break; // views
    case ALRP_OP_FILL:  alrp__parallel_for(tp, t, n, 1, alrp__k_fill); break;
    case ALRP_OP_SCALE: alrp__parallel_for(tp, t, n, 1, alrp__k_scale); break;
    case ALRP_OP_CONT:  alrp__parallel_for(tp, t, t->ne[0] * t->ne[1] * t->ne[2], t->ne[3], alrp__k_cont); break;
    case ALRP_OP_ADD: case ALRP_OP_SUB: case ALRP_OP_MUL: case ALRP_OP_DIV:
        alrp__parallel_for(tp, t, t->ne[0] * t->ne[1] * t->ne[2], t->ne[3], alrp__k_binary); break;
    case ALRP_OP_SUM_TO: alrp__parallel_for(tp, t, n, alrp_nelements(t->src[0]) / n, alrp__k_sum_to); break;
    case ALRP_OP_UNARY:      alrp__parallel_for(tp, t, n, 8, alrp__k_unary); break;
    case ALRP_OP_UNARY_BACK: alrp__parallel_for(tp, t, n, 4, alrp__k_unary_back); break;
    case ALRP_OP_CLAMP:      alrp__parallel_for(tp, t, n, 2, alrp__k_clamp); break;
    case ALRP_OP_CLAMP_BACK: alrp__parallel_for(tp, t, n, 2, alrp__k_clamp_back); break;
    case ALRP_OP_MATMUL: alrp__cpu_matmul(tp, t); break;
    case ALRP_OP_CONV2D: {
        struct alrp_conv2d_desc d; alrp__conv_desc(t, t->src[0], t->src[1], &d);
        alrp_conv2d_f32(tp, &d, alrp__f(t->src[0]), alrp__f(t->src[1]), t->src[2] ? alrp__f(t->src[2]) : NULL, 0.0f, alrp__f(t),
                        alrp__tp_work(tp, alrp_conv2d_work_size(&d, alrp_threadpool_n_threads(tp))));
    } break;
    case ALRP_OP_CONV2D_BACK_DATA: {
        struct alrp_conv2d_desc d; alrp__conv_desc(t, t, t->src[1], &d);
        alrp_conv2d_backward_data_f32(tp, &d, alrp__f(t->src[0]), alrp__f(t->src[1]), 0.0f, alrp__f(t),
                                      alrp__tp_work(tp, alrp_conv2d_work_size(&d, alrp_threadpool_n_threads(tp))));
    } break;
    case ALRP_OP_CONV2D_BACK_WEIGHT: {
        struct alrp_conv2d_desc d; alrp__conv_desc(t, t->src[0], t, &d);
        alrp_conv2d_backward_weight_f32(tp, &d, alrp__f(t->src[0]), alrp__f(t->src[1]), 0.0f, alrp__f(t), NULL,
                                        alrp__tp_work(tp, alrp_conv2d_work_size(&d, alrp_threadpool_n_threads(tp))));
    } break;
    case ALRP_OP_BN_STATS:       alrp__parallel_for(tp, t, t->ne[3], alrp_nelements(t->src[0]) / t->ne[3] * 4, alrp__k_bn_stats); break;
    case ALRP_OP_BN_APPLY:       alrp__parallel_for(tp, t, t->ne[1], n / t->ne[1] * 2, alrp__k_bn_apply); break;
    case ALRP_OP_BN_BACK:        alrp__parallel_for(tp, t, t->ne[1], n / t->ne[1] * 8, alrp__k_bn_back); break;
    case ALRP_OP_BN_BACK_PARAMS: alrp__parallel_for(tp, t, t->ne[3], alrp_nelements(t->src[0]) / t->ne[3] * 4, alrp__k_bn_back_params); break;
    case ALRP_OP_MAX_POOL2D: case ALRP_OP_MAX_POOL2D_BACK:
        alrp__parallel_for(tp, t, t->ne[0] * t->ne[1], (int64_t) t->op_params[0] * t->op_params[0] * t->ne[2] * t->ne[3], alrp__k_max_pool); break;
    case ALRP_OP_UPSAMPLE: case ALRP_OP_UPSAMPLE_BACK:
        alrp__parallel_for(tp, t, t->ne[0] * t->ne[1], n / (t->ne[0] * t->ne[1]) * 4, alrp__k_upsample); break;
    case ALRP_OP_PAD_SLICE: alrp__cpu_pad_slice(t); break;
    case ALRP_OP_CONCAT:    alrp__cpu_concat(t); break;
    case ALRP_OP_GATHER_ROWS: case ALRP_OP_SCATTER_ADD_ROWS: alrp__cpu_gather_scatter(t); break;
    case ALRP_OP_ALRP_LOSS: case ALRP_OP_AP_LOSS: return alrp__cpu_rank_loss(tp, t);
    case ALRP_OP_CONV2D_AFFINE: {
        struct alrp_conv2d_desc d; alrp__conv_desc(t, t->src[0], t->src[1], &d);
        alrp__conv2d_affine_f32(tp, &d, alrp__f(t->src[0]), alrp__f(t->src[1]), alrp__f(t->src[2]), alrp__f(t->src[3]), t->op_params[7] != 0,
                                alrp__f(t), alrp__tp_work(tp, alrp_conv2d_work_size(&d, alrp_threadpool_n_threads(tp))));
    } break;
    case ALRP_OP_SUM_SQ: alrp__cpu_sum_sq(tp, t); break;
    case ALRP_OP_OPT_STEP_SGD: case ALRP_OP_OPT_STEP_ADAMW: alrp__cpu_opt_step(tp, t); break;
    case ALRP_OP_RANK_LOSS_BACK: alrp__parallel_for(tp, t, n, 1, alrp__k_rank_loss_back); break;
    case ALRP_OP_FOCAL_LOSS: case ALRP_OP_FOCAL_LOSS_BACK: case ALRP_OP_SMOOTH_L1: case ALRP_OP_SMOOTH_L1_BACK:
    case ALRP_OP_GIOU_LOSS: case ALRP_OP_GIOU_LOSS_BACK: case ALRP_OP_LOC_ERR_GIOU: case ALRP_OP_LOC_ERR_GIOU_BACK:
        alrp__cpu_loss_elementwise(tp, t); break;
    default: ALRP_ASSERTM(false, "CPU backend: op %s has no CPU kernel", alrp_op_name(t->op));
    }
    return true;
}

ALRPDEF enum alrp_status alrp_graph_compute(struct alrp_graph * g, struct alrp_threadpool * tp) {
    for (int i = 0; i < g->n_nodes; i++) {
        struct alrp_tensor * t = g->nodes[i];
        if (t->view_src) {
            ALRP_ASSERTM(t->view_src->data, "tensor '%s' views a tensor with no data", t->name);
            alrp__view_follow(t);
        }
        ALRP_ASSERTM(t->data, "node %d (%s, '%s') has no data: allocate the graph with alrp_gallocr_alloc_graph, "
                     "or build it in a context with no_alloc = false", i, alrp_op_name(t->op), t->name);
        for (int k = 0; k < ALRP_MAX_SRC; k++)
            ALRP_ASSERTM(!t->src[k] || t->src[k]->data, "node %d (%s): input '%s' has no data", i, alrp_op_name(t->op), t->src[k] ? t->src[k]->name : "");
        if (!alrp__cpu_compute_node(tp, t)) return ALRP_STATUS_FAILED;
    }
    return ALRP_STATUS_SUCCESS;
}

// ============================================================================================
// ===== implementation: backends (CPU), buffers and placement
// ============================================================================================

ALRPDEF const char * alrp_status_name(enum alrp_status s) {
    switch (s) {
    case ALRP_STATUS_SUCCESS:      return "success";
    case ALRP_STATUS_FAILED:       return "a kernel failed";
    case ALRP_STATUS_ALLOC_FAILED: return "out of backend memory";
    case ALRP_STATUS_UNSUPPORTED:  return "an op the backend does not support";
    }
    return "?";
}

// the CPU backend's context: its pool (which also owns the kernels' workspaces)
struct alrp__cpu_ctx { struct alrp_threadpool * tp; };

static const char * alrp__cpu_name(struct alrp_backend * be) { ALRP_UNUSED(be); return "CPU (" ALRP_SIMD_NAME ")"; }
static void alrp__cpu_free(struct alrp_backend * be) {
    struct alrp__cpu_ctx * c = (struct alrp__cpu_ctx *) be->context;
    alrp_threadpool_free(c->tp);
    ALRP_FREE(c);
    ALRP_FREE(be);
}
// every op with a CPU kernel (a new op is unsupported until it gets one here)
static bool alrp__cpu_supports_op(struct alrp_backend * be, const struct alrp_tensor * t) {
    ALRP_UNUSED(be);
    switch (t->op) {
    case ALRP_OP_NONE: case ALRP_OP_FILL: case ALRP_OP_CONT: case ALRP_OP_ADD: case ALRP_OP_SUB: case ALRP_OP_MUL:
    case ALRP_OP_DIV: case ALRP_OP_SCALE: case ALRP_OP_SUM_TO: case ALRP_OP_UNARY: case ALRP_OP_UNARY_BACK:
    case ALRP_OP_CLAMP: case ALRP_OP_CLAMP_BACK: case ALRP_OP_MATMUL: case ALRP_OP_CONV2D: case ALRP_OP_CONV2D_BACK_DATA:
    case ALRP_OP_CONV2D_BACK_WEIGHT: case ALRP_OP_BN_STATS: case ALRP_OP_BN_APPLY: case ALRP_OP_BN_BACK:
    case ALRP_OP_BN_BACK_PARAMS: case ALRP_OP_MAX_POOL2D: case ALRP_OP_MAX_POOL2D_BACK: case ALRP_OP_UPSAMPLE:
    case ALRP_OP_UPSAMPLE_BACK: case ALRP_OP_RESHAPE: case ALRP_OP_PERMUTE: case ALRP_OP_SLICE: case ALRP_OP_EXPAND:
    case ALRP_OP_PAD_SLICE: case ALRP_OP_CONCAT: case ALRP_OP_GATHER_ROWS: case ALRP_OP_SCATTER_ADD_ROWS:
    case ALRP_OP_ALRP_LOSS: case ALRP_OP_AP_LOSS: case ALRP_OP_RANK_LOSS_BACK: case ALRP_OP_FOCAL_LOSS:
    case ALRP_OP_FOCAL_LOSS_BACK: case ALRP_OP_SMOOTH_L1: case ALRP_OP_SMOOTH_L1_BACK: case ALRP_OP_GIOU_LOSS:
    case ALRP_OP_GIOU_LOSS_BACK: case ALRP_OP_LOC_ERR_GIOU: case ALRP_OP_LOC_ERR_GIOU_BACK: case ALRP_OP_CONV2D_AFFINE:
    case ALRP_OP_SUM_SQ: case ALRP_OP_OPT_STEP_SGD: case ALRP_OP_OPT_STEP_ADAMW:
        return true;
    case ALRP_OP_COUNT: break;
    }
    return false;
}
static void * alrp__cpu_buffer_alloc(struct alrp_backend * be, size_t size) {
    ALRP_UNUSED(be);
    // 64-byte aligned; the offset to the start of the malloc'ed block is kept just before
    void * raw = ALRP_MALLOC(size + ALRP__ALIGN + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t p = ((uintptr_t) raw + sizeof(void *) + ALRP__ALIGN - 1) & ~(uintptr_t) (ALRP__ALIGN - 1);
    ((void **) p)[-1] = raw;
    return (void *) p;
}
static void alrp__cpu_buffer_free(struct alrp_backend * be, void * base) { ALRP_UNUSED(be); if (base) ALRP_FREE(((void **) base)[-1]); }

// (the range, contiguity and placement checks are done once for every backend, in the
// alrp_backend_tensor_* wrappers below)
static void alrp__cpu_tensor_set(struct alrp_backend * be, struct alrp_tensor * t, const void * data, size_t offset, size_t size) {
    ALRP_UNUSED(be);
    if (size) memcpy(alrp__data_addr(t) + offset, data, size);
}
static void alrp__cpu_tensor_get(struct alrp_backend * be, const struct alrp_tensor * t, void * data, size_t offset, size_t size) {
    ALRP_UNUSED(be);
    if (size) memcpy(data, alrp__data_addr(t) + offset, size);
}
static void alrp__cpu_tensor_memset(struct alrp_backend * be, struct alrp_tensor * t, uint8_t value, size_t offset, size_t size) {
    ALRP_UNUSED(be);
    if (size) memset(alrp__data_addr(t) + offset, value, size);
}
static enum alrp_status alrp__cpu_graph_compute(struct alrp_backend * be, struct alrp_graph * g) {
    return alrp_graph_compute(g, ((struct alrp__cpu_ctx *) be->context)->tp);
}

ALRPDEF struct alrp_backend * alrp_backend_cpu_init(int n_threads) {
    struct alrp_backend * be = (struct alrp_backend *) ALRP_MALLOC(sizeof(*be));
    struct alrp__cpu_ctx * c = (struct alrp__cpu_ctx *) ALRP_MALLOC(sizeof(*c));
    ALRP_ASSERTM(be && c, "alrp_backend_cpu_init: out of host memory");
    memset(be, 0, sizeof(*be));
    be->iface.name = alrp__cpu_name;
    be->iface.free = alrp__cpu_free;
    be->iface.supports_op = alrp__cpu_supports_op;
    be->iface.buffer_alloc = alrp__cpu_buffer_alloc;
    be->iface.buffer_free = alrp__cpu_buffer_free;
    be->iface.alignment = ALRP__ALIGN;
    be->iface.is_host = true;
    be->iface.tensor_set = alrp__cpu_tensor_set;
    be->iface.tensor_get = alrp__cpu_tensor_get;
    be->iface.tensor_memset = alrp__cpu_tensor_memset;
    be->iface.graph_compute = alrp__cpu_graph_compute;
    c->tp = alrp_threadpool_new(n_threads);
    be->context = c;
    return be;
}
ALRPDEF bool alrp_backend_is_cpu(const struct alrp_backend * be) { return be && be->iface.name == alrp__cpu_name; }
ALRPDEF struct alrp_threadpool * alrp_backend_cpu_pool(struct alrp_backend * be) {
    ALRP_ASSERTM(alrp_backend_is_cpu(be), "alrp_backend_cpu_pool: '%s' is not the CPU backend", be ? alrp_backend_name(be) : "NULL");
    return ((struct alrp__cpu_ctx *) be->context)->tp;
}
ALRPDEF const char * alrp_backend_name(struct alrp_backend * be) { return be->iface.name(be); }
ALRPDEF void alrp_backend_free(struct alrp_backend * be) { if (be) be->iface.free(be); }
ALRPDEF bool alrp_backend_supports_op(struct alrp_backend * be, const struct alrp_tensor * t) { return be->iface.supports_op(be, t); }

// what every backend's copies rely on: bytes [offset, offset + size) of a placed, contiguous
// tensor that be can reach (in one of be's buffers, or, for host backends, in a host arena)
static void alrp__check_access(struct alrp_backend * be, const struct alrp_tensor * t, const char * who, size_t offset, size_t size) {
    ALRP_ASSERTM(offset + size <= alrp_nbytes(t), "%s: bytes [%zu, %zu) are out of range for '%s' (%zu bytes)", who, offset, offset + size, t->name, alrp_nbytes(t));
    ALRP_ASSERTM(size == 0 || alrp_is_contiguous(t), "%s: '%s' is a strided view: copy it with alrp_cont first", who, t->name);
    ALRP_ASSERTM(size == 0 || alrp__data_addr(t), "%s: '%s' has no data: place it (alrp_backend_alloc_ctx_tensors, alrp_gallocr_alloc_graph) first", who, t->name);
    const struct alrp_buffer * b = t->view_src ? t->view_src->buffer : t->buffer;
    ALRP_ASSERTM(b ? b->be == be : be->iface.is_host, "%s: tensor '%s' is not in a buffer of backend %s: place it with "
                 "alrp_backend_alloc_ctx_tensors or the graph allocator of that backend", who, t->name, alrp_backend_name(be));
}
ALRPDEF void alrp_backend_tensor_set(struct alrp_backend * be, struct alrp_tensor * t, const void * data, size_t offset, size_t size) {
    alrp__check_access(be, t, "alrp_backend_tensor_set", offset, size);
    be->iface.tensor_set(be, t, data, offset, size);
}
ALRPDEF void alrp_backend_tensor_get(struct alrp_backend * be, const struct alrp_tensor * t, void * data, size_t offset, size_t size) {
    alrp__check_access(be, t, "alrp_backend_tensor_get", offset, size);
    be->iface.tensor_get(be, t, data, offset, size);
}
ALRPDEF void alrp_backend_tensor_memset(struct alrp_backend * be, struct alrp_tensor * t, uint8_t value, size_t offset, size_t size) {
    alrp__check_access(be, t, "alrp_backend_tensor_memset", offset, size);
    be->iface.tensor_memset(be, t, value, offset, size);
}
ALRPDEF void alrp_backend_tensor_set_async(struct alrp_backend * be, struct alrp_tensor * t, const void * data, size_t offset, size_t size) {
    alrp__check_access(be, t, "alrp_backend_tensor_set_async", offset, size);
    (be->iface.tensor_set_async ? be->iface.tensor_set_async : be->iface.tensor_set)(be, t, data, offset, size);
}
ALRPDEF void alrp_backend_tensor_get_async(struct alrp_backend * be, const struct alrp_tensor * t, void * data, size_t offset, size_t size) {
    alrp__check_access(be, t, "alrp_backend_tensor_get_async", offset, size);
    (be->iface.tensor_get_async ? be->iface.tensor_get_async : be->iface.tensor_get)(be, t, data, offset, size);
}
ALRPDEF void alrp_backend_synchronize(struct alrp_backend * be) { if (be->iface.synchronize) be->iface.synchronize(be); }
ALRPDEF enum alrp_status alrp_backend_graph_compute(struct alrp_backend * be, struct alrp_graph * g) {
    for (int i = 0; i < g->n_nodes; i++) {
        if (!be->iface.supports_op(be, g->nodes[i])) {
            fprintf(stderr, "alrp: backend %s cannot compute node %d (%s, '%s')\n", alrp_backend_name(be), i, alrp_op_name(g->nodes[i]->op), g->nodes[i]->name);
            return ALRP_STATUS_UNSUPPORTED;
        }
    }
    return be->iface.graph_compute(be, g);
}
ALRPDEF void alrp_backend_set_f32(struct alrp_backend * be, struct alrp_tensor * t, const float * v) {
    ALRP_ASSERTM(t->type == ALRP_TYPE_F32, "alrp_backend_set_f32: '%s' is not f32", t->name);
    alrp_backend_tensor_set(be, t, v, 0, alrp_nbytes(t));
}
ALRPDEF void alrp_backend_get_f32(struct alrp_backend * be, const struct alrp_tensor * t, float * v) {
    ALRP_ASSERTM(t->type == ALRP_TYPE_F32, "alrp_backend_get_f32: '%s' is not f32", t->name);
    alrp_backend_tensor_get(be, t, v, 0, alrp_nbytes(t));
}
ALRPDEF float alrp_backend_get_f32_1(struct alrp_backend * be, const struct alrp_tensor * t, int64_t i) {
    ALRP_ASSERTM(t->type == ALRP_TYPE_F32 && i >= 0 && i < alrp_nelements(t), "alrp_backend_get_f32_1: element %lld of '%s'", (long long) i, t->name);
    float v;
    alrp_backend_tensor_get(be, t, &v, (size_t) i * sizeof(float), sizeof(float));
    return v;
}

ALRPDEF struct alrp_buffer * alrp_backend_alloc_buffer(struct alrp_backend * be, size_t size) {
    struct alrp_buffer * b = (struct alrp_buffer *) ALRP_MALLOC(sizeof(*b));
    if (!b) return NULL;
    b->be = be;
    b->size = size;
    b->base = be->iface.buffer_alloc(be, size ? size : 1);
    if (!b->base) { ALRP_FREE(b); return NULL; }
    be->n_buffer_allocs++;
    return b;
}
ALRPDEF void alrp_buffer_free(struct alrp_buffer * buf) {
    if (!buf) return;
    buf->be->iface.buffer_free(buf->be, buf->base);
    ALRP_FREE(buf);
}
ALRPDEF size_t alrp_buffer_size(const struct alrp_buffer * buf) { return buf->size; }
ALRPDEF struct alrp_backend * alrp_buffer_backend(const struct alrp_buffer * buf) { return buf->be; }
ALRPDEF int64_t alrp_backend_n_buffer_allocs(const struct alrp_backend * be) { return be->n_buffer_allocs; }
ALRPDEF void alrp_buffer_clear(struct alrp_buffer * buf, uint8_t value) {
    struct alrp_tensor t;   // a byte view of the whole buffer
    memset(&t, 0, sizeof(t));
    t.type = ALRP_TYPE_I8; t.n_dims = 1;
    t.ne[0] = t.ne[1] = t.ne[2] = 1; t.ne[3] = (int64_t) buf->size;
    alrp__set_contiguous_strides(&t);
    t.data = buf->base; t.buffer = buf;
    snprintf(t.name, sizeof(t.name), "(buffer)");
    buf->be->iface.tensor_memset(buf->be, &t, value, 0, buf->size);
}
ALRPDEF void alrp_buffer_place(struct alrp_buffer * buf, struct alrp_tensor * t, size_t offset) {
    ALRP_ASSERTM(!t->view_src, "alrp_buffer_place: '%s' is a view: place its source", t->name);
    ALRP_ASSERTM(offset + alrp_nbytes(t) <= buf->size, "alrp_buffer_place: '%s' (%zu bytes at %zu) does not fit the %zu-byte buffer",
                 t->name, alrp_nbytes(t), offset, buf->size);
    t->data = (char *) buf->base + offset;
    t->buffer = buf;
}

ALRPDEF struct alrp_buffer * alrp_backend_alloc_ctx_tensors(struct alrp_context * ctx, struct alrp_backend * be) {
    size_t align = ALRP_MAX(be->iface.alignment, (size_t) 16), size = 0;
    for (struct alrp_tensor * t = ctx->first; t; t = t->next)
        if (!t->data && !t->view_src) size = alrp__align_up(size, align) + alrp_nbytes(t);
    if (size == 0) return NULL;
    struct alrp_buffer * buf = alrp_backend_alloc_buffer(be, size);
    if (!buf) return NULL;
    size_t off = 0;
    for (struct alrp_tensor * t = ctx->first; t; t = t->next) {
        if (t->data || t->view_src) continue;
        off = alrp__align_up(off, align);
        alrp_buffer_place(buf, t, off);
        off += alrp_nbytes(t);
    }
    for (struct alrp_tensor * t = ctx->first; t; t = t->next) alrp__view_follow(t);
    return buf;
}
ALRPDEF int alrp_ctx_n_unplaced(const struct alrp_context * ctx) {
    int n = 0;
    for (const struct alrp_tensor * t = ctx->first; t; t = t->next) n += !t->data && !t->view_src;
    return n;
}

// ============================================================================================
// ===== implementation: optimizers and named-tensor files (graph level)
// ============================================================================================

struct alrp_optimizer {
    struct alrp_opt_params p;
    int n_params;
    struct alrp_tensor ** params;
    struct alrp_tensor ** grads;   // copied from the graph at creation
    struct alrp_tensor ** state;   // SGD: 1 per param (0 without momentum); AdamW: 2 per param
    int n_state;
    struct alrp_tensor * hp;       // (ALRP_OPT_HP_COUNT) input
    struct alrp_tensor * grad_norm;
    int64_t step;
};

ALRPDEF struct alrp_opt_params alrp_opt_default_params(enum alrp_opt_type type) {
    struct alrp_opt_params p;
    memset(&p, 0, sizeof(p));
    p.type = type;
    if (type == ALRP_OPT_SGD) { p.lr = 0.01f; p.momentum = 0.9f; p.weight_decay = 1e-4f; }
    else { p.lr = 1e-3f; p.beta1 = 0.9f; p.beta2 = 0.999f; p.eps = 1e-8f; p.weight_decay = 1e-2f; }
    return p;
}

ALRPDEF struct alrp_optimizer * alrp_optimizer_new(struct alrp_context * ctx, const struct alrp_graph * g, struct alrp_opt_params params) {
    ALRP_ASSERTM(g->n_params > 0, "alrp_optimizer_new: the graph has no parameters: call alrp_build_backward first");
    struct alrp_optimizer * o = (struct alrp_optimizer *) alrp__ctx_alloc(ctx, sizeof(struct alrp_optimizer));
    memset(o, 0, sizeof(*o));
    o->p = params;
    int per = params.type == ALRP_OPT_ADAMW ? 2 : (params.momentum != 0.0f ? 1 : 0);
    o->params = (struct alrp_tensor **) alrp__ctx_alloc(ctx, sizeof(void *) * (size_t) g->n_params);
    o->grads  = (struct alrp_tensor **) alrp__ctx_alloc(ctx, sizeof(void *) * (size_t) g->n_params);
    o->state  = (struct alrp_tensor **) alrp__ctx_alloc(ctx, sizeof(void *) * (size_t) (g->n_params * per + 1));
    static const char * names[2][2] = { { "momentum_buffer", "" }, { "exp_avg", "exp_avg_sq" } };
    for (int i = 0; i < g->n_params; i++) {
        struct alrp_tensor * p = g->params[i];
        o->params[o->n_params] = p;
        o->grads[o->n_params] = alrp_graph_grad(g, p);
        o->n_params++;
        for (int k = 0; k < per; k++) {
            struct alrp_tensor * s = alrp_dup_tensor(ctx, p);
            if (s->data) memset(s->data, 0, alrp_nbytes(s));
            alrp_format_name(s, "%s.%s", p->name, names[params.type == ALRP_OPT_ADAMW][k]);
            o->state[o->n_state++] = s;
        }
    }
    o->hp = alrp_set_name(alrp_new_tensor_1d(ctx, ALRP_OPT_HP_COUNT), "optimizer.hparams");
    alrp_set_input(o->hp);
    return o;
}

ALRPDEF void alrp_optimizer_build(struct alrp_optimizer * o, struct alrp_context * ctx, struct alrp_graph * g, float max_grad_norm) {
    ALRP_ASSERTM(!o->grad_norm, "alrp_optimizer_build: already built (once per graph)");
    int n = 0;
    struct alrp_tensor ** gs = (struct alrp_tensor **) alrp__ctx_alloc(ctx, sizeof(void *) * (size_t) o->n_params);
    for (int i = 0; i < o->n_params; i++) if (o->grads[i]) gs[n++] = o->grads[i];
    ALRP_ASSERTM(n > 0, "alrp_optimizer_build: no parameter has a gradient");
    o->grad_norm = alrp_set_name(alrp_global_norm(ctx, n, gs), "grad_norm");
    alrp_set_output(o->grad_norm);
    alrp_build_forward(g, o->grad_norm);
    struct alrp_tensor * scale = NULL;
    if (max_grad_norm > 0.0f) {   // torch.nn.utils.clip_grad_norm_: min(1, max / (norm + 1e-6))
        int64_t s1[1] = { 1 };
        struct alrp_tensor * den = alrp_add(ctx, o->grad_norm, alrp_fill(ctx, ALRP_TYPE_F32, 1, s1, 1e-6f));
        scale = alrp_clamp(ctx, alrp_div(ctx, alrp_fill(ctx, ALRP_TYPE_F32, 1, s1, max_grad_norm), den), 0.0f, 1.0f);
        alrp_set_name(scale, "grad_clip_scale");
    }
    const int per = o->n_state / o->n_params;   // state tensors per parameter: 0, 1 or 2
    for (int i = 0; i < o->n_params; i++) {
        if (!o->grads[i]) continue; // a parameter that does not reach the loss
        struct alrp_tensor * s0 = per > 0 ? o->state[i * per] : NULL, * s1 = per > 1 ? o->state[i * per + 1] : NULL;
        struct alrp_tensor * u = o->p.type == ALRP_OPT_SGD ? alrp_opt_step_sgd(ctx, o->params[i], o->grads[i], s0, o->hp, scale)
                                                           : alrp_opt_step_adamw(ctx, o->params[i], o->grads[i], s0, s1, o->hp, scale);
        alrp_build_forward(g, u);
    }
}

ALRPDEF void alrp_optimizer_reset(struct alrp_optimizer * o, struct alrp_backend * be) {
    for (int i = 0; i < o->n_state; i++) alrp_backend_tensor_memset(be, o->state[i], 0, 0, alrp_nbytes(o->state[i]));
    o->step = 0;
}
ALRPDEF void alrp_optimizer_prepare(struct alrp_optimizer * o, struct alrp_backend * be) {
    o->step++;
    float hp[ALRP_OPT_HP_COUNT];
    hp[ALRP_OPT_HP_LR] = o->p.lr;
    hp[ALRP_OPT_HP_MOMENTUM] = o->p.momentum;
    hp[ALRP_OPT_HP_WEIGHT_DECAY] = o->p.weight_decay;
    hp[ALRP_OPT_HP_BETA1] = o->p.beta1;
    hp[ALRP_OPT_HP_BETA2] = o->p.beta2;
    hp[ALRP_OPT_HP_EPS] = o->p.eps;
    hp[ALRP_OPT_HP_STEP] = (float) o->step;
    alrp_backend_tensor_set(be, o->hp, hp, 0, sizeof(hp));
}
ALRPDEF void    alrp_optimizer_set_lr(struct alrp_optimizer * o, float lr) { o->p.lr = lr; }
ALRPDEF float   alrp_optimizer_get_lr(const struct alrp_optimizer * o) { return o->p.lr; }
ALRPDEF int64_t alrp_optimizer_n_steps(const struct alrp_optimizer * o) { return o->step; }
ALRPDEF void    alrp_optimizer_set_n_steps(struct alrp_optimizer * o, int64_t n) { o->step = n; }
ALRPDEF struct alrp_tensor * alrp_optimizer_grad_norm(const struct alrp_optimizer * o) { return o->grad_norm; }
ALRPDEF struct alrp_tensor * alrp_optimizer_hparams(const struct alrp_optimizer * o) { return o->hp; }
ALRPDEF int     alrp_optimizer_state(const struct alrp_optimizer * o, struct alrp_tensor *** out) { *out = o->state; return o->n_state; }
ALRPDEF int     alrp_optimizer_grads(struct alrp_optimizer * o, struct alrp_tensor *** params, struct alrp_tensor *** grads) {
    *params = o->params; *grads = o->grads; return o->n_params;
}

// from the safetensors code below: a name quoted escaped (control characters as \n, \xNN, ...)
// and cut, and a message that is always one line
struct alrp__st_quoted { char s[160]; };
static struct alrp__st_quoted alrp__st_q(const char * s);
static void alrp__st_errf(char * err, size_t err_size, const char * fmt, ...);

// host copies of n tensors through be (NULL: host tensors are read in place); *owned to free
static float * alrp__host_copy(struct alrp_backend * be, const struct alrp_tensor * t, float ** owned) {
    *owned = NULL;
    if (!be || (be->iface.is_host && alrp__data_addr(t))) return (float *) alrp__data_addr(t);
    *owned = (float *) ALRP_MALLOC(alrp_nbytes(t) ? alrp_nbytes(t) : 1);
    if (*owned) alrp_backend_tensor_get(be, t, *owned, 0, alrp_nbytes(t));
    return *owned;
}

ALRPDEF int alrp_save_tensors(struct alrp_backend * be, const char * path, int n, struct alrp_tensor * const * ts, const char * const * metadata, char * err, size_t err_size) {
    struct alrp_st_tensor * st = (struct alrp_st_tensor *) ALRP_MALLOC(sizeof(struct alrp_st_tensor) * (size_t) (n ? n : 1));
    float ** owned = (float **) ALRP_MALLOC(sizeof(float *) * (size_t) (n ? n : 1));
    if (!st || !owned) { ALRP_FREE(st); ALRP_FREE(owned); alrp__st_errf(err, err_size, "%s: out of memory", path); return -1; }
    memset(st, 0, sizeof(struct alrp_st_tensor) * (size_t) (n ? n : 1));
    memset(owned, 0, sizeof(float *) * (size_t) (n ? n : 1));
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const struct alrp_tensor * t = ts[i];
        if (!alrp__data_addr(t) || !alrp_is_contiguous(t) || t->type != ALRP_TYPE_F32 || !t->name[0]) {
            alrp__st_errf(err, err_size, "%s: tensor %d ('%s') must be a named, contiguous f32 tensor with data", path, i, alrp__st_q(t->name).s);
            rc = -1; break;
        }
        snprintf(st[i].name, sizeof(st[i].name), "%s", t->name);
        snprintf(st[i].dtype, sizeof(st[i].dtype), "F32");
        st[i].n_dims = t->n_dims;
        for (int d = 0; d < t->n_dims; d++) st[i].shape[d] = alrp_dim(t, d);
        st[i].data = alrp__host_copy(be, t, &owned[i]);
        if (!st[i].data) { alrp__st_errf(err, err_size, "%s: out of memory", path); rc = -1; }
    }
    if (rc == 0) rc = alrp_st_save(path, n, st, metadata, err, err_size);
    for (int i = 0; i < n; i++) ALRP_FREE(owned[i]);
    ALRP_FREE(owned);
    ALRP_FREE(st);
    return rc;
}


// the dtypes alrp_load_tensors converts into I32 and I8 tensors (exactly, or not at all)
enum alrp__st_int_kind { ALRP__ST_NOT_INT, ALRP__ST_I64, ALRP__ST_U64, ALRP__ST_I32, ALRP__ST_U32, ALRP__ST_I16,
                         ALRP__ST_U16, ALRP__ST_I8, ALRP__ST_U8, ALRP__ST_BOOL };

static enum alrp__st_int_kind alrp__st_int_kind(const char * dtype) {
    static const char * const names[] = { "I64", "U64", "I32", "U32", "I16", "U16", "I8", "U8", "BOOL" };
    for (int k = 0; k < (int) (sizeof(names) / sizeof(names[0])); k++) {
        if (strcmp(dtype, names[k]) == 0) return (enum alrp__st_int_kind) (k + 1);
    }
    return ALRP__ST_NOT_INT;
}

// element k of s (an integer dtype of that kind); *big is set, and 0 returned, for a U64 value
// above INT64_MAX
static int64_t alrp__st_int_at(const struct alrp_st_tensor * s, enum alrp__st_int_kind kind, int64_t k, int * big) {
    const uint8_t * p = (const uint8_t *) s->data;
    *big = 0;
    switch (kind) {   // memcpy: the data may be unaligned in files from other writers
        case ALRP__ST_I64: { int64_t  x; memcpy(&x, p + 8 * k, 8); return x; }
        case ALRP__ST_U64: { uint64_t x; memcpy(&x, p + 8 * k, 8); if (x > (uint64_t) INT64_MAX) { *big = 1; return 0; } return (int64_t) x; }
        case ALRP__ST_I32: { int32_t  x; memcpy(&x, p + 4 * k, 4); return x; }
        case ALRP__ST_U32: { uint32_t x; memcpy(&x, p + 4 * k, 4); return x; }
        case ALRP__ST_I16: { int16_t  x; memcpy(&x, p + 2 * k, 2); return x; }
        case ALRP__ST_U16: { uint16_t x; memcpy(&x, p + 2 * k, 2); return x; }
        case ALRP__ST_I8:  { int8_t   x; memcpy(&x, p + k, 1); return x; }
        default:           return p[k];   // U8, BOOL
    }
}

// s (of t's shape) into dst, t's I32 or I8 values, exactly: every value is checked before dst
// is written. 0, or -1 with a message.
static int alrp__st_load_int(const char * path, const struct alrp_st_tensor * s, const struct alrp_tensor * t, void * dst,
                             char * err, size_t err_size) {
    const int i32 = t->type == ALRP_TYPE_I32;
    const char * tt = i32 ? "I32" : "I8";
    const enum alrp__st_int_kind kind = alrp__st_int_kind(s->dtype);
    if (kind == ALRP__ST_NOT_INT) {
        alrp__st_errf(err, err_size, "%s: tensor '%s' is %s in the file, but an %s tensor takes only the integer dtypes "
                      "(I64 U64 I32 U32 I16 U16 I8 U8 BOOL)", path, alrp__st_q(t->name).s, s->dtype, tt);
        return -1;
    }
    int64_t lo = i32 ? INT32_MIN : INT8_MIN, hi = i32 ? INT32_MAX : INT8_MAX;
    if (kind == ALRP__ST_BOOL) { lo = 0; hi = 1; }   // a BOOL byte is 0 or 1
    int big;
    for (int64_t k = 0; k < s->numel; k++) {
        int64_t v = alrp__st_int_at(s, kind, k, &big);
        if (big || v < lo || v > hi) {
            char vs[32];
            if (big) { uint64_t x; memcpy(&x, (const uint8_t *) s->data + 8 * k, 8); snprintf(vs, sizeof vs, "%llu", (unsigned long long) x); }
            else snprintf(vs, sizeof vs, "%lld", (long long) v);
            alrp__st_errf(err, err_size, "%s: tensor '%s' (%s in the file) does not fit an %s tensor: element %lld is %s, "
                          "outside [%lld, %lld]", path, alrp__st_q(t->name).s, s->dtype, tt, (long long) k, vs, (long long) lo, (long long) hi);
            return -1;
        }
    }
    for (int64_t k = 0; k < s->numel; k++) {
        int64_t v = alrp__st_int_at(s, kind, k, &big);
        if (i32) ((int32_t *) dst)[k] = (int32_t) v;
        else     ((int8_t *) dst)[k] = (int8_t) v;
    }
    return 0;
}

ALRPDEF int alrp_load_tensors(struct alrp_backend * be, const char * path, int n, struct alrp_tensor * const * ts, bool allow_missing, char * err, size_t err_size) {
    struct alrp_st_file * f = alrp_st_load(path, err, err_size);
    if (!f) return -1;
    int loaded = 0;
    float * tmp = NULL;
    size_t tmp_size = 0;
    for (int i = 0; i < n; i++) {
        struct alrp_tensor * t = ts[i];
        const struct alrp_st_tensor * s = alrp_st_get(f, t->name);
        if (!s) {
            if (allow_missing) continue;
            alrp__st_errf(err, err_size, "%s: no tensor '%s' in the file (is it the right weights file?)", path, alrp__st_q(t->name).s);
            ALRP_FREE(tmp); alrp_st_close(f); return -1;
        }
        bool ok = s->numel == alrp_nelements(t) && (s->n_dims == t->n_dims || s->n_dims == 0);
        for (int d = 0; ok && d < s->n_dims; d++) ok = s->shape[d] == alrp_dim(t, d);
        if (!ok) {
            char sh[96], fs[160];
            int k = snprintf(fs, sizeof fs, "(");
            for (int d = 0; d < s->n_dims && k < (int) sizeof fs; d++) k += snprintf(fs + k, sizeof fs - (size_t) k, d ? ", %lld" : "%lld", (long long) s->shape[d]);
            if (k < (int) sizeof fs) snprintf(fs + k, sizeof fs - (size_t) k, ")");
            alrp__st_errf(err, err_size, "%s: tensor '%s' has shape %s in the file, the model expects %s", path, alrp__st_q(t->name).s, fs, alrp__shape_str(t, sh, sizeof sh));
            ALRP_FREE(tmp); alrp_st_close(f); return -1;
        }
        if (!alrp_is_contiguous(t) || !alrp__data_addr(t)) {
            alrp__st_errf(err, err_size, "%s: tensor '%s': the destination is not placed or not contiguous", path, alrp__st_q(t->name).s);
            ALRP_FREE(tmp); alrp_st_close(f); return -1;
        }
        if (t->type != ALRP_TYPE_F32 && t->type != ALRP_TYPE_I32 && t->type != ALRP_TYPE_I8) {
            alrp__st_errf(err, err_size, "%s: tensor '%s': the destination's type %d is not F32, I32 or I8", path, alrp__st_q(t->name).s, (int) t->type);
            ALRP_FREE(tmp); alrp_st_close(f); return -1;
        }
        if (alrp_nbytes(t) > tmp_size) {   // host staging, then one copy through the backend
            ALRP_FREE(tmp);
            tmp_size = alrp_nbytes(t);
            tmp = (float *) ALRP_MALLOC(tmp_size);
            if (!tmp) { alrp__st_errf(err, err_size, "%s: out of memory", path); alrp_st_close(f); return -1; }
        }
        if (t->type != ALRP_TYPE_F32) {
            if (alrp__st_load_int(path, s, t, tmp, err, err_size)) { ALRP_FREE(tmp); alrp_st_close(f); return -1; }
        } else if (alrp_st_to_f32(s, tmp) != 0) {
            alrp__st_errf(err, err_size, "%s: tensor '%s' (dtype %s) cannot be loaded as f32", path, alrp__st_q(t->name).s, s->dtype);
            ALRP_FREE(tmp); alrp_st_close(f); return -1;
        }
        if (be) alrp_backend_tensor_set(be, t, tmp, 0, alrp_nbytes(t));
        else memcpy(alrp__data_addr(t), tmp, alrp_nbytes(t));
        loaded++;
    }
    ALRP_FREE(tmp);
    alrp_st_close(f);
    return loaded;
}

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

ALRPDEF const char * alrp__kernel_info(int gemm[5]) {
    if (gemm) { gemm[0] = ALRP__GEMM_MR; gemm[1] = ALRP__GEMM_NR; gemm[2] = ALRP__GEMM_KC; gemm[3] = ALRP__GEMM_MC; gemm[4] = ALRP__GEMM_NC; }
    return ALRP_SIMD_NAME;
}

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
static inline void alrp__copy_f32(float * ALRP__RESTRICT d, const float * ALRP__RESTRICT s, int64_t n) {
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

// the fused epilogue on one value, rounded as the vector code does it (one FMA)
static inline float alrp__epi_one(float v, float s, float h, int relu) {
    v = fmaf(v, s, h);
    return relu && v < 0.0f ? 0.0f : v;
}

// Micro-kernel. a: packed A micro-panel (kc, MR); b: packed B micro-panel (kc, NR);
// c: C tile (mr, nr) with row stride ldc, mr <= MR and nr <= NR.
// c = alpha * a @ b + beta * c + bias[r] (bias: mr values or NULL; beta == 0: c not read),
// then, with es != NULL, c = c * es[r] + et[r] and max(c, 0) if relu (the fused epilogue).
// mr is a compile-time constant in each instance (alrp__ukr_1 ... alrp__ukr_MR below).
ALRP__FORCE_INLINE void alrp__ukr(const int mr, int64_t kc, const float * ALRP__RESTRICT a, const float * ALRP__RESTRICT b,
                                  float * ALRP__RESTRICT c, int64_t ldc, int nr, float alpha, float beta,
                                  const float * bias, const float * es, const float * et, int relu) {
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
                if (es) {
                    t = ALRP_F32_VEC_FMA(t, ALRP_F32_VEC_SET1(es[r]), ALRP_F32_VEC_SET1(et[r]));
                    if (relu) t = ALRP_F32_VEC_MAX(t, ALRP_F32_VEC_ZERO());
                }
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
            if (es) for (int j = 0; j < nr; j++) cp[j] = alrp__epi_one(cp[j], es[r], et[r], relu);
        }
    }
}

typedef void (*alrp__ukr_fn)(int64_t kc, const float * a, const float * b, float * c, int64_t ldc, int nr,
                             float alpha, float beta, const float * bias, const float * es, const float * et, int relu);
#define ALRP__UKR_DEF(R) \
    static void alrp__ukr_##R(int64_t kc, const float * a, const float * b, float * c, int64_t ldc, int nr, \
                              float alpha, float beta, const float * bias, const float * es, const float * et, int relu) { \
        alrp__ukr(R, kc, a, b, c, ldc, nr, alpha, beta, bias, es, et, relu); \
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
ALRP__FORCE_INLINE void alrp__gather_row(float * ALRP__RESTRICT d, const float * ALRP__RESTRICT row, int64_t w, int64_t iw0, int64_t s, int64_t run) {
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
static void alrp__pack_rows(float * ALRP__RESTRICT dst, int W, const float * ALRP__RESTRICT src, int64_t ld, int64_t w, int64_t kc) {
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
static void alrp__pack_cols(float * ALRP__RESTRICT dst, int W, const float * ALRP__RESTRICT src, int64_t ld, int64_t w, int64_t kc) {
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

static void alrp__pack_mat(const struct alrp__src * m, int64_t b1, int64_t b2, float * ALRP__RESTRICT dst,
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
static bool alrp__pack_im2col_avx512(const struct alrp__cgeo * g, const float * x, float * ALRP__RESTRICT d, int64_t p0, int64_t kc, int W,
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
static void alrp__pack_im2col(const struct alrp__cgeo * g, int64_t b1, int64_t b2, float * ALRP__RESTRICT dst,
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
static bool alrp__pack_colt_avx512(const struct alrp__cgeo * g, const float * xg, float * ALRP__RESTRICT dst,
                                   int64_t r0, int64_t nr, int64_t p0, int64_t kc, int W, float * ALRP__RESTRICT tmp) {
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
static void alrp__pack_colt(const struct alrp__cgeo * g, int64_t b2, float * ALRP__RESTRICT dst,
                            int64_t r0, int64_t nr, int64_t p0, int64_t kc, int W, float * ALRP__RESTRICT tmp) {
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
    // epilogue, applied once the whole K is in (after the bias): c = relu?(c * escale[r] + eshift[r]);
    // per row like the bias (group stride bias_s2); escale NULL: none
    const float * escale, * eshift;
    bool erelu;
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
static void alrp__pack_a_block(const struct alrp__src * a, int64_t b1, int64_t b2, float * ALRP__RESTRICT dst,
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
                            float * C, int64_t ldc, float beta0, const float * bias, bool epi, float * buf) {
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
                    const int64_t eo = b2 * op->bias_s2 + rs;
                    const float * es = epi && kb == kb1 - 1 ? op->escale + eo : NULL, * et = es ? op->eshift + eo : NULL;
                    float * crow = C + rs * ldc + jc;
                    for (int64_t jr = 0; jr < nc; jr += ALRP__GEMM_NR) {
                        const int nr = (int) ALRP_MIN(ALRP__GEMM_NR, nc - jr);
                        ukr(kc, a, pb + jr * kc, crow + jr, ldc, nr, op->alpha, beta, bi, es, et, op->erelu);
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
                            op->beta, op->bias ? op->bias + b2 * op->bias_s2 : NULL, op->escale && pl->tk == 1, buf);
        } else {
            float * part = pl->part + ((ik - 1) * nbatch + b) * op->M * op->N;
            alrp__gemm_tile(op, pl, b1, b2, pp0, pp1, j0, j1, kb0, kb1, part, op->N, 0.0f, NULL, false, buf);
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
        if (op->escale) {   // the epilogue, now that every K part is in
            const int64_t eo = (b % op->nb2) * op->bias_s2 + i;
            const float s = op->escale[eo], h = op->eshift[eo];
            for (int64_t j = 0; j < N; j++) c[j] = alrp__epi_one(c[j], s, h, op->erelu);
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

// y (N, O, OH, OW) = relu?(conv(x, w) * scale[o] + shift[o]): the affine and the ReLU in the
// GEMM's write-back (ALRP_OP_CONV2D_AFFINE)
static void alrp__conv2d_affine_f32(struct alrp_threadpool * tp, const struct alrp_conv2d_desc * d,
                                    const float * x, const float * w, const float * scale, const float * shift, bool relu,
                                    float * y, void * work) {
    alrp__conv_assert(d, "conv2d_affine");
    struct alrp__gemm_op op;
    struct alrp__cgeo geo;
    alrp__conv_make_op(d, ALRP__CONV_FWD, x, w, NULL, NULL, 0.0f, y, &op, &geo);
    op.bias_s2 = d->o / d->groups;
    op.escale = scale; op.eshift = shift; op.erelu = relu;
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
static inline void alrp__scatter_row_add(float * ALRP__RESTRICT row, int64_t w, int64_t iw0, int64_t s, const float * ALRP__RESTRICT src, int64_t run) {
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
                alrp__gemm_tile(&op, &pl, 0, 0, 0, pl.npan, 0, qn, 0, ALRP__CEILDIV(og, ALRP__GEMM_KC), col, qn, 0.0f, NULL, false, buf);
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
    const float  * loc_err;     // (P,) in index order of the positives, or (n / loc_group,) per anchor; or NULL
    int64_t        loc_group;   // 0: loc_err and grad_loc per positive; C: per anchor of C entries
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
    struct alrp__bump * ws;     // workspace to carve the arrays from, or NULL (malloc)
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
    struct alrp__bump * ws = r->ws;
    if (ws) {   // the caller's workspace first; what it lacks is counted, so that it can grow
        size_t sz = (size + 63) & ~(size_t) 63;
        ws->need += sz;
        if (ws->used + sz <= ws->size) { void * p = ws->base + ws->used; ws->used += sz; return p; }
    }
    void * p = ALRP_MALLOC(size > 0 ? size : 1);
    if (!p) {
        fprintf(stderr, "%s: out of memory (%zu bytes) for n = %lld, %lld positives\n",
                r->fname, size, (long long) r->n, (long long) r->P);
        return NULL;
    }
    list[(*n_list)++] = p;
    return p;
}

// where positive k's E_loc is in loc_err (and its gradient goes in grad_loc)
static inline int64_t alrp__rank_loc_at(const struct alrp__rank * r, int64_t k) {
    return r->loc_group ? r->pos_idx[k] / r->loc_group : k;
}

// The whole computation for both losses. Outputs: kind ALRP: out_a = loss_cls, out_b = loss_loc,
// grad_loc; kind AP: out_a = loss. rank (P,). Any output may be NULL. loc_group 0: loc_err and
// grad_loc hold one value per positive, in index order; loc_group C > 0: one per anchor of C
// entries (entry i belongs to anchor i / C), read only at the positives' anchors, and grad_loc
// (which the caller zeroes) accumulates there.
static int64_t alrp__rank_loss(struct alrp_threadpool * tp, enum alrp__rank_kind kind, const char * fname,
                               int64_t n, const float * logits, const int8_t * labels,
                               const float * loc_err, int64_t loc_group, float delta,
                               float * out_a, float * out_b, float * grad, float * grad_loc, float * rank_out,
                               struct alrp__bump * ws) {
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
    int64_t P = 0;                          // these are declared before the first goto (C++
    double loss_a = 0.0, loss_b = 0.0, inv_P; // forbids jumping over an initialisation)
    r->fname = fname; r->n = n; r->logits = logits; r->labels = labels; r->loc_err = loc_err; r->loc_group = loc_group;
    r->delta = (double) delta; r->inv2d = 0.5 / (double) delta;
    r->grad = grad;
    r->ws = ws;

    // blocks for the scan (P not known yet): the scan only needs per-block counts, and the
    // block size chosen below from P is a multiple of this one, so the counts are re-summed
    r->block = ALRP__RANK_BLOCK_MIN;
    r->n_blocks = (n + r->block - 1) / r->block;
    int64_t scan_blocks = r->n_blocks;
    if (!(r->blk_pos = (int64_t *) alrp__rank_alloc(r, mem, &n_mem, sizeof(int64_t) * (size_t) (scan_blocks + 1)))) goto done;
    if (!(r->blk_bad = (int64_t *) alrp__rank_alloc(r, mem, &n_mem, sizeof(int64_t) * (size_t) scan_blocks))) goto done;
    alrp_threadpool_run(tp, alrp__rank_scan, r);

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
            const int64_t j = alrp__rank_loc_at(r, k);
            if (!alrp__f32_is_finite(loc_err[j])) {
                fprintf(stderr, "%s: loc_err[%lld] = %g is not finite: check the box regression output\n",
                        fname, (long long) j, (double) loc_err[j]);
                goto done;
            }
        }
    }

    // sort the positives once: ascending logit, ties by index (a stable argsort)
    struct alrp__rank_key * keys;
    double * E, * S1, * SE, * SET, * rank_plus, * rank, * w, * hpe, * nfp;
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
        E[p] = (kind == ALRP__RANK_KIND_ALRP && loc_err) ? (double) loc_err[alrp__rank_loc_at(r, keys[p].k)] : 0.0;
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
    hpe = w;            // sum_{k != i} H(s_k - s_i) E_k, per sorted position (w reuses it below)
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
    nfp = r->d_c;            // reuse: position p < P after the scan below
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
    inv_P = 1.0 / (double) P;
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
            for (int64_t p = 0; p < P; p++) {
                acc += 1.0 / rank[p];
                if (loc_group) grad_loc[alrp__rank_loc_at(r, r->order[p])] += (float) (acc * inv_P);
                else grad_loc[r->order[p]] = (float) (acc * inv_P);
            }
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

// the graph ops' entry (ALRP_OP_ALRP_LOSS / AP_LOSS): arrays carved from ws first
static int64_t alrp__rank_loss_ws(struct alrp_threadpool * tp, bool alrp, int64_t n, const float * logits, const int8_t * labels,
                                  const float * loc_err, int64_t loc_group, float delta, float * out_a, float * out_b, float * grad,
                                  float * grad_loc, struct alrp__bump * ws) {
    return alrp__rank_loss(tp, alrp ? ALRP__RANK_KIND_ALRP : ALRP__RANK_KIND_AP, alrp ? "alrp_loss" : "ap_loss", n, logits, labels,
                           loc_err, loc_group, delta, out_a, out_b, grad, grad_loc, NULL, ws);
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
    return alrp__rank_loss(tp, ALRP__RANK_KIND_ALRP, "alrp_loss_alrp_f32", n, logits, labels, loc_err, 0, delta,
                           loss_cls, loss_loc, grad_logits, grad_loc, rank, NULL);
}

ALRPDEF int64_t alrp_loss_ap_f32_tp(struct alrp_threadpool * tp,
                                    int64_t n, const float * logits, const int8_t * labels,
                                    float delta, float * loss, float * grad_logits, float * rank) {
    return alrp__rank_loss(tp, ALRP__RANK_KIND_AP, "alrp_loss_ap_f32", n, logits, labels, NULL, 0, delta,
                           loss, NULL, grad_logits, NULL, rank, NULL);
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
ALRPDEF double alrp__focal_one(double x, double t, double alpha, double gamma, double * dldx) {
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

ALRPDEF int alrp_loss_sigmoid_focal_f32_tp(struct alrp_threadpool * tp, int64_t n,
                                           const float * logits, const float * targets,
                                           float alpha, float gamma,
                                           enum alrp_loss_reduction red, float * out) {
    const char * fn = "alrp_loss_sigmoid_focal_f32";
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

ALRPDEF int alrp_loss_sigmoid_focal_backward_f32_tp(struct alrp_threadpool * tp, int64_t n,
                                                    const float * logits, const float * targets,
                                                    float alpha, float gamma,
                                                    enum alrp_loss_reduction red,
                                                    const float * grad_out, float * grad_logits) {
    const char * fn = "alrp_loss_sigmoid_focal_backward_f32";
    if (alrp__loss_check(fn, n, logits, "logits", targets, "targets", red, grad_out, "grad_out") || alrp__focal_check(fn, alpha, gamma)) return -1;
    if (n > 0 && !grad_logits) { fprintf(stderr, "%s: grad_logits is NULL\n", fn); return -1; }
    struct alrp__focal_job j;
    memset(&j, 0, sizeof(j));
    j.n = n; j.x = logits; j.t = targets; j.alpha = alpha; j.gamma = gamma; j.red = red;
    j.grad_out = grad_out; j.grad = grad_logits;
    if (n > 0) alrp_threadpool_run(tp, alrp__focal_bwd_thread, &j);
    return 0;
}

ALRPDEF int alrp_loss_sigmoid_focal_f32(int64_t n, const float * logits, const float * targets,
                                        float alpha, float gamma, enum alrp_loss_reduction red,
                                        float * out) {
    return alrp_loss_sigmoid_focal_f32_tp(NULL, n, logits, targets, alpha, gamma, red, out);
}

ALRPDEF int alrp_loss_sigmoid_focal_backward_f32(int64_t n, const float * logits,
                                                 const float * targets, float alpha, float gamma,
                                                 enum alrp_loss_reduction red,
                                                 const float * grad_out, float * grad_logits) {
    return alrp_loss_sigmoid_focal_backward_f32_tp(NULL, n, logits, targets, alpha, gamma, red, grad_out, grad_logits);
}

// smooth L1 of one difference d; beta = 0 is L1. *g gets d(loss)/dd (sign(0) = 0)
ALRPDEF double alrp__smooth_l1_one(double d, double beta, double * g) {
    double ad = fabs(d);
    if (ad < beta) { *g = d / beta; return 0.5 * d * d / beta; }
    *g = (d > 0.0) - (d < 0.0);
    return ad - 0.5 * beta;
}

static void alrp__reduce_out(const double * vals_sum, int64_t n, enum alrp_loss_reduction red, float * out) {
    if (red == ALRP_LOSS_REDUCTION_SUM)  out[0] = (float) *vals_sum;
    if (red == ALRP_LOSS_REDUCTION_MEAN) out[0] = (float) (n > 0 ? *vals_sum / (double) n : 0.0);
}

ALRPDEF int alrp_loss_smooth_l1_f32(int64_t n, const float * pred, const float * target,
                                    float beta, enum alrp_loss_reduction red, float * out) {
    const char * fn = "alrp_loss_smooth_l1_f32";
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

ALRPDEF int alrp_loss_smooth_l1_backward_f32(int64_t n, const float * pred, const float * target,
                                             float beta, enum alrp_loss_reduction red,
                                             const float * grad_out, float * grad_pred) {
    const char * fn = "alrp_loss_smooth_l1_backward_f32";
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

ALRPDEF int alrp_loss_l1_f32(int64_t n, const float * pred, const float * target,
                             enum alrp_loss_reduction red, float * out) {
    return alrp_loss_smooth_l1_f32(n, pred, target, 0.0f, red, out);
}

ALRPDEF int alrp_loss_l1_backward_f32(int64_t n, const float * pred, const float * target,
                                      enum alrp_loss_reduction red,
                                      const float * grad_out, float * grad_pred) {
    return alrp_loss_smooth_l1_backward_f32(n, pred, target, 0.0f, red, grad_out, grad_pred);
}

// ---- GIoU loss -------------------------------------------------------------------------------

// d max(a, b)/da: 1, 1/2 at a tie, 0 (torch.maximum autograd); d min(a, b)/da likewise
static inline double alrp__dmax_a(double a, double b) { return a > b ? 1.0 : (a == b ? 0.5 : 0.0); }
static inline double alrp__dmin_a(double a, double b) { return a < b ? 1.0 : (a == b ? 0.5 : 0.0); }

// 1 - GIoU of one box pair; b, g are (4,) boxes (x1, y1, x2, y2). With gb / gg not NULL, adds
// go * d(loss)/db into gb (4,) and go * d(loss)/dg into gg (4,).
ALRPDEF double alrp__giou_one(const float * bf, const float * gf, double eps, double go, double * gb, double * gg) {
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

ALRPDEF int alrp_loss_giou_f32(int64_t n, const float * pred, const float * target, float eps,
                               enum alrp_loss_reduction red, float * out) {
    const char * fn = "alrp_loss_giou_f32";
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

ALRPDEF int alrp_loss_giou_backward_f32(int64_t n, const float * pred, const float * target,
                                        float eps, enum alrp_loss_reduction red,
                                        const float * grad_out, float * grad_pred,
                                        float * grad_target) {
    const char * fn = "alrp_loss_giou_backward_f32";
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

// One piece of s escaped for a message (at most 7 bytes into piece, *adv bytes of s consumed):
// control characters (C0, DEL, the C1 range U+0080..U+009F, U+2028, U+2029) as \n \t \r \b \f,
// \xNN or \uNNNN, a byte of invalid UTF-8 as \xNN, and (if backslash) '\' as \\. s is
// NUL-terminated and not at its end.
static size_t alrp__st_esc_piece(const char * s, int backslash, char * piece, size_t * adv) {
    const uint8_t c = (uint8_t) s[0];
    *adv = 1;
    if (c < 0x20 || c == 0x7f) {
        const char * named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        if (named) { memcpy(piece, named, 2); return 2; }
        snprintf(piece, 8, "\\x%02x", c);
        return 4;
    }
    if (c == '\\' && backslash) { memcpy(piece, "\\\\", 2); return 2; }
    if (c < 0x80) { piece[0] = (char) c; return 1; }
    size_t l = alrp__utf8_len((const uint8_t *) s, 4);   // stops at the NUL: it is no continuation byte
    if (l == 0) { snprintf(piece, 8, "\\x%02x", c); return 4; }
    uint32_t u = l == 2 ? ((uint32_t) (c & 0x1F) << 6) | ((uint8_t) s[1] & 0x3F)
               : l == 3 ? ((uint32_t) (c & 0x0F) << 12) | ((uint32_t) ((uint8_t) s[1] & 0x3F) << 6) | ((uint8_t) s[2] & 0x3F)
               : 0x10000;   // 4 bytes: never a control character
    *adv = l;
    if (u <= 0x9F || u == 0x2028 || u == 0x2029) { snprintf(piece, 8, "\\u%04x", (unsigned) u); return 6; }
    memcpy(piece, s, l);
    return l;
}

// s escaped (as above) into out (cap bytes, NUL-terminated); if the escaped form does not fit,
// its start (cut between pieces) and "...".
static void alrp__st_esc(char * out, size_t cap, const char * s, int backslash) {
    char piece[8];
    size_t adv, need = 0;
    if (cap == 0) return;
    for (const char * q = s; *q && need < cap; q += adv) need += alrp__st_esc_piece(q, backslash, piece, &adv);
    const size_t room = need < cap ? cap - 1 : (cap > 4 ? cap - 4 : 0);   // leaves room for "..."
    size_t o = 0;
    for (const char * q = s; *q; q += adv) {
        size_t l = alrp__st_esc_piece(q, backslash, piece, &adv);
        if (o + l > room) break;
        memcpy(out + o, piece, l);
        o += l;
    }
    if (need >= cap && cap > 4) { memcpy(out + o, "...", 3); o += 3; }
    out[o] = '\0';
}

// A name, dtype or key from a file (or a caller) as it is quoted in a message: escaped (a
// backslash too) and cut to fit. The result is a temporary whose .s lives until the end of the
// full expression, so alrp__st_errf(err, n, "'%s'", alrp__st_q(name).s) is fine (C11 6.2.4p8).
static struct alrp__st_quoted alrp__st_q(const char * s) {
    struct alrp__st_quoted q;
    alrp__st_esc(q.s, sizeof(q.s), s ? s : "(null)", 1);
    return q;
}

// a one-line message into err: whatever the arguments hold (a path with a newline, say), any
// control character left is escaped
static void alrp__st_errf(char * err, size_t err_size, const char * fmt, ...) {
    if (!err || err_size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    char piece[8];
    size_t adv, k = 0;
    while (err[k]) {
        if (alrp__st_esc_piece(err + k, 0, piece, &adv) != adv || memcmp(piece, err + k, adv) != 0) break;
        k += adv;
    }
    if (!err[k]) return;
    size_t n = strlen(err);
    char * copy = (char *) ALRP_MALLOC(n + 1);
    if (!copy) {   // out of memory: blank them out
        for (; err[k]; k++) if ((uint8_t) err[k] < 0x20 || (uint8_t) err[k] == 0x7f) err[k] = '?';
        return;
    }
    memcpy(copy, err, n + 1);
    alrp__st_esc(err, err_size, copy, 0);
    ALRP_FREE(copy);
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

#ifndef ALRP__ST_STATS_DECLARED   // (declared with the ALRP_INTERNAL block when that was on)
struct alrp__st_stats { uint64_t key_cmps; };
ALRPDEF void alrp__st_file_stats(const struct alrp_st_file * f, struct alrp__st_stats * out);
ALRPDEF int  alrp__st_save_ex(const char * path, int n, const struct alrp_st_tensor * tensors, const char * const * metadata,
                              char * err, size_t err_size, struct alrp__st_stats * stats);
#endif


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
    int                   * meta_order; // the entries in key order (for alrp_st_metadata)
    char                  * scratch;    // decoded JSON strings
    struct alrp__st_stats   stats;
};

ALRPDEF void alrp__st_file_stats(const struct alrp_st_file * f, struct alrp__st_stats * out) { *out = f->stats; }

ALRPDEF void alrp_st_close(struct alrp_st_file * f) {
    if (!f) return;
    ALRP_FREE(f->block);
    ALRP_FREE(f->tensors);
    ALRP_FREE(f->offs);
    ALRP_FREE(f->by_name);
    ALRP_FREE(f->meta);
    ALRP_FREE(f->meta_order);
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

// Sorts the n keys keys[0], keys[stride], keys[2 * stride], ...: order[0..n) gets their
// indices in strcmp order (a bottom-up merge sort: n log2 n comparisons at most, each counted in
// *cmps). Then looks for two equal keys, which are neighbours in that order. Returns the index
// of a key that appears twice (the smallest such key), -1 if all differ, -2 out of memory.
static int alrp__st_sort_keys(const char * const * keys, size_t stride, int n, int * order, uint64_t * cmps) {
    int * tmp = (int *) ALRP_MALLOC(sizeof(int) * (n > 0 ? (size_t) n : 1));
    if (!tmp) return -2;
    for (int k = 0; k < n; k++) order[k] = k;
    int * src = order, * dst = tmp;
    const size_t m = n > 0 ? (size_t) n : 0;
    for (size_t w = 1; w < m; w *= 2) {   // merge runs of w into runs of 2 w
        for (size_t lo = 0; lo < m; lo += 2 * w) {
            size_t mid = lo + w < m ? lo + w : m, hi = lo + 2 * w < m ? lo + 2 * w : m;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi) {
                ++*cmps;
                dst[o++] = strcmp(keys[(size_t) src[j] * stride], keys[(size_t) src[i] * stride]) < 0 ? src[j++] : src[i++];
            }
            while (i < mid) dst[o++] = src[i++];
            while (j < hi)  dst[o++] = src[j++];
        }
        int * t = src; src = dst; dst = t;
    }
    if (src != order) memcpy(order, src, sizeof(int) * (size_t) n);
    ALRP_FREE(tmp);
    for (int k = 1; k < n; k++) {
        ++*cmps;
        if (strcmp(keys[(size_t) order[k - 1] * stride], keys[(size_t) order[k] * stride]) == 0) return order[k];
    }
    return -1;
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
                if (alrp__st_grow((void **) &f->meta, &cap_m, 2 * (f->n_meta + 1), sizeof(const char *))) {
                    alrp__st_errf(err, err_size, "%s: out of memory", label); return -1;
                }
                f->meta[2 * f->n_meta] = mk; f->meta[2 * f->n_meta + 1] = mv; f->n_meta++;
                if ((mmore = alrp__jp_next_member(&jp)) < 0) return -1;
            }
            f->meta_order = (int *) ALRP_MALLOC(sizeof(int) * (f->n_meta > 0 ? (size_t) f->n_meta : 1));
            int dup = f->meta_order ? alrp__st_sort_keys(f->meta, 2, f->n_meta, f->meta_order, &f->stats.key_cmps) : -2;
            if (dup == -2) { alrp__st_errf(err, err_size, "%s: out of memory", label); return -1; }
            if (dup >= 0) {
                alrp__st_errf(err, err_size, "%s: \"__metadata__\" key '%s' appears twice", label, alrp__st_q(f->meta[2 * dup]).s);
                return -1;
            }
        } else {
            if (key_len >= ALRP_ST_MAX_NAME) {
                alrp__st_errf(err, err_size, "%s: tensor name '%s' is %zu bytes long, at most %d are supported",
                              label, alrp__st_q(key).s, key_len, ALRP_ST_MAX_NAME - 1);
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
                        alrp__st_errf(err, err_size, "%s: tensor '%s': unknown dtype '%s' (known: F64 F32 F16 BF16 "
                                      "I64 I32 I16 I8 U64 U32 U16 U8 BOOL)", label, alrp__st_q(t->name).s, alrp__st_q(dt).s);
                        return -1;
                    }
                    memcpy(t->dtype, dt, dt_len + 1);
                    has_dtype = 1;
                } else if (strcmp(fk, "shape") == 0 && !has_shape) {
                    int64_t dims[ALRP_ST_MAX_DIMS];
                    int nd, rc = alrp__jp_uint_array(&jp, dims, ALRP_ST_MAX_DIMS, &nd);
                    if (rc == -2) {
                        alrp__st_errf(err, err_size, "%s: tensor '%s': shape has more than %d dims (at most %d are "
                                      "supported)", label, alrp__st_q(t->name).s, ALRP_ST_MAX_DIMS, ALRP_ST_MAX_DIMS);
                    }
                    if (rc) return -1;
                    t->n_dims = nd;
                    memcpy(t->shape, dims, sizeof(int64_t) * (size_t) nd);
                    has_shape = 1;
                } else if (strcmp(fk, "data_offsets") == 0 && !has_offs) {
                    int no, rc = alrp__jp_uint_array(&jp, offs, 2, &no);
                    if (rc == -2 || (rc == 0 && no != 2)) {
                        alrp__st_errf(err, err_size, "%s: tensor '%s': data_offsets must hold exactly 2 integers",
                                      label, alrp__st_q(t->name).s);
                        return -1;
                    }
                    if (rc) return -1;
                    has_offs = 1;
                } else if (strcmp(fk, "dtype") == 0 || strcmp(fk, "shape") == 0 || strcmp(fk, "data_offsets") == 0) {
                    alrp__st_errf(err, err_size, "%s: tensor '%s': field \"%s\" appears twice", label, alrp__st_q(t->name).s, fk);
                    return -1;
                } else {
                    alrp__st_errf(err, err_size, "%s: tensor '%s': unknown field \"%s\" (expected dtype, shape, "
                                  "data_offsets)", label, alrp__st_q(t->name).s, alrp__st_q(fk).s);
                    return -1;
                }
                if ((tmore = alrp__jp_next_member(&jp)) < 0) return -1;
            }
            if (!has_dtype || !has_shape || !has_offs) {
                alrp__st_errf(err, err_size, "%s: tensor '%s': missing \"%s\"", label, alrp__st_q(t->name).s,
                              !has_dtype ? "dtype" : !has_shape ? "shape" : "data_offsets");
                return -1;
            }
            t->numel = alrp__st_numel(t->n_dims, t->shape);
            int64_t es = alrp_st_dtype_size(t->dtype);
            if (t->numel < 0 || t->numel > INT64_MAX / es) {
                alrp__st_errf(err, err_size, "%s: tensor '%s': shape overflows 64-bit sizes", label, alrp__st_q(t->name).s);
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
                          alrp__st_q(t->name).s, (unsigned long long) b, (unsigned long long) e);
            return -1;
        }
        if (e > f->data_size) {
            alrp__st_errf(err, err_size, "%s: tensor '%s': data_offsets [%llu, %llu] exceed the data section (%llu bytes)"
                          "; the file is truncated or corrupt", label, alrp__st_q(t->name).s, (unsigned long long) b,
                          (unsigned long long) e, (unsigned long long) f->data_size);
            return -1;
        }
        if (e - b != (uint64_t) t->nbytes) {
            alrp__st_fmt_shape(sh, sizeof(sh), t);
            alrp__st_errf(err, err_size, "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but shape %s of %s "
                          "needs %llu", label, alrp__st_q(t->name).s, (unsigned long long) b, (unsigned long long) e,
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
                          alrp__st_q(f->tensors[p->idx].name).s, (unsigned long long) p->begin, (unsigned long long) p->end,
                          alrp__st_q(f->tensors[sp[k].idx].name).s, (unsigned long long) sp[k].begin, (unsigned long long) sp[k].end);
            bad = 1;
        } else if (sp[k].begin > pos) {
            alrp__st_errf(err, err_size, "%s: data section bytes [%llu, %llu) belong to no tensor (before '%s')", label,
                          (unsigned long long) pos, (unsigned long long) sp[k].begin, alrp__st_q(f->tensors[sp[k].idx].name).s);
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
    }
    ALRP_FREE(sp);
    ALRP_FREE(f->tensors); f->tensors = ts;
    ALRP_FREE(f->offs);    f->offs = os;
    // index the names: sorted, so that alrp_st_get is a binary search and a name twice is found
    const char ** names = (const char **) ALRP_MALLOC(sizeof(*names) * cnt);
    int * order = (int *) ALRP_MALLOC(sizeof(int) * cnt);
    if (!names || !order) {
        ALRP_FREE(names); ALRP_FREE(order);
        alrp__st_errf(err, err_size, "%s: out of memory", label);
        return -1;
    }
    names[0] = NULL;   // for n == 0 (GCC's -Wmaybe-uninitialized)
    for (int k = 0; k < n; k++) names[k] = ts[k].name;
    int dup = alrp__st_sort_keys(names, 1, n, order, &f->stats.key_cmps);
    for (int k = 0; k < n && dup == -1; k++) f->by_name[k] = &ts[order[k]];
    ALRP_FREE(names); ALRP_FREE(order);
    if (dup == -2) { alrp__st_errf(err, err_size, "%s: out of memory", label); return -1; }
    if (dup >= 0) {
        alrp__st_errf(err, err_size, "%s: tensor '%s' appears twice in the header", label, alrp__st_q(ts[dup].name).s);
        return -1;
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
    int lo = 0, hi = f->n_meta - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, k = f->meta_order[mid];
        int c = strcmp(f->meta[2 * k], key);
        if (c == 0) return f->meta[2 * k + 1];
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
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
    return alrp__st_save_ex(path, n, tensors, metadata, err, err_size, NULL);
}

ALRPDEF int alrp__st_save_ex(const char * path, int n, const struct alrp_st_tensor * tensors, const char * const * metadata,
                             char * err, size_t err_size, struct alrp__st_stats * stats) {
    struct alrp__st_stats dummy;
    if (!stats) stats = &dummy;
    memset(stats, 0, sizeof(*stats));
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
            alrp__st_errf(err, err_size, "%s: tensor %d: name '%s' is reserved or not valid UTF-8", path, k, alrp__st_q(t->name).s);
            return -1;
        }
        if (!memchr(t->dtype, '\0', sizeof(t->dtype)) || alrp_st_dtype_size(t->dtype) == 0) {
            char dt[sizeof(t->dtype) + 1];
            memcpy(dt, t->dtype, sizeof(t->dtype)); dt[sizeof(t->dtype)] = '\0';
            alrp__st_errf(err, err_size, "%s: tensor '%s': unknown dtype '%s'", path, alrp__st_q(t->name).s, alrp__st_q(dt).s);
            return -1;
        }
        if (t->n_dims < 0 || t->n_dims > ALRP_ST_MAX_DIMS) {
            alrp__st_errf(err, err_size, "%s: tensor '%s': n_dims %d is outside 0..%d", path, alrp__st_q(t->name).s, t->n_dims, ALRP_ST_MAX_DIMS);
            return -1;
        }
        int64_t numel = alrp__st_numel(t->n_dims, t->shape);
        if (numel < 0 || numel > INT64_MAX / alrp_st_dtype_size(t->dtype)) {
            alrp__st_errf(err, err_size, "%s: tensor '%s': negative or overflowing shape", path, alrp__st_q(t->name).s);
            return -1;
        }
        if (numel > 0 && !t->data) {
            alrp__st_errf(err, err_size, "%s: tensor '%s': NULL data for %lld elements", path, alrp__st_q(t->name).s, (long long) numel);
            return -1;
        }
    }
    for (int k = 0; metadata && metadata[k]; k += 2) {
        if (!metadata[k + 1]) {
            alrp__st_errf(err, err_size, "%s: metadata key '%s' has a NULL value (the list is key, value, ..., NULL)", path, alrp__st_q(metadata[k]).s);
            return -1;
        }
        if (!alrp__utf8_valid(metadata[k]) || !alrp__utf8_valid(metadata[k + 1])) {
            alrp__st_errf(err, err_size, "%s: metadata '%s' is not valid UTF-8", path, alrp__st_q(metadata[k]).s);
            return -1;
        }
    }
    {   // names and metadata keys must differ: sorted, equal ones are neighbours
        int n_meta = 0;
        while (metadata && metadata[2 * n_meta]) n_meta++;
        int most = n > n_meta ? n : n_meta;
        const char ** names = (const char **) ALRP_MALLOC(sizeof(*names) * (most > 0 ? (size_t) most : 1));
        int * order = (int *) ALRP_MALLOC(sizeof(int) * (most > 0 ? (size_t) most : 1));
        if (!names || !order) {
            ALRP_FREE(names); ALRP_FREE(order);
            alrp__st_errf(err, err_size, "%s: out of memory", path);
            return -1;
        }
        names[0] = NULL;   // for n == 0 (GCC's -Wmaybe-uninitialized)
        for (int k = 0; k < n; k++) names[k] = tensors[k].name;
        int dup = alrp__st_sort_keys(names, 1, n, order, &stats->key_cmps), dup_meta = -1;
        if (dup == -1) dup_meta = alrp__st_sort_keys(metadata, 2, n_meta, order, &stats->key_cmps);
        ALRP_FREE(names); ALRP_FREE(order);
        if (dup == -2 || dup_meta == -2) { alrp__st_errf(err, err_size, "%s: out of memory", path); return -1; }
        if (dup >= 0) {
            alrp__st_errf(err, err_size, "%s: tensor name '%s' is used twice", path, alrp__st_q(tensors[dup].name).s);
            return -1;
        }
        if (dup_meta >= 0) {
            alrp__st_errf(err, err_size, "%s: metadata key '%s' appears twice", path, alrp__st_q(metadata[2 * dup_meta]).s);
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
    int rc = -1, werr;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        alrp__st_errf(err, err_size, "%s: cannot create: %s (does the folder exist and is it writable?)", tmp, strerror(errno));
        goto done;
    }
    uint8_t len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (uint8_t) ((uint64_t) h.n >> (8 * k));
    werr = alrp__write_all(fd, len8, 8) || alrp__write_all(fd, h.p, h.n);
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
// Naive references (declared under ALRP_INTERNAL): PyTorch's single-tensor loops, one rounding
// per tensor op, in its order.

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
#ifdef ALRP_F32_VEC_SQRT
    const ALRP_F32_VEC decay = ALRP_F32_VEC_SET1(k.decay);
    const ALRP_F32_VEC b1 = ALRP_F32_VEC_SET1(k.b1), omb1 = ALRP_F32_VEC_SET1(k.omb1);
    const ALRP_F32_VEC b2 = ALRP_F32_VEC_SET1(k.b2), omb2 = ALRP_F32_VEC_SET1(k.omb2);
    const ALRP_F32_VEC nss = ALRP_F32_VEC_SET1(-k.step_size), bc2 = ALRP_F32_VEC_SET1(k.bc2_sqrt);
    const ALRP_F32_VEC epsv = ALRP_F32_VEC_SET1(k.eps);
    for (; i + ALRP_F32_EPR <= n; i += ALRP_F32_EPR) {
        ALRP_F32_VEC gv = ALRP_F32_VEC_LOAD(g + i);
        ALRP_F32_VEC mv = ALRP_F32_VEC_FMA(gv, omb1, ALRP_F32_VEC_MUL(ALRP_F32_VEC_LOAD(m + i), b1));
        ALRP_F32_VEC vv = ALRP_F32_VEC_FMA(ALRP_F32_VEC_MUL(gv, omb2), gv, ALRP_F32_VEC_MUL(ALRP_F32_VEC_LOAD(v + i), b2));
        ALRP_F32_VEC den = ALRP_F32_VEC_ADD(ALRP_F32_VEC_DIV(ALRP_F32_VEC_SQRT(vv), bc2), epsv);
        ALRP_F32_VEC pv = ALRP_F32_VEC_MUL(ALRP_F32_VEC_LOAD(p + i), decay);
        ALRP_F32_VEC_STORE(m + i, mv);
        ALRP_F32_VEC_STORE(v + i, vv);
        ALRP_F32_VEC_STORE(p + i, ALRP_F32_VEC_FMA(ALRP_F32_VEC_DIV(mv, den), nss, pv));
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
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 the alrp.h authors
Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain.
Anyone is free to copy, modify, publish, use, compile, sell, or distribute this
software, either in source code form or as a compiled binary, for any purpose,
commercial or non-commercial, and by any means.
In jurisdictions that recognize copyright laws, the author or authors of this
software dedicate any and all copyright interest in the software to the public
domain. We make this dedication for the benefit of the public at large and to
the detriment of our heirs and successors. We intend this dedication to be an
overt act of relinquishment in perpetuity of all present and future rights to
this software under copyright law.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN
ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------
*/
