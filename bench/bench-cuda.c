// bench-cuda: the CUDA backend's two headline numbers (docs/cuda.md), on device 0:
//   1. the aLRP Loss op (forward: loss and update) at n = 7e6 logits (87500 anchors x 80
//      classes), P = 500 positives, loc_err per anchor: ms per call, on the GPU and on the CPU
//      backend (all cores) for comparison;
//   2. a RetinaNet R50 aLRP training step (forward, loss, backward, SGD; frozen BN, frozen
//      stem + layer1, as models/alrp500_r50) at batch 8 of 512 x 512: images/s, without and
//      with CUDA-graph replay, and with TF32.
// Random weights and a synthetic batch (a fixed seed); timings after 2 warm-up steps, each the
// median of 5. Without a device (or built without nvcc) it says so and exits 0.
//     build/bench/bench-cuda [--no-cpu] [--steps N]
#include "../detector/model-nn.c"
#include "../detector/model-resnet.c"
#include "../detector/model-fpn.c"
#include "../detector/model-head.c"
#include "../detector/model.c"
#include "../detector/model-loss.c"
#include "bench-common.h"
#ifdef ALRP_CUDA
#include "../alrp-cuda.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ALRP_CUDA
static int cmp_d(const void * a, const void * b) { double x = *(const double *) a, y = *(const double *) b; return (x > y) - (x < y); }

// ms per aLRP loss call on be (median of reps)
static double bench_loss(struct alrp_backend * be, int reps) {
    const int64_t A = 87500, C = 80, n = A * C, P = 500;
    struct alrp_context * ctx = alrp_init((struct alrp_init_params) { 1 << 20, NULL, true });
    struct alrp_tensor * lg = alrp_new_tensor_2d(ctx, A, C), * e = alrp_new_tensor_1d(ctx, A);
    struct alrp_tensor * lb = alrp_new_tensor(ctx, ALRP_TYPE_I8, 2, (const int64_t[]) { A, C });
    alrp_set_input(lg); alrp_set_input(lb); alrp_set_input(e);
    struct alrp_rank_loss l = alrp_alrp_loss(ctx, lg, lb, e, 1.0f);
    alrp_set_output(l.cls);
    struct alrp_graph * g = alrp_new_graph(ctx, 64);
    alrp_build_forward(g, l.cls);
    alrp_build_forward(g, l.loc);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    alrp_gallocr_alloc_graph(ga, g);
    float * v = (float *) malloc(sizeof(float) * (size_t) n);
    int8_t * y = (int8_t *) calloc((size_t) n, 1);
    struct alrp_rng r = { 1 };
    for (int64_t i = 0; i < n; i++) v[i] = (float) (4.0 * alrp_rng_normal(&r) - 4.0);   // mostly low-scored negatives
    for (int64_t k = 0; k < P; k++) { int64_t i = (int64_t) (alrp_rng_uniform(&r) * (double) n); y[i] = 1; v[i] += 4.0f; }
    alrp_backend_set_f32(be, lg, v);
    alrp_backend_tensor_set(be, lb, y, 0, (size_t) n);
    for (int64_t i = 0; i < A; i++) v[i] = (float) alrp_rng_uniform(&r);
    alrp_backend_set_f32(be, e, v);
    double t[16];
    for (int k = 0; k < reps + 1; k++) {
        double t0 = now_s();
        if (alrp_backend_graph_compute(be, g) != ALRP_STATUS_SUCCESS) { printf("aLRP loss: compute failed\n"); break; }
        alrp_backend_synchronize(be);
        if (k) t[k - 1] = 1e3 * (now_s() - t0);
    }
    qsort(t, (size_t) reps, sizeof(double), cmp_d);
    free(v); free(y);
    alrp_gallocr_free(ga);
    alrp_free(ctx);
    return t[reps / 2];
}

// images/s of the R50 aLRP step at batch 8, 512 x 512
static double bench_step(struct alrp_backend * be, int steps) {
    const int64_t N = 8, H = 512, W = 512;
    struct model_options o;
    model_options_for(&o, "resnet50", 80, 6);
    o.backbone.bn = ALRP_BN_FROZEN;
    o.backbone.frozen_stages = 1;
    char err[512];
    struct alrp_context * cw = alrp_init((struct alrp_init_params) { model_weights_mem_size(&o), NULL, true });
    struct model * m = (struct model *) malloc(sizeof *m);
    struct step * s = (struct step *) malloc(sizeof *s);
    struct loss_options lo;
    loss_options_default(&lo, LOSS_ALRP);
    lo.rank_group = 8;
    if (model_init(m, cw, &o, err, sizeof err) || step_init(s, m, cw, be, N, H, W, &lo, alrp_opt_default_params(ALRP_OPT_SGD), err, sizeof err)) {
        printf("R50 step: %s\n", err); return 0.0;
    }
    struct alrp_buffer * bw = alrp_backend_alloc_ctx_tensors(cw, be);
    if (!bw || model_init_weights(m, be, 3) || step_place(s, err, sizeof err)) { printf("R50 step: placement failed: %s\n", err); return 0.0; }
    float * img = (float *) malloc(sizeof(float) * (size_t) (N * 3 * H * W));
    int8_t * lab = (int8_t *) malloc((size_t) (N * s->A * s->C));
    float * tgt = (float *) malloc(sizeof(float) * (size_t) (N * s->A * 4));
    struct alrp_rng r = { 5 };
    for (int64_t i = 0; i < N * 3 * H * W; i++) img[i] = (float) (2.0 * alrp_rng_uniform(&r) - 1.0);
    for (int64_t a = 0; a < N * s->A; a++) {
        double u = alrp_rng_uniform(&r);
        for (int64_t c = 0; c < s->C; c++) lab[a * s->C + c] = (u > 0.999 && c == a % s->C) ? 1 : 0;   // ~60 positives per image
        for (int k = 0; k < 4; k++) tgt[a * 4 + k] = (float) (0.3 * alrp_rng_normal(&r));
    }
    struct step_out out;
    double t[16];
    int ok = 1;
    for (int k = 0; k < steps + 2 && ok; k++) {
        double t0 = now_s();
        ok = step_run(s, img, lab, tgt, 1e-4f, &out, err, sizeof err) == 0;
        if (!ok) printf("R50 step: %s\n", err);
        if (k >= 2) t[k - 2] = now_s() - t0;
    }
    qsort(t, (size_t) steps, sizeof(double), cmp_d);
    printf("  (loss %.4f, P %lld, device memory %.2f GiB)\n", out.total, (long long) out.n_pos, (double) alrp_backend_cuda_mem_used(be) / (1 << 30));
    free(img); free(lab); free(tgt);
    step_free(s); free(s);
    alrp_buffer_free(bw);
    model_free(m); free(m);
    alrp_free(cw);
    return ok ? (double) N / t[steps / 2] : 0.0;
}
#endif

int main(int argc, char ** argv) {
    bool cpu = true;
    int steps = 5;
    (void) measure_peak;   // (bench-common.h: only its clock is used here)
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-cpu")) cpu = false;
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else { printf("usage: %s [--no-cpu] [--steps N]\n", argv[0]); return 2; }
    }
    if (steps < 1) steps = 1;
    if (steps > 16) steps = 16;
#ifndef ALRP_CUDA
    (void) cpu;
    printf("bench-cuda: built without nvcc: skipped: no CUDA device\n");
    return 0;
#else
    char err[256];
    struct alrp_backend * cu = alrp_backend_cuda_init(0, err, sizeof err);
    if (!cu) { printf("bench-cuda: skipped: no CUDA device (%s)\n", err); return 0; }
    printf("bench-cuda on %s\n", alrp_backend_name(cu));
    printf("aLRP loss, n = 7e6, P = 500: %.3f ms on the GPU\n", bench_loss(cu, 5));
    if (cpu) {
        struct alrp_backend * c = alrp_backend_cpu_init(0);
        printf("aLRP loss, n = 7e6, P = 500: %.3f ms on %s, %d threads\n", bench_loss(c, 3), alrp_backend_name(c), alrp_n_cores());
        alrp_backend_free(c);
    }
    printf("R50 aLRP training step, batch 8, 512x512: %.2f images/s\n", bench_step(cu, steps));
    alrp_backend_cuda_set_graphs(cu, true);
    printf("R50 aLRP training step, batch 8, 512x512, CUDA graphs: %.2f images/s\n", bench_step(cu, steps));
    alrp_backend_cuda_set_tf32(cu, true);
    printf("R50 aLRP training step, batch 8, 512x512, CUDA graphs + TF32: %.2f images/s\n", bench_step(cu, steps));
    alrp_backend_free(cu);
    return 0;
#endif
}
