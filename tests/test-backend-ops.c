// test-backend-ops: ONE table of op cases, run on every backend compiled in and compared with
// the reference, the CPU backend on 1 thread (in the spirit of ggml's test-backend-ops).
//
//     test-backend-ops [test|fwd|grad] [-o OP[,OP...]] [-b BACKEND]
//         test (default)  every mode of every case
//         fwd             the forward graphs only
//         grad            the gradient cases only (forward + alrp_build_backward)
//         -o OP           the cases whose op under test is OP (an alrp_op_name: -o CONV2D,MATMUL);
//                         a word that is no op name selects the cases whose name contains it
//                         (-o depthwise)
//         -b BACKEND      only the backends under test whose name contains BACKEND (-b CUDA)
//         -s SEED         other input data for every case (default 0: each case's data come
//                         from its name alone)
//         --tf32          the CUDA backend's GEMMs and convs in TF32; its bound is then
//                         NMSE <= 1e-5 (instead of each case's, 1e-7 by default)
//
// Backends under test: the CPU backend on 2 threads; with -DALRP_CUDA_HOST the CUDA backend's
// dispatch and kernel bodies run on the CPU over an emulated launch grid
// (alrp_backend_cuda_host_init: catches indexing mistakes without a GPU); and, when compiled with
// -DALRP_CUDA, alrp_backend_cuda_init(0) ("skipped: no CUDA device" when it returns NULL).
//
// A case is a builder, the shapes and init kinds of its inputs (made by the harness; a builder
// may make more leafs with bl_f32 / bl_vals / bl_state) and how its gradient is checked. Per
// mode, on each backend:
//   fwd   the forward graph, in no_alloc contexts, placed by alrp_gallocr_alloc_graph (data-less
//         leafs and nodes) and alrp_backend_alloc_ctx_tensors (state: BN running statistics,
//         optimizer state, parameters updated in place); every buffer is first filled with a
//         poison pattern (NaN on the reference, 0x7F7F7F7F = 3.4e38 elsewhere), so a value that
//         a kernel forgets to write shows up. The output and the state after the compute are
//         compared with the reference: NMSE = sum (a - b)^2 / sum b^2 <= 1e-7 (a case may
//         override it), NaN / +inf / -inf at the same positions only, and on the reference no
//         non-finite value at all unless the case expects some. Inputs that are not state must
//         come out of the compute unchanged.
//   grad  loss = sum(out * R) with a fixed random R; the gradient (alrp_build_backward) of every
//         differentiable input is compared with the reference by NMSE and, on the reference,
//         with central finite differences of the forward graph (per-case eps / tolerance, as in
//         tests/test-grad.c: |num - ana| / (1 + |num|) <= tol; big cases on an even sample of
//         their elements, big cases with kinks not at all). The ranking losses (ALRP_LOSS,
//         AP_LOSS) cannot be finite-differenced: their "gradient" is the error-driven update,
//         compared instead with the plain-array API (alrp_loss_alrp_f32, alrp_loss_ap_f32),
//         which tests/test-loss-rank.c checks against naive loops.
//   naive on each CPU backend the graph is computed once more with every node kept (flagged
//         OUTPUT), and each MATMUL, CONV2D, CONV2D_BACK_DATA, CONV2D_BACK_WEIGHT and
//         CONV2D_AFFINE node is compared with the naive kernels of alrp.h, each OPT_STEP_* node
//         with the raw kernels (alrp_sgd_step_f32, alrp_adamw_step_f32), each ALRP_LOSS /
//         AP_LOSS / RANK_LOSS_BACK node with the plain-array losses, and each FILL, CONT,
//         CONCAT, GATHER_ROWS and SCATTER_ADD_ROWS node with a loop written here (they move
//         typed data, i8 labels and i32 indices included, which a comparison of two backends
//         that share a kernel cannot check).
// Before a backend runs a case, every node goes through alrp_backend_supports_op: an unsupported
// one makes the case SKIP on that backend (the CPU reference must support every op). A self-
// check runs that path first, on a CPU backend with CONV2D_AFFINE taken out of supports_op.
//
// Coverage (checked when no -o is given, on the whole table): every ALRP_OP_* must appear in
// the forward graph of some case (a backward-only op: in any graph built), every
// differentiable op on the gradient path in the forward part of a gradient case and, the
// ranking losses aside, of a finite-difference case; every unary op likewise. The counts are
// printed at the end. Exits non-zero on any failure.
#define ALRP_INTERNAL
#include "alrp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

// the harness's own programming errors (a malformed case): message and abort
#define TASSERTM(x, ...) do { if (!(x)) { fprintf(stderr, "test-backend-ops: %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); abort(); } } while (0)
#define TASSERT(x) TASSERTM(x, "%s", #x)
#define TMAX(a, b) ((a) > (b) ? (a) : (b))
#include <string.h>
#include <time.h>

#if defined(ALRP_CUDA) || defined(ALRP_CUDA_HOST)
#include "alrp-cuda.h"   // the CUDA backend (alrp-cuda.cu) and its host test double
#endif

#define MAX_IN     8
#define MAX_EXTRA  8
#define MAX_RES    (1 + 2 * MAX_IN + MAX_EXTRA)
#define MAX_NODES  2048
#define FD_SAMPLE  24     // finite differences of a big (G_BIG) case: elements per input
#define CTX_SIZE   (8u << 20)

// ============================================================================================
// inputs: init kinds and the builder helpers
// ============================================================================================

enum init_kind {
    I_UNI,      // uniform [-1, 1)
    I_WIDE,     // uniform [-8, 8)
    I_SMALL,    // uniform [-0.1, 0.1)
    I_POS,      // [0.5, 2]
    I_AWAY,     // |x| in [0.2, 1]: away from zero
    I_DIST,     // a shuffled ramp, values 0.05 apart: no ties, far from kinks
    I_BOX,      // (n, 4) boxes x1, y1 near 0 and x2, y2 near 0.9: every pair overlaps
    I_BOXFAR,   // (n, 4) boxes spread out: disjoint, overlapping and nested pairs
    I_BIN,      // 0/1 targets
    I_SOFT,     // [0, 1]: soft targets, E_loc
    I_NONFIN,   // uniform with 0, NaN, +inf and -inf mixed in
    I_ZERO,
    I_SIGN,     // +-2^-ip, random signs: convs of these are multiples of a power of 2 (see the ReLU cases)
    I_POW2,     // 0.5, 1 or 2
    I_LABELS,   // i8: ip positives (1), about 1/8 of the others ignored (-1), the rest 0
    I_INDEX,    // i32 in [0, ip)
};

enum { F_DIFF = 1, F_STATE = 2 };   // input flags: differentiated in grad mode; state (see top)

struct in_desc { int nd; int64_t s[4]; enum init_kind init; int ip; unsigned flags; };

static enum alrp_type init_type(enum init_kind k) {
    return k == I_LABELS ? ALRP_TYPE_I8 : k == I_INDEX ? ALRP_TYPE_I32 : ALRP_TYPE_F32;
}
static const char * type_name(enum alrp_type t) { return t == ALRP_TYPE_I8 ? "i8" : t == ALRP_TYPE_I32 ? "i32" : "f32"; }

static float urand(struct alrp_rng * r) { return (float) (2.0 * alrp_rng_uniform(r) - 1.0); }   // [-1, 1)

static void gen_values(void * dst, enum alrp_type type, int64_t n, enum init_kind k, int ip, const float * vals, struct alrp_rng * r) {
    if (vals) { memcpy(dst, vals, sizeof(float) * (size_t) n); return; }
    if (type == ALRP_TYPE_I8) {   // labels: ip distinct positives
        int8_t * l = (int8_t *) dst;
        for (int64_t i = 0; i < n; i++) l[i] = alrp_rng_uniform(r) < 0.125 ? -1 : 0;
        int64_t * perm = (int64_t *) malloc(sizeof(int64_t) * (size_t) n);
        for (int64_t i = 0; i < n; i++) perm[i] = i;
        for (int64_t i = 0; i < ip && i < n; i++) {
            int64_t j = i + (int64_t) (alrp_rng_uniform(r) * (double) (n - i));
            int64_t tmp = perm[i]; perm[i] = perm[j]; perm[j] = tmp;
            l[perm[i]] = 1;
        }
        free(perm);
        return;
    }
    if (type == ALRP_TYPE_I32) {
        int32_t * x = (int32_t *) dst;
        for (int64_t i = 0; i < n; i++) x[i] = (int32_t) (alrp_rng_uniform(r) * ip);
        return;
    }
    float * d = (float *) dst;
    for (int64_t i = 0; i < n; i++) {
        float u = urand(r);
        switch (k) {
        case I_UNI:    d[i] = u; break;
        case I_WIDE:   d[i] = 8.0f * u; break;
        case I_SMALL:  d[i] = 0.1f * u; break;
        case I_POS:    d[i] = 0.5f + 0.75f * (u + 1.0f); break;
        case I_AWAY:   d[i] = (u >= 0 ? 0.2f : -0.2f) + 0.8f * u; break;
        case I_BOX:    d[i] = (i % 4 < 2) ? 0.3f * u : 0.9f + 0.4f * u; break;
        case I_BIN:    d[i] = u >= 0 ? 1.0f : 0.0f; break;
        case I_SOFT:   d[i] = 0.5f * (u + 1.0f); break;
        case I_ZERO:   d[i] = 0.0f; break;
        case I_SIGN:   d[i] = ldexpf(u >= 0 ? 1.0f : -1.0f, -ip); break;
        case I_POW2:   d[i] = u < -0.33f ? 0.5f : u < 0.33f ? 1.0f : 2.0f; break;
        case I_NONFIN: d[i] = i % 5 == 1 ? 0.0f : i % 7 == 2 ? NAN : i % 11 == 3 ? INFINITY : i % 13 == 4 ? -INFINITY : u; break;
        case I_DIST: case I_BOXFAR: d[i] = 0.0f; break;   // below
        case I_LABELS: case I_INDEX: break;
        }
    }
    if (k == I_DIST) {
        for (int64_t i = 0; i < n; i++) d[i] = 0.05f * (float) (i - n / 2) + 0.025f;
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t) (alrp_rng_uniform(r) * (double) (i + 1));
            float tmp = d[i]; d[i] = d[j]; d[j] = tmp;
        }
    }
    if (k == I_BOXFAR) {
        for (int64_t b = 0; b + 3 < n; b += 4) {
            float cx = 1.5f * urand(r), cy = 1.5f * urand(r), w = 0.7f + 0.5f * urand(r), h = 0.7f + 0.5f * urand(r);
            d[b] = cx - 0.5f * w; d[b + 1] = cy - 0.5f * h; d[b + 2] = cx + 0.5f * w; d[b + 3] = cy + 0.5f * h;
        }
    }
}

// A leaf made by a builder, filled by the harness like the table's inputs.
struct extra_leaf { struct alrp_tensor * t; enum init_kind init; int ip; const float * vals; bool state; };

struct run {
    struct alrp_context * ctx, * ctx_p;     // the graph; the state (placed by alloc_ctx_tensors)
    int n_in;
    struct alrp_tensor * in[MAX_IN], * out, * R, * loss;
    int n_extra;
    struct extra_leaf extra[MAX_EXTRA];
    struct alrp_tensor * harness[3];        // nodes the harness added (the loss, an output copy): not counted as coverage
    struct alrp_graph * g, * gf;            // gf: the forward part alone (grad mode, for finite differences)
    int n_fwd;                              // nodes of g's forward part
    struct alrp_gallocr * ga;
    struct alrp_buffer * buf_p;
};
static struct run * g_building;             // the run whose builder is running

static struct alrp_tensor * extra_new(struct alrp_context * ctx, enum alrp_type type, enum init_kind k, int ip,
                                      const float * vals, bool state, int nd, const int64_t * s) {
    struct run * r = g_building;
    TASSERTM(r && r->n_extra < MAX_EXTRA, "builder leafs: at most %d per case", MAX_EXTRA);
    struct alrp_tensor * t = alrp_new_tensor(state ? r->ctx_p : ctx, type, nd, s);
    alrp_format_name(t, "%s%d", state ? "state" : "leaf", r->n_extra);
    r->extra[r->n_extra++] = (struct extra_leaf) { t, k, ip, vals, state };
    return t;
}
// an f32 leaf of init kind k
static struct alrp_tensor * bl_f32(struct alrp_context * ctx, enum init_kind k, int nd, const int64_t * s) {
    return extra_new(ctx, ALRP_TYPE_F32, k, 0, NULL, false, nd, s);
}
// a (n) f32 leaf holding vals (hyper-parameters, scales)
static struct alrp_tensor * bl_vals(struct alrp_context * ctx, int n, const float * vals) {
    int64_t s[1] = { n };
    return extra_new(ctx, ALRP_TYPE_F32, I_ZERO, 0, vals, false, 1, s);
}
// persistent state (in the state context, placed by alrp_backend_alloc_ctx_tensors)
static struct alrp_tensor * bl_state(struct alrp_context * ctx, enum init_kind k, int nd, const int64_t * s) {
    return extra_new(ctx, ALRP_TYPE_F32, k, 0, NULL, true, nd, s);
}

// ============================================================================================
// builders (shapes in PyTorch order)
// ============================================================================================

#define SH(...) ((const int64_t[]) { __VA_ARGS__ })
#define AX(...) ((const int[]) { __VA_ARGS__ })
#define B(fn) static struct alrp_tensor * fn(struct alrp_context * c, struct alrp_tensor ** in)

// ---- element-wise, reductions, fill, cont
B(b_add) { return alrp_add(c, in[0], in[1]); }
B(b_sub) { return alrp_sub(c, in[0], in[1]); }
B(b_mul) { return alrp_mul(c, in[0], in[1]); }
B(b_div) { return alrp_div(c, in[0], in[1]); }
B(b_mul_expand) { return alrp_mul(c, in[0], alrp_expand(c, in[1], 3, SH(3, 5, 4))); }          // (5,4) * [(1,4) -> (3,5,4)]
B(b_add_perm) { return alrp_add(c, alrp_permute(c, in[0], AX(1, 2, 0)), in[1]); }                // (4,2,3) -> (2,3,4), + (2,3,4)
B(b_sub_slice) { return alrp_sub(c, alrp_slice(c, in[0], 1, 2, 3), in[1]); }                     // (3,6)[:, 2:5] - (3)
B(b_scale) { return alrp_scale(c, in[0], -1.7f); }
B(b_scale_perm) { return alrp_scale(c, alrp_permute(c, in[0], AX(1, 0)), 0.3f); }                // (4,7)^T
B(b_sum) { return alrp_sum(c, in[0]); }
B(b_mean) { return alrp_mean(c, in[0]); }
B(b_sum_ax1) { return alrp_sum_axis(c, in[0], 1, false); }
B(b_sum_ax0k) { return alrp_sum_axis(c, in[0], 0, true); }
B(b_mean_axm1k) { return alrp_mean_axis(c, in[0], -1, true); }
B(b_sum_to) { return alrp_sum_to(c, in[0], 2, SH(3, 1)); }                                     // (4,3,5) -> (3,1)
B(b_sum_to_perm) { return alrp_sum_to(c, alrp_permute(c, in[0], AX(0, 2, 1)), 3, SH(1, 5, 1)); } // (2,3,5) -> (2,5,3) -> (1,5,1)
B(b_neg) { return alrp_neg(c, in[0]); }
B(b_exp) { return alrp_exp(c, in[0]); }
B(b_log) { return alrp_log(c, in[0]); }
B(b_relu) { return alrp_relu(c, in[0]); }
B(b_sigmoid) { return alrp_sigmoid(c, in[0]); }
B(b_sqr) { return alrp_sqr(c, in[0]); }
B(b_sqrt) { return alrp_sqrt(c, in[0]); }
B(b_exp_slice) { return alrp_exp(c, alrp_slice(c, in[0], 1, 1, 3)); }                            // (4,6)[:, 1:4]
B(b_sigmoid_perm) { return alrp_sigmoid(c, alrp_permute(c, in[0], AX(2, 0, 1))); }               // (3,4,5) -> (5,3,4)
B(b_clamp) { return alrp_clamp(c, in[0], -0.31f, 0.42f); }
B(b_clamp_expand) { return alrp_clamp(c, alrp_expand(c, in[0], 2, SH(4, 6)), -0.2f, 0.5f); }     // (1,6) -> (4,6)
B(b_fill) { (void) in; return alrp_fill(c, ALRP_TYPE_F32, 2, SH(3, 4), 2.5f); }
B(b_fill_i32) { (void) in; return alrp_fill(c, ALRP_TYPE_I32, 1, SH(5), 7.0f); }
B(b_fill_i8) { (void) in; return alrp_fill(c, ALRP_TYPE_I8, 2, SH(2, 3), -1.0f); }
B(b_mul_fill) { return alrp_mul(c, in[0], alrp_fill(c, ALRP_TYPE_F32, 1, SH(4), -0.5f)); }      // (3,4) * fill (4)
B(b_cont_perm) { return alrp_cont(c, alrp_permute(c, in[0], AX(2, 0, 1))); }                     // (2,3,4) -> (4,2,3)
B(b_cont_expand) { return alrp_cont(c, alrp_expand(c, in[0], 3, SH(2, 3, 4))); }                 // (3,1) -> (2,3,4)
B(b_cont_slice_perm) { return alrp_cont(c, alrp_slice(c, alrp_permute(c, in[0], AX(1, 0, 2)), 0, 1, 2)); } // (3,4,5) -> (4,3,5)[1:3]
B(b_cont_i32_expand) { return alrp_cont(c, alrp_expand(c, in[0], 2, SH(3, 5))); }                // i32 (5) -> (3,5)
B(b_cont_i8_expand) { return alrp_cont(c, alrp_expand(c, in[0], 2, SH(3, 5))); }                 // i8 (1,5) -> (3,5)
B(b_sum_sq) { return alrp_sum_sq(c, in[0]); }
B(b_sum_sq_perm) { return alrp_sum_sq(c, alrp_permute(c, in[0], AX(1, 0))); }
B(b_global_norm) { struct alrp_tensor * ts[3] = { in[0], in[1], in[2] }; return alrp_global_norm(c, 3, ts); }
B(b_unary_all) {   // every unary op: x any sign, in[1] positive
    struct alrp_tensor * x = in[0], * p = in[1];
    struct alrp_tensor * a = alrp_add(c, alrp_add(c, alrp_neg(c, x), alrp_exp(c, x)), alrp_add(c, alrp_relu(c, x), alrp_sigmoid(c, x)));
    return alrp_add(c, alrp_add(c, a, alrp_sqr(c, x)), alrp_add(c, alrp_log(c, p), alrp_sqrt(c, p)));
}
B(b_mul_self) { return alrp_mul(c, in[0], in[0]); }
B(b_inplace_chain) {   // element-wise nodes whose source dies with them: the allocator runs them in place
    struct alrp_tensor * h = alrp_exp(c, alrp_scale(c, in[0], 0.5f));
    h = alrp_sigmoid(c, alrp_sub(c, h, in[1]));
    return alrp_clamp(c, alrp_sqr(c, alrp_add(c, h, in[1])), 0.0f, 1.5f);
}
B(b_out_reshape) { return alrp_reshape_2d(c, alrp_mul(c, in[0], in[1]), 6, 4); }                   // (2,3,4) -> (6,4)
B(b_out_transpose) { return alrp_permute(c, alrp_add(c, in[0], in[1]), AX(1, 0)); }              // (3,5)^T: the harness copies it
B(b_chain) {   // one input on three paths: the gradients add up
    struct alrp_tensor * a = alrp_sigmoid(c, in[0]);
    return alrp_add(c, alrp_mul(c, a, in[0]), alrp_exp(c, alrp_scale(c, in[0], 0.5f)));
}

// ---- views
B(b_reshape) { return alrp_mul(c, alrp_reshape_2d(c, in[0], 5, 6), alrp_reshape_2d(c, in[1], 5, 6)); } // (5,2,3), (10,3) -> (5,6)
B(b_permute4) { return alrp_sqr(c, alrp_permute(c, in[0], AX(2, 0, 3, 1))); }                   // (2,3,4,5) -> (4,2,5,3)
B(b_perm_matmul) { return alrp_matmul(c, alrp_permute(c, in[0], AX(1, 0)), in[1]); }            // (3,5)^T @ (3,4)
B(b_slice1) { return alrp_sqr(c, alrp_slice(c, in[0], 1, 2, 4)); }                              // (2,7,3)[:, 2:6]
B(b_slicem1) { return alrp_sqr(c, alrp_slice(c, in[0], -1, 5, 4)); }                            // (3,9)[..., 5:9]
B(b_slice0) { return alrp_sqr(c, alrp_slice(c, in[0], 0, 3, 1)); }                              // (4,3)[3:4]
B(b_slice_slice) { return alrp_mul(c, alrp_slice(c, alrp_slice(c, in[0], 0, 1, 3), 2, 1, 2), in[1]); } // (5,3,4)[1:4][:, :, 1:3] * (3,1)... (3,3,2)
B(b_expand3) { return alrp_sqr(c, alrp_expand(c, in[0], 3, SH(4, 3, 5))); }                    // (3,1) -> (4,3,5)
B(b_expand_mul) { return alrp_mul(c, alrp_expand(c, in[0], 2, SH(2, 3)), in[1]); }              // (1) -> (2,3), * (2,3)
B(b_concat3_ax1) { return alrp_concat(c, 3, in, 1); }
B(b_concat3_axm1) { return alrp_concat(c, 3, in, -1); }
B(b_concat6) { return alrp_concat(c, 6, in, 0); }
B(b_concat_perm) {   // (3,4) ++ (4,2)^T along axis 0
    struct alrp_tensor * ts[2] = { in[0], alrp_permute(c, in[1], AX(1, 0)) };
    return alrp_concat(c, 2, ts, 0);
}

// ---- matmul
B(b_mm) { return alrp_matmul(c, in[0], in[1]); }
B(b_mm_ta) { return alrp_matmul_ex(c, in[0], in[1], true, false); }
B(b_mm_tb) { return alrp_matmul_ex(c, in[0], in[1], false, true); }
B(b_mm_tab) { return alrp_matmul_ex(c, in[0], in[1], true, true); }

// ---- conv2d: CONV(fn, stride h, w, pad h, w, dilation h, w, groups); CONVB: with bias in[2]
#define CONV(fn, sh, sw, ph, pw, dh, dw, g) B(fn) { return alrp_conv2d_ex(c, in[0], in[1], NULL, sh, sw, ph, pw, dh, dw, g); }
#define CONVB(fn, sh, sw, ph, pw, dh, dw, g) B(fn) { return alrp_conv2d_ex(c, in[0], in[1], in[2], sh, sw, ph, pw, dh, dw, g); }
CONVB(b_conv_p1b, 1, 1, 1, 1, 1, 1, 1)
CONV(b_conv_s2, 2, 2, 0, 0, 1, 1, 1)
CONV(b_conv_d2p2, 1, 1, 2, 2, 2, 2, 1)
CONVB(b_conv_g2s2p1b, 2, 2, 1, 1, 1, 1, 2)
CONV(b_conv_dw3, 1, 1, 1, 1, 1, 1, 3)
CONV(b_conv_g4m2, 1, 1, 1, 1, 1, 1, 4)
CONVB(b_conv_1x1b, 1, 1, 0, 0, 1, 1, 1)
CONV(b_conv_1x1s2, 2, 2, 0, 0, 1, 1, 1)
CONV(b_conv_1x3, 1, 2, 0, 1, 1, 1, 1)
CONV(b_conv_3x2, 2, 1, 1, 0, 1, 2, 1)
CONV(b_conv_5x5, 1, 1, 2, 2, 1, 1, 1)
CONV(b_conv_k4s3p2, 3, 3, 2, 2, 1, 1, 1)
CONV(b_conv_valid, 1, 1, 0, 0, 1, 1, 1)
CONV(b_conv_p1, 1, 1, 1, 1, 1, 1, 1)
CONV(b_conv_p2, 1, 1, 2, 2, 1, 1, 1)
CONV(b_conv_1x1s3, 3, 3, 0, 0, 1, 1, 1)
B(b_conv_perm) { return alrp_conv2d(c, alrp_permute(c, in[0], AX(0, 3, 1, 2)), in[1], NULL, 1, 1, 1, 1); }   // NHWC (2,5,6,3) -> NCHW
B(b_conv_slice) { return alrp_conv2d(c, alrp_slice(c, in[0], 1, 1, 3), in[1], NULL, 1, 1, 1, 1); }           // (2,5,6,6)[:, 1:4]
B(b_fpn) {   // upsample(P5) + conv1x1(C4): the FPN merge; the lateral weight a constant made here
    return alrp_add(c, alrp_upsample_nearest(c, in[0], 2), alrp_conv2d(c, in[1], bl_f32(c, I_UNI, 4, SH(2, 3, 1, 1)), NULL, 1, 0, 1, 1));
}
// conv2d_affine: AFF(fn, relu, stride, pad, dilation, groups); in = x, w, scale, shift
#define AFF(fn, relu, s, p, d, g) B(fn) { return alrp_conv2d_affine(c, in[0], in[1], in[2], in[3], relu, s, p, d, g); }
AFF(b_aff_relu, true, 1, 1, 1, 1)
AFF(b_aff_g2s2, false, 2, 1, 1, 2)
AFF(b_aff_dw, true, 1, 1, 1, 3)
AFF(b_aff_1x1, true, 1, 0, 1, 1)
AFF(b_aff_d2, false, 1, 2, 2, 1)
B(b_aff_frozen) {   // x, w, bn weight, bn bias, running mean, running var (no ReLU: its kinks, see RELU_AFF_IN)
    struct alrp_tensor * s, * h;
    alrp_frozen_bn_affine(c, in[2], in[3], in[4], in[5], 1e-5f, &s, &h);
    return alrp_conv2d_affine(c, in[0], in[1], s, h, false, 1, 1, 1, 1);
}

// ---- batch norm: x, weight, bias, running mean, running var
#define BN(fn, mode) B(fn) { return alrp_batch_norm(c, in[0], in[1], in[2], in[3], in[4], mode, 0.1f, 1e-5f); }
BN(b_bn_train, ALRP_BN_TRAIN)
BN(b_bn_eval, ALRP_BN_EVAL)
BN(b_bn_frozen, ALRP_BN_FROZEN)
B(b_bn_noaff) { return alrp_batch_norm(c, in[0], NULL, NULL, in[1], in[2], ALRP_BN_TRAIN, 0.3f, 1e-3f); }
B(b_bn_relu_conv) {   // conv -> BN train -> ReLU, state made by the builder
    int64_t C = alrp_dim(in[1], 0);
    struct alrp_tensor * h = alrp_conv2d(c, in[0], in[1], NULL, 1, 1, 1, 1);
    h = alrp_batch_norm(c, h, in[2], in[3], bl_state(c, I_UNI, 1, SH(C)), bl_state(c, I_POS, 1, SH(C)), ALRP_BN_TRAIN, 0.1f, 1e-5f);
    return alrp_relu(c, h);
}

// ---- pools, upsample
#define POOL(fn, k, s, p) B(fn) { return alrp_max_pool2d(c, in[0], k, s, p); }
POOL(b_pool3s2p1, 3, 2, 1)
POOL(b_pool2s2, 2, 2, 0)
POOL(b_pool3s1p1, 3, 1, 1)
POOL(b_pool1, 1, 1, 0)
#define UPS(fn, f) B(fn) { return alrp_upsample_nearest(c, in[0], f); }
UPS(b_up2, 2)
UPS(b_up3, 3)
UPS(b_up1, 1)
B(b_up_perm) { return alrp_upsample_nearest(c, alrp_permute(c, in[0], AX(0, 1, 3, 2)), 2); }   // (1,2,3,4) -> (1,2,4,3)

// ---- gather / scatter (idx: i32 inputs)
B(b_gather) { return alrp_gather_rows(c, in[0], in[1]); }
B(b_scatter) { return alrp_sqr(c, alrp_scatter_add_rows(c, in[0], in[1], 6)); }
B(b_scatter_i32) { return alrp_scatter_add_rows(c, in[0], in[1], 6); }
B(b_gather_scatter) { return alrp_scatter_add_rows(c, alrp_gather_rows(c, in[0], in[1]), in[2], 4); }
B(b_concat2_ax0) { return alrp_concat(c, 2, in, 0); }
B(b_gather_slice) { return alrp_gather_rows(c, alrp_slice(c, in[0], 1, 1, 3), in[1]); }          // (6,5)[:, 1:4]

// ---- losses
B(b_focal) { return alrp_sigmoid_focal_loss(c, in[0], in[1], 0.25f, 2.0f); }
B(b_focal_bce) { return alrp_sigmoid_focal_loss(c, in[0], in[1], -1.0f, 0.0f); }
B(b_focal_g15) { return alrp_sigmoid_focal_loss(c, in[0], in[1], 0.5f, 1.5f); }
B(b_sl1_05) { return alrp_smooth_l1_loss(c, in[0], in[1], 0.5f); }
B(b_sl1_0) { return alrp_smooth_l1_loss(c, in[0], in[1], 0.0f); }
B(b_sl1_2) { return alrp_smooth_l1_loss(c, in[0], in[1], 2.0f); }
B(b_giou) { return alrp_giou_loss(c, in[0], in[1]); }
B(b_loc_err) { const float stds[4] = ALRP_BOX_STDS_ALRP; return alrp_loc_err_giou(c, in[0], in[1], stds); }
B(b_loc_err_unit) { return alrp_loc_err_giou(c, in[0], in[1], NULL); }
static struct alrp_tensor * rank_out(struct alrp_context * c, struct alrp_rank_loss l) {   // (cls, loc, P) or (loss, P)
    struct alrp_tensor * ts[3] = { l.cls, l.loc ? l.loc : l.n_pos, l.n_pos };
    return alrp_concat(c, l.loc ? 3 : 2, ts, 0);
}
B(b_alrp) { return rank_out(c, alrp_alrp_loss(c, in[0], in[1], in[2], 1.0f)); }
B(b_alrp_noloc) { return rank_out(c, alrp_alrp_loss(c, in[0], in[1], NULL, 1.0f)); }
B(b_alrp_d05) { return rank_out(c, alrp_alrp_loss(c, in[0], in[1], in[2], 0.5f)); }
B(b_alrp_pipe) {   // E_loc per anchor from the predicted deltas, as the detector's head does
    const float stds[4] = ALRP_BOX_STDS_ALRP;
    return rank_out(c, alrp_alrp_loss(c, in[0], in[1], alrp_loc_err_giou(c, in[2], in[3], stds), 1.0f));
}
B(b_alrp_catlab) {   // labels: i8 concat of two images' labels
    struct alrp_tensor * ts[2] = { in[1], in[2] };
    return rank_out(c, alrp_alrp_loss(c, in[0], alrp_concat(c, 2, ts, 0), in[3], 1.0f));
}
B(b_alrp_tlogits) { return rank_out(c, alrp_alrp_loss(c, alrp_permute(c, in[0], AX(1, 0)), in[1], in[2], 1.0f)); }   // logits (4,10)^T
B(b_ap) { return rank_out(c, alrp_ap_loss(c, in[0], in[1], 1.0f)); }
B(b_ap_permlab) { return rank_out(c, alrp_ap_loss(c, in[0], alrp_permute(c, in[1], AX(1, 0)), 1.0f)); }   // labels (8,5)^T
B(b_ap_filllab) { (void) in; return rank_out(c, alrp_ap_loss(c, in[0], alrp_fill(c, ALRP_TYPE_I8, 2, SH(4, 6), 0.0f), 1.0f)); }

// ---- optimizer steps: in[0] the parameter (state), in[1] its gradient
static const float hp_sgd_plain[ALRP_OPT_HP_COUNT] = { [ALRP_OPT_HP_LR] = 0.1f, [ALRP_OPT_HP_WEIGHT_DECAY] = 1e-2f, [ALRP_OPT_HP_STEP] = 1 };
static const float hp_sgd_mom1[ALRP_OPT_HP_COUNT] = { [ALRP_OPT_HP_LR] = 0.05f, [ALRP_OPT_HP_MOMENTUM] = 0.9f, [ALRP_OPT_HP_WEIGHT_DECAY] = 1e-4f, [ALRP_OPT_HP_STEP] = 1 };
static const float hp_sgd_mom3[ALRP_OPT_HP_COUNT] = { [ALRP_OPT_HP_LR] = 0.02f, [ALRP_OPT_HP_MOMENTUM] = 0.9f, [ALRP_OPT_HP_WEIGHT_DECAY] = 0.0f, [ALRP_OPT_HP_STEP] = 3 };
static const float hp_adamw1[ALRP_OPT_HP_COUNT] = { [ALRP_OPT_HP_LR] = 1e-2f, [ALRP_OPT_HP_WEIGHT_DECAY] = 1e-2f, [ALRP_OPT_HP_BETA1] = 0.9f,
                                                    [ALRP_OPT_HP_BETA2] = 0.999f, [ALRP_OPT_HP_EPS] = 1e-8f, [ALRP_OPT_HP_STEP] = 1 };
static const float hp_adamw7[ALRP_OPT_HP_COUNT] = { [ALRP_OPT_HP_LR] = 3e-3f, [ALRP_OPT_HP_WEIGHT_DECAY] = 0.05f, [ALRP_OPT_HP_BETA1] = 0.8f,
                                                    [ALRP_OPT_HP_BETA2] = 0.99f, [ALRP_OPT_HP_EPS] = 1e-6f, [ALRP_OPT_HP_STEP] = 7 };
static const float half[1] = { 0.5f }, tiny[1] = { 1e-6f }, max_norm[1] = { 0.5f };
B(b_sgd) { alrp_set_param(c, in[0]); return alrp_opt_step_sgd(c, in[0], in[1], NULL, bl_vals(c, ALRP_OPT_HP_COUNT, hp_sgd_plain), NULL); }
B(b_sgd_mom1) { alrp_set_param(c, in[0]); return alrp_opt_step_sgd(c, in[0], in[1], in[2], bl_vals(c, ALRP_OPT_HP_COUNT, hp_sgd_mom1), NULL); }
B(b_sgd_mom3s) {
    alrp_set_param(c, in[0]);
    return alrp_opt_step_sgd(c, in[0], in[1], in[2], bl_vals(c, ALRP_OPT_HP_COUNT, hp_sgd_mom3), bl_vals(c, 1, half));
}
B(b_adamw1) { alrp_set_param(c, in[0]); return alrp_opt_step_adamw(c, in[0], in[1], in[2], in[3], bl_vals(c, ALRP_OPT_HP_COUNT, hp_adamw1), NULL); }
B(b_adamw7s) {
    alrp_set_param(c, in[0]);
    return alrp_opt_step_adamw(c, in[0], in[1], in[2], in[3], bl_vals(c, ALRP_OPT_HP_COUNT, hp_adamw7), bl_vals(c, 1, half));
}
B(b_sgd_step) {   // a whole step: loss, backward, the gradient clipped to norm 0.5, SGD with momentum
    struct alrp_tensor * w = in[0];                                   // (4,3) parameter; in[1] x (5,4), in[2] target (5,3), in[3] momentum
    alrp_set_param(c, w);
    struct alrp_tensor * l = alrp_sum(c, alrp_sqr(c, alrp_sub(c, alrp_matmul(c, in[1], w), in[2])));
    alrp_set_loss(c, l);
    struct alrp_graph * gt = alrp_new_graph(c, 256);
    alrp_build_forward(gt, l);
    alrp_build_backward(c, gt);
    struct alrp_tensor * gr = alrp_graph_grad(gt, w);
    struct alrp_tensor * norm = alrp_global_norm(c, 1, &gr);
    struct alrp_tensor * scale = alrp_clamp(c, alrp_div(c, bl_vals(c, 1, max_norm), alrp_add(c, norm, bl_vals(c, 1, tiny))), 0.0f, 1.0f);
    return alrp_opt_step_sgd(c, w, gr, in[3], bl_vals(c, ALRP_OPT_HP_COUNT, hp_sgd_mom3), scale);
}
B(b_adamw_state) {   // AdamW with its moments made by the builder as state
    alrp_set_param(c, in[0]);
    int64_t s[4];
    for (int k = 0; k < in[0]->n_dims; k++) s[k] = alrp_dim(in[0], k);
    return alrp_opt_step_adamw(c, in[0], in[1], bl_state(c, I_SMALL, in[0]->n_dims, s), bl_state(c, I_SOFT, in[0]->n_dims, s),
                               bl_vals(c, ALRP_OPT_HP_COUNT, hp_adamw7), NULL);
}

// ============================================================================================
// the table
// ============================================================================================

// eps: the loss is linear in each single element of a matmul's, a conv's, an add's... input, so
// their central differences are exact for any step but for rounding, which a large step (0.25)
// makes small next to the change it measures; non-linear ops take small steps (1e-2, 1e-3)
enum grad_kind {
    G_NONE,   // forward only (not differentiable, or not a gradient case)
    G_FD,     // gradients vs the reference, and central finite differences on the reference
    G_BIG,    // big: gradients vs the reference, finite differences on FD_SAMPLE elements per input
    G_XB,     // big and kinked: gradients vs the reference only (an eps step straddles many ReLU
              // kinks there, a smaller one loses the precision); the op's smaller cases take them
    G_RANK,   // gradients vs the reference; the ranking-loss updates vs the plain-array API
};
enum { C_NONFINITE = 1 };   // case flags: non-finite outputs expected (still at matching positions)

struct op_case {
    const char * name;
    enum alrp_op op;         // the op under test (-o)
    struct alrp_tensor * (*build)(struct alrp_context * ctx, struct alrp_tensor ** in);
    enum grad_kind grad;
    struct in_desc in[MAX_IN];
    float eps, tol;          // finite differences (0: 1e-2 and 2e-3)
    double max_nmse;         // 0: 1e-7
    unsigned flags;
};

#define NARGS(...) NARGS_(__VA_ARGS__, 4, 3, 2, 1, 0)
#define NARGS_(a, b, c, d, n, ...) n
#define DI(k, ...) { NARGS(__VA_ARGS__), { __VA_ARGS__ }, k, 0, F_DIFF }    // differentiable f32 input
#define CI(k, ...) { NARGS(__VA_ARGS__), { __VA_ARGS__ }, k, 0, 0 }         // constant f32 input
#define ST(k, ...) { NARGS(__VA_ARGS__), { __VA_ARGS__ }, k, 0, F_STATE }   // state: placed with alloc_ctx_tensors, may change
#define LB(np, ...) { NARGS(__VA_ARGS__), { __VA_ARGS__ }, I_LABELS, np, 0 } // i8 labels with np positives
#define IX(r, ...) { NARGS(__VA_ARGS__), { __VA_ARGS__ }, I_INDEX, r, 0 }   // i32 indices in [0, r)
#define SH4(a, b, c, d) a, b, c, d
#define DS(e, ...) { NARGS(__VA_ARGS__), { __VA_ARGS__ }, I_SIGN, e, F_DIFF } // differentiable, +-2^-e

// conv_affine with ReLU, finite-differenced without straddling a kink: x = +-1/2, w = +-1/4 make
// conv(x, w) a multiple of 1/8, scale in {1/2, 1, 2} and shift = +-1/32 keep every pre-activation
// z = conv * scale + shift at least 1/32 from 0, farther than a step of eps = 1e-3 in any input
// moves it (<= 27 taps * 1/8 * eps for the scale); the ReLU mask still varies within a channel
#define RELU_AFF_IN(x, w, o) DS(1, x), DS(2, w), { 1, { o }, I_POW2, 0, F_DIFF }, { 1, { o }, I_SIGN, 5, F_DIFF }

static const struct op_case cases[] = {
    // ---- element-wise with broadcasting, odd shapes, size-1 dims, strided operands
    { "add (3,1,5) + (4,1)", ALRP_OP_ADD, b_add, G_FD, .in = { DI(I_UNI, 3, 1, 5), DI(I_UNI, 4, 1) } },
    { "add (2,3,4,5) + (5)", ALRP_OP_ADD, b_add, G_FD, .in = { DI(I_UNI, 2, 3, 4, 5), DI(I_UNI, 5) } },
    { "add (17,19) + (17,19)", ALRP_OP_ADD, b_add, G_FD, .in = { DI(I_UNI, 17, 19), DI(I_UNI, 17, 19) } },
    { "add permuted (4,2,3) view + (2,3,4)", ALRP_OP_ADD, b_add_perm, G_FD, .in = { DI(I_UNI, 4, 2, 3), DI(I_UNI, 2, 3, 4) } },
    { "add with NaN/inf inputs (6,7)", ALRP_OP_ADD, b_add, G_NONE, .in = { CI(I_NONFIN, 6, 7), CI(I_NONFIN, 6, 7) }, .flags = C_NONFINITE },
    { "sub (1) - (2,3)", ALRP_OP_SUB, b_sub, G_FD, .in = { DI(I_UNI, 1), DI(I_UNI, 2, 3) } },
    { "sub (4,3,1) - (4,1,6)", ALRP_OP_SUB, b_sub, G_FD, .in = { DI(I_UNI, 4, 3, 1), DI(I_UNI, 4, 1, 6) } },
    { "sub sliced (3,6)[:,2:5] - (3)", ALRP_OP_SUB, b_sub_slice, G_FD, .in = { DI(I_UNI, 3, 6), DI(I_UNI, 3) } },
    { "mul (2,1,3) * (1,4,1)", ALRP_OP_MUL, b_mul, G_FD, .in = { DI(I_UNI, 2, 1, 3), DI(I_UNI, 1, 4, 1) } },
    { "mul (5,4) * expanded (1,4)->(3,5,4)", ALRP_OP_MUL, b_mul_expand, G_FD, .in = { DI(I_UNI, 5, 4), DI(I_UNI, 1, 4) } },
    { "mul (1,1) * (1,1)", ALRP_OP_MUL, b_mul, G_FD, .in = { DI(I_UNI, 1, 1), DI(I_UNI, 1, 1) } },
    { "div (3,7) / (7)", ALRP_OP_DIV, b_div, G_FD, .in = { DI(I_UNI, 3, 7), DI(I_POS, 7) } },
    { "div (2,1,4) / (2,3,1)", ALRP_OP_DIV, b_div, G_FD, .in = { DI(I_UNI, 2, 1, 4), DI(I_POS, 2, 3, 1) } },
    { "div by 0, NaN, inf (5,9)", ALRP_OP_DIV, b_div, G_NONE, .in = { CI(I_NONFIN, 5, 9), CI(I_NONFIN, 5, 9) }, .flags = C_NONFINITE },
    { "scale (2,3,5)", ALRP_OP_SCALE, b_scale, G_FD, .in = { DI(I_UNI, 2, 3, 5) } },
    { "scale of a transposed (4,7) view", ALRP_OP_SCALE, b_scale_perm, G_FD, .in = { DI(I_UNI, 4, 7) } },
    // ---- reductions
    { "sum (2,3,5)", ALRP_OP_SUM_TO, b_sum, G_FD, .in = { DI(I_UNI, 2, 3, 5) } },
    { "sum (37,29)", ALRP_OP_SUM_TO, b_sum, G_FD, .in = { DI(I_UNI, 37, 29) } },
    { "mean (2,1,3,5)", ALRP_OP_SUM_TO, b_mean, G_FD, .in = { DI(I_UNI, 2, 1, 3, 5) } },
    { "sum axis 1 (2,3,5)", ALRP_OP_SUM_TO, b_sum_ax1, G_FD, .in = { DI(I_UNI, 2, 3, 5) } },
    { "sum axis 0 keepdim (7,3)", ALRP_OP_SUM_TO, b_sum_ax0k, G_FD, .in = { DI(I_UNI, 7, 3) } },
    { "mean axis -1 keepdim (2,3,5)", ALRP_OP_SUM_TO, b_mean_axm1k, G_FD, .in = { DI(I_UNI, 2, 3, 5) } },
    { "sum_to (4,3,5) -> (3,1)", ALRP_OP_SUM_TO, b_sum_to, G_FD, .in = { DI(I_UNI, 4, 3, 5) } },
    { "sum_to of a permuted (2,3,5) view -> (1,5,1)", ALRP_OP_SUM_TO, b_sum_to_perm, G_FD, .in = { DI(I_UNI, 2, 3, 5) } },
    { "sum with NaN/inf (4,6)", ALRP_OP_SUM_TO, b_sum, G_NONE, .in = { CI(I_NONFIN, 4, 6) }, .flags = C_NONFINITE },
    // ---- unary, each op, and clamp
    { "neg (3,4)", ALRP_OP_UNARY, b_neg, G_FD, .in = { DI(I_UNI, 3, 4) } },
    { "exp (3,4)", ALRP_OP_UNARY, b_exp, G_FD, .in = { DI(I_UNI, 3, 4) } },
    { "exp of a sliced (4,6) view", ALRP_OP_UNARY, b_exp_slice, G_FD, .in = { DI(I_UNI, 4, 6) } },
    { "log (3,4) of positives", ALRP_OP_UNARY, b_log, G_FD, .in = { DI(I_POS, 3, 4) } },
    { "relu (5,7) distinct", ALRP_OP_UNARY, b_relu, G_FD, .in = { DI(I_DIST, 5, 7) }, .eps = 1e-3f },
    { "sigmoid (3,4)", ALRP_OP_UNARY, b_sigmoid, G_FD, .in = { DI(I_UNI, 3, 4) } },
    { "sigmoid (9,5) wide logits", ALRP_OP_UNARY, b_sigmoid, G_FD, .in = { DI(I_WIDE, 9, 5) } },
    { "sigmoid of a permuted (3,4,5) view", ALRP_OP_UNARY, b_sigmoid_perm, G_FD, .in = { DI(I_UNI, 3, 4, 5) } },
    { "sqr (3,4)", ALRP_OP_UNARY, b_sqr, G_FD, .in = { DI(I_UNI, 3, 4) } },
    { "sqrt (3,4) of positives", ALRP_OP_UNARY, b_sqrt, G_FD, .in = { DI(I_POS, 3, 4) } },
    { "log of negatives, 0, NaN, inf (6,6)", ALRP_OP_UNARY, b_log, G_NONE, .in = { CI(I_NONFIN, 6, 6) }, .flags = C_NONFINITE },
    { "sqrt of negatives, NaN, inf (6,6)", ALRP_OP_UNARY, b_sqrt, G_NONE, .in = { CI(I_NONFIN, 6, 6) }, .flags = C_NONFINITE },
    { "sigmoid(x) x + exp(x/2) of NaN/inf (6,6)", ALRP_OP_UNARY, b_chain, G_NONE, .in = { CI(I_NONFIN, 6, 6) }, .flags = C_NONFINITE },
    { "relu with NaN/inf (6,6)", ALRP_OP_UNARY, b_relu, G_NONE, .in = { CI(I_NONFIN, 6, 6) }, .flags = C_NONFINITE },
    { "clamp (6,7) distinct", ALRP_OP_CLAMP, b_clamp, G_FD, .in = { DI(I_DIST, 6, 7) }, .eps = 1e-3f },
    { "clamp of an expanded (1,6)->(4,6) view", ALRP_OP_CLAMP, b_clamp_expand, G_FD, .in = { DI(I_DIST, 1, 6) }, .eps = 1e-3f },
    { "clamp with NaN/inf (6,6)", ALRP_OP_CLAMP, b_clamp, G_NONE, .in = { CI(I_NONFIN, 6, 6) }, .flags = C_NONFINITE },
    { "shared input on 3 paths (3,5)", ALRP_OP_UNARY, b_chain, G_FD, .in = { DI(I_UNI, 3, 5) } },
    { "mul x * x (4,5)", ALRP_OP_MUL, b_mul_self, G_FD, .in = { DI(I_UNI, 4, 5) } },
    { "in-place chain exp, sub, sigmoid, add, sqr, clamp (6,7)", ALRP_OP_UNARY, b_inplace_chain, G_FD,
      .in = { DI(I_UNI, 6, 7), DI(I_UNI, 6, 7) }, .eps = 1e-3f },
    { "a view as the output: reshape (2,3,4) -> (6,4)", ALRP_OP_RESHAPE, b_out_reshape, G_FD, .in = { DI(I_UNI, 2, 3, 4), DI(I_UNI, 2, 3, 4) } },
    { "a strided view as the output: (3,5)^T", ALRP_OP_PERMUTE, b_out_transpose, G_FD, .in = { DI(I_UNI, 3, 5), DI(I_UNI, 3, 5) } },
    // ---- fill, cont, sum of squares
    { "fill f32 (3,4)", ALRP_OP_FILL, b_fill, G_NONE, .flags = 0 },
    { "fill i32 (5)", ALRP_OP_FILL, b_fill_i32, G_NONE, .flags = 0 },
    { "fill i8 (2,3)", ALRP_OP_FILL, b_fill_i8, G_NONE, .flags = 0 },
    { "(3,4) * fill (4)", ALRP_OP_FILL, b_mul_fill, G_FD, .in = { DI(I_UNI, 3, 4) } },
    { "cont of a permuted (2,3,4) view", ALRP_OP_CONT, b_cont_perm, G_FD, .in = { DI(I_UNI, 2, 3, 4) } },
    { "cont of an expanded (3,1) view", ALRP_OP_CONT, b_cont_expand, G_FD, .in = { DI(I_UNI, 3, 1) } },
    { "cont of a slice of a permute (3,4,5)", ALRP_OP_CONT, b_cont_slice_perm, G_FD, .in = { DI(I_UNI, 3, 4, 5) } },
    { "cont of an expanded i32 (5) view", ALRP_OP_CONT, b_cont_i32_expand, G_NONE, .in = { IX(100, 5) } },
    { "cont of an expanded i8 (1,5) view", ALRP_OP_CONT, b_cont_i8_expand, G_NONE, .in = { LB(2, 1, 5) } },
    { "sum_sq (3,5)", ALRP_OP_SUM_SQ, b_sum_sq, G_FD, .in = { DI(I_UNI, 3, 5) } },
    { "sum_sq of a transposed (4,3) view", ALRP_OP_SUM_SQ, b_sum_sq_perm, G_FD, .in = { DI(I_UNI, 4, 3) } },
    { "global_norm of (3,5), (7), (2,2,2)", ALRP_OP_SUM_SQ, b_global_norm, G_FD, .in = { DI(I_UNI, 3, 5), DI(I_UNI, 7), DI(I_UNI, 2, 2, 2) } },
    // ---- views
    { "reshape (5,2,3), (10,3) -> (5,6)", ALRP_OP_RESHAPE, b_reshape, G_FD, .in = { DI(I_UNI, 5, 2, 3), DI(I_UNI, 10, 3) } },
    { "permute (2,3,4,5) axes (2,0,3,1)", ALRP_OP_PERMUTE, b_permute4, G_FD, .in = { DI(I_UNI, 2, 3, 4, 5) } },
    { "slice axis 1 (2,7,3)[:,2:6]", ALRP_OP_SLICE, b_slice1, G_FD, .in = { DI(I_UNI, 2, 7, 3) } },
    { "slice axis -1 (3,9)[...,5:9]", ALRP_OP_SLICE, b_slicem1, G_FD, .in = { DI(I_UNI, 3, 9) } },
    { "slice axis 0 (4,3)[3:4]", ALRP_OP_SLICE, b_slice0, G_FD, .in = { DI(I_UNI, 4, 3) } },
    { "slice of a slice (5,3,4) * (3,1)", ALRP_OP_SLICE, b_slice_slice, G_FD, .in = { DI(I_UNI, 5, 3, 4), DI(I_UNI, 3, 1) } },
    { "expand (3,1) -> (4,3,5)", ALRP_OP_EXPAND, b_expand3, G_FD, .in = { DI(I_UNI, 3, 1) } },
    { "expand (1) -> (2,3) * (2,3)", ALRP_OP_EXPAND, b_expand_mul, G_FD, .in = { DI(I_UNI, 1), DI(I_UNI, 2, 3) } },
    { "concat axis 1 (2,3,4), (2,1,4), (2,2,4)", ALRP_OP_CONCAT, b_concat3_ax1, G_FD, .in = { DI(I_UNI, 2, 3, 4), DI(I_UNI, 2, 1, 4), DI(I_UNI, 2, 2, 4) } },
    { "concat axis -1 (3,2), (3,5), (3,1)", ALRP_OP_CONCAT, b_concat3_axm1, G_FD, .in = { DI(I_UNI, 3, 2), DI(I_UNI, 3, 5), DI(I_UNI, 3, 1) } },
    { "concat of 6 along axis 0", ALRP_OP_CONCAT, b_concat6, G_FD,
      .in = { DI(I_UNI, 1, 3), DI(I_UNI, 2, 3), DI(I_UNI, 1, 3), DI(I_UNI, 3, 3), DI(I_UNI, 1, 3), DI(I_UNI, 2, 3) } },
    { "concat (3,4) with a transposed (4,2) view", ALRP_OP_CONCAT, b_concat_perm, G_FD, .in = { DI(I_UNI, 3, 4), DI(I_UNI, 4, 2) } },
    // ---- matmul: transposes, batch broadcast, size-1 dims, blocking edges
    { "matmul (5,3) @ (3,7)", ALRP_OP_MATMUL, b_mm, G_FD, .in = { DI(I_UNI, 5, 3), DI(I_UNI, 3, 7) } },
    { "matmul (2,4,3) @ (3,5) batch bcast", ALRP_OP_MATMUL, b_mm, G_FD, .in = { DI(I_UNI, 2, 4, 3), DI(I_UNI, 3, 5) } },
    { "matmul (2,1,4,3) @ (3,3,5) 4-d bcast", ALRP_OP_MATMUL, b_mm, G_FD, .in = { DI(I_UNI, 2, 1, 4, 3), DI(I_UNI, 3, 3, 5) } },
    { "matmul (3,5)^T @ (3,4)", ALRP_OP_MATMUL, b_mm_ta, G_FD, .in = { DI(I_UNI, 3, 5), DI(I_UNI, 3, 4) } },
    { "matmul (5,3) @ (4,3)^T", ALRP_OP_MATMUL, b_mm_tb, G_FD, .in = { DI(I_UNI, 5, 3), DI(I_UNI, 4, 3) } },
    { "matmul (2,3,5)^T @ (2,4,3)^T", ALRP_OP_MATMUL, b_mm_tab, G_FD, .in = { DI(I_UNI, 2, 3, 5), DI(I_UNI, 2, 4, 3) } },
    { "matmul (1,3)^T @ (1,4)^T batch (3,1,1)", ALRP_OP_MATMUL, b_mm_tab, G_FD, .in = { DI(I_UNI, 3, 1, 3), DI(I_UNI, 1, 4, 1) } },
    { "matmul (1,1) @ (1,1)", ALRP_OP_MATMUL, b_mm, G_FD, .in = { DI(I_UNI, 1, 1), DI(I_UNI, 1, 1) } },
    { "matmul (1,6) @ (6,1)", ALRP_OP_MATMUL, b_mm, G_FD, .in = { DI(I_UNI, 1, 6), DI(I_UNI, 6, 1) } },
    { "matmul transposed view (3,5) @ (3,4)", ALRP_OP_PERMUTE, b_perm_matmul, G_FD, .in = { DI(I_UNI, 3, 5), DI(I_UNI, 3, 4) } },
    { "matmul (17,33) @ (33,19)", ALRP_OP_MATMUL, b_mm, G_FD, .in = { DI(I_UNI, 17, 33), DI(I_UNI, 33, 19) } },
    { "matmul (2,37,70) @ (70,45)^T", ALRP_OP_MATMUL, b_mm_tb, G_BIG, .in = { DI(I_UNI, 2, 37, 70), DI(I_UNI, 45, 70) }, .eps = 0.25f },
    { "matmul (1,2000) @ (2000,1) K > KC", ALRP_OP_MATMUL, b_mm, G_BIG, .in = { DI(I_UNI, 1, 2000), DI(I_UNI, 2000, 1) }, .eps = 0.25f },
    { "matmul (40,1200) @ (1200,33) K > KC", ALRP_OP_MATMUL, b_mm, G_BIG, .in = { DI(I_UNI, 40, 1200), DI(I_UNI, 1200, 33) }, .eps = 0.25f },
    // ---- conv2d: x (N,C,H,W) * w (O,C/g,kH,kW)
    { "conv 3x3 pad 1 + bias (2,3,5,6) * (4,3,3,3)", ALRP_OP_CONV2D, b_conv_p1b, G_FD, .in = { DI(I_UNI, 2, 3, 5, 6), DI(I_UNI, 4, 3, 3, 3), DI(I_UNI, 4) } },
    { "conv 3x3 stride 2 (1,2,7,7) * (3,2,3,3)", ALRP_OP_CONV2D, b_conv_s2, G_FD, .in = { DI(I_UNI, 1, 2, 7, 7), DI(I_UNI, 3, 2, 3, 3) } },
    { "conv 3x3 dil 2 pad 2 (1,2,6,5) * (2,2,3,3)", ALRP_OP_CONV2D, b_conv_d2p2, G_FD, .in = { DI(I_UNI, 1, 2, 6, 5), DI(I_UNI, 2, 2, 3, 3) } },
    { "conv groups 2 stride 2 pad 1 + bias (2,4,5,5) * (6,2,3,3)", ALRP_OP_CONV2D, b_conv_g2s2p1b, G_FD,
      .in = { DI(I_UNI, 2, 4, 5, 5), DI(I_UNI, 6, 2, 3, 3), DI(I_UNI, 6) } },
    { "conv depthwise 3x3 (1,3,4,4) * (3,1,3,3)", ALRP_OP_CONV2D, b_conv_dw3, G_FD, .in = { DI(I_UNI, 1, 3, 4, 4), DI(I_UNI, 3, 1, 3, 3) } },
    { "conv groups 4 x2 channels (1,4,5,5) * (8,1,3,3)", ALRP_OP_CONV2D, b_conv_g4m2, G_FD, .in = { DI(I_UNI, 1, 4, 5, 5), DI(I_UNI, 8, 1, 3, 3) } },
    { "conv 1x1 + bias (3,4,2,3) * (5,4,1,1)", ALRP_OP_CONV2D, b_conv_1x1b, G_FD, .in = { DI(I_UNI, 3, 4, 2, 3), DI(I_UNI, 5, 4, 1, 1), DI(I_UNI, 5) } },
    { "conv 1x1 stride 2 (2,3,5,5) * (4,3,1,1)", ALRP_OP_CONV2D, b_conv_1x1s2, G_FD, .in = { DI(I_UNI, 2, 3, 5, 5), DI(I_UNI, 4, 3, 1, 1) } },
    { "conv 1x3 stride (1,2) pad (0,1) (1,2,5,7) * (2,2,1,3)", ALRP_OP_CONV2D, b_conv_1x3, G_FD, .in = { DI(I_UNI, 1, 2, 5, 7), DI(I_UNI, 2, 2, 1, 3) } },
    { "conv 3x2 stride (2,1) pad (1,0) dil (1,2) (1,3,6,5) * (2,3,3,2)", ALRP_OP_CONV2D, b_conv_3x2, G_FD,
      .in = { DI(I_UNI, 1, 3, 6, 5), DI(I_UNI, 2, 3, 3, 2) } },
    { "conv 5x5 pad 2 (1,2,6,6) * (2,2,5,5)", ALRP_OP_CONV2D, b_conv_5x5, G_FD, .in = { DI(I_UNI, 1, 2, 6, 6), DI(I_UNI, 2, 2, 5, 5) } },
    { "conv 4x4 stride 3 pad 2 (1,2,9,8) * (3,2,4,4)", ALRP_OP_CONV2D, b_conv_k4s3p2, G_FD, .in = { DI(I_UNI, 1, 2, 9, 8), DI(I_UNI, 3, 2, 4, 4) } },
    { "conv to 1x1 (1,1,3,3) * (1,1,3,3)", ALRP_OP_CONV2D, b_conv_valid, G_FD, .in = { DI(I_UNI, 1, 1, 3, 3), DI(I_UNI, 1, 1, 3, 3) } },
    { "conv 3x3 pad 1 on 2x2 (1,2,2,2) * (3,2,3,3)", ALRP_OP_CONV2D, b_conv_p1, G_FD, .in = { DI(I_UNI, 1, 2, 2, 2), DI(I_UNI, 3, 2, 3, 3) } },
    { "conv 5x5 pad 2 on 1x1 (2,2,1,1) * (3,2,5,5)", ALRP_OP_CONV2D, b_conv_p2, G_FD, .in = { DI(I_UNI, 2, 2, 1, 1), DI(I_UNI, 3, 2, 5, 5) } },
    { "conv 1x1 stride 3 (1,3,7,8) * (2,3,1,1)", ALRP_OP_CONV2D, b_conv_1x1s3, G_FD, .in = { DI(I_UNI, 1, 3, 7, 8), DI(I_UNI, 2, 3, 1, 1) } },
    { "conv of an NHWC (2,5,6,3) view * (4,3,3,3)", ALRP_OP_CONV2D, b_conv_perm, G_FD, .in = { DI(I_UNI, 2, 5, 6, 3), DI(I_UNI, 4, 3, 3, 3) } },
    { "conv of a channel slice (2,5,6,6)[:,1:4] * (2,3,3,3)", ALRP_OP_CONV2D, b_conv_slice, G_FD, .in = { DI(I_UNI, 2, 5, 6, 6), DI(I_UNI, 2, 3, 3, 3) } },
    { "conv 3x3 pad 1 (2,16,9,9) * (32,16,3,3)", ALRP_OP_CONV2D, b_conv_p1, G_BIG, .in = { DI(I_UNI, 2, 16, 9, 9), DI(I_UNI, 32, 16, 3, 3) }, .eps = 0.25f },
    { "conv 3x3 pad 1 (2,8,10,10) * (8,8,3,3)", ALRP_OP_CONV2D, b_conv_p1, G_BIG, .in = { DI(I_UNI, 2, 8, 10, 10), DI(I_UNI, 8, 8, 3, 3) }, .eps = 0.25f },
    { "conv 3x3 stride 2 (2,16,13,11) * (24,16,3,3)", ALRP_OP_CONV2D, b_conv_s2, G_BIG, .in = { DI(I_UNI, 2, 16, 13, 11), DI(I_UNI, 24, 16, 3, 3) }, .eps = 0.25f },
    { "fpn merge: up2 (1,2,3,3) + conv 1x1 (1,3,6,6)", ALRP_OP_UPSAMPLE, b_fpn, G_FD, .in = { DI(I_UNI, 1, 2, 3, 3), DI(I_UNI, 1, 3, 6, 6) } },
    // ---- conv2d_affine: x, w, scale (O), shift (O)
    { "conv_affine 3x3 relu (2,3,5,6) * (4,3,3,3)", ALRP_OP_CONV2D_AFFINE, b_aff_relu, G_FD,
      .in = { RELU_AFF_IN(SH4(2, 3, 5, 6), SH4(4, 3, 3, 3), 4) }, .eps = 1e-3f },
    { "conv_affine groups 2 stride 2 (2,4,5,5) * (6,2,3,3)", ALRP_OP_CONV2D_AFFINE, b_aff_g2s2, G_FD,
      .in = { DI(I_UNI, 2, 4, 5, 5), DI(I_UNI, 6, 2, 3, 3), DI(I_UNI, 6), DI(I_UNI, 6) } },
    { "conv_affine depthwise relu (1,3,6,6) * (3,1,3,3)", ALRP_OP_CONV2D_AFFINE, b_aff_dw, G_FD,
      .in = { RELU_AFF_IN(SH4(1, 3, 6, 6), SH4(3, 1, 3, 3), 3) }, .eps = 1e-3f },
    { "conv_affine 1x1 relu (2,4,3,3) * (5,4,1,1)", ALRP_OP_CONV2D_AFFINE, b_aff_1x1, G_FD,
      .in = { RELU_AFF_IN(SH4(2, 4, 3, 3), SH4(5, 4, 1, 1), 5) }, .eps = 1e-3f },
    { "conv_affine dil 2 (1,2,7,6) * (3,2,3,3)", ALRP_OP_CONV2D_AFFINE, b_aff_d2, G_FD,
      .in = { DI(I_UNI, 1, 2, 7, 6), DI(I_UNI, 3, 2, 3, 3), DI(I_UNI, 3), DI(I_UNI, 3) } },
    { "conv_affine frozen BN (2,3,5,5) * (4,3,3,3)", ALRP_OP_CONV2D_AFFINE, b_aff_frozen, G_FD,
      .in = { DI(I_UNI, 2, 3, 5, 5), DI(I_UNI, 4, 3, 3, 3), DI(I_POS, 4), DI(I_UNI, 4), CI(I_SMALL, 4), CI(I_POS, 4) } },
    { "conv_affine relu (2,16,9,9) * (32,16,3,3)", ALRP_OP_CONV2D_AFFINE, b_aff_relu, G_XB,
      .in = { DI(I_UNI, 2, 16, 9, 9), DI(I_UNI, 32, 16, 3, 3), DI(I_POS, 32), DI(I_UNI, 32) } },
    // ---- batch norm: x, weight, bias, running mean, running var
    { "batch norm train (3,4,3,2)", ALRP_OP_BN_APPLY, b_bn_train, G_FD,
      .in = { DI(I_UNI, 3, 4, 3, 2), DI(I_POS, 4), DI(I_UNI, 4), ST(I_UNI, 4), ST(I_POS, 4) }, .tol = 5e-3f },
    { "batch norm train N=1 (1,2,3,3)", ALRP_OP_BN_APPLY, b_bn_train, G_FD,
      .in = { DI(I_UNI, 1, 2, 3, 3), DI(I_POS, 2), DI(I_UNI, 2), ST(I_UNI, 2), ST(I_POS, 2) }, .tol = 5e-3f },
    { "batch norm train C=5 H=1 (2,5,1,3)", ALRP_OP_BN_APPLY, b_bn_train, G_FD,
      .in = { DI(I_UNI, 2, 5, 1, 3), DI(I_POS, 5), DI(I_UNI, 5), ST(I_UNI, 5), ST(I_POS, 5) }, .tol = 5e-3f },
    { "batch norm train, no affine (2,3,2,3)", ALRP_OP_BN_APPLY, b_bn_noaff, G_FD,
      .in = { DI(I_UNI, 2, 3, 2, 3), ST(I_UNI, 3), ST(I_POS, 3) }, .tol = 5e-3f },
    { "batch norm eval (2,3,2,2)", ALRP_OP_BN_APPLY, b_bn_eval, G_FD,
      .in = { DI(I_UNI, 2, 3, 2, 2), DI(I_POS, 3), DI(I_UNI, 3), CI(I_UNI, 3), CI(I_POS, 3) } },
    { "batch norm frozen (2,3,2,2)", ALRP_OP_BN_APPLY, b_bn_frozen, G_FD,
      .in = { DI(I_UNI, 2, 3, 2, 2), DI(I_POS, 3), DI(I_UNI, 3), CI(I_UNI, 3), CI(I_POS, 3) } },
    { "conv + batch norm train + relu (2,3,6,6)", ALRP_OP_BN_APPLY, b_bn_relu_conv, G_XB,
      .in = { DI(I_UNI, 2, 3, 6, 6), DI(I_UNI, 4, 3, 3, 3), DI(I_POS, 4), DI(I_UNI, 4) } },
    // ---- pools, upsample
    { "max pool 3x3 stride 2 pad 1 (2,2,7,6)", ALRP_OP_MAX_POOL2D, b_pool3s2p1, G_FD, .in = { DI(I_DIST, 2, 2, 7, 6) }, .eps = 1e-3f },
    { "max pool 2x2 stride 2 (1,3,5,4)", ALRP_OP_MAX_POOL2D, b_pool2s2, G_FD, .in = { DI(I_DIST, 1, 3, 5, 4) }, .eps = 1e-3f },
    { "max pool 3x3 stride 1 pad 1 (1,2,4,4)", ALRP_OP_MAX_POOL2D, b_pool3s1p1, G_FD, .in = { DI(I_DIST, 1, 2, 4, 4) }, .eps = 1e-3f },
    { "max pool 1x1 (1,1,2,3)", ALRP_OP_MAX_POOL2D, b_pool1, G_FD, .in = { DI(I_DIST, 1, 1, 2, 3) }, .eps = 1e-3f },
    { "max pool with NaN/inf (2,2,6,6)", ALRP_OP_MAX_POOL2D, b_pool3s2p1, G_NONE, .in = { CI(I_NONFIN, 2, 2, 6, 6) }, .flags = C_NONFINITE },
    { "upsample x2 (2,3,3,4)", ALRP_OP_UPSAMPLE, b_up2, G_FD, .in = { DI(I_UNI, 2, 3, 3, 4) } },
    { "upsample x3 (1,1,2,3)", ALRP_OP_UPSAMPLE, b_up3, G_FD, .in = { DI(I_UNI, 1, 1, 2, 3) } },
    { "upsample x1 (1,2,2,2)", ALRP_OP_UPSAMPLE, b_up1, G_FD, .in = { DI(I_UNI, 1, 2, 2, 2) } },
    { "upsample x2 of a permuted (1,2,3,4) view", ALRP_OP_UPSAMPLE, b_up_perm, G_FD, .in = { DI(I_UNI, 1, 2, 3, 4) } },
    // ---- gather / scatter rows
    { "gather rows (7,3) by (6) i32", ALRP_OP_GATHER_ROWS, b_gather, G_FD, .in = { DI(I_UNI, 7, 3), IX(7, 6) } },
    { "gather rows (1,5) by (4) i32", ALRP_OP_GATHER_ROWS, b_gather, G_FD, .in = { DI(I_UNI, 1, 5), IX(1, 4) } },
    { "gather rows of a sliced (6,5) view", ALRP_OP_GATHER_ROWS, b_gather_slice, G_FD, .in = { DI(I_UNI, 6, 5), IX(6, 9) } },
    { "scatter add rows (5,4) -> (6,4)", ALRP_OP_SCATTER_ADD_ROWS, b_scatter, G_FD, .in = { DI(I_UNI, 5, 4), IX(6, 5) } },
    { "gather rows of i8 (6,4) labels by (5)", ALRP_OP_GATHER_ROWS, b_gather, G_NONE, .in = { LB(5, 6, 4), IX(6, 5) } },
    { "gather rows of i32 (5,3) by (4)", ALRP_OP_GATHER_ROWS, b_gather, G_NONE, .in = { IX(50, 5, 3), IX(5, 4) } },
    { "scatter add rows of i32 (4,2) -> (6,2)", ALRP_OP_SCATTER_ADD_ROWS, b_scatter_i32, G_NONE, .in = { IX(1 << 29, 4, 2), IX(6, 4) } },
    { "concat i32 (3), (4)", ALRP_OP_CONCAT, b_concat2_ax0, G_NONE, .in = { IX(9, 3), IX(9, 4) } },
    { "concat i8 (2,3), (1,3)", ALRP_OP_CONCAT, b_concat2_ax0, G_NONE, .in = { LB(2, 2, 3), LB(1, 1, 3) } },
    { "gather (5,3) then scatter to (4,3)", ALRP_OP_SCATTER_ADD_ROWS, b_gather_scatter, G_FD, .in = { DI(I_UNI, 5, 3), IX(5, 7), IX(4, 7) } },
    // ---- losses
    { "focal loss (5,7) 0/1 targets, alpha .25 gamma 2", ALRP_OP_FOCAL_LOSS, b_focal, G_FD, .in = { DI(I_UNI, 5, 7), CI(I_BIN, 5, 7) } },
    { "focal loss (4,6) soft targets, no alpha, gamma 0", ALRP_OP_FOCAL_LOSS, b_focal_bce, G_FD, .in = { DI(I_UNI, 4, 6), CI(I_SOFT, 4, 6) } },
    { "focal loss (9,5) wide logits, gamma 1.5", ALRP_OP_FOCAL_LOSS, b_focal_g15, G_FD, .in = { DI(I_WIDE, 9, 5), CI(I_BIN, 9, 5) } },
    { "smooth L1 beta 0.5 (6,4)", ALRP_OP_SMOOTH_L1, b_sl1_05, G_FD, .in = { DI(I_UNI, 6, 4), CI(I_UNI, 6, 4) }, .eps = 1e-3f, .tol = 5e-3f },
    { "smooth L1 beta 0 = L1 (9)", ALRP_OP_SMOOTH_L1, b_sl1_0, G_FD, .in = { DI(I_AWAY, 9), CI(I_SMALL, 9) }, .eps = 1e-3f },
    { "smooth L1 beta 2 (3,5)", ALRP_OP_SMOOTH_L1, b_sl1_2, G_FD, .in = { DI(I_WIDE, 3, 5), CI(I_UNI, 3, 5) } },
    { "GIoU loss (7,4) overlapping boxes", ALRP_OP_GIOU_LOSS, b_giou, G_FD, .in = { DI(I_BOX, 7, 4), CI(I_BOX, 7, 4) }, .eps = 1e-3f, .tol = 5e-3f },
    { "GIoU loss (9,4) disjoint and nested boxes", ALRP_OP_GIOU_LOSS, b_giou, G_FD, .in = { DI(I_BOXFAR, 9, 4), CI(I_BOXFAR, 9, 4) }, .eps = 1e-3f, .tol = 5e-3f },
    { "loc_err_giou (6,4) deltas, aLRP stds", ALRP_OP_LOC_ERR_GIOU, b_loc_err, G_FD, .in = { DI(I_UNI, 6, 4), CI(I_UNI, 6, 4) }, .eps = 1e-3f, .tol = 5e-3f },
    { "loc_err_giou (5,4) wide deltas, stds 1", ALRP_OP_LOC_ERR_GIOU, b_loc_err_unit, G_FD, .in = { DI(I_WIDE, 5, 4), CI(I_UNI, 5, 4) }, .eps = 1e-3f, .tol = 5e-3f },
    { "aLRP (40,3), 9 pos, loc_err per anchor (40)", ALRP_OP_ALRP_LOSS, b_alrp, G_RANK, .in = { DI(I_UNI, 40, 3), LB(9, 40, 3), DI(I_SOFT, 40) } },
    { "aLRP (30), 4 pos, loc_err per entry (30)", ALRP_OP_ALRP_LOSS, b_alrp, G_RANK, .in = { DI(I_UNI, 30), LB(4, 30), DI(I_SOFT, 30) } },
    { "aLRP (10,4) logits: transposed (4,10) view", ALRP_OP_ALRP_LOSS, b_alrp_tlogits, G_RANK, .in = { DI(I_UNI, 4, 10), LB(5, 10, 4), DI(I_SOFT, 10) } },
    { "aLRP (50), 6 pos, no loc_err", ALRP_OP_ALRP_LOSS, b_alrp_noloc, G_RANK, .in = { DI(I_UNI, 50), LB(6, 50) } },
    { "aLRP (12,5), no positive", ALRP_OP_ALRP_LOSS, b_alrp, G_RANK, .in = { DI(I_UNI, 12, 5), LB(0, 12, 5), DI(I_SOFT, 12) } },
    { "aLRP (20,4) delta 0.5, 1 pos", ALRP_OP_ALRP_LOSS, b_alrp_d05, G_RANK, .in = { DI(I_WIDE, 20, 4), LB(1, 20, 4), DI(I_SOFT, 20) } },
    { "aLRP (500,4), 60 pos, loc_err (500)", ALRP_OP_ALRP_LOSS, b_alrp, G_RANK, .in = { DI(I_WIDE, 500, 4), LB(60, 500, 4), DI(I_SOFT, 500) } },
    { "aLRP (40,3) with loc_err_giou of (40,4) deltas", ALRP_OP_ALRP_LOSS, b_alrp_pipe, G_RANK,
      .in = { DI(I_UNI, 40, 3), LB(8, 40, 3), DI(I_UNI, 40, 4), CI(I_UNI, 40, 4) } },
    { "aLRP (8,4) labels: i8 concat (3,4), (5,4)", ALRP_OP_ALRP_LOSS, b_alrp_catlab, G_RANK,
      .in = { DI(I_UNI, 8, 4), LB(3, 3, 4), LB(2, 5, 4), DI(I_SOFT, 8) } },
    { "AP (7,11), 5 pos", ALRP_OP_AP_LOSS, b_ap, G_RANK, .in = { DI(I_UNI, 7, 11), LB(5, 7, 11) } },
    { "AP (64), 1 pos", ALRP_OP_AP_LOSS, b_ap, G_RANK, .in = { DI(I_WIDE, 64), LB(1, 64) } },
    { "AP (5,8) labels: transposed i8 (8,5) view", ALRP_OP_AP_LOSS, b_ap_permlab, G_RANK, .in = { DI(I_UNI, 5, 8), LB(6, 8, 5) } },
    { "AP (4,6) labels: i8 fill 0 (no positive)", ALRP_OP_AP_LOSS, b_ap_filllab, G_RANK, .in = { DI(I_UNI, 4, 6) } },
    // ---- sizes at which the CPU kernels split the work over threads (cross-backend gradients only)
    { "threaded: add (64,600) + (600)", ALRP_OP_ADD, b_add, G_BIG, .in = { DI(I_UNI, 64, 600), DI(I_UNI, 600) }, .eps = 0.25f },
    { "threaded: mul (2,48,400) * (48,1)", ALRP_OP_MUL, b_mul, G_BIG, .in = { DI(I_UNI, 2, 48, 400), DI(I_UNI, 48, 1) }, .eps = 0.25f },
    { "threaded: div (40,1000) / (1000)", ALRP_OP_DIV, b_div, G_BIG, .in = { DI(I_UNI, 40, 1000), DI(I_POS, 1000) } },
    { "threaded: scale (40000)", ALRP_OP_SCALE, b_scale, G_BIG, .in = { DI(I_UNI, 40000) }, .eps = 0.25f },
    { "threaded: sum axis 0 (300,130)", ALRP_OP_SUM_TO, b_sum_ax0k, G_BIG, .in = { DI(I_UNI, 300, 130) }, .eps = 0.25f },
    { "threaded: every unary op (80,64)", ALRP_OP_UNARY, b_unary_all, G_BIG, .in = { DI(I_AWAY, 80, 64), DI(I_POS, 80, 64) } },
    { "threaded: clamp (100,400)", ALRP_OP_CLAMP, b_clamp, G_BIG, .in = { DI(I_UNI, 100, 400) } },
    { "threaded: batch norm train (4,8,32,32)", ALRP_OP_BN_APPLY, b_bn_train, G_BIG,
      .in = { DI(I_UNI, 4, 8, 32, 32), DI(I_POS, 8), DI(I_UNI, 8), ST(I_UNI, 8), ST(I_POS, 8) } },
    { "threaded: max pool 3x3 stride 2 pad 1 (2,8,40,40)", ALRP_OP_MAX_POOL2D, b_pool3s2p1, G_BIG, .in = { DI(I_UNI, 2, 8, 40, 40) }, .eps = 1e-3f, .tol = 5e-3f },
    { "threaded: upsample x2 (2,8,20,20)", ALRP_OP_UPSAMPLE, b_up2, G_BIG, .in = { DI(I_UNI, 2, 8, 20, 20) }, .eps = 0.25f },
    { "threaded: focal loss (200,200)", ALRP_OP_FOCAL_LOSS, b_focal, G_BIG, .in = { DI(I_WIDE, 200, 200), CI(I_BIN, 200, 200) } },
    { "threaded: aLRP (17500,4), 500 pos, loc_err (17500)", ALRP_OP_ALRP_LOSS, b_alrp, G_RANK,
      .in = { DI(I_WIDE, 17500, 4), LB(500, 17500, 4), DI(I_SOFT, 17500) } },
    { "threaded: AP (70000), 300 pos", ALRP_OP_AP_LOSS, b_ap, G_RANK, .in = { DI(I_WIDE, 70000), LB(300, 70000) } },
    // ---- optimizer steps (in place): param (state), grad [, state]; hp and scales made by the builder
    { "opt_step_sgd (5,7), wd, no momentum", ALRP_OP_OPT_STEP_SGD, b_sgd, G_NONE, .in = { ST(I_UNI, 5, 7), CI(I_UNI, 5, 7) } },
    { "opt_step_sgd (37) momentum, step 1", ALRP_OP_OPT_STEP_SGD, b_sgd_mom1, G_NONE, .in = { ST(I_UNI, 37), CI(I_UNI, 37), ST(I_UNI, 37) } },
    { "opt_step_sgd (3,11) momentum, step 3, grad_scale", ALRP_OP_OPT_STEP_SGD, b_sgd_mom3s, G_NONE,
      .in = { ST(I_UNI, 3, 11), CI(I_UNI, 3, 11), ST(I_UNI, 3, 11) } },
    { "opt_step_sgd (70001) momentum, step 3, grad_scale", ALRP_OP_OPT_STEP_SGD, b_sgd_mom3s, G_NONE,
      .in = { ST(I_UNI, 70001), CI(I_UNI, 70001), ST(I_UNI, 70001) } },
    { "opt_step_sgd of a clipped gradient: a whole step", ALRP_OP_OPT_STEP_SGD, b_sgd_step, G_NONE,
      .in = { ST(I_UNI, 4, 3), CI(I_UNI, 5, 4), CI(I_UNI, 5, 3), ST(I_UNI, 4, 3) } },
    { "opt_step_adamw (2,3,5) step 1", ALRP_OP_OPT_STEP_ADAMW, b_adamw1, G_NONE,
      .in = { ST(I_UNI, 2, 3, 5), CI(I_UNI, 2, 3, 5), ST(I_ZERO, 2, 3, 5), ST(I_ZERO, 2, 3, 5) } },
    { "opt_step_adamw (19) step 7, grad_scale", ALRP_OP_OPT_STEP_ADAMW, b_adamw7s, G_NONE,
      .in = { ST(I_UNI, 19), CI(I_UNI, 19), ST(I_SMALL, 19), ST(I_SOFT, 19) } },
    { "opt_step_adamw (70001) step 7, grad_scale", ALRP_OP_OPT_STEP_ADAMW, b_adamw7s, G_NONE,
      .in = { ST(I_UNI, 70001), CI(I_UNI, 70001), ST(I_SMALL, 70001), ST(I_SOFT, 70001) } },
    { "opt_step_adamw (6,5) state made by the builder", ALRP_OP_OPT_STEP_ADAMW, b_adamw_state, G_NONE, .in = { ST(I_UNI, 6, 5), CI(I_UNI, 6, 5) } },
};
#define N_CASES ((int) (sizeof(cases) / sizeof(cases[0])))

static int case_n_in(const struct op_case * c) { int n = 0; while (n < MAX_IN && c->in[n].nd > 0) n++; return n; }

// ============================================================================================
// the harness
// ============================================================================================

enum mode { MODE_FWD, MODE_GRAD };
static bool g_tf32;   // --tf32: the CUDA backend runs its GEMMs in TF32
static const char * mode_name(enum mode m) { return m == MODE_FWD ? "fwd" : "grad"; }

// Builds the case's graph (no data anywhere yet). grad: loss = sum(out * R) and its backward.
// keep: every node flagged OUTPUT (nothing reused: every value can be read after the compute).
static void run_build(struct run * r, const struct op_case * c, enum mode m, bool keep) {
    memset(r, 0, sizeof(*r));
    r->ctx = alrp_init((struct alrp_init_params) { CTX_SIZE, NULL, true });
    r->ctx_p = alrp_init((struct alrp_init_params) { 1u << 20, NULL, true });
    r->n_in = case_n_in(c);
    for (int i = 0; i < r->n_in; i++) {
        const struct in_desc * d = &c->in[i];
        struct alrp_tensor * t = alrp_new_tensor((d->flags & F_STATE) ? r->ctx_p : r->ctx, init_type(d->init), d->nd, d->s);
        alrp_format_name(t, "in%d", i);
        alrp_set_input(t);
        if (m == MODE_GRAD && (d->flags & F_DIFF)) alrp_set_param(r->ctx, t);
        r->in[i] = t;
    }
    g_building = r;
    struct alrp_tensor * out = c->build(r->ctx, r->in);
    g_building = NULL;
    TASSERTM(out && out->op != ALRP_OP_NONE, "case '%s': the builder must return the result of an op", c->name);
    if (!alrp_is_contiguous(out)) out = r->harness[0] = alrp_cont(r->ctx, out);
    alrp_set_output(out);
    r->out = out;
    r->g = alrp_new_graph(r->ctx, MAX_NODES);
    if (m == MODE_GRAD) {
        TASSERTM(out->type == ALRP_TYPE_F32, "case '%s': a gradient case needs an f32 output", c->name);
        int64_t s[4];
        for (int i = 0; i < out->n_dims; i++) s[i] = alrp_dim(out, i);
        r->R = alrp_set_name(alrp_new_tensor(r->ctx, ALRP_TYPE_F32, out->n_dims, s), "R");
        alrp_set_input(r->R);
        r->harness[1] = alrp_mul(r->ctx, out, r->R);
        r->loss = r->harness[2] = alrp_sum(r->ctx, r->harness[1]);
        alrp_set_loss(r->ctx, r->loss);
        alrp_build_forward(r->g, r->loss);
        r->n_fwd = alrp_graph_n_nodes(r->g);
        r->gf = alrp_new_graph(r->ctx, MAX_NODES);
        alrp_build_forward(r->gf, r->loss);
        alrp_build_backward(r->ctx, r->g);
    } else {
        alrp_build_forward(r->g, out);
        r->n_fwd = alrp_graph_n_nodes(r->g);
    }
    if (keep) for (int i = 0; i < alrp_graph_n_nodes(r->g); i++) alrp_set_output(alrp_graph_node(r->g, i));
    // every leaf must be one the harness fills
    for (int i = 0; i < alrp_graph_n_nodes(r->g); i++) {
        struct alrp_tensor * t = alrp_graph_node(r->g, i);
        for (int k = 0; k < ALRP_MAX_SRC; k++) {
            struct alrp_tensor * s = t->src[k];
            if (!s || s->op != ALRP_OP_NONE) continue;
            bool known = s == r->R;
            for (int j = 0; j < r->n_in; j++) known = known || s == r->in[j];
            for (int j = 0; j < r->n_extra; j++) known = known || s == r->extra[j].t;
            TASSERTM(known, "case '%s': leaf '%s' was not made by the harness or bl_f32/bl_vals/bl_state", c->name, s->name);
        }
    }
}

static void run_free(struct run * r) {
    alrp_gallocr_free(r->ga);
    alrp_buffer_free(r->buf_p);
    alrp_free(r->ctx);
    alrp_free(r->ctx_p);
    memset(r, 0, sizeof(*r));
}

// the first node be cannot compute, or NULL
static const struct alrp_tensor * run_unsupported(const struct run * r, struct alrp_backend * be) {
    for (int i = 0; i < alrp_graph_n_nodes(r->g); i++)
        if (!alrp_backend_supports_op(be, alrp_graph_node(r->g, i))) return alrp_graph_node(r->g, i);
    return NULL;
}

// the values every leaf gets, the same for every backend
struct hdata {
    int n;
    int64_t ne[MAX_IN + MAX_EXTRA + 1][4];                     // shapes and types, as first built
    enum alrp_type type[MAX_IN + MAX_EXTRA + 1];
    void * v[MAX_IN + MAX_EXTRA + 1];
    size_t bytes[MAX_IN + MAX_EXTRA + 1];
};
// the leafs of r in a fixed order: inputs, builder leafs, R
static int run_leafs(const struct run * r, struct alrp_tensor ** ls) {
    int n = 0;
    for (int i = 0; i < r->n_in; i++) ls[n++] = r->in[i];
    for (int i = 0; i < r->n_extra; i++) ls[n++] = r->extra[i].t;
    if (r->R) ls[n++] = r->R;
    return n;
}
static bool leaf_is_state(const struct run * r, const struct op_case * c, int li) {
    if (li < r->n_in) return (c->in[li].flags & F_STATE) != 0;
    if (li < r->n_in + r->n_extra) return r->extra[li - r->n_in].state;
    return false;
}

static void hdata_make(struct hdata * h, const struct run * r, const struct op_case * c, uint64_t seed) {
    struct alrp_tensor * ls[MAX_IN + MAX_EXTRA + 1];
    memset(h, 0, sizeof(*h));
    h->n = run_leafs(r, ls);
    for (int i = 0; i < h->n; i++) {
        struct alrp_rng rng = { seed * 1000003u + (uint64_t) i * 7919u + 17u };
        enum init_kind k = I_UNI; int ip = 0; const float * vals = NULL;
        if (i < r->n_in) { k = c->in[i].init; ip = c->in[i].ip; }
        else if (i < r->n_in + r->n_extra) { k = r->extra[i - r->n_in].init; ip = r->extra[i - r->n_in].ip; vals = r->extra[i - r->n_in].vals; }
        memcpy(h->ne[i], ls[i]->ne, sizeof(h->ne[i]));
        h->type[i] = ls[i]->type;
        h->bytes[i] = alrp_nbytes(ls[i]);
        h->v[i] = malloc(h->bytes[i]);
        gen_values(h->v[i], ls[i]->type, alrp_nelements(ls[i]), k, ip, vals, &rng);
    }
}
static void hdata_free(struct hdata * h) { for (int i = 0; i < h->n; i++) free(h->v[i]); memset(h, 0, sizeof(*h)); }

// host values of leaf t of r (NULL if t is not one)
static const void * hdata_of(const struct hdata * h, const struct run * r, const struct alrp_tensor * t) {
    struct alrp_tensor * ls[MAX_IN + MAX_EXTRA + 1];
    int n = run_leafs(r, ls);
    for (int i = 0; i < n && i < h->n; i++) if (ls[i] == t) return h->v[i];
    return NULL;
}

// Places r's tensors in be's memory, poisons every buffer with the byte `poison`, sets the
// leafs. Returns false when out of memory.
static bool run_place(struct run * r, struct alrp_backend * be, const struct hdata * h, uint8_t poison) {
    r->buf_p = alrp_backend_alloc_ctx_tensors(r->ctx_p, be);
    if (alrp_ctx_n_unplaced(r->ctx_p) != 0) return false;
    r->ga = alrp_gallocr_new(be);
    if (!alrp_gallocr_alloc_graph(r->ga, r->g)) return false;
    struct alrp_buffer * bufs[8];
    int nb = 0;
    for (int i = 0; i < alrp_graph_n_nodes(r->g); i++) {
        const struct alrp_tensor * t = alrp_graph_node(r->g, i);
        for (int k = -1; k < ALRP_MAX_SRC; k++) {
            const struct alrp_tensor * s = k < 0 ? t : t->src[k];
            if (!s) continue;
            struct alrp_buffer * b = s->view_src ? s->view_src->buffer : s->buffer;
            bool seen = b == NULL;
            for (int j = 0; j < nb; j++) seen = seen || bufs[j] == b;
            if (!seen && nb < 8) bufs[nb++] = b;
        }
    }
    for (int j = 0; j < nb; j++) alrp_buffer_clear(bufs[j], poison);
    struct alrp_tensor * ls[MAX_IN + MAX_EXTRA + 1];
    int n = run_leafs(r, ls);
    TASSERTM(n == h->n, "the graph's leafs changed between builds");
    for (int i = 0; i < n; i++) {
        TASSERTM(!memcmp(ls[i]->ne, h->ne[i], sizeof(h->ne[i])) && ls[i]->type == h->type[i], "leaf %d changed between builds", i);
        alrp_backend_tensor_set(be, ls[i], h->v[i], 0, h->bytes[i]);
    }
    return true;
}

// ---- values read back, as doubles
struct result {
    int n;
    char label[MAX_RES][96];
    double * v[MAX_RES];
    int64_t len[MAX_RES];
};
static void result_free(struct result * res) { for (int i = 0; i < res->n; i++) free(res->v[i]); memset(res, 0, sizeof(*res)); }

static double * to_doubles(const void * raw, enum alrp_type type, int64_t n) {
    double * v = (double *) malloc(sizeof(double) * (size_t) (n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++)
        v[i] = type == ALRP_TYPE_F32 ? (double) ((const float *) raw)[i] : type == ALRP_TYPE_I32 ? (double) ((const int32_t *) raw)[i]
                                                                          : (double) ((const int8_t *) raw)[i];
    return v;
}
// a contiguous tensor's values as computed by be
static double * read_back(struct alrp_backend * be, const struct alrp_tensor * t) {
    TASSERTM(alrp_is_contiguous(t), "read_back: '%s' is not contiguous", t->name);
    void * raw = malloc(alrp_nbytes(t) ? alrp_nbytes(t) : 1);
    alrp_backend_tensor_get(be, t, raw, 0, alrp_nbytes(t));
    double * v = to_doubles(raw, t->type, alrp_nelements(t));
    free(raw);
    return v;
}
static void result_add(struct result * res, const char * label, double * v, int64_t len) {
    TASSERT(res->n < MAX_RES);
    snprintf(res->label[res->n], sizeof(res->label[0]), "%s", label);
    res->v[res->n] = v; res->len[res->n] = len; res->n++;
}

// out, then (grad) the gradient of every differentiable input, then the state after the compute
static void run_results(const struct run * r, const struct op_case * c, enum mode m, struct alrp_backend * be, struct result * res) {
    memset(res, 0, sizeof(*res));
    char lab[96];
    result_add(res, "out", read_back(be, r->out), alrp_nelements(r->out));
    if (m == MODE_GRAD) {
        for (int i = 0; i < r->n_in; i++) {
            if (!(c->in[i].flags & F_DIFF)) continue;
            struct alrp_tensor * gr = alrp_graph_grad(r->g, r->in[i]);
            int64_t n = alrp_nelements(r->in[i]);
            snprintf(lab, sizeof lab, "grad in%d", i);
            result_add(res, lab, gr ? read_back(be, gr) : (double *) calloc((size_t) n, sizeof(double)), n);
        }
    }
    struct alrp_tensor * ls[MAX_IN + MAX_EXTRA + 1];
    int n = run_leafs(r, ls);
    for (int i = 0; i < n; i++) {
        if (!leaf_is_state(r, c, i)) continue;
        snprintf(lab, sizeof lab, "%s after", ls[i]->name);
        result_add(res, lab, read_back(be, ls[i]), alrp_nelements(ls[i]));
    }
}

// the leafs that are not state must be as they were set; returns the name of one that changed
static const char * run_inputs_changed(const struct run * r, const struct op_case * c, struct alrp_backend * be, const struct hdata * h) {
    struct alrp_tensor * ls[MAX_IN + MAX_EXTRA + 1];
    int n = run_leafs(r, ls);
    for (int i = 0; i < n; i++) {
        if (leaf_is_state(r, c, i)) continue;
        void * raw = malloc(h->bytes[i] ? h->bytes[i] : 1);
        alrp_backend_tensor_get(be, ls[i], raw, 0, h->bytes[i]);
        bool same = memcmp(raw, h->v[i], h->bytes[i]) == 0;
        free(raw);
        if (!same) return ls[i]->name;
    }
    return NULL;
}

// ---- comparison: NMSE over the finite values, non-finite ones at the same positions only
struct cmp { double nmse; int64_t n_nonfinite_mismatch, n_nonfinite; };
static struct cmp compare(const double * a, const double * b, int64_t n) {
    struct cmp c = { 0.0, 0, 0 };
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; i++) {
        bool fa = isfinite(a[i]), fb = isfinite(b[i]);
        if (fa && fb) { num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i]; continue; }
        if (!fb) c.n_nonfinite++;
        if (fa != fb || isnan(a[i]) != isnan(b[i]) || (!isnan(a[i]) && a[i] != b[i])) c.n_nonfinite_mismatch++;
    }
    c.nmse = den > 0.0 ? num / den : num;   // all-zero reference: the squared error itself
    return c;
}

// worst NMSE over the arrays; fills why on a failure
static bool compare_results(const struct result * a, const struct result * ref, double thr, double * worst, char * why, size_t why_size) {
    *worst = 0.0;
    if (a->n != ref->n) { snprintf(why, why_size, "%d result arrays, the reference has %d", a->n, ref->n); return false; }
    bool ok = true;
    for (int i = 0; i < a->n; i++) {
        struct cmp c = compare(a->v[i], ref->v[i], ref->len[i]);
        if (c.nmse > *worst) *worst = c.nmse;
        if (ok && c.n_nonfinite_mismatch) {
            snprintf(why, why_size, "%s: %lld non-finite values where the reference differs", a->label[i], (long long) c.n_nonfinite_mismatch);
            ok = false;
        } else if (ok && !(c.nmse <= thr)) {
            int64_t k = 0;   // the element that differs most
            for (int64_t j = 1; j < ref->len[i]; j++)
                if (fabs(a->v[i][j] - ref->v[i][j]) > fabs(a->v[i][k] - ref->v[i][k])) k = j;
            snprintf(why, why_size, "%s: NMSE %.3e > %.0e (worst [%lld]: %.7g, reference %.7g)", a->label[i], c.nmse, thr,
                     (long long) k, a->v[i][k], ref->v[i][k]);
            ok = false;
        }
    }
    return ok;
}

static int64_t count_nonfinite(const struct result * res) {
    int64_t n = 0;
    for (int i = 0; i < res->n; i++) for (int64_t k = 0; k < res->len[i]; k++) n += !isfinite(res->v[i][k]);
    return n;
}

// ============================================================================================
// reference checks on the CPU: naive kernels, raw optimizer kernels, plain-array losses
// ============================================================================================

// the logical values of t (any view) as the compute saw them: leaf roots from the host data
// (the compute may have updated state in place), other roots read back (every node is kept)
static double * input_vals(const struct run * r, const struct hdata * h, struct alrp_backend * be, const struct alrp_tensor * t) {
    const struct alrp_tensor * root = t->view_src ? t->view_src : t;
    int64_t n_root = alrp_nelements(root), n = alrp_nelements(t);
    double * rv;
    const void * hv = root->op == ALRP_OP_NONE ? hdata_of(h, r, root) : NULL;
    if (root->op == ALRP_OP_NONE) {
        TASSERTM(hv, "input_vals: leaf '%s' has no host data", root->name);
        rv = to_doubles(hv, root->type, n_root);
    } else {
        rv = read_back(be, root);
    }
    if (root == t) return rv;
    double * v = (double *) malloc(sizeof(double) * (size_t) n);
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, off = t->view_offs;
        for (int d = 3; d >= 0; d--) { off += (rem % t->ne[d]) * t->nb[d]; rem /= t->ne[d]; }
        TASSERTM(off >= 0 && off < n_root, "input_vals: view '%s' reads outside its source", t->name);
        v[i] = rv[off];
    }
    free(rv);
    return v;
}
static float * to_floats(const double * v, int64_t n) {
    float * f = (float *) malloc(sizeof(float) * (size_t) (n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) f[i] = (float) v[i];
    return f;
}
static float * input_f32(const struct run * r, const struct hdata * h, struct alrp_backend * be, const struct alrp_tensor * t) {
    double * v = input_vals(r, h, be, t);
    float * f = to_floats(v, alrp_nelements(t));
    free(v);
    return f;
}
static float op_f32(const struct alrp_tensor * t, int i) { float v; memcpy(&v, &t->op_params[i], sizeof v); return v; }

struct nstat { int n_nodes, n_rank_back; double worst; bool ok; char why[160]; };
static void nstat_add(struct nstat * s, const struct alrp_tensor * t, const char * what, const double * got, const double * want, int64_t n, double thr) {
    struct cmp c = compare(got, want, n);
    s->n_nodes++;
    if (c.nmse > s->worst) s->worst = c.nmse;
    if (s->ok && (c.n_nonfinite_mismatch || !(c.nmse <= thr))) {
        s->ok = false;
        snprintf(s->why, sizeof s->why, "naive %s %s '%s': NMSE %.3e, %lld non-finite mismatches", alrp_op_name(t->op), what, t->name,
                 c.nmse, (long long) c.n_nonfinite_mismatch);
    }
}
static void nstat_add_f(struct nstat * s, const struct alrp_tensor * t, const char * what, const double * got, const float * want, int64_t n, double thr) {
    double * w = to_doubles(want, ALRP_TYPE_F32, n);
    nstat_add(s, t, what, got, w, n, thr);
    free(w);
}

static void conv_desc(const struct alrp_tensor * node, const struct alrp_tensor * x, const struct alrp_tensor * w, struct alrp_conv2d_desc * d) {
    memset(d, 0, sizeof(*d));
    d->n = alrp_dim(x, 0); d->c = alrp_dim(x, 1); d->h = alrp_dim(x, 2); d->w = alrp_dim(x, 3);
    d->o = alrp_dim(w, 0); d->kh = alrp_dim(w, 2); d->kw = alrp_dim(w, 3);
    d->sh = node->op_params[0]; d->sw = node->op_params[1]; d->ph = node->op_params[2]; d->pw = node->op_params[3];
    d->dh = node->op_params[4]; d->dw = node->op_params[5]; d->groups = node->op_params[6];
}

// the packed result the ranking-loss node t must hold (plain-array API on its inputs)
static double * rank_expected(const struct run * r, const struct hdata * h, struct alrp_backend * be, const struct alrp_tensor * t) {
    const bool is_alrp = t->op == ALRP_OP_ALRP_LOSS;
    const struct alrp_tensor * lg = t->src[0], * lb = t->src[1], * le = t->src[2];
    const int64_t n = alrp_nelements(lg), A = le ? alrp_nelements(le) : 0, C = A ? n / A : 1;
    float * logits = input_f32(r, h, be, lg);
    double * lbd = input_vals(r, h, be, lb);
    int8_t * labels = (int8_t *) malloc((size_t) n);
    for (int64_t i = 0; i < n; i++) labels[i] = (int8_t) lbd[i];
    free(lbd);
    int64_t P = 0;
    for (int64_t i = 0; i < n; i++) P += labels[i] == 1;
    const int64_t len = alrp_nelements(t);
    double * want = (double *) calloc((size_t) len, sizeof(double));
    float * gl = (float *) calloc((size_t) n, sizeof(float));
    float delta = op_f32(t, 0);
    if (is_alrp) {
        float * e = le ? input_f32(r, h, be, le) : NULL;
        float * ep = (float *) calloc((size_t) (P > 0 ? P : 1), sizeof(float)), * gp = (float *) calloc((size_t) (P > 0 ? P : 1), sizeof(float));
        for (int64_t i = 0, k = 0; e && i < n; i++) if (labels[i] == 1) ep[k++] = e[i / C];
        float cls = 0.0f, loc = 0.0f;
        int64_t rc = alrp_loss_alrp_f32(n, logits, labels, e ? ep : NULL, delta, &cls, &loc, gl, e ? gp : NULL);
        TASSERTM(rc == P, "alrp_loss_alrp_f32 returned %lld for %lld positives", (long long) rc, (long long) P);
        want[0] = cls; want[1] = loc; want[2] = (double) P;
        for (int64_t i = 0; i < n; i++) want[3 + i] = gl[i];
        for (int64_t i = 0, k = 0; e && i < n; i++) if (labels[i] == 1) want[3 + n + i / C] += gp[k++];
        free(e); free(ep); free(gp);
    } else {
        float loss = 0.0f;
        int64_t rc = alrp_loss_ap_f32(n, logits, labels, delta, &loss, gl);
        TASSERTM(rc == P, "alrp_loss_ap_f32 returned %lld for %lld positives", (long long) rc, (long long) P);
        want[0] = loss; want[1] = (double) P;
        for (int64_t i = 0; i < n; i++) want[2 + i] = gl[i];
    }
    free(logits); free(labels); free(gl);
    return want;
}

// compares every node that has a reference here with it (r computed on be, every node kept)
static void naive_checks(const struct run * r, const struct hdata * h, struct alrp_backend * be, double thr, struct nstat * s) {
    memset(s, 0, sizeof(*s));
    s->ok = true;
    for (int i = 0; i < alrp_graph_n_nodes(r->g); i++) {
        const struct alrp_tensor * t = alrp_graph_node(r->g, i);
        const int64_t n = alrp_nelements(t);
        switch (t->op) {
        case ALRP_OP_MATMUL: {
            const struct alrp_tensor * a = t->src[0], * b = t->src[1];
            const bool ta = t->op_params[0] != 0, tb = t->op_params[1] != 0;
            const int64_t M = t->ne[2], N = t->ne[3], K = ta ? a->ne[2] : a->ne[3];
            float * A = input_f32(r, h, be, a), * Bv = input_f32(r, h, be, b), * Cv = (float *) calloc((size_t) n, sizeof(float));
            for (int64_t b0 = 0; b0 < t->ne[0]; b0++) for (int64_t b1 = 0; b1 < t->ne[1]; b1++) {
                const int64_t ia = (a->ne[0] == 1 ? 0 : b0) * a->ne[1] + (a->ne[1] == 1 ? 0 : b1);
                const int64_t ib = (b->ne[0] == 1 ? 0 : b0) * b->ne[1] + (b->ne[1] == 1 ? 0 : b1);
                alrp__gemm_f32_naive(ta, tb, M, N, K, 1.0f, A + ia * a->ne[2] * a->ne[3], a->ne[3], Bv + ib * b->ne[2] * b->ne[3], b->ne[3],
                                     0.0f, Cv + (b0 * t->ne[1] + b1) * M * N, N);
            }
            double * got = read_back(be, t);
            nstat_add_f(s, t, "(gemm)", got, Cv, n, thr);
            free(got); free(A); free(Bv); free(Cv);
        } break;
        case ALRP_OP_CONV2D: case ALRP_OP_CONV2D_AFFINE: case ALRP_OP_CONV2D_BACK_DATA: case ALRP_OP_CONV2D_BACK_WEIGHT: {
            struct alrp_conv2d_desc d;
            float * want = (float *) calloc((size_t) n, sizeof(float));
            if (t->op == ALRP_OP_CONV2D || t->op == ALRP_OP_CONV2D_AFFINE) {
                conv_desc(t, t->src[0], t->src[1], &d);
                float * x = input_f32(r, h, be, t->src[0]), * w = input_f32(r, h, be, t->src[1]);
                float * b = t->op == ALRP_OP_CONV2D && t->src[2] ? input_f32(r, h, be, t->src[2]) : NULL;
                alrp__conv2d_f32_naive(&d, x, w, b, 0.0f, want);
                if (t->op == ALRP_OP_CONV2D_AFFINE) {   // naive conv, then the affine, then the ReLU
                    float * sc = input_f32(r, h, be, t->src[2]), * sh = input_f32(r, h, be, t->src[3]);
                    const int64_t plane = t->ne[2] * t->ne[3];
                    for (int64_t k = 0; k < n; k++) {
                        int64_t o = (k / plane) % d.o;
                        float v = want[k] * sc[o] + sh[o];
                        want[k] = t->op_params[7] && !(v > 0.0f) ? 0.0f : v;
                    }
                    free(sc); free(sh);
                }
                free(x); free(w); free(b);
            } else if (t->op == ALRP_OP_CONV2D_BACK_DATA) {   // t: dx; src = dy, w
                conv_desc(t, t, t->src[1], &d);
                float * dy = input_f32(r, h, be, t->src[0]), * w = input_f32(r, h, be, t->src[1]);
                alrp__conv2d_backward_data_f32_naive(&d, dy, w, 0.0f, want);
                free(dy); free(w);
            } else {                                          // t: dw; src = x, dy
                conv_desc(t, t->src[0], t, &d);
                float * x = input_f32(r, h, be, t->src[0]), * dy = input_f32(r, h, be, t->src[1]);
                alrp__conv2d_backward_weight_f32_naive(&d, x, dy, 0.0f, want, NULL);
                free(x); free(dy);
            }
            double * got = read_back(be, t);
            nstat_add_f(s, t, "(conv)", got, want, n, thr);
            free(got); free(want);
        } break;
        case ALRP_OP_OPT_STEP_SGD: case ALRP_OP_OPT_STEP_ADAMW: {
            // param and state: their values before the step are the host data (they are leafs)
            const struct alrp_tensor * p = t->src[0], * s0 = t->src[2], * s1 = t->src[3];
            float * pv = input_f32(r, h, be, p), * g = input_f32(r, h, be, t->src[1]), * hp = input_f32(r, h, be, t->src[4]);
            float * m = s0 ? input_f32(r, h, be, s0) : NULL, * v = s1 ? input_f32(r, h, be, s1) : NULL;
            if (t->src[5]) {
                float * gs = input_f32(r, h, be, t->src[5]);
                for (int64_t k = 0; k < n; k++) g[k] *= gs[0];
                free(gs);
            }
            const int64_t step = (int64_t) hp[ALRP_OPT_HP_STEP];
            if (t->op == ALRP_OP_OPT_STEP_SGD)
                alrp_sgd_step_f32(n, pv, g, m, hp[ALRP_OPT_HP_LR], hp[ALRP_OPT_HP_MOMENTUM], hp[ALRP_OPT_HP_WEIGHT_DECAY], step);
            else
                alrp_adamw_step_f32(n, pv, g, m, v, hp[ALRP_OPT_HP_LR], hp[ALRP_OPT_HP_BETA1], hp[ALRP_OPT_HP_BETA2], hp[ALRP_OPT_HP_EPS],
                                    hp[ALRP_OPT_HP_WEIGHT_DECAY], step);
            double * got = read_back(be, t);
            nstat_add_f(s, t, "param (raw kernel)", got, pv, n, thr);
            free(got);
            if (s0) { got = read_back(be, s0); nstat_add_f(s, t, "state 0 (raw kernel)", got, m, n, thr); free(got); }
            if (s1) { got = read_back(be, s1); nstat_add_f(s, t, "state 1 (raw kernel)", got, v, n, thr); free(got); }
            free(pv); free(g); free(hp); free(m); free(v);
        } break;
        case ALRP_OP_ALRP_LOSS: case ALRP_OP_AP_LOSS: {
            double * want = rank_expected(r, h, be, t), * got = read_back(be, t);
            nstat_add(s, t, "(plain-array loss)", got, want, n, thr);
            free(want); free(got);
        } break;
        case ALRP_OP_RANK_LOSS_BACK: {   // dy[p0] * packed[p1 + i], with the plain-array packed result
            double * want = rank_expected(r, h, be, t->src[1]), * dy = input_vals(r, h, be, t->src[0]), * got = read_back(be, t);
            double * exp = (double *) malloc(sizeof(double) * (size_t) n);
            for (int64_t k = 0; k < n; k++) exp[k] = (double) (float) ((float) dy[t->op_params[0]] * (float) want[t->op_params[1] + k]);
            nstat_add(s, t, "(plain-array update)", got, exp, n, thr);
            s->n_rank_back++;
            free(want); free(dy); free(got); free(exp);
        } break;
        case ALRP_OP_FILL: {
            double * got = read_back(be, t), * want = (double *) malloc(sizeof(double) * (size_t) n);
            float v = op_f32(t, 0);
            for (int64_t k = 0; k < n; k++) want[k] = t->type == ALRP_TYPE_F32 ? (double) v : t->type == ALRP_TYPE_I32 ? (double) (int32_t) v : (double) (int8_t) v;
            nstat_add(s, t, type_name(t->type), got, want, n, 0.0);
            free(got); free(want);
        } break;
        case ALRP_OP_CONT: {
            double * got = read_back(be, t), * want = input_vals(r, h, be, t->src[0]);
            nstat_add(s, t, type_name(t->type), got, want, n, 0.0);
            free(got); free(want);
        } break;
        case ALRP_OP_CONCAT: {
            const int d = 4 - t->n_dims + t->op_params[0];
            double * got = read_back(be, t), * want = (double *) malloc(sizeof(double) * (size_t) n);
            int64_t off = 0;
            for (int k = 0; k < ALRP_MAX_SRC && t->src[k]; k++) {
                const struct alrp_tensor * sk = t->src[k];
                double * v = input_vals(r, h, be, sk);
                for (int64_t e = 0; e < alrp_nelements(sk); e++) {
                    int64_t idx[4], rem = e;
                    for (int q = 3; q >= 0; q--) { idx[q] = rem % sk->ne[q]; rem /= sk->ne[q]; }
                    idx[d] += off;
                    want[((idx[0] * t->ne[1] + idx[1]) * t->ne[2] + idx[2]) * t->ne[3] + idx[3]] = v[e];
                }
                off += sk->ne[d];
                free(v);
            }
            nstat_add(s, t, type_name(t->type), got, want, n, 0.0);
            free(got); free(want);
        } break;
        case ALRP_OP_GATHER_ROWS: case ALRP_OP_SCATTER_ADD_ROWS: {
            const struct alrp_tensor * a = t->src[0];
            const int64_t D = a->ne[3], K = alrp_nelements(t->src[1]);
            double * av = input_vals(r, h, be, a), * ix = input_vals(r, h, be, t->src[1]);
            double * got = read_back(be, t), * want = (double *) calloc((size_t) n, sizeof(double));
            for (int64_t k = 0; k < K; k++)
                for (int64_t j = 0; j < D; j++) {
                    if (t->op == ALRP_OP_GATHER_ROWS) want[k * D + j] = av[(int64_t) ix[k] * D + j];
                    else want[(int64_t) ix[k] * D + j] += av[k * D + j];
                }
            nstat_add(s, t, "", got, want, n, t->op == ALRP_OP_GATHER_ROWS ? 0.0 : thr);
            free(av); free(ix); free(got); free(want);
        } break;
        default: break;
        }
    }
}

// ---- central finite differences of loss on the reference (forward part only). An element
// whose central difference disagrees, but one of whose one-sided differences agrees within
// tol / 2 while the two sides differ by more than tol, straddles a kink of the function (ReLU,
// max, min in GIoU): it is counted as such, not failed (a gradient that is simply wrong makes
// both sides disagree alike); more than a tenth of the elements at kinks fails the case.
struct fdstat { double max_err; int64_t n_elems, n_bad, n_kinks; char why[160]; };
static void fd_check(const struct run * r, const struct op_case * c, struct alrp_backend * be, const struct hdata * h,
                     const struct result * ana, struct fdstat * fs) {
    memset(fs, 0, sizeof(*fs));
    const float eps = c->eps > 0 ? c->eps : 1e-2f, tol = c->tol > 0 ? c->tol : 2e-3f;
    TASSERT(alrp_backend_graph_compute(be, r->gf) == ALRP_STATUS_SUCCESS);
    const double l0 = alrp_backend_get_f32_1(be, r->loss, 0);
    int ri = 1;   // ana: out, then the gradients in input order
    for (int i = 0; i < r->n_in; i++) {
        if (!(c->in[i].flags & F_DIFF)) continue;
        const float * x = (const float *) h->v[i];
        const double * a = ana->v[ri++];
        const int64_t n = alrp_nelements(r->in[i]);
        const int64_t step = c->grad == G_BIG && n > FD_SAMPLE ? n / FD_SAMPLE : 1;   // big cases: an even sample
        for (int64_t k = step / 2; k < n; k += step) {
            float xp = x[k] + eps, xm = x[k] - eps;
            alrp_backend_tensor_set(be, r->in[i], &xp, (size_t) k * sizeof(float), sizeof(float));
            TASSERT(alrp_backend_graph_compute(be, r->gf) == ALRP_STATUS_SUCCESS);
            double lp = alrp_backend_get_f32_1(be, r->loss, 0);
            alrp_backend_tensor_set(be, r->in[i], &xm, (size_t) k * sizeof(float), sizeof(float));
            TASSERT(alrp_backend_graph_compute(be, r->gf) == ALRP_STATUS_SUCCESS);
            double lm = alrp_backend_get_f32_1(be, r->loss, 0);
            alrp_backend_tensor_set(be, r->in[i], &x[k], (size_t) k * sizeof(float), sizeof(float));
            double num = (lp - lm) / ((double) xp - (double) xm), err = fabs(num - a[k]) / (1.0 + fabs(num));
            fs->n_elems++;
            if (err <= tol) { if (err > fs->max_err) fs->max_err = err; continue; }
            double dp = (lp - l0) / ((double) xp - (double) x[k]), dm = (l0 - lm) / ((double) x[k] - (double) xm);
            double ep = fabs(dp - a[k]) / (1.0 + fabs(dp)), em = fabs(dm - a[k]) / (1.0 + fabs(dm));
            if (fmin(ep, em) <= 0.5 * tol && fabs(dp - dm) / (1.0 + fabs(num)) > tol) { fs->n_kinks++; continue; }
            if (err > fs->max_err || isnan(err)) fs->max_err = isnan(err) ? INFINITY : err;
            if (fs->n_bad == 0)
                snprintf(fs->why, sizeof fs->why, "finite differences: in%d[%lld] analytic %.6g numeric %.6g (err %.2e > %.0e)",
                         i, (long long) k, a[k], num, err, (double) tol);
            fs->n_bad++;
        }
    }
    if (fs->n_bad == 0 && fs->n_kinks > TMAX(1, fs->n_elems / 10)) {
        snprintf(fs->why, sizeof fs->why, "finite differences: %lld of %lld elements at kinks", (long long) fs->n_kinks, (long long) fs->n_elems);
        fs->n_bad = fs->n_kinks;
    }
}

// ============================================================================================
// backends, running a case
// ============================================================================================

struct backend { struct alrp_backend * be; char name[96]; };
static struct backend g_ref, g_test[4];
static int g_n_test = 0;

static int n_ok = 0, n_fail = 0, n_skip = 0;
static char failed[64][128];
static int n_failed_names = 0;

static void report(enum mode m, const struct op_case * c, const struct backend * b, const char * status, const char * detail) {
    printf("  %-4s %-58s %-26s %s %s\n", mode_name(m), c->name, b->name, status, detail);
    fflush(stdout);
    if (!strcmp(status, "OK")) n_ok++;
    else if (!strncmp(status, "SKIP", 4)) n_skip++;
    else {
        n_fail++;
        if (n_failed_names < 64) snprintf(failed[n_failed_names++], sizeof failed[0], "%s %s on %s", mode_name(m), c->name, b->name);
    }
}

static void naive_pass(const struct op_case * c, enum mode m, struct alrp_backend * be, const struct hdata * h, double thr, struct nstat * ns) {
    struct run r;
    run_build(&r, c, m, true);
    memset(ns, 0, sizeof(*ns));
    ns->ok = true;
    if (!run_place(&r, be, h, 0xFF)) { ns->ok = false; snprintf(ns->why, sizeof ns->why, "naive pass: out of memory"); }
    else if (alrp_backend_graph_compute(be, r.g) != ALRP_STATUS_SUCCESS) { ns->ok = false; snprintf(ns->why, sizeof ns->why, "naive pass: compute failed"); }
    else naive_checks(&r, h, be, thr, ns);
    run_free(&r);
}

// a case's data come from its name: adding or moving cases does not change the others' data
static uint64_t g_seed = 0;   // -s: other data for every case
static uint64_t name_seed(const char * name) {
    uint64_t h = 1469598103934665603ull ^ (g_seed * 0x9e3779b97f4a7c15ull);   // FNV-1a
    for (; *name; name++) { h ^= (uint8_t) *name; h *= 1099511628211ull; }
    return h;
}

// appends a part to a detail line, separated by ", "
static void part(char * buf, size_t size, const char * fmt, ...) __attribute__((format(printf, 3, 4)));
static void part(char * buf, size_t size, const char * fmt, ...) {
    size_t l = strlen(buf);
    if (l + 2 >= size) return;
    if (l) { buf[l++] = ','; buf[l++] = ' '; buf[l] = 0; }
    va_list ap; va_start(ap, fmt);
    vsnprintf(buf + l, size - l, fmt, ap);
    va_end(ap);
}

static void run_case_mode(const struct op_case * c, enum mode m) {
    const double thr = c->max_nmse > 0 ? c->max_nmse : 1e-7;
    const uint64_t seed = name_seed(c->name);
    char detail[512], why[256];
    struct hdata h;
    struct result ref;
    memset(&ref, 0, sizeof ref);
    // ---- the reference
    {
        struct run r;
        run_build(&r, c, m, false);
        hdata_make(&h, &r, c, seed);
        const struct alrp_tensor * un = run_unsupported(&r, g_ref.be);
        detail[0] = 0;
        part(detail, sizeof detail, "%d node%s", alrp_graph_n_nodes(r.g), alrp_graph_n_nodes(r.g) == 1 ? "" : "s");
        bool ok = true;
        if (un) { part(detail, sizeof detail, "the reference does not support %s", alrp_op_name(un->op)); ok = false; }
        else if (!run_place(&r, g_ref.be, &h, 0xFF)) { part(detail, sizeof detail, "out of memory"); ok = false; }
        else if (alrp_backend_graph_compute(g_ref.be, r.g) != ALRP_STATUS_SUCCESS) { part(detail, sizeof detail, "compute failed"); ok = false; }
        if (ok) {
            run_results(&r, c, m, g_ref.be, &ref);
            const char * ch = run_inputs_changed(&r, c, g_ref.be, &h);
            int64_t nf = count_nonfinite(&ref);
            if (ch) { part(detail, sizeof detail, "input '%s' was modified", ch); ok = false; }
            else if (nf && !(c->flags & C_NONFINITE)) { part(detail, sizeof detail, "%lld non-finite values in the results", (long long) nf); ok = false; }
            else if (nf) part(detail, sizeof detail, "%lld non-finite values (expected)", (long long) nf);
        }
        if (ok && m == MODE_GRAD && (c->grad == G_FD || c->grad == G_BIG)) {
            struct fdstat fs;
            fd_check(&r, c, g_ref.be, &h, &ref, &fs);
            part(detail, sizeof detail, "fd max err %.2e (%lld %selems, tol %.0e)", fs.max_err, (long long) fs.n_elems,
                 c->grad == G_BIG ? "sampled " : "", (double) (c->tol > 0 ? c->tol : 2e-3f));
            if (fs.n_kinks) part(detail, sizeof detail, "%lld at kinks", (long long) fs.n_kinks);
            if (fs.n_bad) { ok = false; part(detail, sizeof detail, "%s, %lld bad", fs.why, (long long) fs.n_bad); }
        }
        run_free(&r);
        if (ok) {
            struct nstat ns;
            naive_pass(c, m, g_ref.be, &h, thr, &ns);
            if (ns.n_nodes) part(detail, sizeof detail, "naive %.2e (%d checks)", ns.worst, ns.n_nodes);
            if (!ns.ok) { ok = false; part(detail, sizeof detail, "%s", ns.why); }
            if (ok && m == MODE_GRAD && c->grad == G_RANK && ns.n_rank_back == 0) {
                ok = false;
                part(detail, sizeof detail, "no ranking-loss update checked against the plain-array API");
            }
        }
        report(m, c, &g_ref, ok ? "OK" : "FAIL", detail);
        if (!ok) {   // nothing to compare with
            for (int b = 0; b < g_n_test; b++) report(m, c, &g_test[b], "SKIP (the reference failed)", "");
            result_free(&ref); hdata_free(&h);
            return;
        }
    }
    // ---- the backends under test
    for (int b = 0; b < g_n_test; b++) {
        struct backend * tb = &g_test[b];
        struct run r;
        run_build(&r, c, m, false);
        const struct alrp_tensor * un = run_unsupported(&r, tb->be);
        if (un) {
            snprintf(why, sizeof why, "SKIP (unsupported: %s)", alrp_op_name(un->op));
            report(m, c, tb, why, "");
            run_free(&r);
            continue;
        }
        bool ok = true;
        detail[0] = 0;
        struct result res;
        memset(&res, 0, sizeof res);
        if (!run_place(&r, tb->be, &h, 0x7F)) { snprintf(detail, sizeof detail, "out of memory"); ok = false; }
        else if (alrp_backend_graph_compute(tb->be, r.g) != ALRP_STATUS_SUCCESS) { snprintf(detail, sizeof detail, "compute failed"); ok = false; }
        if (ok) {
            run_results(&r, c, m, tb->be, &res);
            double worst;
            why[0] = 0;
            // TF32 (--tf32, the CUDA backend only): 10-bit products in the GEMMs, NMSE <= 1e-5
            const double tthr = g_tf32 && !alrp_backend_is_cpu(tb->be) && thr < 1e-5 ? 1e-5 : thr;
            ok = compare_results(&res, &ref, tthr, &worst, why, sizeof why);
            snprintf(detail, sizeof detail, "nmse %.2e", worst);
            if (c->max_nmse > 0) part(detail, sizeof detail, "max %.0e for this case", thr);
            if (!ok) part(detail, sizeof detail, "%s", why);
            const char * ch = run_inputs_changed(&r, c, tb->be, &h);
            if (ch) { ok = false; part(detail, sizeof detail, "input '%s' was modified", ch); }
        }
        run_free(&r);
        if (ok && alrp_backend_is_cpu(tb->be)) {
            struct nstat ns;
            naive_pass(c, m, tb->be, &h, thr, &ns);
            if (ns.n_nodes) part(detail, sizeof detail, "naive %.2e (%d checks)", ns.worst, ns.n_nodes);
            if (!ns.ok) { ok = false; part(detail, sizeof detail, "%s", ns.why); }
        }
        report(m, c, tb, ok ? "OK" : "FAIL", detail);
        result_free(&res);
    }
    result_free(&ref);
    hdata_free(&h);
}

// ============================================================================================
// coverage
// ============================================================================================

static bool op_backward_only(enum alrp_op op) {
    switch (op) {
    case ALRP_OP_CONV2D_BACK_DATA: case ALRP_OP_CONV2D_BACK_WEIGHT: case ALRP_OP_BN_BACK: case ALRP_OP_BN_BACK_PARAMS:
    case ALRP_OP_MAX_POOL2D_BACK: case ALRP_OP_UPSAMPLE_BACK: case ALRP_OP_UNARY_BACK: case ALRP_OP_CLAMP_BACK:
    case ALRP_OP_PAD_SLICE: case ALRP_OP_RANK_LOSS_BACK: case ALRP_OP_FOCAL_LOSS_BACK: case ALRP_OP_SMOOTH_L1_BACK:
    case ALRP_OP_GIOU_LOSS_BACK: case ALRP_OP_LOC_ERR_GIOU_BACK:
        return true;
    default: return false;
    }
}
static bool op_not_differentiable(enum alrp_op op) {
    return op == ALRP_OP_FILL || op == ALRP_OP_OPT_STEP_SGD || op == ALRP_OP_OPT_STEP_ADAMW || op == ALRP_OP_BN_STATS;
}

static bool op_rank_loss(enum alrp_op op) { return op == ALRP_OP_ALRP_LOSS || op == ALRP_OP_AP_LOSS; }

// per op (and per unary op): cases with it in a forward graph, in the gradient path of a
// gradient case, and of a finite-difference case
static int cov_fwd[ALRP_OP_COUNT], cov_grad[ALRP_OP_COUNT], cov_fd[ALRP_OP_COUNT];
static int cov_un_fwd[ALRP_UNARY_COUNT], cov_un_grad[ALRP_UNARY_COUNT], cov_un_fd[ALRP_UNARY_COUNT];
static const char * unary_names[ALRP_UNARY_COUNT] = { "NEG", "EXP", "LOG", "RELU", "SIGMOID", "SQR", "SQRT" };

// builds every case in each of its modes (no compute) and counts, per op, the cases that have it;
// returns the number of table errors (a case whose op under test is not in its graph)
static int coverage_collect(void) {
    int errors = 0;
    for (int ci = 0; ci < N_CASES; ci++) {
        const struct op_case * c = &cases[ci];
        bool f[ALRP_OP_COUNT] = { 0 }, gr[ALRP_OP_COUNT] = { 0 }, uf[ALRP_UNARY_COUNT] = { 0 }, ug[ALRP_UNARY_COUNT] = { 0 };
        for (int mi = 0; mi < 2; mi++) {
            enum mode m = mi ? MODE_GRAD : MODE_FWD;
            if (m == MODE_GRAD && c->grad == G_NONE) continue;
            struct run r;
            run_build(&r, c, m, false);
            for (int i = 0; i < alrp_graph_n_nodes(r.g); i++) {
                const struct alrp_tensor * t = alrp_graph_node(r.g, i);
                const bool fwd_part = i < r.n_fwd;
                if (t == r.harness[0] || t == r.harness[1] || t == r.harness[2]) continue;
                if (fwd_part || op_backward_only(t->op)) {
                    f[t->op] = true;
                    if (t->op == ALRP_OP_UNARY) uf[t->op_params[0]] = true;
                }
                if (m == MODE_GRAD && fwd_part && (t->flags & ALRP_FLAG_GRAD)) {
                    gr[t->op] = true;
                    if (t->op == ALRP_OP_UNARY) ug[t->op_params[0]] = true;
                }
            }
            run_free(&r);
        }
        if (!f[c->op]) { printf("table error: case '%s': its op %s is not in its graph\n", c->name, alrp_op_name(c->op)); errors++; }
        const int fd = c->grad == G_FD || c->grad == G_BIG;
        for (int op = 0; op < ALRP_OP_COUNT; op++) { cov_fwd[op] += f[op]; cov_grad[op] += gr[op]; cov_fd[op] += gr[op] && fd; }
        for (int u = 0; u < ALRP_UNARY_COUNT; u++) { cov_un_fwd[u] += uf[u]; cov_un_grad[u] += ug[u]; cov_un_fd[u] += ug[u] && fd; }
    }
    return errors;
}

// prints the table; returns the number of coverage failures: an op with no forward case, a
// differentiable op with no gradient case, or (ranking losses aside) no finite-difference case
static int coverage_report(bool print) {
    int bad = 0;
    if (print) printf("\ncoverage: cases whose graph has the op (fwd), on the gradient path in the forward part of a gradient case\n"
                      "(grad), of those checked by finite differences (fd):\n  %-20s %5s %5s %5s\n", "op", "fwd", "grad", "fd");
    for (int op = 1; op < ALRP_OP_COUNT; op++) {
        const bool bo = op_backward_only((enum alrp_op) op), nd = op_not_differentiable((enum alrp_op) op);
        const bool fail = cov_fwd[op] == 0 || (!bo && !nd && (cov_grad[op] == 0 || (!op_rank_loss((enum alrp_op) op) && cov_fd[op] == 0)));
        bad += fail;
        if (!print) continue;
        char g[48];
        if (bo) snprintf(g, sizeof g, "   (backward)");
        else if (nd) snprintf(g, sizeof g, "   (not differentiable)");
        else if (op_rank_loss((enum alrp_op) op)) snprintf(g, sizeof g, "%5d     -  (vs plain-array API)", cov_grad[op]);
        else snprintf(g, sizeof g, "%5d %5d", cov_grad[op], cov_fd[op]);
        printf("  %-20s %5d %s%s\n", alrp_op_name((enum alrp_op) op), cov_fwd[op], g, fail ? "   <-- NOT COVERED" : "");
    }
    for (int u = 0; u < ALRP_UNARY_COUNT; u++) {
        const bool fail = cov_un_fwd[u] == 0 || cov_un_grad[u] == 0 || cov_un_fd[u] == 0;
        bad += fail;
        if (print) printf("  UNARY %-14s %5d %5d %5d%s\n", unary_names[u], cov_un_fwd[u], cov_un_grad[u], cov_un_fd[u], fail ? "   <-- NOT COVERED" : "");
    }
    return bad;
}

// ---- a self-check of the SKIP path: the CPU backend with CONV2D_AFFINE taken out of its
// supports_op (a port that lacks an op) must make the cases that use it SKIP, not FAIL, and
// alrp_backend_graph_compute must refuse such a graph with ALRP_STATUS_UNSUPPORTED
static bool (*g_cpu_supports)(struct alrp_backend * be, const struct alrp_tensor * t);
static bool no_affine_supports(struct alrp_backend * be, const struct alrp_tensor * t) {
    return t->op != ALRP_OP_CONV2D_AFFINE && g_cpu_supports(be, t);
}
static const char * no_affine_name(struct alrp_backend * be) { (void) be; return "CPU without CONV2D_AFFINE"; }
static void run_case_mode(const struct op_case * c, enum mode m);
static bool self_check_skip(struct alrp_backend * cpu) {
    struct alrp_backend w = *cpu;   // shares the CPU backend's context; never freed itself
    g_cpu_supports = cpu->iface.supports_op;
    w.iface.supports_op = no_affine_supports;
    w.iface.name = no_affine_name;
    int ci = 0;
    while (ci < N_CASES && cases[ci].op != ALRP_OP_CONV2D_AFFINE) ci++;
    TASSERT(ci < N_CASES);
    // the guard in alrp_backend_graph_compute
    struct run r;
    run_build(&r, &cases[ci], MODE_FWD, false);
    struct hdata h;
    hdata_make(&h, &r, &cases[ci], 1);
    bool ok = run_place(&r, &w, &h, 0xFF);
    printf("harness self-check: '%s' on %s (the line below on stderr is expected)\n", cases[ci].name, no_affine_name(&w));
    fflush(stdout);
    ok = ok && alrp_backend_graph_compute(&w, r.g) == ALRP_STATUS_UNSUPPORTED;
    run_free(&r);
    hdata_free(&h);
    // the harness: SKIP, counted neither as OK nor as FAIL
    struct backend saved = g_test[0];
    const int saved_n = g_n_test, s_ok = n_ok, s_fail = n_fail, s_skip = n_skip;
    g_test[0].be = &w;
    snprintf(g_test[0].name, sizeof g_test[0].name, "%s", no_affine_name(&w));
    g_n_test = 1;
    run_case_mode(&cases[ci], MODE_FWD);
    ok = ok && n_skip == s_skip + 1 && n_fail == s_fail;
    g_test[0] = saved; g_n_test = saved_n;
    n_ok = s_ok; n_fail = s_fail; n_skip = s_skip;
    printf("harness self-check: %s\n\n", ok ? "OK (status UNSUPPORTED, case skipped)" : "FAIL");
    return ok;
}

// ============================================================================================
// main
// ============================================================================================

static bool ieq(const char * a, const char * b) {
    for (; *a && *b; a++, b++) if ((*a | 32) != (*b | 32)) return false;
    return *a == *b;
}
static bool icontains(const char * hay, const char * needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && (hay[i] | 32) == (needle[i] | 32)) i++;
        if (i == n) return true;
    }
    return n == 0;
}
static bool is_op_name(const char * s) {
    for (int op = 1; op < ALRP_OP_COUNT; op++) if (ieq(s, alrp_op_name((enum alrp_op) op))) return true;
    return false;
}
// -o: comma-separated op names (or words of case names)
static bool case_selected(const struct op_case * c, const char * filter) {
    if (!filter) return true;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", filter);
    for (char * tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (is_op_name(tok) ? ieq(tok, alrp_op_name(c->op)) : icontains(c->name, tok)) return true;
    }
    return false;
}

static void usage(const char * argv0) {
    printf("usage: %s [test|fwd|grad] [-o OP[,OP...]] [-b BACKEND] [-s SEED] [--tf32]\n", argv0);
}

static double now_s(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec; }

int main(int argc, char ** argv) {
    bool do_fwd = true, do_grad = true;
    const char * op_filter = NULL, * be_filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "test")) { do_fwd = do_grad = true; }
        else if (!strcmp(argv[i], "fwd")) { do_fwd = true; do_grad = false; }
        else if (!strcmp(argv[i], "grad")) { do_fwd = false; do_grad = true; }
        else if (!strcmp(argv[i], "-o") && i + 1 < argc) op_filter = argv[++i];
        else if (!strcmp(argv[i], "-b") && i + 1 < argc) be_filter = argv[++i];
        else if (!strcmp(argv[i], "-s") && i + 1 < argc) g_seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--tf32")) g_tf32 = true;
        else { usage(argv[0]); return strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 2 : 0; }
    }
    const double t0 = now_s();

    g_ref.be = alrp_backend_cpu_init(1);
    snprintf(g_ref.name, sizeof g_ref.name, "CPU 1 thread (reference)");
    struct alrp_backend * all[4];
    int n_all = 0;
    all[n_all++] = alrp_backend_cpu_init(2);
#ifdef ALRP_CUDA_HOST
    all[n_all++] = alrp_backend_cuda_host_init();   // the CUDA kernels on the CPU (emulated grid)
#endif
#ifdef ALRP_CUDA
    {
        char err[256];
        struct alrp_backend * cu = alrp_backend_cuda_init(0, err, sizeof err);
        if (cu) { all[n_all++] = cu; alrp_backend_cuda_set_tf32(cu, g_tf32); }
        else printf("skipped: no CUDA device (%s)\n", err);
    }
#else
    printf("skipped: no CUDA device (built without nvcc: only the host emulation of the CUDA kernels runs)\n");
#endif
    for (int i = 0; i < n_all; i++) {
        const char * nm = alrp_backend_name(all[i]);
        if (be_filter && !icontains(nm, be_filter)) { alrp_backend_free(all[i]); continue; }
        g_test[g_n_test].be = all[i];
        snprintf(g_test[g_n_test].name, sizeof g_test[0].name, "%s", nm);
        g_n_test++;
    }
    printf("backends: ");
    for (int i = 0; i < g_n_test; i++) printf("%s, ", g_test[i].name);
    printf("%s\n", g_ref.name);
    if (be_filter && g_n_test == 0) printf("no backend under test matches '%s': only the reference's own checks run\n", be_filter);

    const int table_errors = coverage_collect();
    bool self_ok = true;
    if (!op_filter && !be_filter) self_ok = self_check_skip(all[0]);
    int n_sel = 0;
    for (int ci = 0; ci < N_CASES; ci++) {
        const struct op_case * c = &cases[ci];
        if (!case_selected(c, op_filter)) continue;
        n_sel++;
        if (do_fwd) run_case_mode(c, MODE_FWD);
        if (do_grad && c->grad != G_NONE) run_case_mode(c, MODE_GRAD);
    }
    int cov_bad = 0;
    if (!op_filter) cov_bad = coverage_report(true);
    if (op_filter && n_sel == 0) printf("no case matches -o %s\n", op_filter);

    printf("\n%d cases of %d selected; %d OK, %d FAIL, %d SKIP", n_sel, N_CASES, n_ok, n_fail, n_skip);
    if (!op_filter) printf("; coverage: %s", cov_bad ? "INCOMPLETE" : "every op");
    if (table_errors) printf("; %d table errors", table_errors);
    printf(" (%.1f s)\n", now_s() - t0);
    for (int i = 0; i < n_failed_names; i++) printf("  failed: %s\n", failed[i]);
    if (!self_ok) printf("  failed: the harness self-check (SKIP on an unsupported op)\n");
    const bool pass = n_fail == 0 && cov_bad == 0 && table_errors == 0 && self_ok && (n_sel > 0 || !op_filter);
    printf("%s\n", pass ? "all OK" : "FAILED");

    for (int i = 0; i < g_n_test; i++) alrp_backend_free(g_test[i].be);
    alrp_backend_free(g_ref.be);
    return pass ? 0 : 1;
}
