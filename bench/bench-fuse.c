// Conv + frozen batch norm + ReLU, fused (alrp_conv2d_affine: the affine and the ReLU in the
// GEMM write-back) against unfused (conv2d -> batch_norm FROZEN -> relu, three passes), on the
// ResNet-50 layer shapes of a 512x512 batch of 2, through the CPU backend at 2 threads (or the
// counts given): forward (inference) and forward + backward (the training step of a layer whose
// BN affine is trainable, as [A]'s norm_eval backbone), as times and ratios measured side by
// side in one run (each pair alternates, best of several repetitions).
//     bench-fuse [n_threads]
#include "alrp.h"
#include <stdio.h>
#include <stdlib.h>
#include "bench-common.h"

struct layer { const char * name; int64_t c, h, o, k, s; bool relu; };
static const struct layer layers[] = {
    { "stem 7x7/2 3->64 @512",      3, 512,   64, 7, 2, true  },
    { "l1 1x1 64->64 @128",        64, 128,   64, 1, 1, true  },
    { "l1 3x3 64->64 @128",        64, 128,   64, 3, 1, true  },
    { "l1 1x1 64->256 @128",       64, 128,  256, 1, 1, false },
    { "l2 1x1 256->128 @128",     256, 128,  128, 1, 1, true  },
    { "l2 3x3/2 128->128 @128",   128, 128,  128, 3, 2, true  },
    { "l2 1x1 128->512 @64",      128,  64,  512, 1, 1, false },
    { "l3 1x1 512->256 @64",      512,  64,  256, 1, 1, true  },
    { "l3 3x3/2 256->256 @64",    256,  64,  256, 3, 2, true  },
    { "l3 1x1 256->1024 @32",     256,  32, 1024, 1, 1, false },
    { "l4 1x1 1024->512 @32",    1024,  32,  512, 1, 1, true  },
    { "l4 3x3/2 512->512 @32",    512,  32,  512, 3, 2, true  },
    { "l4 1x1 512->2048 @16",     512,  16, 2048, 1, 1, false },
};
#define N_LAYERS ((int) (sizeof(layers) / sizeof(layers[0])))
enum { BATCH = 2 };

struct net { struct alrp_context * cw, * cc; struct alrp_buffer * bw; struct alrp_gallocr * ga; struct alrp_graph * g; };

// one layer's graph: forward only, or forward + backward of x, w, BN weight and bias
static void net_build(struct alrp_backend * be, const struct layer * l, bool fused, bool train, struct net * n) {
    struct alrp_init_params ipw = { 1 << 20, NULL, true }, ipc = { 4 << 20, NULL, true };
    n->cw = alrp_init(ipw); n->cc = alrp_init(ipc);
    struct alrp_tensor * w = alrp_set_name(alrp_new_tensor_4d(n->cw, l->o, l->c, l->k, l->k), "w");
    struct alrp_tensor * gm = alrp_new_tensor_1d(n->cw, l->o), * bt = alrp_new_tensor_1d(n->cw, l->o);
    struct alrp_tensor * rm = alrp_new_tensor_1d(n->cw, l->o), * rv = alrp_new_tensor_1d(n->cw, l->o);
    struct alrp_tensor * x = alrp_set_name(alrp_new_tensor_4d(n->cc, BATCH, l->c, l->h, l->h), "x");
    alrp_set_input(x);
    if (train) { alrp_set_param(n->cw, w); alrp_set_param(n->cw, gm); alrp_set_param(n->cw, bt); alrp_set_param(n->cc, x); }
    struct alrp_tensor * y;
    const int pad = (int) (l->k / 2);
    if (fused) {
        struct alrp_tensor * sc, * sh;
        alrp_frozen_bn_affine(n->cc, gm, bt, rm, rv, 1e-5f, &sc, &sh);
        y = alrp_conv2d_affine(n->cc, x, w, sc, sh, l->relu, (int) l->s, pad, 1, 1);
    } else {
        y = alrp_batch_norm(n->cc, alrp_conv2d(n->cc, x, w, NULL, (int) l->s, pad, 1, 1), gm, bt, rm, rv, ALRP_BN_FROZEN, 0.1f, 1e-5f);
        if (l->relu) y = alrp_relu(n->cc, y);
    }
    struct alrp_tensor * out = y;
    if (train) { out = alrp_sum(n->cc, y); alrp_set_loss(n->cc, out); } else alrp_set_output(y);
    n->g = alrp_new_graph(n->cc, 256);
    alrp_build_forward(n->g, out);
    if (train) alrp_build_backward(n->cc, n->g);
    n->bw = alrp_backend_alloc_ctx_tensors(n->cw, be);
    n->ga = alrp_gallocr_new(be);
    alrp_gallocr_alloc_graph(n->ga, n->g);
    // values: weights ~ He init, BN stats of a trained net
    struct alrp_rng r = { 1 };
    int64_t nw = alrp_nelements(w), nx = alrp_nelements(x);
    float * v = (float *) malloc(sizeof(float) * (size_t) (nw > nx ? nw : nx));
    for (int64_t i = 0; i < nw; i++) v[i] = (float) (alrp_rng_normal(&r) * 0.05);
    alrp_backend_set_f32(be, w, v);
    for (int64_t i = 0; i < nx; i++) v[i] = (float) alrp_rng_uniform(&r);
    alrp_backend_set_f32(be, x, v);
    for (int64_t i = 0; i < l->o; i++) v[i] = 1.0f + 0.1f * (float) alrp_rng_normal(&r);
    alrp_backend_set_f32(be, gm, v);
    for (int64_t i = 0; i < l->o; i++) v[i] = 0.1f * (float) alrp_rng_normal(&r);
    alrp_backend_set_f32(be, bt, v);
    alrp_backend_set_f32(be, rm, v);
    for (int64_t i = 0; i < l->o; i++) v[i] = 0.5f + (float) alrp_rng_uniform(&r);
    alrp_backend_set_f32(be, rv, v);
    free(v);
}
static void net_free(struct net * n) { alrp_gallocr_free(n->ga); alrp_buffer_free(n->bw); alrp_free(n->cc); alrp_free(n->cw); }

// best of >= 4 timed runs (after a warm-up) of a and b, alternating
static void time_pair(struct alrp_backend * be, struct net * a, struct net * b, double * ta, double * tb) {
    *ta = *tb = 1e30;
    alrp_backend_graph_compute(be, a->g); alrp_backend_graph_compute(be, b->g);
    double total = 0.0;
    for (int rep = 0; rep < 20 && (rep < 4 || total < 1.0); rep++) {
        double t0 = now_s(); alrp_backend_graph_compute(be, a->g); double t1 = now_s();
        alrp_backend_graph_compute(be, b->g); double t2 = now_s();
        if (t1 - t0 < *ta) *ta = t1 - t0;
        if (t2 - t1 < *tb) *tb = t2 - t1;
        total += t2 - t0;
    }
}

int main(int argc, char ** argv) {
    int nth = argc > 1 ? atoi(argv[1]) : 2;
    struct alrp_backend * be = alrp_backend_cpu_init(nth);
    printf("conv + frozen BN (+ ReLU): fused vs unfused, ResNet-50 shapes, batch %d, %s, %d threads, FMA peak %.0f GFLOP/s\n",
           BATCH, alrp_backend_name(be), nth, measure_peak(alrp_backend_cpu_pool(be)));
    printf("%-26s %10s %10s %7s   %10s %10s %7s\n", "layer", "fwd fused", "unfused", "ratio", "train fused", "unfused", "ratio");
    double sum[4] = { 0, 0, 0, 0 };
    for (int i = 0; i < N_LAYERS; i++) {
        double t[4];
        for (int train = 0; train < 2; train++) {
            struct net f, u;
            net_build(be, &layers[i], true, train, &f);
            net_build(be, &layers[i], false, train, &u);
            time_pair(be, &f, &u, &t[2 * train], &t[2 * train + 1]);
            net_free(&f); net_free(&u);
        }
        for (int k = 0; k < 4; k++) sum[k] += t[k];
        printf("%-26s %8.2f ms %7.2f ms %6.2fx   %8.2f ms %7.2f ms %6.2fx\n", layers[i].name, 1e3 * t[0], 1e3 * t[1], t[1] / t[0], 1e3 * t[2], 1e3 * t[3], t[3] / t[2]);
    }
    printf("%-26s %8.2f ms %7.2f ms %6.2fx   %8.2f ms %7.2f ms %6.2fx\n", "all layers", 1e3 * sum[0], 1e3 * sum[1], sum[1] / sum[0], 1e3 * sum[2], 1e3 * sum[3], sum[3] / sum[2]);
    printf("(ratio = unfused time / fused time: > 1 means the fused op is faster)\n");
    alrp_backend_free(be);
    return 0;
}
