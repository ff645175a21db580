// The detector's network on the CPU backend: a whole training step (forward, backward of
// sum(logits R) + sum(deltas R2) as a stand-in loss, SGD update; one graph compute) and
// inference of the small shapes model, and inference of [A]'s RetinaNet R50, with each graph's
// multiply-adds and the rate they run at (a training step counts as 3x the forward's), beside the
// machine's FMA peak.
//     bench-model [n_threads] [batch] [size]        (defaults 2, 8, 256)
#include "../detector/model-nn.c"
#include "../detector/model-resnet.c"
#include "../detector/model-fpn.c"
#include "../detector/model-head.c"
#include "../detector/model.c"

#include <stdio.h>
#include <stdlib.h>
#include "bench-common.h"

static void fill(struct alrp_backend * be, struct alrp_tensor * t, uint64_t seed) {
    int64_t n = alrp_nelements(t);
    float * v = (float *) malloc(sizeof(float) * (size_t) n);
    struct alrp_rng r = { seed };
    for (int64_t i = 0; i < n; i++) v[i] = (float) alrp_rng_normal(&r);
    alrp_backend_set_f32(be, t, v);
    free(v);
}

// seconds per compute (best of reps after one warm-up), and the forward multiply-adds
static double run(struct alrp_backend * be, const struct model_options * o, int64_t batch, int64_t size, bool train, int reps, int64_t * macs) {
    struct alrp_init_params ipw = { model_weights_mem_size(o), NULL, true }, ipc = { 256 << 20, NULL, true };
    struct alrp_context * cw = alrp_init(ipw), * cc = alrp_init(ipc);
    struct model * m = (struct model *) malloc(sizeof(*m));
    char err[256];
    if (model_init(m, cw, o, err, sizeof err)) { fprintf(stderr, "%s\n", err); exit(1); }
    struct alrp_tensor * x = alrp_new_tensor_4d(cc, batch, 3, size, size);
    alrp_set_input(x);
    struct model_out y = model_forward(m, cc, x);
    struct alrp_graph * g = alrp_new_graph(cc, 32768);
    struct alrp_tensor * rc = NULL, * rr = NULL;
    struct alrp_optimizer * opt = NULL;
    if (train) {
        rc = alrp_dup_tensor(cc, y.logits); rr = alrp_dup_tensor(cc, y.deltas);
        alrp_set_input(rc); alrp_set_input(rr);
        struct alrp_tensor * loss = alrp_add(cc, alrp_sum(cc, alrp_mul(cc, y.logits, rc)), alrp_sum(cc, alrp_mul(cc, y.deltas, rr)));
        alrp_set_loss(cc, loss);
        alrp_build_forward(g, loss);
        *macs = model_graph_macs(g);
        alrp_build_backward(cc, g);
        opt = alrp_optimizer_new(cw, g, alrp_opt_default_params(ALRP_OPT_SGD));
    } else {
        alrp_set_output(y.logits); alrp_set_output(y.deltas);
        alrp_build_forward(g, y.logits);
        alrp_build_forward(g, y.deltas);
        *macs = model_graph_macs(g);
    }
    struct alrp_buffer * bw = alrp_backend_alloc_ctx_tensors(cw, be);
    model_init_weights(m, be, 1);
    if (opt) { alrp_optimizer_reset(opt, be); alrp_optimizer_build(opt, cc, g, 0.0f); alrp_optimizer_set_lr(opt, 1e-6f); }
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    alrp_gallocr_alloc_graph(ga, g);
    fill(be, x, 2);
    if (train) { fill(be, rc, 3); fill(be, rr, 4); }
    double best = 1e30;
    for (int i = 0; i <= reps; i++) {
        if (opt) alrp_optimizer_prepare(opt, be);
        double t0 = now_s();
        if (alrp_backend_graph_compute(be, g) != ALRP_STATUS_SUCCESS) { fprintf(stderr, "compute failed\n"); exit(1); }
        double t = now_s() - t0;
        if (i > 0 && t < best) best = t;
    }
    printf("    %d graph nodes, activations %.0f MiB, %.2fM values\n", alrp_graph_n_nodes(g),
           alrp_gallocr_get_stats(ga).peak_bytes / 1048576.0, model_n_values(m, false) / 1e6);
    alrp_gallocr_free(ga);
    alrp_buffer_free(bw);
    model_free(m); free(m);
    alrp_free(cc); alrp_free(cw);
    return best;
}

int main(int argc, char ** argv) {
    int nt = argc > 1 ? atoi(argv[1]) : 2;
    int64_t batch = argc > 2 ? atoll(argv[2]) : 8, size = argc > 3 ? atoll(argv[3]) : 256;
    struct alrp_backend * be = alrp_backend_cpu_init(nt);
    printf("backend %s, %d threads, FMA peak %.0f GFLOP/s\n", alrp_backend_name(be), nt, measure_peak(alrp_backend_cpu_pool(be)));
    struct model_options o;
    int64_t macs;
    model_options_for(&o, "small", 10, 9);
    printf("small model (10 classes, 9 anchors), batch %lld at %lldx%lld:\n", (long long) batch, (long long) size, (long long) size);
    double t = run(be, &o, batch, size, true, 3, &macs);
    printf("  training step: %.3f s, %.1f images/s, forward %.2f GMAC, %.1f GFLOP/s (3x forward)\n", t, batch / t, macs / 1e9, 6.0 * macs / t / 1e9);
    o.backbone.bn = ALRP_BN_EVAL;
    t = run(be, &o, batch, size, false, 3, &macs);
    printf("  inference:     %.3f s, %.1f images/s, %.2f GMAC, %.1f GFLOP/s\n", t, batch / t, macs / 1e9, 2.0 * macs / t / 1e9);
    model_options_for(&o, "resnet50", 80, 9);
    o.backbone.bn = ALRP_BN_EVAL;
    printf("RetinaNet R50 (80 classes, 9 anchors), 1 image at 512x512:\n");
    t = run(be, &o, 1, 512, false, 1, &macs);
    printf("  inference:     %.3f s, %.2f GMAC, %.1f GFLOP/s\n", t, macs / 1e9, 2.0 * macs / t / 1e9);
    alrp_backend_free(be);
    return 0;
}
