// alrp-cuda.cu - the CUDA backend of alrp.h: device buffers from a caching pool, copies on one
// stream, and every op of the CPU backend (forward and backward) as CUDA kernels and cuBLAS
// GEMMs. Design and status: docs/cuda.md. Public API: alrp-cuda.h.
//
// The file has three parts:
//   1. kernel bodies: __host__ __device__ functions of their indices (ALRP_HD), and the dispatch
//      (alrp_cu__node), a template over an "executor" that launches them. Everything in part 1
//      is plain C++17 as well: compiled by g++ with -DALRP_CUDA_HOST_ONLY it runs on the host;
//   2. (ALRP_CUDA_HOST_ONLY) the host executor: the launch grid emulated with loops, cuBLAS's
//      column-major GEMM as a naive loop, atomics as plain adds, host memory as device memory;
//      alrp_backend_cuda_host_init wraps it as a backend, so that tests/test-backend-ops runs
//      the whole op table through the CUDA dispatch and kernel bodies on a machine with no GPU;
//   3. (nvcc) the CUDA executor and backend: kernels launched on one stream, cuBLAS on the
//      same stream, a caching pool over cudaMalloc, optional CUDA-graph capture.
//
// Build: nvcc -std=c++17 --extended-lambda -c alrp-cuda.cu (the Makefile adds -gencode and
// warnings as errors), or g++ -std=c++17 -x c++ -DALRP_CUDA_HOST_ONLY -c alrp-cuda.cu.

#include "alrp-cuda.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__CUDACC__) && !defined(ALRP_CUDA_HOST_ONLY)
#define ALRP_HD __host__ __device__
#include <cuda_runtime.h>
#include <cublas_v2.h>
#else
#define ALRP_HD
#endif
#if defined(__CUDACC__) && defined(ALRP_CUDA_HOST_ONLY)
#error "ALRP_CUDA_HOST_ONLY is for the host compiler (g++ -x c++), not nvcc"
#endif
// a kernel body as a lambda: the element (or chunk) index in, nothing out
#define ALRP_CU_LAMBDA [=] ALRP_HD

// ============================================================================================
// ===== part 1: kernel bodies and dispatch (host and device)
// ============================================================================================

#define ALRP_CU_BLOCK 256             // threads per block
#define ALRP_CU_CHUNK 4096            // elements per partial sum of the chunked reductions
#define ALRP_CU_SCAN_CHUNK 256        // elements per chunk of the scans
#define ALRP_CU_MAX_POS (1 << 20)     // positives of one ranking-loss call (more: FAILED)
#define ALRP_CU_RANK_CHUNK 1024       // entries per chunk of the ranking loss's count / gather
#define ALRP_CU_RANK_THREADS 65536    // virtual threads of the ranking loss's negative passes

// error codes a kernel leaves in the error word (the first one wins; the node index is in the
// bits above the low 4: tag = node << 4); checked after the graph
enum { ALRP_CU_OK = 0, ALRP_CU_ERR_LABEL = 1, ALRP_CU_ERR_NONFINITE = 2, ALRP_CU_ERR_LOC = 3, ALRP_CU_ERR_INDEX = 4, ALRP_CU_ERR_TOO_MANY_POS = 5 };

static float alrp_cu__opf(const struct alrp_tensor * t, int i) { float v; memcpy(&v, &t->op_params[i], sizeof v); return v; }
static size_t alrp_cu__es(enum alrp_type type) { return type == ALRP_TYPE_I8 ? 1 : 4; }

ALRP_HD static inline bool alrp_cu__isfinite(float v) { return v - v == 0.0f; }
ALRP_HD static inline bool alrp_cu__isnan(float v) { return v != v; }

// atomics: device atomics, plain read-modify-write on the host (the emulation is serial)
ALRP_HD static inline void alrp_cu__atomic_add_f(float * p, float v) {
#ifdef __CUDA_ARCH__
    atomicAdd(p, v);
#else
    *p += v;
#endif
}
ALRP_HD static inline void alrp_cu__atomic_add_d(double * p, double v) {
#ifdef __CUDA_ARCH__
    atomicAdd(p, v);
#else
    *p += v;
#endif
}
ALRP_HD static inline void alrp_cu__atomic_add_i(int32_t * p, int32_t v) {
#ifdef __CUDA_ARCH__
    atomicAdd((int *) p, (int) v);
#else
    *p = (int32_t) ((uint32_t) *p + (uint32_t) v);   // wrapping, as int32 tensors add
#endif
}
// a byte add through a compare-and-swap of the aligned 32-bit word that holds it
ALRP_HD static inline void alrp_cu__atomic_add_i8(int8_t * p, int8_t v) {
#ifdef __CUDA_ARCH__
    unsigned int * w = (unsigned int *) ((uintptr_t) p & ~(uintptr_t) 3);
    unsigned int sh = (unsigned int) (((uintptr_t) p & 3) * 8), old = *w, assumed;
    do {
        assumed = old;
        unsigned int b = ((assumed >> sh) + (unsigned int) (uint8_t) v) & 0xFFu;
        old = atomicCAS(w, assumed, (assumed & ~(0xFFu << sh)) | (b << sh));
    } while (old != assumed);
#else
    *p = (int8_t) (uint8_t) ((uint8_t) *p + (uint8_t) v);
#endif
}
// the first error code wins
ALRP_HD static inline void alrp_cu__set_err(int32_t * err, int32_t code) {
#ifdef __CUDA_ARCH__
    atomicCAS((int *) err, 0, (int) code);
#else
    if (*err == 0) *err = code;
#endif
}

// a launch over n indices, [0, n): the body f(i) for every index, each once. The grid is
// grid-stride: block b of nb, thread t of nt, covers i = b * nt + t, then + nb * nt, ...
// (the host emulation uses few blocks, so the stride loop itself is exercised).
template <class F> ALRP_HD static inline void alrp_cu__grid_loop(const F & f, int64_t n, int64_t b, int64_t nb, int64_t t, int64_t nt) {
    for (int64_t i = b * nt + t; i < n; i += nb * nt) f(i);
}

// shape and strides (elements) of a tensor, by value into kernels; logical index -> offset
struct alrp_cu__t4 { int64_t ne[4], nb[4]; };
static struct alrp_cu__t4 alrp_cu__t4_of(const struct alrp_tensor * t) {
    struct alrp_cu__t4 s;
    for (int d = 0; d < 4; d++) { s.ne[d] = t->ne[d]; s.nb[d] = t->nb[d]; }
    return s;
}
// t's strides over the shape `shape` (broadcast: stride 0 where t has size 1)
static struct alrp_cu__t4 alrp_cu__t4_bcast(const struct alrp_tensor * t, const struct alrp_tensor * shape) {
    struct alrp_cu__t4 s;
    for (int d = 0; d < 4; d++) { s.ne[d] = shape->ne[d]; s.nb[d] = t->ne[d] == 1 ? 0 : t->nb[d]; }
    return s;
}
ALRP_HD static inline int64_t alrp_cu__offs(const struct alrp_cu__t4 & s, int64_t i) {
    int64_t i3 = i % s.ne[3], r = i / s.ne[3];
    int64_t i2 = r % s.ne[2]; r /= s.ne[2];
    int64_t i1 = r % s.ne[1], i0 = r / s.ne[1];
    return i0 * s.nb[0] + i1 * s.nb[1] + i2 * s.nb[2] + i3 * s.nb[3];
}

// ---- element-wise bodies (index i of the output) -------------------------------------------
ALRP_HD static inline void alrp_cu__k_fill(void * y, int type, float v, int64_t i) {
    if (type == ALRP_TYPE_I32) ((int32_t *) y)[i] = (int32_t) v;
    else if (type == ALRP_TYPE_I8) ((int8_t *) y)[i] = (int8_t) v;
    else ((float *) y)[i] = v;
}
// y (contiguous) <- x (strided s); es bytes per element (4 or 1)
ALRP_HD static inline void alrp_cu__k_copy(void * y, const void * x, const struct alrp_cu__t4 & s, int es, int64_t i) {
    int64_t o = alrp_cu__offs(s, i);
    if (es == 4) ((uint32_t *) y)[i] = ((const uint32_t *) x)[o];
    else ((uint8_t *) y)[i] = ((const uint8_t *) x)[o];
}
ALRP_HD static inline void alrp_cu__k_binary(int op, float * y, const float * a, const struct alrp_cu__t4 & sa,
                                             const float * b, const struct alrp_cu__t4 & sb, int64_t i) {
    float u = a[alrp_cu__offs(sa, i)], v = b[alrp_cu__offs(sb, i)];
    switch (op) {
    case ALRP_OP_ADD: y[i] = u + v; break;
    case ALRP_OP_SUB: y[i] = u - v; break;
    case ALRP_OP_MUL: y[i] = u * v; break;
    default:          y[i] = u / v; break;
    }
}
ALRP_HD static inline float alrp_cu__sigmoid(float x) { return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }
ALRP_HD static inline void alrp_cu__k_unary(int op, float * y, const float * x, int64_t i) {
    float v = x[i];
    switch (op) {
    case ALRP_UNARY_NEG:     y[i] = -v; break;
    case ALRP_UNARY_EXP:     y[i] = expf(v); break;
    case ALRP_UNARY_LOG:     y[i] = logf(v); break;
    case ALRP_UNARY_RELU:    y[i] = v > 0.0f ? v : 0.0f; break;
    case ALRP_UNARY_SIGMOID: y[i] = alrp_cu__sigmoid(v); break;
    case ALRP_UNARY_SQR:     y[i] = v * v; break;
    default:                 y[i] = sqrtf(v); break;
    }
}
// dx from dy and x (LOG, SQR) or y = f(x) (the others)
ALRP_HD static inline void alrp_cu__k_unary_back(int op, float * dx, const float * dy, const float * x, const float * y, int64_t i) {
    switch (op) {
    case ALRP_UNARY_NEG:     dx[i] = -dy[i]; break;
    case ALRP_UNARY_EXP:     dx[i] = dy[i] * y[i]; break;
    case ALRP_UNARY_LOG:     dx[i] = dy[i] / x[i]; break;
    case ALRP_UNARY_RELU:    dx[i] = y[i] > 0.0f ? dy[i] : 0.0f; break;
    case ALRP_UNARY_SIGMOID: dx[i] = dy[i] * y[i] * (1.0f - y[i]); break;
    case ALRP_UNARY_SQR:     dx[i] = 2.0f * x[i] * dy[i]; break;
    default:                 dx[i] = 0.5f * dy[i] / y[i]; break;
    }
}
ALRP_HD static inline void alrp_cu__k_clamp(float * y, const float * x, float lo, float hi, int64_t i) {
    y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
}
ALRP_HD static inline void alrp_cu__k_clamp_back(float * dx, const float * dy, const float * x, float lo, float hi, int64_t i) {
    dx[i] = (x[i] >= lo && x[i] <= hi) ? dy[i] : 0.0f;
}

// ---- reductions: output o, reduced index r -> the input offset ------------------------------
// SUM_TO: out shape so, input strides nb and the extents rn of the reduced dims (1 elsewhere)
struct alrp_cu__sumto { struct alrp_cu__t4 so; int64_t nb[4], rn[4]; };
ALRP_HD static inline int64_t alrp_cu__sumto_offs(const struct alrp_cu__sumto & s, int64_t o, int64_t r) {
    int64_t off = 0, ro = o, rr = r;
    for (int d = 3; d >= 0; d--) {
        int64_t io = ro % s.so.ne[d], ir = rr % s.rn[d];
        ro /= s.so.ne[d]; rr /= s.rn[d];
        off += (s.so.ne[d] == 1 ? ir : io) * s.nb[d];
    }
    return off;
}
// batch norm: element r of channel c in an (N, C, HW) tensor
ALRP_HD static inline int64_t alrp_cu__bn_offs(int64_t C, int64_t HW, int64_t c, int64_t r) { return (r / HW * C + c) * HW + r % HW; }

// ---- pools and upsample ---------------------------------------------------------------------
// the first maximum of the window of output (oy, ox) in row-major window order (NaN wins); -1
// when the window lies wholly in the padding
ALRP_HD static inline int64_t alrp_cu__pool_arg(const float * xp, int64_t H, int64_t W, int k, int s, int pad, int64_t oy, int64_t ox, float * best_out) {
    float best = -INFINITY; int64_t arg = -1;
    for (int ky = 0; ky < k; ky++) {
        int64_t iy = oy * s - pad + ky;
        if (iy < 0 || iy >= H) continue;
        for (int kx = 0; kx < k; kx++) {
            int64_t ix = ox * s - pad + kx;
            if (ix < 0 || ix >= W) continue;
            float v = xp[iy * W + ix];
            if (v > best || arg < 0 || alrp_cu__isnan(v)) { best = v; arg = iy * W + ix; if (alrp_cu__isnan(v)) { *best_out = best; return arg; } }
        }
    }
    *best_out = best;
    return arg;
}
ALRP_HD static inline void alrp_cu__k_pool(float * y, const float * x, int64_t H, int64_t W, int64_t OH, int64_t OW, int k, int s, int pad, int64_t i) {
    int64_t p = i / (OH * OW), oy = i / OW % OH, ox = i % OW;
    float best;
    alrp_cu__pool_arg(x + p * H * W, H, W, k, s, pad, oy, ox, &best);
    y[i] = best;
}
// dx at input element i: the sum of dy over the outputs whose window's argmax is i, in raster
// order of the outputs (the CPU's order of its scatter)
ALRP_HD static inline void alrp_cu__k_pool_back(float * dx, const float * dy, const float * x, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                                int k, int s, int pad, int64_t i) {
    int64_t p = i / (H * W), iy = i / W % H, ix = i % W, here = iy * W + ix;
    int64_t oy0 = (iy + pad - k + 1 + s - 1) / s, ox0 = (ix + pad - k + 1 + s - 1) / s;   // first output whose window reaches iy
    if (iy + pad - k + 1 < 0) oy0 = 0;
    if (ix + pad - k + 1 < 0) ox0 = 0;
    float acc = 0.0f;
    for (int64_t oy = oy0; oy < OH && oy * s - pad <= iy; oy++)
        for (int64_t ox = ox0; ox < OW && ox * s - pad <= ix; ox++) {
            float best;
            if (alrp_cu__pool_arg(x + p * H * W, H, W, k, s, pad, oy, ox, &best) == here) acc += dy[p * OH * OW + oy * OW + ox];
        }
    dx[i] = acc;
}
// nearest upsample by f: big element i reads small (H, W) plane
ALRP_HD static inline void alrp_cu__k_upsample(float * big, const float * small, int64_t H, int64_t W, int f, int64_t i) {
    int64_t BW = W * f, BH = H * f, p = i / (BH * BW), by = i / BW % BH, bx = i % BW;
    big[i] = small[p * H * W + (by / f) * W + bx / f];
}
ALRP_HD static inline void alrp_cu__k_upsample_back(float * small, const float * big, int64_t H, int64_t W, int f, int64_t i) {
    int64_t BW = W * f, p = i / (H * W), y = i / W % H, x = i % W;
    const float * bp = big + p * H * W * f * f;
    float s = 0.0f;
    for (int a = 0; a < f; a++) for (int b = 0; b < f; b++) s += bp[(y * f + a) * BW + x * f + b];
    small[i] = s;
}

// ---- moves: pad_slice, concat, gather --------------------------------------------------------
// PAD_SLICE: output element i (contiguous shape so) is dy (strides sdy) where the index along dim
// d lies in [start, start + len), 0 elsewhere
ALRP_HD static inline void alrp_cu__k_pad_slice(float * y, const float * dy, const struct alrp_cu__t4 & so, const struct alrp_cu__t4 & sdy,
                                                int d, int64_t start, int64_t i) {
    int64_t idx[4], r = i;
    for (int k = 3; k >= 0; k--) { idx[k] = r % so.ne[k]; r /= so.ne[k]; }
    idx[d] -= start;
    if (idx[d] < 0 || idx[d] >= sdy.ne[d]) { y[i] = 0.0f; return; }
    y[i] = dy[idx[0] * sdy.nb[0] + idx[1] * sdy.nb[1] + idx[2] * sdy.nb[2] + idx[3] * sdy.nb[3]];
}
struct alrp_cu__cat { const void * src[ALRP_MAX_SRC]; struct alrp_cu__t4 s[ALRP_MAX_SRC]; int64_t start[ALRP_MAX_SRC + 1]; int n, d; };
ALRP_HD static inline void alrp_cu__k_concat(void * y, const struct alrp_cu__cat & c, const struct alrp_cu__t4 & so, int es, int64_t i) {
    int64_t idx[4], r = i;
    for (int k = 3; k >= 0; k--) { idx[k] = r % so.ne[k]; r /= so.ne[k]; }
    int j = 0;
    while (j + 1 < c.n && idx[c.d] >= c.start[j + 1]) j++;
    idx[c.d] -= c.start[j];
    const struct alrp_cu__t4 & s = c.s[j];
    int64_t o = idx[0] * s.nb[0] + idx[1] * s.nb[1] + idx[2] * s.nb[2] + idx[3] * s.nb[3];
    if (es == 4) ((uint32_t *) y)[i] = ((const uint32_t *) c.src[j])[o];
    else ((uint8_t *) y)[i] = ((const uint8_t *) c.src[j])[o];
}
// GATHER_ROWS: y (K, D) row k = a row ix[k] of R rows; a bad index gives zeros and an error
ALRP_HD static inline void alrp_cu__k_gather(void * y, const void * a, const int32_t * ix, int64_t R, int64_t D, int es, int32_t * err, int32_t tag, int64_t i) {
    int64_t k = i / D, j = i % D, r = ix[k];
    bool ok = r >= 0 && r < R;
    if (!ok) alrp_cu__set_err(err, tag | ALRP_CU_ERR_INDEX);
    if (es == 4) ((uint32_t *) y)[i] = ok ? ((const uint32_t *) a)[r * D + j] : 0u;
    else ((uint8_t *) y)[i] = ok ? ((const uint8_t *) a)[r * D + j] : (uint8_t) 0;
}
// SCATTER_ADD_ROWS (output zeroed first): y row ix[k] += a row k
ALRP_HD static inline void alrp_cu__k_scatter(void * y, const void * a, const int32_t * ix, int64_t R, int64_t D, int type, int32_t * err, int32_t tag, int64_t i) {
    int64_t k = i / D, j = i % D, r = ix[k];
    if (r < 0 || r >= R) { alrp_cu__set_err(err, tag | ALRP_CU_ERR_INDEX); return; }
    if (type == ALRP_TYPE_F32) alrp_cu__atomic_add_f((float *) y + r * D + j, ((const float *) a)[i]);
    else if (type == ALRP_TYPE_I32) alrp_cu__atomic_add_i((int32_t *) y + r * D + j, ((const int32_t *) a)[i]);
    else alrp_cu__atomic_add_i8((int8_t *) y + r * D + j, ((const int8_t *) a)[i]);
}

// ---- conv helpers: im2col, col2im, bias and affine epilogues --------------------------------
struct alrp_cu__conv { int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, g, oh, ow; };
// col (C kh kw, OH OW) of one image x (C, H, W): row (c, ky, kx), column (oy, ox)
ALRP_HD static inline void alrp_cu__k_im2col(float * col, const float * x, const struct alrp_cu__conv & d, int64_t i) {
    int64_t ohw = d.oh * d.ow, row = i / ohw, q = i % ohw, oy = q / d.ow, ox = q % d.ow;
    int64_t kx = row % d.kw, ky = row / d.kw % d.kh, c = row / (d.kw * d.kh);
    int64_t iy = oy * d.sh - d.ph + ky * d.dh, ix = ox * d.sw - d.pw + kx * d.dw;
    col[i] = (iy >= 0 && iy < d.h && ix >= 0 && ix < d.w) ? x[(c * d.h + iy) * d.w + ix] : 0.0f;
}
// dx (C, H, W) of one image from dcol: input element i sums the taps that read it
ALRP_HD static inline void alrp_cu__k_col2im(float * dx, const float * col, const struct alrp_cu__conv & d, int64_t i) {
    int64_t c = i / (d.h * d.w), iy = i / d.w % d.h, ix = i % d.w, ohw = d.oh * d.ow;
    float acc = 0.0f;
    for (int64_t ky = 0; ky < d.kh; ky++) {
        int64_t ty = iy + d.ph - ky * d.dh;
        if (ty < 0 || ty % d.sh) continue;
        int64_t oy = ty / d.sh;
        if (oy >= d.oh) continue;
        for (int64_t kx = 0; kx < d.kw; kx++) {
            int64_t tx = ix + d.pw - kx * d.dw;
            if (tx < 0 || tx % d.sw) continue;
            int64_t ox = tx / d.sw;
            if (ox >= d.ow) continue;
            acc += col[((c * d.kh + ky) * d.kw + kx) * ohw + oy * d.ow + ox];
        }
    }
    dx[i] = acc;
}
// y (N, O, OHW): + bias[o]; or * scale[o] + shift[o] then ReLU (one FMA, as the CPU epilogue)
ALRP_HD static inline void alrp_cu__k_bias(float * y, const float * b, int64_t O, int64_t ohw, int64_t i) { y[i] += b[i / ohw % O]; }
ALRP_HD static inline void alrp_cu__k_affine(float * y, const float * scale, const float * shift, bool relu, int64_t O, int64_t ohw, int64_t i) {
    int64_t o = i / ohw % O;
    float v = fmaf(y[i], scale[o], shift[o]);
    y[i] = relu && v < 0.0f ? 0.0f : v;
}

// ---- element-wise losses (the maths of the CPU kernels, in double, one element or box each) --
ALRP_HD static inline double alrp_cu__focal_one(double x, double t, double alpha, double gamma, double * dldx) {
    double ex = exp(-fabs(x));
    double p  = x >= 0.0 ? 1.0 / (1.0 + ex) : ex / (1.0 + ex);
    double q  = x >= 0.0 ? ex / (1.0 + ex) : 1.0 / (1.0 + ex);
    double ce = (x > 0.0 ? x : 0.0) - x * t + log1p(ex);
    double m  = t * q + (1.0 - t) * p;
    double mg = gamma == 0.0 ? 1.0 : pow(m, gamma);
    double at = alpha >= 0.0 ? alpha * t + (1.0 - alpha) * (1.0 - t) : 1.0;
    if (dldx) {
        double dmg = 0.0;
        if (gamma != 0.0 && m > 0.0) dmg = gamma * pow(m, gamma - 1.0) * p * q * (1.0 - 2.0 * t);
        *dldx = at * ((p - t) * mg + ce * dmg);
    }
    return at * ce * mg;
}
ALRP_HD static inline double alrp_cu__smooth_l1_one(double d, double beta, double * g) {
    double ad = fabs(d);
    if (ad < beta) { *g = d / beta; return 0.5 * d * d / beta; }
    *g = (d > 0.0) - (d < 0.0);
    return ad - 0.5 * beta;
}
ALRP_HD static inline double alrp_cu__dmax_a(double a, double b) { return a > b ? 1.0 : (a == b ? 0.5 : 0.0); }
ALRP_HD static inline double alrp_cu__dmin_a(double a, double b) { return a < b ? 1.0 : (a == b ? 0.5 : 0.0); }
// 1 - GIoU of boxes b, g (x1, y1, x2, y2); with gb: adds go * d(loss)/db
ALRP_HD static inline double alrp_cu__giou_one(const float * bf, const float * gf, double eps, double go, double * gb) {
    double x1 = bf[0], y1 = bf[1], x2 = bf[2], y2 = bf[3];
    double X1 = gf[0], Y1 = gf[1], X2 = gf[2], Y2 = gf[3];
    double ix1 = x1 > X1 ? x1 : X1, iy1 = y1 > Y1 ? y1 : Y1, ix2 = x2 < X2 ? x2 : X2, iy2 = y2 < Y2 ? y2 : Y2;
    double iw = ix2 - ix1, ih = iy2 - iy1;
    int overlap = iw > 0.0 && ih > 0.0;
    double I = overlap ? iw * ih : 0.0;
    double a1 = (x2 - x1) * (y2 - y1), a2 = (X2 - X1) * (Y2 - Y1), U = a1 + a2 - I;
    double cx1 = x1 < X1 ? x1 : X1, cy1 = y1 < Y1 ? y1 : Y1, cx2 = x2 > X2 ? x2 : X2, cy2 = y2 > Y2 ? y2 : Y2;
    double cw = cx2 - cx1, ch = cy2 - cy1, A = cw * ch;
    double loss = 1.0 - (I / (U + eps) - (A - U) / (A + eps));
    if (gb) {
        double dU = go * (I / ((U + eps) * (U + eps)) - 1.0 / (A + eps));
        double dI = go * (-1.0 / (U + eps)) - dU;
        double dA = go * (U + eps) / ((A + eps) * (A + eps));
        double d_iw = overlap ? dI * ih : 0.0, d_ih = overlap ? dI * iw : 0.0, d_cw = dA * ch, d_ch = dA * cw;
        gb[0] += -dU * (y2 - y1) - d_iw * alrp_cu__dmax_a(x1, X1) - d_cw * alrp_cu__dmin_a(x1, X1);
        gb[2] +=  dU * (y2 - y1) + d_iw * alrp_cu__dmin_a(x2, X2) + d_cw * alrp_cu__dmax_a(x2, X2);
        gb[1] += -dU * (x2 - x1) - d_ih * alrp_cu__dmax_a(y1, Y1) - d_ch * alrp_cu__dmin_a(y1, Y1);
        gb[3] +=  dU * (x2 - x1) + d_ih * alrp_cu__dmin_a(y2, Y2) + d_ch * alrp_cu__dmax_a(y2, Y2);
    }
    return loss;
}
// deltas (4) decoded on the unit anchor with stds (means 0), |dw|, |dh| clamped; inside[c]: the
// clamp passes the gradient
ALRP_HD static inline void alrp_cu__decode_unit(const float * delta, const float * stds, float * box, int * inside, double * d) {
    for (int c = 0; c < 4; c++) {
        d[c] = (double) delta[c] * (double) stds[c];
        inside[c] = 1;
        if (c >= 2) {
            if (d[c] > (double) ALRP_BOX_MAX_RATIO)  { d[c] = (double) ALRP_BOX_MAX_RATIO;  inside[c] = 0; }
            if (d[c] < -(double) ALRP_BOX_MAX_RATIO) { d[c] = -(double) ALRP_BOX_MAX_RATIO; inside[c] = 0; }
        }
    }
    double gw = exp(d[2]), gh = exp(d[3]);
    box[0] = (float) (d[0] - 0.5 * gw); box[1] = (float) (d[1] - 0.5 * gh);
    box[2] = (float) (d[0] + 0.5 * gw); box[3] = (float) (d[1] + 0.5 * gh);
}
struct alrp_cu__stds { float s[4]; };
// E_loc of positive k; with grad (and go = dL/dE_loc[k]): writes dL/dpred_deltas[k] (4)
ALRP_HD static inline void alrp_cu__k_loc_err(const float * pred, const float * target, const struct alrp_cu__stds & st,
                                              float * loc_err, const float * go, float * grad, int64_t k) {
    float bp[4], bt[4];
    int inside[4], it[4];
    double d[4], dt[4];
    alrp_cu__decode_unit(pred + 4 * k, st.s, bp, inside, d);
    alrp_cu__decode_unit(target + 4 * k, st.s, bt, it, dt);
    if (!grad) { loc_err[k] = (float) alrp_cu__giou_one(bp, bt, (double) ALRP_GIOU_EPS, 0.0, NULL); return; }
    double gb[4] = { 0, 0, 0, 0 };
    alrp_cu__giou_one(bp, bt, (double) ALRP_GIOU_EPS, (double) go[k], gb);
    float g0 = (float) gb[0], g1 = (float) gb[1], g2 = (float) gb[2], g3 = (float) gb[3];   // dL/dbox, as floats (the CPU's)
    double gw = exp(d[2]), gh = exp(d[3]);
    double g[4] = { (double) g0 + (double) g2, (double) g1 + (double) g3,
                    inside[2] ? gw * 0.5 * ((double) g2 - (double) g0) : 0.0, inside[3] ? gh * 0.5 * ((double) g3 - (double) g1) : 0.0 };
    for (int c = 0; c < 4; c++) grad[4 * k + c] = (float) (g[c] * (double) st.s[c]);
}
// op: FOCAL_LOSS(_BACK), SMOOTH_L1(_BACK), GIOU_LOSS(_BACK) at element (box) i; a, b the
// inputs, dy the incoming gradient (backward)
ALRP_HD static inline void alrp_cu__k_loss(int op, float * y, const float * a, const float * b, const float * dy, float p0, float p1, int64_t i) {
    double g;
    switch (op) {
    case ALRP_OP_FOCAL_LOSS:      y[i] = (float) alrp_cu__focal_one(a[i], b[i], p0, p1, NULL); break;
    case ALRP_OP_FOCAL_LOSS_BACK: alrp_cu__focal_one(a[i], b[i], p0, p1, &g); y[i] = (float) (g * (double) dy[i]); break;
    case ALRP_OP_SMOOTH_L1:       y[i] = (float) alrp_cu__smooth_l1_one((double) a[i] - (double) b[i], p0, &g); break;
    case ALRP_OP_SMOOTH_L1_BACK:  alrp_cu__smooth_l1_one((double) a[i] - (double) b[i], p0, &g); y[i] = (float) (g * (double) dy[i]); break;
    case ALRP_OP_GIOU_LOSS:       y[i] = (float) alrp_cu__giou_one(a + 4 * i, b + 4 * i, (double) ALRP_GIOU_EPS, 0.0, NULL); break;
    default: {   // GIOU_LOSS_BACK
        double gb[4] = { 0, 0, 0, 0 };
        alrp_cu__giou_one(a + 4 * i, b + 4 * i, (double) ALRP_GIOU_EPS, (double) dy[i], gb);
        for (int c = 0; c < 4; c++) y[4 * i + c] = (float) gb[c];
    }
    }
}

// ---- optimizer steps: the raw kernels' formulas (their scalar tails), hp read on the device --
ALRP_HD static inline void alrp_cu__k_sgd(float * p, const float * g, float * mom, const float * hp, const float * gscale, int64_t i) {
    float lr = hp[ALRP_OPT_HP_LR], momentum = hp[ALRP_OPT_HP_MOMENTUM], wd = hp[ALRP_OPT_HP_WEIGHT_DECAY];
    bool first = (int64_t) hp[ALRP_OPT_HP_STEP] <= 1;
    float d = g[i];
    if (gscale) d = d * gscale[0];
    if (wd != 0.0f) d = fmaf(p[i], wd, d);
    if (momentum != 0.0f) {
        if (!first) d = fmaf(mom[i], momentum, d);
        mom[i] = d;
    }
    p[i] = fmaf(d, -lr, p[i]);
}
ALRP_HD static inline void alrp_cu__k_adamw(float * p, const float * g, float * m, float * v, const float * hp, const float * gscale, int64_t i) {
    float lr = hp[ALRP_OPT_HP_LR], beta1 = hp[ALRP_OPT_HP_BETA1], beta2 = hp[ALRP_OPT_HP_BETA2], eps = hp[ALRP_OPT_HP_EPS], wd = hp[ALRP_OPT_HP_WEIGHT_DECAY];
    double step = (double) (int64_t) hp[ALRP_OPT_HP_STEP];
    double bc1 = 1.0 - pow((double) beta1, step), bc2 = 1.0 - pow((double) beta2, step);
    float decay = (float) (1.0 - (double) lr * (double) wd), omb1 = (float) (1.0 - (double) beta1), omb2 = (float) (1.0 - (double) beta2);
    float step_size = (float) ((double) lr / bc1), bc2_sqrt = (float) sqrt(bc2);
    float gi = g[i];
    if (gscale) gi = gi * gscale[0];
    float mi = fmaf(gi, omb1, m[i] * beta1);
    float vi = fmaf(gi * omb2, gi, v[i] * beta2);
    m[i] = mi; v[i] = vi;
    p[i] = fmaf(mi / (sqrtf(vi) / bc2_sqrt + eps), -step_size, p[i] * decay);
}

// ---- generic launches: chunked reductions, scans, the row-major GEMM -------------------------
// an accumulator of two sums (batch norm's backward needs both per channel)
struct alrp_cu__d2 { double a, b; };
ALRP_HD static inline struct alrp_cu__d2 alrp_cu__d2_add(struct alrp_cu__d2 x, struct alrp_cu__d2 y) { x.a += y.a; x.b += y.b; return x; }
ALRP_HD static inline double alrp_cu__add(double x, double y) { return x + y; }
ALRP_HD static inline struct alrp_cu__d2 alrp_cu__add(struct alrp_cu__d2 x, struct alrp_cu__d2 y) { return alrp_cu__d2_add(x, y); }

// For each of n_out outputs o: s = sum over r < R of val(o, r) (in order within a chunk of
// ALRP_CU_CHUNK, then the chunks' partial sums in order), then fin(o, s). Deterministic.
template <class T, class X, class V, class Fin>
static void alrp_cu__reduce(X & x, int64_t n_out, int64_t R, V val, Fin fin) {
    const int64_t nc = R > ALRP_CU_CHUNK ? (R + ALRP_CU_CHUNK - 1) / ALRP_CU_CHUNK : 1;
    if (nc == 1) {
        x.launch(n_out, ALRP_CU_LAMBDA (int64_t o) {
            T s = T();
            for (int64_t r = 0; r < R; r++) s = alrp_cu__add(s, val(o, r));
            fin(o, s);
        });
        return;
    }
    T * part = (T *) x.scratch(sizeof(T) * (size_t) (n_out * nc));
    x.launch(n_out * nc, ALRP_CU_LAMBDA (int64_t q) {
        int64_t o = q / nc, r0 = q % nc * ALRP_CU_CHUNK, r1 = r0 + ALRP_CU_CHUNK < R ? r0 + ALRP_CU_CHUNK : R;
        T s = T();
        for (int64_t r = r0; r < r1; r++) s = alrp_cu__add(s, val(o, r));
        part[q] = s;
    });
    x.launch(n_out, ALRP_CU_LAMBDA (int64_t o) {
        T s = T();
        for (int64_t c = 0; c < nc; c++) s = alrp_cu__add(s, part[o * nc + c]);
        fin(o, s);
    });
}

// Inclusive running op over a length read on the device (len = *plen <= cap):
// out[0] = ident, out[k + 1] = op(out[k], val(k)) for k < len. Chunks of ALRP_CU_SCAN_CHUNK in
// parallel, their totals scanned by one thread, then each chunk written from its offset.
template <class X, class V, class Op>
static void alrp_cu__scan(X & x, double * out, const int32_t * plen, int64_t cap, double ident, V val, Op op) {
    const int64_t nc = (cap + ALRP_CU_SCAN_CHUNK - 1) / ALRP_CU_SCAN_CHUNK;
    double * tot = (double *) x.scratch(sizeof(double) * (size_t) (nc > 0 ? nc : 1));
    x.launch(nc, ALRP_CU_LAMBDA (int64_t c) {
        int64_t len = *plen, k0 = c * ALRP_CU_SCAN_CHUNK, k1 = k0 + ALRP_CU_SCAN_CHUNK < len ? k0 + ALRP_CU_SCAN_CHUNK : len;
        double s = ident;
        for (int64_t k = k0; k < k1; k++) s = op(s, val(k));
        tot[c] = s;
    });
    x.launch(1, ALRP_CU_LAMBDA (int64_t) {
        int64_t len = *plen;
        double s = ident;
        out[0] = ident;
        for (int64_t c = 0; c * ALRP_CU_SCAN_CHUNK < len; c++) { double t = tot[c]; tot[c] = s; s = op(s, t); }
    });
    x.launch(nc, ALRP_CU_LAMBDA (int64_t c) {
        int64_t len = *plen, k0 = c * ALRP_CU_SCAN_CHUNK, k1 = k0 + ALRP_CU_SCAN_CHUNK < len ? k0 + ALRP_CU_SCAN_CHUNK : len;
        if (k0 >= len) return;
        double s = tot[c];
        for (int64_t k = k0; k < k1; k++) { s = op(s, val(k)); out[k + 1] = s; }
    });
}

// C (M, N) = alpha op(A) op(B) + beta C, ROW-MAJOR, batched with element strides sA, sB, sC
// (0: the same matrix for every batch). cuBLAS is column-major: a row-major (r, c) matrix with
// row stride ld is the column-major (c, r) matrix with leading dimension ld, so C^T = op(B)^T
// op(A)^T is computed, with the operands swapped and the same transpose flags.
template <class X>
static void alrp_cu__gemm(X & x, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                          const float * A, int64_t lda, int64_t sA, const float * B, int64_t ldb, int64_t sB,
                          float beta, float * C, int64_t ldc, int64_t sC, int64_t batch) {
    if (M <= 0 || N <= 0 || batch <= 0) return;
    x.sgemm_cm(tb, ta, N, M, K, alpha, B, ldb, sB, A, lda, sA, beta, C, ldc, sC, batch);
}

static struct alrp_cu__conv alrp_cu__conv_of(const struct alrp_tensor * node, const struct alrp_tensor * x, const struct alrp_tensor * w) {
    struct alrp_cu__conv d;
    d.n = x->ne[0]; d.c = x->ne[1]; d.h = x->ne[2]; d.w = x->ne[3];
    d.o = w->ne[0]; d.kh = w->ne[2]; d.kw = w->ne[3];
    d.sh = node->op_params[0]; d.sw = node->op_params[1]; d.ph = node->op_params[2]; d.pw = node->op_params[3];
    d.dh = node->op_params[4]; d.dw = node->op_params[5]; d.g = node->op_params[6];
    d.oh = (d.h + 2 * d.ph - d.dh * (d.kh - 1) - 1) / d.sh + 1;
    d.ow = (d.w + 2 * d.pw - d.dw * (d.kw - 1) - 1) / d.sw + 1;
    return d;
}
static bool alrp_cu__conv_is_1x1(const struct alrp_cu__conv & d) { return d.kh == 1 && d.kw == 1 && d.sh == 1 && d.sw == 1 && d.ph == 0 && d.pw == 0; }
// images per im2col chunk: the column matrices of a chunk hold at most 2^26 floats (256 MiB)
static int64_t alrp_cu__conv_chunk(const struct alrp_cu__conv & d) {
    int64_t per = d.c * d.kh * d.kw * d.oh * d.ow, nb = per > 0 ? ((int64_t) 1 << 26) / per : d.n;
    return nb < 1 ? 1 : (nb > d.n ? d.n : nb);
}
// im2col of images [n0, n0 + nb) into col (nb, C kh kw, OH OW)
template <class X> static void alrp_cu__im2col(X & x, float * col, const float * xs, const struct alrp_cu__conv & d, int64_t n0, int64_t nb) {
    const int64_t per = d.c * d.kh * d.kw * d.oh * d.ow, chw = d.c * d.h * d.w;
    const float * x0 = xs + n0 * chw;
    x.launch(nb * per, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_im2col(col + i / per * per, x0 + i / per * chw, d, i % per); });
}

// y = conv(x, w): per chunk of images, im2col (skipped for 1x1 stride-1 convs) and one GEMM
// batched over the images (groups == 1, the weight shared: stride 0) or over the groups
template <class X> static void alrp_cu__conv_fwd(X & x, const struct alrp_cu__conv & d, const float * xs, const float * w, float * y) {
    const int64_t Cg = d.c / d.g, Og = d.o / d.g, Kk = Cg * d.kh * d.kw, ohw = d.oh * d.ow, per = d.c * d.kh * d.kw * ohw;
    const bool one = alrp_cu__conv_is_1x1(d);
    const int64_t nb = one ? d.n : alrp_cu__conv_chunk(d);
    float * col = one ? NULL : (float *) x.scratch(sizeof(float) * (size_t) (nb * per));
    for (int64_t n0 = 0; n0 < d.n; n0 += nb) {
        const int64_t m = nb < d.n - n0 ? nb : d.n - n0;
        const float * B = one ? xs + n0 * d.c * ohw : col;
        if (!one) alrp_cu__im2col(x, col, xs, d, n0, m);
        if (d.g == 1) alrp_cu__gemm(x, false, false, d.o, ohw, Kk, 1.0f, w, Kk, 0, B, ohw, per, 0.0f, y + n0 * d.o * ohw, ohw, d.o * ohw, m);
        else for (int64_t k = 0; k < m; k++)
            alrp_cu__gemm(x, false, false, Og, ohw, Kk, 1.0f, w, Kk, Og * Kk, B + k * per, ohw, Kk * ohw, 0.0f, y + (n0 + k) * d.o * ohw, ohw, Og * ohw, d.g);
    }
}
// dx = conv^T(dy, w): dcol = w^T dy per image (batched as above), then col2im (a gather: each
// input element sums the taps that read it); 1x1 stride-1 convs write the GEMM into dx
template <class X> static void alrp_cu__conv_bwd_data(X & x, const struct alrp_cu__conv & d, const float * dy, const float * w, float * dx) {
    const int64_t Cg = d.c / d.g, Og = d.o / d.g, Kk = Cg * d.kh * d.kw, ohw = d.oh * d.ow, per = d.c * d.kh * d.kw * ohw, chw = d.c * d.h * d.w;
    const bool one = alrp_cu__conv_is_1x1(d);
    const int64_t nb = one ? d.n : alrp_cu__conv_chunk(d);
    float * col = one ? NULL : (float *) x.scratch(sizeof(float) * (size_t) (nb * per));
    for (int64_t n0 = 0; n0 < d.n; n0 += nb) {
        const int64_t m = nb < d.n - n0 ? nb : d.n - n0;
        float * C = one ? dx + n0 * chw : col;
        const float * dyn = dy + n0 * d.o * ohw;
        if (d.g == 1) alrp_cu__gemm(x, true, false, Kk, ohw, d.o, 1.0f, w, Kk, 0, dyn, ohw, d.o * ohw, 0.0f, C, ohw, per, m);
        else for (int64_t k = 0; k < m; k++)
            alrp_cu__gemm(x, true, false, Kk, ohw, Og, 1.0f, w, Kk, Og * Kk, dyn + k * d.o * ohw, ohw, Og * ohw, 0.0f, C + k * per, ohw, Kk * ohw, d.g);
        if (!one) {
            float * dxn = dx + n0 * chw;
            x.launch(m * chw, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_col2im(dxn + i / chw * chw, col + i / chw * per, d, i % chw); });
        }
    }
}
// dw = sum over images of dy col^T (the first image overwrites, the others accumulate)
template <class X> static void alrp_cu__conv_bwd_weight(X & x, const struct alrp_cu__conv & d, const float * xs, const float * dy, float * dw) {
    const int64_t Cg = d.c / d.g, Og = d.o / d.g, Kk = Cg * d.kh * d.kw, ohw = d.oh * d.ow, per = d.c * d.kh * d.kw * ohw;
    const bool one = alrp_cu__conv_is_1x1(d);
    const int64_t nb = one ? d.n : alrp_cu__conv_chunk(d);
    float * col = one ? NULL : (float *) x.scratch(sizeof(float) * (size_t) (nb * per));
    for (int64_t n0 = 0; n0 < d.n; n0 += nb) {
        const int64_t m = nb < d.n - n0 ? nb : d.n - n0;
        if (!one) alrp_cu__im2col(x, col, xs, d, n0, m);
        for (int64_t k = 0; k < m; k++) {
            const float * B = one ? xs + (n0 + k) * d.c * ohw : col + k * per;
            alrp_cu__gemm(x, false, true, Og, Kk, ohw, 1.0f, dy + (n0 + k) * d.o * ohw, ohw, Og * ohw, B, ohw, Kk * ohw,
                          n0 + k == 0 ? 0.0f : 1.0f, dw, Kk, Og * Kk, d.g);
        }
    }
    if (d.n == 0) x.memset0(dw, sizeof(float) * (size_t) (d.o * Kk));
}

// ---- the ranking losses on the device (docs/cuda.md "Ranking losses"; docs/ranking-losses.md
// sections 1-5): count and validate per chunk, gather the positives in index order, sort them
// once by (logit, index) with a merge sort whose passes are one thread per element (each finds
// its place in the other run by binary search), prefix sums over the sorted positives, rank+ and
// sum H*E by two binary searches per positive, the negatives in parallel (two binary searches
// each, scattered into difference arrays: integer atomics for the counts, double atomics for the
// linear parts), N_FP and the per-positive values and weights, and one more parallel pass that
// writes every entry's update. P never comes back to the host: every launch is sized by
// min(n, ALRP_CU_MAX_POS) and reads P from device memory.
ALRP_HD static inline bool alrp_cu__key_less(float ka, int32_t ia, float kb, int32_t ib) { return ka < kb || (ka == kb && ia < ib); }
// the number of v[0..len) with v < z (strict) or v <= z; v ascending
ALRP_HD static inline int64_t alrp_cu__count_lt(const double * v, int64_t len, double z) {
    int64_t lo = 0, hi = len;
    while (lo < hi) { int64_t m = (lo + hi) / 2; if (v[m] < z) lo = m + 1; else hi = m; }
    return lo;
}
ALRP_HD static inline int64_t alrp_cu__count_le(const double * v, int64_t len, double z) {
    int64_t lo = 0, hi = len;
    while (lo < hi) { int64_t m = (lo + hi) / 2; if (v[m] <= z) lo = m + 1; else hi = m; }
    return lo;
}
ALRP_HD static inline double alrp_cu__max(double a, double b) { return a > b ? a : b; }

template <class X> static void alrp_cu__rank_loss(X & x, const struct alrp_tensor * t, int32_t tag) {
    const struct alrp_tensor * lg = t->src[0], * lb = t->src[1], * le = t->op == ALRP_OP_ALRP_LOSS ? t->src[2] : NULL;
    const bool is_alrp = t->op == ALRP_OP_ALRP_LOSS;
    const int64_t n = alrp_nelements(lg), A = le ? alrp_nelements(le) : 0, C = A ? n / A : 1;
    const double delta = (double) alrp_cu__opf(t, 0), tw = 2.0 * delta;
    float * out = (float *) t->data, * grad = out + (is_alrp ? 3 : 2), * gl = le ? out + 3 + n : NULL;
    const float * logits = (const float *) lg->data, * loc = le ? (const float *) le->data : NULL;
    const int8_t * labels = (const int8_t *) lb->data;
    int32_t * err = x.err;
    const int64_t cap = n < ALRP_CU_MAX_POS ? n : ALRP_CU_MAX_POS, nch = (n + ALRP_CU_RANK_CHUNK - 1) / ALRP_CU_RANK_CHUNK;
    if (gl) x.memset0(gl, sizeof(float) * (size_t) A);
    if (n == 0) { x.memset0(out, sizeof(float) * (is_alrp ? 3 : 2)); return; }
    int32_t * cnt = (int32_t *) x.scratch(sizeof(int32_t) * (size_t) (nch + 2));
    int32_t * pP = cnt + nch, * pP1 = cnt + nch + 1;   // P and P + 1, on the device
    float * key[2] = { (float *) x.scratch(sizeof(float) * (size_t) cap), (float *) x.scratch(sizeof(float) * (size_t) cap) };
    int32_t * idx[2] = { (int32_t *) x.scratch(sizeof(int32_t) * (size_t) cap), (int32_t *) x.scratch(sizeof(int32_t) * (size_t) cap) };
    double * dv = (double *) x.scratch(sizeof(double) * (size_t) (cap + 2) * 20);
    double * u = dv, * E = u + (cap + 2), * preU = E + (cap + 2), * preE = preU + (cap + 2), * preEU = preE + (cap + 2);
    double * rankp = preEU + (cap + 2), * he = rankp + (cap + 2), * dc = he + (cap + 2), * preFull = dc + (cap + 2);
    double * preWin = preFull + (cap + 2), * preC = preWin + (cap + 2), * rank = preC + (cap + 2), * prec = rank + (cap + 2);
    double * w = prec + (cap + 2), * W = w + (cap + 2), * WT = W + (cap + 2), * s1 = WT + (cap + 2), * s2 = s1 + (cap + 2);
    int32_t * di = (int32_t *) x.scratch(sizeof(int32_t) * (size_t) (cap + 2) * 2), * dfull = di, * dwin = di + (cap + 2);

    // 1. count the positives per chunk; validate labels, logits, and the positives' E_loc
    x.launch(nch, ALRP_CU_LAMBDA (int64_t c) {
        int64_t i0 = c * ALRP_CU_RANK_CHUNK, i1 = i0 + ALRP_CU_RANK_CHUNK < n ? i0 + ALRP_CU_RANK_CHUNK : n;
        int32_t k = 0;
        for (int64_t i = i0; i < i1; i++) {
            int l = labels[i];
            if (l != 1 && l != 0 && l != -1) alrp_cu__set_err(err, tag | ALRP_CU_ERR_LABEL);
            else if (l != -1 && !alrp_cu__isfinite(logits[i])) alrp_cu__set_err(err, tag | ALRP_CU_ERR_NONFINITE);
            if (l == 1) { k++; if (loc && !alrp_cu__isfinite(loc[i / C])) alrp_cu__set_err(err, tag | ALRP_CU_ERR_LOC); }
        }
        cnt[c] = k;
    });
    // 2. chunk offsets and P (0 after any error: nothing below then reads bad values)
    x.launch(1, ALRP_CU_LAMBDA (int64_t) {
        int64_t s = 0;
        for (int64_t c = 0; c < nch; c++) { int32_t v = cnt[c]; cnt[c] = (int32_t) s; s += v; }
        if (s > cap) { alrp_cu__set_err(err, tag | ALRP_CU_ERR_TOO_MANY_POS); s = 0; }
        if (*err) s = 0;
        *pP = (int32_t) s; *pP1 = (int32_t) s + 1;
    });
    // 3. gather the positives in index order
    float * k0 = key[0]; int32_t * i0p = idx[0];
    x.launch(nch, ALRP_CU_LAMBDA (int64_t c) {
        if (*pP == 0) return;
        int64_t i0 = c * ALRP_CU_RANK_CHUNK, i1 = i0 + ALRP_CU_RANK_CHUNK < n ? i0 + ALRP_CU_RANK_CHUNK : n;
        int32_t k = cnt[c];
        for (int64_t i = i0; i < i1; i++) if (labels[i] == 1) { k0[k] = logits[i]; i0p[k] = (int32_t) i; k++; }
    });
    // 4. merge sort by (logit, index), ascending: pass w merges runs of w into runs of 2w
    int cur = 0;
    for (int64_t wd = 1; wd < cap; wd *= 2, cur ^= 1) {
        const float * ks = key[cur]; const int32_t * is = idx[cur];
        float * kd = key[cur ^ 1]; int32_t * id = idx[cur ^ 1];
        x.launch(cap, ALRP_CU_LAMBDA (int64_t i) {
            int64_t P = *pP;
            if (i >= P) return;
            int64_t r = i / wd, j = i - r * wd, ps = (r ^ 1) * wd, pl = ps >= P ? 0 : (P - ps < wd ? P - ps : wd);
            float kv = ks[i]; int32_t iv = is[i];
            int64_t lo = 0, hi = pl;   // partner elements below (kv, iv)
            while (lo < hi) { int64_t m = (lo + hi) / 2; if (alrp_cu__key_less(ks[ps + m], is[ps + m], kv, iv)) lo = m + 1; else hi = m; }
            int64_t pos = (r & ~(int64_t) 1) * wd + j + lo;
            kd[pos] = kv; id[pos] = iv;
        });
    }
    const float * ks = key[cur]; const int32_t * is = idx[cur];
    // 5. scores relative to the lowest positive; E_loc in sorted order
    x.launch(cap, ALRP_CU_LAMBDA (int64_t p) {
        if (p >= *pP) return;
        u[p] = (double) ks[p] - (double) ks[0];
        E[p] = loc ? (double) loc[is[p] / C] : 0.0;
    });
    alrp_cu__scan(x, preU, pP, cap, 0.0, ALRP_CU_LAMBDA (int64_t k) { return u[k]; }, ALRP_CU_LAMBDA (double a, double b) { return a + b; });
    alrp_cu__scan(x, preE, pP, cap, 0.0, ALRP_CU_LAMBDA (int64_t k) { return E[k]; }, ALRP_CU_LAMBDA (double a, double b) { return a + b; });
    alrp_cu__scan(x, preEU, pP, cap, 0.0, ALRP_CU_LAMBDA (int64_t k) { return E[k] * u[k]; }, ALRP_CU_LAMBDA (double a, double b) { return a + b; });
    // 6. rank+ and sum_k H(t_k - t_p) E_k (own term off) by two binary searches (section 5.1)
    x.launch(cap, ALRP_CU_LAMBDA (int64_t p) {
        int64_t P = *pP;
        if (p >= P) return;
        int64_t lo = alrp_cu__count_le(u, P, u[p] - delta), hi = alrp_cu__count_lt(u, P, u[p] + delta);
        double m = (double) (hi - lo);
        rankp[p] = 0.5 + (double) (P - hi) + ((preU[hi] - preU[lo]) - m * u[p]) / tw + 0.5 * m;
        double sE = preE[hi] - preE[lo];
        he[p] = (preE[P] - preE[hi]) + ((preEU[hi] - preEU[lo]) - u[p] * sE) / tw + 0.5 * sE - 0.5 * E[p];
    });
    // 7. the negatives into difference arrays over the sorted positions (section 5.3)
    x.memset0(di, sizeof(int32_t) * (size_t) (cap + 2) * 2);
    x.memset0(dc, sizeof(double) * (size_t) (cap + 2));
    x.launch(ALRP_CU_RANK_THREADS, ALRP_CU_LAMBDA (int64_t tid) {
        int64_t P = *pP;
        if (P == 0) return;
        double t0 = (double) ks[0], c0 = 0.0;
        int32_t w0 = 0;
        for (int64_t i = tid; i < n; i += ALRP_CU_RANK_THREADS) {
            if (labels[i] != 0) continue;
            double ux = (double) logits[i] - t0;
            if (!(ux > -delta)) continue;
            int64_t b = alrp_cu__count_lt(u, P, ux + delta), a = alrp_cu__count_le(u, P, ux - delta);
            double c = ux / tw + 0.5;
            if (a == 0) { w0++; c0 += c; }
            else { alrp_cu__atomic_add_i(dfull + a, 1); alrp_cu__atomic_add_i(dwin + a, 1); alrp_cu__atomic_add_d(dc + a, c); }
            alrp_cu__atomic_add_i(dwin + b, -1); alrp_cu__atomic_add_d(dc + b, -c);
        }
        if (w0) { alrp_cu__atomic_add_i(dwin, w0); alrp_cu__atomic_add_d(dc, c0); }
    });
    alrp_cu__scan(x, preFull, pP1, cap + 1, 0.0, ALRP_CU_LAMBDA (int64_t k) { return (double) dfull[k]; }, ALRP_CU_LAMBDA (double a, double b) { return a + b; });
    alrp_cu__scan(x, preWin, pP1, cap + 1, 0.0, ALRP_CU_LAMBDA (int64_t k) { return (double) dwin[k]; }, ALRP_CU_LAMBDA (double a, double b) { return a + b; });
    alrp_cu__scan(x, preC, pP1, cap + 1, 0.0, ALRP_CU_LAMBDA (int64_t k) { return dc[k]; }, ALRP_CU_LAMBDA (double a, double b) { return a + b; });
    // 8. N_FP, rank, precision; aLRP's update and weight of each positive (sections 5.3, 5.4)
    x.launch(cap, ALRP_CU_LAMBDA (int64_t p) {
        int64_t P = *pP;
        if (p >= P) return;
        double lin = preC[p + 1] - preWin[p + 1] * u[p] / tw;
        double nfp = (preFull[P + 1] - preFull[p + 1]) + (lin > 0.0 ? lin : 0.0);
        rank[p] = rankp[p] + nfp;
        prec[p] = rankp[p] / rank[p];
        if (is_alrp) {
            double e = (nfp + he[p]) / rank[p];
            bool on = nfp > 1e-5;
            grad[is[p]] = on ? (float) (-e / (double) P) : 0.0f;
            w[p] = on ? e / ((double) P * nfp) : 0.0;
        }
    });
    if (!is_alrp) {   // AP: the running maximum of the precision, ascending (section 3)
        alrp_cu__scan(x, s1, pP, cap, 0.0, ALRP_CU_LAMBDA (int64_t k) { return prec[k]; }, ALRP_CU_LAMBDA (double a, double b) { return alrp_cu__max(a, b); });
        x.launch(cap, ALRP_CU_LAMBDA (int64_t p) {
            int64_t P = *pP;
            if (p >= P) return;
            double pt = s1[p + 1], prev = s1[p];
            double c = prec[p] >= prev ? 1.0 : (1.0 - pt) / (1.0 - prec[p]);
            grad[is[p]] = (float) (-(1.0 - pt) / (double) P);
            w[p] = c / ((double) P * rank[p]);
        });
    }
    alrp_cu__scan(x, W, pP, cap, 0.0, ALRP_CU_LAMBDA (int64_t k) { return w[k]; }, ALRP_CU_LAMBDA (double a, double b) { return a + b; });
    alrp_cu__scan(x, WT, pP, cap, 0.0, ALRP_CU_LAMBDA (int64_t k) { return w[k] * u[k]; }, ALRP_CU_LAMBDA (double a, double b) { return a + b; });
    // 9. every entry but the positives: 0, or a negative's update (section 5.5)
    x.launch(n, ALRP_CU_LAMBDA (int64_t i) {
        int l = labels[i];
        if (l == 1 && *pP > 0) return;
        int64_t P = *pP;
        double ux = P > 0 ? (double) logits[i] - (double) ks[0] : 0.0;
        if (l != 0 || P == 0 || !(ux > -delta)) { grad[i] = 0.0f; return; }
        int64_t b = alrp_cu__count_lt(u, P, ux + delta), a = alrp_cu__count_le(u, P, ux - delta);
        double c = ux / tw + 0.5;
        grad[i] = (float) (W[a] + c * (W[b] - W[a]) - (WT[b] - WT[a]) / tw);
    });
    // 10. the values; aLRP's loss_loc (hard order from the top) and grad_loc (section 2.4)
    if (is_alrp) {
        alrp_cu__scan(x, s1, pP, cap, 0.0, ALRP_CU_LAMBDA (int64_t k) { return prec[k]; }, ALRP_CU_LAMBDA (double a, double b) { return a + b; });
        alrp_cu__scan(x, s2, pP, cap, 0.0, ALRP_CU_LAMBDA (int64_t k) { return (preE[*pP] - preE[k]) / rank[k]; }, ALRP_CU_LAMBDA (double a, double b) { return a + b; });
        alrp_cu__scan(x, W, pP, cap, 0.0, ALRP_CU_LAMBDA (int64_t k) { return 1.0 / rank[k]; }, ALRP_CU_LAMBDA (double a, double b) { return a + b; });
        if (gl) x.launch(cap, ALRP_CU_LAMBDA (int64_t p) {
            int64_t P = *pP;
            if (p < P) alrp_cu__atomic_add_f(gl + is[p] / C, (float) (W[p + 1] / (double) P));
        });
        x.launch(1, ALRP_CU_LAMBDA (int64_t) {
            int64_t P = *pP;
            out[0] = P ? (float) (1.0 - s1[P] / (double) P) : 0.0f;
            out[1] = P ? (float) (s2[P] / (double) P) : 0.0f;
            out[2] = (float) P;
        });
    } else {
        alrp_cu__scan(x, s2, pP, cap, 0.0, ALRP_CU_LAMBDA (int64_t k) { return s1[k + 1]; }, ALRP_CU_LAMBDA (double a, double b) { return a + b; });
        x.launch(1, ALRP_CU_LAMBDA (int64_t) {
            int64_t P = *pP;
            out[0] = P ? (float) (1.0 - s2[P] / (double) P) : 0.0f;
            out[1] = (float) P;
        });
    }
}

// ---- the dispatch: one node -------------------------------------------------------------------
// every op with a kernel here (the CPU backend's list, docs/cuda.md has the table)
static bool alrp_cu__supports(const struct alrp_tensor * t) {
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

#define ALRP_CU_F(t) ((float *) (t)->data)

template <class X> static void alrp_cu__node(X & x, struct alrp_tensor * t, int node) {
    const int64_t n = alrp_nelements(t);
    const int32_t tag = (int32_t) node << 4;
    int32_t * err = x.err;
    float * y = ALRP_CU_F(t);
    const struct alrp_tensor * s0 = t->src[0], * s1 = t->src[1], * s2 = t->src[2], * s3 = t->src[3];
    switch (t->op) {
    case ALRP_OP_NONE: case ALRP_OP_RESHAPE: case ALRP_OP_PERMUTE: case ALRP_OP_SLICE: case ALRP_OP_EXPAND: break;
    case ALRP_OP_FILL: {
        void * d = t->data; int type = t->type; float v = alrp_cu__opf(t, 0);
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_fill(d, type, v, i); });
    } break;
    case ALRP_OP_CONT: {
        const int es = (int) alrp_cu__es(t->type);
        if (alrp_is_contiguous(s0)) { if (s0->data != t->data) x.copy(t->data, s0->data, (size_t) n * (size_t) es); break; }
        void * d = t->data; const void * src = s0->data; struct alrp_cu__t4 s = alrp_cu__t4_bcast(s0, t);
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_copy(d, src, s, es, i); });
    } break;
    case ALRP_OP_ADD: case ALRP_OP_SUB: case ALRP_OP_MUL: case ALRP_OP_DIV: {
        const float * a = ALRP_CU_F(s0), * b = ALRP_CU_F(s1);
        struct alrp_cu__t4 sa = alrp_cu__t4_bcast(s0, t), sb = alrp_cu__t4_bcast(s1, t);
        int op = t->op;
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_binary(op, y, a, sa, b, sb, i); });
    } break;
    case ALRP_OP_SCALE: {
        const float * a = ALRP_CU_F(s0); float s = alrp_cu__opf(t, 0);
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { y[i] = a[i] * s; });
    } break;
    case ALRP_OP_SUM_TO: {
        struct alrp_cu__sumto st;
        st.so = alrp_cu__t4_of(t);
        int64_t R = 1;
        for (int d = 0; d < 4; d++) { st.nb[d] = s0->nb[d]; st.rn[d] = t->ne[d] == 1 ? s0->ne[d] : 1; R *= st.rn[d]; }
        const float * a = ALRP_CU_F(s0);
        alrp_cu__reduce<double>(x, n, R, ALRP_CU_LAMBDA (int64_t o, int64_t r) { return (double) a[alrp_cu__sumto_offs(st, o, r)]; },
                                ALRP_CU_LAMBDA (int64_t o, double s) { y[o] = (float) s; });
    } break;
    case ALRP_OP_UNARY: {
        const float * a = ALRP_CU_F(s0); int op = t->op_params[0];
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_unary(op, y, a, i); });
    } break;
    case ALRP_OP_UNARY_BACK: {
        const float * dy = ALRP_CU_F(s0), * xv = s1 ? ALRP_CU_F(s1) : NULL, * yv = s2 ? ALRP_CU_F(s2) : NULL; int op = t->op_params[0];
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_unary_back(op, y, dy, xv, yv, i); });
    } break;
    case ALRP_OP_CLAMP: {
        const float * a = ALRP_CU_F(s0); float lo = alrp_cu__opf(t, 0), hi = alrp_cu__opf(t, 1);
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_clamp(y, a, lo, hi, i); });
    } break;
    case ALRP_OP_CLAMP_BACK: {
        const float * dy = ALRP_CU_F(s0), * a = ALRP_CU_F(s1); float lo = alrp_cu__opf(t, 0), hi = alrp_cu__opf(t, 1);
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_clamp_back(y, dy, a, lo, hi, i); });
    } break;
    case ALRP_OP_MATMUL: {
        const bool ta = t->op_params[0] != 0, tb = t->op_params[1] != 0;
        const int64_t M = t->ne[2], N = t->ne[3], K = ta ? s0->ne[2] : s0->ne[3];
        const int64_t sA = s0->ne[1] == 1 ? 0 : s0->nb[1], sB = s1->ne[1] == 1 ? 0 : s1->nb[1];
        for (int64_t b0 = 0; b0 < t->ne[0]; b0++) {
            const float * A = ALRP_CU_F(s0) + (s0->ne[0] == 1 ? 0 : b0) * s0->nb[0], * B = ALRP_CU_F(s1) + (s1->ne[0] == 1 ? 0 : b0) * s1->nb[0];
            alrp_cu__gemm(x, ta, tb, M, N, K, 1.0f, A, s0->ne[3], sA, B, s1->ne[3], sB, 0.0f, y + b0 * t->nb[0], N, t->nb[1], t->ne[1]);
        }
    } break;
    case ALRP_OP_CONV2D: case ALRP_OP_CONV2D_AFFINE: {
        const struct alrp_cu__conv d = alrp_cu__conv_of(t, s0, s1);
        alrp_cu__conv_fwd(x, d, ALRP_CU_F(s0), ALRP_CU_F(s1), y);
        const int64_t O = d.o, ohw = d.oh * d.ow;
        if (t->op == ALRP_OP_CONV2D && s2) {
            const float * b = ALRP_CU_F(s2);
            x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_bias(y, b, O, ohw, i); });
        } else if (t->op == ALRP_OP_CONV2D_AFFINE) {
            const float * sc = ALRP_CU_F(s2), * sh = ALRP_CU_F(s3); bool relu = t->op_params[7] != 0;
            x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_affine(y, sc, sh, relu, O, ohw, i); });
        }
    } break;
    case ALRP_OP_CONV2D_BACK_DATA: alrp_cu__conv_bwd_data(x, alrp_cu__conv_of(t, t, s1), ALRP_CU_F(s0), ALRP_CU_F(s1), y); break;
    case ALRP_OP_CONV2D_BACK_WEIGHT: alrp_cu__conv_bwd_weight(x, alrp_cu__conv_of(t, s0, t), ALRP_CU_F(s0), ALRP_CU_F(s1), y); break;
    case ALRP_OP_BN_STATS: {
        const float * xv = ALRP_CU_F(s0); float * rm = ALRP_CU_F(s1), * rv = ALRP_CU_F(s2);
        const int64_t C = s0->ne[1], HW = s0->ne[2] * s0->ne[3], M = s0->ne[0] * HW;
        const float momentum = alrp_cu__opf(t, 1), eps = alrp_cu__opf(t, 2);
        if (t->op_params[0] != ALRP_BN_TRAIN) {
            x.launch(C, ALRP_CU_LAMBDA (int64_t c) { y[c] = rm[c]; y[C + c] = 1.0f / sqrtf(rv[c] + eps); });
            break;
        }
        double * mean = (double *) x.scratch(sizeof(double) * (size_t) C);
        alrp_cu__reduce<double>(x, C, M, ALRP_CU_LAMBDA (int64_t c, int64_t r) { return (double) xv[alrp_cu__bn_offs(C, HW, c, r)]; },
                                ALRP_CU_LAMBDA (int64_t c, double s) { mean[c] = s / (double) M; });
        alrp_cu__reduce<double>(x, C, M, ALRP_CU_LAMBDA (int64_t c, int64_t r) { double d = xv[alrp_cu__bn_offs(C, HW, c, r)] - mean[c]; return d * d; },
                                ALRP_CU_LAMBDA (int64_t c, double v) {
            double var = v / (double) M;
            y[c] = (float) mean[c];
            y[C + c] = (float) (1.0 / sqrt(var + (double) eps));
            rm[c] = (1.0f - momentum) * rm[c] + momentum * (float) mean[c];
            rv[c] = (1.0f - momentum) * rv[c] + momentum * (float) (v / (double) (M - 1));
        });
    } break;
    case ALRP_OP_BN_APPLY: {
        const float * xv = ALRP_CU_F(s0), * st = ALRP_CU_F(s1), * wv = s2 ? ALRP_CU_F(s2) : NULL, * bv = s3 ? ALRP_CU_F(s3) : NULL;
        const int64_t C = s0->ne[1], HW = s0->ne[2] * s0->ne[3];
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) {
            int64_t c = i / HW % C;
            float sc = st[C + c] * (wv ? wv[c] : 1.0f), sh = (bv ? bv[c] : 0.0f) - st[c] * sc;
            y[i] = xv[i] * sc + sh;
        });
    } break;
    case ALRP_OP_BN_BACK: case ALRP_OP_BN_BACK_PARAMS: {
        const bool params = t->op == ALRP_OP_BN_BACK_PARAMS;
        const float * dy = ALRP_CU_F(s0), * xv = ALRP_CU_F(s1), * st = ALRP_CU_F(s2), * wv = !params && s3 ? ALRP_CU_F(s3) : NULL;
        const int64_t C = s1->ne[1], HW = s1->ne[2] * s1->ne[3], M = s1->ne[0] * HW;
        const bool train = params || t->op_params[0] == ALRP_BN_TRAIN;
        float * m2 = (float *) x.scratch(sizeof(float) * (size_t) (2 * C));
        if (train)
            alrp_cu__reduce<struct alrp_cu__d2>(x, C, M, ALRP_CU_LAMBDA (int64_t c, int64_t r) {
                int64_t o = alrp_cu__bn_offs(C, HW, c, r);
                struct alrp_cu__d2 v = { (double) dy[o], (double) (dy[o] * (xv[o] - st[c]) * st[C + c]) };
                return v;
            }, ALRP_CU_LAMBDA (int64_t c, struct alrp_cu__d2 s) {
                if (params) { y[c] = (float) s.b; y[C + c] = (float) s.a; }
                else { m2[c] = (float) (s.a / (double) M); m2[C + c] = (float) (s.b / (double) M); }
            });
        if (params) break;
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) {
            int64_t c = i / HW % C;
            float mean = st[c], inv = st[C + c], k = inv * (wv ? wv[c] : 1.0f);
            y[i] = train ? k * (dy[i] - m2[c] - (xv[i] - mean) * inv * m2[C + c]) : k * dy[i];
        });
    } break;
    case ALRP_OP_MAX_POOL2D: {
        const float * xv = ALRP_CU_F(s0);
        const int64_t H = s0->ne[2], W = s0->ne[3], OH = t->ne[2], OW = t->ne[3];
        const int k = t->op_params[0], s = t->op_params[1], pad = t->op_params[2];
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_pool(y, xv, H, W, OH, OW, k, s, pad, i); });
    } break;
    case ALRP_OP_MAX_POOL2D_BACK: {
        const float * dy = ALRP_CU_F(s0), * xv = ALRP_CU_F(s1);
        const int64_t H = s1->ne[2], W = s1->ne[3], OH = s0->ne[2], OW = s0->ne[3];
        const int k = t->op_params[0], s = t->op_params[1], pad = t->op_params[2];
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_pool_back(y, dy, xv, H, W, OH, OW, k, s, pad, i); });
    } break;
    case ALRP_OP_UPSAMPLE: {
        const float * sm = ALRP_CU_F(s0); const int64_t H = s0->ne[2], W = s0->ne[3]; const int f = t->op_params[0];
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_upsample(y, sm, H, W, f, i); });
    } break;
    case ALRP_OP_UPSAMPLE_BACK: {
        const float * big = ALRP_CU_F(s0); const int64_t H = t->ne[2], W = t->ne[3]; const int f = t->op_params[0];
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_upsample_back(y, big, H, W, f, i); });
    } break;
    case ALRP_OP_PAD_SLICE: {
        const float * dy = ALRP_CU_F(s0);
        struct alrp_cu__t4 so = alrp_cu__t4_of(t), sd = alrp_cu__t4_of(s0);
        const int d = 4 - t->n_dims + t->op_params[0]; const int64_t start = t->op_params[1];
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_pad_slice(y, dy, so, sd, d, start, i); });
    } break;
    case ALRP_OP_CONCAT: {
        struct alrp_cu__cat c;
        memset(&c, 0, sizeof c);
        c.d = 4 - t->n_dims + t->op_params[0];
        int64_t off = 0;
        for (int k = 0; k < ALRP_MAX_SRC && t->src[k]; k++) { c.src[k] = t->src[k]->data; c.s[k] = alrp_cu__t4_of(t->src[k]); c.start[k] = off; off += t->src[k]->ne[c.d]; c.n = k + 1; }
        struct alrp_cu__t4 so = alrp_cu__t4_of(t);
        void * d = t->data; const int es = (int) alrp_cu__es(t->type);
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_concat(d, c, so, es, i); });
    } break;
    case ALRP_OP_GATHER_ROWS: {
        const void * a = s0->data; const int32_t * ix = (const int32_t *) s1->data;
        const int64_t R = s0->ne[2], D = s0->ne[3]; const int es = (int) alrp_cu__es(s0->type); void * d = t->data;
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_gather(d, a, ix, R, D, es, err, tag, i); });
    } break;
    case ALRP_OP_SCATTER_ADD_ROWS: {
        const void * a = s0->data; const int32_t * ix = (const int32_t *) s1->data;
        const int64_t R = t->ne[2], D = s0->ne[3]; const int type = s0->type; void * d = t->data;
        x.memset0(t->data, (size_t) n * alrp_cu__es(t->type));
        x.launch(alrp_nelements(s0), ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_scatter(d, a, ix, R, D, type, err, tag, i); });
    } break;
    case ALRP_OP_ALRP_LOSS: case ALRP_OP_AP_LOSS: alrp_cu__rank_loss(x, t, tag); break;
    case ALRP_OP_RANK_LOSS_BACK: {
        const float * dy = ALRP_CU_F(s0), * q = ALRP_CU_F(s1) + t->op_params[1]; const int64_t j = t->op_params[0];
        x.launch(n, ALRP_CU_LAMBDA (int64_t i) { y[i] = dy[j] * q[i]; });
    } break;
    case ALRP_OP_FOCAL_LOSS: case ALRP_OP_FOCAL_LOSS_BACK: case ALRP_OP_SMOOTH_L1: case ALRP_OP_SMOOTH_L1_BACK:
    case ALRP_OP_GIOU_LOSS: case ALRP_OP_GIOU_LOSS_BACK: {
        const bool back = t->op == ALRP_OP_FOCAL_LOSS_BACK || t->op == ALRP_OP_SMOOTH_L1_BACK || t->op == ALRP_OP_GIOU_LOSS_BACK;
        const struct alrp_tensor * ta = back ? s1 : s0, * tb = back ? s2 : s1;
        const float * a = ALRP_CU_F(ta), * b = ALRP_CU_F(tb), * dy = back ? ALRP_CU_F(s0) : NULL;
        const float p0 = alrp_cu__opf(t, 0), p1 = alrp_cu__opf(t, 1); const int op = t->op;
        const int64_t m = (t->op == ALRP_OP_GIOU_LOSS || t->op == ALRP_OP_GIOU_LOSS_BACK) ? alrp_nelements(ta) / 4 : alrp_nelements(ta);
        x.launch(m, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_loss(op, y, a, b, dy, p0, p1, i); });
    } break;
    case ALRP_OP_LOC_ERR_GIOU: case ALRP_OP_LOC_ERR_GIOU_BACK: {
        const bool back = t->op == ALRP_OP_LOC_ERR_GIOU_BACK;
        const struct alrp_tensor * tp = back ? s1 : s0, * tt = back ? s2 : s1;
        const float * pd = ALRP_CU_F(tp), * td = ALRP_CU_F(tt), * go = back ? ALRP_CU_F(s0) : NULL;
        struct alrp_cu__stds st;
        for (int c = 0; c < 4; c++) st.s[c] = alrp_cu__opf(t, c);
        float * le = back ? NULL : y, * gr = back ? y : NULL;
        x.launch(alrp_nelements(tp) / 4, ALRP_CU_LAMBDA (int64_t k) { alrp_cu__k_loc_err(pd, td, st, le, go, gr, k); });
    } break;
    case ALRP_OP_SUM_SQ: {
        const float * a = ALRP_CU_F(s0);
        alrp_cu__reduce<double>(x, 1, alrp_nelements(s0), ALRP_CU_LAMBDA (int64_t, int64_t r) { return (double) a[r] * a[r]; },
                                ALRP_CU_LAMBDA (int64_t, double s) { y[0] = (float) s; });
    } break;
    case ALRP_OP_OPT_STEP_SGD: case ALRP_OP_OPT_STEP_ADAMW: {
        float * p = ALRP_CU_F(s0), * m = s2 ? ALRP_CU_F(s2) : NULL, * v = s3 ? ALRP_CU_F(s3) : NULL;
        const float * g = ALRP_CU_F(s1), * hp = ALRP_CU_F(t->src[4]), * gs = t->src[5] ? ALRP_CU_F(t->src[5]) : NULL;
        const int64_t np = alrp_nelements(s0);
        if (t->op == ALRP_OP_OPT_STEP_SGD) x.launch(np, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_sgd(p, g, m, hp, gs, i); });
        else x.launch(np, ALRP_CU_LAMBDA (int64_t i) { alrp_cu__k_adamw(p, g, m, v, hp, gs, i); });
    } break;
    case ALRP_OP_COUNT: break;
    }
}

// a view takes its source's current address and buffer (as the CPU backend does)
static void alrp_cu__view_follow(struct alrp_tensor * t) {
    if (t->view_src && t->view_src->data) {
        t->data = (char *) t->view_src->data + t->view_offs * (int64_t) alrp_cu__es(t->type);
        t->buffer = t->view_src->buffer;
    }
}
static const char * alrp_cu__err_name(int code) {
    switch (code) {
    case ALRP_CU_ERR_LABEL:        return "a label outside {1, 0, -1}";
    case ALRP_CU_ERR_NONFINITE:    return "a non-finite logit on a non-ignored entry";
    case ALRP_CU_ERR_LOC:          return "a non-finite E_loc of a positive";
    case ALRP_CU_ERR_INDEX:        return "a row index out of range";
    case ALRP_CU_ERR_TOO_MANY_POS: return "more positives than the CUDA ranking loss handles (ALRP_CU_MAX_POS = 2^20)";
    }
    return "?";
}
// every node in order; the error word is read once, at the end (x.finish synchronises)
template <class X> static enum alrp_status alrp_cu__graph(X & x, struct alrp_graph * g) {
    const int nn = alrp_graph_n_nodes(g);
    for (int i = 0; i < nn; i++) {
        struct alrp_tensor * t = alrp_graph_node(g, i);
        alrp_cu__view_follow(t);
        if (!t->data) { fprintf(stderr, "alrp: CUDA backend: node %d (%s, '%s') has no data: allocate the graph with alrp_gallocr_alloc_graph\n", i, alrp_op_name(t->op), t->name); return ALRP_STATUS_FAILED; }
        for (int k = 0; k < ALRP_MAX_SRC; k++)
            if (t->src[k] && !t->src[k]->data) { fprintf(stderr, "alrp: CUDA backend: node %d (%s): input '%s' has no data\n", i, alrp_op_name(t->op), t->src[k]->name); return ALRP_STATUS_FAILED; }
    }
    if (!x.begin(g)) {
        for (int i = 0; i < nn; i++) { alrp_cu__node(x, alrp_graph_node(g, i), i); x.scratch_release(); }
    }
    const int32_t e = x.finish(g);
    if (e < 0) return e == -1 ? ALRP_STATUS_ALLOC_FAILED : ALRP_STATUS_FAILED;   // (the executor printed why)
    if (e) {
        const int node = e >> 4;
        const struct alrp_tensor * t = node < nn ? alrp_graph_node(g, node) : NULL;
        fprintf(stderr, "alrp: CUDA backend: node %d (%s, '%s'): bad input: %s\n", node, t ? alrp_op_name(t->op) : "?", t ? t->name : "?", alrp_cu__err_name(e & 15));
        return ALRP_STATUS_FAILED;
    }
    return ALRP_STATUS_SUCCESS;
}

// ---- scratch blocks of one node ---------------------------------------------------------------
#define ALRP_CU_MAX_SCRATCH 64
// the address of a tensor's bytes, views resolved (a device address on the GPU)
static char * alrp_cu__addr(const struct alrp_tensor * t) {
    if (t->view_src && t->view_src->data) return (char *) t->view_src->data + t->view_offs * (int64_t) alrp_cu__es(t->type);
    return (char *) t->data;
}
struct alrp_cu__scratch_list { void * p[ALRP_CU_MAX_SCRATCH]; size_t size[ALRP_CU_MAX_SCRATCH]; int n; };

#ifdef ALRP_CUDA_HOST_ONLY
// ============================================================================================
// ===== part 2: the host executor (the test double: no GPU, no nvcc)
// ============================================================================================
// Launches run the body over an emulated grid of at most ALRP_CU_HOST_BLOCKS blocks of
// ALRP_CU_BLOCK threads, in block and thread order, so the grid-stride loop runs several
// rounds on inputs above 1024 elements. The GEMM is cuBLAS's column-major contract as a loop.
#define ALRP_CU_HOST_BLOCKS 4
struct alrp_cu__host_exec {
    int32_t * err;
    struct alrp_cu__scratch_list sc;
    template <class F> void launch(int64_t n, F f) {
        if (n <= 0) return;
        int64_t nb = (n + ALRP_CU_BLOCK - 1) / ALRP_CU_BLOCK;
        if (nb > ALRP_CU_HOST_BLOCKS) nb = ALRP_CU_HOST_BLOCKS;
        for (int64_t b = 0; b < nb; b++) for (int64_t t = 0; t < ALRP_CU_BLOCK; t++) alrp_cu__grid_loop(f, n, b, nb, t, ALRP_CU_BLOCK);
    }
    // C (m, n) = alpha op(A) op(B) + beta C, column-major, op(A) (m, k), batched by strides
    void sgemm_cm(bool ta, bool tb, int64_t m, int64_t nn, int64_t k, float alpha, const float * A, int64_t lda, int64_t sA,
                  const float * B, int64_t ldb, int64_t sB, float beta, float * C, int64_t ldc, int64_t sC, int64_t batch) {
        for (int64_t q = 0; q < batch; q++) {
            const float * Aq = A + q * sA, * Bq = B + q * sB; float * Cq = C + q * sC;
            for (int64_t j = 0; j < nn; j++) for (int64_t i = 0; i < m; i++) {
                float s = 0.0f;
                for (int64_t l = 0; l < k; l++) s += (ta ? Aq[l + i * lda] : Aq[i + l * lda]) * (tb ? Bq[j + l * ldb] : Bq[l + j * ldb]);
                Cq[i + j * ldc] = beta == 0.0f ? alpha * s : alpha * s + beta * Cq[i + j * ldc];
            }
        }
    }
    void * scratch(size_t size) {
        if (sc.n >= ALRP_CU_MAX_SCRATCH) { fprintf(stderr, "alrp: CUDA (host): too many scratch blocks in one node\n"); abort(); }
        void * p = malloc(size ? size : 1);
        if (!p) { fprintf(stderr, "alrp: CUDA (host): out of memory for %zu bytes of scratch\n", size); abort(); }
        memset(p, 0x7F, size);   // garbage a kernel must not read
        sc.p[sc.n] = p; sc.size[sc.n++] = size;
        return p;
    }
    void scratch_release() { for (int i = 0; i < sc.n; i++) free(sc.p[i]); sc.n = 0; }
    void memset0(void * p, size_t size) { memset(p, 0, size); }
    void copy(void * d, const void * s, size_t size) { memmove(d, s, size); }
    bool begin(struct alrp_graph *) { *err = 0; return false; }
    int32_t finish(struct alrp_graph *) { int32_t e = *err; *err = 0; return e; }
};

struct alrp_cu__host_ctx { int32_t err; };
static const char * alrp_cu__host_name(struct alrp_backend *) { return "CUDA kernels on the host (grid emulation)"; }
static void alrp_cu__host_free(struct alrp_backend * be) { free(be->context); free(be); }
static bool alrp_cu__host_supports(struct alrp_backend *, const struct alrp_tensor * t) { return alrp_cu__supports(t); }
static void * alrp_cu__host_alloc(struct alrp_backend *, size_t size) { return malloc(size); }
static void alrp_cu__host_buf_free(struct alrp_backend *, void * p) { free(p); }
static void alrp_cu__host_set(struct alrp_backend *, struct alrp_tensor * t, const void * d, size_t off, size_t size) { if (size) memcpy(alrp_cu__addr(t) + off, d, size); }
static void alrp_cu__host_get(struct alrp_backend *, const struct alrp_tensor * t, void * d, size_t off, size_t size) { if (size) memcpy(d, alrp_cu__addr(t) + off, size); }
static void alrp_cu__host_memset(struct alrp_backend *, struct alrp_tensor * t, uint8_t v, size_t off, size_t size) { if (size) memset(alrp_cu__addr(t) + off, v, size); }
static enum alrp_status alrp_cu__host_compute(struct alrp_backend * be, struct alrp_graph * g) {
    struct alrp_cu__host_exec x;
    memset(&x, 0, sizeof x);
    x.err = &((struct alrp_cu__host_ctx *) be->context)->err;
    return alrp_cu__graph(x, g);
}
extern "C" struct alrp_backend * alrp_backend_cuda_host_init(void) {
    struct alrp_backend * be = (struct alrp_backend *) calloc(1, sizeof *be);
    struct alrp_cu__host_ctx * c = (struct alrp_cu__host_ctx *) calloc(1, sizeof *c);
    if (!be || !c) { fprintf(stderr, "alrp_backend_cuda_host_init: out of memory\n"); abort(); }
    be->iface.name = alrp_cu__host_name;
    be->iface.free = alrp_cu__host_free;
    be->iface.supports_op = alrp_cu__host_supports;
    be->iface.buffer_alloc = alrp_cu__host_alloc;
    be->iface.buffer_free = alrp_cu__host_buf_free;
    be->iface.alignment = 256;
    be->iface.is_host = false;   // like device memory: only tensors in its own buffers
    be->iface.tensor_set = alrp_cu__host_set;
    be->iface.tensor_get = alrp_cu__host_get;
    be->iface.tensor_memset = alrp_cu__host_memset;
    be->iface.graph_compute = alrp_cu__host_compute;
    be->context = c;
    return be;
}
#endif // ALRP_CUDA_HOST_ONLY

#ifndef ALRP_CUDA_HOST_ONLY
// ============================================================================================
// ===== part 3: the CUDA executor and backend (nvcc)
// ============================================================================================

template <class F> __global__ void alrp_cu__kernel(F f, int64_t n) { alrp_cu__grid_loop(f, n, blockIdx.x, gridDim.x, threadIdx.x, blockDim.x); }

#define ALRP_CU_MAX_GRID 16384   // blocks per launch (more elements: the grid-stride loop)
#define ALRP_CU_GRAPH_CACHE 8    // captured CUDA graphs kept

// the caching pool: every block ever cudaMalloc'ed, free or not. Buffers and kernel scratch are
// kept apart: scratch blocks may be baked into captured CUDA graphs, so they are only released
// when the backend is freed; free buffer blocks are released when cudaMalloc runs out.
struct alrp_cu__block { void * p; size_t size; bool used, scratch; };
struct alrp_cu__graph_entry { const struct alrp_graph * g; uint64_t sig; cudaGraphExec_t exec; };
struct alrp_cu__ctx {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    bool tf32, graphs, capturing, failed, oom;
    int32_t * err_dev, * err_host;
    struct alrp_cu__block * blocks;
    int n_blocks, cap_blocks;
    struct alrp_cu__graph_entry cache[ALRP_CU_GRAPH_CACHE];
    int n_cache, next_evict;
    char name[288];
};

static void alrp_cu__fail(struct alrp_cu__ctx * c, const char * what, const char * why) {
    if (!c->failed) fprintf(stderr, "alrp: CUDA backend: %s: %s\n", what, why);
    c->failed = true;
}
#define ALRP_CU_CALL(c, call) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) alrp_cu__fail((c), #call, cudaGetErrorString(e_)); } while (0)

static void * alrp_cu__pool_alloc(struct alrp_cu__ctx * c, size_t size, bool scratch) {
    size = (size + 255) & ~(size_t) 255;
    if (size == 0) size = 256;
    int best = -1;
    for (int i = 0; i < c->n_blocks; i++) {
        const struct alrp_cu__block * b = &c->blocks[i];
        if (b->used || b->scratch != scratch || b->size < size || b->size > 2 * size) continue;
        if (best < 0 || b->size < c->blocks[best].size) best = i;
    }
    if (best >= 0) { c->blocks[best].used = true; return c->blocks[best].p; }
    if (c->n_blocks == c->cap_blocks) {
        int cap = c->cap_blocks ? 2 * c->cap_blocks : 64;
        struct alrp_cu__block * nb = (struct alrp_cu__block *) realloc(c->blocks, sizeof(*nb) * (size_t) cap);
        if (!nb) return NULL;
        c->blocks = nb; c->cap_blocks = cap;
    }
    void * p = NULL;
    if (cudaMalloc(&p, size) != cudaSuccess) {
        (void) cudaGetLastError();
        // out of memory: give the cached free buffer blocks back and try once more
        if (c->capturing) return NULL;
        cudaStreamSynchronize(c->stream);
        int k = 0;
        for (int i = 0; i < c->n_blocks; i++) {
            if (!c->blocks[i].used && !c->blocks[i].scratch) cudaFree(c->blocks[i].p);
            else c->blocks[k++] = c->blocks[i];
        }
        c->n_blocks = k;
        if (cudaMalloc(&p, size) != cudaSuccess) { (void) cudaGetLastError(); return NULL; }
    }
    c->blocks[c->n_blocks++] = (struct alrp_cu__block) { p, size, true, scratch };
    return p;
}
static void alrp_cu__pool_free(struct alrp_cu__ctx * c, void * p) {
    for (int i = 0; i < c->n_blocks; i++) if (c->blocks[i].p == p) { c->blocks[i].used = false; return; }
}

static const char * alrp_cu__blas_status(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED:    return "out of memory";
    case CUBLAS_STATUS_INVALID_VALUE:   return "invalid value";
    case CUBLAS_STATUS_ARCH_MISMATCH:   return "architecture mismatch";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "execution failed";
    default: return "error";
    }
}

struct alrp_cu__dev_exec {
    struct alrp_cu__ctx * c;
    int32_t * err;
    struct alrp_cu__scratch_list sc;
    template <class F> void launch(int64_t n, F f) {
        if (n <= 0 || c->oom || c->failed) return;
        int64_t nb = (n + ALRP_CU_BLOCK - 1) / ALRP_CU_BLOCK;
        if (nb > ALRP_CU_MAX_GRID) nb = ALRP_CU_MAX_GRID;
        alrp_cu__kernel<<<(unsigned int) nb, ALRP_CU_BLOCK, 0, c->stream>>>(f, n);
        ALRP_CU_CALL(c, cudaGetLastError());
    }
    void sgemm_cm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float * A, int64_t lda, int64_t sA,
                  const float * B, int64_t ldb, int64_t sB, float beta, float * C, int64_t ldc, int64_t sC, int64_t batch) {
        if (c->oom || c->failed) return;
        const cublasOperation_t oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
        const int ilda = (int) (lda > 0 ? lda : 1), ildb = (int) (ldb > 0 ? ldb : 1);
        cublasStatus_t s = batch == 1
            ? cublasSgemm(c->blas, oa, ob, (int) m, (int) n, (int) k, &alpha, A, ilda, B, ildb, &beta, C, (int) ldc)
            : cublasSgemmStridedBatched(c->blas, oa, ob, (int) m, (int) n, (int) k, &alpha, A, ilda, sA, B, ildb, sB, &beta, C, (int) ldc, sC, (int) batch);
        if (s != CUBLAS_STATUS_SUCCESS) alrp_cu__fail(c, "cublasSgemm", alrp_cu__blas_status(s));
    }
    void * scratch(size_t size) {
        void * p = sc.n < ALRP_CU_MAX_SCRATCH ? alrp_cu__pool_alloc(c, size, true) : NULL;
        if (!p) { if (!c->oom) fprintf(stderr, "alrp: CUDA backend: out of device memory for %zu bytes of kernel scratch\n", size); c->oom = true; return NULL; }
        sc.p[sc.n] = p; sc.size[sc.n++] = size;
        return p;
    }
    void scratch_release() { for (int i = 0; i < sc.n; i++) alrp_cu__pool_free(c, sc.p[i]); sc.n = 0; }
    void memset0(void * p, size_t size) { if (size && !c->oom && !c->failed) ALRP_CU_CALL(c, cudaMemsetAsync(p, 0, size, c->stream)); }
    void copy(void * d, const void * s, size_t size) { if (size && !c->oom && !c->failed) ALRP_CU_CALL(c, cudaMemcpyAsync(d, s, size, cudaMemcpyDeviceToDevice, c->stream)); }
    // the signature of what a captured graph baked in: ops, shapes, parameters, addresses
    static uint64_t signature(const struct alrp_graph * g) {
        uint64_t h = 1469598103934665603ull;
        const int nn = alrp_graph_n_nodes(g);
        for (int i = 0; i < nn; i++) {
            const struct alrp_tensor * t = alrp_graph_node(g, i);
            const struct alrp_tensor * ts[1 + ALRP_MAX_SRC] = { t, t->src[0], t->src[1], t->src[2], t->src[3], t->src[4], t->src[5] };
            for (int k = 0; k < 1 + ALRP_MAX_SRC; k++) {
                uint64_t v[12] = { 0 };
                if (ts[k]) {
                    v[0] = (uint64_t) (uintptr_t) ts[k]->data; v[1] = (uint64_t) ts[k]->op; v[2] = (uint64_t) ts[k]->type;
                    for (int d = 0; d < 4; d++) { v[3 + d] = (uint64_t) ts[k]->ne[d]; v[7 + d] = (uint64_t) ts[k]->nb[d]; }
                }
                if (k == 0) for (int q = 0; q < ALRP_MAX_OP_PARAMS; q++) v[11] = v[11] * 31u + (uint32_t) t->op_params[q];
                for (int q = 0; q < 12; q++) { h ^= v[q]; h *= 1099511628211ull; }
            }
        }
        return h;
    }
    // true: a captured graph was replayed (the nodes must not be launched again)
    bool begin(struct alrp_graph * g) {
        if (!c->graphs) return false;
        uint64_t sig = signature(g);
        for (int i = 0; i < c->n_cache; i++)
            if (c->cache[i].g == g && c->cache[i].sig == sig) { ALRP_CU_CALL(c, cudaGraphLaunch(c->cache[i].exec, c->stream)); return true; }
        if (cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeRelaxed) == cudaSuccess) c->capturing = true;
        else (void) cudaGetLastError();
        return false;
    }
    int32_t finish(struct alrp_graph * g) {
        if (c->capturing) {
            c->capturing = false;
            cudaGraph_t graph = NULL;
            cudaError_t e = cudaStreamEndCapture(c->stream, &graph);
            cudaGraphExec_t exec = NULL;
            if (e == cudaSuccess && !c->oom && !c->failed) e = cudaGraphInstantiate(&exec, graph, 0);
            if (graph) cudaGraphDestroy(graph);
            if (e != cudaSuccess || !exec) { if (!c->oom) alrp_cu__fail(c, "CUDA graph capture", cudaGetErrorString(e)); }
            else {
                int slot = c->n_cache < ALRP_CU_GRAPH_CACHE ? c->n_cache++ : (c->next_evict++ % ALRP_CU_GRAPH_CACHE);
                if (slot < c->n_cache && c->cache[slot].exec && c->cache[slot].g) cudaGraphExecDestroy(c->cache[slot].exec);
                c->cache[slot] = (struct alrp_cu__graph_entry) { g, signature(g), exec };
                ALRP_CU_CALL(c, cudaGraphLaunch(exec, c->stream));
            }
        }
        ALRP_CU_CALL(c, cudaMemcpyAsync(c->err_host, c->err_dev, sizeof(int32_t), cudaMemcpyDeviceToHost, c->stream));
        ALRP_CU_CALL(c, cudaStreamSynchronize(c->stream));
        int32_t e = *c->err_host;
        if (e) { cudaMemsetAsync(c->err_dev, 0, sizeof(int32_t), c->stream); cudaStreamSynchronize(c->stream); }
        const bool oom = c->oom, failed = c->failed;
        c->oom = c->failed = false;
        if (oom) return -1;
        if (failed) return -2;
        return e;
    }
};

static void alrp_cu__graphs_clear(struct alrp_cu__ctx * c) {
    for (int i = 0; i < c->n_cache; i++) if (c->cache[i].exec) cudaGraphExecDestroy(c->cache[i].exec);
    c->n_cache = 0; c->next_evict = 0;
}

static const char * alrp_cu__dev_name(struct alrp_backend * be) { return ((struct alrp_cu__ctx *) be->context)->name; }
static void alrp_cu__dev_free(struct alrp_backend * be) {
    struct alrp_cu__ctx * c = (struct alrp_cu__ctx *) be->context;
    cudaSetDevice(c->device);
    cudaStreamSynchronize(c->stream);
    alrp_cu__graphs_clear(c);
    for (int i = 0; i < c->n_blocks; i++) cudaFree(c->blocks[i].p);
    free(c->blocks);
    cudaFree(c->err_dev);
    cudaFreeHost(c->err_host);
    cublasDestroy(c->blas);
    cudaStreamDestroy(c->stream);
    free(c);
    free(be);
}
static bool alrp_cu__dev_supports(struct alrp_backend *, const struct alrp_tensor * t) { return alrp_cu__supports(t); }
static void * alrp_cu__dev_alloc(struct alrp_backend * be, size_t size) {
    struct alrp_cu__ctx * c = (struct alrp_cu__ctx *) be->context;
    cudaSetDevice(c->device);
    return alrp_cu__pool_alloc(c, size, false);
}
static void alrp_cu__dev_buf_free(struct alrp_backend * be, void * p) { alrp_cu__pool_free((struct alrp_cu__ctx *) be->context, p); }
static void alrp_cu__copy(struct alrp_backend * be, void * dst, const void * src, size_t size, cudaMemcpyKind kind, bool sync) {
    struct alrp_cu__ctx * c = (struct alrp_cu__ctx *) be->context;
    if (!size) return;
    cudaSetDevice(c->device);
    ALRP_CU_CALL(c, cudaMemcpyAsync(dst, src, size, kind, c->stream));
    if (sync) ALRP_CU_CALL(c, cudaStreamSynchronize(c->stream));
    c->failed = false;   // reported; the next compute starts clean
}
static void alrp_cu__dev_set(struct alrp_backend * be, struct alrp_tensor * t, const void * d, size_t off, size_t size) { alrp_cu__copy(be, alrp_cu__addr(t) + off, d, size, cudaMemcpyHostToDevice, true); }
static void alrp_cu__dev_get(struct alrp_backend * be, const struct alrp_tensor * t, void * d, size_t off, size_t size) { alrp_cu__copy(be, d, alrp_cu__addr(t) + off, size, cudaMemcpyDeviceToHost, true); }
static void alrp_cu__dev_set_async(struct alrp_backend * be, struct alrp_tensor * t, const void * d, size_t off, size_t size) { alrp_cu__copy(be, alrp_cu__addr(t) + off, d, size, cudaMemcpyHostToDevice, false); }
static void alrp_cu__dev_get_async(struct alrp_backend * be, const struct alrp_tensor * t, void * d, size_t off, size_t size) { alrp_cu__copy(be, d, alrp_cu__addr(t) + off, size, cudaMemcpyDeviceToHost, false); }
static void alrp_cu__dev_memset(struct alrp_backend * be, struct alrp_tensor * t, uint8_t v, size_t off, size_t size) {
    struct alrp_cu__ctx * c = (struct alrp_cu__ctx *) be->context;
    if (!size) return;
    cudaSetDevice(c->device);
    ALRP_CU_CALL(c, cudaMemsetAsync(alrp_cu__addr(t) + off, v, size, c->stream));
}
static void alrp_cu__dev_sync(struct alrp_backend * be) {
    struct alrp_cu__ctx * c = (struct alrp_cu__ctx *) be->context;
    cudaSetDevice(c->device);
    ALRP_CU_CALL(c, cudaStreamSynchronize(c->stream));
}
static enum alrp_status alrp_cu__dev_compute(struct alrp_backend * be, struct alrp_graph * g) {
    struct alrp_cu__ctx * c = (struct alrp_cu__ctx *) be->context;
    cudaSetDevice(c->device);
    struct alrp_cu__dev_exec x;
    memset(&x, 0, sizeof x);
    x.c = c; x.err = c->err_dev;
    return alrp_cu__graph(x, g);
}

extern "C" bool alrp_backend_is_cuda(const struct alrp_backend * be) { return be && be->iface.name == alrp_cu__dev_name; }
extern "C" void alrp_backend_cuda_set_tf32(struct alrp_backend * be, bool on) {
    if (!alrp_backend_is_cuda(be)) return;
    struct alrp_cu__ctx * c = (struct alrp_cu__ctx *) be->context;
    cudaSetDevice(c->device);
    c->tf32 = on;
    cublasSetMathMode(c->blas, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
    alrp_cu__graphs_clear(c);   // the math mode is baked into captured GEMMs
}
extern "C" void alrp_backend_cuda_set_graphs(struct alrp_backend * be, bool on) {
    if (!alrp_backend_is_cuda(be)) return;
    struct alrp_cu__ctx * c = (struct alrp_cu__ctx *) be->context;
    c->graphs = on;
    if (!on) alrp_cu__graphs_clear(c);
}
extern "C" size_t alrp_backend_cuda_mem_used(const struct alrp_backend * be) {
    if (!alrp_backend_is_cuda(be)) return 0;
    const struct alrp_cu__ctx * c = (const struct alrp_cu__ctx *) be->context;
    size_t s = 0;
    for (int i = 0; i < c->n_blocks; i++) s += c->blocks[i].size;
    return s;
}

extern "C" struct alrp_backend * alrp_backend_cuda_init(int device, char * err, size_t err_size) {
    char dummy[8];
    if (!err) { err = dummy; err_size = sizeof dummy; }
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) { (void) cudaGetLastError(); snprintf(err, err_size, "CUDA: no usable driver or device (cudaGetDeviceCount: %s)", cudaGetErrorString(e)); return NULL; }
    if (n == 0) { snprintf(err, err_size, "CUDA: no CUDA device found"); return NULL; }
    if (device < 0 || device >= n) { snprintf(err, err_size, "CUDA: device %d does not exist (%d found: 0..%d)", device, n, n - 1); return NULL; }
    struct cudaDeviceProp prop;
    if ((e = cudaSetDevice(device)) != cudaSuccess || (e = cudaGetDeviceProperties(&prop, device)) != cudaSuccess) {
        (void) cudaGetLastError(); snprintf(err, err_size, "CUDA: device %d: %s", device, cudaGetErrorString(e)); return NULL;
    }
    if (prop.major < 8) { snprintf(err, err_size, "CUDA: device %d (%s) is sm_%d%d: this build needs sm_80 or newer", device, prop.name, prop.major, prop.minor); return NULL; }
    struct alrp_backend * be = (struct alrp_backend *) calloc(1, sizeof *be);
    struct alrp_cu__ctx * c = (struct alrp_cu__ctx *) calloc(1, sizeof *c);
    if (!be || !c) { free(be); free(c); snprintf(err, err_size, "CUDA: out of host memory"); return NULL; }
    c->device = device;
    snprintf(c->name, sizeof c->name, "CUDA %d (%s)", device, prop.name);
    if ((e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking)) != cudaSuccess ||
        (e = cudaMalloc((void **) &c->err_dev, sizeof(int32_t))) != cudaSuccess ||
        (e = cudaMallocHost((void **) &c->err_host, sizeof(int32_t))) != cudaSuccess ||
        (e = cudaMemset(c->err_dev, 0, sizeof(int32_t))) != cudaSuccess) {
        (void) cudaGetLastError(); snprintf(err, err_size, "CUDA: device %d: %s", device, cudaGetErrorString(e));
        if (c->stream) cudaStreamDestroy(c->stream);
        cudaFree(c->err_dev); cudaFreeHost(c->err_host); free(c); free(be);
        return NULL;
    }
    cublasStatus_t bs = cublasCreate(&c->blas);
    if (bs != CUBLAS_STATUS_SUCCESS) {
        snprintf(err, err_size, "CUDA: cublasCreate: %s", alrp_cu__blas_status(bs));
        cudaStreamDestroy(c->stream); cudaFree(c->err_dev); cudaFreeHost(c->err_host); free(c); free(be);
        return NULL;
    }
    cublasSetStream(c->blas, c->stream);
    cublasSetMathMode(c->blas, CUBLAS_DEFAULT_MATH);
    be->iface.name = alrp_cu__dev_name;
    be->iface.free = alrp_cu__dev_free;
    be->iface.supports_op = alrp_cu__dev_supports;
    be->iface.buffer_alloc = alrp_cu__dev_alloc;
    be->iface.buffer_free = alrp_cu__dev_buf_free;
    be->iface.alignment = 256;
    be->iface.is_host = false;
    be->iface.tensor_set = alrp_cu__dev_set;
    be->iface.tensor_get = alrp_cu__dev_get;
    be->iface.tensor_memset = alrp_cu__dev_memset;
    be->iface.tensor_set_async = alrp_cu__dev_set_async;
    be->iface.tensor_get_async = alrp_cu__dev_get_async;
    be->iface.synchronize = alrp_cu__dev_sync;
    be->iface.graph_compute = alrp_cu__dev_compute;
    be->context = c;
    if (err_size) err[0] = 0;
    return be;
}
#endif // !ALRP_CUDA_HOST_ONLY
