// Finite-difference gradient checks for every differentiable op of alrp.h, through the CPU
// backend (1 and 2 threads). For each case: loss = sum(op(inputs) * R) with a fixed random R;
// every input is a parameter; the analytic gradient (alrp_build_backward) is compared with
// central differences. Inputs, constants and gradients go through alrp_backend_tensor_set/get.
// Run: build/tests/test-grad [filter]. Exits non-zero on any mismatch.
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float rnd(struct alrp_rng * r) { return (float) (2.0 * alrp_rng_uniform(r) - 1.0); } // uniform [-1, 1)

// INIT_QUARTER, INIT_HALF64, INIT_HALF128: values on dyadic lattices that keep a ReLU's input off
// its kink (see the conv affine + ReLU cases)
enum init { INIT_UNIFORM, INIT_POSITIVE, INIT_DISTINCT, INIT_AWAY0, INIT_BOXES, INIT_01, INIT_QUARTER, INIT_HALF64, INIT_HALF128 };

struct tcase {
    const char * name;
    int n_in;
    int n_dims[4];
    int64_t shape[4][4];
    enum init init[4];
    float eps, tol;
    struct alrp_tensor * (*build)(struct alrp_context * ctx, struct alrp_tensor ** in, const int * iparams);
    int iparams[8];
    int n_params_inputs; // inputs [0, n_params_inputs) are differentiated (others: constant); 0 = all
};

// Constant leafs that a builder makes (BN running statistics, row indices): no data at build
// time; their values are uploaded through the backend once the graph is placed.
struct konst { struct alrp_tensor * t; unsigned char v[256]; size_t size; };
static struct konst konsts[8];
static int n_konsts;
static struct alrp_tensor * konst(struct alrp_tensor * t, const void * v) {
    if (!(n_konsts < 8 && alrp_nbytes(t) <= sizeof(konsts[0].v))) { fprintf(stderr, "test-grad: too many constants\n"); exit(1); }
    konsts[n_konsts].t = t;
    konsts[n_konsts].size = alrp_nbytes(t);
    memcpy(konsts[n_konsts].v, v, alrp_nbytes(t));
    n_konsts++;
    return t;
}
static void upload_konsts(struct alrp_backend * be) {
    for (int i = 0; i < n_konsts; i++) alrp_backend_tensor_set(be, konsts[i].t, konsts[i].v, 0, konsts[i].size);
}

static void init_values(float * d, int64_t n, enum init how, struct alrp_rng * r) {
    for (int64_t i = 0; i < n; i++) {
        float u = rnd(r);
        switch (how) {
        case INIT_UNIFORM:  d[i] = u; break;
        case INIT_POSITIVE: d[i] = 0.5f + 0.75f * (u + 1.0f); break;           // [0.5, 2]
        case INIT_AWAY0:    d[i] = (u >= 0 ? 0.2f : -0.2f) + 0.8f * u; break;   // |x| >= 0.2
        case INIT_DISTINCT: d[i] = 0; break;
        case INIT_01:       d[i] = 0.5f * (u + 1.0f); break;                    // soft targets in [0, 1]
        case INIT_BOXES:    d[i] = (i % 4 < 2) ? 0.3f * u : 0.9f + 0.4f * u; break; // x1,y1 near 0; x2,y2 near 0.9
        case INIT_QUARTER:  d[i] = (u < 0 ? -0.25f : 0.25f) * (fabsf(u) < 0.5f ? 1.0f : 2.0f); break; // +-1/4, +-1/2
        case INIT_HALF64:   d[i] = ((float) floor(48.0 * u) + 0.5f) / 64.0f; break;   // odd multiples of 1/128 in (-0.75, 0.75)
        case INIT_HALF128:  d[i] = ((float) floor(96.0 * u) + 0.5f) / 128.0f; break;  // odd multiples of 1/256 in (-0.75, 0.75)
        }
    }
    if (how == INIT_DISTINCT) { // a shuffled ramp: values differ by >= 0.05, far from kinks
        for (int64_t i = 0; i < n; i++) d[i] = 0.05f * (float) (i - n / 2) + 0.025f;
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t) (alrp_rng_uniform(r) * (double) (i + 1)); if (j > i) j = i;
            float tmp = d[i]; d[i] = d[j]; d[j] = tmp;
        }
    }
}

// computes g on be; the loss, or NaN when the compute failed
static double loss_value(struct alrp_backend * be, struct alrp_graph * g, struct alrp_tensor * loss) {
    enum alrp_status st = alrp_backend_graph_compute(be, g);
    if (st != ALRP_STATUS_SUCCESS) { printf("    compute failed: %s\n", alrp_status_name(st)); return NAN; }
    return alrp_backend_get_f32_1(be, loss, 0);
}

static int run_case(const struct tcase * c, struct alrp_backend * be, uint64_t seed) {
    // every tensor of the case (inputs, R, nodes) placed in one backend buffer, none reused
    struct alrp_init_params ip = { 64 * 1024 * 1024, NULL, true };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_rng r = { seed };
    struct alrp_tensor * in[4];
    float * host[4] = { 0 };  // the inputs' unperturbed values
    int n_diff = c->n_params_inputs ? c->n_params_inputs : c->n_in;
    for (int i = 0; i < c->n_in; i++) {
        in[i] = alrp_new_tensor(ctx, ALRP_TYPE_F32, c->n_dims[i], c->shape[i]);
        alrp_format_name(in[i], "in%d", i);
        host[i] = (float *) malloc(alrp_nbytes(in[i]));
        init_values(host[i], alrp_nelements(in[i]), c->init[i], &r);
        if (i < n_diff) alrp_set_param(ctx, in[i]);
    }
    n_konsts = 0;
    struct alrp_tensor * out = c->build(ctx, in, c->iparams);
    int64_t oshape[4];
    for (int i = 0; i < out->n_dims; i++) oshape[i] = alrp_dim(out, i);
    struct alrp_tensor * R = alrp_new_tensor(ctx, ALRP_TYPE_F32, out->n_dims, oshape); // random weights: loss = sum(out * R)
    float * hR = (float *) malloc(alrp_nbytes(R));
    init_values(hR, alrp_nelements(R), INIT_UNIFORM, &r);
    struct alrp_tensor * loss = alrp_sum(ctx, alrp_mul(ctx, out, R));
    alrp_set_loss(ctx, loss);
    struct alrp_graph * g = alrp_new_graph(ctx, 4096);
    alrp_build_forward(g, loss);
    alrp_build_backward(ctx, g);
    struct alrp_buffer * buf = alrp_backend_alloc_ctx_tensors(ctx, be);
    int fails = 0;
    if (!buf || alrp_ctx_n_unplaced(ctx) != 0) { printf("    %s: %d tensors not placed\n", c->name, alrp_ctx_n_unplaced(ctx)); fails++; }
    for (int i = 0; i < c->n_in; i++) alrp_backend_set_f32(be, in[i], host[i]);
    alrp_backend_set_f32(be, R, hR);
    upload_konsts(be);
    if (isnan(loss_value(be, g, loss))) fails++;

    double max_err = 0.0;
    float * analytic[4] = { 0 }; // copied before any finite difference disturbs the graph's values
    for (int i = 0; i < n_diff; i++) {
        struct alrp_tensor * gr = alrp_graph_grad(g, in[i]);
        analytic[i] = (float *) calloc((size_t) alrp_nelements(in[i]), sizeof(float));
        if (gr) alrp_backend_get_f32(be, gr, analytic[i]);
    }
    for (int i = 0; i < n_diff; i++) {
        int64_t n = alrp_nelements(in[i]);
        for (int64_t k = 0; k < n; k++) {
            const float x0 = host[i][k], xp = x0 + c->eps, xm = x0 - c->eps;
            const size_t off = (size_t) k * sizeof(float);
            alrp_backend_tensor_set(be, in[i], &xp, off, sizeof(float)); double lp = loss_value(be, g, loss);
            alrp_backend_tensor_set(be, in[i], &xm, off, sizeof(float)); double lm = loss_value(be, g, loss);
            alrp_backend_tensor_set(be, in[i], &x0, off, sizeof(float));
            double num = (lp - lm) / (2.0 * c->eps);
            double err = fabs(num - analytic[i][k]) / (1.0 + fabs(num));
            if (!(err <= max_err)) max_err = err;
            if (!(err <= c->tol)) {
                if (fails < 5) printf("    %s: input %d elem %lld: analytic %.6f numeric %.6f\n", c->name, i, (long long) k, analytic[i][k], num);
                fails++;
            }
        }
        free(analytic[i]);
    }
    // the same graph, placed by the graph allocator (buffer reuse, in place), must agree exactly
    {
        struct alrp_init_params ip2 = { 64 * 1024 * 1024, NULL, true };
        struct alrp_context * ctx2 = alrp_init(ip2);
        n_konsts = 0;
        struct alrp_tensor * out2 = c->build(ctx2, in, c->iparams);
        struct alrp_tensor * loss2 = alrp_sum(ctx2, alrp_mul(ctx2, out2, R));
        alrp_set_loss(ctx2, loss2);
        struct alrp_graph * g2 = alrp_new_graph(ctx2, 4096);
        alrp_build_forward(g2, loss2);
        struct alrp_graph * g1 = g;
        // params were collected by the first build_backward: the second graph collects them too
        alrp_build_backward(ctx2, g2);
        struct alrp_gallocr * ga = alrp_gallocr_new(be);
        if (!alrp_gallocr_alloc_graph(ga, g2)) { printf("    %s: graph allocator failed\n", c->name); fails++; }
        upload_konsts(be);
        double l1 = loss_value(be, g1, loss), l2 = loss_value(be, g2, loss2);
        double d = fabs(l1 - l2);
        float * a1 = NULL, * a2 = NULL;
        for (int i = 0; i < n_diff; i++) {
            struct alrp_tensor * t1 = alrp_graph_grad(g1, in[i]), * t2 = alrp_graph_grad(g2, in[i]);
            if (!t1 || !t2) continue;
            int64_t n = alrp_nelements(in[i]);
            a1 = (float *) realloc(a1, sizeof(float) * (size_t) n); a2 = (float *) realloc(a2, sizeof(float) * (size_t) n);
            alrp_backend_get_f32(be, t1, a1); alrp_backend_get_f32(be, t2, a2);
            for (int64_t k = 0; k < n; k++) d = fmax(d, fabs((double) a1[k] - a2[k]));
        }
        free(a1); free(a2);
        if (!(d <= 1e-6)) { printf("    %s: graph allocator result differs by %g\n", c->name, d); fails++; }
        alrp_gallocr_free(ga);
        alrp_free(ctx2);
    }
    printf("%-34s %s  max rel err %.2e (%d nodes)\n", c->name, fails ? "FAIL" : "OK  ", max_err, alrp_graph_n_nodes(g));
    alrp_buffer_free(buf);
    alrp_free(ctx);
    for (int i = 0; i < c->n_in; i++) free(host[i]);
    free(hR);
    return fails ? 1 : 0;
}

// ---- builders
static struct alrp_tensor * b_add(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { (void) p; return alrp_add(c, in[0], in[1]); }
static struct alrp_tensor * b_sub(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { (void) p; return alrp_sub(c, in[0], in[1]); }
static struct alrp_tensor * b_mul(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { (void) p; return alrp_mul(c, in[0], in[1]); }
static struct alrp_tensor * b_div(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { (void) p; return alrp_div(c, in[0], in[1]); }
static struct alrp_tensor * b_scale(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { (void) p; return alrp_scale(c, in[0], -1.7f); }
static struct alrp_tensor * b_sum(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { (void) p; return alrp_sum(c, in[0]); }
static struct alrp_tensor * b_mean(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { (void) p; return alrp_mean(c, in[0]); }
static struct alrp_tensor * b_sum_axis(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { return alrp_sum_axis(c, in[0], p[0], p[1]); }
static struct alrp_tensor * b_mean_axis(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { return alrp_mean_axis(c, in[0], p[0], p[1]); }
static struct alrp_tensor * b_unary(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { return alrp_unary(c, in[0], (enum alrp_unary_op) p[0]); }
static struct alrp_tensor * b_clamp(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { (void) p; return alrp_clamp(c, in[0], -0.31f, 0.42f); }
static struct alrp_tensor * b_matmul(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { return alrp_matmul_ex(c, in[0], in[1], p[0], p[1]); }
static struct alrp_tensor * b_conv(struct alrp_context * c, struct alrp_tensor ** in, const int * p) {
    return alrp_conv2d_ex(c, in[0], in[1], p[7] ? in[2] : NULL, p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
}
static struct alrp_tensor * b_bn(struct alrp_context * c, struct alrp_tensor ** in, const int * p) {
    int64_t C = alrp_dim(in[0], 1);
    float rm[16], rv[16];
    for (int i = 0; i < C; i++) { rm[i] = 0.1f; rv[i] = 1.3f; }
    struct alrp_tensor * trm = konst(alrp_new_tensor_1d(c, C), rm), * trv = konst(alrp_new_tensor_1d(c, C), rv);
    return alrp_batch_norm(c, in[0], in[1], in[2], trm, trv, (enum alrp_bn_mode) p[0], 0.1f, 1e-5f);
}
static struct alrp_tensor * b_maxpool(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { return alrp_max_pool2d(c, in[0], p[0], p[1], p[2]); }
static struct alrp_tensor * b_upsample(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { return alrp_upsample_nearest(c, in[0], p[0]); }
static struct alrp_tensor * b_reshape(struct alrp_context * c, struct alrp_tensor ** in, const int * p) {
    (void) p; int64_t s[2] = { 5, -1 }; s[1] = alrp_nelements(in[0]) / 5;
    return alrp_mul(c, alrp_reshape(c, in[0], 2, s), alrp_reshape(c, in[1], 2, s));
}
static struct alrp_tensor * b_permute(struct alrp_context * c, struct alrp_tensor ** in, const int * p) {
    (void) p; int ax[4] = { 2, 0, 3, 1 };
    return alrp_sqr(c, alrp_permute(c, in[0], ax)); // sqr forces a contiguous copy of the view
}
static struct alrp_tensor * b_permute_add(struct alrp_context * c, struct alrp_tensor ** in, const int * p) {
    (void) p; int ax[3] = { 1, 2, 0 };
    return alrp_add(c, alrp_permute(c, in[0], ax), in[1]); // binary op reads the strided view
}
static struct alrp_tensor * b_slice(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { return alrp_sqr(c, alrp_slice(c, in[0], p[0], p[1], p[2])); }
static struct alrp_tensor * b_concat(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { return alrp_concat(c, 3, in, p[0]); }
static struct alrp_tensor * b_expand(struct alrp_context * c, struct alrp_tensor ** in, const int * p) {
    (void) p; int64_t s[3] = { 4, 3, 5 };
    return alrp_sqr(c, alrp_expand(c, in[0], 3, s));
}
static struct alrp_tensor * b_gather(struct alrp_context * c, struct alrp_tensor ** in, const int * p) {
    (void) p;
    const int32_t v[6] = { 3, 0, 3, 6, 2, 3 };
    return alrp_gather_rows(c, in[0], konst(alrp_new_i32_1d(c, 6), v));
}
static struct alrp_tensor * b_scatter(struct alrp_context * c, struct alrp_tensor ** in, const int * p) {
    (void) p;
    const int32_t v[5] = { 1, 1, 0, 4, 2 };
    return alrp_sqr(c, alrp_scatter_add_rows(c, in[0], konst(alrp_new_i32_1d(c, 5), v), 6));
}
static struct alrp_tensor * b_focal(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { (void) p; return alrp_sigmoid_focal_loss(c, in[0], in[1], 0.25f, 2.0f); }
static struct alrp_tensor * b_smooth_l1(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { return alrp_smooth_l1_loss(c, in[0], in[1], (float) p[0] / 100.0f); }
static struct alrp_tensor * b_giou(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { (void) p; return alrp_giou_loss(c, in[0], in[1]); }
static struct alrp_tensor * b_loc_err(struct alrp_context * c, struct alrp_tensor ** in, const int * p) {
    (void) p; const float stds[4] = ALRP_BOX_STDS_ALRP;
    return alrp_loc_err_giou(c, in[0], in[1], stds);
}
static struct alrp_tensor * b_chain(struct alrp_context * c, struct alrp_tensor ** in, const int * p) {
    // the same input used on several paths: gradients must accumulate
    (void) p;
    struct alrp_tensor * a = alrp_sigmoid(c, in[0]);
    return alrp_add(c, alrp_mul(c, a, in[0]), alrp_exp(c, alrp_scale(c, in[0], 0.5f)));
}

static struct alrp_tensor * b_sum_sq(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { (void) p; return alrp_sum_sq(c, in[0]); }
static struct alrp_tensor * b_global_norm(struct alrp_context * c, struct alrp_tensor ** in, const int * p) { return alrp_global_norm(c, p[0], in); }
// p: stride, pad, dilation, groups, relu
static struct alrp_tensor * b_conv_affine(struct alrp_context * c, struct alrp_tensor ** in, const int * p) {
    return alrp_conv2d_affine(c, in[0], in[1], in[2], in[3], p[4] != 0, p[0], p[1], p[2], p[3]);
}
// the frozen BN's scale and shift from its weight (in[2]), bias (in[3]) and constant running
// statistics, then the fused conv; p as b_conv_affine
static struct alrp_tensor * b_frozen_bn_conv(struct alrp_context * c, struct alrp_tensor ** in, const int * p) {
    int64_t O = alrp_dim(in[1], 0);
    float rm[16], rv[16];
    for (int o = 0; o < O; o++) {
        if (p[4]) { rm[o] = 0.0625f * (float) (o % 5 - 2); rv[o] = 4.0f; }  // on the lattice: see the cases
        else      { rm[o] = 0.15f * (float) (o % 3) - 0.1f; rv[o] = 0.6f + 0.35f * (float) o; }
    }
    struct alrp_tensor * sc, * sh;
    alrp_frozen_bn_affine(c, in[2], in[3], konst(alrp_new_tensor_1d(c, O), rm), konst(alrp_new_tensor_1d(c, O), rv), 1e-5f, &sc, &sh);
    return alrp_conv2d_affine(c, in[0], in[1], sc, sh, p[4] != 0, p[0], p[1], p[2], p[3]);
}

#define S1(a) {a}
#define S2(a, b) {a, b}
#define S3(a, b, c) {a, b, c}
#define S4(a, b, c, d) {a, b, c, d}

static const struct tcase cases[] = {
    { "add bcast (3,1,5)+(4,1)", 2, {3, 2}, {S3(3, 1, 5), S2(4, 1)}, {0, 0}, 1e-2f, 2e-3f, b_add, {0}, 0 },
    { "add bcast (2,3,4,5)+(5)", 2, {4, 1}, {S4(2, 3, 4, 5), S1(5)}, {0, 0}, 1e-2f, 2e-3f, b_add, {0}, 0 },
    { "sub bcast (1)-(2,3)", 2, {1, 2}, {S1(1), S2(2, 3)}, {0, 0}, 1e-2f, 2e-3f, b_sub, {0}, 0 },
    { "mul bcast (2,1,3)*(1,4,1)", 2, {3, 3}, {S3(2, 1, 3), S3(1, 4, 1)}, {0, 0}, 1e-2f, 2e-3f, b_mul, {0}, 0 },
    { "div bcast (3,7)/(7)", 2, {2, 1}, {S2(3, 7), S1(7)}, {0, INIT_POSITIVE}, 1e-2f, 2e-3f, b_div, {0}, 0 },
    { "scale", 1, {3}, {S3(2, 3, 5)}, {0}, 1e-2f, 2e-3f, b_scale, {0}, 0 },
    { "sum", 1, {3}, {S3(2, 3, 5)}, {0}, 1e-2f, 2e-3f, b_sum, {0}, 0 },
    { "mean", 1, {4}, {S4(2, 1, 3, 5)}, {0}, 1e-2f, 2e-3f, b_mean, {0}, 0 },
    { "sum axis 1", 1, {3}, {S3(2, 3, 5)}, {0}, 1e-2f, 2e-3f, b_sum_axis, {1, 0}, 0 },
    { "sum axis 0 keepdim", 1, {2}, {S2(7, 3)}, {0}, 1e-2f, 2e-3f, b_sum_axis, {0, 1}, 0 },
    { "mean axis -1 keepdim", 1, {3}, {S3(2, 3, 5)}, {0}, 1e-2f, 2e-3f, b_mean_axis, {-1, 1}, 0 },
    { "neg", 1, {2}, {S2(3, 4)}, {0}, 1e-2f, 2e-3f, b_unary, {ALRP_UNARY_NEG}, 0 },
    { "exp", 1, {2}, {S2(3, 4)}, {0}, 1e-2f, 2e-3f, b_unary, {ALRP_UNARY_EXP}, 0 },
    { "log", 1, {2}, {S2(3, 4)}, {INIT_POSITIVE}, 1e-2f, 2e-3f, b_unary, {ALRP_UNARY_LOG}, 0 },
    { "relu", 1, {2}, {S2(5, 7)}, {INIT_DISTINCT}, 1e-3f, 2e-3f, b_unary, {ALRP_UNARY_RELU}, 0 },
    { "sigmoid", 1, {2}, {S2(3, 4)}, {0}, 1e-2f, 2e-3f, b_unary, {ALRP_UNARY_SIGMOID}, 0 },
    { "sqr", 1, {2}, {S2(3, 4)}, {0}, 1e-2f, 2e-3f, b_unary, {ALRP_UNARY_SQR}, 0 },
    { "sqrt", 1, {2}, {S2(3, 4)}, {INIT_POSITIVE}, 1e-2f, 2e-3f, b_unary, {ALRP_UNARY_SQRT}, 0 },
    { "clamp", 1, {2}, {S2(6, 7)}, {INIT_DISTINCT}, 1e-3f, 2e-3f, b_clamp, {0}, 0 },
    { "matmul (5,3)@(3,7)", 2, {2, 2}, {S2(5, 3), S2(3, 7)}, {0, 0}, 1e-2f, 2e-3f, b_matmul, {0, 0}, 0 },
    { "matmul (2,4,3)@(3,5) bcast", 2, {3, 2}, {S3(2, 4, 3), S2(3, 5)}, {0, 0}, 1e-2f, 2e-3f, b_matmul, {0, 0}, 0 },
    { "matmul (2,1,4,3)@(3,3,5)", 2, {4, 3}, {S4(2, 1, 4, 3), S3(3, 3, 5)}, {0, 0}, 1e-2f, 2e-3f, b_matmul, {0, 0}, 0 },
    { "matmul A^T (3,5)^T@(3,4)", 2, {2, 2}, {S2(3, 5), S2(3, 4)}, {0, 0}, 1e-2f, 2e-3f, b_matmul, {1, 0}, 0 },
    { "matmul B^T (5,3)@(4,3)^T", 2, {2, 2}, {S2(5, 3), S2(4, 3)}, {0, 0}, 1e-2f, 2e-3f, b_matmul, {0, 1}, 0 },
    { "matmul A^T B^T", 2, {3, 3}, {S3(2, 3, 5), S3(2, 4, 3)}, {0, 0}, 1e-2f, 2e-3f, b_matmul, {1, 1}, 0 },
    { "conv 3x3 pad1 +bias", 3, {4, 4, 1}, {S4(2, 3, 5, 6), S4(4, 3, 3, 3), S1(4)}, {0, 0, 0}, 1e-2f, 2e-3f, b_conv, {1, 1, 1, 1, 1, 1, 1, 1}, 0 },
    { "conv 3x3 stride2", 2, {4, 4}, {S4(1, 2, 7, 7), S4(3, 2, 3, 3)}, {0, 0}, 1e-2f, 2e-3f, b_conv, {2, 2, 0, 0, 1, 1, 1, 0}, 0 },
    { "conv 3x3 dil2 pad2", 2, {4, 4}, {S4(1, 2, 6, 5), S4(2, 2, 3, 3)}, {0, 0}, 1e-2f, 2e-3f, b_conv, {1, 1, 2, 2, 2, 2, 1, 0}, 0 },
    { "conv groups 2 stride2 pad1", 3, {4, 4, 1}, {S4(2, 4, 5, 5), S4(6, 2, 3, 3), S1(6)}, {0, 0, 0}, 1e-2f, 2e-3f, b_conv, {2, 2, 1, 1, 1, 1, 2, 1}, 0 },
    { "conv depthwise", 2, {4, 4}, {S4(1, 3, 4, 4), S4(3, 1, 3, 3)}, {0, 0}, 1e-2f, 2e-3f, b_conv, {1, 1, 1, 1, 1, 1, 3, 0}, 0 },
    { "conv 1x1", 3, {4, 4, 1}, {S4(3, 4, 2, 3), S4(5, 4, 1, 1), S1(5)}, {0, 0, 0}, 1e-2f, 2e-3f, b_conv, {1, 1, 0, 0, 1, 1, 1, 1}, 0 },
    { "conv 1x3 asym stride", 2, {4, 4}, {S4(1, 2, 5, 7), S4(2, 2, 1, 3)}, {0, 0}, 1e-2f, 2e-3f, b_conv, {1, 2, 0, 1, 1, 1, 1, 0}, 0 },
    { "batch norm train", 3, {4, 1, 1}, {S4(3, 4, 3, 2), S1(4), S1(4)}, {0, INIT_POSITIVE, 0}, 1e-2f, 5e-3f, b_bn, {ALRP_BN_TRAIN}, 0 },
    { "batch norm train N=1", 3, {4, 1, 1}, {S4(1, 2, 3, 3), S1(2), S1(2)}, {0, INIT_POSITIVE, 0}, 1e-2f, 5e-3f, b_bn, {ALRP_BN_TRAIN}, 0 },
    { "batch norm eval", 3, {4, 1, 1}, {S4(2, 3, 2, 2), S1(3), S1(3)}, {0, INIT_POSITIVE, 0}, 1e-2f, 2e-3f, b_bn, {ALRP_BN_EVAL}, 0 },
    { "batch norm frozen (affine)", 3, {4, 1, 1}, {S4(2, 3, 2, 2), S1(3), S1(3)}, {0, INIT_POSITIVE, 0}, 1e-2f, 2e-3f, b_bn, {ALRP_BN_FROZEN}, 0 },
    { "max pool 3x3 s2 p1", 1, {4}, {S4(2, 2, 7, 6)}, {INIT_DISTINCT}, 1e-3f, 2e-3f, b_maxpool, {3, 2, 1}, 0 },
    { "max pool 2x2 s2", 1, {4}, {S4(1, 3, 5, 4)}, {INIT_DISTINCT}, 1e-3f, 2e-3f, b_maxpool, {2, 2, 0}, 0 },
    { "upsample x2", 1, {4}, {S4(2, 3, 3, 4)}, {0}, 1e-2f, 2e-3f, b_upsample, {2}, 0 },
    { "upsample x3", 1, {4}, {S4(1, 1, 2, 3)}, {0}, 1e-2f, 2e-3f, b_upsample, {3}, 0 },
    { "reshape", 2, {3, 2}, {S3(5, 2, 3), S2(10, 3)}, {0, 0}, 1e-2f, 2e-3f, b_reshape, {0}, 0 },
    { "permute (view) + sqr", 1, {4}, {S4(2, 3, 4, 5)}, {0}, 1e-2f, 2e-3f, b_permute, {0}, 0 },
    { "permute (view) + add", 2, {3, 3}, {S3(4, 2, 3), S3(2, 3, 4)}, {0, 0}, 1e-2f, 2e-3f, b_permute_add, {0}, 0 },
    { "slice axis 1", 1, {3}, {S3(2, 7, 3)}, {0}, 1e-2f, 2e-3f, b_slice, {1, 2, 4}, 0 },
    { "slice axis -1", 1, {2}, {S2(3, 9)}, {0}, 1e-2f, 2e-3f, b_slice, {-1, 5, 4}, 0 },
    { "concat axis 1", 3, {3, 3, 3}, {S3(2, 3, 4), S3(2, 1, 4), S3(2, 2, 4)}, {0, 0, 0}, 1e-2f, 2e-3f, b_concat, {1}, 0 },
    { "concat axis -1", 3, {2, 2, 2}, {S2(3, 2), S2(3, 5), S2(3, 1)}, {0, 0, 0}, 1e-2f, 2e-3f, b_concat, {-1}, 0 },
    { "expand (3,1)->(4,3,5)", 1, {2}, {S2(3, 1)}, {0}, 1e-2f, 2e-3f, b_expand, {0}, 0 },
    { "gather rows", 1, {2}, {S2(7, 3)}, {0}, 1e-2f, 2e-3f, b_gather, {0}, 0 },
    { "scatter add rows", 1, {2}, {S2(5, 4)}, {0}, 1e-2f, 2e-3f, b_scatter, {0}, 0 },
    { "sigmoid focal loss", 2, {2, 2}, {S2(5, 7), S2(5, 7)}, {0, INIT_01}, 1e-2f, 2e-3f, b_focal, {0}, 1 },
    { "smooth L1 beta 0.5", 2, {2, 2}, {S2(6, 4), S2(6, 4)}, {INIT_DISTINCT, 0}, 1e-3f, 5e-3f, b_smooth_l1, {50}, 1 },
    { "L1 (beta 0)", 2, {1, 1}, {S1(9), S1(9)}, {INIT_AWAY0, 0}, 1e-3f, 2e-3f, b_smooth_l1, {0}, 1 },
    { "GIoU loss", 2, {2, 2}, {S2(7, 4), S2(7, 4)}, {INIT_BOXES, INIT_BOXES}, 1e-3f, 5e-3f, b_giou, {0}, 1 },
    { "E_loc GIoU of deltas", 2, {2, 2}, {S2(6, 4), S2(6, 4)}, {0, 0}, 1e-3f, 5e-3f, b_loc_err, {0}, 1 },
    { "shared input, 3 paths", 1, {2}, {S2(3, 5)}, {0}, 1e-2f, 2e-3f, b_chain, {0}, 0 },
    { "sum_sq", 1, {3}, {S3(2, 3, 5)}, {0}, 1e-2f, 2e-3f, b_sum_sq, {0}, 0 },
    { "global norm of 3 tensors", 3, {2, 1, 3}, {S2(3, 4), S1(5), S3(2, 1, 3)}, {0, 0, 0}, 1e-2f, 2e-3f, b_global_norm, {3}, 0 },
    // The fused conv + affine (+ ReLU): x, w, scale, shift all differentiated. For the ReLU
    // cases the values sit on lattices that keep every pre-activation z off the kink by more than
    // a finite-difference step (eps 1e-3) can move it: x, w, scale in {+-1/4, +-1/2}, so the conv
    // c (at most 27 products) is an exact multiple of 1/16 with |c| <= 27/4, c * scale one of
    // 1/64, and the shift an odd multiple of 1/128: |z| >= 1/128, while one step moves z by at
    // most eps * max(|w s|, |x s|, |c|, 1) <= 6.75e-3.
    { "conv affine 3x3 pad1", 4, {4, 4, 1, 1}, {S4(2, 3, 5, 6), S4(4, 3, 3, 3), S1(4), S1(4)}, {0, 0, 0, 0}, 1e-2f, 2e-3f, b_conv_affine, {1, 1, 1, 1, 0}, 0 },
    { "conv affine 3x3 pad1 relu", 4, {4, 4, 1, 1}, {S4(2, 3, 5, 6), S4(4, 3, 3, 3), S1(4), S1(4)}, {INIT_QUARTER, INIT_QUARTER, INIT_QUARTER, INIT_HALF64}, 1e-3f, 2e-3f, b_conv_affine, {1, 1, 1, 1, 1}, 0 },
    { "conv affine stride2", 4, {4, 4, 1, 1}, {S4(1, 2, 7, 7), S4(3, 2, 3, 3), S1(3), S1(3)}, {0, 0, 0, 0}, 1e-2f, 2e-3f, b_conv_affine, {2, 0, 1, 1, 0}, 0 },
    { "conv affine stride2 pad1 relu", 4, {4, 4, 1, 1}, {S4(1, 2, 7, 7), S4(3, 2, 3, 3), S1(3), S1(3)}, {INIT_QUARTER, INIT_QUARTER, INIT_QUARTER, INIT_HALF64}, 1e-3f, 2e-3f, b_conv_affine, {2, 1, 1, 1, 1}, 0 },
    { "conv affine groups 2 stride2", 4, {4, 4, 1, 1}, {S4(2, 4, 5, 5), S4(6, 2, 3, 3), S1(6), S1(6)}, {0, 0, 0, 0}, 1e-2f, 2e-3f, b_conv_affine, {2, 1, 1, 2, 0}, 0 },
    { "conv affine groups 2 stride2 relu", 4, {4, 4, 1, 1}, {S4(2, 4, 5, 5), S4(6, 2, 3, 3), S1(6), S1(6)}, {INIT_QUARTER, INIT_QUARTER, INIT_QUARTER, INIT_HALF64}, 1e-3f, 2e-3f, b_conv_affine, {2, 1, 1, 2, 1}, 0 },
    { "conv affine groups 2 relu", 4, {4, 4, 1, 1}, {S4(1, 4, 4, 5), S4(4, 2, 3, 3), S1(4), S1(4)}, {INIT_QUARTER, INIT_QUARTER, INIT_QUARTER, INIT_HALF64}, 1e-3f, 2e-3f, b_conv_affine, {1, 1, 1, 2, 1}, 0 },
    // Frozen BN (weight in[2], bias in[3], constant running statistics) then the fused conv. With
    // ReLU: running_var 4 (scale = weight / 2, weight in {+-1/4, +-1/2}), running_mean a multiple
    // of 1/16 with |mean| <= 1/8, bias an odd multiple of 1/256: z = (c - mean) * scale + bias is
    // at least 1/256 from 0 (up to the 1e-6 of eps in the variance), and one step moves it by at
    // most eps * (|c| + 1/8) / 2 <= 3.44e-3.
    { "frozen BN + conv affine", 4, {4, 4, 1, 1}, {S4(2, 3, 5, 6), S4(4, 3, 3, 3), S1(4), S1(4)}, {0, 0, INIT_POSITIVE, 0}, 1e-2f, 2e-3f, b_frozen_bn_conv, {1, 1, 1, 1, 0}, 0 },
    { "frozen BN + conv affine relu", 4, {4, 4, 1, 1}, {S4(2, 3, 5, 6), S4(4, 3, 3, 3), S1(4), S1(4)}, {INIT_QUARTER, INIT_QUARTER, INIT_QUARTER, INIT_HALF128}, 1e-3f, 2e-3f, b_frozen_bn_conv, {1, 1, 1, 1, 1}, 0 },
    { "frozen BN + conv affine g2 s2 relu", 4, {4, 4, 1, 1}, {S4(2, 4, 5, 5), S4(6, 2, 3, 3), S1(6), S1(6)}, {INIT_QUARTER, INIT_QUARTER, INIT_QUARTER, INIT_HALF128}, 1e-3f, 2e-3f, b_frozen_bn_conv, {2, 1, 1, 2, 1}, 0 },
};

int main(int argc, char ** argv) {
    const char * filter = NULL;
    if (argc > 1) filter = argv[1];
    int n_cases = (int) (sizeof(cases) / sizeof(cases[0])), fails = 0, run = 0;
    for (int nt = 1; nt <= 2; nt++) {
        struct alrp_backend * be = alrp_backend_cpu_init(nt);
        printf("-- %s, %d thread(s)\n", alrp_backend_name(be), nt);
        for (int i = 0; i < n_cases; i++) {
            if (filter && !strstr(cases[i].name, filter)) continue;
            fails += run_case(&cases[i], be, 1234 + (uint64_t) i);
            run++;
        }
        alrp_backend_free(be);
    }
    printf("%d/%d gradient checks passed\n", run - fails, run);
    return fails ? 1 : 0;
}
