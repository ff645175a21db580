// The backend seam end to end:
//  1. a conv-BN-ReLU residual block's training step (forward, backward, SGD-momentum update) as
//     ONE graph on a backend, with parameters, optimizer state and activations in that backend's
//     buffers, 20 steps; no allocation after the first step (counted through the allocation
//     hook and the backend's buffer counter); losses and final parameters equal the host path
//     (graph on a host context, then the raw SGD kernel per parameter) to 1e-5.
//  2. the same block with frozen BN fused into the convs (conv2d_affine), trained the same way,
//     equals the unfused graph (conv + batch_norm FROZEN + relu).
//  3. one graph with the aLRP loss, a loss weight input and an SGD update, built once, computed
//     for batches with P = 0, 7 and 300 positives with the lr, the weight and the step changed in
//     between: equals alrp_loss_alrp_f32 + alrp_sgd_step_f32 each time, never rebuilt.
// Exits non-zero on any mismatch.
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fails = 0;
static long long n_mallocs = 0;
static void * count_malloc(size_t n, void * ud) { (void) ud; n_mallocs++; return malloc(n); }
static void count_free(void * p, void * ud) { (void) ud; free(p); }

#define CHECK(c, ...) do { if (!(c)) { printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); fails++; } } while (0)

static void fill_rand(float * v, int64_t n, struct alrp_rng * r, float s) {
    for (int64_t i = 0; i < n; i++) v[i] = s * (float) (2.0 * alrp_rng_uniform(r) - 1.0);
}
static double max_rel(const float * a, const float * b, int64_t n) {
    double m = 0.0, s = 1e-12;
    for (int64_t i = 0; i < n; i++) { m = fmax(m, fabs((double) a[i] - b[i])); s = fmax(s, fabs((double) b[i])); }
    return m / s;
}

// ---- 1 and 2: the residual block -----------------------------------------------------------
enum { N = 2, C = 8, H = 10, W = 10, STEPS = 20 };
static const char * pnames[6] = { "conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight", "bn2.bias" };
static const char * bnames[4] = { "bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var" };
static int64_t pshape(int i, int64_t * s) {
    if (i == 0 || i == 3) { s[0] = C; s[1] = C; s[2] = 3; s[3] = 3; return 4; }
    s[0] = C; return 1;
}

struct block { struct alrp_tensor * P[6], * B[4], * x, * target, * loss; };

// mode: ALRP_BN_TRAIN (batch statistics), or ALRP_BN_FROZEN unfused (fused = false) / fused
static void block_build(struct alrp_context * cw, struct alrp_context * cc, struct block * b, enum alrp_bn_mode mode, bool fused) {
    int64_t s[4];
    for (int i = 0; i < 6; i++) { int nd = (int) pshape(i, s); b->P[i] = alrp_set_name(alrp_new_tensor(cw, ALRP_TYPE_F32, nd, s), pnames[i]); alrp_set_param(cw, b->P[i]); }
    for (int i = 0; i < 4; i++) b->B[i] = alrp_set_name(alrp_new_tensor_1d(cw, C), bnames[i]);
    b->x = alrp_set_name(alrp_new_tensor_4d(cc, N, C, H, W), "x");
    b->target = alrp_set_name(alrp_new_tensor_4d(cc, N, C, H, W), "target");
    alrp_set_input(b->x); alrp_set_input(b->target);
    struct alrp_tensor * h;
    if (fused) {
        struct alrp_tensor * sc, * sh;
        alrp_frozen_bn_affine(cc, b->P[1], b->P[2], b->B[0], b->B[1], 1e-5f, &sc, &sh);
        h = alrp_conv2d_affine(cc, b->x, b->P[0], sc, sh, true, 1, 1, 1, 1);
        alrp_frozen_bn_affine(cc, b->P[4], b->P[5], b->B[2], b->B[3], 1e-5f, &sc, &sh);
        h = alrp_conv2d_affine(cc, h, b->P[3], sc, sh, false, 1, 1, 1, 1);
    } else {
        h = alrp_conv2d(cc, b->x, b->P[0], NULL, 1, 1, 1, 1);
        h = alrp_relu(cc, alrp_batch_norm(cc, h, b->P[1], b->P[2], b->B[0], b->B[1], mode, 0.1f, 1e-5f));
        h = alrp_conv2d(cc, h, b->P[3], NULL, 1, 1, 1, 1);
        h = alrp_batch_norm(cc, h, b->P[4], b->P[5], b->B[2], b->B[3], mode, 0.1f, 1e-5f);
    }
    h = alrp_relu(cc, alrp_add(cc, h, b->x));
    b->loss = alrp_mean(cc, alrp_sqr(cc, alrp_sub(cc, h, b->target)));
    alrp_set_loss(cc, b->loss);
}

struct block_data { float * P[6], * B[4], * x[STEPS], * t[STEPS]; };
static void block_data_init(struct block_data * d) {
    struct alrp_rng r = { 7 };
    int64_t s[4];
    for (int i = 0; i < 6; i++) {
        int nd = (int) pshape(i, s); int64_t n = 1; for (int k = 0; k < nd; k++) n *= s[k];
        d->P[i] = (float *) malloc(sizeof(float) * (size_t) n);
        fill_rand(d->P[i], n, &r, i == 0 || i == 3 ? 0.3f : 0.2f);
        if (i == 1 || i == 4) for (int64_t k = 0; k < n; k++) d->P[i][k] += 1.0f;
    }
    for (int i = 0; i < 4; i++) {
        d->B[i] = (float *) malloc(sizeof(float) * C);
        fill_rand(d->B[i], C, &r, 0.2f);
        if (i % 2) for (int k = 0; k < C; k++) d->B[i][k] = 0.5f + fabsf(d->B[i][k]) * 3.0f;
    }
    for (int s2 = 0; s2 < STEPS; s2++) {
        d->x[s2] = (float *) malloc(sizeof(float) * N * C * H * W);
        d->t[s2] = (float *) malloc(sizeof(float) * N * C * H * W);
        fill_rand(d->x[s2], N * C * H * W, &r, 1.0f);
        fill_rand(d->t[s2], N * C * H * W, &r, 1.0f);
        for (int k = 0; k < N * C * H * W; k++) d->t[s2][k] = fabsf(d->t[s2][k]);
    }
}

// The host path of the core before the seam: host context, alrp_graph_compute, raw SGD kernel.
static void block_host(const struct block_data * d, enum alrp_bn_mode mode, float * losses, float ** pout) {
    struct alrp_init_params ip = { 16 << 20, NULL, false };
    struct alrp_context * ctx = alrp_init(ip);
    struct block b;
    block_build(ctx, ctx, &b, mode, false);
    for (int i = 0; i < 6; i++) memcpy(alrp_data_f32(b.P[i]), d->P[i], alrp_nbytes(b.P[i]));
    for (int i = 0; i < 4; i++) memcpy(alrp_data_f32(b.B[i]), d->B[i], alrp_nbytes(b.B[i]));
    struct alrp_graph * g = alrp_new_graph(ctx, 1024);
    alrp_build_forward(g, b.loss);
    alrp_build_backward(ctx, g);
    float * mom[6];
    for (int i = 0; i < 6; i++) { mom[i] = (float *) calloc((size_t) alrp_nelements(b.P[i]), sizeof(float)); }
    struct alrp_threadpool * tp = alrp_threadpool_new(2);
    for (int s = 0; s < STEPS; s++) {
        memcpy(alrp_data_f32(b.x), d->x[s], alrp_nbytes(b.x));
        memcpy(alrp_data_f32(b.target), d->t[s], alrp_nbytes(b.target));
        CHECK(alrp_graph_compute(g, tp) == ALRP_STATUS_SUCCESS, "host compute");
        losses[s] = alrp_get_f32_1d(b.loss, 0);
        for (int i = 0; i < 6; i++)
            alrp_sgd_step_f32(alrp_nelements(b.P[i]), alrp_data_f32(b.P[i]), alrp_data_f32(alrp_graph_grad(g, b.P[i])), mom[i], 0.05f, 0.9f, 1e-4f, s + 1);
    }
    for (int i = 0; i < 6; i++) { memcpy(pout[i], alrp_data_f32(b.P[i]), alrp_nbytes(b.P[i])); free(mom[i]); }
    alrp_threadpool_free(tp);
    alrp_free(ctx);
}

// The seam: one graph per step on backend buffers. Returns the mallocs and buffer allocations
// made after the first step.
static void block_backend(struct alrp_backend * be, const struct block_data * d, enum alrp_bn_mode mode, bool fused,
                          float * losses, float ** pout, long long * late_mallocs, long long * late_buffers) {
    struct alrp_init_params ipw = { 4 << 20, NULL, true }, ipc = { 16 << 20, NULL, true };
    struct alrp_context * cw = alrp_init(ipw), * cc = alrp_init(ipc);
    struct block b;
    block_build(cw, cc, &b, mode, fused);
    struct alrp_graph * g = alrp_new_graph(cc, 1024);
    alrp_build_forward(g, b.loss);
    alrp_build_backward(cc, g);
    struct alrp_opt_params op = alrp_opt_default_params(ALRP_OPT_SGD);
    op.lr = 0.05f;
    struct alrp_optimizer * opt = alrp_optimizer_new(cw, g, op);
    struct alrp_buffer * bw = alrp_backend_alloc_ctx_tensors(cw, be);
    CHECK(bw && alrp_ctx_n_unplaced(cw) == 0, "parameters placed in one backend buffer");
    for (int i = 0; i < 6; i++) alrp_backend_set_f32(be, b.P[i], d->P[i]);
    for (int i = 0; i < 4; i++) alrp_backend_set_f32(be, b.B[i], d->B[i]);
    alrp_optimizer_reset(opt, be);
    alrp_optimizer_build(opt, cc, g, 0.0f);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    CHECK(alrp_gallocr_reserve(ga, g), "reserve");
    CHECK(alrp_gallocr_alloc_graph(ga, g), "alloc graph");
    CHECK(b.x->buffer != NULL && b.x->buffer != bw && b.P[0]->buffer == bw, "inputs in the compute buffer, params in the weights buffer");
    long long m0 = 0, b0 = 0;
    for (int s = 0; s < STEPS; s++) {
        if (s == 1) { m0 = n_mallocs; b0 = alrp_backend_n_buffer_allocs(be); }
        alrp_backend_set_f32(be, b.x, d->x[s]);
        alrp_backend_set_f32(be, b.target, d->t[s]);
        alrp_optimizer_prepare(opt, be);
        CHECK(alrp_backend_graph_compute(be, g) == ALRP_STATUS_SUCCESS, "backend compute");
        losses[s] = alrp_backend_get_f32_1(be, b.loss, 0);
    }
    *late_mallocs = n_mallocs - m0;
    *late_buffers = alrp_backend_n_buffer_allocs(be) - b0;
    for (int i = 0; i < 6; i++) alrp_backend_get_f32(be, b.P[i], pout[i]);
    alrp_gallocr_free(ga);
    alrp_buffer_free(bw);
    alrp_free(cc); alrp_free(cw);
}

static void test_block(struct alrp_backend * be) {
    struct block_data d;
    block_data_init(&d);
    float lh[STEPS], lb[STEPS], lf[STEPS], * ph[6], * pb[6], * pf[6];
    int64_t s[4];
    for (int i = 0; i < 6; i++) {
        int nd = (int) pshape(i, s); int64_t n = 1; for (int k = 0; k < nd; k++) n *= s[k];
        ph[i] = (float *) malloc(sizeof(float) * (size_t) n); pb[i] = (float *) malloc(sizeof(float) * (size_t) n); pf[i] = (float *) malloc(sizeof(float) * (size_t) n);
    }
    block_host(&d, ALRP_BN_TRAIN, lh, ph);
    long long lm, lbuf;
    block_backend(be, &d, ALRP_BN_TRAIN, false, lb, pb, &lm, &lbuf);
    printf("block (BN train), %d SGD steps on %s: loss %.5f -> %.5f (host path %.5f -> %.5f)\n", STEPS, alrp_backend_name(be), lb[0], lb[STEPS - 1], lh[0], lh[STEPS - 1]);
    printf("  allocations after the first step: %lld mallocs, %lld backend buffers\n", lm, lbuf);
    CHECK(lm == 0 && lbuf == 0, "the training loop allocated after its first step");
    CHECK(lb[STEPS - 1] < 0.8f * lb[0], "the loss went down");
    CHECK(max_rel(lb, lh, STEPS) <= 1e-5, "losses equal the host path: rel err %.2e", max_rel(lb, lh, STEPS));
    for (int i = 0; i < 6; i++) {
        double e = max_rel(pb[i], ph[i], (i == 0 || i == 3 ? C * C * 9 : C));
        CHECK(e <= 1e-5, "final %s equals the host path: rel err %.2e", pnames[i], e);
    }
    // frozen BN: fused conv + affine + ReLU against conv + batch_norm(FROZEN) + relu
    block_backend(be, &d, ALRP_BN_FROZEN, false, lh, ph, &lm, &lbuf);
    block_backend(be, &d, ALRP_BN_FROZEN, true, lf, pf, &lm, &lbuf);
    printf("block (BN frozen), fused vs unfused: loss %.5f -> %.5f vs %.5f -> %.5f\n", lf[0], lf[STEPS - 1], lh[0], lh[STEPS - 1]);
    CHECK(lm == 0 && lbuf == 0, "the fused loop allocated after its first step");
    CHECK(max_rel(lf, lh, STEPS) <= 1e-5, "fused losses equal unfused: rel err %.2e", max_rel(lf, lh, STEPS));
    for (int i = 0; i < 6; i++) {
        double e = max_rel(pf[i], ph[i], i == 0 || i == 3 ? C * C * 9 : C);
        CHECK(e <= 1e-4, "fused final %s equals unfused: rel err %.2e", pnames[i], e);
    }
    for (int i = 0; i < 6; i++) { free(ph[i]); free(pb[i]); free(pf[i]); free(d.P[i]); }
    for (int i = 0; i < 4; i++) free(d.B[i]);
    for (int k = 0; k < STEPS; k++) { free(d.x[k]); free(d.t[k]); }
}

// ---- 3: the aLRP loss graph, built once ---------------------------------------------------
enum { A = 500, K = 4, NE = A * K };
static int n_builds = 0;

struct lgraph { struct alrp_tensor * logits, * labels, * eloc, * w, * total; struct alrp_rank_loss l; struct alrp_graph * g; struct alrp_optimizer * opt; };
static void lgraph_build(struct alrp_context * cw, struct alrp_context * cc, struct lgraph * q) {
    n_builds++;
    q->logits = alrp_set_name(alrp_new_tensor_2d(cw, A, K), "logits"); alrp_set_param(cw, q->logits);
    q->eloc = alrp_set_name(alrp_new_tensor_1d(cw, A), "eloc"); alrp_set_param(cw, q->eloc);
    int64_t s2[2] = { A, K };
    q->labels = alrp_set_name(alrp_new_tensor(cc, ALRP_TYPE_I8, 2, s2), "labels"); alrp_set_input(q->labels);
    q->w = alrp_set_name(alrp_new_tensor_1d(cc, 1), "w_sb"); alrp_set_input(q->w);
    q->l = alrp_alrp_loss(cc, q->logits, q->labels, q->eloc, 1.0f);
    q->total = alrp_add(cc, q->l.cls, alrp_mul(cc, q->l.loc, q->w));
    alrp_set_loss(cc, q->total);
    alrp_set_output(q->l.cls); alrp_set_output(q->l.loc); alrp_set_output(q->l.n_pos);
    q->g = alrp_new_graph(cc, 256);
    alrp_build_forward(q->g, q->total);
    alrp_build_backward(cc, q->g);
    struct alrp_opt_params op = alrp_opt_default_params(ALRP_OPT_SGD);
    q->opt = alrp_optimizer_new(cw, q->g, op);
}

static void test_alrp_graph(struct alrp_backend * be) {
    struct alrp_init_params ipw = { 1 << 20, NULL, true }, ipc = { 4 << 20, NULL, true };
    struct alrp_context * cw = alrp_init(ipw), * cc = alrp_init(ipc);
    struct lgraph q;
    lgraph_build(cw, cc, &q);
    struct alrp_buffer * bw = alrp_backend_alloc_ctx_tensors(cw, be);
    alrp_optimizer_build(q.opt, cc, q.g, 0.0f);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    alrp_gallocr_reserve(ga, q.g);
    alrp_gallocr_alloc_graph(ga, q.g);
    const int n_nodes = alrp_graph_n_nodes(q.g);
    struct alrp_rng r = { 11 };
    static float lg[NE], el[A], mom_l[NE], mom_e[A], gl[NE], gp[A], ep[A];
    fill_rand(lg, NE, &r, 2.0f);
    for (int a = 0; a < A; a++) el[a] = (float) alrp_rng_uniform(&r);
    alrp_backend_set_f32(be, q.logits, lg);
    alrp_backend_set_f32(be, q.eloc, el);
    alrp_optimizer_reset(q.opt, be);
    memset(mom_l, 0, sizeof mom_l); memset(mom_e, 0, sizeof mom_e);
    const int Ps[3] = { 0, 7, 300 };
    const float lrs[3] = { 0.01f, 0.02f, 0.005f }, ws[3] = { 50.0f, 13.6f, 7.25f };
    const int64_t steps[3] = { 1, 2, 1000 };   // the step count jumps, as after a resume
    for (int it = 0; it < 3; it++) {
        int8_t lab[NE];
        memset(lab, 0, sizeof lab);
        for (int i = 0; i < NE; i += 13) lab[i] = -1;
        for (int p = 0; p < Ps[it]; p++) { int a = (p * 37 + it) % A; lab[a * K + (p % K)] = 1; }   // distinct anchors
        int P = 0;
        for (int i = 0; i < NE; i++) P += lab[i] == 1;
        alrp_backend_tensor_set(be, q.labels, lab, 0, sizeof lab);
        alrp_backend_tensor_set(be, q.w, &ws[it], 0, sizeof(float));
        alrp_optimizer_set_lr(q.opt, lrs[it]);
        alrp_optimizer_set_n_steps(q.opt, steps[it] - 1);
        alrp_optimizer_prepare(q.opt, be);
        CHECK(alrp_backend_graph_compute(be, q.g) == ALRP_STATUS_SUCCESS, "aLRP graph compute");
        // the reference: the plain-array loss and the raw SGD kernel
        int k = 0;
        for (int i = 0; i < NE; i++) if (lab[i] == 1) ep[k++] = el[i / K];
        float cls, loc;
        int64_t rp = alrp_loss_alrp_f32(NE, lg, lab, ep, 1.0f, &cls, &loc, gl, gp);
        CHECK(rp == P, "reference P");
        float ge[A];
        memset(ge, 0, sizeof ge);
        k = 0;
        for (int i = 0; i < NE; i++) if (lab[i] == 1) ge[i / K] += ws[it] * gp[k++];
        float cls_g = alrp_backend_get_f32_1(be, q.l.cls, 0), loc_g = alrp_backend_get_f32_1(be, q.l.loc, 0);
        float np_g = alrp_backend_get_f32_1(be, q.l.n_pos, 0), tot = alrp_backend_get_f32_1(be, q.total, 0);
        printf("aLRP graph, P = %3d: cls %.6f (ref %.6f), loc %.6f (ref %.6f), P read back %.0f, lr %.3f, w %.2f, step %lld\n",
               P, cls_g, cls, loc_g, loc, np_g, lrs[it], ws[it], (long long) steps[it]);
        CHECK(fabsf(cls_g - cls) <= 1e-6f * fmaxf(1.0f, fabsf(cls)) && fabsf(loc_g - loc) <= 1e-6f * fmaxf(1.0f, fabsf(loc)), "loss parts");
        CHECK(fabsf(tot - (cls + ws[it] * loc)) <= 1e-5f * fmaxf(1.0f, fabsf(tot)), "total with the weight input");
        CHECK((int) np_g == P, "P read back");
        if (P == 0) CHECK(cls_g == 0.0f && loc_g == 0.0f, "no positive: zero loss");
        alrp_sgd_step_f32(NE, lg, gl, mom_l, lrs[it], 0.9f, 1e-4f, steps[it]);
        alrp_sgd_step_f32(A, el, ge, mom_e, lrs[it], 0.9f, 1e-4f, steps[it]);
        float lgb[NE], elb[A];
        alrp_backend_get_f32(be, q.logits, lgb);
        alrp_backend_get_f32(be, q.eloc, elb);
        double e1 = max_rel(lgb, lg, NE), e2 = max_rel(elb, el, A);
        CHECK(e1 <= 1e-6 && e2 <= 1e-6, "updated params equal the kernels: rel err %.2e, %.2e", e1, e2);
        CHECK(alrp_graph_n_nodes(q.g) == n_nodes && n_builds == 1, "the graph was not rebuilt");
    }
    printf("aLRP graph: %d build(s), %d nodes, 3 batches\n", n_builds, n_nodes);
    alrp_gallocr_free(ga);
    alrp_buffer_free(bw);
    alrp_free(cc); alrp_free(cw);
}

// ---- 4: a frozen BN folded into the conv weights for inference equals the fused op ---------
static void test_fold_bn(struct alrp_backend * be) {
    enum { O = 6, I = 4, KK = 3 };
    struct alrp_init_params ip = { 1 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * x = alrp_new_tensor_4d(ctx, 2, I, 9, 7), * w = alrp_new_tensor_4d(ctx, O, I, KK, KK);
    struct alrp_tensor * wf = alrp_new_tensor_4d(ctx, O, I, KK, KK), * bf = alrp_new_tensor_1d(ctx, O);
    struct alrp_tensor * bn[4];
    for (int i = 0; i < 4; i++) bn[i] = alrp_new_tensor_1d(ctx, O);
    struct alrp_tensor * sc, * sh;
    alrp_frozen_bn_affine(ctx, bn[0], bn[1], bn[2], bn[3], 1e-5f, &sc, &sh);
    struct alrp_tensor * y1 = alrp_conv2d_affine(ctx, x, w, sc, sh, false, 2, 1, 1, 1);
    struct alrp_tensor * y2 = alrp_conv2d(ctx, x, wf, bf, 2, 1, 1, 1);
    alrp_set_output(y1); alrp_set_output(y2);
    struct alrp_graph * g = alrp_new_graph(ctx, 64);
    alrp_build_forward(g, y1); alrp_build_forward(g, y2);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    alrp_gallocr_alloc_graph(ga, g);
    struct alrp_rng r = { 3 };
    float vx[2 * I * 9 * 7], vw[O * I * KK * KK], vb[O], p[4][O], o1[2 * O * 5 * 4], o2[2 * O * 5 * 4];
    fill_rand(vx, 2 * I * 9 * 7, &r, 1.0f); fill_rand(vw, O * I * KK * KK, &r, 0.5f);
    for (int i = 0; i < 4; i++) { fill_rand(p[i], O, &r, 0.5f); if (i == 3) for (int k = 0; k < O; k++) p[i][k] = 0.2f + fabsf(p[i][k]); }
    alrp_backend_set_f32(be, x, vx); alrp_backend_set_f32(be, w, vw);
    for (int i = 0; i < 4; i++) alrp_backend_set_f32(be, bn[i], p[i]);
    memset(vb, 0, sizeof vb);
    alrp_fold_bn_f32(O, I * KK * KK, vw, vb, p[0], p[1], p[2], p[3], 1e-5f);
    alrp_backend_set_f32(be, wf, vw); alrp_backend_set_f32(be, bf, vb);
    CHECK(alrp_backend_graph_compute(be, g) == ALRP_STATUS_SUCCESS, "fold graph");
    alrp_backend_get_f32(be, y1, o1); alrp_backend_get_f32(be, y2, o2);
    double e = max_rel(o2, o1, 2 * O * 5 * 4);
    printf("frozen BN folded into the conv: max rel diff to the fused op %.2e\n", e);
    CHECK(e <= 1e-5, "folded BN equals the fused op");
    alrp_gallocr_free(ga);
    alrp_free(ctx);
}

int main(void) {
    alrp_set_alloc_hook(count_malloc, count_free, NULL);
    struct alrp_backend * be = alrp_backend_cpu_init(2);
    printf("backend: %s\n", alrp_backend_name(be));
    test_block(be);
    test_alrp_graph(be);
    test_fold_bn(be);
    alrp_backend_free(be);
    printf("%s\n", fails ? "FAILED" : "all OK");
    return fails ? 1 : 0;
}
